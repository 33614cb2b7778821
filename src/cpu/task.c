/* task.c - hardware task switching, as the Intel SDM describes it for a
 * P6-family processor: Vol. 3, 7.3 "Task Switching" (its steps 1-13 and
 * table 7-1, whose order of checks "is the order used in the P6 family
 * processors"), 7.4 "Task Linking", and the Operation sections of JMP,
 * CALL, IRET and INT n in Vol. 2.
 *
 * A switch runs in four parts:
 *  1. Checks and reads that leave the CPU and memory unchanged when they
 *     fault (delivered in the context of the old task): the source's
 *     checks (task_far, task_iret, task_gate_int: the privilege checks of
 *     the JMP/CALL/INT pages, then table 7-1's - the TSS selector in the
 *     GDT, the descriptor a TSS and present, then not busy, or busy for
 *     IRET), the new TSS's limit (#TS(new TSS) below 0x67 / 0x2b), every
 *     field of the new TSS read, and the old TSS's save area, the new
 *     TSS's link field and the busy bytes of the GDT probed for writing
 *     (steps 1-5).
 *  2. The memory writes (steps 6-10): the old TSS's busy bit cleared (JMP,
 *     IRET), the old task's state saved (EFLAGS.NT cleared in the image
 *     for IRET), the old TR selector written to the new TSS's link field
 *     (CALL, interrupt), the new TSS's busy bit set (JMP, CALL, interrupt).
 *  3. The registers (steps 11-12): TR, CR3 (with paging on; TLB flushed),
 *     EFLAGS (NT set for CALL and interrupts), EIP, the general registers
 *     and the segment selectors, whose caches stay unusable until part 4
 *     loads them; CR0.TS set; DR7's local enables (L0-L3, LE) cleared.
 *     From here on cpu->insn_eip/insn_esp name the new task, so a fault
 *     unwinding to the loop is delivered in the context of the new task.
 *  4. The descriptors of LDTR, CS, SS, DS, ES, FS and GS loaded and
 *     checked (step 13) in the order of table 7-1, with #TS/#NP/#SS and
 *     the selector (plus EXT) as error code: LDT valid, CS's DPL against
 *     its RPL (conforming code: DPL <= RPL), SS (valid, present, DPL =
 *     CPL), LDT present, CS (valid, present), SS's DPL against its RPL,
 *     then DS, ES, FS, GS (valid, readable, present, DPL >= CPL and RPL
 *     unless conforming code). The new CPL is CS's RPL.
 * Then, for an exception through a task gate, its error code is pushed on
 * the new task's stack (#SS(EXT) if it does not fit), EIP is checked
 * against the new CS limit (#GP(0), #GP(EXT) for events), and a TSS with
 * the T bit set raises the debug trap (#DB, DR6.BT) before the new task's
 * first instruction.
 *
 * A page taken away by another rank while parts 2 or 4 wait for memory
 * (EXC_RESTART, coherence.c) repeats that part alone: both are idempotent,
 * and repeating the whole instruction after part 3 would be wrong.
 *
 * Choices where the SDM leaves room:
 *  - presence before busy, as table 7-1 orders them (the Operation
 *    sections of JMP and CALL name busy first);
 *  - a 16-bit TSS loads the general registers as 0xffff0000 | the saved
 *    word (7.6: their upper halves are "modified and not maintained";
 *    0xffff is what 386/486 hardware loads, as test386.asm checks), EIP
 *    and EFLAGS with zero upper halves, FS and GS as null selectors, and
 *    leaves CR3 alone; saving into it stores the low words;
 *  - DS, ES, FS and GS also need RPL <= DPL (as for MOV Sreg);
 *  - the old TSS's limit is not checked (table 7-1 has no such check);
 *  - the selectors are written to a 32-bit TSS as words (the upper halves
 *    of those dwords are reserved);
 *  - TR's selector keeps the RPL it was named with.
 *
 * Virtual-8086 mode: a new task whose EFLAGS image has VM = 1 gets its
 * six segment registers as 8086 segments in part 3 (v86_seg_set: base
 * selector << 4, limit 0xffff, DPL 3; no descriptors, nothing to check),
 * CPL 3; part 4 loads and checks only its LDT. Switching away from a V86
 * task saves its selectors and EFLAGS (VM = 1) like any other. */
