/* test_datactl.c - unit tests of the data movement, stack, branch and
 * string handlers (src/cpu/ops_mov.c, ops_stack.c, ops_branch.c,
 * ops_string.c). Each test builds a flat 32-bit protected-mode CPU over a
 * small RAM by hand, hand-decodes instructions into struct insn and calls
 * the handlers through a private opcode table. Faults are caught the way
 * the execution loop catches them (cpu->fault_jmp, cpu->last_exc). */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/operand.h"

#define RAM_SIZE (1u << 20)
#define STACK_TOP 0x8000u
#define DATA 0x10000u

/* Fake port space for INS/OUTS: one byte per port, and a log of writes. */
struct ports {
    uint8_t val[0x10000];
    uint32_t out_log[64];
    int nout;
    int nin;
};

struct env {
    struct phys phys;
    struct cpu cpu;
    struct ports ports;
    exec_fn t[512];
};

static uint32_t fake_in(void *ctx, uint16_t port, int size)
{
    struct ports *p = ctx;
    uint32_t v = 0;
    for (int i = 0; i < size; i++)
        v |= (uint32_t)p->val[(uint16_t)(port + i)] << (8 * i);
    p->nin++;
    return v;
}

static void fake_out(void *ctx, uint16_t port, int size, uint32_t v)
{
    struct ports *p = ctx;
    (void)port;
    (void)size;
    if (p->nout < 64)
        p->out_log[p->nout++] = v;
}

static void set_seg(struct segment *s, uint16_t ar, uint32_t limit)
{
    s->sel = 0x10;
    s->base = 0;
    s->limit = limit;
    s->ar = ar;
    seg_refresh_fast(s);
}

/* Flat 32-bit protected mode, CPL 0, paging off. */
static struct env *env_new(void)
{
    struct env *e = calloc(1, sizeof *e);
    cr_assert_not_null(e);
    cr_assert_eq(phys_init(&e->phys, RAM_SIZE), 0);
    struct cpu *cpu = &e->cpu;
    cpu->phys = &e->phys;
    cpu->bus.ctx = &e->ports;
    cpu->bus.io_in = fake_in;
    cpu->bus.io_out = fake_out;
    tlb_flush_all(&cpu->tlb);
    cpu->a20_mask = 0xffffffffu;
    cpu->cr0 = CR0_PE | CR0_ET;
    cpu->pe = true;
    cpu->code32 = true;
    cpu->stack32 = true;
    cpu->cpl = 0;
    cpu->eflags = F_BIT1;
    cpu->stop_on_exception = true;
    cpu->last_exc = -1;
    for (int s = 0; s < SEG_COUNT; s++)
        set_seg(&cpu->seg[s], 0x93 | AR_DB | AR_G, 0xffffffffu); /* data RW */
    set_seg(&cpu->seg[S_CS], 0x9b | AR_DB | AR_G, 0xffffffffu);  /* code RX */
    cpu->r[R_ESP] = STACK_TOP;
    cpu->eip = 0x1000;
    ops_mov_register(e->t);
    ops_stack_register(e->t);
    ops_branch_register(e->t);
    ops_string_register(e->t);
    return e;
}

static void env_free(struct env *e)
{
    phys_free(&e->phys);
    free(e);
}

/* Run one instruction as the execution loop would. Returns -1, or the
 * vector of the exception it raised (EIP and ESP then restored). */
static int exec(struct env *e, const struct insn *in)
{
    struct cpu *cpu = &e->cpu;
    jmp_buf jb;
    exec_fn fn = e->t[in->op];
    cr_assert_not_null(fn, "no handler for opcode %#x", in->op);
    cpu->insn_eip = cpu->eip;
    cpu->insn_esp = cpu->r[R_ESP];
    cpu->eip = cpu->eip + in->len;
    if (!cpu->code32)
        cpu->eip &= 0xffff;
    cpu->last_exc = -1;
    cpu->fault_jmp = &jb;
    if (setjmp(jb)) {
        cpu->eip = cpu->insn_eip;
        cpu->r[R_ESP] = cpu->insn_esp;
        return cpu->last_exc;
    }
    fn(cpu, in);
    return -1;
}

/* Instruction builders. */
static struct insn I(uint16_t op)
{
    struct insn in;
    memset(&in, 0, sizeof in);
    in.op = op;
    in.len = 2;
    in.opsize = 32;
    in.adsize = 32;
    in.seg = S_DS;
    in.base = REG_NONE;
    in.index = REG_NONE;
    return in;
}

/* ModRM register form. */
static struct insn R(uint16_t op, int reg, int rm)
{
    struct insn in = I(op);
    in.has_modrm = 1;
    in.mod = 3;
    in.reg = (uint8_t)reg;
    in.rm = (uint8_t)rm;
    return in;
}

/* ModRM memory form [base + disp] (base may be REG_NONE). */
static struct insn M(uint16_t op, int reg, int base, uint32_t disp)
{
    struct insn in = I(op);
    in.has_modrm = 1;
    in.mod = base == REG_NONE ? 0 : 2;
    in.reg = (uint8_t)reg;
    in.rm = 4;
    in.base = (uint8_t)base;
    in.disp = disp;
    if (base == R_ESP || base == R_EBP)
        in.seg = S_SS;
    return in;
}

static uint32_t rd32(struct env *e, uint32_t a)
{
    uint32_t v;
    memcpy(&v, e->phys.ram + a, 4);
    return v;
}

static void wr32(struct env *e, uint32_t a, uint32_t v)
{
    memcpy(e->phys.ram + a, &v, 4);
}

