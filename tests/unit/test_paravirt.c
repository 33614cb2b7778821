/* test_paravirt.c - the guest's time base (src/vclock.h) as the CPU
 * presents it: the CPUID leaves an unmodified Linux reads (KVM signature
 * and features, TSC deadline, ARAT, TSC_ADJUST, invariant TSC), RDTSC on
 * the machine's clock, the kvmclock structs written by the two KVM MSRs
 * (paravirt.h: contents, version protocol, restart before any byte is
 * written) and the APIC's TSC-deadline timer. Every clock is injected:
 * nothing here depends on how fast the host is. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/apic.h"
#include "cpu/cpu.h"
#include "cpu/paravirt.h"
#include "cpu/system.h"
#include "mem/phys.h"
#include "unit/cpu_step.h"

#define CODE 0x10000u
#define PVTI 0x20040u            /* a kvmclock struct inside one page */
#define WALL 0x21000u

struct env {
    struct phys phys;
    struct cpu cpu;
    struct apic apic;
    uint64_t clock;              /* the injected virtual clock, ns */
    uint64_t wall;               /* the injected wall clock, Unix ns */
    /* fake coherence: page states and a fault that can "lose" a page */
    uint8_t state[256];
    uint32_t lose_when;          /* the first fault on this page ... */
    uint32_t lose_page;          /* ... takes this one away */
    bool lost;
};

static uint64_t env_clock(void *ctx) { return ((struct env *)ctx)->clock; }
static uint64_t env_wall(void *ctx) { return ((struct env *)ctx)->wall; }
static uint64_t apic_clock(void *ctx) { return ((struct env *)ctx)->clock; }

static struct env *env_new(bool with_apic)
{
    struct env *e = calloc(1, sizeof *e);
    cr_assert_not_null(e);
    cr_assert_eq(phys_init(&e->phys, 1u << 20), 0);
    struct cpu_bus bus = { .ctx = e, .clock_ns = env_clock, .wall_ns = env_wall };
    cpu_init(&e->cpu, &e->phys, &bus);
    cpu_set_flat32(&e->cpu);
    e->cpu.eip = CODE;
    e->cpu.stop_on_exception = true;
    e->cpu.use_jit = false;
    if (with_apic) {
        struct apic_ops ops = { .now_ns = apic_clock };
        apic_init(&e->apic, 2, true, &ops, e);
        e->cpu.apic = &e->apic;
    }
    e->clock = 5000000000ull;    /* 5 s */
    e->wall = 1700000000ull * 1000000000ull + 250000000ull;
    return e;
}

static void env_free(struct env *e)
{
    cpu_free(&e->cpu);
    phys_free(&e->phys);
    free(e);
}

static int cpuid(struct env *e, uint32_t leaf, uint32_t sub)
{
    e->cpu.eip = CODE;
    e->cpu.r[R_EAX] = leaf;
    e->cpu.r[R_ECX] = sub;
    return RUN(e, false, 0x0f, 0xa2);
}

static int wrmsr(struct env *e, uint32_t msr, uint64_t v)
{
    e->cpu.eip = CODE;
    e->cpu.r[R_ECX] = msr;
    e->cpu.r[R_EAX] = (uint32_t)v;
    e->cpu.r[R_EDX] = (uint32_t)(v >> 32);
    return RUN(e, false, 0x0f, 0x30);
}

static int rdmsr(struct env *e, uint32_t msr, uint64_t *v)
{
    e->cpu.eip = CODE;
    e->cpu.r[R_ECX] = msr;
    int r = RUN(e, false, 0x0f, 0x32);
    *v = (uint64_t)e->cpu.r[R_EDX] << 32 | e->cpu.r[R_EAX];
    return r;
}

static uint64_t rdtsc(struct env *e)
{
    e->cpu.eip = CODE;
    cr_assert_eq(RUN(e, false, 0x0f, 0x31), -1);
    return (uint64_t)e->cpu.r[R_EDX] << 32 | e->cpu.r[R_EAX];
}

static uint32_t m32(struct env *e, uint32_t a) { return phys_read(&e->phys, a, 4); }
static uint64_t m64(struct env *e, uint32_t a)
{
    return m32(e, a) | (uint64_t)m32(e, a + 4) << 32;
}

/* What a guest computes from the struct at `a` for TSC value `tsc`
 * (msr.rst's formula, 128-bit so an error in mul/shift shows). */
