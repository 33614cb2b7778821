/* clocksync.c - per-rank CLOCK_MONOTONIC offsets against rank 0 by
 * ping-pong, minimum-RTT sample (see clocksync.h). Rank 0 serves the
 * other ranks one after another; a rank waits for its turn (a token from
 * rank 0), and after it for the end of all turns, with sleeping polls so
 * that it does not take a core from the pair being measured. */
#define _GNU_SOURCE
#include "mpi/clocksync.h"

#include <mpi.h>
#include <stdlib.h>
#include <time.h>

#define TAG_TURN 1
#define TAG_PING 2
#define TAG_PONG 3
#define TAG_DONE 4
#define DEFAULT_ROUNDS 64
#define WARMUP 8          /* rounds not counted (connection set-up, caches) */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wait for a request without spinning on the core. */
static void wait_sleeping(MPI_Request *req)
{
    int done = 0;
    for (;;) {
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        struct timespec ts = { 0, 200000 };   /* latency here does not matter */
        nanosleep(&ts, NULL);
    }
}

int clocksync_run(struct clocksync *cs, int rounds)
{
    MPI_Comm comm;
    int rank, size;
    if (rounds <= 0)
        rounds = DEFAULT_ROUNDS;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    *cs = (struct clocksync){ 0, 0, 0, 0 };

    if (rank == 0) {
        for (int r = 1; r < size; r++) {
            int go = 1;
            MPI_Send(&go, 1, MPI_INT, r, TAG_TURN, comm);
            for (int i = 0; i < WARMUP + rounds; i++) {
                int ping;
                MPI_Recv(&ping, 1, MPI_INT, r, TAG_PING, comm, MPI_STATUS_IGNORE);
                int64_t t1 = mono_ns();
                MPI_Send(&t1, 1, MPI_INT64_T, r, TAG_PONG, comm);
            }
        }
        int done = 1;
        for (int r = 1; r < size; r++)
            MPI_Send(&done, 1, MPI_INT, r, TAG_DONE, comm);
    } else {
        int go;
        MPI_Request req;
        MPI_Irecv(&go, 1, MPI_INT, 0, TAG_TURN, comm, &req);
        wait_sleeping(&req);
        int64_t best_rtt = -1, best_off = 0;
        for (int i = 0; i < WARMUP + rounds; i++) {
            int ping = i;
            int64_t t1;
            int64_t t0 = mono_ns();
            MPI_Send(&ping, 1, MPI_INT, 0, TAG_PING, comm);
            MPI_Recv(&t1, 1, MPI_INT64_T, 0, TAG_PONG, comm, MPI_STATUS_IGNORE);
            int64_t t2 = mono_ns();
            /* t1 was read between t0 and t2 (real time), so the true
             * offset lies in [t1 - t2, t1 - t0]; take the middle. */
            int64_t rtt = t2 - t0;
            if (i >= WARMUP && (best_rtt < 0 || rtt < best_rtt)) {
                best_rtt = rtt;
                best_off = t1 - t0 - rtt / 2;
            }
        }
        cs->offset_ns = best_off;
        cs->rtt_min_ns = best_rtt;
        cs->err_ns = (best_rtt + 1) / 2;
        /* Sleep until every rank had its turn: a rank spinning in a
         * collective would take the core of the pair being measured. */
        MPI_Irecv(&go, 1, MPI_INT, 0, TAG_DONE, comm, &req);
        wait_sleeping(&req);
    }

    /* bound: the sum of the two largest per-rank errors. */
    int64_t *errs = malloc(sizeof(int64_t) * (size_t)size);
    if (!errs) {
        MPI_Comm_free(&comm);
        return -1;
    }
    MPI_Allgather(&cs->err_ns, 1, MPI_INT64_T, errs, 1, MPI_INT64_T, comm);
    int64_t a = 0, b = 0;
    for (int r = 0; r < size; r++) {
        if (errs[r] > a) {
            b = a;
            a = errs[r];
        } else if (errs[r] > b) {
            b = errs[r];
        }
    }
    cs->bound_ns = a + b;
    free(errs);
    MPI_Comm_free(&comm);
    return 0;
}

uint64_t clocksync_now_ns(const struct clocksync *cs)
{
    return (uint64_t)(mono_ns() + cs->offset_ns);
}
