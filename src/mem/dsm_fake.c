/* dsm_fake.c - in-process fake DSM transport: N simulated ranks, each a
 * coroutine (ucontext) with its own copy area and directory words, a
 * shared message pool with random delays and random delivery order, RMA
 * calls that may yield before taking effect, and a seeded scheduler.
 * Deterministic: the same seed gives the same schedule. */
#include "mem/dsm_fake.h"

#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "mem/dsm.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define STACK_UNPOISON(p, n) __asan_unpoison_memory_region(p, n)
#define FIBER_START(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define FIBER_FINISH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define STACK_UNPOISON(p, n) ((void)(p), (void)(n))
#define FIBER_START(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define FIBER_FINISH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

struct fake_msg {
    int dst, src;
    uint64_t due;                /* step from which it may be delivered */
    struct dsm_msg m;
    uint8_t *data;               /* send_data's bytes (malloc), or NULL */
    size_t off, len;             /* ... and where they land */
};

/* A directory store on its way (rule 2b). */
struct fake_store {
    int src, home;
    size_t idx;
    uint64_t v;
    uint64_t due;                /* step from which it may land */
};

struct fake_rank {
    struct dsm_fake *f;
    int rank;
    struct dsm_transport t;
    uint8_t *ram;
    uint64_t *dir;
    size_t dir_len;
    /* task */
    ucontext_t uc;
    void *stack;
    bool live;
    dsm_fake_task_fn fn;
    void *arg;
    void *asan_fake_stack;
};

struct dsm_fake {
    struct dsm_fake_config cfg;
    struct fake_rank *r;
    ucontext_t sched;
    int current;                 /* rank whose task runs, -1: scheduler */
    uint64_t rng;
    uint64_t steps;
    uint64_t time_ns;            /* added to steps * DSM_FAKE_STEP_NS */
    struct fake_msg *q;
    size_t nq, capq;
    struct fake_store *st;       /* in issue order */
    size_t nst, capst;
    /* scheduler stack bounds (ASan fiber annotations only) */
    const void *sched_bottom;
    size_t sched_size;
};

/* ---- random numbers (splitmix64) ---- */

