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
 *   every RMA call is completed before it returns: a put with
 *   MPI_Win_flush(target) (complete at the target), a get or an atomic
 *   with MPI_Win_flush_local (its result is here, which it can only be
 *   once the target read the bytes or applied the operation) - except
 *   dsm_mpi_store, which is only sent (an unlock: nobody waits for it).
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
 *   blocks (the send pool grows). Data messages (dsm_mpi_send_data) are a
 *   second stream with the same guarantees among themselves, none with
 *   respect to control messages. dsm_mpi_poll() also drives MPI progress,
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

/* Waiting with nothing to do (a halted vCPU, a fault waiting for its
 * answer): over osc/pt2pt a rank serves others' Gets and atomics only
 * while it polls, so on a core of its own it should poll without pause;
 * on a shared core it must get out of the way of the rank it waits for. */
enum dsm_mpi_idle_policy {
    DSM_MPI_IDLE_AUTO,   /* SPIN when this host (kernel) has a CPU for each
                          * of its ranks (union of their affinity masks),
                          * else BACKOFF */
    DSM_MPI_IDLE_SPIN,   /* sched_yield and poll again, never sleep */
    DSM_MPI_IDLE_BACKOFF /* sched_yield, then sleeps of 1..128 us */
};

/* How dsm_mpi_send_data moves its bytes to a rank. */
enum dsm_mpi_data_path {
    DSM_MPI_DATA_AUTO,   /* a put to ranks reached through memory (timed
                          * at open: osc/sm, vader), inside the message to
                          * the others (a network) */
    DSM_MPI_DATA_PUT,    /* always a put (flushed) and then the message */
    DSM_MPI_DATA_MSG,    /* always inside the message */
};

struct dsm_mpi_config {
    size_t ram_bytes;    /* local copy area, the same on every rank */
    size_t dir_words;    /* directory words homed on this rank (may differ) */
    size_t msg_size;     /* fixed control-message size, 1..DSM_MPI_MSG_MAX */
    int recv_slots;      /* pre-posted receives (0: default 64) */
    int progress_calls;  /* MPI progress passes per poll (0: default 2;
                          * osc/pt2pt serves a Get in two passes, so one
                          * pass per poll doubles a busy target's
                          * response time: docs/dsm-mpi.md) */
    enum dsm_mpi_idle_policy idle;  /* how a rank with nothing to do waits */
    size_t data_max;     /* most bytes a data message carries (0: 4096) */
    enum dsm_mpi_data_path data_path;
};

/* Called by dsm_mpi_poll for each message, in per-sender FIFO order. */
typedef void (*dsm_mpi_msg_fn)(void *ctx, int src, const void *msg, size_t len);

/* Collective over MPI_COMM_WORLD. The directory starts zeroed; the copy
 * area is not touched (its bytes are undefined: the DSM zero-fills each
 * page on its first touch), so it costs host memory only as pages are
 * used. The first rank of each host says in one line when the ranks'
 * copies of guest RAM may not fit the host (src/mem/hostmem.h); where a
 * copy area cannot even be mapped, the job ends with status 2. NULL
 * (after a message on stderr) on failure. */
struct dsm_mpi *dsm_mpi_open(const struct dsm_mpi_config *cfg,
                             dsm_mpi_msg_fn on_msg, void *ctx);
/* Collective: waits for every rank, then frees the windows. */
void dsm_mpi_close(struct dsm_mpi *m);


/* Blocking page moves: copy len bytes at offset `off` of `rank`'s copy
 * area to/from buf; complete at the target on return. rank may be self. */
void dsm_mpi_get(struct dsm_mpi *m, int rank, size_t off, void *buf, size_t len);
void dsm_mpi_put(struct dsm_mpi *m, int rank, size_t off, const void *buf, size_t len);

/* Directory atomics on word `idx` of `rank`'s directory; each returns the
 * word's previous value. */
uint64_t dsm_mpi_cas(struct dsm_mpi *m, int rank, size_t idx,
                     uint64_t expect, uint64_t desired);
uint64_t dsm_mpi_fetch_or(struct dsm_mpi *m, int rank, size_t idx, uint64_t bits);
uint64_t dsm_mpi_swap(struct dsm_mpi *m, int rank, size_t idx, uint64_t value);
uint64_t dsm_mpi_load(struct dsm_mpi *m, int rank, size_t idx);
/* Atomic store of a directory word that does not wait for the home: it
 * is on its way when this returns, lands before any later atomic of this
 * rank on the same word, and needs no further call to land. */
void dsm_mpi_store(struct dsm_mpi *m, int rank, size_t idx, uint64_t value);

