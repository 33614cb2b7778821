/* hostio.c - a disk's host I/O thread (hostio.h). */
#define _GNU_SOURCE
#include "io/hostio.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Run the operation described in h, publish its result. */
static void run_op(struct hostio *h)
{
    uint64_t t0 = mono_ns();
    int rc;
    switch (h->op) {
    case DISKFILE_READ:
        rc = diskfile_read(h->disk, h->buf, h->len, h->off);
        break;
    case DISKFILE_WRITE:
        rc = diskfile_write(h->disk, h->buf, h->len, h->off);
        break;
    default:
        rc = diskfile_flush(h->disk);
        break;
    }
    h->result = rc;
    h->ns = mono_ns() - t0;
    atomic_store_explicit(&h->state, HOSTIO_DONE, memory_order_release);
    if (h->wake_fd >= 0) {
        uint64_t one = 1;
        while (write(h->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
            ;                    /* EAGAIN: the counter is already set */
    }
}

static void *io_thread(void *arg)
{
    struct hostio *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->queued && !h->quit)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->quit)
            break;               /* a queued operation not started: dropped */
        h->queued = false;
        pthread_mutex_unlock(&h->mu);
        run_op(h);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int hostio_init(struct hostio *h, struct diskfile *disk, bool threaded, int wake_fd)
{
    memset(h, 0, sizeof *h);
    h->disk = disk;
    h->wake_fd = wake_fd;
    atomic_init(&h->state, HOSTIO_IDLE);
    if (!threaded)
        return 0;
    if (pthread_mutex_init(&h->mu, NULL))
        return -1;
    if (pthread_cond_init(&h->cv, NULL)) {
        pthread_mutex_destroy(&h->mu);
        return -1;
    }
    /* the thread takes no signals: they stay the main thread's */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&h->id, NULL, io_thread, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        errno = rc;
        return -1;
    }
    h->threaded = true;
    return 0;
}

void hostio_submit(struct hostio *h, enum diskfile_op op, void *buf, size_t len, uint64_t off)
{
    h->op = op;
    h->buf = buf;
    h->len = len;
    h->off = off;
    if (!h->threaded) {
        atomic_store_explicit(&h->state, HOSTIO_QUEUED, memory_order_relaxed);
        run_op(h);
        return;
    }
    pthread_mutex_lock(&h->mu);
    atomic_store_explicit(&h->state, HOSTIO_QUEUED, memory_order_relaxed);
    h->queued = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

bool hostio_collect(struct hostio *h, int *result, uint64_t *ns)
{
    if (atomic_load_explicit(&h->state, memory_order_acquire) != HOSTIO_DONE)
        return false;
    *result = h->result;
    if (ns)
        *ns = h->ns;
    atomic_store_explicit(&h->state, HOSTIO_IDLE, memory_order_relaxed);
    return true;
}

void hostio_stop(struct hostio *h)
{
    if (!h->threaded)
        return;
    pthread_mutex_lock(&h->mu);
    h->quit = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->id, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    h->threaded = false;
}
