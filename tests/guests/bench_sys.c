/* bench_sys.c - exception/system-heavy guest for `make bench`: a ring-3
 * loop whose every iteration makes a system call (INT 0x80 through a DPL 3
 * gate; the kernel unmaps a page and INVLPGs it), touches that page (#PF
 * from ring 3; the handler maps it again), and does port I/O (OUT/IN on
 * the UART scratch register, IOPL 3). "scale=N" sets the work (20000
 * iterations a unit; default 10); the guest test suite uses scale=1. */
#include "lib/guest.h"

#define P  0x001u
#define RW 0x002u
#define US 0x004u
#define WIN 0x40000000u

static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt_id[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt_win[1024] __attribute__((aligned(4096)));
static uint8_t page[4096] __attribute__((aligned(4096)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));
static volatile uint32_t iters, n_sys, n_pf, pf_bad;

static void on_syscall(struct frame *f)
{
    n_sys++;
    f->eax = f->eax * 3 + f->ebx;
    pt_win[0] = 0;
    invlpg((void *)WIN);
}

static void on_pf(struct frame *f)
{
    n_pf++;
    if (read_cr2() != WIN + 0x10 || f->err != 6 || (f->cs & 3) != 3)
        pf_bad++;
    pt_win[0] = (uint32_t)page | P | RW | US;
}

static volatile uint32_t user_result;
static void on_exit(struct frame *f)
{
    (void)f;
    kernel_resume(0);
}

static void user_main(void)
{
    uint32_t acc = 1, n = iters;
    volatile uint32_t *w = (volatile uint32_t *)(WIN + 0x10);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(acc), "b"(i) : "memory");
        *w = r;                                   /* #PF, mapped, restarted */
        outb(COM1 + 7, (uint8_t)r);               /* scratch register */
        acc = r + inb(COM1 + 7) + *w + inb(COM1 + 1);
    }
    user_result = acc;
    __asm__ volatile("int $0x81");
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    uint32_t scale = mb_cmdline_uint(mbi, "scale=", 10);
    if (scale == 0)
        scale = 1;
    printf("bench_sys: scale %u\n", scale);
    idt_set(0x80, on_syscall, 3, 0);
    idt_set(0x81, on_exit, 3, 0);
    idt_set(14, on_pf, 0, 0);
    tss_load((uint32_t)(kstack + sizeof(kstack)));
    for (uint32_t i = 0; i < 1024; i++)
        pt_id[i] = (i << 12) | P | RW | US;
    pd[0] = (uint32_t)pt_id | P | RW | US;
    pd[WIN >> 22] = (uint32_t)pt_win | P | RW | US;
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | 0x80000000u | 0x10000u);

    iters = scale * 20000u;
    run_user(user_main, (uint32_t)(ustack + sizeof(ustack)), 0x3002);   /* IOPL 3 */
    printf("%u iterations: %u syscalls, %u page faults (%s), result %08x\n", iters, n_sys, n_pf,
           pf_bad ? "WRONG cr2/err" : "cr2/err ok", user_result);
    printf("bench_sys done\n");
    return 0;
}
