/* smp.c - multiprocessor support for the test guests (see smp.h): CPU
 * discovery from the ACPI MADT or the Intel MP table (MP spec 1.4, ch. 4),
 * local APIC set-up and IPIs, AP start-up with INIT-SIPI-SIPI (MP spec
 * appendix B.4) through the trampoline in smp_tramp.asm, a polled PIT
 * time base for the BSP, and a "run on every CPU" dispatcher with bounded
 * waits: only the BSP keeps time; when it gives up it sets smp_abort,
 * which every AP's wait loop (smp_stop) also checks. */
#include "smp.h"

struct smp smp;
volatile int smp_failed;

/* ---------------- time base: PIT counter 0, mode 2, count 65536 ---------------- */
static uint32_t tb_ticks;
static uint16_t tb_last;

static uint16_t pit_latch0(void)
{
    outb(0x43, 0x00);
    uint8_t lo = inb(0x40);
    uint8_t hi = inb(0x40);
    return (uint16_t)(lo | hi << 8);
}

void tb_init(void)
{
    outb(0x43, 0x34);           /* counter 0, lo/hi, mode 2 */
    outb(0x40, 0);
    outb(0x40, 0);              /* 65536: wraps every 55 ms */
    tb_ticks = 0;
    tb_last = pit_latch0();
}

/* Must be polled at least every 55 ms to see every wrap; a longer gap
 * only makes a time limit longer, never shorter. */
uint32_t tb_now(void)
{
    uint16_t c = pit_latch0();
    tb_ticks += (uint16_t)(tb_last - c);
    tb_last = c;
    return tb_ticks;
}

void tb_delay(uint32_t ticks)
{
    uint32_t t0 = tb_now();
    while (tb_now() - t0 < ticks)
        cpu_relax();
}

/* ---------------- local APIC ---------------- */
static void on_spurious(struct frame *f)
{
    (void)f;                    /* no EOI for the spurious vector */
}

void lapic_enable(void)
{
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VEC);
}

int lapic_ipi(uint8_t dest, uint32_t lo)
{
    uint32_t fl = read_eflags();
    cli();
    int rc = 0;
    for (uint32_t i = 0; lapic_read(LAPIC_ICR_LO) & ICR_BUSY; i++)
        if (i > 10000000u) {
            rc = -1;
            break;
        }
    lapic_write(LAPIC_ICR_HI, (uint32_t)dest << 24);
    lapic_write(LAPIC_ICR_LO, lo);
    for (uint32_t i = 0; lapic_read(LAPIC_ICR_LO) & ICR_BUSY; i++)
        if (i > 10000000u) {
            rc = -1;
            break;
        }
    if (fl & 0x200)
        sti();
    return rc;
}

/* ---------------- finding the CPUs ---------------- */
/* a pointer to physical address a (hidden from GCC, which warns about
 * constant pointers into the first page) */
static const uint8_t *phys(uint32_t a)
{
    __asm__("" : "+r"(a));
    return (const uint8_t *)a;
}

