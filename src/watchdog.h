/* watchdog.h - the answer timeout (vsmp --answer-timeout): how a rank
 * that has waited too long for another rank ends the job, and the
 * watchdog thread that catches the waits no polling loop can see.
 *
 * Most waits for another rank are loops of vsmp's own (the DSM's fault
 * waits, device requests, the stop handshake): they count their time
 * (src/waitclock.h) and call watchdog_end_job themselves. But over a
 * transport without hardware RMA (osc/pt2pt over TCP) a one-sided
 * operation needs its target's help: when the target stopped, the
 * waiting rank sits inside MPI (MPI_Win_flush_local) and never returns
 * to any loop of ours; so do collective steps (start-up exchanges, the
 * windows' free, MPI_Finalize). For those the code marks what it is
 * about to wait for in a small record (watch_begin / watch_end, a few
 * stores; only the main thread writes it), and a thread that never calls
 * MPI (the ranks are MPI_THREAD_FUNNELED) looks at the record every
 * period: the same wait seen for the whole limit ends the job. The
 * process exits with WATCHDOG_EXIT_STATUS (_exit: no MPI_Finalize), and
 * mpirun then ends every other rank, a stopped one too (SIGCONT, SIGTERM),
 * and exits with this status (docs/smp.md "A rank that stops answering").
 *
 * The marks are kept apart from the rule (watch_judge) so that the rule
 * can be tested with injected times. */
#ifndef VSMP_WATCHDOG_H
#define VSMP_WATCHDOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The exit status of a job ended by the answer timeout (machine.h lists
 * every status). */
#define WATCHDOG_EXIT_STATUS 14

/* What the main thread is blocked in. */
enum watch_what {
    WATCH_NONE = 0,
    WATCH_GET,       /* MPI_Get from `rank`, arg = byte offset in its copy area */
    WATCH_PUT,       /* MPI_Put to `rank`, arg = byte offset */
    WATCH_ATOMIC,    /* an atomic on word `arg` of `rank`'s directory */
    WATCH_STORE,     /* a store to word `arg` of `rank`'s directory */
    WATCH_STEP,      /* a collective step (`text`): every rank must reach it */
};

/* One snapshot of the record. */
struct watch_look {
    uint64_t seq;    /* changes with every mark: a new wait */
    int what, rank;
    uint64_t arg;
    const char *text;
};

struct watchdog {
    /* the record: a sequence lock, odd while the main thread writes */
    _Atomic uint64_t seq;
    _Atomic int what, rank;
    _Atomic uint64_t arg;
    _Atomic(const char *) text;
    /* fixed at start */
    int self;                    /* this process's rank */
    uint64_t limit_ns, period_ns;
    _Atomic int ending;          /* 1 once someone ends the job */
    struct watchdog_thread *thread;
};

/* Start the thread for this rank with the limit (> 0); NULL (errno set)
 * when no thread could be started. */
struct watchdog *watchdog_start(int self, uint64_t limit_ns);
/* Stop and join the thread; free. NULL is fine. */
void watchdog_stop(struct watchdog *w);

/* Print "vsmp: rank SELF: WHAT; ending the job" and _exit with
 * WATCHDOG_EXIT_STATUS. Only the first caller (main thread or watchdog
 * thread) prints; a later one waits for the exit. w may be NULL. */
_Noreturn void watchdog_end_job(struct watchdog *w, int self, const char *what);

/* ---- marks (main thread only; w may be NULL: nothing) ---- */
struct watch_mark {
    int what, rank;
    uint64_t arg;
    const char *text;
};

static inline void watch_set(struct watchdog *w, int what, int rank, uint64_t arg,
                             const char *text)
{
    uint64_t s = atomic_load_explicit(&w->seq, memory_order_relaxed);
    atomic_store_explicit(&w->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&w->what, what, memory_order_relaxed);
    atomic_store_explicit(&w->rank, rank, memory_order_relaxed);
    atomic_store_explicit(&w->arg, arg, memory_order_relaxed);
    atomic_store_explicit(&w->text, text, memory_order_relaxed);
    atomic_store_explicit(&w->seq, s + 2, memory_order_release);
}

/* About to block on `rank` (-1: a collective step) in `what`; returns
 * what was marked before, for watch_end. */
static inline struct watch_mark watch_begin(struct watchdog *w, enum watch_what what, int rank,
                                            uint64_t arg, const char *text)
{
    struct watch_mark prev = { WATCH_NONE, 0, 0, 0 };
    if (!w)
        return prev;
    prev.what = atomic_load_explicit(&w->what, memory_order_relaxed);
    prev.rank = atomic_load_explicit(&w->rank, memory_order_relaxed);
    prev.arg = atomic_load_explicit(&w->arg, memory_order_relaxed);
    prev.text = atomic_load_explicit(&w->text, memory_order_relaxed);
    watch_set(w, what, rank, arg, text);
    return prev;
}

/* The wait is over: back to what was marked before (its time starts
 * again: a nested mark shortens what the outer one is seen to wait). */
static inline void watch_end(struct watchdog *w, struct watch_mark prev)
{
    if (w)
        watch_set(w, prev.what, prev.rank, prev.arg, prev.text);
}

/* A consistent snapshot (any thread). */
void watch_read(struct watchdog *w, struct watch_look *out);

/* ---- the rule, with injected times ---- */
struct watch_judge {
    bool looked, have;
    uint64_t last;               /* the previous look */
    uint64_t seq, since;         /* the wait seen, and since when */
};
/* One look at time now: true when the same wait (seq) has been seen
 * for at least limit_ns (it began between the look before `since` and
 * `since`: it has lasted at least that long). A gap of more than gap_ns
 * since the previous look (this process did not run) starts the count
 * again, as src/waitclock.h does. */
bool watch_judge(struct watch_judge *j, const struct watch_look *l, uint64_t now,
                 uint64_t limit_ns, uint64_t gap_ns);
/* "rank 1 has not answered MPI_Get of page 0x00123000 (inside MPI)"
 * and the like, for a look the rule fired on; the length snprintf
 * returned. */
int watch_describe(const struct watch_look *l, char *buf, size_t len);
/* The thread's period for a limit: a sixteenth of it, from 10 ms to 1 s. */
uint64_t watchdog_period(uint64_t limit_ns);

#endif
