/* repstr.c - test guest for REP string instructions that are interrupted
 * and restarted, aimed at the dynamic translator: long REP MOVSD / STOSB
 * (DF=1) / REPE CMPSB / REPNE SCASB under a ~10 kHz timer whose handler
 * checks ECX/ESI/EDI in the interrupted frame and runs REP STOSB itself;
 * #PF in the middle of REP MOVSD/STOSB/MOVSB (destination, unaligned
 * element across the page end, backwards, source side), where ECX/ESI/EDI
 * must show exactly the finished elements and the restart completes the
 * copy; ECX=0 with bad pointers; overlapping copies; 16-bit addressing
 * (SI wraps, CX counts, upper halves kept); REP LODSB. */
#include "lib/guest.h"

#define P  0x001u
#define RW 0x002u

static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt0[1024] __attribute__((aligned(4096)));
static uint8_t pfbuf[4][4096] __attribute__((aligned(4096)));
#define BIG (1u << 20)
static uint8_t big_a[BIG] __attribute__((aligned(4096)));
static uint8_t big_b[BIG] __attribute__((aligned(4096)));

/* string ops with exported addresses of the REP instruction.
 * regs[] in/out: eax ecx esi edi, eflags out */
uint32_t rs_regs[5];
void rs_movsd(void), rs_stosb_down(void), rs_cmpsb(void), rs_scasb(void), rs_movsb(void);
void rs_movsb_a16(void), rs_lodsb(void), rs_cmpsb0(void);
extern uint8_t rs_movsd_at[], rs_stosb_down_at[], rs_cmpsb_at[], rs_scasb_at[], rs_movsb_at[];

#define RS_IN "    pushal\n    movl rs_regs, %eax\n    movl rs_regs+4, %ecx\n" \
              "    movl rs_regs+8, %esi\n    movl rs_regs+12, %edi\n"
#define RS_OUT "    pushfl\n    popl rs_regs+16\n    cld\n    movl %eax, rs_regs\n" \
               "    movl %ecx, rs_regs+4\n    movl %esi, rs_regs+8\n    movl %edi, rs_regs+12\n" \
               "    popal\n    ret\n"
#define RS(name, body) ".globl " #name ", " #name "_at\n" #name ":\n" RS_IN body RS_OUT

__asm__(".text\n"
    RS(rs_movsd, "    cld\nrs_movsd_at:\n    rep movsl\n")
    RS(rs_stosb_down, "    std\nrs_stosb_down_at:\n    rep stosb\n")
    RS(rs_cmpsb, "    cld\nrs_cmpsb_at:\n    repe cmpsb\n")
    RS(rs_scasb, "    cld\nrs_scasb_at:\n    repne scasb\n")
    RS(rs_movsb, "    cld\nrs_movsb_at:\n    rep movsb\n")
    RS(rs_movsb_a16, "    cld\nrs_movsb_a16_at:\n    .byte 0x67, 0xf3, 0xa4\n")
    RS(rs_lodsb, "    cld\nrs_lodsb_at:\n    rep lodsb\n")
    /* ECX=0: flags from the CMP must survive REPE CMPSB */
    RS(rs_cmpsb0, "    cld\n    cmpl $1, %eax\nrs_cmpsb0_at:\n    repe cmpsb\n"));

static void set_regs(uint32_t eax, uint32_t ecx, const void *esi, const void *edi)
{
    rs_regs[0] = eax;
    rs_regs[1] = ecx;
    rs_regs[2] = (uint32_t)esi;
    rs_regs[3] = (uint32_t)edi;
}

/* ---- timer: consistency of the interrupted REP state ---- */
/* Attempts until a timer tick lands inside the REP instruction. Under
 * vsmp the tick is taken where a run slice ends, which depends on
 * instruction counts rather than time: a single attempt hits with a small
 * probability (about 1%), so allow many. */
#define MAX_TRIES 3000
static volatile uint32_t ticks, mid_hits, mid_bad;
static volatile uint32_t chk_at, chk_si, chk_di, chk_n, chk_size, chk_down, chk_nosi;
static uint8_t scratch[256];

static void on_irq0(struct frame *f)
{
    ticks++;
    if (chk_at && f->eip == chk_at) {
        uint32_t done = chk_n - f->ecx;
        uint32_t bytes = done * chk_size;
        uint32_t dsi = chk_down ? chk_si - f->esi : f->esi - chk_si;
        uint32_t ddi = chk_down ? chk_di - f->edi : f->edi - chk_di;
        if (f->ecx == 0 || f->ecx > chk_n || ddi != bytes || (!chk_nosi && dsi != bytes))
            mid_bad++;
        else
            mid_hits++;
    }
    /* the handler's own REP STOSB */
    uint8_t *sd = scratch;
    uint32_t sc = sizeof scratch;
    __asm__ volatile("cld; rep stosb" : "+D"(sd), "+c"(sc) : "a"(ticks) : "memory");
    pic_eoi(0);
}