#include "cpu/task.h"

#include <setjmp.h>

#include "cpu/mmu.h"
#include "cpu/seg.h"
#include "cpu/v86.h"

enum task_src { SRC_JMP, SRC_CALL, SRC_IRET, SRC_INT };

#define TSS32_MIN_LIMIT 0x67u
#define TSS16_MIN_LIMIT 0x2bu
#define TSS_EFLAGS_VALID 0x003f7fd5u  /* the EFLAGS bits a 32-bit TSS loads */
#define DR6_BT    0x8000u
#define DR7_LOCAL 0x0155u             /* L0, L1, L2, L3, LE */
#define DESC_BUSY ((uint64_t)0x200u << 32)

/* The new task's state as read from its TSS. */
struct tss_image {
    uint32_t cr3, eip, eflags;
    uint32_t r[8];
    uint16_t sel[SEG_COUNT];
    uint16_t ldt;
    bool trap;
};

/* One switch in progress. */
struct task_switch {
    enum task_src src;
    uint16_t sel;           /* the new TSS */
    uint64_t desc;
    uint32_t ext;           /* EXT bit of error codes */
    bool has_err;           /* push `err` on the new stack */
    uint32_t err;
    struct segment old;     /* TR before the switch */
    uint32_t old_eflags;    /* the EFLAGS image saved in the old TSS */
    struct tss_image nt;
};

static bool tss_is32(uint16_t ar)
{
    return (AR_TYPE(ar) & 0x8) != 0;
}

static uint32_t rd(struct cpu *cpu, uint32_t lin, int size)
{
    return lin_read_slow(cpu, lin, size, ACC_READ | ACC_SYS);
}

static void wr(struct cpu *cpu, uint32_t lin, int size, uint32_t v)
{
    lin_write_slow(cpu, lin, size, v, ACC_WRITE | ACC_SYS);
}

static void probe(struct cpu *cpu, uint32_t lin, uint32_t n)
{
    lin_probe_write(cpu, lin, (int)n, ACC_WRITE | ACC_SYS);
}

bool task_far_type(unsigned type)
{
    return type == SYS_TSS16_AVAIL || type == SYS_TSS16_BUSY || type == SYS_TSS32_AVAIL ||
           type == SYS_TSS32_BUSY || type == SYS_TASKGATE;
}

/* ---- the TSS ---- */

static void read_tss(struct cpu *cpu, uint32_t b, bool is32, struct tss_image *t)
{
    if (is32) {
        t->cr3 = rd(cpu, b + 0x1c, 4);
        t->eip = rd(cpu, b + 0x20, 4);
        t->eflags = (rd(cpu, b + 0x24, 4) & TSS_EFLAGS_VALID) | F_BIT1;
        for (int i = 0; i < 8; i++)
            t->r[i] = rd(cpu, b + 0x28 + 4u * (uint32_t)i, 4);
        for (int s = 0; s < SEG_COUNT; s++)
            t->sel[s] = (uint16_t)rd(cpu, b + 0x48 + 4u * (uint32_t)s, 2);
        t->ldt = (uint16_t)rd(cpu, b + 0x60, 2);
        t->trap = (rd(cpu, b + 0x64, 2) & 1) != 0;
    } else {
        t->cr3 = 0;             /* not used: a 16-bit TSS has no CR3 */
        t->eip = rd(cpu, b + 0x0e, 2);
        t->eflags = (rd(cpu, b + 0x10, 2) & 0x7fd5u) | F_BIT1;
        for (int i = 0; i < 8; i++)
            t->r[i] = 0xffff0000u | rd(cpu, b + 0x12 + 2u * (uint32_t)i, 2);
        for (int s = S_ES; s <= S_DS; s++)
            t->sel[s] = (uint16_t)rd(cpu, b + 0x22 + 2u * (uint32_t)s, 2);
        t->sel[S_FS] = t->sel[S_GS] = 0;
        t->ldt = (uint16_t)rd(cpu, b + 0x2a, 2);
        t->trap = false;
    }
}

