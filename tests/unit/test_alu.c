/* test_alu.c - unit tests of the integer ALU: the flag functions
 * (flags.c) and the handlers of ops_alu.c, ops_shift.c, ops_muldiv.c,
 * ops_bit.c and ops_bcd.c, driven with hand-built struct cpu / struct insn.
 *
 * Expected values were checked against a real x86 CPU running the same
 * instructions in 32-bit code; only architecturally defined flags are
 * asserted unless a comment says otherwise.
 *
 * Memory operands go through the inline TLB fast path: the test maps a few
 * linear pages (linear = physical) onto a RAM buffer by filling TLB
 * entries by hand. Built normally (make build/tests/unit/test_alu) it links
 * the core library and the RAM is a real struct phys. Built with
 * -DVSMP_ALU_STANDALONE it carries minimal stubs of the MMU slow paths and
 * cpu_raise instead, so it can link with just flags.o and the ops_*.o of
 * this area. */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/alu.h"
#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/operand.h"
#include "mem/phys.h"

#define RAM_SIZE   0x20000u   /* 128 KiB */
#define DATA       0x10000u   /* linear = physical address of test data */

/* ------------------------------------------------------------------ */
#ifdef VSMP_ALU_STANDALONE
/* Stubs of the core library, for building this test without it. RAM is a
 * plain buffer; linear = physical; a write through a segment without
 * SEGF_W raises #GP(0). */
void cpu_raise(struct cpu *cpu, int vector, uint32_t err)
{
    cpu->last_exc = vector;
    cpu->last_exc_err = err;
    longjmp(*cpu->fault_jmp, 1);
}

void cpu_raise_noerr(struct cpu *cpu, int vector)
{
    cpu_raise(cpu, vector, 0);
}

uint32_t seg_linear_slow(struct cpu *cpu, int seg, uint32_t off, int size, int write)
{
    (void)size;
    if (write && !(cpu->seg[seg].fast & SEGF_W))
        cpu_raise(cpu, EXC_GP, 0);
    return cpu->seg[seg].base + off;
}

uint32_t lin_read_slow(struct cpu *cpu, uint32_t lin, int size, int acc)
{
    uint32_t v = 0;
    (void)acc;
    memcpy(&v, cpu->phys->ram + lin, size);
    return v;
}

void lin_write_slow(struct cpu *cpu, uint32_t lin, int size, uint32_t val, int acc)
{
    (void)acc;
    memcpy(cpu->phys->ram + lin, &val, size);
}

uint64_t lin_read64(struct cpu *cpu, uint32_t lin, int acc)
{
    uint64_t v;
    (void)acc;
    memcpy(&v, cpu->phys->ram + lin, 8);
    return v;
}

void lin_write64(struct cpu *cpu, uint32_t lin, uint64_t val, int acc)
{
    (void)acc;
    memcpy(cpu->phys->ram + lin, &val, 8);
}

static int test_phys_init(struct phys *p)
{
    memset(p, 0, sizeof *p);
    p->ram = calloc(1, RAM_SIZE);
    p->ram_size = RAM_SIZE;
    return p->ram ? 0 : -1;
}

static void test_phys_free(struct phys *p)
{
    free(p->ram);
}
#else
static int test_phys_init(struct phys *p)
{
    memset(p, 0, sizeof *p);
    return phys_init(p, RAM_SIZE);
}

static void test_phys_free(struct phys *p)
{
    phys_free(p);
}
#endif

/* ------------------------------------------------------------------ */
/* Test machine: a zeroed CPU in flat 32-bit protected mode, paging off,
 * CPL 0, with the RAM pages at DATA.. mapped in the supervisor TLB. */
struct tm {
    struct cpu cpu;
    struct phys phys;
};

static struct tm *tm_new(void)
{
    struct tm *t = calloc(1, sizeof *t);
    struct cpu *cpu = &t->cpu;

