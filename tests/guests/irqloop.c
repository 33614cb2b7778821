/* irqloop.c - test guest for timer interrupts arriving during long loops,
 * aimed at the dynamic translator (which must check for interrupts on
 * chained/looping code): a loop that polls memory written by the IRQ
 * handler, register-only loops (DEC/JNZ, LOOP, JMP to itself) that only
 * end because the handler edits the interrupted frame (ECX or EIP), a loop
 * whose immediate the handler patches (SMC from an interrupt), a loop in
 * ring 3, a CLI/STI window loop, a HLT loop, and a long computation that
 * must give the same result with and without interrupts. PIT at ~1 kHz.
 * Only deterministic facts are printed (never tick counts). */
#include "lib/guest.h"

uint32_t irq_dec(void), irq_loopi(void), irq_self(void), irq_patch(void);
void irq_user(void);
extern uint8_t irq_dec_lo[], irq_dec_hi[], irq_loop_at[], irq_self_at[], irq_patch_imm[];
extern uint8_t irq_user_lo[], irq_user_hi[];

__asm__(".text\n"
    ".globl irq_dec, irq_dec_lo, irq_dec_hi\n"
    "irq_dec:\n"
    "    movl $0xffffffff, %ecx\n"
    "irq_dec_lo:\n"
    "    decl %ecx\n"
    "    jnz irq_dec_lo\n"
    "irq_dec_hi:\n"
    "    movl %ecx, %eax\n"
    "    ret\n"

    ".globl irq_loopi, irq_loop_at\n"
    "irq_loopi:\n"
    "    movl $0xffffffff, %ecx\n"
    "irq_loop_at:\n"
    "    loop irq_loop_at\n"
    "    leal 0x100(%ecx), %eax\n"
    "    ret\n"

    ".globl irq_self, irq_self_at\n"
    "irq_self:\n"
    "    xorl %eax, %eax\n"
    "irq_self_at:\n"
    "    jmp irq_self_at\n"
    "    movl $0x5e1f, %eax\n"
    "    ret\n"

    ".globl irq_patch, irq_patch_imm\n"
    "irq_patch:\n"
    "    movb $0, irq_patch_imm\n"
    "1:  .byte 0xb8\n"                 /* movl $imm32, %eax */
    "irq_patch_imm:\n"
    "    .long 0\n"
    "    testl %eax, %eax\n"
    "    jz 1b\n"
    "    ret\n"

    ".globl irq_user, irq_user_lo, irq_user_hi\n"
    "irq_user:\n"                      /* ring 3 */
    "    movl $0xffffffff, %ecx\n"
    "    xorl %edx, %edx\n"
    "irq_user_lo:\n"
    "    decl %ecx\n"
    "    jnz irq_user_lo\n"
    "irq_user_hi:\n"
    "    movl %ecx, %eax\n"
    "    int $0x81\n");

static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[4096] __attribute__((aligned(16)));

enum { M_NONE, M_DEC, M_LOOP, M_SELF, M_PATCH, M_USER };
static volatile uint32_t ticks, mode, kills, bad;

static void on_irq0(struct frame *f)
{
    ticks++;
    switch (mode) {
    case M_DEC:
        if (f->eip >= (uint32_t)irq_dec_lo && f->eip < (uint32_t)irq_dec_hi && ticks >= 3) {
            f->ecx = 1;
            kills++;
            mode = M_NONE;
        }
        break;
    case M_LOOP:
        if (f->eip == (uint32_t)irq_loop_at && ticks >= 3) {
            f->ecx = 1;
            kills++;
            mode = M_NONE;
        }
        break;
    case M_SELF:
        if (f->eip == (uint32_t)irq_self_at && ticks >= 3) {
            f->eip += 2;
            kills++;
            mode = M_NONE;
        }
        break;
    case M_PATCH:
        if (ticks >= 3) {
            irq_patch_imm[0] = 0x42;
            kills++;
            mode = M_NONE;
        }
        break;
    case M_USER:
        if ((f->cs & 3) == 3 && f->eip >= (uint32_t)irq_user_lo &&
            f->eip < (uint32_t)irq_user_hi && ticks >= 3) {
            if (f->ss != SEL_UDATA)
                bad++;
            f->ecx = 1;
            f->edx = 0x1234;
            kills++;
            mode = M_NONE;
        }
        break;
    }
    pic_eoi(0);
}

