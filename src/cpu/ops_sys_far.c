/* ops_sys_far.c - far control transfers: far JMP and CALL (direct to a
 * code segment or through a call gate, with the stack switch and
 * parameter copy of a call to an inner privilege level), far RET (with
 * the return to an outer level) and IRET. Follows the "Operation"
 * sections of JMP, CALL, RET and IRET in the SDM, Vol. 2.
 *
 * Task switches (JMP or CALL to a TSS or a task gate, IRET with NT=1)
 * are handed to task.c. In virtual-8086 mode far JMP, CALL and RET work
 * as in real mode (on 8086 segments), and IRET in V86 mode and IRET to
 * V86 mode (VM=1 in the EFLAGS popped at CPL 0) are v86.c's. */
#include "cpu/mmu.h"
#include "cpu/operand.h"
#include "cpu/seg.h"
#include "cpu/system.h"
#include "cpu/task.h"
#include "cpu/v86.h"

static inline uint32_t sel_err(uint16_t sel)
{
    return sel & 0xfffcu;
}

/* Checks of a code segment that JMP/CALL transfer to directly (no gate):
 * raise #GP(sel) or #NP(sel). */
static void check_direct_code(struct cpu *cpu, uint16_t sel, uint16_t ar)
{
    if (!ar_is_code(ar))
        cpu_raise(cpu, EXC_GP, sel_err(sel));
    if (ar_conforming(ar)) {
        if ((int)AR_DPL(ar) > cpu->cpl)
            cpu_raise(cpu, EXC_GP, sel_err(sel));
    } else {
        if ((int)(sel & 3) > cpu->cpl || (int)AR_DPL(ar) != cpu->cpl)
            cpu_raise(cpu, EXC_GP, sel_err(sel));
    }
    if (!(ar & AR_P))
        cpu_raise(cpu, EXC_NP, sel_err(sel));
}

/* Checks of a call gate and of its target code segment; returns the
 * target descriptor, selector and offset. */
static uint64_t check_call_gate(struct cpu *cpu, uint16_t sel, uint64_t gate, uint16_t *tsel,
                                uint32_t *toff)
{
    uint16_t gar = desc_ar(gate);
    if ((int)AR_DPL(gar) < cpu->cpl || (int)AR_DPL(gar) < (int)(sel & 3))
        cpu_raise(cpu, EXC_GP, sel_err(sel));
    if (!(gar & AR_P))
        cpu_raise(cpu, EXC_NP, sel_err(sel));
    *tsel = (uint16_t)(desc_lo(gate) >> 16);
    *toff = desc_lo(gate) & 0xffff;
    if (AR_TYPE(gar) == SYS_CALLGATE32)
        *toff |= desc_hi(gate) & 0xffff0000u;
    if ((*tsel & 0xfffc) == 0)
        cpu_raise(cpu, EXC_GP, 0);
    uint64_t d = seg_desc_fetch(cpu, *tsel, EXC_GP, 0);
    uint16_t ar = desc_ar(d);
    if (!ar_is_code(ar) || (int)AR_DPL(ar) > cpu->cpl)
        cpu_raise(cpu, EXC_GP, sel_err(*tsel));
    if (!(ar & AR_P))
        cpu_raise(cpu, EXC_NP, sel_err(*tsel));
    return d;
}

/* Real-address and virtual-8086 mode: no descriptors. */
static bool far_is_real(const struct cpu *cpu)
{
    return !cpu->pe || cpu_v86(cpu);
}

/* The target offset of a far transfer in real-address or V86 mode, with
 * the SDM's check against the code segment limit (#GP(0)) - before
 * anything is pushed or loaded. */
static uint32_t far_real_off(struct cpu *cpu, uint32_t off, int opsize)
{
    if (opsize == 16)
        off &= 0xffff;
    if (cpu_v86(cpu) && off > cpu->seg[S_CS].limit)
        cpu_raise(cpu, EXC_GP, 0);
    return off;
}

static void far_real(struct cpu *cpu, uint16_t sel, uint32_t off, int opsize)
{
    off = far_real_off(cpu, off, opsize);
    seg_load_real(cpu, S_CS, sel);
    cpu->eip = off;
    cpu->end_block = 1;
}

/* Where a far JMP or CALL in protected mode goes. */
struct far_dest {
    uint16_t sel;       /* the target code segment */
    uint64_t desc;      /* its descriptor */
    uint32_t off;       /* the target offset */
    bool via_gate;      /* through the call gate `gate` */
    uint64_t gate;
    bool task;          /* a TSS or task gate: `desc` is its descriptor */
};

/* The part of far JMP and CALL in protected mode before they differ: the
 * null selector, the descriptor, and a direct code segment's checks or a
 * call gate's (a TSS or task gate: f.task, checked by task.c). */
