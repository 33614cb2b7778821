/* test_apic.c - the local APIC without MPI: register semantics, priority
 * and EOI, the local vector table inputs (ExtINT/NMI/fixed LINT), the
 * timer with a fake clock, IPIs through the send callback for every
 * shorthand and destination mode, destination routing (physical, flat
 * and cluster logical, lowest priority), the MMIO window and
 * IA32_APIC_BASE, and INIT/STARTUP on a real struct cpu. */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/apic.h"
#include "cpu/cpu.h"
#include "mem/phys.h"

#define MAX_SENT 16

struct fix {
    struct apic apic;
    uint64_t now;
    int intr, intr_changes;
    int extint_vector, extint_acks;
    struct apic_msg sent[MAX_SENT];
    int nsent;
    int eoi[MAX_SENT];
    int neoi;
    int nmis, inits;
    int sipi[MAX_SENT];
    int nsipi;
    int changes;
};

static uint64_t f_now(void *ctx) { return ((struct fix *)ctx)->now; }
static void f_intr(void *ctx, int level)
{
    struct fix *f = ctx;
    f->intr = level;
    f->intr_changes++;
}
static int f_extint_ack(void *ctx)
{
    struct fix *f = ctx;
    f->extint_acks++;
    return f->extint_vector;
}
static void f_send(void *ctx, const struct apic_msg *m)
{
    struct fix *f = ctx;
    if (f->nsent < MAX_SENT)
        f->sent[f->nsent++] = *m;
}
static void f_eoi(void *ctx, uint8_t v)
{
    struct fix *f = ctx;
    if (f->neoi < MAX_SENT)
        f->eoi[f->neoi++] = v;
}
static void f_nmi(void *ctx) { ((struct fix *)ctx)->nmis++; }
static void f_init(void *ctx) { ((struct fix *)ctx)->inits++; }
static void f_sipi(void *ctx, uint8_t v)
{
    struct fix *f = ctx;
    if (f->nsipi < MAX_SENT)
        f->sipi[f->nsipi++] = v;
}
static void f_changed(void *ctx, const struct apic *a)
{
    (void)a;
    ((struct fix *)ctx)->changes++;
}

static const struct apic_ops fops = {
    .now_ns = f_now, .intr_out = f_intr, .extint_ack = f_extint_ack, .send = f_send,
    .eoi = f_eoi, .nmi = f_nmi, .init = f_init, .sipi = f_sipi, .changed = f_changed,
};

static void setup(struct fix *f, uint8_t id, bool bsp)
{
    memset(f, 0, sizeof *f);
    f->extint_vector = 0x20;
    apic_init(&f->apic, id, bsp, &fops, f);
}

/* Software-enable with spurious vector 0xFF, as Linux does. */
static void enable(struct fix *f)
{
    apic_write(&f->apic, APIC_REG_SVR, 0x1ff);
}

static void icr(struct fix *f, uint8_t dest, uint32_t lo)
{
    apic_write(&f->apic, APIC_REG_ICR_HI, (uint32_t)dest << 24);
    apic_write(&f->apic, APIC_REG_ICR_LO, lo);
}

static bool irr(struct fix *f, int v)
{
    return (apic_read(&f->apic, APIC_REG_IRR + (uint32_t)(v >> 5) * 16) >> (v & 31)) & 1;
}

static bool isr(struct fix *f, int v)
{
    return (apic_read(&f->apic, APIC_REG_ISR + (uint32_t)(v >> 5) * 16) >> (v & 31)) & 1;
}

static bool tmr(struct fix *f, int v)
{
    return (apic_read(&f->apic, APIC_REG_TMR + (uint32_t)(v >> 5) * 16) >> (v & 31)) & 1;
}

static uint32_t esr(struct fix *f)
{
    apic_write(&f->apic, APIC_REG_ESR, 0);
    return apic_read(&f->apic, APIC_REG_ESR);
}

/* ---- registers ---- */

Test(apic, power_on_state)
{
    struct fix f;
    setup(&f, 3, false);
    struct apic *a = &f.apic;
    cr_assert_eq(apic_read(a, APIC_REG_ID), 3u << 24);
    cr_assert_eq(apic_read(a, APIC_REG_VERSION), 0x00040014u);
    cr_assert_eq(apic_read(a, APIC_REG_SVR), 0xffu);
    cr_assert_eq(apic_read(a, APIC_REG_DFR), 0xffffffffu);
    cr_assert_eq(apic_read(a, APIC_REG_LDR), 0u);
    cr_assert_eq(apic_read(a, APIC_REG_TPR), 0u);
    for (uint32_t off = APIC_REG_LVT_TIMER; off <= APIC_REG_LVT_ERROR; off += 0x10)
        if (off != APIC_REG_LVT_THERMAL)
            cr_assert_eq(apic_read(a, off), APIC_LVT_MASKED, "LVT %x", off);
    cr_assert_eq(apic_get_base(a), 0xfee00800u);
    cr_assert_eq(esr(&f), 0u);

    setup(&f, 0, true);
    cr_assert_eq(apic_get_base(&f.apic), 0xfee00900u);
    cr_assert_eq(apic_read(&f.apic, APIC_REG_LVT_LINT0), 0x700u,
                 "BSP starts in virtual-wire mode");
    cr_assert_eq(apic_read(&f.apic, APIC_REG_LVT_LINT1), APIC_LVT_MASKED);
}

