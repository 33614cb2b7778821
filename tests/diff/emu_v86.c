/* emu_v86.c - runs the differential test's virtual-8086 cases in vsmp's
 * CPU core, in the machine of v86env.h: a ring 0 IRETD enters V86 mode,
 * the case runs, and
 *   - a GM_V86 case (v86form.h) stops at its first exception
 *     (stop_on_exception, as emu.c's cases do); the #GP(0) of the HLT
 *     after its code is its normal end. The result is put in the 32-bit
 *     form's terms: EIP mapped back, the data area at offset 0 of the V86
 *     data segment compared as DT_DATA's; a write to the rest of that
 *     segment (none is possible where the two forms agree) is reported as
 *     vector V86E_VEC_STRAY.
 *   - a GM_V86SYS case (v86sys.h) runs until its first interrupt or
 *     exception is delivered through the case's IDT to a ring 0 handler,
 *     which halts; the outcome is the machine there (v86model.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/seg.h"
#include "emu_v86.h"
#include "v86form.h"

#define BUDGET 20000

struct emu86 {
    struct phys phys;
    struct cpu cpu;
    uint8_t init[DT_DATA_SIZE];
    uint8_t page[V86E_CODE_AREA];
    uint8_t tail[0x10000 - DT_DATA_SIZE];
    uint8_t seg[0x10000];                  /* the data segment after a case */
    uint8_t tables[V86E_TSS - V86E_GDT];   /* GDT and IDT */
    uint8_t map[V86S_MAP_LEN];
    uint32_t nio;
    struct v86e_io io[V86S_IO_MAX];
};

static void io_log(struct emu86 *e, uint16_t port, int size, int out, uint32_t v)
{
    if (e->nio < V86S_IO_MAX) {
        e->io[e->nio].port = port;
        e->io[e->nio].size = (uint8_t)size;
        e->io[e->nio].out = (uint8_t)out;
        e->io[e->nio].value = v;
    }
    e->nio++;
}

static uint32_t bus_in(void *ctx, uint16_t port, int size)
{
    uint32_t v = v86e_port_value(port, size);
    io_log(ctx, port, size, 0, v);
    return v;
}

static void bus_out(void *ctx, uint16_t port, int size, uint32_t value)
{
    io_log(ctx, port, size, 1, size == 4 ? value : value & ((1u << (8 * size)) - 1));
}

static int bus_ack(void *ctx)
{
    (void)ctx;
    return 0x20;
}

static void put64(uint8_t *p, uint64_t v)
{
    dt_put64(p, v);
}

struct emu86 *emu86_new(void)
{
    struct emu86 *e = calloc(1, sizeof(*e));
    struct cpu_bus bus = { .ctx = NULL, .io_in = bus_in, .io_out = bus_out, .intr_ack = bus_ack };
    if (!e || phys_init(&e->phys, V86E_RAM) < 0) {
        fprintf(stderr, "difftest: cannot set up the guest RAM\n");
        exit(2);
    }
    bus.ctx = e;
    cpu_init(&e->cpu, &e->phys, &bus);
    memset(e->tail, V86E_TAIL_FILL, sizeof(e->tail));
    /* handlers: HLT; the entry stub: IRETD */
    for (uint32_t v = 0; v < 256; v++)
        phys_write(&e->phys, V86E_HANDLERS + 16 * v, 1, 0xf4);
    phys_write(&e->phys, V86E_STUB, 1, 0xcf);    /* 32-bit code: IRETD */
    return e;
}

void emu86_free(struct emu86 *e)
{
    cpu_free(&e->cpu);
    phys_free(&e->phys);
    free(e);
}

/* The machine for one case: GDT (TSS limit), TSS, the IRETD frame, ring 0
 * at the stub. gates: the IDT (NULL: every vector a 32-bit interrupt gate
 * to ring 0 code, unused by GM_V86 cases). */