static uint64_t pvclock_ns(struct env *e, uint32_t a, uint64_t tsc)
{
    uint64_t delta = tsc - m64(e, a + 8);
    int8_t shift = (int8_t)phys_read(&e->phys, a + 28, 1);
    if (shift >= 0)
        delta <<= shift;
    else
        delta >>= -shift;
    unsigned __int128 t = (unsigned __int128)delta * m32(e, a + 24);
    return (uint64_t)(t >> 32) + m64(e, a + 16);
}

Test(paravirt, cpuid_kvm_leaves)
{
    struct env *e = env_new(true);
    struct cpu *c = &e->cpu;
    cr_assert_eq(cpuid(e, 0x40000000u, 0), -1);
    cr_assert_eq(c->r[R_EAX], 0x40000001u, "highest hypervisor leaf");
    char sig[13];
    memcpy(sig, &c->r[R_EBX], 4);
    memcpy(sig + 4, &c->r[R_ECX], 4);
    memcpy(sig + 8, &c->r[R_EDX], 4);
    sig[12] = 0;
    cr_assert_eq(memcmp(sig, "KVMKVMKVM\0\0\0", 12), 0, "signature %s", sig);
    cr_assert_eq(cpuid(e, 0x40000001u, 0), -1);
    /* exactly NOP_IO_DELAY, CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT: none of
     * the features vsmp does not implement (async PF, steal time, PV EOI,
     * PV unhalt, PV TLB flush, PV IPIs, ...) */
    cr_assert_eq(c->r[R_EAX], (1u << 1) | (1u << 3) | (1u << 24));
    cr_assert_eq(c->r[R_EDX], 0, "no hints (KVM_HINTS_REALTIME would be a lie)");
    env_free(e);
}

Test(paravirt, cpuid_time_features)
{
    struct env *e = env_new(true);
    struct cpu *c = &e->cpu;
    cr_assert_eq(cpuid(e, 0, 0), -1);
    cr_assert_eq(c->r[R_EAX], 7, "highest basic leaf");
    cr_assert_eq(cpuid(e, 1, 0), -1);
    cr_assert_eq(c->r[R_ECX], (1u << 31) | (1u << 24), "hypervisor, TSC deadline, nothing else");
    cr_assert_eq(c->r[R_EBX] >> 24, 2, "initial APIC ID");
    cr_assert_eq(cpuid(e, 6, 0), -1);
    cr_assert_eq(c->r[R_EAX], 1u << 2, "ARAT: the APIC timer always runs");
    cr_assert_eq(cpuid(e, 7, 0), -1);
    cr_assert_eq(c->r[R_EAX], 0, "no subleaf beyond 0");
    cr_assert_eq(c->r[R_EBX], 1u << 1, "IA32_TSC_ADJUST only");
    cr_assert_eq(c->r[R_ECX] | c->r[R_EDX], 0);
    cr_assert_eq(cpuid(e, 7, 1), -1);
    cr_assert_eq(c->r[R_EAX] | c->r[R_EBX] | c->r[R_ECX] | c->r[R_EDX], 0);
    for (uint32_t l = 3; l <= 5; l++) {
        cr_assert_eq(cpuid(e, l, 0), -1);
        cr_assert_eq(c->r[R_EAX] | c->r[R_EBX] | c->r[R_ECX] | c->r[R_EDX], 0, "leaf %u", l);
    }
    cr_assert_eq(cpuid(e, 0x80000000u, 0), -1);
    cr_assert_eq(c->r[R_EAX], 0x80000007u);
    cr_assert_eq(cpuid(e, 0x80000007u, 0), -1);
    cr_assert_eq(c->r[R_EDX], 1u << 8, "invariant TSC");
    /* beyond every range: the highest basic leaf, as Intel CPUs answer */
    cr_assert_eq(cpuid(e, 0x40000002u, 0), -1);
    cr_assert_eq(c->r[R_EBX], 1u << 1);
    cr_assert_eq(cpuid(e, 0x80000008u, 0), -1);
    cr_assert_eq(c->r[R_EBX], 1u << 1);
    env_free(e);

    /* without a local APIC: no TSC deadline, no ARAT */
    e = env_new(false);
    cr_assert_eq(cpuid(e, 1, 0), -1);
    cr_assert_eq(e->cpu.r[R_ECX], 1u << 31);
    cr_assert_eq(cpuid(e, 6, 0), -1);
    cr_assert_eq(e->cpu.r[R_EAX], 0);
    env_free(e);
}