/* Bytes [first, first+len) of a TSS that a switch away from it writes. */
static void save_area(bool is32, uint32_t *first, uint32_t *len)
{
    *first = is32 ? 0x20 : 0x0e;
    *len = is32 ? 0x3e : 0x1c;
}

static void save_tss(struct cpu *cpu, const struct segment *tr, uint32_t eflags)
{
    uint32_t b = tr->base;
    if (tss_is32(tr->ar)) {
        wr(cpu, b + 0x20, 4, cpu->eip);
        wr(cpu, b + 0x24, 4, eflags);
        for (int i = 0; i < 8; i++)
            wr(cpu, b + 0x28 + 4u * (uint32_t)i, 4, cpu->r[i]);
        for (int s = 0; s < SEG_COUNT; s++)
            wr(cpu, b + 0x48 + 4u * (uint32_t)s, 2, cpu->seg[s].sel);
    } else {
        wr(cpu, b + 0x0e, 2, cpu->eip & 0xffff);
        wr(cpu, b + 0x10, 2, eflags & 0xffff);
        for (int i = 0; i < 8; i++)
            wr(cpu, b + 0x12 + 2u * (uint32_t)i, 2, cpu->r[i] & 0xffff);
        for (int s = S_ES; s <= S_DS; s++)
            wr(cpu, b + 0x22 + 2u * (uint32_t)s, 2, cpu->seg[s].sel);
    }
}

/* The busy bit of a TSS descriptor in the GDT: type bit 1, in byte 5.
 * A null TR (no LTR since reset) has no descriptor to update. */
static bool has_desc(uint16_t sel)
{
    return (sel & 0xfffc) != 0 && !(sel & 4);
}

static uint32_t busy_byte(const struct cpu *cpu, uint16_t sel)
{
    return cpu->gdtr.base + (sel & 0xfff8u) + 5;
}

static void set_busy(struct cpu *cpu, uint16_t sel, bool busy)
{
    uint32_t a = busy_byte(cpu, sel);
    uint32_t v = rd(cpu, a, 1);
    wr(cpu, a, 1, busy ? (v | 0x2u) : (v & ~0x2u));
}

/* ---- repeating a part after a coherence restart ---- */

static __attribute__((noreturn)) void reraise(struct cpu *cpu)
{
    if (cpu->last_exc_has_err)
        cpu_raise(cpu, cpu->last_exc, cpu->last_exc_err);
    cpu_raise_noerr(cpu, cpu->last_exc);
}

/* Run fn(cpu, t); when it unwinds with EXC_RESTART run it again, any
 * other fault goes on to the caller's handler. */
static void run_part(struct cpu *cpu, void (*fn)(struct cpu *, struct task_switch *),
                     struct task_switch *t)
{
    jmp_buf jb;
    jmp_buf *saved = cpu->fault_jmp;
    cpu->fault_jmp = &jb;
    while (setjmp(jb) != 0) {
        if (cpu->last_exc != EXC_RESTART) {
            cpu->fault_jmp = saved;
            reraise(cpu);
        }
    }
    fn(cpu, t);
    cpu->fault_jmp = saved;
}

/* ---- part 2: memory ---- */

static void write_memory(struct cpu *cpu, struct task_switch *t)
{
    uint32_t nbase = desc_base(t->desc);
    if ((t->src == SRC_JMP || t->src == SRC_IRET) && has_desc(t->old.sel))
        set_busy(cpu, t->old.sel, false);
    save_tss(cpu, &t->old, t->old_eflags);
    /* Read the new TSS again: it may be the old one (an IRET whose link
     * names the current task) or overlap it. Everything was read and
     * probed before, so this does not fault. */
    read_tss(cpu, nbase, tss_is32(desc_ar(t->desc)), &t->nt);
    if (t->src == SRC_CALL || t->src == SRC_INT) {
        wr(cpu, nbase, 2, t->old.sel);
        t->nt.eflags |= F_NT;
    }
    if (t->src != SRC_IRET)
        set_busy(cpu, t->sel, true);     /* the last write: see run_part */
}

/* ---- part 3: registers ---- */

