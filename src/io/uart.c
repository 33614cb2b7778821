/* uart.c - 8250/16550A register model: RBR/THR, IER, IIR/FCR, LCR (DLAB),
 * MCR (loopback, RTS flow control, OUT2 interrupt gate), LSR, MSR, SCR,
 * receive FIFO with its trigger level, and interrupt priority. */
#include "io/uart.h"

#include <string.h>

enum { RBR = 0, IER = 1, IIR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define LCR_DLAB 0x80
#define MCR_LOOP UART_MCR_LOOP
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
/* FCR bits a 16550A keeps: enable, DMA mode, receiver trigger level */
#define FCR_KEPT 0xc9

void uart_init(struct uart *u, uint16_t base, struct irq_line irq,
               void (*tx)(void *ctx, const uint8_t *buf, size_t n), void *tx_ctx)
{
    memset(u, 0, sizeof(*u));
    u->base = base;
    u->irq = irq;
    u->tx = tx;
    u->tx_ctx = tx_ctx;
    u->s.dll = 0x0c;                      /* 9600 baud */
    u->s.msr_lines = 0xb0;                /* DCD, DSR, CTS: a terminal is there */
}

static int rx_capacity(const struct uart *u)
{
    return (u->s.fcr & FCR_ENABLE) ? UART_FIFO : 1;
}

int uart_rx_space(const struct uart *u)
{
    if ((u->s.mcr & MCR_LOOP) || !(u->s.mcr & UART_MCR_RTS))
        return 0;
    return rx_capacity(u) - u->s.rx_count;
}

/* The receiver trigger level (FCR bits 7-6) with the FIFO on. */
static int rx_trigger(const struct uart *u)
{
    static const int level[4] = { 1, 4, 8, 14 };
    return level[u->s.fcr >> 6];
}

/* Interrupt identification (IIR bits 0-3). */
static uint8_t iid(const struct uart *u)
{
    if ((u->s.ier & 0x04) && u->s.lsr_err)
        return 0x06;
    if ((u->s.ier & 0x01) && u->s.rx_count) {
        if ((u->s.fcr & FCR_ENABLE) && u->s.rx_count < rx_trigger(u))
            return 0x0c;                /* below the trigger: character timeout */
        return 0x04;
    }
    if ((u->s.ier & 0x02) && u->s.thr_ipending)
        return 0x02;
    if ((u->s.ier & 0x08) && u->s.msr_delta)
        return 0x00;
    return 0x01;
}

/* The IRQ line: the interrupt output through the OUT2 gate of a PC
 * (never in loopback, where the OUT2 pin is inactive). */
static void update_irq(struct uart *u)
{
    int level = iid(u) != 0x01 && (u->s.mcr & (UART_MCR_OUT2 | MCR_LOOP)) == UART_MCR_OUT2;
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_line_set(&u->irq, level);
    }
}

/* Modem status lines (MSR bits 4-7) as the guest sees them now. */
static uint8_t msr_lines(const struct uart *u)
{
    if (!(u->s.mcr & MCR_LOOP))
        return 0xb0;
    uint8_t m = u->s.mcr;
    return (uint8_t)(((m & 0x02) ? 0x10 : 0) |   /* RTS -> CTS */
                     ((m & 0x01) ? 0x20 : 0) |   /* DTR -> DSR */
                     ((m & 0x04) ? 0x40 : 0) |   /* OUT1 -> RI */
                     ((m & 0x08) ? 0x80 : 0));   /* OUT2 -> DCD */
}

static void update_msr(struct uart *u)
{
    uint8_t now = msr_lines(u), old = u->s.msr_lines;
    uint8_t ch = now ^ old;
    if (ch & 0x10) u->s.msr_delta |= 0x01;
    if (ch & 0x20) u->s.msr_delta |= 0x02;
    if ((old & 0x40) && !(now & 0x40)) u->s.msr_delta |= 0x04; /* RI trailing edge */
    if (ch & 0x80) u->s.msr_delta |= 0x08;
    u->s.msr_lines = now;
}

/* A byte into the receiver (from the line or looped back). */
static void rx_push(struct uart *u, uint8_t byte)
{
    if (u->s.rx_count >= rx_capacity(u)) {
        u->s.lsr_err |= UART_LSR_OE;
    } else {
        u->s.rx[(u->s.rx_head + u->s.rx_count) % UART_FIFO] = byte;
        u->s.rx_count++;
    }
    update_irq(u);
}

void uart_receive(struct uart *u, uint8_t byte)
{
    if (!(u->s.mcr & MCR_LOOP))
        rx_push(u, byte);
}

void uart_flush(struct uart *u)
{
    if (u->out_len && u->tx)
        u->tx(u->tx_ctx, u->out, u->out_len);
    u->out_len = 0;
}

static void transmit(struct uart *u, uint8_t byte)
{
    if (u->s.mcr & MCR_LOOP) {
        rx_push(u, byte);
        return;
    }
    u->out[u->out_len++] = byte;
    if (byte == '\n' || u->out_len == sizeof(u->out))
        uart_flush(u);
}

