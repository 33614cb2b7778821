/* dsm_mpi.c - the DSM's one-sided MPI plumbing (see dsm_mpi.h for the
 * model): two windows made with MPI_Win_allocate and held under one
 * MPI_Win_lock_all for the whole run, gets and directory atomics
 * completed with MPI_Win_flush_local, puts with MPI_Win_flush (see
 * "Completion" below), and control messages as fixed-size
 * MPI_Isend to a ring of pre-posted MPI_Irecv (MPI_ANY_SOURCE) that
 * dsm_mpi_poll tests in posting order. Data messages (a control message
 * with up to a page of the copy area, dsm_mpi_send_data) have their own
 * tag and no pre-posted receive: the MPI_Improbe that is a poll's first
 * progress pass finds them (see dsm_mpi_poll). To a rank reached through
 * memory (osc/sm, or osc/pt2pt over vader) they are a put and a control
 * message instead (see probe_peers).
 *
 * Why messages and not an RMA mailbox: a mailbox needs a slot claim
 * (MPI_Fetch_and_op), a Put of the body and a flag write, i.e. two or
 * three target round trips per message over osc/pt2pt (about 20 us
 * each over TCP) against one eager send; MPI's matching gives per-sender
 * FIFO and buffering of bursts for free; and the target has to call into
 * MPI to poll either way (for osc/pt2pt it must, or no Get/CAS on its
 * windows ever completes). The figures are in docs/dsm-mpi.md.
 *
 * Completion: a Get and a fetching atomic (Compare_and_swap,
 * Fetch_and_op) deliver a result, and the result exists only once the
 * target has read the bytes or applied the operation (atomically with
 * reading the old value), so local completion (MPI_Win_flush_local:
 * the result is in our buffer) is all transport rules 1 and 2 need. A
 * full MPI_Win_flush would add a flush request and its acknowledgement:
 * over osc/pt2pt (TCP) 7-8 us on every 12-13 us operation. A Put has
 * no result: it is flushed to the target, since the message that
 * follows it says "the data is there" (rule 8). A store (rule 2b, the
 * unlock) has none either and nobody waits for it: MPI_Win_flush_local
 * only sends it.
 *
 * Memory: open touches neither copy area (its initial bytes are never
 * read: the DSM zero-fills a page on its first touch, dsm_transport.h),
 * so guest RAM nobody uses costs no host memory and no start-up time. It
 * checks at open whether the copies could fit the host (src/mem/hostmem.h)
 * and, on the first rank of each host, watches the host's memory from
 * poll (guard_tick). docs/startup.md. */
#define _GNU_SOURCE
#include "mpi/dsm_mpi.h"
#include "mpi/probe_rule.h"
#include "mem/dsm.h"
#include "mem/dsm_transport.h"
#include "io/terminal.h"
#include "mem/hostmem.h"
#include "watchdog.h"

#include <mpi.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define TAG_MSG 7
#define TAG_DATA 8
#define DEFAULT_RECV_SLOTS 64
#define INITIAL_SEND_SLOTS 16
#define INITIAL_DATA_SEND_SLOTS 2
#define DEFAULT_DATA_MAX 4096u
#define RAM_ALIGN 4096u
/* The status of a job whose copy areas cannot be mapped on some host
 * (hostmem_check's HOSTMEM_ERROR): VSMP_EXIT_CONFIG (src/machine.h, README). */
#define EXIT_HOST_LIMIT 2
/* The memory guard (guard_tick): every GUARD_POLLS polls it reads the
 * clock, every GUARD_NS it reads the host's memory. */
#define GUARD_POLLS 1024u
#define GUARD_NS 1000000000ull

/* A ring of pre-posted receives of control messages (any source), tested
 * strictly in posting order: matching follows posting order, so this
 * keeps each sender's FIFO order. */
struct recv_ring {
    int n, head;              /* slot `head` is the oldest posted receive */
    size_t size;              /* bytes per slot */
    MPI_Request *req;
    uint8_t *buf;
};

/* Send buffers that stay put while their Isend is in flight; grows. */
struct send_pool {
    size_t size;              /* bytes per buffer */
    int n, inflight, nfree;
    MPI_Request *req;
    uint8_t **buf;
    int *free_idx;
    int *done_idx;            /* scratch for MPI_Testsome */
};

/* What follows the control message in a data message. */
struct data_hdr {
    uint64_t off, len;        /* where the bytes land, how many */
};

struct dsm_mpi {
    MPI_Comm comm;
    int rank, size;
    size_t msg_size;
    size_t data_max;          /* most bytes one data message carries */
    size_t data_size;         /* a whole data message at most: message,
                               * data_hdr, data_max bytes */
    int progress_calls;
    bool idle_spin;           /* idle waits poll again at once (own core) */
    int host_ranks;           /* ranks on this rank's host (kernel) */
    bool host_first;          /* the lowest rank of its host: it speaks for
                               * the host (memory warnings) */
    unsigned guard_polls;     /* polls until the guard's next clock read */
    uint64_t guard_next_ns;   /* the guard's next look at host memory;
                               * 0: off (not host_first, or it warned) */
    bool *peer_near;          /* per rank: reached through memory (probed) */
    uint64_t *peer_rma_ns;    /* per rank: best probe Get, ns (0: self) */
    enum dsm_mpi_data_path data_path;   /* how send_data moves its bytes */

    MPI_Win ram_win;
    uint8_t *ram;             /* page-aligned start of the copy area */
    size_t ram_bytes;
    uint64_t *ram_disp;       /* per rank: window displacement of its copy area */

    MPI_Win dir_win;
    uint64_t *dir;
    size_t dir_words;
    uint64_t *dir_words_of;   /* per rank, for bounds checks */

