/* except.c - raising exceptions from instructions (cpu_raise) and
 * delivering exceptions and interrupts: real mode through the IVT,
 * protected mode through the IDT (16/32-bit interrupt and trap gates,
 * same-privilege and inner-privilege delivery with the ring stack from
 * the TSS), with the double-fault and triple-fault rules of the SDM
 * (Vol. 3, "Interrupt 8 - Double Fault Exception").
 *
 * A task gate in the IDT switches tasks (task.c), with the error code of
 * an exception pushed on the new task's stack. From virtual-8086 mode a
 * trap or interrupt gate must lead to a non-conforming DPL 0 code segment
 * (else #GP(selector)); v86.c builds that frame. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu/cpu.h"
#include "cpu/mmu.h"
#include "cpu/operand.h"
#include "cpu/seg.h"
#include "cpu/task.h"
#include "cpu/v86.h"

bool exc_has_error_code(int vector)
{
    return vector == EXC_DF || (vector >= EXC_TS && vector <= EXC_PF) || vector == EXC_AC;
}

static __attribute__((noreturn)) void unwind(struct cpu *cpu)
{
    if (!cpu->fault_jmp) {
        fprintf(stderr, "vsmp: exception %d (error %#x) raised with no handler installed\n",
                cpu->last_exc, cpu->last_exc_err);
        abort();
    }
    longjmp(*cpu->fault_jmp, 1);
}

void cpu_raise(struct cpu *cpu, int vector, uint32_t err)
{
    cpu->last_exc = vector;
    cpu->last_exc_has_err = exc_has_error_code(vector);
    cpu->last_exc_err = cpu->last_exc_has_err ? err : 0;
    unwind(cpu);
}

void cpu_raise_noerr(struct cpu *cpu, int vector)
{
    cpu->last_exc = vector;
    cpu->last_exc_err = 0;
    cpu->last_exc_has_err = false;
    unwind(cpu);
}

/* Exception classes for the double-fault rule (SDM Vol. 3 table 6-4). */
enum { CLS_BENIGN, CLS_CONTRIB, CLS_PF };

static int exc_class(int vector)
{
    switch (vector) {
    case EXC_DE: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP:
        return CLS_CONTRIB;
    case EXC_PF:
        return CLS_PF;
    default:
        return CLS_BENIGN;
    }
}

/* Does delivering this vector as an exception set RF in the pushed
 * EFLAGS image? The SDM (Vol. 3, "Instruction-Breakpoint Exception
 * Condition") pushes RF = 1 for every fault-class exception except a #DB
 * for an instruction breakpoint, and the current EFLAGS.RF for everything
 * else: traps, aborts (#DF, #MC), NMI and external interrupts, INT n /
 * INT3 / INTO (for which RF is already 0). vsmp raises no fault-class
 * #DB (debug registers never trigger), so #DB is left out. Interrupts
 * between the iterations of a REP string instruction find RF already set
 * by the string handler (ops_string.c). */
static bool exc_pushes_rf(int vector)
{
    switch (vector) {
    case EXC_DE: case EXC_BR: case EXC_UD: case EXC_NM: case EXC_TS: case EXC_NP:
    case EXC_SS: case EXC_GP: case EXC_PF: case EXC_MF: case EXC_AC: case EXC_XM:
        return true;
    default:
        return false;
    }
}

/* A fixed message for cpu->shutdown_reason (no allocation). */
static const char *triple_fault_reason(int vector)
{
    switch (vector) {
    case EXC_DE: return "triple fault (#DE while delivering #DF)";
    case EXC_TS: return "triple fault (#TS while delivering #DF)";
    case EXC_NP: return "triple fault (#NP while delivering #DF)";
    case EXC_SS: return "triple fault (#SS while delivering #DF)";
    case EXC_GP: return "triple fault (#GP while delivering #DF)";
    case EXC_PF: return "triple fault (#PF while delivering #DF)";
    default:     return "triple fault (exception while delivering #DF)";
    }
}

/* ---- real mode ---- */

static void deliver_real(struct cpu *cpu, int vector)
{
    uint32_t off = (uint32_t)vector * 4;
    if (off + 3 > cpu->idtr.limit)
        cpu_raise(cpu, EXC_GP, 0);
    uint32_t ent = lin_read_slow(cpu, cpu->idtr.base + off, 4, ACC_READ | ACC_SYS);
    uint32_t mask = cpu_sp_mask(cpu);
    uint32_t sp = sp_get(cpu);
    /* FLAGS, CS, IP: all writes before any register changes. */
    mem_write16(cpu, S_SS, (sp - 2) & mask, (uint16_t)cpu->eflags);
    mem_write16(cpu, S_SS, (sp - 4) & mask, cpu->seg[S_CS].sel);
    mem_write16(cpu, S_SS, (sp - 6) & mask, (uint16_t)cpu->eip);
    sp_set(cpu, (sp - 6) & mask);
    cpu->eflags &= ~(F_IF | F_TF | F_AC | F_RF);
    seg_load_real(cpu, S_CS, (uint16_t)(ent >> 16));
    cpu->eip = ent & 0xffff;
}

