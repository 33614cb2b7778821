/* test_system.c - unit tests of segmentation, exception/interrupt
 * delivery and the system instructions: a small GDT/IDT/TSS is built in
 * guest RAM and single instructions are executed the way cpu_run() does
 * it (decode, handler, fault -> restore EIP/ESP -> cpu_exception()). */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/apic.h"
#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/seg.h"
#include "cpu/system.h"
#include "mem/phys.h"
#include "unit/cpu_step.h"

/* ---- guest layout ---- */
#define GDT_BASE  0x1000u
#define IDT_BASE  0x2000u
#define TSS_BASE  0x3000u
#define LDT_BASE  0x4000u
#define CODE      0x10000u   /* where test instructions run */
#define HANDLERS  0x20000u   /* handler of vector v at HANDLERS + v*16 */
#define GATE_TARGET 0x30000u
#define STACK0    0x9000u    /* ring 0 stack top (TSS.ESP0) */
#define STACK3    0x8000u    /* ring 3 stack top */

/* GDT selectors */
#define SEL_CODE16  0x08
#define SEL_CODE0   0x10
#define SEL_DATA0   0x18
#define SEL_CODE3   0x23
#define SEL_DATA3   0x2b
#define SEL_TSS     0x30
#define SEL_NP      0x38     /* data, not present */
#define SEL_CGATE   0x43     /* call gate, DPL 3, to SEL_CODE0:GATE_TARGET, 2 params */
#define SEL_RODATA  0x48
#define SEL_LDT     0x50
#define SEL_XCODE   0x58     /* execute-only code */
#define SEL_DATA16  0x60     /* base 0x50000 limit 0xffff */
#define GDT_LIMIT   0x67

#define TSS_LIMIT   (0x68 + 0x80)   /* I/O bitmap for ports 0-0x3ff + 0xff */

struct env {
    struct phys phys;
    struct cpu cpu;
    uint16_t last_port;
    uint32_t last_out;
    int outs;
};

static uint32_t fake_in(void *ctx, uint16_t port, int size)
{
    (void)ctx;
    (void)size;
    return 0xab00u + port;
}

static void fake_out(void *ctx, uint16_t port, int size, uint32_t v)
{
    struct env *e = ctx;
    (void)size;
    e->last_port = port;
    e->last_out = v;
    e->outs++;
}

static void w8(struct env *e, uint32_t a, uint8_t v) { phys_write(&e->phys, a, 1, v); }
static void w16(struct env *e, uint32_t a, uint16_t v) { phys_write(&e->phys, a, 2, v); }
static void w32(struct env *e, uint32_t a, uint32_t v) { phys_write(&e->phys, a, 4, v); }
static uint32_t r32(struct env *e, uint32_t a) { return phys_read(&e->phys, a, 4); }
static uint32_t r16(struct env *e, uint32_t a) { return phys_read(&e->phys, a, 2); }
static uint8_t r8(struct env *e, uint32_t a) { return (uint8_t)phys_read(&e->phys, a, 1); }

static void w64(struct env *e, uint32_t a, uint64_t v)
{
    w32(e, a, (uint32_t)v);
    w32(e, a + 4, (uint32_t)(v >> 32));
}

static void set_idt(struct env *e, int vec, uint8_t access)
{
    w64(e, IDT_BASE + (uint32_t)vec * 8, mkgate(SEL_CODE0, HANDLERS + (uint32_t)vec * 16, access));
}

static struct env *env_new(void)
{
    struct env *e = calloc(1, sizeof *e);
    cr_assert_not_null(e);
    cr_assert_eq(phys_init(&e->phys, 16u << 20), 0);
    struct cpu_bus bus = { .ctx = e, .io_in = fake_in, .io_out = fake_out, .intr_ack = NULL };
    cpu_init(&e->cpu, &e->phys, &bus);
    struct cpu *cpu = &e->cpu;

    /* GDT */
    w64(e, GDT_BASE + 0x00, 0);
    w64(e, GDT_BASE + 0x08, mkdesc(0, 0xffff, 0x009b));
    w64(e, GDT_BASE + 0x10, mkdesc(0, 0xfffff, 0xc09a));
    w64(e, GDT_BASE + 0x18, mkdesc(0, 0xfffff, 0xc092));
    w64(e, GDT_BASE + 0x20, mkdesc(0, 0xfffff, 0xc0fa));
    w64(e, GDT_BASE + 0x28, mkdesc(0, 0xfffff, 0xc0f2));
    w64(e, GDT_BASE + 0x30, mkdesc(TSS_BASE, TSS_LIMIT, 0x0089));
    w64(e, GDT_BASE + 0x38, mkdesc(0, 0xfffff, 0xc012));
    w64(e, GDT_BASE + 0x40, mkgate(SEL_CODE0, GATE_TARGET, 0xec) | (2ull << 32)); /* 2 parameters */
    w64(e, GDT_BASE + 0x48, mkdesc(0, 0xfffff, 0xc090));
    w64(e, GDT_BASE + 0x50, mkdesc(LDT_BASE, 0x0f, 0x0082));
    w64(e, GDT_BASE + 0x58, mkdesc(0, 0xfffff, 0xc098));
    w64(e, GDT_BASE + 0x60, mkdesc(0x50000, 0xffff, 0x0092));
    cpu->gdtr.base = GDT_BASE;
    cpu->gdtr.limit = GDT_LIMIT;

    /* IDT: 32-bit interrupt gates, DPL 0; vector 0x80 a DPL 3 trap gate. */
    for (int v = 0; v < 256; v++)
        set_idt(e, v, 0x8e);
    set_idt(e, 0x80, 0xef);
    cpu->idtr.base = IDT_BASE;
    cpu->idtr.limit = 0x7ff;

    /* TSS: ring 0 stack, I/O bitmap with port 0x81 denied. */
    w32(e, TSS_BASE + 4, STACK0);
    w16(e, TSS_BASE + 8, SEL_DATA0);
    w16(e, TSS_BASE + 0x66, 0x68);
    w8(e, TSS_BASE + 0x68 + (0x81 >> 3), 1u << (0x81 & 7));
    w8(e, TSS_BASE + 0x68 + 0x80, 0xff);

    cpu_set_flat32(cpu);
    seg_load_tr(cpu, SEL_TSS);
    cpu->eip = CODE;
    cpu->r[R_ESP] = STACK0;
    cpu->eflags = F_BIT1 | F_IF;
    return e;
}

static void env_free(struct env *e)
{
    cpu_free(&e->cpu);
    phys_free(&e->phys);
    free(e);
}

