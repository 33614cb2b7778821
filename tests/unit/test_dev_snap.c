/* test_dev_snap.c - rank 0's devices in a memory image (X_save/X_load
 * beside each device in src/io, devices_save/devices_load in
 * src/snap/dev_state.c): each device's round trip in a state that
 * matters, its outputs driven again after the load, the refusal of
 * corrupted values (out-of-range indices, queue sizes, FIFO counts) and
 * of truncated sections without reading past them, and the whole board
 * with its disks, refused on another disk set. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "irq_rec.h"
#include "machine_impl.h"
#include "snap/state.h"

/* ---- helpers ---- */

typedef void (*save_fn)(const void *state, struct snapw *w);
typedef bool (*load_fn)(void *state, struct snapr *r);

static struct snapw saved(save_fn save, const void *state)
{
    struct snapw w;
    snapw_init(&w);
    save(state, &w);
    cr_assert(!w.oom);
    return w;
}

/* Two states save to the same bytes (every saved field equal). */
static void assert_same(save_fn save, const void *a, const void *b)
{
    struct snapw wa = saved(save, a), wb = saved(save, b);
    cr_assert_eq(wa.len, wb.len);
    cr_assert(memcmp(wa.buf, wb.buf, wa.len) == 0, "a field differs after the round trip");
    snapw_free(&wa);
    snapw_free(&wb);
}

static void round_trip(save_fn save, load_fn load, const void *from, void *to)
{
    struct snapw w = saved(save, from);
    struct snapr r;
    snapr_init(&r, w.buf, w.len);
    cr_assert(load(to, &r), "%s", r.why);
    cr_assert_eq(r.pos, r.len);
    snapw_free(&w);
    assert_same(save, from, to);
}

/* The saved bytes with `n` bytes at payload offset `off` (after the
 * 16-byte section header) replaced by v (little-endian): the load must
 * refuse, name `why`, and leave the target as it was. */
static void refused(save_fn save, load_fn load, const void *from, size_t size, size_t off,
                    int n, uint64_t v, const char *why)
{
    struct snapw w = saved(save, from);
    cr_assert_leq(16 + off + (size_t)n, w.len);
    for (int i = 0; i < n; i++)
        w.buf[16 + off + (size_t)i] = (uint8_t)(v >> (8 * i));
    uint8_t *target = malloc(size), *before = malloc(size);
    memset(target, 0xa5, size);
    memcpy(before, target, size);
    struct snapr r;
    snapr_init(&r, w.buf, w.len);
    cr_assert_not(load(target, &r), "a corrupted value (offset %zu) was accepted", off);
    cr_assert(r.bad);
    cr_assert(strstr(r.why, why), "reason \"%s\" does not name \"%s\"", r.why, why);
    cr_assert(memcmp(target, before, size) == 0, "a refused load changed the state");
    free(target);
    free(before);
    snapw_free(&w);
}

/* Every shorter prefix is refused; every byte flipped never makes the
 * load read or write outside its buffers (the sanitizer build checks). */
static void truncated_and_flipped(save_fn save, load_fn load, const void *from, size_t size)
{
    struct snapw w = saved(save, from);
    void *target = malloc(size);
    for (size_t len = 0; len < w.len; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, w.buf, len);
        struct snapr r;
        snapr_init(&r, copy, len);
        cr_assert_not(load(target, &r), "a section cut to %zu of %zu bytes was accepted", len,
                       w.len);
        free(copy);
    }
    for (size_t i = 0; i < w.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            w.buf[i] ^= (uint8_t)(1u << bit);
            struct snapr r;
            snapr_init(&r, w.buf, w.len);
            load(target, &r);
            w.buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(target);
    snapw_free(&w);
}

/* Each device's save and load as save_fn / load_fn. */
#define WRAP(dev, type)                                                    \
    static void dev##_sv(const void *s, struct snapw *w)                   \
    {                                                                      \
        dev##_save((const type *)s, w);                                    \
    }                                                                      \
    static bool dev##_ld(void *s, struct snapr *r)                         \
    {                                                                      \
        return dev##_load((type *)s, r);                                   \
    }
WRAP(pic, struct pic_state)
WRAP(pit, struct pit_state)
WRAP(uart, struct uart_state)
WRAP(ioapic, struct ioapic_state)
WRAP(cmos, struct cmos_state)
WRAP(acpi_pm, struct acpi_pm_state)
WRAP(panicwatch, struct panicwatch_state)
WRAP(virtq, struct virtq)

/* ---- PIC ---- */

struct pic_fix {
    struct iobus bus;
    struct pic pic;
    int intr, calls;
};

static void pic_out(void *ctx, int level)
{
    struct pic_fix *f = ctx;
    f->intr = level;
    f->calls++;
}

static void pic_setup(struct pic_fix *f)
{
    memset(f, 0, sizeof *f);
    iobus_init(&f->bus);
    pic_init(&f->pic, pic_out, f);
    cr_assert_eq(pic_register(&f->pic, &f->bus), 0);
}