static void arm_check(const uint8_t *at, const void *si, const void *di, uint32_t n, uint32_t size,
                      int down, int nosi)
{
    cli();
    chk_si = (uint32_t)si, chk_di = (uint32_t)di, chk_n = n, chk_size = size;
    chk_down = (uint32_t)down, chk_nosi = (uint32_t)nosi;
    mid_hits = mid_bad = 0;
    chk_at = (uint32_t)at;
    sti();
}

static void report_irq(const char *what, int tries, int ok)
{
    cli();
    chk_at = 0;
    printf("%s: result %s, interrupted inside the instruction: %s, frames consistent: %s\n", what,
           ok ? "ok" : "WRONG", mid_hits && tries < MAX_TRIES ? "yes" : "NO", mid_bad ? "NO" : "yes");
}

/* ---- #PF in the middle ---- */
static volatile uint32_t pf_n, pf_cr2, pf_err, pf_ecx, pf_esi, pf_edi, pf_eip;
static void on_pf(struct frame *f)
{
    pf_n++;
    pf_cr2 = read_cr2();
    pf_err = f->err;
    pf_ecx = f->ecx, pf_esi = f->esi, pf_edi = f->edi, pf_eip = f->eip;
    if (pf_n > 3)
        fail(2, "#PF loop cr2=%x", pf_cr2);
    pt0[(pf_cr2 >> 12) & 1023] = (pf_cr2 & ~0xfffu) | P | RW;
    invlpg((void *)pf_cr2);
}

static void unmap(const void *pg)
{
    pt0[((uint32_t)pg >> 12) & 1023] = 0;
    invlpg(pg);
}

static void report_pf(const char *what, const uint8_t *at, const void *si0, const void *di0)
{
    printf("%s: #PF n=%u err=%x eip %s cr2=pg%d+%x ecx=%x esi=+%x edi=+%x\n", what, pf_n, pf_err,
           pf_eip == (uint32_t)at ? "ok" : "WRONG", (int)((pf_cr2 - (uint32_t)pfbuf) >> 12),
           pf_cr2 & 0xfff, pf_ecx, pf_esi - (uint32_t)si0, pf_edi - (uint32_t)di0);
    printf("  after restart: ecx=%x esi=+%x edi=+%x\n", rs_regs[1], rs_regs[2] - (uint32_t)si0,
           rs_regs[3] - (uint32_t)di0);
    pf_n = 0;
}