static struct far_dest far_dest(struct cpu *cpu, uint16_t sel, uint32_t off, int opsize)
{
    if ((sel & 0xfffc) == 0)
        cpu_raise(cpu, EXC_GP, 0);
    uint64_t d = seg_desc_fetch(cpu, sel, EXC_GP, 0);
    uint16_t ar = desc_ar(d);
    struct far_dest f = { .sel = sel, .desc = d, .off = off };
    if (ar & AR_S) {
        check_direct_code(cpu, sel, ar);
        if (opsize == 16)
            f.off &= 0xffff;
        return f;
    }
    if (task_far_type(AR_TYPE(ar))) {
        f.task = true;
        return f;
    }
    if (AR_TYPE(ar) != SYS_CALLGATE16 && AR_TYPE(ar) != SYS_CALLGATE32)
        cpu_raise(cpu, EXC_GP, sel_err(sel));
    f.via_gate = true;
    f.gate = d;
    f.desc = check_call_gate(cpu, sel, d, &f.sel, &f.off);
    return f;
}

/* Through a gate at the same privilege: the target must be conforming or
 * of the current level. */
static void check_gate_same_level(struct cpu *cpu, const struct far_dest *f)
{
    uint16_t tar = desc_ar(f->desc);
    if (!ar_conforming(tar) && (int)AR_DPL(tar) != cpu->cpl)
        cpu_raise(cpu, EXC_GP, sel_err(f->sel));
}

/* Load CS:EIP from `f` (after the limit check, which comes before any
 * push of a CALL). */
static void far_enter(struct cpu *cpu, const struct far_dest *f)
{
    seg_commit(cpu, S_CS, f->sel, f->desc, cpu->cpl);
    cpu->eip = f->off;
    cpu->end_block = 1;
}

void far_jmp(struct cpu *cpu, uint16_t sel, uint32_t off, int opsize)
{
    if (far_is_real(cpu)) {
        far_real(cpu, sel, off, opsize);
        return;
    }
    struct far_dest f = far_dest(cpu, sel, off, opsize);
    if (f.task) {
        task_far(cpu, sel, f.desc, false);
        return;
    }
    if (f.via_gate)
        check_gate_same_level(cpu, &f);  /* JMP through a gate never changes level */
    if (f.off > desc_limit(f.desc))
        cpu_raise(cpu, EXC_GP, 0);
    far_enter(cpu, &f);
}

/* Push CS:EIP (`size` bytes each) on the current stack; the first write
 * is the one that faults when the stack is bad. */
static void push_return(struct cpu *cpu, int size)
{
    uint32_t mask = cpu_sp_mask(cpu);
    uint32_t sp = sp_get(cpu);
    uint32_t ret = size == 2 ? (cpu->eip & 0xffff) : cpu->eip;
    mem_write(cpu, S_SS, (sp - (uint32_t)size) & mask, size, cpu->seg[S_CS].sel);
    mem_write(cpu, S_SS, (sp - 2u * (uint32_t)size) & mask, size, ret);
    sp_set(cpu, (sp - 2u * (uint32_t)size) & mask);
}

/* CALL through a call gate to a more privileged non-conforming segment:
 * switch to the TSS stack of the target level, copy the parameters. */
