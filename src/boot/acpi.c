/* acpi.c - builds vsmp's ACPI tables (layout and contents: acpi.h) into a
 * buffer, and into guest RAM at ACPI_BASE. */
#include "boot/acpi.h"

#include <stdlib.h>
#include <string.h>

#include "boot/aml.h"

#define OEM_ID       "VSMP  "            /* 6 bytes */
#define OEM_TABLE_ID "VSMPACPI"          /* 8 bytes */
#define CREATOR_ID   "VSMP"

/* FADT fields (ACPI 6.4, 5.2.9): byte offsets. */
enum {
    FADT_FACS = 36, FADT_DSDT = 40, FADT_SCI_INT = 46, FADT_SMI_CMD = 48,
    FADT_PM1A_EVT = 56, FADT_PM1A_CNT = 64, FADT_PM_TMR = 76,
    FADT_PM1_EVT_LEN = 88, FADT_PM1_CNT_LEN = 89, FADT_PM_TMR_LEN = 91,
    FADT_P_LVL2_LAT = 96, FADT_P_LVL3_LAT = 98, FADT_CENTURY = 108,
    FADT_BOOT_ARCH = 109, FADT_FLAGS = 112, FADT_RESET_REG = 116,
    FADT_RESET_VALUE = 128, FADT_MINOR = 131, FADT_X_FACS = 132,
    FADT_X_DSDT = 140, FADT_X_PM1A_EVT = 148, FADT_X_PM1A_CNT = 172,
    FADT_X_PM_TMR = 208,
};
#define FADT_WBINVD        (1u << 0)
#define FADT_PROC_C1       (1u << 2)
#define FADT_PWR_BUTTON    (1u << 4)     /* no fixed-feature power button */
#define FADT_SLP_BUTTON    (1u << 5)     /* no fixed-feature sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define BOOT_LEGACY_DEVICES (1u << 0)
#define BOOT_NO_VGA         (1u << 2)
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1
#define CMOS_CENTURY 0x32

/* MADT entry types (5.2.12). */
enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_ISO = 2, MADT_LAPIC_NMI = 4 };
#define MADT_PCAT_COMPAT 1u
#define MPS_HIGH_LEVEL  0x000du          /* polarity 01 high, trigger 11 level */
#define MPS_HIGH_EDGE   0x0005u

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

uint8_t acpi_checksum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return (uint8_t)-s;
}

static size_t align(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, OEM_ID, 6);
    memcpy(t + 16, OEM_TABLE_ID, 8);
    put32(t + 24, 1);
    memcpy(t + 28, CREATOR_ID, 4);
    put32(t + 32, 1);
}

static void finish(uint8_t *t)
{
    uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 |
                   (uint32_t)t[7] << 24;
    t[9] = 0;
    t[9] = acpi_checksum(t, len);
}

/* A Generic Address Structure in system I/O space. */
static void gas_io(uint8_t *p, uint16_t port, uint8_t bits, uint8_t access)
{
    p[0] = GAS_SYSTEM_IO;
    p[1] = bits;
    p[2] = 0;
    p[3] = access;
    put64(p + 4, port);
}

static bool config_ok(const struct acpi_config *cfg)
{
    if (cfg->ncpus < 1 || cfg->ncpus > ACPI_MAX_CPUS ||
        cfg->nvirtio < 0 || cfg->nvirtio > ACPI_MAX_VIRTIO ||
        (cfg->nvirtio && !cfg->virtio) || !cfg->pm1a_evt || !cfg->pm1a_cnt ||
        !cfg->reset_port)
        return false;
    for (int i = 0; i < cfg->nvirtio; i++)
        if (!cfg->virtio[i].size)
            return false;
    return true;
}