/* ---- protected mode ---- */

/* Write the n_vals values of `size` bytes of an interrupt/call frame to
 * the stack described by `ss` at offset `sp` (already the final, lowest
 * offset), vals[0] lowest. The range was checked against the limit and
 * probed, so the writes do not fault. */
static void write_frame(struct cpu *cpu, const struct segment *ss, uint32_t sp, uint32_t mask,
                        const uint32_t *vals, int n_vals, int size, int acc)
{
    for (int i = 0; i < n_vals; i++)
        lin_write_slow(cpu, ss->base + ((sp + (uint32_t)(i * size)) & mask), size, vals[i],
                       ACC_WRITE | acc);
}

/* Probe a stack range for writes so that the frame writes cannot fault. */
static void probe_frame(struct cpu *cpu, const struct segment *ss, uint32_t sp, uint32_t n, int acc)
{
    lin_probe_write(cpu, ss->base + sp, 1, ACC_WRITE | acc);
    lin_probe_write(cpu, ss->base + sp + n - 1, 1, ACC_WRITE | acc);
}

/* `rf` (F_RF or 0) is ORed into the pushed EFLAGS image (exc_pushes_rf). */
static void deliver_pm(struct cpu *cpu, int vector, bool has_err, uint32_t err, bool soft,
                       uint32_t ext, uint32_t rf)
{
    uint32_t idx = (uint32_t)vector * 8;
    uint32_t gerr = idx | 2 | ext;
    if (idx + 7 > cpu->idtr.limit)
        cpu_raise(cpu, EXC_GP, gerr);
    uint64_t g = lin_read64(cpu, cpu->idtr.base + idx, ACC_READ | ACC_SYS);
    uint16_t gar = desc_ar(g);
    int gtype = gar & 0x1f;             /* type with the S bit: must be a system gate */
    if (gtype != SYS_TASKGATE && gtype != SYS_INTGATE16 && gtype != SYS_TRAPGATE16 &&
        gtype != SYS_INTGATE32 && gtype != SYS_TRAPGATE32)
        cpu_raise(cpu, EXC_GP, gerr);
    if (soft && (int)AR_DPL(gar) < cpu->cpl)
        cpu_raise(cpu, EXC_GP, gerr);
    if (!(gar & AR_P))
        cpu_raise(cpu, EXC_NP, gerr);
    if (gtype == SYS_TASKGATE) {
        task_gate_int(cpu, g, ext, has_err, err, rf);
        return;
    }

    bool gate32 = (gtype & 0x8) != 0;
    bool trap = (gtype & 0x1) != 0;
    uint16_t sel = (uint16_t)(desc_lo(g) >> 16);
    uint32_t off = (desc_lo(g) & 0xffff) | (gate32 ? (desc_hi(g) & 0xffff0000u) : 0);

    if ((sel & 0xfffc) == 0)
        cpu_raise(cpu, EXC_GP, ext);
    uint64_t d = seg_desc_fetch(cpu, sel, EXC_GP, ext);
    uint16_t ar = desc_ar(d);
    int dpl = AR_DPL(ar);
    if (!ar_is_code(ar) || dpl > cpu->cpl)
        cpu_raise(cpu, EXC_GP, (sel & 0xfffcu) | ext);
    if (!(ar & AR_P))
        cpu_raise(cpu, EXC_NP, (sel & 0xfffcu) | ext);
    if (cpu_v86(cpu)) {
        /* INTERRUPT-FROM-VIRTUAL-8086-MODE: only to ring 0 */
        if (ar_conforming(ar) || dpl != 0)
            cpu_raise(cpu, EXC_GP, (sel & 0xfffcu) | ext);
        v86_interrupt(cpu, sel, d, off, gate32, trap, has_err, err, ext, rf);
        return;
    }
    if (off > desc_limit(d))
        cpu_raise(cpu, EXC_GP, ext);

    int size = gate32 ? 4 : 2;
    uint32_t vals[6];
    int n = 0;
    if (has_err)
        vals[n++] = err;
    vals[n++] = gate32 ? cpu->eip : (cpu->eip & 0xffff);
    vals[n++] = cpu->seg[S_CS].sel;
    vals[n++] = gate32 ? (cpu->eflags | rf) : (cpu->eflags & 0xffff);

    if (!ar_conforming(ar) && dpl < cpu->cpl) {
        /* Inner privilege: switch to the ring `dpl` stack from the TSS. */
        uint16_t nss;
        uint32_t nesp;
        tss_read_stack(cpu, dpl, &nss, &nesp, ext);
        uint64_t sd = seg_check_ss(cpu, nss, dpl, EXC_TS, ext);
        struct segment ssc;
        seg_cache_set(&ssc, nss, sd);
        uint32_t mask = (ssc.ar & AR_DB) ? 0xffffffffu : 0xffffu;
        vals[n++] = gate32 ? cpu->r[R_ESP] : (cpu->r[R_ESP] & 0xffff);
        vals[n++] = cpu->seg[S_SS].sel;
        uint32_t bytes = (uint32_t)(n * size);
        uint32_t nsp = ((nesp & mask) - bytes) & mask;
        if (!seg_range_ok(&ssc, nsp, bytes))
            cpu_raise(cpu, EXC_SS, (nss & 0xfffcu) | ext);
        probe_frame(cpu, &ssc, nsp, bytes, ACC_SYS);
        seg_set_accessed(cpu, nss, &sd);
        seg_set_accessed(cpu, sel, &d);
        /* Nothing below can fault. */
        write_frame(cpu, &ssc, nsp, mask, vals, n, size, ACC_SYS);
        seg_commit(cpu, S_SS, nss, sd, -1);
        seg_commit(cpu, S_CS, sel, d, dpl);
        cpu->r[R_ESP] = (nesp & ~mask) | nsp;
    } else {
        /* Same privilege (or a conforming handler). */
        if (!ar_conforming(ar) && dpl != cpu->cpl)
            cpu_raise(cpu, EXC_GP, (sel & 0xfffcu) | ext);
        const struct segment *ss = &cpu->seg[S_SS];
        uint32_t mask = cpu_sp_mask(cpu);
        uint32_t bytes = (uint32_t)(n * size);
        uint32_t nsp = (sp_get(cpu) - bytes) & mask;
        if (!seg_range_ok(ss, nsp, bytes))
            cpu_raise(cpu, EXC_SS, ext);
        probe_frame(cpu, ss, nsp, bytes, 0);
        seg_set_accessed(cpu, sel, &d);
        write_frame(cpu, ss, nsp, mask, vals, n, size, 0);
        seg_commit(cpu, S_CS, sel, d, cpu->cpl);
        sp_set(cpu, nsp);
    }
    cpu->eip = off;
    cpu->eflags &= ~(F_TF | F_NT | F_RF | F_VM);
    if (!trap)
        cpu->eflags &= ~F_IF;
}

