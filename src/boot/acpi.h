/* acpi.h - the ACPI tables that describe vsmp's machine to an operating
 * system (Linux's ACPI code above all): RSDP, RSDT, XSDT, FADT, FACS,
 * MADT and a DSDT in AML (boot/aml.h), built from a small explicit
 * description of the machine (struct acpi_config).
 *
 * Layout at ACPI_BASE = 0xE0000, in the BIOS area that Linux (and the ACPI
 * spec, 5.2.5.1) scans for the RSDP on 16-byte boundaries, below the MP
 * table at 0xF0000 (io/mptable.h) and inside the region vsmp's memory
 * maps mark reserved (0xA0000-0xFFFFF). Each table starts on a 16-byte
 * boundary (the FACS on a 64-byte one), in this order:
 *   0xE0000  RSDP, ACPI 2.0 (revision 2, 36 bytes): RSDT and XSDT
 *   0xE0040  FACS (64 bytes; no firmware waking vector, no global lock
 *            owner: the fields are zero)
 *   0xE0080  RSDT (FADT, MADT)
 *   0xE00B0  XSDT (FADT, MADT)
 *   0xE00F0  FADT (revision 6, 276 bytes; not hardware-reduced, see below)
 *   0xE0210  MADT (44 + 8 per CPU + 12 + 2 * 10 + 6 bytes)
 *   then     DSDT (\_S0, \_S5, \_SB.VRnn per virtio-mmio window)
 * acpi_size() gives the whole size; it is below ACPI_MAX_SIZE (64 KiB)
 * for any allowed configuration.
 *
 * Power-off, reboot: the FADT is a classic one (HW_REDUCED_ACPI clear):
 * on x86 Linux a hardware-reduced FADT also drops the PIT timer set-up
 * and the legacy PIC (arch/x86/kernel/acpi/boot.c,
 * acpi_generic_reduced_hw_init), which would leave ISA IRQ 4 (ttyS0)
 * without an IOAPIC mapping and the APIC timer without a calibration
 * source. The power-management registers are I/O ports served by
 * io/acpi_pm.c on rank 0: PM1a event block (status + enable, 4 bytes),
 * PM1a control block (2 bytes; writing SLP_TYP = \_S5's value with
 * SLP_EN powers off), no SMI command port (the machine is always in ACPI
 * mode: SCI_EN reads 1), the SCI on ISA IRQ 9 (level, active high, an
 * Interrupt Source Override says so; no event ever raises it), and the
 * FADT reset register (RESET_REG_SUP set), which Linux's default reboot
 * order (reboot_type = BOOT_ACPI) writes first. IAPC_BOOT_ARCH says: ISA
 * legacy devices present, no 8042 keyboard controller (Linux then skips
 * i8042 probing), no VGA; the CMOS century register is 0x32.
 *
 * MADT: one enabled Processor Local APIC per CPU (ACPI processor UID =
 * APIC ID = CPU number), the IOAPIC, Interrupt Source Overrides ISA IRQ0
 * -> GSI 2 (edge, high, as the MP table's IRQ0 on pin 2) and SCI IRQ ->
 * same GSI (level, high), and a Local APIC NMI on LINT1 for all
 * processors; PCAT_COMPAT (dual 8259s present).
 *
 * DSDT: Name(\_S0, Package{0, 0, 0, 0}), Name(\_S5, Package{ACPI_SLP_TYP_S5,
 * ACPI_SLP_TYP_S5, 0, 0}) and, in \_SB, one Device(VRnn) per virtio-mmio
 * window (nn = its index in hex) with _HID "LNRO0005" (what Linux's
 * virtio_mmio driver matches), _UID nn and _CRS = Memory32Fixed(base,
 * size) + Interrupt(consumer, level or edge, active high, exclusive,
 * gsi). */
#ifndef VSMP_ACPI_H
#define VSMP_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/phys.h"

#define ACPI_BASE        0x000e0000u   /* the RSDP; tables follow */
#define ACPI_RSDP_ADDR   ACPI_BASE     /* boot_params.acpi_rsdp_addr */
#define ACPI_MAX_SIZE    0x00010000u   /* up to 0xF0000 (the MP table) */
#define ACPI_MAX_CPUS    255
#define ACPI_MAX_VIRTIO  16

/* Table sizes and offsets from ACPI_BASE (for tests and the layout above). */
#define ACPI_RSDP_SIZE   36u
#define ACPI_HDR_SIZE    36u
#define ACPI_FACS_SIZE   64u
#define ACPI_FADT_SIZE   276u
#define ACPI_FACS_OFF    0x40u
#define ACPI_RSDT_OFF    0x80u
#define ACPI_XSDT_OFF    0xb0u
#define ACPI_FADT_OFF    0xf0u
#define ACPI_MADT_OFF    0x210u
#define ACPI_MADT_SIZE(n) (ACPI_HDR_SIZE + 8u + 8u * (unsigned)(n) + 12u + 2u * 10u + 6u)

/* The sleep type value of \_S5 (PM1 control SLP_TYP, bits 10-12). */
#define ACPI_SLP_TYP_S5  5u

struct acpi_virtio_mmio {
    uint32_t base, size;        /* the register window */
    uint32_t gsi;               /* its IOAPIC input */
    bool edge;                  /* edge-triggered (default: level) */
};

struct acpi_config {
    int ncpus;                  /* 1..ACPI_MAX_CPUS: APIC IDs 0..ncpus-1 */
    uint32_t lapic_addr;        /* 0xFEE00000 */
    uint8_t ioapic_id;
    uint32_t ioapic_addr;       /* 0xFEC00000 */
    uint32_t ioapic_gsi_base;   /* 0 */
    uint8_t irq0_gsi;           /* ISA IRQ0 (PIT) -> this GSI: 2 */
    uint8_t sci_irq;            /* ISA IRQ of the SCI: 9 */
    uint32_t ram_size;          /* guest RAM: the tables must fit below it */
    /* the power-management I/O ports (io/acpi_pm.h) */
    uint16_t pm1a_evt;          /* 4 bytes: status, enable */
    uint16_t pm1a_cnt;          /* 2 bytes */
    uint16_t pm_tmr;            /* 4 bytes, 24-bit counter; 0: no PM timer */
    uint16_t reset_port;        /* 1 byte */
    uint8_t reset_value;
    int nvirtio;                /* 0..ACPI_MAX_VIRTIO */
    const struct acpi_virtio_mmio *virtio;
};

/* The bytes the tables take (from ACPI_BASE), or 0 for a configuration
 * out of range (ncpus, nvirtio, a virtio window without a size). */
size_t acpi_size(const struct acpi_config *cfg);
/* Build the tables as they go at guest address `base` (16-byte aligned)
 * into buf (len >= acpi_size()). Returns the size, or 0 for a bad
 * configuration or a short buffer. The RSDP is at `base`. */
size_t acpi_build(const struct acpi_config *cfg, uint32_t base, uint8_t *buf, size_t len);
/* Build at ACPI_BASE and copy into guest RAM. 0, or -1 when the
 * configuration is out of range or the RAM does not reach the end of
 * the tables. The RSDP's address is ACPI_RSDP_ADDR. */
int acpi_write(struct phys *p, const struct acpi_config *cfg);
/* The 8-bit checksum byte that makes `n` bytes sum to 0 (with it at 0). */
uint8_t acpi_checksum(const uint8_t *p, size_t n);

#endif