    cr_assert_not_null(t);
    cr_assert_eq(test_phys_init(&t->phys), 0);
    cpu->phys = &t->phys;
    cpu->pe = true;
    cpu->code32 = true;
    cpu->stack32 = true;
    cpu->cr0 = CR0_PE | CR0_ET;
    cpu->a20_mask = 0xffffffffu;
    cpu->eflags = F_BIT1;
    cpu->last_exc = -1;
    cpu->stop_on_exception = true;
    for (int s = 0; s < SEG_COUNT; s++) {
        cpu->seg[s].base = 0;
        cpu->seg[s].limit = 0xffffffffu;
        /* read/write data (code for CS), present, DPL 0, 32-bit, 4 KiB */
        cpu->seg[s].ar = (s == S_CS ? 0xb : 0x3) | AR_S | AR_P | AR_DB | AR_G;
        cpu->seg[s].fast = s == S_CS ? SEGF_R : (SEGF_R | SEGF_W);
    }
    for (int set = 0; set < 2; set++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            cpu->tlb.set[set].read[i].tag = cpu->tlb.set[set].write[i].tag =
                cpu->tlb.set[set].code[i].tag = TLB_INVALID;
    for (uint32_t pg = DATA; pg < RAM_SIZE; pg += PAGE_SIZE) {
        struct tlb_entry e = {
            .tag = pg, .paddr = pg,
            .addend = (uintptr_t)t->phys.ram,   /* host = ram + linear */
        };
        cpu->tlb.set[0].read[tlb_index(pg)] = e;
        cpu->tlb.set[0].write[tlb_index(pg)] = e;
    }
    return t;
}

static void tm_free(struct tm *t)
{
    test_phys_free(&t->phys);
    free(t);
}

static uint32_t ram32(struct tm *t, uint32_t a)
{
    uint32_t v;
    memcpy(&v, t->phys.ram + a, 4);
    return v;
}

static void set_ram32(struct tm *t, uint32_t a, uint32_t v)
{
    memcpy(t->phys.ram + a, &v, 4);
}

/* Run one instruction. Returns -1, or the vector it raised. */
static int run(struct cpu *cpu, const struct insn *in)
{
    exec_fn t[512];
    jmp_buf jb;

    memset(t, 0, sizeof t);
    ops_alu_register(t);
    ops_shift_register(t);
    ops_muldiv_register(t);
    ops_bit_register(t);
    ops_bcd_register(t);
    cr_assert_not_null(t[in->op], "opcode %03x not registered", in->op);
    cpu->fault_jmp = &jb;
    cpu->last_exc = -1;
    if (setjmp(jb))
        return cpu->last_exc;
    t[in->op](cpu, in);
    return -1;
}

/* Instruction builders. */
static struct insn base_insn(int op, int opsize)
{
    struct insn in;
    memset(&in, 0, sizeof in);
    in.op = (uint16_t)op;
    in.opsize = (uint8_t)opsize;
    in.adsize = 32;
    in.seg = SEG_NONE;
    in.base = REG_NONE;
    in.index = REG_NONE;
    return in;
}

/* ModRM with a register operand: reg field, rm register. */
static struct insn rr(int op, int opsize, int reg, int rm)
{
    struct insn in = base_insn(op, opsize);
    in.has_modrm = 1;
    in.mod = 3;
    in.reg = (uint8_t)reg;
    in.rm = (uint8_t)rm;
    return in;
}

/* ModRM with a memory operand DS:[disp32]. */
static struct insn rmem(int op, int opsize, int reg, uint32_t disp)
{
    struct insn in = base_insn(op, opsize);
    in.has_modrm = 1;
    in.mod = 0;
    in.rm = 5;
    in.reg = (uint8_t)reg;
    in.disp = disp;
    in.seg = S_DS;
    return in;
}

/* No ModRM, immediate only. */
static struct insn noimm(int op, int opsize, uint32_t imm)
{
    struct insn in = base_insn(op, opsize);
    in.imm = imm;
    return in;
}

#define ARITH(cpu) ((cpu)->eflags & F_ARITH)
#define CF F_CF
#define PF F_PF
#define AF F_AF
#define ZF F_ZF
#define SF F_SF
#define OF F_OF

/* ================================================================== */
/* flags.c */

Test(flags, add_edges)
{
    cr_assert_eq(flags_add(0x7f, 1, 0, 0x80, 1), OF | SF | AF);
    cr_assert_eq(flags_add(0xff, 1, 0, 0x00, 1), CF | ZF | AF | PF);
    cr_assert_eq(flags_add(0x80, 0x80, 0, 0x00, 1), CF | ZF | PF | OF);
    cr_assert_eq(flags_add(0xff, 0, 1, 0x00, 1), CF | ZF | AF | PF);
    cr_assert_eq(flags_add(0x7fff, 1, 0, 0x8000, 2), OF | SF | AF | PF);
    cr_assert_eq(flags_add(0xffff, 1, 0, 0, 2), CF | ZF | AF | PF);
    cr_assert_eq(flags_add(0xffff, 0xffff, 1, 0xffff, 2), CF | SF | AF | PF);
    cr_assert_eq(flags_add(0x7fffffff, 1, 0, 0x80000000, 4), OF | SF | AF | PF);
    cr_assert_eq(flags_add(0xffffffff, 1, 0, 0, 4), CF | ZF | AF | PF);
    cr_assert_eq(flags_add(0xffffffff, 0, 1, 0, 4), CF | ZF | AF | PF);
    cr_assert_eq(flags_add(0xffffffff, 0xffffffff, 1, 0xffffffff, 4), CF | SF | AF | PF);
    cr_assert_eq(flags_add(1, 2, 0, 3, 4), PF);
    cr_assert_eq(flags_add(0, 0, 0, 0, 4), ZF | PF);
    /* upper garbage in the inputs of narrow sizes is ignored */
    cr_assert_eq(flags_add(0x1234ff, 0x5601, 0, 0x00, 1), CF | ZF | AF | PF);
}

Test(flags, sub_edges)
{
    cr_assert_eq(flags_sub(0, 1, 0, 0xff, 1), CF | SF | AF | PF);
    cr_assert_eq(flags_sub(0x80, 1, 0, 0x7f, 1), OF | AF);
    cr_assert_eq(flags_sub(0x7f, 0xff, 0, 0x80, 1), CF | OF | SF);
    cr_assert_eq(flags_sub(5, 5, 0, 0, 1), ZF | PF);
    cr_assert_eq(flags_sub(5, 5, 1, 0xff, 1), CF | SF | AF | PF);
    cr_assert_eq(flags_sub(0, 0xff, 1, 0, 1), CF | ZF | AF | PF);
    cr_assert_eq(flags_sub(0x8000, 1, 0, 0x7fff, 2), OF | AF | PF);
    cr_assert_eq(flags_sub(0, 0xffff, 1, 0, 2), CF | ZF | AF | PF);
    cr_assert_eq(flags_sub(0x80000000, 1, 0, 0x7fffffff, 4), OF | AF | PF);
    cr_assert_eq(flags_sub(0, 0xffffffff, 1, 0, 4), CF | ZF | AF | PF);
    cr_assert_eq(flags_sub(0xffffffff, 0xffffffff, 1, 0xffffffff, 4), CF | SF | AF | PF);
    cr_assert_eq(flags_sub(0x10, 1, 0, 0x0f, 4), AF | PF);
}

Test(flags, logic_szp)
{
    cr_assert_eq(flags_logic(0, 1), ZF | PF);
    cr_assert_eq(flags_logic(0x80, 1), SF);
    cr_assert_eq(flags_logic(0x100, 1), ZF | PF);
    cr_assert_eq(flags_logic(0x8000, 2), SF | PF);
    cr_assert_eq(flags_logic(0x80000003, 4), SF | PF);
    cr_assert_eq(flags_logic(0x01, 4), 0);
    cr_assert_eq(flags_szp(0xffff0000, 2), ZF | PF);
}

/* ================================================================== */
/* ops_alu.c */

Test(alu, add_adc_sub_sbb_cmp_regs)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* ADD EAX, ECX (01 /r: rm=EAX, reg=ECX) */
    c->r[R_EAX] = 0x7fffffff; c->r[R_ECX] = 1;
    in = rr(0x01, 32, R_ECX, R_EAX);
    cr_assert_eq(run(c, &in), -1);
    cr_assert_eq(c->r[R_EAX], 0x80000000);
    cr_assert_eq(ARITH(c), OF | SF | AF | PF);

    /* ADC AX, CX with CF=1 (66 11 /r): 0xffff + 0 + 1 */
    c->r[R_EAX] = 0x1234ffff; c->r[R_ECX] = 0xabcd0000; c->eflags |= CF;
    in = rr(0x11, 16, R_ECX, R_EAX);
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x12340000);
    cr_assert_eq(c->r[R_ECX], 0xabcd0000);
    cr_assert_eq(ARITH(c), CF | ZF | AF | PF);

    /* SUB BH, DL (2A /r: reg=BH(7) <- BH - DL(2)) */
    c->r[R_EBX] = 0x0000; c->r[R_EDX] = 0x01;
    in = rr(0x2a, 32, 7, 2);
    run(c, &in);
    cr_assert_eq(c->r[R_EBX], 0xff00);
    cr_assert_eq(ARITH(c), CF | SF | AF | PF);

    /* SBB EAX, imm (1D id) with CF=1: 0 - 0 - 1 */
    c->r[R_EAX] = 0; c->eflags |= CF;
    in = noimm(0x1d, 32, 0);
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xffffffff);
    cr_assert_eq(ARITH(c), CF | SF | AF | PF);

    /* SBB AL, 0x80 with CF=1: 0x7f - 0x80 - 1 = 0xfe, OF (pos - neg = neg) */
    c->r[R_EAX] = 0x7f; c->eflags |= CF;
    in = noimm(0x1c, 32, 0x80);
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xfe);
    cr_assert_eq(ARITH(c), CF | SF | OF);

    /* CMP does not store: CMP ESI, EDI (39 /r) */
    c->r[R_ESI] = 3; c->r[R_EDI] = 5;
    in = rr(0x39, 32, R_EDI, R_ESI);
    run(c, &in);
    cr_assert_eq(c->r[R_ESI], 3);
    cr_assert_eq(ARITH(c), CF | SF | AF);            /* 3-5 = 0xfffffffe */

    /* OR/AND/XOR clear CF and OF */
    c->eflags |= CF | OF;
    c->r[R_EAX] = 0xf0; c->r[R_EBX] = 0x0f;
    in = rr(0x08, 32, R_EBX, R_EAX);                 /* OR AL, BL */
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xff);
    cr_assert_eq(ARITH(c) & ~AF, SF | PF);
    in = rr(0x20, 32, R_EBX, R_EAX);                 /* AND AL, BL */
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x0f);
    cr_assert_eq(ARITH(c) & ~AF, PF);
    in = rr(0x31, 32, R_EAX, R_EAX);                 /* XOR EAX, EAX */
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0);
    cr_assert_eq(ARITH(c) & ~AF, ZF | PF);
    tm_free(t);
}

