/* test_uart.c - the 16550A as Linux's 8250 driver uses it: the register
 * sequences of its probe (autoconfig: which chip is this?) and of its
 * start-up (the THRE and TXEN tests), the FIFO and its trigger level,
 * RTS flow control towards the host, the OUT2 gate of the IRQ line, and
 * the line and modem status interrupts. The sequences are written from
 * what the driver checks (drivers/tty/serial/8250/8250_port.c in Linux
 * 6.1): each step's expected answer is the one that leads it to "16550A"
 * and to no bug workaround. */
#include <criterion/criterion.h>
#include <string.h>

#include "io/iobus.h"
#include "io/uart.h"
#include "unit/irq_rec.h"

enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct fix {
    struct iobus bus;
    struct uart u;
    struct irq_rec irq;
    size_t out_len;
};

static void count_tx(void *ctx, const uint8_t *buf, size_t n)
{
    (void)buf;
    ((struct fix *)ctx)->out_len += n;
}

static void setup(struct fix *f)
{
    memset(f, 0, sizeof *f);
    iobus_init(&f->bus);
    uart_init(&f->u, 0x3f8, (struct irq_line){ rec_irq, &f->irq, 4 }, count_tx, f);
    cr_assert_eq(uart_register(&f->u, &f->bus), 0);
}

static uint8_t in(struct fix *f, int reg)
{
    return (uint8_t)iobus_in(&f->bus, (uint16_t)(0x3f8 + reg), 1);
}

static void out(struct fix *f, int reg, uint8_t v)
{
    iobus_out(&f->bus, (uint16_t)(0x3f8 + reg), 1, v);
}

/* The probe: the answers a 16550A gives to each of the driver's tests,
 * in the driver's order. Returns the first test that went wrong, or
 * NULL: the driver calls the port a 16550A. */
static const char *probe(struct fix *f)
{
    /* IER exists: 0 and 0x0F read back (low nibble) */
    uint8_t ier = in(f, IER);
    out(f, IER, 0);
    if (in(f, IER) & 0x0f)
        return "IER reads back 0";
    out(f, IER, 0x0f);
    if ((in(f, IER) & 0x0f) != 0x0f)
        return "IER reads back 0x0F";
    out(f, IER, ier);
    /* loopback: RTS|OUT2 come back as CTS|DCD, nothing else */
    uint8_t mcr = in(f, MCR), lcr = in(f, LCR);
    out(f, MCR, UART_MCR_LOOP | 0x0a);
    uint8_t msr = in(f, MSR) & 0xf0;
    out(f, MCR, mcr);
    if (msr != 0x90)
        return "loopback MSR 0x90";
    /* EFR (none) cleared under LCR 0xBF: a plain FCR write here */
    out(f, LCR, 0xbf);
    out(f, 2, 0);
    out(f, LCR, 0);
    out(f, FCR, 0x01);
    if (in(f, IIR) >> 6 != 3)
        return "IIR bits 7-6 = 11 with the FIFO on (16550A)";
    /* no EFR under DLAB (LCR 0x80): offset 2 reads the IIR, non-zero */
    out(f, LCR, 0x80);
    if (in(f, 2) == 0)
        return "no ST16C650V1 EFR (offset 2 non-zero with LCR 0x80)";
    out(f, LCR, 0xbf);
    if (in(f, 2) == 0)
        return "no EFR (offset 2 non-zero with LCR 0xBF)";
    /* no National Semiconductor bank 2: offset 2 under LCR 0xE0 does not
     * follow the MCR loopback bit */
    out(f, LCR, 0);
    uint8_t s1 = in(f, MCR);
    out(f, LCR, 0xe0);
    uint8_t s2 = in(f, 2);
    if (!((s1 ^ s2) & UART_MCR_LOOP)) {
        out(f, LCR, 0);
        out(f, MCR, s1 ^ UART_MCR_LOOP);
        out(f, LCR, 0xe0);
        s2 = in(f, 2);
        out(f, LCR, 0);
        out(f, MCR, s1);
        if ((s1 ^ s2) & UART_MCR_LOOP)
            return "no NatSemi bank 2";
    }
    /* no 64-byte FIFO (TI16750): IIR bit 5 stays 0, with DLAB or not */
    out(f, LCR, 0);
    out(f, FCR, 0x21);
    uint8_t t1 = in(f, IIR) >> 5;
    out(f, FCR, 0x01);
    out(f, LCR, 0x80);
    out(f, FCR, 0x21);
    uint8_t t2 = in(f, IIR) >> 5;
    out(f, FCR, 0x01);
    out(f, LCR, 0);
    if (t1 != 6 || t2 != 6)
        return "IIR >> 5 == 6 (no TI16750)";
    /* no XScale: IER bit 6 (UUE) does not stick */
    ier = in(f, IER);
    out(f, IER, ier | 0x40);
    if (in(f, IER) & 0x40)
        return "IER bit 6 reads 0 (no XScale)";
    out(f, IER, ier);
    /* the FIFO holds 16 bytes (not 64): 256 bytes sent in loopback at the
     * fastest divisor, then counted out */
    out(f, FCR, 0x07);
    out(f, MCR, UART_MCR_LOOP);
    out(f, LCR, 0x80);
    out(f, RBR, 1);
    out(f, IER, 0);
    out(f, LCR, 0x03);
    for (int i = 0; i < 256; i++)
        out(f, RBR, (uint8_t)i);
    int n = 0;
    while ((in(f, LSR) & UART_LSR_DR) && n < 256) {
        if (in(f, RBR) != n)
            return "the FIFO keeps the first 16 bytes in order";
        n++;
    }
    if (n != 16)
        return "a 16-byte FIFO";
    out(f, FCR, 0);
    out(f, MCR, mcr);
    out(f, LCR, lcr);
    /* reset: FIFOs cleared and off, RBR read, IER 0 */
    out(f, FCR, 0x01);
    out(f, FCR, 0x07);
    out(f, FCR, 0);
    (void)in(f, RBR);
    out(f, IER, 0);
    return NULL;
}

