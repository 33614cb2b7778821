/* smp.c - test guest for a multiprocessor machine (issue 4, item 5): finds
 * the CPUs (MP table / ACPI MADT), starts every AP with INIT-SIPI-SIPI
 * (lib/smp.c), then runs eight tests on all CPUs at once:
 *   count  LOCK XADD (plus LOCK INC and a CMPXCHG loop) to an exact total,
 *          and XADD's old values are all distinct;
 *   lock   an XCHG spinlock guards data spread over two other pages;
 *          the invariant is checked inside every critical section;
 *   ring   one single-producer/single-consumer ring per CPU (CPU i to
 *          CPU i+1), plain loads and stores only, index and data on
 *          different pages: the consumer must see the data once it sees
 *          the index (x86 store ordering);
 *   false  every CPU hammers its own word, byte and halfword of one page;
 *   ipi    self-IPIs, then ping-pong with fixed IPIs between every
 *          ordered pair of CPUs;
 *   smc    cross-modifying code: one CPU rewrites a function that all CPUs
 *          then run (after CPUID); with "smc-patch" on the command line
 *          also: one CPU patches a function that another CPU keeps
 *          calling (CPUID between calls) until it sees the new code, for
 *          every ordered pair;
 *   modes  every CPU in turn sends NMIs (physical destination), fixed IPIs
 *          to a flat logical multicast of all the others, lowest-priority
 *          IPIs to that set (one CPU takes each) and the all-excluding-
 *          and all-including-self shorthands; every receiver counts;
 *   time   a token with the sender's TSC goes around the CPUs: no CPU's
 *          TSC is behind it; every CPU's APIC timer, one-shot and periodic;
 *   ioapic every CPU in turn reads the IOAPIC's version register and
 *          writes and reads back a redirection entry of its own through
 *          the IOAPIC's MMIO window (on vsmp, forwarded to rank 0).
 * Only the BSP prints, and only text that does not depend on timing, so
 * the output is a function of the CPU count (expected/smp.N.out). Every
 * wait is bounded (TEST_LIMIT per test, kept by the BSP with the PIT).
 * Command line: "only=count,ipi" runs a subset; "verbose" says where the
 * CPU count came from; "smc-patch" adds the second smc part. */
#include "lib/smp.h"

/* work per CPU: small enough for 4 ranks on 2 host cores under a DSM */
#define COUNT_ITERS   10000
#define LOCK_ITERS    3000
#define RING_MSGS     5000
#define RING_SLOTS    32
#define FALSE_ITERS   20000
#define IPI_ROUNDS    20
#define SMC_ROUNDS    60
#define SMC_CALLS     20
#define SPIN_LIMIT    20000000u      /* rounds before a waiting CPU gives up */
#define TEST_LIMIT    TB_MS(60000)   /* per test, on the BSP's PIT clock */

#define PAGE __attribute__((aligned(4096)))
static int N;

/* per-CPU results, a cache line each, on a page of their own */
static volatile uint32_t res[SMP_MAX_CPUS][16] PAGE;

static const char *cmdline;
static int wanted(const char *name)
{
    const char *p = cmdline, *o = NULL;
    for (; *p; p++)
        if ((p == cmdline || p[-1] == ' ') && !memcmp(p, "only=", 5))
            o = p + 5;
    if (!o)
        return 1;
    size_t n = strlen(name);
    while (*o && *o != ' ') {
        if (!memcmp(o, name, n) && (o[n] == ',' || o[n] == ' ' || !o[n]))
            return 1;
        while (*o && *o != ' ' && *o != ',')
            o++;
        if (*o == ',')
            o++;
    }
    return 0;
}

static int has_word(const char *w)
{
    size_t n = strlen(w);
    for (const char *p = cmdline; *p; p++)
        if ((p == cmdline || p[-1] == ' ') && !memcmp(p, w, n) && (p[n] == ' ' || !p[n]))
            return 1;
    return 0;
}

static void t_smc(int me);
static void run(const char *name, smp_fn fn)
{
    if (smp_run_all(fn, TEST_LIMIT)) {
        if (fn == t_smc)        /* where each CPU got to (see t_smc) */
            for (int i = 0; i < N; i++)
                printf("smc: cpu %d at step %u\n", i, res[i][14]);
        fail(0x20, "%s: timeout: cpus still running (mask %x)", name, smp_pending_mask());
    }
}


/* ================= (a) count ================= */
static struct {
    volatile uint32_t xadd, inc, cas;
} cnt PAGE;

static void t_count(int me)
{
    uint32_t sum = 0;
    for (int i = 0; i < COUNT_ITERS; i++) {
        uint32_t v = 1;
        __asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(cnt.xadd) : : "memory");
        sum += v;
        __asm__ volatile("lock incl %0" : "+m"(cnt.inc) : : "memory");
        uint32_t old = cnt.cas, nv;
        do {
            nv = old + 1;
        } while (!__atomic_compare_exchange_n(&cnt.cas, &old, nv, 0, __ATOMIC_SEQ_CST,
                                              __ATOMIC_SEQ_CST));
    }
    res[me][0] = sum;
}