Test(alu, group1_imm_forms)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* 83 /0 ADD ECX, -1 (imm sign-extended by the decoder) */
    c->r[R_ECX] = 1;
    in = rr(0x83, 32, 0, R_ECX);
    in.imm = 0xffffffff;
    run(c, &in);
    cr_assert_eq(c->r[R_ECX], 0);
    cr_assert_eq(ARITH(c), CF | ZF | AF | PF);

    /* 66 83 /5 SUB DX, -1: 0x7fff - 0xffff = 0x8000 with borrow, OF */
    c->r[R_EDX] = 0xdead7fff;
    in = rr(0x83, 16, 5, R_EDX);
    in.imm = 0xffffffff;
    run(c, &in);
    cr_assert_eq(c->r[R_EDX], 0xdead8000);
    cr_assert_eq(ARITH(c), CF | OF | SF | PF);

    /* 80 /7 CMP AH, 0x12 and its alias 82 /7 */
    c->r[R_EAX] = 0x1200;
    in = rr(0x80, 32, 7, 4);
    in.imm = 0x12;
    run(c, &in);
    cr_assert_eq(ARITH(c), ZF | PF);
    in.op = 0x82;
    c->eflags = F_BIT1;
    run(c, &in);
    cr_assert_eq(ARITH(c), ZF | PF);
    cr_assert_eq(c->r[R_EAX], 0x1200);

    /* 81 /4 AND EBX, imm32 */
    c->r[R_EBX] = 0xffffffff;
    in = rr(0x81, 32, 4, R_EBX);
    in.imm = 0x80000001;
    run(c, &in);
    cr_assert_eq(c->r[R_EBX], 0x80000001);
    cr_assert_eq(ARITH(c) & ~AF, SF);

    /* 04 ADD AL, imm8 keeps the rest of EAX */
    c->r[R_EAX] = 0x123456f0;
    in = noimm(0x04, 32, 0x10);
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x12345600);
    cr_assert_eq(ARITH(c), CF | ZF | PF);
    tm_free(t);
}

Test(alu, memory_rmw)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* ADD [DATA], EAX */
    set_ram32(t, DATA, 0xfffffff0);
    c->r[R_EAX] = 0x20;
    in = rmem(0x01, 32, R_EAX, DATA);
    cr_assert_eq(run(c, &in), -1);
    cr_assert_eq(ram32(t, DATA), 0x10);
    cr_assert_eq(ARITH(c), CF);

    /* SUB word [DATA+4] by imm (66 81 /5) */
    set_ram32(t, DATA + 4, 0xaaaa0001);
    in = rmem(0x81, 16, 5, DATA + 4);
    in.imm = 2;
    run(c, &in);
    cr_assert_eq(ram32(t, DATA + 4), 0xaaaaffff);
    cr_assert_eq(ARITH(c), CF | SF | AF | PF);

    /* CMP byte [DATA+8], imm does not write */
    set_ram32(t, DATA + 8, 0x55);
    in = rmem(0x80, 32, 7, DATA + 8);
    in.imm = 0x55;
    run(c, &in);
    cr_assert_eq(ram32(t, DATA + 8), 0x55);
    cr_assert(c->eflags & ZF);

    /* ADD reg, mem (03 /r) */
    c->r[R_EBX] = 1;
    set_ram32(t, DATA + 12, 0x7fffffff);
    in = rmem(0x03, 32, R_EBX, DATA + 12);
    run(c, &in);
    cr_assert_eq(c->r[R_EBX], 0x80000000);
    cr_assert_eq(ARITH(c), OF | SF | AF | PF);
    tm_free(t);
}

Test(alu, faulting_write_keeps_flags)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* DS read-only: the write of ADD [mem], reg faults (#GP) after the
     * read; the flags must not have changed. */
    c->seg[S_DS].ar = 0x1 | AR_S | AR_P | AR_DB | AR_G;   /* read-only, accessed */
    c->seg[S_DS].fast = SEGF_R;
    set_ram32(t, DATA, 0xffffffff);
    c->r[R_EAX] = 1;
    c->eflags = F_BIT1 | SF | OF;
    in = rmem(0x01, 32, R_EAX, DATA);
    cr_assert_eq(run(c, &in), EXC_GP);
    cr_assert_eq(ram32(t, DATA), 0xffffffff);
    cr_assert_eq(c->eflags, F_BIT1 | SF | OF);

    /* Same for a shift and for NEG. */
    in = rmem(0xd1, 32, 4, DATA);
    cr_assert_eq(run(c, &in), EXC_GP);
    cr_assert_eq(c->eflags, F_BIT1 | SF | OF);
    in = rmem(0xf7, 32, 3, DATA);
    cr_assert_eq(run(c, &in), EXC_GP);
    cr_assert_eq(c->eflags, F_BIT1 | SF | OF);

    /* XADD to a read-only operand leaves the register alone. */
    in = rmem(0x1c1, 32, R_EAX, DATA);
    cr_assert_eq(run(c, &in), EXC_GP);
    cr_assert_eq(c->r[R_EAX], 1);

    /* CMPXCHG writes even when the compare fails, so it faults too, and
     * EAX is not loaded. */
    c->r[R_EAX] = 5;
    in = rmem(0x1b1, 32, R_ECX, DATA);
    cr_assert_eq(run(c, &in), EXC_GP);
    cr_assert_eq(c->r[R_EAX], 5);
    tm_free(t);
}