Test(apic, register_masks_and_read_only)
{
    struct fix f;
    setup(&f, 1, false);
    struct apic *a = &f.apic;
    enable(&f);
    apic_write(a, APIC_REG_TPR, 0x12345678);
    cr_assert_eq(apic_read(a, APIC_REG_TPR), 0x78u);
    apic_write(a, APIC_REG_LDR, 0x12345678);
    cr_assert_eq(apic_read(a, APIC_REG_LDR), 0x12000000u);
    apic_write(a, APIC_REG_DFR, 0x0);
    cr_assert_eq(apic_read(a, APIC_REG_DFR), 0x0fffffffu);
    apic_write(a, APIC_REG_ICR_HI, 0xffffffffu);
    cr_assert_eq(apic_read(a, APIC_REG_ICR_HI), 0xff000000u);
    apic_write(a, APIC_REG_TIMER_DIV, 0xffffffffu);
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_DIV), 0xbu);
    apic_write(a, APIC_REG_LVT_TIMER, 0xffffffffu);
    cr_assert_eq(apic_read(a, APIC_REG_LVT_TIMER), 0x000700ffu);
    apic_write(a, APIC_REG_LVT_LINT0, 0xffffffffu);
    cr_assert_eq(apic_read(a, APIC_REG_LVT_LINT0), 0x0001a7ffu, "remote IRR/status are read-only");
    apic_write(a, APIC_REG_LVT_ERROR, 0xffffffffu);
    cr_assert_eq(apic_read(a, APIC_REG_LVT_ERROR), 0x000100ffu);
    /* read-only registers */
    apic_write(a, APIC_REG_VERSION, 0);
    apic_write(a, APIC_REG_PPR, 0xff);
    cr_assert_eq(apic_read(a, APIC_REG_VERSION), 0x00040014u);
    cr_assert_eq(esr(&f), 0u);
    /* ID is writable and reported */
    int before = f.changes;
    apic_write(a, APIC_REG_ID, 0x05000000u);
    cr_assert_eq(apic_read(a, APIC_REG_ID), 0x05000000u);
    cr_assert_gt(f.changes, before);
}

Test(apic, esr_latches_on_write_and_illegal_register)
{
    struct fix f;
    setup(&f, 0, false);
    enable(&f);
    apic_read(&f.apic, APIC_REG_LVT_THERMAL);   /* no thermal LVT (max LVT 4) */
    cr_assert_eq(apic_read(&f.apic, APIC_REG_ESR), 0u, "not latched before an ESR write");
    apic_write(&f.apic, APIC_REG_ESR, 0);
    cr_assert_eq(apic_read(&f.apic, APIC_REG_ESR), APIC_ESR_ILLEGAL_REG);
    apic_write(&f.apic, APIC_REG_ESR, 0);
    cr_assert_eq(apic_read(&f.apic, APIC_REG_ESR), 0u, "cleared by the next write");
}

Test(apic, software_disable_masks_lvt)
{
    struct fix f;
    setup(&f, 0, false);
    enable(&f);
    apic_write(&f.apic, APIC_REG_LVT_TIMER, 0x40);
    cr_assert_eq(apic_read(&f.apic, APIC_REG_LVT_TIMER), 0x40u);
    apic_write(&f.apic, APIC_REG_SVR, 0xff);              /* software disable */
    cr_assert_eq(apic_read(&f.apic, APIC_REG_LVT_TIMER), 0x10040u);
    apic_write(&f.apic, APIC_REG_LVT_TIMER, 0x40);
    cr_assert_eq(apic_read(&f.apic, APIC_REG_LVT_TIMER), 0x10040u, "mask stays while disabled");
    apic_deliver(&f.apic, APIC_DM_FIXED, 0x50, false);
    cr_assert(!irr(&f, 0x50), "fixed interrupts are not accepted while disabled");
    apic_deliver(&f.apic, APIC_DM_NMI, 0, false);
    cr_assert_eq(f.nmis, 1, "NMI still accepted");
    cr_assert_eq(f.intr, 0);
}

/* ---- priority, INTA, EOI ---- */

