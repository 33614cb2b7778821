/* hostio.h - a disk's host I/O thread: one positioned read, write or
 * fdatasync of the image (io/diskfile.h) at a time, on a buffer that the
 * submitter lends it, so that rank 0's run loop never waits for the host
 * file system (a slow pread/pwrite on NFS or Lustre, an fdatasync of tens
 * of milliseconds): it submits between slices and collects the result at
 * a later poll, the CPU running meanwhile.
 *
 * The thread never calls MPI and never touches guest RAM, the DSM or
 * device registers: only the image's fd and the lent buffer. The buffer
 * is the thread's from hostio_submit until hostio_collect returned true
 * (a device reset meanwhile must not reuse or free it: it only drops the
 * result). After each completion the thread writes 1 to wake_fd (an
 * eventfd, when >= 0) so that a halted run loop sleeping on it wakes at
 * once.
 *
 * Synchronous mode (hostio_init with threaded false: unit tests, and any
 * set-up where no thread could start) runs the operation inside
 * hostio_submit; the protocol is the same (collect afterwards). */
#ifndef VSMP_HOSTIO_H
#define VSMP_HOSTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/diskfile.h"

enum hostio_state { HOSTIO_IDLE, HOSTIO_QUEUED, HOSTIO_DONE };

struct hostio {
    struct diskfile *disk;
    bool threaded;               /* a thread runs the operations */
    int wake_fd;                 /* eventfd written after each completion; -1: none */
    pthread_t id;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool queued, quit;           /* under mu */
    /* the operation: set by the submitter before the hand-over */
    enum diskfile_op op;
    void *buf;
    size_t len;
    uint64_t off;
    /* its result: set by whoever ran it before state becomes DONE */
    int result;                  /* 0 or -errno */
    uint64_t ns;                 /* how long it took (host monotonic clock) */
    _Atomic int state;           /* enum hostio_state */
};

/* threaded: start the thread (signals blocked in it); 0, or -1 (errno)
 * when it cannot start. Not threaded: synchronous, always 0. */
int hostio_init(struct hostio *h, struct diskfile *disk, bool threaded, int wake_fd);
/* Hand one operation over (the state must be IDLE): DISKFILE_READ into
 * buf, DISKFILE_WRITE from buf, DISKFILE_FLUSH (buf, len, off unused). */
void hostio_submit(struct hostio *h, enum diskfile_op op, void *buf, size_t len, uint64_t off);
/* Not IDLE: an operation submitted and not collected yet. */
static inline bool hostio_busy(struct hostio *h)
{
    return atomic_load_explicit(&h->state, memory_order_acquire) != HOSTIO_IDLE;
}
/* The submitted operation is done: its result (and its duration in *ns
 * when ns is not NULL), the buffer back to the submitter, the state IDLE;
 * true. False while it is still queued or running (or nothing was
 * submitted). Never blocks. */
bool hostio_collect(struct hostio *h, int *result, uint64_t *ns);
/* The end: an operation queued and not yet started is dropped, one
 * running is waited for (the thread is joined). Safe to call twice and
 * on a synchronous one. */
void hostio_stop(struct hostio *h);

#endif
