/* mpi_fault.c - micro-benchmark of the DSM's MPI transport
 * (src/mpi/dsm_mpi.c), 2 ranks: rank 0 measures, rank 1 is the target.
 *
 *   mpirun -np 2 --mca btl self,vader                build/bench/mpi_fault [LABEL]
 *   mpirun -np 2 --mca btl self,tcp --mca osc pt2pt  build/bench/mpi_fault [LABEL]
 *   taskset -c 0 mpirun --bind-to none ... build/bench/mpi_fault LABEL oversub
 *
 * Rows: (a) 4 KiB MPI_Get + MPI_Win_flush round trip, raw MPI on a window
 * of its own (the reference the DSM's figures are compared with); (a2)
 * the same get as the DSM makes it (dsm_mpi_get: MPI_Win_flush_local,
 * which is all a get needs); (b) MPI_Compare_and_swap
 * on a directory word + flush; (c) control message round trip (send, the
 * target polls and answers from its handler, the sender polls for the
 * answer); (e) a read fault's transport work without contention (CAS lock,
 * 4 KiB get, swap unlock), (b2) the unlock as the DSM makes it (a store
 * that does not wait for the home) and (e3) the read-fault work with it,
 * (e') that of the lock-free shared read with
 * the copyset in the meta word (one fetch-OR that returns the state it
 * joined, 4 KiB get: docs/dsm.md, up to 46 ranks), (e2) the same with the
 * split layout of more ranks (fetch-OR into the copyset word, load the
 * meta word, 4 KiB get);
 * (a') and (e'') the same as (a) (raw, flushed) and (e') on a different page each time
 * from a 64 MiB area (cold in the caches, as a DSM fault's page usually
 * is, rather than the 64 hot pages of the other rows; the host page
 * tables already map it, see dsm_mpi.c); then with the target "computing" and polling
 * only every K us (the vCPU's poll budget), (d) the message round trip
 * and (d') the 4 KiB get (osc/pt2pt needs the target's progress), and
 * (f) the message round trip with the sender waiting politely
 * (sched_yield / short sleeps, dsm_mpi_backoff) instead of spinning, and
 * (g) with the target waiting politely too (a halted vCPU), and (g') a
 * 4 KiB get from such a target; (h) a page request answered with the
 * page (dsm_mpi_send_data, the DSM's push), the target polling: as a put
 * (flushed) and a message, and (h') as one data message. A second argument `oversub` runs only
 * the (g) rows: for two ranks pinned to one core (taskset -c 0 mpirun
 * --bind-to none ...), where a spinning rank starves the other for a
 * scheduler time slice. Also the cost of one empty poll. Times in microseconds (min, median,
 * mean, 99th percentile). LABEL names the transport in the table. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "mpi/dsm_mpi.h"
#include "mpi/runtime.h"

#define PAGE 4096u
#define MSG 32
#define NPAGES 64
#define COLD_PAGES 16384u   /* 64 MiB: more than the host caches */

enum { M_PING = 1, M_PONG, M_CONFIG, M_STOP, M_PAGEREQ, M_PATH };

struct msg {
    uint32_t type, pad;
    uint64_t arg;
    uint64_t pad2[2];
};
_Static_assert(sizeof(struct msg) == MSG, "message size");

static struct dsm_mpi *m;
static MPI_Win raw_win;     /* rows (a), (a'): plain MPI_Get + MPI_Win_flush */
static volatile long pongs;
static long busy_us;        /* target: poll every busy_us (0: spin on poll) */
static bool stop;

static void on_msg(void *ctx, int src, const void *bytes, size_t len)
{
    (void)ctx;
    (void)len;
    struct msg in, out = { 0 };
    memcpy(&in, bytes, sizeof(in));
    switch (in.type) {
    case M_PING:
        out.type = M_PONG;
        out.arg = in.arg;
        dsm_mpi_send(m, src, &out, sizeof(out));
        break;
    case M_PONG:
        pongs++;
        break;
    case M_CONFIG:
        busy_us = (long)in.arg;
        break;
    case M_STOP:
        stop = true;
        break;
    case M_PAGEREQ:
        out.type = M_PONG;
        dsm_mpi_send_data(m, src, &out, sizeof(out), (size_t)in.arg * PAGE, PAGE);
        break;
    case M_PATH:
        dsm_mpi_set_data_path(m, (enum dsm_mpi_data_path)in.arg);
        break;
    }
}

