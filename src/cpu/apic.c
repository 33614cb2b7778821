/* apic.c - the local APIC (see apic.h): register file, interrupt
 * acceptance and priority (IRR/ISR/TMR, TPR/PPR, EOI), the local vector
 * table and its inputs (LINT0/LINT1, timer, error), IPIs from the ICR,
 * destination matching and routing for physical, flat and cluster
 * logical destinations, and the INIT/STARTUP effect on a struct cpu.
 * Facts from the Intel SDM vol. 3, chapter 10. */
#include "cpu/apic.h"

#include <string.h>

#include "cpu/cpu.h"
#include "cpu/mmu.h"

/* Writable bits of each LVT slot (bit 12, delivery status, reads 0;
 * bit 14, remote IRR, is kept by the APIC). */
static const uint32_t lvt_mask[APIC_NLVT] = {
    [APIC_LVT_TIMER] = 0x000700ffu,   /* vector, mask, mode (one-shot, periodic, deadline) */
    [APIC_LVT_PERF]  = 0x000107ffu,   /* vector, mode, mask */
    [APIC_LVT_LINT0] = 0x0001a7ffu,   /* vector, mode, polarity, trigger, mask */
    [APIC_LVT_LINT1] = 0x0001a7ffu,
    [APIC_LVT_ERROR] = 0x000100ffu,   /* vector, mask */
};
#define ICR_LO_MASK 0x000ccfffu       /* vector, mode, dest mode, level, trigger, shorthand */

/* ---- small helpers ---- */

static uint64_t now(const struct apic *a)
{
    return a->ops.now_ns ? a->ops.now_ns(a->ctx) : 0;
}

static bool bit_get(const uint32_t *v, unsigned n)
{
    return (v[n >> 5] >> (n & 31)) & 1;
}

static void bit_set(uint32_t *v, unsigned n, bool on)
{
    if (on)
        v[n >> 5] |= 1u << (n & 31);
    else
        v[n >> 5] &= ~(1u << (n & 31));
}

/* Highest set bit of a 256-bit register, or -1. */
static int highest(const uint32_t *v)
{
    for (int w = 7; w >= 0; w--)
        if (v[w])
            return w * 32 + 31 - __builtin_clz(v[w]);
    return -1;
}

bool apic_hw_enabled(const struct apic *a)
{
    return (a->base_msr & APIC_BASE_ENABLE) != 0;
}

bool apic_sw_enabled(const struct apic *a)
{
    return (a->svr & APIC_SVR_ENABLE) != 0;
}

