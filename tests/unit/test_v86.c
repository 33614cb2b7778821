/* test_v86.c - unit tests of virtual-8086 mode (src/cpu/v86.c and its
 * callers): the cases that are cheaper here than in a guest, or where
 * QEMU is no oracle - the exact state after IRET to V86 mode and after a
 * fault that stops it (EIP beyond 0xffff, the stack limit), the EFLAGS
 * bits IRET and POPF may change, the frame of an interrupt from V86 mode
 * byte by byte (32- and 16-bit gates, RF for a fault, EXT), the gate
 * target rules, the ring 0 stack checks, the I/O bitmap at IOPL 3, the
 * instructions V86 mode does not have, 8086 segment loads and limits, far
 * transfers checked before CS changes, the real-mode FPU environment
 * format, the translation key, and a V86 program in both engines through
 * cpu_run(). Instructions run the way cpu_run() runs them (decode,
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
#include "cpu/translate.h"
#include "mem/phys.h"
#include "unit/cpu_step.h"

#define GDT_BASE  0x1000u
#define IDT_BASE  0x2000u
#define TSS_BASE  0x3000u
#define CODE      0x10000u   /* ring 0 code (the IRET to V86 mode) */
#define V86_LIN   0x20000u   /* V86 code: CS 0x2000 */
#define V86_STK   0x30000u   /* V86 stack: SS 0x3000 */
#define HANDLERS  0x40000u   /* handler of vector v at HANDLERS + v*16 */
#define STACK0    0x9000u    /* ring 0 stack top (TSS.ESP0) */

#define SEL_CODE0  0x08
#define SEL_DATA0  0x10
#define SEL_CODE3  0x18      /* DPL 3 code */
#define SEL_DATA3  0x20
#define SEL_TSS    0x28
#define SEL_CONF0  0x30      /* conforming code, DPL 0 */
#define SEL_CODE1  0x38      /* code, DPL 1 */
#define SEL_SMALL  0x40      /* data, DPL 0, limit STACK0 + 0x17 (byte granular) */
#define GDT_LIMIT  0x47

#define V86_IP    0x0100u
#define F_IOPL3   F_IOPL

struct env {
    struct phys phys;
    struct cpu cpu;
};

static uint32_t fake_in(void *ctx, uint16_t port, int size)
{
    (void)ctx;
    (void)size;
    return 0xab00u + port;
}

static void w8(struct env *e, uint32_t a, uint8_t v) { phys_write(&e->phys, a, 1, v); }
static void w16(struct env *e, uint32_t a, uint16_t v) { phys_write(&e->phys, a, 2, v); }
static void w32(struct env *e, uint32_t a, uint32_t v) { phys_write(&e->phys, a, 4, v); }
static uint32_t r32(struct env *e, uint32_t a) { return phys_read(&e->phys, a, 4); }
static uint32_t r16(struct env *e, uint32_t a) { return phys_read(&e->phys, a, 2); }
static void w64(struct env *e, uint32_t a, uint64_t v)
{
    w32(e, a, (uint32_t)v);
    w32(e, a + 4, (uint32_t)(v >> 32));
}

static void set_idt(struct env *e, int vec, uint16_t sel, uint32_t off, uint8_t access)
{
    w64(e, IDT_BASE + (uint32_t)vec * 8, mkgate(sel, off, access));
}

