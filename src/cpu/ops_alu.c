/* ops_alu.c - integer arithmetic and logic instructions: ADD OR ADC SBB AND
 * SUB XOR CMP in all their forms (00-3D, group 1 80-83), INC/DEC reg
 * (40-4F), TEST (84/85, A8/A9), the flag instructions CMC CLC STC CLD STD,
 * and CMPXCHG, XADD, CMPXCHG8B (0F B0/B1, 0F C0/C1, 0F C7 /1).
 *
 * Group 3 (F6/F7: TEST NOT NEG MUL IMUL DIV IDIV) is in ops_muldiv.c and
 * INC/DEC r/m (FE/FF) in ops_branch.c; both use the helpers of alu.h.
 *
 * Memory destinations follow read, compute, write, then commit flags and
 * registers, so a faulting write leaves EFLAGS and registers untouched. */
#include "cpu/alu.h"
#include "cpu/operand.h"

/* Size in bytes of an operand: byte form when bit 0 of the opcode is clear
 * (the convention of all the opcodes in this file that have both forms). */
static inline int opsz_w(const struct insn *in)
{
    return (in->op & 1) ? osz(in) : 1;
}

/* Apply ALU operation `op` to the r/m operand with source `src`,
 * storing the result unless the operation is CMP. */
static void alu_rm(struct cpu *cpu, const struct insn *in, int op, uint32_t src, int size)
{
    uint32_t nf;
    uint32_t dst = op == ALU_CMP ? rm_get(cpu, in, size) : rm_get_rmw(cpu, in, size);
    uint32_t r = alu_calc(op, dst, src, size, cpu->eflags, &nf);
    if (op != ALU_CMP)
        rm_set(cpu, in, size, r);
    flags_set_arith(cpu, nf);
}

/* 00 01 08 09 ... 38 39: OP Eb/Ev, Gb/Gv */
static void op_alu_e_g(struct cpu *cpu, const struct insn *in)
{
    int size = opsz_w(in);
    alu_rm(cpu, in, (in->op >> 3) & 7, reg_get(cpu, in->reg, size), size);
}

/* 02 03 0A 0B ... 3A 3B: OP Gb/Gv, Eb/Ev */
static void op_alu_g_e(struct cpu *cpu, const struct insn *in)
{
    int size = opsz_w(in), op = (in->op >> 3) & 7;
    uint32_t src = rm_get(cpu, in, size);
    uint32_t r = alu_binop(cpu, op, reg_get(cpu, in->reg, size), src, size);
    if (op != ALU_CMP)
        reg_set(cpu, in->reg, size, r);
}

/* 04 05 0C 0D ... 3C 3D: OP AL/eAX, Ib/Iv */
static void op_alu_a_i(struct cpu *cpu, const struct insn *in)
{
    int size = opsz_w(in), op = (in->op >> 3) & 7;
    uint32_t r = alu_binop(cpu, op, reg_get(cpu, R_EAX, size), in->imm, size);
    if (op != ALU_CMP)
        reg_set(cpu, R_EAX, size, r);
}

/* 80 81 82 83: group 1, OP Eb/Ev, Ib/Iv/Ib(sign-extended). 82 is 80. */
static void op_grp1(struct cpu *cpu, const struct insn *in)
{
    int size = (in->op == 0x81 || in->op == 0x83) ? osz(in) : 1;
    alu_rm(cpu, in, in->reg, in->imm & size_mask(size), size);
}

/* 40-47 INC reg, 48-4F DEC reg (CF preserved). */
static void op_incdec_reg(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in), r = in->op & 7;
    uint32_t v = reg_get(cpu, r, size);
    v = (in->op & 8) ? alu_dec(cpu, v, size) : alu_inc(cpu, v, size);
    reg_set(cpu, r, size, v);
}

/* 84 85: TEST Eb/Ev, Gb/Gv */
static void op_test_e_g(struct cpu *cpu, const struct insn *in)
{
    int size = opsz_w(in);
    uint32_t v = rm_get(cpu, in, size) & reg_get(cpu, in->reg, size);
    flags_set_arith(cpu, flags_logic(v, size));
}

/* A8 A9: TEST AL/eAX, Ib/Iv */
static void op_test_a_i(struct cpu *cpu, const struct insn *in)
{
    int size = opsz_w(in);
    uint32_t v = reg_get(cpu, R_EAX, size) & in->imm;
    flags_set_arith(cpu, flags_logic(v, size));
}

/* F5 CMC, F8 CLC, F9 STC, FC CLD, FD STD */
static void op_cmc(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu->eflags ^= F_CF;
}

static void op_clc(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu->eflags &= ~F_CF;
}