/* Go to ring 3 at CODE with an IRET from ring 0 (DS/ES nulled by it). */
static void enter_ring3(struct env *e, uint32_t eflags, uint32_t esp3)
{
    struct cpu *cpu = &e->cpu;
    uint32_t sp = STACK0 - 20;
    w32(e, sp, CODE);
    w32(e, sp + 4, SEL_CODE3);
    w32(e, sp + 8, eflags);
    w32(e, sp + 12, esp3);
    w32(e, sp + 16, SEL_DATA3);
    cpu->r[R_ESP] = sp;
    cpu->eip = CODE + 0x800;
    cr_assert_eq(RUN(e, false, 0xcf), -1);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->eip, CODE);
}

/* ---------------------------------------------------------------- */

Test(system, reset_state)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu_reset(cpu);
    cr_assert_eq(cpu->eip, 0xfff0);
    cr_assert_eq(cpu->seg[S_CS].sel, 0xf000);
    cr_assert_eq(cpu->seg[S_CS].base, 0xffff0000u);
    cr_assert_eq(cpu->cr0, 0x60000010u);
    cr_assert_eq(cpu->eflags, 2);
    cr_assert_eq(cpu->r[R_EDX] & 0xf00, 0x600);
    cr_assert(!cpu->pe);
    cr_assert(!cpu->code32);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->a20_mask, 0xffffffffu);
    env_free(e);
}

Test(system, flat32_state)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cr_assert(cpu->pe);
    cr_assert(cpu->code32);
    cr_assert(cpu->stack32);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->seg[S_DS].limit, 0xffffffffu);
    /* LTR marked the TSS busy. */
    cr_assert_eq(r8(e, GDT_BASE + SEL_TSS + 5) & 0xf, SYS_TSS32_BUSY);
    env_free(e);
}

Test(system, seg_load_ok_sets_accessed)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu->r[R_EAX] = SEL_DATA16;
    cr_assert_eq(RUN(e, false, 0x8e, 0xd8), -1);      /* mov ds, ax */
    cr_assert_eq(cpu->seg[S_DS].sel, SEL_DATA16);
    cr_assert_eq(cpu->seg[S_DS].base, 0x50000u);
    cr_assert_eq(cpu->seg[S_DS].limit, 0xffffu);
    cr_assert_eq(cpu->seg[S_DS].ar & 0xff, 0x93);
    cr_assert_eq(r8(e, GDT_BASE + SEL_DATA16 + 5), 0x93);
    /* DPL 3 data at CPL 0 is fine for DS */
    cpu->r[R_EAX] = SEL_DATA3;
    cr_assert_eq(RUN(e, false, 0x8e, 0xc0), -1);      /* mov es, ax */
    cr_assert_eq(cpu->seg[S_ES].sel, SEL_DATA3);
    env_free(e);
}

struct seg_case {
    uint8_t modrm;      /* 8E /r: D8 = DS, D0 = SS, C8 = CS */
    uint16_t sel;
    int vec;
    uint32_t err;
};

Test(system, seg_load_faults)
{
    static const struct seg_case cases[] = {
        { 0xd8, SEL_NP, EXC_NP, SEL_NP },
        { 0xd8, 0x200, EXC_GP, 0x200 },             /* beyond the GDT limit */
        { 0xd8, SEL_XCODE, EXC_GP, SEL_XCODE },     /* execute-only code */
        { 0xd8, SEL_TSS, EXC_GP, SEL_TSS },         /* system descriptor */
        { 0xd8, 0x04, EXC_GP, 0x04 },               /* LDT selector, LDTR null */
        { 0xd0, 0, EXC_GP, 0 },                     /* null SS */
        { 0xd0, SEL_RODATA, EXC_GP, SEL_RODATA },   /* read-only SS */
        { 0xd0, SEL_DATA3, EXC_GP, SEL_DATA3 & ~3 },/* RPL/DPL 3 != CPL 0 */
        { 0xd0, SEL_CODE0, EXC_GP, SEL_CODE0 },     /* code as SS */
        { 0xd0, SEL_NP, EXC_SS, SEL_NP },           /* not present SS: #SS */
        { 0xc8, SEL_CODE0, EXC_UD, 0 },             /* mov cs: #UD */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct env *e = env_new();
        struct cpu *cpu = &e->cpu;
        cpu->r[R_EAX] = cases[i].sel;
        uint8_t code[2] = { 0x8e, cases[i].modrm };
        int vec = cpu_step(&e->cpu, &e->phys, code, 2, false);
        cr_assert_eq(vec, cases[i].vec, "case %zu: vector %d", i, vec);
        cr_assert_eq(cpu->last_exc_err, cases[i].err, "case %zu: err %#x", i, cpu->last_exc_err);
        cr_assert_eq(cpu->eip, CODE);
        env_free(e);
    }
}

Test(system, null_ds_faults_on_use)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu->r[R_EAX] = 0;
    cr_assert_eq(RUN(e, false, 0x8e, 0xd8), -1);      /* mov ds, ax (null: allowed) */
    cpu->eip = CODE + 0x10;
    cr_assert_eq(RUN(e, false, 0x8b, 0x00), EXC_GP);  /* mov eax, [eax] */
    cr_assert_eq(cpu->last_exc_err, 0);
    env_free(e);
}

Test(system, ldt_load_and_use)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    w64(e, LDT_BASE + 8, mkdesc(0x60000, 0xfff, 0x00f2));   /* LDT entry 1, DPL 3 data */
    cpu->r[R_EAX] = SEL_LDT;
    cr_assert_eq(RUN(e, false, 0x0f, 0x00, 0xd0), -1);      /* lldt ax */
    cr_assert_eq(cpu->ldtr.base, LDT_BASE);
    cpu->eip = CODE;
    cpu->r[R_EAX] = 0x0f;                                    /* index 1, TI, RPL 3 */
    cr_assert_eq(RUN(e, false, 0x8e, 0xd8), -1);
    cr_assert_eq(cpu->seg[S_DS].base, 0x60000u);
    cpu->eip = CODE;
    cpu->r[R_EAX] = 0x17;                                    /* index 2: beyond LDT limit */
    cr_assert_eq(RUN(e, false, 0x8e, 0xd8), EXC_GP);
    cr_assert_eq(cpu->last_exc_err, 0x14);
    env_free(e);
}

