/* codepage.c - test guest for code pages under paging, aimed at the
 * dynamic translator: one linear code page remapped to another physical
 * page (INVLPG and CR3 reload), the same physical code run at two linear
 * addresses (position-dependent results: CALL/POP reads EIP), code written
 * through a data alias of its physical page, code unmapped after it ran
 * (#PF on fetch, fixed by the handler, then resumed), an instruction and a
 * block that straddle two pages whose second page is missing or remapped,
 * and a ring-3 fetch from a supervisor page. */
#include "lib/guest.h"

#define P  0x001u
#define RW 0x002u
#define US 0x004u

static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt0[1024] __attribute__((aligned(4096)));   /* 0-4M identity */
static volatile uint32_t ptw[1024] __attribute__((aligned(4096)));   /* window */
static uint8_t phys[6][4096] __attribute__((aligned(4096)));          /* code pages */
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[4096] __attribute__((aligned(16)));

#define WIN 0x40000000u
#define WPAGE(i) (WIN + (uint32_t)(i) * 0x1000u)
typedef uint32_t (*fn0)(void);

static void map(int i, const void *pg, uint32_t flags)
{
    ptw[i] = (pg ? (uint32_t)pg | flags : 0);
    invlpg((void *)WPAGE(i));
}

/* call 1f; 1: pop %eax; add $tag, %eax; ret  -> linear(entry) + 5 + tag */
static void gen_whereami(uint8_t *p, uint32_t tag)
{
    static const uint8_t head[] = { 0xe8, 0, 0, 0, 0, 0x58, 0x05 };
    memcpy(p, head, sizeof head);
    memcpy(p + 7, &tag, 4);
    p[11] = 0xc3;
}

static volatile uint32_t pf_n, pf_cr2, pf_err, pf_eip, pf_fix;
static volatile int pf_fix_page;
static volatile const void *pf_fix_phys;

static void on_pf(struct frame *f)
{
    pf_n++;
    pf_cr2 = read_cr2();
    pf_err = f->err;
    pf_eip = f->eip;
    if (pf_n > 5)
        fail(2, "#PF loop cr2=%x err=%x eip=%x", pf_cr2, pf_err, f->eip);
    if (pf_fix == 1) {
        map(pf_fix_page, (const void *)pf_fix_phys, P | RW | US);
    } else if (pf_fix == 2) {              /* ring 3: go back to the kernel */
        kernel_resume(0x5e);
    } else {
        fail(3, "unexpected #PF cr2=%x err=%x eip=%x", pf_cr2, pf_err, f->eip);
    }
}

static void on_int81(struct frame *f)
{
    kernel_resume(0x80 | (f->cs & 3));
}

static void report(const char *what, uint32_t want_cr2, uint32_t want_eip)
{
    printf("%s: #PF n=%u cr2 %s err=%x eip %s\n", what, pf_n, pf_cr2 == want_cr2 ? "ok" : "WRONG",
           pf_err, pf_eip == want_eip ? "ok" : "WRONG");
    pf_n = pf_cr2 = pf_err = pf_eip = 0;
}

static uint32_t callw(uint32_t lin)
{
    return ((fn0)lin)();
}

