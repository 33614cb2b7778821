/* test_task.c - unit tests of hardware task switching (src/cpu/task.c):
 * the cases that are cheaper here than in a guest or where QEMU is no
 * oracle - the exact state when a switch faults before its commit point
 * (limit, a page fault on the old TSS), a virtual-8086 task (8086
 * segments in, its selectors saved out), the order of the checks
 * after it (SDM Vol. 3 table 7-1), EXT in the error codes of a switch an
 * event started, the 16-bit TSS (error code pushed as a word), the T bit,
 * CR0.TS and DR7. Instructions run the way cpu_run() runs them (decode,
 * handler; a fault restores EIP/ESP from insn_eip/insn_esp and is
 * delivered when asked). */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/seg.h"
#include "mem/phys.h"
#include "unit/cpu_step.h"

#define GDT_BASE  0x1000u
#define IDT_BASE  0x2000u
#define TSS_MAIN  0x3000u
#define TSS_NEW   0x3100u
#define TSS_16    0x3200u
#define PDIR      0x5000u
#define PTAB      0x6000u
#define CODE      0x10000u
#define HANDLERS  0x20000u   /* handler of vector v at HANDLERS + v*16 */
#define ENTRY     0x30000u   /* the new task's EIP */
#define STACK0    0x9000u    /* the main task's stack */
#define STACKN    0xa000u    /* the new task's stack */

#define SEL_CODE0 0x08
#define SEL_DATA0 0x10
#define SEL_CODE3 0x1b
#define SEL_DATA3 0x23
#define SEL_MAIN  0x28
#define SEL_NEW   0x30
#define SEL_T16   0x38
#define SEL_GATE  0x40       /* task gate -> SEL_NEW */
#define SEL_NPDAT 0x48       /* data, not present */
#define SEL_NPCOD 0x50       /* code, not present */
#define SEL_CODE16 0x58      /* 16-bit code, base 0 */
#define SEL_DATA16 0x60      /* 16-bit data, base 0 */
#define SEL_LDTNP 0x68       /* an LDT, not present */
#define GDT_LIMIT 0x6f

struct env {
    struct phys phys;
    struct cpu cpu;
};

static void w16(struct env *e, uint32_t a, uint16_t v) { phys_write(&e->phys, a, 2, v); }
static void w32(struct env *e, uint32_t a, uint32_t v) { phys_write(&e->phys, a, 4, v); }
static uint32_t r32(struct env *e, uint32_t a) { return phys_read(&e->phys, a, 4); }
static uint32_t r16(struct env *e, uint32_t a) { return phys_read(&e->phys, a, 2); }
static unsigned type_of(struct env *e, uint16_t sel)
{
    return phys_read(&e->phys, GDT_BASE + (sel & ~7u) + 5, 1) & 0xf;
}
static void w64(struct env *e, uint32_t a, uint64_t v)
{
    w32(e, a, (uint32_t)v);
    w32(e, a + 4, (uint32_t)(v >> 32));
}

/* A 32-bit TSS at `base` for a ring 0 task at ENTRY. */
static void tss32(struct env *e, uint32_t base)
{
    for (uint32_t i = 0; i < 0x68; i += 4)
        w32(e, base + i, 0);
    w32(e, base + 0x20, ENTRY);
    w32(e, base + 0x24, F_BIT1);
    w32(e, base + 0x28, 0xaaaa0001u);           /* EAX */
    w32(e, base + 0x38, STACKN);                /* ESP */
    w16(e, base + 0x4c, SEL_CODE0);
    w16(e, base + 0x48, SEL_DATA0);
    w16(e, base + 0x50, SEL_DATA0);
    w16(e, base + 0x54, SEL_DATA0);
    w16(e, base + 0x58, SEL_DATA0);
    w16(e, base + 0x5c, SEL_DATA0);
    w16(e, base + 0x66, 0x68);
}

