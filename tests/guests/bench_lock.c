/* bench_lock.c - lock-heavy SMP benchmark guest (issue 4, item 8 (d)):
 * a fixed total of scale x 4096 critical sections split over all CPUs
 * (strong scaling). Each critical section takes an XCHG spinlock (test
 * and test-and-set, PAUSE in the spin loop), checks the invariant
 * a == b + 1 == c + 2, then increments three shared counters that lie on
 * two pages other than the lock's, and releases the lock with a plain
 * store. The BSP checks the exact totals and that no invariant broke.
 * Under a page-based DSM every hand-over of the lock moves the lock page
 * and the data pages between ranks, so this measures the worst case:
 * expect it to get slower, not faster, with more ranks. Command line:
 * "scale=N" (default 1). Run by bench/smp.sh at 1, 2 and 4 vsmp ranks. */
#include "lib/smp.h"

#define PER_SCALE  4096u
#define PAGE       __attribute__((aligned(4096)))

static volatile uint32_t lockword PAGE;
static struct { volatile uint32_t a, b; } d1 PAGE = { 2, 1 };
static struct { volatile uint32_t c, broken; } d2 PAGE;
static volatile uint32_t part[SMP_MAX_CPUS][16] PAGE;
static uint32_t total;
static int N;

static int lock(int me)
{
    for (;;) {
        uint32_t v = 1;
        __asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(lockword) : : "memory");
        if (!v)
            return 0;
        while (lockword) {
            if (smp_stop(me))
                return -1;
            cpu_relax();
        }
    }
}

static void unlock(void)
{
    barrier();
    lockword = 0;               /* x86: a plain store releases */
}

static void t_lock(int me)
{
    uint32_t mine = total / (uint32_t)N + ((uint32_t)me < total % (uint32_t)N);
    uint32_t n = 0;
    for (; n < mine; n++) {
        if (lock(me))
            break;
        if (d1.a != d1.b + 1 || d1.b != d2.c + 1)
            d2.broken++;
        d2.c++;
        d1.b++;
        d1.a++;
        unlock();
    }
    part[me][0] = n;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    uint32_t scale = mb_cmdline_uint(mbi, "scale=", 1);
    if (scale == 0)
        scale = 1;
    total = PER_SCALE * scale;
    pic_remap(0x20, 0x28);
    smp_init(mbi);
    N = smp.ncpus;
    printf("bench_lock: scale %u: %u critical sections (xchg spinlock, pause)\n", scale, total);
    uint32_t us;
    if (smp_run_all_timed(t_lock, TB_MS(1800000), &us))
        fail(0x20, "bench_lock: timeout: cpus still running (mask %x)", smp_pending_mask());
    uint32_t done = 0;
    for (int i = 0; i < N; i++)
        done += part[i][0];
    int ok = done == total && d2.c == total && d1.b == total + 1 && d1.a == total + 2 &&
             !d2.broken;
    printf("bench_lock: counters %u %u %u, invariant broken %u times: %s\n", d2.c, d1.b - 1,
           d1.a - 2, d2.broken, ok ? "ok" : "WRONG");
    if (!ok)
        fail(0x21, "bench_lock: wrong total (%u sections done, want %u)", done, total);
    printf("bench_lock: parallel section %u us\n", us);
    printf("bench_lock done\n");
    return 0;
}
