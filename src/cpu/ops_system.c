/* ops_system.c - system instructions: flags with privilege rules
 * (PUSHF/POPF/CLI/STI), port I/O (IN/OUT and the I/O permission checks),
 * software interrupts and IRET, far JMP/CALL/RET opcodes, segment
 * register moves and loads, HLT, the descriptor-table instructions
 * (0F 00, 0F 01, LAR, LSL, ARPL), control and debug registers, CLTS,
 * INVD/WBINVD, RDTSC, RDMSR/WRMSR, RDPMC, CPUID and SYSENTER/SYSEXIT.
 * Far transfers themselves live in ops_sys_far.c. The virtual-8086 mode
 * rules (IOPL-sensitive PUSHF, POPF and INT n, I/O always through the
 * bitmap, #UD for the descriptor instructions) are marked "V86" (v86.c). */
#include <time.h>

#include "cpu/apic.h"
#include "cpu/flags.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/operand.h"
#include "cpu/paravirt.h"
#include "cpu/seg.h"
#include "cpu/system.h"
#include "cpu/v86.h"

/* CPUID.1 EAX: family 6, model 8, stepping 3 (matches cpu.c's reset EDX). */
#define CPUID_SIGNATURE 0x00000683u
/* CPUID.1 EDX: exactly the features vsmp implements. */
#define CPUID_FPU  (1u << 0)
#define CPUID_PSE  (1u << 3)
#define CPUID_TSC  (1u << 4)
#define CPUID_MSR  (1u << 5)
#define CPUID_CX8  (1u << 8)
#define CPUID_APIC (1u << 9)     /* only with a local APIC attached */
#define CPUID_SEP  (1u << 11)
#define CPUID_PGE  (1u << 13)
#define CPUID_CMOV (1u << 15)
#define CPUID_FXSR (1u << 24)
#define CPUID_FEATURES (CPUID_FPU | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_CX8 | \
                        CPUID_SEP | CPUID_PGE | CPUID_CMOV | CPUID_FXSR)
/* CPUID.1 ECX: the TSC-deadline APIC timer (with an APIC attached) and
 * "a hypervisor is present" (the KVM leaves at 0x40000000, paravirt.h). */
#define CPUID_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_ECX_HYPERVISOR   (1u << 31)
/* CPUID.6 EAX bit 2: the APIC timer always runs (no C-state stops it). */
#define CPUID_6_ARAT (1u << 2)
/* CPUID.(7,0) EBX bit 1: IA32_TSC_ADJUST (MSR 0x3b) exists. */
#define CPUID_7_TSC_ADJUST (1u << 1)
/* CPUID.80000007 EDX bit 8: invariant TSC (constant rate, runs in every
 * C-state): the TSC counts the virtual clock at a fixed 1 GHz. */
#define CPUID_80000007_INVARIANT_TSC (1u << 8)


/* Microcode revision MSR (read by Linux with a plain RDMSR on family 6). */
#define MSR_BIOS_SIGN_ID 0x08b
#define MSR_PLATFORM_ID  0x017

static inline int iopl(const struct cpu *cpu)
{
    return (int)((cpu->eflags & F_IOPL) >> 12);
}

/* CPL 0 required (protected mode); #GP(0) otherwise. */
static void need_cpl0(struct cpu *cpu)
{
    if (cpu->pe && cpu->cpl != 0)
        cpu_raise(cpu, EXC_GP, 0);
}

/* Instructions that do not exist in real mode, nor in V86 mode (LAR,
 * LSL, ARPL, VERR, VERW, SLDT, STR, LLDT, LTR). */
static void need_pm(struct cpu *cpu)
{
    if (!cpu->pe || cpu_v86(cpu))
        cpu_raise_noerr(cpu, EXC_UD);
}

/* ---- flags ---- */

static void op_pushf(struct cpu *cpu, const struct insn *in)
{
    if (cpu_v86(cpu))
        v86_need_iopl3(cpu);
    push(cpu, osz(in), cpu->eflags & ~(F_VM | F_RF));
}

static void op_popf(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    if (cpu_v86(cpu))
        v86_need_iopl3(cpu);    /* V86, IOPL 3: as at CPL 3 = IOPL (IF, not IOPL) */
    uint32_t v = pop(cpu, size);
    uint32_t chg = F_ARITH | F_TF | F_DF | F_NT | F_AC | F_ID;
    if (!cpu->pe || cpu->cpl == 0)
        chg |= F_IOPL | F_IF;
    else if (cpu->cpl <= iopl(cpu))
        chg |= F_IF;
    /* Otherwise IF and IOPL stay as they are, silently. */
    if (size == 2)
        chg &= 0xffff;
    cpu->eflags = (cpu->eflags & ~chg) | (v & chg) | F_BIT1;
    if (size == 4)
        cpu->eflags &= ~F_RF;
    cpu->end_block = 1;     /* IF/TF may have changed */
}

