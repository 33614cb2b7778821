/* test_dsm.c - the DSM coherence protocol (src/mem/dsm.c) over the
 * in-process fake transport (src/mem/dsm_fake.c): N simulated ranks as
 * coroutines, random schedules, random message delays and orders.
 *
 * After every scheduler step the checker verifies:
 *  - at most one rank holds a page writable, and then nobody else holds
 *    it readable (also for what each simulated CPU's "TLB" believes);
 *  - no CPU's TLB allows more than the DSM state (on_lose ran before the
 *    page was taken away);
 *  - every valid copy holds the last written values, and every read a
 *    simulated CPU makes returns the last completed write;
 *  - an unlocked directory entry matches the ranks' states exactly, but
 *    for the copyset bit of a rank inside a lock-free join of that page
 *    (dsm_join_pending: its bit may precede its copy, docs/dsm.md); with
 *    the combined layout (copyset in the meta word) the separate copyset
 *    words stay zero;
 *  - a page whose entry is untouched has no copy anywhere, and its bytes
 *    in every rank's copy area are still the fake's garbage (nobody wrote
 *    there: no eager zeroing, no get or push of the page). Every copy area
 *    starts as garbage (dsm_fake.h), and the model's initial value of
 *    every word is 0, so a rank that read a page nobody installed fails
 *    the value checks.
 * Both directory layouts run: by default the layout alternates with the
 * seed (combined for nranks <= DSM_COMBINED_MAX_RANKS, or forced split).
 * Every operation must complete within a bound of steps (no deadlock),
 * and at the end no message is left and no rank saw a protocol error. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem/dsm.h"
#include "mem/dsm_fake.h"

#define NWORDS 4
static const size_t word_off[NWORDS] = {0, 8, 2048, 4088};

#define OP_STEP_BOUND 200000u   /* steps one operation may take */
#define RUN_STEP_BOUND 20000000u

struct sim;
struct rank_ctx {
    struct sim *s;
    int rank;
};

struct sim {
    struct dsm_fake *f;
    int n;
    uint64_t npages;
    struct dsm **d;
    struct rank_ctx *rc;
    uint8_t **tlb;               /* [rank][page]: what that CPU may do */
    uint64_t *model;             /* [page*NWORDS + w]: last written value */
    uint64_t seq;
    /* random workload */
    int ops;
    uint64_t hot;                /* pages used: 0..hot-1 */
    int write_pct, pair_pct, poll_pct, yield_pct;
    int finished;
    uint64_t max_op_steps;
    /* scripted workloads */
    int phase, phase_done;
    /* failures */
    bool buggy_lose;             /* test the checker: on_lose forgets the TLB */
    long errors;
    char msg[256];
    /* observations */
    bool both_locked_seen;
    uint64_t counter_incs;
};

__attribute__((format(printf, 2, 3)))
static void fail(struct sim *s, const char *fmt, ...)
{
    if (s->errors++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->msg, sizeof s->msg, fmt, ap);
        va_end(ap);
    }
}

static void on_lose(void *arg, uint64_t page, enum dsm_state ns)
{
    struct rank_ctx *rc = arg;
    struct sim *s = rc->s;
    if (dsm_state(s->d[rc->rank], page) <= ns)
        fail(s, "on_lose(%llu, %d) at rank %d with state %d", (unsigned long long)page, ns,
             rc->rank, dsm_state(s->d[rc->rank], page));
    if (!s->buggy_lose && s->tlb[rc->rank][page] > ns)
        s->tlb[rc->rank][page] = (uint8_t)ns;
}

struct sim_config {
    int nranks;
    uint64_t npages;
    uint64_t seed;
    unsigned max_delay, rma_yield_pct;
    bool pull;
    /* read-fault join policy; by default it cycles with the seed so that
     * every test runs the adaptive, always-join and lock-only paths */
    bool join_set;
    enum dsm_join_policy join;
    /* TAKE policy (faults served by the home as owner): by default it
     * cycles with the seed too (seed % 3: adaptive, always, never) */
    bool take_set;
    enum dsm_take_policy take;
    uint64_t rma_ns;           /* the fake transport's rule-9 answer (0: none) */
    /* directory layout: by default it alternates with the seed (split
     * for (seed / 6) odd), independent of pull and the join policy */
    bool split_set;
    bool split;
    /* migratory prediction: by default on for (seed / 12) odd */
    bool mig_set;
    bool migratory;
};

static bool sim_split(const struct sim_config *c)
{
    return c->split_set ? c->split : (c->seed / 6) % 2 == 1;
}

static struct sim *sim_new(const struct sim_config *c)
{
    struct sim *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    struct dsm_fake_config fc = {
        .nranks = c->nranks,
        .ram_bytes = c->npages * DSM_PAGE_SIZE,
        .seed = c->seed,
        .max_delay = c->max_delay,
        .rma_yield_pct = c->rma_yield_pct,
        .stack_bytes = 64 * 1024,
        .rma_ns = c->rma_ns,
    };
    s->f = dsm_fake_create(&fc);
    cr_assert_not_null(s->f);
    s->n = c->nranks;
    s->npages = c->npages;
    s->d = calloc((size_t)s->n, sizeof *s->d);
    s->rc = calloc((size_t)s->n, sizeof *s->rc);
    s->tlb = calloc((size_t)s->n, sizeof *s->tlb);
    s->model = calloc(c->npages * NWORDS, sizeof *s->model);
    cr_assert(s->d && s->rc && s->tlb && s->model);
    for (int r = 0; r < s->n; r++) {
        s->rc[r] = (struct rank_ctx){.s = s, .rank = r};
        struct dsm_config dc = {.pull = c->pull, .on_lose = on_lose, .on_lose_arg = &s->rc[r]};
        dc.join = c->join_set ? c->join : (enum dsm_join_policy)((c->seed / 2) % 3);
        dc.take = c->take_set ? c->take : (enum dsm_take_policy)(c->seed % 3);
        dc.split_copyset = sim_split(c);
        dc.migratory = c->mig_set ? c->migratory : (c->seed / 12) % 2 == 1;
        s->d[r] = dsm_create(dsm_fake_transport(s->f, r), &dc);
        cr_assert_not_null(s->d[r]);
        cr_assert_eq(dsm_copyset_in_meta(s->d[r]),
                     !dc.split_copyset && c->nranks <= DSM_COMBINED_MAX_RANKS);
        s->tlb[r] = calloc(c->npages, 1);
        cr_assert_not_null(s->tlb[r]);
    }
    return s;
}

static void sim_free(struct sim *s)
{
    for (int r = 0; r < s->n; r++) {
        dsm_free(s->d[r]);
        free(s->tlb[r]);
    }
    dsm_fake_free(s->f);
    free(s->d);
    free(s->rc);
    free(s->tlb);
    free(s->model);
    free(s);
}

/* ---- the checker ---- */

/* Is rank r in the copyset of the entry at (home, idx) whose meta word
 * is meta? */
static bool in_copyset(struct sim *s, int home, size_t idx, uint64_t meta, int r)
{
    if (dsm_copyset_in_meta(s->d[0]))
        return (meta & dsm_meta_cs_bit(r)) != 0;
    uint64_t csw = dsm_fake_dir_word(s->f, home, idx + 1 + (size_t)r / 64);
    return (csw >> (r % 64)) & 1;
}

