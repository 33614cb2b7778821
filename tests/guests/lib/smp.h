/* smp.h - multiprocessor support for the test guests: finding the CPUs
 * (the ACPI MADT, else the Intel MP table, else counting the APs that
 * answer a broadcast INIT-SIPI-SIPI), the local APIC (xAPIC MMIO at 0xFEE00000),
 * IPIs, starting every AP through a real-mode trampoline at SMP_TRAMP
 * (smp_tramp.asm), a PIT-based time base for bounded waits on the BSP,
 * and running a function on every CPU at once (smp_run_all).
 *
 * Model: the BSP is CPU 0 and the only CPU that prints or reads the PIT;
 * APs sit in a PAUSE loop waiting for work. CPU numbers are 0..ncpus-1 in
 * start order (the firmware table's order), independent of timing. */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include "guest.h"

#define SMP_MAX_CPUS   16
#define SMP_TRAMP      0x8000u          /* trampoline page; SIPI vector 0x08 */
#define SMP_AP_STACK   16384u

/* ---- local APIC ---- */
#define LAPIC_BASE     0xfee00000u
enum {
    LAPIC_ID = 0x020, LAPIC_VER = 0x030, LAPIC_TPR = 0x080, LAPIC_EOI = 0x0b0,
    LAPIC_LDR = 0x0d0, LAPIC_DFR = 0x0e0, LAPIC_SVR = 0x0f0, LAPIC_ISR = 0x100,
    LAPIC_IRR = 0x200, LAPIC_ESR = 0x280, LAPIC_ICR_LO = 0x300, LAPIC_ICR_HI = 0x310,
    LAPIC_LVT_TIMER = 0x320, LAPIC_LVT_LINT0 = 0x350, LAPIC_LVT_LINT1 = 0x360,
    LAPIC_LVT_ERROR = 0x370, LAPIC_TIMER_INIT = 0x380, LAPIC_TIMER_CUR = 0x390,
    LAPIC_TIMER_DIV = 0x3e0,
};
#define LVT_MASKED     0x00010000u
#define LVT_PERIODIC   0x00020000u
#define ICR_FIXED      0x00000000u
#define ICR_LOWEST     0x00000100u
#define ICR_NMI        0x00000400u
#define ICR_INIT       0x00000500u
#define ICR_STARTUP    0x00000600u
#define ICR_LOGICAL    0x00000800u
#define ICR_BUSY       0x00001000u
#define ICR_ASSERT     0x00004000u
#define ICR_LEVEL      0x00008000u
#define ICR_SELF       0x00040000u
#define ICR_ALL_INCL   0x00080000u
#define ICR_ALL_EXCL   0x000c0000u
#define SPURIOUS_VEC   0xff

static inline uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)(LAPIC_BASE + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(LAPIC_BASE + reg) = v; }
static inline uint32_t lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void serialize(void) { uint32_t r[4]; cpuid(0, r); }

void lapic_enable(void);                 /* SVR: enabled, spurious vector 0xff; TPR 0 */
/* Send an IPI (ICR low word `lo`) to APIC ID `dest`; interrupts are off
 * while the ICR is written, so a handler may send IPIs too. Returns 0, or
 * -1 if the delivery status stayed busy. */
int lapic_ipi(uint8_t dest, uint32_t lo);
static inline void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }

/* ---- time base (BSP only): PIT counter 0, mode 2, polled ---- */
#define TB_HZ       PIT_HZ
#define TB_MS(ms)   ((uint32_t)(ms) * 1193u)
void tb_init(void);
uint32_t tb_now(void);                   /* PIT ticks since tb_init (1.193 MHz) */
void tb_delay(uint32_t ticks);

/* ---- CPUs ---- */
struct smp {
    int ncpus;
    const char *source;                  /* "acpi madt", "mp table", "broadcast" */
    uint8_t apic_id[SMP_MAX_CPUS];       /* by CPU number; [0] is the BSP */
};
extern struct smp smp;
extern volatile int smp_failed;          /* set by any CPU on a failed check */

/* smp_init: BSP only, after guest_init (mbi: the Multiboot information,
 * to check that the trampoline page is free RAM): finds the CPUs, enables
 * the local APIC, starts every AP; fails (prints FAIL, exits) when an AP
 * does not come up within the time limit. */
void smp_init(uint32_t mbi);
int smp_cpu(void);                       /* this CPU's number */

/* Run fn(cpu) on every CPU at once (the BSP included, as CPU 0); returns
 * 0 when all returned within timeout_ticks, else -1 (the stragglers keep
 * running; their numbers are in smp_pending_mask()). */
typedef void (*smp_fn)(int cpu);
int smp_run_all(smp_fn fn, uint32_t timeout_ticks);
/* smp_run_all_timed: smp_run_all, and *us gets the run's wall time in
 * microseconds from the TSC, calibrated once against the PIT (20 ms). For
 * the benchmark guests: the time of the parallel section alone, without
 * AP start-up (one INIT-SIPI-SIPI and 10 ms per AP) or printing. */
int smp_run_all_timed(smp_fn fn, uint32_t timeout_ticks, uint32_t *us);
/* TSC ticks per millisecond as calibrated by smp_run_all_timed (1 before). */
uint64_t smp_tsc_per_ms(void);
uint32_t smp_pending_mask(void);

/* Inside smp_run_all: nonzero when this run must end (the BSP's time
 * limit passed; on the BSP this also sets the abort flag for the APs).
 * Every wait loop of a test function calls it. */
int smp_stop(int cpu);
/* A barrier for all CPUs inside smp_run_all; -1 when smp_stop said so. */
int smp_barrier(int cpu);

#endif