static void pic_program(struct pic_fix *f)
{
    iobus_out(&f->bus, 0x20, 1, 0x11);
    iobus_out(&f->bus, 0x21, 1, 0x20);
    iobus_out(&f->bus, 0x21, 1, 0x04);
    iobus_out(&f->bus, 0x21, 1, 0x01);
    iobus_out(&f->bus, 0xa0, 1, 0x11);
    iobus_out(&f->bus, 0xa1, 1, 0x28);
    iobus_out(&f->bus, 0xa1, 1, 0x02);
    iobus_out(&f->bus, 0xa1, 1, 0x01);
    iobus_out(&f->bus, 0x4d1, 1, 0x0c);       /* IRQ 10, 11 level-triggered */
}

Test(dev_snap, pic_with_isr_bits)
{
    struct pic_fix a, b;
    pic_setup(&a);
    pic_program(&a);
    pic_set_irq(&a.pic, 3, 1);
    cr_assert_eq(pic_ack(&a.pic), 0x23);       /* IRQ3 in service */
    pic_set_irq(&a.pic, 3, 0);
    pic_set_irq(&a.pic, 10, 1);
    cr_assert_eq(pic_ack(&a.pic), 0x2a);       /* IRQ2 + IRQ10 in service */
    pic_set_irq(&a.pic, 1, 1);                 /* pending, above IRQ2 and 3 */
    iobus_out(&a.bus, 0x20, 1, 0x0b);          /* OCW3: reads return ISR */
    iobus_out(&a.bus, 0x21, 1, 0x80);          /* IRQ7 masked */
    cr_assert_eq(a.intr, 1);

    pic_setup(&b);
    round_trip(pic_sv, pic_ld, &a.pic.s, &b.pic.s);
    cr_assert_eq(b.calls, 0, "the load itself drives nothing");
    pic_redrive(&b.pic);
    cr_assert_eq(b.calls, 1, "INTR driven once after the load");
    cr_assert_eq(b.intr, 1);
    cr_assert_eq(iobus_in(&b.bus, 0x20, 1), 0x0c, "ISR (IRQ2, IRQ3) read through OCW3");
    cr_assert_eq(iobus_in(&b.bus, 0xa0, 1), 0x04, "slave ISR: IRQ10");
    cr_assert_eq(iobus_in(&b.bus, 0x21, 1), 0x80);
    cr_assert_eq(iobus_in(&b.bus, 0x4d1, 1), 0x0c);
    cr_assert_eq(pic_ack(&b.pic), 0x21, "the pending IRQ1 goes on");
    iobus_out(&b.bus, 0x20, 1, 0x20);          /* EOI: IRQ1 */
    iobus_out(&b.bus, 0x20, 1, 0x20);          /* EOI: IRQ2 */
    iobus_out(&b.bus, 0xa0, 1, 0x20);          /* slave EOI: IRQ10 */
    cr_assert_eq(b.intr, 1, "IRQ10 still asserted (level): the line survived the load");
    cr_assert_eq(pic_ack(&b.pic), 0x2a);

    /* nothing pending: INTR is still driven (low), whatever the other
     * side held */
    struct pic_fix c;
    pic_setup(&c);
    pic_program(&c);
    pic_setup(&b);
    round_trip(pic_sv, pic_ld, &c.pic.s, &b.pic.s);
    b.intr = 1;
    pic_redrive(&b.pic);
    cr_assert_eq(b.calls, 1);
    cr_assert_eq(b.intr, 0);
}

Test(dev_snap, pic_refuses_bad_values)
{
    struct pic_fix a;
    pic_setup(&a);
    pic_program(&a);
    /* chip 0: irr isr imr lines elcr vector_base icw3 prio_base init_step ... */
    refused(pic_sv, pic_ld, &a.pic.s, sizeof(struct pic_state), 8, 1, 1,
            "initialization step");
    refused(pic_sv, pic_ld, &a.pic.s, sizeof(struct pic_state), 8, 1, 5,
            "initialization step");
    refused(pic_sv, pic_ld, &a.pic.s, sizeof(struct pic_state), 7, 1, 8,
            "priority base");
    refused(pic_sv, pic_ld, &a.pic.s, sizeof(struct pic_state), 4, 1, 0x01,
            "ELCR");
    refused(pic_sv, pic_ld, &a.pic.s, sizeof(struct pic_state), 9, 1, 2,
            "");                                /* a bool that is 2 */
    truncated_and_flipped(pic_sv, pic_ld, &a.pic.s, sizeof(struct pic_state));
}

/* ---- PIT ---- */

struct clk {
    uint64_t ns;
};

static uint64_t clk_now(void *ctx)
{
    return ((struct clk *)ctx)->ns;
}

struct pit_fix {
    struct iobus bus;
    struct pit pit;
    struct irq_rec irq;
};

static void pit_setup(struct pit_fix *f, struct clk *c)
{
    memset(f, 0, sizeof *f);
    iobus_init(&f->bus);
    pit_init(&f->pit, clk_now, c, (struct irq_line){ rec_irq, &f->irq, 0 });
    cr_assert_eq(pit_register(&f->pit, &f->bus), 0);
}