uint64_t dsm_fake_rand(struct dsm_fake *f)
{
    uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rand_below(struct dsm_fake *f, uint64_t n)
{
    return n ? dsm_fake_rand(f) % n : 0;
}

/* ---- coroutines ---- */

/* Save the current context in `from` and resume `to`; returns when
 * something resumes `from`. (getcontext + setcontext rather than
 * swapcontext, which ASan intercepts with a warning on every run; the
 * fiber annotations below tell ASan about the stack switches.) */
static void switch_context(ucontext_t *from, const ucontext_t *to)
{
    volatile bool resumed = false;
    getcontext(from);
    if (!resumed) {
        resumed = true;
        setcontext(to);
    }
}

void dsm_fake_yield(struct dsm_fake *f)
{
    if (f->current < 0)
        return;                  /* called outside a task: nothing to yield to */
    struct fake_rank *r = &f->r[f->current];
    FIBER_START(&r->asan_fake_stack, f->sched_bottom, f->sched_size);
    switch_context(&r->uc, &f->sched);
    FIBER_FINISH(r->asan_fake_stack, NULL, NULL);
}

static void trampoline(unsigned lo, unsigned hi)
{
    struct fake_rank *r = (struct fake_rank *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
    struct dsm_fake *f = r->f;
    FIBER_FINISH(NULL, &f->sched_bottom, &f->sched_size);
    r->fn(r->arg, r->rank);
    r->live = false;
    FIBER_START(NULL, f->sched_bottom, f->sched_size);
    /* returning resumes uc_link: the scheduler */
}

int dsm_fake_spawn(struct dsm_fake *f, int rank, dsm_fake_task_fn fn, void *arg)
{
    if (rank < 0 || rank >= f->cfg.nranks)
        return -1;
    struct fake_rank *r = &f->r[rank];
    if (r->live)
        return -1;
    if (!r->stack) {
        r->stack = malloc(f->cfg.stack_bytes);
        if (!r->stack)
            return -1;
    }
    STACK_UNPOISON(r->stack, f->cfg.stack_bytes);
    if (getcontext(&r->uc) < 0)
        return -1;
    r->uc.uc_stack.ss_sp = r->stack;
    r->uc.uc_stack.ss_size = f->cfg.stack_bytes;
    r->uc.uc_link = &f->sched;
    uintptr_t p = (uintptr_t)r;
    makecontext(&r->uc, (void (*)(void))trampoline, 2,
                (unsigned)(p & 0xffffffffu), (unsigned)(p >> 32));
    r->fn = fn;
    r->arg = arg;
    r->live = true;
    return 0;
}

static uint64_t *dir_word(struct dsm_fake *f, int rank, size_t idx);

static bool same_word(const struct fake_store *a, const struct fake_store *b)
{
    return a->src == b->src && a->home == b->home && a->idx == b->idx;
}

/* Land store i together with every earlier store of the same rank to the
 * same word, in issue order (rule 2b). */
static void land_store(struct dsm_fake *f, size_t i)
{
    struct fake_store x = f->st[i];
    size_t out = 0;
    for (size_t j = 0; j < f->nst; j++) {
        if (j <= i && same_word(&f->st[j], &x))
            *dir_word(f, x.home, x.idx) = f->st[j].v;
        else
            f->st[out++] = f->st[j];
    }
    f->nst = out;
}

/* Before src's next operation on (home, idx): its stores there land. */
static void land_stores_of(struct dsm_fake *f, int src, int home, size_t idx)
{
    struct fake_store key = { .src = src, .home = home, .idx = idx };
    for (size_t i = f->nst; i-- > 0;)
        if (same_word(&f->st[i], &key)) {
            land_store(f, i);
            return;
        }
}

/* The stores that are due (all of them once no task is left). */
static void land_due_stores(struct dsm_fake *f, bool all)
{
    for (size_t i = 0; i < f->nst;) {
        if (all || f->st[i].due <= f->steps) {
            land_store(f, i);
            i = 0;                  /* entries moved: scan again */
        } else {
            i++;
        }
    }
}

int dsm_fake_step(struct dsm_fake *f)
{
    int n = f->cfg.nranks, live = 0;
    for (int i = 0; i < n; i++)
        live += f->r[i].live;
    land_due_stores(f, false);
    if (live == 0)
        return 0;
    uint64_t k = rand_below(f, (uint64_t)live);
    int pick = 0;
    for (int i = 0; i < n; i++) {
        if (f->r[i].live && k-- == 0) {
            pick = i;
            break;
        }
    }
    struct fake_rank *r = &f->r[pick];
    void *save = NULL;
    f->current = pick;
    FIBER_START(&save, r->stack, f->cfg.stack_bytes);
    switch_context(&f->sched, &r->uc);
    FIBER_FINISH(save, NULL, NULL);
    f->current = -1;
    f->steps++;
    int left = live - !r->live;
    if (left == 0)
        land_due_stores(f, true);   /* the run is over: what is on its way lands */
    return left;
}

/* ---- transport calls ---- */

static void maybe_yield(struct dsm_fake *f)
{
    if (f->cfg.rma_yield_pct && rand_below(f, 100) < f->cfg.rma_yield_pct)
        dsm_fake_yield(f);
}

static void t_get(void *ctx, int rank, size_t off, void *buf, size_t len)
{
    struct fake_rank *self = ctx;
    struct dsm_fake *f = self->f;
    maybe_yield(f);
    if (rank < 0 || rank >= f->cfg.nranks || off + len > f->cfg.ram_bytes || off + len < off)
        abort();
    memcpy(buf, f->r[rank].ram + off, len);
}

static void t_put(void *ctx, int rank, size_t off, const void *buf, size_t len)
{
    struct fake_rank *self = ctx;
    struct dsm_fake *f = self->f;
    maybe_yield(f);
    if (rank < 0 || rank >= f->cfg.nranks || off + len > f->cfg.ram_bytes || off + len < off)
        abort();
    memmove(f->r[rank].ram + off, buf, len);
}

static uint64_t *dir_word(struct dsm_fake *f, int rank, size_t idx)
{
    if (rank < 0 || rank >= f->cfg.nranks || idx >= f->r[rank].dir_len)
        abort();
    return &f->r[rank].dir[idx];
}

static uint64_t t_fetch_op(void *ctx, int rank, size_t idx, enum dsm_atomic_op op, uint64_t v)
{
    struct fake_rank *self = ctx;
    maybe_yield(self->f);
    land_stores_of(self->f, self->rank, rank, idx);
    uint64_t *w = dir_word(self->f, rank, idx);
    uint64_t old = *w;
    switch (op) {
    case DSM_OP_ADD: *w = old + v; break;
    case DSM_OP_OR: *w = old | v; break;
    case DSM_OP_AND: *w = old & v; break;
    case DSM_OP_SWAP: *w = v; break;
    case DSM_OP_LOAD: break;
    default: abort();
    }
    return old;
}

/* Room for one more element in an array of n used out of *cap. */
static void *grow(void *a, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return a;
    size_t c = *cap ? *cap * 2 : 64;
    a = realloc(a, c * elem);
    if (!a)
        abort();
    *cap = c;
    return a;
}

/* Rule 2b: the store lands at a random later step, or before this
 * rank's next operation on the same word. */
static void t_store(void *ctx, int rank, size_t idx, uint64_t v)
{
    struct fake_rank *self = ctx;
    struct dsm_fake *f = self->f;
    dir_word(f, rank, idx);         /* bounds */
    f->st = grow(f->st, f->nst, &f->capst, sizeof *f->st);
    f->st[f->nst++] = (struct fake_store){
        .src = self->rank, .home = rank, .idx = idx, .v = v,
        .due = f->steps + rand_below(f, (uint64_t)f->cfg.max_delay + 1),
    };
}

/* Queue m for rank with a random delay; data (may be NULL) is owned by
 * the queue from here on. */
static void enqueue(struct fake_rank *self, int rank, const struct dsm_msg *m,
                    uint8_t *data, size_t off, size_t len)
{
    struct dsm_fake *f = self->f;
    if (rank < 0 || rank >= f->cfg.nranks || rank == self->rank)
        abort();
    f->q = grow(f->q, f->nq, &f->capq, sizeof *f->q);
    f->q[f->nq++] = (struct fake_msg){
        .dst = rank,
        .src = self->rank,
        .due = f->steps + rand_below(f, (uint64_t)f->cfg.max_delay + 1),
        .m = *m,
        .data = data, .off = off, .len = len,
    };
}

static void t_send(void *ctx, int rank, const struct dsm_msg *m)
{
    enqueue(ctx, rank, m, NULL, 0, 0);
}

/* Rule 8 either way an MPI transport may do it, chosen at random: a put
 * (which may yield) and then the message, or a snapshot of the bytes that
 * travels with the message and lands on delivery. */
static void t_send_data(void *ctx, int rank, const struct dsm_msg *m, size_t off, size_t len)
{
    struct fake_rank *self = ctx;
    struct dsm_fake *f = self->f;
    if (off + len > f->cfg.ram_bytes || off + len < off || len > DSM_TRANSPORT_DATA_MAX)
        abort();
    if (dsm_fake_rand(f) & 1) {
        t_put(ctx, rank, off, self->ram + off, len);
        enqueue(self, rank, m, NULL, 0, 0);
        return;
    }
    uint8_t *data = malloc(len ? len : 1);
    if (!data)
        abort();
    memcpy(data, self->ram + off, len);
    enqueue(self, rank, m, data, off, len);
}

static int t_poll(void *ctx, int max, dsm_msg_fn fn, void *fn_arg)
{
    struct fake_rank *self = ctx;
    struct dsm_fake *f = self->f;
    int delivered = 0;
    while (max <= 0 || delivered < max) {
        /* a random message among those due for this rank */
        size_t ndue = 0;
        for (size_t i = 0; i < f->nq; i++)
            ndue += f->q[i].dst == self->rank && f->q[i].due <= f->steps;
        if (ndue == 0)
            break;
        uint64_t k = rand_below(f, ndue);
        size_t i = 0;
        for (;; i++) {
            if (f->q[i].dst == self->rank && f->q[i].due <= f->steps && k-- == 0)
                break;
        }
        struct fake_msg m = f->q[i];
        f->q[i] = f->q[--f->nq];
        if (m.data) {
            memcpy(self->ram + m.off, m.data, m.len);
            free(m.data);
        }
        fn(fn_arg, m.src, &m.m);   /* may send, put and yield */
        delivered++;
    }
    return delivered;
}

static void t_idle(void *ctx, unsigned spins)
{
    struct fake_rank *self = ctx;
    (void)spins;
    dsm_fake_yield(self->f);
}

static uint64_t t_rma_ns(void *ctx, int rank)
{
    struct fake_rank *self = ctx;
    return rank == self->rank ? 0 : self->f->cfg.rma_ns;
}

static uint64_t t_now(void *ctx)
{
    struct fake_rank *self = ctx;
    return self->f->steps * DSM_FAKE_STEP_NS + self->f->time_ns;
}

/* ---- life cycle, inspection ---- */

struct dsm_fake *dsm_fake_create(const struct dsm_fake_config *cfg)
{
    if (!cfg || cfg->nranks < 1 || cfg->nranks > DSM_MAX_RANKS ||
        cfg->ram_bytes == 0 || cfg->ram_bytes % DSM_PAGE_SIZE)
        return NULL;
    struct dsm_fake *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->cfg = *cfg;
    if (!f->cfg.stack_bytes)
        f->cfg.stack_bytes = 256u * 1024u;
    f->current = -1;
    f->rng = cfg->seed;
    f->r = calloc((size_t)cfg->nranks, sizeof *f->r);
    if (!f->r) {
        free(f);
        return NULL;
    }
    uint64_t npages = cfg->ram_bytes / DSM_PAGE_SIZE;
    for (int i = 0; i < cfg->nranks; i++) {
        struct fake_rank *r = &f->r[i];
        r->f = f;
        r->rank = i;
        /* garbage, not zero: MPI does not promise that a window's
         * memory starts zeroed, and the protocol must never read bytes
         * it has not installed (a zero fill, a get or a push) */
        r->ram = malloc(cfg->ram_bytes);
        if (r->ram)
            memset(r->ram, DSM_FAKE_GARBAGE(i), cfg->ram_bytes);
        r->dir_len = dsm_dir_words(npages, cfg->nranks, i);
        r->dir = calloc(r->dir_len ? r->dir_len : 1, sizeof *r->dir);
        if (!r->ram || !r->dir) {
            dsm_fake_free(f);
            return NULL;
        }
        r->t = (struct dsm_transport){
            .rank = i, .nranks = cfg->nranks, .ram = r->ram, .ram_bytes = cfg->ram_bytes,
            .ctx = r, .get = t_get, .fetch_op = t_fetch_op, .store = t_store,
            .send = t_send, .send_data = t_send_data, .poll = t_poll, .idle = t_idle, .now_ns = t_now,
            .rma_ns = cfg->rma_ns ? t_rma_ns : NULL,
        };
    }
    return f;
}

void dsm_fake_free(struct dsm_fake *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->cfg.nranks; i++) {
        free(f->r[i].ram);
        free(f->r[i].dir);
        free(f->r[i].stack);
    }
    free(f->r);
    for (size_t i = 0; i < f->nq; i++)
        free(f->q[i].data);
    free(f->q);
    free(f->st);
    free(f);
}

const struct dsm_transport *dsm_fake_transport(struct dsm_fake *f, int rank)
{
    return &f->r[rank].t;
}

uint64_t dsm_fake_dir_word(const struct dsm_fake *f, int rank, size_t idx)
{
    return f->r[rank].dir[idx];
}

size_t dsm_fake_dir_len(const struct dsm_fake *f, int rank)
{
    return f->r[rank].dir_len;
}

uint8_t *dsm_fake_ram(const struct dsm_fake *f, int rank)
{
    return f->r[rank].ram;
}

uint64_t dsm_fake_steps(const struct dsm_fake *f)
{
    return f->steps;
}

void dsm_fake_pass_time(struct dsm_fake *f, uint64_t ns)
{
    f->time_ns += ns;
}

size_t dsm_fake_in_flight(const struct dsm_fake *f)
{
    return f->nq + f->nst;
}