Test(alu, inc_dec_neg_not)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* INC EDX preserves CF */
    c->r[R_EDX] = 0xffffffff; c->eflags = F_BIT1 | CF;
    in = noimm(0x42, 32, 0);
    run(c, &in);
    cr_assert_eq(c->r[R_EDX], 0);
    cr_assert_eq(ARITH(c), CF | ZF | AF | PF);
    /* INC DX (16-bit) 0x7fff -> 0x8000, OF; CF stays clear */
    c->r[R_EDX] = 0x55557fff; c->eflags = F_BIT1;
    in = noimm(0x42, 16, 0);
    run(c, &in);
    cr_assert_eq(c->r[R_EDX], 0x55558000);
    cr_assert_eq(ARITH(c), OF | SF | AF | PF);
    /* DEC EDI 0x80000000 -> 0x7fffffff, OF; CF kept set */
    c->r[R_EDI] = 0x80000000; c->eflags = F_BIT1 | CF;
    in = noimm(0x4f, 32, 0);
    run(c, &in);
    cr_assert_eq(c->r[R_EDI], 0x7fffffff);
    cr_assert_eq(ARITH(c), CF | OF | AF | PF);

    /* alu_inc/alu_dec used by FE/FF */
    c->eflags = F_BIT1 | CF;
    cr_assert_eq(alu_inc(c, 0xff, 1), 0);
    cr_assert_eq(ARITH(c), CF | ZF | AF | PF);
    c->eflags = F_BIT1;
    cr_assert_eq(alu_dec(c, 0, 2), 0xffff);
    cr_assert_eq(ARITH(c), SF | AF | PF);

    /* NEG: CF = (src != 0); NEG 0x80 overflows */
    c->r[R_EBX] = 0x80;
    in = rr(0xf6, 32, 3, R_EBX);
    run(c, &in);
    cr_assert_eq(c->r[R_EBX], 0x80);
    cr_assert_eq(ARITH(c), CF | OF | SF);
    c->r[R_EBX] = 0;
    in = rr(0xf7, 32, 3, R_EBX);
    run(c, &in);
    cr_assert_eq(c->r[R_EBX], 0);
    cr_assert_eq(ARITH(c), ZF | PF);
    c->r[R_EBX] = 1;
    in = rr(0xf7, 16, 3, R_EBX);
    run(c, &in);
    cr_assert_eq(c->r[R_EBX], 0xffff);
    cr_assert_eq(ARITH(c), CF | SF | AF | PF);

    /* NOT: no flags */
    c->eflags = F_BIT1 | ZF | CF;
    c->r[R_ECX] = 0x12345678;
    in = rr(0xf7, 16, 2, R_ECX);
    run(c, &in);
    cr_assert_eq(c->r[R_ECX], 0x1234a987);
    cr_assert_eq(ARITH(c), ZF | CF);
    tm_free(t);
}

Test(alu, test_and_flag_insns)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    c->eflags = F_BIT1 | CF | OF;
    c->r[R_EAX] = 0x80; c->r[R_ECX] = 0x81;
    in = rr(0x84, 32, R_ECX, R_EAX);                /* TEST AL, CL */
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x80);
    cr_assert_eq(ARITH(c) & ~AF, SF);
    in = noimm(0xa9, 32, 0x7fffffff);               /* TEST EAX, imm32 */
    c->r[R_EAX] = 0x80000000;
    run(c, &in);
    cr_assert_eq(ARITH(c) & ~AF, ZF | PF);
    in = rr(0xf7, 32, 0, R_EAX);                    /* F7 /0 TEST EAX, imm */
    in.imm = 0x80000000;
    run(c, &in);
    cr_assert_eq(ARITH(c) & ~AF, SF | PF);
    in = rr(0xf6, 32, 1, R_EAX);                    /* F6 /1 alias */
    in.imm = 0x01;
    run(c, &in);
    cr_assert_eq(ARITH(c) & ~AF, ZF | PF);

    c->eflags = F_BIT1;
    in = noimm(0xf9, 32, 0); run(c, &in); cr_assert_eq(c->eflags, F_BIT1 | CF);     /* STC */
    in = noimm(0xf5, 32, 0); run(c, &in); cr_assert_eq(c->eflags, F_BIT1);          /* CMC */
    in = noimm(0xf5, 32, 0); run(c, &in); cr_assert_eq(c->eflags, F_BIT1 | CF);     /* CMC */
    in = noimm(0xf8, 32, 0); run(c, &in); cr_assert_eq(c->eflags, F_BIT1);          /* CLC */
    in = noimm(0xfd, 32, 0); run(c, &in); cr_assert_eq(c->eflags, F_BIT1 | F_DF);   /* STD */
    in = noimm(0xfc, 32, 0); run(c, &in); cr_assert_eq(c->eflags, F_BIT1);          /* CLD */
    tm_free(t);
}

Test(alu, cmpxchg_xadd)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* CMPXCHG ECX, EDX: equal -> ECX = EDX, ZF */
    c->r[R_EAX] = 7; c->r[R_ECX] = 7; c->r[R_EDX] = 9;
    in = rr(0x1b1, 32, R_EDX, R_ECX);
    run(c, &in);
    cr_assert_eq(c->r[R_ECX], 9);
    cr_assert_eq(c->r[R_EAX], 7);
    cr_assert_eq(ARITH(c), ZF | PF);
    /* not equal -> EAX = ECX, flags of CMP EAX, ECX */
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 9);
    cr_assert_eq(c->r[R_ECX], 9);
    cr_assert_eq(ARITH(c), CF | SF | AF);            /* 7 - 9 */
    /* byte form in memory, failing compare writes the old value back */
    set_ram32(t, DATA, 0x11223344);
    c->r[R_EAX] = 0xffffff00;
    in = rmem(0x1b0, 32, R_EBX, DATA);
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xffffff44);
    cr_assert_eq(ram32(t, DATA), 0x11223344);
    cr_assert(!(c->eflags & ZF));
    c->r[R_EBX] = 0x99;
    run(c, &in);
    cr_assert_eq(ram32(t, DATA), 0x11223399);
    cr_assert(c->eflags & ZF);

    /* XADD EBX, ECX: EBX = sum, ECX = old EBX */
    c->r[R_EBX] = 0xffffffff; c->r[R_ECX] = 2;
    in = rr(0x1c1, 32, R_ECX, R_EBX);
    run(c, &in);
    cr_assert_eq(c->r[R_EBX], 1);
    cr_assert_eq(c->r[R_ECX], 0xffffffff);
    cr_assert_eq(ARITH(c), CF | AF);
    /* XADD with the same register: ends holding the sum */
    c->r[R_EBX] = 3;
    in = rr(0x1c1, 32, R_EBX, R_EBX);
    run(c, &in);
    cr_assert_eq(c->r[R_EBX], 6);
    /* XADD byte [mem], AH */
    set_ram32(t, DATA + 16, 0x80);
    c->r[R_EAX] = 0x8000;
    in = rmem(0x1c0, 32, 4, DATA + 16);
    run(c, &in);
    cr_assert_eq(ram32(t, DATA + 16), 0);
    cr_assert_eq(c->r[R_EAX], 0x8000);
    cr_assert_eq(ARITH(c), CF | ZF | OF | PF);
    tm_free(t);
}

Test(alu, cmpxchg8b)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    set_ram32(t, DATA, 0x11111111);
    set_ram32(t, DATA + 4, 0x22222222);
    c->r[R_EAX] = 0x11111111; c->r[R_EDX] = 0x22222222;
    c->r[R_EBX] = 0xaaaaaaaa; c->r[R_ECX] = 0xbbbbbbbb;
    c->eflags = F_BIT1 | CF | SF;
    in = rmem(0x1c7, 32, 1, DATA);
    cr_assert_eq(run(c, &in), -1);
    cr_assert_eq(ram32(t, DATA), 0xaaaaaaaa);
    cr_assert_eq(ram32(t, DATA + 4), 0xbbbbbbbb);
    cr_assert_eq(c->eflags, F_BIT1 | CF | SF | ZF);   /* only ZF changes */
    /* now it differs: EDX:EAX loaded */
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xaaaaaaaa);
    cr_assert_eq(c->r[R_EDX], 0xbbbbbbbb);
    cr_assert_eq(c->eflags, F_BIT1 | CF | SF);

    /* register operand and other /digits: #UD */
    in = rr(0x1c7, 32, 1, R_EAX);
    cr_assert_eq(run(c, &in), EXC_UD);
    in = rmem(0x1c7, 32, 0, DATA);
    cr_assert_eq(run(c, &in), EXC_UD);
    in = rmem(0x1c7, 32, 6, DATA);
    cr_assert_eq(run(c, &in), EXC_UD);
    tm_free(t);
}