Test(dev_snap, pit_counting_in_mode_2)
{
    struct clk c = { 5000000000ull };
    struct pit_fix a, b;
    pit_setup(&a, &c);
    iobus_out(&a.bus, 0x43, 1, 0x34);          /* counter 0, LSB/MSB, mode 2 */
    iobus_out(&a.bus, 0x40, 1, 0x9c);
    iobus_out(&a.bus, 0x40, 1, 0x2e);          /* 11932: about 10 ms */
    iobus_out(&a.bus, 0x43, 1, 0xb6);          /* counter 2, mode 3 */
    iobus_out(&a.bus, 0x42, 1, 0x00);          /* LSB written, MSB awaited */
    iobus_out(&a.bus, 0x61, 1, 0x01);
    c.ns += 25000000;                          /* 2.5 periods */
    pit_poll(&a.pit);
    cr_assert_eq(a.irq.raises, 1);
    iobus_out(&a.bus, 0x43, 1, 0x00);          /* latch counter 0 */
    uint32_t count = pit_counter_value(&a.pit, 0);
    uint64_t next = pit_next_event_ns(&a.pit);

    pit_setup(&b, &c);
    round_trip(pit_sv, pit_ld, &a.pit.s, &b.pit.s);
    cr_assert_eq(pit_counter_value(&b.pit, 0), count);
    cr_assert_eq(pit_next_event_ns(&b.pit), next, "the next tick at the same clock time");
    pit_poll(&b.pit);
    cr_assert_eq(b.irq.raises, 0, "the edges signalled before the image are not again");
    uint8_t lo = (uint8_t)iobus_in(&b.bus, 0x40, 1), hi = (uint8_t)iobus_in(&b.bus, 0x40, 1);
    cr_assert_eq((uint32_t)(hi << 8 | lo), count, "the latched count");
    iobus_out(&b.bus, 0x42, 1, 0x10);          /* the MSB completes counter 2 */
    cr_assert_eq(pit_counter_value(&b.pit, 2), 0x1000);
    cr_assert_eq(iobus_in(&b.bus, 0x61, 1) & 3, 1);
    c.ns = next;
    pit_poll(&b.pit);
    cr_assert_eq(b.irq.raises, 1, "and the next one comes on time");
}

Test(dev_snap, pit_refuses_bad_values)
{
    struct clk c = { 1000 };
    struct pit_fix a;
    pit_setup(&a, &c);
    iobus_out(&a.bus, 0x43, 1, 0x34);
    size_t sz = sizeof(struct pit_state);
    /* counter 0: rw mode bcd count(4) ... */
    refused(pit_sv, pit_ld, &a.pit.s, sz, 0, 1, 0, "access mode");
    refused(pit_sv, pit_ld, &a.pit.s, sz, 0, 1, 4, "access mode");
    refused(pit_sv, pit_ld, &a.pit.s, sz, 1, 1, 6, "mode");
    refused(pit_sv, pit_ld, &a.pit.s, sz, 3, 4, 65536, "count");
    truncated_and_flipped(pit_sv, pit_ld, &a.pit.s, sz);
}

/* ---- UART ---- */

struct uart_fix {
    struct iobus bus;
    struct uart u;
    struct irq_rec irq;
};

static void uart_setup(struct uart_fix *f)
{
    memset(f, 0, sizeof *f);
    iobus_init(&f->bus);
    uart_init(&f->u, 0x3f8, (struct irq_line){ rec_irq, &f->irq, 4 }, NULL, NULL);
    cr_assert_eq(uart_register(&f->u, &f->bus), 0);
}

Test(dev_snap, uart_with_fifo_bytes_and_an_interrupt)
{
    struct uart_fix a, b;
    uart_setup(&a);
    iobus_out(&a.bus, 0x3fa, 1, 0xc1);         /* FIFO on, trigger 14 */
    iobus_out(&a.bus, 0x3fc, 1, 0x0b);         /* DTR, RTS, OUT2 */
    iobus_out(&a.bus, 0x3f9, 1, 0x01);         /* receive interrupt */
    iobus_out(&a.bus, 0x3ff, 1, 0x5a);
    for (int i = 0; i < 20; i++)               /* 16 in the FIFO, then overrun */
        uart_receive(&a.u, (uint8_t)('a' + i));
    (void)iobus_in(&a.bus, 0x3f8, 1);          /* 'a' out: head 1, 15 left */
    uart_receive(&a.u, 'Z');                   /* wraps around the ring */
    cr_assert_eq(a.irq.level, 1);

    uart_setup(&b);
    round_trip(uart_sv, uart_ld, &a.u.s, &b.u.s);
    cr_assert_eq(b.irq.level, 0);
    uart_redrive(&b.u);
    cr_assert_eq(b.irq.level, 1, "the interrupt pending in the image drives IRQ4");
    cr_assert_eq(iobus_in(&b.bus, 0x3fa, 1), 0xc4, "IIR: received data");
    cr_assert_eq(iobus_in(&b.bus, 0x3fd, 1) & 0x03, 0x03, "data ready, overrun");
    cr_assert_eq(iobus_in(&b.bus, 0x3ff, 1), 0x5a);
    for (int i = 1; i < 16; i++)
        cr_assert_eq(iobus_in(&b.bus, 0x3f8, 1), (uint32_t)('a' + i));
    cr_assert_eq(iobus_in(&b.bus, 0x3f8, 1), 'Z');
    cr_assert_eq(iobus_in(&b.bus, 0x3fd, 1) & 0x01, 0, "empty");
    cr_assert_eq(b.irq.level, 0);

    /* no interrupt pending: the line is still driven (low) */
    uart_setup(&b);
    round_trip(uart_sv, uart_ld, &a.u.s, &b.u.s);
    b.u.s.rx_count = 0;
    b.u.s.lsr_err = 0;
    b.irq.level = 1;
    uart_redrive(&b.u);
    cr_assert_eq(b.irq.level, 0);
}

