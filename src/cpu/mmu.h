/* mmu.h - guest memory access from the CPU core: segmentation (limit and
 * rights checks), then the software TLB (inline fast path), then the
 * page-table walk and physical access (slow path, mmu.c).
 *
 * Every function here may raise a guest exception (#GP, #SS, #PF) and so
 * unwind with cpu_raise(). Reads come before writes in each instruction,
 * so a faulting instruction leaves no architectural state changed. */
#ifndef VSMP_MMU_H
#define VSMP_MMU_H

#include <string.h>

#include "cpu/cpu.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Access kinds for the slow path and the page walker. */
#define ACC_READ  0
#define ACC_WRITE 1
#define ACC_EXEC  2
#define ACC_SYS   4   /* implicit supervisor access (descriptor tables,
                       * TSS, IDT) regardless of CPL */

/* ---- slow paths (mmu.c) ---- */
uint32_t seg_linear_slow(struct cpu *cpu, int seg, uint32_t off, int size, int write);
uint32_t lin_read_slow(struct cpu *cpu, uint32_t lin, int size, int acc);
uint64_t lin_read64(struct cpu *cpu, uint32_t lin, int acc);
void lin_write_slow(struct cpu *cpu, uint32_t lin, int size, uint32_t val, int acc);
void lin_write64(struct cpu *cpu, uint32_t lin, uint64_t val, int acc);
/* Translate a linear address for an access (ACC_*), filling the TLB;
 * raises #PF. Returns the physical address. */
uint32_t mmu_translate(struct cpu *cpu, uint32_t lin, int acc);
/* Make sure a write of `size` bytes at lin will not fault (used before
 * multi-part updates such as far calls through a new stack). */
void lin_probe_write(struct cpu *cpu, uint32_t lin, int size, int acc);
/* Copy up to n code bytes at lin into buf; stops at the first page that
 * cannot be fetched (no fault raised). Returns bytes copied. */
int mmu_fetch(struct cpu *cpu, uint32_t lin, uint8_t *buf, int n);
/* Host pointer and physical address of the code byte at lin: raises #PF
 * when not executable. NULL (with *paddr set) for non-RAM/ROM memory. */
const uint8_t *mmu_code_ptr(struct cpu *cpu, uint32_t lin, uint32_t *paddr);
void mmu_flush(struct cpu *cpu);            /* whole TLB (CR3 write, CR0/CR4 changes) */
/* CR3 write: drop everything but global-page entries (entries are only
 * marked global while CR4.PGE is set, so without PGE this is a full
 * flush). Changes to CR4.PGE/PSE, CR0 and a20_mask need mmu_flush. */
void mmu_flush_nonglobal(struct cpu *cpu);
void mmu_invlpg(struct cpu *cpu, uint32_t lin);
/* A physical page now holds decoded code: set PG_CODE on it and drop the
 * write TLB entries of that page (so writes take the slow path, which
 * calls cpu_code_written()). Use this instead of phys_mark_code() in the
 * core: a page already marked is skipped cheaply. */
void mmu_mark_code(struct cpu *cpu, uint32_t paddr);
/* A physical write by the CPU itself (page-table A/D bits, kvmclock):
 * through the coherence protocol, and a write to a page holding decoded
 * code drops the code it touched. Size 1, 2 or 4. */
void cpu_phys_write(struct cpu *cpu, uint32_t pa, int size, uint32_t v);
/* Recompute seg->fast from its access rights (after every load). */
void seg_refresh_fast(struct segment *s);

/* ---- inline fast paths ---- */
static inline __attribute__((always_inline)) struct tlb_set *mmu_set(struct cpu *cpu)
{
    return &cpu->tlb.set[cpu->cpl == 3];
}

/* Offset -> linear address, with the segment's limit and rights checks. */
static inline __attribute__((always_inline)) uint32_t seg_linear(struct cpu *cpu, int seg, uint32_t off, int size, int write)
{
    const struct segment *s = &cpu->seg[seg];
    if (likely((s->fast & (write ? SEGF_W : SEGF_R)) &&
               (uint64_t)off + (uint64_t)(size - 1) <= s->limit))
        return s->base + off;
    return seg_linear_slow(cpu, seg, off, size, write);
}