static void op_cli(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    if (cpu->pe && cpu->cpl > iopl(cpu))
        cpu_raise(cpu, EXC_GP, 0);
    cpu->eflags &= ~F_IF;
}

static void op_sti(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    if (cpu->pe && cpu->cpl > iopl(cpu))
        cpu_raise(cpu, EXC_GP, 0);
    if (!(cpu->eflags & F_IF))
        cpu->inhibit_irq = 1;   /* interrupts after the next instruction */
    cpu->eflags |= F_IF;
    cpu->end_block = 1;
}

/* ---- port I/O ---- */

void io_check(struct cpu *cpu, uint16_t port, int size)
{
    /* V86: the bitmap always, whatever IOPL is */
    if (!cpu->pe || (!cpu_v86(cpu) && cpu->cpl <= iopl(cpu)))
        return;
    /* The I/O permission bitmap of the 32-bit TSS. */
    const struct segment *tr = &cpu->tr;
    unsigned type = AR_TYPE(tr->ar);
    if (!(tr->ar & AR_P) || (tr->ar & AR_S) ||
        (type != SYS_TSS32_AVAIL && type != SYS_TSS32_BUSY) || tr->limit < 0x67)
        cpu_raise(cpu, EXC_GP, 0);
    uint32_t map = lin_read_slow(cpu, tr->base + 0x66, 2, ACC_READ | ACC_SYS);
    uint32_t at = map + (port >> 3);
    if ((uint64_t)at + 1 > tr->limit)
        cpu_raise(cpu, EXC_GP, 0);
    uint32_t bits = lin_read_slow(cpu, tr->base + at, 2, ACC_READ | ACC_SYS);
    uint32_t want = ((1u << size) - 1) << (port & 7);
    if (bits & want)
        cpu_raise(cpu, EXC_GP, 0);
}

uint32_t io_in(struct cpu *cpu, uint16_t port, int size)
{
    io_check(cpu, port, size);
    if (!cpu->bus.io_in)
        return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    return cpu->bus.io_in(cpu->bus.ctx, port, size);
}

void io_out(struct cpu *cpu, uint16_t port, int size, uint32_t v)
{
    io_check(cpu, port, size);
    if (cpu->bus.io_out)
        cpu->bus.io_out(cpu->bus.ctx, port, size, v);
}

static void op_in_imm(struct cpu *cpu, const struct insn *in)
{
    int size = in->op == 0xe4 ? 1 : osz(in);
    reg_set(cpu, R_EAX, size, io_in(cpu, (uint16_t)(in->imm & 0xff), size));
}

static void op_out_imm(struct cpu *cpu, const struct insn *in)
{
    int size = in->op == 0xe6 ? 1 : osz(in);
    io_out(cpu, (uint16_t)(in->imm & 0xff), size, reg_get(cpu, R_EAX, size));
}

static void op_in_dx(struct cpu *cpu, const struct insn *in)
{
    int size = in->op == 0xec ? 1 : osz(in);
    reg_set(cpu, R_EAX, size, io_in(cpu, (uint16_t)cpu->r[R_EDX], size));
}

static void op_out_dx(struct cpu *cpu, const struct insn *in)
{
    int size = in->op == 0xee ? 1 : osz(in);
    io_out(cpu, (uint16_t)cpu->r[R_EDX], size, reg_get(cpu, R_EAX, size));
}

/* ---- interrupts ---- */

static void op_int(struct cpu *cpu, const struct insn *in)
{
    if (cpu_v86(cpu))
        v86_need_iopl3(cpu);    /* INT n only: not INT3 (CC), INTO, INT1 */
    cpu_deliver(cpu, (int)(in->imm & 0xff), false, 0, true);
}

static void op_int3(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu_deliver(cpu, EXC_BP, false, 0, true);
}

static void op_into(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    if (cpu->eflags & F_OF)
        cpu_deliver(cpu, EXC_OF, false, 0, true);
}

static void op_icebp(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu_deliver(cpu, EXC_DB, false, 0, false);   /* no gate DPL check */
}

/* CF IRET. NMI blocking ends first: every IRET ends it, even one that
 * then faults (SDM Vol. 3, "Handling Multiple NMIs"), task returns too. */
static void op_iret(struct cpu *cpu, const struct insn *in)
{
    cpu_nmi_unblock(cpu);
    iret(cpu, in->opsize);
}

static void op_hlt(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    need_cpl0(cpu);
    cpu->halted = true;
    cpu->end_block = 1;
}

