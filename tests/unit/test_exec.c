/* test_exec.c - the execution loop and decoded-block cache: self-modifying
 * code inside one block, data written next to code (chunk tracking),
 * HLT and external interrupts, the instruction budget, and precise
 * restart after a fault in the middle of a block, and a REP string
 * instruction that overwrites itself (finished as decoded unless an
 * interrupt is taken between its batches). */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/cpu.h"

#define RAM (1u << 20)

static struct phys phys;
static struct cpu cpu;
static int acks;

static uint32_t io_in(void *ctx, uint16_t port, int size)
{
    (void)ctx; (void)port; (void)size;
    return 0;
}
static void io_out(void *ctx, uint16_t port, int size, uint32_t v)
{
    (void)ctx; (void)port; (void)size; (void)v;
}
static int intr_ack(void *ctx)
{
    (void)ctx;
    acks++;
    cpu.intr = 0;
    return 0x20;
}

static void setup(void)
{
    cr_assert_eq(phys_init(&phys, RAM), 0);
    struct cpu_bus bus = { .io_in = io_in, .io_out = io_out, .intr_ack = intr_ack };
    memset(&cpu, 0, sizeof cpu);
    cpu_init(&cpu, &phys, &bus);
    acks = 0;
}
static void teardown(void)
{
    cpu_free(&cpu);
    phys_free(&phys);
}

static void put(uint32_t at, const uint8_t *code, size_t n)
{
    cr_assert_eq(phys_copy_in(&phys, at, code, n), 0);
}

/* Power-on state, then CS:IP = 0000:ip and SS:SP = 0000:sp. */
static void start_real_mode(uint16_t ip, uint16_t sp)
{
    cpu_reset(&cpu);
    cpu.seg[S_CS].sel = 0;
    cpu.seg[S_CS].base = 0;
    cpu_update_mode(&cpu);
    cpu.eip = ip;
    cpu.r[R_ESP] = sp;
}

TestSuite(exec, .init = setup, .fini = teardown);

Test(exec, self_modifying_code_in_the_same_block)
{
    const uint8_t code[] = {
        0xc6, 0x05, 0x08, 0x10, 0x00, 0x00, 0x42, /* mov byte [0x1008], 0x42 */
        0xb8, 0x11, 0x00, 0x00, 0x00,             /* mov eax, 0x11 (imm patched) */
        0xf4,                                     /* hlt */
    };
    put(0x1000, code, sizeof code);
    cpu_set_flat32(&cpu);
    cpu.eip = 0x1000;
    cpu.r[R_ESP] = 0x8000;
    /* run it twice: the second time the block is cached and patched again */
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_HALT);
    cr_assert_eq(cpu.r[R_EAX], 0x42);
    const uint8_t again[] = { 0x11 };
    put(0x1008, again, 1);
    cpu.halted = false;
    cpu.eip = 0x1000;
    cpu.r[R_EAX] = 0;
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_HALT);
    cr_assert_eq(cpu.r[R_EAX], 0x42);
}

Test(exec, code_rewritten_between_runs_is_redecoded)
{
    const uint8_t v1[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4 }; /* mov eax,1; hlt */
    const uint8_t v2[] = { 0xb8, 0x02, 0x00, 0x00, 0x00, 0xf4 }; /* mov eax,2; hlt */
    put(0x3000, v1, sizeof v1);
    cpu_set_flat32(&cpu);
    cpu.eip = 0x3000;
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_HALT);
    cr_assert_eq(cpu.r[R_EAX], 1);
    put(0x3000, v2, sizeof v2); /* like DMA or a loader */
    cpu.halted = false;
    cpu.eip = 0x3000;
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_HALT);
    cr_assert_eq(cpu.r[R_EAX], 2);
}

Test(exec, data_next_to_code_keeps_the_code)
{
    const uint8_t code[] = {
        0xb9, 0xe8, 0x03, 0x00, 0x00,             /* mov ecx, 1000 */
        0x89, 0x0d, 0x00, 0x28, 0x00, 0x00,       /* L: mov [0x2800], ecx */
        0x49,                                     /* dec ecx */
        0x75, 0xf7,                               /* jnz L */
        0xf4,                                     /* hlt */
    };
    put(0x2000, code, sizeof code);
    cpu_set_flat32(&cpu);
    cpu.eip = 0x2000;
    cr_assert_eq(cpu_run(&cpu, 10000), CPU_EXIT_HALT);
    cr_assert_eq(cpu.r[R_ECX], 0);
    uint32_t v;
    phys_copy_out(&phys, 0x2800, &v, 4);
    cr_assert_eq(v, 1);
    /* the writes missed the decoded bytes: the page still holds code */
    cr_assert(phys_page_is_code(&phys, 0x2000));
    cr_assert_eq(cpu.icount, 1 + 3 * 1000 + 1);
}

