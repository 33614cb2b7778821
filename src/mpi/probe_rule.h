/* probe_rule.h - the rule that turns the timed probe of a peer (a few
 * 8-byte Gets at open: probe_peers in src/mpi/dsm_mpi.c) into what the
 * transport does with it. The peer is near (reached through memory:
 * send_data puts to it under DSM_MPI_DATA_AUTO) when the best time is
 * under PROBE_NEAR_NS; the best time is what the transport reports as its
 * one-sided cost (dsm_transport.h rule 9, which --take auto compares with
 * TAKE_MIN_RMA_NS in src/mem/dsm.c). A pure function of the times, so
 * that it is tested with injected timings (tests/unit/test_probe_rule.c);
 * the tests that check a data path force it (docs/testing.md). No MPI. */
#ifndef VSMP_PROBE_RULE_H
#define VSMP_PROBE_RULE_H

#include <stdbool.h>
#include <stdint.h>

/* osc/sm about 0.05 us, osc/pt2pt over vader 0.7-3 us, TCP loopback 12 us
 * and more (dsm_mpi.c, before probe_peers) */
#define PROBE_NEAR_NS 5000u

struct probe_verdict {
    uint64_t rma_ns;    /* the best time (UINT64_MAX: no time) */
    bool near;
};

/* The verdict on a peer from the n times its probe Gets took. */
static inline struct probe_verdict probe_rule(const uint64_t *ns, int n)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < n; i++)
        if (ns[i] < best)
            best = ns[i];
    return (struct probe_verdict){ .rma_ns = best, .near = best < PROBE_NEAR_NS };
}

#endif
