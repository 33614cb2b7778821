/* test_platform.c - the platform description (src/boot/platform.c): the
 * MP table and the e820 map derived from it agree with it, and the
 * device-window table decides which accesses a rank forwards to rank 0. */
#include <criterion/criterion.h>
#include <string.h>

#include "boot/mptable.h"
#include "boot/platform.h"
#include "cpu/apic.h"
#include "io/ioapic.h"

static uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

Test(platform, describes_the_pc)
{
    struct platform p;
    platform_describe(&p, 4, 64u << 20, 0);
    cr_assert_eq(p.ncpus, 4);
    cr_assert_eq(p.ram_bytes, 64u << 20);
    cr_assert_eq(p.lapic_base, APIC_DEFAULT_BASE);
    cr_assert_eq(p.ioapic_base, IOAPIC_DEFAULT_BASE);
    cr_assert_eq(p.ioapic_id, 4);
    cr_assert_eq(p.ioapic_version, IOAPIC_VERSION);
    platform_describe(&p, 15, 64u << 20, 0);
    cr_assert_eq(p.ioapic_id, 0, "no 4-bit ID left after 15 CPUs");
    /* the routing the IOAPIC model documents */
    for (int irq = 0; irq < PLATFORM_ISA_IRQS; irq++) {
        if (irq == 2)
            cr_assert_eq(p.isa_pin[irq], PLATFORM_NO_PIN);
        else
            cr_assert_eq(p.isa_pin[irq], ioapic_isa_pin(irq), "IRQ %d", irq);
    }
    cr_assert_eq(p.extint_pin, 0);
}

/* The MP table built from the platform carries its CPUs, IOAPIC and
 * every ISA IRQ's pin. */
static void check_mptable(const struct platform *p)
{
    struct mptable_config cfg = platform_mptable(p);
    uint8_t buf[MPTABLE_MAX];
    size_t n = mptable_build(&cfg, MPTABLE_BASE, buf, sizeof buf);
    cr_assert_neq(n, 0);
    const uint8_t *hdr = buf + MPTABLE_FLOAT_SIZE;
    cr_assert_eq(rd32(hdr + 36), p->lapic_base);
    const uint8_t *e = hdr + MPTABLE_HDR_SIZE, *end = buf + n;
    int cpus = 0, ioapics = 0, ioints = 0;
    bool seen[PLATFORM_ISA_IRQS] = { 0 };
    while (e < end) {
        switch (e[0]) {
        case MP_ENT_CPU:
            cr_assert_eq(e[1], cpus);
            cpus++;
            e += MPTABLE_CPU_SIZE;
            continue;
        case MP_ENT_IOAPIC:
            cr_assert_eq(e[1], p->ioapic_id);
            cr_assert_eq(rd32(e + 4), p->ioapic_base);
            ioapics++;
            break;
        case MP_ENT_IOINT:
            cr_assert_eq(e[6], p->ioapic_id);
            if (e[1] == MP_EXTINT) {
                cr_assert_eq(e[7], p->extint_pin);
            } else {
                cr_assert_lt(e[5], PLATFORM_ISA_IRQS);
                cr_assert_eq(e[7], p->isa_pin[e[5]], "IRQ %d", e[5]);
                seen[e[5]] = true;
            }
            ioints++;
            break;
        default:
            break;
        }
        e += MPTABLE_ENTRY_SIZE;
    }
    cr_assert_eq(cpus, p->ncpus);
    cr_assert_eq(ioapics, 1);
    cr_assert_eq(ioints, 16);
    for (int irq = 0; irq < PLATFORM_ISA_IRQS; irq++)
        cr_assert_eq(seen[irq], p->isa_pin[irq] != PLATFORM_NO_PIN, "IRQ %d", irq);
}

Test(platform, mptable_from_the_description)
{
    struct platform p;
    for (int n = 1; n <= 16; n *= 2) {
        platform_describe(&p, n, 32u << 20, 0);
        check_mptable(&p);
    }
    /* a different routing reaches the table: it is not hard-wired there */
    platform_describe(&p, 2, 32u << 20, 0);
    p.isa_pin[0] = 0;
    p.isa_pin[5] = 20;
    p.extint_pin = 23;
    check_mptable(&p);
}