/* Queue one message of cfg->msg_size bytes (len <= msg_size; the rest is
 * zero-filled) to `rank` (not self: the protocol handles local events
 * itself). Never blocks. */
void dsm_mpi_send(struct dsm_mpi *m, int rank, const void *msg, size_t len);

/* A message with dlen <= data_max bytes of this rank's copy area at
 * offset off attached: when the receiver's poll delivers the message, the
 * bytes (as they were at this call) are at the same offset of its copy
 * area. Over a network one message (no round trip to the receiver); to a
 * rank reached through memory a put and a control message (the put's
 * flush needs the receiver's progress only over osc/pt2pt, and the
 * receiver is polling: it waits for this answer). */
void dsm_mpi_send_data(struct dsm_mpi *m, int rank, const void *msg, size_t len,
                       size_t off, size_t dlen);

/* Change the path of this rank's later send_data calls (benchmarks
 * compare them; AUTO goes back to what open found). */
void dsm_mpi_set_data_path(struct dsm_mpi *m, enum dsm_mpi_data_path path);

/* How many other ranks this rank's send_data puts to. */
int dsm_mpi_put_peers(const struct dsm_mpi *m);

/* Drive MPI progress, retire finished sends and deliver up to `max`
 * received messages of both kinds (max <= 0: all that have arrived) to
 * the handler, data messages' bytes already in place.
 * Returns the number delivered. Not re-entrant: a call from inside the
 * handler only drives progress and returns 0. */
int dsm_mpi_poll(struct dsm_mpi *m, int max);

/* Wait step for a rank that polled and found nothing: `idle` counts
 * consecutive empty polls (reset it when work arrives). Waits as the
 * policy resolved at open says (dsm_mpi_idle_spins). */
void dsm_mpi_idle(struct dsm_mpi *m, unsigned idle);
/* The BACKOFF wait on its own: yields first, then sleeps 1 us growing to
 * 128 us, so an oversubscribed core keeps running the rank waited for. */
void dsm_mpi_backoff(unsigned idle);
/* Whether this rank's idle waits spin (the policy as resolved at open). */
bool dsm_mpi_idle_spins(const struct dsm_mpi *m);

/* Mark every call that can block on one other rank (the flush of a get,
 * put, atomic or store: over osc/pt2pt it needs the target's progress)
 * for w's thread (src/watchdog.h): a target that stopped answering ends
 * the job instead of hanging it inside MPI. NULL: no marks (default). */
struct watchdog;
void dsm_mpi_set_watchdog(struct dsm_mpi *m, struct watchdog *w);

/* Counters for --stats. */
struct dsm_mpi_stats {
    uint64_t gets, puts, get_bytes, put_bytes;
    uint64_t atomics;                /* fetching: cas, fetch-op, load */
    uint64_t stores;                 /* dsm_mpi_store */
    uint64_t msgs_sent, msgs_recv;   /* of both kinds */
    uint64_t data_msgs, data_bytes;  /* data messages sent, bytes they carried */
    uint64_t data_recv;              /* data messages received */
    uint64_t polls;
};
void dsm_mpi_get_stats(const struct dsm_mpi *m, struct dsm_mpi_stats *out);

/* The baseline a DSM fault is compared with, measured in the job itself,
 * under its load: at its first call and then once every `every_ns` (0:
 * never, the default), dsm_mpi_baseline_tick makes two raw 4 KiB MPI_Get + MPI_Win_flush
 * (bench/mpi_fault's raw row) of random pages of another rank's copy
 * area (ranks in turn) into a private buffer and times the second (the
 * first warms MPI's code and data). Call the tick between
 * faults (the machine does between slices), never inside one. Over
 * osc/pt2pt a busy target serves it at its next poll, as it serves a
 * fault's get. */
struct dsm_kind_stats;
void dsm_mpi_baseline_every(struct dsm_mpi *m, uint64_t every_ns);
void dsm_mpi_baseline_tick(struct dsm_mpi *m);
void dsm_mpi_baseline_stats(const struct dsm_mpi *m, struct dsm_kind_stats *out);

/* Host monotonic clock in ns (CLOCK_MONOTONIC). */
uint64_t dsm_mpi_now_ns(void);

/* The DSM protocol's view (src/mem/dsm_transport.h) of an open dsm_mpi
 * whose msg_size is sizeof(struct dsm_msg) and whose dir_words is
 * dsm_dir_words(npages, nranks, rank). Owned by m, valid until
 * dsm_mpi_close. NULL if msg_size does not fit. */
struct dsm_transport;
struct dsm_transport *dsm_mpi_transport(struct dsm_mpi *m);

#endif