static void enter(struct emu86 *e, const uint32_t regs[8], uint32_t eflags, uint16_t fs,
                  uint16_t gs, uint32_t ip, uint32_t tss_limit, uint16_t iomap,
                  const struct v86e_gate *gates)
{
    struct cpu *cpu = &e->cpu;
    static const uint16_t sels[] = {
        V86E_SEL_CODE16, V86E_SEL_CODE0, V86E_SEL_DATA0, V86E_SEL_CODE3, V86E_SEL_CONF0,
        V86E_SEL_CODE1, V86E_SEL_TSS, V86E_SEL_DATA, V86E_SEL_NP,
    };
    uint8_t *t = e->tables;
    memset(t, 0, sizeof(e->tables));
    for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++)
        put64(t + sels[i], v86e_desc_bytes(v86e_desc(sels[i]), tss_limit));
    for (int v = 0; v < 256; v++) {
        struct v86e_gate d = { 0x80 | V86E_GATE_INT32, V86E_SEL_CODE0 };
        put64(t + (V86E_IDT - V86E_GDT) + 8u * (uint32_t)v,
              v86e_gate_bytes(gates ? &gates[v] : &d, v));
    }
    phys_copy_in(&e->phys, V86E_GDT, t, sizeof(e->tables));
    /* TSS: ring 0 stack, I/O map base */
    phys_write(&e->phys, V86E_TSS + 4, 4, V86E_ESP0);
    phys_write(&e->phys, V86E_TSS + 8, 4, V86E_SEL_DATA0);
    phys_write(&e->phys, V86E_TSS + 0x66, 2, iomap);

    cpu_set_flat32(cpu);                    /* CS 0x10, data 0x18: this GDT's */
    cpu->gdtr.base = V86E_GDT;
    cpu->gdtr.limit = V86E_GDT_LIMIT;
    cpu->idtr.base = V86E_IDT;
    cpu->idtr.limit = 0x7ff;
    seg_cache_set(&cpu->tr, V86E_SEL_TSS, v86e_desc_bytes(v86e_desc(V86E_SEL_TSS), tss_limit));
    seg_cache_set(&cpu->ldtr, 0, 0);

    /* the IRETD frame: EIP CS EFLAGS ESP SS ES DS FS GS */
    const uint32_t frame[9] = { ip, V86E_CS, eflags, regs[4], V86E_DS, V86E_DS, V86E_DS, fs, gs };
    for (int i = 0; i < 9; i++)
        phys_write(&e->phys, V86E_STUB_ESP + 4u * (uint32_t)i, 4, frame[i]);
    memcpy(cpu->r, regs, sizeof(cpu->r));
    cpu->r[R_ESP] = V86E_STUB_ESP;
    cpu->eip = V86E_STUB;
    cpu->halted = false;
    cpu->inhibit_irq = 0;
    cpu->exc_nest = 0;
    cpu->last_exc = -1;
    cpu->end_block = 1;
    e->nio = 0;
}

/* The data segment: the data area from `fill`, the rest a pattern. */
static void load_data(struct emu86 *e, uint64_t fill)
{
    dt_fill(e->init, fill);
    phys_copy_in(&e->phys, V86E_DATA_LIN, e->init, DT_DATA_SIZE);
    phys_copy_in(&e->phys, V86E_DATA_LIN + DT_DATA_SIZE, e->tail, sizeof(e->tail));
}

static void load_code(struct emu86 *e, uint32_t at, const uint8_t *code, uint32_t len)
{
    memset(e->page, 0xf4, sizeof(e->page));
    memcpy(e->page + at, code, len);
    phys_copy_in(&e->phys, V86E_CODE_LIN, e->page, sizeof(e->page));
}

/* The changed dwords of the data area; 1 if the rest of the segment changed. */
static int data_diff(struct emu86 *e, uint32_t *ndirty, struct dt_dirty *dirty, int fpu_out)
{
    uint8_t *data = e->seg;
    phys_copy_out(&e->phys, V86E_DATA_LIN, data, sizeof(e->seg));
    if (fpu_out)   /* as native32 and emu.c: the FNSAVE area is not dirty memory */
        memcpy(data + DT_FPU_OUT, e->init + DT_FPU_OUT, DT_FPU_IMG);
    *ndirty = 0;
    for (uint32_t i = 0; i < DT_DATA_SIZE; i += 4) {
        uint32_t a, b;
        memcpy(&a, data + i, 4);
        memcpy(&b, e->init + i, 4);
        if (a != b) {
            if (*ndirty < DT_DIRTY_MAX) {
                dirty[*ndirty].off = i;
                dirty[*ndirty].val = a;
            }
            (*ndirty)++;
        }
    }
    return memcmp(data + DT_DATA_SIZE, e->tail, sizeof(e->tail)) != 0;
}

