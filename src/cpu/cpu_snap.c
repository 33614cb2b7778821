/* cpu_snap.c - struct cpu in a memory image (see cpu_snap.h): the save,
 * and the load that checks every field before it changes the CPU, then
 * resets what is derived from the architectural state. */
#include "cpu/cpu_snap.h"

#include <string.h>

#include "cpu/fpu.h"
#include "cpu/mmu.h"

#define CPU_SNAP_VERSION 1

/* EFLAGS bits that exist (bit 1 always set; 3, 5, 15 and 22-31 clear). */
#define EFLAGS_VALID 0x003f7fd7u

static void put_seg(struct snapw *w, const struct segment *s)
{
    snapw_u16(w, s->sel);
    snapw_u32(w, s->base);
    snapw_u32(w, s->limit);
    snapw_u16(w, s->ar);
}

static void get_seg(struct snapr *r, struct segment *s)
{
    s->sel = snapr_u16(r);
    s->base = snapr_u32(r);
    s->limit = snapr_u32(r);
    s->ar = snapr_u16(r);
    seg_refresh_fast(s);
}

void cpu_save(const struct cpu *c, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("CPU "), CPU_SNAP_VERSION);
    for (int i = 0; i < 8; i++)
        snapw_u32(w, c->r[i]);
    snapw_u32(w, c->eip);
    snapw_u32(w, c->eflags);
    for (int s = 0; s < SEG_COUNT; s++)
        put_seg(w, &c->seg[s]);
    put_seg(w, &c->ldtr);
    put_seg(w, &c->tr);
    snapw_u32(w, c->gdtr.base);
    snapw_u16(w, c->gdtr.limit);
    snapw_u32(w, c->idtr.base);
    snapw_u16(w, c->idtr.limit);
    snapw_u32(w, c->cr0);
    snapw_u32(w, c->cr2);
    snapw_u32(w, c->cr3);
    snapw_u32(w, c->cr4);
    for (int i = 0; i < 8; i++)
        snapw_u32(w, c->dr[i]);
    snapw_u8(w, (uint8_t)c->cpl);
    snapw_u32(w, c->sysenter_cs);
    snapw_u32(w, c->sysenter_esp);
    snapw_u32(w, c->sysenter_eip);
    snapw_u64(w, c->apic_base);
    snapw_u64(w, c->pat);
    snapw_u64(w, c->tsc_offset);
    snapw_u64(w, c->kvm_system_time);
    snapw_u64(w, c->kvm_wall_clock);
    snapw_u32(w, c->a20_mask);
    snapw_u8(w, (uint8_t)c->inhibit_irq);
    snapw_bool(w, c->intr != 0);
    snapw_bool(w, c->nmi != 0);
    snapw_bool(w, c->nmi_blocked != 0);
    snapw_bool(w, c->halted);
    snapw_bool(w, c->wait_sipi);
    snapw_u64(w, c->icount);
    snapw_end(w);
    fpu_save(&c->fpu, w);
}

