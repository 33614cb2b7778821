/* dsm_mpi.h - one-sided MPI plumbing for the DSM: each rank's guest-RAM
 * copy area and its directory words in two MPI windows, page moves with
 * MPI_Get/MPI_Put, directory atomics with MPI_Compare_and_swap /
 * MPI_Fetch_and_op, and small fixed-size control messages with
 * MPI_Isend / pre-posted MPI_Irecv. The DSM protocol (src/mem/dsm*.c)
 * reaches this through src/mem/dsm_transport.h; the adapter is at the end
 * of dsm_mpi.c. Callers outside src/mpi/ never see MPI types.
 *
 * Model (see docs/dsm-mpi.md for the measurements behind it):
 * - Both windows are created with MPI_Win_allocate and locked once with
 *   MPI_Win_lock_all(MPI_MODE_NOCHECK) (passive target for the whole run);
 *   every RMA call is completed at once with MPI_Win_flush(target), so
 *   each call below returns with the operation complete at the target.
 * - Directory words are 64-bit and must only be touched through the
 *   atomics here, on the home rank too (MPI gives atomicity only among
 *   MPI accumulate-class calls; osc/pt2pt and osc/sm both serialise them
 *   in software).
 * - The local copy area is ordinary memory to its own rank (the guest
 *   runs out of it). dsm_mpi_poll() and dsm_mpi_send() call MPI_Win_sync
 *   on it so that local stores before a send are visible to a Get that
 *   the message triggers, and a Put that a received message announces is
 *   visible to loads after the poll.
 * - Control messages: per-sender FIFO (MPI non-overtaking order, kept by
 *   delivering the receive ring strictly in posting order); a send never
 *   blocks (the send pool grows). dsm_mpi_poll() also drives MPI progress,
 *   which osc/pt2pt over TCP needs at the target for any RMA call to
 *   complete: a rank must poll while it computes (on a budget) and while
 *   it waits.
 * - Single-threaded (MPI_THREAD_FUNNELED): MPI must be initialised
 *   (rt_init) before dsm_mpi_open and finalised after dsm_mpi_close. */
#ifndef VSMP_DSM_MPI_H
#define VSMP_DSM_MPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest control message (bytes). */
#define DSM_MPI_MSG_MAX 256

struct dsm_mpi;

struct dsm_mpi_config {
    size_t ram_bytes;    /* local copy area, the same on every rank */
    size_t dir_words;    /* directory words homed on this rank (may differ) */
    size_t msg_size;     /* fixed control-message size, 1..DSM_MPI_MSG_MAX */
    int recv_slots;      /* pre-posted receives (0: default 64) */
    int progress_calls;  /* MPI progress passes per poll (0: default 2;
                          * osc/pt2pt serves a Get in two passes, so one
                          * pass per poll doubles a busy target's
                          * response time: docs/dsm-mpi.md) */
};

/* Called by dsm_mpi_poll for each message, in per-sender FIFO order. */
typedef void (*dsm_mpi_msg_fn)(void *ctx, int src, const void *msg, size_t len);

/* Collective over MPI_COMM_WORLD. The copy area and the directory start
 * zeroed. NULL (after a message on stderr) on failure. */
struct dsm_mpi *dsm_mpi_open(const struct dsm_mpi_config *cfg,
                             dsm_mpi_msg_fn on_msg, void *ctx);
/* Collective: waits for every rank, then frees the windows. */
void dsm_mpi_close(struct dsm_mpi *m);

int dsm_mpi_rank(const struct dsm_mpi *m);
int dsm_mpi_size(const struct dsm_mpi *m);
/* This rank's copy area (page-aligned, ram_bytes long). */
uint8_t *dsm_mpi_ram(struct dsm_mpi *m);
size_t dsm_mpi_ram_bytes(const struct dsm_mpi *m);
/* Change the message handler (e.g. once the protocol state exists). */
void dsm_mpi_set_handler(struct dsm_mpi *m, dsm_mpi_msg_fn on_msg, void *ctx);

/* Blocking page moves: copy len bytes at offset `off` of `rank`'s copy
 * area to/from buf; complete at the target on return. rank may be self. */
void dsm_mpi_get(struct dsm_mpi *m, int rank, size_t off, void *buf, size_t len);
void dsm_mpi_put(struct dsm_mpi *m, int rank, size_t off, const void *buf, size_t len);

/* Directory atomics on word `idx` of `rank`'s directory; each returns the
 * word's previous value. */
uint64_t dsm_mpi_cas(struct dsm_mpi *m, int rank, size_t idx,
                     uint64_t expect, uint64_t desired);
uint64_t dsm_mpi_fetch_add(struct dsm_mpi *m, int rank, size_t idx, uint64_t add);
uint64_t dsm_mpi_fetch_or(struct dsm_mpi *m, int rank, size_t idx, uint64_t bits);
uint64_t dsm_mpi_fetch_and(struct dsm_mpi *m, int rank, size_t idx, uint64_t mask);
uint64_t dsm_mpi_swap(struct dsm_mpi *m, int rank, size_t idx, uint64_t value);
uint64_t dsm_mpi_load(struct dsm_mpi *m, int rank, size_t idx);

/* Queue one message of cfg->msg_size bytes (len <= msg_size; the rest is
 * zero-filled) to `rank` (not self: the protocol handles local events
 * itself). Never blocks. */
void dsm_mpi_send(struct dsm_mpi *m, int rank, const void *msg, size_t len);

/* Drive MPI progress, retire finished sends and deliver up to `max`
 * received messages (max <= 0: all that have arrived) to the handler.
 * Returns the number delivered. Not re-entrant: a call from inside the
 * handler only drives progress and returns 0. */
int dsm_mpi_poll(struct dsm_mpi *m, int max);

/* Back-off step for a waiting rank that polled and found nothing:
 * `idle` counts consecutive empty polls (reset it when work arrives).
 * Yields first, then sleeps 1 us growing to ~200 us, so an
 * oversubscribed core keeps running the rank that is waited for. */
void dsm_mpi_idle(unsigned idle);

/* Counters for --stats. */
struct dsm_mpi_stats {
    uint64_t gets, puts, get_bytes, put_bytes;
    uint64_t atomics;
    uint64_t msgs_sent, msgs_recv;
    uint64_t polls;
};
void dsm_mpi_get_stats(const struct dsm_mpi *m, struct dsm_mpi_stats *out);

/* Host monotonic clock in ns (CLOCK_MONOTONIC). */
uint64_t dsm_mpi_now_ns(void);

/* The DSM protocol's view (src/mem/dsm_transport.h) of an open dsm_mpi
 * whose msg_size is sizeof(struct dsm_msg) and whose dir_words is
 * dsm_dir_words(npages, nranks, rank). Owned by m, valid until
 * dsm_mpi_close. NULL if msg_size does not fit. */
struct dsm_transport;
struct dsm_transport *dsm_mpi_transport(struct dsm_mpi *m);

#endif
