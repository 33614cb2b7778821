/* test_mptable.c - the MP tables read back the way a guest finds them:
 * scan for "_MP_" on 16-byte boundaries in the BIOS area, check both
 * checksums, follow the pointer to "PCMP", and walk every entry (CPUs,
 * bus, IOAPIC, I/O and local interrupt assignments). */
#include <criterion/criterion.h>
#include <string.h>

#include "boot/mptable.h"
#include "mem/phys.h"

static uint16_t rd16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t rd32(const uint8_t *b) { return rd16(b) | (uint32_t)rd16(b + 2) << 16; }

static uint8_t sum(const uint8_t *b, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + b[i]);
    return s;
}

static struct mptable_config config(int ncpus)
{
    return (struct mptable_config){
        .ncpus = ncpus, .apic_version = 0x14, .cpu_signature = 0x683,
        .cpu_features = 0x0100a939u, .lapic_addr = 0xfee00000u,
        .ioapic_id = (uint8_t)(ncpus < 15 ? ncpus : 15), .ioapic_version = 0x11,
        .ioapic_addr = 0xfec00000u,
    };
}

/* Linux's smp_scan_config over [base, base + len): address or 0. */
static uint32_t scan(struct phys *p, uint32_t base, uint32_t len)
{
    for (uint32_t a = base; a + 16 <= base + len; a += 16) {
        uint8_t b[16];
        cr_assert_eq(phys_copy_out(p, a, b, 16), 0);
        if (memcmp(b, "_MP_", 4) == 0 && b[8] == 1 && sum(b, 16) == 0 &&
            (b[9] == 1 || b[9] == 4))
            return a;
    }
    return 0;
}

struct parsed {
    int cpus, bsp_count, bsp_id, buses, ioapics, ioints, localints;
    int last_type;
    uint8_t cpu_ids[256];
    int pin_of_irq[16];          /* MP_INT entries: ISA IRQ -> pin, -1 none */
    int extint_pin;
    uint8_t lint_type[2];
    uint8_t lint_dest[2];
};

static void check_tables(struct phys *p, const struct mptable_config *cfg, struct parsed *out)
{
    uint32_t fp = scan(p, 0xf0000, 0x10000);
    cr_assert_eq(fp, MPTABLE_BASE);
    uint8_t f[16];
    phys_copy_out(p, fp, f, 16);
    cr_assert_eq(f[9], 4, "spec 1.4");
    cr_assert_eq(f[11], 0, "configuration table present, not a default one");
    cr_assert_eq(f[12] & 0x80, 0, "virtual wire mode");
    uint32_t ct = rd32(f + 4);
    cr_assert_eq(ct, MPTABLE_BASE + 16);

    uint8_t hdr[44];
    phys_copy_out(p, ct, hdr, 44);
    cr_assert_eq(memcmp(hdr, "PCMP", 4), 0);
    uint16_t len = rd16(hdr + 4);
    cr_assert_eq(hdr[6], 4);
    cr_assert_eq(rd32(hdr + 36), cfg->lapic_addr);
    cr_assert_eq(rd16(hdr + 40), 0, "no extended table");
    cr_assert_eq(mptable_size(cfg->ncpus), 16u + len);
    static uint8_t t[MPTABLE_MAX];
    cr_assert_leq(len, sizeof t);
    phys_copy_out(p, ct, t, len);
    cr_assert_eq(sum(t, len), 0, "base table checksum");
    uint16_t count = rd16(hdr + 34);

    memset(out, 0, sizeof *out);
    for (int i = 0; i < 16; i++)
        out->pin_of_irq[i] = -1;
    out->extint_pin = -1;
    const uint8_t *e = t + 44, *end = t + len;
    for (uint16_t n = 0; n < count; n++) {
        cr_assert_lt(e, end, "entry %u beyond the table length", n);
        cr_assert_geq(e[0], out->last_type, "entries in type order");
        out->last_type = e[0];
        switch (e[0]) {
        case MP_ENT_CPU:
            cr_assert_eq(e[2], cfg->apic_version);
            cr_assert(e[3] & MP_CPU_ENABLED);
            cr_assert_eq(rd32(e + 4), cfg->cpu_signature);
            cr_assert_eq(rd32(e + 8), cfg->cpu_features);
            out->cpu_ids[out->cpus++] = e[1];
            if (e[3] & MP_CPU_BSP) {
                out->bsp_count++;
                out->bsp_id = e[1];
            }
            e += 20;
            break;
        case MP_ENT_BUS:
            cr_assert_eq(e[1], 0);
            cr_assert_eq(memcmp(e + 2, "ISA   ", 6), 0);
            out->buses++;
            e += 8;
            break;
        case MP_ENT_IOAPIC:
            cr_assert_eq(e[1], cfg->ioapic_id);
            cr_assert_eq(e[2], cfg->ioapic_version);
            cr_assert_eq(e[3] & 1, 1, "usable");
            cr_assert_eq(rd32(e + 4), cfg->ioapic_addr);
            out->ioapics++;
            e += 8;
            break;
        case MP_ENT_IOINT:
            cr_assert_eq(rd16(e + 2), 0, "ISA: conforms to the bus");
            cr_assert_eq(e[4], 0);
            cr_assert_eq(e[6], cfg->ioapic_id);
            cr_assert_lt(e[5], 16);
            if (e[1] == MP_INT) {
                cr_assert_eq(out->pin_of_irq[e[5]], -1, "IRQ %u twice", e[5]);
                out->pin_of_irq[e[5]] = e[7];
            } else {
                cr_assert_eq(e[1], MP_EXTINT);
                out->extint_pin = e[7];
            }
            out->ioints++;
            e += 8;
            break;
        case MP_ENT_LOCALINT:
            cr_assert_leq(e[7], 1);
            out->lint_type[e[7]] = e[1];
            out->lint_dest[e[7]] = e[6];
            out->localints++;
            e += 8;
            break;
        default:
            cr_assert_fail("unknown entry type %u", e[0]);
        }
    }
    cr_assert_eq(e, end, "the entries fill the table exactly");
}

