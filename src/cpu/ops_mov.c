/* ops_mov.c - data movement instructions: MOV (all forms), LEA, XCHG, NOP /
 * PAUSE, CBW/CWDE, CWD/CDQ, SAHF/LAHF, XLAT, SALC, MOVZX/MOVSX, CMOVcc,
 * SETcc, BSWAP, the multi-byte and hint NOPs, and BOUND.
 *
 * Every handler does its faulting memory accesses before it changes a
 * register, so an exception leaves the architectural state untouched. */
#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/operand.h"

/* ---- MOV ---- */

/* 88 MOV Eb,Gb */
static void op_mov_eb_gb(struct cpu *cpu, const struct insn *in)
{
    rm_set(cpu, in, 1, reg_get(cpu, in->reg, 1));
}

/* 89 MOV Ev,Gv */
static void op_mov_ev_gv(struct cpu *cpu, const struct insn *in)
{
    rm_set(cpu, in, osz(in), reg_get(cpu, in->reg, osz(in)));
}

/* 8A MOV Gb,Eb */
static void op_mov_gb_eb(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, in->reg, 1, rm_get(cpu, in, 1));
}

/* 8B MOV Gv,Ev */
static void op_mov_gv_ev(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, in->reg, osz(in), rm_get(cpu, in, osz(in)));
}

/* C6 /0 MOV Eb,Ib (other /digits are undefined) */
static void op_mov_eb_ib(struct cpu *cpu, const struct insn *in)
{
    if (in->reg != 0)
        cpu_raise_noerr(cpu, EXC_UD);
    rm_set(cpu, in, 1, in->imm);
}

/* C7 /0 MOV Ev,Iz */
static void op_mov_ev_iz(struct cpu *cpu, const struct insn *in)
{
    if (in->reg != 0)
        cpu_raise_noerr(cpu, EXC_UD);
    rm_set(cpu, in, osz(in), in->imm);
}

/* B0-B7 MOV r8,Ib (register number from the opcode) */
static void op_mov_r8_ib(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, in->op & 7, 1, in->imm);
}

/* B8-BF MOV r,Iv */
static void op_mov_r_iv(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, in->op & 7, osz(in), in->imm);
}

/* Offset of a moffs operand (A0-A3): the decoder stores it in disp. */
static inline uint32_t moffs(const struct insn *in)
{
    return in->adsize == 16 ? (in->disp & 0xffff) : in->disp;
}

/* A0 MOV AL,Ob */
static void op_mov_al_ob(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, R_EAX, 1, mem_read8(cpu, in->seg, moffs(in)));
}

/* A1 MOV eAX,Ov */
static void op_mov_eax_ov(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, R_EAX, osz(in), mem_read(cpu, in->seg, moffs(in), osz(in)));
}

/* A2 MOV Ob,AL */
static void op_mov_ob_al(struct cpu *cpu, const struct insn *in)
{
    mem_write8(cpu, in->seg, moffs(in), (uint8_t)cpu->r[R_EAX]);
}

/* A3 MOV Ov,eAX */
static void op_mov_ov_eax(struct cpu *cpu, const struct insn *in)
{
    mem_write(cpu, in->seg, moffs(in), osz(in), cpu->r[R_EAX]);
}

/* 8D LEA Gv,M: the offset computed with the address size, then truncated
 * to the operand size. A register operand is undefined. */
static void op_lea(struct cpu *cpu, const struct insn *in)
{
    if (!insn_is_mem(in))
        cpu_raise_noerr(cpu, EXC_UD);
    reg_set(cpu, in->reg, osz(in), insn_ea(cpu, in));
}

/* ---- XCHG ---- */

/* 86 XCHG Eb,Gb: the memory write happens before the register changes. */
static void op_xchg_eb_gb(struct cpu *cpu, const struct insn *in)
{
    uint32_t m = rm_get_rmw(cpu, in, 1);
    uint32_t r = reg_get(cpu, in->reg, 1);
    rm_set(cpu, in, 1, r);
    reg_set(cpu, in->reg, 1, m);
}

/* 87 XCHG Ev,Gv */
static void op_xchg_ev_gv(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    uint32_t m = rm_get_rmw(cpu, in, size);
    uint32_t r = reg_get(cpu, in->reg, size);
    rm_set(cpu, in, size, r);
    reg_set(cpu, in->reg, size, m);
}