/* The DSDT's AML (after its header) into a; overflow on a short buffer. */
static void dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
    aml_name(a, "\\_S0");
    aml_package_begin(a, 4);
    for (int i = 0; i < 4; i++)
        aml_integer(a, 0);
    aml_end(a);
    aml_name(a, "\\_S5");
    aml_package_begin(a, 4);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_end(a);
    if (!cfg->nvirtio)
        return;
    aml_scope_begin(a, "\\_SB");
    for (int i = 0; i < cfg->nvirtio; i++) {
        const struct acpi_virtio_mmio *v = &cfg->virtio[i];
        static const char hex[] = "0123456789ABCDEF";
        char dev[5] = { 'V', 'R', hex[(i >> 4) & 15], hex[i & 15], 0 };
        aml_device_begin(a, dev);
        aml_name(a, "_HID");
        aml_string(a, "LNRO0005");
        aml_name(a, "_UID");
        aml_integer(a, (uint64_t)i);
        aml_name(a, "_CRS");
        aml_buffer_begin(a);
        aml_res_memory32_fixed(a, true, v->base, v->size);
        aml_res_interrupt(a, AML_IRQ_CONSUMER | (v->edge ? AML_IRQ_EDGE : 0), v->gsi);
        aml_res_end(a);
        aml_end(a);
        aml_end(a);
    }
    aml_end(a);
}

static size_t dsdt_size(const struct acpi_config *cfg)
{
    /* measured by building it into a scratch buffer */
    size_t cap = 256 + 128 * (size_t)cfg->nvirtio;
    uint8_t *scratch = malloc(cap);
    if (!scratch)
        return 0;
    struct aml a;
    aml_init(&a, scratch, cap);
    dsdt_body(&a, cfg);
    size_t n = a.overflow || a.depth ? 0 : ACPI_HDR_SIZE + a.len;
    free(scratch);
    return n;
}

size_t acpi_size(const struct acpi_config *cfg)
{
    if (!config_ok(cfg))
        return 0;
    size_t dsdt = dsdt_size(cfg);
    if (!dsdt)
        return 0;
    return align(ACPI_MADT_OFF + ACPI_MADT_SIZE(cfg->ncpus), 16) + dsdt;
}

static void build_fadt(uint8_t *t, const struct acpi_config *cfg, uint32_t facs, uint32_t dsdt)
{
    header(t, "FACP", ACPI_FADT_SIZE, 6);
    put32(t + FADT_FACS, facs);
    put32(t + FADT_DSDT, dsdt);
    put16(t + FADT_SCI_INT, cfg->sci_irq);
    put32(t + FADT_SMI_CMD, 0);             /* no SMI: always in ACPI mode */
    put32(t + FADT_PM1A_EVT, cfg->pm1a_evt);
    put32(t + FADT_PM1A_CNT, cfg->pm1a_cnt);
    t[FADT_PM1_EVT_LEN] = 4;
    t[FADT_PM1_CNT_LEN] = 2;
    if (cfg->pm_tmr) {
        put32(t + FADT_PM_TMR, cfg->pm_tmr);
        t[FADT_PM_TMR_LEN] = 4;
        gas_io(t + FADT_X_PM_TMR, cfg->pm_tmr, 32, 0);
    }
    put16(t + FADT_P_LVL2_LAT, 101);        /* > 100: no C2 */
    put16(t + FADT_P_LVL3_LAT, 1001);       /* > 1000: no C3 */
    t[FADT_CENTURY] = CMOS_CENTURY;
    put16(t + FADT_BOOT_ARCH, BOOT_LEGACY_DEVICES | BOOT_NO_VGA);
    put32(t + FADT_FLAGS, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON |
                          FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
    gas_io(t + FADT_RESET_REG, cfg->reset_port, 8, GAS_ACCESS_BYTE);
    t[FADT_RESET_VALUE] = cfg->reset_value;
    t[FADT_MINOR] = 0;
    put64(t + FADT_X_FACS, facs);
    put64(t + FADT_X_DSDT, dsdt);
    gas_io(t + FADT_X_PM1A_EVT, cfg->pm1a_evt, 32, 0);
    gas_io(t + FADT_X_PM1A_CNT, cfg->pm1a_cnt, 16, 0);
    finish(t);
}

static void build_madt(uint8_t *t, const struct acpi_config *cfg)
{
    uint32_t len = ACPI_MADT_SIZE(cfg->ncpus);
    header(t, "APIC", len, 3);
    put32(t + 36, cfg->lapic_addr);
    put32(t + 40, MADT_PCAT_COMPAT);
    uint8_t *e = t + 44;
    for (int i = 0; i < cfg->ncpus; i++, e += 8) {
        e[0] = MADT_LAPIC;
        e[1] = 8;
        e[2] = (uint8_t)i;                  /* ACPI processor UID */
        e[3] = (uint8_t)i;                  /* APIC ID */
        put32(e + 4, 1);                    /* enabled */
    }
    e[0] = MADT_IOAPIC;
    e[1] = 12;
    e[2] = cfg->ioapic_id;
    e[3] = 0;
    put32(e + 4, cfg->ioapic_addr);
    put32(e + 8, cfg->ioapic_gsi_base);
    e += 12;
    const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } iso[2] = {
        { 0, cfg->irq0_gsi, MPS_HIGH_EDGE },
        { cfg->sci_irq, cfg->sci_irq, MPS_HIGH_LEVEL },
    };
    for (int i = 0; i < 2; i++, e += 10) {
        e[0] = MADT_ISO;
        e[1] = 10;
        e[2] = 0;                           /* ISA */
        e[3] = iso[i].irq;
        put32(e + 4, iso[i].gsi);
        put16(e + 8, iso[i].flags);
    }
    e[0] = MADT_LAPIC_NMI;
    e[1] = 6;
    e[2] = 0xff;                            /* all processors */
    put16(e + 3, 0);                        /* conforming: edge, high */
    e[5] = 1;                               /* LINT1 */
    finish(t);
}

