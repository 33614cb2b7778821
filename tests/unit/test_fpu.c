/* test_fpu.c - unit tests of the x87 FPU (src/cpu/fpu*.c): arithmetic on
 * edge values, rounding and precision control, stack faults, compares,
 * integer/BCD conversions, environment images, FSAVE/FRSTOR and
 * FXSAVE/FXRSTOR, #NM, #MF and #UD.
 *
 * The handlers are called directly from a local opcode table filled by
 * ops_fpu_register(), with hand-built struct insn. Guest memory is a host
 * buffer mapped at linear GBASE through pre-filled software-TLB entries,
 * so the inline fast paths of mmu.h always hit. The expected values were
 * obtained from the host x87 with a separate throwaway program (the same
 * instruction sequences in 64-bit host code) and are written out here. */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/fpu.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"

/* ---- weak stand-ins for the exception and MMU slow paths -------------
 * Weak, so that they neither clash with nor pull in except.o and mmu.o
 * from libvsmpcore.a: this test only needs "record the vector and unwind"
 * and "a TLB miss is a page fault". */
__attribute__((weak, noreturn)) void cpu_raise(struct cpu *cpu, int vector, uint32_t err)
{
    cpu->last_exc = vector;
    cpu->last_exc_err = err;
    longjmp(*cpu->fault_jmp, 1);
}
__attribute__((weak, noreturn)) void cpu_raise_noerr(struct cpu *cpu, int vector)
{
    cpu_raise(cpu, vector, 0);
}
__attribute__((weak)) uint32_t seg_linear_slow(struct cpu *cpu, int seg, uint32_t off, int size, int write)
{
    (void)seg; (void)off; (void)size; (void)write;
    cpu_raise(cpu, EXC_GP, 0);
}
__attribute__((weak)) uint32_t lin_read_slow(struct cpu *cpu, uint32_t lin, int size, int acc)
{
    (void)size; (void)acc;
    cpu->cr2 = lin;
    cpu_raise(cpu, EXC_PF, 0);
}
__attribute__((weak)) void lin_write_slow(struct cpu *cpu, uint32_t lin, int size, uint32_t val, int acc)
{
    (void)size; (void)val; (void)acc;
    cpu->cr2 = lin;
    cpu_raise(cpu, EXC_PF, PF_W);
}
__attribute__((weak)) void lin_probe_write(struct cpu *cpu, uint32_t lin, int size, int acc)
{
    (void)acc;
    for (uint32_t p = lin & PAGE_MASK; p <= ((lin + size - 1) & PAGE_MASK); p += PAGE_SIZE)
        if (mmu_set(cpu)->write[tlb_index(p)].tag != p) {
            cpu->cr2 = p;
            cpu_raise(cpu, EXC_PF, PF_W);
        }
}

/* ---- harness ---------------------------------------------------------- */
#define GBASE  0x10000u
#define GPAGES 15u               /* GBASE .. GBASE+15 pages mapped; the 16th is not */
#define GEND   (GBASE + GPAGES * PAGE_SIZE)

static struct cpu *cpu;
static uint8_t *ram;
static exec_fn table[512];

static void setup(void)
{
    cpu = calloc(1, sizeof *cpu);
    ram = aligned_alloc(PAGE_SIZE, 16 * PAGE_SIZE);
    cr_assert(cpu && ram);
    memset(ram, 0, 16 * PAGE_SIZE);
    for (int s = 0; s < 2; s++)
        for (unsigned i = 0; i < TLB_SIZE; i++) {
            cpu->tlb.set[s].read[i].tag = TLB_INVALID;
            cpu->tlb.set[s].write[i].tag = TLB_INVALID;
            cpu->tlb.set[s].code[i].tag = TLB_INVALID;
        }
    for (unsigned p = 0; p < GPAGES; p++) {
        uint32_t lin = GBASE + p * PAGE_SIZE;
        struct tlb_entry e = { lin, lin, (uintptr_t)(ram + p * PAGE_SIZE) - lin };
        cpu->tlb.set[0].read[tlb_index(lin)] = e;
        cpu->tlb.set[0].write[tlb_index(lin)] = e;
    }
    for (int s = 0; s < SEG_COUNT; s++) {
        cpu->seg[s].base = 0;
        cpu->seg[s].limit = 0xffffffffu;
        cpu->seg[s].fast = SEGF_R | SEGF_W;
        cpu->seg[s].sel = 0x10;
    }
    cpu->seg[S_CS].sel = 0x08;
    cpu->cr0 = CR0_PE | CR0_ET | CR0_NE;
    cpu->pe = cpu->code32 = cpu->stack32 = true;
    cpu->eflags = F_BIT1;
    cpu->eip = 0x1000;
    cpu->last_exc = -1;
    fpu_reset(&cpu->fpu);
    fpu_init(&cpu->fpu);
    memset(table, 0, sizeof table);
    ops_fpu_register(table);
}

static void teardown(void)
{
    free(ram);
    free(cpu);
}

TestSuite(fpu, .init = setup, .fini = teardown);