Test(apic, highest_irr_above_ppr_and_eoi)
{
    struct fix f;
    setup(&f, 0, false);
    struct apic *a = &f.apic;
    enable(&f);
    apic_deliver(a, APIC_DM_FIXED, 0x31, false);
    cr_assert_eq(f.intr, 1);
    apic_deliver(a, APIC_DM_FIXED, 0x52, false);
    cr_assert(irr(&f, 0x31) && irr(&f, 0x52));
    cr_assert_eq(apic_intr_ack(a), 0x52);
    cr_assert(isr(&f, 0x52) && !irr(&f, 0x52));
    cr_assert_eq(apic_read(a, APIC_REG_PPR), 0x50u);
    cr_assert_eq(f.intr, 0, "0x31 is below the in-service class");
    /* A higher class nests. */
    apic_deliver(a, APIC_DM_FIXED, 0x61, false);
    cr_assert_eq(f.intr, 1);
    cr_assert_eq(apic_intr_ack(a), 0x61);
    cr_assert_eq(apic_read(a, APIC_REG_PPR), 0x60u);
    /* Same class as the ISR is held back. */
    apic_deliver(a, APIC_DM_FIXED, 0x6f, false);
    cr_assert_eq(f.intr, 0);
    apic_write(a, APIC_REG_EOI, 0);                    /* ends 0x61 */
    cr_assert(!isr(&f, 0x61) && isr(&f, 0x52));
    cr_assert_eq(f.intr, 1);
    cr_assert_eq(apic_intr_ack(a), 0x6f);
    apic_write(a, APIC_REG_EOI, 0);
    apic_write(a, APIC_REG_EOI, 0);                    /* ends 0x52 */
    cr_assert_eq(apic_read(a, APIC_REG_PPR), 0u);
    cr_assert_eq(apic_intr_ack(a), 0x31);
    apic_write(a, APIC_REG_EOI, 0);
    cr_assert_eq(f.intr, 0);
    cr_assert_eq(f.neoi, 0, "edge-triggered: no EOI broadcast");
}

Test(apic, tpr_blocks_lower_classes)
{
    struct fix f;
    setup(&f, 0, false);
    struct apic *a = &f.apic;
    enable(&f);
    apic_write(a, APIC_REG_TPR, 0x45);
    apic_deliver(a, APIC_DM_FIXED, 0x31, false);
    apic_deliver(a, APIC_DM_FIXED, 0x4f, false);
    cr_assert_eq(f.intr, 0);
    cr_assert_eq(apic_read(a, APIC_REG_PPR), 0x45u);
    cr_assert_eq(apic_read(a, APIC_REG_APR), 0x45u);
    apic_deliver(a, APIC_DM_FIXED, 0x51, false);
    cr_assert_eq(f.intr, 1);
    cr_assert_eq(apic_read(a, APIC_REG_APR), 0x50u);
    cr_assert_eq(apic_intr_ack(a), 0x51);
    apic_write(a, APIC_REG_EOI, 0);
    apic_write(a, APIC_REG_TPR, 0);
    cr_assert_eq(f.intr, 1, "lowering the TPR releases the held vectors");
    cr_assert_eq(apic_intr_ack(a), 0x4f);
}

Test(apic, spurious_when_nothing_pending)
{
    struct fix f;
    setup(&f, 0, false);
    apic_write(&f.apic, APIC_REG_SVR, 0x1e7);
    cr_assert_eq(apic_intr_ack(&f.apic), 0xe7);
    cr_assert_eq(apic_read(&f.apic, APIC_REG_ISR + 0x70), 0u, "no ISR bit for a spurious");
}

Test(apic, illegal_vector_and_error_lvt)
{
    struct fix f;
    setup(&f, 0, false);
    struct apic *a = &f.apic;
    enable(&f);
    apic_write(a, APIC_REG_LVT_ERROR, 0xfe);
    apic_deliver(a, APIC_DM_FIXED, 0x05, false);
    cr_assert(!irr(&f, 0x05));
    cr_assert(irr(&f, 0xfe), "the error LVT fired");
    cr_assert_eq(esr(&f), APIC_ESR_RECV_ILLEGAL);
}

Test(apic, level_triggered_sets_tmr_and_broadcasts_eoi)
{
    struct fix f;
    setup(&f, 0, false);
    struct apic *a = &f.apic;
    enable(&f);
    apic_deliver(a, APIC_DM_FIXED, 0x41, true);
    cr_assert(tmr(&f, 0x41));
    cr_assert_eq(apic_intr_ack(a), 0x41);
    apic_write(a, APIC_REG_EOI, 0);
    cr_assert_eq(f.neoi, 1);
    cr_assert_eq(f.eoi[0], 0x41);
}

/* ---- LINT0 / LINT1: the 8259 mux, NMI, fixed level ---- */

Test(apic, extint_through_lint0_passes_the_8259)
{
    struct fix f;
    setup(&f, 0, true);                 /* BSP: LINT0 = ExtINT, unmasked */
    struct apic *a = &f.apic;
    apic_set_lint(a, 0, 1);
    cr_assert_eq(f.intr, 1, "works before the guest enables the APIC");
    cr_assert_eq(apic_intr_ack(a), 0x20);
    cr_assert_eq(f.extint_acks, 1);
    apic_set_lint(a, 0, 0);
    cr_assert_eq(f.intr, 0);
    /* ExtINT goes before a pending fixed interrupt. */
    enable(&f);
    apic_deliver(a, APIC_DM_FIXED, 0x90, false);
    apic_set_lint(a, 0, 1);
    f.extint_vector = 0x21;
    cr_assert_eq(apic_intr_ack(a), 0x21);
    apic_set_lint(a, 0, 0);
    cr_assert_eq(apic_intr_ack(a), 0x90);
    /* Masking LINT0 cuts the 8259 off. */
    apic_write(a, APIC_REG_LVT_LINT0, 0x10700);
    apic_set_lint(a, 0, 1);
    cr_assert_eq(f.intr, 0);
    cr_assert(!apic_intr(a));
}