static void target(void)
{
    unsigned idle = 0;
    while (!stop) {
        if (busy_us < 0) {
            /* a waiting vCPU (HLT): poll, back off when there is nothing */
            if (dsm_mpi_poll(m, 0) == 0)
                dsm_mpi_backoff(idle++);
            else
                idle = 0;
            continue;
        }
        if (busy_us > 0) {
            /* "guest code" for busy_us, then one poll */
            uint64_t until = dsm_mpi_now_ns() + (uint64_t)busy_us * 1000;
            while (dsm_mpi_now_ns() < until)
                __asm__ volatile("pause");
        }
        dsm_mpi_poll(m, 0);
    }
}

/* the reference: a 4 KiB MPI_Get from rank 1 completed with MPI_Win_flush */
static void raw_get(void *buf, size_t page)
{
    MPI_Get(buf, (int)PAGE, MPI_BYTE, 1, (MPI_Aint)(page * PAGE), (int)PAGE, MPI_BYTE, raw_win);
    MPI_Win_flush(1, raw_win);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void row(const char *name, uint64_t *ns, int n)
{
    qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (double)ns[i];
    int p99 = (int)((double)n * 0.99);
    if (p99 >= n)
        p99 = n - 1;
    printf("| %-44s | %8.2f | %8.2f | %8.2f | %8.2f |\n", name, ns[0] / 1e3,
           ns[n / 2] / 1e3, sum / n / 1e3, ns[p99] / 1e3);
    fflush(stdout);
}

static void send_type(int type, uint64_t arg)
{
    struct msg out = { .type = (uint32_t)type, .arg = arg };
    dsm_mpi_send(m, 1, &out, sizeof(out));
}

/* One message round trip; polite: back off while waiting. */
static uint64_t msg_rtt(bool polite)
{
    long want = pongs + 1;
    uint64_t t0 = dsm_mpi_now_ns();
    send_type(M_PING, t0);
    unsigned idle = 0;
    while (pongs < want)
        if (dsm_mpi_poll(m, 0) == 0 && polite)
            dsm_mpi_backoff(idle++);
    return dsm_mpi_now_ns() - t0;
}

/* A locked read fault's transport work: CAS lock, 4 KiB get, unlock with
 * a fetching SWAP (row e) or with a store that does not wait (row e3). */
static void locked_read_row(const char *name, uint8_t *buf, uint64_t *ns, int n, bool store)
{
    for (int i = 0; i < n; i++) {
        uint64_t s = dsm_mpi_now_ns();
        while (dsm_mpi_cas(m, 1, 1, 0, 1) != 0)
            ;
        dsm_mpi_get(m, 1, (size_t)(i % NPAGES) * PAGE, buf, PAGE);
        if (store)
            dsm_mpi_store(m, 1, 1, 0);
        else
            dsm_mpi_swap(m, 1, 1, 0);
        ns[i] = dsm_mpi_now_ns() - s;
    }
    row(name, ns, n);
}

/* One page request answered with the page (rows h, h'). */
static uint64_t page_rtt(size_t page)
{
    long want = pongs + 1;
    uint64_t t0 = dsm_mpi_now_ns();
    send_type(M_PAGEREQ, page);
    while (pongs < want)
        dsm_mpi_poll(m, 0);
    return dsm_mpi_now_ns() - t0;
}

static void set_busy(long us)
{
    send_type(M_CONFIG, (uint64_t)us);
    msg_rtt(false);   /* the target has the setting once this returns */
}

/* (g): both ranks wait politely (the target as a halted vCPU, the
 * sender backing off): the case of more ranks than cores. */
static void polite_rows(uint8_t *buf, uint64_t *ns, int n)
{
    set_busy(-1);
    for (int i = 0; i < n; i++)
        ns[i] = msg_rtt(true);
    row("(g) message round trip, both back off", ns, n);
    for (int i = 0; i < n; i++) {
        uint64_t s = dsm_mpi_now_ns();
        dsm_mpi_get(m, 1, (size_t)(i % NPAGES) * PAGE, buf, PAGE);
        ns[i] = dsm_mpi_now_ns() - s;
    }
    row("(g') 4 KiB get, target backs off", ns, n);
}

int main(int argc, char **argv)
{
    struct runtime *rt = rt_init(&argc, &argv);
    if (!rt)
        return 1;
    if (rt_size(rt) != 2)
        rt_abort(rt, 2, "mpi_fault: run with exactly 2 ranks");
    const char *label = argc > 1 ? argv[1] : "?";
    bool oversub = argc > 2 && strcmp(argv[2], "oversub") == 0;
    struct dsm_mpi_config cfg = { .ram_bytes = (size_t)COLD_PAGES * PAGE, .dir_words = 64,
                                  .msg_size = MSG };
    m = dsm_mpi_open(&cfg, on_msg, NULL);
    if (!m)
        rt_abort(rt, 2, "dsm_mpi_open failed");
    int me = rt_rank(rt);
    void *raw_base;
    MPI_Win_allocate((MPI_Aint)COLD_PAGES * PAGE, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &raw_base,
                     &raw_win);
    memset(raw_base, 0, (size_t)COLD_PAGES * PAGE);     /* map it, as the DSM's copy area */
    MPI_Win_lock_all(MPI_MODE_NOCHECK, raw_win);

    /* cost of an empty poll (each rank on its own, nothing in flight) */
    const int npoll = 200000;
    uint64_t t0 = dsm_mpi_now_ns();
    for (int i = 0; i < npoll; i++)
        dsm_mpi_poll(m, 0);
    double poll_ns = (double)(dsm_mpi_now_ns() - t0) / npoll;
    rt_barrier(rt);

    if (me == 1) {
        target();
    } else {
        const int N = 5000, NB = 400;
        uint64_t *ns = calloc(N, sizeof(uint64_t));
        uint8_t *buf = aligned_alloc(PAGE, PAGE);
        if (!ns || !buf)
            rt_abort(rt, 2, "out of memory");
        printf("mpi_fault: transport %s, 2 ranks; empty poll %.0f ns\n", label, poll_ns);
        printf("| %-44s | %8s | %8s | %8s | %8s |\n", "operation (us)", "min", "median",
               "mean", "p99");
        printf("|%s|----------|----------|----------|----------|\n",
               "----------------------------------------------");
        for (int i = 0; i < 200; i++)   /* warm up connections */
            msg_rtt(false), dsm_mpi_get(m, 1, 0, buf, PAGE), raw_get(buf, 0);
        /* one get of every page of the raw window (as dsm_mpi_open did for
         * the copy areas until 2026-12): over sm the first touch of a peer
         * page maps it; the rows time mapped pages */
        for (size_t pg = 0; pg < COLD_PAGES; pg++)
            raw_get(buf, pg);
        if (oversub) {
            /* more ranks than cores: only the rows where nobody spins */
            polite_rows(buf, ns, 500);
            send_type(M_STOP, 0);
            goto out;
        }

        for (int i = 0; i < N; i++) {
            uint64_t s = dsm_mpi_now_ns();
            raw_get(buf, (size_t)(i % NPAGES));
            ns[i] = dsm_mpi_now_ns() - s;
        }
        row("(a) 4 KiB MPI_Get + flush", ns, N);
        for (int i = 0; i < N; i++) {
            uint64_t s = dsm_mpi_now_ns();
            dsm_mpi_get(m, 1, (size_t)(i % NPAGES) * PAGE, buf, PAGE);
            ns[i] = dsm_mpi_now_ns() - s;
        }
        row("(a2) 4 KiB get as the DSM does (flush_local)", ns, N);
        for (int i = 0; i < N; i++) {
            uint64_t s = dsm_mpi_now_ns();
            dsm_mpi_cas(m, 1, 0, (uint64_t)i, (uint64_t)i + 1);
            ns[i] = dsm_mpi_now_ns() - s;
        }
        row("(b) CAS on a directory word (flush_local)", ns, N);
        for (int i = 0; i < N; i++)
            ns[i] = msg_rtt(false);
        row("(c) message round trip, target polling", ns, N);
        static const struct {
            enum dsm_mpi_data_path path;
            const char *name;
        } paths[] = {
            { DSM_MPI_DATA_PUT, "(h) page answer: put + flush, message" },
            { DSM_MPI_DATA_MSG, "(h') page answer: page in the message" },
        };
        for (int k = 0; k < 2; k++) {
            send_type(M_PATH, paths[k].path);
            msg_rtt(false);   /* the target has the setting */
            for (int i = 0; i < N; i++)
                ns[i] = page_rtt((size_t)(i % NPAGES));
            row(paths[k].name, ns, N);
        }
        send_type(M_PATH, DSM_MPI_DATA_AUTO);
        locked_read_row("(e) read-fault work: CAS lock, get, unlock", buf, ns, N, false);
        for (int i = 0; i < N; i++) {
            uint64_t s = dsm_mpi_now_ns();
            dsm_mpi_store(m, 1, 2, (uint64_t)i);
            ns[i] = dsm_mpi_now_ns() - s;
        }
        row("(b2) store on a directory word (the unlock)", ns, N);
        locked_read_row("(e3) read-fault work: CAS lock, get, store", buf, ns, N, true);
        for (int i = 0; i < N; i++) {
            uint64_t s = dsm_mpi_now_ns();
            dsm_mpi_fetch_or(m, 1, 2, 1ull << 20);
            dsm_mpi_get(m, 1, (size_t)(i % NPAGES) * PAGE, buf, PAGE);
            ns[i] = dsm_mpi_now_ns() - s;
        }
        row("(e') lock-free read work: OR meta, get", ns, N);
        for (int i = 0; i < N; i++) {
            uint64_t s = dsm_mpi_now_ns();
            dsm_mpi_fetch_or(m, 1, 3, 1);
            dsm_mpi_load(m, 1, 2);
            dsm_mpi_get(m, 1, (size_t)(i % NPAGES) * PAGE, buf, PAGE);
            ns[i] = dsm_mpi_now_ns() - s;
        }
        row("(e2) lock-free read, split layout: OR, load, get", ns, N);
        /* cold: a new page each time, striding through 64 MiB (so that
         * neither (a') nor (e'') finds a page the other warmed) */
        for (int i = 0; i < N; i++) {
            size_t pg = NPAGES + ((size_t)i * 2) % (COLD_PAGES - NPAGES);
            uint64_t s = dsm_mpi_now_ns();
            raw_get(buf, pg);
            ns[i] = dsm_mpi_now_ns() - s;
        }
        row("(a') 4 KiB MPI_Get + flush, cold page", ns, N);
        for (int i = 0; i < N; i++) {
            size_t pg = NPAGES + ((size_t)i * 2 + 1) % (COLD_PAGES - NPAGES);
            uint64_t s = dsm_mpi_now_ns();
            dsm_mpi_fetch_or(m, 1, 2, 1ull << 20);
            dsm_mpi_get(m, 1, pg * PAGE, buf, PAGE);
            ns[i] = dsm_mpi_now_ns() - s;
        }
        row("(e'') lock-free read work, cold page", ns, N);

        static const long ks[] = { 10, 50, 200 };
        for (size_t k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
            char name[64];
            set_busy(ks[k]);
            for (int i = 0; i < NB; i++) {
                /* desynchronise from the target's poll period */
                uint64_t until = dsm_mpi_now_ns() + (uint64_t)(rand() % (ks[k] + 1)) * 1000;
                while (dsm_mpi_now_ns() < until)
                    ;
                ns[i] = msg_rtt(false);
            }
            snprintf(name, sizeof(name), "(d) message round trip, target polls/%ld us", ks[k]);
            row(name, ns, NB);
            for (int i = 0; i < NB; i++) {
                uint64_t until = dsm_mpi_now_ns() + (uint64_t)(rand() % (ks[k] + 1)) * 1000;
                while (dsm_mpi_now_ns() < until)
                    ;
                uint64_t s = dsm_mpi_now_ns();
                dsm_mpi_get(m, 1, (size_t)(i % NPAGES) * PAGE, buf, PAGE);
                ns[i] = dsm_mpi_now_ns() - s;
            }
            snprintf(name, sizeof(name), "(d') 4 KiB get, target polls/%ld us", ks[k]);
            row(name, ns, NB);
        }
        set_busy(0);
        for (int i = 0; i < N / 5; i++)
            ns[i] = msg_rtt(true);
        row("(f) message round trip, sender backs off", ns, N / 5);
        polite_rows(buf, ns, N / 5);
        send_type(M_STOP, 0);
    out:
        free(ns);
        free(buf);
    }
    MPI_Win_unlock_all(raw_win);
    MPI_Win_free(&raw_win);
    dsm_mpi_close(m);
    rt_finalize(rt);
    return 0;
}
