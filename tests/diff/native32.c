/* native32.c - the native side of the differential test: a 32-bit helper
 * process (built with gcc -m32) that runs test sequences on the host CPU.
 *
 * It maps the code page at DT_CODE and the data area at DT_DATA, then loops:
 * read a batch of struct dt_case from stdin, for each fill the data area,
 * copy the code followed by "jmp [DT_RETSLOT]", load every register and
 * EFLAGS from the record and jump to the code. The sequence returns through
 * ret_stub, which saves the registers. Faults (SIGFPE/SIGSEGV/SIGILL/SIGBUS)
 * are caught on an alternate stack: the handler takes the registers from
 * the signal context and the trap number as the exception vector (from
 * the signal where the frame has none, as under qemu-i386). A
 * struct dt_result per case goes to stdout. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "proto.h"

#if !defined(__i386__)
#error "native32.c must be built with -m32"
#endif

/* State shared with the assembly trampoline (absolute addresses). */
uint32_t g_in_regs[8], g_in_eflags, g_entry;
uint32_t g_out_regs[8], g_out_eflags;
uint32_t g_host_esp;
void dt_enter(void);
void dt_ret_stub(void);

/* dt_enter: save the C context, load the test state and jump to it.
 * dt_ret_stub: reached by the sequence's final "jmp [DT_RETSLOT]"; saves the
 * test registers, switches back to the host stack and returns from
 * dt_enter. The test's own stack (inside the data area) is not touched. */
__asm__(
    ".text\n"
    ".globl dt_enter\n"
    "dt_enter:\n"
    "  pushal\n"
    "  pushfl\n"
    "  movl %esp, g_host_esp\n"
    "  pushl g_in_eflags\n"
    "  popfl\n"
    "  movl g_in_regs+0, %eax\n"
    "  movl g_in_regs+4, %ecx\n"
    "  movl g_in_regs+8, %edx\n"
    "  movl g_in_regs+12, %ebx\n"
    "  movl g_in_regs+16, %esp\n"
    "  movl g_in_regs+20, %ebp\n"
    "  movl g_in_regs+24, %esi\n"
    "  movl g_in_regs+28, %edi\n"
    "  jmp *g_entry\n"
    ".globl dt_ret_stub\n"
    "dt_ret_stub:\n"
    "  movl %eax, g_out_regs+0\n"
    "  movl %ecx, g_out_regs+4\n"
    "  movl %edx, g_out_regs+8\n"
    "  movl %ebx, g_out_regs+12\n"
    "  movl %esp, g_out_regs+16\n"
    "  movl %ebp, g_out_regs+20\n"
    "  movl %esi, g_out_regs+24\n"
    "  movl %edi, g_out_regs+28\n"
    "  movl g_host_esp, %esp\n"
    "  pushfl\n"
    "  popl g_out_eflags\n"
    "  cld\n"
    "  popfl\n"
    "  popal\n"
    "  ret\n");

static sigjmp_buf g_jmp;
static volatile int g_vector;
static uint8_t *g_code = (uint8_t *)DT_CODE;
static uint8_t *g_data = (uint8_t *)DT_DATA;
static uint8_t g_init[DT_DATA_SIZE];   /* the data area as filled */

static void on_fault(int sig, siginfo_t *si, void *uctx)
{
    ucontext_t *uc = uctx;
    greg_t *g = uc->uc_mcontext.gregs;
    g_vector = (int)g[REG_TRAPNO];
    if (g_vector < 0 || g_vector > 31) {
        /* No trap number in the frame: qemu-i386 (the integer oracle of
         * hosts without 32-bit support) leaves it -1. Derive the vector
         * from the signal the way Linux raises them. */
        switch (sig) {
        case SIGILL: g_vector = 6; break;
        case SIGSEGV: g_vector = si->si_code == SI_KERNEL ? 13 : 14; break;
        case SIGTRAP: g_vector = si->si_code == TRAP_BRKPT ? 3 : 1; break;
        case SIGBUS: g_vector = 17; break;
        default: g_vector = 0; break;
        }
    }
    if (sig == SIGFPE && g_vector != 0 && g_vector != 16 && g_vector != 19)
        g_vector = 0;
    g_out_regs[0] = g[REG_EAX];
    g_out_regs[1] = g[REG_ECX];
    g_out_regs[2] = g[REG_EDX];
    g_out_regs[3] = g[REG_EBX];
    g_out_regs[4] = g[REG_UESP];
    g_out_regs[5] = g[REG_EBP];
    g_out_regs[6] = g[REG_ESI];
    g_out_regs[7] = g[REG_EDI];
    g_out_eflags = g[REG_EFL];
    g_in_eflags = g[REG_EIP];          /* reused: the faulting EIP */
    siglongjmp(g_jmp, 1);
}