static void call_gate_inner(struct cpu *cpu, uint64_t gate, uint16_t tsel, uint64_t td, uint32_t toff)
{
    int dpl = AR_DPL(desc_ar(td));
    int gsize = AR_TYPE(desc_ar(gate)) == SYS_CALLGATE32 ? 4 : 2;
    int pcount = desc_hi(gate) & 0x1f;

    uint16_t nss;
    uint32_t nesp;
    tss_read_stack(cpu, dpl, &nss, &nesp, 0);
    uint64_t sd = seg_check_ss(cpu, nss, dpl, EXC_TS, 0);
    struct segment ssc;
    seg_cache_set(&ssc, nss, sd);
    uint32_t nmask = (ssc.ar & AR_DB) ? 0xffffffffu : 0xffffu;
    uint32_t bytes = (uint32_t)(gsize * (4 + pcount));
    uint32_t nsp = ((nesp & nmask) - bytes) & nmask;
    if (!seg_range_ok(&ssc, nsp, bytes))
        cpu_raise(cpu, EXC_SS, nss & 0xfffcu);
    if (toff > desc_limit(td))
        cpu_raise(cpu, EXC_GP, 0);

    /* The frame, lowest address first: EIP, CS, parameters, ESP, SS. */
    uint32_t vals[4 + 31];
    int n = 0;
    vals[n++] = gsize == 2 ? (cpu->eip & 0xffff) : cpu->eip;
    vals[n++] = cpu->seg[S_CS].sel;
    uint32_t omask = cpu_sp_mask(cpu);
    uint32_t osp = sp_get(cpu);
    for (int i = 0; i < pcount; i++)       /* read at the old CPL */
        vals[n++] = mem_read(cpu, S_SS, (osp + (uint32_t)(i * gsize)) & omask, gsize);
    vals[n++] = gsize == 2 ? (cpu->r[R_ESP] & 0xffff) : cpu->r[R_ESP];
    vals[n++] = cpu->seg[S_SS].sel;

    lin_probe_write(cpu, ssc.base + nsp, 1, ACC_WRITE | ACC_SYS);
    lin_probe_write(cpu, ssc.base + nsp + bytes - 1, 1, ACC_WRITE | ACC_SYS);
    seg_set_accessed(cpu, nss, &sd);
    seg_set_accessed(cpu, tsel, &td);
    /* Nothing below faults. */
    for (int i = 0; i < n; i++)
        lin_write_slow(cpu, ssc.base + ((nsp + (uint32_t)(i * gsize)) & nmask), gsize, vals[i],
                       ACC_WRITE | ACC_SYS);
    seg_commit(cpu, S_SS, nss, sd, -1);
    seg_commit(cpu, S_CS, tsel, td, dpl);
    cpu->r[R_ESP] = (nesp & ~nmask) | nsp;
    cpu->eip = toff;
    cpu->end_block = 1;
}

void far_call(struct cpu *cpu, uint16_t sel, uint32_t off, int opsize)
{
    int size = opsize / 8;
    if (far_is_real(cpu)) {
        far_real_off(cpu, off, opsize);
        push_return(cpu, size);
        far_real(cpu, sel, off, opsize);
        return;
    }
    struct far_dest f = far_dest(cpu, sel, off, opsize);
    if (f.task) {
        task_far(cpu, sel, f.desc, true);
        return;
    }
    if (f.via_gate) {
        uint16_t tar = desc_ar(f.desc);
        if (!ar_conforming(tar) && (int)AR_DPL(tar) < cpu->cpl) {
            call_gate_inner(cpu, f.gate, f.sel, f.desc, f.off);
            return;
        }
        check_gate_same_level(cpu, &f);
        /* same privilege through the gate: the gate's size decides */
        size = AR_TYPE(desc_ar(f.gate)) == SYS_CALLGATE32 ? 4 : 2;
    }
    if (f.off > desc_limit(f.desc))
        cpu_raise(cpu, EXC_GP, 0);
    push_return(cpu, size);
    far_enter(cpu, &f);
}

/* Checks of the code segment a far RET or IRET returns to; returns its
 * descriptor. */
static uint64_t check_return_cs(struct cpu *cpu, uint16_t ncs)
{
    if ((ncs & 0xfffc) == 0)
        cpu_raise(cpu, EXC_GP, 0);
    uint64_t d = seg_desc_fetch(cpu, ncs, EXC_GP, 0);
    uint16_t ar = desc_ar(d);
    int rpl = ncs & 3;
    if (rpl < cpu->cpl || !ar_is_code(ar))
        cpu_raise(cpu, EXC_GP, sel_err(ncs));
    if (ar_conforming(ar) ? (int)AR_DPL(ar) > rpl : (int)AR_DPL(ar) != rpl)
        cpu_raise(cpu, EXC_GP, sel_err(ncs));
    if (!(ar & AR_P))
        cpu_raise(cpu, EXC_NP, sel_err(ncs));
    return d;
}

/* Return to an outer privilege level: pops of SS:ESP at stack offset
 * `at` were not yet done. Commits CS, SS, ESP, EIP and nulls data
 * segments the new level may not use. `flags_fn` state is done by the
 * caller before (it needs the old CPL). */
static void return_outer(struct cpu *cpu, uint16_t ncs, uint64_t cd, uint32_t neip, uint32_t at,
                         int size)
{
    uint32_t mask = cpu_sp_mask(cpu);
    uint32_t nesp = mem_read(cpu, S_SS, at & mask, size);
    uint16_t nss = (uint16_t)mem_read(cpu, S_SS, (at + (uint32_t)size) & mask, 2);
    int rpl = ncs & 3;
    uint64_t sd = seg_check_ss(cpu, nss, rpl, EXC_GP, 0);
    if (neip > desc_limit(cd))
        cpu_raise(cpu, EXC_GP, 0);
    seg_set_accessed(cpu, ncs, &cd);
    seg_set_accessed(cpu, nss, &sd);
    seg_commit(cpu, S_CS, ncs, cd, rpl);
    seg_commit(cpu, S_SS, nss, sd, -1);
    if (size == 4)
        cpu->r[R_ESP] = nesp;
    else
        cpu->r[R_ESP] = (cpu->r[R_ESP] & 0xffff0000u) | (nesp & 0xffff);
    cpu->eip = neip;
    seg_null_inner_data(cpu);
    cpu->end_block = 1;
}

