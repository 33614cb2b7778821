/* test_devices.c - the platform devices without a CPU: 8259A PIC, 8254
 * PIT (with a fake clock), 16550 UART, MC146818 CMOS and debug-exit,
 * driven through their port handlers and the I/O bus. */
#include <criterion/criterion.h>
#include <string.h>

#include "io/cmos.h"
#include "io/debugexit.h"
#include "io/iobus.h"
#include "io/pic.h"
#include "io/pit.h"
#include "io/uart.h"
#include "unit/irq_rec.h"

/* ---- PIC ---- */

struct pic_fix {
    struct iobus bus;
    struct pic pic;
    int intr;
    int changes;
};

static void intr_out(void *ctx, int level)
{
    struct pic_fix *f = ctx;
    f->intr = level;
    f->changes++;
}

/* The initialization Linux and most BIOSes do: edge, cascade, 8086. */
static void pic_setup(struct pic_fix *f)
{
    memset(f, 0, sizeof(*f));
    iobus_init(&f->bus);
    pic_init(&f->pic, intr_out, f);
    cr_assert_eq(pic_register(&f->pic, &f->bus), 0);
    iobus_out(&f->bus, 0x20, 1, 0x11);   /* ICW1: edge, cascade, ICW4 */
    iobus_out(&f->bus, 0x21, 1, 0x20);   /* ICW2: vectors 0x20-0x27 */
    iobus_out(&f->bus, 0x21, 1, 0x04);   /* ICW3: slave on IR2 */
    iobus_out(&f->bus, 0x21, 1, 0x01);   /* ICW4: 8086 */
    iobus_out(&f->bus, 0xa0, 1, 0x11);
    iobus_out(&f->bus, 0xa1, 1, 0x28);
    iobus_out(&f->bus, 0xa1, 1, 0x02);
    iobus_out(&f->bus, 0xa1, 1, 0x01);
}

Test(pic, init_clears_mask_and_sets_vectors)
{
    struct pic_fix f;
    pic_setup(&f);
    cr_assert_eq(iobus_in(&f.bus, 0x21, 1), 0x00);
    cr_assert_eq(f.pic.s.chip[0].vector_base, 0x20);
    cr_assert_eq(f.pic.s.chip[1].vector_base, 0x28);
    cr_assert_eq(f.pic.s.chip[0].init_step, 0);
    iobus_out(&f.bus, 0x21, 1, 0xfb);    /* OCW1 */
    cr_assert_eq(iobus_in(&f.bus, 0x21, 1), 0xfb);
    cr_assert_eq(f.intr, 0);
}

Test(pic, edge_irq_ack_eoi)
{
    struct pic_fix f;
    pic_setup(&f);
    pic_set_irq(&f.pic, 0, 1);
    cr_assert_eq(f.intr, 1);
    pic_set_irq(&f.pic, 0, 0);
    cr_assert_eq(f.intr, 1, "edge latched in IRR");
    cr_assert_eq(pic_ack(&f.pic), 0x20);
    cr_assert_eq(f.intr, 0);
    iobus_out(&f.bus, 0x20, 1, 0x0b);    /* OCW3: read ISR */
    cr_assert_eq(iobus_in(&f.bus, 0x20, 1), 0x01);
    iobus_out(&f.bus, 0x20, 1, 0x20);    /* non-specific EOI */
    cr_assert_eq(iobus_in(&f.bus, 0x20, 1), 0x00);
    /* no new edge: nothing pending */
    pic_set_irq(&f.pic, 0, 0);
    cr_assert_eq(f.intr, 0);
}

Test(pic, mask_blocks_and_unmask_delivers)
{
    struct pic_fix f;
    pic_setup(&f);
    iobus_out(&f.bus, 0x21, 1, 0x10);    /* mask IRQ4 */
    pic_set_irq(&f.pic, 4, 1);
    cr_assert_eq(f.intr, 0);
    iobus_out(&f.bus, 0x20, 1, 0x0a);    /* read IRR */
    cr_assert_eq(iobus_in(&f.bus, 0x20, 1), 0x10);
    iobus_out(&f.bus, 0x21, 1, 0x00);
    cr_assert_eq(f.intr, 1);
    cr_assert_eq(pic_ack(&f.pic), 0x24);
}

