/* zeromem.c - test guest: guest RAM nobody has written reads as zero, on
 * every CPU (issue 14, item 2). Under vsmp no rank zeroes its copy of
 * guest RAM at start-up any more: the DSM installs a zero page on a page's
 * first touch (docs/dsm.md, "Untouched pages"), so this checks that every
 * path a first touch can take gives zeros and that written data still
 * travels:
 *   zero   all CPUs at once read PROBES pages spread over RAM above 8 MiB
 *          (each in its own order, so first touches race): a few words of
 *          each, every word of every 16th; every word must be 0;
 *   pairs  for every ordered pair of CPUs (i, j), i != j (i = j with one
 *          CPU), CPU i writes a word into a page nobody has touched, then
 *          CPU j reads that page: the word it wrote, zero everywhere else.
 * The output does not depend on the CPU count (expected/zeromem.out for
 * 1, 2 and 4 CPUs, also under QEMU). The integration tests boot it with
 * memory 3G and check that each rank stays far below that in resident
 * memory (tests/integration/run.sh, run_memory_cases). */
#include "lib/smp.h"

#define LOW        (8u << 20)        /* probes from here up */
#define PROBES     256u
#define LIMIT      TB_MS(120000)

static int N;
static uint32_t base, stride;        /* probe k at base + k * stride */
static volatile uint32_t bad[SMP_MAX_CPUS][16] __attribute__((aligned(4096)));

static volatile uint32_t *probe(uint32_t k)
{
    return (volatile uint32_t *)(base + k * stride);
}

/* the page of pair (i, j): one page above probe i * N + j, never probed */
static volatile uint32_t *pair_page(int i, int j)
{
    return (volatile uint32_t *)((uintptr_t)probe((uint32_t)(i * N + j)) + 4096);
}

static void t_zero(int me)
{
    uint32_t nonzero = 0;
    for (uint32_t n = 0; n < PROBES; n++) {
        uint32_t k = (n + (uint32_t)me * (PROBES / 4 + 7)) % PROBES;
        volatile uint32_t *p = probe(k);
        if (k % 16 == 0) {
            for (int w = 0; w < 1024; w++)
                nonzero += p[w] != 0;
        } else {
            nonzero += (p[0] != 0) + (p[511] != 0) + (p[1023] != 0);
        }
    }
    bad[me][0] = nonzero;
}

static void t_pairs(int me)
{
    uint32_t wrong = 0;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            if (i == j && N > 1)
                continue;
            int w = (i * 37 + j * 11) % 1024;
            if (me == i)
                pair_page(i, j)[w] = 0x5eed0000u | (uint32_t)(i << 8 | j);
            if (smp_barrier(me))
                goto out;
            if (me == j) {
                volatile uint32_t *p = pair_page(i, j);
                for (int x = 0; x < 1024; x++)
                    wrong += p[x] != (x == w ? (0x5eed0000u | (uint32_t)(i << 8 | j)) : 0);
            }
        }
    }
out:
    bad[me][1] = wrong;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    pic_remap(0x20, 0x28);
    smp_init(mbi);
    N = smp.ncpus;
    /* RAM above 1 MiB, less its top MiB (firmware tables may sit there) */
    uint32_t top = 0x100000u + *(volatile uint32_t *)(mbi + 8) * 1024u - 0x100000u;
    CHECK(0x30, top > LOW + 2 * 4096u * PROBES);
    base = LOW;
    stride = ((top - LOW) / PROBES) & ~0xfffu;
    CHECK(0x31, N * N <= (int)PROBES && stride >= 2 * 4096u);

    if (smp_run_all(t_zero, LIMIT))
        fail(0x32, "zeromem: timeout reading untouched pages");
    for (int c = 0; c < N; c++)
        if (bad[c][0])
            fail(0x33, "zeromem: cpu %d read %u nonzero words from untouched pages", c,
                 bad[c][0]);
    printf("zeromem: %u untouched pages read as zero on every cpu: ok\n", PROBES);

    if (smp_run_all(t_pairs, LIMIT) || smp_failed)
        fail(0x34, "zeromem: timeout in the pair test");
    for (int c = 0; c < N; c++)
        if (bad[c][1])
            fail(0x35, "zeromem: cpu %d saw %u wrong words in pages another cpu wrote", c,
                 bad[c][1]);
    printf("zeromem: a word written on one cpu, read on another, the rest zero: ok\n");
    printf("zeromem done\n");
    return 0;
}
