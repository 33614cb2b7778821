/* seg.c - segmentation: reading descriptors from the GDT/LDT, loading
 * segment registers with the protected-mode checks of the SDM (MOV/POP
 * Sreg, LDS..., far transfers, interrupt and return paths share these),
 * LLDT/LTR, and the ring stacks of the TSS. In virtual-8086 mode the
 * real-mode style loads give 8086 segments (v86.c). */
#include "cpu/seg.h"

#include "cpu/mmu.h"
#include "cpu/v86.h"

/* Linear address of the descriptor of `sel`, or false when it lies
 * outside its table. */
static bool desc_addr(const struct cpu *cpu, uint16_t sel, uint32_t *lin)
{
    uint32_t idx = sel & 0xfff8u;
    if (sel & 4) {
        if (!(cpu->ldtr.ar & AR_P) || (cpu->ldtr.sel & 0xfffc) == 0)
            return false;               /* LDTR unusable */
        if (idx + 7 > cpu->ldtr.limit)
            return false;
        *lin = cpu->ldtr.base + idx;
    } else {
        if (idx + 7 > cpu->gdtr.limit)
            return false;
        *lin = cpu->gdtr.base + idx;
    }
    return true;
}

bool seg_desc_read(struct cpu *cpu, uint16_t sel, uint64_t *d)
{
    uint32_t lin;
    if (!desc_addr(cpu, sel, &lin))
        return false;
    *d = lin_read64(cpu, lin, ACC_READ | ACC_SYS);
    return true;
}

uint64_t seg_desc_fetch(struct cpu *cpu, uint16_t sel, int vec, uint32_t ext)
{
    uint64_t d;
    if (!seg_desc_read(cpu, sel, &d))
        cpu_raise(cpu, vec, (sel & 0xfffcu) | ext);
    return d;
}

void seg_set_accessed(struct cpu *cpu, uint16_t sel, uint64_t *d)
{
    uint32_t hi = desc_hi(*d);
    if (!(hi & 0x1000u) || (hi & 0x100u))   /* system descriptor, or already set */
        return;
    uint32_t lin;
    if (!desc_addr(cpu, sel, &lin))
        return;
    hi |= 0x100u;
    lin_write_slow(cpu, lin + 5, 1, (hi >> 8) & 0xff, ACC_WRITE | ACC_SYS);
    *d |= (uint64_t)0x100u << 32;
}

void seg_cache_set(struct segment *s, uint16_t sel, uint64_t d)
{
    s->sel = sel;
    s->base = desc_base(d);
    s->limit = desc_limit(d);
    s->ar = desc_ar(d);
    seg_refresh_fast(s);
}

void seg_set_null(struct cpu *cpu, int sreg, uint16_t sel)
{
    struct segment *s = &cpu->seg[sreg];
    s->sel = sel;
    s->base = 0;
    s->limit = 0;
    s->ar = 0;          /* not present: every access raises #GP(0) */
    seg_refresh_fast(s);
}

void seg_load_real(struct cpu *cpu, int sreg, uint16_t sel)
{
    if (cpu_v86(cpu)) {
        v86_seg_load(cpu, sreg, sel);   /* an 8086 segment, limit 0xffff */
        return;
    }
    struct segment *s = &cpu->seg[sreg];
    s->sel = sel;
    s->base = (uint32_t)sel << 4;
    /* The limit is kept (so "unreal mode" works as on hardware); the
     * segment becomes a usable present read/write data segment, and CS a
     * 16-bit code segment. */
    if (sreg == S_CS)
        s->ar = (uint16_t)((s->ar & AR_G) | AR_P | AR_S | 0xb);
    else
        s->ar = (uint16_t)((s->ar & (AR_G | AR_DB)) | AR_P | AR_S | 0x3);
    if (s->limit == 0 && !(s->ar & AR_G))
        s->limit = 0xffff;  /* was a null (unusable) segment */
    seg_refresh_fast(s);
    if (sreg == S_CS || sreg == S_SS)
        cpu_update_mode(cpu);
}

void seg_commit(struct cpu *cpu, int sreg, uint16_t sel, uint64_t d, int rpl)
{
    seg_set_accessed(cpu, sel, &d);
    if (rpl >= 0)
        sel = (uint16_t)((sel & ~3u) | (unsigned)rpl);
    seg_cache_set(&cpu->seg[sreg], sel, d);
    if (sreg == S_CS || sreg == S_SS)
        cpu_update_mode(cpu);
}

uint64_t seg_check_ss(struct cpu *cpu, uint16_t sel, int cpl, int vec, uint32_t ext)
{
    if ((sel & 0xfffc) == 0)
        cpu_raise(cpu, vec, ext);
    uint64_t d = seg_desc_fetch(cpu, sel, vec, ext);
    uint16_t ar = desc_ar(d);
    if ((int)(sel & 3) != cpl || (int)AR_DPL(ar) != cpl || !ar_writable(ar))
        cpu_raise(cpu, vec, (sel & 0xfffcu) | ext);
    if (!(ar & AR_P))
        cpu_raise(cpu, EXC_SS, (sel & 0xfffcu) | ext);
    return d;
}

