/* slicer.c - instruction budgets from a time quantum, and the quantum's
 * stretch for a rank that polls for nothing (slicer.h). */
#include "slicer.h"

#define INITIAL_RATE 0.1        /* 100 MIPS: about the interpreter's speed */
#define MIN_RATE 1e-4           /* 0.1 MIPS */
#define MAX_RISE 4.0            /* the rate at most quadruples per slice */
#define ALPHA 0.25              /* weight of the newest slice */

void slicer_init(struct slicer *s, uint64_t quantum_ns, uint64_t fixed)
{
    s->quantum_ns = quantum_ns ? quantum_ns : 1;
    s->min_insns = 200;
    s->max_insns = 1000000;
    s->fixed = fixed;
    s->rate = INITIAL_RATE;
}

uint64_t slicer_budget(const struct slicer *s, uint64_t now, uint64_t deadline)
{
    if (s->fixed)
        return s->fixed;
    uint64_t t = s->quantum_ns;
    if (deadline != UINT64_MAX)
        t = deadline <= now ? 0 : deadline - now < t ? deadline - now : t;
    double b = s->rate * (double)t;
    if (b < (double)s->min_insns)
        return s->min_insns;
    if (b > (double)s->max_insns)
        return s->max_insns;
    return (uint64_t)b;
}

void slicer_update(struct slicer *s, uint64_t insns, uint64_t ns)
{
    if (s->fixed || ns == 0)
        return;
    double r = (double)insns / (double)ns;
    /* Smoothed both ways: one slice in which the host preempted us says
     * little about the guest's speed, and a slice made short by it would
     * cost a poll, and with contended pages a page migration, for
     * nothing. The first slices climb from the interpreter's speed by at
     * most MAX_RISE each. */
    if (r > s->rate * MAX_RISE)
        r = s->rate * MAX_RISE;
    s->rate += ALPHA * (r - s->rate);
    if (s->rate < MIN_RATE)
        s->rate = MIN_RATE;
}

uint64_t slicer_stretch(uint64_t base, uint64_t max, uint64_t poll_ns, unsigned share)
{
    uint64_t q = poll_ns * share;
    return q < base ? base : q > max ? max : q;
}
