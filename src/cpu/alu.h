/* alu.h - integer ALU helpers shared by the handler files: operand-size
 * masks, the eight classic binary operations (ADD OR ADC SBB AND SUB XOR
 * CMP), INC/DEC and NEG.
 *
 * Two flavours of each operation:
 *  - alu_*_calc() is pure: it takes the current EFLAGS (for the carry in)
 *    and returns the result plus the new F_ARITH bits in *nf. Use it for
 *    memory destinations: write the result first (the write may fault),
 *    then commit the flags with flags_set_arith(cpu, nf).
 *  - alu_binop()/alu_inc()/alu_dec()/alu_neg() update cpu->eflags at once:
 *    fine for register destinations. */
#ifndef VSMP_ALU_H
#define VSMP_ALU_H

#include "cpu/cpu.h"
#include "cpu/flags.h"

/* Operation numbers: the /digit of group 1 and bits 5..3 of 00-3F. */
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

/* All-ones mask, sign bit and bit count of a `size`-byte operand. */
static inline uint32_t size_mask(int size)
{
    return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static inline uint32_t size_sign(int size)
{
    return 1u << (size * 8 - 1);
}

static inline int size_bits(int size)
{
    return size * 8;
}

/* Sign-extend a `size`-byte value to 32 bits. */
static inline int32_t size_sext(uint32_t v, int size)
{
    switch (size) {
    case 1: return (int8_t)v;
    case 2: return (int16_t)v;
    default: return (int32_t)v;
    }
}

/* a OP b on `size`-byte operands. eflags: current EFLAGS (CF for ADC/SBB).
 * Returns the result (CMP: the result of the subtraction; callers do not
 * store it) and the new arithmetic flags in *nf. */
static inline uint32_t alu_calc(int op, uint32_t a, uint32_t b, int size,
                                uint32_t eflags, uint32_t *nf)
{
    uint32_t m = size_mask(size), cin = eflags & F_CF, r;

    a &= m;
    b &= m;
    switch (op & 7) {
    case ALU_ADD:
        r = (a + b) & m;
        *nf = flags_add(a, b, 0, r, size);
        break;
    case ALU_ADC:
        r = (a + b + cin) & m;
        *nf = flags_add(a, b, cin, r, size);
        break;
    case ALU_SBB:
        r = (a - b - cin) & m;
        *nf = flags_sub(a, b, cin, r, size);
        break;
    case ALU_SUB:
    case ALU_CMP:
        r = (a - b) & m;
        *nf = flags_sub(a, b, 0, r, size);
        break;
    case ALU_OR:
        r = a | b;
        *nf = flags_logic(r, size);
        break;
    case ALU_AND:
        r = a & b;
        *nf = flags_logic(r, size);
        break;
    default: /* ALU_XOR */
        r = a ^ b;
        *nf = flags_logic(r, size);
        break;
    }
    return r;
}

/* a OP b, updating cpu->eflags. Returns the value to store: the result,
 * or `a` (masked) for CMP. */
static inline uint32_t alu_binop(struct cpu *cpu, int op, uint32_t a, uint32_t b, int size)
{
    uint32_t nf, r = alu_calc(op, a, b, size, cpu->eflags, &nf);
    flags_set_arith(cpu, nf);
    return (op & 7) == ALU_CMP ? (a & size_mask(size)) : r;
}

/* INC/DEC: like ADD/SUB 1 but CF is preserved. */
static inline uint32_t alu_inc_calc(uint32_t v, int size, uint32_t eflags, uint32_t *nf)
{
    uint32_t m = size_mask(size), r = (v + 1) & m;
    *nf = (flags_add(v & m, 1, 0, r, size) & ~F_CF) | (eflags & F_CF);
    return r;
}

static inline uint32_t alu_dec_calc(uint32_t v, int size, uint32_t eflags, uint32_t *nf)
{
    uint32_t m = size_mask(size), r = (v - 1) & m;
    *nf = (flags_sub(v & m, 1, 0, r, size) & ~F_CF) | (eflags & F_CF);
    return r;
}

static inline uint32_t alu_inc(struct cpu *cpu, uint32_t v, int size)
{
    uint32_t nf, r = alu_inc_calc(v, size, cpu->eflags, &nf);
    flags_set_arith(cpu, nf);
    return r;
}

static inline uint32_t alu_dec(struct cpu *cpu, uint32_t v, int size)
{
    uint32_t nf, r = alu_dec_calc(v, size, cpu->eflags, &nf);
    flags_set_arith(cpu, nf);
    return r;
}

/* NEG: 0 - v; CF = (v != 0). */
static inline uint32_t alu_neg_calc(uint32_t v, int size, uint32_t *nf)
{
    uint32_t m = size_mask(size), r = (0u - v) & m;
    *nf = flags_sub(0, v & m, 0, r, size);
    return r;
}

static inline uint32_t alu_neg(struct cpu *cpu, uint32_t v, int size)
{
    uint32_t nf, r = alu_neg_calc(v, size, &nf);
    flags_set_arith(cpu, nf);
    return r;
}

#endif
