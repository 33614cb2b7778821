/* test_cpu_snap.c - a CPU in a memory image (src/cpu/cpu_snap.c,
 * fpu_snap.c, apic_snap.c, src/snap/rank_state.c).
 *
 * A "world" is a bare CPU with its local APIC over its own guest RAM and
 * a fake virtual clock. The guest: flat protected mode with paging (4 MiB
 * pages; linear 0x400000 aliases physical 0, so a REP MOVS reads through
 * a translated mapping), x87 values on the stack, a REP MOVSD of 3000
 * dwords (stopped after its first batch of 1024 at the slice boundary),
 * then a loop doing x87 and integer work with interrupts on; the APIC has
 * a periodic timer running, a vector in service and one pending, each
 * with an IDT handler that counts and writes EOI through the APIC window.
 * The state is saved mid-REP, loaded into another CPU (fresh, or one that
 * ran other code on other page tables), saved again (byte-identical), and
 * both CPUs run on equal copies of the memory: their states and memory
 * must stay identical (interpreter, and translator for the used CPU).
 * Corrupted sections are refused, leaving the CPU as it was; a moved APIC
 * window follows; rank_state round-trips the machine's queued STARTUPs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/apic.h"
#include "cpu/cpu_snap.h"
#include "cpu/fpu.h"
#include "cpu_step.h"
#include "machine_impl.h"
#include "snap/state.h"

#define RAM (16u << 20)
#define CODE 0x10000u
#define REP_AT (CODE + 22)          /* the REP MOVSD below */
#define SRC_PHYS 0x100000u          /* read at linear 0x500000 */
#define DST 0x200000u
#define NDW 3000u                   /* dwords moved */
#define CNT_40 0x8000u              /* counters the handlers bump */
#define CNT_41 0x8004u
#define LOOPS 0x8020u

struct world {
    struct phys phys;
    struct cpu cpu;
    struct apic apic;
    uint64_t now;                   /* the virtual clock, ns */
};

static uint64_t w_now(void *ctx) { return ((struct world *)ctx)->now; }
static void w_intr(void *ctx, int level) { ((struct world *)ctx)->cpu.intr = level; }
static int w_ack(void *ctx) { return apic_intr_ack(&((struct world *)ctx)->apic); }
static uint32_t w_in(void *ctx, uint16_t port, int size)
{
    (void)ctx, (void)port, (void)size;
    return 0;
}
static void w_out(void *ctx, uint16_t port, int size, uint32_t v)
{
    (void)ctx, (void)port, (void)size, (void)v;
}

/* jit: run translated code (else the interpreter). */
static struct world *world_new(bool jit)
{
    struct world *w = calloc(1, sizeof *w);
    cr_assert_not_null(w);
    cr_assert_eq(phys_init(&w->phys, RAM), 0);
    struct apic_ops ops = { .now_ns = w_now, .intr_out = w_intr };
    apic_init(&w->apic, 0, true, &ops, w);
    cr_assert_eq(apic_map(&w->apic, &w->phys), 0);
    struct cpu_bus bus = { .ctx = w, .io_in = w_in, .io_out = w_out, .intr_ack = w_ack,
                           .clock_ns = w_now, .wall_ns = w_now };
    cpu_init(&w->cpu, &w->phys, &bus);
    w->cpu.use_jit = jit;
    w->cpu.apic = &w->apic;
    w->cpu.apic_base = apic_get_base(&w->apic);
    w->cpu.intr = w->apic.out;
    return w;
}

static void world_free(struct world *w)
{
    cpu_free(&w->cpu);
    phys_free(&w->phys);
    free(w);
}

static void put(struct world *w, uint32_t at, const void *p, size_t n)
{
    cr_assert_eq(phys_copy_in(&w->phys, at, p, n), 0);
}

static void put32(struct world *w, uint32_t at, uint32_t v) { put(w, at, &v, 4); }
static void put64(struct world *w, uint32_t at, uint64_t v) { put(w, at, &v, 8); }
static uint32_t get32(struct world *w, uint32_t at) { return phys_read(&w->phys, at, 4); }

/* Program variants: the one that is saved, and two that another CPU runs
 * before it is loaded with the first one's state. */
enum variant { V_MAIN, V_OTHER_TABLES, V_STOSD };