Test(platform, mptable_default_routing_unchanged)
{
    /* mptable_config without isa_pin (older callers) and the platform's
     * give byte-identical tables */
    struct platform p;
    platform_describe(&p, 3, 32u << 20, 0);
    struct mptable_config a = platform_mptable(&p), b = a;
    b.isa_pin = NULL;
    uint8_t ba[MPTABLE_MAX], bb[MPTABLE_MAX];
    size_t na = mptable_build(&a, MPTABLE_BASE, ba, sizeof ba);
    size_t nb = mptable_build(&b, MPTABLE_BASE, bb, sizeof bb);
    cr_assert_eq(na, nb);
    cr_assert_eq(memcmp(ba, bb, na), 0);
}

Test(platform, e820_map)
{
    struct platform p;
    struct e820_entry m[8];
    platform_describe(&p, 2, 16u << 20, 0);
    cr_assert_eq(platform_e820(&p, m, 8), 3);
    cr_assert_eq(m[0].base, 0);
    cr_assert_eq(m[0].len, 0xa0000);
    cr_assert_eq(m[0].type, E820_RAM);
    cr_assert_eq(m[1].base, 0xa0000);
    cr_assert_eq(m[1].len, 0x60000);
    cr_assert_eq(m[1].type, E820_RESERVED);
    cr_assert_eq(m[2].base, 0x100000);
    cr_assert_eq(m[2].len, (16u << 20) - 0x100000);
    cr_assert_eq(m[2].type, E820_RAM);
    /* no RAM above 1 MiB: no third entry */
    platform_describe(&p, 1, 1u << 20, 0);
    cr_assert_eq(platform_e820(&p, m, 8), 2);
    /* too small an array is an error, never an overrun */
    platform_describe(&p, 1, 16u << 20, 0);
    memset(m, 0xaa, sizeof m);
    cr_assert_eq(platform_e820(&p, m, 2), -1);
    cr_assert_eq(m[0].base, 0xaaaaaaaaaaaaaaaaull, "nothing written");
}

Test(platform, window_lookup)
{
    struct platform p;
    platform_describe(&p, 2, 16u << 20, 0);
    const struct platform_window *w;
    w = platform_window_at(&p, PW_MMIO, IOAPIC_DEFAULT_BASE + 0x10, 4);
    cr_assert_not_null(w);
    cr_assert_str_eq(w->name, "IOAPIC");
    cr_assert_eq(w->where, PW_RANK0);
    w = platform_window_at(&p, PW_MMIO, APIC_DEFAULT_BASE + 0x300, 4);
    cr_assert_not_null(w);
    cr_assert_eq(w->where, PW_LOCAL);
    /* an access that runs off the end of a window is in none */
    cr_assert_null(platform_window_at(&p, PW_MMIO, IOAPIC_DEFAULT_BASE + IOAPIC_MMIO_SIZE - 2, 4));
    cr_assert_null(platform_window_at(&p, PW_MMIO, IOAPIC_DEFAULT_BASE + IOAPIC_MMIO_SIZE, 1));
    cr_assert_null(platform_window_at(&p, PW_MMIO, IOAPIC_DEFAULT_BASE - 1, 1));
    /* ports and MMIO are separate spaces */
    cr_assert_null(platform_window_at(&p, PW_MMIO, 0x3f8, 1));
    w = platform_window_at(&p, PW_PORT, 0x3fd, 1);
    cr_assert_not_null(w);
    cr_assert_str_eq(w->name, "COM1");
    cr_assert_null(platform_window_at(&p, PW_PORT, 0x3f6, 1));
}