/* Run one instruction; returns the exception vector or -1. */
static int run(struct insn *in)
{
    jmp_buf jb;
    cpu->fault_jmp = &jb;
    cpu->last_exc = -1;
    cpu->insn_eip = cpu->eip;
    cpu->eip += in->len;
    if (setjmp(jb)) {
        cpu->eip = cpu->insn_eip;
        return cpu->last_exc;
    }
    cr_assert(table[in->op], "no handler for %03x", in->op);
    table[in->op](cpu, in);
    return -1;
}

/* Register form: opcode byte and ModRM byte (>= C0). */
static int R(unsigned op, unsigned modrm)
{
    struct insn in = { .op = (uint16_t)op, .len = 2, .opsize = 32, .adsize = 32,
                       .seg = SEG_NONE, .has_modrm = 1, .mod = 3,
                       .reg = (modrm >> 3) & 7, .rm = modrm & 7,
                       .base = REG_NONE, .index = REG_NONE };
    return run(&in);
}

/* Memory form op /reg with a disp32 operand at linear addr, operand size. */
static int Mo(unsigned op, unsigned reg, uint32_t addr, int opsize)
{
    struct insn in = { .op = (uint16_t)op, .len = 6, .opsize = (uint8_t)opsize, .adsize = 32,
                       .seg = S_DS, .has_modrm = 1, .mod = 0, .reg = (uint8_t)reg, .rm = 5,
                       .base = REG_NONE, .index = REG_NONE, .disp = addr };
    return run(&in);
}
static int M(unsigned op, unsigned reg, uint32_t addr) { return Mo(op, reg, addr, 32); }

static uint8_t *gp(uint32_t lin) { return ram + (lin - GBASE); }
static void w16(uint32_t a, uint16_t v) { memcpy(gp(a), &v, 2); }
static void w32(uint32_t a, uint32_t v) { memcpy(gp(a), &v, 4); }
static void w64(uint32_t a, uint64_t v) { memcpy(gp(a), &v, 8); }
static void w80(uint32_t a, uint16_t se, uint64_t m) { memcpy(gp(a), &m, 8); memcpy(gp(a) + 8, &se, 2); }
static uint16_t r16(uint32_t a) { uint16_t v; memcpy(&v, gp(a), 2); return v; }
static uint32_t r32(uint32_t a) { uint32_t v; memcpy(&v, gp(a), 4); return v; }
static uint64_t r64(uint32_t a) { uint64_t v; memcpy(&v, gp(a), 8); return v; }

static const struct f80 *st(int i) { return &cpu->fpu.st[fpu_phys(&cpu->fpu, i)]; }
#define ASSERT_ST(i, se, m) do {                                                 \
        cr_assert_eq(st(i)->sexp, (se), "ST(%d) sexp %04x != %04x", (i), st(i)->sexp, (se)); \
        cr_assert_eq(st(i)->mant, (m), "ST(%d) mant %016llx != %016llx", (i),   \
                     (unsigned long long)st(i)->mant, (unsigned long long)(m)); \
    } while (0)
#define SW() (cpu->fpu.sw)

static void set_cw(uint16_t cw)
{
    w16(GBASE + 0xff0, cw);
    cr_assert_eq(M(0xd9, 5, GBASE + 0xff0), -1);   /* FLDCW */
}

/* Double constants. */
#define D_ONE   0x3ff0000000000000ull
#define D_TWO   0x4000000000000000ull
#define D_THREE 0x4008000000000000ull
#define D_PZERO 0x0000000000000000ull
#define D_NZERO 0x8000000000000000ull
#define D_INF   0x7ff0000000000000ull
#define D_QNAN  0x7ff8000000000000ull
#define D_SNAN  0x7ff0000000000001ull
#define A1 (GBASE + 0x100)
#define A2 (GBASE + 0x108)
#define A3 (GBASE + 0x110)
#define A4 (GBASE + 0x120)

static void fld64(uint32_t a, uint64_t v) { w64(a, v); cr_assert_eq(M(0xdd, 0, a), -1); }
static void fld80(uint32_t a, uint16_t se, uint64_t m) { w80(a, se, m); cr_assert_eq(M(0xdb, 5, a), -1); }

/* ---- arithmetic --------------------------------------------------------- */

Test(fpu, add_and_store_double)
{
    w64(A1, 0x3ff8000000000000ull);              /* 1.5 */
    w64(A2, 0x4002000000000000ull);              /* 2.25 */
    cr_assert_eq(M(0xdd, 0, A1), -1);            /* FLD m64 */
    cr_assert_eq(M(0xdc, 0, A2), -1);            /* FADD m64 */
    ASSERT_ST(0, 0x4000, 0xf000000000000000ull); /* 3.75 */
    cr_assert_eq(M(0xdd, 3, A3), -1);            /* FSTP m64 */
    cr_assert_eq(r64(A3), 0x400e000000000000ull);
    cr_assert_eq(cpu->fpu.tw, 0xffff);
    cr_assert_eq(SW() & 0x3f, 0);
}

Test(fpu, signed_zeros_and_rounding_direction)
{
    fld64(A1, D_PZERO);
    fld64(A2, D_NZERO);
    cr_assert_eq(R(0xde, 0xc1), -1);             /* FADDP: +0 + -0 = +0 (RN) */
    ASSERT_ST(0, 0x0000, 0);
    cr_assert_eq(R(0xdd, 0xd8), -1);             /* FSTP ST(0) */
    set_cw(0x077f);                              /* round down */
    fld64(A1, D_PZERO);
    fld64(A2, D_NZERO);
    cr_assert_eq(R(0xde, 0xc1), -1);
    ASSERT_ST(0, 0x8000, 0);                     /* -0 */
}