/* Tables, handlers, data and code in RAM; the CPU in protected mode with
 * paging at the first instruction; the APIC enabled with its timer
 * running, vector 0x30 in service and 0x40 pending. */
static void build(struct world *w, enum variant v)
{
    /* GDT: 0x10 flat code, 0x18 flat data */
    put64(w, 0x1000 + 0x10, mkdesc(0, 0xfffff, 0xc09b));
    put64(w, 0x1000 + 0x18, mkdesc(0, 0xfffff, 0xc093));
    /* IDT: 0x40 -> 0x5000, 0x41 (timer) -> 0x6000, interrupt gates */
    put64(w, 0x2000 + 0x40 * 8, mkgate(0x10, 0x5000, 0x8e));
    put64(w, 0x2000 + 0x41 * 8, mkgate(0x10, 0x6000, 0x8e));
    /* Page directory: 4 MiB pages. 0-4M identity; 4M-8M -> physical 0
     * (V_OTHER_TABLES: -> 8M); the APIC's 4 MiB at 0xfec00000. */
    put32(w, 0x3000 + 0 * 4, 0x00000083u);
    put32(w, 0x3000 + 1 * 4, v == V_OTHER_TABLES ? 0x00800083u : 0x00000083u);
    put32(w, 0x3000 + 0x3fb * 4, 0xfec00083u);
    for (uint32_t i = 0; i < NDW; i++) {
        put32(w, SRC_PHYS + 4 * i, i * 2654435761u + 17);
        put32(w, 0x900000 + 4 * i, ~i);
    }
    static const uint8_t h40[] = {
        0xff, 0x05, 0x00, 0x80, 0x00, 0x00,                         /* inc dword [0x8000] */
        0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0,             /* mov [0xfee000b0], 0 */
        0xcf,                                                       /* iret */
    };
    static const uint8_t h41[] = {
        0xff, 0x05, 0x04, 0x80, 0x00, 0x00,                         /* inc dword [0x8004] */
        0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0,
        0xcf,
    };
    put(w, 0x5000, h40, sizeof h40);
    put(w, 0x6000, h41, sizeof h41);
    uint8_t code[] = {
        0xdb, 0xe3,                               /* fninit */
        0xd9, 0xeb,                               /* fldpi */
        0xd9, 0xea,                               /* fldl2e */
        0xbe, 0x00, 0x00, 0x50, 0x00,             /* mov esi, 0x500000 */
        0xbf, 0x00, 0x00, 0x20, 0x00,             /* mov edi, 0x200000 */
        0xb9, NDW & 0xff, NDW >> 8, 0x00, 0x00,   /* mov ecx, 3000 */
        0xfc,                                     /* cld */
        0xf3, v == V_STOSD ? 0xab : 0xa5,         /* rep movsd (rep stosd) */
        0xfb,                                     /* sti */
        /* loop: */
        0xd8, 0xc1,                               /* fadd st0, st1 */
        0xd9, 0x15, 0x10, 0x80, 0x00, 0x00,       /* fst dword [0x8010] */
        0xff, 0x05, 0x20, 0x80, 0x00, 0x00,       /* inc dword [0x8020] */
        0xa1, 0x20, 0x80, 0x00, 0x00,             /* mov eax, [0x8020] */
        0x6b, 0xc0, v == V_OTHER_TABLES ? 9 : 7,  /* imul eax, eax, 7 */
        0x01, 0x05, 0x24, 0x80, 0x00, 0x00,       /* add [0x8024], eax */
        0xeb, 0xe2,                               /* jmp loop */
    };
    cr_assert_eq(code[REP_AT - CODE], 0xf3);
    put(w, CODE, code, sizeof code);

    struct cpu *c = &w->cpu;
    cpu_set_flat32(c);
    c->gdtr = (struct dtr){ 0x1000, 0x1f };
    c->idtr = (struct dtr){ 0x2000, 0x41 * 8 + 7 };
    c->cr3 = 0x3000;
    c->cr4 = CR4_PSE;
    c->cr0 |= CR0_PG;
    mmu_flush(c);
    c->eip = CODE;
    c->r[R_ESP] = 0x9ff0;

    struct apic *a = &w->apic;
    w->now = 1000;
    apic_write(a, APIC_REG_SVR, 0x1ff);
    apic_write(a, APIC_REG_TIMER_DIV, 0xb);                 /* divide by 1 */
    apic_write(a, APIC_REG_LVT_TIMER, 0x41 | APIC_LVT_PERIODIC);
    apic_write(a, APIC_REG_TIMER_INIT, 50000);              /* every 50 us */
    apic_deliver(a, APIC_DM_FIXED, 0x30, false);
    cr_assert_eq(apic_intr_ack(a), 0x30);                   /* 0x30 in service */
    apic_deliver(a, APIC_DM_FIXED, 0x40, false);            /* 0x40 pending */
    apic_write(a, APIC_REG_TPR, 0x10);
}