static struct env *env_new(void)
{
    struct env *e = calloc(1, sizeof *e);
    cr_assert_not_null(e);
    cr_assert_eq(phys_init(&e->phys, 16u << 20), 0);
    cpu_init(&e->cpu, &e->phys, NULL);
    struct cpu *cpu = &e->cpu;
    w64(e, GDT_BASE + 0x00, 0);
    w64(e, GDT_BASE + SEL_CODE0, mkdesc(0, 0xfffff, 0xc09b));
    w64(e, GDT_BASE + SEL_DATA0, mkdesc(0, 0xfffff, 0xc093));
    w64(e, GDT_BASE + (SEL_CODE3 & ~3), mkdesc(0, 0xfffff, 0xc0fb));
    w64(e, GDT_BASE + (SEL_DATA3 & ~3), mkdesc(0, 0xfffff, 0xc0f3));
    w64(e, GDT_BASE + SEL_MAIN, mkdesc(TSS_MAIN, 0x67, 0x0089));
    w64(e, GDT_BASE + SEL_NEW, mkdesc(TSS_NEW, 0x67, 0x0089));
    w64(e, GDT_BASE + SEL_T16, mkdesc(TSS_16, 0x2b, 0x0081));
    w64(e, GDT_BASE + SEL_GATE, mkgate(SEL_NEW, 0, 0x85));
    w64(e, GDT_BASE + SEL_NPDAT, mkdesc(0, 0xfffff, 0xc013));
    w64(e, GDT_BASE + SEL_NPCOD, mkdesc(0, 0xfffff, 0xc01b));
    w64(e, GDT_BASE + SEL_CODE16, mkdesc(0, 0xffff, 0x009b));
    w64(e, GDT_BASE + SEL_DATA16, mkdesc(0, 0xffff, 0x0093));
    w64(e, GDT_BASE + SEL_LDTNP, mkdesc(0x7000, 0xff, 0x0002));
    cpu->gdtr.base = GDT_BASE;
    cpu->gdtr.limit = GDT_LIMIT;
    for (int v = 0; v < 256; v++)
        w64(e, IDT_BASE + (uint32_t)v * 8, mkgate(SEL_CODE0, HANDLERS + (uint32_t)v * 16, 0x8e));
    cpu->idtr.base = IDT_BASE;
    cpu->idtr.limit = 0x7ff;
    tss32(e, TSS_MAIN);
    tss32(e, TSS_NEW);
    cpu_set_flat32(cpu);
    cpu->seg[S_CS].sel = SEL_CODE0;
    for (int s = 0; s < SEG_COUNT; s++)
        if (s != S_CS)
            cpu->seg[s].sel = SEL_DATA0;
    seg_load_tr(cpu, SEL_MAIN);
    cpu->eip = CODE;
    cpu->r[R_ESP] = STACK0;
    for (int i = 0; i < 8; i++)
        if (i != R_ESP)
            cpu->r[i] = 0x1000u * (uint32_t)(i + 1);
    cpu->eflags = F_BIT1;
    return e;
}

static void env_free(struct env *e)
{
    cpu_free(&e->cpu);
    phys_free(&e->phys);
    free(e);
}

/* jmp far sel:0 / call far sel:0 */
#define JMP_FAR(sel) 0xea, 0, 0, 0, 0, (sel) & 0xff, (sel) >> 8
#define CALL_FAR(sel) 0x9a, 0, 0, 0, 0, (sel) & 0xff, (sel) >> 8

/* Nothing of the CPU or of the TSSs changed by a switch that faulted
 * before its commit point. */
static void assert_unchanged(struct env *e)
{
    struct cpu *cpu = &e->cpu;
    cr_assert_eq(cpu->eip, CODE);
    cr_assert_eq(cpu->r[R_ESP], STACK0);
    cr_assert_eq(cpu->r[R_EAX], 0x1000u);
    cr_assert_eq(cpu->tr.sel, SEL_MAIN);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE0);
    cr_assert_eq(cpu->cr0 & CR0_TS, 0);
    cr_assert_eq(type_of(e, SEL_MAIN), SYS_TSS32_BUSY);
    cr_assert_eq(type_of(e, SEL_NEW), SYS_TSS32_AVAIL);
    cr_assert_eq(r32(e, TSS_MAIN + 0x20), ENTRY, "the old TSS was written");
    cr_assert_eq(r32(e, TSS_MAIN + 0x28), 0xaaaa0001u, "the old TSS was written");
    cr_assert_eq(r16(e, TSS_NEW), 0, "the link was written");
}

