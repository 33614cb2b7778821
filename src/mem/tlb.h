/* tlb.h - software TLB: guest linear page -> host pointer of the local copy.
 *
 * Split into read, write and code tables (as in TinyEMU), one set for
 * supervisor and one for user-mode accesses, so that a permission check
 * is folded into the hit. An entry exists only where the access is
 * allowed without side effects: a write entry only for a RAM page that is
 * writable, already Dirty, and holds no decoded/translated code; a read
 * entry only once the Accessed bit is set. Everything else misses and
 * takes the slow path in src/cpu/mmu.c. */
#ifndef VSMP_TLB_H
#define VSMP_TLB_H

#include <stdbool.h>
#include <stdint.h>

#define TLB_BITS 11
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID 1u /* never equal to a page-aligned tag */

struct tlb_entry {
    uint32_t tag;       /* linear page address, or TLB_INVALID */
    uint32_t paddr;     /* physical page address */
    uintptr_t addend;   /* host pointer = addend + linear address */
};

struct tlb_set {
    struct tlb_entry read[TLB_SIZE];
    struct tlb_entry write[TLB_SIZE];
    struct tlb_entry code[TLB_SIZE];
};

/* Entry slots: slot = (set * 3 + kind) * TLB_SIZE + index (kind 0 read,
 * 1 write, 2 code). */
#define TLB_SLOTS (2u * 3u * TLB_SIZE)
#define TLB_RMAP_BUCKETS 4096u
#define TLB_RMAP_NIL 0xffffu

struct tlb {
    struct tlb_set set[2];            /* [0] supervisor, [1] user (CPL 3) */
    uint8_t global[2][3][TLB_SIZE];   /* entry came from a G page (PGE) */
    uint32_t gen;                     /* bumped by every invalidation below (and
                                       * by the translator, see translate.h):
                                       * validates its jump cache */
    /* Reverse map, physical page -> the slots that map it, so that
     * dropping one physical page (a DSM invalidation or downgrade, a page
     * becoming code) visits a few slots instead of all TLB_SLOTS: a
     * doubly linked list per bucket (physical page number mod
     * TLB_RMAP_BUCKETS) through the slots filled by tlb_set(). */
    uint16_t rm_head[TLB_RMAP_BUCKETS];
    uint16_t rm_next[TLB_SLOTS], rm_prev[TLB_SLOTS];
    uint16_t rm_bucket[TLB_SLOTS];    /* TLB_RMAP_NIL: slot not in the map */
};

static inline unsigned tlb_index(uint32_t lin)
{
    return (lin >> 12) & (TLB_SIZE - 1);
}

/* Fill slot (set, kind, index of lin) with lin -> host (addend =
 * host - page of lin), physical page paddr. Every valid entry must be
 * filled through here (the reverse map depends on it). */
void tlb_set(struct tlb *t, int set, int kind, uint32_t lin, uint32_t paddr,
             uintptr_t addend, bool global);
void tlb_flush_all(struct tlb *t);
void tlb_flush_nonglobal(struct tlb *t);
void tlb_flush_page(struct tlb *t, uint32_t lin);
/* Drop every entry (any set, any table) that maps physical page paddr. */
void tlb_flush_phys(struct tlb *t, uint32_t paddr);
/* Drop the write entries (both sets) that map physical page paddr. */
void tlb_flush_phys_writes(struct tlb *t, uint32_t paddr);

#endif