/* The CPU and APIC sections of a world. */
static void save(const struct world *w, struct snapw *out)
{
    snapw_init(out);
    cpu_save(&w->cpu, out);
    apic_save(&w->apic, out);
    cr_assert(!out->oom);
}

static bool load(struct world *w, const void *p, size_t n, char *why, size_t whylen)
{
    struct snapr r;
    snapr_init(&r, p, n);
    bool ok = cpu_load(&w->cpu, &r) && apic_load(&w->apic, &r);
    if (why)
        snprintf(why, whylen, "%s", r.why);
    return ok && r.pos == r.len;
}

static void assert_same_state(const struct world *a, const struct world *b, const char *when)
{
    struct snapw sa, sb;
    save(a, &sa);
    save(b, &sb);
    cr_assert_eq(sa.len, sb.len, "%s: state lengths %zu and %zu", when, sa.len, sb.len);
    for (size_t i = 0; i < sa.len; i++)
        cr_assert_eq(sa.buf[i], sb.buf[i], "%s: the states differ at byte %zu", when, i);
    snapw_free(&sa);
    snapw_free(&sb);
}

/* A world built and run to the REP MOVSD's first batch. */
static struct world *run_to_mid_rep(bool jit)
{
    struct world *a = world_new(jit);
    build(a, V_MAIN);
    cr_assert_eq(cpu_run(&a->cpu, 8), CPU_EXIT_BUDGET);
    cr_assert_eq(a->cpu.eip, REP_AT, "stopped at the REP (EIP %#x)", a->cpu.eip);
    cr_assert_eq(a->cpu.r[R_ECX], NDW - 1024, "after one batch (ECX %u)", a->cpu.r[R_ECX]);
    cr_assert(a->cpu.rep.active);
    cr_assert(a->cpu.eflags & F_RF);
    cr_assert(a->cpu.intr, "0x40 pending at the APIC (IF is still 0)");
    return a;
}

/* Load a's state into b (whose RAM becomes a copy of a's, written behind
 * the CPU's back as a restore does), check the re-save is identical, then
 * run both in step, comparing state and memory. */
static void load_and_run_both(struct world *a, struct world *b)
{
    struct snapw s1;
    save(a, &s1);
    memcpy(b->phys.ram, a->phys.ram, RAM);
    b->now = a->now;
    char why[160];
    cr_assert(load(b, s1.buf, s1.len, why, sizeof why), "load refused: %s", why);
    struct snapw s2;
    save(b, &s2);
    cr_assert_eq(s1.len, s2.len);
    cr_assert_eq(memcmp(s1.buf, s2.buf, s1.len), 0, "save, load, save: the same bytes");
    snapw_free(&s1);
    snapw_free(&s2);

    for (int k = 0; k < 40; k++) {
        char when[32];
        snprintf(when, sizeof when, "step %d", k);
        a->now += 7000;
        b->now += 7000;
        apic_poll(&a->apic);
        apic_poll(&b->apic);
        cpu_run(&a->cpu, 25);
        cpu_run(&b->cpu, 25);
        assert_same_state(a, b, when);
        cr_assert_eq(memcmp(a->phys.ram, b->phys.ram, RAM), 0, "%s: memory differs", when);
    }
    /* what the run went through */
    cr_assert_eq(b->cpu.r[R_ECX], 0, "the REP MOVSD finished");
    cr_assert_eq(memcmp(b->phys.ram + DST, b->phys.ram + SRC_PHYS, NDW * 4), 0,
                 "the REP MOVSD copied through the alias mapping");
    cr_assert_eq(get32(b, CNT_40), 1, "the pending vector 0x40 was taken once");
    cr_assert_geq(get32(b, CNT_41), 3, "the timer fired (%u)", get32(b, CNT_41));
    cr_assert_gt(get32(b, LOOPS), 20);
    cr_assert_eq(b->apic.isr[0x30 / 32] >> (0x30 % 32) & 1, 1, "0x30 still in service");
}