static void test_count(void)
{
    run("count", t_count);
    uint32_t total = (uint32_t)N * COUNT_ITERS, sum = 0;
    for (int i = 0; i < N; i++)
        sum += res[i][0];
    /* the old values XADD returned are 0..total-1, each once: their sum
     * is total*(total-1)/2 */
    uint32_t want = total % 2 ? (total - 1) / 2 * total : total / 2 * (total - 1);
    printf("count: lock xadd %u (%d x %u) %s, old values %s\n", cnt.xadd, N, COUNT_ITERS,
           cnt.xadd == total ? "ok" : "WRONG", sum == want ? "unique ok" : "WRONG");
    printf("count: lock inc %u %s, lock cmpxchg %u %s\n", cnt.inc,
           cnt.inc == total ? "ok" : "WRONG", cnt.cas, cnt.cas == total ? "ok" : "WRONG");
    if (cnt.xadd != total || sum != want || cnt.inc != total || cnt.cas != total)
        smp_failed = 1;
}

/* ================= (b) spinlock ================= */
#define NOBODY 0xffffffffu
static volatile uint32_t lockword PAGE;
static struct { volatile uint32_t a, owner, weight; } dat1 PAGE;
static struct { volatile uint32_t b, entries; } dat2 PAGE;

static int spin_lock(int me)
{
    uint32_t v;
    for (;;) {
        v = 1;
        __asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(lockword) : : "memory");
        if (!v)
            return 0;
        while (lockword)
            if (smp_stop(me))
                return -1;
            else
                cpu_relax();
    }
}

static void spin_unlock(void)
{
    barrier();
    lockword = 0;               /* a plain store releases on x86 */
    barrier();
}

static void t_lock(int me)
{
    uint32_t bad = 0;
    for (int i = 0; i < LOCK_ITERS; i++) {
        if (spin_lock(me))
            break;
        if (dat1.owner != NOBODY)
            bad++;
        dat1.owner = (uint32_t)me;
        uint32_t x = dat1.a;
        if (dat2.b != x)
            bad++;
        dat1.a = x + 1;
        for (volatile int k = 0; k < 8; k++)
            ;
        dat1.weight += (uint32_t)me + 1;
        dat2.entries++;
        dat2.b = x + 1;
        if (dat1.owner != (uint32_t)me)
            bad++;
        dat1.owner = NOBODY;
        spin_unlock();
    }
    res[me][1] = bad;
}

static void test_lock(void)
{
    dat1.owner = NOBODY;
    run("lock", t_lock);
    uint32_t bad = 0, total = (uint32_t)N * LOCK_ITERS;
    for (int i = 0; i < N; i++)
        bad += res[i][1];
    uint32_t wweight = (uint32_t)LOCK_ITERS * (uint32_t)(N * (N + 1) / 2);
    int ok = !bad && dat1.a == total && dat2.b == total && dat2.entries == total &&
             dat1.weight == wweight && !lockword;
    printf("lock: xchg spinlock, %d x %u critical sections: invariant %s, totals %s\n", N,
           LOCK_ITERS, bad ? "BROKEN" : "held",
           dat1.a == total && dat2.b == total && dat2.entries == total && dat1.weight == wweight
               ? "ok" : "WRONG");
    if (!ok) {
        printf("lock: a=%u b=%u entries=%u weight=%u (want %u, weight %u) violations=%u\n",
               dat1.a, dat2.b, dat2.entries, dat1.weight, total, wweight, bad);
        smp_failed = 1;
    }
}

/* ================= (c) ring buffers ================= */
struct ring_data { volatile uint32_t slot[RING_SLOTS][4]; } __attribute__((aligned(4096)));
struct ring_idx { volatile uint32_t v; } __attribute__((aligned(4096)));
static struct ring_data ring_data[SMP_MAX_CPUS];
static struct ring_idx ring_head[SMP_MAX_CPUS];    /* written by the producer only */
static struct ring_idx ring_tail[SMP_MAX_CPUS];    /* written by the consumer only */

static uint32_t payload(uint32_t prod, uint32_t seq, int k)
{
    switch (k) {
    case 0: return seq;
    case 1: return seq * 0x9e3779b1u ^ prod;
    case 2: return ~seq;
    default: return prod << 24 | (seq & 0xffffff);
    }
}