Test(pic, priority_and_nesting)
{
    struct pic_fix f;
    pic_setup(&f);
    pic_set_irq(&f.pic, 4, 1);
    cr_assert_eq(pic_ack(&f.pic), 0x24);  /* IRQ4 in service */
    pic_set_irq(&f.pic, 6, 1);
    cr_assert_eq(f.intr, 0, "lower priority waits");
    pic_set_irq(&f.pic, 1, 1);
    cr_assert_eq(f.intr, 1, "higher priority nests");
    cr_assert_eq(pic_ack(&f.pic), 0x21);
    iobus_out(&f.bus, 0x20, 1, 0x20);    /* EOI for IRQ1 (highest in ISR) */
    cr_assert_eq(f.intr, 0, "IRQ4 still in service");
    iobus_out(&f.bus, 0x20, 1, 0x64);    /* specific EOI IRQ4 */
    cr_assert_eq(f.intr, 1);
    cr_assert_eq(pic_ack(&f.pic), 0x26);
}

Test(pic, two_pending_highest_first)
{
    struct pic_fix f;
    pic_setup(&f);
    pic_set_irq(&f.pic, 5, 1);
    pic_set_irq(&f.pic, 3, 1);
    cr_assert_eq(pic_ack(&f.pic), 0x23);
    iobus_out(&f.bus, 0x20, 1, 0x20);
    cr_assert_eq(pic_ack(&f.pic), 0x25);
}

Test(pic, cascade_slave)
{
    struct pic_fix f;
    pic_setup(&f);
    pic_set_irq(&f.pic, 8, 1);
    cr_assert_eq(f.intr, 1);
    cr_assert_eq(pic_ack(&f.pic), 0x28);
    cr_assert_eq(f.pic.s.chip[0].isr, 0x04);
    cr_assert_eq(f.pic.s.chip[1].isr, 0x01);
    iobus_out(&f.bus, 0xa0, 1, 0x20);
    iobus_out(&f.bus, 0x20, 1, 0x20);
    cr_assert_eq(f.pic.s.chip[0].isr, 0);
    cr_assert_eq(f.pic.s.chip[1].isr, 0);
    /* slave masked */
    iobus_out(&f.bus, 0xa1, 1, 0x80);
    pic_set_irq(&f.pic, 15, 1);
    cr_assert_eq(f.intr, 0);
}

Test(pic, spurious_irq7_and_irq15)
{
    struct pic_fix f;
    pic_setup(&f);
    cr_assert_eq(pic_ack(&f.pic), 0x27);
    cr_assert_eq(f.pic.s.chip[0].isr, 0, "spurious sets no ISR bit");
}

Test(pic, auto_eoi)
{
    struct pic_fix f;
    pic_setup(&f);
    iobus_out(&f.bus, 0x20, 1, 0x11);
    iobus_out(&f.bus, 0x21, 1, 0x08);
    iobus_out(&f.bus, 0x21, 1, 0x04);
    iobus_out(&f.bus, 0x21, 1, 0x03);    /* ICW4: AEOI */
    pic_set_irq(&f.pic, 2 + 1, 1);
    cr_assert_eq(pic_ack(&f.pic), 0x0b);
    cr_assert_eq(f.pic.s.chip[0].isr, 0);
}

Test(pic, level_triggered_via_elcr)
{
    struct pic_fix f;
    pic_setup(&f);
    iobus_out(&f.bus, 0x4d1, 1, 0x02);   /* IRQ9 level */
    cr_assert_eq(iobus_in(&f.bus, 0x4d1, 1), 0x02);
    iobus_out(&f.bus, 0x4d0, 1, 0xff);
    cr_assert_eq(iobus_in(&f.bus, 0x4d0, 1), 0xf8, "IRQ0-2 cannot be level");
    pic_set_irq(&f.pic, 9, 1);
    cr_assert_eq(pic_ack(&f.pic), 0x29);
    iobus_out(&f.bus, 0xa0, 1, 0x20);
    iobus_out(&f.bus, 0x20, 1, 0x20);
    cr_assert_eq(f.intr, 1, "line still high: requests again");
    pic_set_irq(&f.pic, 9, 0);
    cr_assert_eq(f.intr, 0);
}

Test(pic, poll_command)
{
    struct pic_fix f;
    pic_setup(&f);
    pic_set_irq(&f.pic, 3, 1);
    iobus_out(&f.bus, 0x20, 1, 0x0c);    /* OCW3 poll */
    cr_assert_eq(iobus_in(&f.bus, 0x20, 1), 0x83);
    cr_assert_eq(f.pic.s.chip[0].isr, 0x08);
}

