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
    u->dll = 0x0c;                      /* 9600 baud */
    u->msr_lines = 0xb0;                /* DCD, DSR, CTS: a terminal is there */
}

static int rx_capacity(const struct uart *u)
{
    return (u->fcr & FCR_ENABLE) ? UART_FIFO : 1;
}

int uart_rx_space(const struct uart *u)
{
    if ((u->mcr & MCR_LOOP) || !(u->mcr & UART_MCR_RTS))
        return 0;
    return rx_capacity(u) - u->rx_count;
}

/* The receiver trigger level (FCR bits 7-6) with the FIFO on. */
static int rx_trigger(const struct uart *u)
{
    static const int level[4] = { 1, 4, 8, 14 };
    return level[u->fcr >> 6];
}

/* Interrupt identification (IIR bits 0-3). */
static uint8_t iid(const struct uart *u)
{
    if ((u->ier & 0x04) && u->lsr_err)
        return 0x06;
    if ((u->ier & 0x01) && u->rx_count) {
        if ((u->fcr & FCR_ENABLE) && u->rx_count < rx_trigger(u))
            return 0x0c;                /* below the trigger: character timeout */
        return 0x04;
    }
    if ((u->ier & 0x02) && u->thr_ipending)
        return 0x02;
    if ((u->ier & 0x08) && u->msr_delta)
        return 0x00;
    return 0x01;
}

/* The IRQ line: the interrupt output through the OUT2 gate of a PC
 * (never in loopback, where the OUT2 pin is inactive). */
static void update_irq(struct uart *u)
{
    int level = iid(u) != 0x01 && (u->mcr & (UART_MCR_OUT2 | MCR_LOOP)) == UART_MCR_OUT2;
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_line_set(&u->irq, level);
    }
}

/* Modem status lines (MSR bits 4-7) as the guest sees them now. */
static uint8_t msr_lines(const struct uart *u)
{
    if (!(u->mcr & MCR_LOOP))
        return 0xb0;
    uint8_t m = u->mcr;
    return (uint8_t)(((m & 0x02) ? 0x10 : 0) |   /* RTS -> CTS */
                     ((m & 0x01) ? 0x20 : 0) |   /* DTR -> DSR */
                     ((m & 0x04) ? 0x40 : 0) |   /* OUT1 -> RI */
                     ((m & 0x08) ? 0x80 : 0));   /* OUT2 -> DCD */
}

static void update_msr(struct uart *u)
{
    uint8_t now = msr_lines(u), old = u->msr_lines;
    uint8_t ch = now ^ old;
    if (ch & 0x10) u->msr_delta |= 0x01;
    if (ch & 0x20) u->msr_delta |= 0x02;
    if ((old & 0x40) && !(now & 0x40)) u->msr_delta |= 0x04; /* RI trailing edge */
    if (ch & 0x80) u->msr_delta |= 0x08;
    u->msr_lines = now;
}

/* A byte into the receiver (from the line or looped back). */
static void rx_push(struct uart *u, uint8_t byte)
{
    if (u->rx_count >= rx_capacity(u)) {
        u->lsr_err |= UART_LSR_OE;
    } else {
        u->rx[(u->rx_head + u->rx_count) % UART_FIFO] = byte;
        u->rx_count++;
    }
    update_irq(u);
}

void uart_receive(struct uart *u, uint8_t byte)
{
    if (!(u->mcr & MCR_LOOP))
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
    if (u->mcr & MCR_LOOP) {
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
        if (u->lcr & LCR_DLAB)
            return u->dll;
        v = 0;
        if (u->rx_count) {
            v = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % UART_FIFO;
            u->rx_count--;
        }
        break;
    case IER:
        return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
    case IIR:
        v = iid(u);
        if (v == 0x02)
            u->thr_ipending = false;    /* reading IIR clears THRE source */
        v |= (u->fcr & FCR_ENABLE) ? 0xc0 : 0;
        break;
    case LCR:
        return u->lcr;
    case MCR:
        return u->mcr;
    case LSR:
        v = UART_LSR_THRE | UART_LSR_TEMT | u->lsr_err |
            (u->rx_count ? UART_LSR_DR : 0);
        u->lsr_err = 0;
        break;
    case MSR:
        update_msr(u);
        v = u->msr_lines | u->msr_delta;
        u->msr_delta = 0;
        break;
    case SCR:
        return u->scr;
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
        if (u->lcr & LCR_DLAB) {
            u->dll = v;
        } else {
            transmit(u, v);
            u->thr_ipending = true;     /* sent at once: THR empty again */
        }
        break;
    case IER:
        if (u->lcr & LCR_DLAB) {
            u->dlm = v;
        } else {
            if ((v & 0x02) && !(u->ier & 0x02))
                u->thr_ipending = true; /* enabling with THR empty */
            u->ier = v & 0x0f;
        }
        break;
    case IIR:                            /* FCR */
        /* switching the FIFO on or off empties it; the other bits are
         * written only together with bit 0 (the transmitter has no FIFO
         * contents to clear: it sends at once) */
        if ((v ^ u->fcr) & FCR_ENABLE)
            u->rx_count = 0;
        if (!(v & FCR_ENABLE)) {
            u->fcr = 0;
            break;
        }
        if (v & FCR_CLEAR_RX)
            u->rx_count = 0;
        u->fcr = v & FCR_KEPT;
        break;
    case LCR:
        u->lcr = v;
        break;
    case MCR:
        u->mcr = v & 0x1f;
        update_msr(u);
        break;
    case LSR:
    case MSR:
        break;                          /* read-only */
    case SCR:
        u->scr = v;
        break;
    }
    update_irq(u);
}

int uart_register(struct uart *u, struct iobus *bus)
{
    return iobus_register(bus, u->base, 8, 1, u, uart_io_read, uart_io_write);
}