static void t_ring(int me)
{
    int out = me, in = (me + N - 1) % N;       /* I produce into ring me, consume ring me-1 */
    uint32_t sent = 0, got = 0, bad = 0;
    uint32_t tail_seen = 0, head_seen = 0;
    while (sent < RING_MSGS || got < RING_MSGS) {
        int progress = 0;
        if (sent < RING_MSGS) {
            if (sent - tail_seen >= RING_SLOTS)
                tail_seen = ring_tail[out].v;
            if (sent - tail_seen < RING_SLOTS) {
                volatile uint32_t *s = ring_data[out].slot[sent % RING_SLOTS];
                for (int k = 0; k < 4; k++)
                    s[k] = payload((uint32_t)me, sent, k);
                barrier();
                ring_head[out].v = ++sent;
                progress = 1;
            }
        }
        if (got < RING_MSGS) {
            if (got == head_seen)
                head_seen = ring_head[in].v;
            if (got != head_seen) {
                volatile uint32_t *s = ring_data[in].slot[got % RING_SLOTS];
                for (int k = 0; k < 4; k++)
                    if (s[k] != payload((uint32_t)in, got, k))
                        bad++;
                barrier();
                ring_tail[in].v = ++got;
                progress = 1;
            }
        }
        if (!progress) {
            if (smp_stop(me))
                break;
            cpu_relax();
        }
    }
    res[me][2] = bad;
    res[me][3] = got;
}

static void test_ring(void)
{
    run("ring", t_ring);
    uint32_t bad = 0, short_ = 0;
    for (int i = 0; i < N; i++) {
        bad += res[i][2];
        short_ += res[i][3] != RING_MSGS;
    }
    printf("ring: %d rings x %u messages (", N, RING_MSGS);
    for (int i = 0; i < N; i++)
        printf("%s%d->%d", i ? " " : "", i, (i + 1) % N);
    printf("), plain loads/stores: %s\n", bad || short_ ? "WRONG" : "in order, data ok");
    if (bad || short_) {
        printf("ring: %u bad words, %u rings short\n", bad, short_);
        smp_failed = 1;
    }
}

/* ================= (d) false sharing ================= */
static struct {
    volatile uint32_t w[SMP_MAX_CPUS];
    volatile uint8_t b[SMP_MAX_CPUS];
    uint8_t pad[4096 - 4 * SMP_MAX_CPUS - SMP_MAX_CPUS - 2 * SMP_MAX_CPUS];
    volatile uint16_t h[SMP_MAX_CPUS];          /* the last bytes of the page */
} fs PAGE;

static void t_false(int me)
{
    for (int i = 0; i < FALSE_ITERS; i++) {
        fs.w[me] += (uint32_t)me + 1;
        fs.b[me] += 3;
        fs.h[me] = (uint16_t)(fs.h[me] + 7);
    }
}

static void test_false(void)
{
    run("false", t_false);
    int w = 1, b = 1, h = 1;
    for (int i = 0; i < SMP_MAX_CPUS; i++) {
        uint32_t k = i < N ? FALSE_ITERS : 0;
        w &= fs.w[i] == k * (uint32_t)(i + 1);
        b &= fs.b[i] == (uint8_t)(k * 3);
        h &= fs.h[i] == (uint16_t)(k * 7);
    }
    printf("false sharing: %d cpus x %u on one page: words %s, bytes %s, halfwords %s\n", N,
           FALSE_ITERS, w ? "ok" : "WRONG", b ? "ok" : "WRONG", h ? "ok" : "WRONG");
    if (!(w && b && h))
        smp_failed = 1;
}

/* ================= (e) IPIs ================= */
#define VEC_PING 0x40
#define VEC_PONG 0x41
#define VEC_SELF 0x42
static volatile uint32_t ping_req[SMP_MAX_CPUS][SMP_MAX_CPUS] PAGE;   /* [to][from] */
static volatile uint32_t ping_got[SMP_MAX_CPUS][SMP_MAX_CPUS] PAGE;   /* [to][from] */
static volatile uint32_t pong_got[SMP_MAX_CPUS][16] PAGE;
static volatile uint32_t self_got[SMP_MAX_CPUS][16] PAGE;
static volatile uint32_t ipi_err[SMP_MAX_CPUS][16] PAGE;

static void on_ping(struct frame *f)
{
    (void)f;
    int me = smp_cpu();
    for (int s = 0; s < N; s++)
        if (ping_req[me][s]) {
            ping_req[me][s] = 0;
            ping_got[me][s]++;
            if (lapic_ipi(smp.apic_id[s], ICR_FIXED | VEC_PONG))
                ipi_err[me][0]++;
        }
    lapic_eoi();
}

static void on_pong(struct frame *f)
{
    (void)f;
    pong_got[smp_cpu()][0]++;
    lapic_eoi();
}

static void on_self(struct frame *f)
{
    (void)f;
    self_got[smp_cpu()][0]++;
    lapic_eoi();
}

