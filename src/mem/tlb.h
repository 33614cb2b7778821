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

struct tlb {
    struct tlb_set set[2];            /* [0] supervisor, [1] user (CPL 3) */
    uint8_t global[2][3][TLB_SIZE];   /* entry came from a G page (PGE) */
    uint32_t gen;                     /* bumped by every invalidation below (and
                                       * by the translator, see translate.h):
                                       * validates its jump cache */
};

static inline unsigned tlb_index(uint32_t lin)
{
    return (lin >> 12) & (TLB_SIZE - 1);
}

void tlb_flush_all(struct tlb *t);
void tlb_flush_nonglobal(struct tlb *t);
void tlb_flush_page(struct tlb *t, uint32_t lin);
/* Drop every entry (any set, any table) that maps physical page paddr. */
void tlb_flush_phys(struct tlb *t, uint32_t paddr);

#endif
