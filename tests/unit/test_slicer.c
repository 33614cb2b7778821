/* test_slicer.c - instruction budgets from a time quantum (src/slicer.c):
 * the adaptation to the measured rate, timer deadlines, bounds, and the
 * fixed --slice budget. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "slicer.h"

#define Q 10000u    /* 10 us */

Test(slicer, fixed_budget_ignores_rate_and_deadline)
{
    struct slicer s;
    slicer_init(&s, Q, 3000);
    slicer_update(&s, 1000000, 1000);
    cr_assert_eq(slicer_budget(&s, 100, 101), 3000);
    cr_assert_eq(slicer_budget(&s, 100, UINT64_MAX), 3000);
}

Test(slicer, starts_at_interpreter_speed)
{
    struct slicer s;
    slicer_init(&s, Q, 0);
    uint64_t b = slicer_budget(&s, 0, UINT64_MAX);
    cr_assert(b >= 500 && b <= 2000, "first budget %llu", (unsigned long long)b);
}

Test(slicer, rate_rises_at_most_fourfold_per_slice_then_follows)
{
    struct slicer s;
    slicer_init(&s, Q, 0);
    uint64_t prev = slicer_budget(&s, 0, UINT64_MAX);
    /* the guest really runs at 1.5 instructions per ns */
    for (int i = 0; i < 30; i++) {
        slicer_update(&s, 15000, 10000);
        uint64_t b = slicer_budget(&s, 0, UINT64_MAX);
        cr_assert(b <= prev * 4 + 1, "step %d: %llu after %llu", i,
                  (unsigned long long)b, (unsigned long long)prev);
        prev = b;
    }
    cr_assert(prev >= 14000 && prev <= 16000, "settled at %llu", (unsigned long long)prev);
}

Test(slicer, one_slow_slice_shortens_the_next_by_a_quarter_only)
{
    struct slicer s;
    slicer_init(&s, Q, 0);
    for (int i = 0; i < 20; i++)
        slicer_update(&s, 15000, 10000);
    uint64_t before = slicer_budget(&s, 0, UINT64_MAX);
    /* 100 instructions in 1 ms: the host preempted us */
    slicer_update(&s, 100, 1000000);
    uint64_t after = slicer_budget(&s, 0, UINT64_MAX);
    cr_assert(after < before && after >= before * 7 / 10, "%llu -> %llu",
              (unsigned long long)before, (unsigned long long)after);
    /* a guest that stays slow: the budget follows it down */
    for (int i = 0; i < 40; i++)
        slicer_update(&s, 100, 1000000);
    cr_assert_eq(slicer_budget(&s, 0, UINT64_MAX), s.min_insns);
}

Test(slicer, deadline_ends_the_slice_early)
{
    struct slicer s;
    slicer_init(&s, Q, 0);
    for (int i = 0; i < 30; i++)
        slicer_update(&s, 10000, 10000);          /* 1 per ns */
    uint64_t full = slicer_budget(&s, 1000, UINT64_MAX);
    uint64_t near = slicer_budget(&s, 1000, 1000 + 3000);
    cr_assert(full >= 9000 && full <= 11000, "full %llu", (unsigned long long)full);
    cr_assert(near >= 2700 && near <= 3300, "near %llu", (unsigned long long)near);
    cr_assert_eq(slicer_budget(&s, 5000, 4000), s.min_insns);    /* overdue */
    cr_assert_eq(slicer_budget(&s, 1000, 1000 + 10 * Q), full);  /* far away */
}

Test(slicer, budget_stays_within_bounds)
{
    struct slicer s;
    slicer_init(&s, 1000000000u, 0);                 /* 1 s quantum */
    for (int i = 0; i < 40; i++)
        slicer_update(&s, 1000000000u, 100000000u);  /* 10 per ns */
    cr_assert_eq(slicer_budget(&s, 0, UINT64_MAX), s.max_insns);

    struct slicer t;
    slicer_init(&t, Q, 0);
    for (int i = 0; i < 40; i++)
        slicer_update(&t, 1, 1000000000u);           /* 1 instruction a second */
    cr_assert_eq(slicer_budget(&t, 0, UINT64_MAX), t.min_insns);
    slicer_update(&t, 5, 0);                         /* no time: ignored */
    cr_assert_eq(slicer_budget(&t, 0, UINT64_MAX), t.min_insns);
}

/* A rank that polls for nothing stretches its quantum so that polling
 * costs at most 1/share of its time: over shared memory (0.1 us a poll)
 * it stays at the base, over TCP (0.75 us) it grows to 24 us, and never
 * beyond the maximum. */
Test(slicer, stretch_bounds_the_poll_share)
{
    cr_assert_eq(slicer_stretch(10000, 40000, 100, 32), 10000);
    cr_assert_eq(slicer_stretch(10000, 40000, 750, 32), 24000);
    cr_assert_eq(slicer_stretch(10000, 40000, 5000, 32), 40000);
    cr_assert_eq(slicer_stretch(10000, 40000, 0, 32), 10000);
}
