/* cpu_snap.h - a CPU's architectural state in a memory image
 * (docs/image-format.md): sections "CPU " and "FPU " (cpu_snap.c,
 * fpu_snap.c). The local APIC has its own section (apic_save/apic_load,
 * cpu/apic.h); src/snap/rank_state.c puts a rank's CPU together. */
#ifndef VSMP_CPU_SNAP_H
#define VSMP_CPU_SNAP_H

#include <stdbool.h>

#include "cpu/cpu.h"
#include "snap/snapbuf.h"

/* Saves the registers, segment caches, descriptor tables, control and
 * debug registers, CPL, MSRs (SYSENTER, PAT, TSC adjust, kvmclock, APIC
 * base as the CPU keeps it), A20, the pending-event state (INTR and NMI
 * lines, NMI blocking, the STI/MOV SS shadow, HLT, wait-for-STARTUP) and
 * the instruction count: section "CPU ", then the FPU's "FPU ".
 * Call it between instructions (outside cpu_run): a REP string
 * instruction stopped at a slice boundary is then saved as the loop left
 * it (EIP at its start, ECX/ESI/EDI as far as it got, RF set) and runs
 * again from a fresh fetch after a load, as after an interrupt. */
void cpu_save(const struct cpu *c, struct snapw *w);

/* Loads both sections into a CPU made with cpu_init() (not inside
 * cpu_run); its attachments (bus, phys, apic, dsm, engine choice) are
 * kept. Every value is checked first; on a refusal (false, reason in
 * r->why) the CPU is unchanged. On success everything derived is
 * rebuilt: mode fields, segment fast flags, the TLB flushed, the decoded
 * blocks and translations dropped (the memory under them may have been
 * replaced), no REP record, no exit request, no fault context. */
bool cpu_load(struct cpu *c, struct snapr *r);

#endif