Test(dev_snap, uart_refuses_bad_values)
{
    struct uart_fix a;
    uart_setup(&a);
    size_t sz = sizeof(struct uart_state);
    /* ier lcr mcr scr fcr dll dlm lsr_err msr_lines msr_delta thr_ipending rx[16] head count */
    refused(uart_sv, uart_ld, &a.u.s, sz, 27, 1, 16, "head");
    refused(uart_sv, uart_ld, &a.u.s, sz, 28, 1, 2, "bytes in the receiver");
    iobus_out(&a.bus, 0x3fa, 1, 0x01);
    refused(uart_sv, uart_ld, &a.u.s, sz, 28, 1, 17, "bytes in the receiver");
    refused(uart_sv, uart_ld, &a.u.s, sz, 4, 1, 0x3f, "FCR");
    truncated_and_flipped(uart_sv, uart_ld, &a.u.s, sz);
}

/* ---- I/O APIC ---- */

struct ioapic_fix {
    struct ioapic io;
    int sent;
    uint8_t vector, dest;
    bool level;
};

static void io_deliver(void *ctx, uint8_t dest, bool logical, int mode, uint8_t vector,
                       bool trigger_level)
{
    (void)logical, (void)mode;
    struct ioapic_fix *f = ctx;
    f->sent++;
    f->vector = vector;
    f->dest = dest;
    f->level = trigger_level;
}

static void ioapic_setup(struct ioapic_fix *f)
{
    memset(f, 0, sizeof *f);
    ioapic_init(&f->io, 2, io_deliver, f);
}

Test(dev_snap, ioapic_redirection_and_remote_irr)
{
    struct ioapic_fix a, b;
    ioapic_setup(&a);
    ioapic_write_reg(&a.io, IOAPIC_REG_REDTBL + 2 * 16 + 1, 0x03000000u);
    ioapic_write_reg(&a.io, IOAPIC_REG_REDTBL + 2 * 16, 0x8000u | 0x41);  /* level */
    ioapic_write_reg(&a.io, IOAPIC_REG_REDTBL + 2 * 4, 0x31);            /* edge */
    ioapic_set_irq(&a.io, 16, 1);
    cr_assert_eq(a.sent, 1);
    cr_assert(a.io.s.rte[16] & IOAPIC_RTE_REMOTE_IRR);
    ioapic_set_irq(&a.io, 4, 1);
    cr_assert_eq(a.sent, 2);
    ioapic_mmio_write(&a.io, IOAPIC_IOREGSEL, 4, IOAPIC_REG_REDTBL + 2 * 16 + 1);
    ioapic_write_reg(&a.io, IOAPIC_REG_ID, 0x05000000u);

    ioapic_setup(&b);
    round_trip(ioapic_sv, ioapic_ld, &a.io.s, &b.io.s);
    ioapic_redrive(&b.io);
    cr_assert_eq(b.sent, 0, "in service (remote IRR): not sent again");
    cr_assert_eq(ioapic_mmio_read(&b.io, IOAPIC_IOWIN, 4), 0x03000000u, "IOREGSEL kept");
    cr_assert_eq(ioapic_read_reg(&b.io, IOAPIC_REG_ID), 0x05000000u);
    ioapic_set_irq(&b.io, 4, 1);
    cr_assert_eq(b.sent, 0, "the edge line was high already");
    ioapic_eoi(&b.io, 0x41);
    cr_assert_eq(b.sent, 1, "EOI with the line still asserted: sent again");
    cr_assert_eq(b.vector, 0x41);
    cr_assert_eq(b.dest, 3);
    cr_assert(b.level);

    /* an asserted level line not yet delivered (masked at the image, the
     * state as a load finds it) is delivered by the redrive */
    struct ioapic_fix c;
    ioapic_setup(&c);
    ioapic_write_reg(&c.io, IOAPIC_REG_REDTBL + 2 * 17, 0x18000u | 0x42);  /* level, masked */
    ioapic_set_irq(&c.io, 17, 1);
    cr_assert_eq(c.sent, 0);
    c.io.s.rte[17] &= ~(uint64_t)IOAPIC_RTE_MASKED;
    ioapic_redrive(&c.io);
    cr_assert_eq(c.sent, 1);
    cr_assert_eq(c.vector, 0x42);
}

