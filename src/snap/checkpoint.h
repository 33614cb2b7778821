/* checkpoint.h - memory images of the running machine, the machine's
 * side (docs/checkpoint.md): asking for a checkpoint (signals, the vsmp
 * control port 0xF5, another rank's request), bringing every rank to a
 * quiet point, building the state block, having the image written, and
 * starting a machine from an image.
 *
 * The machine layer does not call MPI: main.c hands it a table of the
 * collective steps (struct ckpt_ops, built over MPI in src/mpi/ckpt_mpi.c)
 * through machine_opts.ckpt. Every op is collective over all ranks,
 * except barrier_test, which each rank calls until it says done.
 *
 * A checkpoint (ckpt_run, called by the run loop between slices on every
 * rank once rank 0 announced it):
 *   1. every rank stops running guest code at its next slice boundary
 *      (a halted CPU and one waiting for STARTUP too): its own faults and
 *      forwarded device accesses are then complete; a non-blocking
 *      barrier, every rank serving DSM and platform messages meanwhile;
 *   2. rank 0 finishes its devices' work (disk requests on the host I/O
 *      threads done) and fdatasyncs every writable disk; a second such
 *      barrier;
 *   3. the platform messages still in flight are drained: each rank's
 *      per-peer sent counts are exchanged and each polls until it received
 *      as many as were sent to it, repeated until a round sends nothing;
 *   4. the state block ("PLAT", "CLCK", each rank's rank_state_save in
 *      rank order, each wrapped in an "RCPU" section, rank 0's devices_save
 *      wrapped in "DEVS")
 *      and every rank's valid pages go to ckpt_ops.write;
 *   5. the guest goes on (SIGUSR1, port value 1), or the run ends with
 *      status 0 on every rank (SIGTERM, SIGUSR2, port value 2; status 10
 *      when the image could not be written). */
#ifndef VSMP_SNAP_CHECKPOINT_H
#define VSMP_SNAP_CHECKPOINT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CKPT_PORT 0xf5               /* the vsmp control port (rank 0) */

/* What is asked: a checkpoint and the guest goes on, or a checkpoint and
 * the end of the job. The larger wins when two are asked together. */
enum ckpt_kind { CKPT_NONE = 0, CKPT_CONTINUE = 1, CKPT_EXIT = 2 };

/* Port 0xF5 reads: no checkpoint PATH, idle (or the last one written),
 * the last one failed. */
enum { CKPT_PORT_NO_PATH = 0, CKPT_PORT_IDLE = 1, CKPT_PORT_FAILED = 3 };

/* The signal handlers' counts (main.c): each handler only adds one; the
 * machine compares them with what it has acted on. */
struct ckpt_signals {
    volatile sig_atomic_t cont;      /* SIGUSR1 */
    volatile sig_atomic_t exit;      /* SIGTERM, SIGUSR2 */
};

/* What one image write did (rank 0 prints it). */
struct ckpt_io_result {
    uint64_t pages;                  /* pages stored */
    double seconds;
};

/* The collective steps (module comment). `ctx` is the first argument of
 * each. Failures of write/read are -1 on EVERY rank with the same line
 * in err. */
struct ckpt_ops {
    void *ctx;
    void (*barrier_start)(void *ctx);
    bool (*barrier_test)(void *ctx);         /* not collective: true once all came */
    /* send[r]: this rank's value for rank r; recv[r]: rank r's for this one */
    void (*alltoall)(void *ctx, const uint64_t *send, uint64_t *recv);
    int (*max)(void *ctx, int value);
    void (*bcast)(void *ctx, void *buf, size_t len);   /* rank 0's bytes to all */
    /* v[i] = the largest of every rank's v[i], on every rank */
    void (*max_u16)(void *ctx, uint16_t *v, size_t n);
    /* Rank 0 gets every rank's bytes in rank order, concatenated, in a
     * malloc'd *all, and each rank's length in lens[rank]; other ranks
     * get nothing. 0, or -1 on every rank (out of memory). */
    int (*gather)(void *ctx, const void *mine, size_t len, uint8_t **all, uint64_t *lens);
    /* The image (src/mpi/image_io.h): `valid[p]` this rank holds a valid
     * copy of page p at ram + p * 4096; state: rank 0's. */
    int (*write)(void *ctx, const char *path, uint32_t ncpus, uint64_t ram_bytes,
                 const uint8_t *ram, const uint8_t *valid, const void *state, size_t state_len,
                 struct ckpt_io_result *out, char *err, size_t errlen);
    /* Checks the image against ncpus / ram_bytes; the stored pages this
     * rank is to install land in ram with owned[p] = 1; the state block in
     * a malloc'd *state on every rank. */
    int (*read)(void *ctx, const char *path, uint32_t ncpus, uint64_t ram_bytes, uint8_t *ram,
                uint8_t *owned, void **state, size_t *state_len, struct ckpt_io_result *out,
                char *err, size_t errlen);
};

struct machine;

/* Between slices and in waits (the run loop's polls): new signals become
 * requests (a rank != 0 sends its to rank 0), and rank 0 announces a
 * requested checkpoint to every rank. */
void ckpt_poll(struct machine *m);
/* A request (rank 0): from a signal, the port or another rank. */
void ckpt_request(struct machine *m, int kind);
/* The announcement arrived (every rank): the checkpoint runs at the next
 * slice boundary. */
void ckpt_begin(struct machine *m, int kind);
/* Is a checkpoint announced and not yet done on this rank? */
bool ckpt_due(const struct machine *m);
/* The checkpoint itself, on every rank (module comment). */
void ckpt_run(struct machine *m);

/* Port 0xF5 on rank 0's bus (board.c). 0, or -1 when the bus is full. */
int ckpt_port_register(struct machine *m);

/* Start from the image at `path` (collective, after machine_create /
 * machine_create_ap with machine_opts.restore): the image's pages into
 * guest RAM (the DSM: this rank owns the pages it read), every rank's
 * CPU, rank 0's devices, the clock continuing from the saved value. 0,
 * or -1 with one line in err (on the ranks that found the error: the
 * caller agrees on the outcome and exits with status 2). */
int ckpt_restore(struct machine *m, const char *path, char *err, size_t errlen);

#endif