Test(paravirt, tsc_counts_the_clock_and_tsc_adjust)
{
    struct env *e = env_new(true);
    cr_assert_eq(rdtsc(e), 5000000000ull, "1 GHz: the clock's ns");
    e->clock += 12345;
    cr_assert_eq(rdtsc(e), 5000012345ull);
    uint64_t v;
    cr_assert_eq(rdmsr(e, MSR_TSC_ADJUST, &v), -1);
    cr_assert_eq(v, 0);
    cr_assert_eq(wrmsr(e, MSR_TSC, 7000000000ull), -1);
    cr_assert_eq(rdtsc(e), 7000000000ull);
    cr_assert_eq(rdmsr(e, MSR_TSC_ADJUST, &v), -1);
    cr_assert_eq(v, 7000000000ull - 5000012345ull, "a TSC write moves TSC_ADJUST");
    cr_assert_eq(wrmsr(e, MSR_TSC_ADJUST, 0), -1);
    cr_assert_eq(rdtsc(e), e->clock);
    env_free(e);
}

Test(paravirt, system_time_struct)
{
    struct env *e = env_new(true);
    phys_write(&e->phys, PVTI, 4, 5);    /* odd (as if mid-update): still ends even */
    cr_assert_eq(wrmsr(e, MSR_KVM_SYSTEM_TIME_NEW, PVTI | 1), -1);
    uint32_t ver = m32(e, PVTI);
    cr_assert_eq(ver % 2, 0, "version even after the write");
    cr_assert_eq(ver, 8, "odd 7 during the update, even 8 after");
    cr_assert_eq(m64(e, PVTI + 8), 5000000000ull, "tsc_timestamp: the TSC at the write");
    cr_assert_eq(m64(e, PVTI + 16), 5000000000ull, "system_time: the clock at the write");
    cr_assert_eq(phys_read(&e->phys, PVTI + 29, 1), PVCLOCK_TSC_STABLE_BIT);
    /* the guest's conversion gives the clock exactly, for small and large
     * deltas (a wrong mul or shift shows at once) */
    static const uint64_t d[] = { 0, 1, 999, 1000000007ull, 3600ull * 1000000000ull,
                                  86400ull * 365 * 1000000000ull };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        e->clock = 5000000000ull + d[i];
        cr_assert_eq(pvclock_ns(e, PVTI, rdtsc(e)), e->clock, "delta %llu",
                     (unsigned long long)d[i]);
    }
    /* Linux's pvclock_tsc_khz(): (10^6 << 32) / mul, then the shift */
    uint64_t khz = (1000000ull << 32) / m32(e, PVTI + 24);
    int8_t shift = (int8_t)phys_read(&e->phys, PVTI + 28, 1);
    khz = shift < 0 ? khz << -shift : khz >> shift;
    cr_assert_eq(khz, 1000000, "1 GHz TSC");
    uint64_t v;
    cr_assert_eq(rdmsr(e, MSR_KVM_SYSTEM_TIME_NEW, &v), -1);
    cr_assert_eq(v, PVTI | 1);

    /* A TSC_ADJUST write rewrites it: still the clock from the new TSC. */
    e->clock = 9000000000ull;
    cr_assert_eq(wrmsr(e, MSR_TSC_ADJUST, 123456), -1);
    cr_assert_eq(m32(e, PVTI), 10, "one more update");
    e->clock += 777;
    cr_assert_eq(rdtsc(e), e->clock + 123456);
    cr_assert_eq(pvclock_ns(e, PVTI, rdtsc(e)), e->clock);

    /* Disabled: the struct stays as it is. */
    cr_assert_eq(wrmsr(e, MSR_KVM_SYSTEM_TIME_NEW, PVTI), -1);
    cr_assert_eq(wrmsr(e, MSR_TSC_ADJUST, 0), -1);
    cr_assert_eq(m32(e, PVTI), 10);
    env_free(e);
}

Test(paravirt, wall_clock_struct)
{
    struct env *e = env_new(false);
    cr_assert_eq(wrmsr(e, MSR_KVM_WALL_CLOCK_NEW, WALL), -1);
    cr_assert_eq(m32(e, WALL), 2, "version even");
    /* the wall time at system_time 0: wall - clock */
    uint64_t boot = e->wall - e->clock;
    cr_assert_eq(m32(e, WALL + 4), (uint32_t)(boot / 1000000000u));
    cr_assert_eq(m32(e, WALL + 8), (uint32_t)(boot % 1000000000u));
    cr_assert_eq(m32(e, WALL + 12), 0, "12 bytes, nothing beyond");
    uint64_t v;
    cr_assert_eq(rdmsr(e, MSR_KVM_WALL_CLOCK_NEW, &v), -1);
    cr_assert_eq(v, WALL);
    env_free(e);
}