static void one_third(uint16_t cw)
{
    set_cw(cw);
    fld64(A1, D_THREE);
    fld64(A2, D_ONE);
    cr_assert_eq(R(0xde, 0xf1), -1);             /* FDIVRP: ST(1) = ST(0) / ST(1) */
}

Test(fpu, precision_and_rounding_control)
{
    one_third(0x037f);                           /* 64-bit, nearest */
    ASSERT_ST(0, 0x3ffd, 0xaaaaaaaaaaaaaaabull);
    cr_assert_eq(SW(), 0x3a20);                  /* PE, C1 (rounded up) */
    R(0xdb, 0xe3);
    one_third(0x027f);                           /* 53-bit, nearest */
    ASSERT_ST(0, 0x3ffd, 0xaaaaaaaaaaaaa800ull);
    cr_assert_eq(SW(), 0x3820);
    R(0xdb, 0xe3);
    one_third(0x0a7f);                           /* 53-bit, up */
    ASSERT_ST(0, 0x3ffd, 0xaaaaaaaaaaaab000ull);
    R(0xdb, 0xe3);
    one_third(0x007f);                           /* 24-bit, nearest */
    ASSERT_ST(0, 0x3ffd, 0xaaaaab0000000000ull);
}

Test(fpu, denormal_operand_and_underflow)
{
    fld64(A1, 1);                                /* smallest double denormal */
    cr_assert_eq(SW() & 0x3f, FSW_DE);
    ASSERT_ST(0, 0x3bcd, 0x8000000000000000ull); /* normal in extended */
    cr_assert_eq(M(0xd9, 3, A2), -1);            /* FSTP m32: underflows to +0 */
    cr_assert_eq(r32(A2), 0);
    cr_assert_eq(SW() & 0x3f, FSW_DE | FSW_UE | FSW_PE);
}

Test(fpu, infinities_nans_zero_divide)
{
    fld64(A1, D_INF);
    fld64(A1, D_INF);
    cr_assert_eq(R(0xde, 0xe9), -1);             /* FSUBP: inf - inf */
    cr_assert_eq(SW(), 0x3801);
    ASSERT_ST(0, 0xffff, 0xc000000000000000ull); /* real indefinite */
    R(0xdb, 0xe3);
    fld64(A1, D_SNAN);                           /* SNaN load: IE, quieted */
    cr_assert_eq(SW(), 0x3801);
    ASSERT_ST(0, 0x7fff, 0xc000000000000800ull);
    cr_assert_eq(M(0xdd, 3, A2), -1);
    cr_assert_eq(r64(A2), 0x7ff8000000000001ull);
    R(0xdb, 0xe3);
    fld64(A1, D_PZERO);
    fld64(A2, D_ONE);
    cr_assert_eq(R(0xde, 0xf1), -1);             /* FDIVRP: 1 / 0 */
    cr_assert_eq(SW() & 0x3f, FSW_ZE);
    ASSERT_ST(0, 0x7fff, 0x8000000000000000ull);
}

Test(fpu, masked_overflow_and_constants)
{
    fld80(A1, 0x7ffe, 0xffffffffffffffffull);
    cr_assert_eq(R(0xd8, 0xc8), -1);             /* FMUL ST, ST */
    cr_assert_eq(SW(), 0x3a28);
    ASSERT_ST(0, 0x7fff, 0x8000000000000000ull);
    R(0xdb, 0xe3);
    cr_assert_eq(R(0xd9, 0xeb), -1);             /* FLDPI */
    ASSERT_ST(0, 0x4000, 0xc90fdaa22168c235ull);
    set_cw(0x0b7f);
    cr_assert_eq(R(0xd9, 0xea), -1);             /* FLDL2E, round up */
    ASSERT_ST(0, 0x3fff, 0xb8aa3b295c17f0bcull);
}

Test(fpu, sqrt_sin_fyl2x_fprem)
{
    fld64(A1, D_TWO);
    cr_assert_eq(R(0xd9, 0xfa), -1);             /* FSQRT */
    ASSERT_ST(0, 0x3fff, 0xb504f333f9de6484ull);
    R(0xdb, 0xe3);
    cr_assert_eq(R(0xd9, 0xe8), -1);             /* FLD1 */
    cr_assert_eq(R(0xd9, 0xfe), -1);             /* FSIN */
    ASSERT_ST(0, 0x3ffe, 0xd76aa47848677021ull);
    R(0xdb, 0xe3);
    fld64(A1, D_THREE);
    fld64(A2, D_TWO);
    cr_assert_eq(R(0xd9, 0xf1), -1);             /* FYL2X: 3 * log2(2) */
    ASSERT_ST(0, 0x4000, 0xc000000000000000ull);
    R(0xdb, 0xe3);
    fld64(A1, D_TWO);
    fld64(A2, D_THREE);
    cr_assert_eq(R(0xd9, 0xf8), -1);             /* FPREM: 3 mod 2 */
    ASSERT_ST(0, 0x3fff, 0x8000000000000000ull);
    cr_assert_eq(SW(), 0x3200);                  /* C1 = quotient bit 0 */
}