Test(apic, ap_lint0_masked_at_reset)
{
    struct fix f;
    setup(&f, 1, false);
    apic_set_lint(&f.apic, 0, 1);
    cr_assert_eq(f.intr, 0);
}

Test(apic, lint1_nmi_on_rising_edge)
{
    struct fix f;
    setup(&f, 0, true);
    enable(&f);
    apic_write(&f.apic, APIC_REG_LVT_LINT1, APIC_DM_NMI << 8);
    apic_set_lint(&f.apic, 1, 1);
    apic_set_lint(&f.apic, 1, 1);
    cr_assert_eq(f.nmis, 1);
    apic_set_lint(&f.apic, 1, 0);
    apic_set_lint(&f.apic, 1, 1);
    cr_assert_eq(f.nmis, 2);
}

Test(apic, lint_fixed_level_remote_irr)
{
    struct fix f;
    setup(&f, 0, false);
    struct apic *a = &f.apic;
    enable(&f);
    apic_write(a, APIC_REG_LVT_LINT0, APIC_LVT_LEVEL | 0x60);
    apic_set_lint(a, 0, 1);
    cr_assert(irr(&f, 0x60) && tmr(&f, 0x60));
    cr_assert(apic_read(a, APIC_REG_LVT_LINT0) & APIC_LVT_REMOTE_IRR);
    cr_assert_eq(apic_intr_ack(a), 0x60);
    apic_set_lint(a, 0, 1);             /* still asserted: nothing new */
    cr_assert(!irr(&f, 0x60));
    apic_write(a, APIC_REG_EOI, 0);     /* EOI with the line high: again */
    cr_assert(irr(&f, 0x60));
    cr_assert_eq(apic_intr_ack(a), 0x60);
    apic_set_lint(a, 0, 0);
    apic_write(a, APIC_REG_EOI, 0);
    cr_assert(!irr(&f, 0x60));
    cr_assert(!(apic_read(a, APIC_REG_LVT_LINT0) & APIC_LVT_REMOTE_IRR));
}

/* ---- IPIs: what goes to the send callback ---- */

Test(apic, ipi_physical_and_logical_fixed)
{
    struct fix f;
    setup(&f, 2, false);
    enable(&f);
    icr(&f, 3, 0x00000040);
    cr_assert_eq(f.nsent, 1);
    struct apic_msg *m = &f.sent[0];
    cr_assert_eq(m->vector, 0x40);
    cr_assert_eq(m->mode, APIC_DM_FIXED);
    cr_assert_eq(m->dest, 3);
    cr_assert(!m->logical);
    cr_assert_eq(m->shorthand, APIC_SH_NONE);
    cr_assert_eq(m->source, 2);
    cr_assert(!m->trigger_level);
    cr_assert_eq(apic_read(&f.apic, APIC_REG_ICR_LO) & APIC_ICR_BUSY, 0u, "idle at once");
    icr(&f, 0x0c, APIC_ICR_LOGICAL | (APIC_DM_LOWEST << 8) | 0x51);
    cr_assert_eq(f.nsent, 2);
    cr_assert(f.sent[1].logical);
    cr_assert_eq(f.sent[1].mode, APIC_DM_LOWEST);
    cr_assert_eq(f.sent[1].dest, 0x0c);
    cr_assert_eq(apic_read(&f.apic, APIC_REG_ICR_LO), APIC_ICR_LOGICAL | 0x151u);
}

Test(apic, ipi_shorthands)
{
    struct fix f;
    setup(&f, 1, false);
    enable(&f);
    icr(&f, 0, (APIC_SH_SELF << 18) | 0x70);
    cr_assert_eq(f.nsent, 0, "self is delivered locally");
    cr_assert(irr(&f, 0x70));
    icr(&f, 0, (APIC_SH_ALL_INCL << 18) | 0x71);
    cr_assert_eq(f.nsent, 1);
    cr_assert_eq(f.sent[0].shorthand, APIC_SH_ALL_INCL);
    cr_assert(!irr(&f, 0x71), "the router delivers all-including to this APIC too");
    icr(&f, 0, (APIC_SH_ALL_EXCL << 18) | 0x72);
    cr_assert_eq(f.nsent, 2);
    cr_assert_eq(f.sent[1].shorthand, APIC_SH_ALL_EXCL);
    cr_assert_eq(f.sent[1].source, 1);
}

