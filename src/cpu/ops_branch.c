/* ops_branch.c - near control flow: Jcc, JMP, CALL, RET, LOOP/LOOPcc,
 * JCXZ/JECXZ, and the FE/FF groups (INC/DEC, indirect and far CALL/JMP,
 * PUSH Ev).
 *
 * A near branch target is masked to 16 bits under a 16-bit operand size
 * and must lie within the CS limit (#GP(0) otherwise). Registers are
 * committed only after everything that can fault (limit check, stack
 * write) has succeeded. */
#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/operand.h"
#include "cpu/system.h"

/* Validate a near branch target: mask to the operand size, check the CS
 * limit. Returns the new EIP (does not set it). */
static inline uint32_t near_target(struct cpu *cpu, const struct insn *in, uint32_t t)
{
    if (in->opsize == 16)
        t &= 0xffff;
    if (unlikely(t > cpu->seg[S_CS].limit))
        cpu_raise(cpu, EXC_GP, 0);
    return t;
}

/* Count register (CX or ECX) by address size. */
static inline uint32_t count_mask(const struct insn *in)
{
    return in->adsize == 16 ? 0xffffu : 0xffffffffu;
}

/* 70-7F Jcc rel8, 0F 80-8F Jcc rel16/32 */
static void op_jcc(struct cpu *cpu, const struct insn *in)
{
    if (cond_eval(cpu->eflags, in->op & 0xf))
        cpu->eip = near_target(cpu, in, cpu->eip + in->imm);
}

/* EB JMP rel8, E9 JMP rel16/32 */
static void op_jmp_rel(struct cpu *cpu, const struct insn *in)
{
    cpu->eip = near_target(cpu, in, cpu->eip + in->imm);
}

/* E8 CALL rel16/32: check the target, push the return address, jump. */
static void op_call_rel(struct cpu *cpu, const struct insn *in)
{
    uint32_t t = near_target(cpu, in, cpu->eip + in->imm);
    push(cpu, osz(in), cpu->eip);
    cpu->eip = t;
}

/* Common part of C3 RET / C2 RET Iw: pop the return address, then release
 * `extra` more bytes of stack. */
static inline void do_ret(struct cpu *cpu, const struct insn *in, uint32_t extra)
{
    int size = osz(in);
    uint32_t sp = sp_get(cpu);
    uint32_t t = near_target(cpu, in, mem_read(cpu, S_SS, sp, size));
    sp_set(cpu, sp + size + extra);
    cpu->eip = t;
}

/* C3 RET */
static void op_ret(struct cpu *cpu, const struct insn *in)
{
    do_ret(cpu, in, 0);
}

/* C2 RET Iw */
static void op_ret_imm(struct cpu *cpu, const struct insn *in)
{
    do_ret(cpu, in, in->imm & 0xffff);
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP: decrement (E)CX (by address size), branch
 * when it is not zero (and ZF matches for LOOPcc). */
static void op_loop(struct cpu *cpu, const struct insn *in)
{
    uint32_t m = count_mask(in);
    uint32_t c = (cpu->r[R_ECX] - 1) & m;
    int take = c != 0;
    if (in->op == 0xe0)
        take = take && !(cpu->eflags & F_ZF);
    else if (in->op == 0xe1)
        take = take && (cpu->eflags & F_ZF);
    uint32_t t = cpu->eip;
    if (take)
        t = near_target(cpu, in, cpu->eip + in->imm);
    cpu->r[R_ECX] = (cpu->r[R_ECX] & ~m) | c;
    cpu->eip = t;
}

/* E3 JCXZ / JECXZ (count register by address size) */
static void op_jcxz(struct cpu *cpu, const struct insn *in)
{
    if ((cpu->r[R_ECX] & count_mask(in)) == 0)
        cpu->eip = near_target(cpu, in, cpu->eip + in->imm);
}

/* INC/DEC of the `size`-byte r/m operand: all arithmetic flags but CF
 * change. The flags are committed after the (possibly faulting) write. */
static void do_incdec(struct cpu *cpu, const struct insn *in, int size, int dec)
{
    uint32_t v = rm_get_rmw(cpu, in, size);
    uint32_t r, f;
    if (dec) {
        r = v - 1;
        f = flags_sub(v, 1, 0, r, size);
    } else {
        r = v + 1;
        f = flags_add(v, 1, 0, r, size);
    }
    rm_set(cpu, in, size, r);
    flags_set_arith(cpu, (f & ~F_CF) | (cpu->eflags & F_CF));
}

/* FE group: /0 INC Eb, /1 DEC Eb, others #UD. */
static void op_grp4(struct cpu *cpu, const struct insn *in)
{
    if (in->reg > 1)
        cpu_raise_noerr(cpu, EXC_UD);
    do_incdec(cpu, in, 1, in->reg);
}

/* Far pointer m16:16 / m16:32 at the memory operand: offset then selector. */
static void read_farptr(struct cpu *cpu, const struct insn *in, uint16_t *sel, uint32_t *off)
{
    int size = osz(in);
    uint32_t ea = insn_ea(cpu, in);
    *off = mem_read(cpu, in->seg, ea, size);
    *sel = mem_read16(cpu, in->seg, ea + size);
}

/* FF group: /0 INC Ev, /1 DEC Ev, /2 CALL Ev, /3 CALL Mp, /4 JMP Ev,
 * /5 JMP Mp, /6 PUSH Ev, /7 #UD. */
static void op_grp5(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    uint32_t v, t;
    uint16_t sel;
    switch (in->reg) {
    case 0:
    case 1:
        do_incdec(cpu, in, size, in->reg);
        break;
    case 2: /* CALL near indirect */
        t = near_target(cpu, in, rm_get(cpu, in, size));
        push(cpu, size, cpu->eip);
        cpu->eip = t;
        break;
    case 3: /* CALL far indirect */
        if (!insn_is_mem(in))
            cpu_raise_noerr(cpu, EXC_UD);
        read_farptr(cpu, in, &sel, &v);
        far_call(cpu, sel, v, in->opsize);
        break;
    case 4: /* JMP near indirect */
        cpu->eip = near_target(cpu, in, rm_get(cpu, in, size));
        break;
    case 5: /* JMP far indirect */
        if (!insn_is_mem(in))
            cpu_raise_noerr(cpu, EXC_UD);
        read_farptr(cpu, in, &sel, &v);
        far_jmp(cpu, sel, v, in->opsize);
        break;
    case 6: /* PUSH Ev: the operand is read with the old ESP */
        push(cpu, size, rm_get(cpu, in, size));
        break;
    default:
        cpu_raise_noerr(cpu, EXC_UD);
    }
}

void ops_branch_register(exec_fn *t)
{
    for (int i = 0; i < 16; i++) {
        t[0x70 + i] = op_jcc;
        t[0x180 + i] = op_jcc;
    }
    t[0xeb] = op_jmp_rel;
    t[0xe9] = op_jmp_rel;
    t[0xe8] = op_call_rel;
    t[0xc3] = op_ret;
    t[0xc2] = op_ret_imm;
    t[0xe0] = op_loop;
    t[0xe1] = op_loop;
    t[0xe2] = op_loop;
    t[0xe3] = op_jcxz;
    t[0xfe] = op_grp4;
    t[0xff] = op_grp5;
}