/* ---- stack faults --------------------------------------------------------- */

Test(fpu, stack_overflow_masked)
{
    for (int i = 0; i < 8; i++)
        cr_assert_eq(R(0xd9, 0xe8), -1);
    cr_assert_eq(cpu->fpu.tw, 0x0000);
    cr_assert_eq(R(0xd9, 0xe8), -1);             /* 9th push */
    cr_assert_eq(SW(), 0x3a41);                  /* IE SF C1=1, TOP 7 */
    ASSERT_ST(0, 0xffff, 0xc000000000000000ull);
    ASSERT_ST(1, 0x3fff, 0x8000000000000000ull);
}

Test(fpu, stack_underflow_masked)
{
    cr_assert_eq(R(0xd8, 0xc1), -1);             /* FADD ST, ST(1): both empty */
    cr_assert_eq(SW(), 0x0041);                  /* IE SF C1=0 */
    ASSERT_ST(0, 0xffff, 0xc000000000000000ull);
    cr_assert_eq(cpu->fpu.tw, 0xfffe);
    R(0xdb, 0xe3);
    cr_assert_eq(M(0xdb, 3, A1), -1);            /* FISTP m32 of empty */
    cr_assert_eq(r32(A1), 0x80000000u);          /* integer indefinite */
    cr_assert_eq(SW(), 0x0841);
    R(0xdb, 0xe3);
    cr_assert_eq(M(0xd9, 3, A2), -1);            /* FSTP m32 of empty */
    cr_assert_eq(r32(A2), 0xffc00000u);
}

Test(fpu, stack_underflow_unmasked_keeps_destination)
{
    set_cw(0x037e);                              /* IE unmasked */
    w64(A1, 0x1122334455667788ull);
    cr_assert_eq(M(0xdd, 3, A1), -1);            /* FSTP m64 of empty */
    cr_assert_eq(r64(A1), 0x1122334455667788ull);
    cr_assert_eq(SW() & (FSW_IE | FSW_SF | FSW_ES | FSW_B), FSW_IE | FSW_SF | FSW_ES | FSW_B);
    cr_assert_eq(fpu_top(&cpu->fpu), 0);         /* not popped */
    cr_assert_eq(R(0xd9, 0xe8), EXC_MF);         /* next waiting instruction */
}

/* ---- compares ------------------------------------------------------------- */

Test(fpu, fcom_fucom_ftst_fxam)
{
    fld64(A1, D_ONE);
    fld64(A2, D_TWO);
    cr_assert_eq(R(0xde, 0xd9), -1);             /* FCOMPP: 2 vs 1 */
    cr_assert_eq(SW(), 0x0000);
    w64(A3, D_QNAN);
    fld64(A1, D_ONE);
    fld64(A3, D_QNAN);
    cr_assert_eq(R(0xde, 0xd9), -1);             /* FCOMPP with QNaN: IE */
    cr_assert_eq(SW(), 0x4501);
    R(0xdb, 0xe3);
    fld64(A1, D_ONE);
    fld64(A3, D_QNAN);
    cr_assert_eq(R(0xda, 0xe9), -1);             /* FUCOMPP with QNaN: no IE */
    cr_assert_eq(SW(), 0x4500);
    R(0xdb, 0xe3);
    cr_assert_eq(R(0xd9, 0xe5), -1);             /* FXAM of empty */
    cr_assert_eq(SW() & 0x4700, 0x4100);
    cr_assert_eq(R(0xd9, 0xe8), -1);
    cr_assert_eq(R(0xd9, 0xe0), -1);             /* FCHS */
    cr_assert_eq(R(0xd9, 0xe5), -1);             /* FXAM -1: normal, sign */
    cr_assert_eq(SW(), 0x3e00);
    R(0xdb, 0xe3);
    cr_assert_eq(R(0xd9, 0xee), -1);             /* FLDZ */
    cr_assert_eq(R(0xd9, 0xe5), -1);
    cr_assert_eq(SW(), 0x7800);
    cr_assert_eq(R(0xd9, 0xe4), -1);             /* FTST 0: C3 */
    cr_assert_eq(SW() & 0x4700, 0x4000);
    w16(A4, 5);
    cr_assert_eq(M(0xde, 2, A4), -1);            /* FICOM m16: 0 < 5: C0 */
    cr_assert_eq(SW() & 0x4700, 0x0100);
}

Test(fpu, fcomi_sets_eflags)
{
    cpu->eflags = F_BIT1 | F_OF | F_SF | F_AF | F_ZF;
    fld64(A1, D_TWO);
    fld64(A2, D_ONE);
    cr_assert_eq(R(0xdf, 0xf1), -1);             /* FCOMIP ST, ST(1): 1 < 2 */
    cr_assert_eq(cpu->eflags, F_BIT1 | F_CF);
    cr_assert_eq(fpu_top(&cpu->fpu), 7);
    fld64(A3, D_QNAN);
    cr_assert_eq(R(0xdf, 0xe9), -1);             /* FUCOMIP with QNaN */
    cr_assert_eq(cpu->eflags, F_BIT1 | F_ZF | F_PF | F_CF);
    cr_assert_eq(SW() & FSW_IE, 0);
    fld64(A1, D_TWO);
    cr_assert_eq(R(0xdb, 0xf1), -1);             /* FCOMI: equal */
    cr_assert_eq(cpu->eflags, F_BIT1 | F_ZF);
}