static void check_page(struct sim *s, uint64_t p)
{
    int writers = 0, readers = 0, tlb_w = 0, tlb_r = 0;
    for (int r = 0; r < s->n; r++) {
        enum dsm_state st = dsm_state(s->d[r], p);
        uint8_t tl = s->tlb[r][p];
        if (tl > st)
            fail(s, "page %llu: rank %d TLB allows %d but state is %d",
                 (unsigned long long)p, r, tl, st);
        writers += st == DSM_WRITE;
        readers += st == DSM_READ;
        tlb_w += tl == DSM_WRITE;
        tlb_r += tl == DSM_READ;
        if (st != DSM_INVALID) {
            const uint8_t *pg = dsm_page_ptr(s->d[r], p);
            for (int w = 0; w < NWORDS; w++) {
                uint64_t v;
                memcpy(&v, pg + word_off[w], 8);
                if (v != s->model[p * NWORDS + w])
                    fail(s, "page %llu word %d: rank %d (state %d) holds %llu, last write %llu",
                         (unsigned long long)p, w, r, st, (unsigned long long)v,
                         (unsigned long long)s->model[p * NWORDS + w]);
            }
        }
    }
    if (writers > 1 || (writers == 1 && readers > 0))
        fail(s, "page %llu: %d writers and %d readers", (unsigned long long)p, writers, readers);
    if (tlb_w > 1 || (tlb_w == 1 && tlb_r > 0))
        fail(s, "page %llu: TLBs: %d writers and %d readers", (unsigned long long)p, tlb_w, tlb_r);

    /* an unlocked directory entry describes the states exactly */
    int home = dsm_home(p, s->n);
    size_t idx = dsm_dir_index(p, s->n);
    uint64_t meta = dsm_fake_dir_word(s->f, home, idx);
    if (meta & DSM_META_LOCKED)
        return;
    int owner = dsm_meta_owner(meta);
    if (owner >= s->n) {
        fail(s, "page %llu: owner %d out of range", (unsigned long long)p, owner);
        return;
    }
    if (dsm_meta_untouched(meta)) {
        /* nobody ever had it: every copy area still holds the garbage
         * it started with (a rank inside its first fault of the page
         * has the entry locked until its copy is in place) */
        for (int r = 0; r < s->n; r++) {
            const uint8_t *pg = dsm_fake_ram(s->f, r) + p * DSM_PAGE_SIZE;
            for (int w = 0; w < NWORDS; w++)
                if (pg[word_off[w]] != DSM_FAKE_GARBAGE(r) ||
                    pg[word_off[w] + 7] != DSM_FAKE_GARBAGE(r))
                    fail(s, "page %llu: untouched, but rank %d's copy area was written",
                         (unsigned long long)p, r);
        }
    }
    if (dsm_copyset_in_meta(s->d[0])) {
        /* no bits beyond the ranks; separate copyset words unused */
        if (meta & DSM_META_CS_MASK & ~(((1ull << s->n) - 1) << DSM_META_CS_SHIFT))
            fail(s, "page %llu: meta %#llx has copyset bits beyond %d ranks",
                 (unsigned long long)p, (unsigned long long)meta, s->n);
        for (size_t w = 1; w < dsm_entry_words(s->n); w++)
            if (dsm_fake_dir_word(s->f, home, idx + w) != 0)
                fail(s, "page %llu: combined layout but copyset word %zu is set",
                     (unsigned long long)p, w - 1);
    } else if (meta & ~(DSM_META_LOCKED | DSM_META_SHARED | DSM_META_OWNER_MASK)) {
        fail(s, "page %llu: split layout but meta %#llx has reserved bits",
             (unsigned long long)p, (unsigned long long)meta);
    }
    for (int r = 0; r < s->n; r++) {
        bool in_cs = in_copyset(s, home, idx, meta, r);
        enum dsm_state st = dsm_state(s->d[r], p);
        enum dsm_state want;
        /* a joining rank's bit may be set before its copy is valid (and
         * stay set, in any entry state, until it withdraws it) */
        if (in_cs && st == DSM_INVALID && dsm_join_pending(s->d[r], p))
            continue;
        if (meta & DSM_META_SHARED)
            want = in_cs ? DSM_READ : DSM_INVALID;
        else
            want = r == owner ? DSM_WRITE : DSM_INVALID;
        if (!(meta & DSM_META_SHARED) && in_cs)
            fail(s, "page %llu: exclusive but rank %d in copyset", (unsigned long long)p, r);
        if (st != want)
            fail(s, "page %llu: directory %#llx says rank %d is %d, it is %d",
                 (unsigned long long)p, (unsigned long long)meta, r, want, st);
    }
    if (meta & DSM_META_SHARED) {
        if (!in_copyset(s, home, idx, meta, owner))
            fail(s, "page %llu: shared but owner %d not in copyset", (unsigned long long)p, owner);
    }
}

static void check_all(struct sim *s)
{
    for (uint64_t p = 0; p < s->npages; p++)
        check_page(s, p);
}

/* Run the tasks to the end, checking after every step. */
static void run(struct sim *s)
{
    while (dsm_fake_step(s->f) > 0) {
        check_all(s);
        if (s->n >= 2) {
            /* do two ranks ever hold a directory lock each at once? */
            int locked = 0;
            for (uint64_t p = 0; p < s->npages && p < 64; p++)
                locked += (dsm_fake_dir_word(s->f, dsm_home(p, s->n), dsm_dir_index(p, s->n)) &
                           DSM_META_LOCKED) != 0;
            if (locked >= 2)
                s->both_locked_seen = true;
        }
        if (s->errors)
            break;
        if (dsm_fake_steps(s->f) > RUN_STEP_BOUND) {
            fail(s, "no progress after %u steps (deadlock?)", RUN_STEP_BOUND);
            break;
        }
    }
}

static void expect_clean(struct sim *s)
{
    cr_assert_eq(s->errors, 0, "%ld errors, first: %s", s->errors, s->msg);
    cr_assert_eq(dsm_fake_in_flight(s->f), 0, "messages left undelivered");
    for (int r = 0; r < s->n; r++)
        cr_assert_eq(dsm_get_stats(s->d[r])->protocol_errors, 0, "rank %d protocol errors", r);
    cr_assert_lt(s->max_op_steps, OP_STEP_BOUND);
}

/* ---- simulated CPU helpers (run inside tasks) ---- */

static struct dsm *D(struct sim *s, int r)
{
    return s->d[r];
}

/* Make page accessible to this CPU (fault if its TLB does not allow it). */
static void cpu_need(struct sim *s, int r, uint64_t p, bool write)
{
    enum dsm_state need = write ? DSM_WRITE : DSM_READ;
    if (s->tlb[r][p] >= need)
        return;
    uint64_t t0 = dsm_fake_steps(s->f);
    int rc = write ? dsm_write_fault(D(s, r), p) : dsm_read_fault(D(s, r), p);
    if (rc != 0)
        fail(s, "fault returned %d", rc);
    if (dsm_state(D(s, r), p) < need)
        fail(s, "rank %d page %llu: fault returned with state %d", r,
             (unsigned long long)p, dsm_state(D(s, r), p));
    s->tlb[r][p] = (uint8_t)dsm_state(D(s, r), p);
    uint64_t dt = dsm_fake_steps(s->f) - t0;
    if (dt > s->max_op_steps)
        s->max_op_steps = dt;
}

static uint64_t cpu_read(struct sim *s, int r, uint64_t p, int w)
{
    cpu_need(s, r, p, false);
    uint64_t v;
    memcpy(&v, dsm_page_ptr(D(s, r), p) + word_off[w], 8);
    if (v != s->model[p * NWORDS + w])
        fail(s, "rank %d read page %llu word %d = %llu, last write %llu", r,
             (unsigned long long)p, w, (unsigned long long)v,
             (unsigned long long)s->model[p * NWORDS + w]);
    return v;
}

static void cpu_write(struct sim *s, int r, uint64_t p, int w, uint64_t v)
{
    cpu_need(s, r, p, true);
    memcpy(dsm_page_ptr(D(s, r), p) + word_off[w], &v, 8);
    s->model[p * NWORDS + w] = v;
}