static uint32_t user_eax, user_edx;
static void on_int81(struct frame *f)
{
    user_eax = f->eax;
    user_edx = f->edx;
    kernel_resume(f->cs & 3);
}

static void arm(uint32_t m)
{
    cli();
    ticks = 0;
    kills = 0;
    mode = m;
    sti();
}

static void done(const char *what, uint32_t result)
{
    cli();
    printf("%s: result %x, ended by the handler: %s\n", what, result, kills == 1 ? "yes" : "NO");
}

static uint32_t mixstep(uint32_t h, uint32_t i)
{
    h = h * 0x9e3779b1u + i;
    return h ^ (h >> 15);
}

static __attribute__((noinline)) uint32_t called(uint32_t a)
{
    __asm__ volatile("" : "+r"(a));
    return a * 3 + 1;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    pic_remap(0x20, 0x28);
    idt_set(0x20, on_irq0, 0, 0);
    idt_set(0x81, on_int81, 3, 0);
    tss_load((uint32_t)(kstack + sizeof(kstack)));
    pit_set_periodic(1193);
    pic_mask(0, 0);

    /* 1. poll memory written by the handler */
    arm(M_NONE);
    while (ticks < 10)
        ;
    cli();
    printf("memory-polling loop: ended\n");

    /* 2-5. loops that only the handler can end */
    arm(M_DEC);
    done("dec/jnz loop, handler sets ecx=1", irq_dec());
    arm(M_LOOP);
    done("LOOP to itself, handler sets ecx=1", irq_loopi());
    arm(M_SELF);
    done("jmp to itself, handler moves eip", irq_self());
    arm(M_PATCH);
    done("loop patched by the handler", irq_patch());

    /* 6. ring 3 register loop (stack switch on each interrupt) */
    arm(M_USER);
    uint32_t cpl = run_user(irq_user, (uint32_t)(ustack + sizeof(ustack)), 0x202);
    cli();
    printf("ring 3 dec/jnz loop: back from cpl %u, eax=%x edx=%x, ended by the handler: %s, ss %s\n",
           cpl, user_eax, user_edx, kills == 1 ? "yes" : "NO", bad ? "WRONG" : "ok");

    /* 7. a long computation with interrupts, then again without */
    arm(M_NONE);
    uint32_t h = 1, it = 0;
    while (ticks < 30) {
        h = mixstep(h, it);
        it++;
    }
    cli();
    uint32_t h2 = 1;
    for (uint32_t i = 0; i < it; i++)
        h2 = mixstep(h2, i);
    printf("computation across interrupts: %s\n", h == h2 ? "same result" : "DIFFERENT");

    /* 8. a loop with a call (two blocks) */
    arm(M_NONE);
    uint32_t a = 5, n = 0;
    while (ticks < 20) {
        a = called(a);
        n++;
    }
    cli();
    uint32_t a2 = 5;
    for (uint32_t i = 0; i < n; i++)
        a2 = a2 * 3 + 1;
    printf("call loop across interrupts: %s\n", a == a2 ? "same result" : "DIFFERENT");

    /* 9. interrupts only in an STI window */
    arm(M_NONE);
    uint32_t w = 0;
    while (ticks < 20) {
        cli();
        w++;
        sti();
        __asm__ volatile("nop");
    }
    cli();
    printf("cli/sti window loop: ended\n");

    /* 10. HLT loop */
    arm(M_NONE);
    while (ticks < 10)
        hlt();
    cli();
    printf("hlt loop: ended\n");
    printf("irqloop done\n");
    return 0;
}
