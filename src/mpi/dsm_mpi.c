/* dsm_mpi.c - the DSM's one-sided MPI plumbing (see dsm_mpi.h for the
 * model): two windows made with MPI_Win_allocate and held under one
 * MPI_Win_lock_all for the whole run, gets and directory atomics
 * completed with MPI_Win_flush_local, puts with MPI_Win_flush (see
 * "Completion" below), and control messages as fixed-size
 * MPI_Isend to a ring of pre-posted MPI_Irecv (MPI_ANY_SOURCE) that
 * dsm_mpi_poll tests in posting order.
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
 * follows it says "the data is there" (rule 1). */
#define _GNU_SOURCE
#include "mpi/dsm_mpi.h"
#include "mem/dsm_transport.h"

#include <mpi.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define TAG_MSG 7
#define DEFAULT_RECV_SLOTS 64
#define INITIAL_SEND_SLOTS 16
#define RAM_ALIGN 4096u

struct dsm_mpi {
    MPI_Comm comm;
    int rank, size;
    size_t msg_size;
    int progress_calls;
    bool idle_spin;           /* idle waits poll again at once (own core) */

    MPI_Win ram_win;
    uint8_t *ram;             /* page-aligned start of the copy area */
    size_t ram_bytes;
    uint64_t *ram_disp;       /* per rank: window displacement of its copy area */

    MPI_Win dir_win;
    uint64_t *dir;
    size_t dir_words;
    uint64_t *dir_words_of;   /* per rank, for bounds checks */

    /* receive ring: slot `rhead` is the oldest posted receive */
    int nrecv, rhead;
    MPI_Request *rreq;
    uint8_t *rbuf;

    /* send pool: buffers stay put while their Isend is in flight */
    int nsend, send_inflight, nfree;
    MPI_Request *sreq;
    uint8_t **sbuf;
    int *free_idx;
    int *done_idx;            /* scratch for MPI_Testsome */

    dsm_mpi_msg_fn on_msg;
    void *ctx;
    bool in_poll;
    struct dsm_mpi_stats st;
    struct dsm_transport tp;
};

static void die(struct dsm_mpi *m, const char *what)
{
    fprintf(stderr, "vsmp: rank %d: dsm_mpi: %s\n", m ? m->rank : -1, what);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 3);
    exit(3);
}

static void *xcalloc(struct dsm_mpi *m, size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        die(m, "out of memory");
    return p;
}

static void post_recv(struct dsm_mpi *m, int slot)
{
    MPI_Irecv(m->rbuf + (size_t)slot * m->msg_size, (int)m->msg_size, MPI_BYTE,
              MPI_ANY_SOURCE, TAG_MSG, m->comm, &m->rreq[slot]);
}

static void warm_peer_mappings(struct dsm_mpi *m);

