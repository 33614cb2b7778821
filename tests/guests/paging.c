/* paging.c - test guest: 2-level paging with 4 KiB pages and a 4 MiB PSE
 * page, aliases, #PF (not present, write to read-only with CR0.WP=1,
 * user access to a supervisor page from ring 3) with CR2/error code
 * checks and fix-and-resume, INVLPG, Accessed/Dirty bits. */
#include "lib/guest.h"

#define P  0x001u
#define RW 0x002u
#define US 0x004u
#define A  0x020u
#define D  0x040u
#define PS 0x080u

static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt0[1024] __attribute__((aligned(4096)));      /* 0-4M identity */
static volatile uint32_t pt_alias[1024] __attribute__((aligned(4096))); /* 0x40000000 */
static uint8_t kstack[8192] __attribute__((aligned(16)));      /* TSS esp0 */
static uint8_t ustack[4096] __attribute__((aligned(4096)));
static volatile uint32_t super_page[1024] __attribute__((aligned(4096)));
static volatile uint32_t user_ro_page[1024] __attribute__((aligned(4096)));
static volatile uint32_t u_cr2[4], u_err[4], u_n;

#define ALIAS ((volatile uint32_t *)0x40000000)
#define BIG_ALIAS ((volatile uint32_t *)0x80000000)   /* PSE -> 4M */
#define PHYS(a) ((volatile uint32_t *)(a))

static volatile int pf_count;
static volatile uint32_t pf_cr2, pf_err, pf_fix;

static void on_pf(struct frame *f)
{
    pf_count++;
    pf_cr2 = read_cr2();
    pf_err = f->err;
    if (pf_count > 10)
        fail(2, "#PF loop: cr2=%x err=%x eip=%x", pf_cr2, pf_err, f->eip);
    switch (pf_fix) {
    case 1: /* not present: map it */
        pt_alias[(pf_cr2 >> 12) & 1023] = 0x501000 | P | RW;
        break;
    case 2: /* read-only: make it writable */
        pt_alias[(pf_cr2 >> 12) & 1023] |= RW;
        invlpg((void *)pf_cr2);
        break;
    case 3: /* ring 3: supervisor page -> user page; read-only -> RW */
        if (u_n < 4) {
            u_cr2[u_n] = pf_cr2;
            u_err[u_n++] = pf_err;
        }
        pt0[(pf_cr2 >> 12) & 1023] |= (pf_err & 2) ? RW : US;
        invlpg((void *)pf_cr2);
        break;
    case 4: /* read-only PSE page */
        pd[pf_cr2 >> 22] |= RW;
        invlpg((void *)pf_cr2);
        break;
    default:
        fail(3, "unexpected #PF cr2=%x err=%x eip=%x", pf_cr2, pf_err, f->eip);
    }
}

static volatile uint32_t user_value;
static void user_fn(void)
{
    user_value = super_page[5];           /* #PF, fixed, then reads */
    user_ro_page[9] = user_value + 1;     /* #PF (write, user, present) */
    __asm__ volatile("int $0x81");
}
static void on_int81(struct frame *f)
{
    (void)f;
    kernel_resume(f->cs & 3);
}