/* wait (interrupts on) until *p != old */
static int wait_change(int me, volatile uint32_t *p, uint32_t old)
{
    for (uint32_t n = 0; *p == old; n++) {
        if (smp_stop(me) || n > SPIN_LIMIT)
            return -1;
        cpu_relax();
    }
    return 0;
}

static void t_ipi(int me)
{
    sti();
    for (int r = 0; r < IPI_ROUNDS; r++) {
        uint32_t before = self_got[me][0];
        if (lapic_ipi(0, ICR_SELF | ICR_FIXED | VEC_SELF) || wait_change(me, &self_got[me][0], before))
            ipi_err[me][1]++;
    }
    for (int k = 1; k < N; k++) {
        int to = (me + k) % N;
        for (int r = 0; r < IPI_ROUNDS; r++) {
            uint32_t before = pong_got[me][0];
            ping_req[to][me] = 1;
            if (lapic_ipi(smp.apic_id[to], ICR_FIXED | VEC_PING) ||
                wait_change(me, &pong_got[me][0], before)) {
                ipi_err[me][2]++;
                break;
            }
        }
    }
    smp_barrier(me);            /* others may still ping me: keep interrupts on */
    cli();
}

static void test_ipi(void)
{
    idt_set(VEC_PING, on_ping, 0, 0);
    idt_set(VEC_PONG, on_pong, 0, 0);
    idt_set(VEC_SELF, on_self, 0, 0);
    run("ipi", t_ipi);
    int selfok = 1, ok = 1;
    for (int i = 0; i < N; i++) {
        selfok &= self_got[i][0] == IPI_ROUNDS && !ipi_err[i][1];
        ok &= !ipi_err[i][0] && !ipi_err[i][2];
    }
    printf("ipi: self-IPI x %u on every cpu %s\n", IPI_ROUNDS, selfok ? "ok" : "WRONG");
    printf("ipi: ping-pong x %u:", IPI_ROUNDS);
    if (N == 1)
        printf(" (no pairs)");
    for (int f = 0; f < N; f++)
        for (int t = 0; t < N; t++)
            if (f != t) {
                printf(" %d->%d", f, t);
                if (ping_got[t][f] != IPI_ROUNDS) {
                    printf("(%u)", ping_got[t][f]);
                    ok = 0;
                }
            }
    printf(" %s\n", ok ? "ok" : "WRONG");
    if (!ok || !selfok)
        smp_failed = 1;
}

/* ================= (f) cross-modifying code ================= */
static uint8_t xcode[4096] PAGE;        /* rewritten between rounds */
/* the second part (code patched while another CPU keeps calling it) runs
 * only with "smc-patch" on the command line: QEMU 7.2 (TCG), the oracle,
 * misses the patch in some runs at -smp 4 (see FINDINGS.md) */
static int smc_patch;
static uint8_t xloop[4096] PAGE;        /* patched while another CPU keeps calling it */
static volatile uint32_t spin_state PAGE;
typedef uint32_t (*fn0)(void);

static uint32_t smc_value(int k)
{
    uint32_t v = (uint32_t)k * 0x9e3779b9u + 1;
    switch (k % 3) {
    case 0: return v;
    case 1: return v + ((uint32_t)k ^ 0x5a5a);
    default: return 0u - v;
    }
}

static void smc_write(int k)
{
    volatile uint8_t *p = xcode;
    uint32_t v = (uint32_t)k * 0x9e3779b9u + 1, c = (uint32_t)k ^ 0x5a5a;
    int n = 0;
    switch (k % 3) {
    case 0:                     /* mov $v, %eax */
        p[n++] = 0xb8;
        break;
    case 1:                     /* mov $v, %eax; add $c, %eax */
        p[n++] = 0xb8;
        for (int i = 0; i < 4; i++)
            p[n + i] = (uint8_t)(v >> 8 * i);
        n += 4;
        p[n++] = 0x05;
        v = c;
        break;
    default:                    /* xor %eax, %eax; sub $v, %eax */
        p[n++] = 0x31;
        p[n++] = 0xc0;
        p[n++] = 0x2d;
        break;
    }
    for (int i = 0; i < 4; i++)
        p[n + i] = (uint8_t)(v >> 8 * i);
    n += 4;
    p[n] = 0xc3;                /* ret */
}

/* The runner calls xloop over and over (CPUID between calls, as the SDM
 * (8.1.3) asks of a CPU running cross-modified code) until it returns
 * something new; the writer patches the immediate with one aligned
 * 32-bit store: nop; nop; nop; mov $imm, %eax (imm at offset 4); ret. */
#define XLOOP_OLD 0x5a5a0000u
static void xloop_write(void)
{
    static const uint8_t code[] = { 0x90, 0x90, 0x90, 0xb8, 0, 0, 0x5a, 0x5a, 0xc3 };
    volatile uint8_t *p = xloop;
    for (unsigned i = 0; i < sizeof(code); i++)
        p[i] = code[i];
}

