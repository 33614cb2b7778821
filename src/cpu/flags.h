/* flags.h - EFLAGS arithmetic: the condition codes (Jcc/SETcc/CMOVcc),
 * parity, and the flag results of the ALU operations. Flags are
 * kept eagerly in cpu->eflags. */
#ifndef VSMP_FLAGS_H
#define VSMP_FLAGS_H

#include "cpu/cpu.h"

static inline int parity8(uint32_t v)
{
    return !__builtin_parity(v & 0xff);
}

/* Evaluate condition code cc (low nibble of Jcc/SETcc/CMOVcc). */
static inline int cond_eval(uint32_t f, int cc)
{
    int r;
    switch (cc >> 1) {
    case 0: r = !!(f & F_OF); break;                          /* O */
    case 1: r = !!(f & F_CF); break;                          /* B */
    case 2: r = !!(f & F_ZF); break;                          /* Z */
    case 3: r = !!(f & (F_CF | F_ZF)); break;                 /* BE */
    case 4: r = !!(f & F_SF); break;                          /* S */
    case 5: r = !!(f & F_PF); break;                          /* P */
    case 6: r = !!(f & F_SF) != !!(f & F_OF); break;          /* L */
    default: r = (f & F_ZF) || (!!(f & F_SF) != !!(f & F_OF)); break; /* LE */
    }
    return r ^ (cc & 1);
}

/* Replace the arithmetic flags (F_ARITH) with `nf`. */
static inline void flags_set_arith(struct cpu *cpu, uint32_t nf)
{
    cpu->eflags = (cpu->eflags & ~F_ARITH) | (nf & F_ARITH);
}

/* Flag results of ALU operations on `size`-byte operands. Each returns
 * the new F_ARITH bits; callers merge them with flags_set_arith. Inline:
 * they are on the interpreter's hottest path. */
/* All-ones mask and sign bit of a `size`-byte operand. */
static inline uint32_t flags_mask_of(int size)
{
    return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static inline uint32_t flags_sign_of(int size)
{
    return 1u << (size * 8 - 1);
}

/* SF, ZF and PF of a result (PF looks at the low byte only). */
static inline uint32_t flags_szp(uint32_t res, int size)
{
    uint32_t f = 0;
    res &= flags_mask_of(size);
    if (res == 0)
        f |= F_ZF;
    if (res & flags_sign_of(size))
        f |= F_SF;
    if (parity8(res))
        f |= F_PF;
    return f;
}

/* AND/OR/XOR/TEST: CF = OF = AF = 0 (AF is undefined; Intel clears it). */
static inline uint32_t flags_logic(uint32_t res, int size)
{
    return flags_szp(res, size);
}

/* res = a + b + carry_in (truncated to size). */
static inline uint32_t flags_add(uint32_t a, uint32_t b, uint32_t carry_in, uint32_t res, int size)
{
    uint32_t m = flags_mask_of(size), s = flags_sign_of(size);
    uint64_t wide;
    uint32_t f;

    a &= m;
    b &= m;
    res &= m;
    f = flags_szp(res, size);
    /* Carry out of the top bit: the bit just above the operand. */
    wide = (uint64_t)a + b + (carry_in ? 1 : 0);
    if ((wide >> (size * 8)) & 1)
        f |= F_CF;
    /* Carry out of bit 3. */
    if ((a ^ b ^ res) & 0x10)
        f |= F_AF;
    /* Signed overflow: both inputs have the same sign and it differs from
     * the result's. */
    if ((a ^ res) & (b ^ res) & s)
        f |= F_OF;
    return f;
}

/* res = a - b - borrow_in (truncated to size). */
static inline uint32_t flags_sub(uint32_t a, uint32_t b, uint32_t borrow_in, uint32_t res, int size)
{
    uint32_t m = flags_mask_of(size), s = flags_sign_of(size);
    uint32_t f;

    a &= m;
    b &= m;
    res &= m;
    f = flags_szp(res, size);
    /* Borrow into the top bit: a < b + borrow_in as unsigned numbers. */
    if ((uint64_t)a < (uint64_t)b + (borrow_in ? 1 : 0))
        f |= F_CF;
    /* Borrow from bit 4 into bit 3. */
    if ((a ^ b ^ res) & 0x10)
        f |= F_AF;
    /* Signed overflow: inputs of different signs and the result's sign
     * differs from the minuend's. */
    if ((a ^ b) & (a ^ res) & s)
        f |= F_OF;
    return f;
}

#endif