/* ================================================================== */
/* ops_mov.c                                                          */
/* ================================================================== */

Test(mov, reg_and_mem_forms)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->r[R_EAX] = 0x11223344;
    c->r[R_EBX] = 0xaabbccdd;
    struct insn in = R(0x88, 4 /* AH */, 3 /* BL */);
    cr_assert_eq(exec(e, &in), -1);
    cr_assert_eq(c->r[R_EBX], 0xaabbcc33);
    in = R(0x89, R_EAX, R_ECX);
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0x3344);
    in = M(0x89, R_EAX, R_EBX, 0);
    c->r[R_EBX] = DATA;
    exec(e, &in);
    cr_assert_eq(rd32(e, DATA), 0x11223344);
    in = M(0x8a, 7 /* BH */, REG_NONE, DATA + 1);
    exec(e, &in);
    cr_assert_eq(c->r[R_EBX], 0x3300 | DATA);
    in = M(0x8b, R_EDX, REG_NONE, DATA);
    exec(e, &in);
    cr_assert_eq(c->r[R_EDX], 0x11223344);
    cr_assert_eq(c->eip, 0x1000 + 5 * 2);
    env_free(e);
}

Test(mov, imm_forms)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    struct insn in = M(0xc6, 0, REG_NONE, DATA);
    in.imm = 0x5a;
    exec(e, &in);
    cr_assert_eq(e->phys.ram[DATA], 0x5a);
    in = R(0xc7, 0, R_ESI);
    in.imm = 0x12345678;
    exec(e, &in);
    cr_assert_eq(c->r[R_ESI], 0x12345678);
    in = R(0xc7, 1, R_ESI);
    cr_assert_eq(exec(e, &in), EXC_UD);
    in = R(0xc6, 7, R_ESI);
    cr_assert_eq(exec(e, &in), EXC_UD);
    cr_assert_eq(c->r[R_ESI], 0x12345678);
    in = I(0xb4); /* MOV AH,Ib */
    in.imm = 0x9c;
    c->r[R_EAX] = 0xffffffff;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0xffff9cff);
    in = I(0xbd); /* MOV BP,Iw */
    in.opsize = 16;
    in.imm = 0xbeef;
    c->r[R_EBP] = 0x12345678;
    exec(e, &in);
    cr_assert_eq(c->r[R_EBP], 0x1234beef);
    in = I(0xbf);
    in.imm = 0xcafebabe;
    exec(e, &in);
    cr_assert_eq(c->r[R_EDI], 0xcafebabe);
    env_free(e);
}

Test(mov, moffs)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    wr32(e, DATA, 0x87654321);
    struct insn in = I(0xa1);
    in.disp = DATA;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x87654321);
    in = I(0xa0);
    in.disp = DATA + 3;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x87654387);
    c->r[R_EAX] = 0xdeadbeef;
    in = I(0xa3);
    in.disp = DATA + 8;
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(rd32(e, DATA + 8), 0xbeef);
    in = I(0xa2);
    in.disp = 0xffff8000; /* adsize 16: offset is 0x8000 */
    in.adsize = 16;
    exec(e, &in);
    cr_assert_eq(e->phys.ram[0x8000], 0xef);
    env_free(e);
}

Test(mov, lea)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->r[R_EBX] = 0x0001fff0;
    c->r[R_ESI] = 0x20;
    struct insn in = M(0x8d, R_EAX, R_EBX, 0x100);
    in.index = R_ESI;
    in.scale = 2;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x0001fff0 + 0x100 + 0x80);
    in.adsize = 16; /* offset wraps at 64 KiB */
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], (0xfff0 + 0x100 + 0x80) & 0xffff);
    in.adsize = 32;
    in.opsize = 16; /* truncated to 16 bits */
    c->r[R_EAX] = 0xaaaa0000;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0xaaaa0000 | ((0x1fff0 + 0x180) & 0xffff));
    in = R(0x8d, R_EAX, R_EBX);
    cr_assert_eq(exec(e, &in), EXC_UD);
    env_free(e);
}

Test(mov, xchg)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->r[R_EAX] = 0x1111aa11;
    c->r[R_EBX] = 0x222222bb;
    struct insn in = R(0x86, 4 /* AH */, 3 /* BL */);
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x1111bb11);
    cr_assert_eq(c->r[R_EBX], 0x222222aa);
    wr32(e, DATA, 0x55667788);
    in = M(0x87, R_ECX, REG_NONE, DATA);
    c->r[R_ECX] = 0x99;
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0x55667788);
    cr_assert_eq(rd32(e, DATA), 0x99);
    /* 93 XCHG EBX,EAX; 16-bit form 92 XCHG DX,AX */
    c->r[R_EAX] = 1;
    c->r[R_EBX] = 2;
    in = I(0x93);
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 2);
    cr_assert_eq(c->r[R_EBX], 1);
    c->r[R_EDX] = 0xffff0003;
    in = I(0x92);
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 3);
    cr_assert_eq(c->r[R_EDX], 0xffff0002);
    /* 90 NOP / PAUSE change nothing */
    struct cpu before = *c;
    in = I(0x90);
    in.pfx = PFX_REP;
    exec(e, &in);
    cr_assert_eq(memcmp(c->r, before.r, sizeof c->r), 0);
    cr_assert_eq(c->eflags, before.eflags);
    env_free(e);
}

