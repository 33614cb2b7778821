/* test_ioapic.c - the 82093AA I/O APIC without MPI: registers through
 * IOREGSEL/IOWIN (and the MMIO window), the redirection table and its
 * read-only bits, edge and level inputs with masking and remote IRR, the
 * EOI broadcast, and one end-to-end path IOAPIC -> apic_route -> local
 * APIC -> INTA -> EOI -> IOAPIC. */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/apic.h"
#include "io/ioapic.h"
#include "mem/phys.h"

struct sent {
    uint8_t dest, vector;
    bool logical, level;
    int mode;
};

struct fix {
    struct ioapic io;
    struct sent msg[32];
    int n;
};

static void deliver(void *ctx, uint8_t dest, bool logical, int mode, uint8_t vector, bool level)
{
    struct fix *f = ctx;
    if (f->n < 32)
        f->msg[f->n++] = (struct sent){ dest, vector, logical, level, mode };
}

static void setup(struct fix *f)
{
    memset(f, 0, sizeof *f);
    ioapic_init(&f->io, 4, deliver, f);
}

static void rte(struct fix *f, int pin, uint32_t lo, uint8_t dest)
{
    ioapic_write_reg(&f->io, (uint8_t)(0x11 + 2 * pin), (uint32_t)dest << 24);
    ioapic_write_reg(&f->io, (uint8_t)(0x10 + 2 * pin), lo);
}

Test(ioapic, identification_and_reset)
{
    struct fix f;
    setup(&f);
    cr_assert_eq(ioapic_read_reg(&f.io, IOAPIC_REG_ID), 4u << 24);
    cr_assert_eq(ioapic_read_reg(&f.io, IOAPIC_REG_VERSION), 0x00170011u);
    cr_assert_eq(ioapic_read_reg(&f.io, IOAPIC_REG_ARB), 4u << 24);
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        cr_assert_eq(ioapic_read_reg(&f.io, (uint8_t)(0x10 + 2 * pin)), IOAPIC_RTE_MASKED);
        cr_assert_eq(ioapic_read_reg(&f.io, (uint8_t)(0x11 + 2 * pin)), 0u);
    }
    ioapic_write_reg(&f.io, IOAPIC_REG_ID, 0xffffffffu);
    cr_assert_eq(ioapic_read_reg(&f.io, IOAPIC_REG_ID), 0x0f000000u, "4-bit ID");
    ioapic_write_reg(&f.io, IOAPIC_REG_VERSION, 0);
    cr_assert_eq(ioapic_read_reg(&f.io, IOAPIC_REG_VERSION), 0x00170011u);
}

Test(ioapic, redirection_entry_bits)
{
    struct fix f;
    setup(&f);
    ioapic_write_reg(&f.io, 0x10 + 2 * 5, 0xffffffffu);
    cr_assert_eq(ioapic_read_reg(&f.io, 0x10 + 2 * 5), 0x0001afffu,
                 "delivery status and remote IRR are read-only");
    ioapic_write_reg(&f.io, 0x11 + 2 * 5, 0xffffffffu);
    cr_assert_eq(ioapic_read_reg(&f.io, 0x11 + 2 * 5), 0xff000000u);
    cr_assert_eq(f.n, 0);
}

Test(ioapic, mmio_ioregsel_iowin)
{
    struct phys p;
    cr_assert_eq(phys_init(&p, 1 << 20), 0);
    struct fix f;
    setup(&f);
    cr_assert_eq(ioapic_map(&f.io, &p, IOAPIC_DEFAULT_BASE), 0);
    phys_write(&p, 0xfec00000, 4, 0x01);
    cr_assert_eq(phys_read(&p, 0xfec00000, 4), 0x01u);
    cr_assert_eq(phys_read(&p, 0xfec00010, 4), 0x00170011u);
    cr_assert_eq(phys_read(&p, 0xfec00012, 1), 0x17u);
    phys_write(&p, 0xfec00000, 1, 0x10 + 2 * 3);
    phys_write(&p, 0xfec00010, 4, 0x00008035u);
    cr_assert_eq(ioapic_read_reg(&f.io, 0x16), 0x00008035u);
    phys_write(&p, 0xfec00000, 1, 0x11 + 2 * 3);
    phys_write(&p, 0xfec00010, 4, 0x02000000u);
    cr_assert_eq((uint32_t)(f.io.s.rte[3] >> 56), 2u);
    phys_free(&p);
}

