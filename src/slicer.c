/* slicer.c - instruction budgets from a time quantum (slicer.h). */
#include "slicer.h"

#define INITIAL_RATE 0.1        /* 100 MIPS: about the interpreter's speed */
#define MIN_RATE 1e-4           /* 0.1 MIPS */
#define MAX_RISE 4.0            /* the rate at most quadruples per slice */

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
    /* A slice that waited (a DSM fault, a device request, the host
     * preempting us) pulls the rate down at once, so that the next slices
     * stay short while the guest is slow and requests of other ranks are
     * still served within the quantum; the rate climbs back by at most
     * MAX_RISE per slice, a few slices from the slowest to full speed. */
    if (r > s->rate * MAX_RISE)
        r = s->rate * MAX_RISE;
    s->rate = r < MIN_RATE ? MIN_RATE : r;
}
