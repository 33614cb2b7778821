/* midblock.c - test guest for exceptions in the middle of a straight-line
 * block, aimed at the dynamic translator: #DE, #UD, #GP (segment load),
 * #PF on a store and on a read-modify-write (fixed by the handler, then
 * the instruction is restarted), #BR (BOUND, fixed and restarted), and
 * the traps INT3, INT n and INTO. The handlers record the interrupted
 * registers, arithmetic flags and EIP (all earlier instructions must be
 * complete, none of the later ones), may change registers in the frame,
 * and skip or restart the instruction; the code after it must see that.
 * Last, single-stepping (TF) through a block with a jump and a call
 * counts one #DB per instruction at the right addresses. */
#include "lib/guest.h"

#define P  0x001u
#define RW 0x002u

static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt0[1024] __attribute__((aligned(4096)));
static volatile uint32_t hole[1024] __attribute__((aligned(4096)));   /* not present at first */

uint32_t mb_out[8];                /* eax ebx ecx edx esi edi ebp, mem */
volatile uint32_t mb_mem;
int32_t mb_bnd[2] = { 10, 20 };
uint32_t mb_hole_addr;

/* registers at the end of a test, and the memory word */
#define SAVE \
    "    movl %eax, mb_out\n    movl %ebx, mb_out+4\n    movl %ecx, mb_out+8\n" \
    "    movl %edx, mb_out+12\n    movl %esi, mb_out+16\n    movl %edi, mb_out+20\n" \
    "    movl %ebp, mb_out+24\n    movl mb_mem, %eax\n    movl %eax, mb_out+28\n"
#define SETUP \
    "    movl $0x11, %eax\n    movl $0x22, %ebx\n    movl $0x33, %ecx\n" \
    "    movl $0x44, %edx\n    movl $0x55, %esi\n    movl $0x66, %edi\n" \
    "    movl $0x77, %ebp\n    movl $0, mb_mem\n"
#define TEST(name) ".globl " #name "\n" #name ":\n    pushal\n" SETUP
#define END SAVE "    popal\n    ret\n"

void mb_de(void), mb_ud(void), mb_gp(void), mb_pf_store(void), mb_pf_rmw(void);
void mb_br(void), mb_int3(void), mb_intn(void), mb_into(void), mb_step(void);
extern uint8_t mb_de_at[], mb_ud_at[], mb_gp_at[], mb_pf_store_at[], mb_pf_rmw_at[];
extern uint8_t mb_br_at[], mb_int3_at[], mb_intn_at[], mb_into_at[], mb_step_at[];

__asm__(".text\n"
    TEST(mb_de)
    "    movl $0xabcd, mb_mem\n"
    "    addl $0x7fffffff, %ecx\n"     /* OF SF */
    "    xorl %esi, %esi\n"             /* flags from XOR: ZF PF */
    "    incl %ebx\n"
    ".globl mb_de_at\nmb_de_at:\n"
    "    divl %esi\n"                   /* #DE: skipped by the handler */
    "    movl $0x99, %edi\n"
    "    incl %ebx\n"
    END

    TEST(mb_ud)
    "    subl $0x34, %ecx\n"            /* -1: SF CF AF PF */
    "    movl %ecx, mb_mem\n"
    ".globl mb_ud_at\nmb_ud_at:\n"
    "    ud2\n"
    "    addl $2, %ecx\n"
    END

    TEST(mb_gp)
    "    movl $0x80, %eax\n"
    "    cmpl $0x80, %eax\n"            /* ZF PF */
    "    movl %eax, mb_mem\n"
    ".globl mb_gp_at\nmb_gp_at:\n"
    "    .byte 0x8e, 0xc0\n"            /* mov %ax,%es: beyond the GDT limit, #GP(0x80) */
    "    movl $0x101, %esi\n"
    END

    TEST(mb_pf_store)
    "    movl mb_hole_addr, %edx\n"
    "    leal 5(%ecx,%ecx,2), %ecx\n"
    "    negl %eax\n"                   /* CF SF */
    "    movl %ecx, mb_mem\n"
    ".globl mb_pf_store_at\nmb_pf_store_at:\n"
    "    movl %ebx, 8(%edx)\n"          /* #PF, mapped by the handler, restarted */
    "    addl 8(%edx), %ebx\n"
    END

    TEST(mb_pf_rmw)
    "    movl mb_hole_addr, %edx\n"
    "    movl $7, %esi\n"
    "    shll $28, %esi\n"              /* CF from the shift */
    ".globl mb_pf_rmw_at\nmb_pf_rmw_at:\n"
    "    adcl %esi, 12(%edx)\n"         /* hole not present again: #PF on the read */
    "    movl 12(%edx), %edi\n"
    END

    TEST(mb_br)
    "    movl $25, %eax\n"
    "    addl $3, %ebx\n"
    ".globl mb_br_at\nmb_br_at:\n"
    "    boundl %eax, mb_bnd\n"         /* 25 > 20: #BR, handler sets eax=15 */
    "    leal 1(%eax), %edi\n"
    END

    TEST(mb_int3)
    "    addl $0x10, %ebx\n"
    "    movl %ebx, mb_mem\n"
    "    int3\n"
    ".globl mb_int3_at\nmb_int3_at:\n"  /* return address of the trap */
    "    addl $1, %ebx\n"               /* handler added 0x1000 */
    END

    TEST(mb_intn)
    "    shll $4, %eax\n"
    "    int $0x40\n"
    ".globl mb_intn_at\nmb_intn_at:\n"
    "    addl %eax, %ecx\n"             /* handler doubled eax */
    "    int $0x40\n"
    "    addl %eax, %ecx\n"
    END

    TEST(mb_into)
    "    movl $0x7ffffff0, %esi\n"
    "    addl $0x20, %esi\n"            /* OF */
    "    into\n"
    ".globl mb_into_at\nmb_into_at:\n"
    "    movl $0, %edi\n"
    "    addl $1, %edi\n"               /* OF clear */
    "    into\n"                        /* no trap */
    "    addl $2, %edi\n"
    END

    /* TF set by POPF traps after each following instruction, including
     * the POPF that clears it */
    TEST(mb_step)
    "    pushfl\n"
    "    pushfl\n"
    "    orl $0x100, (%esp)\n"
    "    popfl\n"                       /* TF on */
    ".globl mb_step_at\nmb_step_at:\n"
    "    addl $1, %eax\n"
    "    jmp 1f\n"
    "    ud2\n"
    "1:  call 2f\n"
    "    jmp 3f\n"
    "2:  incl %ebx\n"
    "    ret\n"
    "3:  movl $0x78, %ebp\n"
    "    popfl\n"                       /* TF off: the last trap */
    "    nop\n"
    END);