void emu86_run_form(struct emu86 *e, const struct gen_case *gc, struct dt_result *res)
{
    struct cpu *cpu = &e->cpu;
    const struct v86_form *f = &gc->v86;
    load_data(e, (uint64_t)gc->c.fill_hi << 32 | gc->c.fill_lo);
    load_code(e, 0, f->code, f->len);
    enter(e, gc->c.regs, (gc->c.eflags & 0x0cd5u) | f->eflags | 0x00020002u, V86E_DS, V86E_DS,
          0, 0x67, 0x68, NULL);
    cpu->stop_on_exception = true;

    memset(res, 0, sizeof(*res));
    res->magic = DT_MAGIC_RES;
    res->index = gc->c.index;
    switch (cpu_run(cpu, BUDGET)) {
    case CPU_EXIT_EXCEPTION:
        if (!cpu_v86(cpu)) {
            res->vector = V86F_VEC_NOTV86;     /* the entering IRETD faulted */
            res->eip = cpu->eip;
        } else if (cpu->last_exc == EXC_GP && cpu->last_exc_err == 0 && cpu->eip == f->len) {
            res->vector = -1;                   /* the HLT after the code */
            res->eip = DT_CODE + gc->c.code_len;
        } else {
            res->vector = cpu->last_exc;
            res->eip = v86_form_native_eip(gc, cpu->eip);
        }
        break;
    default:
        res->vector = 99;                       /* as emu.c: a runaway */
        res->eip = cpu->eip;
        break;
    }
    cpu->halted = false;
    memcpy(res->regs, cpu->r, sizeof(res->regs));
    res->eflags = cpu->eflags;
    if (data_diff(e, &res->ndirty, res->dirty, 1) && res->vector != 99)
        res->vector = V86F_VEC_STRAY;
#ifdef DIFF_MUTATE
    /* harness self-test, as emu.c's */
    switch (gc->c.index % 4) {
    case 0: res->eflags ^= F_CF; break;
    case 1: res->ndirty++; break;
    case 2: break;
    default: res->regs[R_EDI] ^= 0x80000000u; break;
    }
#endif
}

void emu86_run_sys(struct emu86 *e, const struct v86s_case *c, struct v86s_out *o)
{
    struct cpu *cpu = &e->cpu;
    load_data(e, c->fill);
    load_code(e, V86S_IP0, c->code, c->code_len);
    uint8_t r0[V86E_R0AREA];
    for (uint32_t i = 0; i < V86S_MAP_LEN; i++)
        e->map[i] = v86s_map_byte(c, i);
    phys_copy_in(&e->phys, V86E_TSS + c->iomap, e->map, sizeof(e->map));
    memset(r0, V86E_R0FILL, sizeof(r0));
    phys_copy_in(&e->phys, V86E_ESP0 - V86E_R0AREA, r0, sizeof(r0));
    enter(e, c->regs, c->eflags, c->fs, c->gs, V86S_IP0, c->tss_limit, c->iomap, c->gate);
    cpu->stop_on_exception = false;

    memset(o, 0, sizeof(*o));
    enum cpu_exit why = cpu_run(cpu, BUDGET);
    uint32_t h = cpu->eip - 1 - V86E_HANDLERS;
    if (why == CPU_EXIT_HALT && !cpu_v86(cpu) && h < 256 * 16 && h % 16 == 0)
        o->vector = (int)(h / 16);
    else if (why == CPU_EXIT_HALT)
        o->vector = V86S_ELSEWHERE;
    else if (why == CPU_EXIT_SHUTDOWN)
        o->vector = V86S_SHUTDOWN;
    else
        o->vector = V86S_RUNAWAY;
    cpu->halted = false;
    memcpy(o->regs, cpu->r, sizeof(o->regs));
    o->eflags = cpu->eflags;
    for (int s = 0; s < SEG_COUNT; s++)
        o->sel[s] = cpu->seg[s].sel;
    phys_copy_out(&e->phys, V86E_ESP0 - V86E_R0AREA, o->r0, V86E_R0AREA);
    if (data_diff(e, &o->ndirty, o->dirty, 0))
        o->vector = V86S_STRAY;
    o->nio = e->nio;
    memcpy(o->io, e->io, sizeof(o->io));
#ifdef DIFF_MUTATE
    switch (c->index % 4) {
    case 0: o->eflags ^= F_CF; break;
    case 1: o->r0[V86E_R0AREA - 4] ^= 1; break;
    case 2: o->nio++; break;
    default: o->regs[R_EDI] ^= 0x80000000u; break;
    }
#endif
}

const char *emu86_engine(const struct emu86 *e)
{
    return e->cpu.use_jit ? "jit" : "interp";
}