/* ---- far transfers ---- */

static void op_jmp_far(struct cpu *cpu, const struct insn *in)
{
    far_jmp(cpu, (uint16_t)in->imm2, in->imm, in->opsize);
}

static void op_call_far(struct cpu *cpu, const struct insn *in)
{
    far_call(cpu, (uint16_t)in->imm2, in->imm, in->opsize);
}

static void op_retf(struct cpu *cpu, const struct insn *in)
{
    far_ret(cpu, in->opsize, in->op == 0xca ? (uint16_t)in->imm : 0);
}

/* ---- segment registers ---- */

static void op_mov_from_sreg(struct cpu *cpu, const struct insn *in)
{
    if (in->reg >= SEG_COUNT)
        cpu_raise_noerr(cpu, EXC_UD);
    uint16_t sel = cpu->seg[in->reg].sel;
    if (in->mod == 3)
        reg_set(cpu, in->rm, osz(in), sel);   /* zero-extended with 32-bit operand */
    else
        rm_set(cpu, in, 2, sel);
}

static void op_mov_to_sreg(struct cpu *cpu, const struct insn *in)
{
    if (in->reg >= SEG_COUNT || in->reg == S_CS)
        cpu_raise_noerr(cpu, EXC_UD);
    uint16_t sel = (uint16_t)rm_get(cpu, in, 2);
    seg_load(cpu, in->reg, sel);
    if (in->reg == S_SS)
        cpu->inhibit_irq = 1;
}

/* Segment register of PUSH/POP Sreg by opcode. */
static int sreg_of(uint16_t op)
{
    switch (op) {
    case 0x06: case 0x07: return S_ES;
    case 0x0e: return S_CS;
    case 0x16: case 0x17: return S_SS;
    case 0x1e: case 0x1f: return S_DS;
    case 0x1a0: case 0x1a1: return S_FS;
    default: return S_GS;
    }
}

static void op_push_sreg(struct cpu *cpu, const struct insn *in)
{
    push(cpu, osz(in), cpu->seg[sreg_of(in->op)].sel);
}

/* POP Sreg. The SDM's POP pseudo-code increments the stack pointer with
 * the StackAddrSize of the instruction, i.e. of the SS in force when it
 * started: a POP SS that loads a 32-bit SS over a 16-bit one increments
 * SP (16 bits, wrapping, upper half of ESP kept), and one that loads a
 * 16-bit SS over a 32-bit one increments all of ESP. So the new ESP is
 * computed before the load switches cpu->stack32, and committed after it
 * (the load may fault; nothing is committed then). */
static void op_pop_sreg(struct cpu *cpu, const struct insn *in)
{
    int s = sreg_of(in->op);
    int size = osz(in);
    uint32_t esp = cpu->r[R_ESP];
    uint32_t new_esp = cpu->stack32 ? esp + (uint32_t)size
                                    : (esp & 0xffff0000u) | ((esp + (uint32_t)size) & 0xffffu);
    uint16_t sel = (uint16_t)stack_peek(cpu, size, 0);
    seg_load(cpu, s, sel);
    if (s == S_SS)
        cpu->inhibit_irq = 1;
    cpu->r[R_ESP] = new_esp;
}

/* LDS/LES/LSS/LFS/LGS: far pointer from memory. */
static void op_load_far_ptr(struct cpu *cpu, const struct insn *in)
{
    if (in->mod == 3)
        cpu_raise_noerr(cpu, EXC_UD);
    int s;
    switch (in->op) {
    case 0xc4: s = S_ES; break;
    case 0xc5: s = S_DS; break;
    case 0x1b2: s = S_SS; break;
    case 0x1b4: s = S_FS; break;
    default: s = S_GS; break;
    }
    int size = osz(in);
    uint32_t ea = insn_ea(cpu, in);
    uint32_t off = mem_read(cpu, in->seg, ea, size);
    uint32_t eas = ea + (uint32_t)size;
    if (in->adsize == 16)
        eas &= 0xffff;
    uint16_t sel = mem_read16(cpu, in->seg, eas);
    seg_load(cpu, s, sel);
    reg_set(cpu, in->reg, size, off);
}

/* ---- 0F 00: SLDT STR LLDT LTR VERR VERW ---- */

/* VERR/VERW: may the current code read/write segment `sel`? */
static bool verify_seg(struct cpu *cpu, uint16_t sel, bool write)
{
    uint64_t d;
    if ((sel & 0xfffc) == 0 || !seg_desc_read(cpu, sel, &d))
        return false;
    uint16_t ar = desc_ar(d);
    if (!(ar & AR_S))
        return false;
    int dpl = AR_DPL(ar);
    bool priv_ok = dpl >= cpu->cpl && dpl >= (int)(sel & 3);
    if (write)
        return ar_writable(ar) && priv_ok;
    if (!ar_readable(ar))
        return false;
    return ar_conforming(ar) || priv_ok;
}

