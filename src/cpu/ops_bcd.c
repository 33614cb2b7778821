/* ops_bcd.c - decimal adjust instructions: DAA (27), DAS (2F), AAA (37),
 * AAS (3F), AAM (D4 ib), AAD (D5 ib).
 *
 * Defined flags follow the SDM algorithms. Undefined ones are made
 * deterministic: DAA/DAS OF = 0; AAA/AAS SF ZF PF from the final AL and
 * OF = 0; AAM/AAD OF AF CF = 0 (SF ZF PF from AL are defined). */
#include "cpu/alu.h"
#include "cpu/operand.h"

static inline uint32_t al_of(const struct cpu *cpu)
{
    return cpu->r[R_EAX] & 0xff;
}

static inline void set_al(struct cpu *cpu, uint32_t v)
{
    cpu->r[R_EAX] = (cpu->r[R_EAX] & ~0xffu) | (v & 0xff);
}

static inline void set_ax(struct cpu *cpu, uint32_t v)
{
    cpu->r[R_EAX] = (cpu->r[R_EAX] & ~0xffffu) | (v & 0xffff);
}

/* 27: DAA - adjust AL after a packed BCD addition. */
static void op_daa(struct cpu *cpu, const struct insn *in)
{
    uint32_t old_al = al_of(cpu), al = old_al, f = 0;
    int old_cf = !!(cpu->eflags & F_CF);

    (void)in;
    if ((al & 0x0f) > 9 || (cpu->eflags & F_AF)) {
        al = (al + 6) & 0xff;
        f |= F_AF;
    }
    if (old_al > 0x99 || old_cf) {
        al = (al + 0x60) & 0xff;
        f |= F_CF;
    }
    set_al(cpu, al);
    flags_set_arith(cpu, f | flags_szp(al, 1));
}

/* 2F: DAS - adjust AL after a packed BCD subtraction. Unlike DAA, CF may
 * come from the borrow of the low-nibble step. */
static void op_das(struct cpu *cpu, const struct insn *in)
{
    uint32_t old_al = al_of(cpu), al = old_al, f = 0;
    int old_cf = !!(cpu->eflags & F_CF);

    (void)in;
    if ((al & 0x0f) > 9 || (cpu->eflags & F_AF)) {
        if (old_cf || al < 6)
            f |= F_CF;
        al = (al - 6) & 0xff;
        f |= F_AF;
    }
    if (old_al > 0x99 || old_cf) {
        al = (al - 0x60) & 0xff;
        f |= F_CF;
    }
    set_al(cpu, al);
    flags_set_arith(cpu, f | flags_szp(al, 1));
}

/* 37: AAA - adjust AX after an unpacked BCD addition. Newer Intel cores
 * add 0x106 to AX as a whole (a carry out of AL reaches AH). */
static void op_aaa(struct cpu *cpu, const struct insn *in)
{
    uint32_t ax = cpu->r[R_EAX] & 0xffff, f = 0;

    (void)in;
    if ((ax & 0x0f) > 9 || (cpu->eflags & F_AF)) {
        ax += 0x106;
        f = F_AF | F_CF;
    }
    ax &= 0xff0f;
    set_ax(cpu, ax);
    flags_set_arith(cpu, f | flags_szp(ax & 0xff, 1));
}

/* 3F: AAS - adjust AX after an unpacked BCD subtraction. */
static void op_aas(struct cpu *cpu, const struct insn *in)
{
    uint32_t ax = cpu->r[R_EAX] & 0xffff, f = 0;

    (void)in;
    if ((ax & 0x0f) > 9 || (cpu->eflags & F_AF)) {
        ax -= 0x106;
        f = F_AF | F_CF;
    }
    ax &= 0xff0f;
    set_ax(cpu, ax);
    flags_set_arith(cpu, f | flags_szp(ax & 0xff, 1));
}

/* D4 ib: AAM - AH = AL / base, AL = AL % base; base 0 -> #DE. */
static void op_aam(struct cpu *cpu, const struct insn *in)
{
    uint32_t base = in->imm & 0xff, al = al_of(cpu);

    if (base == 0)
        cpu_raise_noerr(cpu, EXC_DE);
    set_ax(cpu, ((al / base) << 8) | (al % base));
    flags_set_arith(cpu, flags_logic(al % base, 1));
}

/* D5 ib: AAD - AL = (AL + AH * base) & 0xff, AH = 0. */
static void op_aad(struct cpu *cpu, const struct insn *in)
{
    uint32_t base = in->imm & 0xff;
    uint32_t ax = cpu->r[R_EAX];
    uint32_t al = ((ax & 0xff) + ((ax >> 8) & 0xff) * base) & 0xff;

    set_ax(cpu, al);
    flags_set_arith(cpu, flags_logic(al, 1));
}

void ops_bcd_register(exec_fn *t)
{
    t[0x27] = op_daa;
    t[0x2f] = op_das;
    t[0x37] = op_aaa;
    t[0x3f] = op_aas;
    t[0xd4] = op_aam;
    t[0xd5] = op_aad;
}
