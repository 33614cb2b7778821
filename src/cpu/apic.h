/* apic.h - the local APIC of one virtual CPU (xAPIC, version 0x14, as the
 * Intel SDM vol. 3 ch. 10 describes it), MPI-free.
 *
 * Every rank has one, with APIC ID = rank. It models the MMIO register
 * file (default base 0xFEE00000, relocatable through IA32_APIC_BASE),
 * ID/version, TPR/APR/PPR, EOI, LDR/DFR (flat and cluster logical models),
 * SVR (software enable, spurious vector), the 256-bit IRR/ISR/TMR, ESR,
 * ICR and the local vector table (timer, performance counter, LINT0,
 * LINT1, error), and the timer (one-shot, periodic; divide 1..128)
 * running from a nanosecond clock the owner supplies, and TSC-deadline
 * mode (LVT timer bits 18:17 = 10b, IA32_TSC_DEADLINE): the CPU's TSC is
 * that clock plus an offset the CPU gives (apic_set_tsc_offset), one tick
 * per nanosecond (src/vclock.h).
 *
 * Everything outside the APIC is reached through struct apic_ops:
 *   - `send` gets every IPI written to the ICR except the self shorthand
 *     (which is delivered locally): the owner resolves the destinations
 *     (apic_route() with a table of every APIC's addressing state) and
 *     calls apic_deliver() on each target, its own APIC included;
 *   - `intr_out` is the CPU's INTR line. The APIC is also the interrupt
 *     mux: the 8259's INTR output goes into LINT0 (apic_set_lint()), and
 *     in ExtINT mode (the virtual-wire state the BSP starts in) it passes
 *     through; the CPU's INTA cycle is apic_intr_ack(), which calls
 *     `extint_ack` (the 8259's INTA) for an ExtINT request and otherwise
 *     moves the highest deliverable IRR vector to the ISR;
 *   - `nmi`, `init`, `sipi` act on the CPU (cpu_apic_init() and cpu_sipi()
 *     below implement the last two on a struct cpu);
 *   - `eoi` is the EOI broadcast of a level-triggered vector (to the
 *     IOAPIC on rank 0);
 *   - `changed` reports a change of what other APICs need to route to
 *     this one (ID, LDR, DFR, enables) so the owner can update its table.
 * Any op may be NULL. Delivery status (ICR/LVT bit 12) always reads 0:
 * messages are handed over at once. */
#ifndef VSMP_APIC_H
#define VSMP_APIC_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/phys.h"

struct cpu;

#define APIC_DEFAULT_BASE    0xfee00000u
#define APIC_MMIO_SIZE       0x1000u
#define APIC_VERSION         0x14u        /* integrated xAPIC (>= 0x14: 8-bit IDs) */
#define APIC_MAX_LVT         4u           /* timer, perf, LINT0, LINT1, error */
#define APIC_DEFAULT_BUS_HZ  1000000000ull /* timer input clock before the divider */

/* IA32_APIC_BASE (MSR 0x1B) */
#define APIC_BASE_BSP        0x100u
#define APIC_BASE_ENABLE     0x800u
#define APIC_BASE_ADDR_MASK  0xfffff000u

/* Register offsets in the MMIO page. */
enum {
    APIC_REG_ID = 0x020, APIC_REG_VERSION = 0x030, APIC_REG_TPR = 0x080,
    APIC_REG_APR = 0x090, APIC_REG_PPR = 0x0a0, APIC_REG_EOI = 0x0b0,
    APIC_REG_RRD = 0x0c0, APIC_REG_LDR = 0x0d0, APIC_REG_DFR = 0x0e0,
    APIC_REG_SVR = 0x0f0, APIC_REG_ISR = 0x100, APIC_REG_TMR = 0x180,
    APIC_REG_IRR = 0x200, APIC_REG_ESR = 0x280, APIC_REG_ICR_LO = 0x300,
    APIC_REG_ICR_HI = 0x310, APIC_REG_LVT_TIMER = 0x320,
    APIC_REG_LVT_THERMAL = 0x330, APIC_REG_LVT_PERF = 0x340,
    APIC_REG_LVT_LINT0 = 0x350, APIC_REG_LVT_LINT1 = 0x360,
    APIC_REG_LVT_ERROR = 0x370, APIC_REG_TIMER_INIT = 0x380,
    APIC_REG_TIMER_CUR = 0x390, APIC_REG_TIMER_DIV = 0x3e0,
};

/* Delivery modes: the same encoding in the ICR, the LVT and the IOAPIC's
 * redirection entries. */
enum {
    APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4,
    APIC_DM_INIT = 5, APIC_DM_STARTUP = 6, APIC_DM_EXTINT = 7,
};

/* ICR destination shorthands (bits 18-19). */
enum { APIC_SH_NONE = 0, APIC_SH_SELF = 1, APIC_SH_ALL_INCL = 2, APIC_SH_ALL_EXCL = 3 };