Test(fpu, fcmov_reads_eflags)
{
    fld64(A1, D_TWO);
    fld64(A2, D_ONE);
    cpu->eflags = F_BIT1;
    cr_assert_eq(R(0xda, 0xc1), -1);             /* FCMOVB: CF=0, no move */
    ASSERT_ST(0, 0x3fff, 0x8000000000000000ull);
    cpu->eflags = F_BIT1 | F_CF;
    cr_assert_eq(R(0xda, 0xc1), -1);             /* CF=1: ST(0) = ST(1) */
    ASSERT_ST(0, 0x4000, 0x8000000000000000ull);
    cr_assert_eq(cpu->eflags, F_BIT1 | F_CF);
}

/* ---- integer and BCD conversions ---------------------------------------- */

Test(fpu, integer_conversions)
{
    fld80(A1, 0x4039, 0x8888888888888888ull);    /* 1e18-ish, out of int16 range */
    cr_assert_eq(M(0xdf, 2, A2), -1);            /* FIST m16 */
    cr_assert_eq(r16(A2), 0x8000);
    cr_assert_eq(SW() & 0x3f, FSW_IE);
    R(0xdb, 0xe3);
    fld80(A1, 0xc000, 0xa000000000000000ull);    /* -2.5 */
    cr_assert_eq(M(0xdb, 2, A2), -1);            /* FIST m32, nearest even */
    cr_assert_eq(r32(A2), 0xfffffffeu);
    set_cw(0x077f);
    cr_assert_eq(M(0xdb, 3, A2), -1);            /* FISTP m32, down */
    cr_assert_eq(r32(A2), 0xfffffffdu);
    cr_assert_eq(SW(), 0x0220);
    w64(A3, 0x8000000000000000ull);              /* FILD m64 INT64_MIN */
    cr_assert_eq(M(0xdf, 5, A3), -1);
    ASSERT_ST(0, 0xc03e, 0x8000000000000000ull);
    w16(A4, 0xffff);                             /* FILD m16 -1 */
    cr_assert_eq(M(0xdf, 0, A4), -1);
    ASSERT_ST(0, 0xbfff, 0x8000000000000000ull);
}

Test(fpu, bcd_conversions)
{
    /* FBLD -123456789012345678 then FBSTP it back. */
    static const uint8_t bcd[10] = { 0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x80 };
    memcpy(gp(A1), bcd, 10);
    cr_assert_eq(M(0xdf, 4, A1), -1);
    cr_assert_eq(M(0xdf, 6, A3), -1);
    cr_assert_eq(memcmp(gp(A3), bcd, 10), 0);
    cr_assert_eq(SW() & 0x3f, 0);
    /* 1e18 does not fit in 18 digits: IE, BCD indefinite. */
    fld80(A1, 0x403a, 0xde0b6b3a76400000ull);
    cr_assert_eq(M(0xdf, 6, A3), -1);
    static const uint8_t indef[10] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };
    cr_assert_eq(memcmp(gp(A3), indef, 10), 0);
    cr_assert_eq(SW() & 0x3f, FSW_IE);
}

/* ---- unmasked exceptions and #MF ----------------------------------------- */

Test(fpu, unmasked_zero_divide_then_mf)
{
    set_cw(0x037b);                              /* ZE unmasked */
    fld64(A1, D_PZERO);
    fld64(A2, D_ONE);
    cr_assert_eq(R(0xde, 0xf1), -1);             /* FDIVRP: 1/0 */
    cr_assert_eq(SW(), 0xb084);                  /* B ES ZE, not popped (TOP 6) */
    ASSERT_ST(0, 0x3fff, 0x8000000000000000ull); /* destination untouched */
    ASSERT_ST(1, 0x0000, 0);
    cr_assert_eq(R(0xd9, 0xe8), EXC_MF);         /* FLD1 */
    cr_assert_eq(fpu_top(&cpu->fpu), 6);
    cr_assert_eq(R(0x9b, 0), EXC_MF);            /* FWAIT */
    cr_assert_eq(M(0xdd, 7, A3), -1);            /* FNSTSW: no wait */
    cr_assert_eq(r16(A3), 0xb084);
    cr_assert_eq(R(0xdf, 0xe0), -1);             /* FNSTSW AX */
    cr_assert_eq(cpu->r[R_EAX] & 0xffff, 0xb084);
    cr_assert_eq(R(0xdb, 0xe2), -1);             /* FNCLEX */
    cr_assert_eq(SW(), 0x3000);
    cr_assert_eq(R(0x9b, 0), -1);
    cr_assert_eq(R(0xd9, 0xe8), -1);
}

