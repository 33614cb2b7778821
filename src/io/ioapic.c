/* ioapic.c - the 82093AA I/O APIC (see ioapic.h): IOREGSEL/IOWIN,
 * ID/version/arbitration registers, the 24-entry redirection table, edge
 * and level (remote IRR) input handling, and the EOI broadcast. Facts
 * from the Intel 82093AA I/O APIC datasheet. */
#include "io/ioapic.h"

#include <string.h>

/* Writable bits of a redirection entry (delivery status and remote IRR
 * are read-only). */
#define RTE_WRITABLE 0xff0000000001afffull

enum { DM_FIXED = 0, DM_LOWEST = 1 };

static int rte_mode(uint64_t rte)
{
    return (int)((rte >> 8) & 7);
}

/* Level semantics apply to fixed and lowest-priority entries only. */
static bool rte_level(uint64_t rte)
{
    return (rte & IOAPIC_RTE_LEVEL) && (rte_mode(rte) == DM_FIXED || rte_mode(rte) == DM_LOWEST);
}

static void send(struct ioapic *io, int pin)
{
    uint64_t rte = io->s.rte[pin];
    bool level = rte_level(rte);
    if (level)
        io->s.rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
    if (io->deliver)
        io->deliver(io->ctx, (uint8_t)(rte >> 56), (rte & IOAPIC_RTE_LOGICAL) != 0,
                    rte_mode(rte), (uint8_t)rte, level);
}

/* A level entry whose line is asserted: send unless masked or in service. */
static void service_level(struct ioapic *io, int pin)
{
    uint64_t rte = io->s.rte[pin];
    if (rte_level(rte) && (io->s.lines >> pin & 1) && !(rte & IOAPIC_RTE_MASKED) &&
        !(rte & IOAPIC_RTE_REMOTE_IRR))
        send(io, pin);
}

void ioapic_reset(struct ioapic *io)
{
    io->s.regsel = 0;
    for (int i = 0; i < IOAPIC_PINS; i++)
        io->s.rte[i] = IOAPIC_RTE_MASKED;
}

void ioapic_init(struct ioapic *io, uint8_t id, ioapic_deliver_fn deliver, void *ctx)
{
    memset(io, 0, sizeof *io);
    io->s.id = id & 0x0f;
    io->deliver = deliver;
    io->ctx = ctx;
    ioapic_reset(io);
}

void ioapic_set_irq(struct ioapic *io, int pin, int level)
{
    if (pin < 0 || pin >= IOAPIC_PINS)
        return;
    uint32_t bit = 1u << pin;
    bool old = (io->s.lines & bit) != 0;
    if (level)
        io->s.lines |= bit;
    else
        io->s.lines &= ~bit;
    uint64_t rte = io->s.rte[pin];
    if (rte_level(rte)) {
        service_level(io, pin);
    } else if (level && !old && !(rte & IOAPIC_RTE_MASKED)) {
        send(io, pin);
    }
}

void ioapic_irq_line(void *opaque, int pin, int level)
{
    ioapic_set_irq(opaque, pin, level);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t rte = io->s.rte[pin];
        if ((rte & IOAPIC_RTE_REMOTE_IRR) && (uint8_t)rte == vector) {
            io->s.rte[pin] &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;
            service_level(io, pin);
        }
    }
}

uint32_t ioapic_read_reg(struct ioapic *io, uint8_t index)
{
    switch (index) {
    case IOAPIC_REG_ID:
    case IOAPIC_REG_ARB:
        return (uint32_t)io->s.id << 24;
    case IOAPIC_REG_VERSION:
        return IOAPIC_VERSION | ((IOAPIC_PINS - 1u) << 16);
    default:
        break;
    }
    if (index >= IOAPIC_REG_REDTBL && index < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
        int n = (index - IOAPIC_REG_REDTBL) >> 1;
        return (index & 1) ? (uint32_t)(io->s.rte[n] >> 32) : (uint32_t)io->s.rte[n];
    }
    return 0;
}