    struct recv_ring in;
    uint8_t *data_in;         /* one data message as received */
    struct send_pool msg_out, data_out;

    dsm_mpi_msg_fn on_msg;
    void *ctx;
    bool in_poll;
    struct dsm_mpi_stats st;
    struct dsm_transport tp;

    /* the raw-get baseline (dsm_mpi_baseline_tick) */
    uint64_t bl_every_ns;     /* 0: off */
    uint64_t bl_next_ns;
    int bl_peer;              /* the last rank sampled */
    uint64_t bl_rng;          /* picks the page */
    uint8_t *bl_buf;          /* DSM_PAGE_SIZE, private */
    struct watchdog *watch;   /* blocking calls marked for it (NULL: none) */
    struct dsm_kind_stats bl;
};

static void die(struct dsm_mpi *m, const char *what)
{
    fprintf(stderr, "vsmp: rank %d: dsm_mpi: %s\n", m ? m->rank : -1, what);
    fflush(stderr);
    /* 10: vsmp's internal-error status (src/machine.h); an odd status
     * would read as a guest's debug-exit value */
    terminal_restore();          /* MPI_Abort runs no atexit handler */
    MPI_Abort(MPI_COMM_WORLD, 10);
    exit(10);
}

static void *xcalloc(struct dsm_mpi *m, size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        die(m, "out of memory");
    return p;
}

/* ---- receive rings and send pools ---- */

static void ring_post(struct dsm_mpi *m, struct recv_ring *r, int slot)
{
    MPI_Irecv(r->buf + (size_t)slot * r->size, (int)r->size, MPI_BYTE,
              MPI_ANY_SOURCE, TAG_MSG, m->comm, &r->req[slot]);
}

static void ring_open(struct dsm_mpi *m, struct recv_ring *r, int n, size_t size)
{
    *r = (struct recv_ring){ .n = n, .size = size };
    r->req = xcalloc(m, (size_t)n, sizeof(MPI_Request));
    r->buf = xcalloc(m, (size_t)n, size);
    for (int i = 0; i < n; i++)
        ring_post(m, r, i);
}

/* The oldest receive of r if it completed: its bytes (valid until
 * ring_next) and status; NULL if it has not. */
static const uint8_t *ring_test(struct recv_ring *r, MPI_Status *st)
{
    int flag = 0;
    MPI_Test(&r->req[r->head], &flag, st);
    return flag ? r->buf + (size_t)r->head * r->size : NULL;
}

/* Re-post the oldest slot (its bytes consumed) and move on. */
static void ring_next(struct dsm_mpi *m, struct recv_ring *r)
{
    ring_post(m, r, r->head);
    r->head = (r->head + 1) % r->n;
}

static void ring_close(struct recv_ring *r)
{
    for (int i = 0; i < r->n; i++) {
        MPI_Cancel(&r->req[i]);
        MPI_Wait(&r->req[i], MPI_STATUS_IGNORE);
    }
    free(r->req);
    free(r->buf);
}

static void pool_grow(struct dsm_mpi *m, struct send_pool *p, int n)
{
    int old = p->n;
    MPI_Request *req = realloc(p->req, (size_t)n * sizeof(*req));
    uint8_t **buf = realloc(p->buf, (size_t)n * sizeof(*buf));
    int *fr = realloc(p->free_idx, (size_t)n * sizeof(int));
    int *dn = realloc(p->done_idx, (size_t)n * sizeof(int));
    if (!req || !buf || !fr || !dn)
        die(m, "out of memory (send pool)");
    p->req = req;
    p->buf = buf;
    p->free_idx = fr;
    p->done_idx = dn;
    for (int i = n - 1; i >= old; i--) {
        p->req[i] = MPI_REQUEST_NULL;
        p->buf[i] = xcalloc(m, 1, p->size);
        p->free_idx[p->nfree++] = i;
    }
    p->n = n;
}

static void pool_retire(struct send_pool *p)
{
    if (p->inflight == 0)
        return;
    int n = 0;
    MPI_Testsome(p->n, p->req, &n, p->done_idx, MPI_STATUSES_IGNORE);
    if (n == MPI_UNDEFINED)
        return;
    for (int i = 0; i < n; i++)
        p->free_idx[p->nfree++] = p->done_idx[i];
    p->inflight -= n;
}

/* A free buffer (retiring finished sends, growing if none) and its index. */
static uint8_t *pool_take(struct dsm_mpi *m, struct send_pool *p, int *idx)
{
    if (p->nfree == 0)
        pool_retire(p);
    if (p->nfree == 0)
        pool_grow(m, p, p->n * 2);
    *idx = p->free_idx[--p->nfree];
    return p->buf[*idx];
}

static void pool_isend(struct dsm_mpi *m, struct send_pool *p, int idx, size_t len,
                       int rank, int tag)
{
    MPI_Isend(p->buf[idx], (int)len, MPI_BYTE, rank, tag, m->comm, &p->req[idx]);
    p->inflight++;
}

/* Wait for every send of p (small messages go eagerly, so they complete
 * without the receivers' help), then free it. */
static void pool_close(struct send_pool *p)
{
    while (p->inflight > 0) {
        pool_retire(p);
        if (p->inflight > 0)
            sched_yield();
    }
    for (int i = 0; i < p->n; i++)
        free(p->buf[i]);
    free(p->buf);
    free(p->req);
    free(p->free_idx);
    free(p->done_idx);
}

static void probe_peers(struct dsm_mpi *m);