static struct env *env_new(void)
{
    struct env *e = calloc(1, sizeof *e);
    cr_assert_not_null(e);
    cr_assert_eq(phys_init(&e->phys, 16u << 20), 0);
    struct cpu_bus bus = { .ctx = e, .io_in = fake_in };
    cpu_init(&e->cpu, &e->phys, &bus);
    struct cpu *cpu = &e->cpu;
    w64(e, GDT_BASE + 0x00, 0);
    w64(e, GDT_BASE + SEL_CODE0, mkdesc(0, 0xfffff, 0xc09b));
    w64(e, GDT_BASE + SEL_DATA0, mkdesc(0, 0xfffff, 0xc093));
    w64(e, GDT_BASE + SEL_CODE3, mkdesc(0, 0xfffff, 0xc0fb));
    w64(e, GDT_BASE + SEL_DATA3, mkdesc(0, 0xfffff, 0xc0f3));
    w64(e, GDT_BASE + SEL_TSS, mkdesc(TSS_BASE, 0x68 + 0x80, 0x0089));
    w64(e, GDT_BASE + SEL_CONF0, mkdesc(0, 0xfffff, 0xc09f));
    w64(e, GDT_BASE + SEL_CODE1, mkdesc(0, 0xfffff, 0xc0bb));
    w64(e, GDT_BASE + SEL_SMALL, mkdesc(0, STACK0 + 0x17, 0x4093));
    cpu->gdtr.base = GDT_BASE;
    cpu->gdtr.limit = GDT_LIMIT;
    /* every vector a DPL 3 interrupt gate to ring 0 (INT n from V86) */
    for (int v = 0; v < 256; v++)
        set_idt(e, v, SEL_CODE0, HANDLERS + (uint32_t)v * 16, 0xee);
    cpu->idtr.base = IDT_BASE;
    cpu->idtr.limit = 0x7ff;
    /* TSS: ring 0 stack, I/O bitmap for ports 0-0x3ff with 0x81 denied */
    w32(e, TSS_BASE + 4, STACK0);
    w16(e, TSS_BASE + 8, SEL_DATA0);
    w16(e, TSS_BASE + 0x66, 0x68);
    w8(e, TSS_BASE + 0x68 + (0x81 >> 3), 1u << (0x81 & 7));
    w8(e, TSS_BASE + 0x68 + 0x80, 0xff);
    cpu_set_flat32(cpu);
    cpu->seg[S_CS].sel = SEL_CODE0;
    for (int s = 0; s < SEG_COUNT; s++)
        if (s != S_CS)
            cpu->seg[s].sel = SEL_DATA0;
    seg_load_tr(cpu, SEL_TSS);
    cpu->eip = CODE;
    cpu->r[R_ESP] = STACK0;
    cpu->eflags = F_BIT1;
    return e;
}

static void env_free(struct env *e)
{
    cpu_free(&e->cpu);
    phys_free(&e->phys);
    free(e);
}

/* The frame of an IRET to V86 mode at STACK0 - 36. */
static void v86_frame(struct env *e, uint32_t eip, uint32_t eflags, uint32_t esp)
{
    uint32_t f = STACK0 - 36;
    w32(e, f + 0, eip);
    w32(e, f + 4, 0x2000);
    w32(e, f + 8, eflags);
    w32(e, f + 12, esp);
    w32(e, f + 16, 0xffff3000u);       /* selectors: the high words are ignored */
    w32(e, f + 20, 0x3456);
    w32(e, f + 24, 0x2345);
    w32(e, f + 28, 0x4567);
    w32(e, f + 32, 0x5678);
    e->cpu.r[R_ESP] = f;
}

/* IRET at CPL 0 into V86 mode at 2000:0100, SS:SP 3000:FFF0. */
static void enter_v86(struct env *e, uint32_t eflags)
{
    v86_frame(e, V86_IP, F_VM | F_BIT1 | eflags, 0xfff0);
    cr_assert_eq(RUN(e, false, 0xcf), -1);
    cr_assert(cpu_v86(&e->cpu));
    cr_assert_eq(e->cpu.eip, V86_IP);
}

static void assert_seg(const struct cpu *cpu, int s, uint16_t sel)
{
    const struct segment *g = &cpu->seg[s];
    cr_assert_eq(g->sel, sel, "seg %d selector %#x", s, g->sel);
    cr_assert_eq(g->base, (uint32_t)sel << 4, "seg %d base %#x", s, g->base);
    cr_assert_eq(g->limit, 0xffffu, "seg %d limit %#x", s, g->limit);
    cr_assert_eq(g->ar, 0xf3u, "seg %d access rights %#x", s, g->ar);
}

/* ---- entering V86 mode by IRET ---- */

Test(v86, iret_at_cpl0_enters_v86_with_8086_segments)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    v86_frame(e, V86_IP, F_VM | F_BIT1 | F_IOPL | F_IF | F_CF | F_AC | F_NT | F_RF, 0x1234fff0u);
    cr_assert_eq(RUN(e, false, 0xcf), -1);
    cr_assert_eq(cpu->eflags, F_VM | F_BIT1 | F_IOPL | F_IF | F_CF | F_AC | F_NT | F_RF);
    cr_assert_eq(cpu->cpl, 3);
    cr_assert(!cpu->code32 && !cpu->stack32);
    cr_assert_eq(cpu->eip, V86_IP);
    cr_assert_eq(cpu->r[R_ESP], 0x1234fff0u, "ESP is loaded whole");
    assert_seg(cpu, S_CS, 0x2000);
    assert_seg(cpu, S_SS, 0x3000);
    assert_seg(cpu, S_ES, 0x3456);
    assert_seg(cpu, S_DS, 0x2345);
    assert_seg(cpu, S_FS, 0x4567);
    assert_seg(cpu, S_GS, 0x5678);
    cr_assert(cpu->end_block);
    uint32_t k = jit_key(cpu);
    cr_assert((k & JK_VM) && (k & JK_USER) && !(k & JK_CODE32) && !(k & JK_STACK32));
    env_free(e);
}