/* ICR and LVT bits */
#define APIC_ICR_LOGICAL       0x00000800u
#define APIC_ICR_BUSY          0x00001000u
#define APIC_ICR_ASSERT        0x00004000u
#define APIC_ICR_LEVEL         0x00008000u
#define APIC_LVT_REMOTE_IRR    0x00004000u
#define APIC_LVT_LEVEL         0x00008000u
#define APIC_LVT_MASKED        0x00010000u
#define APIC_LVT_PERIODIC      0x00020000u
#define APIC_LVT_TSC_DEADLINE  0x00040000u
#define APIC_LVT_TIMER_MODE    0x00060000u   /* 00 one-shot, 01 periodic, 10 deadline */
#define APIC_SVR_ENABLE        0x00000100u
#define APIC_DFR_FLAT          0xffffffffu
#define APIC_DFR_CLUSTER       0x0fffffffu

/* ESR bits */
#define APIC_ESR_SEND_ILLEGAL  0x20u
#define APIC_ESR_RECV_ILLEGAL  0x40u
#define APIC_ESR_ILLEGAL_REG   0x80u

/* LVT slots */
enum { APIC_LVT_TIMER, APIC_LVT_PERF, APIC_LVT_LINT0, APIC_LVT_LINT1, APIC_LVT_ERROR,
       APIC_NLVT };

/* One interrupt message on the (virtual) APIC bus: an IPI from an ICR
 * write, or an IOAPIC redirection (shorthand NONE, source = the IOAPIC's
 * rank's APIC ID). */
struct apic_msg {
    uint8_t vector;
    uint8_t mode;          /* APIC_DM_* */
    uint8_t shorthand;     /* APIC_SH_* */
    uint8_t dest;          /* ICR bits 56-63 / redirection entry bits 56-63 */
    bool logical;          /* destination mode */
    bool trigger_level;    /* level-triggered: sets TMR, EOI is broadcast */
    uint8_t source;        /* APIC ID of the sender (for the shorthands) */
};

/* What a router needs to know about one APIC to resolve destinations. */
struct apic_peer {
    uint8_t id;
    uint32_t ldr, dfr;
    uint8_t tpr;           /* lowest-priority arbitration (may be stale) */
    bool hw_enabled;       /* IA32_APIC_BASE.EN */
    bool sw_enabled;       /* SVR bit 8 */
};

struct apic;

struct apic_ops {
    uint64_t (*now_ns)(void *ctx);                      /* monotonic clock */
    void (*intr_out)(void *ctx, int level);             /* CPU INTR line */
    int (*extint_ack)(void *ctx);                       /* 8259 INTA: vector */
    void (*send)(void *ctx, const struct apic_msg *m);  /* outgoing IPI */
    void (*eoi)(void *ctx, uint8_t vector);             /* level EOI broadcast */
    void (*nmi)(void *ctx);
    void (*init)(void *ctx);                            /* INIT: see cpu_apic_init */
    void (*sipi)(void *ctx, uint8_t vector);            /* STARTUP: see cpu_sipi */
    void (*changed)(void *ctx, const struct apic *a);   /* peer state changed */
};

struct apic {
    /* ---- registers ---- */
    uint8_t id;
    uint64_t base_msr;         /* IA32_APIC_BASE */
    uint32_t tpr, ldr, dfr, svr;
    uint32_t esr;              /* as read (latched by the last ESR write) */
    uint32_t esr_pending;      /* errors since the last ESR write */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[APIC_NLVT];
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t timer_init, timer_dcr;
    /* ---- timer state: the count was `count0` at host time `t0`;
     * `fired` expirations since then were signalled ---- */
    bool timer_running;
    uint64_t timer_t0;
    uint32_t timer_count0;
    uint64_t timer_fired;
    uint64_t bus_hz;
    /* ---- TSC-deadline mode: IA32_TSC_DEADLINE (0: disarmed) and the
     * CPU's TSC minus the clock ---- */
    uint64_t tsc_deadline;
    uint64_t tsc_offset;
    /* ---- inputs and output ---- */
    int lint[2];               /* LINT0/LINT1 levels */
    bool extint_msg;           /* ExtINT message (IOAPIC) awaiting INTA */
    int out;                   /* last level given to intr_out */
    /* ---- attachments ---- */
    struct apic_ops ops;
    void *ctx;
    struct phys *phys;         /* where apic_map() put the window */
    int mmio_index;
};

/* Power-on state with APIC ID `id`. `bsp` sets IA32_APIC_BASE.BSP and
 * leaves LINT0 in ExtINT mode unmasked (the virtual-wire state a PC BIOS
 * leaves the boot processor in), so the 8259 reaches the CPU before the
 * guest programs the APIC. */
