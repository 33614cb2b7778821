/* cpu.c - the life cycle of a struct cpu: initialisation, the power-on
 * (RESET) state, the flat 32-bit protected-mode entry state used by the
 * Multiboot loader and the tests, and the derived mode fields
 * (pe, code32, stack32, cpl; CPL 3 in virtual-8086 mode). */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"

/* CPUID.1:EAX signature the reset state reports in EDX: family 6,
 * model 8, stepping 3 (a Pentium III class i686). Keep in sync with
 * CPUID in ops_system.c. */
#define CPU_SIGNATURE 0x00000683u

void cpu_init(struct cpu *cpu, struct phys *phys, const struct cpu_bus *bus)
{
    memset(cpu, 0, sizeof *cpu);
    cpu->phys = phys;
    if (bus)
        cpu->bus = *bus;
    /* The handler table is shared by every CPU; filling it again is
     * harmless (same values). The phys->code_written hook is wired by
     * exec.c when it creates the block cache. */
    optable_init();
    /* engine: the translator unless VSMP_ENGINE=interp (--interp sets
     * use_jit after this) */
    const char *eng = getenv("VSMP_ENGINE");
    cpu->use_jit = !(eng && !strcmp(eng, "interp"));
    cpu_reset(cpu);
}

void cpu_free(struct cpu *cpu)
{
    exec_free(cpu);
}

/* Set a segment cache to a real-mode style value. */
static void seg_real(struct segment *s, uint16_t sel, uint32_t base, uint16_t ar)
{
    s->sel = sel;
    s->base = base;
    s->limit = 0xffff;
    s->ar = ar;
    seg_refresh_fast(s);
}

void cpu_reset(struct cpu *cpu)
{
    /* Everything architectural back to zero; keep the attachments and the
     * execution bookkeeping that is not architectural. */
    memset(cpu->r, 0, sizeof cpu->r);
    memset(cpu->dr, 0, sizeof cpu->dr);
    cpu->r[R_EDX] = CPU_SIGNATURE;
    cpu->eip = 0xfff0;
    cpu->eflags = F_BIT1;
    cpu->cr0 = CR0_CD | CR0_NW | CR0_ET;   /* 0x60000010 */
    cpu->cr2 = cpu->cr3 = cpu->cr4 = 0;
    cpu->dr[6] = 0xffff0ff0u;
    cpu->dr[7] = 0x00000400u;

    /* CS = F000, base FFFF0000: the first fetch is at FFFFFFF0. */
    seg_real(&cpu->seg[S_CS], 0xf000, 0xffff0000u, 0x9b);
    for (int s = 0; s < SEG_COUNT; s++)
        if (s != S_CS)
            seg_real(&cpu->seg[s], 0, 0, 0x93);
    seg_real(&cpu->ldtr, 0, 0, 0x82);          /* present LDT */
    seg_real(&cpu->tr, 0, 0, 0x8b);            /* busy 32-bit TSS */
    cpu->gdtr.base = cpu->idtr.base = 0;
    cpu->gdtr.limit = cpu->idtr.limit = 0xffff;

    cpu->sysenter_cs = cpu->sysenter_esp = cpu->sysenter_eip = 0;
    cpu->apic_base = 0xfee00000u | 0x800u;     /* enabled; BSP bit is the machine's */
    cpu->pat = 0x0007040600070406ull;
    cpu->tsc_offset = 0;                       /* IA32_TSC_ADJUST */
    cpu->kvm_system_time = cpu->kvm_wall_clock = 0;
    fpu_reset(&cpu->fpu);
    cpu->a20_mask = 0xffffffffu;

    cpu->exc_nest = 0;
    cpu->inhibit_irq = 0;
    cpu->nmi = 0;
    cpu->nmi_blocked = 0;
    cpu->halted = false;
    cpu->last_exc = -1;
    cpu->last_exc_err = 0;
    cpu->last_exc_has_err = false;
    cpu->shutdown_reason = NULL;
    cpu->pe = false;
    cpu_update_mode(cpu);
    mmu_flush(cpu);
    cpu->end_block = 1;
}

void cpu_set_flat32(struct cpu *cpu)
{
    cpu->cr0 = (cpu->cr0 | CR0_PE | CR0_ET) & ~CR0_PG;
    cpu->eflags = F_BIT1;
    /* Flat 4 GiB segments as if loaded from a GDT with code at 0x10 and
     * data at 0x18 (both DPL 0, 32-bit, page granular, accessed). */
    struct segment *cs = &cpu->seg[S_CS];
    cs->sel = 0x10;
    cs->base = 0;
    cs->limit = 0xffffffffu;
    cs->ar = AR_G | AR_DB | AR_P | AR_S | 0xb;        /* 0xc09b */
    seg_refresh_fast(cs);
    for (int s = 0; s < SEG_COUNT; s++) {
        if (s == S_CS)
            continue;
        struct segment *d = &cpu->seg[s];
        d->sel = 0x18;
        d->base = 0;
        d->limit = 0xffffffffu;
        d->ar = AR_G | AR_DB | AR_P | AR_S | 0x3;     /* 0xc093 */
        seg_refresh_fast(d);
    }
    cpu->pe = true;     /* already in protected mode: CPL = CS.RPL = 0 */
    cpu_update_mode(cpu);
    mmu_flush(cpu);
    cpu->end_block = 1;
}

void cpu_update_mode(struct cpu *cpu)
{
    bool pe = (cpu->cr0 & CR0_PE) != 0;
    if (!pe)
        cpu->cpl = 0;
    else if (cpu_v86(cpu))
        cpu->cpl = 3;       /* virtual-8086 mode (v86.c) */
    else if (cpu->pe)
        cpu->cpl = cpu->seg[S_CS].sel & 3;
    /* else: PE was just set by MOV CR0/LMSW. CS still holds its real-mode
     * selector, whose low bits are not a privilege level: CPL stays 0
     * until the far jump that reloads CS. */
    cpu->pe = pe;
    cpu->code32 = (cpu->seg[S_CS].ar & AR_DB) != 0;
    cpu->stack32 = (cpu->seg[S_SS].ar & AR_DB) != 0;
}