Test(mov, sign_extend_acc)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    struct insn in = I(0x98);
    c->r[R_EAX] = 0x12345680;
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x1234ff80);
    in.opsize = 32;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0xffffff80);
    c->r[R_EAX] = 0x00007fff;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x7fff);
    in = I(0x99);
    c->r[R_EAX] = 0x80000000;
    c->r[R_EDX] = 5;
    exec(e, &in);
    cr_assert_eq(c->r[R_EDX], 0xffffffff);
    in.opsize = 16;
    exec(e, &in); /* AX = 0: DX = 0 */
    cr_assert_eq(c->r[R_EDX], 0xffff0000);
    env_free(e);
}

Test(mov, sahf_lahf_salc)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->eflags = F_BIT1 | F_OF | F_DF;
    c->r[R_EAX] = 0xff00;
    struct insn in = I(0x9e);
    exec(e, &in);
    cr_assert_eq(c->eflags, F_BIT1 | F_OF | F_DF | F_SF | F_ZF | F_AF | F_PF | F_CF);
    c->r[R_EAX] = 0;
    in = I(0x9f);
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0xd700); /* host: SAHF 0xff; LAHF -> 0xd7 */
    c->eflags = F_BIT1;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x0200);
    in = I(0xd6);
    c->r[R_EAX] = 0x12345678;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x12345600);
    c->eflags |= F_CF;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x123456ff);
    env_free(e);
}

Test(mov, xlat)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    e->phys.ram[DATA + 0x90] = 0x42;
    e->phys.ram[0x90 + 0x10] = 0x24;
    c->r[R_EBX] = DATA;
    c->r[R_EAX] = 0xabcd0090; /* AL is unsigned: +0x90 */
    struct insn in = I(0xd7);
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0xabcd0042);
    c->r[R_EBX] = DATA + 0x10; /* adsize 16: BX = 0x0010 */
    c->r[R_EAX] = 0x90;
    in.adsize = 16;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x24);
    env_free(e);
}

Test(mov, movzx_movsx)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->r[R_EBX] = 0x00008080;
    struct insn in = R(0x1b6, R_EAX, 7 /* BH */);
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x80);
    in = R(0x1be, R_EAX, 3 /* BL */);
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0xffffff80);
    in.opsize = 16;
    c->r[R_EAX] = 0x12340000;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x1234ff80);
    in = R(0x1bf, R_ECX, R_EBX);
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0xffff8080);
    in = R(0x1b7, R_ECX, R_EBX);
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0x8080);
    wr32(e, DATA, 0xfedc);
    in = M(0x1bf, R_EDX, REG_NONE, DATA);
    exec(e, &in);
    cr_assert_eq(c->r[R_EDX], 0xfffffedc);
    env_free(e);
}

Test(mov, cmov_setcc)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->eflags = F_BIT1 | F_ZF;
    c->r[R_EAX] = 1;
    c->r[R_EBX] = 2;
    struct insn in = R(0x144, R_EAX, R_EBX); /* CMOVZ */
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 2);
    c->r[R_EBX] = 3;
    in = R(0x145, R_EAX, R_EBX); /* CMOVNZ: not taken */
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 2);
    /* A false CMOV still reads its memory source (and faults). */
    c->seg[S_DS].limit = 0xfffff;
    seg_refresh_fast(&c->seg[S_DS]);
    in = M(0x145, R_EAX, REG_NONE, 0x200000);
    cr_assert_eq(exec(e, &in), EXC_GP);
    cr_assert_eq(c->eip, 0x1000 + 4);
    /* SETcc */
    in = R(0x194, 5, 1 /* CL */); /* SETZ, /5 ignored */
    c->r[R_ECX] = 0xffffffff;
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0xffffff01);
    in = R(0x19c, 0, 5 /* CH */); /* SETL: SF != OF */
    c->eflags = F_BIT1 | F_OF;
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0xffff0101);
    in = M(0x195, 0, REG_NONE, DATA); /* SETNZ [mem] */
    e->phys.ram[DATA] = 0x77;
    exec(e, &in);
    cr_assert_eq(e->phys.ram[DATA], 1);
    env_free(e);
}

Test(mov, bswap_nop)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->r[R_EBX] = 0x11223344;
    struct insn in = I(0x1cb);
    exec(e, &in);
    cr_assert_eq(c->r[R_EBX], 0x44332211);
    in.opsize = 16; /* host: 0x11223344 -> 0x11220000 */
    c->r[R_EBX] = 0x11223344;
    exec(e, &in);
    cr_assert_eq(c->r[R_EBX], 0x11220000);
    /* hint NOPs never touch memory, even an invalid address */
    c->seg[S_DS].limit = 0xfff;
    seg_refresh_fast(&c->seg[S_DS]);
    for (uint16_t op = 0x118; op <= 0x11f; op++) {
        in = M(op, 0, REG_NONE, 0x200000);
        cr_assert_eq(exec(e, &in), -1);
    }
    env_free(e);
}

Test(mov, bound)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    wr32(e, DATA, (uint32_t)-5);
    wr32(e, DATA + 4, 10);
    struct insn in = M(0x62, R_EAX, REG_NONE, DATA);
    c->r[R_EAX] = (uint32_t)-5;
    cr_assert_eq(exec(e, &in), -1);
    c->r[R_EAX] = 10;
    cr_assert_eq(exec(e, &in), -1);
    c->r[R_EAX] = 11;
    cr_assert_eq(exec(e, &in), EXC_BR);
    cr_assert_eq(c->eip, c->insn_eip);
    c->r[R_EAX] = (uint32_t)-6;
    cr_assert_eq(exec(e, &in), EXC_BR);
    /* 16-bit: bounds are words at DATA (0xfffb) and DATA+2 (0xffff) */
    in.opsize = 16;
    c->r[R_EAX] = 0x1234fffc; /* -4 within [-5, -1] */
    cr_assert_eq(exec(e, &in), -1);
    c->r[R_EAX] = 0;
    cr_assert_eq(exec(e, &in), EXC_BR);
    in = R(0x62, R_EAX, R_EBX);
    cr_assert_eq(exec(e, &in), EXC_UD);
    env_free(e);
}