/* Serve others until cond holds (a rank waiting for something else). */
#define SERVE_UNTIL(s, r, cond)                      \
    do {                                             \
        while (!(cond)) {                            \
            dsm_poll(D(s, r));                       \
            dsm_fake_yield((s)->f);                  \
        }                                            \
    } while (0)

static void finish_task(struct sim *s, int r)
{
    s->finished++;
    SERVE_UNTIL(s, r, s->finished == s->n);
}

/* ---- random workload ---- */

/* An access straddling pages a and b as the CPU makes it
 * (src/cpu/coherence.c): fault each in turn; if a was taken away while
 * b's fault waited, the instruction restarts and faults again, until both
 * are writable at once. 0 or -1. */
static int fault_straddling(struct dsm *d, uint64_t a, uint64_t b)
{
    for (;;) {
        if (dsm_state(d, a) != DSM_WRITE && dsm_write_fault(d, a) < 0)
            return -1;
        if (dsm_state(d, b) != DSM_WRITE && dsm_write_fault(d, b) < 0)
            return -1;
        if (dsm_state(d, a) == DSM_WRITE && dsm_state(d, b) == DSM_WRITE)
            return 0;
    }
}

static void random_task(void *arg, int r)
{
    struct sim *s = arg;
    struct dsm_fake *f = s->f;
    for (int i = 0; i < s->ops && !s->errors; i++) {
        uint64_t p = dsm_fake_rand(f) % s->hot;
        int w = (int)(dsm_fake_rand(f) % NWORDS);
        int kind = (int)(dsm_fake_rand(f) % 100);
        if (kind < s->pair_pct && p + 1 < s->npages) {
            /* an access straddling pages p and p+1: both writable at once */
            uint64_t t0 = dsm_fake_steps(f);
            if (fault_straddling(D(s, r), p, p + 1) != 0)
                fail(s, "a straddling access's faults failed");
            uint64_t dt = dsm_fake_steps(f) - t0;
            if (dt > s->max_op_steps)
                s->max_op_steps = dt;
            if (dsm_state(D(s, r), p) != DSM_WRITE || dsm_state(D(s, r), p + 1) != DSM_WRITE)
                fail(s, "a straddling access went on without both pages writable");
            s->tlb[r][p] = s->tlb[r][p + 1] = DSM_WRITE;
            uint64_t v = ++s->seq;
            cpu_write(s, r, p, NWORDS - 1, v);
            cpu_write(s, r, p + 1, 0, v);
        } else if (kind < s->pair_pct + s->write_pct) {
            cpu_write(s, r, p, w, ++s->seq);
        } else {
            cpu_read(s, r, p, w);
        }
        if ((int)(dsm_fake_rand(f) % 100) < s->poll_pct)
            dsm_poll(D(s, r));
        if ((int)(dsm_fake_rand(f) % 100) < s->yield_pct)
            dsm_fake_yield(f);
    }
    finish_task(s, r);
}

/* lock-free joins seen by run_random (summed over its runs), by layout
 * ([0] combined, [1] split) */
static struct {
    uint64_t joins, fallbacks, invals, runs;
} join_seen[2];
static struct {
    uint64_t granted, joined, refused, invalidated, served, joins_served, forwarded;
} take_seen;

static void run_random(const struct sim_config *c, int ops, uint64_t hot, int write_pct, int pair_pct)
{
    struct sim *s = sim_new(c);
    s->ops = ops;
    s->hot = hot;
    s->write_pct = write_pct;
    s->pair_pct = pair_pct;
    s->poll_pct = 30;
    s->yield_pct = 40;
    for (int r = 0; r < s->n; r++)
        cr_assert_eq(dsm_fake_spawn(s->f, r, random_task, s), 0);
    run(s);
    if (s->errors)
        cr_log_error("seed %llu nranks %d pull %d split %d", (unsigned long long)c->seed,
                     c->nranks, c->pull, !dsm_copyset_in_meta(s->d[0]));
    expect_clean(s);
    cr_assert_eq(s->finished, s->n);
    int l = !dsm_copyset_in_meta(s->d[0]);
    join_seen[l].runs++;
    for (int r = 0; r < s->n; r++) {
        const struct dsm_stats *st = dsm_get_stats(s->d[r]);
        join_seen[l].joins += st->joins;
        join_seen[l].fallbacks += st->join_fallbacks;
        join_seen[l].invals += st->join_invals;
        take_seen.granted += st->takes_granted;
        take_seen.joined += st->takes_joined;
        take_seen.refused += st->takes_refused;
        take_seen.invalidated += st->takes_invalidated;
        take_seen.served += st->takes_served;
        take_seen.joins_served += st->joins_served;
        take_seen.forwarded += st->takes_forwarded;
    }
    sim_free(s);
}

Test(dsm_random, small_hot_set_many_seeds)
{
    for (uint64_t seed = 1; seed <= 60; seed++) {
        struct sim_config c = {
            .nranks = 2 + (int)(seed % 4), .npages = 8, .seed = seed,
            .max_delay = (unsigned)(seed % 7) * 3, .rma_yield_pct = (unsigned)(seed % 5) * 15,
            .pull = seed % 2,
        };
        run_random(&c, 300, 4, 40, 0);
    }
}

Test(dsm_random, read_mostly)
{
    for (uint64_t seed = 100; seed < 120; seed++) {
        struct sim_config c = {.nranks = 4, .npages = 16, .seed = seed,
                               .max_delay = 10, .rma_yield_pct = 30, .pull = seed % 2};
        run_random(&c, 500, 16, 10, 0);
    }
}

Test(dsm_random, write_heavy_single_page)
{
    for (uint64_t seed = 200; seed < 220; seed++) {
        struct sim_config c = {.nranks = 3 + (int)(seed % 3), .npages = 2, .seed = seed,
                               .max_delay = 5, .rma_yield_pct = 50, .pull = seed % 2};
        run_random(&c, 300, 1, 90, 0);
    }
}

Test(dsm_random, straddling_pairs)
{
    for (uint64_t seed = 300; seed < 320; seed++) {
        struct sim_config c = {.nranks = 2 + (int)(seed % 3), .npages = 6, .seed = seed,
                               .max_delay = 4, .rma_yield_pct = 25, .pull = seed % 2};
        run_random(&c, 200, 5, 30, 30);
    }
}

Test(dsm_random, seventy_ranks_multiword_copyset)
{
    cr_assert_eq(dsm_copyset_words(70), 2);
    for (uint64_t seed = 400; seed < 403; seed++) {
        struct sim_config c = {.nranks = 70, .npages = 6, .seed = seed,
                               .max_delay = 8, .rma_yield_pct = 20, .pull = seed % 2};
        run_random(&c, 40, 3, 20, 0);   /* split: more ranks than meta bits */
    }
}

/* The largest combined layout: the copyset fills bits 17..62 of the meta
 * word, next to the lock bit; and one rank more takes the split layout. */
Test(dsm_random, combined_layout_at_its_limit)
{
    for (uint64_t seed = 410; seed < 414; seed++) {
        struct sim_config c = {.nranks = DSM_COMBINED_MAX_RANKS + (int)(seed % 2), .npages = 6,
                               .seed = seed, .max_delay = 8, .rma_yield_pct = 20,
                               .pull = seed % 2, .split_set = true, .split = false};
        run_random(&c, 40, 3, 20, 0);
    }
}

/* Every read fault tries the lock-free join, on few pages with many
 * writes, slow RMA (yields before each call takes effect) and delayed
 * messages: joins that succeed, joins that find the entry locked or
 * exclusive and fall back, and writers that take a joining rank's bit
 * and invalidate it before it has a copy must all happen, with every
 * invariant holding after every step. */
