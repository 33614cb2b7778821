/* test_probe_rule.c - the open-time probe's rule (src/mpi/probe_rule.h)
 * with injected timings: which peers send_data puts to under
 * DSM_MPI_DATA_AUTO, and the one-sided cost the transport reports for
 * --take auto. No MPI, no clock: the times are the test's. */
#include <criterion/criterion.h>

#include "mpi/probe_rule.h"

/* The best of the times decides; one slow Get (a descheduled peer) does
 * not make a peer far. */
Test(probe_rule, best_time_decides)
{
    const uint64_t sm[] = { 900, 60, 55, 70 };              /* osc/sm */
    struct probe_verdict v = probe_rule(sm, 4);
    cr_assert_eq(v.rma_ns, 55);
    cr_assert(v.near);
    const uint64_t pt2pt_loaded[] = { 2000000, 3000, 800000, 150000 };
    v = probe_rule(pt2pt_loaded, 4);
    cr_assert_eq(v.rma_ns, 3000);
    cr_assert(v.near);
    const uint64_t tcp[] = { 14000, 12500, 13000, 90000 };   /* TCP loopback */
    v = probe_rule(tcp, 4);
    cr_assert_eq(v.rma_ns, 12500);
    cr_assert(!v.near);
}

/* The threshold itself: under PROBE_NEAR_NS is near, at it is far. */
Test(probe_rule, threshold)
{
    const uint64_t under[] = { PROBE_NEAR_NS - 1, PROBE_NEAR_NS + 7 };
    const uint64_t at[] = { PROBE_NEAR_NS + 1, PROBE_NEAR_NS };
    cr_assert(probe_rule(under, 2).near);
    cr_assert(!probe_rule(at, 2).near);
    cr_assert_eq(probe_rule(at, 2).rma_ns, PROBE_NEAR_NS);
}

/* No time at all (no Get made): far, cost unknown (the largest). */
Test(probe_rule, no_times)
{
    struct probe_verdict v = probe_rule(NULL, 0);
    cr_assert(!v.near);
    cr_assert_eq(v.rma_ns, UINT64_MAX);
}
