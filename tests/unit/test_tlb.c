/* test_tlb.c - the software TLB's invalidations (src/mem/tlb.c), above all
 * the reverse map that finds the entries of one physical page: random
 * fills and flushes checked against a brute-force scan after every step.
 * A valid entry that the reverse map misses would let a rank keep using a
 * page the DSM took away. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "mem/tlb.h"

static struct tlb *tlb_new(void)
{
    struct tlb *t = malloc(sizeof *t);
    cr_assert_not_null(t);
    memset(t, 0x5a, sizeof *t);    /* garbage: flush_all must set up all */
    tlb_flush_all(t);
    return t;
}

static struct tlb_entry *entry(struct tlb *t, int s, int k, unsigned i)
{
    struct tlb_entry *tab = k == 0 ? t->set[s].read : k == 1 ? t->set[s].write : t->set[s].code;
    return &tab[i];
}

/* Number of valid entries of physical page pg in tables k_lo..k_hi. */
static unsigned count_phys(struct tlb *t, uint32_t pg, int k_lo, int k_hi)
{
    unsigned n = 0;
    for (int s = 0; s < 2; s++)
        for (int k = k_lo; k <= k_hi; k++)
            for (unsigned i = 0; i < TLB_SIZE; i++) {
                struct tlb_entry *e = entry(t, s, k, i);
                n += e->tag != TLB_INVALID && e->paddr == pg;
            }
    return n;
}

/* Every valid entry is in the bucket of its page, and every slot in a
 * bucket is valid and belongs there; the lists are consistent. */
static void check_rmap(struct tlb *t)
{
    unsigned linked = 0, valid = 0;
    for (unsigned b = 0; b < TLB_RMAP_BUCKETS; b++) {
        uint16_t prev = TLB_RMAP_NIL;
        for (uint16_t sl = t->rm_head[b]; sl != TLB_RMAP_NIL; sl = t->rm_next[sl]) {
            cr_assert_lt(sl, TLB_SLOTS);
            cr_assert_eq(t->rm_prev[sl], prev);
            cr_assert_eq(t->rm_bucket[sl], b);
            int sk = sl / TLB_SIZE;
            struct tlb_entry *e = entry(t, sk / 3, sk % 3, sl % TLB_SIZE);
            cr_assert_neq(e->tag, TLB_INVALID, "slot %u linked but invalid", sl);
            cr_assert_eq((e->paddr >> 12) % TLB_RMAP_BUCKETS, b);
            prev = sl;
            cr_assert(++linked <= TLB_SLOTS, "cycle in bucket %u", b);
        }
    }
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 3; k++)
            for (unsigned i = 0; i < TLB_SIZE; i++)
                valid += entry(t, s, k, i)->tag != TLB_INVALID;
    cr_assert_eq(linked, valid);
}

Test(tlb, set_then_flush_phys_drops_every_alias)
{
    struct tlb *t = tlb_new();
    /* three linear pages (two sets, all kinds) map physical page 0x5000 */
    uint32_t lins[] = { 0x5000, 0xc0006000, 0x40001000 };   /* three slots */
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 3; j++)
                tlb_set(t, s, k, lins[j], 0x5000, 0x1000, false);
    tlb_set(t, 0, 0, 0x9000, 0x6000, 0, false);
    tlb_set(t, 0, 0, 0x7000, 0x5000 + TLB_RMAP_BUCKETS * 4096u, 0,
            false);                                   /* same bucket, other page */
    cr_assert_eq(count_phys(t, 0x5000, 0, 2), 18);
    check_rmap(t);
    tlb_flush_phys_writes(t, 0x5000);
    cr_assert_eq(count_phys(t, 0x5000, 1, 1), 0);
    cr_assert_eq(count_phys(t, 0x5000, 0, 2), 12);
    tlb_flush_phys(t, 0x5000);
    cr_assert_eq(count_phys(t, 0x5000, 0, 2), 0);
    cr_assert_eq(count_phys(t, 0x6000, 0, 0), 1);
    cr_assert_eq(count_phys(t, 0x5000 + TLB_RMAP_BUCKETS * 4096u, 0, 0), 1);
    check_rmap(t);
    free(t);
}

Test(tlb, random_fills_and_flushes_match_a_full_scan)
{
    struct tlb *t = tlb_new();
    srand(4242);
    for (int step = 0; step < 60000; step++) {
        int op = rand() % 100;
        /* few physical pages and linear pages, so that slots are reused,
         * pages alias and buckets collide */
        uint32_t pg = (uint32_t)(rand() % 24) * 4096u * (rand() % 2 ? 1u : TLB_RMAP_BUCKETS);
        uint32_t lin = (uint32_t)(rand() % 6000) << 12;
        int s = rand() % 2, k = rand() % 3;
        if (op < 70) {
            tlb_set(t, s, k, lin, pg, (uintptr_t)pg, rand() % 4 == 0);
        } else if (op < 85) {
            tlb_flush_phys(t, pg);
            cr_assert_eq(count_phys(t, pg, 0, 2), 0, "step %d", step);
        } else if (op < 92) {
            unsigned others = count_phys(t, pg, 0, 0) + count_phys(t, pg, 2, 2);
            tlb_flush_phys_writes(t, pg);
            cr_assert_eq(count_phys(t, pg, 1, 1), 0, "step %d", step);
            cr_assert_eq(count_phys(t, pg, 0, 0) + count_phys(t, pg, 2, 2), others);
        } else if (op < 97) {
            tlb_flush_page(t, lin);
        } else if (op < 99) {
            tlb_flush_nonglobal(t);
        } else {
            tlb_flush_all(t);
        }
        if (step % 97 == 0)
            check_rmap(t);
    }
    check_rmap(t);
    free(t);
}