Test(exec, hlt_then_external_interrupt_in_real_mode)
{
    const uint8_t ivt[] = { 0x00, 0x06, 0x00, 0x00 };   /* vector 0x20 -> 0000:0600 */
    const uint8_t handler[] = { 0xb0, 0x99, 0xcf };      /* mov al, 0x99; iret */
    const uint8_t main_code[] = { 0xfb, 0xf4, 0xf4 };    /* sti; hlt; hlt */
    put(0x20 * 4, ivt, sizeof ivt);
    put(0x600, handler, sizeof handler);
    put(0x500, main_code, sizeof main_code);
    start_real_mode(0x500, 0x7000);
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_HALT);
    cr_assert_eq(cpu.eip, 0x502);
    cr_assert_eq(acks, 0);
    cpu.intr = 1;
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_HALT);
    cr_assert_eq(acks, 1);
    cr_assert_eq(cpu.r[R_EAX] & 0xff, 0x99);
    cr_assert_eq(cpu.eip, 0x503);
    cr_assert_eq(cpu.r[R_ESP], 0x7000);
}

Test(exec, budget_bounds_an_endless_loop)
{
    const uint8_t code[] = { 0xeb, 0xfe }; /* jmp $ */
    put(0x1000, code, sizeof code);
    cpu_set_flat32(&cpu);
    cpu.eip = 0x1000;
    cr_assert_eq(cpu_run(&cpu, 1000), CPU_EXIT_BUDGET);
    cr_assert_geq(cpu.icount, 1000);
    cr_assert_lt(cpu.icount, 1100);
}

Test(exec, fault_in_the_middle_of_a_block_is_precise)
{
    const uint8_t code[] = {
        0x40,                         /* inc eax */
        0x43,                         /* inc ebx */
        0x31, 0xd2,                   /* xor edx, edx */
        0xf7, 0xf1,                   /* div ecx (ecx = 0: #DE) */
        0x41,                         /* inc ecx (not reached) */
    };
    put(0x1000, code, sizeof code);
    cpu_set_flat32(&cpu);
    cpu.eip = 0x1000;
    cpu.r[R_EAX] = 10;
    cpu.r[R_ESP] = 0x8000;
    cpu.stop_on_exception = true;
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_EXCEPTION);
    cr_assert_eq(cpu.last_exc, EXC_DE);
    cr_assert_eq(cpu.eip, 0x1004);
    cr_assert_eq(cpu.r[R_EAX], 11);
    cr_assert_eq(cpu.r[R_EBX], 1);
    cr_assert_eq(cpu.r[R_ECX], 0);
    cr_assert_eq(cpu.r[R_ESP], 0x8000);
}

Test(exec, single_step_traps_after_each_instruction)
{
    const uint8_t ivt[] = { 0x00, 0x06, 0x00, 0x00 };   /* #DB -> 0000:0600 */
    const uint8_t handler[] = { 0x43, 0xcf };            /* inc bx; iret */
    const uint8_t code[] = {
        0x9c, 0x58, 0x0d, 0x00, 0x01, 0x50, 0x9d, /* pushf; pop ax; or ax,0x100; push ax; popf */
        0x90, 0x90,                               /* nop; nop (each traps) */
        0x9c, 0x58, 0x25, 0xff, 0xfe, 0x50, 0x9d, /* pushf; pop ax; and ax,~0x100; push ax; popf */
        0xf4,                                     /* hlt (TF clear again) */
    };
    put(1 * 4, ivt, sizeof ivt);
    put(0x600, handler, sizeof handler);
    put(0x500, code, sizeof code);
    start_real_mode(0x500, 0x7000);
    cr_assert_eq(cpu_run(&cpu, 1000), CPU_EXIT_HALT);
    /* traps after: nop, nop, pushf, pop, and, push, popf (TF was set at
     * the start of each; not after the popf that set it) */
    cr_assert_eq(cpu.r[R_EBX] & 0xffff, 7);
    cr_assert_eq(cpu.eflags & F_TF, 0);
}

Test(exec, interrupt_window_of_one_instruction_after_sti)
{
    const uint8_t ivt[] = { 0x00, 0x06, 0x00, 0x00 };   /* vector 0x20 -> 0000:0600 */
    const uint8_t handler[] = { 0x43, 0xcf };            /* inc bx; iret */
    const uint8_t code[] = { 0xfb, 0x90, 0xfa, 0xf4 };   /* sti; nop; cli; hlt */
    put(0x20 * 4, ivt, sizeof ivt);
    put(0x600, handler, sizeof handler);
    put(0x500, code, sizeof code);
    start_real_mode(0x500, 0x7000);
    cpu.intr = 1; /* pending all along, masked by IF=0 until the STI */
    cr_assert_eq(cpu_run(&cpu, 100), CPU_EXIT_HALT);
    cr_assert_eq(acks, 1, "the interrupt must be taken after the NOP, before the CLI");
    cr_assert_eq(cpu.r[R_EBX] & 0xffff, 1);
    cr_assert_eq(cpu.eip, 0x504);
}