/* ================================================================== */
/* ops_shift.c */

/* Run a group-2 op by CL on a register; returns the result. */
static uint32_t sh(struct cpu *c, int op, int opsize, int digit, uint32_t v, uint32_t count,
                   uint32_t fl_in)
{
    struct insn in = rr(op, opsize, digit, R_EBX);
    c->r[R_EBX] = v;
    c->r[R_ECX] = count;
    c->eflags = F_BIT1 | fl_in;
    run(c, &in);
    return c->r[R_EBX];
}

Test(shift, count_zero_changes_nothing)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;

    for (int d = 0; d < 8; d++) {
        cr_assert_eq(sh(c, 0xd3, 32, d, 0x12345678, 0, CF | OF | AF | ZF), 0x12345678);
        cr_assert_eq(c->eflags, F_BIT1 | CF | OF | AF | ZF);
        /* a count of 32 is masked to 0 */
        cr_assert_eq(sh(c, 0xd3, 32, d, 0x12345678, 32, SF), 0x12345678);
        cr_assert_eq(c->eflags, F_BIT1 | SF);
        cr_assert_eq(sh(c, 0xd2, 32, d, 0x1234, 0x60, PF), 0x1234);
        cr_assert_eq(c->eflags, F_BIT1 | PF);
    }
    /* RCL of a byte by 9: a full turn, nothing changes */
    cr_assert_eq(sh(c, 0xd2, 32, 2, 0x81, 9, CF), 0x81);
    cr_assert_eq(c->eflags, F_BIT1 | CF);
    tm_free(t);
}

Test(shift, shl_shr_sar)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* SHL by 1 (D1 /4): OF = CF ^ MSB */
    in = rr(0xd1, 32, 4, R_EAX);
    c->r[R_EAX] = 0x40000000; c->eflags = F_BIT1;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x80000000);
    cr_assert_eq(ARITH(c) & ~AF, OF | SF | PF);
    c->r[R_EAX] = 0xc0000000;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x80000000);
    cr_assert_eq(ARITH(c) & ~AF, CF | SF | PF);

    /* SAL (/6) = SHL; byte by 3 */
    cr_assert_eq(sh(c, 0xd2, 32, 6, 0x31, 3, 0), 0x88);
    cr_assert_eq(ARITH(c) & ~(AF | OF), CF | SF | PF);
    /* SHL byte by 8: result 0, CF = old bit 0 */
    cr_assert_eq(sh(c, 0xd2, 32, 4, 0x01, 8, 0), 0);
    cr_assert_eq(ARITH(c) & ~(AF | OF), CF | ZF | PF);
    /* SHL word by 17 (count > size: CF undefined; result 0) */
    cr_assert_eq(sh(c, 0xd3, 16, 4, 0xffffffff, 17, 0), 0xffff0000);
    cr_assert_eq(ARITH(c) & (ZF | SF | PF), ZF | PF);

    /* SHR by 1: OF = old MSB */
    cr_assert_eq(sh(c, 0xd3, 32, 5, 0x80000001, 1, 0), 0x40000000);
    cr_assert_eq(ARITH(c) & ~AF, CF | OF | PF);
    /* SHR word by 4 */
    cr_assert_eq(sh(c, 0xd3, 16, 5, 0xabcd8008, 4, 0), 0xabcd0800);
    cr_assert_eq(ARITH(c) & ~(AF | OF), CF | PF);
    /* SHR count 0x21 is 1 after masking */
    cr_assert_eq(sh(c, 0xd3, 32, 5, 2, 0x21, CF), 1);
    cr_assert_eq(ARITH(c) & ~AF, 0);

    /* SAR: OF = 0 for count 1, sign fills */
    cr_assert_eq(sh(c, 0xd3, 32, 7, 0x80000001, 1, OF), 0xc0000000);
    cr_assert_eq(ARITH(c) & ~AF, CF | SF | PF);
    cr_assert_eq(sh(c, 0xd2, 32, 7, 0x80, 7, 0), 0xff);
    cr_assert_eq(ARITH(c) & ~(AF | OF), SF | PF);
    /* SAR byte by 31: all sign, CF = sign */
    cr_assert_eq(sh(c, 0xd2, 32, 7, 0x80, 31, 0), 0xff);
    cr_assert_eq(ARITH(c) & (CF | SF | ZF | PF), CF | SF | PF);
    cr_assert_eq(sh(c, 0xd3, 16, 7, 0x7fff, 20, 0), 0);
    cr_assert_eq(ARITH(c) & (CF | SF | ZF | PF), ZF | PF);

    /* C1 /4 imm form */
    in = rr(0xc1, 32, 4, R_EDX);
    in.imm = 4;
    c->r[R_EDX] = 0x12345678;
    run(c, &in);
    cr_assert_eq(c->r[R_EDX], 0x23456780);
    cr_assert_eq(ARITH(c) & (CF | SF | ZF | PF), CF);
    tm_free(t);
}