/* DSM_MPI_IDLE_AUTO: does every rank on this host have a CPU of its own?
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

static bool host_has_core_per_rank(struct dsm_mpi *m)
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
    int ranks = 0;
    for (int r = 0; r < m->size; r++) {
        if (memcmp(all[r].id, me.id, sizeof me.id) != 0)
            continue;
        ranks++;
        CPU_OR(&cpus, &cpus, &all[r].cpus);
    }
    free(all);
    return CPU_COUNT(&cpus) >= ranks;
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
    m->progress_calls = cfg->progress_calls > 0 ? cfg->progress_calls : 2;
    m->idle_spin = cfg->idle == DSM_MPI_IDLE_SPIN ||
                   (cfg->idle == DSM_MPI_IDLE_AUTO && host_has_core_per_rank(m));
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
    if (cfg->ram_bytes)
        memset(m->ram, 0, cfg->ram_bytes);
    if (cfg->dir_words)
        memset(m->dir, 0, cfg->dir_words * sizeof(uint64_t));
    MPI_Win_lock_all(MPI_MODE_NOCHECK, m->ram_win);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, m->dir_win);
    MPI_Win_sync(m->ram_win);
    MPI_Win_sync(m->dir_win);

    m->nrecv = cfg->recv_slots > 0 ? cfg->recv_slots : DEFAULT_RECV_SLOTS;
    m->rreq = xcalloc(m, (size_t)m->nrecv, sizeof(MPI_Request));
    m->rbuf = xcalloc(m, (size_t)m->nrecv, m->msg_size);
    for (int i = 0; i < m->nrecv; i++)
        post_recv(m, i);

    m->nsend = INITIAL_SEND_SLOTS;
    m->sreq = xcalloc(m, (size_t)m->nsend, sizeof(MPI_Request));
    m->sbuf = xcalloc(m, (size_t)m->nsend, sizeof(uint8_t *));
    m->free_idx = xcalloc(m, (size_t)m->nsend, sizeof(int));
    m->done_idx = xcalloc(m, (size_t)m->nsend, sizeof(int));
    for (int i = 0; i < m->nsend; i++) {
        m->sreq[i] = MPI_REQUEST_NULL;
        m->sbuf[i] = xcalloc(m, 1, m->msg_size);
        m->free_idx[m->nfree++] = m->nsend - 1 - i;
    }
    MPI_Barrier(m->comm);
    /* after the barrier: every area is allocated and zeroed */
    warm_peer_mappings(m);
    return m;
}

/* Over shared memory (osc/sm) every rank maps every other rank's copy
 * area, and the first touch of each of a peer's pages in this process is
 * a host page fault (shmem, about 4 us, mapping 16 pages at a time):
 * measured as a quarter of a cold 4 KiB Get in the DSM's first read of a
 * page. Touch every 64 KiB of every peer's area once here with an 8-byte
 * Get instead (the kernel maps the pages around it). Only when a Get
 * looks like a memory copy (under WARM_MAX_NS): over a network transport
 * the remote area is never mapped here and this would only cost round
 * trips. */
#define WARM_STEP (64u * 1024u)
#define WARM_MAX_NS 5000u

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void warm_peer_mappings(struct dsm_mpi *m)
{
    if (m->size < 2 || m->ram_bytes == 0)
        return;
    uint64_t probe;
    int peer = (m->rank + 1) % m->size;
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 4; i++) {
        uint64_t t0 = now_ns();
        dsm_mpi_get(m, peer, 0, &probe, sizeof probe);
        uint64_t dt = now_ns() - t0;
        if (dt < best)
            best = dt;
    }
    m->st.gets -= 4;
    m->st.get_bytes -= 4 * sizeof probe;
    if (best > WARM_MAX_NS)
        return;
    for (int k = 1; k < m->size; k++) {
        int r = (m->rank + k) % m->size;
        for (size_t off = 0; off < m->ram_bytes; off += WARM_STEP) {
            MPI_Get(&probe, (int)sizeof probe, MPI_BYTE, r,
                    (MPI_Aint)(m->ram_disp[r] + off), (int)sizeof probe, MPI_BYTE, m->ram_win);
            MPI_Win_flush(r, m->ram_win);
        }
    }
}

static void retire_sends(struct dsm_mpi *m)
{
    if (m->send_inflight == 0)
        return;
    int n = 0;
    MPI_Testsome(m->nsend, m->sreq, &n, m->done_idx, MPI_STATUSES_IGNORE);
    if (n == MPI_UNDEFINED)
        return;
    for (int i = 0; i < n; i++)
        m->free_idx[m->nfree++] = m->done_idx[i];
    m->send_inflight -= n;
}