/* This rank's host: how many ranks share it (they share its memory and
 * its cgroup limit, hostmem.h), whether this is the lowest of them, and
 * (DSM_MPI_IDLE_AUTO) whether every rank there has a CPU of its own.
 * Ranks are on one host when they run under one kernel (same boot_id;
 * MPI's idea of a node would split ranks in network namespaces that
 * share the cores, as the simulated-node tests do); their CPUs are the
 * union of their affinity masks (Open MPI binds 1-2 ranks to a core
 * each, more to a socket, none with --bind-to none). Collective. */
#define HOST_ID_LEN (MPI_MAX_PROCESSOR_NAME + 8)
struct host_cpus {
    char id[HOST_ID_LEN];
    cpu_set_t cpus;
};

/* Returns whether every rank on this host has a CPU of its own. */
static bool survey_host(struct dsm_mpi *m)
{
    struct host_cpus me;
    memset(&me, 0, sizeof me);
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f || !fgets(me.id, sizeof me.id, f)) {
        int len = 0;
        char name[MPI_MAX_PROCESSOR_NAME];
        MPI_Get_processor_name(name, &len);
        snprintf(me.id, sizeof me.id, "host:%s", name);
    }
    if (f)
        fclose(f);
    if (sched_getaffinity(0, sizeof me.cpus, &me.cpus) != 0)
        CPU_ZERO(&me.cpus);
    struct host_cpus *all = xcalloc(m, (size_t)m->size, sizeof *all);
    MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, m->comm);
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    int ranks = 0, first = m->rank;
    for (int r = 0; r < m->size; r++) {
        if (memcmp(all[r].id, me.id, sizeof me.id) != 0)
            continue;
        ranks++;
        if (r < first)
            first = r;
        CPU_OR(&cpus, &cpus, &all[r].cpus);
    }
    free(all);
    m->host_ranks = ranks;
    m->host_first = first == m->rank;
    return CPU_COUNT(&cpus) >= ranks;
}

/* Could every rank on this host hold a copy of all of guest RAM
 * (hostmem_check)? The first rank of each host says so in one line when
 * not; where a copy area cannot even be mapped the whole job ends, with
 * EXIT_HOST_LIMIT, before MPI fails to allocate it. Collective. */
static void check_host_memory(struct dsm_mpi *m, size_t ram_bytes)
{
    struct hostmem hm;
    hostmem_read(&hm, "");
    char line[512];
    enum hostmem_verdict v = hostmem_check(&hm, ram_bytes, m->host_ranks, line, sizeof line);
    if (v != HOSTMEM_OK && m->host_first) {
        fprintf(stderr, "vsmp: rank %d: %s\n", m->rank, line);
        fflush(stderr);
    }
    int bad = v == HOSTMEM_ERROR, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, m->comm);
    if (any) {
        MPI_Abort(MPI_COMM_WORLD, EXIT_HOST_LIMIT);
        exit(EXIT_HOST_LIMIT);
    }
}

static uint64_t now_ns(void);

/* The memory guard, from poll on the first rank of each host: once a
 * second, is host memory (or the memory cgroup) close to running out
 * (hostmem_low)? Then say so once, before the kernel's OOM killer ends a
 * rank without a word from vsmp. */
static void guard_tick(struct dsm_mpi *m)
{
    m->guard_polls = GUARD_POLLS;
    uint64_t t = now_ns();
    if (t < m->guard_next_ns)
        return;
    m->guard_next_ns = t + GUARD_NS;
    struct hostmem hm;
    char line[512];
    hostmem_read(&hm, "");
    if (hostmem_low(&hm, line, sizeof line)) {
        fprintf(stderr, "vsmp: rank %d: %s\n", m->rank, line);
        fflush(stderr);
        m->guard_next_ns = 0;       /* once */
    }
}

