/* dsmbench.c - measurement guest for the DSM under vsmp (not a test: its
 * output has timings). Built against the test guests' library
 * (tests/guests/lib) by `make dsmbench` (tests/integration/integration.mk)
 * and run by tests/integration/dsmbench.sh. With N >= 2 CPUs, every
 * phase times K page faults in guest TSC nanoseconds (vsmp's TSC counts
 * nanoseconds of one clock agreed by all ranks):
 *   read-busy   CPU 1 reads K pages that CPU 0 holds writable while CPU 0
 *               runs guest code (a spin loop): DOWNGRADE + push, served
 *               at CPU 0's next poll
 *   read-shared (N >= 3) CPU 2 reads the same pages, now shared: lock,
 *               get, unlock, no message to anyone
 *   inval-busy  CPU 0 writes them: an upgrade whose INVALIDATE goes to
 *               CPU 1 (and 2), which run guest code
 *   write-busy  CPU 1 writes K other pages that CPU 0 holds writable
 *               while CPU 0 spins: INVALIDATE + push
 *   read-halted CPU 1 reads K pages that CPU 0 holds writable while CPU 0
 *               is halted (woken by an IPI at the end): the target backs
 *               off in its wait loop
 * Command line: "pages=K" (default 512). */
#include "../../guests/lib/smp.h"

#define REGION(i) (0x800000u + (uint32_t)(i) * 0x400000u)   /* 8M, 12M, 16M */
#define PAGE __attribute__((aligned(4096)))
#define WAKE_VEC 0x40

static volatile uint32_t done PAGE;
static volatile uint64_t elapsed[4] PAGE;
static uint32_t K = 512;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

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

static void spin_until_done(void)
{
    while (!done)
        cpu_relax();
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

static void p_read_busy(int me) { timed_touch(me, 1, 0, 0, 0); }
static void p_read_shared(int me) { timed_touch(me, 2, 0, 0, 0); }
static void p_inval_busy(int me) { timed_touch(me, 0, 0, 1, 2); }
static void p_write_busy(int me) { timed_touch(me, 1, 1, 1, 0); }

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
    if (K == 0 || K > 1024)
        K = 512;
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
    phase("inval-busy", p_inval_busy);
    phase("write-busy", p_write_busy);
    phase("read-halted", p_read_halted);
    guest_exit(0);
}
