/* x87.c - test guest: x87 FPU results as exact bit patterns (sqrt,
 * division, transcendental instructions, constants, integer and BCD
 * conversions, rounding and precision control, FCOMI flags, FXAM
 * classes), #NM with CR0.TS (handler does CLTS) and #MF from an unmasked
 * zero-divide with CR0.NE=1. */
#include "lib/guest.h"

typedef long double ld;

static void pr80(const char *what, ld v)
{
    union { ld v; struct { uint64_t m; uint16_t e; } __attribute__((packed)) b; } u;
    u.v = v;
    printf("%-22s %04x:%016llx\n", what, u.b.e, u.b.m);
}

static void pr64(const char *what, double d)
{
    union { double d; uint64_t b; } u = { .d = d };
    printf("%-22s %016llx\n", what, u.b);
}

static uint16_t fstsw(void) { uint16_t s; __asm__ volatile("fnstsw %0" : "=a"(s)); return s; }
static uint16_t fstcw(void) { uint16_t c; __asm__ volatile("fnstcw %0" : "=m"(c)); return c; }
static void fldcw(uint16_t c) { __asm__ volatile("fldcw %0" : : "m"(c)); }
static void fclex(void) { __asm__ volatile("fnclex"); }

#define UNOP(name, insn) \
    static ld name(ld x) { ld r; __asm__ volatile(insn : "=t"(r) : "0"(x)); return r; }
UNOP(x_sqrt, "fsqrt")
UNOP(x_sin, "fsin")
UNOP(x_cos, "fcos")
UNOP(x_f2xm1, "f2xm1")
UNOP(x_rndint, "frndint")
UNOP(x_chs, "fchs")
UNOP(x_abs, "fabs")

static ld x_div(ld a, ld b) { ld r; __asm__ volatile("fdivrp %%st, %%st(1)" : "=t"(r) : "0"(b), "u"(a) : "st(1)") /* GAS: st(1)/st(0) */; return r; }
static ld x_fyl2x(ld x, ld y) { ld r; __asm__ volatile("fyl2x" : "=t"(r) : "0"(x), "u"(y) : "st(1)"); return r; }
static ld x_fpatan(ld y, ld x) { ld r; __asm__ volatile("fpatan" : "=t"(r) : "0"(x), "u"(y) : "st(1)"); return r; }
static ld x_fprem(ld a, ld b) { ld r; __asm__ volatile("1: fprem; fnstsw %%ax; testb $4, %%ah; jnz 1b" : "=t"(r) : "0"(a), "u"(b) : "eax"); return r; }
static ld x_fscale(ld a, ld s) { ld r; __asm__ volatile("fscale" : "=t"(r) : "0"(a), "u"(s)); return r; }

static ld c_pi(void) { ld r; __asm__ volatile("fldpi" : "=t"(r)); return r; }
static ld c_l2e(void) { ld r; __asm__ volatile("fldl2e" : "=t"(r)); return r; }
static ld c_l2t(void) { ld r; __asm__ volatile("fldl2t" : "=t"(r)); return r; }
static ld c_lg2(void) { ld r; __asm__ volatile("fldlg2" : "=t"(r)); return r; }
static ld c_ln2(void) { ld r; __asm__ volatile("fldln2" : "=t"(r)); return r; }

static int32_t x_fist(ld v) { int32_t i; __asm__ volatile("fistl %0" : "=m"(i) : "t"(v)); return i; }
static void set_rc(int rc) { fldcw((uint16_t)((fstcw() & ~0x0c00) | rc << 10)); }

static uint32_t fcomi_flags(ld a, ld b)
{
    uint32_t f;
    __asm__ volatile("fucomi %%st(1), %%st\n\tpushf\n\tpop %0" : "=r"(f) : "t"(a), "u"(b) : "cc");
    return f & 0x45;                           /* ZF PF CF */
}

static uint32_t fcomi_o(ld a, ld b)
{
    uint32_t f;
    __asm__ volatile("fcomi %%st(1), %%st\n\tpushf\n\tpop %0" : "=r"(f) : "t"(a), "u"(b) : "cc");
    return f & 0x45;
}

static uint16_t fxam(ld v)
{
    uint16_t s;
    __asm__ volatile("fxam\n\tfnstsw %0" : "=a"(s) : "t"(v));
    return s & 0x4700;                         /* C3 C2 C1 C0 */
}

static uint16_t fxam_empty(void)
{
    uint16_t s;
    __asm__ volatile("ffree %%st(7)\n\tfdecstp\n\tfxam\n\tfnstsw %0\n\tfincstp" : "=a"(s));
    return s & 0x4700;
}