Test(task, jmp_switches_and_saves)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu->dr[7] = 0x4ff;                          /* L0-L3, G0-G3, LE (bit 8), GE */
    cr_assert_eq(RUN(e, false, JMP_FAR(SEL_NEW)), -1);
    cr_assert_eq(cpu->tr.sel, SEL_NEW);
    cr_assert_eq(cpu->eip, ENTRY);
    cr_assert_eq(cpu->r[R_EAX], 0xaaaa0001u);
    cr_assert_eq(cpu->r[R_ESP], STACKN);
    cr_assert(cpu->cr0 & CR0_TS);
    cr_assert_eq(cpu->dr[7], 0x4ff & ~0x155u, "DR7's local enables are cleared");
    cr_assert_eq(type_of(e, SEL_MAIN), SYS_TSS32_AVAIL);
    cr_assert_eq(type_of(e, SEL_NEW), SYS_TSS32_BUSY);
    cr_assert_eq(r32(e, TSS_MAIN + 0x20), CODE + 7);        /* EIP after the JMP */
    cr_assert_eq(r32(e, TSS_MAIN + 0x28), 0x1000u);         /* EAX */
    cr_assert_eq(r32(e, TSS_MAIN + 0x38), STACK0);          /* ESP */
    cr_assert_eq(r16(e, TSS_MAIN + 0x4c), SEL_CODE0);
    cr_assert_eq(r16(e, TSS_NEW), 0, "JMP writes no link");
    cr_assert_eq(cpu->eflags & F_NT, 0);
    env_free(e);
}

Test(task, limit_below_0x67_faults_before_anything_changes)
{
    struct env *e = env_new();
    w64(e, GDT_BASE + SEL_NEW, mkdesc(TSS_NEW, 0x66, 0x0089));
    cr_assert_eq(RUN(e, false, CALL_FAR(SEL_NEW)), EXC_TS);
    cr_assert_eq(e->cpu.last_exc_err, SEL_NEW);
    assert_unchanged(e);
    env_free(e);
}

Test(task, vm86_task_gets_8086_segments_and_is_saved_with_them)
{
    /* A TSS whose EFLAGS has VM = 1: its segment registers are loaded as
     * 8086 segments (no descriptors), CPL 3; a #UD in it through an IDT
     * task gate saves its selectors and VM = 1 in its TSS. */
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    w32(e, TSS_NEW + 0x20, 0x0010);                 /* EIP */
    w32(e, TSS_NEW + 0x24, F_BIT1 | F_VM | F_IOPL);
    w32(e, TSS_NEW + 0x38, 0xfff0);                 /* ESP */
    static const uint16_t sel[SEG_COUNT] = { 0x3456, 0x2000, 0x3000, 0x2345, 0x4567, 0x5678 };
    for (int s = 0; s < SEG_COUNT; s++)
        w16(e, TSS_NEW + 0x48 + 4u * (uint32_t)s, sel[s]);
    cr_assert_eq(RUN(e, false, JMP_FAR(SEL_NEW)), -1);
    cr_assert_eq(cpu->tr.sel, SEL_NEW);
    cr_assert(cpu_v86(cpu));
    cr_assert_eq(cpu->cpl, 3);
    cr_assert(!cpu->code32 && !cpu->stack32);
    cr_assert_eq(cpu->eip, 0x10);
    cr_assert_eq(cpu->r[R_ESP], 0xfff0);
    for (int s = 0; s < SEG_COUNT; s++) {
        cr_assert_eq(cpu->seg[s].sel, sel[s]);
        cr_assert_eq(cpu->seg[s].base, (uint32_t)sel[s] << 4);
        cr_assert_eq(cpu->seg[s].limit, 0xffffu);
        cr_assert_eq(cpu->seg[s].ar, 0xf3u, "seg %d ar %#x", s, cpu->seg[s].ar);
    }
    cr_assert_eq(type_of(e, SEL_NEW), SYS_TSS32_BUSY);

    /* ud2 at 2000:0010 -> #UD through a task gate to the main task */
    w64(e, IDT_BASE + EXC_UD * 8, mkgate(SEL_MAIN, 0, 0x85));
    cr_assert_eq(RUN(e, true, 0x0f, 0x0b), EXC_UD);
    cr_assert_eq(cpu->tr.sel, SEL_MAIN);
    cr_assert(!cpu_v86(cpu));
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->eip, CODE + 7, "the main task goes on after its JMP");
    cr_assert(cpu->eflags & F_NT);
    cr_assert_eq(r16(e, TSS_MAIN), SEL_NEW, "link");
    cr_assert_eq(r32(e, TSS_NEW + 0x20), 0x10, "EIP of the ud2");
    cr_assert_eq(r32(e, TSS_NEW + 0x24), F_BIT1 | F_VM | F_IOPL | F_RF);
    for (int s = 0; s < SEG_COUNT; s++)
        cr_assert_eq(r16(e, TSS_NEW + 0x48 + 4u * (uint32_t)s), sel[s]);
    env_free(e);
}