static uint32_t hot(uint32_t lin, int times)
{
    uint32_t r = 0;
    for (int i = 0; i < times; i++)
        r = callw(lin);
    return r;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    idt_set(14, on_pf, 0, 0);
    idt_set(0x81, on_int81, 3, 0);
    tss_load((uint32_t)(kstack + sizeof(kstack)));

    for (int i = 0; i < 1024; i++)
        pt0[i] = (uint32_t)(i << 12) | P | RW | US;
    pd[0] = (uint32_t)pt0 | P | RW | US;
    pd[WIN >> 22] = (uint32_t)ptw | P | RW | US;

    gen_whereami(phys[0], 0x100);
    gen_whereami(phys[1], 0x200);
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | 0x80000000u);
    printf("paging on\n");

    /* remap one linear page between two physical pages */
    map(0, phys[0], P | RW);
    uint32_t a = hot(WPAGE(0), 100);
    map(0, phys[1], P | RW);
    uint32_t b = hot(WPAGE(0), 100);
    printf("remap+invlpg: %x -> %x\n", a - WIN, b - WIN);
    ptw[0] = (uint32_t)phys[0] | P | RW;
    write_cr3(read_cr3());
    printf("remap+cr3 reload: %x\n", hot(WPAGE(0), 100) - WIN);

    /* same physical page at two linear addresses */
    map(1, phys[0], P | RW);
    map(2, phys[0], P | RW);
    uint32_t x = 0;
    for (int i = 0; i < 50; i++)
        x += callw(WPAGE(1)) - callw(WPAGE(2));
    printf("one physical page, two linear: %x %x diff*50 %x\n", callw(WPAGE(1)) - WIN,
           callw(WPAGE(2)) - WIN, x);

    /* write the code through a data alias, run it through the other */
    map(3, phys[0], P | RW);
    volatile uint8_t *alias = (volatile uint8_t *)WPAGE(3);
    for (uint32_t t = 1; t <= 3; t++) {
        alias[7] = (uint8_t)(0x10 * t);
        alias[8] = (uint8_t)t;
        printf("  via alias, tag %x: %x %x\n", 0x10 * t + (t << 8), callw(WPAGE(1)) - WIN,
               callw(WPAGE(0)) - WIN);
    }
    gen_whereami(phys[0], 0x100);

    /* hot code unmapped: #PF on the fetch, mapped again by the handler */
    map(4, phys[1], P | RW);
    hot(WPAGE(4), 200);
    map(4, NULL, 0);
    pf_fix = 1, pf_fix_page = 4, pf_fix_phys = phys[0];
    uint32_t r = callw(WPAGE(4));
    report("unmapped (invlpg) then called", WPAGE(4), WPAGE(4));
    printf("  resumed: %x\n", r - WIN);
    ptw[4] = 0;
    write_cr3(read_cr3());
    pf_fix_phys = phys[1];
    r = callw(WPAGE(4));
    report("unmapped (cr3 reload) then called", WPAGE(4), WPAGE(4));
    printf("  resumed: %x\n", r - WIN);

    /* an instruction straddling linear pages 6|7: mov $imm32,%eax at 0xfff */
    memset(phys[2], 0x90, 4096);          /* nops from 0xff0 */
    phys[2][0xfff] = 0xb8;
    static const uint8_t tail3[] = { 0x44, 0x33, 0x22, 0x11, 0xc3 };
    static const uint8_t tail4[] = { 0x88, 0x77, 0x66, 0x55, 0xc3 };
    memcpy(phys[3], tail3, 5);
    memcpy(phys[4], tail4, 5);
    map(6, phys[2], P | RW);
    map(7, NULL, 0);
    pf_fix = 1, pf_fix_page = 7, pf_fix_phys = phys[3];
    r = callw(WPAGE(6) + 0xff0);
    report("straddling insn, 2nd page missing", WPAGE(7), WPAGE(6) + 0xfff);
    printf("  resumed: %x\n", r);
    uint32_t h1 = hot(WPAGE(6) + 0xff0, 100);
    map(7, phys[4], P | RW);
    uint32_t h2 = hot(WPAGE(6) + 0xff0, 100);
    printf("straddling block, 2nd page remapped: %x -> %x\n", h1, h2);

    /* a block running off the end of page 8 into page 9: nops then
     * 'add $1,%eax' x3 on the next page (remapped) */
    memset(phys[5], 0x90, 4096);
    phys[5][0xff0] = 0x31, phys[5][0xff1] = 0xc0;   /* xor %eax,%eax */
    map(8, phys[5], P | RW);                          /* page 9 -> phys[0]/[1] */
    static const uint8_t incs[] = { 0x40, 0x40, 0x40, 0xc3 };  /* inc eax x3 */
    static const uint8_t decs[] = { 0x48, 0x48, 0xc3 };        /* dec eax x2 */
    uint8_t save0[4], save1[4];
    memcpy(save0, phys[0], 4);
    memcpy(save1, phys[1], 4);
    memcpy(phys[0], incs, sizeof incs);
    memcpy(phys[1], decs, sizeof decs);
    map(9, phys[0], P | RW);
    uint32_t b1 = hot(WPAGE(8) + 0xff0, 100);
    map(9, phys[1], P | RW);
    uint32_t b2 = hot(WPAGE(8) + 0xff0, 100);
    map(9, NULL, 0);
    pf_fix = 1, pf_fix_page = 9, pf_fix_phys = phys[0];
    uint32_t b3 = callw(WPAGE(8) + 0xff0);
    report("block into a missing page", WPAGE(9), WPAGE(9));
    printf("  fall-through results: %x %x %x\n", b1, b2, b3);
    memcpy(phys[0], save0, 4);
    memcpy(phys[1], save1, 4);

    /* ring 3 fetch from a supervisor page: #PF err=5 (no NX: no I/D bit) */
    map(10, phys[0], P | RW);              /* no US */
    pt0[((uint32_t)ustack >> 12) & 1023] |= US;
    pf_fix = 2;
    uint32_t v = run_user((void (*)(void))WPAGE(10), (uint32_t)(ustack + sizeof(ustack)), 0x2);
    report("ring 3 call into supervisor page", WPAGE(10), WPAGE(10));
    printf("  back in the kernel: %x\n", v);
    printf("codepage done\n");
    return 0;
}
