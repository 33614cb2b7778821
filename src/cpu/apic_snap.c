/* apic_snap.c - a local APIC in a memory image: section "APIC"
 * (docs/image-format.md). Everything the guest can observe is saved: the
 * registers, IRR/ISR/TMR, the errors not yet latched, the timer (its
 * count `timer_count0` at `timer_t0` and the expirations signalled since,
 * both on the virtual clock the APIC's now_ns gives, src/vclock.h, which
 * a restore keeps continuous), the TSC deadline and offset, the LINT pin
 * levels, a pending ExtINT message, and where the register window is
 * mapped. The attachments (ops, ctx, phys) are the loading APIC's own.
 * A load checks every register against the bits the APIC keeps, then
 * recomputes the INTR output and tells ops.intr_out its level. */
#include "cpu/apic.h"

#include "snap/snapbuf.h"

#define APIC_SNAP_VERSION 1

/* Bits each LVT slot can hold (apic.c's writable bits and remote IRR). */
static const uint32_t lvt_keep[APIC_NLVT] = {
    [APIC_LVT_TIMER] = 0x000700ffu,
    [APIC_LVT_PERF]  = 0x000107ffu,
    [APIC_LVT_LINT0] = 0x0001e7ffu,
    [APIC_LVT_LINT1] = 0x0001e7ffu,
    [APIC_LVT_ERROR] = 0x000100ffu,
};
#define ICR_LO_KEEP 0x000ccfffu
#define ESR_BITS (APIC_ESR_SEND_ILLEGAL | APIC_ESR_RECV_ILLEGAL | APIC_ESR_ILLEGAL_REG)

/* The register window's base, or UINT32_MAX when it is not mapped. */
static uint32_t window_base(const struct apic *a)
{
    if (!a->phys || a->mmio_index < 0 || a->mmio_index >= a->phys->nmmio ||
        a->phys->mmio[a->mmio_index].ctx != a)
        return UINT32_MAX;
    return a->phys->mmio[a->mmio_index].base;
}

static void put256(struct snapw *w, const uint32_t *v)
{
    for (int i = 0; i < 8; i++)
        snapw_u32(w, v[i]);
}

static void get256(struct snapr *r, uint32_t *v)
{
    for (int i = 0; i < 8; i++)
        v[i] = snapr_u32(r);
}

void apic_save(const struct apic *a, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("APIC"), APIC_SNAP_VERSION);
    snapw_u8(w, a->id);
    snapw_u64(w, a->base_msr);
    snapw_u32(w, window_base(a));
    snapw_u32(w, a->tpr);
    snapw_u32(w, a->ldr);
    snapw_u32(w, a->dfr);
    snapw_u32(w, a->svr);
    snapw_u32(w, a->esr);
    snapw_u32(w, a->esr_pending);
    snapw_u32(w, a->icr_lo);
    snapw_u32(w, a->icr_hi);
    for (int i = 0; i < APIC_NLVT; i++)
        snapw_u32(w, a->lvt[i]);
    put256(w, a->irr);
    put256(w, a->isr);
    put256(w, a->tmr);
    snapw_u32(w, a->timer_init);
    snapw_u32(w, a->timer_dcr);
    snapw_bool(w, a->timer_running);
    snapw_u64(w, a->timer_t0);
    snapw_u32(w, a->timer_count0);
    snapw_u64(w, a->timer_fired);
    snapw_u64(w, a->bus_hz);
    snapw_u64(w, a->tsc_deadline);
    snapw_u64(w, a->tsc_offset);
    snapw_bool(w, a->lint[0] != 0);
    snapw_bool(w, a->lint[1] != 0);
    snapw_bool(w, a->extint_msg);
    snapw_end(w);
}

