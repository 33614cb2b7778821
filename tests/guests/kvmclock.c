/* kvmclock.c - test guest for the time an unmodified Linux is given
 * (issue 15 item 2): the KVM paravirtual clock and the TSC-deadline APIC
 * timer, on one CPU.
 *
 * QEMU TCG, the oracle, has neither kvmclock nor the TSC-deadline timer
 * (it ignores "-cpu qemu32,+tsc-deadline"). So the lines about them start
 * with "kvm: ", which run-guest.sh compares on vsmp only; where the guest
 * finds a feature missing it says so on one "kvm: " line and skips that
 * part (under vsmp that line differs from expected/kvmclock.out: a
 * failure). The lines without the prefix compare on both: the hypervisor
 * bit, and the guest's clock - kvmclock where there is one, else the TSC
 * - read twice around a busy loop and a thousand times in a row, never
 * going back.
 *
 * Part 1, kvmclock: the KVM CPUID leaves, the wall-clock struct, the
 * per-CPU time struct: version even, stable flag, the TSC frequency Linux
 * derives from mul/shift, the struct not rewritten behind the guest.
 *
 * Part 2, the TSC-deadline timer: CPUID.1:ECX[24], LVT timer mode 2, the
 * interrupt taken while halted, never before the deadline, the MSR read
 * as 0 after it fired, a write of 0 disarming, a deadline already passed
 * firing. Nothing printed depends on timing. */
#include "lib/guest.h"

#define LAPIC 0xfee00000u
enum { SVR = 0xf0, EOI = 0xb0, LVT_TIMER = 0x320 };
#define LVT_TSC_DEADLINE 0x40000u
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define VEC 0x50

static uint32_t lapic_r(uint32_t off) { return *(volatile uint32_t *)(LAPIC + off); }
static void lapic_w(uint32_t off, uint32_t v) { *(volatile uint32_t *)(LAPIC + off) = v; }

/* ---- part 1: kvmclock ---- */

struct pvclock_vcpu_time_info {
    uint32_t version, pad0;
    uint64_t tsc_timestamp, system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags, pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
    uint32_t version, sec, nsec;
} __attribute__((packed));

static volatile struct pvclock_vcpu_time_info pvti __attribute__((aligned(64)));
static volatile struct pvclock_wall_clock wall __attribute__((aligned(16)));

/* ns = system_time + (((tsc - tsc_timestamp) << shift) * mul >> 32), read
 * under the version protocol (msr.rst). */
static uint64_t pvclock_read(void)
{
    uint32_t v;
    uint64_t ns;
    do {
        v = pvti.version;
        __asm__ volatile("" ::: "memory");
        uint64_t delta = rdtsc() - pvti.tsc_timestamp;
        int8_t s = pvti.tsc_shift;
        delta = s >= 0 ? delta << s : delta >> -s;
        uint32_t mul = pvti.tsc_to_system_mul;
        /* 64 x 32 -> top 64 bits of the 96-bit product */
        uint64_t lo = (uint64_t)(uint32_t)delta * mul;
        uint64_t hi = (delta >> 32) * mul;
        ns = pvti.system_time + hi + (lo >> 32);
        __asm__ volatile("" ::: "memory");
    } while ((v & 1) || v != pvti.version);
    return ns;
}

static const char *yn(int b) { return b ? "yes" : "no"; }

static int have_kvmclock;

/* The guest's clock: kvmclock, or the TSC without it. */
static uint64_t clock_read(void)
{
    return have_kvmclock ? pvclock_read() : rdtsc();
}

static void clock_checks(void)
{
    uint64_t t1 = clock_read();
    for (volatile uint32_t i = 0; i < 200000; i++)
        ;
    uint64_t t2 = clock_read();
    printf("clock: later after a busy loop: %s\n", yn(t2 > t1));
    int back = 0;
    uint64_t prev = clock_read();
    for (int i = 0; i < 1000; i++) {
        uint64_t t = clock_read();
        back += t < prev;
        prev = t;
    }
    printf("clock: 1000 reads in a row, going back: %d\n", back);
}