/* ================================================================== */
/* ops_stack.c                                                        */
/* ================================================================== */

Test(stack, push_pop_reg)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->r[R_EBX] = 0xdeadbeef;
    struct insn in = I(0x53);
    exec(e, &in);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 4);
    cr_assert_eq(rd32(e, STACK_TOP - 4), 0xdeadbeef);
    in = I(0x54); /* PUSH ESP: old value */
    exec(e, &in);
    cr_assert_eq(rd32(e, STACK_TOP - 8), STACK_TOP - 4);
    in = I(0x59); /* POP ECX */
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], STACK_TOP - 4);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 4);
    wr32(e, STACK_TOP - 4, 0x1234);
    in = I(0x5c); /* POP ESP: popped value wins */
    exec(e, &in);
    cr_assert_eq(c->r[R_ESP], 0x1234);
    /* 16-bit operand size */
    c->r[R_ESP] = STACK_TOP;
    c->r[R_EAX] = 0xaaaa5555;
    in = I(0x50);
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 2);
    in = I(0x5a);
    in.opsize = 16;
    c->r[R_EDX] = 0xffffffff;
    exec(e, &in);
    cr_assert_eq(c->r[R_EDX], 0xffff5555);
    cr_assert_eq(c->r[R_ESP], STACK_TOP);
    env_free(e);
}

Test(stack, push_imm_and_stack16)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    struct insn in = I(0x6a);
    in.imm = 0xffffff80;
    exec(e, &in);
    cr_assert_eq(rd32(e, STACK_TOP - 4), 0xffffff80);
    in = I(0x68);
    in.opsize = 16;
    in.imm = 0x1234;
    exec(e, &in);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 6);
    cr_assert_eq(rd32(e, STACK_TOP - 6) & 0xffff, 0x1234);
    /* 16-bit stack: SP wraps within the segment, ESP's top half kept */
    c->stack32 = false;
    c->r[R_ESP] = 0xabcd0002;
    in = I(0x68);
    in.imm = 0x11223344;
    exec(e, &in);
    cr_assert_eq(c->r[R_ESP], 0xabcdfffe);
    cr_assert_eq(rd32(e, 0xfffe), 0x11223344);
    in = I(0x58);
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x11223344);
    cr_assert_eq(c->r[R_ESP], 0xabcd0002);
    env_free(e);
}

Test(stack, pop_ev)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->r[R_ESP] = STACK_TOP - 8;
    wr32(e, STACK_TOP - 8, 0xcafe);
    wr32(e, STACK_TOP - 4, 0);
    /* POP [ESP]: the address uses the incremented ESP */
    struct insn in = M(0x8f, 0, R_ESP, 0);
    in.mod = 0;
    exec(e, &in);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 4);
    cr_assert_eq(rd32(e, STACK_TOP - 4), 0xcafe);
    /* a faulting destination leaves ESP alone */
    c->seg[S_DS].limit = 0xfffff;
    seg_refresh_fast(&c->seg[S_DS]);
    in = M(0x8f, 0, REG_NONE, 0x200000);
    cr_assert_eq(exec(e, &in), EXC_GP);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 4);
    in = R(0x8f, 0, R_EDI);
    exec(e, &in);
    cr_assert_eq(c->r[R_EDI], 0xcafe);
    in = R(0x8f, 1, R_EDI);
    cr_assert_eq(exec(e, &in), EXC_UD);
    env_free(e);
}

Test(stack, pusha_popa)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    for (int i = 0; i < 8; i++)
        c->r[i] = 0x1000 * (i + 1) + i;
    c->r[R_ESP] = STACK_TOP;
    struct insn in = I(0x60);
    exec(e, &in);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 32);
    cr_assert_eq(rd32(e, STACK_TOP - 4), c->r[R_EAX]);
    cr_assert_eq(rd32(e, STACK_TOP - 20), STACK_TOP); /* original ESP */
    cr_assert_eq(rd32(e, STACK_TOP - 32), c->r[R_EDI]);
    uint32_t saved[8];
    memcpy(saved, c->r, sizeof saved);
    for (int i = 0; i < 8; i++)
        if (i != R_ESP)
            c->r[i] = 0;
    wr32(e, STACK_TOP - 20, 0x5555); /* ESP slot is ignored */
    in = I(0x61);
    exec(e, &in);
    for (int i = 0; i < 8; i++)
        if (i != R_ESP)
            cr_assert_eq(c->r[i], saved[i], "reg %d", i);
    cr_assert_eq(c->r[R_ESP], STACK_TOP);
    /* 16-bit */
    in = I(0x60);
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 16);
    cr_assert_eq(rd32(e, STACK_TOP - 4) >> 16, c->r[R_EAX] & 0xffff);
    for (int i = 0; i < 8; i++)
        if (i != R_ESP)
            c->r[i] = 0xffff0000;
    in = I(0x61);
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(c->r[R_EBX], 0xffff0000 | (saved[R_EBX] & 0xffff));
    cr_assert_eq(c->r[R_ESP], STACK_TOP);
    env_free(e);
}

