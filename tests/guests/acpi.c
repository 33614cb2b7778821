/* acpi.c - test guest: powers the machine off (or resets it) through ACPI
 * the way an operating system does. It finds the RSDP by scanning the
 * BIOS area 0xE0000-0xFFFFF, checks the checksums, walks RSDT (and XSDT
 * when the RSDP is ACPI 2.0) -> FADT -> DSDT and the MADT, finds \_S5 in
 * the DSDT's AML (NameOp, the name, PackageOp, PkgLength, NumElements,
 * SLP_TYPa), and writes SLP_TYPa | SLP_EN to the PM1a control block the
 * FADT names. With "reset" on the command line it writes the FADT's
 * reset value to its reset register instead. The run must end there with
 * status 0 (vsmp: io/acpi_pm.c; QEMU -no-reboot: its own tables and PM
 * device); a guest still running after the write prints FAIL and exits
 * through port 0xf4. Prints only what both machines' tables share. */
#include "lib/guest.h"

static uint16_t rd16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t rd32(const uint8_t *b) { return rd16(b) | (uint32_t)rd16(b + 2) << 16; }

static int sum_ok(const uint8_t *p, uint32_t n)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s == 0;
}

/* A table at addr with the signature and a good checksum, or fail. */
static const uint8_t *table(uint32_t addr, const char *sig)
{
    const uint8_t *t = (const uint8_t *)addr;
    CHECK(2, addr != 0 && memcmp(t, sig, 4) == 0);
    CHECK(2, rd32(t + 4) >= 36 && sum_ok(t, rd32(t + 4)));
    return t;
}

static const uint8_t *find_rsdp(void)
{
    for (uint32_t a = 0xe0000; a < 0x100000; a += 16) {
        const uint8_t *p = (const uint8_t *)a;
        if (memcmp(p, "RSD PTR ", 8) == 0 && sum_ok(p, 20))
            return p;
    }
    return 0;
}

/* SLP_TYPa from the DSDT's Name(\_S5, Package(){a, b, ...}), or -1. */
static int s5_type(const uint8_t *aml, uint32_t len)
{
    for (uint32_t i = 1; i + 8 < len; i++) {
        if (memcmp(aml + i, "_S5_", 4) != 0)
            continue;
        /* NameOp directly before the name, or before a root prefix */
        if (!(aml[i - 1] == 0x08 || (aml[i - 1] == '\\' && i >= 2 && aml[i - 2] == 0x08)))
            continue;
        const uint8_t *p = aml + i + 4;
        if (*p++ != 0x12)                       /* PackageOp */
            continue;
        p += (*p >> 6) + 1;                     /* PkgLength: 1-4 bytes */
        p++;                                    /* NumElements */
        switch (*p) {
        case 0x00: return 0;                    /* ZeroOp */
        case 0x01: return 1;                    /* OneOp */
        case 0x0a: return p[1];                 /* BytePrefix */
        case 0x0b: return rd16(p + 1);          /* WordPrefix */
        case 0x0c: return (int)rd32(p + 1);     /* DWordPrefix */
        default: return -1;
        }
    }
    return -1;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    int reset = strcmp(mb_cmdline(mbi), "reset") == 0;
    const uint8_t *rsdp = find_rsdp();
    CHECK(2, rsdp != 0);
    printf("acpi: RSDP found in the BIOS area, checksum ok\n");
    const uint8_t *rsdt = table(rd32(rsdp + 16), "RSDT");
    uint32_t n = (rd32(rsdt + 4) - 36) / 4;
    if (rsdp[15] >= 2) {
        /* ACPI 2.0: extended checksum and an XSDT listing the same tables */
        CHECK(3, rd32(rsdp + 20) >= 36 && sum_ok(rsdp, rd32(rsdp + 20)));
        CHECK(3, rd32(rsdp + 28) == 0);
        const uint8_t *xsdt = table(rd32(rsdp + 24), "XSDT");
        CHECK(3, (rd32(xsdt + 4) - 36) / 8 == n);
        for (uint32_t i = 0; i < n; i++)
            CHECK(3, rd32(xsdt + 36 + 8 * i) == rd32(rsdt + 36 + 4 * i) &&
                     rd32(xsdt + 40 + 8 * i) == 0);
    }
    const uint8_t *fadt = 0, *madt = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t a = rd32(rsdt + 36 + 4 * i);
        if (memcmp((const uint8_t *)a, "FACP", 4) == 0)
            fadt = table(a, "FACP");
        else if (memcmp((const uint8_t *)a, "APIC", 4) == 0)
            madt = table(a, "APIC");
    }
    CHECK(4, fadt != 0);
    printf("acpi: RSDT -> FADT ok\n");
    CHECK(4, madt != 0);
    int cpus = 0, ioapics = 0;
    for (uint32_t off = 44; off + 2 <= rd32(madt + 4); off += madt[off + 1]) {
        CHECK(4, madt[off + 1] >= 2);
        if (madt[off] == 0 && (rd32(madt + off + 4) & 1))
            cpus++;
        else if (madt[off] == 1)
            ioapics++;
    }
    printf("acpi: MADT: %d enabled processors, %d IOAPIC\n", cpus, ioapics);

    const uint8_t *dsdt = table(rd32(fadt + 40), "DSDT");
    printf("acpi: FADT -> DSDT ok\n");
    int typ = s5_type(dsdt + 36, rd32(dsdt + 4) - 36);
    CHECK(5, typ >= 0 && typ <= 7);
    printf("acpi: \\_S5 found, SLP_TYPa in range\n");

    if (reset) {
        /* FADT revision >= 2 (length >= 129), RESET_REG_SUP, I/O space */
        CHECK(6, rd32(fadt + 4) >= 129 && (rd32(fadt + 112) & (1u << 10)));
        CHECK(6, fadt[116] == 1 && rd32(fadt + 124) == 0);
        printf("acpi: reset register in I/O space, resetting\n");
        outb((uint16_t)rd32(fadt + 120), fadt[128]);
    } else {
        uint32_t cnt = rd32(fadt + 64);
        CHECK(7, cnt != 0 && cnt <= 0xfffc && fadt[89] >= 2);
        printf("acpi: PM1a control block in I/O space, powering off\n");
        outw((uint16_t)cnt, (uint16_t)(typ << 10 | 1u << 13));
    }
    for (volatile uint32_t i = 0; i < 50000000u; i++)
        ;
    fail(8, "still running after the %s write", reset ? "reset" : "S5");
}