size_t acpi_build(const struct acpi_config *cfg, uint32_t base, uint8_t *buf, size_t len)
{
    size_t size = acpi_size(cfg);
    if (!size || len < size || (base & 15))
        return 0;
    memset(buf, 0, size);
    size_t dsdt_off = align(ACPI_MADT_OFF + ACPI_MADT_SIZE(cfg->ncpus), 16);
    uint32_t facs = base + ACPI_FACS_OFF, dsdt = base + (uint32_t)dsdt_off;
    uint32_t fadt = base + ACPI_FADT_OFF, madt = base + ACPI_MADT_OFF;

    /* DSDT */
    uint8_t *t = buf + dsdt_off;
    struct aml a;
    aml_init(&a, t + ACPI_HDR_SIZE, size - dsdt_off - ACPI_HDR_SIZE);
    dsdt_body(&a, cfg);
    if (a.overflow || a.depth)
        return 0;
    header(t, "DSDT", (uint32_t)(ACPI_HDR_SIZE + a.len), 2);
    finish(t);

    /* FACS: signature, length; version 2; everything else zero */
    t = buf + ACPI_FACS_OFF;
    memcpy(t, "FACS", 4);
    put32(t + 4, ACPI_FACS_SIZE);
    t[32] = 2;

    build_fadt(buf + ACPI_FADT_OFF, cfg, facs, dsdt);
    build_madt(buf + ACPI_MADT_OFF, cfg);

    /* RSDT and XSDT: FADT, MADT */
    t = buf + ACPI_RSDT_OFF;
    header(t, "RSDT", ACPI_HDR_SIZE + 2 * 4, 1);
    put32(t + 36, fadt);
    put32(t + 40, madt);
    finish(t);
    t = buf + ACPI_XSDT_OFF;
    header(t, "XSDT", ACPI_HDR_SIZE + 2 * 8, 1);
    put64(t + 36, fadt);
    put64(t + 44, madt);
    finish(t);

    /* RSDP: the ACPI 1.0 checksum over 20 bytes, the extended one over 36 */
    t = buf;
    memcpy(t, "RSD PTR ", 8);
    memcpy(t + 9, OEM_ID, 6);
    t[15] = 2;
    put32(t + 16, base + ACPI_RSDT_OFF);
    put32(t + 20, ACPI_RSDP_SIZE);
    put64(t + 24, base + ACPI_XSDT_OFF);
    t[8] = acpi_checksum(t, 20);
    t[32] = acpi_checksum(t, ACPI_RSDP_SIZE);
    return size;
}

int acpi_write(struct phys *p, const struct acpi_config *cfg)
{
    size_t n = acpi_size(cfg);
    if (!n || n > ACPI_MAX_SIZE || (uint64_t)ACPI_BASE + n > p->ram_size ||
        (uint64_t)ACPI_BASE + n > cfg->ram_size)
        return -1;
    uint8_t *buf = malloc(n);
    if (!buf)
        return -1;
    int rc = acpi_build(cfg, ACPI_BASE, buf, n) == n ? phys_copy_in(p, ACPI_BASE, buf, n) : -1;
    free(buf);
    return rc;
}