Test(task, iret_with_nt_to_a_vm86_task)
{
    /* kvm-unit-tests' taskswitch2 "VM86": IRET with NT = 1 to a busy TSS
     * whose EFLAGS has VM = 1 */
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    w64(e, GDT_BASE + SEL_NEW, mkdesc(TSS_NEW, 0x67, 0x008b));
    w16(e, TSS_MAIN, SEL_NEW);
    w32(e, TSS_NEW + 0x20, 0x0002);
    w32(e, TSS_NEW + 0x24, F_BIT1 | F_VM);
    w16(e, TSS_NEW + 0x4c, 0x4200);
    w16(e, TSS_NEW + 0x50, 0);
    cpu->eflags |= F_NT;
    cr_assert_eq(RUN(e, false, 0xcf), -1);
    cr_assert_eq(cpu->tr.sel, SEL_NEW);
    cr_assert(cpu_v86(cpu));
    cr_assert_eq(cpu->seg[S_CS].base, 0x42000u);
    cr_assert_eq(cpu->seg[S_SS].base, 0);
    cr_assert_eq(cpu->eip, 2);
    cr_assert_eq(type_of(e, SEL_MAIN), SYS_TSS32_AVAIL);
    env_free(e);
}

Test(task, page_fault_on_old_tss_before_anything_changes)
{
    /* Paging with WP: the old TSS's page read-only. The save area is
     * probed before any write (SDM 7.3 step 5): #PF in the old task. */
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    w32(e, PDIR, PTAB | 0x3);
    for (uint32_t i = 0; i < 1024; i++)
        w32(e, PTAB + i * 4, (i << 12) | (i == (TSS_MAIN >> 12) ? 0x1 : 0x3));
    cpu->cr3 = PDIR;
    w32(e, TSS_NEW + 0x1c, PDIR);
    cpu->cr0 |= CR0_PG | CR0_WP;
    mmu_flush(cpu);
    cr_assert_eq(RUN(e, false, JMP_FAR(SEL_NEW)), EXC_PF);
    cr_assert_eq(cpu->last_exc_err, PF_P | PF_W);
    cr_assert_eq(cpu->cr2, TSS_MAIN + 0x20);
    assert_unchanged(e);
    env_free(e);
}

Test(task, busy_and_privilege_checks)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cr_assert_eq(RUN(e, false, JMP_FAR(SEL_MAIN)), EXC_GP);    /* busy */
    cr_assert_eq(cpu->last_exc_err, SEL_MAIN);
    /* busy and not present: presence first (table 7-1) */
    w64(e, GDT_BASE + SEL_NEW, mkdesc(TSS_NEW, 0x67, 0x000b));
    cr_assert_eq(RUN(e, false, CALL_FAR(SEL_NEW)), EXC_NP);
    cr_assert_eq(cpu->last_exc_err, SEL_NEW);
    cr_assert_eq(RUN(e, false, CALL_FAR(SEL_GATE)), EXC_NP);  /* through the gate too */
    cr_assert_eq(cpu->last_exc_err, SEL_NEW);
    w64(e, GDT_BASE + SEL_NEW, mkdesc(TSS_NEW, 0x67, 0x008b));
    cr_assert_eq(RUN(e, false, CALL_FAR(SEL_GATE)), EXC_GP);  /* busy behind a gate */
    cr_assert_eq(cpu->last_exc_err, SEL_NEW);
    w64(e, GDT_BASE + SEL_NEW, mkdesc(TSS_NEW, 0x67, 0x0089));
    /* DPL 0 TSS and task gate from CPL 3: #GP(selector) */
    cpu->seg[S_CS].sel = SEL_CODE3;
    cpu->seg[S_CS].ar = 0xc0fb;
    cpu_update_mode(cpu);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(RUN(e, false, CALL_FAR(SEL_NEW)), EXC_GP);
    cr_assert_eq(cpu->last_exc_err, SEL_NEW);
    cr_assert_eq(RUN(e, false, CALL_FAR(SEL_GATE)), EXC_GP);
    cr_assert_eq(cpu->last_exc_err, SEL_GATE);
    env_free(e);
}