static void set_zf(struct cpu *cpu, bool z)
{
    if (z)
        cpu->eflags |= F_ZF;
    else
        cpu->eflags &= ~F_ZF;
}

static void op_grp6(struct cpu *cpu, const struct insn *in)
{
    need_pm(cpu);
    switch (in->reg) {
    case 0: /* SLDT */
    case 1: { /* STR */
        uint16_t sel = in->reg == 0 ? cpu->ldtr.sel : cpu->tr.sel;
        if (in->mod == 3)
            reg_set(cpu, in->rm, osz(in), sel);
        else
            rm_set(cpu, in, 2, sel);
        break;
    }
    case 2: /* LLDT */
        need_cpl0(cpu);
        seg_load_ldtr(cpu, (uint16_t)rm_get(cpu, in, 2));
        break;
    case 3: /* LTR */
        need_cpl0(cpu);
        seg_load_tr(cpu, (uint16_t)rm_get(cpu, in, 2));
        break;
    case 4: /* VERR */
    case 5: /* VERW */
        set_zf(cpu, verify_seg(cpu, (uint16_t)rm_get(cpu, in, 2), in->reg == 5));
        break;
    default:
        cpu_raise_noerr(cpu, EXC_UD);
    }
}

/* ---- control registers (shared by MOV CR, LMSW, CLTS) ---- */

static void write_cr0(struct cpu *cpu, uint32_t v)
{
    v = (v & CR0_VALID) | CR0_ET;
    if ((v & CR0_PG) && !(v & CR0_PE))
        cpu_raise(cpu, EXC_GP, 0);
    if ((v & CR0_NW) && !(v & CR0_CD))
        cpu_raise(cpu, EXC_GP, 0);
    uint32_t old = cpu->cr0;
    cpu->cr0 = v;
    if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE))
        mmu_flush(cpu);
    cpu_update_mode(cpu);
    cpu->end_block = 1;
}

static void write_cr3(struct cpu *cpu, uint32_t v)
{
    cpu->cr3 = v & 0xfffff018u;   /* page directory base, PWT, PCD */
    if (cpu->cr4 & CR4_PGE)
        mmu_flush_nonglobal(cpu);
    else
        mmu_flush(cpu);
    cpu->end_block = 1;
}

static void write_cr4(struct cpu *cpu, uint32_t v)
{
    if (v & ~CR4_VALID)
        cpu_raise(cpu, EXC_GP, 0);
    uint32_t old = cpu->cr4;
    cpu->cr4 = v;
    if ((old ^ v) & (CR4_PSE | CR4_PGE | CR4_PAE))
        mmu_flush(cpu);
    cpu->end_block = 1;
}

/* ---- 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG ---- */

static void op_grp7(struct cpu *cpu, const struct insn *in)
{
    uint32_t ea = insn_is_mem(in) ? insn_ea(cpu, in) : 0;
    switch (in->reg) {
    case 0: /* SGDT */
    case 1: { /* SIDT */
        if (in->mod == 3)
            cpu_raise_noerr(cpu, EXC_UD);
        const struct dtr *t = in->reg == 0 ? &cpu->gdtr : &cpu->idtr;
        /* Limit, then the full 32-bit base (P6 and later: also with a
         * 16-bit operand size). */
        mem_write16(cpu, in->seg, ea, t->limit);
        mem_write32(cpu, in->seg, in->adsize == 16 ? ((ea + 2) & 0xffff) : ea + 2, t->base);
        break;
    }
    case 2: /* LGDT */
    case 3: { /* LIDT */
        if (in->mod == 3)
            cpu_raise_noerr(cpu, EXC_UD);
        need_cpl0(cpu);
        uint16_t limit = mem_read16(cpu, in->seg, ea);
        uint32_t base = mem_read32(cpu, in->seg, in->adsize == 16 ? ((ea + 2) & 0xffff) : ea + 2);
        if (in->opsize == 16)
            base &= 0x00ffffffu;
        struct dtr *t = in->reg == 2 ? &cpu->gdtr : &cpu->idtr;
        t->limit = limit;
        t->base = base;
        break;
    }
    case 4: /* SMSW */
        if (in->mod == 3)
            reg_set(cpu, in->rm, osz(in), cpu->cr0);
        else
            rm_set(cpu, in, 2, cpu->cr0 & 0xffff);
        break;
    case 6: { /* LMSW: PE MP EM TS only; cannot clear PE */
        need_cpl0(cpu);
        uint32_t v = rm_get(cpu, in, 2);
        uint32_t nv = (cpu->cr0 & ~0xeu) | (v & 0xf) | (cpu->cr0 & CR0_PE);
        write_cr0(cpu, nv);
        break;
    }
    case 7: /* INVLPG */
        if (in->mod == 3)
            cpu_raise_noerr(cpu, EXC_UD);
        need_cpl0(cpu);
        mmu_invlpg(cpu, cpu->seg[in->seg].base + ea);
        cpu->end_block = 1;
        break;
    default:
        cpu_raise_noerr(cpu, EXC_UD);
    }
}

