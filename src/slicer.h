/* slicer.h - how many guest instructions the next run slice may take.
 *
 * Between two slices the run loop polls the other ranks (invalidations,
 * downgrades, IPIs), the timers and the console. A slice counted in
 * instructions alone is either too long when the guest runs slowly
 * (interpreted, faulting: requests of other ranks wait) or too short when
 * it runs fast (translated: the poll itself costs a few per cent). The
 * slicer turns a time quantum into an instruction budget from the rate
 * measured over the last slices, and ends a slice early at the next timer
 * deadline so that timer interrupts arrive near their due time.
 *
 * A fixed budget (--slice N) switches the adaptation off. */
#ifndef VSMP_SLICER_H
#define VSMP_SLICER_H

#include <stdint.h>

struct slicer {
    uint64_t quantum_ns;        /* time wanted between two polls */
    uint64_t min_insns;         /* never less (a slice must make progress) */
    uint64_t max_insns;         /* never more */
    uint64_t fixed;             /* nonzero: always this many (--slice) */
    double rate;                /* smoothed instructions per nanosecond */
};

/* quantum_ns > 0; fixed = 0 adapts. */
void slicer_init(struct slicer *s, uint64_t quantum_ns, uint64_t fixed);
/* Budget of the slice starting at `now`; `deadline` is the next timer
 * event on the same clock (UINT64_MAX: none). */
uint64_t slicer_budget(const struct slicer *s, uint64_t now, uint64_t deadline);
/* A slice ran `insns` instructions in `ns` nanoseconds of running (the
 * caller leaves out time spent waiting for other ranks, during which
 * their requests are served anyway). */
void slicer_update(struct slicer *s, uint64_t insns, uint64_t ns);

/* A quantum stretched so that a poll costing poll_ns takes at most
 * 1/share of the time between polls, within [base, max] (a rank with
 * nothing to serve for a while polls less often: src/runloop.c). */
uint64_t slicer_stretch(uint64_t base, uint64_t max, uint64_t poll_ns, unsigned share);

#endif