static bool pat_valid(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (unsigned)(v >> (i * 8)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

static const char *const seg_name[SEG_COUNT] = { "ES", "CS", "SS", "DS", "FS", "GS" };

/* The "CPU " section's fields, read before anything of the CPU changes. */
struct cpu_image {
    uint32_t r[8], eip, eflags;
    struct segment seg[SEG_COUNT], ldtr, tr;
    struct dtr gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4, dr[8];
    unsigned cpl;
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t apic_base, pat, tsc_offset, kvm_system_time, kvm_wall_clock;
    uint32_t a20_mask;
    unsigned inhibit_irq;
    bool intr, nmi, nmi_blocked, halted, wait_sipi;
    uint64_t icount;
};

static void read_image(struct snapr *s, struct cpu_image *n)
{
    for (int i = 0; i < 8; i++)
        n->r[i] = snapr_u32(s);
    n->eip = snapr_u32(s);
    n->eflags = snapr_u32(s);
    for (int i = 0; i < SEG_COUNT; i++)
        get_seg(s, &n->seg[i]);
    get_seg(s, &n->ldtr);
    get_seg(s, &n->tr);
    n->gdtr.base = snapr_u32(s);
    n->gdtr.limit = snapr_u16(s);
    n->idtr.base = snapr_u32(s);
    n->idtr.limit = snapr_u16(s);
    n->cr0 = snapr_u32(s);
    n->cr2 = snapr_u32(s);
    n->cr3 = snapr_u32(s);
    n->cr4 = snapr_u32(s);
    for (int i = 0; i < 8; i++)
        n->dr[i] = snapr_u32(s);
    n->cpl = snapr_u8(s);
    n->sysenter_cs = snapr_u32(s);
    n->sysenter_esp = snapr_u32(s);
    n->sysenter_eip = snapr_u32(s);
    n->apic_base = snapr_u64(s);
    n->pat = snapr_u64(s);
    n->tsc_offset = snapr_u64(s);
    n->kvm_system_time = snapr_u64(s);
    n->kvm_wall_clock = snapr_u64(s);
    n->a20_mask = snapr_u32(s);
    n->inhibit_irq = snapr_u8(s);
    n->intr = snapr_bool(s);
    n->nmi = snapr_bool(s);
    n->nmi_blocked = snapr_bool(s);
    n->halted = snapr_bool(s);
    n->wait_sipi = snapr_bool(s);
    n->icount = snapr_u64(s);
}

/* Refuse what the CPU never holds between instructions and what its code
 * relies on. */
static void check_image(struct snapr *s, const struct cpu_image *n)
{
    if (!snapr_check(s, n->cpl, 4, "CPU CPL") ||
        !snapr_check(s, n->inhibit_irq, 2, "CPU interrupt shadow"))
        return;
    if (!(n->eflags & F_BIT1) || (n->eflags & ~EFLAGS_VALID)) {
        snapr_fail(s, "CPU EFLAGS %#x has reserved bits wrong", n->eflags);
        return;
    }
    if ((n->cr0 & ~CR0_VALID) || !(n->cr0 & CR0_ET) ||
        ((n->cr0 & CR0_PG) && !(n->cr0 & CR0_PE)) || (n->cr4 & ~CR4_VALID)) {
        snapr_fail(s, "CPU CR0 %#x / CR4 %#x not a state the CPU can be in", n->cr0, n->cr4);
        return;
    }
    bool pe = (n->cr0 & CR0_PE) != 0, vm = (n->eflags & F_VM) != 0;
    unsigned cpl = n->cpl;
    /* CPL: 0 in real mode, 3 in V86 mode, else CS.RPL - or 0 between the
     * MOV CR0 that set PE and the far jump that reloads CS. */
    if ((!pe && (cpl != 0 || vm)) || (vm && cpl != 3) ||
        (pe && !vm && cpl != (n->seg[S_CS].sel & 3u) && cpl != 0)) {
        snapr_fail(s, "CPU CPL %u does not fit CR0.PE=%d, EFLAGS.VM=%d, CS %#x", cpl, pe, vm,
                   n->seg[S_CS].sel);
        return;
    }
    for (int i = 0; i < SEG_COUNT; i++) {
        const struct segment *g = &n->seg[i];
        if (g->ar & 0x0f00u) {
            snapr_fail(s, "CPU %s access rights %#x (bits 8-11 are never set)", seg_name[i], g->ar);
            return;
        }
        if (vm && (g->base != (uint32_t)g->sel << 4 || g->limit != 0xffff)) {
            snapr_fail(s, "CPU %s %#x is not an 8086 segment in V86 mode", seg_name[i], g->sel);
            return;
        }
    }
    unsigned lt = AR_TYPE(n->ldtr.ar), tt = AR_TYPE(n->tr.ar);
    if ((n->ldtr.ar & 0x0f00u) || (n->ldtr.ar && ((n->ldtr.ar & AR_S) || lt != 2))) {
        snapr_fail(s, "CPU LDTR access rights %#x are not an LDT's", n->ldtr.ar);
        return;
    }
    if ((n->tr.ar & 0x0f00u) ||
        (n->tr.ar && ((n->tr.ar & AR_S) || (tt != 1 && tt != 3 && tt != 9 && tt != 11)))) {
        snapr_fail(s, "CPU TR access rights %#x are not a TSS's", n->tr.ar);
        return;
    }
    if (n->sysenter_cs > 0xffff || !pat_valid(n->pat) ||
        (n->apic_base & ~0xfffff900ull) || (n->a20_mask | 0x00100000u) != 0xffffffffu)
        snapr_fail(s, "CPU MSR value out of range (SYSENTER_CS %#x, PAT %#llx, APIC base %#llx, "
                   "A20 mask %#x)", n->sysenter_cs, (unsigned long long)n->pat,
                   (unsigned long long)n->apic_base, n->a20_mask);
}

bool cpu_load(struct cpu *c, struct snapr *r)
{
    struct snapr s;
    if (!snapr_section(r, SNAP_TAG("CPU "), CPU_SNAP_VERSION, &s, NULL))
        return false;
    struct cpu_image n;
    memset(&n, 0, sizeof n);
    read_image(&s, &n);
    if (!s.bad)
        check_image(&s, &n);
    if (!snapr_done(&s, r))
        return false;
    struct fpu fpu;
    if (!fpu_load(&fpu, r))
        return false;

    /* ---- architectural state ---- */
    memcpy(c->r, n.r, sizeof c->r);
    c->eip = n.eip;
    c->eflags = n.eflags;
    memcpy(c->seg, n.seg, sizeof c->seg);
    c->ldtr = n.ldtr;
    c->tr = n.tr;
    c->gdtr = n.gdtr;
    c->idtr = n.idtr;
    c->cr0 = n.cr0;
    c->cr2 = n.cr2;
    c->cr3 = n.cr3;
    c->cr4 = n.cr4;
    memcpy(c->dr, n.dr, sizeof c->dr);
    c->cpl = (int)n.cpl;
    c->sysenter_cs = n.sysenter_cs;
    c->sysenter_esp = n.sysenter_esp;
    c->sysenter_eip = n.sysenter_eip;
    c->apic_base = n.apic_base;
    c->pat = n.pat;
    c->tsc_offset = n.tsc_offset;
    c->kvm_system_time = n.kvm_system_time;
    c->kvm_wall_clock = n.kvm_wall_clock;
    c->fpu = fpu;
    c->a20_mask = n.a20_mask;
    c->inhibit_irq = (int)n.inhibit_irq;
    c->intr = n.intr;
    c->nmi = n.nmi;
    c->nmi_blocked = n.nmi_blocked;
    c->halted = n.halted;
    c->wait_sipi = n.wait_sipi;
    c->icount = n.icount;

    /* ---- derived: the mode (CPL as loaded, see check_image) ---- */
    c->pe = (c->cr0 & CR0_PE) != 0;
    c->code32 = (c->seg[S_CS].ar & AR_DB) != 0;
    c->stack32 = (c->seg[S_SS].ar & AR_DB) != 0;

    /* ---- execution: start clean at EIP ---- */
    c->insn_eip = c->eip;
    c->insn_esp = c->r[R_ESP];
    c->fault_jmp = NULL;
    c->exc_nest = 0;
    c->exit_request = 0;
    c->pause_left = 0;
    c->pause_exit = false;
    c->in_run = false;
    c->coh_lost = false;
    c->cur_code_page = UINT32_MAX;
    c->rep.active = false;
    c->last_exc = -1;
    c->last_exc_err = 0;
    c->last_exc_has_err = false;
    c->shutdown_reason = NULL;
    /* Decoded blocks and translations are keyed by host address and page
     * generation, which know nothing of memory replaced under them:
     * drop them (rebuilt on demand), and the TLB with the jump cache. */
    exec_free(c);
    memset(c->jit_jc, 0, sizeof c->jit_jc);
    mmu_flush(c);
    c->end_block = 1;
    return true;
}
