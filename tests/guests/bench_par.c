/* bench_par.c - embarrassingly parallel SMP benchmark guest (issue 4,
 * item 8 (c)): a fixed total amount of work (strong scaling) split over
 * all CPUs. The work is CHUNKS x scale chunks; chunk c goes to CPU c % N.
 * Each chunk fills a 16 KiB buffer private to its CPU (its own pages, no
 * sharing) from a generator seeded by c, hashes it (FNV-1a over bytes),
 * merge-sorts it as 4096 words and folds the sorted array into a sum.
 * Every CPU keeps its partial checksum in registers/stack and writes it
 * once, at the end, to its own slot; the BSP adds the slots up. The sum
 * is commutative, so the printed checksum does not depend on the CPU
 * count. Command line: "scale=N" (default 1: 64 chunks, about 0.1 s
 * under QEMU TCG); "dynamic=1": instead of c % N, each CPU claims its
 * next chunk with LOCK XADD on a shared counter (its own page, which then
 * moves between the CPUs at every claim), so that a CPU slower than the
 * others (a busy host core) does less of the work. Run by bench/smp.sh
 * at 1, 2 and 4 vsmp ranks (and more where the host has the cores). */
#include "lib/msort.h"
#include "lib/smp.h"

#define CHUNKS     64u                  /* per unit of scale; divisible by 1..16 */
#define WORDS      4096u                /* 16 KiB per chunk buffer */
#define PAGE       __attribute__((aligned(4096)))

/* per-CPU private buffers, page aligned, no page shared between CPUs */
static uint32_t buf[SMP_MAX_CPUS][WORDS] PAGE;
static uint32_t tmp[SMP_MAX_CPUS][WORDS] PAGE;
/* per-CPU results: one 64-byte line each, written once per run */
static volatile uint32_t part[SMP_MAX_CPUS][16] PAGE;
/* dynamic=1: the next unclaimed chunk, alone in its page */
static volatile uint32_t next_chunk[1024] PAGE;
static uint32_t nchunks, dynamic;
static int N;

static uint32_t fnv1a(const uint32_t *w, uint32_t nwords)
{
    const uint8_t *p = (const uint8_t *)w;
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < nwords * 4; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}


static uint32_t do_chunk(int me, uint32_t c)
{
    uint32_t *a = buf[me], r = 0x9e3779b9u * (c + 1) | 1;
    for (uint32_t i = 0; i < WORDS; i++) {       /* xorshift32 */
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        a[i] = r;
    }
    uint32_t h = fnv1a(a, WORDS);
    uint32_t *s = merge_sort(a, tmp[me], WORDS);
    uint32_t sum = 0;
    for (uint32_t i = 0; i < WORDS; i++) {
        if (i && s[i - 1] > s[i])
            part[me][1]++;                       /* not sorted: counted as an error */
        sum = sum * 31 + s[i];
    }
    return (h ^ sum) * (2 * c + 1);              /* depends on c, not on who ran it */
}

static void t_par(int me)
{
    uint64_t t0 = rdtsc();
    uint32_t acc = 0, done = 0;
    if (dynamic) {
        for (;;) {
            uint32_t c = __atomic_fetch_add(&next_chunk[0], 1, __ATOMIC_SEQ_CST);
            if (c >= nchunks)
                break;
            acc += do_chunk(me, c);
            done++;
        }
    } else {
        for (uint32_t c = (uint32_t)me; c < nchunks; c += (uint32_t)N) {
            acc += do_chunk(me, c);
            done++;
        }
    }
    part[me][0] = acc;
    part[me][2] = done;
    uint64_t t = rdtsc() - t0;         /* this CPU's own work time, in TSC ticks */
    part[me][3] = (uint32_t)t;
    part[me][4] = (uint32_t)(t >> 32);
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    uint32_t scale = mb_cmdline_uint(mbi, "scale=", 1);
    if (scale == 0)
        scale = 1;
    nchunks = CHUNKS * scale;
    dynamic = mb_cmdline_uint(mbi, "dynamic=", 0) != 0;
    pic_remap(0x20, 0x28);
    smp_init(mbi);
    N = smp.ncpus;
    printf("bench_par: scale %u: %u chunks of %u KiB (fill, fnv1a, merge sort)%s\n", scale,
           nchunks, WORDS * 4 / 1024, dynamic ? ", claimed dynamically" : "");
    uint32_t us;
    if (smp_run_all_timed(t_par, TB_MS(1800000), &us))
        fail(0x20, "bench_par: timeout: cpus still running (mask %x)", smp_pending_mask());
    uint32_t sum = 0, done = 0, bad = 0;
    for (int i = 0; i < N; i++) {
        sum += part[i][0];
        bad += part[i][1];
        done += part[i][2];
    }
    if (bad || done != nchunks)
        fail(0x21, "bench_par: %u unsorted, %u of %u chunks done", bad, done, nchunks);
    printf("bench_par: checksum %08x\n", sum);
    /* The section's time, then each CPU's own work time (from its first
     * chunk to its last): a CPU slower than the others shows here. */
    printf("bench_par: parallel section %u us; cpu work us", us);
    for (int i = 0; i < N; i++) {
        uint64_t t = (uint64_t)part[i][4] << 32 | part[i][3];
        printf(" %u", (uint32_t)(t * 1000 / smp_tsc_per_ms()));
    }
    printf("\n");
    printf("bench_par done\n");
    return 0;
}