Test(cpu_snap, round_trip_into_a_fresh_cpu_runs_the_same)
{
    struct world *a = run_to_mid_rep(false);
    struct world *b = world_new(false);
    load_and_run_both(a, b);
    world_free(a);
    world_free(b);
}

/* The other CPU ran other code at the same addresses on other page
 * tables: its decoded blocks, TLB entries and jump cache must not
 * survive the load. */
Test(cpu_snap, load_into_a_used_cpu_drops_its_decoded_code_and_tlb)
{
    struct world *a = run_to_mid_rep(false);
    struct world *b = world_new(false);
    build(b, V_OTHER_TABLES);
    for (int i = 0; i < 20; i++) {
        b->now += 7000;
        apic_poll(&b->apic);
        cpu_run(&b->cpu, 25);
    }
    cr_assert_gt(get32(b, LOOPS), 0, "the other program reached its loop");
    load_and_run_both(a, b);
    world_free(a);
    world_free(b);
}

/* The same with the translator: translations of the other program at
 * the same addresses (and its jump cache) must not survive the load. */
Test(cpu_snap, load_into_a_used_cpu_drops_its_translations)
{
    struct world *a = run_to_mid_rep(true);
    struct world *b = world_new(true);
    build(b, V_OTHER_TABLES);
    for (int i = 0; i < 20; i++) {
        b->now += 7000;
        apic_poll(&b->apic);
        cpu_run(&b->cpu, 25);
    }
    cr_assert_gt(get32(b, LOOPS), 0, "the other program reached its loop");
    cr_assert_gt(b->cpu.jit_stats.blocks, 0, "it ran translated code");
    load_and_run_both(a, b);
    cr_assert_gt(b->cpu.jit_stats.entries, 0, "the loaded CPU ran translated code");
    world_free(a);
    world_free(b);
}

/* The other CPU stopped in a REP STOSD at the same EIP, ESP and ECX: its
 * record of that instruction must not make the loaded REP MOVSD resume
 * as a STOSD. */
Test(cpu_snap, rep_stopped_mid_way_resumes_as_itself)
{
    struct world *a = run_to_mid_rep(false);
    struct world *b = world_new(false);
    build(b, V_STOSD);
    cr_assert_eq(cpu_run(&b->cpu, 8), CPU_EXIT_BUDGET);
    cr_assert(b->cpu.rep.active && b->cpu.eip == a->cpu.eip &&
              b->cpu.r[R_ECX] == a->cpu.r[R_ECX] && b->cpu.r[R_ESP] == a->cpu.r[R_ESP]);
    load_and_run_both(a, b);
    world_free(a);
    world_free(b);
}

Test(cpu_snap, fpu_and_apic_values_are_in_the_image)
{
    struct world *a = run_to_mid_rep(false);
    struct world *b = world_new(false);
    struct snapw s;
    save(a, &s);
    cr_assert(load(b, s.buf, s.len, NULL, 0));
    cr_assert_eq(memcmp(b->cpu.fpu.st, a->cpu.fpu.st, sizeof a->cpu.fpu.st), 0);
    cr_assert_eq(fpu_top(&b->cpu.fpu), 6, "two values pushed");
    cr_assert_eq(b->cpu.fpu.cw, 0x37f);
    cr_assert_eq(b->cpu.cr3, 0x3000);
    cr_assert(b->cpu.cr0 & CR0_PG);
    cr_assert(b->cpu.pe && b->cpu.code32 && b->cpu.stack32 && b->cpu.cpl == 0);
    cr_assert(!b->cpu.rep.active, "no REP record: the REP is fetched again");
    cr_assert_eq(b->apic.timer_init, 50000);
    cr_assert_eq(b->apic.timer_t0, 1000, "the timer's start on the virtual clock");
    cr_assert_eq(apic_next_event_ns(&b->apic), apic_next_event_ns(&a->apic));
    cr_assert_eq(b->apic.irr[2], 1u, "0x40 pending");
    cr_assert_eq(b->apic.isr[1], 1u << 16, "0x30 in service");
    cr_assert_eq(b->apic.tpr, 0x10);
    cr_assert_eq(b->cpu.intr, 1, "INTR recomputed from the APIC");
    snapw_free(&s);
    world_free(a);
    world_free(b);
}

