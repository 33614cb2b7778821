/* operand.h - reading and writing the operands of a decoded instruction:
 * registers by ModRM number and size, the effective address of a memory
 * operand, the r/m operand, and the stack. Shared by every handler file. */
#ifndef VSMP_OPERAND_H
#define VSMP_OPERAND_H

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"

/* Register by ModRM number. size: 1, 2 or 4 bytes. For size 1, numbers
 * 0-3 are AL CL DL BL and 4-7 are AH CH DH BH. */
static inline __attribute__((always_inline)) uint32_t reg_get(const struct cpu *cpu, int n, int size)
{
    switch (size) {
    case 1: return n < 4 ? cpu->r[n] & 0xff : (cpu->r[n - 4] >> 8) & 0xff;
    case 2: return cpu->r[n] & 0xffff;
    default: return cpu->r[n];
    }
}

static inline __attribute__((always_inline)) void reg_set(struct cpu *cpu, int n, int size, uint32_t v)
{
    switch (size) {
    case 1:
        if (n < 4)
            cpu->r[n] = (cpu->r[n] & ~0xffu) | (v & 0xff);
        else
            cpu->r[n - 4] = (cpu->r[n - 4] & ~0xff00u) | ((v & 0xff) << 8);
        break;
    case 2: cpu->r[n] = (cpu->r[n] & ~0xffffu) | (v & 0xffff); break;
    default: cpu->r[n] = v; break;
    }
}

/* Operand size in bytes of a v-sized operand (16/32) */
static inline __attribute__((always_inline)) int osz(const struct insn *in)
{
    return in->opsize >> 3;
}

/* Effective address (offset within in->seg) of the memory operand. */
static inline __attribute__((always_inline)) uint32_t insn_ea(const struct cpu *cpu, const struct insn *in)
{
    uint32_t a = in->disp;
    if (in->base != REG_NONE)
        a += cpu->r[in->base];
    if (in->index != REG_NONE)
        a += cpu->r[in->index] << in->scale;
    if (in->adsize == 16)
        a &= 0xffff;
    return a;
}

/* r/m operand of `size` bytes: a register (mod == 3) or memory. */
static inline __attribute__((always_inline)) uint32_t rm_get(struct cpu *cpu, const struct insn *in, int size)
{
    if (in->mod == 3)
        return reg_get(cpu, in->rm, size);
    return mem_read(cpu, in->seg, insn_ea(cpu, in), size);
}

/* r/m operand that the instruction then writes (mem_read_rmw). */
static inline __attribute__((always_inline)) uint32_t rm_get_rmw(struct cpu *cpu, const struct insn *in, int size)
{
    if (in->mod == 3)
        return reg_get(cpu, in->rm, size);
    return mem_read_rmw(cpu, in->seg, insn_ea(cpu, in), size);
}

static inline __attribute__((always_inline)) void rm_set(struct cpu *cpu, const struct insn *in, int size, uint32_t v)
{
    if (in->mod == 3)
        reg_set(cpu, in->rm, size, v);
    else
        mem_write(cpu, in->seg, insn_ea(cpu, in), size, v);
}

/* ---- stack ---- */
static inline __attribute__((always_inline)) uint32_t sp_get(const struct cpu *cpu)
{
    return cpu->stack32 ? cpu->r[R_ESP] : (cpu->r[R_ESP] & 0xffff);
}

static inline __attribute__((always_inline)) void sp_set(struct cpu *cpu, uint32_t sp)
{
    if (cpu->stack32)
        cpu->r[R_ESP] = sp;
    else
        cpu->r[R_ESP] = (cpu->r[R_ESP] & 0xffff0000u) | (sp & 0xffff);
}

/* Push/pop of `size` bytes (2 or 4). ESP changes only after the memory
 * access succeeded. */
static inline __attribute__((always_inline)) void push(struct cpu *cpu, int size, uint32_t v)
{
    uint32_t sp = (sp_get(cpu) - size) & cpu_sp_mask(cpu);
    mem_write(cpu, S_SS, sp, size, v);
    sp_set(cpu, sp);
}

static inline __attribute__((always_inline)) uint32_t pop(struct cpu *cpu, int size)
{
    uint32_t sp = sp_get(cpu);
    uint32_t v = mem_read(cpu, S_SS, sp, size);
    sp_set(cpu, sp + size);
    return v;
}

/* Read the value `size` bytes at stack offset `depth` without popping. */
static inline __attribute__((always_inline)) uint32_t stack_peek(struct cpu *cpu, int size, uint32_t depth)
{
    return mem_read(cpu, S_SS, (sp_get(cpu) + depth) & cpu_sp_mask(cpu), size);
}

#endif