static uint8_t sum8(const uint8_t *p, uint32_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static const uint8_t *scan(uint32_t base, uint32_t len, const char *sig, uint32_t siglen,
                           uint32_t sumlen)
{
    for (uint32_t a = base; a + 16 <= base + len; a += 16) {
        const uint8_t *p = phys(a);
        if (memcmp(p, sig, siglen) == 0 && sum8(p, sumlen) == 0)
            return p;
    }
    return NULL;
}

static void add_cpu(uint8_t id, int bsp)
{
    if (smp.ncpus >= SMP_MAX_CPUS)
        return;
    if (bsp) {                  /* the BSP goes first */
        for (int i = smp.ncpus; i > 0; i--)
            smp.apic_id[i] = smp.apic_id[i - 1];
        smp.apic_id[0] = id;
    } else
        smp.apic_id[smp.ncpus] = id;
    smp.ncpus++;
}

static int from_mp_table(void)
{
    uint32_t ebda = (uint32_t)rd16(phys(0x40e)) << 4;
    uint32_t basemem = (uint32_t)rd16(phys(0x413)) * 1024;
    const uint8_t *f = NULL;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        f = scan(ebda, 1024, "_MP_", 4, 16);
    if (!f && basemem >= 0x80000 && basemem <= 0xa0000)
        f = scan(basemem - 1024, 1024, "_MP_", 4, 16);
    if (!f)
        f = scan(0xf0000, 0x10000, "_MP_", 4, 16);
    if (!f || f[11] != 0 || !rd32(f + 4))      /* default configurations: not handled */
        return 0;
    const uint8_t *c = phys(rd32(f + 4));
    uint16_t len = rd16(c + 4), count = rd16(c + 34);
    if (memcmp(c, "PCMP", 4) != 0 || sum8(c, len) != 0)
        return 0;
    const uint8_t *e = c + 44, *end = c + len;
    for (int i = 0; i < count && e < end; i++) {
        if (e[0] == 0) {        /* processor: type, APIC ID, version, flags */
            if (e[3] & 1)
                add_cpu(e[1], e[3] & 2);
            e += 20;
        } else
            e += 8;
    }
    return smp.ncpus;
}

static int from_madt(void)
{
    const uint8_t *r = NULL;
    uint32_t ebda = (uint32_t)rd16(phys(0x40e)) << 4;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        r = scan(ebda, 1024, "RSD PTR ", 8, 20);
    if (!r)
        r = scan(0xe0000, 0x20000, "RSD PTR ", 8, 20);
    if (!r)
        return 0;
    const uint8_t *rsdt = phys(rd32(r + 16));
    if (memcmp(rsdt, "RSDT", 4) != 0 || sum8(rsdt, rd32(rsdt + 4)) != 0)
        return 0;
    uint32_t n = (rd32(rsdt + 4) - 36) / 4;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *t = phys(rd32(rsdt + 36 + 4 * i));
        if (memcmp(t, "APIC", 4) != 0 || sum8(t, rd32(t + 4)) != 0)
            continue;
        uint8_t bsp = (uint8_t)lapic_id();
        const uint8_t *e = t + 44, *end = t + rd32(t + 4);
        while (e + 2 <= end && e[1] >= 2) {
            if (e[0] == 0 && (rd32(e + 4) & 1))      /* processor local APIC, enabled */
                add_cpu(e[3], e[3] == bsp);
            e += e[1];
        }
        return smp.ncpus;
    }
    return 0;
}

/* ---------------- AP start-up ---------------- */
extern uint8_t smp_tramp_start[], smp_tramp_end[], smp_tramp_gdtr[], smp_tramp_entry[],
    smp_tramp_stacks[], smp_tramp_stack_size[], smp_tramp_ticket[], smp_tramp_max[];
#define TP(sym) ((volatile uint32_t *)(SMP_TRAMP + (uint32_t)((sym) - smp_tramp_start)))

static uint8_t ap_stacks[SMP_MAX_CPUS - 1][SMP_AP_STACK] __attribute__((aligned(16)));
static struct { uint16_t limit; uint32_t base; } __attribute__((packed)) bsp_idtr;

/* The dispatcher's state, on a page of its own (read-mostly: APs spin
 * on it). */
static struct {
    volatile uint32_t seq;              /* one more for every smp_run_all */
    smp_fn volatile fn;
    volatile uint32_t done;             /* CPUs finished with this run */
    volatile uint32_t abort;            /* the BSP gave up on this run */
    volatile uint32_t alive[SMP_MAX_CPUS];  /* 0x100 | APIC ID, by CPU number */
} ctl __attribute__((aligned(4096)));
static uint32_t run_deadline;

static struct {
    volatile uint32_t count, gen;
} bar __attribute__((aligned(4096)));

static void ap_main(uint32_t ticket) __attribute__((noreturn, used));
static void ap_main(uint32_t ticket)
{
    __asm__ volatile("lidt %0" : : "m"(bsp_idtr));
    lapic_enable();
    int me = (int)ticket + 1;
    ctl.alive[me < SMP_MAX_CPUS ? me : 0] = 0x100 | lapic_id();
    uint32_t seen = 0;
    for (;;) {
        while (ctl.seq == seen)
            cpu_relax();
        seen = ctl.seq;
        smp_fn fn = ctl.fn;
        fn(me);
        cli();
        __atomic_fetch_or(&ctl.done, 1u << me, __ATOMIC_SEQ_CST);
    }
}