static void load_registers(struct cpu *cpu, const struct task_switch *t)
{
    const struct tss_image *n = &t->nt;
    seg_cache_set(&cpu->tr, t->sel, t->desc | DESC_BUSY);
    if (tss_is32(desc_ar(t->desc)) && (cpu->cr0 & CR0_PG)) {
        cpu->cr3 = n->cr3 & 0xfffff018u;   /* as MOV CR3 */
        if (cpu->cr4 & CR4_PGE)
            mmu_flush_nonglobal(cpu);
        else
            mmu_flush(cpu);
    }
    for (int i = 0; i < 8; i++)
        cpu->r[i] = n->r[i];
    cpu->eip = n->eip;
    cpu->eflags = n->eflags;
    for (int s = 0; s < SEG_COUNT; s++) {
        if (n->eflags & F_VM)
            v86_seg_set(&cpu->seg[s], n->sel[s]);  /* 8086 segments */
        else
            seg_set_null(cpu, s, n->sel[s]);  /* selector only: unusable cache */
    }
    cpu->ldtr.sel = n->ldt;
    cpu->ldtr.base = 0;
    cpu->ldtr.limit = 0;
    cpu->ldtr.ar = 0;
    seg_refresh_fast(&cpu->ldtr);
    cpu->cr0 |= CR0_TS;
    cpu->dr[7] &= ~DR7_LOCAL;
    cpu_update_mode(cpu);                 /* CPL = the new CS's RPL (V86: 3) */
    cpu->insn_eip = cpu->eip;             /* faults from here on: new task */
    cpu->insn_esp = cpu->r[R_ESP];
    cpu->end_block = 1;
}

/* ---- part 4: descriptors (table 7-1) ---- */

/* Table 7-1 check 5, the LDT selector valid. Its presence is check 10;
 * until then a not-present LDT stays unusable for lookups. */
static void load_ldt(struct cpu *cpu, uint16_t sel, uint32_t ext)
{
    if ((sel & 0xfffc) == 0)
        return;                           /* null LDT: stays unusable */
    uint32_t e = (sel & 0xfffcu) | ext;
    if (sel & 4)
        cpu_raise(cpu, EXC_TS, e);
    uint64_t d = seg_desc_fetch(cpu, sel, EXC_TS, ext);
    uint16_t ar = desc_ar(d);
    if ((ar & AR_S) || AR_TYPE(ar) != SYS_LDT)
        cpu_raise(cpu, EXC_TS, e);
    seg_cache_set(&cpu->ldtr, sel, d);
}

/* DS, ES, FS or GS of the new task. */
static void load_data_seg(struct cpu *cpu, int sreg, uint16_t sel, uint32_t ext)
{
    if ((sel & 0xfffc) == 0)
        return;                           /* null: already set, unusable */
    uint32_t e = (sel & 0xfffcu) | ext;
    uint64_t d = seg_desc_fetch(cpu, sel, EXC_TS, ext);
    uint16_t ar = desc_ar(d);
    if (!(ar & AR_S) || !ar_readable(ar))
        cpu_raise(cpu, EXC_TS, e);
    if (!(ar & AR_P))
        cpu_raise(cpu, EXC_NP, e);
    int dpl = AR_DPL(ar);
    if (!ar_conforming(ar) && (dpl < cpu->cpl || dpl < (int)(sel & 3)))
        cpu_raise(cpu, EXC_TS, e);
    seg_commit(cpu, sreg, sel, d, -1);
}