Test(fpu, fldcw_unmasking_a_set_flag_makes_it_pending)
{
    fld64(A1, D_PZERO);
    fld64(A2, D_ONE);
    cr_assert_eq(R(0xde, 0xf1), -1);             /* FDIVRP 1/0: masked ZE */
    cr_assert_eq(SW() & FSW_ES, 0);
    set_cw(0x037b);
    cr_assert_eq(SW() & (FSW_ES | FSW_B), FSW_ES | FSW_B);
    cr_assert_eq(R(0xd9, 0xe8), EXC_MF);
    /* FNSTENV masks everything; ES follows. */
    cr_assert_eq(M(0xd9, 6, A4), -1);
    cr_assert_eq(cpu->fpu.cw, 0x037f);
    cr_assert_eq(r32(A4) & 0xffff, 0x037b);
    cr_assert_eq(SW() & FSW_ES, 0);
    cr_assert_eq(R(0xd9, 0xe8), -1);
}

Test(fpu, unmasked_overflow_underflow_biased_result)
{
    set_cw(0x0377);                              /* OE unmasked */
    fld80(A1, 0x7ffe, 0xffffffffffffffffull);
    cr_assert_eq(R(0xd8, 0xc8), -1);
    cr_assert_eq(SW(), 0xb8a8);
    ASSERT_ST(0, 0x5ffe, 0xfffffffffffffffeull); /* exponent - 24576 */
    R(0xdb, 0xe3);
    set_cw(0x036f);                              /* UE unmasked */
    fld80(A1, 0x0001, 0x8000000000000000ull);
    cr_assert_eq(R(0xd8, 0xc8), -1);
    cr_assert_eq(SW(), 0xb890);
    ASSERT_ST(0, 0x2003, 0x8000000000000000ull); /* exponent + 24576 */
}

Test(fpu, unmasked_overflow_store_suppressed)
{
    set_cw(0x0377);
    fld80(A1, 0x7ffe, 0xffffffffffffffffull);
    w32(A2, 0x12345678);
    cr_assert_eq(M(0xd9, 3, A2), -1);            /* FSTP m32 */
    cr_assert_eq(r32(A2), 0x12345678u);
    cr_assert_eq(fpu_top(&cpu->fpu), 7);
    cr_assert_eq(SW() & (FSW_OE | FSW_ES), FSW_OE | FSW_ES);
}

/* ---- #NM, #UD, faults ------------------------------------------------------ */

Test(fpu, nm_with_ts_em_and_fwait)
{
    cpu->cr0 |= CR0_TS;
    cr_assert_eq(R(0xd9, 0xe8), EXC_NM);
    cr_assert_eq(M(0xdd, 7, A1), EXC_NM);        /* even FNSTSW */
    cr_assert_eq(R(0x9b, 0), -1);                /* FWAIT: TS without MP */
    cpu->cr0 |= CR0_MP;
    cr_assert_eq(R(0x9b, 0), EXC_NM);
    cpu->cr0 &= ~(CR0_TS | CR0_MP);
    cpu->cr0 |= CR0_EM;
    cr_assert_eq(R(0xd9, 0xe8), EXC_NM);
    cr_assert_eq(R(0x9b, 0), -1);
    cpu->cr0 &= ~CR0_EM;
    cr_assert_eq(R(0xd9, 0xe8), -1);
}

Test(fpu, undefined_forms)
{
    cr_assert_eq(R(0xd9, 0xd1), EXC_UD);
    cr_assert_eq(R(0xd9, 0xef), EXC_UD);
    cr_assert_eq(R(0xda, 0xe8), EXC_UD);
    cr_assert_eq(R(0xdb, 0xe5), EXC_UD);
    cr_assert_eq(R(0xde, 0xd8), EXC_UD);
    cr_assert_eq(R(0xdf, 0xe1), EXC_UD);
    cr_assert_eq(M(0xdb, 1, A1), EXC_UD);        /* FISTTP (SSE3) */
    cr_assert_eq(M(0xd9, 1, A1), EXC_UD);
    cr_assert_eq(R(0x1ae, 0xc0), EXC_UD);        /* FXSAVE has no register form */
    cr_assert_eq(R(0x1ae, 0xf0), -1);            /* MFENCE: a no-op (fpu.c) */
    cr_assert_eq(R(0x1ae, 0xe8), -1);            /* LFENCE */
    cr_assert_eq(R(0x1ae, 0xf8), -1);            /* SFENCE */
    cr_assert_eq(M(0x1ae, 2, A1), EXC_UD);       /* LDMXCSR */
    /* Reserved aliases hardware executes: FSTP1, FXCH4, FFREEP. */
    cr_assert_eq(R(0xd9, 0xe8), -1);
    cr_assert_eq(R(0xdf, 0xc0), -1);             /* FFREEP ST(0) */
    cr_assert_eq(cpu->fpu.tw, 0xffff);
    cr_assert_eq(fpu_top(&cpu->fpu), 0);
}

Test(fpu, page_fault_leaves_state_unchanged)
{
    fld64(A1, D_ONE);
    struct fpu before = cpu->fpu;
    uint32_t a = GEND - 4;                       /* m64 spans into the unmapped page */
    w32(a, 0xdeadbeef);
    cr_assert_eq(M(0xdd, 3, a), EXC_PF);
    cr_assert_eq(r32(a), 0xdeadbeef);            /* nothing written */
    cr_assert_eq(memcmp(&before, &cpu->fpu, sizeof before), 0);
    cr_assert_eq(M(0xdd, 0, GEND), EXC_PF);      /* load faults too */
    cr_assert_eq(memcmp(&before, &cpu->fpu, sizeof before), 0);
}