Test(v86, iret_to_v86_faults_change_nothing)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    /* EIP beyond the new CS limit: #GP(0) */
    v86_frame(e, 0x10000, F_VM | F_BIT1, 0xfff0);
    cr_assert_eq(RUN(e, false, 0xcf), EXC_GP);
    cr_assert_eq(cpu->last_exc_err, 0);
    cr_assert_eq(cpu->eip, CODE);
    cr_assert_eq(cpu->r[R_ESP], STACK0 - 36);
    cr_assert_eq(cpu->eflags, F_BIT1);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE0);
    cr_assert_eq(cpu->seg[S_DS].sel, SEL_DATA0);
    /* ES..GS beyond the stack limit: #SS(0) */
    cpu->seg[S_SS].limit = STACK0 - 36 + 0x17;
    seg_refresh_fast(&cpu->seg[S_SS]);
    v86_frame(e, V86_IP, F_VM | F_BIT1, 0xfff0);
    cr_assert_eq(RUN(e, false, 0xcf), EXC_SS);
    cr_assert_eq(cpu->last_exc_err, 0);
    cr_assert_eq(cpu->eflags, F_BIT1);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE0);
    cr_assert_eq(cpu->r[R_ESP], STACK0 - 36);
    env_free(e);
}

Test(v86, iret_to_v86_needs_cpl0_and_32_bit_operands)
{
    /* at CPL 3 the VM bit of the image is ignored (a return to ring 3) */
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    uint32_t f = STACK0 - 20;
    w32(e, f, CODE);
    w32(e, f + 4, SEL_CODE3 | 3);
    w32(e, f + 8, F_BIT1);
    w32(e, f + 12, 0x8000);
    w32(e, f + 16, SEL_DATA3 | 3);
    cpu->r[R_ESP] = f;
    cr_assert_eq(RUN(e, false, 0xcf), -1);
    cr_assert_eq(cpu->cpl, 3);
    f = 0x8000 - 20;
    w32(e, f, CODE);
    w32(e, f + 4, SEL_CODE3 | 3);
    w32(e, f + 8, F_BIT1 | F_VM);
    cpu->r[R_ESP] = f;
    cr_assert_eq(RUN(e, false, 0xcf), -1);
    cr_assert(!cpu_v86(cpu));
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE3 | 3);
    env_free(e);
}

/* ---- the IOPL-sensitive instructions ---- */

Test(v86, iopl_sensitive_instructions_fault_below_iopl3)
{
    static const struct { const char *name; uint8_t code[3]; int len; } t[] = {
        { "cli", { 0xfa }, 1 }, { "sti", { 0xfb }, 1 }, { "pushf", { 0x9c }, 1 },
        { "pushfd", { 0x66, 0x9c }, 2 }, { "popf", { 0x9d }, 1 }, { "popfd", { 0x66, 0x9d }, 2 },
        { "int 0x40", { 0xcd, 0x40 }, 2 }, { "iret", { 0xcf }, 1 }, { "iretd", { 0x66, 0xcf }, 2 },
        { "int 3 (cd 03)", { 0xcd, 0x03 }, 2 },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++)
        for (uint32_t iopl = 0; iopl < 3; iopl++) {
            struct env *e = env_new();
            struct cpu *cpu = &e->cpu;
            enter_v86(e, iopl << 12 | F_IF);
            uint32_t fl = cpu->eflags;
            cr_assert_eq(cpu_step(&e->cpu, &e->phys, t[i].code, t[i].len, false), EXC_GP, "%s iopl %u", t[i].name,
                         iopl);
            cr_assert_eq(cpu->last_exc_err, 0);
            cr_assert_eq(cpu->eip, V86_IP);
            cr_assert_eq(cpu->r[R_ESP], 0xfff0);
            cr_assert_eq(cpu->eflags, fl, "%s changed EFLAGS", t[i].name);
            env_free(e);
        }
}