/* ---- LAR, LSL, ARPL ---- */

static void op_lar_lsl(struct cpu *cpu, const struct insn *in)
{
    need_pm(cpu);
    bool lsl = in->op == 0x103;
    uint16_t sel = (uint16_t)rm_get(cpu, in, 2);
    uint64_t d;
    bool ok = (sel & 0xfffc) != 0 && seg_desc_read(cpu, sel, &d);
    if (ok) {
        uint16_t ar = desc_ar(d);
        if (ar & AR_S) {
            if (!ar_conforming(ar))
                ok = (int)AR_DPL(ar) >= cpu->cpl && (int)AR_DPL(ar) >= (int)(sel & 3);
        } else {
            switch (AR_TYPE(ar)) {
            case SYS_TSS16_AVAIL: case SYS_LDT: case SYS_TSS16_BUSY:
            case SYS_TSS32_AVAIL: case SYS_TSS32_BUSY:
                break;
            case SYS_CALLGATE16: case SYS_TASKGATE: case SYS_CALLGATE32:
                ok = !lsl;      /* gates have access rights but no limit */
                break;
            default:
                ok = false;
            }
            ok = ok && (int)AR_DPL(ar) >= cpu->cpl && (int)AR_DPL(ar) >= (int)(sel & 3);
        }
    }
    set_zf(cpu, ok);
    if (!ok)
        return;
    if (lsl)
        reg_set(cpu, in->reg, osz(in), desc_limit(d));
    else
        reg_set(cpu, in->reg, osz(in), desc_hi(d) & 0x00f0ff00u);
}

static void op_arpl(struct cpu *cpu, const struct insn *in)
{
    need_pm(cpu);
    uint16_t dst = (uint16_t)rm_get(cpu, in, 2);
    uint16_t src = (uint16_t)reg_get(cpu, in->reg, 2);
    if ((dst & 3) < (src & 3)) {
        rm_set(cpu, in, 2, (dst & ~3u) | (src & 3u));
        set_zf(cpu, true);
    } else {
        set_zf(cpu, false);
    }
}

/* ---- CLTS, INVD, WBINVD ---- */

static void op_clts(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    need_cpl0(cpu);
    cpu->cr0 &= ~CR0_TS;
}

static void op_invd(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    need_cpl0(cpu);             /* no caches to flush */
}

/* ---- MOV CR / DR ---- */

static void op_mov_from_cr(struct cpu *cpu, const struct insn *in)
{
    uint32_t v;
    switch (in->reg) {
    case 0: v = cpu->cr0; break;
    case 2: v = cpu->cr2; break;
    case 3: v = cpu->cr3; break;
    case 4: v = cpu->cr4; break;
    default: cpu_raise_noerr(cpu, EXC_UD);
    }
    need_cpl0(cpu);
    cpu->r[in->rm] = v;
}

static void op_mov_to_cr(struct cpu *cpu, const struct insn *in)
{
    if (in->reg == 1 || in->reg > 4)
        cpu_raise_noerr(cpu, EXC_UD);
    need_cpl0(cpu);
    uint32_t v = cpu->r[in->rm];
    switch (in->reg) {
    case 0: write_cr0(cpu, v); break;
    case 2: cpu->cr2 = v; break;
    case 3: write_cr3(cpu, v); break;
    default: write_cr4(cpu, v); break;
    }
}

/* DR number after the DR4/DR5 aliases (#UD with CR4.DE). */
static int dr_index(struct cpu *cpu, int n)
{
    if (n == 4 || n == 5) {
        if (cpu->cr4 & CR4_DE)
            cpu_raise_noerr(cpu, EXC_UD);
        n += 2;
    }
    return n;
}

static void op_mov_from_dr(struct cpu *cpu, const struct insn *in)
{
    need_cpl0(cpu);
    cpu->r[in->rm] = cpu->dr[dr_index(cpu, in->reg)];
}