Test(system, real_mode_seg_load_and_int)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu_reset(cpu);
    seg_load_real(cpu, S_CS, 0x1000);
    cpu->eip = 0x100;
    seg_load_real(cpu, S_SS, 0);
    cpu->r[R_ESP] = 0x800;
    cpu->eflags = F_BIT1 | F_IF | F_TF;
    cpu->r[R_EAX] = 0x1234;
    cr_assert_eq(RUN(e, false, 0x8e, 0xd8), -1);            /* mov ds, ax */
    cr_assert_eq(cpu->seg[S_DS].base, 0x12340u);

    w16(e, 0x21 * 4, 0x0010);
    w16(e, 0x21 * 4 + 2, 0x2000);
    cr_assert_eq(RUN(e, false, 0xcd, 0x21), -1);            /* int 0x21 */
    cr_assert_eq(cpu->seg[S_CS].sel, 0x2000);
    cr_assert_eq(cpu->seg[S_CS].base, 0x20000u);
    cr_assert_eq(cpu->eip, 0x10);
    cr_assert_eq(cpu->r[R_ESP], 0x7fa);
    cr_assert_eq(r16(e, 0x7fa), 0x104);
    cr_assert_eq(r16(e, 0x7fc), 0x1000);
    cr_assert_eq(r16(e, 0x7fe), F_BIT1 | F_IF | F_TF);
    cr_assert_eq(cpu->eflags & (F_IF | F_TF), 0);

    /* IRET back */
    cr_assert_eq(RUN(e, false, 0xcf), -1);
    cr_assert_eq(cpu->seg[S_CS].sel, 0x1000);
    cr_assert_eq(cpu->eip, 0x104);
    cr_assert_eq(cpu->r[R_ESP], 0x800);
    cr_assert(cpu->eflags & F_IF);
    env_free(e);
}

Test(system, pm_fault_same_privilege)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu->eflags |= F_TF;
    cpu->r[R_EAX] = SEL_NP;
    cr_assert_eq(RUN(e, true, 0x8e, 0xd8), EXC_NP);
    cr_assert_eq(cpu->eip, HANDLERS + EXC_NP * 16);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE0);
    cr_assert_eq(cpu->r[R_ESP], STACK0 - 16);
    cr_assert_eq(r32(e, STACK0 - 16), SEL_NP);              /* error code */
    cr_assert_eq(r32(e, STACK0 - 12), CODE);                /* faulting EIP */
    cr_assert_eq(r32(e, STACK0 - 8), SEL_CODE0);
    /* a fault pushes RF = 1 (SDM Vol. 3, "Instruction-Breakpoint
     * Exception Condition"); EFLAGS itself has RF clear */
    cr_assert_eq(r32(e, STACK0 - 4), F_BIT1 | F_IF | F_TF | F_RF);
    cr_assert_eq(cpu->eflags & (F_IF | F_TF | F_RF), 0);    /* interrupt gate */
    env_free(e);
}

Test(system, ud_no_error_code)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cr_assert_eq(RUN(e, true, 0x0f, 0x0b), EXC_UD);
    cr_assert_eq(cpu->eip, HANDLERS + EXC_UD * 16);
    cr_assert_eq(cpu->r[R_ESP], STACK0 - 12);
    cr_assert_eq(r32(e, STACK0 - 12), CODE);
    env_free(e);
}

Test(system, iret_to_ring3_and_int80_via_tss)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_ring3(e, F_BIT1 | F_IF, STACK3);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE3);
    cr_assert_eq(cpu->seg[S_SS].sel, SEL_DATA3);
    cr_assert_eq(cpu->r[R_ESP], STACK3);
    cr_assert(cpu->eflags & F_IF);
    /* DS/ES held DPL 0 data: nulled by the return to ring 3. */
    cr_assert_eq(cpu->seg[S_DS].sel, 0);
    cr_assert_eq(cpu->seg[S_DS].ar & AR_P, 0);

    cr_assert_eq(RUN(e, false, 0xcd, 0x80), -1);            /* int 0x80 */
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE0);
    cr_assert_eq(cpu->seg[S_SS].sel, SEL_DATA0);
    cr_assert_eq(cpu->eip, HANDLERS + 0x80 * 16);
    uint32_t sp = STACK0 - 20;
    cr_assert_eq(cpu->r[R_ESP], sp);
    cr_assert_eq(r32(e, sp), CODE + 2);
    cr_assert_eq(r32(e, sp + 4), SEL_CODE3);
    cr_assert_eq(r32(e, sp + 8), F_BIT1 | F_IF);
    cr_assert_eq(r32(e, sp + 12), STACK3);
    cr_assert_eq(r32(e, sp + 16), SEL_DATA3);
    cr_assert(cpu->eflags & F_IF);                          /* trap gate */

    cr_assert_eq(RUN(e, false, 0xcf), -1);                  /* iret */
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->eip, CODE + 2);
    cr_assert_eq(cpu->r[R_ESP], STACK3);
    env_free(e);
}

Test(system, int_n_gate_dpl_check)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_ring3(e, F_BIT1 | F_IF, STACK3);
    cr_assert_eq(RUN(e, true, 0xcd, 0x21), EXC_GP);
    cr_assert_eq(cpu->last_exc_err, 0x21 * 8 + 2);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->eip, HANDLERS + EXC_GP * 16);
    uint32_t sp = STACK0 - 24;
    cr_assert_eq(cpu->r[R_ESP], sp);
    cr_assert_eq(r32(e, sp), 0x21 * 8 + 2);
    cr_assert_eq(r32(e, sp + 4), CODE);                     /* the INT itself */
    cr_assert_eq(r32(e, sp + 8), SEL_CODE3);
    cr_assert_eq(r32(e, sp + 16), STACK3);
    env_free(e);
}

Test(system, benign_then_contributory_is_serial)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    set_idt(e, EXC_UD, 0x0e);                                /* not present */
    cr_assert_eq(RUN(e, true, 0x0f, 0x0b), EXC_UD);
    cr_assert_eq(cpu->eip, HANDLERS + EXC_NP * 16);
    cr_assert_eq(r32(e, STACK0 - 16), EXC_UD * 8 + 2 + 1);  /* IDT, EXT */
    env_free(e);
}

Test(system, double_fault)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    set_idt(e, EXC_GP, 0x0e);                                /* #GP gate not present */
    cpu->r[R_EAX] = 0x200;
    cr_assert_eq(RUN(e, true, 0x8e, 0xd8), EXC_GP);
    cr_assert_null(cpu->shutdown_reason);
    cr_assert_eq(cpu->eip, HANDLERS + EXC_DF * 16);
    cr_assert_eq(cpu->r[R_ESP], STACK0 - 16);
    cr_assert_eq(r32(e, STACK0 - 16), 0);                   /* #DF error code */
    cr_assert_eq(r32(e, STACK0 - 12), CODE);
    env_free(e);
}