Test(apic, ipi_nmi_init_sipi_smi)
{
    struct fix f;
    setup(&f, 0, true);
    enable(&f);
    icr(&f, 1, APIC_DM_NMI << 8);
    cr_assert_eq(f.sent[0].mode, APIC_DM_NMI);
    /* Linux's INIT-SIPI-SIPI: INIT assert, INIT de-assert, two STARTUPs. */
    icr(&f, 1, APIC_ICR_LEVEL | APIC_ICR_ASSERT | (APIC_DM_INIT << 8));
    cr_assert_eq(f.nsent, 2);
    cr_assert_eq(f.sent[1].mode, APIC_DM_INIT);
    cr_assert_eq(f.sent[1].dest, 1);
    icr(&f, 1, APIC_ICR_LEVEL | (APIC_DM_INIT << 8));
    cr_assert_eq(f.nsent, 2, "INIT de-assert sends nothing");
    icr(&f, 0, (APIC_SH_ALL_INCL << 18) | APIC_ICR_LEVEL | (APIC_DM_INIT << 8));
    cr_assert_eq(f.nsent, 2, "Linux's sync_Arb_IDs resets nobody");
    cr_assert_eq(f.inits, 0);
    icr(&f, 1, (APIC_DM_STARTUP << 8) | 0x9f);
    icr(&f, 1, (APIC_DM_STARTUP << 8) | 0x9f);
    cr_assert_eq(f.nsent, 4);
    cr_assert_eq(f.sent[3].mode, APIC_DM_STARTUP);
    cr_assert_eq(f.sent[3].vector, 0x9f);
    icr(&f, 1, APIC_DM_SMI << 8);
    cr_assert_eq(f.nsent, 4, "SMI is ignored");
    icr(&f, 1, 0x0f);                          /* fixed with an illegal vector */
    cr_assert_eq(f.nsent, 4);
    cr_assert_eq(esr(&f), APIC_ESR_SEND_ILLEGAL);
}

Test(apic, no_router_delivers_to_itself)
{
    struct apic a;
    apic_init(&a, 0, true, NULL, NULL);
    apic_write(&a, APIC_REG_SVR, 0x1ff);
    apic_write(&a, APIC_REG_ICR_LO, (APIC_SH_ALL_INCL << 18) | 0x80);
    cr_assert(apic_intr(&a));
    apic_write(&a, APIC_REG_ICR_HI, 0);
    apic_write(&a, APIC_REG_ICR_LO, 0x81);         /* physical, to ID 0 */
    apic_write(&a, APIC_REG_ICR_HI, 5u << 24);
    apic_write(&a, APIC_REG_ICR_LO, 0x82);         /* to ID 5: nobody */
    cr_assert_eq(apic_intr_ack(&a), 0x81);
    apic_write(&a, APIC_REG_EOI, 0);
    cr_assert_eq(apic_intr_ack(&a), 0x80);
    apic_write(&a, APIC_REG_EOI, 0);
    cr_assert(!apic_intr(&a));
}

/* ---- receiving ---- */

Test(apic, init_resets_and_sipi_reaches_the_cpu_hook)
{
    struct fix f;
    setup(&f, 1, false);
    struct apic *a = &f.apic;
    enable(&f);
    apic_write(a, APIC_REG_LDR, 0x02000000u);
    apic_write(a, APIC_REG_TPR, 0x20);
    apic_deliver(a, APIC_DM_FIXED, 0x40, false);
    struct apic_msg init = { .mode = APIC_DM_INIT, .dest = 1, .source = 0 };
    cr_assert(apic_receive(a, &init));
    cr_assert_eq(f.inits, 1);
    cr_assert_eq(apic_read(a, APIC_REG_ID), 1u << 24, "ID survives INIT");
    cr_assert_eq(apic_read(a, APIC_REG_LDR), 0u);
    cr_assert_eq(apic_read(a, APIC_REG_TPR), 0u);
    cr_assert_eq(apic_read(a, APIC_REG_SVR), 0xffu);
    cr_assert(!irr(&f, 0x40));
    struct apic_msg sipi = { .mode = APIC_DM_STARTUP, .vector = 0x9a, .dest = 1 };
    cr_assert(apic_receive(a, &sipi), "STARTUP is taken while software-disabled");
    cr_assert_eq(f.nsipi, 1);
    cr_assert_eq(f.sipi[0], 0x9a);
    struct apic_msg other = { .mode = APIC_DM_STARTUP, .vector = 0x9a, .dest = 2 };
    cr_assert(!apic_receive(a, &other));
    cr_assert_eq(f.nsipi, 1);
}

Test(apic, extint_message_from_ioapic)
{
    struct fix f;
    setup(&f, 0, false);
    apic_deliver(&f.apic, APIC_DM_EXTINT, 0, false);
    cr_assert_eq(f.intr, 1);
    cr_assert_eq(apic_intr_ack(&f.apic), 0x20);
    cr_assert_eq(f.intr, 0);
}

/* ---- routing ---- */