/* ---- refusals ---- */

/* The one byte offset where two saves differ (they must differ in one). */
static size_t diff_offset(const struct snapw *x, const struct snapw *y)
{
    cr_assert_eq(x->len, y->len);
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < x->len; i++)
        if (x->buf[i] != y->buf[i]) {
            cr_assert_eq(at, SIZE_MAX, "more than one byte differs (%zu, %zu)", at, i);
            at = i;
        }
    cr_assert_neq(at, SIZE_MAX);
    return at;
}

/* Loading buf must be refused with a reason containing `what`, and leave
 * the target's state as it was. */
static void assert_refused(const uint8_t *buf, size_t len, const char *what)
{
    struct world *b = world_new(false);
    build(b, V_MAIN);
    struct snapw before, after;
    save(b, &before);
    uint8_t *copy = malloc(len ? len : 1);      /* exactly len: no slack to read */
    memcpy(copy, buf, len);
    struct snapr r;
    snapr_init(&r, copy, len);
    bool ok = cpu_load(&b->cpu, &r);
    cr_assert_not(ok, "a load with %s was accepted", what);
    cr_assert(r.bad);
    cr_assert(strstr(r.why, what), "reason \"%s\" names %s", r.why, what);
    save(b, &after);
    cr_assert_eq(before.len, after.len);
    cr_assert_eq(memcmp(before.buf, after.buf, before.len), 0, "the refused load changed the CPU");
    free(copy);
    snapw_free(&before);
    snapw_free(&after);
    world_free(b);
}

static void assert_apic_refused(const uint8_t *buf, size_t len, const char *what)
{
    struct world *b = world_new(false);
    build(b, V_MAIN);
    struct apic before = b->apic;
    struct snapr r;
    snapr_init(&r, buf, len);
    cr_assert_not(apic_load(&b->apic, &r), "an APIC with %s was accepted", what);
    cr_assert(strstr(r.why, what), "reason \"%s\" names %s", r.why, what);
    cr_assert_eq(memcmp(&before, &b->apic, sizeof before), 0, "the refused load changed the APIC");
    world_free(b);
}

Test(cpu_snap, truncated_state_is_refused_at_every_length)
{
    struct world *a = run_to_mid_rep(false);
    struct snapw s;
    snapw_init(&s);
    cpu_save(&a->cpu, &s);
    size_t cpu_len = s.len;
    apic_save(&a->apic, &s);
    struct world *b = world_new(false);
    build(b, V_MAIN);
    struct snapw before;
    save(b, &before);
    for (size_t cut = 0; cut < s.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, s.buf, cut);
        struct snapr r;
        snapr_init(&r, copy, cut);
        bool cpu_ok = cpu_load(&b->cpu, &r);
        bool ok = cpu_ok && apic_load(&b->apic, &r);
        cr_assert_not(ok, "a state cut at %zu of %zu bytes was accepted", cut, s.len);
        cr_assert(r.bad && r.why[0], "cut at %zu: no reason", cut);
        if (cut < cpu_len) {
            cr_assert_not(cpu_ok, "cut at %zu: the CPU sections were accepted", cut);
            struct snapw now;
            save(b, &now);
            cr_assert_eq(memcmp(now.buf, before.buf, now.len), 0,
                         "cut at %zu: the refused load changed the CPU", cut);
            snapw_free(&now);
        }
        free(copy);
    }
    snapw_free(&before);
    snapw_free(&s);
    world_free(a);
    world_free(b);
}

Test(cpu_snap, bad_cpl_is_refused)
{
    struct world *a = run_to_mid_rep(false);
    struct snapw good, odd;
    snapw_init(&good);
    cpu_save(&a->cpu, &good);
    a->cpu.cpl = 2;                         /* find the CPL byte */
    snapw_init(&odd);
    cpu_save(&a->cpu, &odd);
    size_t at = diff_offset(&good, &odd);
    cr_assert_eq(good.buf[at], 0);
    good.buf[at] = 4;                       /* out of range */
    assert_refused(good.buf, good.len, "CPL");
    good.buf[at] = 3;                       /* CS.RPL is 0 in protected mode */
    assert_refused(good.buf, good.len, "CPL");
    good.buf[at] = 0;
    assert_refused(good.buf, good.len - 1, "FPU");      /* sanity: the rest is fine */
    snapw_free(&good);
    snapw_free(&odd);
    world_free(a);
}

