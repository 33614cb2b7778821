/* stubs_tmp.c - TEMPORARY stand-ins for rank_state_save/load (issue 17
 * part B) so that the checkpoint core can be developed before that part
 * is merged. Raw bytes of the CPU's architectural fields and of the
 * APIC's registers: same binary only, no validation. The integrator
 * deletes this file. */
#include <stddef.h>
#include <string.h>

#include "machine_impl.h"
#include "snap/state.h"

#define SPAN(type, a, b) offsetof(type, b) - offsetof(type, a)

void rank_state_save(const struct machine *m, struct snapw *w)
{
    const struct cpu *c = &m->cpu;
    snapw_begin(w, SNAP_TAG("TMPC"), 1);
    snapw_bytes(w, &c->r, SPAN(struct cpu, r, apic));
    snapw_bytes(w, &c->pat, SPAN(struct cpu, pat, pe));
    snapw_bytes(w, &c->halted, sizeof c->halted);
    snapw_bytes(w, &c->wait_sipi, sizeof c->wait_sipi);
    snapw_bytes(w, &c->nmi_blocked, sizeof c->nmi_blocked);
    snapw_bytes(w, &c->inhibit_irq, sizeof c->inhibit_irq);
    snapw_bytes(w, &c->icount, sizeof c->icount);
    snapw_bytes(w, &m->apic, offsetof(struct apic, ops));
    snapw_bool(w, m->aps_started);
    snapw_end(w);
}

bool rank_state_load(struct machine *m, struct snapr *r)
{
    struct snapr s;
    uint32_t v;
    if (!snapr_section(r, SNAP_TAG("TMPC"), 1, &s, &v))
        return false;
    struct cpu *c = &m->cpu;
    snapr_bytes(&s, &c->r, SPAN(struct cpu, r, apic));
    snapr_bytes(&s, &c->pat, SPAN(struct cpu, pat, pe));
    snapr_bytes(&s, &c->halted, sizeof c->halted);
    snapr_bytes(&s, &c->wait_sipi, sizeof c->wait_sipi);
    snapr_bytes(&s, &c->nmi_blocked, sizeof c->nmi_blocked);
    snapr_bytes(&s, &c->inhibit_irq, sizeof c->inhibit_irq);
    snapr_bytes(&s, &c->icount, sizeof c->icount);
    snapr_bytes(&s, &m->apic, offsetof(struct apic, ops));
    m->aps_started = snapr_bool(&s);
    cpu_update_mode(c);
    c->intr = m->apic.out;
    return snapr_done(&s, r);
}