Test(dsm_random, lockfree_join_races)
{
    memset(&join_seen, 0, sizeof join_seen);
    for (uint64_t seed = 500; seed < 548; seed++) {
        struct sim_config c = {.nranks = 3 + (int)(seed % 3), .npages = 3, .seed = seed,
                               .max_delay = (unsigned)(seed % 4) * 3,
                               .rma_yield_pct = 30 + (unsigned)(seed % 3) * 20,
                               .pull = seed % 2, .join_set = true, .join = DSM_JOIN_ALWAYS};
        run_random(&c, 300, 2, 30 + (int)(seed % 4) * 10, (int)(seed % 2) * 20);
    }
    for (int l = 0; l < 2; l++) {
        cr_log_info("%s layout: %llu runs, joins %llu fallbacks %llu invalidated while joining %llu",
                    l ? "split" : "combined", (unsigned long long)join_seen[l].runs,
                    (unsigned long long)join_seen[l].joins,
                    (unsigned long long)join_seen[l].fallbacks,
                    (unsigned long long)join_seen[l].invals);
        cr_assert_gt(join_seen[l].runs, 0);
        cr_assert_gt(join_seen[l].joins, 0);
        cr_assert_gt(join_seen[l].fallbacks, 0);
    }
    /* split layout: a writer can take the bit of a join that is about
     * to withdraw it; combined: a failed join's bit only ever sits in a
     * locked or exclusive entry, whose holder drops it, and a successful
     * join is READ before it next polls (docs/dsm.md) */
    cr_assert_gt(join_seen[1].invals, 0, "no writer ever invalidated a joining rank");
    cr_assert_eq(join_seen[0].invals, 0, "combined layout: a joining rank was invalidated");
}

/* Every fault of a page this rank holds no copy of, homed elsewhere, asks
 * the home to serve it (TAKE), on few pages, with slow RMA and delayed
 * messages: grants for reading and writing (by the home and by an owner
 * the home forwarded to), joins of shared pages (answered by the home or
 * the owner), INVALIDATEs that reach a reader whose joined page is still
 * on its way, refusals (the entry is locked, the home's own fault on the
 * page is in progress, other readers, a forwarded owner that lost its
 * copy) and the lock path after them must all happen, mixed with joins
 * and locked faults, every invariant holding after every step; every
 * GRANT and JOINED a requester counts is one a home or owner sent. */
Test(dsm_random, take_races)
{
    memset(&take_seen, 0, sizeof take_seen);
    for (uint64_t seed = 600; seed < 640; seed++) {
        struct sim_config c = {.nranks = 2 + (int)(seed % 3), .npages = 3 + seed % 2, .seed = seed,
                               .max_delay = (unsigned)(seed % 4) * 3,
                               .rma_yield_pct = 20 + (unsigned)(seed % 3) * 20,
                               .pull = seed % 2, .take_set = true, .take = DSM_TAKE_ALWAYS,
                               .split_set = true, .split = false};
        run_random(&c, 300, 2 + seed % 2, 20 + (int)(seed % 4) * 15, (int)(seed % 2) * 20);
    }
    cr_log_info("takes: granted %llu joined %llu refused %llu invalidated %llu; "
                "served %llu joins served %llu forwarded %llu",
                (unsigned long long)take_seen.granted, (unsigned long long)take_seen.joined,
                (unsigned long long)take_seen.refused, (unsigned long long)take_seen.invalidated,
                (unsigned long long)take_seen.served, (unsigned long long)take_seen.joins_served,
                (unsigned long long)take_seen.forwarded);
    cr_assert_gt(take_seen.granted, 0);
    cr_assert_gt(take_seen.joined, 0);
    cr_assert_gt(take_seen.refused, 0);
    cr_assert_gt(take_seen.invalidated, 0);
    cr_assert_gt(take_seen.forwarded, 0);
    cr_assert_eq(take_seen.granted, take_seen.served);
    cr_assert_eq(take_seen.joined, take_seen.joins_served);
}

/* ---- the checker itself catches a broken CPU layer ---- */

Test(dsm_checker, detects_tlb_kept_after_invalidation)
{
    struct sim_config c = {.nranks = 3, .npages = 2, .seed = 7, .max_delay = 2};
    struct sim *s = sim_new(&c);
    s->buggy_lose = true;
    s->ops = 200;
    s->hot = 1;
    s->write_pct = 50;
    s->poll_pct = 30;
    s->yield_pct = 40;
    for (int r = 0; r < s->n; r++)
        dsm_fake_spawn(s->f, r, random_task, s);
    run(s);
    cr_assert_gt(s->errors, 0, "a CPU that keeps stale TLB entries must be caught");
    sim_free(s);
}

/* ---- scripted scenarios ---- */

/* Phases: every rank runs step(s, r, k) for k = 0.. in lockstep; rank
 * tasks serve others while they wait for the next phase. */
typedef void (*phase_fn)(struct sim *s, int r, int k);
struct script {
    struct sim *s;
    phase_fn fn;
    int nphases;
};

static void script_task(void *arg, int r)
{
    struct script *sc = arg;
    struct sim *s = sc->s;
    for (int k = 0; k < sc->nphases; k++) {
        SERVE_UNTIL(s, r, s->phase == k);
        sc->fn(s, r, k);
        if (++s->phase_done == s->n) {
            s->phase_done = 0;
            s->phase++;
        }
    }
    finish_task(s, r);
}

static void run_script(struct sim *s, phase_fn fn, int nphases)
{
    struct script sc = {.s = s, .fn = fn, .nphases = nphases};
    for (int r = 0; r < s->n; r++)
        cr_assert_eq(dsm_fake_spawn(s->f, r, script_task, &sc), 0);
    run(s);
    expect_clean(s);
    cr_assert_eq(s->phase, nphases);
}

/* Two ranks, each owning one page, write-fault each other's page at once. */
static void cross_fn(struct sim *s, int r, int k)
{
    if (k == 0)
        cpu_write(s, r, (uint64_t)r, 0, 1000 + (uint64_t)r);   /* rank r takes page r */
    if (k == 1)
        cpu_write(s, r, (uint64_t)(1 - r), 1, 2000 + (uint64_t)r);   /* swap */
    if (k == 2) {
        cpu_read(s, r, 0, 1);
        cpu_read(s, r, 1, 0);
        cpu_read(s, r, 1, 1);
    }
}

Test(dsm_scenario, cross_write_faults)
{
    bool seen = false;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        struct sim_config c = {.nranks = 2, .npages = 2, .seed = seed,
                               .max_delay = (unsigned)seed % 6, .rma_yield_pct = 60,
                               .pull = seed % 2};
        struct sim *s = sim_new(&c);
        run_script(s, cross_fn, 3);
        seen |= s->both_locked_seen;
        cr_assert_eq(dsm_state(s->d[0], 1), DSM_READ);
        cr_assert_eq(s->model[0 * NWORDS + 1], 2001);
        cr_assert_eq(s->model[1 * NWORDS + 1], 2000);
        cr_assert_eq(s->model[1 * NWORDS + 0], 1001);
        cr_assert_eq(s->model[0 * NWORDS + 0], 1000);
        /* each swap write had one copy to drop: a lone INVALIDATE each */
        for (int r = 0; r < 2; r++) {
            const struct dsm_stats *st = dsm_get_stats(s->d[r]);
            cr_assert_eq(st->request[DSM_RQ_INVALIDATE].n, st->inval_sent, "rank %d", r);
            cr_assert_eq(st->request[DSM_RQ_INVALIDATE_MANY].n, 0, "rank %d", r);
        }
        sim_free(s);
    }
    cr_assert(seen, "no schedule had both ranks holding a directory lock at once");
}

/* Four ranks read-share a page; then one write invalidates all readers. */
static void share_fn(struct sim *s, int r, int k)
{
    if (k == 0 && r == 0)
        cpu_write(s, r, 5, 2, 77);
    if (k == 1 && r != 0)
        cpu_read(s, r, 5, 2);
    if (k == 2 && r == 2)
        cpu_write(s, r, 5, 3, 78);
}