static void peers4(struct apic_peer *p, uint32_t dfr)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (struct apic_peer){ .id = (uint8_t)i, .dfr = dfr, .hw_enabled = true,
                                   .sw_enabled = true };
        if (dfr == APIC_DFR_FLAT)
            p[i].ldr = (1u << i) << 24;
        else    /* clusters 0 and 1, two CPUs each */
            p[i].ldr = (uint32_t)(((i / 2) << 4) | (1 << (i % 2))) << 24;
    }
}

static int hits(const struct apic_msg *m, const struct apic_peer *p, int prefer)
{
    bool hit[4];
    apic_route(m, p, 4, prefer, hit);
    int mask = 0;
    for (int i = 0; i < 4; i++)
        mask |= hit[i] << i;
    return mask;
}

Test(apic, route_physical_and_shorthands)
{
    struct apic_peer p[4];
    peers4(p, APIC_DFR_FLAT);
    struct apic_msg m = { .mode = APIC_DM_FIXED, .vector = 0x40, .dest = 2, .source = 1 };
    cr_assert_eq(hits(&m, p, 1), 0x4);
    m.dest = 0xff;
    cr_assert_eq(hits(&m, p, 1), 0xf, "physical broadcast");
    m.dest = 9;
    cr_assert_eq(hits(&m, p, 1), 0x0);
    m.shorthand = APIC_SH_SELF;
    cr_assert_eq(hits(&m, p, 1), 0x2);
    m.shorthand = APIC_SH_ALL_INCL;
    cr_assert_eq(hits(&m, p, 1), 0xf);
    m.shorthand = APIC_SH_ALL_EXCL;
    cr_assert_eq(hits(&m, p, 1), 0xd);
    p[3].hw_enabled = false;
    cr_assert_eq(hits(&m, p, 1), 0x5, "a hardware-disabled APIC is not on the bus");
}

Test(apic, route_logical_flat_and_cluster)
{
    struct apic_peer p[4];
    peers4(p, APIC_DFR_FLAT);
    struct apic_msg m = { .mode = APIC_DM_FIXED, .vector = 0x40, .logical = true, .dest = 0x0a };
    cr_assert_eq(hits(&m, p, 0), 0xa);
    m.dest = 0xff;
    cr_assert_eq(hits(&m, p, 0), 0xf);
    peers4(p, APIC_DFR_CLUSTER);
    m.dest = 0x12;                               /* cluster 1, second CPU */
    cr_assert_eq(hits(&m, p, 0), 0x8);
    m.dest = 0x03;                               /* cluster 0, both */
    cr_assert_eq(hits(&m, p, 0), 0x3);
    m.dest = 0xf1;                               /* every cluster, first CPU */
    cr_assert_eq(hits(&m, p, 0), 0x5);
}

Test(apic, route_lowest_priority_picks_one)
{
    struct apic_peer p[4];
    peers4(p, APIC_DFR_FLAT);
    struct apic_msg m = { .mode = APIC_DM_LOWEST, .vector = 0x40, .logical = true, .dest = 0x0f };
    cr_assert_eq(hits(&m, p, -1), 0x1, "all equal: the lowest index");
    cr_assert_eq(hits(&m, p, 2), 0x4, "all equal: the preferred one");
    p[0].tpr = 0x30;
    p[1].tpr = 0x20;
    p[2].tpr = 0x20;
    p[3].tpr = 0x40;
    cr_assert_eq(hits(&m, p, 3), 0x2, "lowest TPR class wins");
    p[1].sw_enabled = false;
    cr_assert_eq(hits(&m, p, 3), 0x4, "software-disabled APICs are skipped");
    m.dest = 0x08;
    cr_assert_eq(hits(&m, p, -1), 0x8);
}

Test(apic, receive_filters_by_destination)
{
    struct fix f;
    setup(&f, 2, false);
    enable(&f);
    apic_write(&f.apic, APIC_REG_LDR, 0x04000000u);
    struct apic_msg m = { .mode = APIC_DM_FIXED, .vector = 0x44, .logical = true, .dest = 0x03 };
    cr_assert(!apic_receive(&f.apic, &m));
    m.dest = 0x04;
    cr_assert(apic_receive(&f.apic, &m));
    cr_assert(irr(&f, 0x44));
    struct apic_peer self;
    apic_peer_state(&f.apic, &self);
    cr_assert_eq(self.id, 2);
    cr_assert_eq(self.ldr, 0x04000000u);
    cr_assert(self.sw_enabled && self.hw_enabled);
}

/* ---- timer ---- */