Test(uart, linux_autoconfig_finds_a_16550a)
{
    struct fix f;
    setup(&f);
    const char *bad = probe(&f);
    cr_assert_null(bad, "the probe's step failed: %s", bad ? bad : "");
    cr_assert_eq(f.out_len, 0, "nothing sent on the line during the probe");
    cr_assert_eq(f.irq.raises, 0, "no IRQ without OUT2");
}

/* serial8250_do_startup's THRE test: the THR-empty interrupt is raised
 * when ETBEI is set with THR empty and cleared by reading IIR, and comes
 * again when ETBEI goes 0 -> 1 (else the driver sets UART_BUG_THRE and
 * polls with a timer). */
Test(uart, startup_thre_test_sees_no_bug)
{
    struct fix f;
    setup(&f);
    cr_assert(in(&f, LSR) & UART_LSR_THRE);
    out(&f, IER, 0x02);
    uint8_t iir1 = in(&f, IIR);
    out(&f, IER, 0);
    out(&f, IER, 0x02);
    uint8_t iir2 = in(&f, IIR);
    out(&f, IER, 0);
    cr_assert_eq(iir1 & 0x0f, 0x02, "THRE raised");
    cr_assert_eq(iir2 & 0x0f, 0x02, "raised again: no UART_BUG_THRE");
    /* reading IIR cleared it */
    out(&f, IER, 0x02);
    cr_assert_eq(in(&f, IIR) & 0x0f, 0x02);
    cr_assert_eq(in(&f, IIR) & 0x0f, 0x01, "read once, gone while ETBEI stays set");
    out(&f, RBR, 'a');
    cr_assert_eq(in(&f, IIR) & 0x0f, 0x02, "sent: empty again");
}

/* The TXEN test after OUT2 is set: enabling ETBEI with the transmitter
 * empty shows an interrupt in IIR (else UART_BUG_TXEN), and the IRQ line
 * rises for it. */