/* Deliver one event; any fault unwinds through cpu->fault_jmp. `rf`:
 * see deliver_pm (a real-mode frame holds 16-bit FLAGS, without RF). */
static void deliver_one(struct cpu *cpu, int vector, bool has_err, uint32_t err, bool soft,
                        uint32_t ext, uint32_t rf)
{
    if (cpu->pe)
        deliver_pm(cpu, vector, has_err, err, soft, ext, rf);
    else
        deliver_real(cpu, vector);
    cpu->inhibit_irq = 0;
    cpu->halted = false;
    cpu->end_block = 1;
}

/* Deliver an event, catching faults raised while delivering it: they
 * become the next event to deliver, or #DF by the class rules, and a
 * fault while delivering #DF shuts the CPU down (triple fault).
 * `cls` is the class of the first event (benign for interrupts), `rf` its
 * RF for the pushed image; the faults that follow are faults (RF = 1),
 * #DF an abort (current RF). */
static void deliver_nested(struct cpu *cpu, int vector, bool has_err, uint32_t err, int cls,
                           bool is_df, uint32_t rf)
{
    jmp_buf jb;
    jmp_buf *saved = cpu->fault_jmp;
    /* Modified after setjmp returns: volatile so longjmp keeps them. */
    volatile int v = vector;
    volatile bool he = has_err;
    volatile uint32_t e = err;
    volatile int c = cls;
    volatile bool df = is_df;
    volatile uint32_t r = rf;

    cpu->fault_jmp = &jb;
    for (;;) {
        if (setjmp(jb) == 0) {
            deliver_one(cpu, v, he, e, false, 1, r);
            break;
        }
        /* A fault while delivering v. */
        int nv = cpu->last_exc;
        if (nv == EXC_RESTART)
            continue;   /* coherence: a page moved away; deliver v again */
        int nc = exc_class(nv);
        if (df) {
            cpu->shutdown_reason = triple_fault_reason(nv);
            cpu->end_block = 1;
            break;
        }
        if ((c == CLS_CONTRIB && nc == CLS_CONTRIB) || (c == CLS_PF && nc != CLS_BENIGN)) {
            v = EXC_DF;
            he = true;
            e = 0;
            df = true;
            r = 0;
        } else {
            v = nv;
            he = cpu->last_exc_has_err;
            e = cpu->last_exc_err;
            c = nc;
            r = exc_pushes_rf(nv) ? F_RF : 0;
        }
    }
    cpu->fault_jmp = saved;
}

void cpu_exception(struct cpu *cpu, int vector, uint32_t err)
{
    deliver_nested(cpu, vector, exc_has_error_code(vector), err, exc_class(vector),
                   vector == EXC_DF, exc_pushes_rf(vector) ? F_RF : 0);
}

void cpu_deliver(struct cpu *cpu, int vector, bool has_err, uint32_t err, bool soft)
{
    if (soft) {
        /* INT n / INT3 / INTO: a fault here is a fault of the INT
         * instruction itself (EIP restored to it by the loop). */
        deliver_one(cpu, vector, has_err, err, true, 0, 0);
        return;
    }
    /* External interrupt, NMI, or a trap (#DB, ICEBP): benign. */
    deliver_nested(cpu, vector, has_err, err, CLS_BENIGN, false, 0);
}