Test(v86, iopl3_popf_and_iret_keep_iopl_and_vm)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_v86(e, F_IOPL3 | F_IF);
    /* POPFD: VM 0, IOPL 0, IF 0, AC 1, NT 1 in the image */
    w32(e, V86_STK + 0xfff0, F_AC | F_NT | F_CF | F_BIT1);
    cr_assert_eq(RUN(e, false, 0x66, 0x9d), -1);
    cr_assert_eq(cpu->eflags, F_VM | F_IOPL | F_AC | F_NT | F_CF | F_BIT1);
    cr_assert_eq(cpu->r[R_ESP], 0xfff4);
    /* POPF (16 bits): FLAGS only, IOPL kept */
    cpu->eip = V86_IP;
    w16(e, V86_STK + 0xfff4, F_IF | F_ZF);
    cr_assert_eq(RUN(e, false, 0x9d), -1);
    cr_assert_eq(cpu->eflags, F_VM | F_IOPL | F_AC | F_IF | F_ZF | F_BIT1);
    /* IRETD in V86 mode: VM, IOPL kept; RF, AC, NT from the image */
    cpu->eip = V86_IP;
    cpu->r[R_ESP] = 0xff00;
    w32(e, V86_STK + 0xff00, 0x0200);
    w32(e, V86_STK + 0xff04, 0x1f00);
    w32(e, V86_STK + 0xff08, F_BIT1 | F_NT | F_RF);
    cr_assert_eq(RUN(e, false, 0x66, 0xcf), -1);
    cr_assert_eq(cpu->eflags, F_VM | F_IOPL | F_NT | F_RF | F_BIT1);
    cr_assert_eq(cpu->eip, 0x200);
    assert_seg(cpu, S_CS, 0x1f00);
    cr_assert_eq(cpu->r[R_ESP], 0xff0c);
    /* IRET with NT = 1 stays in V86 mode (no task return), 16 bits */
    cpu->eip = V86_IP;
    w16(e, V86_STK + 0xff0c, 0x0300);
    w16(e, V86_STK + 0xff0e, 0x2000);
    w16(e, V86_STK + 0xff10, F_BIT1 | F_CF);
    cr_assert_eq(RUN(e, false, 0xcf), -1);
    cr_assert_eq(cpu->eflags, F_VM | F_IOPL | F_RF | F_CF | F_BIT1, "%#x", cpu->eflags);
    cr_assert_eq(cpu->eip, 0x300);
    cr_assert_eq(cpu->r[R_ESP], 0xff12);
    /* IRETD with EIP beyond the CS limit: #GP(0), nothing changed */
    cpu->eip = V86_IP;
    w32(e, V86_STK + 0xff12, 0x10000);
    cr_assert_eq(RUN(e, false, 0x66, 0xcf), EXC_GP);
    cr_assert_eq(cpu->r[R_ESP], 0xff12);
    assert_seg(cpu, S_CS, 0x2000);
    /* PUSHFD: VM and RF are not pushed */
    cpu->eip = V86_IP;
    cr_assert_eq(RUN(e, false, 0x66, 0x9c), -1);
    cr_assert_eq(r32(e, V86_STK + 0xff0e), F_IOPL | F_CF | F_BIT1);
    /* CLI, STI */
    cpu->eip = V86_IP;
    cr_assert_eq(RUN(e, false, 0xfb), -1);
    cr_assert(cpu->eflags & F_IF);
    cpu->eip = V86_IP;
    cr_assert_eq(RUN(e, false, 0xfa), -1);
    cr_assert(!(cpu->eflags & F_IF));
    env_free(e);
}

Test(v86, int3_and_into_are_not_iopl_sensitive)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_v86(e, 0);
    cr_assert_eq(RUN(e, true, 0xcc), -1);                /* through the DPL 3 gate */
    cr_assert_eq(cpu->eip, HANDLERS + 3 * 16);
    cr_assert_eq(r32(e, STACK0 - 36), V86_IP + 1);
    env_free(e);
    e = env_new();
    cpu = &e->cpu;
    enter_v86(e, F_OF);
    cr_assert_eq(RUN(e, true, 0xce), -1);
    cr_assert_eq(cpu->eip, HANDLERS + 4 * 16);
    env_free(e);
    /* INT3 through a DPL 0 gate: #GP(vector * 8 + 2) */
    e = env_new();
    cpu = &e->cpu;
    set_idt(e, 3, SEL_CODE0, HANDLERS + 3 * 16, 0x8e);
    enter_v86(e, F_IOPL3);
    cr_assert_eq(RUN(e, false, 0xcc), EXC_GP);
    cr_assert_eq(cpu->last_exc_err, 3 * 8 + 2);
    cr_assert_eq(RUN(e, false, 0xcd, 0x03), EXC_GP);
    cr_assert_eq(cpu->last_exc_err, 3 * 8 + 2);
    env_free(e);
}

