/* flags.h - EFLAGS arithmetic: the condition codes (Jcc/SETcc/CMOVcc),
 * parity, and the flag results of the ALU operations (flags.c). Flags are
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

/* Flag results of ALU operations on `size`-byte operands (flags.c).
 * Each returns the new F_ARITH bits; callers merge with flags_set_arith. */
uint32_t flags_add(uint32_t a, uint32_t b, uint32_t carry_in, uint32_t res, int size);
uint32_t flags_sub(uint32_t a, uint32_t b, uint32_t borrow_in, uint32_t res, int size);
uint32_t flags_logic(uint32_t res, int size);      /* AND/OR/XOR/TEST */
uint32_t flags_szp(uint32_t res, int size);        /* just SF ZF PF */

#endif