static void op_mov_to_dr(struct cpu *cpu, const struct insn *in)
{
    need_cpl0(cpu);
    int n = dr_index(cpu, in->reg);
    uint32_t v = cpu->r[in->rm];
    if (n == 6)
        v = (v & 0x0000e00fu) | 0xffff0ff0u;
    else if (n == 7)
        v = (v & 0xffff2fffu) | 0x400u;
    /* Breakpoints are stored only; they never trigger. */
    cpu->dr[n] = v;
}

/* ---- time stamp counter and MSRs ---- */

static uint64_t host_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cpu_clock_ns(const struct cpu *cpu)
{
    return cpu->bus.clock_ns ? cpu->bus.clock_ns(cpu->bus.ctx) : host_clock(CLOCK_MONOTONIC);
}

uint64_t cpu_wall_ns(const struct cpu *cpu)
{
    return cpu->bus.wall_ns ? cpu->bus.wall_ns(cpu->bus.ctx) : host_clock(CLOCK_REALTIME);
}

uint64_t cpu_read_tsc(const struct cpu *cpu)
{
    return cpu_clock_ns(cpu) + cpu->tsc_offset;
}

/* WRMSR IA32_TSC / IA32_TSC_ADJUST: the new offset, with the kvmclock
 * struct rewritten first (it may unwind) and the APIC's TSC-deadline
 * timer following the TSC. */
static void set_tsc_offset(struct cpu *cpu, uint64_t off)
{
    cpu_kvmclock_tsc_changed(cpu, off);
    cpu->tsc_offset = off;
    if (cpu->apic)
        apic_set_tsc_offset(cpu->apic, off);
}

static void op_rdtsc(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    if ((cpu->cr4 & CR4_TSD) && cpu->pe && cpu->cpl > 0)
        cpu_raise(cpu, EXC_GP, 0);
    uint64_t t = cpu_read_tsc(cpu);
    cpu->r[R_EAX] = (uint32_t)t;
    cpu->r[R_EDX] = (uint32_t)(t >> 32);
}

