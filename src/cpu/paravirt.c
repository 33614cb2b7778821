/* paravirt.c - the KVM paravirtual interface (see paravirt.h): the
 * hypervisor CPUID leaves and kvmclock's two MSRs, which write the
 * wall-clock and per-CPU time structs into guest RAM. */
#include "cpu/paravirt.h"

#include "cpu/mmu.h"
#include "cpu/system.h"

bool paravirt_cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    switch (leaf) {
    case KVM_CPUID_SIGNATURE:
        *a = KVM_CPUID_FEATURES;                 /* highest hypervisor leaf */
        *b = 0x4b4d564bu;                        /* "KVMK" */
        *c = 0x564b4d56u;                        /* "VMKV" */
        *d = 0x0000004du;                        /* "M\0\0\0" */
        return true;
    case KVM_CPUID_FEATURES:
        *a = KVM_FEATURES;
        *b = *c = *d = 0;                        /* EDX: no hints */
        return true;
    default:
        return false;
    }
}

/* Is [gpa, gpa + len) wholly guest RAM (no MMIO window, no ROM)? */
static bool in_ram(const struct cpu *cpu, uint64_t gpa, uint32_t len)
{
    const struct phys *p = cpu->phys;
    if (gpa >= p->ram_size || p->ram_size - gpa < len)
        return false;
    for (uint64_t pg = gpa >> 12; pg <= (gpa + len - 1) >> 12; pg++)
        if (p->page_flags[pg] & (PG_MMIO | PG_ROM))
            return false;
    return true;
}

/* Make every page of the struct writable (faults may unwind with
 * EXC_RESTART here, before anything is written). */
static void claim(struct cpu *cpu, uint32_t gpa, uint32_t len)
{
    phys_coh_ensure(cpu->phys, gpa, true);
    phys_coh_ensure(cpu->phys, gpa + len - 1, true);
}

static uint32_t get32(struct cpu *cpu, uint32_t gpa)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (phys_read(cpu->phys, gpa + (uint32_t)i, 1) & 0xffu) << (8 * i);
    return v;
}

static void put(struct cpu *cpu, uint32_t gpa, const uint8_t *bytes, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        cpu_phys_write(cpu, gpa + i, 1, bytes[i]);
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}

/* Write `body` (the struct from byte 4 on) under the version protocol:
 * version made odd, the body, version even. The pages are claimed. */
static void put_versioned(struct cpu *cpu, uint32_t gpa, const uint8_t *body, uint32_t len)
{
    uint32_t ver = (get32(cpu, gpa) + 1) | 1;   /* odd: being written */
    uint8_t v[4];
    le32(v, ver);
    put(cpu, gpa, v, 4);
    put(cpu, gpa + 4, body, len - 4);
    le32(v, ver + 1);                           /* even: consistent */
    put(cpu, gpa, v, 4);
}

/* The per-CPU time struct for TSC offset `tsc_offset`, if enabled. */
static void write_system_time(struct cpu *cpu, uint64_t msr, uint64_t tsc_offset)
{
    uint64_t gpa = msr & ~1ull;
    if (!(msr & 1) || !in_ram(cpu, gpa, PVCLOCK_VCPU_SIZE))
        return;
    claim(cpu, (uint32_t)gpa, PVCLOCK_VCPU_SIZE);
    uint64_t now = cpu_clock_ns(cpu);
    uint8_t body[PVCLOCK_VCPU_SIZE - 4] = { 0 };   /* from pad0 on */
    le64(body + 4, now + tsc_offset);              /* tsc_timestamp */
    le64(body + 12, now);                          /* system_time */
    le32(body + 20, PVCLOCK_MUL);                  /* tsc_to_system_mul */
    body[24] = (uint8_t)PVCLOCK_SHIFT;             /* tsc_shift */
    body[25] = PVCLOCK_TSC_STABLE_BIT;             /* flags */
    put_versioned(cpu, (uint32_t)gpa, body, PVCLOCK_VCPU_SIZE);
}

/* The wall-clock struct: the wall time at which system_time was 0. */
static void write_wall_clock(struct cpu *cpu, uint64_t gpa)
{
    if (!in_ram(cpu, gpa, PVCLOCK_WALL_SIZE))
        return;
    claim(cpu, (uint32_t)gpa, PVCLOCK_WALL_SIZE);
    uint64_t now = cpu_clock_ns(cpu), wall = cpu_wall_ns(cpu);
    uint64_t boot = wall > now ? wall - now : 0;
    uint8_t body[PVCLOCK_WALL_SIZE - 4];
    le32(body, (uint32_t)(boot / 1000000000u));   /* sec (u32, as the ABI has it) */
    le32(body + 4, (uint32_t)(boot % 1000000000u));
    put_versioned(cpu, (uint32_t)gpa, body, PVCLOCK_WALL_SIZE);
}

bool paravirt_rdmsr(struct cpu *cpu, uint32_t msr, uint64_t *v)
{
    switch (msr) {
    case MSR_KVM_WALL_CLOCK_NEW: *v = cpu->kvm_wall_clock; return true;
    case MSR_KVM_SYSTEM_TIME_NEW: *v = cpu->kvm_system_time; return true;
    default: return false;
    }
}

bool paravirt_wrmsr(struct cpu *cpu, uint32_t msr, uint64_t v)
{
    switch (msr) {
    case MSR_KVM_WALL_CLOCK_NEW:
        write_wall_clock(cpu, v);
        cpu->kvm_wall_clock = v;
        return true;
    case MSR_KVM_SYSTEM_TIME_NEW:
        write_system_time(cpu, v, cpu->tsc_offset);
        cpu->kvm_system_time = v;
        return true;
    default:
        return false;
    }
}

void cpu_kvmclock_tsc_changed(struct cpu *cpu, uint64_t new_offset)
{
    write_system_time(cpu, cpu->kvm_system_time, new_offset);
}