Test(system, triple_fault)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    set_idt(e, EXC_GP, 0x0e);
    set_idt(e, EXC_DF, 0x0e);
    cpu->r[R_EAX] = 0x200;
    cr_assert_eq(RUN(e, true, 0x8e, 0xd8), EXC_GP);
    cr_assert_not_null(cpu->shutdown_reason);
    cr_assert(strstr(cpu->shutdown_reason, "triple fault") != NULL);
    cr_assert(strstr(cpu->shutdown_reason, "#NP") != NULL);
    env_free(e);
}

Test(system, stack_fault_in_delivery_triple)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    /* Stack pointing at an address whose push raises #SS (limit): the
     * #GP delivery then faults with a contributory #SS -> #DF, whose
     * delivery also faults -> triple fault. */
    cpu->r[R_ESP] = 8;      /* frame needs 16 bytes: wraps below 0 */
    w64(e, GDT_BASE + 0x18, mkdesc(0, 0xfff, 0x4092));      /* SS limit 4 KiB */
    seg_load(cpu, S_SS, SEL_DATA0);
    cpu->r[R_EAX] = 0x200;
    cr_assert_eq(RUN(e, true, 0x8e, 0xd8), EXC_GP);
    cr_assert_not_null(cpu->shutdown_reason);
    env_free(e);
}

Test(system, call_gate_to_ring0_and_retf)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_ring3(e, F_BIT1 | F_IF, STACK3 - 8);
    w32(e, STACK3 - 8, 0x11111111);
    w32(e, STACK3 - 4, 0x22222222);
    /* call far 0x43:0 */
    cr_assert_eq(RUN(e, false, 0x9a, 0, 0, 0, 0, SEL_CGATE, 0), -1);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE0);
    cr_assert_eq(cpu->seg[S_SS].sel, SEL_DATA0);
    cr_assert_eq(cpu->eip, GATE_TARGET);
    uint32_t sp = STACK0 - 24;
    cr_assert_eq(cpu->r[R_ESP], sp);
    cr_assert_eq(r32(e, sp), CODE + 7);
    cr_assert_eq(r32(e, sp + 4), SEL_CODE3);
    cr_assert_eq(r32(e, sp + 8), 0x11111111);
    cr_assert_eq(r32(e, sp + 12), 0x22222222);
    cr_assert_eq(r32(e, sp + 16), STACK3 - 8);
    cr_assert_eq(r32(e, sp + 20), SEL_DATA3);

    cr_assert_eq(RUN(e, false, 0xca, 0x08, 0x00), -1);      /* retf 8 */
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE3);
    cr_assert_eq(cpu->seg[S_SS].sel, SEL_DATA3);
    cr_assert_eq(cpu->eip, CODE + 7);
    cr_assert_eq(cpu->r[R_ESP], STACK3);
    env_free(e);
}

Test(system, far_call_privilege_errors)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_ring3(e, F_BIT1, STACK3);
    /* direct call to a DPL 0 code segment from ring 3 */
    cr_assert_eq(RUN(e, false, 0x9a, 0, 0, 0, 0, SEL_CODE0, 0), EXC_GP);
    cr_assert_eq(cpu->last_exc_err, SEL_CODE0);
    /* far jmp through the gate to ring 0 code: JMP cannot change CPL */
    cr_assert_eq(RUN(e, false, 0xea, 0, 0, 0, 0, SEL_CGATE, 0), EXC_GP);
    cr_assert_eq(cpu->last_exc_err, SEL_CODE0);
    cr_assert_eq(cpu->cpl, 3);
    env_free(e);
}

Test(system, far_jmp_and_call_through_gate_same_level)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    /* ring 0: the gate's target (ring 0 code) is at the current level */
    cr_assert_eq(RUN(e, false, 0xea, 0, 0, 0, 0, SEL_CGATE, 0), -1);  /* jmp far 0x43:0 */
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE0);
    cr_assert_eq(cpu->eip, GATE_TARGET);                     /* the gate's offset */
    cr_assert(cpu->end_block);

    cpu->eip = CODE;
    uint32_t sp = cpu->r[R_ESP];
    cr_assert_eq(RUN(e, false, 0x66, 0x9a, 0, 0, SEL_CGATE, 0), -1); /* o16 call far */
    cr_assert_eq(cpu->eip, GATE_TARGET);
    /* a 32-bit gate pushes 32-bit CS:EIP whatever the operand size */
    cr_assert_eq(cpu->r[R_ESP], sp - 8);
    cr_assert_eq(r32(e, sp - 8), CODE + 6);
    cr_assert_eq(r32(e, sp - 4) & 0xffff, SEL_CODE0);
    cr_assert_eq(cpu->seg[S_SS].sel, SEL_DATA0);             /* no stack switch */
    env_free(e);
}

Test(system, far_jmp_to_16bit_code)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cr_assert_eq(RUN(e, false, 0xea, 0x34, 0x12, 0, 0, SEL_CODE16, 0), -1);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE16);
    cr_assert(!cpu->code32);
    cr_assert_eq(cpu->eip, 0x1234);
    cr_assert(cpu->end_block);
    env_free(e);
}

Test(system, popf_iopl_rules)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    /* ring 0: everything */
    w32(e, STACK0 - 4, F_BIT1 | F_CF | F_IOPL);
    cpu->r[R_ESP] = STACK0 - 4;
    cr_assert_eq(RUN(e, false, 0x9d), -1);
    cr_assert_eq(cpu->eflags, F_BIT1 | F_CF | F_IOPL);

    /* ring 3, IOPL 0: IF and IOPL silently kept */
    cpu->eflags = F_BIT1 | F_IF;
    enter_ring3(e, F_BIT1 | F_IF, STACK3 - 4);
    w32(e, STACK3 - 4, F_BIT1 | F_CF | F_IOPL);
    cr_assert_eq(RUN(e, false, 0x9d), -1);
    cr_assert_eq(cpu->eflags, F_BIT1 | F_CF | F_IF);
    cr_assert_eq(cpu->r[R_ESP], STACK3);

    /* ring 3, IOPL 3: IF changes, IOPL does not */
    struct env *e2 = env_new();
    cpu = &e2->cpu;
    enter_ring3(e2, F_BIT1 | F_IF | F_IOPL, STACK3 - 4);
    w32(e2, STACK3 - 4, F_BIT1);
    cr_assert_eq(RUN(e2, false, 0x9d), -1);
    cr_assert_eq(cpu->eflags, F_BIT1 | F_IOPL);
    env_free(e2);
    env_free(e);
}