/* Table 7-1 checks 6-17 (the LDT's valid by load_ldt before). */
static void load_segments(struct cpu *cpu, const struct tss_image *n, uint32_t ext)
{
    int cpl = n->sel[S_CS] & 3;
    uint16_t cs = n->sel[S_CS], ss = n->sel[S_SS];
    uint32_t cse = (cs & 0xfffcu) | ext, sse = (ss & 0xfffcu) | ext;
    uint64_t cd = 0, sd;
    /* 6: the code segment's DPL against its selector's RPL */
    bool cs_read = (cs & 0xfffc) != 0 && seg_desc_read(cpu, cs, &cd);
    if (cs_read && ar_is_code(desc_ar(cd))) {
        int dpl = AR_DPL(desc_ar(cd));
        if (ar_conforming(desc_ar(cd)) ? dpl > cpl : dpl != cpl)
            cpu_raise(cpu, EXC_TS, cse);
    }
    /* 7-9: SS valid, present, DPL = CPL */
    if ((ss & 0xfffc) == 0)
        cpu_raise(cpu, EXC_TS, sse);
    sd = seg_desc_fetch(cpu, ss, EXC_TS, ext);
    if (!ar_writable(desc_ar(sd)))
        cpu_raise(cpu, EXC_TS, sse);
    if (!(desc_ar(sd) & AR_P))
        cpu_raise(cpu, EXC_SS, sse);
    if ((int)AR_DPL(desc_ar(sd)) != cpl)
        cpu_raise(cpu, EXC_TS, sse);
    /* 10: the LDT present */
    if ((n->ldt & 0xfffc) != 0 && !(cpu->ldtr.ar & AR_P))
        cpu_raise(cpu, EXC_TS, (n->ldt & 0xfffcu) | ext);
    /* 11-12: CS valid, present */
    if (!cs_read || !ar_is_code(desc_ar(cd)))
        cpu_raise(cpu, EXC_TS, cse);
    if (!(desc_ar(cd) & AR_P))
        cpu_raise(cpu, EXC_NP, cse);
    /* 13: SS's DPL against its RPL */
    if ((int)(ss & 3) != (int)AR_DPL(desc_ar(sd)))
        cpu_raise(cpu, EXC_TS, sse);
    seg_commit(cpu, S_CS, cs, cd, -1);
    seg_commit(cpu, S_SS, ss, sd, -1);
    /* 14-17 */
    static const int data[4] = { S_DS, S_ES, S_FS, S_GS };
    for (int i = 0; i < 4; i++)
        load_data_seg(cpu, data[i], n->sel[data[i]], ext);
}

static void load_descriptors(struct cpu *cpu, struct task_switch *t)
{
    const struct tss_image *n = &t->nt;
    uint32_t ext = t->ext;
    load_ldt(cpu, n->ldt, ext);
    if (!(n->eflags & F_VM))
        load_segments(cpu, n, ext);
    else if ((n->ldt & 0xfffc) != 0 && !(cpu->ldtr.ar & AR_P))
        cpu_raise(cpu, EXC_TS, (n->ldt & 0xfffcu) | ext);   /* V86: 10 only */

    if (t->has_err) {
        /* the exception's error code, on the new task's stack */
        int size = tss_is32(desc_ar(t->desc)) ? 4 : 2;
        uint32_t mask = cpu_sp_mask(cpu);
        uint32_t sp = (cpu->r[R_ESP] - (uint32_t)size) & mask;
        if (!seg_range_ok(&cpu->seg[S_SS], sp, (uint32_t)size))
            cpu_raise(cpu, EXC_SS, ext);
        wr(cpu, cpu->seg[S_SS].base + sp, size, t->err);
        cpu->r[R_ESP] = (cpu->r[R_ESP] & ~mask) | sp;
        cpu->insn_esp = cpu->r[R_ESP];
    }
}

/* ---- the switch ---- */

/* Switch to the TSS `sel` (descriptor d: in the GDT, present, available,
 * or busy for IRET - checked by the caller). */
static void switch_tasks(struct cpu *cpu, uint16_t sel, uint64_t d, enum task_src src,
                         uint32_t ext, bool has_err, uint32_t err, uint32_t rf)
{
    struct task_switch t = {
        .src = src, .sel = sel, .desc = d, .ext = ext, .has_err = has_err, .err = err,
        .old = cpu->tr,
    };
    uint32_t serr = (sel & 0xfffcu) | ext;
    bool new32 = tss_is32(desc_ar(d));
    uint32_t nbase = desc_base(d);

    /* Part 1. */
    if (desc_limit(d) < (new32 ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT))
        cpu_raise(cpu, EXC_TS, serr);
    read_tss(cpu, nbase, new32, &t.nt);
    uint32_t first, len;
    save_area(tss_is32(t.old.ar), &first, &len);
    probe(cpu, t.old.base + first, len);
    if ((src == SRC_JMP || src == SRC_IRET) && has_desc(t.old.sel))
        probe(cpu, busy_byte(cpu, t.old.sel), 1);
    if (src == SRC_CALL || src == SRC_INT)
        probe(cpu, nbase, 2);
    if (src != SRC_IRET)
        probe(cpu, busy_byte(cpu, sel), 1);
    t.old_eflags = cpu->eflags | rf;
    if (src == SRC_IRET)
        t.old_eflags &= ~F_NT;

    /* Parts 2-4. */
    run_part(cpu, write_memory, &t);
    load_registers(cpu, &t);
    run_part(cpu, load_descriptors, &t);

    if (cpu->eip > cpu->seg[S_CS].limit)
        cpu_raise(cpu, EXC_GP, ext);
    if (t.nt.trap) {
        /* T bit: a debug trap before the new task's first instruction */
        cpu->dr[6] |= DR6_BT;
        cpu_deliver(cpu, EXC_DB, false, 0, false);
    }
}

