/* vclock.h - the machine's one virtual clock: the time base of the guest
 * TSC, the PIT, the local APIC timers, kvmclock and the RTC, the same on
 * every rank.
 *
 * The clock reads CLOCK_MONOTONIC plus the offset the clock
 * synchronisation measured at start-up (src/mpi/clocksync.c: rank 0's
 * monotonic clock minus this rank's; 0 on rank 0 and with one CPU), in
 * nanoseconds. It is monotonic on each rank and agrees across ranks within
 * the synchronisation's bound. Derived from it:
 *   - the guest TSC: VCLOCK_TSC_HZ, one tick per nanosecond of this clock
 *     (plus the CPU's IA32_TSC_ADJUST, 0 unless the guest writes TSC);
 *   - the APIC timer input clock (APIC_DEFAULT_BUS_HZ, also 1 GHz) and the
 *     PIT's 1.193182 MHz counters, both computed from it;
 *   - the wall clock (RTC, kvmclock's wall-clock MSR): `wall_base_ns`, the
 *     CLOCK_REALTIME of this rank at clock 0 taken once at start-up, plus
 *     the clock, so wall time advances exactly with the TSC. */
#ifndef VSMP_VCLOCK_H
#define VSMP_VCLOCK_H

#include <stdint.h>
#include <time.h>

#define VCLOCK_TSC_HZ 1000000000ull    /* guest TSC frequency: 1 GHz */

struct vclock {
    int64_t offset_ns;     /* added to CLOCK_MONOTONIC */
    int64_t wall_base_ns;  /* CLOCK_REALTIME (Unix epoch ns) at clock 0 */
};

static inline uint64_t vclock_mono_ns_(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The clock now, ns (ctx: struct vclock *, for callback tables). */
static inline uint64_t vclock_now_ns(void *ctx)
{
    const struct vclock *c = ctx;
    return vclock_mono_ns_() + (uint64_t)c->offset_ns;
}

/* Set up with the synchronisation's offset; samples the wall base. */
static inline void vclock_init(struct vclock *c, int64_t offset_ns)
{
    c->offset_ns = offset_ns;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t wall = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
    c->wall_base_ns = wall - (int64_t)vclock_now_ns(c);
}

/* Wall-clock time now, Unix epoch ns. */
static inline uint64_t vclock_wall_ns(void *ctx)
{
    const struct vclock *c = ctx;
    int64_t w = c->wall_base_ns + (int64_t)vclock_now_ns(ctx);
    return w > 0 ? (uint64_t)w : 0;
}

/* The same as a struct timespec (the RTC's callback). */
static inline void vclock_wall(void *ctx, struct timespec *ts)
{
    uint64_t w = vclock_wall_ns(ctx);
    ts->tv_sec = (time_t)(w / 1000000000ull);
    ts->tv_nsec = (long)(w % 1000000000ull);
}

#endif