Test(system, cli_sti_rules)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu->eflags = F_BIT1;
    cr_assert_eq(RUN(e, false, 0xfb), -1);                  /* sti */
    cr_assert(cpu->eflags & F_IF);
    cr_assert_eq(cpu->inhibit_irq, 1);
    cpu->eip = CODE;
    cr_assert_eq(RUN(e, false, 0xfa), -1);                  /* cli */
    cr_assert_eq(cpu->eflags & F_IF, 0);
    enter_ring3(e, F_BIT1 | F_IF, STACK3);
    cr_assert_eq(RUN(e, false, 0xfa), EXC_GP);
    cr_assert_eq(cpu->last_exc_err, 0);
    env_free(e);
}

Test(system, io_bitmap)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu->r[R_EAX] = 0x5a;
    cr_assert_eq(RUN(e, false, 0xe6, 0x81), -1);            /* ring 0: out 0x81 ok */
    cr_assert_eq(e->last_port, 0x81);
    cpu->eip = CODE;
    cr_assert_eq(RUN(e, false, 0xe4, 0x60), -1);            /* in al, 0x60 */
    cr_assert_eq(cpu->r[R_EAX] & 0xff, 0x60);

    enter_ring3(e, F_BIT1, STACK3);
    cpu->r[R_EAX] = 0x77;
    cr_assert_eq(RUN(e, false, 0xe6, 0x80), -1);            /* allowed by the bitmap */
    cr_assert_eq(e->last_port, 0x80);
    cr_assert_eq(e->last_out, 0x77);
    cpu->eip = CODE;
    int outs = e->outs;
    cr_assert_eq(RUN(e, false, 0xe6, 0x81), EXC_GP);        /* denied */
    cr_assert_eq(cpu->last_exc_err, 0);
    cr_assert_eq(e->outs, outs);
    cpu->r[R_EDX] = 0x80;
    cr_assert_eq(RUN(e, false, 0x66, 0xed), EXC_GP);        /* in ax, dx: 0x80-0x81 */
    cpu->r[R_EDX] = 0x7f;
    cr_assert_eq(RUN(e, false, 0x66, 0xed), -1);            /* 0x7f-0x80 */
    cr_assert_eq(cpu->r[R_EAX] & 0xffff, 0xab7f);
    cpu->r[R_EDX] = 0x1000;                                 /* beyond the bitmap */
    cr_assert_eq(RUN(e, false, 0xec), EXC_GP);
    env_free(e);
}

Test(system, cpuid)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu->r[R_EAX] = 0;
    cr_assert_eq(RUN(e, false, 0x0f, 0xa2), -1);
    char vendor[13];
    memcpy(vendor, &cpu->r[R_EBX], 4);
    memcpy(vendor + 4, &cpu->r[R_EDX], 4);
    memcpy(vendor + 8, &cpu->r[R_ECX], 4);
    vendor[12] = 0;
    cr_assert_str_eq(vendor, "GenuineIntel");
    cr_assert_geq(cpu->r[R_EAX], 1);
    cpu->eip = CODE;
    cpu->r[R_EAX] = 1;
    cr_assert_eq(RUN(e, false, 0x0f, 0xa2), -1);
    cr_assert_eq((cpu->r[R_EAX] >> 8) & 0xf, 6);
    uint32_t d = cpu->r[R_EDX];
    cr_assert(d & (1u << 0));   /* FPU */
    cr_assert(d & (1u << 3));   /* PSE */
    cr_assert(d & (1u << 4));   /* TSC */
    cr_assert(d & (1u << 5));   /* MSR */
    cr_assert(d & (1u << 8));   /* CX8 */
    cr_assert(d & (1u << 11));  /* SEP */
    cr_assert(d & (1u << 13));  /* PGE */
    cr_assert(d & (1u << 15));  /* CMOV */
    cr_assert_eq(d & (1u << 6), 0);    /* no PAE */
    cr_assert_eq(d & (1u << 9), 0);    /* no APIC */
    cr_assert_eq(d & (1u << 12), 0);   /* no MTRR */
    cr_assert_eq(d & (1u << 23), 0);   /* no MMX */
    cr_assert_eq(d & (1u << 25), 0);   /* no SSE */
    cr_assert_eq(cpu->r[R_ECX], 1u << 31);  /* hypervisor present only (no APIC: no TSC deadline) */
    env_free(e);
}

/* With a local APIC attached (cpu->apic): CPUID.1 reports it and its ID,
 * IA32_APIC_BASE is the APIC's (BSP bit read-only, reserved bits #GP),
 * and cpu->apic_base follows it (cpu_apic_init() reads the BSP bit). */
Test(system, apic_attached_msr_and_cpuid)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    struct apic a;
    apic_init(&a, 3, true, NULL, NULL);
    cr_assert_eq(apic_map(&a, &e->phys), 0);
    cpu->apic = &a;
    cpu->r[R_EAX] = 1;
    cr_assert_eq(RUN(e, false, 0x0f, 0xa2), -1);
    cr_assert(cpu->r[R_EDX] & (1u << 9));
    cr_assert_eq(cpu->r[R_EBX] >> 24, 3);

    cpu->eip = CODE;
    cpu->r[R_ECX] = MSR_APIC_BASE;
    cr_assert_eq(RUN(e, false, 0x0f, 0x32), -1);
    cr_assert_eq(cpu->r[R_EAX], 0xfee00900u);
    cr_assert_eq(cpu->r[R_EDX], 0);

    cpu->eip = CODE;
    cpu->r[R_EAX] = 0xfee00801u;               /* reserved bit 0 */
    cpu->r[R_EDX] = 0;
    cr_assert_eq(RUN(e, false, 0x0f, 0x30), EXC_GP);
    cpu->r[R_EAX] = 0xfee00800u;
    cpu->r[R_EDX] = 1;                         /* above 4 GiB */
    cr_assert_eq(RUN(e, false, 0x0f, 0x30), EXC_GP);
    cr_assert_eq(apic_get_base(&a), 0xfee00900u);

    cpu->r[R_EAX] = 0xfee00000u;               /* disable (BSP bit kept) */
    cpu->r[R_EDX] = 0;
    cr_assert_eq(RUN(e, false, 0x0f, 0x30), -1);
    cr_assert(!apic_hw_enabled(&a));
    cr_assert_eq(cpu->apic_base, 0xfee00100u);
    cr_assert_eq(phys_read(&e->phys, 0xfee00030u, 4), 0xffffffffu);  /* not decoded */
    cpu->eip = CODE;
    cpu->r[R_EAX] = 0xfee00800u;               /* enable again */
    cr_assert_eq(RUN(e, false, 0x0f, 0x30), -1);
    cr_assert(apic_hw_enabled(&a));
    cr_assert_eq(cpu->apic_base, 0xfee00900u);
    cr_assert_eq(phys_read(&e->phys, 0xfee00030u, 4) & 0xff, APIC_VERSION);
    env_free(e);
}

