/* ops_ext.h - prototypes of services that the data-movement, stack, branch
 * and string handlers (ops_mov.c, ops_stack.c, ops_branch.c, ops_string.c)
 * call but that other parts of the core implement: far transfers and port
 * I/O with their protection checks (src/cpu/system.h, system engineer:
 * far_call, far_jmp, io_check, io_in, io_out).
 *
 * When src/cpu/system.h exists it is used; otherwise the prototypes the
 * handlers rely on are declared here, exactly as that header is specified
 * to declare them. */
#ifndef VSMP_OPS_EXT_H
#define VSMP_OPS_EXT_H

#include <stdint.h>

#include "cpu/cpu.h"

#if defined(__has_include)
#if __has_include("cpu/system.h")
#include "cpu/system.h"
#define VSMP_OPS_EXT_HAVE_SYSTEM_H 1
#endif
#endif

#ifndef VSMP_OPS_EXT_HAVE_SYSTEM_H
/* Far CALL / JMP through a selector (real mode or protected mode: code
 * segment, call gate, task gate, TSS). opsize is 16 or 32. */
void far_call(struct cpu *cpu, uint16_t sel, uint32_t off, int opsize);
void far_jmp(struct cpu *cpu, uint16_t sel, uint32_t off, int opsize);
/* I/O permission check (IOPL / TSS bitmap): #GP(0) when denied. */
void io_check(struct cpu *cpu, uint16_t port, int size);
/* Port I/O of size 1, 2 or 4 bytes after the IOPL / TSS-bitmap checks
 * (raise #GP(0) when denied). */
uint32_t io_in(struct cpu *cpu, uint16_t port, int size);
void io_out(struct cpu *cpu, uint16_t port, int size, uint32_t v);
#endif

#endif