static int wait_alive(int cpu, uint32_t limit)
{
    uint32_t t0 = tb_now();
    while (!ctl.alive[cpu]) {
        if (tb_now() - t0 > limit)
            return -1;
        cpu_relax();
    }
    return 0;
}

/* The trampoline page must be RAM the loader left alone: inside an
 * available range of the Multiboot memory map and clear of the boot
 * information (QEMU puts it at 0x9000, vsmp above the kernel). */
static void check_tramp_page(uint32_t mbi)
{
    const uint8_t *info = phys(mbi);
    uint32_t lo = SMP_TRAMP, hi = SMP_TRAMP + 0x1000;
#define OVERLAPS(a, n) ((a) < hi && (a) + (n) > lo)
    if (OVERLAPS(mbi, 88))
        fail(0x60, "smp: boot information at %x overlaps the trampoline page", mbi);
    uint32_t flags = rd32(info);
    if (flags & 4) {
        const char *cl = (const char *)phys(rd32(info + 16));
        if (OVERLAPS((uint32_t)cl, strlen(cl) + 1))
            fail(0x60, "smp: command line overlaps the trampoline page");
    }
    if (!(flags & 0x40))
        return;
    uint32_t mm = rd32(info + 48), mlen = rd32(info + 44);
    if (OVERLAPS(mm, mlen))
        fail(0x60, "smp: memory map overlaps the trampoline page");
    int ok = 0;
    for (uint32_t off = 0; off < mlen;) {
        const uint8_t *e = phys(mm + off);
        uint32_t base = rd32(e + 4), len = rd32(e + 12), type = rd32(e + 20);
        if (type == 1 && !rd32(e + 8) && base <= lo && base + len >= hi)
            ok = 1;
        off += rd32(e) + 4;
    }
    if (!ok)
        fail(0x60, "smp: the trampoline page %x is not available RAM in the memory map", lo);
#undef OVERLAPS
}

static void init_sipi_sipi(uint8_t dest, uint32_t shorthand)
{
    lapic_write(LAPIC_ESR, 0);
    lapic_ipi(dest, shorthand | ICR_INIT | ICR_LEVEL | ICR_ASSERT);
    tb_delay(TB_MS(10));
    lapic_ipi(dest, shorthand | ICR_INIT | ICR_LEVEL);         /* de-assert, as Linux does */
    for (int i = 0; i < 2; i++) {
        lapic_ipi(dest, shorthand | ICR_STARTUP | (SMP_TRAMP >> 12));
        tb_delay(TB_MS(1) / 5);                                /* 200 us */
    }
}