Test(dsm_scenario, read_sharing_then_write_invalidates_all)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct sim_config c = {.nranks = 4, .npages = 8, .seed = seed, .max_delay = 5,
                               .rma_yield_pct = 30, .pull = seed % 2};
        struct sim *s = sim_new(&c);
        run_script(s, share_fn, 3);
        cr_assert_eq(dsm_state(s->d[2], 5), DSM_WRITE);
        for (int r = 0; r < 4; r++) {
            const struct dsm_stats *st = dsm_get_stats(s->d[r]);
            if (r != 2) {
                cr_assert_eq(dsm_state(s->d[r], 5), DSM_INVALID);
                cr_assert_eq(st->inval_recv, 1, "rank %d", r);
            }
            if (r != 0)
                cr_assert_eq(st->read_faults, 1, "rank %d", r);
        }
        const struct dsm_stats *w = dsm_get_stats(s->d[2]);
        cr_assert_eq(w->inval_sent, 3);
        /* one round of three: timed as invalidate-many, each from its send */
        cr_assert_eq(w->request[DSM_RQ_INVALIDATE_MANY].n, 3);
        cr_assert_eq(w->request[DSM_RQ_INVALIDATE].n, 0);
        cr_assert_leq(w->request[DSM_RQ_INVALIDATE_MANY].ns_max, w->fault_ns_max);
        cr_assert_eq(w->upgrades, 1);
        cr_assert_eq(dsm_get_stats(s->d[0])->downgrade_recv, 1);
        sim_free(s);
    }
}

/* The adaptive TAKE policy asks only a home last seen owning the page
 * exclusively. 2 ranks, 8 pages, all written by rank 0 first (untouched:
 * zero fills, by the lock path also at home 1: rank 0's hint says
 * untouched, and a write's TAKE needs a hint naming the home); rank 1
 * reads them: the 4 homed at rank 0 by TAKE (granted: rank 0 downgrades
 * itself), the 4 homed at rank 1 by the lock path; rank 0 writes them all
 * again (upgrades: no TAKE, it holds copies); rank 1 writes them: again 4
 * TAKEs. */
static void take_fn(struct sim *s, int r, int k)
{
    for (uint64_t p = 0; p < 8; p++) {
        if ((k == 0 || k == 2) && r == 0)
            cpu_write(s, r, p, 1, 100 * (uint64_t)k + p);
        if (k == 1 && r == 1)
            cpu_read(s, r, p, 1);
        if (k == 3 && r == 1)
            cpu_write(s, r, p, 2, 300 + p);
    }
}

/* take_fn on 2 ranks whose transport reports rma_ns (rule 9); every
 * page ends writable at rank 1; the ranks' statistics land in *st0, *st1 */
static void take_script(uint64_t seed, uint64_t rma_ns, struct dsm_stats *st0,
                        struct dsm_stats *st1)
{
    struct sim_config c = {.nranks = 2, .npages = 8, .seed = seed, .max_delay = 3,
                           .rma_yield_pct = 20, .pull = seed % 2, .rma_ns = rma_ns,
                           .take_set = true, .take = DSM_TAKE_ADAPTIVE,
                           .split_set = true, .split = false};
    struct sim *s = sim_new(&c);
    run_script(s, take_fn, 4);
    *st0 = *dsm_get_stats(s->d[0]);
    *st1 = *dsm_get_stats(s->d[1]);
    for (uint64_t p = 0; p < 8; p++)
        cr_assert_eq(dsm_state(s->d[1], p), DSM_WRITE);
    sim_free(s);
}

static struct dsm_stats take_st0, take_st1;

Test(dsm_take, adaptive_two_ranks)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        take_script(seed, 0, &take_st0, &take_st1);
        cr_assert_eq(take_st1.takes_granted, 8, "seed %llu: granted %llu",
                     (unsigned long long)seed, (unsigned long long)take_st1.takes_granted);
        cr_assert_eq(take_st1.takes_refused, 0);
        cr_assert_eq(take_st1.request[DSM_RQ_TAKE].n, 8);
        cr_assert_eq(take_st0.takes_served, 8);
        cr_assert_eq(take_st0.takes_granted + take_st0.takes_refused, 0);
        /* the lock path served the other 4 reads and 4 writes: one
         * DOWNGRADE and one INVALIDATE each, to rank 0 */
        cr_assert_eq(take_st1.downgrade_sent, 4);
        cr_assert_eq(take_st1.inval_sent, 4);
        /* rank 0's first writes: zero fills, no TAKE, nothing moved */
        cr_assert_eq(take_st0.kind[DSM_FK_ZERO].n, 8);
        cr_assert_eq(take_st0.request[DSM_RQ_TAKE].n, 0);
        cr_assert_eq(take_st1.kind[DSM_FK_ZERO].n, 0);
    }
}

/* The same with a home whose one-sided operations are cheap (transport
 * rule 9 says 100 ns, as osc/sm): the adaptive policy sends no TAKE,
 * every fault takes the lock path. */
Test(dsm_take, adaptive_near_home_uses_the_lock)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        take_script(seed, 100, &take_st0, &take_st1);
        cr_assert_eq(take_st1.request[DSM_RQ_TAKE].n, 0);
        cr_assert_eq(take_st0.takes_served, 0);
        cr_assert_eq(take_st1.downgrade_sent, 8);
        cr_assert_eq(take_st1.inval_sent, 8);
    }
}

/* The boundary of --take auto's rule with injected costs (what the MPI
 * transport measures at open, probe_rule.h): a home whose one-sided
 * operations cost 499 ns is near (lock path only), 500 ns is far (TAKEs),
 * whatever the host running the test. */
Test(dsm_take, adaptive_threshold_of_the_injected_cost)
{
    take_script(3, 499, &take_st0, &take_st1);
    cr_assert_eq(take_st1.request[DSM_RQ_TAKE].n, 0);
    take_script(3, 500, &take_st0, &take_st1);
    cr_assert_eq(take_st1.request[DSM_RQ_TAKE].n, 8);
}

/* The adaptive TAKE on 4 ranks, 8 pages (home = page mod 4), every
 * answer path once per home, counted exactly:
 *  k0 rank 0 writes every page (untouched: zero fills);
 *  k0b rank 3 writes pages 0 and 4 (homed at 0; its hint says untouched:
 *     no TAKE, the lock path: INVALIDATE to 0);
 *  k0c rank 0 writes them back (INVALIDATE to 3, whose hint becomes
 *     "exclusive at 0", the home);
 *  k1 rank 1 reads them: pages homed at 0 GRANTed by the home (which
 *     downgrades itself), homed at 2 and 3 forwarded to rank 0, which
 *     GRANTs (6); homed at itself: the lock path (a failed join, then
 *     DOWNGRADE, twice);
 *  k2 rank 2 reads them, now shared by {0, 1}: JOINED by homes 0 and 1
 *     from their own copies, by owner 0 for pages homed at 3 (forwarded),
 *     its own pages by the lock-free join;
 *  k3 rank 1 writes them (upgrades: INVALIDATEs to 0 and 2);
 *  k4 rank 3 writes them, its hint still "exclusive at 0" (stale) for
 *     the pages homed at 0: those by TAKE, which home 0 forwards to the
 *     owner, 1, which GRANTs (2); the others by the lock path (INVALIDATE
 *     to 1). */