/* the pairs (writer, runner) of the patched-loop test: every ordered pair */
static int spin_pairs(int *w, int *r)
{
    int n = 0;
    for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++)
            if (a != b) {
                w[n] = a;
                r[n++] = b;
            }
    return n;
}

/* res[cpu][14], the step each CPU reached (printed on a timeout): round k,
 * then 1000 + pair i before writing, 2000 + i/3000 + i around the
 * writer's patch, 4000 + i/5000 + i around the runner's loop */
static void t_smc(int me)
{
    uint32_t bad = 0;
    for (int k = 0; k < SMC_ROUNDS; k++) {
        res[me][14] = (uint32_t)k;
        if (smp_barrier(me))
            goto out;
        if (me == k % N)
            smc_write(k);
        if (smp_barrier(me))
            goto out;
        serialize();            /* SDM: the executing CPU serializes */
        for (int c = 0; c < SMC_CALLS; c++)
            if (((fn0)xcode)() != smc_value(k))
                bad++;
    }
    res[me][4] = bad;

    int w[SMP_MAX_CPUS * SMP_MAX_CPUS], r[SMP_MAX_CPUS * SMP_MAX_CPUS];
    int np = smc_patch ? spin_pairs(w, r) : 0;
    for (int i = 0; i < np; i++) {
        res[me][14] = 1000u + (uint32_t)i;
        if (me == w[i]) {
            xloop_write();
            spin_state = 0;
        }
        if (smp_barrier(me))
            goto out;
        if (me == r[i]) {
            uint32_t v = XLOOP_OLD;
            res[me][14] = 4000u + (uint32_t)i;
            for (uint32_t n = 0; v == XLOOP_OLD; n++) {
                serialize();
                v = ((fn0)xloop)();
                if (n == 100)
                    spin_state = 1;     /* it ran the old code a while */
                if (smp_stop(me) || n > SPIN_LIMIT)
                    break;
                cpu_relax();
            }
            res[me][5 + i % 8] = v;
            res[me][14] = 5000u + (uint32_t)i;
        } else if (me == w[i]) {
            for (uint32_t n = 0; spin_state != 1; n++)
                if (smp_stop(me) || n > SPIN_LIMIT)
                    goto out;
                else
                    cpu_relax();
            res[me][14] = 2000u + (uint32_t)i;
            *(volatile uint32_t *)(xloop + 4) = 0x1000u + (uint32_t)i;
            res[me][14] = 3000u + (uint32_t)i;
        }
        if (smp_barrier(me))
            goto out;
        if (me == 0 && res[r[i]][5 + i % 8] != 0x1000u + (uint32_t)i)
            res[0][13] |= 1u << i % 32;
    }
out:
    return;
}

static void test_smc(void)
{
    run("smc", t_smc);
    uint32_t bad = 0;
    for (int i = 0; i < N; i++)
        bad += res[i][4];
    printf("smc: %u rounds: code rewritten by cpu k%%%d, then run %u times on every cpu: %s\n",
           SMC_ROUNDS, N, SMC_CALLS, bad ? "WRONG" : "ok");
    if (!smc_patch)
        return;
    int w[SMP_MAX_CPUS * SMP_MAX_CPUS], r[SMP_MAX_CPUS * SMP_MAX_CPUS];
    int np = spin_pairs(w, r);
    printf("smc: code patched while another cpu keeps running it (writer->runner):");
    if (!np)
        printf(" (no pairs)");
    for (int i = 0; i < np; i++)
        printf(" %d->%d%s", w[i], r[i], res[0][13] >> i % 32 & 1 ? "(MISSED)" : "");
    printf(" %s\n", res[0][13] ? "WRONG" : "ok");
    if (bad || res[0][13])
        smp_failed = 1;
}

/* ================= (g) delivery modes ================= */
/* Every CPU in turn sends, while the others wait in a barrier with
 * interrupts on: NMIs to each other CPU (physical destination), fixed
 * IPIs to all the others at once through one flat logical destination
 * (LDR bit = CPU number, as Linux sets it up with up to 8 CPUs),
 * lowest-priority IPIs to the same logical set (exactly one of them takes
 * each), and fixed IPIs with the all-excluding-self and all-including-self
 * shorthands. Each receiver counts what it got from the current sender;
 * the sender waits for the counts after every IPI. */
#define EXC_NMI_VEC 2
#define VEC_MULTI  0x43
#define VEC_LOWEST 0x44
#define VEC_BCAST  0x45
#define MODE_ROUNDS 10
enum { M_NMI, M_MULTI, M_LOWEST, M_EXCL, M_INCL, M_KINDS };
static volatile uint32_t mode_kind PAGE;                     /* M_EXCL or M_INCL */
static volatile uint32_t nmi_req[SMP_MAX_CPUS][16] PAGE;     /* [to][0]: set by the sender */
static volatile uint32_t mode_got[SMP_MAX_CPUS][16] PAGE;    /* [to][kind], from this turn's sender */
static volatile uint32_t mode_err[SMP_MAX_CPUS][16] PAGE;    /* [cpu][kind] */

