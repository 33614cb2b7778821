/* ops_muldiv.c - group 3 (F6/F7: TEST NOT NEG MUL IMUL DIV IDIV), and the
 * two- and three-operand IMUL forms (0F AF, 69, 6B).
 *
 * MUL/IMUL: CF = OF = "the upper half is significant". SF ZF PF AF are
 * undefined; we compute SF ZF PF from the low half of the result (the
 * truncated destination) and clear AF, as Intel P6-family cores do.
 * DIV/IDIV: #DE on a zero divisor or a quotient that does not fit, raised
 * before any register changes. Flags are left unchanged (undefined). */
#include "cpu/alu.h"
#include "cpu/operand.h"

/* Flags of a multiplication: `lo` the truncated result, `ovf` whether the
 * full product did not fit. */
static void mul_flags(struct cpu *cpu, uint32_t lo, int size, int ovf)
{
    flags_set_arith(cpu, flags_szp(lo, size) | (ovf ? (F_CF | F_OF) : 0));
}

/* Signed product of two `size`-byte values, truncated; *ovf set when the
 * product does not fit in `size` bytes as a signed number. */
static uint32_t imul_trunc(uint32_t a, uint32_t b, int size, int *ovf)
{
    int64_t p = (int64_t)size_sext(a, size) * size_sext(b, size);
    uint32_t lo = (uint32_t)p & size_mask(size);
    *ovf = (int64_t)size_sext(lo, size) != p;
    return lo;
}

/* MUL: unsigned AL*src -> AX, AX*src -> DX:AX, EAX*src -> EDX:EAX. */
static void do_mul(struct cpu *cpu, uint32_t src, int size)
{
    uint64_t p = (uint64_t)reg_get(cpu, R_EAX, size) * (src & size_mask(size));
    uint32_t lo, hi;

    switch (size) {
    case 1:
        reg_set(cpu, R_EAX, 2, (uint32_t)p);
        lo = (uint32_t)p & 0xff;
        hi = (uint32_t)(p >> 8) & 0xff;
        break;
    case 2:
        reg_set(cpu, R_EAX, 2, (uint32_t)p);
        reg_set(cpu, R_EDX, 2, (uint32_t)(p >> 16));
        lo = (uint32_t)p & 0xffff;
        hi = (uint32_t)(p >> 16) & 0xffff;
        break;
    default:
        lo = (uint32_t)p;
        hi = (uint32_t)(p >> 32);
        cpu->r[R_EAX] = lo;
        cpu->r[R_EDX] = hi;
        break;
    }
    mul_flags(cpu, lo, size, hi != 0);
}

/* IMUL (one operand): signed, same registers as MUL. */
static void do_imul1(struct cpu *cpu, uint32_t src, int size)
{
    int64_t p = (int64_t)size_sext(reg_get(cpu, R_EAX, size), size) * size_sext(src, size);
    uint32_t lo = (uint32_t)p & size_mask(size);
    int ovf = (int64_t)size_sext(lo, size) != p;

    switch (size) {
    case 1:
        reg_set(cpu, R_EAX, 2, (uint32_t)p);
        break;
    case 2:
        reg_set(cpu, R_EAX, 2, (uint32_t)p);
        reg_set(cpu, R_EDX, 2, (uint32_t)((uint64_t)p >> 16));
        break;
    default:
        cpu->r[R_EAX] = (uint32_t)p;
        cpu->r[R_EDX] = (uint32_t)((uint64_t)p >> 32);
        break;
    }
    mul_flags(cpu, lo, size, ovf);
}

/* DIV: unsigned AX/src -> AL rem AH, DX:AX/src -> AX rem DX,
 * EDX:EAX/src -> EAX rem EDX. */
static void do_div(struct cpu *cpu, uint32_t src, int size)
{
    uint64_t n, q, r, d = src & size_mask(size);

    if (d == 0)
        cpu_raise_noerr(cpu, EXC_DE);
    switch (size) {
    case 1: n = cpu->r[R_EAX] & 0xffff; break;
    case 2: n = ((cpu->r[R_EDX] & 0xffff) << 16) | (cpu->r[R_EAX] & 0xffff); break;
    default: n = ((uint64_t)cpu->r[R_EDX] << 32) | cpu->r[R_EAX]; break;
    }
    q = n / d;
    r = n % d;
    if (q > size_mask(size))
        cpu_raise_noerr(cpu, EXC_DE);
    if (size == 1) {
        reg_set(cpu, R_EAX, 2, (uint32_t)((r << 8) | q));
    } else {
        reg_set(cpu, R_EAX, size, (uint32_t)q);
        reg_set(cpu, R_EDX, size, (uint32_t)r);
    }
}