static void take4_fn(struct sim *s, int r, int k)
{
    if (k == 1 || k == 2) {             /* k0b, k0c */
        if (r == (k == 1 ? 3 : 0))
            for (uint64_t p = 0; p < 8; p += 4)
                cpu_write(s, r, p, 3, 20 * (uint64_t)k + p);
        return;
    }
    if (k > 2)
        k -= 2;
    for (uint64_t p = 0; p < 8; p++) {
        if (k == 0 && r == 0)
            cpu_write(s, r, p, 0, 10 + p);
        if ((k == 1 && r == 1) || (k == 2 && r == 2))
            cpu_read(s, r, p, 0);
        if (k == 3 && r == 1)
            cpu_write(s, r, p, 1, 30 + p);
        if (k == 4 && r == 3)
            cpu_write(s, r, p, 2, 40 + p);
    }
}

Test(dsm_take, forwarded_and_joined_four_ranks)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct sim_config c = {.nranks = 4, .npages = 8, .seed = seed, .max_delay = 3,
                               .rma_yield_pct = 20, .pull = seed % 2,
                               .join_set = true, .join = DSM_JOIN_ADAPTIVE,
                               .take_set = true, .take = DSM_TAKE_ADAPTIVE,
                               .split_set = true, .split = false};
        struct sim *s = sim_new(&c);
        run_script(s, take4_fn, 7);
        const struct dsm_stats *st[4];
        for (int r = 0; r < 4; r++)
            st[r] = dsm_get_stats(s->d[r]);
        for (uint64_t p = 0; p < 8; p++)
            cr_assert_eq(dsm_state(s->d[3], p), DSM_WRITE);
        /* k1 */
        cr_assert_eq(st[1]->takes_granted, 6, "seed %llu", (unsigned long long)seed);
        cr_assert_eq(st[1]->downgrade_sent, 2);
        cr_assert_eq(st[0]->takes_served, 6);
        /* k2 */
        cr_assert_eq(st[2]->takes_joined, 6);
        cr_assert_eq(st[2]->joins, 2);
        cr_assert_eq(st[0]->joins_served, 4);
        cr_assert_eq(st[1]->joins_served, 2);
        /* k3, k4 */
        cr_assert_eq(st[1]->upgrades, 8);
        cr_assert_eq(st[1]->inval_sent, 16);
        cr_assert_eq(st[3]->takes_granted, 2);
        cr_assert_eq(st[3]->inval_sent, 2 + 6);
        cr_assert_eq(st[0]->inval_sent, 2);
        cr_assert_eq(st[0]->kind[DSM_FK_ZERO].n, 8);
        cr_assert_eq(st[1]->takes_served, 2);
        /* forwards, by home: 2 in k1 (ranks 2, 3), 2 in k2 (rank 3),
         * 2 in k4 (rank 0) */
        cr_assert_eq(st[0]->takes_forwarded, 2);
        cr_assert_eq(st[1]->takes_forwarded, 0);
        cr_assert_eq(st[2]->takes_forwarded, 2);
        cr_assert_eq(st[3]->takes_forwarded, 4);
        for (int r = 0; r < 4; r++) {
            cr_assert_eq(st[r]->takes_refused, 0, "rank %d", r);
            cr_assert_eq(st[r]->takes_invalidated, 0, "rank %d", r);
        }
        sim_free(s);
    }
}

/* ---- untouched pages: zero on first touch, nothing moved ---- */

/* Phase 0: every rank reads every page (its own random order, random
 * word): each must read 0 although every copy area started as garbage,
 * and exactly one fault per page in the whole cluster is a zero fill.
 * Phase 1: rank seed % n writes the even pages; phase 2: every rank reads
 * every page again (the written value on even pages, 0 on the others). */
static void zero_read_fn(struct sim *s, int r, int k)
{
    uint64_t order[16];
    for (uint64_t p = 0; p < s->npages; p++)
        order[p] = p;
    for (uint64_t i = s->npages - 1; i > 0; i--) {
        uint64_t j = dsm_fake_rand(s->f) % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    if (k == 1) {
        if (r == (int)(s->seq % (uint64_t)s->n))
            for (uint64_t p = 0; p < s->npages; p += 2)
                cpu_write(s, r, p, 1, 500 + p);
        return;
    }
    for (uint64_t i = 0; i < s->npages; i++)
        cpu_read(s, r, order[i], (int)(dsm_fake_rand(s->f) % NWORDS));
}

Test(dsm_zero, untouched_pages_read_as_zero_on_every_rank)
{
    for (uint64_t seed = 1; seed <= 36; seed++) {
        struct sim_config c = {.nranks = 2 + (int)(seed % 4), .npages = 12, .seed = seed,
                               .max_delay = (unsigned)(seed % 5) * 2,
                               .rma_yield_pct = (unsigned)(seed % 4) * 20, .pull = seed % 2};
        struct sim *s = sim_new(&c);
        s->seq = seed;          /* zero_read_fn: the writer is seed % n */
        run_script(s, zero_read_fn, 3);
        uint64_t zero = 0, moved_before = 0;
        for (int r = 0; r < s->n; r++) {
            zero += dsm_get_stats(s->d[r])->kind[DSM_FK_ZERO].n;
            moved_before += dsm_get_stats(s->d[r])->bytes_moved;
        }
        cr_assert_eq(zero, 12, "seed %llu: %llu zero fills for 12 pages",
                     (unsigned long long)seed, (unsigned long long)zero);
        for (uint64_t p = 0; p < 12; p++)
            cr_assert_eq(s->model[p * NWORDS + 1], p % 2 ? 0 : 500 + p);
        sim_free(s);
    }
}

/* First touches of distinct pages by every rank (reads and writes) need
 * no request, no data and no TAKE: each is a lock (or a zero GRANT), a
 * memset of the rank's own copy and an unlock; afterwards each rank owns
 * its pages exclusively, even the ones it only read. */
static void zero_own_fn(struct sim *s, int r, int k)
{
    (void)k;
    for (uint64_t p = (uint64_t)r; p < s->npages; p += (uint64_t)s->n) {
        if (p / (uint64_t)s->n % 2)
            cpu_read(s, r, p, 2);
        else
            cpu_write(s, r, p, 0, 700 + p);
    }
}

Test(dsm_zero, first_touches_move_nothing)
{
    for (uint64_t seed = 1; seed <= 24; seed++) {
        struct sim_config c = {.nranks = 2 + (int)(seed % 3), .npages = 12, .seed = seed,
                               .max_delay = 3, .rma_yield_pct = 30, .pull = seed % 2};
        struct sim *s = sim_new(&c);
        run_script(s, zero_own_fn, 1);
        for (int r = 0; r < s->n; r++) {
            const struct dsm_stats *st = dsm_get_stats(s->d[r]);
            cr_assert_eq(st->bytes_moved, 0, "seed %llu rank %d", (unsigned long long)seed, r);
            cr_assert_eq(st->inval_sent + st->downgrade_sent + st->request[DSM_RQ_TAKE].n, 0);
            cr_assert_eq(st->kind[DSM_FK_ZERO].n, st->read_faults + st->write_faults);
            for (uint64_t p = (uint64_t)r; p < 12; p += (uint64_t)s->n)
                cr_assert_eq(dsm_state(s->d[r], p), DSM_WRITE);
        }
        sim_free(s);
    }
}

/* A TAKE of an untouched page: the home locks the entry and GRANTs it
 * without data (flag ZERO); the requester zero-fills its own copy and
 * owns the page, also after a read. 2 ranks, far homes (the transport
 * reports no cost): rank 1 reads every page: the 4 homed at rank 0 by a
 * zero GRANT, the 4 homed at itself by the lock path's zero fill. */
static void zero_take_fn(struct sim *s, int r, int k)
{
    (void)k;
    if (r == 1)
        for (uint64_t p = 0; p < 8; p++)
            cpu_read(s, r, p, (int)(p % NWORDS));
}

Test(dsm_zero, take_of_untouched_page_is_granted_without_data)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct sim_config c = {.nranks = 2, .npages = 8, .seed = seed, .max_delay = 3,
                               .rma_yield_pct = 20, .pull = seed % 2,
                               .take_set = true, .take = DSM_TAKE_ADAPTIVE,
                               .split_set = true, .split = false};
        struct sim *s = sim_new(&c);
        run_script(s, zero_take_fn, 1);
        const struct dsm_stats *st0 = dsm_get_stats(s->d[0]), *st1 = dsm_get_stats(s->d[1]);
        cr_assert_eq(st1->takes_granted, 4, "seed %llu", (unsigned long long)seed);
        cr_assert_eq(st0->takes_served, 4);
        cr_assert_eq(st1->kind[DSM_FK_ZERO].n, 8);
        cr_assert_eq(st0->bytes_moved + st1->bytes_moved, 0);
        cr_assert_eq(st0->read_faults + st0->write_faults, 0);
        for (uint64_t p = 0; p < 8; p++) {
            cr_assert_eq(dsm_state(s->d[1], p), DSM_WRITE);
            cr_assert_eq(dsm_state(s->d[0], p), DSM_INVALID);
        }
        sim_free(s);
    }
}