/* ---- pointers and environment images -------------------------------------- */

Test(fpu, pointers_and_fnstenv32)
{
    cpu->eip = 0x2345;
    w64(A1, D_ONE);
    cr_assert_eq(M(0xdd, 0, A1), -1);            /* FLD m64 at 0x2345 */
    cr_assert_eq(M(0xd9, 6, A4), -1);            /* FNSTENV (32-bit PM) */
    cr_assert_eq(r32(A4 + 0), 0xffff037fu);
    cr_assert_eq(r32(A4 + 4), 0xffff3800u);
    cr_assert_eq(r32(A4 + 8), 0xffff3fffu);      /* ST0 valid, rest empty */
    cr_assert_eq(r32(A4 + 12), 0x2345u);
    cr_assert_eq(r32(A4 + 16), 0x08u | (0x505u << 16)); /* CS, FOP DD 05 */
    cr_assert_eq(r32(A4 + 20), A1);
    cr_assert_eq(r32(A4 + 24), 0xffff0010u);
    /* Control instructions leave the pointers alone. */
    cpu->eip = 0x3000;
    cr_assert_eq(M(0xd9, 7, A3), -1);            /* FNSTCW */
    cr_assert_eq(cpu->fpu.fip, 0x2345u);
    /* FLDENV back: all of it round-trips (the FNSTENV masks too). */
    w32(A4, 0xffff0362u);
    cr_assert_eq(M(0xd9, 4, A4), -1);
    cr_assert_eq(cpu->fpu.cw, 0x0362);
    cr_assert_eq(cpu->fpu.fop, 0x505);
    cr_assert_eq(cpu->fpu.fdp, A1);
    cr_assert_eq(cpu->fpu.fds, 0x10);
}

Test(fpu, fnstenv16_and_real_mode_formats)
{
    cpu->eip = 0x1234;
    fld64(A1, D_ONE);
    cr_assert_eq(Mo(0xd9, 6, A4, 16), -1);       /* 16-bit protected mode */
    cr_assert_eq(r16(A4 + 0), 0x037f);
    cr_assert_eq(r16(A4 + 2), 0x3800);
    cr_assert_eq(r16(A4 + 4), 0x3fff);
    cr_assert_eq(r16(A4 + 6), 0x1234);
    cr_assert_eq(r16(A4 + 8), 0x0008);
    cr_assert_eq(r16(A4 + 10), (uint16_t)A1);
    cr_assert_eq(r16(A4 + 12), 0x0010);
    /* Real mode, 32-bit: linear pointers split around FOP. */
    cpu->pe = false;
    cpu->fpu.fcs = 0x1000;
    cpu->fpu.fip = 0x0010;
    cpu->fpu.fds = 0x2000;
    cpu->fpu.fdp = 0x0020;
    cpu->fpu.fop = 0x505;
    cr_assert_eq(M(0xd9, 6, A4), -1);
    cr_assert_eq(r32(A4 + 12), 0xffff0010u);
    cr_assert_eq(r32(A4 + 16), (0x1u << 12) | 0x505);
    cr_assert_eq(r32(A4 + 20), 0xffff0020u);
    cr_assert_eq(r32(A4 + 24), 0x2u << 12);
    cr_assert_eq(M(0xd9, 4, A4), -1);            /* FLDENV */
    cr_assert_eq(cpu->fpu.fip, 0x10010u);
    cr_assert_eq(cpu->fpu.fdp, 0x20020u);
    cr_assert_eq(cpu->fpu.fop, 0x505);
    /* Real mode, 16-bit. */
    cr_assert_eq(Mo(0xd9, 6, A4, 16), -1);
    cr_assert_eq(r16(A4 + 6), 0x0010);
    cr_assert_eq(r16(A4 + 8), (0x1u << 12) | 0x505);
    cr_assert_eq(r16(A4 + 10), 0x0020);
    cr_assert_eq(r16(A4 + 12), 0x2u << 12);
}

Test(fpu, fsave_frstor_round_trip)
{
    set_cw(0x0b7e);
    fld64(A1, D_PZERO);                          /* tags: zero */
    fld64(A2, D_ONE);                            /* valid */
    fld64(A3, D_INF);                            /* special */
    uint32_t a = GBASE + 0x400;
    cr_assert_eq(M(0xdd, 6, a), -1);             /* FNSAVE (108 bytes) */
    cr_assert_eq(cpu->fpu.cw, 0x037f);           /* then FNINIT */
    cr_assert_eq(cpu->fpu.tw, 0xffff);
    cr_assert_eq(r16(a + 0), 0x0b7e);
    cr_assert_eq(r16(a + 4), 0x2800);            /* TOP 5 */
    cr_assert_eq(r16(a + 8), 0x4bff);            /* R5 special, R6 valid, R7 zero */
    cr_assert_eq(r64(a + 28), 0x8000000000000000ull);
    cr_assert_eq(r16(a + 36), 0x7fff);
    cr_assert_eq(r16(a + 46), 0x3fff);
    uint8_t img[108];
    memcpy(img, gp(a), 108);
    cr_assert_eq(M(0xdd, 4, a), -1);             /* FRSTOR */
    cr_assert_eq(cpu->fpu.cw, 0x0b7e);
    ASSERT_ST(1, 0x3fff, 0x8000000000000000ull);
    cr_assert_eq(M(0xdd, 6, a + 0x100), -1);
    cr_assert_eq(memcmp(img, gp(a + 0x100), 108), 0);
    /* 16-bit format: 94 bytes. */
    cr_assert_eq(Mo(0xdd, 4, a, 32), -1);
    cr_assert_eq(Mo(0xdd, 6, a + 0x200, 16), -1);
    cr_assert_eq(r16(a + 0x200 + 4), 0x4bff);
    cr_assert_eq(memcmp(gp(a + 0x200 + 14), img + 28, 80), 0);
    cr_assert_eq(Mo(0xdd, 4, a + 0x200, 16), -1);
    ASSERT_ST(0, 0x7fff, 0x8000000000000000ull);
    cr_assert_eq(cpu->fpu.cw, 0x0b7e);
}