static void kvmclock_part(void)
{
    uint32_t r[4];
    cpuid(1, r);
    printf("CPUID.1:ECX[31] hypervisor present: %s\n", yn(r[2] >> 31 & 1));
    cpuid(0x40000000u, r);
    char sig[13];
    memcpy(sig, &r[1], 4);
    memcpy(sig + 4, &r[2], 4);
    memcpy(sig + 8, &r[3], 4);
    sig[12] = 0;
    if (memcmp(sig, "KVMKVMKVM\0\0\0", 12) != 0 || r[0] < 0x40000001u) {
        printf("kvm: no KVM signature at 0x40000000 (QEMU TCG): kvmclock part skipped\n");
        clock_checks();                      /* on the TSC */
        return;
    }
    printf("kvm: signature KVMKVMKVM, highest leaf %08x\n", r[0]);
    cpuid(0x40000001u, r);
    uint32_t known = (1u << 1) | (1u << 3) | (1u << 24);
    printf("kvm: features: clocksource2 %u, stable bit %u, nop io delay %u, others %08x, hints %08x\n",
           r[0] >> 3 & 1, r[0] >> 24 & 1, r[0] >> 1 & 1, r[0] & ~known, r[3]);

    wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uint32_t)&wall);
    /* 2020-01-01 .. 2106 (sec is a u32) */
    printf("kvm: wall clock: version even %s, after 2020 %s, nsec < 10^9 %s\n",
           yn(wall.version && !(wall.version & 1)), yn(wall.sec > 1577836800u),
           yn(wall.nsec < 1000000000u));

    CHECK(2, pvti.version == 0);
    wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint32_t)&pvti | 1);
    uint32_t ver = pvti.version;
    /* Linux's pvclock_tsc_khz() */
    uint64_t khz = ((uint64_t)1000000 << 32) / pvti.tsc_to_system_mul;
    khz = pvti.tsc_shift < 0 ? khz << -pvti.tsc_shift : khz >> pvti.tsc_shift;
    printf("kvm: system time: version even %s, stable flag %u, TSC %u kHz\n",
           yn(ver && !(ver & 1)), pvti.flags & 1, (uint32_t)khz);
    printf("kvm: MSR reads back the address: %s\n",
           yn(rdmsr(MSR_KVM_SYSTEM_TIME_NEW) == ((uint32_t)&pvti | 1)));
    have_kvmclock = 1;
    clock_checks();
    /* the struct is not rewritten behind the guest's back while the TSC
     * is left alone: TSC and system time are one clock */
    printf("kvm: struct unchanged since the write: %s\n", yn(pvti.version == ver));
    wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);     /* disable, as Linux at shutdown */
    have_kvmclock = 0;
}

/* ---- part 2: the TSC-deadline timer ---- */

static volatile uint32_t fired;
static volatile uint64_t fired_tsc;

static void on_timer(struct frame *f)
{
    (void)f;
    fired_tsc = rdtsc();
    fired++;
    lapic_w(EOI, 0);
}

/* Let pending interrupts in (a jump ends vsmp's block, see apic.c). */
static void irq_window(void)
{
    __asm__ volatile("sti; nop; jmp 1f; 1: nop; cli" ::: "memory");
}

static void deadline_part(void)
{
    uint32_t r[4];
    cpuid(1, r);
    if (!(r[2] >> 24 & 1)) {
        printf("kvm: no TSC-deadline timer (QEMU TCG): part skipped\n");
        return;
    }
    printf("kvm: tsc-deadline: CPUID.1:ECX[24] 1\n");
    pic_remap(0x20, 0x28);                   /* 8259 masked */
    idt_set(VEC, on_timer, 0, 0);
    lapic_w(SVR, 0x1ff);
    lapic_w(LVT_TIMER, LVT_TSC_DEADLINE | VEC);
    printf("kvm: tsc-deadline: LVT timer mode bits 18:17 = %u\n", lapic_r(LVT_TIMER) >> 17 & 3);

    /* armed, then taken while halted */
    uint64_t deadline = rdtsc() + 2000000;
    wrmsr(MSR_TSC_DEADLINE, deadline);
    printf("kvm: tsc-deadline: armed, MSR reads the deadline: %s\n",
           yn(rdmsr(MSR_TSC_DEADLINE) == deadline));
    while (!fired) {
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
    printf("kvm: tsc-deadline: interrupts %u, not before the deadline: %s, MSR reads 0 after: %s\n",
           fired, yn(fired_tsc >= deadline), yn(rdmsr(MSR_TSC_DEADLINE) == 0));

    /* 0 disarms: no interrupt while the TSC passes the old deadline */
    deadline = rdtsc() + 1000000;
    wrmsr(MSR_TSC_DEADLINE, deadline);
    wrmsr(MSR_TSC_DEADLINE, 0);
    while (rdtsc() < deadline + 1000000)
        irq_window();
    printf("kvm: tsc-deadline: a write of 0 disarms: %s\n", yn(fired == 1));

    /* a deadline already passed fires (vsmp: at once, see the unit
     * tests; the bound is only a hang guard, in TSC ticks) */
    uint64_t t0 = rdtsc();
    wrmsr(MSR_TSC_DEADLINE, t0 - 1);
    while (fired == 1 && rdtsc() - t0 < 4000000000ull)
        irq_window();
    printf("kvm: tsc-deadline: a deadline already passed fires: %s\n", yn(fired == 2));
    lapic_w(LVT_TIMER, 0x10000u | VEC);      /* masked, one-shot */
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    printf("kvmclock guest\n");
    kvmclock_part();
    deadline_part();
    printf("done\n");
    guest_exit(0);
}