static void op_stc(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu->eflags |= F_CF;
}

static void op_cld(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu->eflags &= ~F_DF;
}

static void op_std(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu->eflags |= F_DF;
}

/* 0F B0 0F B1: CMPXCHG Eb/Ev, Gb/Gv. Compare the accumulator with the
 * destination (flags as CMP acc, dest). Equal: dest = src. Not equal:
 * acc = dest, and the destination is written back with its own value
 * (the hardware always writes, so a read-only page faults either way). */
static void op_cmpxchg(struct cpu *cpu, const struct insn *in)
{
    int size = (in->op & 1) ? osz(in) : 1;
    uint32_t nf;
    uint32_t dst = rm_get_rmw(cpu, in, size);
    uint32_t acc = reg_get(cpu, R_EAX, size);

    alu_calc(ALU_CMP, acc, dst, size, cpu->eflags, &nf);
    if (acc == dst) {
        rm_set(cpu, in, size, reg_get(cpu, in->reg, size));
    } else {
        rm_set(cpu, in, size, dst);
        reg_set(cpu, R_EAX, size, dst);
    }
    flags_set_arith(cpu, nf);
}

/* 0F C0 0F C1: XADD Eb/Ev, Gb/Gv: temp = dest + src; src = dest;
 * dest = temp (so with the same register for both, it holds the sum). */
static void op_xadd(struct cpu *cpu, const struct insn *in)
{
    int size = (in->op & 1) ? osz(in) : 1;
    uint32_t nf;
    uint32_t dst = rm_get_rmw(cpu, in, size);
    uint32_t src = reg_get(cpu, in->reg, size);
    uint32_t sum = alu_calc(ALU_ADD, dst, src, size, cpu->eflags, &nf);

    if (in->mod == 3) {
        reg_set(cpu, in->reg, size, dst);
        reg_set(cpu, in->rm, size, sum);
    } else {
        rm_set(cpu, in, size, sum);     /* may fault: registers untouched */
        reg_set(cpu, in->reg, size, dst);
    }
    flags_set_arith(cpu, nf);
}

/* 0F C7: group 9. Only /1 CMPXCHG8B m64 exists on the i686; a register
 * operand or any other /digit is #UD. Compare EDX:EAX with m64: equal ->
 * ZF=1, m64 = ECX:EBX; else ZF=0, EDX:EAX = m64 (and m64 is written back
 * unchanged). Only ZF changes. */
static void op_grp9(struct cpu *cpu, const struct insn *in)
{
    uint32_t ea;
    uint64_t m, cmp;

    if (in->reg != 1 || in->mod == 3)
        cpu_raise_noerr(cpu, EXC_UD);
    ea = insn_ea(cpu, in);
    m = mem_read64_rmw(cpu, in->seg, ea);
    cmp = ((uint64_t)cpu->r[R_EDX] << 32) | cpu->r[R_EAX];
    if (m == cmp) {
        mem_write64(cpu, in->seg, ea, ((uint64_t)cpu->r[R_ECX] << 32) | cpu->r[R_EBX]);
        cpu->eflags |= F_ZF;
    } else {
        mem_write64(cpu, in->seg, ea, m);
        cpu->r[R_EAX] = (uint32_t)m;
        cpu->r[R_EDX] = (uint32_t)(m >> 32);
        cpu->eflags &= ~F_ZF;
    }
}

void ops_alu_register(exec_fn *t)
{
    for (int op = 0; op < 8; op++) {
        int base = op << 3;
        t[base + 0] = op_alu_e_g;
        t[base + 1] = op_alu_e_g;
        t[base + 2] = op_alu_g_e;
        t[base + 3] = op_alu_g_e;
        t[base + 4] = op_alu_a_i;
        t[base + 5] = op_alu_a_i;
    }
    for (int i = 0x40; i <= 0x4f; i++)
        t[i] = op_incdec_reg;
    for (int i = 0x80; i <= 0x83; i++)
        t[i] = op_grp1;
    t[0x84] = op_test_e_g;
    t[0x85] = op_test_e_g;
    t[0xa8] = op_test_a_i;
    t[0xa9] = op_test_a_i;
    t[0xf5] = op_cmc;
    t[0xf8] = op_clc;
    t[0xf9] = op_stc;
    t[0xfc] = op_cld;
    t[0xfd] = op_std;
    t[0x100 | 0xb0] = op_cmpxchg;
    t[0x100 | 0xb1] = op_cmpxchg;
    t[0x100 | 0xc0] = op_xadd;
    t[0x100 | 0xc1] = op_xadd;
    t[0x100 | 0xc7] = op_grp9;
}