Test(stack, enter_leave)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    /* level 0 */
    c->r[R_EBP] = 0x7777;
    struct insn in = I(0xc8);
    in.imm = 0x20;
    in.imm2 = 0;
    exec(e, &in);
    cr_assert_eq(rd32(e, STACK_TOP - 4), 0x7777);
    cr_assert_eq(c->r[R_EBP], STACK_TOP - 4);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 4 - 0x20);
    in = I(0xc9);
    exec(e, &in);
    cr_assert_eq(c->r[R_EBP], 0x7777);
    cr_assert_eq(c->r[R_ESP], STACK_TOP);
    /* level 3: copies two outer frame pointers from [EBP-4], [EBP-8] */
    c->r[R_EBP] = 0x6000;
    wr32(e, 0x6000 - 4, 0xaaaa);
    wr32(e, 0x6000 - 8, 0xbbbb);
    in = I(0xc8);
    in.imm = 8;
    in.imm2 = 3;
    exec(e, &in);
    cr_assert_eq(rd32(e, STACK_TOP - 4), 0x6000);
    cr_assert_eq(rd32(e, STACK_TOP - 8), 0xaaaa);
    cr_assert_eq(rd32(e, STACK_TOP - 12), 0xbbbb);
    cr_assert_eq(rd32(e, STACK_TOP - 16), STACK_TOP - 4);
    cr_assert_eq(c->r[R_EBP], STACK_TOP - 4);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 16 - 8);
    /* 16-bit operand size, level 1 */
    c->r[R_ESP] = STACK_TOP;
    c->r[R_EBP] = 0x00000042; /* LEAVE with a 32-bit stack uses all of EBP */
    in.opsize = 16;
    in.imm = 4;
    in.imm2 = 1;
    exec(e, &in);
    cr_assert_eq(rd32(e, STACK_TOP - 4) >> 16, 0x0042);
    cr_assert_eq(rd32(e, STACK_TOP - 4) & 0xffff, STACK_TOP - 2);
    cr_assert_eq(c->r[R_EBP], STACK_TOP - 2);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 8);
    in = I(0xc9);
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(c->r[R_EBP], 0x42);
    cr_assert_eq(c->r[R_ESP], STACK_TOP);
    /* a fault at the allocation target leaves EBP unchanged */
    c->seg[S_SS].limit = STACK_TOP - 1;
    seg_refresh_fast(&c->seg[S_SS]);
    c->r[R_ESP] = 0x100;
    c->r[R_EBP] = 0x5;
    in = I(0xc8);
    in.imm = 0x200; /* wraps ESP below 0 -> beyond the limit */
    cr_assert_eq(exec(e, &in), EXC_SS);
    cr_assert_eq(c->r[R_EBP], 5);
    cr_assert_eq(c->r[R_ESP], 0x100);
    env_free(e);
}

/* ================================================================== */
/* ops_branch.c                                                       */
/* ================================================================== */

Test(branch, jcc_jmp)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    struct insn in = I(0x74); /* JZ */
    in.imm = 0x10;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x1002);
    c->eflags |= F_ZF;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x1014);
    in = I(0x18f); /* JG rel32: ZF=0 and SF=OF */
    in.len = 6;
    in.imm = (uint32_t)-0x20;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x101a);
    c->eflags &= ~F_ZF;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x101a + 6 - 0x20);
    /* 16-bit operand size masks the target */
    c->eip = 0xfff0;
    in = I(0xeb);
    in.imm = 0x20;
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x0012);
    /* target beyond CS limit: #GP(0), EIP unchanged */
    c->seg[S_CS].limit = 0xffff;
    c->eip = 0xfff0;
    in = I(0xe9);
    in.imm = 0x20;
    cr_assert_eq(exec(e, &in), EXC_GP);
    cr_assert_eq(c->last_exc_err, 0);
    cr_assert_eq(c->eip, 0xfff0);
    env_free(e);
}

Test(branch, call_ret)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    struct insn in = I(0xe8);
    in.len = 5;
    in.imm = 0x100;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x1105);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 4);
    cr_assert_eq(rd32(e, STACK_TOP - 4), 0x1005);
    in = I(0xc2);
    in.imm = 8;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x1005);
    cr_assert_eq(c->r[R_ESP], STACK_TOP + 8);
    /* 16-bit RET pops a word */
    c->r[R_ESP] = STACK_TOP - 4;
    wr32(e, STACK_TOP - 4, 0xabcd1234);
    in = I(0xc3);
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x1234);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 2);
    /* RET beyond the CS limit: #GP, nothing popped */
    c->seg[S_CS].limit = 0xfff;
    in.opsize = 32;
    c->r[R_ESP] = STACK_TOP - 4;
    cr_assert_eq(exec(e, &in), EXC_GP);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 4);
    /* CALL beyond the limit pushes nothing */
    c->eip = 0x100;
    in = I(0xe8);
    in.imm = 0x2000;
    cr_assert_eq(exec(e, &in), EXC_GP);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 4);
    cr_assert_eq(rd32(e, STACK_TOP - 8), 0);
    env_free(e);
}

Test(branch, loops)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    struct insn in = I(0xe2);
    in.imm = (uint32_t)-4;
    c->r[R_ECX] = 2;
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 1);
    cr_assert_eq(c->eip, 0x1000 - 2);
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0);
    cr_assert_eq(c->eip, 0x1000);
    /* 16-bit address size: CX only */
    c->r[R_ECX] = 0x50000;
    in.adsize = 16;
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0x5ffff);
    cr_assert_eq(c->eip, 0x1000 - 2);
    /* LOOPE stops when ZF=0, LOOPNE when ZF=1 */
    c->eip = 0x1000;
    c->r[R_ECX] = 5;
    in = I(0xe1);
    in.imm = 0x10;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x1002);
    cr_assert_eq(c->r[R_ECX], 4);
    c->eflags |= F_ZF;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x1014);
    in = I(0xe0);
    in.imm = 0x10;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x1016);
    cr_assert_eq(c->r[R_ECX], 2);
    /* JCXZ / JECXZ */
    in = I(0xe3);
    in.imm = 0x40;
    c->r[R_ECX] = 0x10000;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x1018);
    in.adsize = 16;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x105a);
    /* a LOOP that faults on the limit leaves ECX alone */
    c->seg[S_CS].limit = 0x1060;
    c->r[R_ECX] = 3;
    in = I(0xe2);
    in.imm = 0x40;
    cr_assert_eq(exec(e, &in), EXC_GP);
    cr_assert_eq(c->r[R_ECX], 3);
    env_free(e);
}

