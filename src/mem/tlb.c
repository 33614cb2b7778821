/* tlb.c - invalidation of the software TLB (see tlb.h). Filling is done
 * by the MMU slow path (src/cpu/mmu.c). */
#include "mem/tlb.h"

#include "mem/phys.h"

#include <string.h>

static struct tlb_entry *table(struct tlb *t, int s, int k)
{
    return k == 0 ? t->set[s].read : k == 1 ? t->set[s].write : t->set[s].code;
}

static unsigned slot_of(int s, int k, unsigned i)
{
    return ((unsigned)s * 3u + (unsigned)k) * TLB_SIZE + i;
}

static unsigned bucket_of(uint32_t paddr)
{
    return (paddr >> 12) & (TLB_RMAP_BUCKETS - 1);
}

/* ---- reverse map ---- */

static void rm_unlink(struct tlb *t, unsigned slot)
{
    unsigned b = t->rm_bucket[slot];
    if (b == TLB_RMAP_NIL)
        return;
    uint16_t next = t->rm_next[slot], prev = t->rm_prev[slot];
    if (prev == TLB_RMAP_NIL)
        t->rm_head[b] = next;
    else
        t->rm_next[prev] = next;
    if (next != TLB_RMAP_NIL)
        t->rm_prev[next] = prev;
    t->rm_bucket[slot] = TLB_RMAP_NIL;
}

static void rm_link(struct tlb *t, unsigned slot, uint32_t paddr)
{
    unsigned b = bucket_of(paddr);
    uint16_t head = t->rm_head[b];
    t->rm_next[slot] = head;
    t->rm_prev[slot] = TLB_RMAP_NIL;
    if (head != TLB_RMAP_NIL)
        t->rm_prev[head] = (uint16_t)slot;
    t->rm_head[b] = (uint16_t)slot;
    t->rm_bucket[slot] = (uint16_t)b;
}

static void invalidate(struct tlb *t, int s, int k, unsigned i)
{
    struct tlb_entry *tab = table(t, s, k);
    rm_unlink(t, slot_of(s, k, i));
    tab[i].tag = TLB_INVALID;
    tab[i].paddr = 0;
    tab[i].addend = 0;
    t->global[s][k][i] = 0;
}

void tlb_set(struct tlb *t, int set, int kind, uint32_t lin, uint32_t paddr,
             uintptr_t addend, bool global)
{
    unsigned i = tlb_index(lin), slot = slot_of(set, kind, i);
    struct tlb_entry *e = &table(t, set, kind)[i];
    rm_unlink(t, slot);
    e->tag = lin & PAGE_MASK;
    e->paddr = paddr & PAGE_MASK;
    e->addend = addend;
    t->global[set][kind][i] = global;
    rm_link(t, slot, paddr & PAGE_MASK);
}

void tlb_flush_all(struct tlb *t)
{
    t->gen++;
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 3; k++) {
            struct tlb_entry *tab = table(t, s, k);
            for (unsigned i = 0; i < TLB_SIZE; i++)
                tab[i] = (struct tlb_entry){ .tag = TLB_INVALID };
        }
    memset(t->global, 0, sizeof t->global);
    memset(t->rm_head, 0xff, sizeof t->rm_head);
    memset(t->rm_bucket, 0xff, sizeof t->rm_bucket);
}

void tlb_flush_nonglobal(struct tlb *t)
{
    t->gen++;
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 3; k++)
            for (unsigned i = 0; i < TLB_SIZE; i++)
                if (!t->global[s][k][i])
                    invalidate(t, s, k, i);
}

void tlb_flush_page(struct tlb *t, uint32_t lin)
{
    t->gen++;
    unsigned i = tlb_index(lin);
    uint32_t tag = lin & PAGE_MASK;
    for (int s = 0; s < 2; s++) {
        if (t->set[s].read[i].tag == tag)
            invalidate(t, s, 0, i);
        if (t->set[s].write[i].tag == tag)
            invalidate(t, s, 1, i);
        if (t->set[s].code[i].tag == tag)
            invalidate(t, s, 2, i);
    }
}

/* Drop the entries of physical page paddr in the tables k_lo..k_hi,
 * walking its reverse-map bucket. */
static void flush_phys_kinds(struct tlb *t, uint32_t paddr, int k_lo, int k_hi)
{
    t->gen++;
    uint32_t pg = paddr & PAGE_MASK;
    uint16_t slot = t->rm_head[bucket_of(pg)];
    while (slot != TLB_RMAP_NIL) {
        uint16_t next = t->rm_next[slot];
        int sk = slot / TLB_SIZE, s = sk / 3, k = sk % 3;
        unsigned i = slot % TLB_SIZE;
        if (k >= k_lo && k <= k_hi && table(t, s, k)[i].paddr == pg)
            invalidate(t, s, k, i);
        slot = next;
    }
}

void tlb_flush_phys(struct tlb *t, uint32_t paddr)
{
    flush_phys_kinds(t, paddr, 0, 2);
}

void tlb_flush_phys_writes(struct tlb *t, uint32_t paddr)
{
    flush_phys_kinds(t, paddr, 1, 1);
}