/* Migratory data: ranks take turns incrementing a shared counter. */
#define PINGPONG_ROUNDS 30
static void pingpong_task(void *arg, int r)
{
    struct sim *s = arg;
    const uint64_t total = (uint64_t)PINGPONG_ROUNDS * (uint64_t)s->n;
    for (;;) {
        uint64_t v = cpu_read(s, r, 3, 0);
        if (v >= total)
            break;
        if (v % (uint64_t)s->n == (uint64_t)r) {
            cpu_write(s, r, 3, 0, v + 1);   /* nobody else writes on my turn */
        } else {
            dsm_poll(D(s, r));
            dsm_fake_yield(s->f);
        }
    }
    finish_task(s, r);
}

Test(dsm_scenario, migratory_ping_pong)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct sim_config c = {.nranks = 2 + (int)(seed % 3), .npages = 4, .seed = seed,
                               .max_delay = 3, .rma_yield_pct = 20, .pull = seed % 2};
        struct sim *s = sim_new(&c);
        for (int r = 0; r < s->n; r++)
            dsm_fake_spawn(s->f, r, pingpong_task, s);
        run(s);
        expect_clean(s);
        cr_assert_eq(s->model[3 * NWORDS], (uint64_t)PINGPONG_ROUNDS * (uint64_t)s->n);
        for (int r = 1; r < s->n; r++)
            cr_assert_geq(dsm_get_stats(s->d[r])->write_faults, PINGPONG_ROUNDS, "rank %d", r);
        sim_free(s);
    }
}

/* The same with the migratory prediction: after its first upgrade each
 * rank takes the counter's page for writing on its read fault (the
 * prediction holds: it always writes), so upgrades all but vanish. */
Test(dsm_scenario, migratory_prediction_saves_the_upgrade)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        uint64_t upgrades[2] = {0, 0}, taken = 0;
        for (int mig = 0; mig < 2; mig++) {
            struct sim_config c = {.nranks = 2, .npages = 4, .seed = seed, .max_delay = 3,
                                   .rma_yield_pct = 20, .pull = seed % 2,
                                   .mig_set = true, .migratory = mig};
            struct sim *s = sim_new(&c);
            for (int r = 0; r < s->n; r++)
                dsm_fake_spawn(s->f, r, pingpong_task, s);
            run(s);
            expect_clean(s);
            cr_assert_eq(s->model[3 * NWORDS], (uint64_t)PINGPONG_ROUNDS * 2);
            for (int r = 0; r < s->n; r++) {
                upgrades[mig] += dsm_get_stats(s->d[r])->upgrades;
                uint64_t rw, dropped;
                dsm_migratory_stats(s->d[r], &rw, &dropped);
                if (mig)
                    taken += rw;
                else
                    cr_assert_eq(rw, 0);
            }
            sim_free(s);
        }
        cr_assert_geq(upgrades[0], PINGPONG_ROUNDS, "seed %llu", (unsigned long long)seed);
        cr_assert_lt(upgrades[1] * 4, upgrades[0], "seed %llu: %llu upgrades with, %llu "
                     "without", (unsigned long long)seed, (unsigned long long)upgrades[1],
                     (unsigned long long)upgrades[0]);
        cr_assert_geq(taken, PINGPONG_ROUNDS, "seed %llu", (unsigned long long)seed);
    }
}

/* A page each rank wrote once (so both predict it migratory), then only
 * read: each rank's prediction takes the page for writing once, finds it
 * unchanged when the other reads it again, and is dropped; from then on
 * both ranks share the page read-only. */
static void mig_drop_fn(struct sim *s, int r, int k)
{
    switch (k) {
    case 0: if (r == 0) cpu_write(s, r, 2, 0, 5); break;      /* rank 0 owns it */
    case 1: if (r == 1) cpu_read(s, r, 2, 0); break;          /* both READ */
    case 2: if (r == 1) cpu_write(s, r, 2, 0, 7); break;      /* upgrade: 1 predicts */
    case 3: if (r == 0) cpu_read(s, r, 2, 0); break;          /* both READ */
    case 4: if (r == 0) cpu_write(s, r, 2, 1, 8); break;      /* upgrade: 0 predicts */
    case 5: if (r == 1) cpu_read(s, r, 2, 0); break;          /* 1 takes it to write */
    case 6: if (r == 0) cpu_read(s, r, 2, 1); break;          /* 0 too: 1's dropped */
    case 7: if (r == 1) cpu_read(s, r, 2, 1); break;          /* plain read: 0's dropped */
    case 8: if (r == 0) cpu_read(s, r, 2, 0); break;          /* no fault: READ */
    default: break;
    }
}

Test(dsm_scenario, migratory_prediction_dropped_for_a_read_shared_page)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        struct sim_config c = {.nranks = 2, .npages = 4, .seed = seed, .max_delay = 3,
                               .rma_yield_pct = 20, .pull = seed % 2,
                               .take_set = true, .take = DSM_TAKE_NEVER,
                               .mig_set = true, .migratory = true};
        struct sim *s = sim_new(&c);
        run_script(s, mig_drop_fn, 9);
        expect_clean(s);
        for (int r = 0; r < 2; r++) {
            uint64_t rw, dropped;
            dsm_migratory_stats(s->d[r], &rw, &dropped);
            cr_assert_eq(rw, 1, "seed %llu rank %d", (unsigned long long)seed, r);
            cr_assert_eq(dropped, 1, "seed %llu rank %d", (unsigned long long)seed, r);
        }
        cr_assert_eq(dsm_state(s->d[0], 2), DSM_READ);
        cr_assert_eq(dsm_state(s->d[1], 2), DSM_READ);
        uint64_t v;
        memcpy(&v, dsm_page_ptr(s->d[1], 2) + word_off[1], 8);
        cr_assert_eq(v, 8);
        sim_free(s);
    }
}

/* Atomic read-modify-write: the page is held writable across it, like a
 * LOCK XADD; concurrent increments from every rank add up exactly. */
#define XADD_PER_RANK 50
static void xadd_task(void *arg, int r)
{
    struct sim *s = arg;
    for (int i = 0; i < XADD_PER_RANK; i++) {
        cpu_need(s, r, 0, true);
        uint64_t v;
        memcpy(&v, dsm_page_ptr(D(s, r), 0), 8);
        memcpy(dsm_page_ptr(D(s, r), 0), &(uint64_t){v + 1}, 8);
        s->model[0] = v + 1;
        s->counter_incs++;
        if (dsm_fake_rand(s->f) % 2)
            dsm_poll(D(s, r));
        dsm_fake_yield(s->f);
    }
    finish_task(s, r);
}