/* ---- interrupts and exceptions from V86 mode ---- */

Test(v86, fault_through_32_bit_gate_pushes_the_v86_frame)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_v86(e, F_IOPL3 | F_IF | F_NT);
    cr_assert_eq(RUN(e, true, 0xf4), EXC_GP);            /* HLT: #GP(0) */
    uint32_t f = STACK0 - 40;
    cr_assert_eq(cpu->r[R_ESP], f);
    cr_assert_eq(r32(e, f + 0), 0, "error code");
    cr_assert_eq(r32(e, f + 4), V86_IP, "EIP of the HLT");
    cr_assert_eq(r32(e, f + 8), 0x2000);
    cr_assert_eq(r32(e, f + 12), F_VM | F_RF | F_IOPL | F_IF | F_NT | F_BIT1, "%#x",
                 r32(e, f + 12));
    cr_assert_eq(r32(e, f + 16), 0xfff0);
    cr_assert_eq(r32(e, f + 20), 0x3000);
    cr_assert_eq(r32(e, f + 24), 0x3456);
    cr_assert_eq(r32(e, f + 28), 0x2345);
    cr_assert_eq(r32(e, f + 32), 0x4567);
    cr_assert_eq(r32(e, f + 36), 0x5678);
    cr_assert_eq(cpu->eip, HANDLERS + EXC_GP * 16);
    cr_assert_eq(cpu->seg[S_CS].sel, SEL_CODE0);
    cr_assert_eq(cpu->seg[S_SS].sel, SEL_DATA0);
    cr_assert_eq(cpu->cpl, 0);
    cr_assert(cpu->code32 && cpu->stack32);
    cr_assert_eq(cpu->eflags, F_IOPL | F_BIT1, "VM, NT, IF cleared: %#x", cpu->eflags);
    static const int data[4] = { S_ES, S_DS, S_FS, S_GS };
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(cpu->seg[data[i]].sel, 0);
        cr_assert_eq(cpu->seg[data[i]].ar & AR_P, 0, "a null segment");
    }
    cr_assert(!(jit_key(cpu) & JK_VM));
    env_free(e);
}

Test(v86, int_n_through_trap_gate_keeps_if)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    set_idt(e, 0x40, SEL_CODE0, HANDLERS + 0x40 * 16, 0xef);
    enter_v86(e, F_IOPL3 | F_IF | F_TF);
    cr_assert_eq(RUN(e, false, 0xcd, 0x40), -1);
    cr_assert_eq(cpu->r[R_ESP], STACK0 - 36);
    cr_assert_eq(r32(e, STACK0 - 36), V86_IP + 2);
    cr_assert_eq(r32(e, STACK0 - 28), F_VM | F_IOPL | F_IF | F_TF | F_BIT1, "no RF for INT n");
    cr_assert_eq(cpu->eflags, F_IOPL | F_IF | F_BIT1);
    env_free(e);
}

Test(v86, sixteen_bit_gate_pushes_words)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    set_idt(e, 0x41, SEL_CODE0, 0x1234, 0xe6);          /* 16-bit interrupt gate */
    enter_v86(e, F_IOPL3 | F_IF);
    for (uint32_t a = STACK0 - 40; a < STACK0; a += 4)
        w32(e, a, 0);
    cr_assert_eq(RUN(e, false, 0xcd, 0x41), -1);
    uint32_t f = STACK0 - 18;
    cr_assert_eq(cpu->r[R_ESP], f);
    static const uint16_t want[9] = { V86_IP + 2, 0x2000, (uint16_t)(F_IOPL | F_IF | F_BIT1),
                                      0xfff0, 0x3000, 0x3456, 0x2345, 0x4567, 0x5678 };
    for (int i = 0; i < 9; i++)
        cr_assert_eq(r16(e, f + 2u * (uint32_t)i), want[i], "word %d: %#x", i,
                     r16(e, f + 2u * (uint32_t)i));
    cr_assert_eq(r16(e, f - 2), 0, "nothing more");
    cr_assert_eq(cpu->eip, 0x1234);
    cr_assert_eq(cpu->seg[S_DS].sel, 0);
    cr_assert(!cpu_v86(cpu));
    env_free(e);
}

