/* paravirt.h - the KVM paravirtual interface vsmp offers a guest, so that
 * an unmodified Linux (CONFIG_KVM_GUEST, CONFIG_PARAVIRT_CLOCK) is told
 * its clock frequencies instead of measuring them (Linux
 * Documentation/virt/kvm/x86/cpuid.rst and msr.rst describe the ABI).
 *
 * CPUID: leaf 1 ECX bit 31 says "running under a hypervisor"; leaf
 * 0x40000000 gives the highest hypervisor leaf (0x40000001) and the
 * signature "KVMKVMKVM\0\0\0" in EBX, ECX, EDX; leaf 0x40000001 EAX lists
 * the features below, EDX (hints) is 0. Only what vsmp implements is
 * offered:
 *   - CLOCKSOURCE2 (bit 3): the two kvmclock MSRs at 0x4b564d00/01;
 *   - NOP_IO_DELAY (bit 1): port I/O needs no delay (port 0x80 writes);
 *   - CLOCKSOURCE_STABLE_BIT (bit 24): PVCLOCK_TSC_STABLE_BIT may be set,
 *     since every rank's TSC counts the one virtual clock (src/vclock.h).
 * Not offered (each needs its own MSR or hypercall): ASYNC_PF, STEAL_TIME,
 * PV_EOI, PV_UNHALT, PV_TLB_FLUSH, PV_SEND_IPI, POLL_CONTROL, ...
 *
 * MSR_KVM_WALL_CLOCK_NEW (reads give the last value written): the 12-byte struct
 * pvclock_wall_clock { u32 version, sec, nsec } at the written guest
 * physical address gets the wall-clock time at which the system time
 * below was 0 (version odd while the hypervisor writes, even after).
 *
 * MSR_KVM_SYSTEM_TIME_NEW: guest physical address | enable (bit 0). When
 * enabled, the 32-byte struct pvclock_vcpu_time_info at that address
 *     +0  u32 version        even when consistent
 *     +4  u32 pad
 *     +8  u64 tsc_timestamp  this CPU's TSC at the update
 *     +16 u64 system_time    the virtual clock (ns) at the update
 *     +24 u32 tsc_to_system_mul, +28 s8 tsc_shift: ns = system_time +
 *         ((((tsc - tsc_timestamp) << shift) * mul) >> 32)
 *     +29 u8 flags           PVCLOCK_TSC_STABLE_BIT (bit 0)
 * is filled in. The TSC runs at VCLOCK_TSC_HZ = 1 GHz, so mul = 2^31 and
 * shift = 1 convert exactly, and since TSC and system time are both
 * linear in the one clock the struct never needs refreshing while the
 * guest leaves the TSC alone: only a write of IA32_TSC or
 * IA32_TSC_ADJUST rewrites it (cpu_kvmclock_tsc_changed()).
 *
 * Guest memory writes: the structs are written through the CPU's
 * physical write path (a write to a code page drops its decoded code; a
 * DSM page is faulted in writable like a CPU store). Every page of the
 * struct is made writable first, so a fault that restarts the instruction
 * (EXC_RESTART: a page was lost while waiting) comes before the first
 * byte is written and before the MSR changes; after that nothing can
 * fail, and the struct is written whole. A struct not wholly in RAM
 * (beyond RAM, MMIO, ROM) is not written, as KVM writes only guest RAM. */
#ifndef VSMP_PARAVIRT_H
#define VSMP_PARAVIRT_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

#define KVM_CPUID_SIGNATURE 0x40000000u
#define KVM_CPUID_FEATURES  0x40000001u
#define KVM_FEATURE_NOP_IO_DELAY           (1u << 1)
#define KVM_FEATURE_CLOCKSOURCE2           (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT (1u << 24)
#define KVM_FEATURES (KVM_FEATURE_NOP_IO_DELAY | KVM_FEATURE_CLOCKSOURCE2 | \
                      KVM_FEATURE_CLOCKSOURCE_STABLE_BIT)

#define PVCLOCK_TSC_STABLE_BIT 0x01u
#define PVCLOCK_VCPU_SIZE 32u
#define PVCLOCK_WALL_SIZE 12u
/* 1 GHz TSC: ns = ((delta << 1) * 2^31) >> 32 */
#define PVCLOCK_MUL   0x80000000u
#define PVCLOCK_SHIFT 1

/* CPUID leaves 0x40000000-0x400000ff: true with a, b, c, d filled in for
 * the two KVM leaves; false for the rest of the range (the caller then
 * answers as for any leaf out of range). */
bool paravirt_cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d);

/* RDMSR/WRMSR of the kvmclock MSRs: true when `msr` is one of them (for
 * RDMSR *v is set). WRMSR may unwind (EXC_RESTART) before it changes
 * anything; a reserved bit raises #GP. */
bool paravirt_rdmsr(struct cpu *cpu, uint32_t msr, uint64_t *v);
bool paravirt_wrmsr(struct cpu *cpu, uint32_t msr, uint64_t v);

/* The TSC offset is about to become `new_offset` (WRMSR IA32_TSC or
 * IA32_TSC_ADJUST): rewrite the enabled kvmclock struct for it. May
 * unwind (EXC_RESTART) before writing; the caller commits after. */
void cpu_kvmclock_tsc_changed(struct cpu *cpu, uint64_t new_offset);

#endif
