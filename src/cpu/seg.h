/* seg.h - segmentation: segment descriptors in the GDT/LDT, loading the
 * segment registers (real and protected mode) with the SDM's checks,
 * LDTR/TR loads, and the TSS ring stacks. Used by the system
 * instructions (ops_system.c, ops_sys_far.c) and by exception delivery
 * (except.c). Implemented in seg.c. */
#ifndef VSMP_SEG_H
#define VSMP_SEG_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* ---- descriptor fields (d = the 8-byte descriptor as one uint64_t) ---- */
static inline uint32_t desc_hi(uint64_t d) { return (uint32_t)(d >> 32); }
static inline uint32_t desc_lo(uint64_t d) { return (uint32_t)d; }

static inline uint32_t desc_base(uint64_t d)
{
    return (desc_lo(d) >> 16) | ((desc_hi(d) & 0xff) << 16) | (desc_hi(d) & 0xff000000u);
}

/* Limit in bytes, with the granularity bit applied. */
static inline uint32_t desc_limit(uint64_t d)
{
    uint32_t l = (desc_lo(d) & 0xffff) | (desc_hi(d) & 0x000f0000u);
    if (desc_hi(d) & 0x00800000u)
        l = (l << 12) | 0xfff;
    return l;
}

/* Access rights in the struct segment `ar` layout (high dword bits 8..23). */
static inline uint16_t desc_ar(uint64_t d)
{
    return (uint16_t)((desc_hi(d) >> 8) & 0xf0ff);
}

/* Type tests on access rights (AR_S set = code/data). */
static inline bool ar_is_code(uint16_t ar) { return (ar & AR_S) && (ar & 0x8); }
static inline bool ar_is_data(uint16_t ar) { return (ar & AR_S) && !(ar & 0x8); }
static inline bool ar_conforming(uint16_t ar) { return ar_is_code(ar) && (ar & 0x4); }
static inline bool ar_readable(uint16_t ar) { return ar_is_data(ar) || (ar_is_code(ar) && (ar & 0x2)); }
static inline bool ar_writable(uint16_t ar) { return ar_is_data(ar) && (ar & 0x2); }

/* System descriptor types (AR_S clear). */
#define SYS_TSS16_AVAIL 0x1
#define SYS_LDT         0x2
#define SYS_TSS16_BUSY  0x3
#define SYS_CALLGATE16  0x4
#define SYS_TASKGATE    0x5
#define SYS_INTGATE16   0x6
#define SYS_TRAPGATE16  0x7
#define SYS_TSS32_AVAIL 0x9
#define SYS_TSS32_BUSY  0xb
#define SYS_CALLGATE32  0xc
#define SYS_INTGATE32   0xe
#define SYS_TRAPGATE32  0xf

/* ---- descriptor tables ---- */
/* Read the descriptor of `sel` from the GDT or LDT into *d. Returns false
 * (no fault) when the selector's index lies outside the table's limit or
 * TI=1 with an unusable LDTR. */
bool seg_desc_read(struct cpu *cpu, uint16_t sel, uint64_t *d);
/* Same, but raises `vec` with error code (sel & 0xfffc) | ext when the
 * descriptor is outside the table. */
uint64_t seg_desc_fetch(struct cpu *cpu, uint16_t sel, int vec, uint32_t ext);
/* Set the Accessed bit of a code/data descriptor in memory if it is clear
 * (and in *d). */
void seg_set_accessed(struct cpu *cpu, uint16_t sel, uint64_t *d);

/* ---- loading segment registers ---- */
/* Fill a cache from a descriptor (no checks, no memory writes). */
void seg_cache_set(struct segment *s, uint16_t sel, uint64_t d);
/* Make sreg unusable (null selector `sel` in DS/ES/FS/GS). */
void seg_set_null(struct cpu *cpu, int sreg, uint16_t sel);
/* Real-mode style load: selector and base = sel << 4 (limit kept); in
 * V86 mode an 8086 segment (v86_seg_load: limit 0xffff, DPL 3). */
void seg_load_real(struct cpu *cpu, int sreg, uint16_t sel);
/* MOV/POP/LDS-style load of ES, SS, DS, FS or GS in the current mode
 * (real and V86 mode: seg_load_real),
 * with every protected-mode check (#GP(sel), #SS(sel), #NP(sel)); sets
 * the Accessed bit. MOV SS's interrupt shadow is the caller's job. */
void seg_load(struct cpu *cpu, int sreg, uint16_t sel);
/* Commit a checked descriptor to sreg: Accessed bit, cache, fast flags,
 * cpu_update_mode() for CS/SS. For CS, the selector's RPL is replaced
 * by `rpl` (the new CPL). */
void seg_commit(struct cpu *cpu, int sreg, uint16_t sel, uint64_t d, int rpl);
/* Validate `sel` as a stack segment for privilege level `cpl`: null ->
 * vec(ext), RPL/DPL != cpl or not a writable data segment -> vec(sel|ext),
 * not present -> #SS(sel|ext). Returns the descriptor. */
uint64_t seg_check_ss(struct cpu *cpu, uint16_t sel, int cpl, int vec, uint32_t ext);
/* After a return to an outer level: null every data segment register
 * whose DPL is below the new CPL (data or non-conforming code). */
void seg_null_inner_data(struct cpu *cpu);

/* Is [off, off+n-1] inside segment s (expand-up or expand-down)? */
bool seg_range_ok(const struct segment *s, uint32_t off, uint32_t n);

/* ---- LDTR, TR and the TSS ---- */
void seg_load_ldtr(struct cpu *cpu, uint16_t sel);   /* LLDT (CPL checked by caller) */
void seg_load_tr(struct cpu *cpu, uint16_t sel);     /* LTR: marks the TSS busy */
/* Read the ring `dpl` stack (SS, ESP) from the current TSS (32- or 16-bit
 * TSS); #TS(tr.sel | ext) when it lies outside the TSS limit. */
void tss_read_stack(struct cpu *cpu, int dpl, uint16_t *ss, uint32_t *esp, uint32_t ext);

#endif