static void check_n(int ncpus)
{
    struct phys p;
    cr_assert_eq(phys_init(&p, 2 << 20), 0);
    struct mptable_config cfg = config(ncpus);
    cr_assert_eq(mptable_write(&p, &cfg), 0);
    struct parsed r;
    check_tables(&p, &cfg, &r);
    cr_assert_eq(r.cpus, ncpus);
    for (int i = 0; i < ncpus; i++)
        cr_assert_eq(r.cpu_ids[i], i, "APIC ID = rank");
    cr_assert_eq(r.bsp_count, 1);
    cr_assert_eq(r.bsp_id, 0);
    cr_assert_eq(r.buses, 1);
    cr_assert_eq(r.ioapics, 1);
    cr_assert_eq(r.ioints, 16);
    cr_assert_eq(r.pin_of_irq[0], 2, "the PIT on pin 2");
    cr_assert_eq(r.pin_of_irq[2], -1, "no entry for the cascade");
    for (int irq = 1; irq < 16; irq++)
        if (irq != 2)
            cr_assert_eq(r.pin_of_irq[irq], irq);
    cr_assert_eq(r.extint_pin, 0, "the 8259 on pin 0");
    cr_assert_eq(r.localints, 2);
    cr_assert_eq(r.lint_type[0], MP_EXTINT);
    cr_assert_eq(r.lint_type[1], MP_NMI);
    cr_assert_eq(r.lint_dest[0], 0xff);
    cr_assert_eq(r.lint_dest[1], 0xff);
    cr_assert_leq(MPTABLE_BASE + mptable_size(ncpus), 0x100000u, "stays in the BIOS area");
    phys_free(&p);
}

Test(mptable, one_cpu) { check_n(1); }
Test(mptable, two_cpus) { check_n(2); }
Test(mptable, four_cpus) { check_n(4); }
Test(mptable, sixteen_cpus) { check_n(16); }
Test(mptable, max_cpus) { check_n(MPTABLE_MAX_CPUS); }

Test(mptable, sizes_and_errors)
{
    cr_assert_eq(mptable_size(0), 0u);
    cr_assert_eq(mptable_size(MPTABLE_MAX_CPUS + 1), 0u);
    cr_assert_eq(mptable_size(4), MPTABLE_SIZE(4u));
    cr_assert_eq(mptable_size(MPTABLE_MAX_CPUS), (size_t)MPTABLE_MAX);
    uint8_t small[64];
    struct mptable_config cfg = config(2);
    cr_assert_eq(mptable_build(&cfg, MPTABLE_BASE, small, sizeof small), 0u);

    struct phys p;
    cr_assert_eq(phys_init(&p, 512 << 10), 0);     /* RAM ends below 0xF0000 */
    cr_assert_eq(mptable_write(&p, &cfg), -1);
    phys_free(&p);
    cr_assert_eq(phys_init(&p, 1 << 20), 0);
    cfg.ncpus = 0;
    cr_assert_eq(mptable_write(&p, &cfg), -1);
    phys_free(&p);
}

Test(mptable, build_at_another_base)
{
    static uint8_t buf[MPTABLE_MAX];
    struct mptable_config cfg = config(3);
    size_t n = mptable_build(&cfg, 0x9fc00, buf, sizeof buf);
    cr_assert_eq(n, mptable_size(3));
    cr_assert_eq(rd32(buf + 4), 0x9fc10u);
    cr_assert_eq(sum(buf, 16), 0);
    cr_assert_eq(sum(buf + 16, rd16(buf + 20)), 0);
}
