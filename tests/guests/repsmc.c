/* repsmc.c - test guest for REP string instructions that overwrite their
 * own opcode bytes with ECX > 1024 (more elements than vsmp handles in one
 * batch): REP STOSB, REP STOSD, REP MOVSB, STD; REP STOSB. Each one fills
 * a region of code that holds the instruction itself with 0x43 bytes
 * (INC EBX), so what runs afterwards is visible in EBX.
 *
 * What hardware does (Intel SDM vol. 2B, REP: a repeated string operation
 * is suspended only by an exception or interrupt, with EIP pointing at the
 * instruction and the registers showing the finished elements, and is
 * resumed by the return from the handler; vol. 3A, self-modifying code:
 * a write invalidates prefetched instructions, not the one executing):
 *  - with no event in between, the instruction started runs to the end
 *    as decoded; execution then goes on after it, through the INC EBX
 *    sled it wrote there;
 *  - when an interrupt or exception is taken in the middle, the handler
 *    returns to the instruction's address and its bytes are fetched anew.
 *    Here the handler patches them into two INC EBX: a REP OUTSB to
 *    COM1's IER raises the transmitter-empty interrupt with its first
 *    element, and a REP STOSB runs into an unmapped page (#PF) several
 *    batches in.
 * QEMU (7.2) fetches a REP instruction anew after every element, so it
 * does not finish an instruction that overwrote itself: the lines of the
 * first kind start with "sdm: ", the guest checks them against what the
 * SDM implies, and run-guest.sh compares them for vsmp only. The other
 * lines are compared with QEMU as well. */
#include "lib/guest.h"

#define P  0x001u
#define RW 0x002u

static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt0[1024] __attribute__((aligned(4096)));

/* EBX ECX EDI after each region: filled by the region's epilogue */
uint32_t rsm_out[3];
uint8_t rsm_src[4096];   /* REP MOVSB source: 0x43 bytes; REP OUTSB: 0x02 */

void rsm_stosb(void), rsm_stosd(void), rsm_movsb(void), rsm_stosb_down(void);
void rsm_irq(void), rsm_pf(void);
extern uint8_t rsm_stosb_pre[], rsm_stosb_at[], rsm_stosb_end[];
extern uint8_t rsm_stosd_pre[], rsm_stosd_at[], rsm_stosd_end[];
extern uint8_t rsm_movsb_pre[], rsm_movsb_at[], rsm_movsb_end[];
extern uint8_t rsm_stosb_down_pre[], rsm_stosb_down_at[], rsm_stosb_down_end[];
extern uint8_t rsm_irq_at[], rsm_pf_at[];
/* the interrupt and #PF cases' destination; its second page is unmapped
 * for the #PF case */
uint8_t rsm_buf[2][4096] __attribute__((aligned(4096)));

#define RSM_OUT "    cld\n    movl %ebx, rsm_out\n    movl %ecx, rsm_out+4\n" \
                "    movl %edi, rsm_out+8\n    popal\n    ret\n"

/* A region: setup, `pre` NOPs that the instruction overwrites before it
 * reaches itself, the instruction, `post` NOPs, the epilogue. EDI starts
 * at the first NOP, ECX counts the elements up to the epilogue. */
#define REGION(name, setup, insn, pre, post)                                  \
    ".globl " #name ", " #name "_pre, " #name "_at, " #name "_end\n"          \
    ".balign 16\n" #name ":\n"                                                \
    "    pushal\n    xorl %ebx, %ebx\n    movl $0x43434343, %eax\n" setup     \
    #name "_pre:\n    .fill " #pre ", 1, 0x90\n"                              \
    #name "_at:\n    " insn "\n"                                              \
    "    .fill " #post ", 1, 0x90\n" #name "_end:\n" RSM_OUT

__asm__(".text\n"
    /* 100 + 2 + 2000 bytes */
    REGION(rsm_stosb, "    movl $rsm_stosb_pre, %edi\n"
                      "    movl $(rsm_stosb_end - rsm_stosb_pre), %ecx\n    cld\n",
           "rep stosb", 100, 2000)
    /* 100 + 2 + 4398 bytes = 1125 dwords */
    REGION(rsm_stosd, "    movl $rsm_stosd_pre, %edi\n"
                      "    movl $((rsm_stosd_end - rsm_stosd_pre) / 4), %ecx\n    cld\n",
           "rep stosl", 100, 4398)
    REGION(rsm_movsb, "    movl $rsm_movsb_pre, %edi\n    movl $rsm_src, %esi\n"
                      "    movl $(rsm_movsb_end - rsm_movsb_pre), %ecx\n    cld\n",
           "rep movsb", 100, 2000)
    /* downwards from the last byte: the instruction is overwritten by
     * element 1500, in the second batch of 1024 of 2502 */
    REGION(rsm_stosb_down, "    movl $(rsm_stosb_down_end - 1), %edi\n"
                           "    movl $(rsm_stosb_down_end - rsm_stosb_down_pre), %ecx\n    std\n",
           "rep stosb", 1000, 1500)

    /* REP OUTSB of 0x02 bytes to COM1's IER: the first element enables
     * the transmitter-empty interrupt, which is then pending inside the
     * instruction; the handler patches the instruction's bytes */
    ".globl rsm_irq, rsm_irq_at\n"
    ".balign 16\nrsm_irq:\n"
    "    pushal\n    sti\n    xorl %ebx, %ebx\n"
    "    movl $rsm_src, %esi\n    movl $0x3f9, %edx\n    movl $4000, %ecx\n    cld\n"
    "rsm_irq_at:\n    rep outsb\n"
    "    cli\n" RSM_OUT

    /* REP STOSB with a #PF in the middle, several batches in: rsm_buf's
     * second page is not mapped; the handler patches the instruction */
    ".globl rsm_pf, rsm_pf_at\n"
    ".balign 16\nrsm_pf:\n"
    "    pushal\n    xorl %ebx, %ebx\n    movl $0x43434343, %eax\n"
    "    movl $rsm_buf, %edi\n    movl $4600, %ecx\n    cld\n"
    "rsm_pf_at:\n    rep stosb\n"
    RSM_OUT
    ".balign 4096\n");

