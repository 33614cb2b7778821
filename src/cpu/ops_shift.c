/* ops_shift.c - shifts and rotates: group 2 (C0 C1 D0 D1 D2 D3: ROL ROR
 * RCL RCR SHL SHR SAL SAR) and the double shifts SHLD/SHRD (0F A4 A5 AC
 * AD).
 *
 * The count is masked to 5 bits; a masked count of 0 changes nothing (not
 * even flags). RCL/RCR of 8/16-bit operands rotate through 9/17 bits, so
 * their effective count is taken modulo 9/17 after the mask.
 *
 * Undefined flags are made deterministic following the Intel family-6
 * behaviour: OF as computed for the last step of the operation, AF = 0
 * after shifts, ROL/ROR update CF/OF whenever the masked count is nonzero
 * (even if it is a multiple of the operand width). */
#include "cpu/alu.h"
#include "cpu/operand.h"

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

static inline uint32_t bit_of(uint32_t v, int n)
{
    return (v >> n) & 1;
}

/* Shift/rotate `v` (a `size`-byte operand) by `count` (already masked to
 * 5 bits, nonzero). eflags: current EFLAGS (CF for RCL/RCR). Returns the
 * result; *nf receives the complete new EFLAGS value. */
static uint32_t shift_calc(int op, uint32_t v, unsigned count, int size,
                           uint32_t eflags, uint32_t *nf)
{
    const int n = size_bits(size);
    const uint32_t m = size_mask(size);
    uint32_t r, cf, of, f = eflags;

    v &= m;
    switch (op) {
    case SH_ROL: {
        unsigned c = count % n;
        r = c ? ((v << c) | (v >> (n - c))) & m : v;
        cf = r & 1;
        of = cf ^ bit_of(r, n - 1);
        f = (f & ~(F_CF | F_OF)) | (cf ? F_CF : 0) | (of ? F_OF : 0);
        *nf = f;
        return r;
    }
    case SH_ROR: {
        unsigned c = count % n;
        r = c ? ((v >> c) | (v << (n - c))) & m : v;
        cf = bit_of(r, n - 1);
        of = cf ^ bit_of(r, n - 2);
        f = (f & ~(F_CF | F_OF)) | (cf ? F_CF : 0) | (of ? F_OF : 0);
        *nf = f;
        return r;
    }
    case SH_RCL:
    case SH_RCR: {
        /* Rotate the (n+1)-bit value CF:v. */
        unsigned c = count % (unsigned)(n + 1);
        uint64_t x = ((uint64_t)(eflags & F_CF) << n) | v;
        uint64_t xm = (2ull << n) - 1;
        if (c == 0) {
            *nf = eflags;
            return v;
        }
        if (op == SH_RCL) {
            x = ((x << c) | (x >> (n + 1 - c))) & xm;
            r = (uint32_t)x & m;
            cf = (uint32_t)(x >> n) & 1;
            of = cf ^ bit_of(r, n - 1);
        } else {
            x = ((x >> c) | (x << (n + 1 - c))) & xm;
            r = (uint32_t)x & m;
            cf = (uint32_t)(x >> n) & 1;
            of = bit_of(r, n - 1) ^ bit_of(r, n - 2);
        }
        f = (f & ~(F_CF | F_OF)) | (cf ? F_CF : 0) | (of ? F_OF : 0);
        *nf = f;
        return r;
    }
    case SH_SHL:
    case SH_SAL:
        if ((int)count <= n) {
            r = (uint32_t)(((uint64_t)v << count) & m);
            cf = bit_of(v, n - (int)count);
        } else {
            r = 0;
            cf = 0;
        }
        of = cf ^ bit_of(r, n - 1);
        break;
    case SH_SHR:
        r = v >> count;                     /* count <= 31 */
        cf = bit_of(v, (int)count - 1);
        of = bit_of(r, n - 1) ^ bit_of(r, n - 2);
        break;
    default: { /* SH_SAR */
        int32_t s = size_sext(v, size);
        r = (uint32_t)(s >> count) & m;     /* arithmetic shift */
        cf = (uint32_t)(s >> (count - 1)) & 1;
        of = 0;
        break;
    }
    }
    f = (f & ~F_ARITH) | flags_szp(r, size) | (cf ? F_CF : 0) | (of ? F_OF : 0);
    *nf = f;
    return r;
}