static bool is_tss(uint16_t ar)
{
    unsigned t = AR_TYPE(ar);
    return !(ar & AR_S) && (t == SYS_TSS16_AVAIL || t == SYS_TSS16_BUSY ||
                            t == SYS_TSS32_AVAIL || t == SYS_TSS32_BUSY);
}

static bool tss_busy(uint16_t ar)
{
    return (AR_TYPE(ar) & 0x2) != 0;
}

/* The TSS named by a task gate (JMP, CALL, INT): in the GDT and a TSS
 * (#GP(TSS selector)), present (#NP), not busy (#GP). */
static uint64_t gate_tss(struct cpu *cpu, uint16_t tsel, uint32_t ext)
{
    uint32_t e = (tsel & 0xfffcu) | ext;
    uint64_t d;
    if ((tsel & 4) || !seg_desc_read(cpu, tsel, &d) || !is_tss(desc_ar(d)))
        cpu_raise(cpu, EXC_GP, e);
    if (!(desc_ar(d) & AR_P))
        cpu_raise(cpu, EXC_NP, e);
    if (tss_busy(desc_ar(d)))
        cpu_raise(cpu, EXC_GP, e);
    return d;
}

void task_far(struct cpu *cpu, uint16_t sel, uint64_t d, bool call)
{
    uint16_t ar = desc_ar(d);
    uint32_t e = sel & 0xfffcu;
    int dpl = AR_DPL(ar);
    if (dpl < cpu->cpl || dpl < (int)(sel & 3))
        cpu_raise(cpu, EXC_GP, e);
    uint16_t tsel = sel;
    if (AR_TYPE(ar) == SYS_TASKGATE) {
        if (!(ar & AR_P))
            cpu_raise(cpu, EXC_NP, e);
        tsel = (uint16_t)(desc_lo(d) >> 16);
        d = gate_tss(cpu, tsel, 0);
    } else {
        /* a TSS descriptor: only in the GDT, present, not busy */
        if (sel & 4)
            cpu_raise(cpu, EXC_GP, e);
        if (!(ar & AR_P))
            cpu_raise(cpu, EXC_NP, e);
        if (tss_busy(ar))
            cpu_raise(cpu, EXC_GP, e);
    }
    switch_tasks(cpu, tsel, d, call ? SRC_CALL : SRC_JMP, 0, false, 0, 0);
}

void task_iret(struct cpu *cpu)
{
    uint16_t link = (uint16_t)rd(cpu, cpu->tr.base, 2);
    uint32_t e = link & 0xfffcu;
    uint64_t d;
    if ((link & 4) || !seg_desc_read(cpu, link, &d) || !is_tss(desc_ar(d)))
        cpu_raise(cpu, EXC_TS, e);
    if (!(desc_ar(d) & AR_P))
        cpu_raise(cpu, EXC_NP, e);
    if (!tss_busy(desc_ar(d)))
        cpu_raise(cpu, EXC_TS, e);
    switch_tasks(cpu, link, d, SRC_IRET, 0, false, 0, 0);
}

void task_gate_int(struct cpu *cpu, uint64_t gate, uint32_t ext, bool has_err, uint32_t err,
                   uint32_t rf)
{
    uint16_t tsel = (uint16_t)(desc_lo(gate) >> 16);
    uint64_t d = gate_tss(cpu, tsel, ext);
    switch_tasks(cpu, tsel, d, SRC_INT, ext, has_err, err, rf);
}