Test(system, sysenter_sysexit)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    static const struct { uint32_t msr, val; } msrs[] = {
        { MSR_SYSENTER_CS, SEL_CODE0 }, { MSR_SYSENTER_ESP, STACK0 }, { MSR_SYSENTER_EIP, 0x12345 },
    };
    for (int i = 0; i < 3; i++) {
        cpu->eip = CODE;
        cpu->r[R_ECX] = msrs[i].msr;
        cpu->r[R_EAX] = msrs[i].val;
        cpu->r[R_EDX] = 0;
        cr_assert_eq(RUN(e, false, 0x0f, 0x30), -1);
    }
    cpu->eip = CODE;
    cpu->r[R_ECX] = MSR_SYSENTER_EIP;
    cr_assert_eq(RUN(e, false, 0x0f, 0x32), -1);
    cr_assert_eq(cpu->r[R_EAX], 0x12345);

    enter_ring3(e, F_BIT1 | F_IF, STACK3);
    cr_assert_eq(RUN(e, false, 0x0f, 0x30), EXC_GP);         /* wrmsr at ring 3 */
    cr_assert_eq(RUN(e, false, 0x0f, 0x35), EXC_GP);         /* sysexit at ring 3 */
    cr_assert_eq(RUN(e, false, 0x0f, 0x34), -1);             /* sysenter */
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE0);
    cr_assert_eq(cpu->seg[S_SS].sel, SEL_DATA0);
    cr_assert_eq(cpu->r[R_ESP], STACK0);
    cr_assert_eq(cpu->eip, 0x12345);
    cr_assert_eq(cpu->eflags & F_IF, 0);

    cpu->r[R_ECX] = 0x7000;
    cpu->r[R_EDX] = 0x10020;
    cr_assert_eq(RUN(e, false, 0x0f, 0x35), -1);             /* sysexit */
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE3);
    cr_assert_eq(cpu->seg[S_SS].sel, SEL_DATA3);
    cr_assert_eq(cpu->r[R_ESP], 0x7000);
    cr_assert_eq(cpu->eip, 0x10020);
    cr_assert(cpu->code32);
    env_free(e);

    e = env_new();
    cpu = &e->cpu;
    cr_assert_eq(RUN(e, false, 0x0f, 0x34), EXC_GP);         /* SYSENTER_CS = 0 */
    cpu->r[R_ECX] = 0x12345678;
    cr_assert_eq(RUN(e, false, 0x0f, 0x32), EXC_GP);         /* unknown MSR */
    env_free(e);
}

Test(system, mov_cr)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu->r[R_EAX] = CR0_PG | CR0_ET;                         /* PG without PE */
    cr_assert_eq(RUN(e, false, 0x0f, 0x22, 0xc0), EXC_GP);
    cpu->r[R_EAX] = CR4_PAE;
    cr_assert_eq(RUN(e, false, 0x0f, 0x22, 0xe0), EXC_GP);
    cpu->r[R_EAX] = CR4_PSE | CR4_PGE;
    cr_assert_eq(RUN(e, false, 0x0f, 0x22, 0xe0), -1);
    cr_assert_eq(cpu->cr4, CR4_PSE | CR4_PGE);
    cr_assert(cpu->end_block);
    cpu->eip = CODE;
    cpu->r[R_EAX] = 0x5000;
    cr_assert_eq(RUN(e, false, 0x0f, 0x22, 0xd8), -1);       /* mov cr3, eax */
    cr_assert_eq(cpu->cr3, 0x5000u);
    cr_assert(cpu->end_block);
    cpu->eip = CODE;
    cr_assert_eq(RUN(e, false, 0x0f, 0x20, 0xd9), -1);       /* mov ecx, cr3 */
    cr_assert_eq(cpu->r[R_ECX], 0x5000u);
    cpu->eip = CODE;
    cpu->r[R_EAX] = cpu->cr0 & ~CR0_PE;                      /* back to real mode */
    cr_assert_eq(RUN(e, false, 0x0f, 0x22, 0xc0), -1);
    cr_assert(!cpu->pe);
    cr_assert_eq(cpu->cpl, 0);

    struct env *e3 = env_new();
    enter_ring3(e3, F_BIT1, STACK3);
    cr_assert_eq(RUN(e3, false, 0x0f, 0x20, 0xc0), EXC_GP);  /* mov eax, cr0 at ring 3 */
    cr_assert_eq(RUN(e3, false, 0xf4), EXC_GP);              /* hlt at ring 3 */
    env_free(e3);
    env_free(e);
}

Test(system, hlt)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cr_assert_eq(RUN(e, false, 0xf4), -1);
    cr_assert(cpu->halted);
    cr_assert(cpu->end_block);
    cr_assert_eq(cpu->eip, CODE + 1);
    env_free(e);
}

Test(system, ltr_str_lar_lsl_verr)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cpu->r[R_EAX] = SEL_TSS;
    cr_assert_eq(RUN(e, false, 0x0f, 0x00, 0xd8), EXC_GP);  /* ltr: already busy */
    cr_assert_eq(cpu->last_exc_err, SEL_TSS);
    cr_assert_eq(RUN(e, false, 0x0f, 0x00, 0xc9), -1);      /* str ecx */
    cr_assert_eq(cpu->r[R_ECX], SEL_TSS);

    cpu->eip = CODE;
    cpu->r[R_ECX] = SEL_DATA16;
    cr_assert_eq(RUN(e, false, 0x0f, 0x03, 0xc1), -1);      /* lsl eax, ecx */
    cr_assert(cpu->eflags & F_ZF);
    cr_assert_eq(cpu->r[R_EAX], 0xffff);
    cpu->eip = CODE;
    cpu->r[R_ECX] = SEL_CODE3;
    cr_assert_eq(RUN(e, false, 0x0f, 0x02, 0xc1), -1);      /* lar eax, ecx */
    cr_assert(cpu->eflags & F_ZF);
    cr_assert_eq(cpu->r[R_EAX] & 0x00f0fe00u, 0x00c0fa00u);
    cpu->eip = CODE;
    cpu->r[R_ECX] = 0;
    cpu->r[R_EAX] = 0xdead;
    cr_assert_eq(RUN(e, false, 0x0f, 0x02, 0xc1), -1);      /* lar of null */
    cr_assert_eq(cpu->eflags & F_ZF, 0);
    cr_assert_eq(cpu->r[R_EAX], 0xdead);
    cpu->eip = CODE;
    cpu->r[R_ECX] = SEL_CGATE;
    cr_assert_eq(RUN(e, false, 0x0f, 0x03, 0xc1), -1);      /* lsl of a gate */
    cr_assert_eq(cpu->eflags & F_ZF, 0);

    cpu->eip = CODE;
    cpu->r[R_EAX] = SEL_RODATA;
    cr_assert_eq(RUN(e, false, 0x0f, 0x00, 0xe0), -1);      /* verr ax */
    cr_assert(cpu->eflags & F_ZF);
    cpu->eip = CODE;
    cr_assert_eq(RUN(e, false, 0x0f, 0x00, 0xe8), -1);      /* verw ax */
    cr_assert_eq(cpu->eflags & F_ZF, 0);
    env_free(e);
}