Test(ioapic, edge_input)
{
    struct fix f;
    setup(&f);
    rte(&f, 2, 0x30, 1);                       /* fixed, physical, edge, unmasked */
    ioapic_set_irq(&f.io, 2, 1);
    cr_assert_eq(f.n, 1);
    cr_assert_eq(f.msg[0].dest, 1);
    cr_assert_eq(f.msg[0].vector, 0x30);
    cr_assert_eq(f.msg[0].mode, APIC_DM_FIXED);
    cr_assert(!f.msg[0].logical && !f.msg[0].level);
    ioapic_set_irq(&f.io, 2, 1);
    cr_assert_eq(f.n, 1, "one message per rising edge");
    ioapic_set_irq(&f.io, 2, 0);
    ioapic_set_irq(&f.io, 2, 1);
    cr_assert_eq(f.n, 2);
    /* A masked pin loses its edges. */
    ioapic_set_irq(&f.io, 2, 0);
    rte(&f, 2, IOAPIC_RTE_MASKED | 0x30, 1);
    ioapic_set_irq(&f.io, 2, 1);
    rte(&f, 2, 0x30, 1);
    cr_assert_eq(f.n, 2);
    cr_assert_eq(ioapic_read_reg(&f.io, 0x14) & IOAPIC_RTE_REMOTE_IRR, 0u);
}

Test(ioapic, level_input_remote_irr_and_eoi)
{
    struct fix f;
    setup(&f);
    rte(&f, 9, IOAPIC_RTE_LEVEL | IOAPIC_RTE_LOGICAL | (APIC_DM_LOWEST << 8) | 0x49, 0x0f);
    ioapic_set_irq(&f.io, 9, 1);
    cr_assert_eq(f.n, 1);
    cr_assert(f.msg[0].level && f.msg[0].logical);
    cr_assert_eq(f.msg[0].mode, APIC_DM_LOWEST);
    cr_assert_eq(f.msg[0].dest, 0x0f);
    cr_assert(ioapic_read_reg(&f.io, 0x10 + 18) & IOAPIC_RTE_REMOTE_IRR);
    ioapic_set_irq(&f.io, 9, 1);
    cr_assert_eq(f.n, 1, "in service: nothing new");
    ioapic_eoi(&f.io, 0x48);
    cr_assert_eq(f.n, 1, "another vector's EOI");
    ioapic_eoi(&f.io, 0x49);
    cr_assert_eq(f.n, 2, "still asserted after the EOI: sent again");
    ioapic_set_irq(&f.io, 9, 0);
    ioapic_eoi(&f.io, 0x49);
    cr_assert_eq(f.n, 2);
    cr_assert_eq(ioapic_read_reg(&f.io, 0x10 + 18) & IOAPIC_RTE_REMOTE_IRR, 0u);
    /* Rewriting the low half keeps remote IRR. */
    ioapic_set_irq(&f.io, 9, 1);
    cr_assert_eq(f.n, 3);
    rte(&f, 9, IOAPIC_RTE_LEVEL | IOAPIC_RTE_LOGICAL | (APIC_DM_LOWEST << 8) | 0x49, 0x0f);
    cr_assert(ioapic_read_reg(&f.io, 0x10 + 18) & IOAPIC_RTE_REMOTE_IRR);
    cr_assert_eq(f.n, 3);
}

Test(ioapic, level_masked_then_unmasked_while_asserted)
{
    struct fix f;
    setup(&f);
    rte(&f, 11, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x5b, 0);
    ioapic_set_irq(&f.io, 11, 1);
    cr_assert_eq(f.n, 0);
    rte(&f, 11, IOAPIC_RTE_LEVEL | 0x5b, 0);
    cr_assert_eq(f.n, 1, "delivered when unmasked");
    /* Switching to edge drops remote IRR. */
    rte(&f, 11, 0x5b, 0);
    cr_assert_eq(ioapic_read_reg(&f.io, 0x10 + 22) & IOAPIC_RTE_REMOTE_IRR, 0u);
}

Test(ioapic, nmi_init_extint_modes_are_edge)
{
    struct fix f;
    setup(&f);
    rte(&f, 0, IOAPIC_RTE_LEVEL | (APIC_DM_EXTINT << 8), 0);
    ioapic_set_irq(&f.io, 0, 1);
    ioapic_set_irq(&f.io, 0, 1);
    cr_assert_eq(f.n, 1);
    cr_assert_eq(f.msg[0].mode, APIC_DM_EXTINT);
    cr_assert(!f.msg[0].level);
    cr_assert_eq(ioapic_read_reg(&f.io, 0x10) & IOAPIC_RTE_REMOTE_IRR, 0u);
    rte(&f, 1, APIC_DM_NMI << 8, 0xff);
    ioapic_irq_line(&f.io, 1, 1);
    cr_assert_eq(f.n, 2);
    cr_assert_eq(f.msg[1].mode, APIC_DM_NMI);
    cr_assert_eq(f.msg[1].dest, 0xff);
}