void seg_load(struct cpu *cpu, int sreg, uint16_t sel)
{
    if (!cpu->pe || cpu_v86(cpu)) {
        seg_load_real(cpu, sreg, sel);
        return;
    }
    if (sreg == S_SS) {
        uint64_t d = seg_check_ss(cpu, sel, cpu->cpl, EXC_GP, 0);
        seg_commit(cpu, S_SS, sel, d, -1);
        return;
    }
    if ((sel & 0xfffc) == 0) {
        seg_set_null(cpu, sreg, sel);   /* allowed; faults on use */
        return;
    }
    uint64_t d = seg_desc_fetch(cpu, sel, EXC_GP, 0);
    uint16_t ar = desc_ar(d);
    if (!ar_readable(ar))
        cpu_raise(cpu, EXC_GP, sel & 0xfffcu);
    /* Data and non-conforming code: RPL and CPL must both be <= DPL. */
    if (!ar_conforming(ar) &&
        ((int)(sel & 3) > (int)AR_DPL(ar) || cpu->cpl > (int)AR_DPL(ar)))
        cpu_raise(cpu, EXC_GP, sel & 0xfffcu);
    if (!(ar & AR_P))
        cpu_raise(cpu, EXC_NP, sel & 0xfffcu);
    seg_commit(cpu, sreg, sel, d, -1);
}

void seg_null_inner_data(struct cpu *cpu)
{
    static const int regs[4] = { S_ES, S_DS, S_FS, S_GS };
    for (int i = 0; i < 4; i++) {
        struct segment *s = &cpu->seg[regs[i]];
        if (!(s->ar & AR_P) || !(s->ar & AR_S))
            continue;                   /* already unusable */
        if ((ar_is_data(s->ar) || !ar_conforming(s->ar)) && (int)AR_DPL(s->ar) < cpu->cpl)
            seg_set_null(cpu, regs[i], 0);
    }
}

bool seg_range_ok(const struct segment *s, uint32_t off, uint32_t n)
{
    uint64_t end = (uint64_t)off + n - 1;
    if (ar_is_data(s->ar) && (s->ar & 0x4)) {
        /* expand-down: valid offsets are limit+1 .. 0xffff / 0xffffffff */
        uint32_t upper = (s->ar & AR_DB) ? 0xffffffffu : 0xffffu;
        return off > s->limit && end <= upper;
    }
    return end <= s->limit;
}

void seg_load_ldtr(struct cpu *cpu, uint16_t sel)
{
    if ((sel & 0xfffc) == 0) {
        cpu->ldtr.sel = sel;
        cpu->ldtr.base = 0;
        cpu->ldtr.limit = 0;
        cpu->ldtr.ar = 0;               /* unusable: TI=1 selectors fault */
        seg_refresh_fast(&cpu->ldtr);
        return;
    }
    if (sel & 4)
        cpu_raise(cpu, EXC_GP, sel & 0xfffcu);
    uint64_t d = seg_desc_fetch(cpu, sel, EXC_GP, 0);
    uint16_t ar = desc_ar(d);
    if ((ar & AR_S) || AR_TYPE(ar) != SYS_LDT)
        cpu_raise(cpu, EXC_GP, sel & 0xfffcu);
    if (!(ar & AR_P))
        cpu_raise(cpu, EXC_NP, sel & 0xfffcu);
    seg_cache_set(&cpu->ldtr, sel, d);
}

void seg_load_tr(struct cpu *cpu, uint16_t sel)
{
    if ((sel & 0xfffc) == 0)
        cpu_raise(cpu, EXC_GP, 0);
    if (sel & 4)
        cpu_raise(cpu, EXC_GP, sel & 0xfffcu);
    uint64_t d = seg_desc_fetch(cpu, sel, EXC_GP, 0);
    uint16_t ar = desc_ar(d);
    if ((ar & AR_S) || (AR_TYPE(ar) != SYS_TSS16_AVAIL && AR_TYPE(ar) != SYS_TSS32_AVAIL))
        cpu_raise(cpu, EXC_GP, sel & 0xfffcu);
    if (!(ar & AR_P))
        cpu_raise(cpu, EXC_NP, sel & 0xfffcu);
    /* Mark the descriptor busy (type bit 1) in the GDT. */
    uint32_t lin = cpu->gdtr.base + (sel & 0xfff8u);
    d |= (uint64_t)0x200u << 32;
    lin_write_slow(cpu, lin + 5, 1, (desc_hi(d) >> 8) & 0xff, ACC_WRITE | ACC_SYS);
    seg_cache_set(&cpu->tr, sel, d);
}

void tss_read_stack(struct cpu *cpu, int dpl, uint16_t *ss, uint32_t *esp, uint32_t ext)
{
    const struct segment *tr = &cpu->tr;
    if (AR_TYPE(tr->ar) & 0x8) {                /* 32-bit TSS */
        uint32_t off = 4 + (uint32_t)dpl * 8;
        if (off + 5 > tr->limit)
            cpu_raise(cpu, EXC_TS, (tr->sel & 0xfffcu) | ext);
        *esp = lin_read_slow(cpu, tr->base + off, 4, ACC_READ | ACC_SYS);
        *ss = (uint16_t)lin_read_slow(cpu, tr->base + off + 4, 2, ACC_READ | ACC_SYS);
    } else {                                    /* 16-bit TSS */
        uint32_t off = 2 + (uint32_t)dpl * 4;
        if (off + 3 > tr->limit)
            cpu_raise(cpu, EXC_TS, (tr->sel & 0xfffcu) | ext);
        *esp = lin_read_slow(cpu, tr->base + off, 2, ACC_READ | ACC_SYS);
        *ss = (uint16_t)lin_read_slow(cpu, tr->base + off + 2, 2, ACC_READ | ACC_SYS);
    }
}