#define MMU_DEFINE_LIN(bits, type)                                                   \
    static inline __attribute__((always_inline)) type lin_read##bits(struct cpu *cpu, uint32_t lin)                 \
    {                                                                                \
        const struct tlb_entry *e = &mmu_set(cpu)->read[tlb_index(lin)];             \
        if (likely(e->tag == (lin & PAGE_MASK) &&                                    \
                   (lin & 0xfff) <= PAGE_SIZE - sizeof(type))) {                     \
            type v;                                                                  \
            memcpy(&v, (const void *)(e->addend + lin), sizeof v);                   \
            return v;                                                                \
        }                                                                            \
        return (type)lin_read_slow(cpu, lin, sizeof(type), ACC_READ);                \
    }                                                                                \
    static inline __attribute__((always_inline)) void lin_write##bits(struct cpu *cpu, uint32_t lin, type v)        \
    {                                                                                \
        const struct tlb_entry *e = &mmu_set(cpu)->write[tlb_index(lin)];            \
        if (likely(e->tag == (lin & PAGE_MASK) &&                                    \
                   (lin & 0xfff) <= PAGE_SIZE - sizeof(type))) {                     \
            memcpy((void *)(e->addend + lin), &v, sizeof v);                         \
            return;                                                                  \
        }                                                                            \
        lin_write_slow(cpu, lin, sizeof(type), v, ACC_WRITE);                        \
    }                                                                                \
    static inline __attribute__((always_inline)) type mem_read##bits(struct cpu *cpu, int seg, uint32_t off)       \
    {                                                                                \
        return lin_read##bits(cpu, seg_linear(cpu, seg, off, sizeof(type), 0));      \
    }                                                                                \
    static inline __attribute__((always_inline)) void mem_write##bits(struct cpu *cpu, int seg, uint32_t off, type v) \
    {                                                                                \
        lin_write##bits(cpu, seg_linear(cpu, seg, off, sizeof(type), 1), v);         \
    }

MMU_DEFINE_LIN(8, uint8_t)
MMU_DEFINE_LIN(16, uint16_t)
MMU_DEFINE_LIN(32, uint32_t)
#undef MMU_DEFINE_LIN

/* The read of a read-modify-write (the instruction writes the same bytes
 * right after): checked and translated as a write, so it faults as the
 * write would (#PF with W=1, like the translator's native RMW code), sets
 * Dirty once, and, with several CPUs, the page comes in writable at once
 * instead of as a read fault followed by an upgrade. */
static inline __attribute__((always_inline)) uint32_t mem_read_rmw(struct cpu *cpu, int seg, uint32_t off, int size)
{
    uint32_t lin = seg_linear(cpu, seg, off, size, 1);
    const struct tlb_entry *e = &mmu_set(cpu)->write[tlb_index(lin)];
    if (likely(e->tag == (lin & PAGE_MASK) && (lin & 0xfff) <= PAGE_SIZE - (uint32_t)size)) {
        uint32_t v = 0;
        memcpy(&v, (const void *)(e->addend + lin), (size_t)size);  /* little-endian host */
        return v;
    }
    return lin_read_slow(cpu, lin, size, ACC_WRITE);
}
static inline __attribute__((always_inline)) uint64_t mem_read64_rmw(struct cpu *cpu, int seg, uint32_t off)
{
    return lin_read64(cpu, seg_linear(cpu, seg, off, 8, 1), ACC_WRITE);
}

static inline __attribute__((always_inline)) uint64_t mem_read64(struct cpu *cpu, int seg, uint32_t off)
{
    return lin_read64(cpu, seg_linear(cpu, seg, off, 8, 0), ACC_READ);
}
static inline __attribute__((always_inline)) void mem_write64(struct cpu *cpu, int seg, uint32_t off, uint64_t v)
{
    lin_write64(cpu, seg_linear(cpu, seg, off, 8, 1), v, ACC_WRITE);
}

/* Sized access, size in bytes 1, 2 or 4. */
static inline __attribute__((always_inline)) uint32_t mem_read(struct cpu *cpu, int seg, uint32_t off, int size)
{
    switch (size) {
    case 1: return mem_read8(cpu, seg, off);
    case 2: return mem_read16(cpu, seg, off);
    default: return mem_read32(cpu, seg, off);
    }
}
static inline __attribute__((always_inline)) void mem_write(struct cpu *cpu, int seg, uint32_t off, int size, uint32_t v)
{
    switch (size) {
    case 1: mem_write8(cpu, seg, off, (uint8_t)v); break;
    case 2: mem_write16(cpu, seg, off, (uint16_t)v); break;
    default: mem_write32(cpu, seg, off, v); break;
    }
}

#endif