struct dsm_mpi *dsm_mpi_open(const struct dsm_mpi_config *cfg,
                             dsm_mpi_msg_fn on_msg, void *ctx)
{
    if (!cfg || cfg->msg_size == 0 || cfg->msg_size > DSM_MPI_MSG_MAX) {
        fprintf(stderr, "vsmp: dsm_mpi: bad message size\n");
        return NULL;
    }
    struct dsm_mpi *m = calloc(1, sizeof(*m));
    if (!m) {
        fprintf(stderr, "vsmp: dsm_mpi: out of memory\n");
        return NULL;
    }
    MPI_Comm_dup(MPI_COMM_WORLD, &m->comm);
    MPI_Comm_rank(m->comm, &m->rank);
    MPI_Comm_size(m->comm, &m->size);
    m->msg_size = cfg->msg_size;
    m->data_max = cfg->data_max ? cfg->data_max : DEFAULT_DATA_MAX;
    m->data_size = m->msg_size + sizeof(struct data_hdr) + m->data_max;
    m->data_path = cfg->data_path;
    m->progress_calls = cfg->progress_calls > 0 ? cfg->progress_calls : 2;
    bool core_per_rank = survey_host(m);
    m->idle_spin = cfg->idle == DSM_MPI_IDLE_SPIN ||
                   (cfg->idle == DSM_MPI_IDLE_AUTO && core_per_rank);
    m->ram_bytes = cfg->ram_bytes;
    m->dir_words = cfg->dir_words;
    m->on_msg = on_msg;
    m->ctx = ctx;

    /* Every rank's copy area has the same size (pages sit at the same
     * offset everywhere). */
    unsigned long long rb[2] = { cfg->ram_bytes, ~(unsigned long long)cfg->ram_bytes };
    unsigned long long rbmax[2];
    MPI_Allreduce(rb, rbmax, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, m->comm);
    if (rbmax[0] != cfg->ram_bytes || ~rbmax[1] != cfg->ram_bytes) {
        if (m->rank == 0)
            fprintf(stderr, "vsmp: dsm_mpi: ranks disagree on the RAM size\n");
        MPI_Comm_free(&m->comm);
        free(m);
        return NULL;
    }
    check_host_memory(m, cfg->ram_bytes);
    m->dir_words_of = xcalloc(m, (size_t)m->size, sizeof(uint64_t));
    uint64_t mine = cfg->dir_words;
    MPI_Allgather(&mine, 1, MPI_UINT64_T, m->dir_words_of, 1, MPI_UINT64_T, m->comm);

    /* Nanosleep's default 50 us slack would turn every short back-off
     * sleep into a 50 us one. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

    MPI_Info info;
    MPI_Info_create(&info);
    /* osc/sm: one page-aligned segment per rank instead of one packed
     * block, so that ranks' areas do not share cache lines or pages. */
    MPI_Info_set(info, "alloc_shared_noncontig", "true");
    MPI_Info_set(info, "same_disp_unit", "true");
    /* Neither osc/sm nor osc/pt2pt returns a page-aligned base (a header
     * precedes it), so allocate a page more and start the copy area at
     * the first page boundary; the per-rank displacement of that boundary
     * is exchanged once. */
    uint8_t *base = NULL;
    if (MPI_Win_allocate((MPI_Aint)(cfg->ram_bytes + RAM_ALIGN), 1, info, m->comm, &base,
                         &m->ram_win) != MPI_SUCCESS)
        die(m, "MPI_Win_allocate (RAM) failed");
    MPI_Info_free(&info);
    uint64_t disp = (uint64_t)(-(uintptr_t)base & (RAM_ALIGN - 1));
    m->ram = base + disp;
    m->ram_disp = xcalloc(m, (size_t)m->size, sizeof(uint64_t));
    MPI_Allgather(&disp, 1, MPI_UINT64_T, m->ram_disp, 1, MPI_UINT64_T, m->comm);
    MPI_Info_create(&info);
    MPI_Info_set(info, "same_disp_unit", "true");
    if (MPI_Win_allocate((MPI_Aint)(cfg->dir_words * sizeof(uint64_t)),
                         (int)sizeof(uint64_t), info, m->comm, &m->dir,
                         &m->dir_win) != MPI_SUCCESS)
        die(m, "MPI_Win_allocate (directory) failed");
    MPI_Info_free(&info);
    /* The copy area is left alone: MPI does not promise zeroed memory,
     * and the DSM never reads bytes it has not installed (a page's first
     * touch zero-fills it: dsm_transport.h). Zeroing it here cost every
     * rank a pass over all of guest RAM and made all of it resident
     * (memory 3G at 2 ranks: 6 GiB and 15-40 s, docs/startup.md). The
     * directory must start zero (every page untouched) and MPI does not
     * promise that either; it is small: one or two words per page,
     * spread over the ranks. */
    if (cfg->dir_words)
        memset(m->dir, 0, cfg->dir_words * sizeof(uint64_t));
    /* A check, not a feature: fill the copy area with garbage, so that a
     * rank that read guest RAM nobody installed would show it (the
     * integration tests run the zeromem guest so; docs/startup.md). */
    if (getenv("VSMP_DEBUG_POISON_RAM") && cfg->ram_bytes)
        memset(m->ram, 0xa5, cfg->ram_bytes);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, m->ram_win);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, m->dir_win);
    MPI_Win_sync(m->ram_win);
    MPI_Win_sync(m->dir_win);

    ring_open(m, &m->in, cfg->recv_slots > 0 ? cfg->recv_slots : DEFAULT_RECV_SLOTS, m->msg_size);
    m->data_in = xcalloc(m, 1, m->data_size);
    m->msg_out = (struct send_pool){ .size = m->msg_size };
    pool_grow(m, &m->msg_out, INITIAL_SEND_SLOTS);
    m->data_out = (struct send_pool){ .size = m->data_size };
    pool_grow(m, &m->data_out, INITIAL_DATA_SEND_SLOTS);
    MPI_Barrier(m->comm);
    /* after the barrier: every window is allocated, every directory zero */
    probe_peers(m);
    /* A probe's one-sided operations complete only while their target
     * drives MPI (osc pt2pt over TCP): no rank leaves the opening while
     * another still probes it (a rank that went on and stopped before its
     * next collective would hold the prober inside the opening). */
    MPI_Barrier(m->comm);
    m->guard_polls = GUARD_POLLS;
    m->guard_next_ns = m->host_first ? now_ns() + GUARD_NS : 0;
    return m;
}

/* Which peers are near (their copy areas reached through memory).
 *
 * Over shared memory (osc/sm) a Get or Put is a memory copy that needs
 * nothing of the target; osc/pt2pt between ranks of one node goes
 * through vader's shared-memory queues (a request the target serves in
 * its next progress pass, about a microsecond); over a network it is a
 * request that costs a network round trip. MPI does not say which
 * (MPI_Win_shared_query fails on MPI_Win_allocate windows in Open MPI
 * 4.1), so time it: a peer is near when the best of a few 8-byte Gets
 * took under PROBE_NEAR_NS (osc/sm about 0.05 us, osc/pt2pt over vader
 * 0.7-3 us, over TCP loopback 12 us and more; the rule is probe_rule(),
 * mpi/probe_rule.h, tested with injected times). send_data puts to near peers
 * (a put + flush costs no more than a data message there, which is over
 * vader's 4 KiB eager limit: dsmbench with osc/pt2pt over vader,
 * read-busy 20 us by put against 26-29 us by message) and sends the page
 * inside the message to the others (over TCP a put + flush is a second
 * round trip). A wrong guess costs speed, never correctness: the
 * receiver handles both forms of send_data.
 *
 * Nothing is warmed. Every rank maps every near peer's copy area over
 * osc/sm, and the first touch of each of its pages in this process is a
 * host page fault (shmem, about 4 us, mapping up to 16 pages that exist
 * around it): measured as a quarter of a cold 4 KiB Get in the DSM's
 * first read of a page. Until 2026-12 open touched every 64 KiB of every
 * near peer's area with an 8-byte Get to save that; but a read of a page
 * that does not exist yet allocates it (shmem has no shared zero page),
 * so the warm-up made 1/16 of every peer's area resident and, with the
 * fault-around, mapped all of it: memory and start-up time that grew
 * with `memory` (docs/startup.md). The fault now comes with the first
 * get of a page from a peer, once per 64 KiB of pages that peer has.
 * Collective in effect: every rank probes while the others do (osc/pt2pt
 * targets serve while they wait in their own flushes). */