uint8_t apic_ppr(const struct apic *a)
{
    int isrv = highest(a->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    return (uint8_t)((a->tpr & 0xf0) >= isr_class ? a->tpr : isr_class);
}

uint8_t apic_apr(const struct apic *a)
{
    int isrv = highest(a->isr), irrv = highest(a->irr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    uint32_t irr_class = irrv < 0 ? 0 : (uint32_t)irrv & 0xf0;
    uint32_t tpr_class = a->tpr & 0xf0;
    if (tpr_class >= irr_class && tpr_class > isr_class)
        return (uint8_t)a->tpr;
    uint32_t m = tpr_class > isr_class ? tpr_class : isr_class;
    return (uint8_t)(m > irr_class ? m : irr_class);
}

/* The vector the CPU would get now, or -1. */
static int deliverable(const struct apic *a)
{
    if (!apic_hw_enabled(a) || !apic_sw_enabled(a))
        return -1;
    int v = highest(a->irr);
    if (v < 0 || ((unsigned)v & 0xf0) <= (apic_ppr(a) & 0xf0u))
        return -1;
    return v;
}

/* An ExtINT request (the 8259 through LINT0, or an IOAPIC message). */
static bool extint_pending(const struct apic *a)
{
    if (!apic_hw_enabled(a))
        return a->lint[0] != 0;          /* transparent: LINT0 is INTR */
    uint32_t l0 = a->lvt[APIC_LVT_LINT0];
    if (a->lint[0] && !(l0 & APIC_LVT_MASKED) && ((l0 >> 8) & 7) == APIC_DM_EXTINT)
        return true;
    return a->extint_msg;
}

bool apic_intr(const struct apic *a)
{
    return extint_pending(a) || deliverable(a) >= 0;
}

static void update_output(struct apic *a)
{
    int level = apic_intr(a) ? 1 : 0;
    if (level != a->out) {
        a->out = level;
        if (a->ops.intr_out)
            a->ops.intr_out(a->ctx, level);
    }
}

static void notify_changed(struct apic *a)
{
    if (a->ops.changed)
        a->ops.changed(a->ctx, a);
}

/* Record an error; the error LVT fires when a new bit appears. */
static void apic_error(struct apic *a, uint32_t bits)
{
    bool fresh = (bits & ~a->esr_pending) != 0;
    a->esr_pending |= bits;
    uint32_t lvt = a->lvt[APIC_LVT_ERROR];
    if (fresh && !(lvt & APIC_LVT_MASKED)) {
        uint8_t v = (uint8_t)lvt;
        if (v >= 16) {
            bit_set(a->irr, v, true);
            bit_set(a->tmr, v, false);
        } else {
            a->esr_pending |= APIC_ESR_RECV_ILLEGAL;   /* no recursion */
        }
        update_output(a);
    }
}

/* Fixed interrupt into the IRR (vector checked). */
static void accept_fixed(struct apic *a, uint8_t vector, bool level)
{
    if (vector < 16) {
        apic_error(a, APIC_ESR_RECV_ILLEGAL);
        return;
    }
    bit_set(a->irr, vector, true);
    bit_set(a->tmr, vector, level);
    update_output(a);
}

/* ---- timer ---- */

static unsigned timer_divisor(const struct apic *a)
{
    unsigned v = (a->timer_dcr & 3) | ((a->timer_dcr >> 1) & 4);
    return v == 7 ? 1 : 2u << v;
}

static uint64_t ns_to_ticks(const struct apic *a, uint64_t ns)
{
    unsigned __int128 t = (unsigned __int128)ns * a->bus_hz /
                          ((unsigned __int128)1000000000u * timer_divisor(a));
    return t > UINT64_MAX ? UINT64_MAX : (uint64_t)t;
}

/* The first ns at which ns_to_ticks() reaches `ticks`. */
static uint64_t ticks_to_ns(const struct apic *a, uint64_t ticks)
{
    unsigned __int128 n = (unsigned __int128)ticks * 1000000000u * timer_divisor(a);
    n = (n + a->bus_hz - 1) / a->bus_hz;
    return n > UINT64_MAX ? UINT64_MAX : (uint64_t)n;
}

/* Timer mode: LVT bits 18:17 (11b, reserved, counts as one-shot). */
static bool timer_periodic(const struct apic *a)
{
    return (a->lvt[APIC_LVT_TIMER] & APIC_LVT_TIMER_MODE) == APIC_LVT_PERIODIC;
}

static bool timer_deadline_mode(const struct apic *a)
{
    return (a->lvt[APIC_LVT_TIMER] & APIC_LVT_TIMER_MODE) == APIC_LVT_TSC_DEADLINE;
}

/* The clock time at which the TSC reaches the armed deadline. */
static uint64_t deadline_ns(const struct apic *a)
{
    return a->tsc_deadline > a->tsc_offset ? a->tsc_deadline - a->tsc_offset : 0;
}

static uint64_t timer_elapsed(const struct apic *a, uint64_t t)
{
    return t > a->timer_t0 ? ns_to_ticks(a, t - a->timer_t0) : 0;
}

/* Number of times the count reached zero since t0. */
static uint64_t timer_expirations(const struct apic *a, uint64_t t)
{
    if (!a->timer_running)
        return 0;
    uint64_t e = timer_elapsed(a, t);
    if (e < a->timer_count0)
        return 0;
    if (!timer_periodic(a) || a->timer_init == 0)
        return 1;
    return 1 + (e - a->timer_count0) / a->timer_init;
}

static uint32_t timer_current(const struct apic *a, uint64_t t)
{
    if (!a->timer_running)
        return 0;
    uint64_t e = timer_elapsed(a, t);
    if (e < a->timer_count0)
        return (uint32_t)(a->timer_count0 - e);
    if (!timer_periodic(a) || a->timer_init == 0)
        return 0;
    return a->timer_init - (uint32_t)((e - a->timer_count0) % a->timer_init);
}

/* Signal the timer interrupt (unless masked). */
static void timer_fire(struct apic *a)
{
    uint32_t lvt = a->lvt[APIC_LVT_TIMER];
    if (!(lvt & APIC_LVT_MASKED) && apic_hw_enabled(a))
        accept_fixed(a, (uint8_t)lvt, false);
}

void apic_poll(struct apic *a)
{
    if (timer_deadline_mode(a)) {
        if (a->tsc_deadline && now(a) >= deadline_ns(a)) {
            a->tsc_deadline = 0;        /* fired: disarmed, the MSR reads 0 */
            timer_fire(a);
        }
        return;
    }
    if (!a->timer_running)
        return;
    uint64_t n = timer_expirations(a, now(a));
    if (n <= a->timer_fired)
        return;
    a->timer_fired = n;             /* missed periods collapse into one */
    if (!timer_periodic(a))
        a->timer_running = false;
    timer_fire(a);
}

uint64_t apic_next_event_ns(const struct apic *a)
{
    if (a->lvt[APIC_LVT_TIMER] & APIC_LVT_MASKED)
        return UINT64_MAX;
    if (timer_deadline_mode(a))
        return a->tsc_deadline ? deadline_ns(a) : UINT64_MAX;
    if (!a->timer_running)
        return UINT64_MAX;
    uint64_t target = a->timer_count0;
    if (timer_periodic(a) && a->timer_init)
        target += a->timer_fired * (uint64_t)a->timer_init;
    uint64_t d = ticks_to_ns(a, target);
    return d > UINT64_MAX - a->timer_t0 ? UINT64_MAX : a->timer_t0 + d;
}

/* Restart the count from its current value (divider or mode change). */
static void timer_rebase(struct apic *a)
{
    apic_poll(a);
    if (!a->timer_running)
        return;
    uint64_t t = now(a);
    a->timer_count0 = timer_current(a, t);
    a->timer_t0 = t;
    a->timer_fired = 0;
}

static void timer_start(struct apic *a, uint32_t count)
{
    if (timer_deadline_mode(a))
        return;                     /* the initial count is ignored */
    a->timer_init = count;
    a->timer_running = count != 0;
    a->timer_t0 = now(a);
    a->timer_count0 = count;
    a->timer_fired = 0;
}

/* ---- TSC-deadline mode ---- */

uint64_t apic_get_tsc_deadline(const struct apic *a)
{
    return timer_deadline_mode(a) ? a->tsc_deadline : 0;
}

void apic_set_tsc_deadline(struct apic *a, uint64_t tsc)
{
    if (!timer_deadline_mode(a))
        return;                     /* ignored in the other modes */
    a->tsc_deadline = tsc;
    apic_poll(a);                   /* a deadline already passed fires now */
}

void apic_set_tsc_offset(struct apic *a, uint64_t offset)
{
    a->tsc_offset = offset;
    apic_poll(a);
}

/* ---- lifecycle ---- */

void apic_reset(struct apic *a)
{
    a->tpr = a->ldr = 0;
    a->dfr = APIC_DFR_FLAT;
    a->svr = 0xff;
    a->esr = a->esr_pending = 0;
    a->icr_lo = a->icr_hi = 0;
    for (int i = 0; i < APIC_NLVT; i++)
        a->lvt[i] = APIC_LVT_MASKED;
    if (a->base_msr & APIC_BASE_BSP)
        a->lvt[APIC_LVT_LINT0] = APIC_DM_EXTINT << 8;      /* virtual wire */
    memset(a->irr, 0, sizeof a->irr);
    memset(a->isr, 0, sizeof a->isr);
    memset(a->tmr, 0, sizeof a->tmr);
    a->timer_init = a->timer_dcr = 0;
    a->timer_running = false;
    a->timer_t0 = 0;
    a->timer_count0 = 0;
    a->timer_fired = 0;
    a->tsc_deadline = 0;
    a->extint_msg = false;
    update_output(a);
}

void apic_init(struct apic *a, uint8_t id, bool bsp, const struct apic_ops *ops, void *ctx)
{
    memset(a, 0, sizeof *a);
    if (ops)
        a->ops = *ops;
    a->ctx = ctx;
    a->id = id;
    a->base_msr = APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (bsp ? APIC_BASE_BSP : 0);
    a->bus_hz = APIC_DEFAULT_BUS_HZ;
    a->mmio_index = -1;
    apic_reset(a);
}

int apic_map(struct apic *a, struct phys *phys)
{
    int idx = phys->nmmio;
    if (phys_add_mmio(phys, (uint32_t)a->base_msr & APIC_BASE_ADDR_MASK, APIC_MMIO_SIZE,
                      a, apic_mmio_read, apic_mmio_write))
        return -1;
    a->phys = phys;
    a->mmio_index = idx;
    return 0;
}

uint64_t apic_get_base(const struct apic *a)
{
    return a->base_msr;
}

void apic_set_base(struct apic *a, uint64_t value)
{
    bool was = apic_hw_enabled(a);
    uint32_t old_base = (uint32_t)a->base_msr & APIC_BASE_ADDR_MASK;
    uint32_t new_base = (uint32_t)value & APIC_BASE_ADDR_MASK;
    a->base_msr = new_base | (value & APIC_BASE_ENABLE) | (a->base_msr & APIC_BASE_BSP);
    if (was && !apic_hw_enabled(a))
        apic_reset(a);
    if (new_base != old_base && a->phys && a->mmio_index >= 0) {
        struct mmio_region *r = &a->phys->mmio[a->mmio_index];
        /* Moving a window over RAM would need the page flags redone:
         * only moves between addresses outside RAM are done. */
        if (r->ctx == a && old_base >= a->phys->ram_size && new_base >= a->phys->ram_size)
            r->base = new_base;
    }
    update_output(a);
    notify_changed(a);
}

/* ---- local interrupt pins ---- */

/* Deliver what LVT slot `slot` (LINT0/LINT1) says, for an asserted pin. */
static void lint_fire(struct apic *a, int slot)
{
    uint32_t lvt = a->lvt[slot];
    switch ((lvt >> 8) & 7) {
    case APIC_DM_FIXED:
        if (lvt & APIC_LVT_LEVEL) {
            if (lvt & APIC_LVT_REMOTE_IRR)
                return;
            a->lvt[slot] |= APIC_LVT_REMOTE_IRR;
            accept_fixed(a, (uint8_t)lvt, true);
        } else {
            accept_fixed(a, (uint8_t)lvt, false);
        }
        break;
    case APIC_DM_NMI:
        if (a->ops.nmi)
            a->ops.nmi(a->ctx);
        break;
    case APIC_DM_INIT:
        apic_deliver(a, APIC_DM_INIT, 0, false);
        break;
    default:                    /* ExtINT: a level, see extint_pending(); SMI ignored */
        break;
    }
}

void apic_set_lint(struct apic *a, int pin, int level)
{
    if (pin < 0 || pin > 1)
        return;
    level = level ? 1 : 0;
    int old = a->lint[pin];
    a->lint[pin] = level;
    int slot = pin ? APIC_LVT_LINT1 : APIC_LVT_LINT0;
    if (!apic_hw_enabled(a)) {
        if (pin == 1 && level && !old && a->ops.nmi)
            a->ops.nmi(a->ctx);
        update_output(a);
        return;
    }
    uint32_t lvt = a->lvt[slot];
    if (level && !(lvt & APIC_LVT_MASKED)) {
        bool level_fixed = ((lvt >> 8) & 7) == APIC_DM_FIXED && (lvt & APIC_LVT_LEVEL);
        if (level_fixed || !old)
            lint_fire(a, slot);
    }
    update_output(a);
}

/* ---- interrupt acceptance ---- */

void apic_deliver(struct apic *a, int mode, uint8_t vector, bool trigger_level)
{
    if (!apic_hw_enabled(a))
        return;
    switch (mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (!apic_sw_enabled(a))
            return;             /* a software-disabled APIC takes no fixed interrupts */
        accept_fixed(a, vector, trigger_level);
        break;
    case APIC_DM_NMI:
        if (a->ops.nmi)
            a->ops.nmi(a->ctx);
        break;
    case APIC_DM_INIT:
        apic_reset(a);
        notify_changed(a);
        if (a->ops.init)
            a->ops.init(a->ctx);
        break;
    case APIC_DM_STARTUP:
        if (a->ops.sipi)
            a->ops.sipi(a->ctx, vector);
        break;
    case APIC_DM_EXTINT:
        a->extint_msg = true;
        update_output(a);
        break;
    default:                    /* SMI and reserved modes: ignored */
        break;
    }
}

int apic_intr_ack(struct apic *a)
{
    if (extint_pending(a)) {
        a->extint_msg = false;
        int v = a->ops.extint_ack ? a->ops.extint_ack(a->ctx) : (int)(a->svr & 0xff);
        update_output(a);
        return v;
    }
    int v = deliverable(a);
    if (v < 0)
        return (int)(a->svr & 0xff);      /* spurious: the request went away */
    bit_set(a->irr, (unsigned)v, false);
    bit_set(a->isr, (unsigned)v, true);
    update_output(a);
    return v;
}

static void do_eoi(struct apic *a)
{
    int v = highest(a->isr);
    if (v < 0)
        return;
    bit_set(a->isr, (unsigned)v, false);
    if (bit_get(a->tmr, (unsigned)v)) {
        /* Level-triggered: local LINT pins and the IOAPIC. */
        for (int slot = APIC_LVT_LINT0; slot <= APIC_LVT_LINT1; slot++) {
            uint32_t lvt = a->lvt[slot];
            if ((lvt & APIC_LVT_REMOTE_IRR) && (uint8_t)lvt == v) {
                a->lvt[slot] &= ~APIC_LVT_REMOTE_IRR;
                if (a->lint[slot - APIC_LVT_LINT0] && !(lvt & APIC_LVT_MASKED))
                    lint_fire(a, slot);
            }
        }
        if (a->ops.eoi)
            a->ops.eoi(a->ctx, (uint8_t)v);
    }
    update_output(a);
}

/* ---- destinations ---- */

static bool logical_match(uint32_t ldr, uint32_t dfr, uint8_t dest)
{
    uint8_t id = (uint8_t)(ldr >> 24);
    if ((dfr >> 28) == 0xf)                       /* flat model */
        return (id & dest) != 0;
    /* cluster model: cluster in bits 4-7 (15 = all clusters) */
    if ((dest >> 4) != 0xf && (dest >> 4) != (id >> 4))
        return false;
    return (dest & id & 0x0f) != 0;
}

bool apic_peer_match(const struct apic_peer *p, const struct apic_msg *m)
{
    if (!p->hw_enabled)
        return false;
    switch (m->shorthand) {
    case APIC_SH_SELF:     return p->id == m->source;
    case APIC_SH_ALL_INCL: return true;
    case APIC_SH_ALL_EXCL: return p->id != m->source;
    default: break;
    }
    if (!m->logical)
        return m->dest == 0xff || m->dest == p->id;
    return logical_match(p->ldr, p->dfr, m->dest);
}

void apic_peer_state(const struct apic *a, struct apic_peer *p)
{
    p->id = a->id;
    p->ldr = a->ldr;
    p->dfr = a->dfr;
    p->tpr = (uint8_t)a->tpr;
    p->hw_enabled = apic_hw_enabled(a);
    p->sw_enabled = apic_sw_enabled(a);
}

int apic_route(const struct apic_msg *m, const struct apic_peer *peers, int n,
               int prefer, bool *hit)
{
    int count = 0, best = -1;
    for (int i = 0; i < n; i++) {
        hit[i] = apic_peer_match(&peers[i], m);
        if (!hit[i])
            continue;
        count++;
        if (m->mode != APIC_DM_LOWEST || !peers[i].sw_enabled)
            continue;
        if (best < 0 || (peers[i].tpr & 0xf0) < (peers[best].tpr & 0xf0) ||
            ((peers[i].tpr & 0xf0) == (peers[best].tpr & 0xf0) && i == prefer))
            best = i;
    }
    if (m->mode != APIC_DM_LOWEST || count == 0)
        return count;
    for (int i = 0; i < n; i++)
        hit[i] = i == best;
    return best >= 0 ? 1 : 0;
}

bool apic_receive(struct apic *a, const struct apic_msg *m)
{
    struct apic_peer self;
    apic_peer_state(a, &self);
    if (!apic_peer_match(&self, m))
        return false;
    apic_deliver(a, m->mode, m->vector, m->trigger_level);
    return true;
}

/* An ICR low write: send the IPI it describes. */
static void send_ipi(struct apic *a)
{
    struct apic_msg m = {
        .vector = (uint8_t)a->icr_lo,
        .mode = (uint8_t)((a->icr_lo >> 8) & 7),
        .shorthand = (uint8_t)((a->icr_lo >> 18) & 3),
        .dest = (uint8_t)(a->icr_hi >> 24),
        .logical = (a->icr_lo & APIC_ICR_LOGICAL) != 0,
        .trigger_level = (a->icr_lo & APIC_ICR_LEVEL) != 0,
        .source = a->id,
    };
    switch (m.mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (m.vector < 16) {
            apic_error(a, APIC_ESR_SEND_ILLEGAL);
            return;
        }
        break;
    case APIC_DM_INIT:
        /* INIT level de-assert only synchronises arbitration IDs. */
        if (m.trigger_level && !(a->icr_lo & APIC_ICR_ASSERT))
            return;
        m.trigger_level = false;
        break;
    case APIC_DM_NMI:
    case APIC_DM_STARTUP:
        m.trigger_level = false;
        break;
    default:                    /* SMI: ignored; 3 and 7 (ExtINT) are reserved */
        return;
    }
    if (m.shorthand == APIC_SH_SELF) {
        apic_deliver(a, m.mode, m.vector, m.trigger_level);
        return;
    }
    if (a->ops.send)
        a->ops.send(a->ctx, &m);
    else
        apic_receive(a, &m);    /* alone: only this APIC exists */
}

/* ---- register file ---- */

static int lvt_slot(uint32_t offset)
{
    switch (offset) {
    case APIC_REG_LVT_TIMER: return APIC_LVT_TIMER;
    case APIC_REG_LVT_PERF:  return APIC_LVT_PERF;
    case APIC_REG_LVT_LINT0: return APIC_LVT_LINT0;
    case APIC_REG_LVT_LINT1: return APIC_LVT_LINT1;
    case APIC_REG_LVT_ERROR: return APIC_LVT_ERROR;
    default: return -1;
    }
}

uint32_t apic_read(struct apic *a, uint32_t offset)
{
    offset &= 0xff0;
    if (offset >= APIC_REG_ISR && offset < APIC_REG_ISR + 0x80)
        return a->isr[(offset - APIC_REG_ISR) >> 4];
    if (offset >= APIC_REG_TMR && offset < APIC_REG_TMR + 0x80)
        return a->tmr[(offset - APIC_REG_TMR) >> 4];
    if (offset >= APIC_REG_IRR && offset < APIC_REG_IRR + 0x80)
        return a->irr[(offset - APIC_REG_IRR) >> 4];
    int slot = lvt_slot(offset);
    if (slot >= 0)
        return a->lvt[slot];
    switch (offset) {
    case APIC_REG_ID:      return (uint32_t)a->id << 24;
    case APIC_REG_VERSION: return APIC_VERSION | (APIC_MAX_LVT << 16);
    case APIC_REG_TPR:     return a->tpr;
    case APIC_REG_APR:     return apic_apr(a);
    case APIC_REG_PPR:     return apic_ppr(a);
    case APIC_REG_EOI:     return 0;
    case APIC_REG_RRD:     return 0;
    case APIC_REG_LDR:     return a->ldr;
    case APIC_REG_DFR:     return a->dfr;
    case APIC_REG_SVR:     return a->svr;
    case APIC_REG_ESR:     return a->esr;
    case APIC_REG_ICR_LO:  return a->icr_lo;
    case APIC_REG_ICR_HI:  return a->icr_hi;
    case APIC_REG_TIMER_INIT: return a->timer_init;
    case APIC_REG_TIMER_CUR:  return timer_deadline_mode(a) ? 0 : timer_current(a, now(a));
    case APIC_REG_TIMER_DIV:  return a->timer_dcr;
    default:
        apic_error(a, APIC_ESR_ILLEGAL_REG);
        return 0;
    }
}

static void write_lvt(struct apic *a, int slot, uint32_t value)
{
    if (slot == APIC_LVT_TIMER) {
        timer_rebase(a);        /* a mode change applies from now */
        if ((value ^ a->lvt[slot]) & APIC_LVT_TSC_DEADLINE) {
            /* Into or out of TSC-deadline mode: the timer is disarmed
             * (SDM 10.5.4.1), whichever kind it was. */
            a->timer_running = false;
            a->timer_init = 0;
            a->timer_count0 = 0;
            a->timer_fired = 0;
            a->tsc_deadline = 0;
        }
    }
    uint32_t v = (value & lvt_mask[slot]) | (a->lvt[slot] & APIC_LVT_REMOTE_IRR);
    if (!apic_sw_enabled(a))
        v |= APIC_LVT_MASKED;
    if ((slot == APIC_LVT_LINT0 || slot == APIC_LVT_LINT1) && !(v & APIC_LVT_LEVEL))
        v &= ~APIC_LVT_REMOTE_IRR;
    a->lvt[slot] = v;
    if (slot == APIC_LVT_LINT0 || slot == APIC_LVT_LINT1) {
        int pin = slot - APIC_LVT_LINT0;
        /* An unmasked level-triggered fixed pin that is already asserted. */
        if (a->lint[pin] && !(v & APIC_LVT_MASKED) && ((v >> 8) & 7) == APIC_DM_FIXED &&
            (v & APIC_LVT_LEVEL))
            lint_fire(a, slot);
    }
    update_output(a);
}

void apic_write(struct apic *a, uint32_t offset, uint32_t value)
{
    offset &= 0xff0;
    int slot = lvt_slot(offset);
    if (slot >= 0) {
        write_lvt(a, slot, value);
        return;
    }
    switch (offset) {
    case APIC_REG_ID:
        a->id = (uint8_t)(value >> 24);
        notify_changed(a);
        break;
    case APIC_REG_TPR:
        a->tpr = value & 0xff;
        update_output(a);
        break;
    case APIC_REG_EOI:
        do_eoi(a);
        break;
    case APIC_REG_LDR:
        a->ldr = value & 0xff000000u;
        notify_changed(a);
        break;
    case APIC_REG_DFR:
        a->dfr = (value & 0xf0000000u) | 0x0fffffffu;
        notify_changed(a);
        break;
    case APIC_REG_SVR:
        a->svr = value & 0x3ffu;            /* vector, enable, focus check */
        if (!apic_sw_enabled(a))
            for (int i = 0; i < APIC_NLVT; i++)
                a->lvt[i] |= APIC_LVT_MASKED;
        update_output(a);
        notify_changed(a);
        break;
    case APIC_REG_ESR:
        a->esr = a->esr_pending;
        a->esr_pending = 0;
        break;
    case APIC_REG_ICR_LO:
        a->icr_lo = value & ICR_LO_MASK;
        send_ipi(a);
        break;
    case APIC_REG_ICR_HI:
        a->icr_hi = value & 0xff000000u;
        break;
    case APIC_REG_TIMER_INIT:
        timer_start(a, value);
        break;
    case APIC_REG_TIMER_DIV:
        timer_rebase(a);
        a->timer_dcr = value & 0xbu;
        break;
    case APIC_REG_VERSION: case APIC_REG_APR: case APIC_REG_PPR: case APIC_REG_RRD:
    case APIC_REG_TIMER_CUR:
        break;                              /* read-only */
    default:
        if ((offset >= APIC_REG_ISR && offset < APIC_REG_IRR + 0x80))
            break;                          /* ISR/TMR/IRR: read-only */
        apic_error(a, APIC_ESR_ILLEGAL_REG);
        break;
    }
}

uint32_t apic_mmio_read(void *opaque, uint32_t offset, int size)
{
    struct apic *a = opaque;
    uint32_t all = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    if (!apic_hw_enabled(a))
        return all;                         /* not decoded: the bus floats */
    uint32_t sub = offset & 0xf;
    if (sub + (uint32_t)size > 4)
        return 0;
    return (apic_read(a, offset & 0xff0) >> (8 * sub)) & all;
}

void apic_mmio_write(void *opaque, uint32_t offset, int size, uint32_t value)
{
    struct apic *a = opaque;
    if (!apic_hw_enabled(a))
        return;
    uint32_t sub = offset & 0xf;
    if (sub + (uint32_t)size > 4)
        return;
    if (size < 4) {
        /* A narrow write merges into the register (read side effects
         * are harmless for the registers that have any). */
        uint32_t mask = ((1u << (8 * size)) - 1) << (8 * sub);
        uint32_t old = apic_read(a, offset & 0xff0);
        value = (old & ~mask) | ((value << (8 * sub)) & mask);
    }
    apic_write(a, offset & 0xff0, value);
}

/* ---- INIT and STARTUP on the CPU ---- */

void cpu_apic_init(struct cpu *cpu)
{
    uint64_t apic_base = cpu->apic_base, tsc_offset = cpu->tsc_offset, pat = cpu->pat;
    uint32_t cs = cpu->sysenter_cs, esp = cpu->sysenter_esp, eip = cpu->sysenter_eip;
    uint32_t cache = cpu->cr0 & (CR0_CD | CR0_NW);
    struct fpu fpu = cpu->fpu;
    cpu_reset(cpu);
    cpu->apic_base = apic_base;
    cpu->tsc_offset = tsc_offset;
    cpu->pat = pat;
    cpu->sysenter_cs = cs;
    cpu->sysenter_esp = esp;
    cpu->sysenter_eip = eip;
    cpu->cr0 = (cpu->cr0 & ~(CR0_CD | CR0_NW)) | cache;
    cpu->fpu = fpu;
    cpu->wait_sipi = !(apic_base & APIC_BASE_BSP);
    cpu->halted = false;
    /* From inside cpu_run() (a self-INIT by an MMIO store): stop the
     * block and leave the run loop, interpreted or translated. */
    cpu->end_block = 1;
    cpu->exit_request = 1;
}

bool cpu_sipi(struct cpu *cpu, uint8_t vector)
{
    if (!cpu->wait_sipi)
        return false;
    struct segment *cs = &cpu->seg[S_CS];
    cs->sel = (uint16_t)(vector << 8);
    cs->base = (uint32_t)vector << 12;
    cs->limit = 0xffff;
    cs->ar = 0x9b;
    seg_refresh_fast(cs);
    cpu->eip = 0;
    cpu->wait_sipi = false;
    cpu->halted = false;
    cpu_update_mode(cpu);
    cpu->end_block = 1;
    return true;
}