Test(pic, rotate_on_eoi)
{
    struct pic_fix f;
    pic_setup(&f);
    pic_set_irq(&f.pic, 1, 1);
    cr_assert_eq(pic_ack(&f.pic), 0x21);
    iobus_out(&f.bus, 0x20, 1, 0xa0);    /* rotate on non-specific EOI */
    /* IRQ1 is now lowest: IRQ2..7,0,1 */
    pic_set_irq(&f.pic, 1, 0);
    pic_set_irq(&f.pic, 1, 1);
    pic_set_irq(&f.pic, 5, 1);
    cr_assert_eq(pic_ack(&f.pic), 0x25);
}

/* ---- PIT ---- */

struct fake_clock {
    uint64_t ns;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->ns;
}

/* ns for n PIT ticks, rounded up */
static uint64_t ticks(uint64_t n)
{
    return (n * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

struct pit_fix {
    struct iobus bus;
    struct pit pit;
    struct fake_clock clk;
    struct irq_rec irq;
};

static void pit_setup(struct pit_fix *f)
{
    memset(f, 0, sizeof(*f));
    f->clk.ns = 1000000000ull;
    iobus_init(&f->bus);
    pit_init(&f->pit, fake_now, &f->clk, (struct irq_line){ rec_irq, &f->irq, 0 });
    cr_assert_eq(pit_register(&f->pit, &f->bus), 0);
}

static uint16_t read16(struct pit_fix *f, uint16_t port)
{
    uint16_t lo = (uint16_t)iobus_in(&f->bus, port, 1);
    uint16_t hi = (uint16_t)iobus_in(&f->bus, port, 1);
    return (uint16_t)(hi << 8 | lo);
}

Test(pit, mode2_counts_and_interrupts)
{
    struct pit_fix f;
    pit_setup(&f);
    iobus_out(&f.bus, 0x43, 1, 0x34);    /* counter 0, lo/hi, mode 2 */
    iobus_out(&f.bus, 0x40, 1, 1000 & 0xff);
    iobus_out(&f.bus, 0x40, 1, 1000 >> 8);
    cr_assert_eq(pit_counter_value(&f.pit, 0), 1000);
    f.clk.ns += ticks(100);
    cr_assert_eq(pit_counter_value(&f.pit, 0), 900);
    pit_poll(&f.pit);
    cr_assert_eq(f.irq.raises, 0);
    f.clk.ns += ticks(900);
    pit_poll(&f.pit);
    cr_assert_eq(f.irq.raises, 1);
    cr_assert_eq(f.irq.level, 0, "a pulse");
    cr_assert_eq(pit_counter_value(&f.pit, 0), 1000, "reloaded");
    f.clk.ns += ticks(2500);
    pit_poll(&f.pit);
    cr_assert_eq(f.irq.raises, 2, "missed edges collapse into one pulse");
    uint64_t next = pit_next_event_ns(&f.pit);
    cr_assert(next > f.clk.ns && next <= f.clk.ns + ticks(1000));
}

Test(pit, mode3_square_wave)
{
    struct pit_fix f;
    pit_setup(&f);
    iobus_out(&f.bus, 0x43, 1, 0x36);    /* counter 0, lo/hi, mode 3 */
    iobus_out(&f.bus, 0x40, 1, 100);
    iobus_out(&f.bus, 0x40, 1, 0);
    cr_assert(pit_counter_out(&f.pit, 0));
    f.clk.ns += ticks(10);
    cr_assert_eq(pit_counter_value(&f.pit, 0), 80, "counts by two");
    cr_assert(pit_counter_out(&f.pit, 0));
    f.clk.ns += ticks(50);
    cr_assert(!pit_counter_out(&f.pit, 0), "second half low");
    f.clk.ns += ticks(40);
    pit_poll(&f.pit);
    cr_assert_eq(f.irq.raises, 1);
    cr_assert(pit_counter_out(&f.pit, 0));
}

Test(pit, latch_freezes_the_read)
{
    struct pit_fix f;
    pit_setup(&f);
    iobus_out(&f.bus, 0x43, 1, 0x34);
    iobus_out(&f.bus, 0x40, 1, 0x00);
    iobus_out(&f.bus, 0x40, 1, 0x10);    /* 0x1000 */
    f.clk.ns += ticks(0x100);
    iobus_out(&f.bus, 0x43, 1, 0x00);    /* latch counter 0 */
    f.clk.ns += ticks(0x200);
    cr_assert_eq(read16(&f, 0x40), 0x0f00);
    cr_assert_eq(read16(&f, 0x40), 0x0d00, "latch released after two reads");
}

Test(pit, lobyte_and_hibyte_access)
{
    struct pit_fix f;
    pit_setup(&f);
    iobus_out(&f.bus, 0x43, 1, 0x54);    /* counter 1, LSB only, mode 2 */
    iobus_out(&f.bus, 0x41, 1, 200);
    f.clk.ns += ticks(50);
    cr_assert_eq(iobus_in(&f.bus, 0x41, 1), 150);
    iobus_out(&f.bus, 0x43, 1, 0x64);    /* counter 1, MSB only, mode 2 */
    iobus_out(&f.bus, 0x41, 1, 0x02);    /* 0x200 */
    f.clk.ns += ticks(0x100);
    cr_assert_eq(iobus_in(&f.bus, 0x41, 1), 0x01);
}

Test(pit, read_back_status_and_count)
{
    struct pit_fix f;
    pit_setup(&f);
    iobus_out(&f.bus, 0x43, 1, 0x30);    /* counter 0, lo/hi, mode 0 */
    cr_assert_eq(pit_counter_out(&f.pit, 0), 0);
    iobus_out(&f.bus, 0x40, 1, 100);
    iobus_out(&f.bus, 0x40, 1, 0);
    f.clk.ns += ticks(30);
    iobus_out(&f.bus, 0x43, 1, 0xc2);    /* read-back count+status, counter 0 */
    cr_assert_eq(iobus_in(&f.bus, 0x40, 1), 0x30, "status: OUT low, lo/hi, mode 0");
    cr_assert_eq(read16(&f, 0x40), 70);
    f.clk.ns += ticks(70);
    iobus_out(&f.bus, 0x43, 1, 0xe2);    /* status only */
    cr_assert_eq(iobus_in(&f.bus, 0x40, 1), 0xb0, "OUT high at terminal count");
    pit_poll(&f.pit);
    cr_assert_eq(f.irq.raises, 1);
    f.clk.ns += ticks(100000);
    pit_poll(&f.pit);
    cr_assert_eq(f.irq.raises, 1, "mode 0 interrupts once");
}

Test(pit, counter2_gate_and_port61)
{
    struct pit_fix f;
    pit_setup(&f);
    /* Linux's pit_calibrate_tsc: gate high, speaker off, mode 0 */
    iobus_out(&f.bus, 0x61, 1, (iobus_in(&f.bus, 0x61, 1) & ~0x02u) | 0x01);
    iobus_out(&f.bus, 0x43, 1, 0xb0);
    iobus_out(&f.bus, 0x42, 1, 0x00);
    iobus_out(&f.bus, 0x42, 1, 0x10);
    cr_assert_eq(iobus_in(&f.bus, 0x61, 1) & 0x20, 0);
    f.clk.ns += ticks(0x0fff);
    cr_assert_eq(iobus_in(&f.bus, 0x61, 1) & 0x20, 0);
    f.clk.ns += ticks(2);
    cr_assert_eq(iobus_in(&f.bus, 0x61, 1) & 0x21, 0x21);
    /* gate low pauses mode 0 */
    iobus_out(&f.bus, 0x43, 1, 0xb0);
    iobus_out(&f.bus, 0x42, 1, 0x00);
    iobus_out(&f.bus, 0x42, 1, 0x10);
    f.clk.ns += ticks(0x100);
    iobus_out(&f.bus, 0x61, 1, 0x00);
    f.clk.ns += ticks(0x500);
    cr_assert_eq(pit_counter_value(&f.pit, 2), 0x0f00);
    iobus_out(&f.bus, 0x61, 1, 0x01);
    f.clk.ns += ticks(0x100);
    cr_assert_eq(pit_counter_value(&f.pit, 2), 0x0e00);
}

Test(pit, bcd_counting)
{
    struct pit_fix f;
    pit_setup(&f);
    iobus_out(&f.bus, 0x43, 1, 0x35);    /* counter 0, lo/hi, mode 2, BCD */
    iobus_out(&f.bus, 0x40, 1, 0x00);
    iobus_out(&f.bus, 0x40, 1, 0x10);    /* 1000 decimal */
    f.clk.ns += ticks(1);
    cr_assert_eq(read16(&f, 0x40), 0x0999);
}

/* ---- UART ---- */

struct uart_fix {
    struct iobus bus;
    struct uart u;
    struct irq_rec irq;
    char out[8192];
    size_t out_len;
    int flushes;
};

static void cap_tx(void *ctx, const uint8_t *buf, size_t n)
{
    struct uart_fix *f = ctx;
    memcpy(f->out + f->out_len, buf, n);
    f->out_len += n;
    f->flushes++;
}

static void uart_setup(struct uart_fix *f)
{
    memset(f, 0, sizeof(*f));
    iobus_init(&f->bus);
    uart_init(&f->u, 0x3f8, (struct irq_line){ rec_irq, &f->irq, 4 }, cap_tx, f);
    cr_assert_eq(uart_register(&f->u, &f->bus), 0);
}

Test(uart, thr_output_flushed_at_newline)
{
    struct uart_fix f;
    uart_setup(&f);
    cr_assert_eq(iobus_in(&f.bus, 0x3fd, 1) & 0x60, 0x60, "THRE and TEMT");
    iobus_out(&f.bus, 0x3f8, 1, 'h');
    iobus_out(&f.bus, 0x3f8, 1, 'i');
    cr_assert_eq(f.out_len, 0, "buffered until newline");
    iobus_out(&f.bus, 0x3f8, 1, '\n');
    cr_assert_eq(f.out_len, 3);
    cr_assert_eq(memcmp(f.out, "hi\n", 3), 0);
    iobus_out(&f.bus, 0x3f8, 1, '>');
    uart_flush(&f.u);
    cr_assert_eq(f.out_len, 4);
}

Test(uart, dlab_divisor_and_scratch)
{
    struct uart_fix f;
    uart_setup(&f);
    iobus_out(&f.bus, 0x3fb, 1, 0x80);
    iobus_out(&f.bus, 0x3f8, 1, 0x01);   /* 115200 baud */
    iobus_out(&f.bus, 0x3f9, 1, 0x00);
    cr_assert_eq(iobus_in(&f.bus, 0x3f8, 1), 0x01);
    cr_assert_eq(iobus_in(&f.bus, 0x3f9, 1), 0x00);
    iobus_out(&f.bus, 0x3fb, 1, 0x03);   /* 8N1, DLAB off */
    cr_assert_eq(iobus_in(&f.bus, 0x3fb, 1), 0x03);
    cr_assert_eq(f.out_len, 0, "divisor writes are not output");
    iobus_out(&f.bus, 0x3f9, 1, 0x00);
    cr_assert_eq(f.u.s.ier, 0);
    iobus_out(&f.bus, 0x3ff, 1, 0x5a);
    cr_assert_eq(iobus_in(&f.bus, 0x3ff, 1), 0x5a);
}

Test(uart, loopback_and_msr)
{
    struct uart_fix f;
    uart_setup(&f);
    /* Linux's autoconfig check: loopback with RTS|OUT2 reads CTS|DCD */
    iobus_out(&f.bus, 0x3fc, 1, 0x1a);
    cr_assert_eq(iobus_in(&f.bus, 0x3fe, 1) & 0xf0, 0x90);
    iobus_out(&f.bus, 0x3f8, 1, 'x');
    cr_assert_eq(f.out_len, 0);
    uart_flush(&f.u);
    cr_assert_eq(f.out_len, 0, "loopback bytes never leave");
    cr_assert_eq(iobus_in(&f.bus, 0x3fd, 1) & 0x01, 0x01, "DR");
    cr_assert_eq(iobus_in(&f.bus, 0x3f8, 1), 'x');
    cr_assert_eq(iobus_in(&f.bus, 0x3fd, 1) & 0x01, 0x00);
    iobus_out(&f.bus, 0x3fc, 1, 0x00);
    cr_assert_eq(iobus_in(&f.bus, 0x3fe, 1) & 0xf0, 0xb0, "terminal attached");
}

Test(uart, receive_interrupt_and_iir)
{
    struct uart_fix f;
    uart_setup(&f);
    cr_assert_eq(iobus_in(&f.bus, 0x3fa, 1) & 0x0f, 0x01, "no interrupt");
    iobus_out(&f.bus, 0x3fc, 1, 0x0b);   /* DTR, RTS (ready to receive), OUT2 (IRQ) */
    iobus_out(&f.bus, 0x3f9, 1, 0x01);   /* RDA interrupt */
    cr_assert_eq(uart_rx_space(&f.u), 1);
    uart_receive(&f.u, 'k');
    cr_assert_eq(f.irq.level, 1);
    cr_assert_eq(iobus_in(&f.bus, 0x3fa, 1) & 0x0f, 0x04);
    cr_assert_eq(uart_rx_space(&f.u), 0);
    uart_receive(&f.u, 'l');             /* overrun */
    cr_assert_eq(iobus_in(&f.bus, 0x3f8, 1), 'k');
    cr_assert_eq(f.irq.level, 0);
    cr_assert_eq(iobus_in(&f.bus, 0x3fd, 1) & 0x02, 0x02, "OE");
    cr_assert_eq(iobus_in(&f.bus, 0x3fd, 1) & 0x02, 0x00, "OE clears on read");
    /* FIFO mode: 16 bytes */
    iobus_out(&f.bus, 0x3fa, 1, 0x07);
    cr_assert_eq(uart_rx_space(&f.u), 16);
    cr_assert_eq(iobus_in(&f.bus, 0x3fa, 1) & 0xc0, 0xc0);
}

Test(uart, thre_interrupt)
{
    struct uart_fix f;
    uart_setup(&f);
    iobus_out(&f.bus, 0x3fc, 1, 0x08);   /* OUT2: the IRQ line on */
    iobus_out(&f.bus, 0x3f9, 1, 0x02);   /* THRE interrupt, THR empty */
    cr_assert_eq(f.irq.level, 1);
    cr_assert_eq(iobus_in(&f.bus, 0x3fa, 1) & 0x0f, 0x02);
    cr_assert_eq(f.irq.level, 0, "reading IIR clears THRE");
    iobus_out(&f.bus, 0x3f8, 1, 'a');
    cr_assert_eq(f.irq.level, 1, "transmitted: empty again");
}

/* ---- CMOS ---- */

struct fake_wall {
    struct timespec ts;
};

static void fake_wall(void *ctx, struct timespec *ts)
{
    *ts = ((struct fake_wall *)ctx)->ts;
}

static uint8_t cmos_in(struct iobus *bus, uint8_t reg)
{
    iobus_out(bus, 0x70, 1, reg);
    return (uint8_t)iobus_in(bus, 0x71, 1);
}

static void cmos_out(struct iobus *bus, uint8_t reg, uint8_t v)
{
    iobus_out(bus, 0x70, 1, reg);
    iobus_out(bus, 0x71, 1, v);
}

Test(cmos, bcd_time_and_formats)
{
    struct iobus bus;
    struct cmos c;
    /* 2024-03-09 17:45:59 UTC, a Saturday */
    struct fake_wall w = { { 1710006359, 0 } };
    iobus_init(&bus);
    cmos_init(&c, 256u << 20, fake_wall, &w);
    cr_assert_eq(cmos_register(&c, &bus), 0);
    cr_assert_eq(cmos_in(&bus, 0x00), 0x59);
    cr_assert_eq(cmos_in(&bus, 0x02), 0x45);
    cr_assert_eq(cmos_in(&bus, 0x04), 0x17);
    cr_assert_eq(cmos_in(&bus, 0x06), 0x07, "Saturday = 7");
    cr_assert_eq(cmos_in(&bus, 0x07), 0x09);
    cr_assert_eq(cmos_in(&bus, 0x08), 0x03);
    cr_assert_eq(cmos_in(&bus, 0x09), 0x24);
    cr_assert_eq(cmos_in(&bus, 0x32), 0x20);
    cr_assert_eq(cmos_in(&bus, 0x0d), 0x80);
    /* binary, 12-hour */
    cmos_out(&bus, 0x0b, 0x04);
    cr_assert_eq(cmos_in(&bus, 0x00), 59);
    cr_assert_eq(cmos_in(&bus, 0x04), 0x80 | 5, "5 PM");
    cmos_out(&bus, 0x0b, 0x00);
    cr_assert_eq(cmos_in(&bus, 0x04), 0x85, "BCD 5 PM");
}

Test(cmos, uip_and_set_time)
{
    struct iobus bus;
    struct cmos c;
    struct fake_wall w = { { 1710006359, 999900000 } };
    iobus_init(&bus);
    cmos_init(&c, 64u << 20, fake_wall, &w);
    cmos_register(&c, &bus);
    cr_assert_eq(cmos_in(&bus, 0x0a) & 0x80, 0x80, "UIP just before the update");
    w.ts.tv_nsec = 500000000;
    cr_assert_eq(cmos_in(&bus, 0x0a) & 0x80, 0x00);
    /* set the clock to 12:00:00 with SET */
    cmos_out(&bus, 0x0b, 0x82);
    cmos_out(&bus, 0x04, 0x12);
    cmos_out(&bus, 0x02, 0x00);
    cmos_out(&bus, 0x00, 0x00);
    cmos_out(&bus, 0x0b, 0x02);
    w.ts.tv_sec += 5;
    cr_assert_eq(cmos_in(&bus, 0x04), 0x12);
    cr_assert_eq(cmos_in(&bus, 0x00), 0x05);
    cr_assert_eq(cmos_in(&bus, 0x07), 0x09, "date kept");
}

Test(cmos, memory_bytes_and_nmi)
{
    struct iobus bus;
    struct cmos c;
    struct fake_wall w = { { 0, 0 } };
    iobus_init(&bus);
    cmos_init(&c, 256u << 20, fake_wall, &w);
    cmos_register(&c, &bus);
    cr_assert_eq(cmos_in(&bus, 0x15) | cmos_in(&bus, 0x16) << 8, 640);
    cr_assert_eq(cmos_in(&bus, 0x17) | cmos_in(&bus, 0x18) << 8, 0xfc00);
    cr_assert_eq(cmos_in(&bus, 0x30) | cmos_in(&bus, 0x31) << 8, 0xfc00);
    cr_assert_eq(cmos_in(&bus, 0x34) | cmos_in(&bus, 0x35) << 8, (256 - 16) * 16);
    iobus_out(&bus, 0x70, 1, 0x8f);
    cr_assert(c.s.nmi_masked);
    cr_assert_eq(c.s.index, 0x0f);
    cmos_init(&c, 8u << 20, fake_wall, &w);
    cr_assert_eq(c.s.ram[0x17] | c.s.ram[0x18] << 8, 7 * 1024);
    cr_assert_eq(c.s.ram[0x34] | c.s.ram[0x35] << 8, 0);
}

/* ---- debug-exit ---- */

static void set_flag(void *ctx)
{
    *(int *)ctx = 1;
}

Test(debugexit, status_computation)
{
    cr_assert_eq(debugexit_status(0), 1);
    cr_assert_eq(debugexit_status(1), 3);
    cr_assert_eq(debugexit_status(0x10), 0x21);
    cr_assert_eq(debugexit_status(0x7f) & 0xff, 0xff);
}

Test(debugexit, port_writes)
{
    struct iobus bus;
    struct debugexit d;
    int req = 0;
    iobus_init(&bus);
    debugexit_init(&d, set_flag, &req);
    cr_assert_eq(debugexit_register(&d, &bus), 0);
    iobus_out(&bus, 0x80, 1, 0x12);      /* unassigned: ignored */
    cr_assert(!d.exited);
    iobus_out(&bus, 0xf4, 2, 0x1234);
    cr_assert(d.exited);
    cr_assert_eq(req, 1);
    cr_assert_eq(d.status, 0x2469);
    iobus_out(&bus, 0xf4, 1, 0);
    cr_assert_eq(d.status, 0x2469, "first write wins");
}

Test(iobus, unassigned_and_split)
{
    struct iobus bus;
    struct uart_fix f;
    uart_setup(&f);
    iobus_init(&bus);
    cr_assert_eq(iobus_in(&bus, 0x1234, 1), 0xff);
    cr_assert_eq(iobus_in(&bus, 0x1234, 4), 0xffffffffu);
    /* a 16-bit read of an 8-bit device is two byte reads */
    iobus_out(&f.bus, 0x3ff, 1, 0x77);
    cr_assert_eq(iobus_in(&f.bus, 0x3fe, 2), 0x77b0);
    cr_assert_eq(iobus_register(&f.bus, 0x3fa, 2, 1, NULL, NULL, NULL), -1, "overlap");
}
