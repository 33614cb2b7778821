/* clocksync.h - one guest time base for all ranks: a rank on rank 0's
 * host (the same kernel boot and time namespace) reads the same clock,
 * offset 0; every other rank learns the
 * offset of rank 0's CLOCK_MONOTONIC against its own by ping-pong with
 * rank 0 (Cristian's method: of several rounds, the one with the smallest
 * round-trip time wins; the true offset then lies within half that RTT
 * of the estimate). The guest TSC and APIC timers derive from
 * clocksync_now_ns(), which is monotonic on each rank (local monotonic
 * clock + a constant) and agrees across ranks within bound_ns. */
#ifndef VSMP_CLOCKSYNC_H
#define VSMP_CLOCKSYNC_H

#include <stdint.h>

struct clocksync {
    int64_t offset_ns;   /* rank 0's clock minus this rank's (0 on rank 0) */
    int64_t err_ns;      /* |true offset - offset_ns| <= err_ns (rtt_min / 2) */
    int64_t rtt_min_ns;  /* smallest round trip seen (0 on rank 0) */
    int64_t bound_ns;    /* same on every rank: any two ranks' clocks
                          * differ by at most this (the two largest err_ns) */
    int same_clock;      /* this rank reads rank 0's CLOCK_MONOTONIC itself
                          * (same kernel boot and time namespace): offset 0,
                          * not measured (unless VSMP_CLOCKSYNC=measure) */
};

/* Collective over MPI_COMM_WORLD (after rt_init); rounds <= 0: 64.
 * Ranks not being measured wait without spinning, so an oversubscribed
 * node does not inflate the RTT. Returns 0 (1 rank: all zero). */
int clocksync_run(struct clocksync *cs, int rounds);

/* The synchronized clock: CLOCK_MONOTONIC + offset_ns, in ns. */
uint64_t clocksync_now_ns(const struct clocksync *cs);

#endif