Test(branch, incdec_groups)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->eflags = F_BIT1 | F_CF;
    c->r[R_EAX] = 0x7f;
    struct insn in = R(0xfe, 0, R_EAX);
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x80);
    cr_assert_eq(c->eflags & F_ARITH, F_CF | F_OF | F_SF | F_AF);
    in = R(0xfe, 1, 4 /* AH */);
    c->r[R_EAX] = 0x0100;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0);
    cr_assert_eq(c->eflags & F_ARITH, F_CF | F_ZF | F_PF);
    in = R(0xfe, 2, 0);
    cr_assert_eq(exec(e, &in), EXC_UD);
    wr32(e, DATA, 0xffffffff);
    c->eflags = F_BIT1;
    in = M(0xff, 0, REG_NONE, DATA);
    exec(e, &in);
    cr_assert_eq(rd32(e, DATA), 0);
    cr_assert_eq(c->eflags & F_ARITH, F_ZF | F_PF | F_AF); /* CF kept clear */
    in = R(0xff, 1, R_ECX);
    in.opsize = 16;
    c->r[R_ECX] = 0x20000;
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0x2ffff);
    cr_assert_eq(c->eflags & F_ARITH, F_SF | F_PF | F_AF);
    env_free(e);
}

Test(branch, ff_indirect)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    wr32(e, DATA, 0x4000);
    struct insn in = M(0xff, 2, REG_NONE, DATA); /* CALL [DATA] */
    in.len = 6;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x4000);
    cr_assert_eq(rd32(e, STACK_TOP - 4), 0x1006);
    c->r[R_EBX] = 0x12345;
    in = R(0xff, 4, R_EBX); /* JMP EBX, 16-bit: masked */
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x2345);
    in = R(0xff, 4, R_EBX);
    exec(e, &in);
    cr_assert_eq(c->eip, 0x12345);
    /* PUSH [ESP] reads with the old ESP */
    in = M(0xff, 6, R_ESP, 0);
    in.mod = 0;
    exec(e, &in);
    cr_assert_eq(c->r[R_ESP], STACK_TOP - 8);
    cr_assert_eq(rd32(e, STACK_TOP - 8), 0x1006);
    in = R(0xff, 7, R_EAX);
    cr_assert_eq(exec(e, &in), EXC_UD);
    in = R(0xff, 3, R_EAX);
    cr_assert_eq(exec(e, &in), EXC_UD);
    in = R(0xff, 5, R_EAX);
    cr_assert_eq(exec(e, &in), EXC_UD);
    env_free(e);
}

/* ================================================================== */
/* ops_string.c                                                       */
/* ================================================================== */

static struct insn S(uint16_t op, uint8_t pfx)
{
    struct insn in = I(op);
    in.pfx = pfx;
    return in;
}

Test(string, rep_movsb_cross_page)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    for (int i = 0; i < 600; i++)
        e->phys.ram[0x20f00 + i] = (uint8_t)(i * 7);
    c->r[R_ESI] = 0x20f00;
    c->r[R_EDI] = 0x31e00;
    c->r[R_ECX] = 600;
    struct insn in = S(0xa4, PFX_REP);
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0);
    cr_assert_eq(c->r[R_ESI], 0x20f00 + 600);
    cr_assert_eq(c->r[R_EDI], 0x31e00 + 600);
    cr_assert_eq(memcmp(e->phys.ram + 0x31e00, e->phys.ram + 0x20f00, 600), 0);
    cr_assert_eq(c->eip, 0x1002);
    env_free(e);
}

Test(string, rep_movs_backward_and_overlap)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    for (int i = 0; i < 16; i++)
        wr32(e, DATA + 4 * i, 0x100 + i);
    /* DF=1 MOVSD, 4 elements from the top */
    c->eflags |= F_DF;
    c->r[R_ESI] = DATA + 12;
    c->r[R_EDI] = DATA + 0x100 + 12;
    c->r[R_ECX] = 4;
    struct insn in = S(0xa5, PFX_REP);
    exec(e, &in);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(rd32(e, DATA + 0x100 + 4 * i), 0x100 + i);
    cr_assert_eq(c->r[R_ESI], DATA - 4);
    cr_assert_eq(c->r[R_EDI], DATA + 0x100 - 4);
    /* forward overlapping copy replicates the first byte */
    c->eflags &= ~F_DF;
    e->phys.ram[0x40000] = 0xab;
    c->r[R_ESI] = 0x40000;
    c->r[R_EDI] = 0x40001;
    c->r[R_ECX] = 100;
    in = S(0xa4, PFX_REP);
    exec(e, &in);
    for (int i = 0; i <= 100; i++)
        cr_assert_eq(e->phys.ram[0x40000 + i], 0xab);
    /* dwords two bytes apart: each element reads what the previous
     * one wrote (element-by-element semantics) */
    for (int i = 0; i < 4; i++)
        e->phys.ram[0x50000 + i] = (uint8_t)(i + 1);
    c->r[R_ESI] = 0x50000;
    c->r[R_EDI] = 0x50002;
    c->r[R_ECX] = 3;
    in = S(0xa5, PFX_REP);
    exec(e, &in);
    static const uint8_t want[] = {1, 2, 1, 2, 3, 4, 3, 4};
    cr_assert_eq(memcmp(e->phys.ram + 0x50000, want, 8), 0);
    env_free(e);
}