/* Shift the r/m operand by `count` (unmasked). Count 0: nothing happens
 * beyond the operand read. */
static void shift_rm(struct cpu *cpu, const struct insn *in, int size, uint32_t count)
{
    uint32_t nf, v, r;

    count &= 31;
    v = rm_get(cpu, in, size);
    if (count == 0)
        return;
    r = shift_calc(in->reg, v, count, size, cpu->eflags, &nf);
    rm_set(cpu, in, size, r);
    cpu->eflags = nf;
}

static inline int grp2_size(const struct insn *in)
{
    return (in->op & 1) ? osz(in) : 1;
}

/* C0 C1: group 2 Eb/Ev, Ib */
static void op_grp2_imm(struct cpu *cpu, const struct insn *in)
{
    shift_rm(cpu, in, grp2_size(in), in->imm);
}

/* D0 D1: group 2 Eb/Ev, 1 */
static void op_grp2_one(struct cpu *cpu, const struct insn *in)
{
    shift_rm(cpu, in, grp2_size(in), 1);
}

/* D2 D3: group 2 Eb/Ev, CL */
static void op_grp2_cl(struct cpu *cpu, const struct insn *in)
{
    shift_rm(cpu, in, grp2_size(in), cpu->r[R_ECX] & 0xff);
}

/* Double-precision shift of dst by c (1..31) filling from src.
 * left: SHLD, else SHRD. For 16-bit operands with c > 16 the result is
 * undefined; we shift the 48-bit pattern dst:src:dst (SHLD) or
 * dst:src:dst seen from the right (SHRD), as Intel P6-family cores do. */
static uint32_t shd_calc(int left, uint32_t dst, uint32_t src, unsigned c, int size,
                         uint32_t eflags, uint32_t *nf)
{
    uint32_t r, cf, of;

    if (size == 4) {
        if (left) {
            r = (dst << c) | (src >> (32 - c));
            cf = bit_of(dst, 32 - (int)c);
            of = cf ^ bit_of(r, 31);
        } else {
            r = (dst >> c) | (src << (32 - c));
            cf = bit_of(dst, (int)c - 1);
            of = bit_of(r, 31) ^ bit_of(r, 30);
        }
    } else {
        uint64_t x;
        dst &= 0xffff;
        src &= 0xffff;
        if (left) {
            x = ((uint64_t)dst << 32) | ((uint64_t)src << 16) | dst;  /* dst:src:dst */
            r = (uint32_t)(x >> (32 - c)) & 0xffff;
            cf = (uint32_t)(x >> (48 - c)) & 1;
            of = cf ^ bit_of(r, 15);
        } else {
            x = ((uint64_t)dst << 32) | ((uint64_t)src << 16) | dst;  /* dst:src:dst */
            r = (uint32_t)(x >> c) & 0xffff;
            cf = (uint32_t)(x >> (c - 1)) & 1;
            of = bit_of(r, 15) ^ bit_of(r, 14);
        }
    }
    *nf = (eflags & ~F_ARITH) | flags_szp(r, size) | (cf ? F_CF : 0) | (of ? F_OF : 0);
    return r;
}

/* 0F A4 SHLD Ev,Gv,Ib; 0F A5 SHLD Ev,Gv,CL; 0F AC/AD SHRD likewise. */
static void op_shd(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    int left = (in->op & 0xff) < 0xa8;
    uint32_t count = ((in->op & 1) ? cpu->r[R_ECX] : in->imm) & 31;
    uint32_t nf, dst, src, r;

    dst = rm_get(cpu, in, size);
    if (count == 0)
        return;
    src = reg_get(cpu, in->reg, size);
    r = shd_calc(left, dst, src, count, size, cpu->eflags, &nf);
    rm_set(cpu, in, size, r);
    cpu->eflags = nf;
}

void ops_shift_register(exec_fn *t)
{
    t[0xc0] = op_grp2_imm;
    t[0xc1] = op_grp2_imm;
    t[0xd0] = op_grp2_one;
    t[0xd1] = op_grp2_one;
    t[0xd2] = op_grp2_cl;
    t[0xd3] = op_grp2_cl;
    t[0x100 | 0xa4] = op_shd;
    t[0x100 | 0xa5] = op_shd;
    t[0x100 | 0xac] = op_shd;
    t[0x100 | 0xad] = op_shd;
}