void far_ret(struct cpu *cpu, int opsize, uint16_t imm)
{
    int size = opsize / 8;
    uint32_t mask = cpu_sp_mask(cpu);
    uint32_t sp = sp_get(cpu);
    uint32_t neip = mem_read(cpu, S_SS, sp, size);
    uint16_t ncs = (uint16_t)mem_read(cpu, S_SS, (sp + (uint32_t)size) & mask, 2);
    uint32_t after = sp + 2u * (uint32_t)size;      /* offset past CS:EIP */
    if (size == 2)
        neip &= 0xffff;

    if (far_is_real(cpu)) {
        far_real_off(cpu, neip, opsize);
        sp_set(cpu, after + imm);
        far_real(cpu, ncs, neip, opsize);
        return;
    }
    uint64_t d = check_return_cs(cpu, ncs);
    if ((ncs & 3) == cpu->cpl) {
        if (neip > desc_limit(d))
            cpu_raise(cpu, EXC_GP, 0);
        seg_commit(cpu, S_CS, ncs, d, cpu->cpl);
        sp_set(cpu, after + imm);
        cpu->eip = neip;
        cpu->end_block = 1;
        return;
    }
    return_outer(cpu, ncs, d, neip, after + imm, size);
    sp_set(cpu, sp_get(cpu) + imm);       /* RET imm16 also pops the outer stack */
}

/* EFLAGS after IRET: which bits the popped image may change depends on
 * the CPL (before the return) and IOPL. */
static uint32_t iret_flags(const struct cpu *cpu, uint32_t nfl, int size)
{
    uint32_t chg = F_ARITH | F_TF | F_DF | F_NT;
    if (size == 4)
        chg |= F_RF | F_AC | F_ID;
    if (cpu->cpl <= (int)((cpu->eflags & F_IOPL) >> 12))
        chg |= F_IF;
    if (cpu->cpl == 0) {
        chg |= F_IOPL;
        if (size == 4)
            chg |= F_VIF | F_VIP;
    }
    return (cpu->eflags & ~chg) | (nfl & chg) | F_BIT1;
}

void iret(struct cpu *cpu, int opsize)
{
    int size = opsize / 8;
    uint32_t mask = cpu_sp_mask(cpu);
    uint32_t sp = sp_get(cpu);

    if (cpu->pe && cpu_v86(cpu)) {
        v86_iret(cpu, opsize);           /* before NT: VM = 1 decides */
        return;
    }
    if (cpu->pe && (cpu->eflags & F_NT)) {
        /* Task return through the previous-task link (task.c). NMI
         * blocking already ended in op_iret, as for every IRET. */
        task_iret(cpu);
        return;
    }

    uint32_t neip = mem_read(cpu, S_SS, sp, size);
    uint16_t ncs = (uint16_t)mem_read(cpu, S_SS, (sp + (uint32_t)size) & mask, 2);
    uint32_t nfl = mem_read(cpu, S_SS, (sp + 2u * (uint32_t)size) & mask, size);
    uint32_t after = sp + 3u * (uint32_t)size;

    if (!cpu->pe) {
        if (neip > cpu->seg[S_CS].limit)
            cpu_raise(cpu, EXC_GP, 0);
        if (size == 4)
            cpu->eflags = (nfl & 0x257fd5u) | (cpu->eflags & 0x1a0000u) | F_BIT1;
        else
            cpu->eflags = (cpu->eflags & 0xffff0000u) | (nfl & 0x7fd5u) | F_BIT1;
        sp_set(cpu, after);
        far_real(cpu, ncs, neip, opsize);
        return;
    }
    if (size == 4 && (nfl & F_VM) && cpu->cpl == 0) {
        v86_iret_enter(cpu, neip, ncs, nfl, after);   /* return to V86 mode */
        return;
    }
    if (size == 2)
        neip &= 0xffff;
    uint64_t d = check_return_cs(cpu, ncs);
    uint32_t flags = iret_flags(cpu, nfl, size);
    if ((ncs & 3) == cpu->cpl) {
        if (neip > desc_limit(d))
            cpu_raise(cpu, EXC_GP, 0);
        seg_commit(cpu, S_CS, ncs, d, cpu->cpl);
        sp_set(cpu, after);
        cpu->eip = neip;
    } else {
        return_outer(cpu, ncs, d, neip, after, size);
    }
    cpu->eflags = flags;
    cpu->end_block = 1;
}