static void on_nmi(struct frame *f)
{
    (void)f;
    int me = smp_cpu();
    if (nmi_req[me][0]) {       /* an NMI without a request is counted wrong */
        nmi_req[me][0] = 0;
        mode_got[me][M_NMI]++;
    } else {
        mode_err[me][M_NMI]++;
    }
}

static void on_multi(struct frame *f) { (void)f; mode_got[smp_cpu()][M_MULTI]++; lapic_eoi(); }
static void on_lowest(struct frame *f) { (void)f; mode_got[smp_cpu()][M_LOWEST]++; lapic_eoi(); }
static void on_bcast(struct frame *f)
{
    (void)f;
    mode_got[smp_cpu()][mode_kind]++;      /* the shorthand the sender uses */
    lapic_eoi();
}

/* wait (interrupts on) until the sum of kind's counts over the CPUs in
 * mask reaches want; -1 on a timeout */
static int wait_counts(int me, uint32_t mask, int kind, uint32_t want)
{
    for (uint32_t n = 0;; n++) {
        uint32_t sum = 0;
        for (int c = 0; c < N; c++)
            if (mask >> c & 1)
                sum += mode_got[c][kind];
        if (sum >= want)
            return 0;
        if (smp_stop(me) || n > SPIN_LIMIT)
            return -1;
        cpu_relax();
    }
}

/* wait until every CPU in mask has exactly want of kind */
static int wait_each(int me, uint32_t mask, int kind, uint32_t want)
{
    for (int c = 0; c < N; c++)
        if ((mask >> c & 1) && wait_counts(me, 1u << c, kind, want))
            return -1;
    return 0;
}

/* MODE_ROUNDS IPIs (ICR low word icr, destination dest), each awaited:
 * every CPU in mask counts one more of kind (each), or one of them does */
static void send_rounds(int me, uint8_t dest, uint32_t icr, int kind, uint32_t mask, int each)
{
    for (uint32_t r = 1; r <= MODE_ROUNDS; r++)
        if (lapic_ipi(dest, icr) ||
            (each ? wait_each(me, mask, kind, r) : wait_counts(me, mask, kind, r))) {
            mode_err[me][kind]++;
            return;
        }
}

static void mode_send(int me)
{
    uint32_t others = ((1u << N) - 1) & ~(1u << me), all = (1u << N) - 1;
    for (int t = 0; t < N; t++)                      /* NMI, physical */
        for (int r = 0; t != me && r < MODE_ROUNDS; r++) {
            uint32_t before = mode_got[t][M_NMI];
            nmi_req[t][0] = 1;
            if (lapic_ipi(smp.apic_id[t], ICR_NMI) || wait_counts(me, 1u << t, M_NMI, before + 1)) {
                mode_err[me][M_NMI]++;
                break;
            }
        }
    if (N <= 8 && others) {     /* logical: a multicast, then lowest priority */
        send_rounds(me, (uint8_t)others, ICR_LOGICAL | ICR_FIXED | VEC_MULTI, M_MULTI, others, 1);
        send_rounds(me, (uint8_t)others, ICR_LOGICAL | ICR_LOWEST | VEC_LOWEST, M_LOWEST, others, 0);
    }
    mode_kind = M_EXCL;
    send_rounds(me, 0, ICR_ALL_EXCL | ICR_FIXED | VEC_BCAST, M_EXCL, others, 1);
    mode_kind = M_INCL;
    send_rounds(me, 0, ICR_ALL_INCL | ICR_FIXED | VEC_BCAST, M_INCL, all, 1);
}

static void t_modes(int me)
{
    if (N <= 8) {               /* flat model, one LDR bit per CPU */
        lapic_write(LAPIC_DFR, 0xffffffffu);
        lapic_write(LAPIC_LDR, (1u << me) << 24);
    }
    sti();
    for (int s = 0; s < N; s++) {
        /* every CPU's counts start at 0 for sender s */
        for (int k = 0; k < M_KINDS; k++)
            mode_got[me][k] = 0;
        if (smp_barrier(me))
            break;
        if (me == s)
            mode_send(me);
        if (smp_barrier(me))    /* late (duplicate) deliveries land before the check */
            break;
        if (me == s) {
            /* what every CPU got from s: NMI and multicast/shorthands
             * exactly MODE_ROUNDS, lowest priority MODE_ROUNDS in all */
            uint32_t lowest = 0;
            for (int c = 0; c < N; c++) {
                uint32_t x = c == s ? 0 : MODE_ROUNDS;
                if (mode_got[c][M_NMI] != x)
                    mode_err[s][M_NMI]++;
                if (N <= 8 && mode_got[c][M_MULTI] != x)
                    mode_err[s][M_MULTI]++;
                if (mode_got[c][M_EXCL] != x)
                    mode_err[s][M_EXCL]++;
                if (mode_got[c][M_INCL] != MODE_ROUNDS)
                    mode_err[s][M_INCL]++;
                lowest += mode_got[c][M_LOWEST];
            }
            if (mode_got[s][M_LOWEST] || (N <= 8 && lowest != (N > 1 ? MODE_ROUNDS : 0)))
                mode_err[s][M_LOWEST]++;
        }
        if (smp_barrier(me))
            break;
    }
    cli();
}