/* Structs outside RAM are not written, and nothing else is touched. */
Test(paravirt, struct_outside_ram)
{
    struct env *e = env_new(false);
    cr_assert_eq(wrmsr(e, MSR_KVM_SYSTEM_TIME_NEW, (1u << 20) - 16 + 1), -1);   /* runs off RAM */
    cr_assert_eq(wrmsr(e, MSR_KVM_SYSTEM_TIME_NEW, 0x100000000ull | PVTI | 1), -1);
    cr_assert_eq(wrmsr(e, MSR_KVM_WALL_CLOCK_NEW, 0xfffffffcull), -1);
    cr_assert_eq(m32(e, (1u << 20) - 16), 0);
    cr_assert_eq(m32(e, PVTI), 0);
    env_free(e);
}

/* ---- the DSM: a fault that loses a page restarts before any write ---- */

static void fake_fault(void *ctx, uint32_t page, bool write)
{
    struct env *e = ctx;
    e->state[page] = write ? 2 : 1;
    if (page == e->lose_when && !e->lost) {
        e->lost = true;
        e->state[e->lose_page] = 0;      /* taken by another rank meanwhile */
        cpu_raise_noerr(&e->cpu, EXC_RESTART);
    }
}

Test(paravirt, restart_leaves_no_half_written_struct)
{
    struct env *e = env_new(false);
    uint32_t a = 0x21ff0u;               /* 32 bytes across pages 0x21 and 0x22 */
    for (int i = 0; i < 256; i++)
        e->state[i] = 2;
    e->state[0x21] = e->state[0x22] = 0;
    e->phys.coh.state = e->state;
    e->phys.coh.fault = fake_fault;
    e->phys.coh.ctx = e;
    e->lose_when = 0x22;                 /* page 0x22's fault loses page 0x21 */
    e->lose_page = 0x21;
    cr_assert_eq(wrmsr(e, MSR_KVM_SYSTEM_TIME_NEW, a | 1), EXC_RESTART);
    e->phys.coh.state = NULL;
    for (uint32_t i = 0; i < 32; i += 4)
        cr_assert_eq(m32(e, a + i), 0, "byte %u written before the restart", i);
    cr_assert_eq(e->cpu.kvm_system_time, 0, "the MSR changed before the restart");
    /* run again: both pages come, and the struct is written whole */
    e->phys.coh.state = e->state;
    cr_assert_eq(wrmsr(e, MSR_KVM_SYSTEM_TIME_NEW, a | 1), -1);
    e->phys.coh.state = NULL;
    cr_assert_eq(m32(e, a), 2);
    cr_assert_eq(m64(e, a + 16), e->clock);
    cr_assert_eq(e->cpu.kvm_system_time, a | 1);
    env_free(e);
}

/* ---- the TSC-deadline APIC timer ---- */

static bool irr(struct env *e, uint8_t v)
{
    return (e->apic.irr[v >> 5] >> (v & 31)) & 1;
}

static void deadline_mode(struct env *e, uint8_t vector)
{
    apic_write(&e->apic, APIC_REG_SVR, APIC_SVR_ENABLE | 0xff);
    apic_write(&e->apic, APIC_REG_LVT_TIMER, APIC_LVT_TSC_DEADLINE | vector);
}

Test(paravirt, tsc_deadline_fires_at_the_deadline)
{
    struct env *e = env_new(true);
    deadline_mode(e, 0x40);
    uint64_t t0 = rdtsc(e);
    cr_assert_eq(wrmsr(e, MSR_TSC_DEADLINE, t0 + 1000), -1);
    uint64_t v;
    cr_assert_eq(rdmsr(e, MSR_TSC_DEADLINE, &v), -1);
    cr_assert_eq(v, t0 + 1000);
    cr_assert_eq(apic_next_event_ns(&e->apic), e->clock + 1000, "the run loop's wake-up");
    e->clock += 999;
    apic_poll(&e->apic);
    cr_assert(!irr(e, 0x40), "fired a nanosecond early");
    e->clock += 1;
    apic_poll(&e->apic);
    cr_assert(irr(e, 0x40), "not fired at the deadline");
    cr_assert_eq(rdmsr(e, MSR_TSC_DEADLINE, &v), -1);
    cr_assert_eq(v, 0, "fired: the MSR reads 0");
    cr_assert_eq(apic_next_event_ns(&e->apic), UINT64_MAX);
    /* the current count reads 0, the initial count is ignored */
    apic_write(&e->apic, APIC_REG_TIMER_INIT, 1000);
    cr_assert_eq(apic_read(&e->apic, APIC_REG_TIMER_CUR), 0);
    cr_assert_eq(apic_next_event_ns(&e->apic), UINT64_MAX);
    env_free(e);
}