Test(shift, rotates)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;

    /* ROL by 1 */
    cr_assert_eq(sh(c, 0xd3, 32, 0, 0x80000000, 1, 0), 1);
    cr_assert_eq(ARITH(c), CF | OF);
    /* ROL only touches CF and OF */
    cr_assert_eq(sh(c, 0xd3, 32, 0, 0x40000000, 1, ZF | SF | AF | PF), 0x80000000);
    cr_assert_eq(ARITH(c), ZF | SF | AF | PF | OF);
    /* ROL byte by 12 = by 4 */
    cr_assert_eq(sh(c, 0xd2, 32, 0, 0x1f, 12, 0), 0xf1);
    cr_assert_eq(ARITH(c) & CF, CF);
    /* ROL byte by 8: value unchanged, CF = bit 0 (flags still update) */
    cr_assert_eq(sh(c, 0xd2, 32, 0, 0x01, 8, 0), 0x01);
    cr_assert_eq(ARITH(c) & CF, CF);
    /* ROR by 1 */
    cr_assert_eq(sh(c, 0xd3, 16, 1, 0x0001, 1, 0), 0x8000);
    cr_assert_eq(ARITH(c), CF | OF);
    cr_assert_eq(sh(c, 0xd3, 32, 1, 0x12345678, 8, 0), 0x78123456);
    cr_assert_eq(ARITH(c) & CF, 0);

    /* RCL through carry */
    cr_assert_eq(sh(c, 0xd3, 32, 2, 0x80000000, 1, CF), 1);
    cr_assert_eq(ARITH(c), CF | OF);                 /* CF=1, MSB 0 */
    cr_assert_eq(sh(c, 0xd2, 32, 2, 0x80, 2, 0), 0x01);
    cr_assert_eq(ARITH(c) & CF, 0);
    /* RCL byte by 10 = by 1 (mod 9) */
    cr_assert_eq(sh(c, 0xd2, 32, 2, 0x80, 10, 0), 0x00);
    cr_assert_eq(ARITH(c) & CF, CF);
    /* RCL word by 17 = nothing (mod 17); by 18 = by 1 */
    cr_assert_eq(sh(c, 0xd3, 16, 2, 0x8001, 17, 0), 0x8001);
    cr_assert_eq(ARITH(c), 0);
    cr_assert_eq(sh(c, 0xd3, 16, 2, 0x8001, 18, 0), 0x0002);
    cr_assert_eq(ARITH(c), CF | OF);
    /* RCL dword by 31 */
    cr_assert_eq(sh(c, 0xd3, 32, 2, 0x00000003, 31, CF), 0xc0000000);
    cr_assert_eq(ARITH(c) & CF, CF);

    /* RCR through carry */
    cr_assert_eq(sh(c, 0xd3, 32, 3, 0x00000001, 1, CF), 0x80000000);
    cr_assert_eq(ARITH(c), CF | OF);
    cr_assert_eq(sh(c, 0xd2, 32, 3, 0x01, 9, CF), 0x01);  /* mod 9 = 0 */
    cr_assert_eq(ARITH(c), CF);
    cr_assert_eq(sh(c, 0xd2, 32, 3, 0x01, 2, CF), 0xc0);
    cr_assert_eq(ARITH(c) & CF, 0);
    cr_assert_eq(sh(c, 0xd3, 16, 3, 0x0000, 20, CF), 0x2000);  /* 20 mod 17 = 3 */
    cr_assert_eq(ARITH(c) & CF, 0);
    tm_free(t);
}

Test(shift, shld_shrd)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* SHLD EAX, EDX, 8 */
    in = rr(0x1a4, 32, R_EDX, R_EAX);
    in.imm = 8;
    c->r[R_EAX] = 0x12345678; c->r[R_EDX] = 0x9abcdef0; c->eflags = F_BIT1;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x3456789a);
    cr_assert_eq(c->r[R_EDX], 0x9abcdef0);
    cr_assert_eq(ARITH(c) & (CF | ZF | SF | PF), PF);
    /* SHLD by 1: CF = old MSB, OF = sign change */
    in.imm = 1;
    c->r[R_EAX] = 0x40000000; c->r[R_EDX] = 0x80000000;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x80000001);
    cr_assert_eq(ARITH(c) & ~AF, OF | SF);
    /* count 0 (masked 32): nothing */
    in.imm = 32;
    c->eflags = F_BIT1 | CF;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x80000001);
    cr_assert_eq(c->eflags, F_BIT1 | CF);

    /* SHRD AX, DX, CL=4 */
    in = rr(0x1ad, 16, R_EDX, R_EAX);
    c->r[R_EAX] = 0xffff1238; c->r[R_EDX] = 0x0000abcd; c->r[R_ECX] = 4;
    c->eflags = F_BIT1;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xffffd123);
    cr_assert_eq(ARITH(c) & (CF | ZF | SF | PF), CF | SF);
    /* SHRD EAX, EDX, CL=16 */
    in = rr(0x1ad, 32, R_EDX, R_EAX);
    c->r[R_EAX] = 0x12345678; c->r[R_EDX] = 0x9abcdef0; c->r[R_ECX] = 16;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xdef01234);
    cr_assert_eq(ARITH(c) & (CF | ZF | SF | PF), SF);
    /* SHLD word by 16: the source */
    in = rr(0x1a5, 16, R_EDX, R_EAX);
    c->r[R_EAX] = 0x00001111; c->r[R_EDX] = 0x00002223; c->r[R_ECX] = 16;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x2223);
    cr_assert_eq(ARITH(c) & CF, CF);                 /* last bit out: bit 0 of 0x1111 */
    tm_free(t);
}

/* ================================================================== */
/* ops_muldiv.c */

Test(muldiv, mul)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* MUL BL: AX = AL * BL */
    in = rr(0xf6, 32, 4, R_EBX);
    c->r[R_EAX] = 0xffff00ff; c->r[R_EBX] = 0xff;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xfffffe01);
    cr_assert_eq(ARITH(c) & (CF | OF), CF | OF);
    c->r[R_EAX] = 0x10; c->r[R_EBX] = 0x0f;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xf0);
    cr_assert_eq(ARITH(c) & (CF | OF), 0);
    /* MUL CX: DX:AX */
    in = rr(0xf7, 16, 4, R_ECX);
    c->r[R_EAX] = 0xaaaa1234; c->r[R_ECX] = 0x100; c->r[R_EDX] = 0xbbbbffff;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xaaaa3400);
    cr_assert_eq(c->r[R_EDX], 0xbbbb0012);
    cr_assert_eq(ARITH(c) & (CF | OF), CF | OF);
    /* MUL ECX: EDX:EAX */
    in = rr(0xf7, 32, 4, R_ECX);
    c->r[R_EAX] = 0xffffffff; c->r[R_ECX] = 0xffffffff;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 1);
    cr_assert_eq(c->r[R_EDX], 0xfffffffe);
    cr_assert_eq(ARITH(c) & (CF | OF), CF | OF);
    tm_free(t);
}

Test(muldiv, imul)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* IMUL BL: -1 * -1 = 1 fits */
    in = rr(0xf6, 32, 5, R_EBX);
    c->r[R_EAX] = 0xff; c->r[R_EBX] = 0xff;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x0001);
    cr_assert_eq(ARITH(c) & (CF | OF), 0);
    /* -128 * -1 = 128 does not fit in a byte */
    c->r[R_EAX] = 0x80; c->r[R_EBX] = 0xff;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x0080);
    cr_assert_eq(ARITH(c) & (CF | OF), CF | OF);
    /* IMUL ECX: -2 * 3 = -6, EDX = sign */
    in = rr(0xf7, 32, 5, R_ECX);
    c->r[R_EAX] = 0xfffffffe; c->r[R_ECX] = 3;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xfffffffa);
    cr_assert_eq(c->r[R_EDX], 0xffffffff);
    cr_assert_eq(ARITH(c) & (CF | OF), 0);
    /* IMUL CX word: 0x4000 * 2 = 0x8000 overflows signed 16 */
    in = rr(0xf7, 16, 5, R_ECX);
    c->r[R_EAX] = 0x4000; c->r[R_ECX] = 2; c->r[R_EDX] = 0x12340000;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x8000);
    cr_assert_eq(c->r[R_EDX], 0x12340000);
    cr_assert_eq(ARITH(c) & (CF | OF), CF | OF);

    /* 0F AF IMUL ESI, EDI */
    in = rr(0x1af, 32, R_ESI, R_EDI);
    c->r[R_ESI] = 0x10000; c->r[R_EDI] = 0x10000;
    run(c, &in);
    cr_assert_eq(c->r[R_ESI], 0);
    cr_assert_eq(ARITH(c) & (CF | OF), CF | OF);
    c->r[R_ESI] = 0xffffffff; c->r[R_EDI] = 0x7fffffff;
    run(c, &in);
    cr_assert_eq(c->r[R_ESI], 0x80000001);
    cr_assert_eq(ARITH(c) & (CF | OF), 0);
    /* 6B IMUL DX, BX, -3 (imm sign-extended) */
    in = rr(0x6b, 16, R_EDX, R_EBX);
    in.imm = 0xfffffffd;
    c->r[R_EBX] = 0x1000; c->r[R_EDX] = 0xaaaa0000;
    run(c, &in);
    cr_assert_eq(c->r[R_EDX], 0xaaaad000);
    cr_assert_eq(ARITH(c) & (CF | OF), 0);
    /* 69 IMUL EAX, ECX, imm32 */
    in = rr(0x69, 32, R_EAX, R_ECX);
    in.imm = 0x40000000;
    c->r[R_ECX] = 4;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0);
    cr_assert_eq(ARITH(c) & (CF | OF), CF | OF);
    tm_free(t);
}

