/* task.h - hardware task switching (SDM Vol. 3, chapter 7 "Task
 * Management"): far JMP/CALL to a TSS descriptor or a task gate, IRET
 * with NT=1 (return through the previous-task link) and interrupts and
 * exceptions through a task gate in the IDT. Implemented in task.c; the
 * callers are ops_sys_far.c (JMP, CALL, IRET) and except.c (IDT). */
#ifndef VSMP_TASK_H
#define VSMP_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* Is a system descriptor type (AR_TYPE of a descriptor with S=0) a
 * target of a task-switching far JMP/CALL (available or busy 16/32-bit
 * TSS, task gate)? */
bool task_far_type(unsigned type);

/* Far JMP (call false) or CALL (call true) to selector `sel`, whose
 * descriptor `d` was read from the GDT/LDT and is a TSS or a task gate
 * (task_far_type()). Does the privilege, busy and presence checks of the
 * JMP/CALL pages (#GP/#NP with the selector) and the switch. The offset
 * of the far pointer is not used. cpu->eip holds the return address. */
void task_far(struct cpu *cpu, uint16_t sel, uint64_t d, bool call);

/* IRET in protected mode with EFLAGS.NT=1: switch to the task named by
 * the previous-task link of the current TSS (#TS/#NP for a bad link). */
void task_iret(struct cpu *cpu);

/* Deliver an interrupt or exception through the IDT task gate `gate`
 * (the gate's own DPL and present checks were done by the caller).
 * ext: the EXT bit of error codes (1 for events not caused by INT n).
 * With has_err, `err` is pushed on the new task's stack (32 bits for a
 * 32-bit TSS, 16 for a 16-bit one). `rf` (F_RF or 0) is ORed into the
 * EFLAGS image saved in the old TSS, as into the image an interrupt or
 * trap gate pushes (set for faults: except.c, exc_pushes_rf). */
void task_gate_int(struct cpu *cpu, uint64_t gate, uint32_t ext, bool has_err, uint32_t err,
                   uint32_t rf);

#endif