Test(apic, timer_one_shot)
{
    struct fix f;
    setup(&f, 0, false);
    struct apic *a = &f.apic;
    enable(&f);
    f.now = 5000;
    apic_write(a, APIC_REG_TIMER_DIV, 0xb);             /* divide by 1: 1 tick/ns */
    apic_write(a, APIC_REG_LVT_TIMER, 0xef);
    apic_write(a, APIC_REG_TIMER_INIT, 1000);
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_CUR), 1000u);
    cr_assert_eq(apic_next_event_ns(a), 6000u);
    f.now = 5400;
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_CUR), 600u);
    apic_poll(a);
    cr_assert(!irr(&f, 0xef));
    f.now = 6000;
    apic_poll(a);
    cr_assert(irr(&f, 0xef));
    cr_assert_eq(f.intr, 1);
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_CUR), 0u);
    cr_assert_eq(apic_next_event_ns(a), UINT64_MAX);
    cr_assert_eq(apic_intr_ack(a), 0xef);
    apic_write(a, APIC_REG_EOI, 0);
    f.now = 100000;
    apic_poll(a);
    cr_assert(!irr(&f, 0xef), "one shot only");
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_INIT), 1000u);
}

Test(apic, timer_periodic_and_divider)
{
    struct fix f;
    setup(&f, 0, false);
    struct apic *a = &f.apic;
    enable(&f);
    apic_write(a, APIC_REG_TIMER_DIV, 0x0);              /* divide by 2 */
    apic_write(a, APIC_REG_LVT_TIMER, APIC_LVT_PERIODIC | 0xec);
    apic_write(a, APIC_REG_TIMER_INIT, 100);             /* period 200 ns */
    f.now = 150;
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_CUR), 25u);
    cr_assert_eq(apic_next_event_ns(a), 200u);
    f.now = 200;
    apic_poll(a);
    cr_assert_eq(apic_intr_ack(a), 0xec);
    apic_write(a, APIC_REG_EOI, 0);
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_CUR), 100u, "reloaded");
    cr_assert_eq(apic_next_event_ns(a), 400u);
    f.now = 1050;                                        /* 4 more periods pass */
    apic_poll(a);
    cr_assert_eq(apic_intr_ack(a), 0xec);
    apic_write(a, APIC_REG_EOI, 0);
    cr_assert(!apic_intr(a), "missed periods collapse into one");
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_CUR), 75u);
    cr_assert_eq(apic_next_event_ns(a), 1200u);
    /* Masked: counts on, no interrupt, no wake-up time. */
    apic_write(a, APIC_REG_LVT_TIMER, APIC_LVT_MASKED | APIC_LVT_PERIODIC | 0xec);
    cr_assert_eq(apic_next_event_ns(a), UINT64_MAX);
    f.now = 1500;
    apic_poll(a);
    cr_assert(!apic_intr(a));
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_CUR), 50u);
    /* Divide by 128 from here: the current count carries over. */
    apic_write(a, APIC_REG_TIMER_DIV, 0xa);
    f.now = 1500 + 128 * 10;
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_CUR), 40u);
    /* Writing 0 stops it. */
    apic_write(a, APIC_REG_TIMER_INIT, 0);
    cr_assert_eq(apic_read(a, APIC_REG_TIMER_CUR), 0u);
    f.now += 1000000;
    apic_poll(a);
    cr_assert(!apic_intr(a));
}