Test(v86, gate_target_must_be_a_dpl0_nonconforming_code_segment)
{
    static const uint16_t bad[] = { SEL_CODE3, SEL_CONF0, SEL_CODE1 };
    for (unsigned i = 0; i < 3; i++) {
        struct env *e = env_new();
        struct cpu *cpu = &e->cpu;
        set_idt(e, 0x42, bad[i], 0x100, 0xee);
        enter_v86(e, F_IOPL3);
        cr_assert_eq(RUN(e, false, 0xcd, 0x42), EXC_GP);
        cr_assert_eq(cpu->last_exc_err, bad[i], "INT n: EXT 0");
        cr_assert(cpu_v86(cpu));
        cr_assert_eq(cpu->eip, V86_IP);
        /* an exception (EXT 1) through such a gate: #GP(sel | 1), then
         * delivered through the #GP gate */
        set_idt(e, EXC_UD, bad[i], 0x100, 0xee);
        cr_assert_eq(RUN(e, true, 0x0f, 0x0b), EXC_UD);
        cr_assert_eq(cpu->eip, HANDLERS + EXC_GP * 16);
        cr_assert_eq(r32(e, STACK0 - 40), bad[i] | 1u);
        cr_assert_eq(r32(e, STACK0 - 36), V86_IP);
        env_free(e);
    }
}

Test(v86, ring0_stack_checks)
{
    /* SS0 null: #TS(EXT) */
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    w16(e, TSS_BASE + 8, 0);
    enter_v86(e, F_IOPL3);
    cr_assert_eq(RUN(e, false, 0xcd, 0x40), EXC_TS);
    cr_assert_eq(cpu->last_exc_err, 0);
    /* SS0 a DPL 3 segment: #TS(SS0) */
    w16(e, TSS_BASE + 8, SEL_DATA3);
    cr_assert_eq(RUN(e, false, 0xcd, 0x40), EXC_TS);
    cr_assert_eq(cpu->last_exc_err, SEL_DATA3);
    /* no room for the frame: #SS(SS0) */
    w16(e, TSS_BASE + 8, SEL_SMALL);
    w32(e, TSS_BASE + 4, 0x20);
    cr_assert_eq(RUN(e, false, 0xcd, 0x40), EXC_SS);
    cr_assert_eq(cpu->last_exc_err, SEL_SMALL);
    cr_assert(cpu_v86(cpu));
    cr_assert_eq(cpu->r[R_ESP], 0xfff0);
    assert_seg(cpu, S_DS, 0x2345);
    env_free(e);
}

/* ---- port I/O, instructions V86 mode does not have ---- */

Test(v86, io_always_checks_the_bitmap)
{
    for (uint32_t iopl = 0; iopl <= 3; iopl += 3) {
        struct env *e = env_new();
        struct cpu *cpu = &e->cpu;
        enter_v86(e, iopl << 12);
        cr_assert_eq(RUN(e, false, 0xe4, 0x80), -1);     /* in al, 0x80 */
        cr_assert_eq(cpu->r[R_EAX] & 0xff, 0x80);
        cpu->eip = V86_IP;
        cr_assert_eq(RUN(e, false, 0xe4, 0x81), EXC_GP, "iopl %u", iopl);
        cr_assert_eq(cpu->last_exc_err, 0);
        cr_assert_eq(RUN(e, false, 0xe5, 0x80), EXC_GP); /* in ax, 0x80: 0x81 too */
        cpu->r[R_EDX] = 0x400;                            /* beyond the bitmap */
        cr_assert_eq(RUN(e, false, 0xec), EXC_GP);
        env_free(e);
    }
}