Test(fpu, fxsave_fxrstor_round_trip)
{
    fld64(A1, D_ONE);
    fld64(A2, D_TWO);
    cpu->fpu.mxcsr = 0x1f80;
    uint32_t a = GBASE + 0x800;
    memset(gp(a), 0xaa, 512);
    cr_assert_eq(M(0x1ae, 0, a + 8), EXC_GP);    /* misaligned */
    cr_assert_eq(M(0x1ae, 0, a), -1);            /* FXSAVE */
    cr_assert_eq(r16(a + 0), 0x037f);
    cr_assert_eq(r16(a + 2), 0x3000);
    cr_assert_eq(gp(a)[4], 0xc0);                /* abridged tag */
    cr_assert_eq(r32(a + 24), 0x1f80u);
    cr_assert_eq(r64(a + 32), 0x8000000000000000ull);
    cr_assert_eq(r16(a + 40), 0x4000);           /* ST0 = 2 */
    cr_assert_eq(r16(a + 42), 0);                /* slot padding */
    cr_assert_eq(r16(a + 56), 0x3fff);           /* ST1 = 1 */
    cr_assert_eq(gp(a)[160], 0xaa);              /* XMM area untouched */
    R(0xdb, 0xe3);
    cr_assert_eq(M(0x1ae, 1, a), -1);            /* FXRSTOR */
    cr_assert_eq(cpu->fpu.tw, 0x0fff);
    ASSERT_ST(0, 0x4000, 0x8000000000000000ull);
    ASSERT_ST(1, 0x3fff, 0x8000000000000000ull);
    w32(a + 24, 0x10000);                        /* reserved MXCSR bit */
    cr_assert_eq(M(0x1ae, 1, a), EXC_GP);
    cpu->cr0 |= CR0_TS;
    cr_assert_eq(M(0x1ae, 0, a), EXC_NM);
}

Test(fpu, fldcw_reserved_bits_and_reset_state)
{
    set_cw(0xffff);
    cr_assert_eq(cpu->fpu.cw, 0x1f7f);
    set_cw(0x0000);
    cr_assert_eq(cpu->fpu.cw, 0x0040);
    fpu_reset(&cpu->fpu);
    cr_assert_eq(fpu_full_tag(&cpu->fpu), 0x5555);
    cr_assert_eq(cpu->fpu.cw, 0x0040);
}

/* ---- robustness ------------------------------------------------------------ */

/* Random x87 instructions on random data, random control words and random
 * FRSTOR/FLDENV/FXRSTOR images: whatever the guest does, the host x87 must
 * never trap (SIGFPE) or meet an opcode it does not know (SIGILL), and a
 * pending exception must always give #MF before the host sees it. */
Test(fpu, random_sequences_never_trap_the_host)
{
    uint64_t s = 0x243f6a8885a308d3ull;
    for (uint32_t a = GBASE; a < GBASE + 0x1000; a += 8) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        w64(a, s);
    }
    for (int i = 0; i < 200000; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        unsigned op = 0xd8 + (s & 7);
        unsigned modrm = (s >> 8) & 0xff;
        uint32_t addr = GBASE + ((s >> 16) & 0xf00);
        if (((s >> 32) & 31) == 0) {           /* refresh some data */
            w64(addr, s * 0x9e3779b97f4a7c15ull);
            w16(addr + 8, (uint16_t)(s >> 40));
        }
        int r;
        if ((s >> 40) % 97 == 0)
            r = M(0x1ae, 1, addr & ~15u);      /* FXRSTOR of random data */
        else if (modrm >= 0xc0)
            r = R(op, modrm);
        else
            r = Mo(op, (modrm >> 3) & 7, addr, (s >> 50) & 1 ? 32 : 16);
        cr_assert(r == -1 || r == EXC_MF || r == EXC_UD || r == EXC_GP,
                  "op %02x %02x: exception %d", op, modrm, r);
        if (r == EXC_MF) {
            cr_assert(SW() & FSW_ES);
            cr_assert_eq(R(0xdb, 0xe2), -1);   /* FNCLEX */
        }
        cr_assert_eq(!!(SW() & FSW_ES), !!(SW() & ~cpu->fpu.cw & FSW_EXC));
    }
}
