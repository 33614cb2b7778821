/* cpu_step.h - for the unit tests that execute single instructions on a
 * bare CPU over plain physical memory (test_system.c, test_task.c,
 * test_v86.c): segment descriptor and gate encodings, and one instruction
 * executed the way cpu_run() executes it. */
#ifndef VSMP_TEST_CPU_STEP_H
#define VSMP_TEST_CPU_STEP_H

#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "mem/phys.h"

/* A segment descriptor: ar holds the access byte (bits 0-7) and the
 * G/D/L/AVL nibble (bits 12-15). */
static inline uint64_t mkdesc(uint32_t base, uint32_t limit, uint16_t ar)
{
    uint32_t lo = (limit & 0xffff) | (base << 16);
    uint32_t hi = ((base >> 16) & 0xff) | ((uint32_t)(ar & 0xff) << 8) | (limit & 0xf0000u) |
                  ((uint32_t)(ar & 0xf000) << 8) | (base & 0xff000000u);
    return ((uint64_t)hi << 32) | lo;
}

/* A gate (interrupt, trap, call or task gate: `access` is its access
 * byte); a call gate's parameter count goes in bits 32-36. */
static inline uint64_t mkgate(uint16_t sel, uint32_t off, uint8_t access)
{
    uint32_t lo = (off & 0xffff) | ((uint32_t)sel << 16);
    uint32_t hi = (off & 0xffff0000u) | ((uint32_t)access << 8);
    return ((uint64_t)hi << 32) | lo;
}

/* Execute the instruction `code` (copied to CS:EIP) like cpu_run(): on a
 * fault, EIP and ESP go back to the instruction and the exception is
 * delivered when `deliver`. Returns the vector of a fault that left the
 * instruction, or -1. */
static inline int cpu_step(struct cpu *cpu, struct phys *phys, const void *code, int len,
                           bool deliver)
{
    uint32_t lin = cpu->seg[S_CS].base + cpu->eip;
    cr_assert_eq(phys_copy_in(phys, lin, code, (size_t)len), 0);
    mmu_flush(cpu);
    uint8_t buf[16];
    int got = mmu_fetch(cpu, lin, buf, 15);
    struct insn in;
    int l = decode_insn(&in, buf, got, cpu->code32);
    cr_assert_eq(l, len, "decoded length %d, expected %d", l, len);
    jmp_buf jb;
    cpu->fault_jmp = &jb;
    cpu->insn_eip = cpu->eip;
    cpu->insn_esp = cpu->r[R_ESP];
    cpu->end_block = 0;
    if (setjmp(jb)) {
        cpu->eip = cpu->insn_eip;
        cpu->r[R_ESP] = cpu->insn_esp;
        int vec = cpu->last_exc;
        if (deliver)
            cpu_exception(cpu, cpu->last_exc, cpu->last_exc_err);
        cpu->fault_jmp = NULL;
        return vec;
    }
    cpu->eip = (cpu->eip + (uint32_t)l) & (cpu->code32 ? 0xffffffffu : 0xffffu);
    in.fn(cpu, &in);
    cpu->fault_jmp = NULL;
    return -1;
}

/* RUN(e, deliver, bytes...): cpu_step on the instruction bytes, for a
 * test environment `e` with members `cpu` and `phys`. */
#define RUN(e, deliver, ...)                                                  \
    ({                                                                        \
        static const uint8_t code_[] = { __VA_ARGS__ };                       \
        cpu_step(&(e)->cpu, &(e)->phys, code_, (int)sizeof code_, (deliver)); \
    })

#endif
