/* clocksync.c - per-rank CLOCK_MONOTONIC offsets against rank 0 by
 * ping-pong, minimum-RTT sample (see clocksync.h). Ranks that run under
 * rank 0's kernel, in its time namespace, read the very same clock: their
 * offset is 0 exactly, with no measurement (a measurement there only adds
 * its error, large where ranks outnumber cores and a ping waits for a
 * core). The others are measured: rank 0 serves them one after another; a
 * rank waits for its turn (a token from rank 0), and after it for the end
 * of all turns, with sleeping polls so that it does not take a core from
 * the pair being measured. */
#define _GNU_SOURCE
#include "mpi/clocksync.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Which CLOCK_MONOTONIC this process reads: the kernel's boot ID and the
 * time namespace's offsets. Equal keys = the same clock. A rank that
 * cannot tell gets a key of its own (it is measured). */
#define CLOCK_KEY_LEN 256

static void append_file(char *key, size_t *len, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    *len += fread(key + *len, 1, CLOCK_KEY_LEN - 1 - *len, f);
    fclose(f);
}

static void clock_key(char *key, int rank)
{
    size_t len = 0;
    memset(key, 0, CLOCK_KEY_LEN);
    append_file(key, &len, "/proc/sys/kernel/random/boot_id");
    if (len < 32) {                       /* no boot ID: nothing shared */
        snprintf(key, CLOCK_KEY_LEN, "rank %d: no boot ID", rank);
        return;
    }
    append_file(key, &len, "/proc/self/timens_offsets");
}

/* VSMP_CLOCKSYNC=measure: measure every rank, also those that share rank
 * 0's clock (tests of the measurement; a comparison). */
static int measure_all(void)
{
    const char *e = getenv("VSMP_CLOCKSYNC");
    return e && strcmp(e, "measure") == 0;
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
    *cs = (struct clocksync){ 0, 0, 0, 0, 0 };

    /* which ranks read rank 0's clock */
    char *keys = malloc((size_t)CLOCK_KEY_LEN * (size_t)size);
    char *same = calloc((size_t)size, 1);
    if (!keys || !same) {
        free(keys);
        free(same);
        MPI_Comm_free(&comm);
        return -1;
    }
    char mine[CLOCK_KEY_LEN];
    clock_key(mine, rank);
    MPI_Allgather(mine, CLOCK_KEY_LEN, MPI_CHAR, keys, CLOCK_KEY_LEN, MPI_CHAR, comm);
    int measure = measure_all();
    for (int r = 1; r < size; r++)
        same[r] = !measure && memcmp(keys + (size_t)r * CLOCK_KEY_LEN, keys, CLOCK_KEY_LEN) == 0;
    cs->same_clock = rank == 0 || same[rank];
    free(keys);

    if (rank == 0) {
        for (int r = 1; r < size; r++) {
            if (same[r])
                continue;
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
    } else if (same[rank]) {
        /* rank 0's clock itself: offset 0, no error; sleep while the
         * others are measured */
        int go;
        MPI_Request req;
        MPI_Irecv(&go, 1, MPI_INT, 0, TAG_DONE, comm, &req);
        wait_sleeping(&req);
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

    free(same);

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
