/* test_coherence.c - real CPU cores on the DSM: simulated ranks (the
 * in-process fake transport, randomized schedules) each run guest code on
 * their own struct cpu whose RAM follows the protocol (coherence.c). The
 * guest counts with LOCK XADD on one shared word from every CPU and
 * increments private words of one shared page (false sharing); the totals
 * must be exact, under both engines and both DSM directory layouts (the
 * copyset in the meta word for even seeds, in its own words for odd), and
 * the read-modify-writes must fetch their pages writable at once. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/coherence.h"
#include "mem/dsm_fake.h"

#define RAM (1u << 20)
#define ITERS 300
#define MAXR 4

struct world {
    struct dsm_fake *fake;
    int nranks;
    bool jit;
    bool split;                /* dsm_config.split_copyset */
    int halted, done;
    bool loaded;               /* rank 0 has written the code */
    const uint8_t *code;
    size_t code_len;
    uint32_t counter, words[MAXR];
    struct phys *phys[MAXR];   /* freed once every task has ended */
    struct dsm *dsm[MAXR];
};

static uint32_t io_in(void *c, uint16_t p, int s) { (void)c; (void)p; (void)s; return 0; }
static void io_out(void *c, uint16_t p, int s, uint32_t v) { (void)c; (void)p; (void)s; (void)v; }

static void task(void *arg, int rank)
{
    struct world *w = arg;
    const struct dsm_transport *t = dsm_fake_transport(w->fake, rank);
    struct phys *phys = calloc(1, sizeof *phys);
    struct cpu *cpu = calloc(1, sizeof *cpu);
    cr_assert(phys && cpu);
    cr_assert_eq(phys_init_borrowed(phys, t->ram, (uint32_t)t->ram_bytes), 0);
    struct cpu_bus bus = { .io_in = io_in, .io_out = io_out };
    cpu_init(cpu, phys, &bus);
    cpu->use_jit = w->jit;
    struct dsm_config cfg = { .on_lose = coherence_lose, .on_lose_arg = cpu,
                              .split_copyset = w->split };
    struct dsm *d = dsm_create(t, &cfg);
    cr_assert(d);
    cr_assert_eq(dsm_copyset_in_meta(d), !w->split);
    w->phys[rank] = phys;
    w->dsm[rank] = d;
    coherence_attach(cpu, d);
    /* the "loader": rank 0 writes the code through the protocol (every
     * page starts untouched, every copy area as garbage); the others
     * start once it is there */
    if (rank == 0) {
        cr_assert_eq(phys_copy_in(phys, 0x1000, w->code, w->code_len), 0);
        w->loaded = true;
    }
    while (!w->loaded) {
        dsm_poll(d);
        dsm_fake_yield(w->fake);
    }

    cpu_set_flat32(cpu);
    cpu->eip = 0x1000;
    cpu->r[R_EBX] = 0x9000 + 4u * (uint32_t)rank;
    cpu->r[R_ESP] = 0x20000 + 0x1000u * (uint32_t)rank;
    enum cpu_exit why;
    do {
        why = cpu_run(cpu, 40);
        dsm_poll(d);
        dsm_fake_yield(w->fake);
    } while (why == CPU_EXIT_BUDGET);
    cr_assert_eq(why, CPU_EXIT_HALT, "rank %d ended with %d at %08x", rank, why, cpu->eip);
    w->halted++;
    while (w->halted < w->nranks) {
        dsm_poll(d);
        dsm_fake_yield(w->fake);
    }
    if (rank == 0) {
        /* read the results through the protocol */
        uint8_t buf[16];
        cr_assert_eq(phys_copy_out(phys, 0x8000, &w->counter, 4), 0);
        cr_assert_eq(phys_copy_out(phys, 0x9000, buf, sizeof buf), 0);
        memcpy(w->words, buf, sizeof w->words);
        w->done = 1;
    }
    while (!w->done) {
        dsm_poll(d);
        dsm_fake_yield(w->fake);
    }
    /* stay until nobody needs this rank's pages any more */
    for (int i = 0; i < 200; i++) {
        dsm_poll(d);
        dsm_fake_yield(w->fake);
    }
    cpu_free(cpu);
    free(cpu);
    /* the dsm and phys stay allocated until every task has ended: other
     * ranks may still fetch pages from this one */
}

static void run_world(int nranks, uint64_t seed, bool jit)
{
    const uint8_t code[] = {
        0xb9, ITERS & 0xff, ITERS >> 8, 0, 0,       /* mov ecx, ITERS */
        0xb8, 0x01, 0x00, 0x00, 0x00,               /* L: mov eax, 1 */
        0xf0, 0x0f, 0xc1, 0x05, 0x00, 0x80, 0, 0,   /* lock xadd [0x8000], eax */
        0xff, 0x03,                                 /* inc dword [ebx] */
        0x49,                                       /* dec ecx */
        0x75, 0xee,                                 /* jnz L */
        0xf4,                                       /* hlt */
    };
    struct dsm_fake_config fc = {
        .nranks = nranks, .ram_bytes = RAM, .seed = seed, .max_delay = 3,
        .rma_yield_pct = 20, .stack_bytes = 1u << 20,
    };
    struct world w = { .nranks = nranks, .jit = jit, .split = seed % 2,
                       .code = code, .code_len = sizeof code };
    w.fake = dsm_fake_create(&fc);
    cr_assert(w.fake);
    for (int r = 0; r < nranks; r++)
        cr_assert_eq(dsm_fake_spawn(w.fake, r, task, &w), 0);
    uint64_t steps = 0;
    while (dsm_fake_step(w.fake) > 0)
        cr_assert_lt(++steps, 50000000ull, "no progress (deadlock?)");
    cr_assert_eq(w.counter, (uint32_t)(nranks * ITERS), "seed %llu: counter %u, want %u",
                 (unsigned long long)seed, w.counter, nranks * ITERS);
    for (int r = 0; r < nranks; r++)
        cr_assert_eq(w.words[r], ITERS, "seed %llu: word %d = %u", (unsigned long long)seed, r,
                     w.words[r]);
    /* Every data access of the guest is a read-modify-write (LOCK XADD,
     * INC m32): each asks for the page writable at once, never as a read
     * fault and then an upgrade. The other ranks read only the code page. */
    for (int r = 0; r < nranks; r++) {
        const struct dsm_stats *st = dsm_get_stats(w.dsm[r]);
        cr_assert_eq(st->upgrades, 0, "seed %llu: rank %d: %llu upgrades", (unsigned long long)seed,
                     r, (unsigned long long)st->upgrades);
        if (r > 0)
            cr_assert_leq(st->read_faults, 1, "seed %llu: rank %d: %llu read faults",
                          (unsigned long long)seed, r, (unsigned long long)st->read_faults);
    }
    for (int r = 0; r < nranks; r++) {
        dsm_free(w.dsm[r]);
        phys_free(w.phys[r]);
        free(w.phys[r]);
    }
    dsm_fake_free(w.fake);
}

Test(coherence, lock_xadd_and_false_sharing_2_ranks_interp, .timeout = 120)
{
    for (uint64_t s = 1; s <= 4; s++)
        run_world(2, s, false);
}

Test(coherence, lock_xadd_and_false_sharing_4_ranks_interp, .timeout = 120)
{
    for (uint64_t s = 11; s <= 13; s++)
        run_world(4, s, false);
}

Test(coherence, lock_xadd_and_false_sharing_4_ranks_jit, .timeout = 120)
{
    for (uint64_t s = 21; s <= 23; s++)
        run_world(4, s, true);
}