Test(dev_snap, ioapic_refuses_bad_values)
{
    struct ioapic_fix a;
    ioapic_setup(&a);
    size_t sz = sizeof(struct ioapic_state);
    refused(ioapic_sv, ioapic_ld, &a.io.s, sz, 0, 1, 16, "ID");
    refused(ioapic_sv, ioapic_ld, &a.io.s, sz, 2 + 8 * 24, 4, 1u << 24,
            "beyond pin");
    refused(ioapic_sv, ioapic_ld, &a.io.s, sz, 2 + 8 * 3, 8, 0x1000,
            "redirection entry 3");
    truncated_and_flipped(ioapic_sv, ioapic_ld, &a.io.s, sz);
}

/* ---- CMOS / RTC ---- */

static void wall_of(void *ctx, struct timespec *ts)
{
    *ts = *(struct timespec *)ctx;
}

static uint8_t cmos_in(struct cmos *c, uint8_t reg)
{
    cmos_io_write(c, 0x70, 1, reg);
    return (uint8_t)cmos_io_read(c, 0x71, 1);
}

static void cmos_out(struct cmos *c, uint8_t reg, uint8_t v)
{
    cmos_io_write(c, 0x70, 1, reg);
    cmos_io_write(c, 0x71, 1, v);
}

Test(dev_snap, rtc_with_alarm_and_guest_time)
{
    struct timespec wall = { 1700000000, 0 };  /* 2023-11-14 22:13:20 UTC */
    struct cmos a, b;
    cmos_init(&a, 64u << 20, wall_of, &wall);
    cmos_out(&a, 0x0b, 0x82 | 0x20 | 0x04);    /* SET, alarm interrupt, binary, 24h */
    cmos_out(&a, 0x04, 7);                     /* 07:08:09 */
    cmos_out(&a, 0x02, 8);
    cmos_out(&a, 0x00, 9);
    cmos_out(&a, 0x0b, 0x22 | 0x04);           /* run */
    cmos_out(&a, 0x01, 30);                    /* the alarm: 07:10:30 */
    cmos_out(&a, 0x03, 10);
    cmos_out(&a, 0x05, 7);
    cmos_out(&a, 0x40, 0x77);                  /* CMOS RAM */
    cmos_io_write(&a, 0x70, 1, 0x80 | 0x11);   /* index, NMI masked */

    cmos_init(&b, 64u << 20, wall_of, &wall);
    round_trip(cmos_sv, cmos_ld, &a.s, &b.s);
    cr_assert(b.s.nmi_masked);
    cr_assert_eq(b.s.index, 0x11);
    wall.tv_sec += 61;                         /* the wall clock went on */
    cr_assert_eq(cmos_in(&b, 0x04), 7);
    cr_assert_eq(cmos_in(&b, 0x02), 9);
    cr_assert_eq(cmos_in(&b, 0x00), 10, "the guest's time of day, continued");
    cr_assert_eq(cmos_in(&b, 0x01), 30);
    cr_assert_eq(cmos_in(&b, 0x03), 10);
    cr_assert_eq(cmos_in(&b, 0x05), 7);
    cr_assert_eq(cmos_in(&b, 0x0b), 0x26);
    cr_assert_eq(cmos_in(&b, 0x40), 0x77);
}

Test(dev_snap, rtc_refuses_bad_index)
{
    struct timespec wall = { 1700000000, 0 };
    struct cmos a;
    cmos_init(&a, 64u << 20, wall_of, &wall);
    refused(cmos_sv, cmos_ld, &a.s, sizeof(struct cmos_state), 0, 1, 0x80,
            "index");
    truncated_and_flipped(cmos_sv, cmos_ld, &a.s, sizeof(struct cmos_state));
}

/* ---- ACPI PM, console watch ---- */

Test(dev_snap, acpi_pm_and_panicwatch)
{
    struct acpi_pm a, b;
    acpi_pm_init(&a, 5, NULL, NULL);
    acpi_pm_io_write(&a, ACPI_PM1A_EVT + 2, 2, 0x0121);
    acpi_pm_io_write(&a, ACPI_PM1A_CNT, 2, 0x0402);
    acpi_pm_init(&b, 5, NULL, NULL);
    round_trip(acpi_pm_sv, acpi_pm_ld, &a.s, &b.s);
    cr_assert_eq(acpi_pm_io_read(&b, ACPI_PM1A_EVT + 2, 2), 0x0121);
    cr_assert_eq(acpi_pm_io_read(&b, ACPI_PM1A_CNT, 2), 0x0403);
    refused(acpi_pm_sv, acpi_pm_ld, &a.s, sizeof(struct acpi_pm_state), 2, 2,
            0x8000, "enable");
    truncated_and_flipped(acpi_pm_sv, acpi_pm_ld, &a.s,
                          sizeof(struct acpi_pm_state));

    /* a panic line cut in the middle by the image */
    struct panicwatch w, v;
    panicwatch_init(&w, NULL, NULL);
    const char *head = "[ 1.0] ---[ end Kernel panic - not ";
    panicwatch_feed(&w, (const uint8_t *)head, strlen(head));
    panicwatch_init(&v, NULL, NULL);
    round_trip(panicwatch_sv, panicwatch_ld, &w.s, &v.s);
    const char *tail = "syncing: Fatal exception ]---\n";
    panicwatch_feed(&v, (const uint8_t *)tail, strlen(tail));
    cr_assert(v.s.fired, "the marker matched across the image");
    refused(panicwatch_sv, panicwatch_ld, &w.s, sizeof(struct panicwatch_state),
            0, 4, strlen(PANICWATCH_MARKER), "marker");
    truncated_and_flipped(panicwatch_sv, panicwatch_ld, &w.s,
                          sizeof(struct panicwatch_state));
}