Test(v86, instructions_v86_mode_does_not_have)
{
    static const struct { const char *name; uint8_t code[5]; int len; int vec; } t[] = {
        { "lar", { 0x0f, 0x02, 0xc3 }, 3, EXC_UD }, { "lsl", { 0x0f, 0x03, 0xc3 }, 3, EXC_UD },
        { "verr", { 0x0f, 0x00, 0xe0 }, 3, EXC_UD }, { "verw", { 0x0f, 0x00, 0xe8 }, 3, EXC_UD },
        { "arpl", { 0x63, 0xd8 }, 2, EXC_UD }, { "sldt", { 0x0f, 0x00, 0xc0 }, 3, EXC_UD },
        { "str", { 0x0f, 0x00, 0xc8 }, 3, EXC_UD }, { "lldt", { 0x0f, 0x00, 0xd0 }, 3, EXC_UD },
        { "ltr", { 0x0f, 0x00, 0xd8 }, 3, EXC_UD },
        { "mov eax,cr0", { 0x0f, 0x20, 0xc0 }, 3, EXC_GP },
        { "mov cr3,eax", { 0x0f, 0x22, 0xd8 }, 3, EXC_GP },
        { "mov eax,dr7", { 0x0f, 0x21, 0xf8 }, 3, EXC_GP },
        { "hlt", { 0xf4 }, 1, EXC_GP }, { "lgdt", { 0x0f, 0x01, 0x16, 0x00, 0x01 }, 5, EXC_GP },
        { "lmsw", { 0x0f, 0x01, 0xf0 }, 3, EXC_GP }, { "clts", { 0x0f, 0x06 }, 2, EXC_GP },
        { "rdmsr", { 0x0f, 0x32 }, 2, EXC_GP }, { "wbinvd", { 0x0f, 0x09 }, 2, EXC_GP },
        { "sysexit", { 0x0f, 0x35 }, 2, EXC_GP },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct env *e = env_new();
        struct cpu *cpu = &e->cpu;
        enter_v86(e, F_IOPL3);
        cr_assert_eq(cpu_step(&e->cpu, &e->phys, t[i].code, t[i].len, false), t[i].vec, "%s", t[i].name);
        cr_assert_eq(cpu->last_exc_err, 0);
        cr_assert_eq(cpu->eip, V86_IP);
        env_free(e);
    }
}

/* ---- 8086 segments, limits, far transfers ---- */

Test(v86, segment_loads_are_8086_segments)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_v86(e, 0);
    cpu->r[R_EAX] = 0xffff;                 /* a selector beyond the GDT in PM */
    cr_assert_eq(RUN(e, false, 0x8e, 0xd8), -1);        /* mov ds, ax */
    assert_seg(cpu, S_DS, 0xffff);
    cpu->eip = V86_IP;
    cr_assert_eq(RUN(e, false, 0x8e, 0xd0), -1);        /* mov ss, ax */
    assert_seg(cpu, S_SS, 0xffff);
    cr_assert(!cpu->stack32);
    /* FFFF:0010 is linear 0x100000 (no wrap at 1 MiB) */
    w32(e, 0x100000, 0xcafe1234u);
    cpu->eip = V86_IP;
    cr_assert_eq(RUN(e, false, 0x66, 0xa1, 0x10, 0x00), -1);   /* mov eax, [0x10] */
    cr_assert_eq(cpu->r[R_EAX], 0xcafe1234u);
    /* far JMP: an 8086 CS */
    cpu->eip = V86_IP;
    cr_assert_eq(RUN(e, false, 0xea, 0x34, 0x12, 0x00, 0x1f), -1);
    assert_seg(cpu, S_CS, 0x1f00);
    cr_assert_eq(cpu->eip, 0x1234);
    cr_assert_eq(cpu->cpl, 3);
    env_free(e);
}

Test(v86, limit_0xffff_and_far_transfers_beyond_it)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_v86(e, 0);
    cr_assert_eq(RUN(e, false, 0xa1, 0xff, 0xff), EXC_GP);    /* mov ax, [0xffff] */
    cr_assert_eq(cpu->last_exc_err, 0);
    cr_assert_eq(RUN(e, false, 0xa0, 0xff, 0xff), -1);        /* mov al, [0xffff] */
    cpu->eip = V86_IP;
    cpu->r[R_EBX] = 0x10000;
    cr_assert_eq(RUN(e, false, 0x67, 0x8a, 0x03), EXC_GP);    /* mov al, [ebx] */
    cpu->r[R_ESP] = 1;
    cr_assert_eq(RUN(e, false, 0x50), EXC_SS);                /* push ax at SP 1 */
    cr_assert_eq(cpu->r[R_ESP], 1);
    cpu->r[R_ESP] = 0xfff0;
    /* JMP/CALL far with a 32-bit offset beyond 0xffff: #GP(0) before CS
     * changes or anything is pushed */
    cr_assert_eq(RUN(e, false, 0x66, 0xea, 0, 0, 1, 0, 0x00, 0x1f), EXC_GP);
    assert_seg(cpu, S_CS, 0x2000);
    cr_assert_eq(RUN(e, false, 0x66, 0x9a, 0, 0, 1, 0, 0x00, 0x1f), EXC_GP);
    assert_seg(cpu, S_CS, 0x2000);
    cr_assert_eq(cpu->r[R_ESP], 0xfff0);
    cr_assert_eq(r32(e, V86_STK + 0xffec), 0, "nothing pushed");
    /* RETF popping an IP beyond the limit */
    w32(e, V86_STK + 0xfff0, 0x10000);
    w32(e, V86_STK + 0xfff4, 0x1f00);
    cr_assert_eq(RUN(e, false, 0x66, 0xcb), EXC_GP);
    assert_seg(cpu, S_CS, 0x2000);
    cr_assert_eq(cpu->r[R_ESP], 0xfff0);
    env_free(e);
}