void ioapic_write_reg(struct ioapic *io, uint8_t index, uint32_t value)
{
    if (index == IOAPIC_REG_ID) {
        io->s.id = (uint8_t)((value >> 24) & 0x0f);
        return;
    }
    if (index < IOAPIC_REG_REDTBL || index >= IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS)
        return;                                 /* version, arbitration: read-only */
    int n = (index - IOAPIC_REG_REDTBL) >> 1;
    uint64_t old = io->s.rte[n], v;
    if (index & 1)
        v = (old & 0x00000000ffffffffull) | ((uint64_t)value << 32);
    else
        v = (old & 0xffffffff00000000ull) | value;
    v = (v & RTE_WRITABLE) | (old & IOAPIC_RTE_REMOTE_IRR);
    if (!rte_level(v))
        v &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;  /* an edge entry has none */
    io->s.rte[n] = v;
    service_level(io, n);                       /* e.g. unmasked while asserted */
}

uint32_t ioapic_mmio_read(void *opaque, uint32_t offset, int size)
{
    struct ioapic *io = opaque;
    uint32_t all = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    uint32_t sub = offset & 3;
    uint32_t v;
    switch (offset & ~3u) {
    case IOAPIC_IOREGSEL: v = io->s.regsel; break;
    case IOAPIC_IOWIN:    v = ioapic_read_reg(io, io->s.regsel); break;
    default:              return 0;
    }
    return (v >> (8 * sub)) & all;
}

void ioapic_mmio_write(void *opaque, uint32_t offset, int size, uint32_t value)
{
    struct ioapic *io = opaque;
    uint32_t sub = offset & 3;
    if (sub + (uint32_t)size > 4)
        return;
    switch (offset & ~3u) {
    case IOAPIC_IOREGSEL:
        if (sub == 0)
            io->s.regsel = (uint8_t)value;
        break;
    case IOAPIC_IOWIN:
        if (size < 4) {
            uint32_t mask = ((1u << (8 * size)) - 1) << (8 * sub);
            uint32_t old = ioapic_read_reg(io, io->s.regsel);
            value = (old & ~mask) | ((value << (8 * sub)) & mask);
        }
        ioapic_write_reg(io, io->s.regsel, value);
        break;
    default:
        break;
    }
}

int ioapic_map(struct ioapic *io, struct phys *phys, uint32_t base)
{
    return phys_add_mmio(phys, base, IOAPIC_MMIO_SIZE, io, ioapic_mmio_read, ioapic_mmio_write);
}

/* ---- memory images ---- */

void ioapic_save(const struct ioapic_state *s, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("IOAP"), 1);
    snapw_u8(w, s->id);
    snapw_u8(w, s->regsel);
    for (int i = 0; i < IOAPIC_PINS; i++)
        snapw_u64(w, s->rte[i]);
    snapw_u32(w, s->lines);
    snapw_end(w);
}

bool ioapic_load(struct ioapic_state *s, struct snapr *r)
{
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("IOAP"), 1, &sub, &version))
        return false;
    struct ioapic_state n;
    memset(&n, 0, sizeof n);
    n.id = snapr_u8(&sub);
    n.regsel = snapr_u8(&sub);
    for (int i = 0; i < IOAPIC_PINS; i++)
        n.rte[i] = snapr_u64(&sub);
    n.lines = snapr_u32(&sub);
    if (!sub.bad) {
        if (n.id > 15)
            snapr_fail(&sub, "I/O APIC: ID %u", n.id);
        else if (n.lines >> IOAPIC_PINS)
            snapr_fail(&sub, "I/O APIC: input levels 0x%x beyond pin %d", n.lines,
                       IOAPIC_PINS - 1);
        for (int i = 0; i < IOAPIC_PINS && !sub.bad; i++)
            if (n.rte[i] & ~(RTE_WRITABLE | IOAPIC_RTE_REMOTE_IRR))
                snapr_fail(&sub, "I/O APIC: redirection entry %d is 0x%016llx", i,
                           (unsigned long long)n.rte[i]);
    }
    if (!snapr_done(&sub, r))
        return false;
    *s = n;
    return true;
}

void ioapic_redrive(struct ioapic *io)
{
    for (int pin = 0; pin < IOAPIC_PINS; pin++)
        service_level(io, pin);
}