Test(uart, startup_txen_test_and_irq_line)
{
    struct fix f;
    setup(&f);
    out(&f, LCR, 0x03);
    out(&f, MCR, UART_MCR_OUT2);
    out(&f, IER, 0x02);
    uint8_t lsr = in(&f, LSR);
    cr_assert_eq(f.irq.level, 1);
    uint8_t iir = in(&f, IIR);
    out(&f, IER, 0);
    cr_assert(lsr & UART_LSR_TEMT);
    cr_assert_eq(iir & 0x01, 0, "an interrupt: no UART_BUG_TXEN");
    cr_assert_eq(f.irq.level, 0);
    cr_assert_eq(f.irq.raises, 1);
}

Test(uart, out2_gates_the_irq_line)
{
    struct fix f;
    setup(&f);
    out(&f, IER, 0x02);
    cr_assert_eq(in(&f, IIR) & 0x0f, 0x02, "pending inside the UART");
    out(&f, IER, 0);
    out(&f, IER, 0x02);
    cr_assert_eq(f.irq.level, 0, "OUT2 off: the IRQ line stays low");
    out(&f, MCR, UART_MCR_OUT2);
    cr_assert_eq(f.irq.level, 1, "OUT2 on: the pending interrupt reaches the line");
    out(&f, MCR, 0);
    cr_assert_eq(f.irq.level, 0);
    out(&f, MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
    cr_assert_eq(f.irq.level, 0, "loopback: the OUT2 pin is inactive");
    cr_assert_eq(in(&f, IIR) & 0x0f, 0x02, "still pending inside");
}

/* Received data: with the FIFO on, below the trigger level it shows as a
 * character timeout (0x0C), at the level as data available (0x04); the
 * host may send exactly the free room, and RTS off or loopback stops it. */
Test(uart, rx_fifo_trigger_and_flow_control)
{
    struct fix f;
    setup(&f);
    cr_assert_eq(uart_rx_space(&f.u), 0, "RTS off: the terminal waits");
    out(&f, MCR, UART_MCR_RTS);
    cr_assert_eq(uart_rx_space(&f.u), 1, "FIFO off: one byte");
    out(&f, FCR, 0x81);                  /* FIFO on, trigger 8: Linux's setting */
    cr_assert_eq(in(&f, IIR) & 0xc0, 0xc0);
    cr_assert_eq(uart_rx_space(&f.u), 16);
    out(&f, MCR, UART_MCR_RTS | UART_MCR_OUT2);
    out(&f, IER, 0x05);                  /* RDI | RLSI */
    for (int i = 0; i < 3; i++)
        uart_receive(&f.u, (uint8_t)('a' + i));
    cr_assert_eq(in(&f, IIR), 0xcc, "3 < 8: character timeout");
    cr_assert_eq(f.irq.level, 1);
    for (int i = 3; i < 8; i++)
        uart_receive(&f.u, (uint8_t)('a' + i));
    cr_assert_eq(in(&f, IIR), 0xc4, "8 bytes: data available");
    cr_assert_eq(uart_rx_space(&f.u), 8);
    for (int i = 0; i < 8; i++) {
        cr_assert(in(&f, LSR) & UART_LSR_DR);
        cr_assert_eq(in(&f, RBR), 'a' + i);
    }
    cr_assert_eq(in(&f, LSR) & UART_LSR_DR, 0);
    cr_assert_eq(in(&f, IIR), 0xc1);
    cr_assert_eq(f.irq.level, 0);
    out(&f, MCR, UART_MCR_RTS | UART_MCR_LOOP);
    cr_assert_eq(uart_rx_space(&f.u), 0, "loopback: the line is cut off");
    uart_receive(&f.u, 'x');
    cr_assert_eq(in(&f, LSR) & UART_LSR_DR, 0, "a byte from outside does not arrive");
    out(&f, MCR, UART_MCR_OUT2);
    cr_assert_eq(uart_rx_space(&f.u), 0, "RTS dropped (tty closed, or throttled)");
}

/* Overrun: the line status interrupt comes first; reading LSR clears it. */
Test(uart, overrun_line_status_interrupt)
{
    struct fix f;
    setup(&f);
    out(&f, MCR, UART_MCR_RTS | UART_MCR_OUT2);
    out(&f, IER, 0x07);
    uart_receive(&f.u, '1');
    uart_receive(&f.u, '2');             /* FIFO off: no room */
    cr_assert_eq(in(&f, IIR) & 0x0f, 0x06, "receiver line status first");
    uint8_t lsr = in(&f, LSR);
    cr_assert_eq(lsr & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
    cr_assert_eq(in(&f, LSR) & UART_LSR_OE, 0);
    cr_assert_eq(in(&f, IIR) & 0x0f, 0x04, "then the data");
    cr_assert_eq(in(&f, RBR), '1', "the first byte stays, the second was lost");
}

/* FCR: bit 0 off turns the FIFO off and empties it; the other bits are
 * only written together with bit 0; toggling the FIFO empties it. */
Test(uart, fcr_rules)
{
    struct fix f;
    setup(&f);
    out(&f, MCR, UART_MCR_RTS);
    out(&f, FCR, 0x01);
    uart_receive(&f.u, 'a');
    uart_receive(&f.u, 'b');
    out(&f, FCR, 0x03);                  /* clear the receiver, FIFO stays on */
    cr_assert_eq(in(&f, LSR) & UART_LSR_DR, 0);
    cr_assert_eq(in(&f, IIR) & 0xc0, 0xc0);
    uart_receive(&f.u, 'c');
    out(&f, FCR, 0x00);                  /* off: emptied */
    cr_assert_eq(in(&f, LSR) & UART_LSR_DR, 0);
    cr_assert_eq(in(&f, IIR) & 0xc0, 0x00);
    uart_receive(&f.u, 'd');
    out(&f, FCR, 0xc2);                  /* bit 0 clear: nothing written */
    cr_assert_eq(in(&f, LSR) & UART_LSR_DR, UART_LSR_DR, "not cleared");
    cr_assert_eq(in(&f, IIR) & 0xc0, 0x00, "FIFO still off");
    cr_assert_eq(in(&f, RBR), 'd');
}

/* MSR: in loopback the MCR outputs drive the inputs; each change sets a
 * delta bit (RI only on its trailing edge), reading MSR clears them, and
 * with EDSSI they raise the modem status interrupt. */
Test(uart, msr_deltas_and_interrupt)
{
    struct fix f;
    setup(&f);
    cr_assert_eq(in(&f, MSR), 0xb0, "a terminal: DCD, DSR, CTS, no deltas");
    out(&f, IER, 0x08);
    out(&f, MCR, UART_MCR_LOOP);         /* every output off: DCD, DSR, CTS fall */
    cr_assert_eq(in(&f, IIR) & 0x0f, 0x00, "modem status interrupt");
    cr_assert_eq(in(&f, MSR), 0x0b, "DCTS DDSR DDCD");
    cr_assert_eq(in(&f, IIR) & 0x0f, 0x01, "cleared by the read");
    out(&f, MCR, UART_MCR_LOOP | 0x0f);  /* DTR RTS OUT1 OUT2 -> DSR CTS RI DCD */
    cr_assert_eq(in(&f, MSR), 0xfb, "all four on; RI rose: no TERI");
    out(&f, MCR, UART_MCR_LOOP);
    cr_assert_eq(in(&f, MSR), 0x0f, "RI fell: TERI");
    cr_assert_eq(in(&f, MSR), 0x00, "deltas cleared by the read");
    out(&f, MCR, 0);
    cr_assert_eq(in(&f, MSR), 0xbb, "back to the terminal's lines");
}

/* Loopback transmit: bytes go to the receiver, never out. */
Test(uart, loopback_transmit_stays_inside)
{
    struct fix f;
    setup(&f);
    out(&f, MCR, UART_MCR_LOOP);
    out(&f, FCR, 0x01);
    out(&f, RBR, 'z');
    uart_flush(&f.u);
    cr_assert_eq(f.out_len, 0);
    cr_assert_eq(in(&f, RBR), 'z');
    out(&f, MCR, 0);
    out(&f, RBR, '\n');
    cr_assert_eq(f.out_len, 1);
}