Test(dsm_scenario, atomic_increments_add_up)
{
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct sim_config c = {.nranks = 4, .npages = 2, .seed = seed, .max_delay = 4,
                               .rma_yield_pct = 40, .pull = seed % 2};
        struct sim *s = sim_new(&c);
        for (int r = 0; r < s->n; r++)
            dsm_fake_spawn(s->f, r, xadd_task, s);
        run(s);
        expect_clean(s);
        uint64_t v;
        for (int r = 0; r < s->n; r++) {
            if (dsm_state(s->d[r], 0) == DSM_WRITE)
                memcpy(&v, dsm_page_ptr(s->d[r], 0), 8);
        }
        cr_assert_eq(v, (uint64_t)XADD_PER_RANK * 4);
        sim_free(s);
    }
}

/* ---- basics ---- */

/* One rank: each page's first fault (read or write) zero-fills it and
 * leaves it writable; after that nothing faults. */
Test(dsm_basic, single_rank_zero_fills_each_page_once)
{
    struct sim_config c = {.nranks = 1, .npages = 4, .seed = 1};
    struct sim *s = sim_new(&c);
    for (uint64_t p = 0; p < 4; p++) {
        cr_assert_eq(dsm_state(s->d[0], p), DSM_INVALID);
        cr_assert_eq(p % 2 ? dsm_read_fault(s->d[0], p) : dsm_write_fault(s->d[0], p), 0);
        cr_assert_eq(dsm_state(s->d[0], p), DSM_WRITE);
        for (size_t i = 0; i < DSM_PAGE_SIZE; i++)
            cr_assert_eq(dsm_page_ptr(s->d[0], p)[i], 0, "page %llu byte %zu",
                         (unsigned long long)p, i);
        cr_assert_eq(dsm_write_fault(s->d[0], p), 0);
        cr_assert_eq(dsm_read_fault(s->d[0], p), 0);
    }
    const struct dsm_stats *st = dsm_get_stats(s->d[0]);
    cr_assert_eq(st->read_faults + st->write_faults, 4);
    cr_assert_eq(st->kind[DSM_FK_ZERO].n, 4);
    cr_assert_eq(st->bytes_moved, 0);
    cr_assert_eq(dsm_read_fault(s->d[0], 4), -1, "page out of range");
    check_all(s);
    cr_assert_eq(s->errors, 0, "%s", s->msg);
    sim_free(s);
}

Test(dsm_basic, initial_states_and_geometry)
{
    struct sim_config c = {.nranks = 3, .npages = 10, .seed = 1};
    struct sim *s = sim_new(&c);
    cr_assert_eq(dsm_npages(s->d[1]), 10);
    /* every page untouched: no rank has a copy, the directory is zero */
    for (uint64_t p = 0; p < 10; p++)
        for (int r = 0; r < 3; r++)
            cr_assert_eq(dsm_state(s->d[r], p), DSM_INVALID);
    for (int r = 0; r < 3; r++)
        for (size_t i = 0; i < dsm_fake_dir_len(s->f, r); i++)
            cr_assert_eq(dsm_fake_dir_word(s->f, r, i), 0);
    /* pages 0,3,6,9 at rank 0; 1,4,7 at rank 1; 2,5,8 at rank 2; 2 words each */
    cr_assert_eq(dsm_dir_words(10, 3, 0), 8);
    cr_assert_eq(dsm_dir_words(10, 3, 1), 6);
    cr_assert_eq(dsm_dir_words(10, 3, 2), 6);
    cr_assert_eq(dsm_fake_dir_len(s->f, 0), 8);
    cr_assert_eq(dsm_home(7, 3), 1);
    cr_assert_eq(dsm_dir_index(7, 3), 4);
    cr_assert_eq(dsm_dir_words(2, 4, 3), 0);
    check_all(s);
    cr_assert_eq(s->errors, 0, "%s", s->msg);
    sim_free(s);
}

Test(dsm_basic, create_rejects_bad_transport)
{
    struct dsm_transport t = {.rank = 0, .nranks = 1, .ram = (uint8_t[4096]){0}, .ram_bytes = 100};
    cr_assert_null(dsm_create(&t, NULL));
    t.ram_bytes = 4096;
    t.rank = 1;
    cr_assert_null(dsm_create(&t, NULL));
}

/* ---- statistics ---- */

Test(dsm_stats, latency_summary_and_output)
{
    struct sim_config c = {.nranks = 3, .npages = 8, .seed = 5, .max_delay = 6, .rma_yield_pct = 30};
    struct sim *s = sim_new(&c);
    s->ops = 300;
    s->hot = 6;
    s->write_pct = 40;
    s->poll_pct = 30;
    s->yield_pct = 40;
    for (int r = 0; r < s->n; r++)
        dsm_fake_spawn(s->f, r, random_task, s);
    run(s);
    expect_clean(s);
    struct dsm_stats all = {0};
    for (int r = 0; r < s->n; r++)
        dsm_stats_merge(&all, dsm_get_stats(s->d[r]));
    uint64_t nf = all.read_faults + all.write_faults;
    cr_assert_gt(nf, 10);
    cr_assert_gt(all.inval_sent, 0);
    cr_assert_eq(all.inval_sent, all.inval_recv);
    cr_assert_eq(all.downgrade_sent, all.downgrade_recv);
    cr_assert_eq(all.bytes_moved, (all.pages_got + all.pages_pushed) * DSM_PAGE_SIZE);
    uint64_t mean = dsm_stats_mean_ns(&all), p99 = dsm_stats_p99_ns(&all);
    cr_assert_gt(mean, 0);
    cr_assert_geq(p99, mean / 2);
    cr_assert_leq(p99, all.fault_ns_max);
    uint64_t hist = 0;
    for (unsigned b = 0; b < DSM_LAT_BUCKETS; b++)
        hist += all.lat_hist[b];
    cr_assert_eq(hist, nf);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dsm_stats_print(&all, 0, f);
    dsm_stats_json(&all, 0, f);
    fclose(f);
    cr_assert_not_null(strstr(buf, "fault latency mean"));
    cr_assert_not_null(strstr(buf, "\"fault_latency_p99_ns\""));
    /* per-kind lines and objects carry p90 (<= p99) */
    uint64_t p90 = dsm_kind_quantile_ns(&all.request[DSM_RQ_INVALIDATE], 0.9);
    cr_assert_leq(p90, dsm_kind_quantile_ns(&all.request[DSM_RQ_INVALIDATE], 0.99));
    char want[64];
    snprintf(want, sizeof want, " ns (p90 %llu ns)\n", (unsigned long long)p90);
    cr_assert_not_null(strstr(strstr(buf, "dsm: request invalidate n "), want));
    snprintf(want, sizeof want, "\"p90_ns\": %llu,", (unsigned long long)p90);
    cr_assert_not_null(strstr(strstr(buf, "\"invalidate\": {"), want));
    free(buf);
    sim_free(s);
}

Test(dsm_stats, p99_of_known_histogram)
{
    struct dsm_stats st = {0};
    /* 99 faults of ~100 ns (bucket of 100: msb 6, sub 4) and one of 1 ms */
    st.read_faults = 100;
    st.lat_hist[6 * 8 + 4] = 99;
    st.lat_hist[19 * 8 + 7] = 1;
    st.fault_ns_total = 99 * 100 + 1000000;
    st.fault_ns_max = 1000000;
    cr_assert_eq(dsm_stats_mean_ns(&st), (99 * 100 + 1000000) / 100);
    uint64_t p99 = dsm_stats_p99_ns(&st);
    cr_assert(p99 >= 100 && p99 <= 112, "p99 %llu", (unsigned long long)p99);
    struct dsm_stats z = {0};
    cr_assert_eq(dsm_stats_p99_ns(&z), 0);
    cr_assert_eq(dsm_stats_mean_ns(&z), 0);
}