static void report_pf(const char *what, uint32_t expect_cr2)
{
    printf("%s: #PF count=%d cr2 %s err=%x\n", what, pf_count,
           pf_cr2 == expect_cr2 ? "ok" : "WRONG", pf_err);
    pf_count = 0;
    pf_cr2 = pf_err = 0;
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
    pt0[0] = 0;                                           /* catch NULL */
    pt0[((uint32_t)super_page >> 12) & 1023] &= ~US;      /* supervisor only */
    pt0[((uint32_t)user_ro_page >> 12) & 1023] &= ~RW;    /* user read-only */
    pd[0] = (uint32_t)pt0 | P | RW | US;
    pd[1] = 0x400000 | P | RW | PS;                       /* 4-8M identity */
    pd[0x100] = (uint32_t)pt_alias | P | RW | US;         /* 0x40000000 */
    pd[0x200] = 0x400000 | P | PS;                        /* read-only alias */
    pt_alias[0] = 0x500000 | P | RW;
    pt_alias[2] = 0x502000 | P;                           /* read-only */
    pt_alias[3] = 0x503000 | P | RW;
    pt_alias[4] = 0x504000 | P | RW;

    /* fill physical pages before paging */
    for (uint32_t pg = 0x500000; pg < 0x506000; pg += 0x1000)
        for (int i = 0; i < 1024; i++)
            PHYS(pg)[i] = pg + (uint32_t)i * 4;

    write_cr4(read_cr4() | 0x10);                         /* PSE */
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | 0x80000000u | 0x10000u);       /* PG, WP */
    printf("paging on: cr0.pg=%u wp=%u cr4.pse=%u cr3 ok=%u\n", read_cr0() >> 31,
           (read_cr0() >> 16) & 1, (read_cr4() >> 4) & 1, read_cr3() == (uint32_t)pd);

    /* aliases */
    printf("identity: %x\n", PHYS(0x500010)[0]);
    printf("alias 4K: %x %x\n", ALIAS[4], ALIAS[1023]);
    ALIAS[8] = 0xa11a5001;
    printf("write via alias seen at phys: %x\n", PHYS(0x500020)[0]);
    printf("pse 4M alias: %x %x\n", BIG_ALIAS[(0x100000 + 0x40) / 4], BIG_ALIAS[0x3ffffc / 4]);
    PHYS(0x7ffffc)[0] = 0x5e5e5e5e;
    printf("pse identity write, alias read: %x\n", BIG_ALIAS[0x3ffffc / 4]);

    /* not present */
    pf_fix = 1;
    uint32_t v = ALIAS[0x1000 / 4 + 3];
    report_pf("not-present read", 0x4000100c);
    printf("  value after fix: %x pte=%x\n", v, pt_alias[1] & 0xfffff01f);

    /* write to read-only, WP=1 */
    pf_fix = 2;
    ALIAS[0x2000 / 4 + 7] = 0x77777777;
    report_pf("read-only write (WP=1)", 0x4000201c);
    printf("  phys now: %x\n", PHYS(0x50201c)[0]);

    /* write to read-only, WP=0: no fault at CPL 0 */
    pt_alias[2] &= ~RW;
    invlpg(ALIAS + 0x2000 / 4);
    write_cr0(read_cr0() & ~0x10000u);
    pf_fix = 0;
    ALIAS[0x2000 / 4 + 8] = 0x88888888;
    printf("read-only write (WP=0): #PF count=%d phys now: %x\n", pf_count, PHYS(0x502020)[0]);
    write_cr0(read_cr0() | 0x10000u);

    /* read-only PSE page */
    pf_fix = 4;
    BIG_ALIAS[0x1234 / 4] = 0x12341234;
    report_pf("read-only PSE write", 0x80001234);
    printf("  phys now: %x\n", PHYS(0x401234)[0]);

    /* accessed / dirty */
    pt_alias[3] &= ~(A | D);
    pd[0x100] &= ~A;
    invlpg(ALIAS + 0x3000 / 4);
    printf("A/D before: pte a=%u d=%u\n", !!(pt_alias[3] & A), !!(pt_alias[3] & D));
    v = ALIAS[0x3000 / 4];
    printf("A/D after read: pte a=%u d=%u pde a=%u\n", !!(pt_alias[3] & A), !!(pt_alias[3] & D),
           !!(pd[0x100] & A));
    ALIAS[0x3000 / 4] = v + 1;
    printf("A/D after write: pte a=%u d=%u\n", !!(pt_alias[3] & A), !!(pt_alias[3] & D));
    pd[1] &= ~(A | D);
    invlpg(PHYS(0x600000));
    v = PHYS(0x600000)[0];
    printf("PSE A/D after read: a=%u d=%u\n", !!(pd[1] & A), !!(pd[1] & D));
    PHYS(0x600000)[0] = v;
    printf("PSE A/D after write: a=%u d=%u\n", !!(pd[1] & A), !!(pd[1] & D));

    /* INVLPG / CR3 reload: remap and flush */
    v = ALIAS[0x4000 / 4];
    pt_alias[4] = 0x505000 | P | RW;
    invlpg(ALIAS + 0x4000 / 4);
    printf("after remap+invlpg: %x (was %x)\n", ALIAS[0x4000 / 4], v);
    pt_alias[4] = 0x503000 | P | RW;
    write_cr3(read_cr3());
    printf("after remap+cr3 reload: %x\n", ALIAS[0x4000 / 4 + 1]);
    pt_alias[4] = 0;
    invlpg(ALIAS + 0x4000 / 4);
    pf_fix = 1;
    v = ALIAS[0x4000 / 4 + 2];
    report_pf("unmapped+invlpg read", 0x40004008);
    printf("  value: %x\n", v);

    /* user access to a supervisor page from ring 3 */
    super_page[5] = 0x5a5a0005;
    pf_fix = 3;
    uint32_t cpl = run_user(user_fn, (uint32_t)(ustack + sizeof(ustack)), 0x2);
    report_pf("ring 3 read of supervisor page, write to read-only page", (uint32_t)&user_ro_page[9]);
    printf("  user read %x, came back from cpl %u\n", user_value, cpl);
    printf("  ring 3 faults: %u; 1st cr2 %s err=%x; 2nd cr2 %s err=%x; written %x\n", u_n,
           u_cr2[0] == (uint32_t)&super_page[5] ? "ok" : "WRONG", u_err[0],
           u_cr2[1] == (uint32_t)&user_ro_page[9] ? "ok" : "WRONG", u_err[1], user_ro_page[9]);

    /* NULL page */
    pf_fix = 0;
    pt0[0] = 0;
    printf("paging done\n");
    return 0;
}