#define PROBES 4

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void probe_peers(struct dsm_mpi *m)
{
    m->peer_near = xcalloc(m, (size_t)m->size, sizeof(bool));
    m->peer_rma_ns = xcalloc(m, (size_t)m->size, sizeof(uint64_t));
    if (m->size < 2 || m->ram_bytes == 0)
        return;
    uint64_t probe;
    for (int k = 1; k < m->size; k++) {
        int r = (m->rank + k) % m->size;
        uint64_t times[PROBES];
        for (int i = 0; i < PROBES; i++) {
            uint64_t t0 = now_ns();
            dsm_mpi_get(m, r, 0, &probe, sizeof probe);
            times[i] = now_ns() - t0;
        }
        m->st.gets -= PROBES;
        m->st.get_bytes -= PROBES * sizeof probe;
        struct probe_verdict v = probe_rule(times, PROBES);
        m->peer_near[r] = v.near;
        m->peer_rma_ns[r] = v.rma_ns;
    }
}

void dsm_mpi_set_data_path(struct dsm_mpi *m, enum dsm_mpi_data_path path)
{
    m->data_path = path;
}

/* Does send_data put to rank (else: the bytes go inside the message)? */
static bool puts_to(const struct dsm_mpi *m, int rank)
{
    return rank != m->rank && (m->data_path == DSM_MPI_DATA_PUT ||
                               (m->data_path == DSM_MPI_DATA_AUTO && m->peer_near[rank]));
}

int dsm_mpi_put_peers(const struct dsm_mpi *m)
{
    int k = 0;
    for (int r = 0; r < m->size; r++)
        k += puts_to(m, r);
    return k;
}

void dsm_mpi_close(struct dsm_mpi *m)
{
    if (!m)
        return;
    /* our sends complete (they keep serving RMA progress meanwhile) */
    pool_close(&m->msg_out);
    pool_close(&m->data_out);
    MPI_Win_unlock_all(m->ram_win);
    MPI_Win_unlock_all(m->dir_win);
    MPI_Win_free(&m->ram_win);   /* collective: every rank is done */
    MPI_Win_free(&m->dir_win);
    ring_close(&m->in);
    MPI_Comm_free(&m->comm);
    free(m->data_in);
    free(m->bl_buf);
    free(m->peer_near);
    free(m->peer_rma_ns);
    free(m->dir_words_of);
    free(m->ram_disp);
    free(m);
}

static void check_ram(struct dsm_mpi *m, int rank, size_t off, size_t len)
{
    if (rank < 0 || rank >= m->size || off > m->ram_bytes || len > m->ram_bytes - off)
        die(m, "page transfer out of range");
}

void dsm_mpi_get(struct dsm_mpi *m, int rank, size_t off, void *buf, size_t len)
{
    check_ram(m, rank, off, len);
    for (size_t done = 0; done < len;) {
        size_t n = len - done > (size_t)INT_MAX ? (size_t)INT_MAX : len - done;
        MPI_Get((uint8_t *)buf + done, (int)n, MPI_BYTE, rank,
                (MPI_Aint)(m->ram_disp[rank] + off + done), (int)n, MPI_BYTE, m->ram_win);
        done += n;
    }
    struct watch_mark w = watch_begin(m->watch, WATCH_GET, rank, off, NULL);
    MPI_Win_flush_local(rank, m->ram_win);      /* the bytes are in buf */
    watch_end(m->watch, w);
    m->st.gets++;
    m->st.get_bytes += len;
}

/* ---- the raw-get baseline ---- */

/* The baseline draws its pages from the first BASELINE_SPAN bytes of a
 * peer's copy area (or all of it, if smaller), mapped once when it is
 * turned on: a get of a page that does not exist yet would allocate it
 * in the peer's area (over osc/sm; memory a guest never asked for) and
 * time a host page fault that no DSM fault pays twice. */
#define BASELINE_SPAN (16u << 20)

static size_t baseline_pages(const struct dsm_mpi *m)
{
    size_t span = m->ram_bytes < BASELINE_SPAN ? m->ram_bytes : BASELINE_SPAN;
    return span / DSM_PAGE_SIZE;
}

void dsm_mpi_baseline_every(struct dsm_mpi *m, uint64_t every_ns)
{
    if (m->size < 2 || m->ram_bytes < DSM_PAGE_SIZE)
        every_ns = 0;
    if (every_ns && !m->bl_buf) {
        m->bl_buf = xcalloc(m, 1, DSM_PAGE_SIZE);
        for (int r = 0; r < m->size; r++) {
            if (!m->peer_near[r])
                continue;       /* nothing to map (or self) */
            for (size_t p = 0; p < baseline_pages(m); p++)
                MPI_Get(m->bl_buf, 8, MPI_BYTE, r,
                        (MPI_Aint)(m->ram_disp[r] + p * DSM_PAGE_SIZE), 8, MPI_BYTE,
                        m->ram_win);
            MPI_Win_flush(r, m->ram_win);
        }
    }
    m->bl_every_ns = every_ns;
    /* the first tick measures at once: a run short on a fast host still
     * has its baseline (and a test of it does not depend on run time) */
    m->bl_next_ns = now_ns();
    m->bl_peer = m->rank;
    m->bl_rng = 0x9e3779b97f4a7c15ull * (uint64_t)(m->rank + 1);
}