Test(apic, timer_divide_values)
{
    static const struct { uint32_t dcr; uint32_t div; } t[] = {
        { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
        { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct fix f;
        setup(&f, 0, false);
        enable(&f);
        apic_write(&f.apic, APIC_REG_TIMER_DIV, t[i].dcr);
        apic_write(&f.apic, APIC_REG_TIMER_INIT, 1000);
        f.now = 10 * t[i].div;
        cr_assert_eq(apic_read(&f.apic, APIC_REG_TIMER_CUR), 990u, "dcr %x", t[i].dcr);
    }
}

Test(apic, timer_with_slower_bus_clock)
{
    struct fix f;
    setup(&f, 0, false);
    enable(&f);
    f.apic.bus_hz = 100000000;                           /* 100 MHz: 10 ns a tick */
    apic_write(&f.apic, APIC_REG_TIMER_DIV, 0xb);
    apic_write(&f.apic, APIC_REG_LVT_TIMER, 0x30);
    apic_write(&f.apic, APIC_REG_TIMER_INIT, 7);
    cr_assert_eq(apic_next_event_ns(&f.apic), 70u);
    f.now = 69;
    apic_poll(&f.apic);
    cr_assert(!apic_intr(&f.apic));
    f.now = 70;
    apic_poll(&f.apic);
    cr_assert(apic_intr(&f.apic));
}

/* ---- MMIO window and IA32_APIC_BASE ---- */

Test(apic, mmio_through_phys_and_relocation)
{
    struct phys p;
    cr_assert_eq(phys_init(&p, 1 << 20), 0);
    struct fix f;
    setup(&f, 7, false);
    cr_assert_eq(apic_map(&f.apic, &p), 0);
    cr_assert_eq(phys_read(&p, 0xfee00020, 4), 7u << 24);
    cr_assert_eq(phys_read(&p, 0xfee00023, 1), 7u, "byte access");
    cr_assert_eq(phys_read(&p, 0xfee00030, 2), 0x14u);
    phys_write(&p, 0xfee000f0, 4, 0x1ff);
    cr_assert(apic_sw_enabled(&f.apic));
    phys_write(&p, 0xfee00080, 1, 0x30);                /* byte write to TPR */
    cr_assert_eq(apic_read(&f.apic, APIC_REG_TPR), 0x30u);
    apic_set_base(&f.apic, 0xfed00000u | APIC_BASE_ENABLE);
    cr_assert_eq(phys_read(&p, 0xfed00020, 4), 7u << 24);
    cr_assert_eq(phys_read(&p, 0xfee00020, 4), 0xffffffffu, "old window gone");
    cr_assert_eq(apic_get_base(&f.apic), 0xfed00800u);
    phys_free(&p);
}

Test(apic, hardware_disable)
{
    struct fix f;
    setup(&f, 0, true);
    struct apic *a = &f.apic;
    enable(&f);
    apic_write(a, APIC_REG_LVT_LINT0, 0x10000);          /* masked */
    apic_write(a, APIC_REG_TPR, 0x20);
    apic_set_base(a, APIC_DEFAULT_BASE);                 /* EN cleared */
    cr_assert(!apic_hw_enabled(a));
    cr_assert_eq(apic_get_base(a), 0xfee00100u, "BSP bit kept");
    cr_assert_eq(apic_mmio_read(a, APIC_REG_ID, 4), 0xffffffffu);
    apic_deliver(a, APIC_DM_FIXED, 0x40, false);
    apic_deliver(a, APIC_DM_NMI, 0, false);
    cr_assert_eq(f.nmis, 0, "nothing reaches a disabled APIC");
    cr_assert(!apic_intr(a));
    apic_set_lint(a, 0, 1);
    cr_assert_eq(f.intr, 1, "LINT0 is INTR");
    cr_assert_eq(apic_intr_ack(a), 0x20);
    apic_set_lint(a, 1, 1);
    cr_assert_eq(f.nmis, 1, "LINT1 is NMI");
    apic_set_lint(a, 0, 0);
    apic_set_base(a, APIC_DEFAULT_BASE | APIC_BASE_ENABLE);
    cr_assert_eq(apic_read(a, APIC_REG_TPR), 0u, "reset by the disable");
    cr_assert_eq(apic_read(a, APIC_REG_SVR), 0xffu);
}

/* ---- INIT and STARTUP on a CPU ---- */

Test(apic, cpu_init_then_sipi_starts_real_mode)
{
    struct phys p;
    cr_assert_eq(phys_init(&p, 1 << 20), 0);
    struct cpu cpu;
    cpu_init(&cpu, &p, NULL);
    cpu_set_flat32(&cpu);
    cpu.r[R_EAX] = 0x1234;
    cpu.tsc_offset = 777;
    cpu_apic_init(&cpu);
    cr_assert(cpu.wait_sipi, "an AP waits for STARTUP");
    cr_assert(!cpu.pe);
    cr_assert_eq(cpu.r[R_EAX], 0u);
    cr_assert_eq(cpu.tsc_offset, 777u);
    cr_assert_eq(cpu.apic_base & APIC_BASE_ENABLE, APIC_BASE_ENABLE);
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_REQUEST, "INIT leaves the run loop");
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_WAIT_SIPI);

    /* Code at 0x9f000: mov ax, cs; hlt */
    static const uint8_t code[] = { 0x8c, 0xc8, 0xf4 };
    cr_assert_eq(phys_copy_in(&p, 0x9f000, code, sizeof code), 0);
    cr_assert(cpu_sipi(&cpu, 0x9f));
    cr_assert(!cpu.wait_sipi);
    cr_assert_eq(cpu.seg[S_CS].sel, 0x9f00);
    cr_assert_eq(cpu.seg[S_CS].base, 0x9f000u);
    cr_assert_eq(cpu.eip, 0u);
    cr_assert(!cpu_sipi(&cpu, 0x10), "a second STARTUP is ignored");
    cr_assert_eq(cpu.seg[S_CS].sel, 0x9f00);
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_HALT);
    cr_assert_eq(cpu.r[R_EAX] & 0xffff, 0x9f00u);
    cr_assert_eq(cpu.eip, 3u);
    cpu_free(&cpu);
    phys_free(&p);
}

Test(apic, cpu_init_on_bsp_restarts_at_reset_vector)
{
    struct phys p;
    cr_assert_eq(phys_init(&p, 1 << 20), 0);
    struct cpu cpu;
    cpu_init(&cpu, &p, NULL);
    cpu.apic_base |= APIC_BASE_BSP;
    cpu_set_flat32(&cpu);
    cpu_apic_init(&cpu);
    cr_assert(!cpu.wait_sipi);
    cr_assert_eq(cpu.eip, 0xfff0u);
    cr_assert_eq(cpu.seg[S_CS].base, 0xffff0000u);
    cr_assert_eq(cpu.apic_base & APIC_BASE_BSP, APIC_BASE_BSP);
    cr_assert(!cpu_sipi(&cpu, 0x9f));
    cpu_free(&cpu);
    phys_free(&p);
}
