/* coherence.h - connect a CPU to the DSM protocol (see coherence.c). */
#ifndef VSMP_COHERENCE_H
#define VSMP_COHERENCE_H

#include "cpu/cpu.h"
#include "mem/dsm.h"

/* The DSM's on_lose callback (config.on_lose, arg = the cpu). */
void coherence_lose(void *arg, uint64_t page, enum dsm_state new_state);
/* From now on, the CPU's RAM accesses follow dsm's page states. The dsm
 * must have been created over cpu->phys->ram with on_lose = coherence_lose
 * and on_lose_arg = cpu. */
void coherence_attach(struct cpu *cpu, struct dsm *dsm);

#endif