Test(muldiv, div_idiv)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* DIV BL: AX / BL */
    in = rr(0xf6, 32, 6, R_EBX);
    c->r[R_EAX] = 0x1234ffff; c->r[R_EBX] = 0x10;
    cr_assert_eq(run(c, &in), EXC_DE);               /* 0xffff/0x10 > 0xff */
    cr_assert_eq(c->r[R_EAX], 0x1234ffff);
    c->r[R_EAX] = 0x0fff;
    cr_assert_eq(run(c, &in), -1);
    cr_assert_eq(c->r[R_EAX], 0x0fff);               /* q 0xff, r 0x0f */
    /* DIV ECX: EDX:EAX */
    in = rr(0xf7, 32, 6, R_ECX);
    c->r[R_EDX] = 1; c->r[R_EAX] = 5; c->r[R_ECX] = 2;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x80000002);
    cr_assert_eq(c->r[R_EDX], 1);
    c->r[R_EDX] = 2; c->r[R_EAX] = 0; c->r[R_ECX] = 2;
    cr_assert_eq(run(c, &in), EXC_DE);               /* quotient 2^32 */
    cr_assert_eq(c->r[R_EDX], 2);
    c->r[R_ECX] = 0;
    cr_assert_eq(run(c, &in), EXC_DE);               /* divide by zero */
    /* DIV CX word */
    in = rr(0xf7, 16, 6, R_ECX);
    c->r[R_EDX] = 0xaaaa0001; c->r[R_EAX] = 0xbbbb0000; c->r[R_ECX] = 0x10003;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xbbbb5555);
    cr_assert_eq(c->r[R_EDX], 0xaaaa0001);

    /* IDIV: truncation toward zero, remainder has the dividend's sign */
    in = rr(0xf6, 32, 7, R_EBX);
    c->r[R_EAX] = 0xfff9; c->r[R_EBX] = 2;           /* -7 / 2 */
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xfffd);               /* q -3, r -1 */
    c->r[R_EAX] = 0xff80; c->r[R_EBX] = 0xff;        /* -128 / -1 = 128: #DE */
    cr_assert_eq(run(c, &in), EXC_DE);
    cr_assert_eq(c->r[R_EAX], 0xff80);
    c->r[R_EAX] = 0x0080; c->r[R_EBX] = 0xff;        /* 128 / -1 = -128 fits */
    cr_assert_eq(run(c, &in), -1);
    cr_assert_eq(c->r[R_EAX], 0x0080);
    /* IDIV ECX: INT_MIN / -1 */
    in = rr(0xf7, 32, 7, R_ECX);
    c->r[R_EDX] = 0xffffffff; c->r[R_EAX] = 0x80000000; c->r[R_ECX] = 0xffffffff;
    cr_assert_eq(run(c, &in), EXC_DE);
    cr_assert_eq(c->r[R_EAX], 0x80000000);
    /* the 64-bit INT64_MIN / -1 must not trap the host */
    c->r[R_EDX] = 0x80000000; c->r[R_EAX] = 0;
    cr_assert_eq(run(c, &in), EXC_DE);
    c->r[R_EDX] = 0; c->r[R_EAX] = 100; c->r[R_ECX] = 0xfffffff9;   /* 100 / -7 */
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0xfffffff2);           /* -14 */
    cr_assert_eq(c->r[R_EDX], 2);
    c->r[R_ECX] = 0;
    cr_assert_eq(run(c, &in), EXC_DE);
    /* IDIV CX: -32768 * 1 remains in range, 32768 does not */
    in = rr(0xf7, 16, 7, R_ECX);
    c->r[R_EDX] = 0xffff; c->r[R_EAX] = 0x8000; c->r[R_ECX] = 1;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX] & 0xffff, 0x8000);
    cr_assert_eq(c->r[R_EDX] & 0xffff, 0);
    c->r[R_EDX] = 0; c->r[R_EAX] = 0x8000; c->r[R_ECX] = 1;
    cr_assert_eq(run(c, &in), EXC_DE);
    tm_free(t);
}

/* ================================================================== */
/* ops_bit.c */

Test(bit, register_forms)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    /* BT EAX, ECX: offset masked to 5 bits */
    in = rr(0x1a3, 32, R_ECX, R_EAX);
    c->r[R_EAX] = 0x80000000; c->r[R_ECX] = 63; c->eflags = F_BIT1 | ZF;
    run(c, &in);
    cr_assert_eq(ARITH(c) & (CF | ZF), CF | ZF);     /* ZF unaffected */
    /* BTS/BTR/BTC */
    in = rr(0x1ab, 32, R_ECX, R_EAX);
    c->r[R_ECX] = 1;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x80000002);
    cr_assert_eq(ARITH(c) & CF, 0);
    in = rr(0x1b3, 16, R_ECX, R_EAX);
    c->r[R_ECX] = 0x11;                              /* bit 1 of AX */
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x80000000);
    cr_assert_eq(ARITH(c) & CF, CF);
    in = rr(0x1bb, 32, R_ECX, R_EAX);
    c->r[R_ECX] = 31;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0);
    cr_assert_eq(ARITH(c) & CF, CF);
    /* 0F BA /5 BTS EDX, imm */
    in = rr(0x1ba, 32, 5, R_EDX);
    in.imm = 36;
    c->r[R_EDX] = 0;
    run(c, &in);
    cr_assert_eq(c->r[R_EDX], 0x10);
    cr_assert_eq(ARITH(c) & CF, 0);
    /* 0F BA /3: #UD */
    in = rr(0x1ba, 32, 3, R_EDX);
    cr_assert_eq(run(c, &in), EXC_UD);
    tm_free(t);
}

