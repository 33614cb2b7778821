/* test_intr_restart.c - an interrupt taken at a block boundary stays
 * taken when the next step, fetching the handler's first instruction,
 * is restarted by the DSM (a page lost while the code fetch waited:
 * EXC_RESTART, coherence.c). The restart must resume at the handler with
 * the interrupt frame pushed, not at the interrupted instruction: the
 * local APIC has already moved the vector from IRR to ISR, so an undone
 * delivery would leave the vector in service for ever and block every
 * interrupt of lower priority (found booting Linux on 2 CPUs: a call-
 * function IPI's vector 0xFB stuck in ISR, CPU 0 halted with the timer's
 * 0xEC pending behind it, CPU 1 waiting for CPU 0 for ever). Both
 * engines. */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/cpu.h"
#include "mem/phys.h"

#define RAM        (1u << 20)
#define GDT        0x1000u
#define IDT        0x2000u
#define MAIN       0x3000u
#define HANDLER    0x5000u
#define MARK       0x6000u
#define STACK_TOP  0x8000u
#define VEC        0x40

struct env {
    struct phys phys;
    struct cpu cpu;
    uint8_t state[RAM / 4096];
    int acks;
    int handler_faults;
};

static int intr_ack(void *ctx)
{
    struct env *e = ctx;
    e->acks++;
    e->cpu.intr = 0;
    return VEC;
}

static uint32_t io_in(void *c, uint16_t p, int s) { (void)c; (void)p; (void)s; return 0xffffffffu; }
static void io_out(void *c, uint16_t p, int s, uint32_t v) { (void)c; (void)p; (void)s; (void)v; }

/* The coherence fault: the page becomes writable; while the handler's
 * page was fetched another page was "lost", so the access restarts, as
 * coherence_fault() does then. */
static void fault(void *ctx, uint32_t page, bool write)
{
    struct env *e = ctx;
    (void)write;
    e->state[page] = 2;
    if (page == HANDLER >> 12) {
        e->handler_faults++;
        if (e->cpu.in_run)
            cpu_raise_noerr(&e->cpu, EXC_RESTART);
    }
}

static void put64(struct env *e, uint32_t a, uint64_t v)
{
    cr_assert_eq(phys_copy_in(&e->phys, a, &v, 8), 0);
}

static void run(bool jit)
{
    static struct env e;
    memset(&e, 0, sizeof e);
    cr_assert_eq(phys_init(&e.phys, RAM), 0);
    struct cpu_bus bus = { .ctx = &e, .io_in = io_in, .io_out = io_out, .intr_ack = intr_ack };
    cpu_init(&e.cpu, &e.phys, &bus);
    e.cpu.use_jit = jit;
    cpu_reset(&e.cpu);
    /* GDT: 0x10 flat code, 0x18 flat data; IDT: VEC -> 0x10:HANDLER */
    put64(&e, GDT + 0x10, 0x00cf9b000000ffffull);
    put64(&e, GDT + 0x18, 0x00cf93000000ffffull);
    put64(&e, IDT + VEC * 8, ((uint64_t)(HANDLER & 0xffff0000u) << 32) |
                                 (uint64_t)0x8e00 << 32 | (0x10u << 16) | (HANDLER & 0xffff));
    static const uint8_t main_code[] = { 0xeb, 0xfe };                 /* jmp $ */
    static const uint8_t handler[] = {
        0xc7, 0x05, MARK & 0xff, (MARK >> 8) & 0xff, 0, 0, 0x11, 0x22, 0x33, 0x44, /* mov [MARK], imm */
        0xf4,                                                          /* hlt */
    };
    cr_assert_eq(phys_copy_in(&e.phys, MAIN, main_code, sizeof main_code), 0);
    cr_assert_eq(phys_copy_in(&e.phys, HANDLER, handler, sizeof handler), 0);
    cpu_set_flat32(&e.cpu);
    e.cpu.gdtr.base = GDT;
    e.cpu.gdtr.limit = 0x1f;
    e.cpu.idtr.base = IDT;
    e.cpu.idtr.limit = 0x7ff;
    e.cpu.eip = MAIN;
    e.cpu.r[R_ESP] = STACK_TOP;
    /* coherence: every page writable but the handler's */
    memset(e.state, 2, sizeof e.state);
    e.state[HANDLER >> 12] = 0;
    e.phys.coh.state = e.state;
    e.phys.coh.fault = fault;
    e.phys.coh.ctx = &e;
    /* run the loop a little, then raise the interrupt */
    cr_assert_eq(cpu_run(&e.cpu, 50), CPU_EXIT_BUDGET);
    e.cpu.eflags |= F_IF;
    e.cpu.intr = 1;
    enum cpu_exit why = cpu_run(&e.cpu, 1000);
    cr_assert_eq(e.acks, 1);
    cr_assert_eq(e.handler_faults, 1, "the handler's fetch faulted once");
    cr_assert_eq(why, CPU_EXIT_HALT, "the handler ran to its HLT (exit %d, EIP %08x)", why,
                 e.cpu.eip);
    uint32_t mark;
    cr_assert_eq(phys_copy_out(&e.phys, MARK, &mark, 4), 0);
    cr_assert_eq(mark, 0x44332211u);
    /* the frame of the interrupted loop: EIP, CS, EFLAGS */
    uint32_t frame[3];
    cr_assert_eq(phys_copy_out(&e.phys, STACK_TOP - 12, frame, 12), 0);
    cr_assert_eq(frame[0], MAIN);
    cr_assert_eq(frame[1], 0x10);
    cr_assert(frame[2] & F_IF);
    cr_assert_eq(e.cpu.r[R_ESP], STACK_TOP - 12);
    cpu_free(&e.cpu);
    phys_free(&e.phys);
}

Test(intr_restart, interpreter) { run(false); }
Test(intr_restart, translator) { run(true); }