void apic_init(struct apic *a, uint8_t id, bool bsp, const struct apic_ops *ops, void *ctx);
/* Registers to the power-up/INIT state; keeps the ID and IA32_APIC_BASE. */
void apic_reset(struct apic *a);

struct snapw;
struct snapr;
/* The APIC in a memory image: section "APIC" (apic_snap.c). The timer
 * fields stay in the now_ns clock (the machine's virtual clock). The load
 * checks every value and leaves the APIC alone when it refuses; on success
 * it keeps the attachments (ops, ctx, the window's phys), moves the window
 * where the image has it and tells ops.intr_out the INTR level. It does
 * not call ops.changed: the owner re-announces the addressing state. */
void apic_save(const struct apic *a, struct snapw *w);
bool apic_load(struct apic *a, struct snapr *r);

/* Map the register page at the IA32_APIC_BASE address into phys. */
int apic_map(struct apic *a, struct phys *phys);
/* IA32_APIC_BASE (RDMSR/WRMSR). Clearing EN resets the APIC and makes it
 * transparent (LINT0 is then INTR, LINT1 NMI). A new base moves the
 * window mapped by apic_map() when both the old and the new base lie
 * above RAM. */
uint64_t apic_get_base(const struct apic *a);
void apic_set_base(struct apic *a, uint64_t value);

/* 32-bit register access at `offset` (0x000-0xff0, 16-byte aligned). */
uint32_t apic_read(struct apic *a, uint32_t offset);
void apic_write(struct apic *a, uint32_t offset, uint32_t value);
/* phys MMIO callbacks (ctx = struct apic *). */
uint32_t apic_mmio_read(void *apic, uint32_t offset, int size);
void apic_mmio_write(void *apic, uint32_t offset, int size, uint32_t value);

/* Accept a message already routed to this APIC (mode APIC_DM_*). */
void apic_deliver(struct apic *a, int mode, uint8_t vector, bool trigger_level);
/* Accept `m` if this APIC is among its destinations (routers that
 * broadcast to every rank and let receivers filter). Lowest priority is
 * then treated as fixed. Returns whether it was accepted. */
bool apic_receive(struct apic *a, const struct apic_msg *m);

/* Level of local interrupt pin 0 or 1. */
void apic_set_lint(struct apic *a, int pin, int level);

/* INTR output, and the INTA cycle: the vector to deliver (the spurious
 * vector when the request went away). */
bool apic_intr(const struct apic *a);
int apic_intr_ack(struct apic *a);

/* Timer: signal expirations up to now; host time of the next one (or
 * UINT64_MAX). */
void apic_poll(struct apic *a);
uint64_t apic_next_event_ns(const struct apic *a);

/* TSC-deadline mode. IA32_TSC_DEADLINE reads the armed deadline (0 once
 * it fired, or outside TSC-deadline mode); a write outside that mode is
 * ignored, 0 disarms, any other value arms the timer: it fires when the
 * TSC reaches it (at once when it already has), then reads 0. The TSC is
 * the clock plus `offset` (set by the CPU whenever it changes). */
uint64_t apic_get_tsc_deadline(const struct apic *a);
void apic_set_tsc_deadline(struct apic *a, uint64_t tsc);
void apic_set_tsc_offset(struct apic *a, uint64_t offset);

/* Derived registers, for tests and the router. */
uint8_t apic_ppr(const struct apic *a);
uint8_t apic_apr(const struct apic *a);
bool apic_hw_enabled(const struct apic *a);
bool apic_sw_enabled(const struct apic *a);
void apic_peer_state(const struct apic *a, struct apic_peer *p);

/* Does the APIC described by `p` belong to m's destination set (ignoring
 * the lowest-priority choice)? */
bool apic_peer_match(const struct apic_peer *p, const struct apic_msg *m);
/* Resolve m against n peers: hit[i] = deliver to peers[i]. Lowest
 * priority picks one enabled match with the lowest TPR, preferring index
 * `prefer` (e.g. the local rank: no message needed) on a tie, then the
 * lowest index. Returns the number of hits. */
int apic_route(const struct apic_msg *m, const struct apic_peer *peers, int n,
               int prefer, bool *hit);

/* ---- the effect of INIT and STARTUP on a CPU ---- */
/* INIT: the CPU goes to its INIT state (as RESET, but IA32_APIC_BASE, the
 * TSC offset, the x87 state and the SYSENTER/PAT MSRs are kept); an
 * application processor then waits for STARTUP (cpu->wait_sipi), the
 * BSP (IA32_APIC_BASE.BSP) starts at the reset vector. */
void cpu_apic_init(struct cpu *cpu);
/* STARTUP with vector V: a CPU waiting for it starts in real mode at
 * CS = V << 8 (base V << 12), IP = 0. Ignored (false) otherwise. */
bool cpu_sipi(struct cpu *cpu, uint8_t vector);

#endif