Test(ioapic, isa_pin_wiring)
{
    cr_assert_eq(ioapic_isa_pin(0), 2);
    cr_assert_eq(ioapic_isa_pin(1), 1);
    cr_assert_eq(ioapic_isa_pin(4), 4);
    cr_assert_eq(ioapic_isa_pin(15), 15);
}

Test(ioapic, out_of_range_is_ignored)
{
    struct fix f;
    setup(&f);
    ioapic_set_irq(&f.io, 24, 1);
    ioapic_set_irq(&f.io, -1, 1);
    cr_assert_eq(ioapic_read_reg(&f.io, 0x40), 0u);
    ioapic_write_reg(&f.io, 0x40, 0xffffffffu);
    cr_assert_eq(f.n, 0);
}

/* ---- end to end: two local APICs behind a router ---- */

struct sys {
    struct ioapic io;
    struct apic apic[2];
    struct apic_peer peers[2];
    int prefer;
};

static void sys_route(struct sys *s, const struct apic_msg *m)
{
    for (int i = 0; i < 2; i++)
        apic_peer_state(&s->apic[i], &s->peers[i]);
    bool hit[2];
    apic_route(m, s->peers, 2, s->prefer, hit);
    for (int i = 0; i < 2; i++)
        if (hit[i])
            apic_deliver(&s->apic[i], m->mode, m->vector, m->trigger_level);
}

static void sys_ioapic_deliver(void *ctx, uint8_t dest, bool logical, int mode, uint8_t vector,
                               bool level)
{
    struct apic_msg m = { .vector = vector, .mode = (uint8_t)mode, .dest = dest,
                          .logical = logical, .trigger_level = level, .source = 0 };
    sys_route(ctx, &m);
}

static void sys_send(void *ctx, const struct apic_msg *m)
{
    sys_route(ctx, m);
}

static void sys_eoi(void *ctx, uint8_t vector)
{
    struct sys *s = ctx;
    ioapic_eoi(&s->io, vector);
}

Test(ioapic, routes_to_any_cpu_and_level_eoi_round_trip)
{
    static struct sys s;
    memset(&s, 0, sizeof s);
    struct apic_ops ops = { .send = sys_send, .eoi = sys_eoi };
    ioapic_init(&s.io, 2, sys_ioapic_deliver, &s);
    for (int i = 0; i < 2; i++) {
        apic_init(&s.apic[i], (uint8_t)i, i == 0, &ops, &s);
        apic_write(&s.apic[i], APIC_REG_SVR, 0x1ff);
        apic_write(&s.apic[i], APIC_REG_LDR, (1u << i) << 24);
    }
    /* A level-triggered device on pin 10 to CPU 1 (physical). */
    ioapic_write_reg(&s.io, 0x11 + 20, 1u << 24);
    ioapic_write_reg(&s.io, 0x10 + 20, IOAPIC_RTE_LEVEL | 0x6a);
    ioapic_set_irq(&s.io, 10, 1);
    cr_assert(!apic_intr(&s.apic[0]));
    cr_assert(apic_intr(&s.apic[1]));
    cr_assert_eq(apic_intr_ack(&s.apic[1]), 0x6a);
    ioapic_set_irq(&s.io, 10, 0);              /* the driver cleared the device */
    apic_write(&s.apic[1], APIC_REG_EOI, 0);
    cr_assert_eq(ioapic_read_reg(&s.io, 0x10 + 20) & IOAPIC_RTE_REMOTE_IRR, 0u,
                 "the EOI broadcast reached the IOAPIC");
    /* Lowest priority over both in logical flat mode: one CPU only. */
    s.prefer = 0;
    ioapic_write_reg(&s.io, 0x11 + 8, 0x03u << 24);
    ioapic_write_reg(&s.io, 0x10 + 8, IOAPIC_RTE_LOGICAL | (APIC_DM_LOWEST << 8) | 0x34);
    ioapic_set_irq(&s.io, 4, 1);
    cr_assert(apic_intr(&s.apic[0]));
    cr_assert(!apic_intr(&s.apic[1]));
    /* An IPI from CPU 0 to CPU 1. */
    apic_write(&s.apic[0], APIC_REG_ICR_HI, 1u << 24);
    apic_write(&s.apic[0], APIC_REG_ICR_LO, 0xf3);
    cr_assert_eq(apic_intr_ack(&s.apic[1]), 0xf3);
}