static struct frame seen;
static volatile uint32_t nexc, skip, step_n, step_sum, seen_cr2;

static void record(struct frame *f)
{
    nexc++;
    seen = *f;
}

static void on_skip(struct frame *f)           /* faults: skip the insn */
{
    record(f);
    f->eip += skip;
}

static void on_pf(struct frame *f)
{
    record(f);
    seen_cr2 = read_cr2();
    if (nexc > 3)
        fail(2, "#PF loop at %x", f->eip);
    pt0[((uint32_t)hole >> 12) & 1023] = (uint32_t)hole | P | RW;
    invlpg(hole);
}

static void on_br(struct frame *f) { record(f); f->eax = 15; }
static void on_bp(struct frame *f) { record(f); f->ebx += 0x1000; }
static void on_int40(struct frame *f) { record(f); f->eax *= 2; }
static void on_of(struct frame *f) { record(f); f->esi ^= 0xf0000000u; }
static void on_db(struct frame *f)
{
    step_n++;
    step_sum = step_sum * 7 + (f->eip - (uint32_t)mb_step_at);
}

static const char *hx(uint32_t v)
{
    static char buf[4][12];
    static int k;
    char *b = buf[k++ & 3];
    if (v == (uint32_t)hole)
        return "hole";
    int n = 0;
    char t[9];
    do {
        t[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    for (int i = 0; i < n; i++)
        b[i] = t[n - 1 - i];
    b[n] = 0;
    return b;
}

static void show(const char *what, const uint8_t *at)
{
    printf("%s: n=%u vec=%u err=%x eip %s flags=%03x\n", what, nexc, seen.vector, seen.err,
           seen.eip == (uint32_t)at ? "ok" : "WRONG", seen.eflags & 0x8d5);
    printf("  at: eax=%x ebx=%x ecx=%x edx=%s esi=%x edi=%x ebp=%x\n", seen.eax, seen.ebx,
           seen.ecx, hx(seen.edx), seen.esi, seen.edi, seen.ebp);
    printf("  end: eax=%x ebx=%x ecx=%x edx=%s esi=%x edi=%x ebp=%x mem=%x\n", mb_out[0],
           mb_out[1], mb_out[2], hx(mb_out[3]), mb_out[4],
           mb_out[5], mb_out[6], mb_out[7]);
    nexc = 0;
    memset(&seen, 0, sizeof seen);
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    idt_set(0, on_skip, 0, 0);
    idt_set(6, on_skip, 0, 0);
    idt_set(13, on_skip, 0, 0);
    idt_set(14, on_pf, 0, 0);
    idt_set(5, on_br, 0, 0);
    idt_set(3, on_bp, 0, 0);
    idt_set(0x40, on_int40, 0, 0);
    idt_set(4, on_of, 0, 0);
    idt_set(1, on_db, 0, 0);

    skip = 2;
    mb_de();
    show("#DE (div)", mb_de_at);
    mb_ud();
    show("#UD (ud2)", mb_ud_at);
    mb_gp();
    show("#GP (mov es)", mb_gp_at);

    for (int i = 0; i < 1024; i++)
        pt0[i] = (uint32_t)(i << 12) | P | RW;
    pt0[((uint32_t)hole >> 12) & 1023] = 0;
    pd[0] = (uint32_t)pt0 | P | RW;
    mb_hole_addr = (uint32_t)hole;
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | 0x80000000u);
    mb_pf_store();
    printf("cr2 %s\n", seen_cr2 == (uint32_t)&hole[2] ? "ok" : "WRONG");
    show("#PF (store)", mb_pf_store_at);
    hole[3] = 0x1000;
    pt0[((uint32_t)hole >> 12) & 1023] = 0;
    invlpg(hole);
    mb_pf_rmw();
    printf("cr2 %s\n", seen_cr2 == (uint32_t)&hole[3] ? "ok" : "WRONG");
    /* the read-modify-write's #PF: QEMU reports W=0 (it faults on the
     * load); Bochs (and, we believe, hardware) report W=1. Only the
     * bits all agree on are printed; see FINDINGS.md. */
    seen.err &= ~2u;
    show("#PF (adc to memory, err without W)", mb_pf_rmw_at);

    mb_br();
    show("#BR (bound)", mb_br_at);
    mb_int3();
    show("#BP (int3)", mb_int3_at);
    mb_intn();
    show("int 0x40 (x2)", mb_intn_at + 4);          /* after the second one */
    mb_into();
    show("#OF (into)", mb_into_at);

    mb_step();
    printf("single-step: %u traps, eip trail %x, end: eax=%x ebx=%x ebp=%x\n", step_n, step_sum,
           mb_out[0], mb_out[1], mb_out[6]);
    printf("midblock done\n");
    return 0;
}
