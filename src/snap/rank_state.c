/* rank_state.c - a rank's CPU in a memory image (snap/state.h): section
 * "RANK" (which rank, how many, what the machine holds for the CPU: the
 * INIT/STARTUP queued by the APIC and not yet applied, whether rank 0 ever
 * sent an IPI), then the CPU ("CPU ", "FPU ": cpu/cpu_snap.h) and its
 * local APIC ("APIC": cpu/apic.h).
 *
 * Not saved, because a checkpoint is taken between slices with every rank
 * quiet (no forwarded access or fault outstanding, no message in flight):
 * the forwarded-access tag and answer, the stuck reports and IPI counts
 * (every rank starts them again at zero), the liveness ping, the slicer.
 * The INTR line is the APIC's output, recomputed by the load; the peer
 * table's own entry is refreshed here, the other ranks' entries come from
 * their sections (rank_state_peer) or from their announcements. */
#include "snap/state.h"

#include "cpu/cpu_snap.h"
#include "machine_impl.h"

#define RANK_SNAP_VERSION 1

void rank_state_save(const struct machine *m, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("RANK"), RANK_SNAP_VERSION);
    snapw_u32(w, (uint32_t)m->rank);
    snapw_u32(w, (uint32_t)m->ncpus);
    snapw_u8(w, (uint8_t)m->ncpu_ev);
    for (int i = 0; i < m->ncpu_ev; i++)
        snapw_i32(w, m->cpu_ev[i]);
    snapw_bool(w, m->aps_started);
    snapw_end(w);
    cpu_save(&m->cpu, w);
    apic_save(&m->apic, w);
}

/* The "RANK" section: it must be rank `rank` of `ncpus`. */
static bool load_rank(struct snapr *r, int rank, int ncpus, int *ev, int *nev, bool *aps)
{
    struct snapr s;
    if (!snapr_section(r, SNAP_TAG("RANK"), RANK_SNAP_VERSION, &s, NULL))
        return false;
    uint32_t img_rank = snapr_u32(&s), img_ncpus = snapr_u32(&s);
    unsigned n = snapr_u8(&s);
    if (!s.bad && (img_rank != (uint32_t)rank || img_ncpus != (uint32_t)ncpus))
        snapr_fail(&s, "the CPU state is of rank %u of %u, this is rank %d of %d", img_rank,
                   img_ncpus, rank, ncpus);
    if (!s.bad)
        snapr_check(&s, n, CPU_EV_MAX + 1, "queued INIT/STARTUP count");
    for (unsigned i = 0; i < n && !s.bad; i++) {
        int32_t e = snapr_i32(&s);
        /* an INIT discards what was queued before it: first or not at all */
        if (!s.bad && !(e >= 0 && e <= 0xff) && !(e == CPU_EV_INIT && i == 0))
            snapr_fail(&s, "queued CPU event %u is %d (a STARTUP vector 0-255, or INIT first)",
                       i, e);
        ev[i] = e;
    }
    *aps = snapr_bool(&s);
    *nev = (int)n;
    return snapr_done(&s, r);
}

bool rank_state_load(struct machine *m, struct snapr *r)
{
    int ev[CPU_EV_MAX];
    int nev = 0;
    bool aps = false;
    if (!load_rank(r, m->rank, m->ncpus, ev, &nev, &aps))
        return false;
    if (!cpu_load(&m->cpu, r) || !apic_load(&m->apic, r))
        return false;
    /* What the CPU and its APIC both keep must agree. */
    uint64_t base = apic_get_base(&m->apic);
    if (m->cpu.tsc_offset != m->apic.tsc_offset || m->cpu.apic_base != base)
        return snapr_fail(r, "rank %d: the CPU and its APIC disagree (TSC offset %#llx/%#llx, "
                          "APIC base %#llx/%#llx)", m->rank,
                          (unsigned long long)m->cpu.tsc_offset,
                          (unsigned long long)m->apic.tsc_offset,
                          (unsigned long long)m->cpu.apic_base, (unsigned long long)base);
    if (((base & APIC_BASE_BSP) != 0) != (m->rank == 0))
        return snapr_fail(r, "rank %d: the APIC's BSP flag is %s", m->rank,
                          m->rank == 0 ? "clear" : "set");
    for (int i = 0; i < nev; i++)
        m->cpu_ev[i] = ev[i];
    m->ncpu_ev = nev;
    m->aps_started = aps;
    m->cpu.intr = m->apic.out;           /* the APIC drives INTR */
    if (m->peers)
        apic_peer_state(&m->apic, &m->peers[m->rank]);
    return true;
}

bool rank_state_peer(struct snapr *r, int rank, int ncpus, struct apic_peer *p)
{
    int ev[CPU_EV_MAX], nev;
    bool aps;
    if (!load_rank(r, rank, ncpus, ev, &nev, &aps))
        return false;
    struct snapr skip;
    if (!snapr_section(r, SNAP_TAG("CPU "), 1, &skip, NULL) ||
        !snapr_section(r, SNAP_TAG("FPU "), 1, &skip, NULL))
        return false;
    struct apic a = { .mmio_index = -1 };    /* no window, no ops */
    if (!apic_load(&a, r))
        return false;
    apic_peer_state(&a, p);
    return true;
}