Test(paravirt, tsc_deadline_zero_disarms_and_past_fires_at_once)
{
    struct env *e = env_new(true);
    deadline_mode(e, 0x41);
    uint64_t t0 = rdtsc(e);
    cr_assert_eq(wrmsr(e, MSR_TSC_DEADLINE, t0 + 50), -1);
    cr_assert_eq(wrmsr(e, MSR_TSC_DEADLINE, 0), -1);
    e->clock += 100;
    apic_poll(&e->apic);
    cr_assert(!irr(e, 0x41), "0 did not disarm");
    cr_assert_eq(wrmsr(e, MSR_TSC_DEADLINE, t0), -1);   /* already passed */
    cr_assert(irr(e, 0x41), "a passed deadline fires at once");
    env_free(e);
}

Test(paravirt, tsc_deadline_follows_the_tsc)
{
    struct env *e = env_new(true);
    deadline_mode(e, 0x42);
    cr_assert_eq(wrmsr(e, MSR_TSC_ADJUST, 1000000), -1);   /* TSC = clock + 1 ms */
    uint64_t t0 = rdtsc(e);
    cr_assert_eq(wrmsr(e, MSR_TSC_DEADLINE, t0 + 500), -1);
    cr_assert_eq(apic_next_event_ns(&e->apic), e->clock + 500);
    e->clock += 499;
    apic_poll(&e->apic);
    cr_assert(!irr(e, 0x42));
    e->clock += 1;
    apic_poll(&e->apic);
    cr_assert(irr(e, 0x42));
    env_free(e);
}

Test(paravirt, tsc_deadline_only_in_deadline_mode)
{
    struct env *e = env_new(true);
    apic_write(&e->apic, APIC_REG_SVR, APIC_SVR_ENABLE | 0xff);
    apic_write(&e->apic, APIC_REG_LVT_TIMER, 0x43);         /* one-shot */
    cr_assert_eq(wrmsr(e, MSR_TSC_DEADLINE, rdtsc(e) + 10), -1);
    uint64_t v;
    cr_assert_eq(rdmsr(e, MSR_TSC_DEADLINE, &v), -1);
    cr_assert_eq(v, 0, "ignored outside TSC-deadline mode");
    e->clock += 100;
    apic_poll(&e->apic);
    cr_assert(!irr(e, 0x43));
    /* a running one-shot count stops when the mode changes */
    apic_write(&e->apic, APIC_REG_TIMER_INIT, 1000);
    apic_write(&e->apic, APIC_REG_LVT_TIMER, APIC_LVT_TSC_DEADLINE | 0x43);
    e->clock += 1000000;
    apic_poll(&e->apic);
    cr_assert(!irr(e, 0x43), "the one-shot count survived the switch");
    /* an armed deadline is disarmed when the mode changes (and stays so
     * when it changes back) */
    cr_assert_eq(wrmsr(e, MSR_TSC_DEADLINE, rdtsc(e) + 10), -1);
    apic_write(&e->apic, APIC_REG_LVT_TIMER, 0x43);
    apic_write(&e->apic, APIC_REG_LVT_TIMER, APIC_LVT_TSC_DEADLINE | 0x43);
    cr_assert_eq(rdmsr(e, MSR_TSC_DEADLINE, &v), -1);
    cr_assert_eq(v, 0, "the deadline survived the switch");
    e->clock += 100;
    apic_poll(&e->apic);
    cr_assert(!irr(e, 0x43), "the deadline survived the switch");
    env_free(e);
    /* no APIC: the MSR does not exist */
    e = env_new(false);
    cr_assert_eq(wrmsr(e, MSR_TSC_DEADLINE, 1), EXC_GP);
    cr_assert_eq(rdmsr(e, MSR_TSC_DEADLINE, &v), EXC_GP);
    env_free(e);
}

/* Masked: no interrupt, but the deadline passes all the same. */
Test(paravirt, tsc_deadline_masked)
{
    struct env *e = env_new(true);
    apic_write(&e->apic, APIC_REG_SVR, APIC_SVR_ENABLE | 0xff);
    apic_write(&e->apic, APIC_REG_LVT_TIMER, APIC_LVT_TSC_DEADLINE | APIC_LVT_MASKED | 0x44);
    cr_assert_eq(wrmsr(e, MSR_TSC_DEADLINE, rdtsc(e) + 10), -1);
    cr_assert_eq(apic_next_event_ns(&e->apic), UINT64_MAX);
    e->clock += 10;
    apic_poll(&e->apic);
    cr_assert(!irr(e, 0x44));
    uint64_t v;
    cr_assert_eq(rdmsr(e, MSR_TSC_DEADLINE, &v), -1);
    cr_assert_eq(v, 0);
    env_free(e);
}
