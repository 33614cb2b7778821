/* waitclock.h - how long a rank has waited for another rank's answer,
 * for the answer timeout (vsmp --answer-timeout, docs/smp.md "A rank
 * that stops answering"). Plain arithmetic on times the caller reads
 * from its own clock, so that the rule is testable with injected times.
 *
 * The rule: the time between two looks counts as waiting, except a gap
 * longer than gap_ns. A wait loop looks at least every few hundred
 * microseconds; a gap that long means this process itself did not run
 * (it was stopped, or the host did not schedule it), and the answer may
 * have been in its inbox all along: the other rank is not to blame for
 * it. (A rank stopped with SIGSTOP and then continued must not accuse
 * the ranks it was waiting for.) */
#ifndef VSMP_WAITCLOCK_H
#define VSMP_WAITCLOCK_H

#include <stdint.h>

struct waitclock {
    uint64_t waited;    /* counted so far, ns */
    uint64_t last;      /* the last look */
};

static inline void waitclock_start(struct waitclock *w, uint64_t now)
{
    w->waited = 0;
    w->last = now;
}

/* Look at `now` (>= the last look): the time waited so far. */
static inline uint64_t waitclock_look(struct waitclock *w, uint64_t now, uint64_t gap_ns)
{
    uint64_t dt = now > w->last ? now - w->last : 0;
    if (dt <= gap_ns)
        w->waited += dt;
    w->last = now;
    return w->waited;
}

/* The gap that is not counted for a limit: an eighth of it. */
static inline uint64_t waitclock_gap(uint64_t limit_ns)
{
    return limit_ns / 8;
}

#endif