/* After the commit point, table 7-1's order and the new task's context. */
struct order_case {
    uint16_t cs, ss, ds;
    int vec;
    uint32_t err;
    uint16_t ldt;
};

Test(task, checks_after_commit_in_table_7_1_order)
{
    static const struct order_case cases[] = {
        /* 6 (CS DPL != RPL) before 7 (SS null) */
        { SEL_CODE0 | 3, 0, SEL_DATA0, EXC_TS, SEL_CODE0, 0 },
        /* 7 SS null before 11 CS not code */
        { SEL_DATA0, 0, SEL_DATA0, EXC_TS, 0, 0 },
        /* 8: SS not present -> #SS, before 9 and 11 */
        { SEL_DATA0, SEL_NPDAT, SEL_DATA0, EXC_SS, SEL_NPDAT, 0 },
        /* 9: SS DPL 3 at CPL 0 */
        { SEL_CODE0, SEL_DATA3, SEL_DATA0, EXC_TS, SEL_DATA3 & ~3, 0 },
        /* 11: CS a data segment (SS fine) */
        { SEL_DATA0, SEL_DATA0, SEL_DATA0, EXC_TS, SEL_DATA0, 0 },
        /* 12: CS not present -> #NP */
        { SEL_NPCOD, SEL_DATA0, SEL_DATA0, EXC_NP, SEL_NPCOD, 0 },
        /* 13: SS RPL != DPL (RPL 1, DPL 0) */
        { SEL_CODE0, SEL_DATA0 | 1, SEL_DATA0, EXC_TS, SEL_DATA0, 0 },
        /* 14-17: DS not present -> #NP, DS a TSS -> #TS, DS DPL 0 RPL 3 -> #TS */
        { SEL_CODE0, SEL_DATA0, SEL_NPDAT, EXC_NP, SEL_NPDAT, 0 },
        { SEL_CODE0, SEL_DATA0, SEL_MAIN, EXC_TS, SEL_MAIN, 0 },
        { SEL_CODE0, SEL_DATA0, SEL_DATA0 | 3, EXC_TS, SEL_DATA0, 0 },
        /* 5: LDT selector not an LDT, before 6 */
        { SEL_CODE0 | 3, SEL_DATA0, SEL_DATA0, EXC_TS, SEL_DATA0, SEL_DATA0 },
        /* 9 before 10 (LDT not present), 10 before 11 */
        { SEL_CODE0, SEL_DATA3, SEL_DATA0, EXC_TS, SEL_DATA3 & ~3, SEL_LDTNP },
        { SEL_DATA0, SEL_DATA0, SEL_DATA0, EXC_TS, SEL_LDTNP, SEL_LDTNP },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct env *e = env_new();
        struct cpu *cpu = &e->cpu;
        w16(e, TSS_NEW + 0x4c, cases[i].cs);
        w16(e, TSS_NEW + 0x50, cases[i].ss);
        w16(e, TSS_NEW + 0x54, cases[i].ds);
        w16(e, TSS_NEW + 0x60, cases[i].ldt);
        int vec = RUN(e, false, JMP_FAR(SEL_NEW));
        cr_assert_eq(vec, cases[i].vec, "case %zu: vector %d", i, vec);
        cr_assert_eq(cpu->last_exc_err, cases[i].err, "case %zu: error %#x", i, cpu->last_exc_err);
        /* committed: the fault belongs to the new task */
        cr_assert_eq(cpu->tr.sel, SEL_NEW, "case %zu", i);
        cr_assert_eq(cpu->eip, ENTRY, "case %zu", i);
        cr_assert_eq(cpu->r[R_ESP], STACKN, "case %zu", i);
        cr_assert_eq(cpu->seg[S_CS].sel, cases[i].cs, "case %zu", i);
        cr_assert_eq(type_of(e, SEL_MAIN), SYS_TSS32_AVAIL, "case %zu", i);
        cr_assert_eq(r32(e, TSS_MAIN + 0x20), CODE + 7, "case %zu", i);
        cr_assert(cpu->cr0 & CR0_TS, "case %zu", i);
        env_free(e);
    }
}