/* The outcome when the instruction runs to the end as decoded: ECX = 0,
 * EDI past the region, and the sled of `post` INC EBX after it ran. */
static void report_sdm(const char *what, const uint8_t *at, const uint8_t *end, uint32_t edi_want,
                       uint32_t post)
{
    printf("sdm: %s, %u bytes: ecx=%u edi=%s ebx=%u (want 0, end, %u): %s\n", what,
           (uint32_t)(end - at), rsm_out[1], rsm_out[2] == edi_want ? "end" : "WRONG", rsm_out[0],
           post, rsm_out[1] == 0 && rsm_out[2] == edi_want && rsm_out[0] == post ? "ok" : "WRONG");
}

/* ---- the interrupt taken inside the instruction ---- */
/* Replace the two bytes of the REP STOSB at `at` with two INC EBX. */
static void patch(uint8_t *at)
{
    at[0] = 0x43;
    at[1] = 0x43;
}

static volatile uint32_t irq_n, irq_eip, irq_ecx;
static void on_irq4(struct frame *f)
{
    irq_n++;
    irq_eip = f->eip;
    irq_ecx = f->ecx;
    if (f->eip == (uint32_t)rsm_irq_at)
        patch(rsm_irq_at);
    outb(COM1 + 1, 0);      /* IER: no interrupts */
    (void)inb(COM1 + 2);    /* IIR: THRE source cleared */
    pic_mask(4, 1);
    pic_eoi(4);
}

/* ---- the page fault in the middle ---- */
static volatile uint32_t pf_n, pf_eip, pf_ecx, pf_cr2, pf_err;
static void on_pf(struct frame *f)
{
    pf_n++;
    pf_eip = f->eip;
    pf_ecx = f->ecx;
    pf_err = f->err;
    pf_cr2 = read_cr2();
    if (pf_n > 3)
        fail(2, "#PF loop cr2=%x", pf_cr2);
    pt0[(pf_cr2 >> 12) & 1023] = (pf_cr2 & ~0xfffu) | P | RW;
    invlpg((void *)pf_cr2);
    if (f->eip == (uint32_t)rsm_pf_at)
        patch(rsm_pf_at);
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    pic_remap(0x20, 0x28);
    idt_set(0x24, on_irq4, 0, 0);
    idt_set(14, on_pf, 0, 0);
    memset(rsm_src, 0x43, sizeof rsm_src);

    /* ---- no interrupt pending: the instruction finishes as decoded ---- */
    rsm_stosb();
    report_sdm("rep stosb over itself", rsm_stosb_pre, rsm_stosb_end, (uint32_t)rsm_stosb_end,
               (uint32_t)(rsm_stosb_end - rsm_stosb_at - 2));
    rsm_stosd();
    report_sdm("rep stosd over itself", rsm_stosd_pre, rsm_stosd_end, (uint32_t)rsm_stosd_end,
               (uint32_t)(rsm_stosd_end - rsm_stosd_at - 2));
    rsm_movsb();
    report_sdm("rep movsb over itself", rsm_movsb_pre, rsm_movsb_end, (uint32_t)rsm_movsb_end,
               (uint32_t)(rsm_movsb_end - rsm_movsb_at - 2));
    rsm_stosb_down();
    report_sdm("std; rep stosb over itself", rsm_stosb_down_pre, rsm_stosb_down_end,
               (uint32_t)rsm_stosb_down_pre - 1,
               (uint32_t)(rsm_stosb_down_end - rsm_stosb_down_at - 2));

    /* ---- an event taken in the middle: the handler patches the
     * instruction into two INC EBX, and those run after it returns
     * (EBX = 2, ECX as the handler saw it) */
    memset(rsm_src, 0x02, sizeof rsm_src);
    outb(COM1 + 4, 0x0b);   /* MCR: DTR, RTS, OUT2 (a PC's IRQ line gate) */
    pic_mask(4, 0);
    rsm_irq();
    printf("interrupt raised by rep outsb (4000 bytes): taken inside it: %s, "
           "its patched bytes ran after the handler: %s\n",
           irq_n == 1 && irq_eip == (uint32_t)rsm_irq_at && irq_ecx > 0 && irq_ecx < 4000 ? "yes" : "NO",
           rsm_out[0] == 2 && rsm_out[1] == irq_ecx ? "yes" : "NO");

    for (int i = 0; i < 1024; i++)
        pt0[i] = (uint32_t)(i << 12) | P | RW;
    pd[0] = (uint32_t)pt0 | P | RW;
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | 0x80000000u);
    pt0[((uint32_t)rsm_buf[1] >> 12) & 1023] = 0;
    invlpg(rsm_buf[1]);
    rsm_pf();
    printf("#PF inside rep stosb (4600 bytes): n=%u err=%x eip %s cr2 %s ecx=%u, "
           "its patched bytes ran after the handler: %s\n", pf_n, pf_err,
           pf_eip == (uint32_t)rsm_pf_at ? "ok" : "WRONG",
           pf_cr2 == (uint32_t)rsm_buf[1] ? "ok" : "WRONG", pf_ecx,
           rsm_out[0] == 2 && rsm_out[1] == pf_ecx && rsm_out[2] == (uint32_t)rsm_buf[1] ? "yes" : "NO");
    printf("repsmc done\n");
    return 0;
}