static int read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Run one case, filling *res. */
static void run_case(const struct dt_case *c, struct dt_result *res)
{
    uint32_t i;
    uint32_t end = DT_CODE + c->code_len;

    dt_fill(g_data, (uint64_t)c->fill_hi << 32 | c->fill_lo);
    memcpy(g_data + DT_FPU_IN, c->fpu_img, DT_FPU_IMG);
    memcpy(g_init, g_data, DT_DATA_SIZE);

    /* code, then jmp [DT_RETSLOT], then HLT (a #GP in user mode) */
    memcpy(g_code, c->code, c->code_len);
    g_code[c->code_len] = 0xff;
    g_code[c->code_len + 1] = 0x25;
    dt_put32(g_code + c->code_len + 2, DT_RETSLOT);
    memset(g_code + c->code_len + 6, 0xf4, DT_RETSLOT - end - 6);

    memset(res, 0, sizeof(*res));
    res->magic = DT_MAGIC_RES;
    res->index = c->index;
    memcpy(g_in_regs, c->regs, sizeof(g_in_regs));
    g_in_eflags = (c->eflags & 0x0cd5u) | 0x202u;
    g_entry = DT_CODE;
    g_vector = -1;
    if (sigsetjmp(g_jmp, 0) == 0) {
        dt_enter();
        res->eip = end;
    } else {
        res->eip = g_in_eflags;
        __asm__ volatile("cld; fninit");
    }
    res->vector = g_vector;
    memcpy(res->regs, g_out_regs, sizeof(res->regs));
    res->eflags = g_out_eflags;
    if (c->has_fpu && g_vector < 0)
        memcpy(res->fpu, g_data + DT_FPU_OUT, DT_FPU_IMG);
    /* the FNSAVE area is reported in res->fpu, not as dirty memory */
    memcpy(g_data + DT_FPU_OUT, g_init + DT_FPU_OUT, DT_FPU_IMG);
    for (i = 0; i < DT_DATA_SIZE; i += 4) {
        uint32_t a, b;
        memcpy(&a, g_data + i, 4);
        memcpy(&b, g_init + i, 4);
        if (a != b) {
            if (res->ndirty < DT_DIRTY_MAX) {
                res->dirty[res->ndirty].off = i;
                res->dirty[res->ndirty].val = a;
            }
            res->ndirty++;
        }
    }
}

#define BATCH 64

int main(void)
{
    static struct dt_case cases[BATCH];
    static struct dt_result res[BATCH];
    static uint8_t altstack[65536];
    stack_t ss;
    struct sigaction sa;
    uint32_t n;
    void *p;

    p = mmap((void *)DT_CODE, DT_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)DT_CODE) {
        perror("native32: mmap code");
        return 2;
    }
    p = mmap((void *)DT_DATA, DT_DATA_SIZE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)DT_DATA) {
        perror("native32: mmap data");
        return 2;
    }
    dt_put32(g_code + (DT_RETSLOT - DT_CODE), (uint32_t)(uintptr_t)dt_ret_stub);

    ss.ss_sp = altstack;
    ss.ss_size = sizeof(altstack);
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);

    /* protocol: uint32 count, then count cases; answer count results */
    for (;;) {
        if (read_full(0, &n, 4) < 0 || n == 0)
            return 0;
        if (n > BATCH) {
            fprintf(stderr, "native32: batch too large\n");
            return 2;
        }
        if (read_full(0, cases, n * sizeof(cases[0])) < 0)
            return 2;
        for (uint32_t i = 0; i < n; i++) {
            if (cases[i].magic != DT_MAGIC_CASE || cases[i].code_len > DT_CODE_MAX) {
                fprintf(stderr, "native32: bad record\n");
                return 2;
            }
            run_case(&cases[i], &res[i]);
        }
        if (write_full(1, res, n * sizeof(res[0])) < 0)
            return 2;
    }
}