Test(task, conforming_cs_dpl_below_rpl_runs_at_rpl)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    w64(e, GDT_BASE + SEL_NPCOD, mkdesc(0, 0xfffff, 0xc09f));   /* conforming, DPL 0 */
    w16(e, TSS_NEW + 0x4c, SEL_NPCOD | 3);
    for (uint32_t o = 0x48; o <= 0x5c; o += 4)
        if (o != 0x4c)
            w16(e, TSS_NEW + o, SEL_DATA3);
    cr_assert_eq(RUN(e, false, CALL_FAR(SEL_NEW)), -1);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_NPCOD | 3);
    cr_assert(cpu->eflags & F_NT);
    cr_assert_eq(r16(e, TSS_NEW), SEL_MAIN);
    /* IRET (NT=1) from CPL 3 returns to the main task */
    cr_assert_eq(RUN(e, false, 0xcf), -1);
    cr_assert_eq(cpu->tr.sel, SEL_MAIN);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->eip, CODE + 7);
    cr_assert_eq(type_of(e, SEL_NEW), SYS_TSS32_AVAIL);
    cr_assert_eq(type_of(e, SEL_MAIN), SYS_TSS32_BUSY);
    cr_assert_eq(r32(e, TSS_NEW + 0x24) & F_NT, 0, "NT cleared in the saved image");
    env_free(e);
}

Test(task, t_bit_raises_db_in_the_new_task)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    w16(e, TSS_NEW + 0x64, 1);
    cr_assert_eq(RUN(e, false, JMP_FAR(SEL_NEW)), -1);
    cr_assert_eq(cpu->tr.sel, SEL_NEW);
    cr_assert_eq(cpu->eip, HANDLERS + EXC_DB * 16);
    cr_assert(cpu->dr[6] & 0x8000u, "DR6.BT");
    cr_assert_eq(cpu->r[R_ESP], STACKN - 12);
    cr_assert_eq(r32(e, STACKN - 12), ENTRY, "#DB before the first instruction");
    env_free(e);
}

Test(task, idt_task_gate_to_16bit_tss_pushes_a_word)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    for (uint32_t i = 0; i < 0x2c; i += 2)
        w16(e, TSS_16 + i, 0);
    w16(e, TSS_16 + 0x0e, 0x1234);                  /* IP */
    w16(e, TSS_16 + 0x10, F_BIT1);
    w16(e, TSS_16 + 0x12, 0x5678);                  /* AX */
    w16(e, TSS_16 + 0x1a, 0x0800);                  /* SP */
    w16(e, TSS_16 + 0x22, SEL_DATA0);
    w16(e, TSS_16 + 0x24, SEL_CODE16);
    w16(e, TSS_16 + 0x26, SEL_DATA16);
    w16(e, TSS_16 + 0x28, SEL_DATA0);
    w64(e, IDT_BASE + EXC_GP * 8, mkgate(SEL_T16, 0, 0x85));
    cpu->r[R_EAX] = SEL_NPCOD | 0x4000;              /* beyond the GDT */
    cr_assert_eq(RUN(e, true, 0x8e, 0xd8), EXC_GP);  /* mov ds, ax */
    cr_assert_eq(cpu->tr.sel, SEL_T16);
    cr_assert_eq(cpu->eip, 0x1234);
    cr_assert_eq(cpu->r[R_EAX], 0xffff5678u);
    cr_assert_eq(cpu->r[R_ESP], 0xffff07feu, "a 16-bit error code");
    cr_assert_eq(r16(e, 0x7fe), (SEL_NPCOD | 0x4000) & 0xfffc);
    cr_assert_eq(cpu->seg[S_FS].sel, 0);
    cr_assert_eq(cpu->seg[S_GS].sel, 0);
    cr_assert(cpu->eflags & F_NT);
    cr_assert_eq(r16(e, TSS_16), SEL_MAIN);
    cr_assert_eq(r32(e, TSS_MAIN + 0x20), CODE, "the fault's EIP saved");
    cr_assert_eq(type_of(e, SEL_T16), SYS_TSS16_BUSY);
    cr_assert_eq(type_of(e, SEL_MAIN), SYS_TSS32_BUSY);
    env_free(e);
}