/* 90 NOP (XCHG eAX,eAX). With F3, PAUSE: the guest waits in a spin loop
 * for another CPU. Like hardware's pause-loop exiting, a run of PAUSEs
 * ends the slice (cpu->pause_left, set by the run loop), so that this rank
 * serves the other ranks' requests and lets them have the host core. */
static void op_nop(struct cpu *cpu, const struct insn *in)
{
    if ((in->pfx & PFX_REP) && cpu->pause_left && --cpu->pause_left == 0) {
        cpu->pause_exit = true;
        cpu->exit_request = 1;
    }
}

/* 91-97 XCHG eAX,r */
static void op_xchg_eax_r(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in), n = in->op & 7;
    uint32_t a = reg_get(cpu, R_EAX, size);
    reg_set(cpu, R_EAX, size, reg_get(cpu, n, size));
    reg_set(cpu, n, size, a);
}

/* ---- sign extension of the accumulator ---- */

/* 98 CBW (AX = sext AL) / CWDE (EAX = sext AX) */
static void op_cbw(struct cpu *cpu, const struct insn *in)
{
    if (in->opsize == 16)
        reg_set(cpu, R_EAX, 2, (uint32_t)(int32_t)(int8_t)cpu->r[R_EAX]);
    else
        cpu->r[R_EAX] = (uint32_t)(int32_t)(int16_t)cpu->r[R_EAX];
}

/* 99 CWD (DX:AX = sext AX) / CDQ (EDX:EAX = sext EAX) */
static void op_cwd(struct cpu *cpu, const struct insn *in)
{
    if (in->opsize == 16)
        reg_set(cpu, R_EDX, 2, (cpu->r[R_EAX] & 0x8000u) ? 0xffffu : 0);
    else
        cpu->r[R_EDX] = (cpu->r[R_EAX] & 0x80000000u) ? 0xffffffffu : 0;
}

/* ---- flags <-> AH ---- */

/* Flags that SAHF loads and LAHF stores: SF ZF AF PF CF. */
#define AH_FLAGS (F_SF | F_ZF | F_AF | F_PF | F_CF)

/* 9E SAHF */
static void op_sahf(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    uint32_t ah = (cpu->r[R_EAX] >> 8) & 0xff;
    cpu->eflags = (cpu->eflags & ~AH_FLAGS) | (ah & AH_FLAGS) | F_BIT1;
}

/* 9F LAHF: AH = SF ZF 0 AF 0 PF 1 CF */
static void op_lahf(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    reg_set(cpu, 4 /* AH */, 1, (cpu->eflags & AH_FLAGS) | F_BIT1);
}

/* D7 XLAT: AL = [seg:(E)BX + AL], address computed with the address size. */
static void op_xlat(struct cpu *cpu, const struct insn *in)
{
    uint32_t off = cpu->r[R_EBX] + (cpu->r[R_EAX] & 0xff);
    if (in->adsize == 16)
        off &= 0xffff;
    reg_set(cpu, R_EAX, 1, mem_read8(cpu, in->seg, off));
}

/* D6 SALC (undocumented): AL = CF ? 0xff : 0, flags unchanged. */
static void op_salc(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    reg_set(cpu, R_EAX, 1, (cpu->eflags & F_CF) ? 0xff : 0);
}

/* ---- zero / sign extending moves ---- */

/* 0F B6 MOVZX Gv,Eb */
static void op_movzx_b(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, in->reg, osz(in), rm_get(cpu, in, 1));
}

/* 0F B7 MOVZX Gv,Ew */
static void op_movzx_w(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, in->reg, osz(in), rm_get(cpu, in, 2));
}

/* 0F BE MOVSX Gv,Eb */
static void op_movsx_b(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, in->reg, osz(in), (uint32_t)(int32_t)(int8_t)rm_get(cpu, in, 1));
}

/* 0F BF MOVSX Gv,Ew */
static void op_movsx_w(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, in->reg, osz(in), (uint32_t)(int32_t)(int16_t)rm_get(cpu, in, 2));
}

/* ---- conditional moves / sets ---- */