/* A REP STOSB that overwrites its own two bytes with INC (E)BX (0x43):
 * `pre` NOPs from `at` (the destination starts there), the REP STOSB,
 * `post` NOPs, HLT. ECX counts every byte before the HLT. */
static uint32_t put_rep_over_itself(uint32_t at, uint32_t pre, uint32_t post)
{
    static uint8_t code[4096];
    memset(code, 0x90, pre + 2 + post);
    code[pre] = 0xf3;               /* rep stosb */
    code[pre + 1] = 0xaa;
    code[pre + 2 + post] = 0xf4;    /* hlt */
    put(at, code, pre + 2 + post + 1);
    cpu.r[R_EAX] = 0x43;
    cpu.r[R_EBX] = 0;
    cpu.r[R_EDI] = at;
    cpu.r[R_ECX] = pre + 2 + post;
    return pre + 2 + post;
}

/* No event in between: the instruction runs to the end as it was decoded
 * (SDM: only an interrupt or exception suspends a REP string), then the
 * INC EBX it wrote after itself run. Before the fix, the second batch of
 * 1024 elements was a fresh fetch: 924 INC EBX, ECX = 1078 left. */
static void rep_over_itself_flat32(bool jit)
{
    cpu.use_jit = jit;
    cpu_set_flat32(&cpu);
    uint32_t n = put_rep_over_itself(0x10000, 100, 2000);
    cpu.eip = 0x10000;
    cpu.r[R_ESP] = 0x8000;
    cr_assert_eq(cpu_run(&cpu, 100000), CPU_EXIT_HALT);
    cr_assert_eq(cpu.r[R_ECX], 0, "jit=%d: ECX %u left", jit, cpu.r[R_ECX]);
    cr_assert_eq(cpu.r[R_EDI], 0x10000 + n);
    cr_assert_eq(cpu.r[R_EBX], 2000, "jit=%d: %u INC EBX ran", jit, cpu.r[R_EBX]);
    cr_assert_eq(cpu.eip, 0x10000 + n + 1);
    cr_assert(!cpu.rep.active);
}
Test(exec, rep_stosb_over_itself_finishes_as_decoded_interp) { rep_over_itself_flat32(false); }
Test(exec, rep_stosb_over_itself_finishes_as_decoded_jit) { rep_over_itself_flat32(true); }

/* Stopped by the instruction budget after its first batch (the machine's
 * slices end like this), then either run on (it finishes as decoded) or
 * with an interrupt pending (taken between batches; after its IRET the
 * bytes are fetched anew: the INC BX the first batch wrote from the
 * instruction's address on run, 1024 - 100 of them). Real mode. */
static void rep_over_itself_then(bool jit, bool irq)
{
    const uint8_t ivt[] = { 0x00, 0x06, 0x00, 0x00 };   /* vector 0x20 -> 0000:0600 */
    const uint8_t handler[] = { 0xcf };                  /* iret */
    put(0x20 * 4, ivt, sizeof ivt);
    put(0x600, handler, sizeof handler);
    cpu.use_jit = jit;
    start_real_mode(0x1000, 0x7000);
    cpu.eflags |= F_IF;
    uint32_t n = put_rep_over_itself(0x1000, 100, 2000);
    /* 100 NOPs and one batch of the REP */
    cr_assert_eq(cpu_run(&cpu, 101), CPU_EXIT_BUDGET);
    cr_assert_eq(cpu.r[R_ECX], n - 1024);
    cr_assert_eq(cpu.eip, 0x1000 + 100);
    cpu.intr = irq;
    cr_assert_eq(cpu_run(&cpu, 100000), CPU_EXIT_HALT);
    cr_assert_eq(acks, irq ? 1 : 0);
    if (irq) {
        cr_assert_eq(cpu.r[R_EBX], 1024 - 100, "jit=%d: %u INC BX ran", jit, cpu.r[R_EBX]);
        cr_assert_eq(cpu.r[R_ECX], n - 1024);
    } else {
        cr_assert_eq(cpu.r[R_EBX], 2000, "jit=%d: %u INC BX ran", jit, cpu.r[R_EBX]);
        cr_assert_eq(cpu.r[R_ECX], 0);
    }
    cr_assert_eq(cpu.eip, 0x1000 + n + 1);
}
Test(exec, rep_over_itself_resumes_as_decoded_after_a_budget_stop_interp) { rep_over_itself_then(false, false); }
Test(exec, rep_over_itself_resumes_as_decoded_after_a_budget_stop_jit) { rep_over_itself_then(true, false); }
Test(exec, rep_over_itself_is_fetched_anew_after_an_interrupt_interp) { rep_over_itself_then(false, true); }
Test(exec, rep_over_itself_is_fetched_anew_after_an_interrupt_jit) { rep_over_itself_then(true, true); }