/* Exactly what the raw row of bench/mpi_fault times: MPI_Get of 4 KiB
 * and MPI_Win_flush (not the DSM's flush_local), of a page drawn at
 * random from the first BASELINE_SPAN bytes of rank r's copy area
 * (mostly cold in the caches, as a fault's page usually is; mapped when
 * the baseline was turned on), into a private buffer: the guest's memory
 * is not touched, and the protocol does not know. Returns the time it
 * took. */
static uint64_t baseline_get(struct dsm_mpi *m, int r)
{
    m->bl_rng ^= m->bl_rng << 13;   /* xorshift64 */
    m->bl_rng ^= m->bl_rng >> 7;
    m->bl_rng ^= m->bl_rng << 17;
    size_t off = (size_t)(m->bl_rng % baseline_pages(m)) * DSM_PAGE_SIZE;
    uint64_t t0 = now_ns();
    MPI_Get(m->bl_buf, DSM_PAGE_SIZE, MPI_BYTE, r, (MPI_Aint)(m->ram_disp[r] + off),
            DSM_PAGE_SIZE, MPI_BYTE, m->ram_win);
    struct watch_mark w = watch_begin(m->watch, WATCH_GET, r, off, NULL);
    MPI_Win_flush(r, m->ram_win);
    watch_end(m->watch, w);
    return now_ns() - t0;
}

/* Two gets back to back, the second one timed: a lone call after a stretch
 * of guest code finds MPI's code and data out of the caches (over osc/sm
 * even a get of a hot page then takes 0.5-1 us instead of 0.1), while a
 * fault usually comes in a run of faults. The timed get is the warm case:
 * the baseline errs on the fast side, the fault-to-get ratio on the high. */
void dsm_mpi_baseline_tick(struct dsm_mpi *m)
{
    if (!m->bl_every_ns || now_ns() < m->bl_next_ns)
        return;
    m->bl_peer = (m->bl_peer + 1) % m->size;
    if (m->bl_peer == m->rank)
        m->bl_peer = (m->bl_peer + 1) % m->size;
    baseline_get(m, m->bl_peer);
    dsm_kind_record(&m->bl, baseline_get(m, m->bl_peer));
    m->bl_next_ns = now_ns() + m->bl_every_ns;
}

void dsm_mpi_baseline_stats(const struct dsm_mpi *m, struct dsm_kind_stats *out)
{
    *out = m->bl;
}

void dsm_mpi_put(struct dsm_mpi *m, int rank, size_t off, const void *buf, size_t len)
{
    check_ram(m, rank, off, len);
    for (size_t done = 0; done < len;) {
        size_t n = len - done > (size_t)INT_MAX ? (size_t)INT_MAX : len - done;
        MPI_Put((const uint8_t *)buf + done, (int)n, MPI_BYTE, rank,
                (MPI_Aint)(m->ram_disp[rank] + off + done), (int)n, MPI_BYTE, m->ram_win);
        done += n;
    }
    struct watch_mark w = watch_begin(m->watch, WATCH_PUT, rank, off, NULL);
    MPI_Win_flush(rank, m->ram_win);
    watch_end(m->watch, w);
    m->st.puts++;
    m->st.put_bytes += len;
}

static void check_dir(struct dsm_mpi *m, int rank, size_t idx)
{
    if (rank < 0 || rank >= m->size || idx >= m->dir_words_of[rank])
        die(m, "directory word out of range");
}

uint64_t dsm_mpi_cas(struct dsm_mpi *m, int rank, size_t idx,
                     uint64_t expect, uint64_t desired)
{
    check_dir(m, rank, idx);
    uint64_t old = 0;
    MPI_Compare_and_swap(&desired, &expect, &old, MPI_UINT64_T, rank,
                         (MPI_Aint)idx, m->dir_win);
    struct watch_mark w = watch_begin(m->watch, WATCH_ATOMIC, rank, idx, NULL);
    MPI_Win_flush_local(rank, m->dir_win);      /* old is there: the CAS took place */
    watch_end(m->watch, w);
    m->st.atomics++;
    return old;
}

static uint64_t fetch_op(struct dsm_mpi *m, int rank, size_t idx, uint64_t v, MPI_Op op)
{
    check_dir(m, rank, idx);
    uint64_t old = 0;
    MPI_Fetch_and_op(&v, &old, MPI_UINT64_T, rank, (MPI_Aint)idx, op, m->dir_win);
    struct watch_mark w = watch_begin(m->watch, WATCH_ATOMIC, rank, idx, NULL);
    MPI_Win_flush_local(rank, m->dir_win);      /* old is there: the operation took place */
    watch_end(m->watch, w);
    m->st.atomics++;
    return old;
}

uint64_t dsm_mpi_fetch_or(struct dsm_mpi *m, int rank, size_t idx, uint64_t bits)
{
    return fetch_op(m, rank, idx, bits, MPI_BOR);
}

uint64_t dsm_mpi_swap(struct dsm_mpi *m, int rank, size_t idx, uint64_t value)
{
    return fetch_op(m, rank, idx, value, MPI_REPLACE);
}

uint64_t dsm_mpi_load(struct dsm_mpi *m, int rank, size_t idx)
{
    return fetch_op(m, rank, idx, 0, MPI_NO_OP);
}