uint32_t uart_io_read(void *opaque, uint16_t port, int size)
{
    struct uart *u = opaque;
    (void)size;
    uint8_t v = 0xff;
    switch ((port - u->base) & 7) {
    case RBR:
        if (u->s.lcr & LCR_DLAB)
            return u->s.dll;
        v = 0;
        if (u->s.rx_count) {
            v = u->s.rx[u->s.rx_head];
            u->s.rx_head = (u->s.rx_head + 1) % UART_FIFO;
            u->s.rx_count--;
        }
        break;
    case IER:
        return (u->s.lcr & LCR_DLAB) ? u->s.dlm : u->s.ier;
    case IIR:
        v = iid(u);
        if (v == 0x02)
            u->s.thr_ipending = false;    /* reading IIR clears THRE source */
        v |= (u->s.fcr & FCR_ENABLE) ? 0xc0 : 0;
        break;
    case LCR:
        return u->s.lcr;
    case MCR:
        return u->s.mcr;
    case LSR:
        v = UART_LSR_THRE | UART_LSR_TEMT | u->s.lsr_err |
            (u->s.rx_count ? UART_LSR_DR : 0);
        u->s.lsr_err = 0;
        break;
    case MSR:
        update_msr(u);
        v = u->s.msr_lines | u->s.msr_delta;
        u->s.msr_delta = 0;
        break;
    case SCR:
        return u->s.scr;
    }
    update_irq(u);
    return v;
}

void uart_io_write(void *opaque, uint16_t port, int size, uint32_t value)
{
    struct uart *u = opaque;
    (void)size;
    uint8_t v = (uint8_t)value;
    switch ((port - u->base) & 7) {
    case RBR:
        if (u->s.lcr & LCR_DLAB) {
            u->s.dll = v;
        } else {
            transmit(u, v);
            u->s.thr_ipending = true;     /* sent at once: THR empty again */
        }
        break;
    case IER:
        if (u->s.lcr & LCR_DLAB) {
            u->s.dlm = v;
        } else {
            if ((v & 0x02) && !(u->s.ier & 0x02))
                u->s.thr_ipending = true; /* enabling with THR empty */
            u->s.ier = v & 0x0f;
        }
        break;
    case IIR:                            /* FCR */
        /* switching the FIFO on or off empties it; the other bits are
         * written only together with bit 0 (the transmitter has no FIFO
         * contents to clear: it sends at once) */
        if ((v ^ u->s.fcr) & FCR_ENABLE)
            u->s.rx_count = 0;
        if (!(v & FCR_ENABLE)) {
            u->s.fcr = 0;
            break;
        }
        if (v & FCR_CLEAR_RX)
            u->s.rx_count = 0;
        u->s.fcr = v & FCR_KEPT;
        break;
    case LCR:
        u->s.lcr = v;
        break;
    case MCR:
        u->s.mcr = v & 0x1f;
        update_msr(u);
        break;
    case LSR:
    case MSR:
        break;                          /* read-only */
    case SCR:
        u->s.scr = v;
        break;
    }
    update_irq(u);
}

int uart_register(struct uart *u, struct iobus *bus)
{
    return iobus_register(bus, u->base, 8, 1, u, uart_io_read, uart_io_write);
}

/* ---- memory images ---- */

void uart_save(const struct uart_state *s, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("UART"), 1);
    snapw_u8(w, s->ier);
    snapw_u8(w, s->lcr);
    snapw_u8(w, s->mcr);
    snapw_u8(w, s->scr);
    snapw_u8(w, s->fcr);
    snapw_u8(w, s->dll);
    snapw_u8(w, s->dlm);
    snapw_u8(w, s->lsr_err);
    snapw_u8(w, s->msr_lines);
    snapw_u8(w, s->msr_delta);
    snapw_bool(w, s->thr_ipending);
    snapw_bytes(w, s->rx, UART_FIFO);
    snapw_u8(w, (uint8_t)s->rx_head);
    snapw_u8(w, (uint8_t)s->rx_count);
    snapw_end(w);
}

bool uart_load(struct uart_state *s, struct snapr *r)
{
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("UART"), 1, &sub, &version))
        return false;
    struct uart_state n;
    memset(&n, 0, sizeof n);
    n.ier = snapr_u8(&sub);
    n.lcr = snapr_u8(&sub);
    n.mcr = snapr_u8(&sub);
    n.scr = snapr_u8(&sub);
    n.fcr = snapr_u8(&sub);
    n.dll = snapr_u8(&sub);
    n.dlm = snapr_u8(&sub);
    n.lsr_err = snapr_u8(&sub);
    n.msr_lines = snapr_u8(&sub);
    n.msr_delta = snapr_u8(&sub);
    n.thr_ipending = snapr_bool(&sub);
    snapr_bytes(&sub, n.rx, UART_FIFO);
    n.rx_head = snapr_u8(&sub);
    n.rx_count = snapr_u8(&sub);
    if (!sub.bad) {
        if (n.rx_head >= UART_FIFO)
            snapr_fail(&sub, "UART: receive FIFO head %d", n.rx_head);
        else if (n.rx_count > ((n.fcr & FCR_ENABLE) ? UART_FIFO : 1))
            snapr_fail(&sub, "UART: %d bytes in the receiver (FCR 0x%02x)", n.rx_count, n.fcr);
        else if ((n.fcr & ~FCR_KEPT) || n.ier > 0x0f || n.mcr > 0x1f)
            snapr_fail(&sub, "UART: FCR 0x%02x, IER 0x%02x, MCR 0x%02x", n.fcr, n.ier, n.mcr);
    }
    if (!snapr_done(&sub, r))
        return false;
    *s = n;
    return true;
}

void uart_redrive(struct uart *u)
{
    u->irq_level = -1;          /* not a level: update_irq sets the line */
    update_irq(u);
}