Test(cpu_snap, bad_vector_in_the_apic_is_refused)
{
    struct world *a = run_to_mid_rep(false);
    struct snapw good, odd;
    snapw_init(&good);
    apic_save(&a->apic, &good);
    a->apic.irr[0] |= 1u << 5;              /* vector 5: never accepted */
    snapw_init(&odd);
    apic_save(&a->apic, &odd);
    diff_offset(&good, &odd);
    assert_apic_refused(odd.buf, odd.len, "vector below 16");
    snapw_free(&good);
    snapw_free(&odd);
    world_free(a);
}

Test(cpu_snap, other_corruptions_are_refused)
{
    struct world *a = run_to_mid_rep(false);
    struct snapw s;
    /* an unmasked x87 exception flag without ES: would fault on the host */
    a->cpu.fpu.cw &= (uint16_t)~FSW_ZE;
    a->cpu.fpu.sw |= FSW_ZE;
    snapw_init(&s);
    cpu_save(&a->cpu, &s);
    assert_refused(s.buf, s.len, "ES/B");
    snapw_free(&s);
    fpu_init(&a->cpu.fpu);
    /* an LVT entry with reserved bits */
    a->apic.lvt[APIC_LVT_ERROR] |= 0x00800000u;
    snapw_init(&s);
    apic_save(&a->apic, &s);
    assert_apic_refused(s.buf, s.len, "LVT");
    snapw_free(&s);
    a->apic.lvt[APIC_LVT_ERROR] &= ~0x00800000u;
    /* a zero timer clock (a divisor) */
    a->apic.bus_hz = 0;
    snapw_init(&s);
    apic_save(&a->apic, &s);
    assert_apic_refused(s.buf, s.len, "timer clock");
    snapw_free(&s);
    a->apic.bus_hz = APIC_DEFAULT_BUS_HZ;
    /* a section longer than the state, a wrong tag */
    snapw_init(&s);
    cpu_save(&a->cpu, &s);
    s.buf[8]++;                             /* one byte more: the FPU's first */
    assert_refused(s.buf, s.len, "left over");
    s.buf[8]--;
    s.buf[15] = 0x10;                       /* the length's top byte */
    assert_refused(s.buf, s.len, "longer than the state");
    s.buf[15] = 0;
    s.buf[0] = 'X';
    assert_refused(s.buf, s.len, "found where");
    snapw_free(&s);
    /* V86 mode with a segment that is no 8086 segment */
    a->cpu.eflags |= F_VM;
    a->cpu.cpl = 3;
    snapw_init(&s);
    cpu_save(&a->cpu, &s);
    assert_refused(s.buf, s.len, "8086 segment");
    snapw_free(&s);
    world_free(a);
}

/* ---- a rank's whole CPU, in a machine ---- */

static char rom_path[64];

static struct machine *make_machine(void)
{
    uint8_t rom[4096];
    memset(rom, 0xf4, sizeof rom);                 /* hlt everywhere */
    strcpy(rom_path, "/tmp/vsmp-test-cpu-snap-XXXXXX");
    int fd = mkstemp(rom_path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, rom, sizeof rom), (ssize_t)sizeof rom);
    close(fd);
    struct config cfg = {
        .file = "test_cpu_snap.cfg", .memory = 2u << 20, .rom = rom_path,
        .console = CONSOLE_NONE, .cpus = 1,
    };
    struct machine_opts opts = { .max_insns = 1000, .ncpus = 1 };
    char err[256] = "";
    struct machine *m = machine_create(&cfg, &opts, err, sizeof err);
    unlink(rom_path);
    cr_assert_not_null(m, "%s", err);
    return m;
}