Test(string, stos_lods)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->r[R_EAX] = 0x11223344;
    c->r[R_EDI] = DATA + 0xffe; /* crosses a page */
    c->r[R_ECX] = 5;
    struct insn in = S(0xab, PFX_REP);
    exec(e, &in);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(rd32(e, DATA + 0xffe + 4 * i), 0x11223344);
    cr_assert_eq(c->r[R_EDI], DATA + 0xffe + 20);
    in = S(0xab, PFX_REP);
    in.opsize = 16;
    c->r[R_ECX] = 3;
    c->r[R_EDI] = DATA;
    exec(e, &in);
    cr_assert_eq(rd32(e, DATA), 0x33443344);
    cr_assert_eq(rd32(e, DATA + 4), 0x3344);
    cr_assert_eq(c->r[R_EDI], DATA + 6);
    /* STOSB without REP does not touch ECX */
    in = S(0xaa, 0);
    c->r[R_ECX] = 7;
    exec(e, &in);
    cr_assert_eq(e->phys.ram[DATA + 6], 0x44);
    cr_assert_eq(c->r[R_ECX], 7);
    /* REP with count 0 does nothing */
    c->r[R_ECX] = 0;
    in = S(0xaa, PFX_REP);
    exec(e, &in);
    cr_assert_eq(c->r[R_EDI], DATA + 7);
    /* LODSW, DF=1 */
    c->eflags |= F_DF;
    c->r[R_ESI] = DATA + 2;
    in = S(0xad, 0);
    in.opsize = 16;
    c->r[R_EAX] = 0;
    exec(e, &in);
    cr_assert_eq(c->r[R_EAX], 0x3344);
    cr_assert_eq(c->r[R_ESI], DATA);
    env_free(e);
}

Test(string, cmps_scas)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    memcpy(e->phys.ram + DATA, "hello world", 11);
    memcpy(e->phys.ram + DATA + 0x100, "hello there", 11);
    /* REPE CMPSB stops after the first mismatch ('w' vs 't') */
    c->r[R_ESI] = DATA;
    c->r[R_EDI] = DATA + 0x100;
    c->r[R_ECX] = 11;
    struct insn in = S(0xa6, PFX_REP);
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 11 - 7);
    cr_assert_eq(c->r[R_ESI], DATA + 7);
    cr_assert_eq(c->eflags & (F_ZF | F_CF), 0); /* 'w' > 't' */
    /* REPNE SCASB finds 'o' */
    c->r[R_EAX] = 'o';
    c->r[R_EDI] = DATA;
    c->r[R_ECX] = 11;
    in = S(0xae, PFX_REPNE);
    exec(e, &in);
    cr_assert_eq(c->r[R_EDI], DATA + 5);
    cr_assert_eq(c->r[R_ECX], 6);
    cr_assert(c->eflags & F_ZF);
    /* not found: runs out of count with ZF=0 */
    c->r[R_EAX] = 'z';
    c->r[R_EDI] = DATA;
    c->r[R_ECX] = 11;
    exec(e, &in);
    cr_assert_eq(c->r[R_ECX], 0);
    cr_assert_eq(c->eflags & F_ZF, 0);
    /* SCASD without prefix: flags of EAX - mem */
    wr32(e, DATA, 5);
    c->r[R_EAX] = 3;
    c->r[R_EDI] = DATA;
    in = S(0xaf, 0);
    exec(e, &in);
    cr_assert(c->eflags & F_CF);
    cr_assert(c->eflags & F_SF);
    cr_assert_eq(c->r[R_EDI], DATA + 4);
    env_free(e);
}

Test(string, adsize16_wrap_and_segments)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    /* 16-bit address size: SI/DI/CX only, and they wrap at 64 KiB */
    c->seg[S_ES].base = 0x20000;
    c->seg[S_FS].base = 0x30000;
    e->phys.ram[0x3ffff] = 0x11;
    e->phys.ram[0x30000] = 0x22;
    c->r[R_ESI] = 0xabcdffff;
    c->r[R_EDI] = 0x1234ffff;
    c->r[R_ECX] = 0x77770002;
    struct insn in = S(0xa4, PFX_REP);
    in.adsize = 16;
    in.seg = S_FS; /* source override */
    exec(e, &in);
    cr_assert_eq(e->phys.ram[0x2ffff], 0x11);
    cr_assert_eq(e->phys.ram[0x20000], 0x22);
    cr_assert_eq(c->r[R_ESI], 0xabcd0001);
    cr_assert_eq(c->r[R_EDI], 0x12340001);
    cr_assert_eq(c->r[R_ECX], 0x77770000);
    env_free(e);
}