/* The registers read into n: refuse values the APIC never holds. */
static void check_regs(struct snapr *s, const struct apic *n, uint32_t win)
{
    if (n->base_msr & ~(uint64_t)(APIC_BASE_ADDR_MASK | APIC_BASE_ENABLE | APIC_BASE_BSP)) {
        snapr_fail(s, "APIC base MSR %#llx has reserved bits set",
                   (unsigned long long)n->base_msr);
        return;
    }
    if (win != UINT32_MAX && (win & ~APIC_BASE_ADDR_MASK)) {
        snapr_fail(s, "APIC window at %#x is not page aligned", win);
        return;
    }
    if (n->tpr > 0xff || (n->ldr & 0x00ffffffu) || (n->dfr & 0x0fffffffu) != 0x0fffffffu ||
        (n->svr & ~0x3ffu) || (n->icr_lo & ~ICR_LO_KEEP) || (n->icr_hi & 0x00ffffffu) ||
        (n->esr & ~ESR_BITS) || (n->esr_pending & ~ESR_BITS) || (n->timer_dcr & ~0xbu)) {
        snapr_fail(s, "APIC register with bits the APIC never sets (TPR %#x LDR %#x DFR %#x "
                   "SVR %#x ICR %#x:%#x ESR %#x/%#x DCR %#x)", n->tpr, n->ldr, n->dfr, n->svr,
                   n->icr_hi, n->icr_lo, n->esr, n->esr_pending, n->timer_dcr);
        return;
    }
    for (int i = 0; i < APIC_NLVT; i++)
        if (n->lvt[i] & ~lvt_keep[i]) {
            snapr_fail(s, "APIC LVT entry %d is %#x (reserved bits set)", i, n->lvt[i]);
            return;
        }
    /* Vectors 0-15 are never accepted (illegal vector error). */
    if ((n->irr[0] | n->isr[0] | n->tmr[0]) & 0xffffu) {
        snapr_fail(s, "APIC IRR/ISR/TMR hold a vector below 16 (IRR %#x ISR %#x TMR %#x)",
                   n->irr[0], n->isr[0], n->tmr[0]);
        return;
    }
    if (n->bus_hz == 0 || n->bus_hz > 100 * APIC_DEFAULT_BUS_HZ)
        snapr_fail(s, "APIC timer clock of %llu Hz", (unsigned long long)n->bus_hz);
}

bool apic_load(struct apic *a, struct snapr *r)
{
    struct snapr s;
    if (!snapr_section(r, SNAP_TAG("APIC"), APIC_SNAP_VERSION, &s, NULL))
        return false;
    struct apic n = *a;          /* keeps the attachments */
    n.id = snapr_u8(&s);
    n.base_msr = snapr_u64(&s);
    uint32_t win = snapr_u32(&s);
    n.tpr = snapr_u32(&s);
    n.ldr = snapr_u32(&s);
    n.dfr = snapr_u32(&s);
    n.svr = snapr_u32(&s);
    n.esr = snapr_u32(&s);
    n.esr_pending = snapr_u32(&s);
    n.icr_lo = snapr_u32(&s);
    n.icr_hi = snapr_u32(&s);
    for (int i = 0; i < APIC_NLVT; i++)
        n.lvt[i] = snapr_u32(&s);
    get256(&s, n.irr);
    get256(&s, n.isr);
    get256(&s, n.tmr);
    n.timer_init = snapr_u32(&s);
    n.timer_dcr = snapr_u32(&s);
    n.timer_running = snapr_bool(&s);
    n.timer_t0 = snapr_u64(&s);
    n.timer_count0 = snapr_u32(&s);
    n.timer_fired = snapr_u64(&s);
    n.bus_hz = snapr_u64(&s);
    n.tsc_deadline = snapr_u64(&s);
    n.tsc_offset = snapr_u64(&s);
    n.lint[0] = snapr_bool(&s);
    n.lint[1] = snapr_bool(&s);
    n.extint_msg = snapr_bool(&s);
    if (!s.bad)
        check_regs(&s, &n, win);
    uint32_t have = window_base(a);
    if (!s.bad && have != UINT32_MAX && win != have) {
        /* The guest moved the window (apic_set_base moves it only
         * between addresses above RAM): do the same here. */
        if (win == UINT32_MAX || win < a->phys->ram_size || have < a->phys->ram_size)
            snapr_fail(&s, "APIC window at %#x cannot be placed (this machine has it at %#x)",
                       win, have);
    }
    if (!snapr_done(&s, r))
        return false;
    if (have != UINT32_MAX && win != have)
        a->phys->mmio[a->mmio_index].base = win;
    n.out = apic_intr(&n) ? 1 : 0;
    *a = n;
    if (a->ops.intr_out)
        a->ops.intr_out(a->ctx, a->out);
    return true;
}