/* ---- virtio-mmio and its queue ---- */

static void vm_write(struct virtio_mmio *v, uint32_t off, uint32_t value)
{
    virtio_mmio_write(v, off, 4, value);
}

static uint32_t vm_read(struct virtio_mmio *v, uint32_t off)
{
    return virtio_mmio_read(v, off, 4);
}

static void vm_setup(struct virtio_mmio *v, struct irq_rec *irq)
{
    memset(irq, 0, sizeof *irq);
    virtio_mmio_init(v, 2, 1ull << VIRTIO_F_INDIRECT_DESC, 1, NULL, NULL,
                     (struct irq_line){ rec_irq, irq, 16 });
}

Test(dev_snap, virtio_queue_addresses_and_indices)
{
    struct virtio_mmio a, b;
    struct irq_rec ia, ib;
    vm_setup(&a, &ia);
    vm_write(&a, VIRTIO_MMIO_STATUS, 1 | 2);
    vm_write(&a, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    vm_write(&a, VIRTIO_MMIO_DRIVER_FEATURES, 1);            /* VERSION_1 */
    vm_write(&a, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    vm_write(&a, VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_F_INDIRECT_DESC);
    vm_write(&a, VIRTIO_MMIO_STATUS, 1 | 2 | 8);
    vm_write(&a, VIRTIO_MMIO_QUEUE_SEL, 0);
    vm_write(&a, VIRTIO_MMIO_QUEUE_NUM, 128);
    vm_write(&a, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x10000);
    vm_write(&a, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x10800);
    vm_write(&a, VIRTIO_MMIO_QUEUE_USED_LOW, 0x11000);
    vm_write(&a, VIRTIO_MMIO_QUEUE_READY, 1);
    vm_write(&a, VIRTIO_MMIO_STATUS, 1 | 2 | 4 | 8);
    a.s.vq[0].last_avail = 0xfffe;             /* indices as a driver leaves them */
    a.s.vq[0].used_idx = 0xfffd;
    virtio_mmio_interrupt(&a, VIRTIO_INT_USED);
    cr_assert_eq(ia.level, 1);

    vm_setup(&b, &ib);
    struct snapw w;
    snapw_init(&w);
    virtio_mmio_save(&a, &w);
    struct snapr r;
    snapr_init(&r, w.buf, w.len);
    cr_assert(virtio_mmio_load(&b, &r), "%s", r.why);
    cr_assert_eq(r.pos, r.len);
    snapw_free(&w);
    cr_assert_eq(ib.level, 0);
    virtio_mmio_redrive(&b);
    cr_assert_eq(ib.level, 1, "InterruptStatus drives the line after the load");
    cr_assert(virtio_mmio_running(&b));
    cr_assert(virtio_mmio_has(&b, VIRTIO_F_INDIRECT_DESC));
    cr_assert_eq(vm_read(&b, VIRTIO_MMIO_STATUS), 15);
    cr_assert_eq(vm_read(&b, VIRTIO_MMIO_QUEUE_READY), 1);
    cr_assert_eq(vm_read(&b, VIRTIO_MMIO_INTERRUPT_STATUS), 1);
    cr_assert_eq(b.s.vq[0].num, 128);
    cr_assert_eq(b.s.vq[0].desc, 0x10000);
    cr_assert_eq(b.s.vq[0].avail, 0x10800);
    cr_assert_eq(b.s.vq[0].used, 0x11000);
    cr_assert_eq(b.s.vq[0].last_avail, 0xfffe);
    cr_assert_eq(b.s.vq[0].used_idx, 0xfffd);
    cr_assert_eq(b.s.resets, a.s.resets);
    vm_write(&b, VIRTIO_MMIO_INTERRUPT_ACK, 1);
    cr_assert_eq(ib.level, 0);
}

static void vmmio_save_v(const void *v, struct snapw *w)
{
    virtio_mmio_save(v, w);
}

/* the transport's load into a fixed device (the target is its state) */
static bool vmmio_load_v(void *s, struct snapr *r)
{
    struct virtio_mmio v;
    struct irq_rec irq;
    vm_setup(&v, &irq);
    memcpy(&v.s, s, sizeof v.s);
    if (!virtio_mmio_load(&v, r))
        return false;
    memcpy(s, &v.s, sizeof v.s);
    return true;
}

Test(dev_snap, virtio_refuses_bad_values)
{
    struct virtq q = { .num = 64, .ready = true, .desc = 0x1000, .avail = 0x2000,
                       .used = 0x3000, .last_avail = 5, .used_idx = 4 };
    struct virtq q2;
    memset(&q2, 0, sizeof q2);
    round_trip(virtq_sv, virtq_ld, &q, &q2);
    refused(virtq_sv, virtq_ld, &q, sizeof q, 0, 2, 512, "size 512");
    refused(virtq_sv, virtq_ld, &q, sizeof q, 0, 2, 257, "size 257");
    refused(virtq_sv, virtq_ld, &q, sizeof q, 0, 2, 96, "size 96");
    truncated_and_flipped(virtq_sv, virtq_ld, &q, sizeof q);

    struct virtio_mmio a;
    struct irq_rec ia;
    vm_setup(&a, &ia);
    /* device_id features(8) nq(4) driver_features(8) dev_sel drv_sel queue_sel status isr */
    refused(vmmio_save_v, vmmio_load_v, &a, sizeof a.s, 0, 4, 1, "virtio device 1");
    refused(vmmio_save_v, vmmio_load_v, &a, sizeof a.s, 4, 8, 0, "features");
    refused(vmmio_save_v, vmmio_load_v, &a, sizeof a.s, 12, 4, 2, "2 queues");
    refused(vmmio_save_v, vmmio_load_v, &a, sizeof a.s, 36, 4, 0x100, "device status");
    refused(vmmio_save_v, vmmio_load_v, &a, sizeof a.s, 40, 4, 4, "interrupt status");
    /* a queue size in the queue's section after the transport's */
    struct snapw w;
    snapw_init(&w);
    virtio_mmio_save(&a, &w);
    size_t vq = w.len - (16 + 2 + 1 + 24 + 4);
    w.buf[vq + 16] = 0x00;
    w.buf[vq + 17] = 0x02;
    struct virtio_mmio b;
    struct irq_rec ib;
    vm_setup(&b, &ib);
    b.s.status = 7;
    struct snapr r;
    snapr_init(&r, w.buf, w.len);
    cr_assert_not(virtio_mmio_load(&b, &r));
    cr_assert(strstr(r.why, "virtqueue: size 512"), "%s", r.why);
    cr_assert_eq(b.s.status, 7, "nothing installed");
    snapw_free(&w);
    truncated_and_flipped(vmmio_save_v, vmmio_load_v, &a, sizeof a.s);
}

/* ---- the whole board with its disks ---- */

struct board_fix {
    char rom[64], disk[2][64];
    struct config cfg;
};

static void make_file(char *path, const char *pattern, const void *data, size_t n, off_t size)
{
    strcpy(path, pattern);
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    if (n)
        cr_assert_eq(write(fd, data, n), (ssize_t)n);
    cr_assert_eq(ftruncate(fd, size), 0);
    close(fd);
}

static void board_files(struct board_fix *f, int ndisks, off_t size1)
{
    memset(f, 0, sizeof *f);
    uint8_t rom[4096];
    memset(rom, 0xf4, sizeof rom);                 /* hlt everywhere */
    make_file(f->rom, "/tmp/vsmp-test-devsnap-XXXXXX", rom, sizeof rom, sizeof rom);
    make_file(f->disk[0], "/tmp/vsmp-test-devsnap-XXXXXX", NULL, 0, 1 << 20);
    make_file(f->disk[1], "/tmp/vsmp-test-devsnap-XXXXXX", NULL, 0, size1);
    f->cfg = (struct config){
        .file = "test_dev_snap.cfg", .memory = 4u << 20, .rom = f->rom,
        .console = CONSOLE_NONE, .cpus = 1, .ndisks = ndisks,
    };
    for (int i = 0; i < ndisks; i++)
        f->cfg.disk[i] = (struct config_disk){ .path = f->disk[i], .ro = 0, .line = i + 2 };
}

static struct machine *board_machine(const struct board_fix *f)
{
    struct machine_opts opts = { .max_insns = 1000, .ncpus = 1 };
    char err[512] = "";
    struct machine *m = machine_create(&f->cfg, &opts, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    return m;
}

static void board_unlink(const struct board_fix *f)
{
    unlink(f->rom);
    unlink(f->disk[0]);
    unlink(f->disk[1]);
}

/* The first machine's devices in a state: PIC programmed with IRQ4
 * unmasked, the UART holding a byte with its interrupt on, disk 1's
 * queue set up. */
static void board_state(struct machine *m)
{
    iobus_out(&m->io, 0x20, 1, 0x11);
    iobus_out(&m->io, 0x21, 1, 0x30);
    iobus_out(&m->io, 0x21, 1, 0x04);
    iobus_out(&m->io, 0x21, 1, 0x01);
    iobus_out(&m->io, 0x21, 1, 0xef);              /* only IRQ4 */
    iobus_out(&m->io, 0x3fc, 1, 0x0b);
    iobus_out(&m->io, 0x3f9, 1, 0x01);
    uart_receive(&m->uart, 'q');
    struct virtio_mmio *v = &m->disk[1].blk.mmio;
    vm_write(v, VIRTIO_MMIO_QUEUE_NUM, 16);
    vm_write(v, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x20000);
    vm_write(v, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x20100);
    vm_write(v, VIRTIO_MMIO_QUEUE_USED_LOW, 0x20200);
    vm_write(v, VIRTIO_MMIO_QUEUE_READY, 1);
    v->s.vq[0].last_avail = 3;
    v->s.vq[0].used_idx = 3;
    vm_write(&m->disk[0].blk.mmio, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
}

Test(dev_snap, board_round_trip)
{
    struct board_fix f;
    board_files(&f, 2, 2 << 20);
    struct machine *a = board_machine(&f);
    board_state(a);
    cr_assert_eq(a->pic.intr, 1);
    struct snapw w;
    snapw_init(&w);
    devices_save(a, &w);
    cr_assert(!w.oom);
    machine_destroy(a);                            /* its disks' locks */

    struct machine *b = board_machine(&f);
    cr_assert_eq(b->pic.intr, 0);
    for (int i = 0; i < b->nwork; i++)
        b->work[i].pending = false;
    b->work_pending = false;
    struct snapr r;
    snapr_init(&r, w.buf, w.len);
    cr_assert(devices_load(b, &r), "%s", r.why);
    cr_assert_eq(r.pos, r.len);
    /* the same bytes again from the loaded machine */
    struct snapw w2;
    snapw_init(&w2);
    devices_save(b, &w2);
    cr_assert_eq(w2.len, w.len);
    cr_assert(memcmp(w2.buf, w.buf, w.len) == 0);
    snapw_free(&w2);
    cr_assert_eq(b->pic.intr, 1, "the PIC drives INTR again (IRQ4 from the UART)");
    cr_assert_eq(b->uart.irq_level, 1);
    cr_assert_eq(iobus_in(&b->io, 0x3f8, 1), 'q');
    cr_assert_eq(b->disk[1].blk.mmio.s.vq[0].num, 16);
    cr_assert_eq(b->disk[1].blk.mmio.s.vq[0].avail, 0x20100);
    cr_assert_eq(b->disk[1].blk.mmio.s.vq[0].last_avail, 3);
    for (int i = 0; i < 2; i++)
        cr_assert(b->work[b->disk[i].work].pending, "disk %d's work marked pending", i);

    machine_destroy(b);

    /* every prefix refused without installing anything */
    struct machine *c = board_machine(&f);
    cr_assert_eq(c->disk[0].blk.mmio.s.drv_sel, 0);
    struct virtio_mmio_state fresh = c->disk[0].blk.mmio.s;
    for (size_t len = 0; len < w.len; len++) {
        snapr_init(&r, w.buf, len);
        cr_assert_not(devices_load(c, &r));
        cr_assert_eq(c->pic.s.chip[0].vector_base, 0, "cut at %zu: the PIC was installed", len);
        cr_assert(memcmp(&c->disk[0].blk.mmio.s, &fresh, sizeof fresh) == 0,
                  "cut at %zu: disk 0's transport was installed", len);
    }
    machine_destroy(c);
    snapw_free(&w);
    board_unlink(&f);
}

static void board_refused(const struct board_fix *saved_f, const struct board_fix *load_f,
                          const char *why)
{
    struct machine *a = board_machine(saved_f);
    struct snapw w;
    snapw_init(&w);
    devices_save(a, &w);
    machine_destroy(a);
    struct machine *b = board_machine(load_f);
    struct snapr r;
    snapr_init(&r, w.buf, w.len);
    cr_assert_not(devices_load(b, &r), "another disk set was accepted");
    cr_assert(strstr(r.why, why), "\"%s\" does not say \"%s\"", r.why, why);
    machine_destroy(b);
    snapw_free(&w);
}

Test(dev_snap, board_refuses_another_disk_set)
{
    struct board_fix f, g;
    board_files(&f, 2, 2 << 20);
    char msg[512];

    /* disk 1 of another size */
    cr_assert_eq(truncate(f.disk[1], 1 << 20), 0);
    struct machine *a = board_machine(&f);         /* 1 MiB now */
    cr_assert_eq(truncate(f.disk[1], 2 << 20), 0);
    struct snapw w;
    snapw_init(&w);
    devices_save(a, &w);
    machine_destroy(a);
    struct machine *b = board_machine(&f);
    struct snapr r;
    snapr_init(&r, w.buf, w.len);
    cr_assert_not(devices_load(b, &r));
    char *real = realpath(f.disk[1], NULL);
    snprintf(msg, sizeof msg, "disk 1 (vdb) is %s of 1048576 bytes in the image, %s of 2097152 "
             "bytes here", real, real);
    cr_assert_str_eq(r.why, msg);
    free(real);
    machine_destroy(b);
    snapw_free(&w);

    g = f;                                         /* one disk fewer */
    g.cfg.ndisks = 1;
    board_refused(&f, &g, "the image has 2 disks, this machine 1");
    board_refused(&g, &f, "the image has 1 disk, this machine 2");

    g = f;                                         /* disks swapped */
    g.cfg.disk[0].path = f.disk[1];
    g.cfg.disk[1].path = f.disk[0];
    board_refused(&f, &g, "disk 0 (vda) is /");

    g = f;                                         /* another file of the same size */
    char other[64];
    make_file(other, "/tmp/vsmp-test-devsnap-XXXXXX", NULL, 0, 2 << 20);
    g.cfg.disk[1].path = other;
    board_refused(&f, &g, "disk 1 (vdb) is /");
    unlink(other);

    g = f;                                         /* read-only */
    g.cfg.disk[1].ro = 1;
    board_refused(&f, &g, "is writable in the image, read-only here");
    board_unlink(&f);
}
