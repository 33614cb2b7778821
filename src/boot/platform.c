/* platform.c - the description of vsmp's PC (platform.h) and what is
 * derived from it: the MP table configuration, the e820 memory map and
 * the device-window lookup that decides what a rank forwards to rank 0. */
#include "boot/platform.h"

#include <string.h>

#include "boot/acpi.h"
#include "boot/mptable.h"
#include "cpu/apic.h"
#include "io/acpi_pm.h"
#include "io/debugexit.h"
#include "io/ioapic.h"
#include "io/virtio_mmio.h"
#include "snap/checkpoint.h"

static void add_window(struct platform *p, const char *name, enum platform_space space,
                       enum platform_where where, uint32_t base, uint32_t size)
{
    if (p->nwindows < PLATFORM_MAX_WINDOWS)
        p->window[p->nwindows++] = (struct platform_window){
            .name = name, .space = (uint8_t)space, .where = (uint8_t)where,
            .base = base, .size = size,
        };
}

void platform_describe(struct platform *p, int ncpus, uint32_t ram_bytes, int ndisks)
{
    memset(p, 0, sizeof *p);
    p->ncpus = ncpus;
    p->ram_bytes = ram_bytes;
    p->lapic_base = APIC_DEFAULT_BASE;
    p->lapic_version = APIC_VERSION;
    /* The first ID after the CPUs' where it fits the MP table's 4 bits,
     * else 0 (xAPIC: IOAPIC and local APIC IDs are separate spaces). */
    p->ioapic_id = ncpus < 15 ? (uint8_t)ncpus : 0;
    p->ioapic_version = IOAPIC_VERSION;
    p->ioapic_base = IOAPIC_DEFAULT_BASE;
    /* ISA IRQ0 (the PIT) on pin 2, as on PCs whose 8259 INTR takes pin
     * 0; IRQ2 is the 8259 cascade and reaches no pin; the others on
     * their own pin. */
    for (int irq = 0; irq < PLATFORM_ISA_IRQS; irq++)
        p->isa_pin[irq] = irq == 0 ? 2 : irq == 2 ? PLATFORM_NO_PIN : (uint8_t)irq;
    p->extint_pin = 0;

    /* The device windows: one line per device the board wires. */
    add_window(p, "local APIC", PW_MMIO, PW_LOCAL, APIC_DEFAULT_BASE, APIC_MMIO_SIZE);
    add_window(p, "IOAPIC", PW_MMIO, PW_RANK0, IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE);
    add_window(p, "8259 master", PW_PORT, PW_RANK0, 0x20, 2);
    add_window(p, "8259 slave", PW_PORT, PW_RANK0, 0xa0, 2);
    add_window(p, "8259 ELCR", PW_PORT, PW_RANK0, 0x4d0, 2);
    add_window(p, "8254 PIT", PW_PORT, PW_RANK0, 0x40, 4);
    add_window(p, "port B", PW_PORT, PW_RANK0, 0x61, 1);
    add_window(p, "CMOS/RTC", PW_PORT, PW_RANK0, 0x70, 2);
    add_window(p, "COM1", PW_PORT, PW_RANK0, 0x3f8, 8);
    add_window(p, "debug-exit", PW_PORT, PW_RANK0, DEBUGEXIT_PORT, 1);
    add_window(p, "ACPI PM1a event+control", PW_PORT, PW_RANK0, ACPI_PM1A_EVT, 6);
    add_window(p, "ACPI reset", PW_PORT, PW_RANK0, ACPI_RESET_PORT, 1);
    add_window(p, "vsmp control", PW_PORT, PW_RANK0, CKPT_PORT, 1);
    static const char *const names[PLATFORM_MAX_DISKS] = {
        "virtio-mmio disk 0", "virtio-mmio disk 1", "virtio-mmio disk 2", "virtio-mmio disk 3",
    };
    for (int i = 0; i < ndisks && i < PLATFORM_MAX_DISKS; i++) {
        uint32_t base = VIRTIO_MMIO_BASE + (uint32_t)i * VIRTIO_MMIO_STRIDE;
        add_window(p, names[i], PW_MMIO, PW_RANK0, base, VIRTIO_MMIO_SIZE);
        p->virtio[p->nvirtio++] = (struct acpi_virtio_mmio){
            .base = base, .size = VIRTIO_MMIO_SIZE,
            .gsi = VIRTIO_MMIO_FIRST_GSI + (uint32_t)i, .edge = false,
        };
    }
}

struct mptable_config platform_mptable(const struct platform *p)
{
    return (struct mptable_config){
        .ncpus = p->ncpus,
        .apic_version = p->lapic_version,
        .lapic_addr = p->lapic_base,
        .ioapic_id = p->ioapic_id,
        .ioapic_version = p->ioapic_version,
        .ioapic_addr = p->ioapic_base,
        .isa_pin = p->isa_pin,
        .extint_pin = p->extint_pin,
    };
}

struct acpi_config platform_acpi(const struct platform *p)
{
    return (struct acpi_config){
        .ncpus = p->ncpus,
        .lapic_addr = p->lapic_base,
        .ioapic_id = p->ioapic_id,
        .ioapic_addr = p->ioapic_base,
        .irq0_gsi = p->isa_pin[0],
        .sci_irq = ACPI_SCI_IRQ,
        .ram_size = p->ram_bytes,
        .pm1a_evt = ACPI_PM1A_EVT,
        .pm1a_cnt = ACPI_PM1A_CNT,
        .reset_port = ACPI_RESET_PORT,
        .reset_value = ACPI_RESET_VALUE,
        .nvirtio = p->nvirtio,
        .virtio = p->nvirtio ? p->virtio : NULL,
    };
}

int platform_e820(const struct platform *p, struct e820_entry *out, int max)
{
    struct e820_entry map[3] = {
        { 0, PLATFORM_LOW_MEM_END, E820_RAM },
        { PLATFORM_LOW_MEM_END, PLATFORM_HIGH_MEM - PLATFORM_LOW_MEM_END, E820_RESERVED },
        { PLATFORM_HIGH_MEM,
          p->ram_bytes > PLATFORM_HIGH_MEM ? p->ram_bytes - PLATFORM_HIGH_MEM : 0, E820_RAM },
    };
    int n = map[2].len ? 3 : 2;
    if (n > max)
        return -1;
    memcpy(out, map, (size_t)n * sizeof *out);
    return n;
}

const struct platform_window *platform_window_at(const struct platform *p,
                                                 enum platform_space space,
                                                 uint32_t addr, uint32_t size)
{
    for (int i = 0; i < p->nwindows; i++) {
        const struct platform_window *w = &p->window[i];
        if (w->space != space || addr - w->base >= w->size)
            continue;
        /* inside from its first byte: the access must end inside too */
        return size <= w->size - (addr - w->base) ? w : NULL;
    }
    return NULL;
}

bool platform_forwarded(const struct platform *p, enum platform_space space,
                        uint32_t addr, uint32_t size)
{
    const struct platform_window *w = platform_window_at(p, space, addr, size);
    if (space == PW_PORT)
        return !w || w->where == PW_RANK0;
    return w && w->where == PW_RANK0;
}