Test(bit, memory_offsets)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    set_ram32(t, DATA + 0x100, 0);
    set_ram32(t, DATA + 0x104, 0);
    set_ram32(t, DATA + 0xfc, 0);
    /* BTS [DATA+0x100], ECX=35: dword at +4, bit 3 */
    in = rmem(0x1ab, 32, R_ECX, DATA + 0x100);
    c->r[R_ECX] = 35;
    run(c, &in);
    cr_assert_eq(ram32(t, DATA + 0x104), 8);
    cr_assert_eq(ram32(t, DATA + 0x100), 0);
    /* negative offset -1: dword at -4, bit 31 */
    c->r[R_ECX] = 0xffffffff;
    run(c, &in);
    cr_assert_eq(ram32(t, DATA + 0xfc), 0x80000000);
    /* 16-bit: offset sign-extended from 16 bits: 0xfff0 = -16 -> word -2 bit 0 */
    in = rmem(0x1bb, 16, R_ECX, DATA + 0x100);
    c->r[R_ECX] = 0x1234fff0;
    run(c, &in);
    cr_assert_eq(ram32(t, DATA + 0xfc), 0x80010000);
    cr_assert_eq(ARITH(c) & CF, 0);
    /* BT with imm: masked, stays inside the operand */
    in = rmem(0x1ba, 32, 4, DATA + 0x104);
    in.imm = 35;
    c->eflags = F_BIT1;
    run(c, &in);
    cr_assert_eq(ARITH(c) & CF, CF);
    in = rmem(0x1ba, 32, 6, DATA + 0x104);           /* BTR */
    in.imm = 35;
    run(c, &in);
    cr_assert_eq(ram32(t, DATA + 0x104), 0);
    cr_assert_eq(ARITH(c) & CF, CF);
    tm_free(t);
}

Test(bit, bsf_bsr)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;

    in = rr(0x1bc, 32, R_EAX, R_EBX);
    c->r[R_EAX] = 0xdeadbeef; c->r[R_EBX] = 0x00f00000;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 20);
    cr_assert_eq(ARITH(c) & ZF, 0);
    in = rr(0x1bd, 32, R_EAX, R_EBX);
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 23);
    /* source 0: ZF=1, destination unchanged */
    c->r[R_EBX] = 0;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 23);
    cr_assert_eq(ARITH(c) & ZF, ZF);
    in = rr(0x1bc, 16, R_EAX, R_EBX);
    c->r[R_EAX] = 0x12345678; c->r[R_EBX] = 0xffff0000;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x12345678);
    cr_assert_eq(ARITH(c) & ZF, ZF);
    c->r[R_EBX] = 0x8000;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x1234000f);
    in = rr(0x1bd, 16, R_EAX, R_EBX);
    c->r[R_EBX] = 0x0001;
    run(c, &in);
    cr_assert_eq(c->r[R_EAX], 0x12340000);
    cr_assert_eq(ARITH(c) & ZF, 0);
    tm_free(t);
}

/* ================================================================== */
/* ops_bcd.c */

/* Run a one-byte BCD op on AX with the given flags; returns EAX. */
static uint32_t bcd(struct cpu *c, int op, uint32_t eax, uint32_t fl_in, uint32_t imm)
{
    struct insn in = noimm(op, 32, imm);
    c->r[R_EAX] = eax;
    c->eflags = F_BIT1 | fl_in;
    cr_assert_eq(run(c, &in), -1);
    return c->r[R_EAX];
}

Test(bcd, daa_das)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    const uint32_t def = CF | AF | SF | ZF | PF;     /* OF undefined */

    cr_assert_eq(bcd(c, 0x27, 0x9a, 0, 0), 0x00);    /* 0x9a -> 0x00, carry */
    cr_assert_eq(ARITH(c) & def, CF | AF | ZF | PF);
    cr_assert_eq(bcd(c, 0x27, 0x1234000f, 0, 0), 0x12340015);
    cr_assert_eq(ARITH(c) & def, AF);
    cr_assert_eq(bcd(c, 0x27, 0x08, AF, 0), 0x0e);
    cr_assert_eq(ARITH(c) & def, AF);
    cr_assert_eq(bcd(c, 0x27, 0x25, CF, 0), 0x85);
    cr_assert_eq(ARITH(c) & def, CF | SF);
    cr_assert_eq(bcd(c, 0x27, 0x45, 0, 0), 0x45);
    cr_assert_eq(ARITH(c) & def, 0);

    cr_assert_eq(bcd(c, 0x2f, 0x05, AF, 0), 0xff);   /* borrow of the -6 step */
    cr_assert_eq(ARITH(c) & def, CF | AF | SF | PF);
    cr_assert_eq(bcd(c, 0x2f, 0x1f, 0, 0), 0x19);
    cr_assert_eq(ARITH(c) & def, AF);
    cr_assert_eq(bcd(c, 0x2f, 0xa0, 0, 0), 0x40);
    cr_assert_eq(ARITH(c) & def, CF);
    cr_assert_eq(bcd(c, 0x2f, 0x66, CF | AF, 0), 0x00);
    cr_assert_eq(ARITH(c) & def, CF | AF | ZF | PF);
    tm_free(t);
}

Test(bcd, aaa_aas)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;

    cr_assert_eq(bcd(c, 0x37, 0x0000000b, 0, 0), 0x0101);
    cr_assert_eq(ARITH(c) & (CF | AF), CF | AF);
    cr_assert_eq(bcd(c, 0x37, 0x000000fa, 0, 0), 0x0200);  /* AX += 0x106 */
    cr_assert_eq(bcd(c, 0x37, 0xffff0534, 0, 0), 0xffff0504);
    cr_assert_eq(ARITH(c) & (CF | AF), 0);
    cr_assert_eq(bcd(c, 0x37, 0x00000000, AF, 0), 0x0106);
    cr_assert_eq(ARITH(c) & (CF | AF), CF | AF);

    cr_assert_eq(bcd(c, 0x3f, 0x00000100, AF, 0), 0xff0a);  /* AX -= 0x106 */
    cr_assert_eq(ARITH(c) & (CF | AF), CF | AF);
    cr_assert_eq(bcd(c, 0x3f, 0x0000030b, 0, 0), 0x0205);
    cr_assert_eq(ARITH(c) & (CF | AF), CF | AF);
    cr_assert_eq(bcd(c, 0x3f, 0x00000357, 0, 0), 0x0307);
    cr_assert_eq(ARITH(c) & (CF | AF), 0);
    tm_free(t);
}

Test(bcd, aam_aad)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    struct insn in;
    const uint32_t def = SF | ZF | PF;

    cr_assert_eq(bcd(c, 0xd4, 0x000000ff, 0, 10), 0x1905);
    cr_assert_eq(ARITH(c) & def, PF);
    cr_assert_eq(bcd(c, 0xd4, 0xabcd0040, 0, 16), 0xabcd0400);
    cr_assert_eq(ARITH(c) & def, ZF | PF);
    cr_assert_eq(bcd(c, 0xd5, 0x00000909, 0, 10), 0x0063);
    cr_assert_eq(ARITH(c) & def, PF);
    cr_assert_eq(bcd(c, 0xd5, 0x1234ff80, 0, 1), 0x1234007f);  /* (0x80+0xff) & 0xff */
    cr_assert_eq(ARITH(c) & def, 0);
    cr_assert_eq(bcd(c, 0xd5, 0x00000290, 0, 0x40), 0x0010);
    /* AAM 0: #DE, AX unchanged */
    in = noimm(0xd4, 32, 0);
    c->r[R_EAX] = 0x1234;
    cr_assert_eq(run(c, &in), EXC_DE);
    cr_assert_eq(c->r[R_EAX], 0x1234);
    tm_free(t);
}