Test(string, bounded_chunks)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->r[R_EAX] = 0x5a;
    c->r[R_EDI] = DATA;
    c->r[R_ECX] = 5000;
    struct insn in = S(0xaa, PFX_REP);
    int calls = 0;
    do {
        exec(e, &in);
        calls++;
        cr_assert(calls < 100);
    } while (c->eip == 0x1000);
    cr_assert(calls > 1);
    cr_assert_eq(c->r[R_ECX], 0);
    cr_assert_eq(c->r[R_EDI], DATA + 5000);
    for (int i = 0; i < 5000; i++)
        cr_assert_eq(e->phys.ram[DATA + i], 0x5a);
    cr_assert_eq(e->phys.ram[DATA + 5000], 0);
    /* the slow path (DF=1) is bounded too */
    c->eip = 0x1000;
    c->eflags |= F_DF;
    c->r[R_ECX] = 3000;
    c->r[R_EDI] = DATA + 2999;
    c->r[R_EAX] = 0x66;
    exec(e, &in);
    cr_assert_eq(c->eip, 0x1000);
    cr_assert(c->r[R_ECX] < 3000 && c->r[R_ECX] > 0);
    env_free(e);
}

Test(string, fault_restarts_at_element)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->seg[S_ES].limit = DATA + 3; /* room for 4 bytes at DATA */
    seg_refresh_fast(&c->seg[S_ES]);
    c->r[R_EAX] = 0x77;
    c->r[R_EDI] = DATA;
    c->r[R_ECX] = 10;
    struct insn in = S(0xaa, PFX_REP);
    cr_assert_eq(exec(e, &in), EXC_GP);
    cr_assert_eq(c->r[R_EDI], DATA + 4);
    cr_assert_eq(c->r[R_ECX], 6);
    cr_assert_eq(c->eip, 0x1000);
    cr_assert_eq(e->phys.ram[DATA + 3], 0x77);
    cr_assert_eq(e->phys.ram[DATA + 4], 0);
    /* MOVSD: the source faults in element 2 */
    c->seg[S_ES].limit = 0xffffffff;
    seg_refresh_fast(&c->seg[S_ES]);
    c->seg[S_DS].limit = DATA + 7;
    seg_refresh_fast(&c->seg[S_DS]);
    c->r[R_ESI] = DATA;
    c->r[R_EDI] = DATA + 0x100;
    c->r[R_ECX] = 4;
    in = S(0xa5, PFX_REP);
    cr_assert_eq(exec(e, &in), EXC_GP);
    cr_assert_eq(c->r[R_ESI], DATA + 8);
    cr_assert_eq(c->r[R_EDI], DATA + 0x108);
    cr_assert_eq(c->r[R_ECX], 2);
    env_free(e);
}

Test(string, ins_outs)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    e->ports.val[0x60] = 0xa1;
    e->ports.val[0x61] = 0xb2;
    c->r[R_EDX] = 0x60;
    c->r[R_EDI] = DATA;
    c->r[R_ECX] = 3;
    struct insn in = S(0x6d, PFX_REP);
    in.opsize = 16;
    exec(e, &in);
    cr_assert_eq(rd32(e, DATA), 0xb2a1b2a1);
    cr_assert_eq(c->r[R_EDI], DATA + 6);
    cr_assert_eq(c->r[R_ECX], 0);
    cr_assert_eq(e->ports.nin, 3);
    /* a faulting INS destination does not read the port */
    c->seg[S_ES].limit = 0xfffff;
    seg_refresh_fast(&c->seg[S_ES]);
    c->r[R_EDI] = 0x200000;
    in = S(0x6c, 0);
    cr_assert_eq(exec(e, &in), EXC_GP);
    cr_assert_eq(e->ports.nin, 3);
    /* OUTSB x3 */
    memcpy(e->phys.ram + DATA + 0x10, "\x01\x02\x03", 3);
    c->r[R_ESI] = DATA + 0x10;
    c->r[R_ECX] = 3;
    in = S(0x6e, PFX_REP);
    exec(e, &in);
    cr_assert_eq(e->ports.nout, 3);
    cr_assert_eq(e->ports.out_log[0], 1);
    cr_assert_eq(e->ports.out_log[2], 3);
    cr_assert_eq(c->r[R_ESI], DATA + 0x13);
    env_free(e);
}

/* FF /3 and FF /5 hand the far pointer m16:16 to far_call / far_jmp
 * (real mode here: no descriptor tables needed). */
Test(branch, ff_far_real_mode)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    c->pe = false;
    c->cr0 = CR0_ET;
    c->code32 = false;
    c->stack32 = false;
    for (int s = 0; s < SEG_COUNT; s++) {
        set_seg(&c->seg[s], 0x93, 0xffff);
        c->seg[s].sel = 0;
    }
    set_seg(&c->seg[S_CS], 0x9b, 0xffff);
    c->seg[S_CS].sel = 0;
    c->eip = 0x500;
    c->r[R_ESP] = 0x7000;
    wr32(e, 0x100, 0x20001234); /* offset 0x1234, selector 0x2000 */
    struct insn in = M(0xff, 3, REG_NONE, 0x100);
    in.opsize = 16;
    in.adsize = 16;
    in.len = 4;
    cr_assert_eq(exec(e, &in), -1);
    cr_assert_eq(c->eip, 0x1234);
    cr_assert_eq(c->seg[S_CS].sel, 0x2000);
    cr_assert_eq(c->seg[S_CS].base, 0x20000);
    cr_assert_eq(c->r[R_ESP], 0x7000 - 4);
    cr_assert_eq(rd32(e, 0x7000 - 4), 0x00000504); /* CS:IP = 0000:0504 */
    wr32(e, 0x100, 0x30005678);
    in = M(0xff, 5, REG_NONE, 0x100);
    in.opsize = 16;
    in.adsize = 16;
    cr_assert_eq(exec(e, &in), -1);
    cr_assert_eq(c->eip, 0x5678);
    cr_assert_eq(c->seg[S_CS].base, 0x30000);
    cr_assert_eq(c->r[R_ESP], 0x7000 - 4);
    env_free(e);
}