Test(platform, what_a_rank_forwards)
{
    struct platform p;
    platform_describe(&p, 2, 16u << 20, 0);
    /* MMIO: the IOAPIC (rank 0's), whole accesses only */
    cr_assert(platform_forwarded(&p, PW_MMIO, IOAPIC_DEFAULT_BASE, 4));
    cr_assert(platform_forwarded(&p, PW_MMIO, IOAPIC_DEFAULT_BASE + 0x1f, 1));
    cr_assert_not(platform_forwarded(&p, PW_MMIO, IOAPIC_DEFAULT_BASE + 0x1e, 4));
    /* never the rank's own APIC, RAM or unassigned space */
    cr_assert_not(platform_forwarded(&p, PW_MMIO, APIC_DEFAULT_BASE + 0xb0, 4));
    cr_assert_not(platform_forwarded(&p, PW_MMIO, 0x1000, 4));
    cr_assert_not(platform_forwarded(&p, PW_MMIO, 0xe0000000u, 4));
    /* ports: the devices' and, answered as unassigned, every other */
    cr_assert(platform_forwarded(&p, PW_PORT, 0x20, 1));
    cr_assert(platform_forwarded(&p, PW_PORT, 0xf4, 4));
    cr_assert(platform_forwarded(&p, PW_PORT, 0x1234, 2));
    /* a device added as local stays on the rank */
    p.window[p.nwindows++] = (struct platform_window){ "test", PW_PORT, PW_LOCAL, 0x500, 4 };
    cr_assert_not(platform_forwarded(&p, PW_PORT, 0x502, 2));
    /* a rank-0 MMIO device added by one line is forwarded */
    p.window[p.nwindows++] = (struct platform_window){ "mmio dev", PW_MMIO, PW_RANK0,
                                                       0xfeb00000u, 0x200 };
    cr_assert(platform_forwarded(&p, PW_MMIO, 0xfeb00100u, 4));
}

Test(platform, windows_do_not_overlap)
{
    struct platform p;
    platform_describe(&p, 4, 16u << 20, 0);
    for (int i = 0; i < p.nwindows; i++) {
        const struct platform_window *a = &p.window[i];
        cr_assert_gt(a->size, 0);
        for (int j = i + 1; j < p.nwindows; j++) {
            const struct platform_window *b = &p.window[j];
            if (a->space != b->space)
                continue;
            cr_assert(a->base + a->size <= b->base || b->base + b->size <= a->base,
                      "%s overlaps %s", a->name, b->name);
        }
    }
}

/* Disks: one rank-0 window per disk at 0xFEB00000 + i * 0x1000 (0x200
 * bytes), forwarded by other ranks, and the ACPI view lists the same
 * windows with GSI 16 + i, level-triggered. */
Test(platform, virtio_disks_from_the_description)
{
    struct platform p;
    platform_describe(&p, 2, 16u << 20, 0);
    cr_assert_eq(p.nvirtio, 0);
    cr_assert_eq(platform_acpi(&p).nvirtio, 0);
    cr_assert_not(platform_forwarded(&p, PW_MMIO, 0xfeb00000u, 4));
    platform_describe(&p, 2, 16u << 20, 3);
    cr_assert_eq(p.nvirtio, 3);
    struct acpi_config a = platform_acpi(&p);
    cr_assert_eq(a.nvirtio, 3);
    for (int i = 0; i < 3; i++) {
        uint32_t base = 0xfeb00000u + 0x1000u * (uint32_t)i;
        const struct platform_window *w = platform_window_at(&p, PW_MMIO, base + 0x70, 4);
        cr_assert_not_null(w, "disk %d's window", i);
        cr_assert_eq(w->where, PW_RANK0);
        cr_assert_eq(w->base, base);
        cr_assert_eq(w->size, 0x200);
        cr_assert(platform_forwarded(&p, PW_MMIO, base + 0x100, 4));
        cr_assert_not(platform_forwarded(&p, PW_MMIO, base + 0x200, 4), "past the window");
        cr_assert_eq(a.virtio[i].base, base);
        cr_assert_eq(a.virtio[i].size, 0x200);
        cr_assert_eq(a.virtio[i].gsi, 16u + (uint32_t)i);
        cr_assert_not(a.virtio[i].edge);
    }
    cr_assert_not(platform_forwarded(&p, PW_MMIO, 0xfeb03000u, 4), "no fourth disk");
}