static volatile uint32_t nm_count, mf_count, mf_sw, mf_vec_eip_ok;
static void on_nm(struct frame *f)
{
    (void)f;
    nm_count++;
    __asm__ volatile("clts");
}
static void on_mf(struct frame *f)
{
    mf_count++;
    mf_sw = fstsw();
    mf_vec_eip_ok = *(const uint8_t *)f->eip == 0x9b;    /* at the FWAIT */
    fclex();
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    write_cr0((read_cr0() & ~0x0cu) | 0x22u);            /* MP, NE; EM=TS=0 */
    __asm__ volatile("fninit");
    printf("x87: fninit cw=%04x sw=%04x\n", fstcw(), fstsw());

    pr80("sqrt(2)", x_sqrt(2.0L));
    pr80("sqrt(1e10+1)", x_sqrt(10000000001.0L));
    pr80("1/3", x_div(1.0L, 3.0L));
    pr80("22/7", x_div(22.0L, 7.0L));
    pr80("-1e300/7e-5", x_div(-1e300L, 7e-5L));
    pr80("fldpi", c_pi());
    pr80("fldl2e", c_l2e());
    pr80("fldl2t", c_l2t());
    pr80("fldlg2", c_lg2());
    pr80("fldln2", c_ln2());
    pr64("fsin(0.5) as double", (double)x_sin(0.5L));
    pr64("fcos(0.5) as double", (double)x_cos(0.5L));
    pr64("fsin(1) as double", (double)x_sin(1.0L));
    pr64("fcos(1) as double", (double)x_cos(1.0L));
    pr80("fsin(0)", x_sin(0.0L));
    pr80("fcos(0)", x_cos(0.0L));
    pr80("f2xm1(0.5)", x_f2xm1(0.5L));
    pr80("fyl2x(8,3)", x_fyl2x(8.0L, 3.0L));
    pr80("fpatan(1,1)", x_fpatan(1.0L, 1.0L));
    pr80("fprem(100.5,3)", x_fprem(100.5L, 3.0L));
    pr80("fscale(1.5,10)", x_fscale(1.5L, 10.0L));
    pr80("fchs(fabs(-7.25))", x_chs(x_abs(-7.25L)));

    /* rounding control */
    static const char *rcname[4] = { "nearest", "down", "up", "chop" };
    static const ld vals[4] = { 2.5L, -2.5L, 3.5L, -1.75L };
    for (int rc = 0; rc < 4; rc++) {
        set_rc(rc);
        printf("rc=%-7s fist:", rcname[rc]);
        for (int i = 0; i < 4; i++)
            printf(" %d", x_fist(vals[i]));
        union { double d; uint64_t b; } u;
        u.d = (double)x_div(1.0L, 3.0L);
        printf(" | rndint(-2.5)=%d 1/3 as double %016llx\n", (int32_t)x_rndint(-2.5L), u.b);
    }
    set_rc(0);
    /* precision control: single and double */
    uint16_t cw = fstcw();
    fldcw((uint16_t)(cw & ~0x0300));
    pr80("1/3 with PC=single", x_div(1.0L, 3.0L));
    fldcw((uint16_t)((cw & ~0x0300) | 0x0200));
    pr80("1/3 with PC=double", x_div(1.0L, 3.0L));
    fldcw(cw);

    /* integer and BCD conversions */
    int64_t big = -1234567890123456789LL, back;
    ld l;
    __asm__ volatile("fildll %1" : "=t"(l) : "m"(big));
    pr80("fild -1234567890123456789", l);
    __asm__ volatile("fistpll %0" : "=m"(back) : "t"(l) : "st");
    printf("fistp back: %s\n", back == big ? "same" : "DIFFERENT");
    uint8_t bcd[10];
    ld dec = 987654321012345678.0L;
    __asm__ volatile("fbstp %0" : "=m"(bcd) : "t"(dec) : "st");
    printf("fbstp 987654321012345678:");
    for (int i = 9; i >= 0; i--)
        printf(" %02x", bcd[i]);
    printf("\n");
    bcd[9] = 0x80;                             /* negative */
    __asm__ volatile("fbld %1" : "=t"(l) : "m"(bcd));
    pr80("fbld (negated)", l);
    int16_t w = -12345;
    __asm__ volatile("filds %1" : "=t"(l) : "m"(w));
    pr80("fild word -12345", l);

    /* compares */
    ld one = 1.0L, two = 2.0L, nan = __builtin_nanl("");
    printf("fucomi: 1vs2=%02x 2vs1=%02x 1vs1=%02x nan=%02x\n", fcomi_flags(one, two),
           fcomi_flags(two, one), fcomi_flags(one, one), fcomi_flags(nan, one));
    fclex();
    (void)fcomi_o(nan, one);
    printf("fcomi with nan: sw.ie=%u\n", fstsw() & 1);
    fclex();

    /* fxam classes */
    union { ld v; struct { uint64_t m; uint16_t e; } __attribute__((packed)) b; } den = { .b = { 1, 0 } };
    printf("fxam: +0=%04x -0=%04x 1=%04x -1=%04x -inf=%04x nan=%04x denormal=%04x empty=%04x\n",
           fxam(0.0L), fxam(-0.0L), fxam(1.0L), fxam(-1.0L), fxam(-__builtin_infl()), fxam(nan),
           fxam(den.v), fxam_empty());

    /* masked zero-divide: +inf and ZE */
    fclex();
    pr80("1/0 (masked)", x_div(1.0L, 0.0L));
    printf("sw after 1/0: %04x\n", fstsw() & 0x00ff);
    fclex();

    /* #NM with CR0.TS */
    idt_set(7, on_nm, 0, 0);
    write_cr0(read_cr0() | 0x08);
    ld t = x_sqrt(16.0L);
    printf("#NM: count=%u ts now=%u result ok=%s\n", nm_count, (read_cr0() >> 3) & 1,
           t == 4.0L ? "yes" : "no");

    /* #MF from an unmasked zero-divide, CR0.NE=1 */
    idt_set(16, on_mf, 0, 0);
    fclex();
    fldcw((uint16_t)(fstcw() & ~0x0004));      /* unmask ZE */
    __asm__ volatile("fld1\n\tfldz\n\tfdivrp %%st, %%st(1)\n\tfwait\n\tfstp %%st(0)" ::: "memory");
    printf("#MF: count=%u sw=%04x at fwait=%s sw after fnclex=%04x\n", mf_count, mf_sw & 0x80ff,
           mf_vec_eip_ok ? "yes" : "no", fstsw() & 0x80ff);
    __asm__ volatile("fninit");
    printf("x87 done\n");
    return 0;
}
