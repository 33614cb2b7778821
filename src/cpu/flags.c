/* flags.c - exact EFLAGS results (CF PF AF ZF SF OF) of the integer ALU
 * operations on 1-, 2- and 4-byte operands. Pure functions: each returns
 * the new F_ARITH bits and the caller merges them (flags_set_arith). */
#include "cpu/flags.h"

/* All-ones mask and sign bit of a `size`-byte operand. */
static inline uint32_t mask_of(int size)
{
    return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static inline uint32_t sign_of(int size)
{
    return 1u << (size * 8 - 1);
}

/* SF, ZF and PF of a result (PF looks at the low byte only). */
uint32_t flags_szp(uint32_t res, int size)
{
    uint32_t f = 0;
    res &= mask_of(size);
    if (res == 0)
        f |= F_ZF;
    if (res & sign_of(size))
        f |= F_SF;
    if (parity8(res))
        f |= F_PF;
    return f;
}

/* AND/OR/XOR/TEST: CF = OF = AF = 0 (AF is undefined; Intel clears it). */
uint32_t flags_logic(uint32_t res, int size)
{
    return flags_szp(res, size);
}

/* res = a + b + carry_in (truncated to size). */
uint32_t flags_add(uint32_t a, uint32_t b, uint32_t carry_in, uint32_t res, int size)
{
    uint32_t m = mask_of(size), s = sign_of(size);
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
uint32_t flags_sub(uint32_t a, uint32_t b, uint32_t borrow_in, uint32_t res, int size)
{
    uint32_t m = mask_of(size), s = sign_of(size);
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