Test(cpu_snap, rank_state_round_trip_with_queued_startups)
{
    struct machine *m1 = make_machine(), *m2 = make_machine();
    m1->cpu_ev[0] = 0x12;
    m1->cpu_ev[1] = 0x34;
    m1->ncpu_ev = 2;
    m1->aps_started = true;
    m1->cpu.halted = true;
    apic_write(&m1->apic, APIC_REG_SVR, 0x1ff);
    apic_write(&m1->apic, APIC_REG_LDR, 0x05000000u);
    struct snapw s1, s2;
    snapw_init(&s1);
    rank_state_save(m1, &s1);
    struct snapr r;
    snapr_init(&r, s1.buf, s1.len);
    cr_assert(rank_state_load(m2, &r), "%s", r.why);
    cr_assert_eq(r.pos, r.len);
    snapw_init(&s2);
    rank_state_save(m2, &s2);
    cr_assert_eq(s1.len, s2.len);
    cr_assert_eq(memcmp(s1.buf, s2.buf, s1.len), 0, "save, load, save: the same bytes");
    cr_assert_eq(m2->ncpu_ev, 2);
    cr_assert_eq(m2->cpu_ev[1], 0x34);
    cr_assert(m2->aps_started);
    cr_assert(m2->cpu.halted);
    cr_assert_eq(m2->apic.ldr, 0x05000000u);

    /* another rank's section gives its APIC addressing */
    struct apic_peer p = { 0 }, want;
    snapr_init(&r, s1.buf, s1.len);
    cr_assert(rank_state_peer(&r, 0, 1, &p), "%s", r.why);
    cr_assert_eq(r.pos, r.len);
    apic_peer_state(&m1->apic, &want);
    cr_assert(p.id == want.id && p.ldr == want.ldr && p.dfr == want.dfr && p.tpr == want.tpr &&
              p.hw_enabled == want.hw_enabled && p.sw_enabled == want.sw_enabled);
    cr_assert_eq(p.ldr, 0x05000000u);
    cr_assert(p.sw_enabled);

    /* a STARTUP vector out of range */
    m1->cpu_ev[1] = 0x35;
    struct snapw odd;
    snapw_init(&odd);
    rank_state_save(m1, &odd);
    size_t at = diff_offset(&s1, &odd);
    odd.buf[at + 1] = 0x01;                 /* 0x135 */
    snapr_init(&r, odd.buf, odd.len);
    cr_assert_not(rank_state_load(m2, &r), "vector 0x135 accepted");
    cr_assert(strstr(r.why, "STARTUP vector"), "%s", r.why);
    /* too many queued */
    snapw_free(&odd);
    snapw_init(&odd);
    m1->ncpu_ev = CPU_EV_MAX;
    rank_state_save(m1, &odd);
    odd.buf[16 + 8] = CPU_EV_MAX + 1;      /* the count, after rank and ncpus */
    snapr_init(&r, odd.buf, odd.len);
    cr_assert_not(rank_state_load(m2, &r));
    cr_assert(strstr(r.why, "queued"), "%s", r.why);
    /* another rank's state */
    m2->rank = 1;
    snapr_init(&r, s1.buf, s1.len);
    cr_assert_not(rank_state_load(m2, &r));
    cr_assert(strstr(r.why, "rank 0 of 1, this is rank 1"), "%s", r.why);
    m2->rank = 0;

    snapw_free(&odd);
    snapw_free(&s1);
    snapw_free(&s2);
    machine_destroy(m1);
    machine_destroy(m2);
}

/* A guest that moved its APIC window (IA32_APIC_BASE, above RAM): the
 * loaded APIC's window is moved there too; a window in RAM is refused. */
Test(cpu_snap, moved_apic_window_follows)
{
    struct world *a = world_new(false), *b = world_new(false);
    apic_set_base(&a->apic, 0xfe000000u | APIC_BASE_ENABLE | APIC_BASE_BSP);
    cr_assert_eq(a->phys.mmio[a->apic.mmio_index].base, 0xfe000000u);
    struct snapw s;
    snapw_init(&s);
    apic_save(&a->apic, &s);
    struct snapr r;
    snapr_init(&r, s.buf, s.len);
    cr_assert(apic_load(&b->apic, &r), "%s", r.why);
    cr_assert_eq(b->phys.mmio[b->apic.mmio_index].base, 0xfe000000u);
    cr_assert_eq(apic_get_base(&b->apic), 0xfe000000u | APIC_BASE_ENABLE | APIC_BASE_BSP);
    snapw_free(&s);
    a->phys.mmio[a->apic.mmio_index].base = 0x100000;   /* in RAM */
    snapw_init(&s);
    apic_save(&a->apic, &s);
    assert_apic_refused(s.buf, s.len, "cannot be placed");
    snapw_free(&s);
    world_free(a);
    world_free(b);
}