void smp_init(uint32_t mbi)
{
    tb_init();
    idt_set(SPURIOUS_VEC, on_spurious, 0, 0);
    __asm__ volatile("sidt %0" : "=m"(bsp_idtr));
    lapic_enable();
    check_tramp_page(mbi);

    smp.ncpus = 0;
    /* the MADT first: SeaBIOS's MP table (QEMU) lists one logical CPU per
     * package only, so with -smp 4 it shows a single CPU */
    if (from_madt())
        smp.source = "acpi madt";
    else if ((smp.ncpus = 0, from_mp_table()))
        smp.source = "mp table";
    else {
        smp.ncpus = 1;
        smp.apic_id[0] = (uint8_t)lapic_id();
        smp.source = "broadcast";
    }
    if (smp.apic_id[0] != lapic_id())
        fail(0x61, "smp: %s says the BSP is APIC %u, LAPIC ID says %u", smp.source,
             smp.apic_id[0], lapic_id());

    memcpy((void *)SMP_TRAMP, smp_tramp_start, (size_t)(smp_tramp_end - smp_tramp_start));
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) g;
    __asm__ volatile("sgdt %0" : "=m"(g));
    memcpy((void *)TP(smp_tramp_gdtr), &g, 6);
    *TP(smp_tramp_entry) = (uint32_t)ap_main;
    *TP(smp_tramp_stacks) = (uint32_t)ap_stacks;
    *TP(smp_tramp_stack_size) = SMP_AP_STACK;
    *TP(smp_tramp_ticket) = 0;
    *TP(smp_tramp_max) = SMP_MAX_CPUS - 1;
    ctl.alive[0] = 0x100 | lapic_id();

    if (!strcmp(smp.source, "broadcast")) {
        /* no table: every AP that answers within 200 ms counts */
        init_sipi_sipi(0, ICR_ALL_EXCL);
        tb_delay(TB_MS(200));
        int n = (int)*TP(smp_tramp_ticket);
        for (int i = 1; i <= n && i < SMP_MAX_CPUS; i++) {
            if (wait_alive(i, TB_MS(1000)))
                fail(0x62, "smp: AP %d took a ticket but never reached C", i);
            smp.apic_id[i] = (uint8_t)ctl.alive[i];
        }
        smp.ncpus = n + 1 < SMP_MAX_CPUS ? n + 1 : SMP_MAX_CPUS;
        return;
    }
    /* one AP at a time, in table order: CPU i gets ticket i-1 */
    for (int i = 1; i < smp.ncpus; i++) {
        init_sipi_sipi(smp.apic_id[i], 0);
        if (wait_alive(i, TB_MS(2000)))
            fail(0x62, "smp: cpu %d (APIC ID %u) did not start (tickets taken: %u, ESR %x)", i,
                 smp.apic_id[i], *TP(smp_tramp_ticket), lapic_read(LAPIC_ESR));
        if ((ctl.alive[i] & 0xff) != smp.apic_id[i])
            fail(0x63, "smp: cpu %d should be APIC ID %u but reports %u", i, smp.apic_id[i],
                 ctl.alive[i] & 0xff);
    }
    /* a second STARTUP must not start an AP again */
    tb_delay(TB_MS(20));
    if (*TP(smp_tramp_ticket) != (uint32_t)smp.ncpus - 1)
        fail(0x64, "smp: %u trampoline entries for %d APs (an AP started twice?)",
             *TP(smp_tramp_ticket), smp.ncpus - 1);
}

int smp_cpu(void)
{
    uint32_t id = lapic_id();
    for (int i = 0; i < smp.ncpus; i++)
        if (smp.apic_id[i] == id)
            return i;
    return 0;
}

/* ---------------- running code on every CPU ---------------- */
int smp_stop(int cpu)
{
    if (cpu != 0)
        return ctl.abort != 0;
    if (ctl.abort)
        return 1;
    if ((int32_t)(tb_now() - run_deadline) > 0) {
        ctl.abort = 1;
        smp_failed = 1;
        return 1;
    }
    return 0;
}

static uint32_t all_aps(void)
{
    return ((1u << smp.ncpus) - 1) & ~1u;
}

int smp_run_all(smp_fn fn, uint32_t timeout_ticks)
{
    ctl.abort = 0;
    ctl.done = 0;
    bar.count = 0;
    ctl.fn = fn;
    run_deadline = tb_now() + timeout_ticks;
    barrier();
    ctl.seq = ctl.seq + 1;
    fn(0);
    cli();
    while ((ctl.done & all_aps()) != all_aps()) {
        if (smp_stop(0))
            return -1;
        cpu_relax();
    }
    return ctl.abort ? -1 : 0;
}

static uint64_t tsc_per_ms;

uint64_t smp_tsc_per_ms(void)
{
    return tsc_per_ms ? tsc_per_ms : 1;
}

int smp_run_all_timed(smp_fn fn, uint32_t timeout_ticks, uint32_t *us)
{
    if (!tsc_per_ms) {
        uint64_t c0 = rdtsc();
        tb_delay(TB_MS(20));
        tsc_per_ms = (rdtsc() - c0) / 20;
        if (!tsc_per_ms)
            tsc_per_ms = 1;
    }
    uint64_t t0 = rdtsc();
    int r = smp_run_all(fn, timeout_ticks);
    *us = (uint32_t)((rdtsc() - t0) * 1000 / tsc_per_ms);
    return r;
}

uint32_t smp_pending_mask(void)
{
    return all_aps() & ~ctl.done;
}

int smp_barrier(int cpu)
{
    uint32_t g = bar.gen;
    if (__atomic_add_fetch(&bar.count, 1, __ATOMIC_SEQ_CST) == (uint32_t)smp.ncpus) {
        bar.count = 0;
        bar.gen = g + 1;
        return 0;
    }
    while (bar.gen == g) {
        if (smp_stop(cpu))
            return -1;
        cpu_relax();
    }
    return 0;
}