void dsm_mpi_close(struct dsm_mpi *m)
{
    if (!m)
        return;
    /* Small messages go eagerly, so our sends complete without the
     * receivers' help; keep serving RMA progress meanwhile anyway. */
    while (m->send_inflight > 0) {
        retire_sends(m);
        if (m->send_inflight > 0)
            sched_yield();
    }
    MPI_Win_unlock_all(m->ram_win);
    MPI_Win_unlock_all(m->dir_win);
    MPI_Win_free(&m->ram_win);   /* collective: every rank is done */
    MPI_Win_free(&m->dir_win);
    for (int i = 0; i < m->nrecv; i++) {
        MPI_Cancel(&m->rreq[i]);
        MPI_Wait(&m->rreq[i], MPI_STATUS_IGNORE);
    }
    MPI_Comm_free(&m->comm);
    for (int i = 0; i < m->nsend; i++)
        free(m->sbuf[i]);
    free(m->sbuf);
    free(m->sreq);
    free(m->free_idx);
    free(m->done_idx);
    free(m->rreq);
    free(m->rbuf);
    free(m->dir_words_of);
    free(m->ram_disp);
    free(m);
}

int dsm_mpi_rank(const struct dsm_mpi *m)
{
    return m->rank;
}

int dsm_mpi_size(const struct dsm_mpi *m)
{
    return m->size;
}

uint8_t *dsm_mpi_ram(struct dsm_mpi *m)
{
    return m->ram;
}

size_t dsm_mpi_ram_bytes(const struct dsm_mpi *m)
{
    return m->ram_bytes;
}

void dsm_mpi_set_handler(struct dsm_mpi *m, dsm_mpi_msg_fn on_msg, void *ctx)
{
    m->on_msg = on_msg;
    m->ctx = ctx;
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
    MPI_Win_flush_local(rank, m->ram_win);      /* the bytes are in buf */
    m->st.gets++;
    m->st.get_bytes += len;
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
    MPI_Win_flush(rank, m->ram_win);
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
    MPI_Win_flush_local(rank, m->dir_win);      /* old is there: the CAS took place */
    m->st.atomics++;
    return old;
}

static uint64_t fetch_op(struct dsm_mpi *m, int rank, size_t idx, uint64_t v, MPI_Op op)
{
    check_dir(m, rank, idx);
    uint64_t old = 0;
    MPI_Fetch_and_op(&v, &old, MPI_UINT64_T, rank, (MPI_Aint)idx, op, m->dir_win);
    MPI_Win_flush_local(rank, m->dir_win);      /* old is there: the operation took place */
    m->st.atomics++;
    return old;
}

uint64_t dsm_mpi_fetch_add(struct dsm_mpi *m, int rank, size_t idx, uint64_t add)
{
    return fetch_op(m, rank, idx, add, MPI_SUM);
}

uint64_t dsm_mpi_fetch_or(struct dsm_mpi *m, int rank, size_t idx, uint64_t bits)
{
    return fetch_op(m, rank, idx, bits, MPI_BOR);
}

uint64_t dsm_mpi_fetch_and(struct dsm_mpi *m, int rank, size_t idx, uint64_t mask)
{
    return fetch_op(m, rank, idx, mask, MPI_BAND);
}

uint64_t dsm_mpi_swap(struct dsm_mpi *m, int rank, size_t idx, uint64_t value)
{
    return fetch_op(m, rank, idx, value, MPI_REPLACE);
}

uint64_t dsm_mpi_load(struct dsm_mpi *m, int rank, size_t idx)
{
    return fetch_op(m, rank, idx, 0, MPI_NO_OP);
}

static void grow_send_pool(struct dsm_mpi *m)
{
    int old = m->nsend, n = old * 2;
    MPI_Request *req = realloc(m->sreq, (size_t)n * sizeof(*req));
    uint8_t **buf = realloc(m->sbuf, (size_t)n * sizeof(*buf));
    int *fr = realloc(m->free_idx, (size_t)n * sizeof(int));
    int *dn = realloc(m->done_idx, (size_t)n * sizeof(int));
    if (!req || !buf || !fr || !dn)
        die(m, "out of memory (send pool)");
    m->sreq = req;
    m->sbuf = buf;
    m->free_idx = fr;
    m->done_idx = dn;
    for (int i = old; i < n; i++) {
        m->sreq[i] = MPI_REQUEST_NULL;
        m->sbuf[i] = xcalloc(m, 1, m->msg_size);
        m->free_idx[m->nfree++] = i;
    }
    m->nsend = n;
}