Test(v86, fnstenv_uses_the_real_mode_format)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_v86(e, 0);
    cpu->fpu.fip = 0x1234;
    cpu->fpu.fcs = 0x2100;          /* instruction at linear 0x22234 */
    cpu->fpu.fop = 0x123;
    cr_assert_eq(RUN(e, false, 0xd9, 0x36, 0x00, 0x01), -1);  /* fnstenv [0x100] (14 bytes) */
    uint32_t b = 0x23450 + 0x100;
    cr_assert_eq(r16(e, b + 6), 0x2234, "IP: the low 16 bits of the linear address");
    cr_assert_eq(r16(e, b + 8), 0x2000 | 0x123, "bits 16-19 and the opcode");
    env_free(e);
}

Test(v86, translation_key_has_the_mode)
{
    struct env *e = env_new();
    struct cpu *cpu = &e->cpu;
    enter_v86(e, 0);
    uint32_t k = jit_key(cpu);
    /* the same segments and CPL without VM: another key */
    cpu->eflags &= ~F_VM;
    cr_assert_eq(cpu->cpl, 3);
    cr_assert_neq(jit_key(cpu), k);
    env_free(e);
}

/* ---- a V86 program in both engines ---- */

Test(v86, cpu_run_v86_program_in_both_engines)
{
    /* mov ax, 0x1234; mov ds, ax; mov [0x10], ax; inc bx; pushf (IOPL 0:
     * #GP(0)); the #GP handler is HLT */
    static const uint8_t prog[] = {
        0xb8, 0x34, 0x12, 0x8e, 0xd8, 0xa3, 0x10, 0x00, 0x43, 0x9c, 0x90,
    };
    for (int jit = 0; jit < 2; jit++) {
        struct env *e = env_new();
        struct cpu *cpu = &e->cpu;
        cpu->use_jit = jit;
        w8(e, HANDLERS + EXC_GP * 16, 0xf4);
        phys_copy_in(&e->phys, V86_LIN + V86_IP, prog, sizeof prog);
        v86_frame(e, V86_IP, F_VM | F_BIT1, 0xfff0);
        phys_copy_in(&e->phys, CODE, (const uint8_t[]){ 0xcf }, 1);
        for (int round = 0; round < 2; round++) {
            /* twice: the second time from the translations of the first */
            cr_assert_eq(cpu_run(cpu, 100), CPU_EXIT_HALT, "engine %d", jit);
            cr_assert_eq(cpu->eip, HANDLERS + EXC_GP * 16 + 1);
            uint32_t f = STACK0 - 40;
            cr_assert_eq(r32(e, f + 4), V86_IP + 9, "engine %d: EIP of the PUSHF", jit);
            cr_assert_eq(r32(e, f + 12), F_VM | F_RF | F_BIT1);
            cr_assert_eq(r32(e, f + 16), 0xfff0, "engine %d: SP before the PUSHF", jit);
            cr_assert_eq(r32(e, f + 28), 0x1234, "DS");
            cr_assert_eq(r16(e, 0x12350), 0x1234);
            cr_assert_eq(e->cpu.r[R_EBX], (uint32_t)round + 1);
            /* back to the IRET */
            cpu->halted = false;
            cpu_set_flat32(cpu);
            cpu->seg[S_CS].sel = SEL_CODE0;
            cpu->eip = CODE;
            v86_frame(e, V86_IP, F_VM | F_BIT1, 0xfff0);
        }
        env_free(e);
    }
}
