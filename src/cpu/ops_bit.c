/* ops_bit.c - bit test and scan: BT BTS BTR BTC (0F A3 AB B3 BB with a
 * register bit offset, 0F BA /4-/7 with an immediate one) and BSF/BSR
 * (0F BC/BD).
 *
 * BTx: CF = the selected bit; the other arithmetic flags are undefined
 * and left unchanged. With a register offset and a memory operand the
 * offset is a signed bit index relative to the operand's address, so it
 * can reach memory outside the operand. BSF/BSR: a zero source sets ZF
 * and leaves the destination unchanged; otherwise ZF=0 and SF PF come from
 * the index (CF OF AF cleared) - deterministic choices for undefined
 * flags. */
#include "cpu/alu.h"
#include "cpu/operand.h"

enum { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

/* Apply bit operation `kind` to bit `bit` of `v`; returns the new value
 * and sets CF in *eflags from the old bit. */
static uint32_t bit_apply(int kind, uint32_t v, unsigned bit, uint32_t *eflags)
{
    uint32_t mask = 1u << bit;

    *eflags = (*eflags & ~F_CF) | ((v & mask) ? F_CF : 0);
    switch (kind) {
    case BT_SET: return v | mask;
    case BT_RESET: return v & ~mask;
    case BT_COMPLEMENT: return v ^ mask;
    default: return v;
    }
}

/* Common body: `offset` is the bit offset as given (register or imm);
 * reg_offset: whether it came from a register (then signed and not masked
 * for memory operands). */
static void bt_common(struct cpu *cpu, const struct insn *in, int kind,
                      uint32_t offset, int reg_offset)
{
    int size = osz(in), bits = size_bits(size);
    uint32_t fl = cpu->eflags, v, nv;

    if (in->mod == 3) {
        unsigned bit = offset & (bits - 1);
        v = reg_get(cpu, in->rm, size);
        nv = bit_apply(kind, v, bit, &fl);
        if (kind != BT_TEST)
            reg_set(cpu, in->rm, size, nv);
    } else {
        uint32_t ea = insn_ea(cpu, in);
        unsigned bit;
        if (reg_offset) {
            /* Signed offset: address the operand-sized unit that holds
             * the bit (arithmetic shift = floor division). */
            int32_t off = size_sext(offset, size);
            int32_t unit = size == 2 ? (off >> 4) : (off >> 5);
            ea += (uint32_t)unit * (uint32_t)size;
            if (in->adsize == 16)
                ea &= 0xffff;
            bit = (uint32_t)off & (bits - 1);
        } else {
            bit = offset & (bits - 1);
        }
        v = kind == BT_TEST ? mem_read(cpu, in->seg, ea, size) : mem_read_rmw(cpu, in->seg, ea, size);
        nv = bit_apply(kind, v, bit, &fl);
        if (kind != BT_TEST)
            mem_write(cpu, in->seg, ea, size, nv);
    }
    cpu->eflags = fl;
}

/* 0F A3 BT, 0F AB BTS, 0F B3 BTR, 0F BB BTC: Ev, Gv */
static void op_bt_reg(struct cpu *cpu, const struct insn *in)
{
    int kind = ((in->op & 0xff) >> 3) & 3; /* A3->0, AB->1, B3->2, BB->3 */
    bt_common(cpu, in, kind, reg_get(cpu, in->reg, osz(in)), 1);
}

/* 0F BA: group 8, /4 BT /5 BTS /6 BTR /7 BTC Ev, Ib; /0-/3 #UD. */
static void op_grp8(struct cpu *cpu, const struct insn *in)
{
    if (in->reg < 4)
        cpu_raise_noerr(cpu, EXC_UD);
    bt_common(cpu, in, in->reg - 4, in->imm & 0xff, 0);
}

/* 0F BC BSF, 0F BD BSR: Gv, Ev */
static void op_bsf_bsr(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    uint32_t src = rm_get(cpu, in, size);
    uint32_t idx;

    if (src == 0) {
        cpu->eflags |= F_ZF;
        return;
    }
    if ((in->op & 0xff) == 0xbc)
        idx = (uint32_t)__builtin_ctz(src);
    else
        idx = 31u - (uint32_t)__builtin_clz(src);
    reg_set(cpu, in->reg, size, idx);
    flags_set_arith(cpu, flags_logic(idx, size) & ~F_ZF);
}

void ops_bit_register(exec_fn *t)
{
    t[0x100 | 0xa3] = op_bt_reg;
    t[0x100 | 0xab] = op_bt_reg;
    t[0x100 | 0xb3] = op_bt_reg;
    t[0x100 | 0xbb] = op_bt_reg;
    t[0x100 | 0xba] = op_grp8;
    t[0x100 | 0xbc] = op_bsf_bsr;
    t[0x100 | 0xbd] = op_bsf_bsr;
}