void dsm_mpi_send(struct dsm_mpi *m, int rank, const void *msg, size_t len)
{
    if (rank < 0 || rank >= m->size || rank == m->rank || len > m->msg_size)
        die(m, "bad message destination or size");
    if (m->nfree == 0)
        retire_sends(m);
    if (m->nfree == 0)
        grow_send_pool(m);
    int i = m->free_idx[--m->nfree];
    memcpy(m->sbuf[i], msg, len);
    memset(m->sbuf[i] + len, 0, m->msg_size - len);
    /* Release: local stores to the copy area before this message are
     * visible to the Get that it may trigger. */
    MPI_Win_sync(m->ram_win);
    MPI_Isend(m->sbuf[i], (int)m->msg_size, MPI_BYTE, rank, TAG_MSG, m->comm, &m->sreq[i]);
    m->send_inflight++;
    m->st.msgs_sent++;
}

int dsm_mpi_poll(struct dsm_mpi *m, int max)
{
    m->st.polls++;
    if (m->in_poll) {
        /* From inside a handler: progress only, deliver nothing. */
        int flag;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_MSG, m->comm, &flag, MPI_STATUS_IGNORE);
        return 0;
    }
    m->in_poll = true;
    /* Extra progress passes before the receive test: with osc/pt2pt a
     * Get or CAS request that arrives in one pass has its reply sent in
     * the next (measured: a busy target then answers within one poll
     * period instead of two). The ring test below is the last pass. */
    for (int i = 1; i < m->progress_calls; i++) {
        int flag;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_MSG, m->comm, &flag, MPI_STATUS_IGNORE);
    }
    retire_sends(m);
    int n = 0;
    uint8_t msg[DSM_MPI_MSG_MAX];
    while (max <= 0 || n < max) {
        int flag = 0;
        MPI_Status status;
        int slot = m->rhead;
        /* The ring is tested strictly in posting order: matching follows
         * posting order, so this keeps each sender's FIFO order. */
        MPI_Test(&m->rreq[slot], &flag, &status);
        if (!flag)
            break;
        int count = 0;
        MPI_Get_count(&status, MPI_BYTE, &count);
        if (count != (int)m->msg_size)
            die(m, "control message of the wrong size");
        memcpy(msg, m->rbuf + (size_t)slot * m->msg_size, m->msg_size);
        post_recv(m, slot);
        m->rhead = (slot + 1) % m->nrecv;
        if (n == 0)
            MPI_Win_sync(m->ram_win);   /* acquire: see Puts announced */
        n++;
        m->st.msgs_recv++;
        if (m->on_msg)
            m->on_msg(m->ctx, status.MPI_SOURCE, msg, m->msg_size);
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

static void tp_put(void *ctx, int rank, size_t off, const void *buf, size_t len)
{
    dsm_mpi_put(ctx, rank, off, buf, len);
}

static uint64_t tp_cas(void *ctx, int rank, size_t idx, uint64_t expect, uint64_t desired)
{
    return dsm_mpi_cas(ctx, rank, idx, expect, desired);
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

static void tp_send(void *ctx, int rank, const struct dsm_msg *msg)
{
    dsm_mpi_send(ctx, rank, msg, sizeof(*msg));
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

static uint64_t tp_now_ns(void *ctx)
{
    (void)ctx;
    return dsm_mpi_now_ns();
}

struct dsm_transport *dsm_mpi_transport(struct dsm_mpi *m)
{
    if (m->msg_size != sizeof(struct dsm_msg))
        return NULL;
    m->tp = (struct dsm_transport){
        .rank = m->rank, .nranks = m->size,
        .ram = m->ram, .ram_bytes = m->ram_bytes,
        .ctx = m,
        .get = tp_get, .put = tp_put, .cas = tp_cas, .fetch_op = tp_fetch_op,
        .send = tp_send, .poll = tp_poll, .idle = tp_idle, .now_ns = tp_now_ns,
    };
    return &m->tp;
}