void dsm_mpi_store(struct dsm_mpi *m, int rank, size_t idx, uint64_t value)
{
    check_dir(m, rank, idx);
    /* An accumulate (atomic with the other atomics, ordered before this
     * rank's later ones on the word); flush_local hands it to the
     * network (osc/pt2pt queues RMA in fragments until a flush) and frees
     * `value`, without the round trip to the home that a full flush or a
     * fetching op would wait for. */
    MPI_Accumulate(&value, 1, MPI_UINT64_T, rank, (MPI_Aint)idx, 1, MPI_UINT64_T, MPI_REPLACE,
                   m->dir_win);
    struct watch_mark w = watch_begin(m->watch, WATCH_STORE, rank, idx, NULL);
    MPI_Win_flush_local(rank, m->dir_win);
    watch_end(m->watch, w);
    m->st.stores++;
}

/* A buffer of pool p (index *idx) that starts with msg, zero-filled to
 * msg_size: the control part of both kinds of message. */
static uint8_t *fill_msg(struct dsm_mpi *m, struct send_pool *p, const void *msg, size_t len,
                         int *idx)
{
    uint8_t *buf = pool_take(m, p, idx);
    memcpy(buf, msg, len);
    memset(buf + len, 0, m->msg_size - len);
    return buf;
}

void dsm_mpi_send(struct dsm_mpi *m, int rank, const void *msg, size_t len)
{
    if (rank < 0 || rank >= m->size || rank == m->rank || len > m->msg_size)
        die(m, "bad message destination or size");
    int i;
    fill_msg(m, &m->msg_out, msg, len, &i);
    /* Release: local stores to the copy area before this message are
     * visible to the Get that it may trigger. */
    MPI_Win_sync(m->ram_win);
    pool_isend(m, &m->msg_out, i, m->msg_size, rank, TAG_MSG);
    m->st.msgs_sent++;
}

void dsm_mpi_send_data(struct dsm_mpi *m, int rank, const void *msg, size_t len,
                       size_t off, size_t dlen)
{
    if (rank < 0 || rank >= m->size || rank == m->rank || len > m->msg_size ||
        dlen > m->data_max)
        die(m, "bad data message destination or size");
    check_ram(m, m->rank, off, dlen);
    if (puts_to(m, rank)) {
        dsm_mpi_put(m, rank, off, m->ram + off, dlen);
        dsm_mpi_send(m, rank, msg, len);
        return;
    }
    int i;
    uint8_t *buf = fill_msg(m, &m->data_out, msg, len, &i);
    struct data_hdr h = { .off = off, .len = dlen };
    memcpy(buf + m->msg_size, &h, sizeof h);
    memcpy(buf + m->msg_size + sizeof h, m->ram + off, dlen);
    pool_isend(m, &m->data_out, i, m->msg_size + sizeof h + dlen, rank, TAG_DATA);
    m->st.msgs_sent++;
    m->st.data_msgs++;
    m->st.data_bytes += dlen;
}

/* A progress pass that also looks for a data message: true (and the
 * message received into data_in, its length in *len, its sender in *src)
 * if one had arrived. */
static bool probe_data(struct dsm_mpi *m, int *src, int *len)
{
    int flag = 0;
    MPI_Message msg;
    MPI_Status st;
    MPI_Improbe(MPI_ANY_SOURCE, TAG_DATA, m->comm, &flag, &msg, &st);
    if (!flag)
        return false;
    MPI_Get_count(&st, MPI_BYTE, len);
    if (*len < 0 || (size_t)*len > m->data_size)
        die(m, "data message too long");
    MPI_Mrecv(m->data_in, *len, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
    *src = st.MPI_SOURCE;
    return true;
}

/* The data message in data_in: its bytes land in our copy area, its
 * control part goes to msg. */
static void take_data(struct dsm_mpi *m, int len, uint8_t *msg)
{
    struct data_hdr h;
    if (len < (int)(m->msg_size + sizeof h))
        die(m, "data message too short");
    memcpy(&h, m->data_in + m->msg_size, sizeof h);
    if (h.len > m->data_max || h.len != (uint64_t)len - m->msg_size - sizeof h)
        die(m, "data message of the wrong size");
    check_ram(m, m->rank, h.off, h.len);
    memcpy(m->ram + h.off, m->data_in + m->msg_size + sizeof h, h.len);
    memcpy(msg, m->data_in, m->msg_size);
    m->st.data_recv++;
}

/* Hand one message to the handler. */
static void deliver(struct dsm_mpi *m, int src, const uint8_t *msg, int *n)
{
    if (*n == 0)
        MPI_Win_sync(m->ram_win);   /* acquire: see Puts announced */
    (*n)++;
    m->st.msgs_recv++;
    if (m->on_msg)
        m->on_msg(m->ctx, src, msg, m->msg_size);
}

int dsm_mpi_poll(struct dsm_mpi *m, int max)
{
    m->st.polls++;
    if (m->guard_next_ns && --m->guard_polls == 0)
        guard_tick(m);
    if (m->in_poll) {
        /* From inside a handler: progress only, deliver nothing. */
        int flag;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_MSG, m->comm, &flag, MPI_STATUS_IGNORE);
        return 0;
    }
    m->in_poll = true;
    int n = 0;
    uint8_t msg[DSM_MPI_MSG_MAX];
    /* Progress passes before the ring test: with osc/pt2pt a Get or CAS
     * request that arrives in one pass has its reply sent in the next
     * (measured: a busy target then answers within one poll period
     * instead of two); the ring test is the last pass. The first pass is
     * also where data messages are found (at least that one pass, then,
     * even with progress_calls 1): a data message answers this rank's
     * own request and has no pre-posted receive, so that control
     * messages keep their small, cache-resident ring (a ring with slots
     * big enough for a page cost 1.2 us a fault: docs/dsm-mpi.md) and a
     * poll still makes one MPI test call, not two. */
    int passes = m->progress_calls > 1 ? m->progress_calls - 1 : 1;
    for (int i = 0; i < passes; i++) {
        int src, len;
        while ((max <= 0 || n < max) && probe_data(m, &src, &len)) {
            take_data(m, len, msg);
            deliver(m, src, msg, &n);
        }
    }
    pool_retire(&m->msg_out);
    pool_retire(&m->data_out);
    while (max <= 0 || n < max) {
        MPI_Status st;
        const uint8_t *b = ring_test(&m->in, &st);
        if (!b)
            break;
        int len = 0;
        MPI_Get_count(&st, MPI_BYTE, &len);
        if (len != (int)m->msg_size)
            die(m, "control message of the wrong size");
        memcpy(msg, b, m->msg_size);
        ring_next(m, &m->in);
        deliver(m, st.MPI_SOURCE, msg, &n);
    }
    m->in_poll = false;
    return n;
}

