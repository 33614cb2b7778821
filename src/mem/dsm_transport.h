/* dsm_transport.h - the small, MPI-free interface through which the DSM
 * protocol (src/mem/dsm.c) reaches other ranks. src/mpi/ implements it
 * over one-sided MPI (two windows + point-to-point control messages);
 * src/mem/dsm_fake.c implements it in-process for N simulated ranks.
 *
 * What every rank has, created by whoever builds the transport:
 *  - a copy area: ram_bytes of guest RAM (the same size on every rank,
 *    page-aligned). Its initial bytes are undefined (MPI does not promise
 *    zeroed window memory) and the protocol never reads them: a page
 *    becomes valid only by a zero fill of an untouched page, a get or a
 *    push. So the transport must not touch it either (no memset): pages
 *    nobody uses then cost no host memory. It is the rank's own copy of
 *    guest RAM: the guest runs out of it with plain loads and stores, and
 *    other ranks read/write it remotely with get/put at the same offsets.
 *  - a directory: an array of 64-bit words homed on this rank, zero at
 *    start, touched ONLY through fetch_op/store (also by the home rank
 *    itself). Its length per rank is dsm_dir_words(npages, nranks, rank)
 *    from dsm.h; the transport does not interpret the words.
 *  - an inbox of control messages (struct dsm_msg, fixed size).
 *
 * Completion and ordering (what the protocol relies on; nothing more):
 *  1. get returns when the bytes are in buf (MPI: Get + Win_flush_local).
 *  2. fetch_op calls are atomic with respect to each other on the same
 *     word, from any rank, and return the word's previous value once the
 *     operation is complete at the home (MPI: Fetch_and_op + Win_flush). No ordering between different words is
 *     assumed beyond "each call is complete when it returns".
 *  2b. store (an atomic store whose old value nobody needs: the unlock
 *     of a directory entry) returns before it is complete at the home.
 *     It is atomic with respect to fetch_op on the word, takes effect
 *     before any later fetch_op/store of the same rank on the same
 *     word (MPI orders accumulates from one origin to one location), and
 *     takes effect without any further call of the sender (the transport
 *     sends it now; it only does not wait for the home's answer).
 *  3. send never blocks waiting for the receiver (it queues). A message
 *     is delivered exactly once. Messages may be delivered in ANY order,
 *     also between one pair of ranks (the protocol does not need FIFO;
 *     the fake reorders on purpose).
 *  4. Visibility: every store the sender made to its OWN copy area
 *     before calling send is visible (to loads of the receiver and to
 *     gets issued by anyone after the receiver got the message) once the
 *     message is delivered by poll; so are bytes that a send_data (rule
 *     8) delivered into the receiver's area, to gets issued after
 *     that. (MPI: Win_sync on the copy-area window in send and poll.)
 *  5. poll delivers up to `max` messages (max <= 0: all that arrived) by
 *     calling fn for each, and also drives progress (osc/pt2pt over TCP
 *     completes RMA at a target only while the target polls). fn must not
 *     call poll (it may call send and send_data, and fetch_op and store on
 *     its own rank's directory). Returns how many were delivered.
 *  6. idle: the caller polled and found nothing to do for `spins`
 *     consecutive rounds (0 on the first); the transport backs off so an
 *     oversubscribed core runs the rank being waited for (sched_yield,
 *     then short sleeps). In the fake, idle is where a simulated rank
 *     yields to the scheduler so the other ranks run.
 *  7. now_ns: monotonic clock for statistics (the fake: simulated time).
 *  8. send_data is send with bytes of the sender's copy area attached:
 *     the len bytes at offset off, as they are at the call, are in the
 *     receiver's copy area at the same offset when the message is
 *     delivered (before fn sees it). The transport picks the means: a
 *     put and then the message where the receiver is reached through
 *     shared memory, the bytes inside the message where a put would cost
 *     a network round trip (one one-way message instead of put, flush and
 *     message). Rules 3-5 hold for it as for send.
 *
 *  9. rma_ns (optional, may be NULL): what a one-sided operation on
 *     rank's memory typically costs, in ns, as the transport measured
 *     it (0: unknown). Only steers the protocol's choice of path: where
 *     it is small (shared memory, no help from the target needed) a lock
 *     or join at the home is cheaper than a message to it.
 *
 * Every call is made from the rank's single thread (MPI_THREAD_FUNNELED);
 * get/fetch_op/store may target the calling rank itself. A transport
 * failure is fatal inside the transport (MPI: abort the job with the
 * rank's name); the calls therefore return no error codes. */
#ifndef VSMP_DSM_TRANSPORT_H
#define VSMP_DSM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

/* Most bytes one send_data carries: a page. */
#define DSM_TRANSPORT_DATA_MAX 4096u

/* Control message: fixed 32 bytes, plain data (send it as MPI_BYTE). */
struct dsm_msg {
    uint8_t type;      /* DSM_MSG_* (dsm.h) */
    uint8_t flags;     /* DSM_MSGF_* (dsm.h) */
    uint16_t to;       /* FORWARD: the rank the request is for */
    uint32_t src;      /* sender rank (filled in by the protocol) */
    uint64_t page;     /* guest page number */
    uint64_t tag;      /* request id, echoed in the reply */
    uint64_t arg;      /* message-specific */
};
_Static_assert(sizeof(struct dsm_msg) == 32, "dsm_msg is a fixed 32 bytes");

/* fetch_op operations (MPI_SUM, MPI_BOR, MPI_BAND, MPI_REPLACE, MPI_NO_OP) */
enum dsm_atomic_op {
    DSM_OP_ADD,        /* word += v */
    DSM_OP_OR,         /* word |= v */
    DSM_OP_AND,        /* word &= v */
    DSM_OP_SWAP,       /* word  = v */
    DSM_OP_LOAD,       /* no change (v ignored) */
};

/* Called by poll for each delivered message. */
typedef void (*dsm_msg_fn)(void *arg, int src, const struct dsm_msg *m);

struct dsm_transport {
    int rank, nranks;
    uint8_t *ram;          /* this rank's copy area */
    size_t ram_bytes;
    void *ctx;             /* first argument of every call below */

    /* Copy len bytes at byte offset off of rank's copy area into buf.
     * Complete on return (rule 1). */
    void (*get)(void *ctx, int rank, size_t off, void *buf, size_t len);
    /* Directory word idx of rank's directory: atomic fetch-and-op;
     * returns the previous value (rule 2). */
    uint64_t (*fetch_op)(void *ctx, int rank, size_t idx, enum dsm_atomic_op op, uint64_t v);
    /* word idx of rank's directory = v, not waiting for it (rule 2b) */
    void (*store)(void *ctx, int rank, size_t idx, uint64_t v);
    /* Control messages (rules 3-5). rank != self. */
    void (*send)(void *ctx, int rank, const struct dsm_msg *m);
    /* send with len <= DSM_TRANSPORT_DATA_MAX bytes at offset off of this
     * rank's copy area, landing at off in rank's copy area (rule 8). */
    void (*send_data)(void *ctx, int rank, const struct dsm_msg *m, size_t off, size_t len);
    int (*poll)(void *ctx, int max, dsm_msg_fn fn, void *fn_arg);
    /* Back off while waiting (rule 6), clock (rule 7). */
    void (*idle)(void *ctx, unsigned spins);
    uint64_t (*now_ns)(void *ctx);
    /* Rule 9; NULL: unknown for every rank. */
    uint64_t (*rma_ns)(void *ctx, int rank);
};

#endif