Test(system, lgdt_sgdt)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    w16(e, 0x500, 0x1234);
    w32(e, 0x502, 0xaabbccdd);
    cr_assert_eq(RUN(e, false, 0x0f, 0x01, 0x15, 0x00, 0x05, 0x00, 0x00), -1);  /* lgdt [0x500] */
    cr_assert_eq(cpu->gdtr.limit, 0x1234);
    cr_assert_eq(cpu->gdtr.base, 0xaabbccddu);
    cr_assert_eq(RUN(e, false, 0x0f, 0x01, 0x05, 0x00, 0x06, 0x00, 0x00), -1);  /* sgdt [0x600] */
    cr_assert_eq(r16(e, 0x600), 0x1234);
    cr_assert_eq(r32(e, 0x602), 0xaabbccddu);
    cr_assert_eq(RUN(e, false, 0x66, 0x0f, 0x01, 0x1d, 0x00, 0x05, 0x00, 0x00), -1); /* o16 lidt */
    cr_assert_eq(cpu->idtr.base, 0x00bbccddu);
    env_free(e);
}

Test(system, push_pop_sreg_and_lds)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    cr_assert_eq(RUN(e, false, 0x1e), -1);                  /* push ds */
    cr_assert_eq(cpu->r[R_ESP], STACK0 - 4);
    cr_assert_eq(r32(e, STACK0 - 4), SEL_DATA0);
    w32(e, STACK0 - 4, SEL_DATA16);
    cr_assert_eq(RUN(e, false, 0x07), -1);                  /* pop es */
    cr_assert_eq(cpu->seg[S_ES].base, 0x50000u);
    cr_assert_eq(cpu->r[R_ESP], STACK0);
    w32(e, 0x700, 0xcafef00d);
    w16(e, 0x704, SEL_DATA16);
    cpu->r[R_EBX] = 0x700;
    cr_assert_eq(RUN(e, false, 0x0f, 0xb4, 0x03), -1);      /* lfs eax, [ebx] */
    cr_assert_eq(cpu->r[R_EAX], 0xcafef00du);
    cr_assert_eq(cpu->seg[S_FS].sel, SEL_DATA16);
    cpu->r[R_EAX] = SEL_DATA0;
    cr_assert_eq(RUN(e, false, 0x8e, 0xd0), -1);            /* mov ss, ax */
    cr_assert_eq(cpu->inhibit_irq, 1);
    env_free(e);
}

Test(system, external_interrupt_ignores_gate_dpl)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_ring3(e, F_BIT1 | F_IF, STACK3);
    cpu->halted = true;
    cpu_deliver(cpu, 0x30, false, 0, false);                /* DPL 0 gate: fine */
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->eip, HANDLERS + 0x30 * 16);
    cr_assert_eq(r32(e, STACK0 - 20), CODE);
    cr_assert_eq(cpu->eflags & F_IF, 0);
    cr_assert(!cpu->halted);
    env_free(e);
}

Test(system, cpu_run_int_and_hlt)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    static const uint8_t code[] = { 0xcd, 0x80 };           /* int 0x80 */
    static const uint8_t hlt[] = { 0xf4 };
    phys_copy_in(&e->phys, CODE, code, sizeof code);
    phys_copy_in(&e->phys, HANDLERS + 0x80 * 16, hlt, sizeof hlt);
    cr_assert_eq(cpu_run(cpu, 100), CPU_EXIT_HALT);
    cr_assert_eq(cpu->eip, HANDLERS + 0x80 * 16 + 1);
    cr_assert_eq(r32(e, STACK0 - 12), CODE + 2);
    env_free(e);
}

Test(system, cpu_run_triple_fault)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    static const uint8_t code[] = { 0x8e, 0xd8 };           /* mov ds, ax */
    phys_copy_in(&e->phys, CODE, code, sizeof code);
    set_idt(e, EXC_GP, 0x0e);
    set_idt(e, EXC_DF, 0x0e);
    cpu->r[R_EAX] = 0x200;
    cr_assert_eq(cpu_run(cpu, 100), CPU_EXIT_SHUTDOWN);
    cr_assert(strstr(cpu->shutdown_reason, "triple fault") != NULL);
    env_free(e);
}

/* ---- EFLAGS.RF in the pushed image (SDM Vol. 3, "Instruction-Breakpoint
 * Exception Condition"): 1 for faults, 1 for an interrupt between two
 * iterations of a REP string instruction, else the current RF, which
 * lasts only until the next instruction starts. Each test runs both
 * engines through cpu_run(). ---- */

static int rf_vec = -1;
static int rf_ack(void *ctx)
{
    struct env *e = ctx;
    e->cpu.intr = 0;
    return rf_vec;
}

/* env with `code` at CODE, HLT at every handler, the engine chosen */
static struct env *rf_env(bool jit, const uint8_t *code, size_t n)
{
    struct env *e = env_new();
    e->cpu.use_jit = jit;
    e->cpu.bus.intr_ack = rf_ack;
    phys_copy_in(&e->phys, CODE, code, n);
    for (int v = 0; v < 256; v++)
        w8(e, HANDLERS + (uint32_t)v * 16, 0xf4);
    return e;
}

/* EFLAGS of the frame that a same-privilege delivery pushed at STACK0 */
static uint32_t pushed_eflags(struct env *e)
{
    return r32(e, STACK0 - 4);
}