static uint32_t sum8(const uint8_t *p, uint32_t n)
{
    uint32_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
    for (uint32_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    pic_remap(0x20, 0x28);
    idt_set(0x20, on_irq0, 0, 0);
    idt_set(14, on_pf, 0, 0);
    pit_set_periodic(119);                    /* ~10 kHz */
    pic_mask(0, 0);

    /* ---- interrupted and restarted ---- */
    fill(big_a, BIG, 1);
    int t;
    for (mid_hits = 0, t = 0; t < MAX_TRIES && !mid_hits; t++) {
        memset(big_b, 0, BIG);
        set_regs(0, BIG / 4, big_a, big_b);
        arm_check(rs_movsd_at, big_a, big_b, BIG / 4, 4, 0, 0);
        rs_movsd();
        cli();
    }
    report_irq("rep movsd 1 MiB", t, memcmp(big_a, big_b, BIG) == 0 && rs_regs[1] == 0 &&
                                     rs_regs[2] == (uint32_t)big_a + BIG);

    for (mid_hits = 0, t = 0; t < MAX_TRIES && !mid_hits; t++) {
        set_regs(0xa5, BIG, 0, big_b + BIG - 1);
        arm_check(rs_stosb_down_at, 0, big_b + BIG - 1, BIG, 1, 1, 1);
        rs_stosb_down();
        cli();
    }
    int ok = rs_regs[3] == (uint32_t)big_b - 1 && big_b[0] == 0xa5 && big_b[BIG - 1] == 0xa5 &&
             big_b[BIG / 2] == 0xa5;
    report_irq("std; rep stosb 1 MiB", t, ok);

    memcpy(big_b, big_a, BIG);
    big_b[BIG - 5] ^= 1;
    for (mid_hits = 0, t = 0; t < MAX_TRIES && !mid_hits; t++) {
        set_regs(0, BIG, big_a, big_b);
        arm_check(rs_cmpsb_at, big_a, big_b, BIG, 1, 0, 0);
        rs_cmpsb();
        cli();
    }
    ok = rs_regs[1] == 4 && rs_regs[2] == (uint32_t)big_a + BIG - 4 && !(rs_regs[4] & 0x40);
    report_irq("repe cmpsb 1 MiB, differs near the end", t, ok);

    memset(big_b, 0x11, BIG);
    big_b[BIG - 100] = 0x77;
    for (mid_hits = 0, t = 0; t < MAX_TRIES && !mid_hits; t++) {
        set_regs(0x77, BIG, 0, big_b);
        arm_check(rs_scasb_at, 0, big_b, BIG, 1, 0, 1);
        rs_scasb();
        cli();
    }
    ok = rs_regs[1] == 99 && rs_regs[3] == (uint32_t)big_b + BIG - 99 && (rs_regs[4] & 0x40);
    report_irq("repne scasb 1 MiB, found near the end", t, ok);
    pic_mask(0, 1);

    /* ---- ECX=0 with pointers that would fault ---- */
    set_regs(1, 0, (void *)0xfffff000u, (void *)0xfffff000u);
    rs_movsb();
    printf("ecx=0 rep movsb, bad pointers: no fault, esi/edi unchanged: %s\n",
           rs_regs[2] == 0xfffff000u && rs_regs[3] == 0xfffff000u ? "yes" : "NO");
    set_regs(1, 0, (void *)0xfffff000u, (void *)0xfffff000u);
    rs_cmpsb0();
    printf("ecx=0 repe cmpsb keeps flags: zf=%u\n", (rs_regs[4] >> 6) & 1);

    /* ---- overlapping copies ---- */
    uint8_t ov[24];
    for (int i = 0; i < 24; i++)
        ov[i] = (uint8_t)(0x41 + i);
    set_regs(0, 15, ov, ov + 1);
    rs_movsb();
    ov[16] = 0;
    printf("rep movsb dst=src+1: %s\n", (const char *)ov);
    for (int i = 0; i < 24; i++)
        ov[i] = (uint8_t)(0x41 + i);
    set_regs(0, 4, ov, ov + 2);
    rs_movsd();
    ov[20] = 0;
    printf("rep movsd dst=src+2: %s\n", (const char *)ov);

    /* ---- 16-bit addressing: SI wraps at 64 KiB, CX counts ---- */
    volatile uint8_t *low;
    __asm__("" : "=r"(low) : "0"(0));          /* address 0, hidden from -Warray-bounds */
    uint8_t save[2] = { low[0], low[1] };
    low[0xfffe] = 0xd1, low[0xffff] = 0xd2, low[0] = 0xd3, low[1] = 0xd4;
    set_regs(0, 0xabcd0004u, (void *)0x1234fffeu, (void *)0x56788000u);
    rs_movsb_a16();
    printf("a16 rep movsb: ecx=%x esi=%x edi=%x bytes %02x %02x %02x %02x\n", rs_regs[1], rs_regs[2],
           rs_regs[3], low[0x8000], low[0x8001], low[0x8002], low[0x8003]);
    low[0] = save[0], low[1] = save[1];

    /* ---- rep lodsb ---- */
    static const uint8_t ls[] = { 1, 2, 3, 4, 5, 6 };
    set_regs(0xffffff00u, 5, ls, 0);
    rs_lodsb();
    printf("rep lodsb: eax=%x ecx=%x esi=+%x\n", rs_regs[0], rs_regs[1], rs_regs[2] - (uint32_t)ls);

    /* ---- #PF in the middle (paging on) ---- */
    for (int i = 0; i < 1024; i++)
        pt0[i] = (uint32_t)(i << 12) | P | RW;
    pd[0] = (uint32_t)pt0 | P | RW;
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | 0x80000000u);
    fill(big_a, 0x2000, 7);

    memset(pfbuf, 0, sizeof pfbuf);
    unmap(pfbuf[2]);
    uint8_t *d = pfbuf[1] + 0xf00;
    set_regs(0, 0x100, big_a, d);
    rs_movsd();
    report_pf("rep movsd into a missing page", rs_movsd_at, big_a, d);
    printf("  copy %s\n", memcmp(d, big_a, 0x400) == 0 ? "ok" : "WRONG");

    memset(pfbuf, 0, sizeof pfbuf);
    unmap(pfbuf[2]);
    d = pfbuf[1] + 0xf02;
    set_regs(0, 0x100, big_a, d);
    rs_movsd();
    report_pf("rep movsd, element across the page end", rs_movsd_at, big_a, d);
    printf("  copy %s\n", memcmp(d, big_a, 0x400) == 0 ? "ok" : "WRONG");

    memset(pfbuf, 0, sizeof pfbuf);
    unmap(pfbuf[2]);
    d = pfbuf[3] + 0x10;
    set_regs(0x3c, 0x20, 0, d);
    rs_stosb_down();
    report_pf("std; rep stosb down into a missing page", rs_stosb_down_at, 0, d);
    printf("  stored %x, below untouched %s\n", sum8(pfbuf[2] + 0xff0, 0x30),
           pfbuf[2][0xfef] == 0 ? "yes" : "NO");

    memcpy(pfbuf[1], big_a, 0x1000);
    unmap(pfbuf[2]);
    const uint8_t *s = pfbuf[1] + 0xff8;
    set_regs(0, 16, s, big_b);
    rs_movsb();
    report_pf("rep movsb from a missing page", rs_movsb_at, s, big_b);
    printf("  copied %x\n", sum8(big_b, 16));
    printf("repstr done\n");
    return 0;
}
