/* mptable.h - the Intel MultiProcessor Specification 1.4 tables that tell
 * a guest (Linux's mpparse) how many CPUs there are and where the
 * interrupt controllers are.
 *
 * Layout, at MPTABLE_BASE in the BIOS area 0xF0000-0xFFFFF (one of the
 * three places the MP spec and Linux scan, and already reserved, type 2,
 * in the Multiboot memory map vsmp builds, which marks 0xA0000-0xFFFFF
 * reserved):
 *   MPTABLE_BASE        the 16-byte floating pointer structure "_MP_"
 *                       (spec 1.4, MP feature byte 1 = 0: a configuration
 *                       table follows; byte 2 = 0: virtual wire mode, no
 *                       IMCR);
 *   MPTABLE_BASE + 16   the configuration table "PCMP": processor entries
 *                       (APIC ID = rank, enabled, BSP flag on CPU 0,
 *                       signature family 6), one ISA bus, the IOAPIC,
 *                       I/O interrupt entries for ISA IRQs 0-15 except the
 *                       cascade IRQ2 (IRQ0 on pin 2, the 8259 ExtINT on
 *                       pin 0, others identity), and the local interrupt
 *                       entries (ExtINT on LINT0, NMI on LINT1, all CPUs).
 * The whole thing takes mptable_size(ncpus) bytes, at most MPTABLE_MAX
 * (255 CPUs); everything below MPTABLE_BASE + MPTABLE_MAX must stay out of
 * the guest's usable memory. */
#ifndef VSMP_MPTABLE_H
#define VSMP_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "mem/phys.h"

#define MPTABLE_BASE      0x000f0000u
#define MPTABLE_MAX_CPUS  255
#define MPTABLE_FLOAT_SIZE 16u
#define MPTABLE_HDR_SIZE  44u
#define MPTABLE_CPU_SIZE  20u
#define MPTABLE_ENTRY_SIZE 8u       /* bus, IOAPIC, I/O and local interrupt */
#define MPTABLE_ISA_IRQS  16        /* ISA IRQ entries: 15 INT + 1 ExtINT */
#define MPTABLE_LOCAL_INTS 2
/* Bytes for n CPUs: pointer, header, CPUs, bus, IOAPIC, interrupts. */
#define MPTABLE_SIZE(n) (MPTABLE_FLOAT_SIZE + MPTABLE_HDR_SIZE + (n) * MPTABLE_CPU_SIZE + \
                         (2u + MPTABLE_ISA_IRQS + MPTABLE_LOCAL_INTS) * MPTABLE_ENTRY_SIZE)
#define MPTABLE_MAX       MPTABLE_SIZE(MPTABLE_MAX_CPUS)

/* Entry types and fields (MP spec 1.4, chapter 4). */
enum { MP_ENT_CPU = 0, MP_ENT_BUS = 1, MP_ENT_IOAPIC = 2, MP_ENT_IOINT = 3, MP_ENT_LOCALINT = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_SMI = 2, MP_EXTINT = 3 };
#define MP_CPU_ENABLED 0x01u
#define MP_CPU_BSP     0x02u

struct mptable_config {
    int ncpus;                  /* APIC IDs 0..ncpus-1 */
    uint8_t apic_version;       /* local APIC version register (0x14) */
    uint32_t cpu_signature;     /* CPUID.1 EAX */
    uint32_t cpu_features;      /* CPUID.1 EDX */
    uint32_t lapic_addr;        /* 0xFEE00000 */
    uint8_t ioapic_id;
    uint8_t ioapic_version;     /* 0x11 */
    uint32_t ioapic_addr;       /* 0xFEC00000 */
    /* ISA IRQ n -> IOAPIC pin isa_pin[n] for the 15 IRQs other than the
     * cascade IRQ2 (platform.h; NULL: the PC's, IRQ0 on pin 2, the others
     * on their own pin); the 8259's ExtINT on extint_pin. */
    const uint8_t *isa_pin;
    uint8_t extint_pin;
};

size_t mptable_size(int ncpus);
/* Build the tables as they go at guest address `base` into buf (at least
 * mptable_size() bytes). Returns the size, or 0 for a bad ncpus. */
size_t mptable_build(const struct mptable_config *cfg, uint32_t base, uint8_t *buf, size_t len);
/* Build at MPTABLE_BASE and copy into guest RAM. 0, or -1 when ncpus is
 * out of range or the RAM does not reach MPTABLE_BASE + size. */
int mptable_write(struct phys *p, const struct mptable_config *cfg);

#endif