Test(system, rf_pushed_for_a_fault_in_both_engines)
{
    static const uint8_t code[] = {
        0xb8, 0x01, 0x00, 0x00, 0x00,             /* mov eax,1 */
        0x31, 0xc9,                               /* xor ecx,ecx */
        0x31, 0xd2,                               /* xor edx,edx */
        0xf7, 0xf1,                               /* div ecx: #DE */
    };
    for (int jit = 0; jit < 2; jit++) {
        struct env *e = rf_env(jit, code, sizeof code);
        cr_assert_eq(cpu_run(&e->cpu, 100), CPU_EXIT_HALT);
        cr_assert_eq(e->cpu.eip, HANDLERS + EXC_DE * 16 + 1);
        cr_assert_eq(r32(e, STACK0 - 12), CODE + 9);
        cr_assert(pushed_eflags(e) & F_RF, "engine %d: RF not pushed for #DE", jit);
        cr_assert_eq(e->cpu.eflags & F_RF, 0);
        env_free(e);
    }
}

Test(system, rf_not_pushed_for_int_n_and_interrupts)
{
    static const uint8_t code[] = { 0x90, 0xcd, 0x40 };      /* nop; int 0x40 */
    for (int jit = 0; jit < 2; jit++) {
        struct env *e = rf_env(jit, code, sizeof code);
        cr_assert_eq(cpu_run(&e->cpu, 100), CPU_EXIT_HALT);
        cr_assert_eq(r32(e, STACK0 - 12), CODE + 3);
        cr_assert_eq(pushed_eflags(e) & F_RF, 0);
        env_free(e);
        /* an external interrupt between instructions */
        e = rf_env(jit, code, sizeof code);
        e->cpu.intr = 1;
        rf_vec = 0x41;
        cr_assert_eq(cpu_run(&e->cpu, 100), CPU_EXIT_HALT);
        cr_assert_eq(e->cpu.eip, HANDLERS + 0x41 * 16 + 1);
        cr_assert_eq(pushed_eflags(e) & F_RF, 0);
        env_free(e);
    }
}

/* An IRET that loads RF = 1: an interrupt taken before the next
 * instruction pushes RF = 1; the next instruction clears it, so an INT3
 * there pushes RF = 0. */
Test(system, rf_from_iret_lasts_until_the_next_instruction)
{
    static const uint8_t code[] = {
        0x68, 0x02, 0x02, 0x01, 0x00,             /* push 0x10202 (RF IF) */
        0x6a, SEL_CODE0,                          /* push SEL_CODE0 */
        0x68, 0x10, 0x00, 0x01, 0x00,             /* push CODE+0x10 */
        0xcf,                                     /* iret */
    };
    static const uint8_t int3[] = { 0xcc };
    for (int jit = 0; jit < 2; jit++) {
        /* an interrupt pending: taken right after the IRET */
        struct env *e = rf_env(jit, code, sizeof code);
        phys_copy_in(&e->phys, CODE + 0x10, int3, 1);
        e->cpu.eflags = F_BIT1;
        e->cpu.intr = 1;
        rf_vec = 0x42;
        cr_assert_eq(cpu_run(&e->cpu, 100), CPU_EXIT_HALT);
        cr_assert_eq(e->cpu.eip, HANDLERS + 0x42 * 16 + 1);
        cr_assert_eq(r32(e, STACK0 - 12), CODE + 0x10);
        cr_assert(pushed_eflags(e) & F_RF, "engine %d", jit);
        env_free(e);
        /* none pending: INT3 runs and pushes RF = 0 */
        e = rf_env(jit, code, sizeof code);
        phys_copy_in(&e->phys, CODE + 0x10, int3, 1);
        e->cpu.eflags = F_BIT1;
        cr_assert_eq(cpu_run(&e->cpu, 100), CPU_EXIT_HALT);
        cr_assert_eq(e->cpu.eip, HANDLERS + EXC_BP * 16 + 1);
        cr_assert_eq(r32(e, STACK0 - 12), CODE + 0x11);
        cr_assert_eq(pushed_eflags(e) & F_RF, 0, "engine %d", jit);
        env_free(e);
    }
}

/* REP STOSB stopped after a batch of iterations (not the last): an
 * interrupt taken there pushes RF = 1 and EIP = the REP instruction; an
 * interrupt before the first iteration, or a completed REP, leaves RF 0. */
Test(system, rf_pushed_for_an_interrupt_between_rep_iterations)
{
    static const uint8_t code[] = {
        0xf3, 0xaa,                               /* rep stosb */
        0xf4,                                     /* hlt */
    };
    for (int jit = 0; jit < 2; jit++) {
        struct env *e = rf_env(jit, code, sizeof code);
        struct cpu *cpu = &e->cpu;
        cpu->r[R_ECX] = 3000;
        cpu->r[R_EDI] = 0x60000;
        cr_assert_eq(cpu_run(cpu, 1), CPU_EXIT_BUDGET);   /* one batch */
        cr_assert_eq(cpu->eip, CODE, "engine %d: eip %x", jit, cpu->eip);
        cr_assert_lt(cpu->r[R_ECX], 3000u);
        cr_assert_gt(cpu->r[R_ECX], 0u);
        cpu->intr = 1;
        rf_vec = 0x43;
        cr_assert_eq(cpu_run(cpu, 100), CPU_EXIT_HALT);
        cr_assert_eq(cpu->eip, HANDLERS + 0x43 * 16 + 1);
        cr_assert_eq(r32(e, STACK0 - 12), CODE);
        cr_assert(pushed_eflags(e) & F_RF, "engine %d: RF not pushed", jit);
        env_free(e);

        /* before the first iteration: RF 0 */
        e = rf_env(jit, code, sizeof code);
        cpu = &e->cpu;
        cpu->r[R_ECX] = 3000;
        cpu->r[R_EDI] = 0x60000;
        cpu->intr = 1;
        cr_assert_eq(cpu_run(cpu, 100), CPU_EXIT_HALT);
        cr_assert_eq(r32(e, STACK0 - 12), CODE);
        cr_assert_eq(cpu->r[R_ECX], 3000u);
        cr_assert_eq(pushed_eflags(e) & F_RF, 0);
        env_free(e);

        /* run to the end: RF clear afterwards */
        e = rf_env(jit, code, sizeof code);
        cpu = &e->cpu;
        cpu->r[R_ECX] = 3000;
        cpu->r[R_EDI] = 0x60000;
        cr_assert_eq(cpu_run(cpu, 100), CPU_EXIT_HALT);
        cr_assert_eq(cpu->eip, CODE + 3);
        cr_assert_eq(cpu->r[R_ECX], 0);
        cr_assert_eq(cpu->eflags & F_RF, 0);
        env_free(e);
    }
}
