/* platform.h - one description of the virtual PC that every rank runs:
 * the CPUs, the RAM and its memory map, the interrupt controllers and how
 * ISA interrupt lines reach them, and the device windows (port and MMIO
 * ranges) with the rank that performs each access.
 *
 * Everything that tells the guest what the machine looks like is derived
 * from it, so that the tables cannot disagree with each other or with the
 * devices the board wires: the MP table (platform_mptable()), the e820
 * memory map of the Multiboot information and of the Linux boot_params
 * (platform_e820()), later the ACPI tables; and the board (src/board.c)
 * routes ISA IRQs to IOAPIC pins and decides which accesses a rank
 * forwards to rank 0 from the same struct (platform_window_at()).
 *
 * A device window is "local" when every rank has its own instance (the
 * local APIC) and "rank 0" when the one instance lives on rank 0: another
 * rank forwards each access (MSG_IO / MSG_MMIO with the absolute port or
 * address) and rank 0 serves it through its ordinary dispatch (iobus for
 * ports, phys MMIO for MMIO). A port in no window is forwarded to rank 0
 * as well, whose iobus answers it as an unassigned port (all-ones). */
#ifndef VSMP_PLATFORM_H
#define VSMP_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/acpi.h"

struct mptable_config;

#define PLATFORM_ISA_IRQS     16
#define PLATFORM_NO_PIN       0xffu     /* isa_pin[]: not wired (the cascade) */
#define PLATFORM_MAX_WINDOWS  24
#define PLATFORM_LOW_MEM_END  0x000a0000u   /* conventional memory ends here */
#define PLATFORM_HIGH_MEM     0x00100000u   /* extended memory starts here */
#define PLATFORM_MAX_DISKS    4             /* virtio-mmio block devices */

enum platform_space { PW_PORT, PW_MMIO };
enum platform_where {
    PW_LOCAL,                   /* each rank performs it on its own device */
    PW_RANK0,                   /* ranks != 0 forward it to rank 0 */
};

struct platform_window {
    const char *name;           /* "IOAPIC", "COM1", ... (messages) */
    uint8_t space;              /* enum platform_space */
    uint8_t where;              /* enum platform_where */
    uint32_t base, size;        /* port or physical address, bytes */
};

/* e820 / Multiboot memory map entry types. */
enum { E820_RAM = 1, E820_RESERVED = 2 };

struct e820_entry {
    uint64_t base, len;
    uint32_t type;
};

struct platform {
    int ncpus;                  /* APIC IDs 0..ncpus-1, CPU r on rank r */
    uint32_t ram_bytes;         /* guest RAM from physical 0 */
    uint32_t lapic_base;        /* every CPU's local APIC window */
    uint8_t lapic_version;
    uint8_t ioapic_id;          /* after the CPUs' IDs where it fits 4 bits */
    uint8_t ioapic_version;
    uint32_t ioapic_base;
    /* ISA IRQ n -> IOAPIC pin isa_pin[n] (PLATFORM_NO_PIN: none); the
     * 8259 pair's INTR (ExtINT) -> pin extint_pin and every LINT0. */
    uint8_t isa_pin[PLATFORM_ISA_IRQS];
    uint8_t extint_pin;
    struct platform_window window[PLATFORM_MAX_WINDOWS];
    int nwindows;
    /* virtio-mmio device i (the config's disk line i): its window (also
     * in window[], rank 0's) and its IOAPIC pin, level-triggered, active
     * high; the ACPI DSDT's \_SB.VRnn entries come from here. */
    struct acpi_virtio_mmio virtio[PLATFORM_MAX_DISKS];
    int nvirtio;
};

/* The PC vsmp emulates, for ncpus CPUs, ram_bytes of RAM and ndisks
 * virtio-mmio block devices (0..PLATFORM_MAX_DISKS). */
void platform_describe(struct platform *p, int ncpus, uint32_t ram_bytes, int ndisks);

/* The MP table's view (mptable.h); the caller adds the CPU's CPUID
 * signature and features. */
struct mptable_config platform_mptable(const struct platform *p);

/* The ACPI tables' view (acpi.h): the same CPUs, interrupt controllers
 * and routing, and the ACPI PM registers' ports (io/acpi_pm.h). */
struct acpi_config platform_acpi(const struct platform *p);

/* The memory map, in address order: usable RAM below 640 KiB, the
 * reserved hole 0xA0000-0xFFFFF, usable RAM from 1 MiB to the end of RAM
 * (when there is any). Returns the number of entries written (at most
 * max), or -1 when max is too small. */
int platform_e820(const struct platform *p, struct e820_entry *out, int max);

/* The window that holds the whole access [addr, addr + size) in `space`,
 * or NULL (also for an access that straddles a window's edge). */
const struct platform_window *platform_window_at(const struct platform *p,
                                                 enum platform_space space,
                                                 uint32_t addr, uint32_t size);

/* Does a rank != 0 forward this access to rank 0? Ports: unless a local
 * window holds them. MMIO: only when a rank-0 window holds it (everything
 * else is RAM, ROM, a local window or unassigned, handled by the rank). */
bool platform_forwarded(const struct platform *p, enum platform_space space,
                        uint32_t addr, uint32_t size);

#endif