/* 0F 40-4F CMOVcc Gv,Ev: the source is read (and may fault) whatever the
 * condition; a false condition leaves the destination unchanged. */
static void op_cmovcc(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    uint32_t v = rm_get(cpu, in, size);
    if (cond_eval(cpu->eflags, in->op & 0xf))
        reg_set(cpu, in->reg, size, v);
}

/* 0F 90-9F SETcc Eb (the reg field is ignored) */
static void op_setcc(struct cpu *cpu, const struct insn *in)
{
    rm_set(cpu, in, 1, (uint32_t)cond_eval(cpu->eflags, in->op & 0xf));
}

/* 0F C8-CF BSWAP r32. With a 16-bit operand size the result is undefined;
 * like Intel processors we clear the low word (upper word unchanged). */
static void op_bswap(struct cpu *cpu, const struct insn *in)
{
    int n = in->op & 7;
    if (in->opsize == 16)
        cpu->r[n] &= 0xffff0000u;
    else
        cpu->r[n] = __builtin_bswap32(cpu->r[n]);
}

/* 0F 1F NOP Ev and 0F 18-1E (PREFETCHh and reserved hint NOPs): the
 * operand is decoded but never accessed, so they cannot fault. */
static void op_nop_ev(struct cpu *cpu, const struct insn *in)
{
    (void)cpu;
    (void)in;
}

/* 62 BOUND Gv,Ma: signed check of the register against the lower and
 * upper bounds stored at the memory operand; #BR when out of range. */
static void op_bound(struct cpu *cpu, const struct insn *in)
{
    if (!insn_is_mem(in))
        cpu_raise_noerr(cpu, EXC_UD);
    uint32_t ea = insn_ea(cpu, in);
    int32_t idx, lo, hi;
    if (in->opsize == 16) {
        lo = (int16_t)mem_read16(cpu, in->seg, ea);
        hi = (int16_t)mem_read16(cpu, in->seg, ea + 2);
        idx = (int16_t)cpu->r[in->reg];
    } else {
        lo = (int32_t)mem_read32(cpu, in->seg, ea);
        hi = (int32_t)mem_read32(cpu, in->seg, ea + 4);
        idx = (int32_t)cpu->r[in->reg];
    }
    if (idx < lo || idx > hi)
        cpu_raise_noerr(cpu, EXC_BR);
}

void ops_mov_register(exec_fn *t)
{
    t[0x88] = op_mov_eb_gb;
    t[0x89] = op_mov_ev_gv;
    t[0x8a] = op_mov_gb_eb;
    t[0x8b] = op_mov_gv_ev;
    t[0xc6] = op_mov_eb_ib;
    t[0xc7] = op_mov_ev_iz;
    for (int i = 0; i < 8; i++) {
        t[0xb0 + i] = op_mov_r8_ib;
        t[0xb8 + i] = op_mov_r_iv;
    }
    t[0xa0] = op_mov_al_ob;
    t[0xa1] = op_mov_eax_ov;
    t[0xa2] = op_mov_ob_al;
    t[0xa3] = op_mov_ov_eax;
    t[0x8d] = op_lea;
    t[0x86] = op_xchg_eb_gb;
    t[0x87] = op_xchg_ev_gv;
    t[0x90] = op_nop;
    for (int i = 1; i < 8; i++)
        t[0x90 + i] = op_xchg_eax_r;
    t[0x98] = op_cbw;
    t[0x99] = op_cwd;
    t[0x9e] = op_sahf;
    t[0x9f] = op_lahf;
    t[0xd7] = op_xlat;
    t[0xd6] = op_salc;
    t[0x1b6] = op_movzx_b;
    t[0x1b7] = op_movzx_w;
    t[0x1be] = op_movsx_b;
    t[0x1bf] = op_movsx_w;
    for (int i = 0; i < 16; i++) {
        t[0x140 + i] = op_cmovcc;
        t[0x190 + i] = op_setcc;
    }
    for (int i = 0; i < 8; i++)
        t[0x1c8 + i] = op_bswap;
    for (int i = 0x18; i <= 0x1f; i++)
        t[0x100 + i] = op_nop_ev;
    t[0x62] = op_bound;
}
