/* dsmbench.c - measurement guest for the DSM under vsmp (not a test: its
 * output has timings). Built against the test guests' library
 * (tests/guests/lib) by `make dsmbench` (tests/integration/integration.mk)
 * and run by tests/integration/dsmbench.sh. With N >= 2 CPUs, every
 * phase times K page faults in guest TSC nanoseconds (vsmp's TSC counts
 * nanoseconds of one clock agreed by all ranks):
 *   read-busy   CPU 1 reads K pages that CPU 0 holds writable while CPU 0
 *               runs guest code (an arithmetic loop without PAUSE):
 *               DOWNGRADE + push, served at CPU 0's next poll
 *   read-shared (N >= 3) CPU 2 reads the same pages, now shared: a
 *               lock-free join and a get, no message to anyone
 *   inval-busy  CPU 0 writes them: an upgrade whose INVALIDATE goes to
 *               CPU 1 (and 2), which run guest code
 *   write-busy  CPU 1 writes K other pages that CPU 0 holds writable
 *               while CPU 0 spins: INVALIDATE + push
 *   read-halted CPU 1 reads K pages that CPU 0 holds writable while CPU 0
 *               is halted (woken by an IPI at the end): the target backs
 *               off in its wait loop
 *   write-gap   CPU 1 writes K pages that CPU 0 holds writable, 50 us of
 *               guest time apart, while CPU 0 runs guest code: isolated
 *               INVALIDATEs (the phases above send them back to back)
 * and two baselines without any DSM fault, to separate the DSM's cost
 * from the software TLB miss that any first touch of a page costs:
 *   local-read  right after read-shared (read-busy with 2 CPUs), the same
 *               CPU flushes its TLB (a CR3 write) and reads the same K
 *               pages again: every access is a TLB miss on a page it
 *               already holds
 *   local-write right after inval-busy, CPU 0 flushes its TLB and writes
 *               the K pages it now holds writable
 * Command line: "pages=K" (default 512, at most 16384), "gap=US" (write-
 * gap's spacing, default 50 us; at most 4294967 us). The three regions
 * of K pages each start at 8 MiB, so guest RAM must be at least
 * 8 MiB + 3 x K x 4 KiB (dsmbench.sh sizes it). */
#include "../../guests/lib/smp.h"

#define REGION(i) (0x800000u + (uint32_t)(i) * K * 4096u)  /* 3 x K pages from 8M */
#define MAX_PAGES 16384u
#define PAGE __attribute__((aligned(4096)))
#define WAKE_VEC 0x40

static volatile uint32_t done PAGE;
static volatile uint64_t elapsed[4] PAGE;
static uint32_t K = 512;
static uint32_t GAP_NS = 50000;   /* write-gap: guest time between faults */

static void wake_isr(struct frame *f)
{
    (void)f;
    lapic_eoi();
}

static uint32_t touch(uint32_t base, int write)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < K; i++) {
        volatile uint32_t *p = (volatile uint32_t *)(base + i * 4096u);
        if (write)
            *p = i;
        else
            sum += *p;
    }
    return sum;
}

/* The busy targets run guest code that never hints that it waits: no
 * PAUSE (which would end vsmp's slice at once, see docs/smp.md), an
 * arithmetic loop that looks at `done` now and then, so that a request
 * waits for the rank's time quantum, the worst case. */
static void spin_until_done(void)
{
    volatile uint32_t x = 1;
    while (!done)
        for (int i = 0; i < 64; i++)
            x = x * 1664525u + 1013904223u;
}

/* One timed phase: CPU `toucher` touches K pages of `region` (reading or
 * writing) while the CPUs 0..spin_max other than it run guest code. */
static void timed_touch(int me, int toucher, int region, int write, int spin_max)
{
    if (me == toucher) {
        uint64_t t0 = rdtsc();
        touch(REGION(region), write);
        elapsed[0] = rdtsc() - t0;
        done = 1;
    } else if (me <= spin_max) {
        spin_until_done();
    }
}