void dsm_mpi_idle(struct dsm_mpi *m, unsigned idle)
{
    if (m->idle_spin) {
        /* a core of its own: poll again at once; the yield costs little
         * and keeps a wrong guess (a host busy with other work) harmless */
        sched_yield();
        return;
    }
    dsm_mpi_backoff(idle);
}

bool dsm_mpi_idle_spins(const struct dsm_mpi *m)
{
    return m->idle_spin;
}

void dsm_mpi_set_watchdog(struct dsm_mpi *m, struct watchdog *w)
{
    m->watch = w;
}

void dsm_mpi_backoff(unsigned idle)
{
    if (idle < 16) {
        sched_yield();
        return;
    }
    unsigned shift = (idle - 16) / 8;
    long ns = 1000L << (shift > 7 ? 7 : shift);   /* 1 us .. 128 us */
    struct timespec ts = { 0, ns };
    nanosleep(&ts, NULL);
}

void dsm_mpi_get_stats(const struct dsm_mpi *m, struct dsm_mpi_stats *out)
{
    *out = m->st;
}

uint64_t dsm_mpi_now_ns(void)
{
    return now_ns();
}

/* ---- src/mem/dsm_transport.h over the calls above ---- */

static void tp_get(void *ctx, int rank, size_t off, void *buf, size_t len)
{
    dsm_mpi_get(ctx, rank, off, buf, len);
}


static uint64_t tp_fetch_op(void *ctx, int rank, size_t idx, enum dsm_atomic_op op, uint64_t v)
{
    static const MPI_Op ops[] = {
        [DSM_OP_ADD] = MPI_SUM, [DSM_OP_OR] = MPI_BOR, [DSM_OP_AND] = MPI_BAND,
        [DSM_OP_SWAP] = MPI_REPLACE, [DSM_OP_LOAD] = MPI_NO_OP,
    };
    if ((unsigned)op >= sizeof(ops) / sizeof(ops[0]))
        die(ctx, "bad atomic op");
    return fetch_op(ctx, rank, idx, v, ops[op]);
}

static void tp_store(void *ctx, int rank, size_t idx, uint64_t v)
{
    dsm_mpi_store(ctx, rank, idx, v);
}

static void tp_send(void *ctx, int rank, const struct dsm_msg *msg)
{
    dsm_mpi_send(ctx, rank, msg, sizeof(*msg));
}

static void tp_send_data(void *ctx, int rank, const struct dsm_msg *msg, size_t off, size_t len)
{
    dsm_mpi_send_data(ctx, rank, msg, sizeof(*msg), off, len);
}

struct tp_poll_arg {
    dsm_msg_fn fn;
    void *fn_arg;
};

static void tp_deliver(void *arg, int src, const void *bytes, size_t len)
{
    struct tp_poll_arg *a = arg;
    struct dsm_msg msg;
    (void)len;
    memcpy(&msg, bytes, sizeof(msg));
    a->fn(a->fn_arg, src, &msg);
}

static int tp_poll(void *ctx, int max, dsm_msg_fn fn, void *fn_arg)
{
    struct dsm_mpi *m = ctx;
    struct tp_poll_arg a = { fn, fn_arg };
    dsm_mpi_msg_fn saved = m->on_msg;
    void *saved_ctx = m->ctx;
    m->on_msg = tp_deliver;
    m->ctx = &a;
    int n = dsm_mpi_poll(m, max);
    m->on_msg = saved;
    m->ctx = saved_ctx;
    return n;
}

static void tp_idle(void *ctx, unsigned spins)
{
    dsm_mpi_idle(ctx, spins);
}

static uint64_t tp_rma_ns(void *ctx, int rank)
{
    struct dsm_mpi *m = ctx;
    return rank >= 0 && rank < m->size && m->peer_rma_ns ? m->peer_rma_ns[rank] : 0;
}

static uint64_t tp_now_ns(void *ctx)
{
    (void)ctx;
    return dsm_mpi_now_ns();
}

struct dsm_transport *dsm_mpi_transport(struct dsm_mpi *m)
{
    if (m->msg_size != sizeof(struct dsm_msg) || m->data_max < DSM_TRANSPORT_DATA_MAX)
        return NULL;
    m->tp = (struct dsm_transport){
        .rank = m->rank, .nranks = m->size,
        .ram = m->ram, .ram_bytes = m->ram_bytes,
        .ctx = m,
        .get = tp_get, .fetch_op = tp_fetch_op, .store = tp_store,
        .send = tp_send, .send_data = tp_send_data, .poll = tp_poll, .idle = tp_idle, .now_ns = tp_now_ns,
        .rma_ns = tp_rma_ns,
    };
    return &m->tp;
}
