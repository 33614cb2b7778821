/* mptable.c - test guest: finds the Intel MP floating pointer structure
 * the way Linux's mpparse does (the first KiB of memory, the last KiB of
 * base memory, the BIOS area 0xF0000-0xFFFFF, then the EBDA), checks both
 * checksums and the signatures, walks the configuration table and prints
 * the CPU count, the BSP, the local APIC address and the IOAPIC entry,
 * cross-checked against the APIC/IOAPIC registers and CPUID.
 * Prints no firmware-specific details (OEM strings, bus counts, IOAPIC
 * version), so the output is the same under vsmp (src/boot/mptable.c,
 * written for Multiboot kernels) and QEMU, whose -kernel boot runs
 * SeaBIOS first, which builds its own MP table in the BIOS area. */
#include "lib/guest.h"

#define LAPIC 0xfee00000u

struct mpf {                        /* floating pointer, 16 bytes */
    char sig[4];                    /* "_MP_" */
    uint32_t physptr;
    uint8_t length;                 /* in 16-byte units: 1 */
    uint8_t spec;                   /* 1 or 4 */
    uint8_t checksum;
    uint8_t feature[5];
} __attribute__((packed));

struct mpc {                        /* configuration table header, 44 bytes */
    char sig[4];                    /* "PCMP" */
    uint16_t length;
    uint8_t spec, checksum;
    char oem[8], product[12];
    uint32_t oemptr;
    uint16_t oemsize, count;
    uint32_t lapic;
    uint16_t extlen;
    uint8_t extsum, reserved;
} __attribute__((packed));

static uint8_t sum8(const volatile uint8_t *p, uint32_t n)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* A pointer to physical address a (hidden from GCC, which rejects
 * constant pointers into the first page). */
static const void *at(uint32_t a)
{
    __asm__("" : "+r"(a));
    return (const void *)a;
}

static const struct mpf *scan(uint32_t base, uint32_t len)
{
    for (uint32_t a = base; a + 16 <= base + len; a += 16) {
        const struct mpf *f = at(a);
        if (memcmp(f->sig, "_MP_", 4) == 0 && f->length == 1 && sum8((const uint8_t *)a, 16) == 0 &&
            (f->spec == 1 || f->spec == 4))
            return f;
    }
    return NULL;
}

static uint32_t ioapic_read(uint32_t base, uint8_t reg)
{
    *(volatile uint32_t *)base = reg;
    return *(volatile uint32_t *)(base + 0x10);
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    static const char *where[] = { "first KiB", "last KiB of base memory", "BIOS area",
                                   "EBDA" };
    const struct mpf *f = NULL;
    int w;
    uint32_t ebda = (uint32_t)*(const volatile uint16_t *)at(0x40e) << 4;
    for (w = 0; w < 4 && !f; w++) {
        switch (w) {
        case 0: f = scan(0, 0x400); break;
        case 1: f = scan(639 * 0x400, 0x400); break;
        case 2: f = scan(0xf0000, 0x10000); break;
        default: f = ebda ? scan(ebda, 0x400) : NULL; break;
        }
    }
    if (!f) {
        printf("mp: no floating pointer structure\n");
        return 0;
    }
    printf("mp: floating pointer in the %s, spec 1.%u, checksum ok\n", where[w - 1], f->spec);
    if (f->feature[0]) {
        printf("mp: default configuration %u (no table)\n", f->feature[0]);
        return 0;
    }
    const struct mpc *c = (const struct mpc *)f->physptr;
    CHECK(1, f->physptr != 0);
    CHECK(2, memcmp(c->sig, "PCMP", 4) == 0);
    CHECK(3, sum8((const uint8_t *)c, c->length) == 0);
    if (c->extlen) {
        uint8_t s = sum8((const uint8_t *)c + c->length, c->extlen);
        CHECK(4, (uint8_t)(s + c->extsum) == 0);
    }
    printf("mp: config table PCMP, checksum ok, spec 1.%u, local APIC at %08x\n", c->spec,
           c->lapic);

    uint32_t lapic_id = *(volatile uint32_t *)(LAPIC + 0x20) >> 24;
    uint32_t lapic_ver = *(volatile uint32_t *)(LAPIC + 0x30) & 0xff;
    uint32_t r[4];
    cpuid(1, r);
    const uint8_t *p = (const uint8_t *)c + sizeof(*c);
    const uint8_t *end = (const uint8_t *)c + c->length;
    int cpus = 0, bsps = 0, bsp_id = -1, isa_bus = -1, ioapics = 0, bad = 0;
    int bsp_ver_ok = 0, bsp_sig_ok = 0, irq0_pin = -1, extint_lint0 = 0, nmi_lint1 = 0;
    uint32_t ioapic_addr = 0;
    int ioapic_id = -1, ioapic_en = 0;
    for (int i = 0; i < c->count && p < end; i++) {
        switch (p[0]) {
        case 0:                             /* processor */
            if (p[3] & 1)
                cpus++;
            if (p[3] & 2) {
                bsps++;
                bsp_id = p[1];
                bsp_ver_ok = p[2] == lapic_ver;
                bsp_sig_ok = (*(const uint32_t *)(p + 4) & 0xfff) == (r[0] & 0xfff);
            }
            p += 20;
            break;
        case 1:                             /* bus */
            if (memcmp(p + 2, "ISA   ", 6) == 0)
                isa_bus = p[1];
            p += 8;
            break;
        case 2:                             /* IOAPIC */
            ioapics++;
            ioapic_id = p[1];
            ioapic_en = p[3] & 1;
            ioapic_addr = *(const uint32_t *)(p + 4);
            p += 8;
            break;
        case 3:                             /* I/O interrupt: type, flags, bus, irq, apic, pin */
            if (p[1] == 0 && p[4] == isa_bus && p[5] == 0)
                irq0_pin = p[7];
            p += 8;
            break;
        case 4:                             /* local interrupt */
            if (p[1] == 3 && p[7] == 0)
                extint_lint0 = 1;
            if (p[1] == 1 && p[7] == 1)
                nmi_lint1 = 1;
            p += 8;
            break;
        default:
            bad = 1;
            p = end;
            break;
        }
    }
    CHECK(5, !bad);
    printf("cpus: %d enabled, %d BSP, BSP APIC ID %d (APIC ID register %u, CPUID %u)\n", cpus,
           bsps, bsp_id, lapic_id, r[1] >> 24);
    printf("BSP entry: APIC version matches the register: %s, signature matches CPUID: %s\n",
           bsp_ver_ok ? "yes" : "no", bsp_sig_ok ? "yes" : "no");
    printf("ISA bus: %s\n", isa_bus >= 0 ? "yes" : "no");
    printf("ioapics: %d, at %08x, %s\n", ioapics, ioapic_addr, ioapic_en ? "enabled" : "disabled");
    if (ioapics == 1) {
        uint32_t reg_id = ioapic_read(ioapic_addr, 0) >> 24 & 0xf;
        uint32_t ver = ioapic_read(ioapic_addr, 1);
        printf("ioapic: entry ID matches the register: %s, %u redirection entries\n",
               (uint32_t)ioapic_id == reg_id ? "yes" : "no", (ver >> 16 & 0xff) + 1);
    }
    printf("ISA IRQ0 -> IOAPIC pin %d\n", irq0_pin);
    printf("local interrupts: ExtINT on LINT0 %s, NMI on LINT1 %s\n", extint_lint0 ? "yes" : "no",
           nmi_lint1 ? "yes" : "no");
    printf("mptable done\n");
    return 0;
}