/* Baseline: CPU `toucher` drops its whole software TLB (CR3 write, also
 * with paging off) and touches K pages it already holds: TLB misses
 * only, no DSM fault. */
static void local_touch(int me, int toucher, int region, int write)
{
    if (me == toucher) {
        write_cr3(read_cr3());
        uint64_t t0 = rdtsc();
        touch(REGION(region), write);
        elapsed[0] = rdtsc() - t0;
        done = 1;
    }
}

static void p_read_busy(int me) { timed_touch(me, 1, 0, 0, 0); }
static void p_local_read(int me) { local_touch(me, smp.ncpus >= 3 ? 2 : 1, 0, 0); }
static void p_local_write(int me) { local_touch(me, 0, 0, 1); }
static void p_read_shared(int me) { timed_touch(me, 2, 0, 0, 0); }
static void p_inval_busy(int me) { timed_touch(me, 0, 0, 1, 2); }
static void p_write_busy(int me) { timed_touch(me, 1, 1, 1, 0); }

/* write-gap: CPU 1 writes the pages of region 0 (CPU 0 holds them
 * writable) one at a time with 50 us ("gap=US" on the command line) of
 * guest computation between two faults, while CPU 0 runs guest code: each
 * INVALIDATE reaches CPU 0 at a random point of its time quantum, as an
 * isolated request does (in the other phases requests follow each other
 * closely). Only the faulting accesses are timed. */
static void p_write_gap(int me)
{
    if (me == 1) {
        uint64_t sum = 0;
        for (uint32_t i = 0; i < K; i++) {
            volatile uint32_t *p = (volatile uint32_t *)(REGION(0) + i * 4096u);
            uint64_t t0 = rdtsc();
            *p = i + 1;
            sum += rdtsc() - t0;
            while (rdtsc() - t0 < GAP_NS)
                ;
        }
        elapsed[0] = sum;
        done = 1;
    } else if (me == 0) {
        spin_until_done();
    }
}

static void p_read_halted(int me)
{
    if (me == 1) {
        uint64_t t0 = rdtsc();
        touch(REGION(2), 0);
        elapsed[0] = rdtsc() - t0;
        done = 1;
        lapic_ipi(smp.apic_id[0], ICR_FIXED | WAKE_VEC);
    } else if (me == 0) {
        while (!done) {
            __asm__ volatile("sti; hlt; cli" ::: "memory");
        }
    }
}

static void phase(const char *name, smp_fn fn)
{
    done = 0;
    elapsed[0] = 0;
    if (smp_run_all(fn, TB_MS(120000)))
        fail(0x20, "%s: timeout", name);
    uint64_t ns = elapsed[0];
    printf("dsmbench: %-11s %u faults, %u ns per fault\n", name, K, (uint32_t)(ns / K));
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    const char *cmd = mb_cmdline(mbi);
    for (const char *p = cmd; *p; p++)
        if ((p == cmd || p[-1] == ' ') && !memcmp(p, "pages=", 6)) {
            K = 0;
            for (p += 6; *p >= '0' && *p <= '9'; p++)
                K = K * 10 + (uint32_t)(*p - '0');
            break;
        }
    if (K == 0 || K > MAX_PAGES)
        K = 512;
    uint32_t gap_us = mb_cmdline_uint(mbi, "gap=", 50);
    GAP_NS = (gap_us ? gap_us : 50) * 1000u;
    pic_remap(0x20, 0x28);
    idt_set(WAKE_VEC, wake_isr, 0, 0);
    smp_init(mbi);
    printf("dsmbench: %d cpus\n", smp.ncpus);
    if (smp.ncpus < 2) {
        printf("dsmbench: needs 2 or more cpus\n");
        guest_exit(0);
    }
    phase("read-busy", p_read_busy);
    if (smp.ncpus >= 3)
        phase("read-shared", p_read_shared);
    phase("local-read", p_local_read);
    phase("inval-busy", p_inval_busy);
    phase("local-write", p_local_write);
    phase("write-busy", p_write_busy);
    phase("read-halted", p_read_halted);
    phase("write-gap", p_write_gap);
    guest_exit(0);
}
