/* emu.c - runs differential-test cases in vsmp's CPU core.
 *
 * The guest has 4 MiB of RAM, flat 32-bit protected mode at CPL 0, paging
 * off, so the fixed addresses DT_CODE/DT_DATA are the same linear
 * addresses the native helper uses. The code is followed by HLT (the whole
 * rest of the code page is HLT). Reaching the HLT right after the sequence
 * ends the case normally; a HLT anywhere else is reported as #GP (13),
 * which is what the same byte raises natively in user mode. Exceptions stop
 * the run (stop_on_exception) with the registers of the faulting
 * instruction. A runaway (budget exhausted) is reported as vector 99. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "emu.h"

#define EMU_RAM (4u << 20)
#define EMU_BUDGET 20000

struct emu {
    struct phys phys;
    struct cpu cpu;
    uint8_t init[DT_DATA_SIZE];
    uint8_t page[DT_CODE_SIZE];
};

static uint32_t bus_in(void *ctx, uint16_t port, int size)
{
    (void)ctx; (void)port; (void)size;
    return 0xffffffffu;
}

static void bus_out(void *ctx, uint16_t port, int size, uint32_t value)
{
    (void)ctx; (void)port; (void)size; (void)value;
}

static int bus_ack(void *ctx)
{
    (void)ctx;
    return 0x20;
}

struct emu *emu_new(void)
{
    struct emu *e = calloc(1, sizeof(*e));
    struct cpu_bus bus = { .ctx = NULL, .io_in = bus_in, .io_out = bus_out, .intr_ack = bus_ack };
    if (!e || phys_init(&e->phys, EMU_RAM) < 0) {
        fprintf(stderr, "difftest: cannot set up the guest RAM\n");
        exit(2);
    }
    cpu_init(&e->cpu, &e->phys, &bus);
    cpu_set_flat32(&e->cpu);
    e->cpu.stop_on_exception = true;
    return e;
}

void emu_free(struct emu *e)
{
    cpu_free(&e->cpu);
    phys_free(&e->phys);
    free(e);
}

const char *emu_engine(const struct emu *e)
{
    return e->cpu.use_jit ? "jit" : "interp";
}

void emu_set_jit(struct emu *e, int on)
{
    e->cpu.use_jit = on != 0;
}

void emu_run(struct emu *e, const struct dt_case *c, struct dt_result *res)
{
    struct cpu *cpu = &e->cpu;
    uint32_t end = DT_CODE + c->code_len;
    uint8_t data[DT_DATA_SIZE];

    dt_fill(e->init, (uint64_t)c->fill_hi << 32 | c->fill_lo);
    memcpy(e->init + DT_FPU_IN, c->fpu_img, DT_FPU_IMG);
    phys_copy_in(&e->phys, DT_DATA, e->init, DT_DATA_SIZE);
    memset(e->page, 0xf4, sizeof(e->page));
    memcpy(e->page, c->code, c->code_len);
    phys_copy_in(&e->phys, DT_CODE, e->page, DT_CODE_SIZE);

    memcpy(cpu->r, c->regs, sizeof(cpu->r));
    cpu->eflags = (c->eflags & 0x0cd5u) | F_BIT1 | F_IF;
    cpu->eip = DT_CODE;
    cpu->halted = false;
    cpu->inhibit_irq = 0;
    cpu->exc_nest = 0;
    cpu->last_exc = -1;
    cpu->end_block = 1;

    memset(res, 0, sizeof(*res));
    res->magic = DT_MAGIC_RES;
    res->index = c->index;
    switch (cpu_run(cpu, EMU_BUDGET)) {
    case CPU_EXIT_HALT:
        if (cpu->eip - 1 == end) {
            res->vector = -1;
            res->eip = end;
        } else {
            res->vector = EXC_GP;   /* HLT at CPL 3 natively */
            res->eip = cpu->eip - 1;
        }
        break;
    case CPU_EXIT_EXCEPTION:
        res->vector = cpu->last_exc;
        res->eip = cpu->eip;
        break;
    default:
        res->vector = 99;
        res->eip = cpu->eip;
        break;
    }
    cpu->halted = false;
    memcpy(res->regs, cpu->r, sizeof(res->regs));
    res->eflags = cpu->eflags;

    phys_copy_out(&e->phys, DT_DATA, data, DT_DATA_SIZE);
    if (c->has_fpu && res->vector < 0)
        memcpy(res->fpu, data + DT_FPU_OUT, DT_FPU_IMG);
    memcpy(data + DT_FPU_OUT, e->init + DT_FPU_OUT, DT_FPU_IMG);
#ifdef DIFF_MUTATE
    /* harness self-test: corrupt one field so every kind of check fires */
    switch (c->index % 4) {
    case 0: res->eflags ^= F_CF; break;
    case 1: data[0x1000] ^= 1; break;
    case 2: res->fpu[28] ^= 1; res->fpu[5] ^= 0x40; break;
    default: res->regs[R_EDI] ^= 0x80000000u; break;
    }
#endif
    for (uint32_t i = 0; i < DT_DATA_SIZE; i += 4) {
        uint32_t a, b;
        memcpy(&a, data + i, 4);
        memcpy(&b, e->init + i, 4);
        if (a != b) {
            if (res->ndirty < DT_DIRTY_MAX) {
                res->dirty[res->ndirty].off = i;
                res->dirty[res->ndirty].val = a;
            }
            res->ndirty++;
        }
    }
}