static bool pat_valid(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (unsigned)(v >> (i * 8)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

static void op_rdmsr(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    need_cpl0(cpu);
    uint64_t v;
    switch (cpu->r[R_ECX]) {
    case MSR_TSC: v = cpu_read_tsc(cpu); break;
    case MSR_PLATFORM_ID: v = 0; break;
    case MSR_APIC_BASE: v = cpu->apic ? apic_get_base(cpu->apic) : cpu->apic_base; break;
    case MSR_BIOS_SIGN_ID: v = 0; break;
    case MSR_SYSENTER_CS: v = cpu->sysenter_cs; break;
    case MSR_SYSENTER_ESP: v = cpu->sysenter_esp; break;
    case MSR_SYSENTER_EIP: v = cpu->sysenter_eip; break;
    case MSR_MISC_ENABLE: v = 1; break;     /* fast strings */
    case MSR_PAT: v = cpu->pat; break;
    case MSR_TSC_ADJUST: v = cpu->tsc_offset; break;
    case MSR_TSC_DEADLINE:
        if (!cpu->apic)
            cpu_raise(cpu, EXC_GP, 0);
        v = apic_get_tsc_deadline(cpu->apic);
        break;
    default:
        if (!paravirt_rdmsr(cpu, cpu->r[R_ECX], &v))
            cpu_raise(cpu, EXC_GP, 0);
    }
    cpu->r[R_EAX] = (uint32_t)v;
    cpu->r[R_EDX] = (uint32_t)(v >> 32);
}

static void op_wrmsr(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    need_cpl0(cpu);
    uint64_t v = ((uint64_t)cpu->r[R_EDX] << 32) | cpu->r[R_EAX];
    switch (cpu->r[R_ECX]) {
    case MSR_TSC:
        set_tsc_offset(cpu, v - cpu_clock_ns(cpu));   /* TSC_ADJUST follows */
        break;
    case MSR_TSC_ADJUST:
        set_tsc_offset(cpu, v);
        break;
    case MSR_TSC_DEADLINE:
        if (!cpu->apic)
            cpu_raise(cpu, EXC_GP, 0);
        apic_set_tsc_deadline(cpu->apic, v);
        break;
    case MSR_APIC_BASE:
        if (!cpu->apic) {
            /* No APIC attached: only the global enable bit (11) is
             * writable; the base stays at FEE00000 and the BSP bit
             * belongs to the machine. */
            if (v >> 32)
                cpu_raise(cpu, EXC_GP, 0);
            cpu->apic_base = (cpu->apic_base & ~0x800ull) | (v & 0x800ull);
            break;
        }
        /* Reserved bits (0-7, 9-10, 32-63 on a 32-bit physical address
         * CPU) fault; the BSP bit is read-only (apic_set_base keeps it). */
        if (v & ~(uint64_t)(APIC_BASE_ADDR_MASK | APIC_BASE_ENABLE | APIC_BASE_BSP))
            cpu_raise(cpu, EXC_GP, 0);
        {
            uint64_t old = apic_get_base(cpu->apic);
            apic_set_base(cpu->apic, v);
            cpu->apic_base = apic_get_base(cpu->apic);   /* kept for INIT */
            if ((old ^ cpu->apic_base) & (APIC_BASE_ADDR_MASK | APIC_BASE_ENABLE)) {
                /* The MMIO window moved or (stopped) decoding. */
                mmu_flush(cpu);
                cpu->end_block = 1;
            }
        }
        break;
    case MSR_BIOS_SIGN_ID:
        break;                              /* microcode update trigger: ignored */
    case MSR_SYSENTER_CS: cpu->sysenter_cs = (uint32_t)v & 0xffff; break;
    case MSR_SYSENTER_ESP: cpu->sysenter_esp = (uint32_t)v; break;
    case MSR_SYSENTER_EIP: cpu->sysenter_eip = (uint32_t)v; break;
    case MSR_MISC_ENABLE: break;            /* writes ignored */
    case MSR_PAT:
        if (!pat_valid(v))
            cpu_raise(cpu, EXC_GP, 0);
        cpu->pat = v;
        break;
    default:
        if (!paravirt_wrmsr(cpu, cpu->r[R_ECX], v))
            cpu_raise(cpu, EXC_GP, 0);
    }
}

static void op_rdpmc(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu_raise(cpu, EXC_GP, 0);      /* no performance counters */
}

/* ---- CPUID ---- */

static uint32_t str4(const char *s)
{
    return (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 |
           (uint32_t)(uint8_t)s[2] << 16 | (uint32_t)(uint8_t)s[3] << 24;
}

uint32_t cpu_cpuid_signature(void)
{
    return CPUID_SIGNATURE;
}

uint32_t cpu_cpuid_features(const struct cpu *cpu)
{
    return CPUID_FEATURES | (cpu->apic ? CPUID_APIC : 0);
}

/* The highest basic and extended leaves. Leaves 3-5 and 0x80000001,
 * 0x80000005-6 read as zeros (no serial number, no deterministic cache
 * parameters, no MONITOR; no extended features, no cache description). */
#define CPUID_MAX_BASIC 7u
#define CPUID_MAX_EXT   0x80000007u

/* Basic leaf `leaf` (<= CPUID_MAX_BASIC), subleaf `sub`. */
static void cpuid_basic(const struct cpu *cpu, uint32_t leaf, uint32_t sub,
                        uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    switch (leaf) {
    case 0:
        *a = CPUID_MAX_BASIC;
        *b = str4("Genu");
        *d = str4("ineI");
        *c = str4("ntel");
        break;
    case 1:
        *a = cpu_cpuid_signature();
        *c = CPUID_ECX_HYPERVISOR | (cpu->apic ? CPUID_ECX_TSC_DEADLINE : 0);
        *d = cpu_cpuid_features(cpu);
        if (cpu->apic)
            *b = (uint32_t)cpu->apic->id << 24;    /* initial APIC ID */
        break;
    case 2:
        *a = 0x00000001u;  /* one iteration, no cache descriptors */
        break;
    case 6:
        *a = cpu->apic ? CPUID_6_ARAT : 0;
        break;
    case 7:
        if (sub == 0)       /* subleaf 0: the highest subleaf is 0 */
            *b = CPUID_7_TSC_ADJUST;
        break;
    default:
        break;
    }
}

static void op_cpuid(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    /* 48-byte brand string for leaves 0x80000002..4 (NUL padded). */
    static const char brand[49] = "vsmp virtual i686 CPU";
    uint32_t leaf = cpu->r[R_EAX], sub = cpu->r[R_ECX];
    uint32_t a = 0, b = 0, c = 0, d = 0;
    if (leaf >= 0x80000000u && leaf <= CPUID_MAX_EXT) {
        if (leaf == 0x80000000u) {
            a = CPUID_MAX_EXT;
        } else if (leaf >= 0x80000002u && leaf <= 0x80000004u) {
            const char *p = brand + (leaf - 0x80000002u) * 16;
            a = str4(p);
            b = str4(p + 4);
            c = str4(p + 8);
            d = str4(p + 12);
        } else if (leaf == 0x80000007u) {
            d = CPUID_80000007_INVARIANT_TSC;
        }
    } else if (!paravirt_cpuid(leaf, &a, &b, &c, &d)) {
        if (leaf > CPUID_MAX_BASIC)
            leaf = CPUID_MAX_BASIC;   /* out of range: the highest basic leaf, as Intel does */
        cpuid_basic(cpu, leaf, sub, &a, &b, &c, &d);
    }
    cpu->r[R_EAX] = a;
    cpu->r[R_EBX] = b;
    cpu->r[R_ECX] = c;
    cpu->r[R_EDX] = d;
}

/* ---- SYSENTER / SYSEXIT ---- */

/* Flat 4 GiB segment cache with the given selector and type/DPL bits. */
static void flat_seg(struct segment *s, uint16_t sel, uint16_t ar_low)
{
    s->sel = sel;
    s->base = 0;
    s->limit = 0xffffffffu;
    s->ar = (uint16_t)(AR_G | AR_DB | AR_P | AR_S | ar_low);
    seg_refresh_fast(s);
}

static void op_sysenter(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    uint16_t cs = (uint16_t)(cpu->sysenter_cs & 0xfffc);
    if (!cpu->pe || cs == 0)
        cpu_raise(cpu, EXC_GP, 0);
    cpu->eflags &= ~(F_VM | F_IF | F_RF);
    flat_seg(&cpu->seg[S_CS], cs, 0xb);                    /* DPL 0 code, RX, accessed */
    flat_seg(&cpu->seg[S_SS], (uint16_t)(cs + 8), 0x3);    /* DPL 0 data, RW, accessed */
    cpu_update_mode(cpu);
    cpu->r[R_ESP] = cpu->sysenter_esp;
    cpu->eip = cpu->sysenter_eip;
    cpu->end_block = 1;
}

static void op_sysexit(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    uint16_t cs = (uint16_t)(cpu->sysenter_cs & 0xfffc);
    if (!cpu->pe || cpu->cpl != 0 || cs == 0)
        cpu_raise(cpu, EXC_GP, 0);
    flat_seg(&cpu->seg[S_CS], (uint16_t)((cs + 16) | 3), 0x60 | 0xb);   /* DPL 3 code */
    flat_seg(&cpu->seg[S_SS], (uint16_t)((cs + 24) | 3), 0x60 | 0x3);   /* DPL 3 data */
    cpu_update_mode(cpu);
    cpu->r[R_ESP] = cpu->r[R_ECX];
    cpu->eip = cpu->r[R_EDX];
    cpu->end_block = 1;
}

/* ---- registration ---- */

void ops_system_register(exec_fn *t)
{
    t[0x9c] = op_pushf;
    t[0x9d] = op_popf;
    t[0xfa] = op_cli;
    t[0xfb] = op_sti;
    t[0xe4] = t[0xe5] = op_in_imm;
    t[0xe6] = t[0xe7] = op_out_imm;
    t[0xec] = t[0xed] = op_in_dx;
    t[0xee] = t[0xef] = op_out_dx;
    t[0xcc] = op_int3;
    t[0xcd] = op_int;
    t[0xce] = op_into;
    t[0xf1] = op_icebp;
    t[0xcf] = op_iret;
    t[0xf4] = op_hlt;
    t[0xea] = op_jmp_far;
    t[0x9a] = op_call_far;
    t[0xca] = t[0xcb] = op_retf;
    t[0x8c] = op_mov_from_sreg;
    t[0x8e] = op_mov_to_sreg;
    t[0x06] = t[0x0e] = t[0x16] = t[0x1e] = op_push_sreg;
    t[0x100 | 0xa0] = t[0x100 | 0xa8] = op_push_sreg;
    t[0x07] = t[0x17] = t[0x1f] = op_pop_sreg;
    t[0x100 | 0xa1] = t[0x100 | 0xa9] = op_pop_sreg;
    t[0xc4] = t[0xc5] = op_load_far_ptr;
    t[0x100 | 0xb2] = t[0x100 | 0xb4] = t[0x100 | 0xb5] = op_load_far_ptr;
    t[0x100 | 0x00] = op_grp6;
    t[0x100 | 0x01] = op_grp7;
    t[0x100 | 0x02] = t[0x100 | 0x03] = op_lar_lsl;
    t[0x63] = op_arpl;
    t[0x100 | 0x06] = op_clts;
    t[0x100 | 0x08] = t[0x100 | 0x09] = op_invd;
    t[0x100 | 0x20] = op_mov_from_cr;
    t[0x100 | 0x22] = op_mov_to_cr;
    t[0x100 | 0x21] = op_mov_from_dr;
    t[0x100 | 0x23] = op_mov_to_dr;
    t[0x100 | 0x31] = op_rdtsc;
    t[0x100 | 0x30] = op_wrmsr;
    t[0x100 | 0x32] = op_rdmsr;
    t[0x100 | 0x33] = op_rdpmc;
    t[0x100 | 0xa2] = op_cpuid;
    t[0x100 | 0x34] = op_sysenter;
    t[0x100 | 0x35] = op_sysexit;
}
