/* system.h - services of the system-instruction files (ops_system.c,
 * ops_sys_far.c) that other handler files use: far transfers for
 * FF /3 and FF /5, and port I/O with its protection checks for INS/OUTS.
 * Far JMP/CALL to a TSS or task gate and IRET with NT=1 switch tasks
 * (task.c). */
#ifndef VSMP_SYSTEM_H
#define VSMP_SYSTEM_H

#include <stdint.h>

#include "cpu/cpu.h"

/* Far CALL / JMP to sel:off (real mode, or protected mode to a code
 * segment, through a call gate, or to a task). opsize (16 or 32) is the instruction's
 * operand size: the size of the pushed return address and of the offset.
 * cpu->eip must already hold the return address. */
void far_call(struct cpu *cpu, uint16_t sel, uint32_t off, int opsize);
void far_jmp(struct cpu *cpu, uint16_t sel, uint32_t off, int opsize);
/* Far RET (CB, CA imm16): pop EIP and CS, then `imm` more bytes. */
void far_ret(struct cpu *cpu, int opsize, uint16_t imm);
/* IRET / IRETD. */
void iret(struct cpu *cpu, int opsize);

/* May the current code access `size` bytes of I/O ports from `port`?
 * In protected mode with CPL > IOPL the TSS I/O permission bitmap
 * decides; raises #GP(0) when denied. */
void io_check(struct cpu *cpu, uint16_t port, int size);
/* Port I/O of size 1, 2 or 4 bytes: io_check(), then the bus. A bus
 * without io_in reads all-ones. */
uint32_t io_in(struct cpu *cpu, uint16_t port, int size);
void io_out(struct cpu *cpu, uint16_t port, int size, uint32_t v);

/* The virtual clock the CPU sees (cpu->bus.clock_ns, ns; without it the
 * host's CLOCK_MONOTONIC), and the wall-clock time that goes with it
 * (cpu->bus.wall_ns, Unix epoch ns; else CLOCK_REALTIME). */
uint64_t cpu_clock_ns(const struct cpu *cpu);
uint64_t cpu_wall_ns(const struct cpu *cpu);
/* The guest time-stamp counter: VCLOCK_TSC_HZ (1 GHz), the virtual clock
 * plus cpu->tsc_offset (IA32_TSC_ADJUST). */
uint64_t cpu_read_tsc(const struct cpu *cpu);

/* CPUID leaf 1: EAX (family/model/stepping) and EDX (the features vsmp
 * implements; the APIC bit only with cpu->apic attached). Also what the
 * MP table's processor entries report. */
uint32_t cpu_cpuid_signature(void);
uint32_t cpu_cpuid_features(const struct cpu *cpu);

#endif