static void test_modes(void)
{
    idt_set(EXC_NMI_VEC, on_nmi, 0, 0);
    idt_set(VEC_MULTI, on_multi, 0, 0);
    idt_set(VEC_LOWEST, on_lowest, 0, 0);
    idt_set(VEC_BCAST, on_bcast, 0, 0);
    run("modes", t_modes);
    static const char *const what[M_KINDS] = {
        [M_NMI] = "NMI to each other cpu",
        [M_MULTI] = "fixed, flat logical multicast to the others",
        [M_LOWEST] = "lowest priority, logical, to the others: taken once each",
        [M_EXCL] = "all-excluding-self",
        [M_INCL] = "all-including-self",
    };
    for (int k = 0; k < M_KINDS; k++) {
        uint32_t err = 0;
        for (int c = 0; c < N; c++)
            err += mode_err[c][k];
        if ((k == M_MULTI || k == M_LOWEST) && N > 8)
            printf("modes: %s: more than 8 cpus, skipped\n", what[k]);
        else
            printf("modes: %s, x %u from every cpu: %s\n", what[k], MODE_ROUNDS,
                   err ? "WRONG" : "ok");
        if (err)
            smp_failed = 1;
    }
}

/* ================= (h) time ================= */
/* The guest TSC is one clock for all CPUs: a token goes around the CPUs
 * TIME_ROUNDS times with the TSC its last holder read, and each holder's
 * own TSC, read after it saw the token, must not be behind it (nor behind
 * its own previous reading). Then every CPU's local APIC timer at once:
 * one-shot (fires once, the current count stays 0), periodic (fires
 * again and again; masked and stopped, it stops). */
#define TIME_ROUNDS 50
#define VEC_TIMER   0x46
#define TIMER_COUNT 100000u
enum { T_BEHIND, T_BACKWARDS, T_TOKEN, T_ONESHOT, T_PERIODIC, T_KINDS };
static volatile uint32_t tok PAGE;          /* round * N + CPU whose turn it is */
static volatile uint64_t tok_tsc PAGE;      /* the TSC the last holder read */
static volatile uint32_t time_err[SMP_MAX_CPUS][16] PAGE;   /* [cpu][T_*] */
static volatile uint32_t tmr_got[SMP_MAX_CPUS][16] PAGE;    /* [cpu][0] */

static void on_timer(struct frame *f) { (void)f; tmr_got[smp_cpu()][0]++; lapic_eoi(); }

static uint64_t tsc_now(void)
{
    serialize();                /* not read before the loads above it */
    return rdtsc();
}

/* spin (interrupts on) until this CPU's timer count reaches want */
static int wait_ticks(int me, uint32_t want)
{
    for (uint32_t n = 0; tmr_got[me][0] < want; n++) {
        if (smp_stop(me) || n > SPIN_LIMIT)
            return -1;
        cpu_relax();
    }
    return 0;
}

static void t_time(int me)
{
    volatile uint32_t *err = time_err[me];
    uint64_t last = tsc_now();
    for (uint32_t r = 0; r < TIME_ROUNDS; r++) {
        uint32_t turn = r * (uint32_t)N + (uint32_t)me;
        for (uint32_t n = 0; tok != turn; n++) {
            if (smp_stop(me) || n > SPIN_LIMIT) {
                err[T_TOKEN]++;
                goto timer;
            }
            cpu_relax();
        }
        uint64_t t = tsc_now();
        err[T_BEHIND] += t < tok_tsc;
        err[T_BACKWARDS] += t < last;
        last = t;
        tok_tsc = t;            /* then the token: x86 keeps the order */
        tok = turn + 1;
    }
timer:
    sti();
    lapic_write(LAPIC_TIMER_DIV, 0xb);                 /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);           /* one-shot */
    lapic_write(LAPIC_TIMER_INIT, TIMER_COUNT);
    if (wait_ticks(me, 1) || lapic_read(LAPIC_TIMER_CUR) != 0)
        err[T_ONESHOT]++;
    for (int i = 0; i < 2000; i++)                     /* it does not fire again */
        cpu_relax();
    if (tmr_got[me][0] != 1 || lapic_read(LAPIC_TIMER_CUR) != 0)
        err[T_ONESHOT]++;
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_PERIODIC);
    lapic_write(LAPIC_TIMER_INIT, TIMER_COUNT);
    if (wait_ticks(me, 5))
        err[T_PERIODIC]++;
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_MASKED);
    lapic_write(LAPIC_TIMER_INIT, 0);                  /* stopped */
    uint32_t stopped = tmr_got[me][0];
    for (int i = 0; i < 2000; i++)
        cpu_relax();
    if (tmr_got[me][0] > stopped + 1)   /* one may have been pending at the mask */
        err[T_PERIODIC]++;
    smp_barrier(me);
    cli();
}

