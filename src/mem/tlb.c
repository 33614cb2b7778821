/* tlb.c - invalidation of the software TLB (see tlb.h). Filling is done
 * by the MMU slow path (src/cpu/mmu.c). */
#include "mem/tlb.h"

#include "mem/phys.h"

#include <string.h>

static void invalidate(struct tlb *t, int s, int k, unsigned i)
{
    struct tlb_entry *tab = k == 0 ? t->set[s].read : k == 1 ? t->set[s].write : t->set[s].code;
    tab[i].tag = TLB_INVALID;
    tab[i].paddr = 0;
    tab[i].addend = 0;
    t->global[s][k][i] = 0;
}

void tlb_flush_all(struct tlb *t)
{
    t->gen++;
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 3; k++)
            for (unsigned i = 0; i < TLB_SIZE; i++)
                invalidate(t, s, k, i);
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

void tlb_flush_phys(struct tlb *t, uint32_t paddr)
{
    t->gen++;
    uint32_t pg = paddr & PAGE_MASK;
    for (int s = 0; s < 2; s++) {
        for (unsigned i = 0; i < TLB_SIZE; i++) {
            if (t->set[s].read[i].tag != TLB_INVALID && t->set[s].read[i].paddr == pg)
                invalidate(t, s, 0, i);
            if (t->set[s].write[i].tag != TLB_INVALID && t->set[s].write[i].paddr == pg)
                invalidate(t, s, 1, i);
            if (t->set[s].code[i].tag != TLB_INVALID && t->set[s].code[i].paddr == pg)
                invalidate(t, s, 2, i);
        }
    }
}
