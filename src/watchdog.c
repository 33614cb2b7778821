/* watchdog.c - the answer timeout's end of the job and its watchdog
 * thread (see watchdog.h). The thread never calls MPI: it sleeps on a
 * condition variable, reads the main thread's record, applies the rule
 * (watch_judge) and, when it fires, writes one line to stderr and
 * _exits. Everything it touches of the main thread's state is atomic. */
#define _GNU_SOURCE
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/terminal.h"
#include "waitclock.h"

struct watchdog_thread {
    pthread_t id;
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* on CLOCK_MONOTONIC */
    bool stop;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t watchdog_period(uint64_t limit_ns)
{
    uint64_t p = limit_ns / 16;
    if (p < 10000000ull)
        p = 10000000ull;
    if (p > 1000000000ull)
        p = 1000000000ull;
    return p;
}

_Noreturn void watchdog_end_job(struct watchdog *w, int self, const char *what)
{
    if (w) {
        int expect = 0;
        if (!atomic_compare_exchange_strong(&w->ending, &expect, 1))
            for (;;)
                pause();         /* the other thread is ending the process */
    }
    char line[512];
    int n = snprintf(line, sizeof line, "vsmp: rank %d: %s; ending the job\n", self, what);
    if (n > (int)sizeof line - 1)
        n = (int)sizeof line - 1;
    for (int off = 0; n > off;) {
        ssize_t k = write(STDERR_FILENO, line + off, (size_t)(n - off));
        if (k <= 0 && errno != EINTR)
            break;
        if (k > 0)
            off += (int)k;
    }
    terminal_restore();          /* _exit runs no atexit handler */
    _exit(WATCHDOG_EXIT_STATUS);
}

void watch_read(struct watchdog *w, struct watch_look *out)
{
    for (;;) {
        uint64_t s1 = atomic_load_explicit(&w->seq, memory_order_acquire);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        out->what = atomic_load_explicit(&w->what, memory_order_relaxed);
        out->rank = atomic_load_explicit(&w->rank, memory_order_relaxed);
        out->arg = atomic_load_explicit(&w->arg, memory_order_relaxed);
        out->text = atomic_load_explicit(&w->text, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&w->seq, memory_order_relaxed) == s1) {
            out->seq = s1;
            return;
        }
    }
}

bool watch_judge(struct watch_judge *j, const struct watch_look *l, uint64_t now,
                 uint64_t limit_ns, uint64_t gap_ns)
{
    if (j->looked && now - j->last > gap_ns)
        j->have = false;         /* we did not run: count again */
    j->looked = true;
    j->last = now;
    if (l->what == WATCH_NONE) {
        j->have = false;
        return false;
    }
    if (!j->have || j->seq != l->seq) {
        j->have = true;
        j->seq = l->seq;
        j->since = now;
        return false;
    }
    return now - j->since >= limit_ns;
}

int watch_describe(const struct watch_look *l, char *buf, size_t len)
{
    unsigned long long a = (unsigned long long)l->arg;
    switch (l->what) {
    case WATCH_GET:
        return snprintf(buf, len, "rank %d has not answered MPI_Get of page 0x%08llx (inside MPI)",
                        l->rank, a & ~0xfffull);
    case WATCH_PUT:
        return snprintf(buf, len, "rank %d has not answered MPI_Put to page 0x%08llx (inside MPI)",
                        l->rank, a & ~0xfffull);
    case WATCH_ATOMIC:
        return snprintf(buf, len,
                        "rank %d has not answered an atomic on its directory word %llu (inside MPI)",
                        l->rank, a);
    case WATCH_STORE:
        return snprintf(buf, len,
                        "rank %d has not answered a store to its directory word %llu (inside MPI)",
                        l->rank, a);
    case WATCH_STEP:
        return snprintf(buf, len, "not every rank has reached %s (inside MPI)",
                        l->text ? l->text : "a collective step");
    default:
        return snprintf(buf, len, "an MPI call has not returned");
    }
}

static void *watch_thread(void *arg)
{
    struct watchdog *w = arg;
    struct watchdog_thread *t = w->thread;
    struct watch_judge j = { 0 };
    uint64_t gap = waitclock_gap(w->limit_ns);
    if (gap < 2 * w->period_ns)
        gap = 2 * w->period_ns;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        uint64_t wake = mono_ns() + w->period_ns;
        struct timespec ts = { (time_t)(wake / 1000000000ull), (long)(wake % 1000000000ull) };
        int rc = pthread_cond_timedwait(&t->cv, &t->mu, &ts);
        if (t->stop)
            break;
        if (rc != ETIMEDOUT)
            continue;
        pthread_mutex_unlock(&t->mu);
        struct watch_look l;
        watch_read(w, &l);
        uint64_t now = mono_ns();
        if (watch_judge(&j, &l, now, w->limit_ns, gap)) {
            char what[400];
            int n = watch_describe(&l, what, sizeof what);
            if (n > 0 && (size_t)n < sizeof what)
                snprintf(what + n, sizeof what - (size_t)n, " for %.1f s",
                         (double)(now - j.since) / 1e9);
            watchdog_end_job(w, w->self, what);
        }
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

struct watchdog *watchdog_start(int self, uint64_t limit_ns)
{
    struct watchdog *w = calloc(1, sizeof *w);
    struct watchdog_thread *t = calloc(1, sizeof *t);
    if (!w || !t || !limit_ns) {
        free(w);
        free(t);
        errno = limit_ns ? ENOMEM : EINVAL;
        return NULL;
    }
    w->self = self;
    w->limit_ns = limit_ns;
    w->period_ns = watchdog_period(limit_ns);
    w->thread = t;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&t->mu, NULL);
    /* the thread takes no signals: they stay the main thread's */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t->id, NULL, watch_thread, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        free(w);
        errno = rc;
        return NULL;
    }
    return w;
}

void watchdog_stop(struct watchdog *w)
{
    if (!w)
        return;
    struct watchdog_thread *t = w->thread;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->id, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
    free(w);
}