static void test_time(void)
{
    idt_set(VEC_TIMER, on_timer, 0, 0);
    run("time", t_time);
    uint32_t e[T_KINDS] = { 0 };
    for (int c = 0; c < N; c++)
        for (int k = 0; k < T_KINDS; k++)
            e[k] += time_err[c][k];
    printf("time: TSC passed around %d cpus x %u: never behind the sender's %s, never backwards %s\n",
           N, TIME_ROUNDS, e[T_BEHIND] || e[T_TOKEN] ? "WRONG" : "ok", e[T_BACKWARDS] ? "WRONG" : "ok");
    printf("time: APIC timer on every cpu: one-shot fires once %s, periodic fires until masked %s\n",
           e[T_ONESHOT] ? "WRONG" : "ok", e[T_PERIODIC] ? "WRONG" : "ok");
    for (int k = 0; k < T_KINDS; k++)
        if (e[k])
            smp_failed = 1;
}


/* ================= (i) the IOAPIC from every CPU ================= */
#define IOAPIC_MMIO 0xfec00000u
static volatile uint32_t ioapic_turn PAGE;

static uint32_t ioapic_reg(uint32_t reg, int write, uint32_t v)
{
    *(volatile uint32_t *)IOAPIC_MMIO = reg;                 /* IOREGSEL */
    if (write)
        *(volatile uint32_t *)(IOAPIC_MMIO + 0x10) = v;      /* IOWIN */
    return *(volatile uint32_t *)(IOAPIC_MMIO + 0x10);
}

/* In turn (IOREGSEL is one register for all CPUs): the version
 * register's last entry (23), and pin 8 + me masked with a vector of
 * this CPU's, read back, then the reset value again. */
static void t_ioapic(int me)
{
    for (uint32_t n = 0; ioapic_turn != (uint32_t)me; n++) {
        if (smp_stop(me) || n > SPIN_LIMIT)
            return;
        cpu_relax();
    }
    uint32_t pin = 8 + (uint32_t)me, entry = 0x10000u | (0x50u + (uint32_t)me);
    uint32_t last = ioapic_reg(1, 0, 0) >> 16 & 0xff;
    uint32_t back = ioapic_reg(0x10 + 2 * pin, 1, entry);
    ioapic_reg(0x10 + 2 * pin, 1, 0x10000u);
    res[me][0] = last == 23 && back == entry;
    ioapic_turn = (uint32_t)me + 1;
}

static void test_ioapic(void)
{
    for (int i = 0; i < N; i++)
        res[i][0] = 0;
    ioapic_turn = 0;
    run("ioapic", t_ioapic);
    int ok = ioapic_turn == (uint32_t)N;
    for (int i = 0; i < N; i++)
        ok &= res[i][0] == 1;
    printf("ioapic: every cpu in turn read the version and wrote and read back a "
           "redirection entry: %s\n", ok ? "ok" : "WRONG");
    if (!ok)
        smp_failed = 1;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    cmdline = mb_cmdline(mbi);
    pic_remap(0x20, 0x28);      /* all 8259 inputs masked */
    smc_patch = has_word("smc-patch");
    smp_init(mbi);
    N = smp.ncpus;
    printf("smp: cpus: %d\n", N);
    if (has_word("verbose"))
        printf("smp: found by %s\n", smp.source);
    printf("smp: %d APs started by INIT-SIPI-SIPI, APIC IDs:", N - 1);
    for (int i = 0; i < N; i++)
        printf(" %u", smp.apic_id[i]);
    printf("\n");

    if (wanted("count"))
        test_count();
    if (wanted("lock"))
        test_lock();
    if (wanted("ring"))
        test_ring();
    if (wanted("false"))
        test_false();
    if (wanted("ipi"))
        test_ipi();
    if (wanted("smc"))
        test_smc();
    if (wanted("modes"))
        test_modes();
    if (wanted("time"))
        test_time();
    if (wanted("ioapic"))
        test_ioapic();
    if (smp_failed)
        fail(0x21, "smp: a test failed (see above)");
    printf("smp done\n");
    return 0;
}
