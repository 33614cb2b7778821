/* v86.h - virtual-8086 mode (SDM Vol. 3, chapter "8086 Emulation", and
 * the V86 parts of the Operation sections of IRET, INT n, PUSHF/POPF and
 * the I/O instructions in Vol. 2), as a P6-family processor without the
 * virtual-mode extensions does it (CPUID.VME = 0, CR4.VME/PVI cannot be
 * set). Implemented in v86.c; the callers are seg.c and task.c (8086
 * segments), ops_sys_far.c (IRET), ops_system.c (the IOPL-sensitive
 * instructions) and except.c (interrupts and exceptions from V86). */
#ifndef VSMP_V86_H
#define VSMP_V86_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* Fill a segment cache as an 8086 segment: base sel << 4, limit 0xffff,
 * present read/write data, DPL 3, accessed (the AR value 0xf3 that a V86
 * segment has for every register, CS included), 16-bit. */
void v86_seg_set(struct segment *s, uint16_t sel);

/* Load sreg with the 8086 segment `sel` (MOV/POP Sreg, LDS..., far
 * transfers in V86 mode); CS and SS refresh the derived mode. */
void v86_seg_load(struct cpu *cpu, int sreg, uint16_t sel);

/* The IOPL-sensitive instructions of V86 mode (CLI, STI, PUSHF, POPF,
 * INT n, IRET): #GP(0) unless IOPL = 3. */
void v86_need_iopl3(struct cpu *cpu);

/* IRET executed in V86 mode (RETURN-FROM-VIRTUAL-8086-MODE): with IOPL 3
 * it pops IP, CS, FLAGS as in real mode, never changing VM, IOPL (nor
 * VIP, VIF); #GP(0) with IOPL < 3, or when the popped EIP is beyond the
 * CS limit (0xffff). */
void v86_iret(struct cpu *cpu, int opsize);

/* IRET at CPL 0 with a 32-bit operand size whose popped EFLAGS has VM = 1
 * (RETURN-TO-VIRTUAL-8086-MODE): EIP, CS and EFLAGS were read from the
 * stack; ESP, SS, ES, DS, FS, GS follow at stack offset `at`. #SS(0)
 * when they are beyond the stack limit, #GP(0) when EIP > 0xffff (the
 * new CS limit). Enters V86 mode at CPL 3. */
void v86_iret_enter(struct cpu *cpu, uint32_t eip, uint16_t cs, uint32_t eflags, uint32_t at);

/* An interrupt or exception in V86 mode through a trap or interrupt gate
 * whose target code segment (selector `sel`, descriptor `d`, offset
 * `off`) is a present non-conforming code segment with DPL 0 (checked by
 * the caller: except.c): INTERRUPT-FROM-VIRTUAL-8086-MODE. The ring 0
 * stack from the TSS (#TS/#SS with EXT `ext`), the frame GS, FS, DS, ES,
 * SS, ESP, EFLAGS (`rf` ORed in), CS, EIP [, err] of 4 bytes for a
 * 32-bit gate, 2 for a 16-bit gate; then DS, ES, FS, GS null, VM, TF,
 * RF, NT cleared (IF too for an interrupt gate), CPL 0. */
void v86_interrupt(struct cpu *cpu, uint16_t sel, uint64_t d, uint32_t off, bool gate32,
                   bool trap, bool has_err, uint32_t err, uint32_t ext, uint32_t rf);

#endif