/* IDIV: signed; the quotient truncates toward zero, the remainder has the
 * dividend's sign. */
static void do_idiv(struct cpu *cpu, uint32_t src, int size)
{
    int64_t n, d = size_sext(src, size), q, r;
    int64_t qmax = (int64_t)(size_sign(size) - 1), qmin = -qmax - 1;

    if (d == 0)
        cpu_raise_noerr(cpu, EXC_DE);
    switch (size) {
    case 1: n = (int16_t)cpu->r[R_EAX]; break;
    case 2: n = (int32_t)(((cpu->r[R_EDX] & 0xffff) << 16) | (cpu->r[R_EAX] & 0xffff)); break;
    default: n = (int64_t)(((uint64_t)cpu->r[R_EDX] << 32) | cpu->r[R_EAX]); break;
    }
    if (d == -1) {
        /* n / -1 = -n; avoid the C overflow of INT64_MIN / -1. The
         * quotient fits only if n is in (qmin, qmax+1]. */
        if (n < -qmax || n > -qmin)
            cpu_raise_noerr(cpu, EXC_DE);
        q = -n;
        r = 0;
    } else {
        q = n / d;
        r = n % d;
        if (q > qmax || q < qmin)
            cpu_raise_noerr(cpu, EXC_DE);
    }
    if (size == 1) {
        reg_set(cpu, R_EAX, 2, (((uint32_t)r & 0xff) << 8) | ((uint32_t)q & 0xff));
    } else {
        reg_set(cpu, R_EAX, size, (uint32_t)q);
        reg_set(cpu, R_EDX, size, (uint32_t)r);
    }
}

/* F6 F7: group 3. */
static void op_grp3(struct cpu *cpu, const struct insn *in)
{
    int size = (in->op & 1) ? osz(in) : 1;
    /* NOT and NEG write the operand back; the others only read it */
    uint32_t v = (in->reg == 2 || in->reg == 3) ? rm_get_rmw(cpu, in, size) : rm_get(cpu, in, size);
    uint32_t nf, r;

    switch (in->reg) {
    case 0:
    case 1: /* TEST Eb/Ev, Ib/Iv (/1 is an undocumented alias) */
        flags_set_arith(cpu, flags_logic(v & in->imm, size));
        break;
    case 2: /* NOT: no flags */
        rm_set(cpu, in, size, ~v);
        break;
    case 3: /* NEG */
        r = alu_neg_calc(v, size, &nf);
        rm_set(cpu, in, size, r);
        flags_set_arith(cpu, nf);
        break;
    case 4: do_mul(cpu, v, size); break;
    case 5: do_imul1(cpu, v, size); break;
    case 6: do_div(cpu, v, size); break;
    default: do_idiv(cpu, v, size); break;
    }
}

/* 0F AF: IMUL Gv, Ev */
static void op_imul_g_e(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in), ovf;
    uint32_t src = rm_get(cpu, in, size);
    uint32_t lo = imul_trunc(reg_get(cpu, in->reg, size), src, size, &ovf);
    reg_set(cpu, in->reg, size, lo);
    mul_flags(cpu, lo, size, ovf);
}

/* 69: IMUL Gv, Ev, Iv; 6B: IMUL Gv, Ev, Ib (imm sign-extended by the
 * decoder). */
static void op_imul_g_e_i(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in), ovf;
    uint32_t src = rm_get(cpu, in, size);
    uint32_t lo = imul_trunc(src, in->imm, size, &ovf);
    reg_set(cpu, in->reg, size, lo);
    mul_flags(cpu, lo, size, ovf);
}

void ops_muldiv_register(exec_fn *t)
{
    t[0xf6] = op_grp3;
    t[0xf7] = op_grp3;
    t[0x69] = op_imul_g_e_i;
    t[0x6b] = op_imul_g_e_i;
    t[0x100 | 0xaf] = op_imul_g_e;
}