Test(task, event_through_task_gate_has_ext)
{
    /* An external interrupt through a task gate to a busy TSS: #GP(TSS
     * selector | EXT), delivered as the next event. */
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    w64(e, IDT_BASE + 0x20 * 8, mkgate(SEL_MAIN, 0, 0x85));
    jmp_buf jb;
    cpu->fault_jmp = &jb;
    if (setjmp(jb))
        cr_assert_fail("the fault escaped delivery");
    cpu_deliver(cpu, 0x20, false, 0, false);
    cpu->fault_jmp = NULL;
    cr_assert_eq(cpu->eip, HANDLERS + EXC_GP * 16);
    cr_assert_eq(r32(e, STACK0 - 16), SEL_MAIN | 1);
    /* after the commit point too: DS not present in the new task */
    struct env *f = env_new();
    cpu = &f->cpu;
    w64(f, IDT_BASE + 0x20 * 8, mkgate(SEL_NEW, 0, 0x85));
    w16(f, TSS_NEW + 0x54, SEL_NPDAT);
    cpu->fault_jmp = &jb;
    if (setjmp(jb))
        cr_assert_fail("the fault escaped delivery");
    cpu_deliver(cpu, 0x20, false, 0, false);
    cpu->fault_jmp = NULL;
    cr_assert_eq(cpu->tr.sel, SEL_NEW);
    cr_assert_eq(cpu->eip, HANDLERS + EXC_NP * 16);
    cr_assert_eq(cpu->r[R_ESP], STACKN - 16);
    cr_assert_eq(r32(f, STACKN - 16), SEL_NPDAT | 1);
    cr_assert_eq(r32(f, STACKN - 12), ENTRY);
    env_free(e);
    env_free(f);
}

Test(task, iret_link_checks)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu->eflags |= F_NT;
    w16(e, TSS_MAIN, SEL_NEW);                 /* available: not a task to return to */
    cr_assert_eq(RUN(e, false, 0xcf), EXC_TS);
    cr_assert_eq(cpu->last_exc_err, SEL_NEW);
    w16(e, TSS_MAIN, SEL_NEW | 4);             /* in the LDT */
    cr_assert_eq(RUN(e, false, 0xcf), EXC_TS);
    cr_assert_eq(cpu->last_exc_err, SEL_NEW | 4);
    w64(e, GDT_BASE + SEL_NEW, mkdesc(TSS_NEW, 0x67, 0x0009));  /* available, not present */
    w16(e, TSS_MAIN, SEL_NEW);
    cr_assert_eq(RUN(e, false, 0xcf), EXC_NP);                  /* presence first */
    cr_assert_eq(cpu->last_exc_err, SEL_NEW);
    cr_assert_eq(cpu->tr.sel, SEL_MAIN);
    env_free(e);
}

Test(task, fault_through_task_gate_saves_rf)
{
    /* A fault delivered through a task gate saves EFLAGS with RF set in
     * the old TSS, like the image an interrupt gate pushes for a fault;
     * INT n (a software interrupt, no fault) saves it without RF. */
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    w64(e, IDT_BASE + EXC_GP * 8, mkgate(SEL_NEW, 0, 0x85));
    cpu->r[R_EAX] = SEL_NPCOD | 0x4000;              /* beyond the GDT */
    cr_assert_eq(RUN(e, true, 0x8e, 0xd8), EXC_GP);  /* mov ds, ax */
    cr_assert_eq(cpu->tr.sel, SEL_NEW);
    cr_assert_eq(r32(e, TSS_MAIN + 0x20), CODE, "the fault's EIP saved");
    cr_assert(r32(e, TSS_MAIN + 0x24) & F_RF, "RF in the saved EFLAGS of a fault");
    env_free(e);

    struct env *f = env_new();
    cpu = &f->cpu;
    w64(f, IDT_BASE + 0x40 * 8, mkgate(SEL_NEW, 0, 0x85));
    cr_assert_eq(RUN(f, true, 0xcd, 0x40), -1);      /* int 0x40 */
    cr_assert_eq(cpu->tr.sel, SEL_NEW);
    cr_assert_eq(r32(f, TSS_MAIN + 0x20), CODE + 2, "EIP after INT n saved");
    cr_assert_eq(r32(f, TSS_MAIN + 0x24) & F_RF, 0, "no RF for INT n");
    env_free(f);
}
