/* test_acpi.c - the ACPI tables (boot/acpi.c) read back the way an OS
 * reads them: the RSDP found by scanning the BIOS area, checksums and
 * lengths of every table, RSDT/XSDT -> FADT -> FACS/DSDT, MADT entries for
 * 1..255 CPUs, and the DSDT's AML parsed by a small reader written here
 * from the ACPI spec (names, scopes, devices, integers, strings,
 * packages, buffers) - plus byte-for-byte encodings computed by hand from
 * the spec. Also the AML encoder's pieces (boot/aml.c) and the PM
 * registers that the FADT names (io/acpi_pm.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "boot/resetvec.h"
#include "io/acpi_pm.h"
#include "io/iobus.h"
#include "io/mptable.h"
#include "mem/phys.h"

static uint16_t rd16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t rd32(const uint8_t *b) { return rd16(b) | (uint32_t)rd16(b + 2) << 16; }
static uint64_t rd64(const uint8_t *b) { return rd32(b) | (uint64_t)rd32(b + 4) << 32; }

static uint8_t sum(const uint8_t *b, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + b[i]);
    return s;
}

static const struct acpi_virtio_mmio virtio2[2] = {
    { 0xfeb00000u, 0x200, 16, false },
    { 0xfeb00200u, 0x200, 17, true },
};

static struct acpi_config config(int ncpus, int nvirtio, const struct acpi_virtio_mmio *v)
{
    return (struct acpi_config){
        .ncpus = ncpus, .lapic_addr = 0xfee00000u,
        .ioapic_id = (uint8_t)(ncpus < 15 ? ncpus : 0), .ioapic_addr = 0xfec00000u,
        .ioapic_gsi_base = 0, .irq0_gsi = 2, .sci_irq = 9, .ram_size = 32u << 20,
        .pm1a_evt = ACPI_PM1A_EVT, .pm1a_cnt = ACPI_PM1A_CNT,
        .reset_port = ACPI_RESET_PORT, .reset_value = ACPI_RESET_VALUE,
        .nvirtio = nvirtio, .virtio = v,
    };
}

/* The tables built at ACPI_BASE in a buffer that stands for guest memory
 * from ACPI_BASE on; returns a pointer for a guest address. */
static uint8_t mem[ACPI_MAX_SIZE];
static size_t built;

static void build(const struct acpi_config *c)
{
    memset(mem, 0xcc, sizeof mem);
    built = acpi_build(c, ACPI_BASE, mem, sizeof mem);
    cr_assert_gt(built, 0);
    cr_assert_eq(built, acpi_size(c));
}

static const uint8_t *at(uint64_t addr, size_t len)
{
    cr_assert(addr >= ACPI_BASE && addr + len <= ACPI_BASE + built,
              "address %#llx+%zu outside the tables", (unsigned long long)addr, len);
    return mem + (addr - ACPI_BASE);
}

/* A table at addr: signature, a length inside the tables, checksum 0. */
static const uint8_t *table(uint64_t addr, const char *sig)
{
    const uint8_t *t = at(addr, ACPI_HDR_SIZE);
    cr_assert_eq(memcmp(t, sig, 4), 0, "no %s at %#llx", sig, (unsigned long long)addr);
    uint32_t len = rd32(t + 4);
    at(addr, len);
    cr_assert_eq(sum(t, len), 0, "%s checksum", sig);
    return t;
}

/* Find a table through the RSDT (and check the XSDT lists the same). */
static const uint8_t *find(const char *sig)
{
    const uint8_t *rsdp = at(ACPI_BASE, ACPI_RSDP_SIZE);
    const uint8_t *rsdt = table(rd32(rsdp + 16), "RSDT");
    const uint8_t *xsdt = table(rd64(rsdp + 24), "XSDT");
    uint32_t n = (rd32(rsdt + 4) - ACPI_HDR_SIZE) / 4;
    cr_assert_eq((rd32(xsdt + 4) - ACPI_HDR_SIZE) / 8, n);
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(rd64(xsdt + 36 + 8 * i), rd32(rsdt + 36 + 4 * i));
        const uint8_t *t = at(rd32(rsdt + 36 + 4 * i), ACPI_HDR_SIZE);
        if (memcmp(t, sig, 4) == 0)
            return table(rd32(rsdt + 36 + 4 * i), sig);
    }
    return NULL;
}

Test(acpi, rsdp_and_root_tables)
{
    struct acpi_config c = config(2, 0, NULL);
    build(&c);
    const uint8_t *r = mem;
    cr_assert_eq(memcmp(r, "RSD PTR ", 8), 0);
    cr_assert_eq(sum(r, 20), 0, "ACPI 1.0 checksum");
    cr_assert_eq(sum(r, 36), 0, "extended checksum");
    cr_assert_eq(r[15], 2, "revision 2: XSDT present");
    cr_assert_eq(rd32(r + 20), 36);
    cr_assert_eq(rd32(r + 16), ACPI_BASE + ACPI_RSDT_OFF);
    cr_assert_eq(rd64(r + 24), ACPI_BASE + ACPI_XSDT_OFF);
    cr_assert_eq(rd32(table(ACPI_BASE + ACPI_RSDT_OFF, "RSDT") + 4), 36 + 2 * 4);
    cr_assert_eq(rd32(table(ACPI_BASE + ACPI_XSDT_OFF, "XSDT") + 4), 36 + 2 * 8);
    cr_assert_not_null(find("FACP"));
    cr_assert_not_null(find("APIC"));
    cr_assert_null(find("HPET"));
    /* every table on a 16-byte boundary, and they do not overlap */
    cr_assert_eq(ACPI_FADT_OFF % 16, 0);
    cr_assert_eq(ACPI_MADT_OFF % 16, 0);
    cr_assert_geq(ACPI_RSDT_OFF, ACPI_FACS_OFF + ACPI_FACS_SIZE);
    cr_assert_geq(ACPI_XSDT_OFF, ACPI_RSDT_OFF + 44);
    cr_assert_geq(ACPI_FADT_OFF, ACPI_XSDT_OFF + 52);
    cr_assert_geq(ACPI_MADT_OFF, ACPI_FADT_OFF + ACPI_FADT_SIZE);
}

Test(acpi, fadt_facs_dsdt)
{
    struct acpi_config c = config(1, 0, NULL);
    build(&c);
    const uint8_t *f = find("FACP");
    cr_assert_eq(rd32(f + 4), ACPI_FADT_SIZE);
    cr_assert_eq(f[8], 6);
    uint32_t flags = rd32(f + 112);
    cr_assert(flags & (1u << 10), "RESET_REG_SUP");
    cr_assert_not(flags & (1u << 20), "not HW_REDUCED_ACPI");
    cr_assert(flags & 1u, "WBINVD");
    cr_assert_eq(rd16(f + 46), 9, "SCI on IRQ 9");
    cr_assert_eq(rd32(f + 48), 0, "no SMI command port");
    cr_assert_eq(rd32(f + 56), ACPI_PM1A_EVT);
    cr_assert_eq(rd32(f + 64), ACPI_PM1A_CNT);
    cr_assert_eq(f[88], 4);
    cr_assert_eq(f[89], 2);
    cr_assert_eq(rd32(f + 76), 0, "no PM timer");
    cr_assert_eq(f[91], 0);
    /* X_ blocks agree with the 32-bit ones: system I/O, width = 8 * length */
    cr_assert_eq(f[148], 1);
    cr_assert_eq(f[149], 32);
    cr_assert_eq(rd64(f + 152), ACPI_PM1A_EVT);
    cr_assert_eq(f[172], 1);
    cr_assert_eq(f[173], 16);
    cr_assert_eq(rd64(f + 176), ACPI_PM1A_CNT);
    /* reset register: I/O, 8 bits, at ACPI_RESET_PORT, value */
    cr_assert_eq(f[116], 1);
    cr_assert_eq(f[117], 8);
    cr_assert_eq(rd64(f + 120), ACPI_RESET_PORT);
    cr_assert_eq(f[128], ACPI_RESET_VALUE);
    /* boot architecture: legacy devices, no 8042, no VGA */
    cr_assert_eq(rd16(f + 109), 0x5);
    cr_assert_eq(f[108], 0x32, "CMOS century register");
    /* FACS: 64-byte aligned, 64 bytes */
    uint32_t facs = rd32(f + 36);
    cr_assert_eq(rd64(f + 132), facs);
    cr_assert_eq(facs % 64, 0);
    const uint8_t *fs = at(facs, 64);
    cr_assert_eq(memcmp(fs, "FACS", 4), 0);
    cr_assert_eq(rd32(fs + 4), 64);
    /* DSDT: the last table, ending where the tables end */
    uint32_t dsdt = rd32(f + 40);
    cr_assert_eq(rd64(f + 140), dsdt);
    const uint8_t *d = table(dsdt, "DSDT");
    cr_assert_eq(dsdt % 16, 0);
    cr_assert_eq(dsdt + rd32(d + 4), ACPI_BASE + built);
}

/* ---- MADT ---- */

static void check_madt(int ncpus)
{
    struct acpi_config c = config(ncpus, 0, NULL);
    build(&c);
    const uint8_t *t = find("APIC");
    uint32_t len = rd32(t + 4);
    cr_assert_eq(len, ACPI_MADT_SIZE(ncpus));
    cr_assert_eq(rd32(t + 36), 0xfee00000u);
    cr_assert_eq(rd32(t + 40), 1, "PCAT_COMPAT");
    int cpus = 0, ioapics = 0, isos = 0, nmis = 0;
    bool irq0 = false, sci = false;
    for (uint32_t off = 44; off < len;) {
        const uint8_t *e = t + off;
        cr_assert_geq(e[1], 2);
        cr_assert_leq(off + e[1], len);
        switch (e[0]) {
        case 0:
            cr_assert_eq(e[1], 8);
            cr_assert_eq(e[2], cpus, "processor UID");
            cr_assert_eq(e[3], cpus, "APIC ID = CPU number");
            cr_assert_eq(rd32(e + 4), 1, "enabled");
            cpus++;
            break;
        case 1:
            cr_assert_eq(e[1], 12);
            cr_assert_eq(e[2], c.ioapic_id);
            cr_assert_eq(rd32(e + 4), 0xfec00000u);
            cr_assert_eq(rd32(e + 8), 0);
            ioapics++;
            break;
        case 2:
            cr_assert_eq(e[1], 10);
            cr_assert_eq(e[2], 0, "ISA bus");
            if (e[3] == 0) {
                cr_assert_eq(rd32(e + 4), 2);
                cr_assert_eq(rd16(e + 8) & 0xc, 0x4, "IRQ0 edge");
                irq0 = true;
            } else if (e[3] == 9) {
                cr_assert_eq(rd32(e + 4), 9);
                cr_assert_eq(rd16(e + 8), 0xd, "SCI level, active high");
                sci = true;
            }
            isos++;
            break;
        case 4:
            cr_assert_eq(e[1], 6);
            cr_assert_eq(e[2], 0xff, "all processors");
            cr_assert_eq(e[5], 1, "LINT1");
            nmis++;
            break;
        default:
            cr_assert_fail("unexpected MADT entry type %u", e[0]);
        }
        off += e[1];
    }
    cr_assert_eq(cpus, ncpus);
    cr_assert_eq(ioapics, 1);
    cr_assert_eq(isos, 2);
    cr_assert(irq0 && sci);
    cr_assert_eq(nmis, 1);
}

Test(acpi, madt_1) { check_madt(1); }
Test(acpi, madt_2) { check_madt(2); }
Test(acpi, madt_4) { check_madt(4); }
Test(acpi, madt_32) { check_madt(32); }
Test(acpi, madt_255) { check_madt(255); }

Test(acpi, bad_configs)
{
    struct acpi_config c = config(0, 0, NULL);
    cr_assert_eq(acpi_size(&c), 0);
    c.ncpus = 256;
    cr_assert_eq(acpi_size(&c), 0);
    c = config(1, ACPI_MAX_VIRTIO + 1, virtio2);
    cr_assert_eq(acpi_size(&c), 0);
    c = config(1, 1, NULL);
    cr_assert_eq(acpi_size(&c), 0);
    struct acpi_virtio_mmio nosize = { 0xfeb00000u, 0, 5, false };
    c = config(1, 1, &nosize);
    cr_assert_eq(acpi_size(&c), 0);
    c = config(2, 0, NULL);
    uint8_t small[64];
    cr_assert_eq(acpi_build(&c, ACPI_BASE, small, sizeof small), 0);
    cr_assert_eq(acpi_build(&c, ACPI_BASE + 8, mem, sizeof mem), 0, "RSDP not 16-aligned");
    /* the largest configuration still fits below the MP table */
    struct acpi_virtio_mmio many[ACPI_MAX_VIRTIO];
    for (int i = 0; i < ACPI_MAX_VIRTIO; i++)
        many[i] = (struct acpi_virtio_mmio){ 0xfeb00000u + 0x200u * (unsigned)i, 0x200,
                                             (uint32_t)(16 + i), false };
    c = config(ACPI_MAX_CPUS, ACPI_MAX_VIRTIO, many);
    cr_assert_gt(acpi_size(&c), 0);
    cr_assert_leq(ACPI_BASE + acpi_size(&c), MPTABLE_BASE);
}

/* In guest RAM: Linux's scan of 0xE0000-0xFFFFF finds the RSDP at
 * ACPI_BASE, and the MP table written after it is intact. */
Test(acpi, written_to_ram_beside_the_mp_table)
{
    struct phys p;
    cr_assert_eq(phys_init(&p, 2u << 20), 0);
    struct acpi_config c = config(4, 2, virtio2);
    cr_assert_eq(acpi_write(&p, &c), 0);
    struct mptable_config mp = {
        .ncpus = 4, .apic_version = 0x14, .lapic_addr = 0xfee00000u, .ioapic_id = 4,
        .ioapic_version = 0x11, .ioapic_addr = 0xfec00000u,
    };
    cr_assert_eq(mptable_write(&p, &mp), 0);
    uint32_t found = 0;
    for (uint32_t a = 0xe0000; a < 0x100000 && !found; a += 16) {
        uint8_t b[20];
        cr_assert_eq(phys_copy_out(&p, a, b, 20), 0);
        if (memcmp(b, "RSD PTR ", 8) == 0 && sum(b, 20) == 0)
            found = a;
    }
    cr_assert_eq(found, ACPI_RSDP_ADDR);
    size_t n = acpi_size(&c);
    uint8_t *copy = malloc(n);
    cr_assert_eq(phys_copy_out(&p, ACPI_BASE, copy, n), 0);
    built = acpi_build(&c, ACPI_BASE, mem, sizeof mem);
    cr_assert_eq(memcmp(copy, mem, n), 0, "the MP table overwrote the ACPI tables");
    free(copy);
    /* too little RAM for the tables: refused */
    c.ram_size = ACPI_BASE + 16;
    cr_assert_eq(acpi_write(&p, &c), -1);
    phys_free(&p);
    struct phys small;
    cr_assert_eq(phys_init(&small, 0xe0000), 0);
    c = config(1, 0, NULL);
    cr_assert_eq(acpi_write(&small, &c), -1);
    phys_free(&small);
}

/* ---- a small AML reader (ACPI 6.4, chapter 20) ---- */

enum { O_INT, O_STR, O_PKG, O_BUF, O_DEV };
struct obj {
    char path[64];              /* absolute, dotted: "\\_SB_.VR00._HID" */
    int type;
    uint64_t ival;
    const uint8_t *data;        /* package: elements; buffer: bytes; string */
    size_t len;                 /* bytes (buffer), element count (package) */
    const uint8_t *end;
};
static struct obj objs[128];
static int nobjs;

/* PkgLength at p: the length it encodes (counting itself), its bytes. */
static size_t pkglen(const uint8_t *p, int *nbytes)
{
    int n = (p[0] >> 6) + 1;
    *nbytes = n;
    if (n == 1)
        return p[0] & 0x3f;
    size_t v = p[0] & 0x0f;
    for (int i = 1; i < n; i++)
        v |= (size_t)p[i] << (4 + 8 * (i - 1));
    return v;
}

/* A NameString at p into an absolute dotted path under scope; bytes. */
static size_t namestring(const uint8_t *p, const char *scope, char *out)
{
    const uint8_t *q = p;
    int nseg;
    strcpy(out, scope);
    if (*q == '\\') {
        strcpy(out, "\\");
        q++;
    }
    if (*q == 0x2e) {
        nseg = 2;
        q++;
    } else if (*q == 0x2f) {
        nseg = q[1];
        q += 2;
    } else if (*q == 0) {
        return (size_t)(q + 1 - p);
    } else {
        nseg = 1;
    }
    for (int i = 0; i < nseg; i++, q += 4) {
        if (strcmp(out, "\\") != 0)
            strcat(out, ".");
        strncat(out, (const char *)q, 4);
    }
    return (size_t)(q - p);
}

/* One data object at p into o; returns the bytes it takes. */
static size_t data_object(const uint8_t *p, struct obj *o)
{
    int n;
    switch (p[0]) {
    case 0x00: o->type = O_INT; o->ival = 0; return 1;
    case 0x01: o->type = O_INT; o->ival = 1; return 1;
    case 0xff: o->type = O_INT; o->ival = ~0ull; return 1;
    case 0x0a: o->type = O_INT; o->ival = p[1]; return 2;
    case 0x0b: o->type = O_INT; o->ival = rd16(p + 1); return 3;
    case 0x0c: o->type = O_INT; o->ival = rd32(p + 1); return 5;
    case 0x0e: o->type = O_INT; o->ival = rd64(p + 1); return 9;
    case 0x0d:
        o->type = O_STR;
        o->data = p + 1;
        o->len = strlen((const char *)p + 1);
        return o->len + 2;
    case 0x12: {
        size_t l = pkglen(p + 1, &n);
        o->type = O_PKG;
        o->len = p[1 + n];
        o->data = p + 2 + n;
        o->end = p + 1 + l;
        return 1 + l;
    }
    case 0x11: {
        size_t l = pkglen(p + 1, &n);
        struct obj size;
        size_t sn = data_object(p + 1 + n, &size);
        cr_assert_eq(size.type, O_INT);
        o->type = O_BUF;
        o->data = p + 1 + n + sn;
        o->len = size.ival;
        cr_assert_eq(o->data + o->len, p + 1 + l, "buffer size and PkgLength disagree");
        return 1 + l;
    }
    default:
        cr_assert_fail("unknown data object opcode %#x", p[0]);
        return 1;
    }
}

static void term_list(const uint8_t *p, const uint8_t *end, const char *scope)
{
    while (p < end) {
        int n;
        char path[64];
        if (p[0] == 0x08) {                             /* Name */
            cr_assert_lt(nobjs, 128);
            struct obj *o = &objs[nobjs++];
            p += 1 + namestring(p + 1, scope, o->path);
            p += data_object(p, o);
        } else if (p[0] == 0x10) {                      /* Scope */
            size_t l = pkglen(p + 1, &n);
            const uint8_t *body_end = p + 1 + l;
            const uint8_t *q = p + 1 + n;
            q += namestring(q, scope, path);
            term_list(q, body_end, path);
            p = body_end;
        } else if (p[0] == 0x5b && p[1] == 0x82) {      /* Device */
            size_t l = pkglen(p + 2, &n);
            const uint8_t *body_end = p + 2 + l;
            const uint8_t *q = p + 2 + n;
            cr_assert_lt(nobjs, 128);
            struct obj *o = &objs[nobjs++];
            q += namestring(q, scope, o->path);
            o->type = O_DEV;
            strcpy(path, o->path);
            term_list(q, body_end, path);
            p = body_end;
        } else {
            cr_assert_fail("unknown term opcode %#x", p[0]);
        }
        cr_assert_leq(p, end, "object runs past its scope");
    }
}

static const struct obj *lookup(const char *path)
{
    for (int i = 0; i < nobjs; i++)
        if (strcmp(objs[i].path, path) == 0)
            return &objs[i];
    return NULL;
}

/* Parse the DSDT of the tables in mem. */
static void parse_dsdt(void)
{
    const uint8_t *f = find("FACP");
    const uint8_t *d = table(rd32(f + 40), "DSDT");
    nobjs = 0;
    term_list(d + ACPI_HDR_SIZE, d + rd32(d + 4), "\\");
}

static uint64_t pkg_int(const struct obj *o, size_t i)
{
    cr_assert_eq(o->type, O_PKG);
    cr_assert_lt(i, o->len);
    const uint8_t *p = o->data;
    struct obj e;
    for (size_t k = 0;; k++) {
        p += data_object(p, &e);
        cr_assert_leq(p, o->end);
        if (k == i)
            break;
    }
    cr_assert_eq(e.type, O_INT);
    return e.ival;
}

Test(acpi, dsdt_s5_bytes)
{
    /* Name(\_S5, Package(4){5, 5, 0, 0}) by hand from the spec: NameOp,
     * RootChar, NameSeg, PackageOp, PkgLength (8 bytes: itself,
     * NumElements, 2 + 2 + 1 + 1), NumElements, BytePrefix 5 twice,
     * ZeroOp twice. */
    static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04,
                                  0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
    static const uint8_t s0[] = { 0x08, '\\', '_', 'S', '0', '_', 0x12, 0x06, 0x04,
                                  0x00, 0x00, 0x00, 0x00 };
    struct acpi_config c = config(1, 0, NULL);
    build(&c);
    const uint8_t *d = table(rd32(find("FACP") + 40), "DSDT");
    cr_assert_eq(rd32(d + 4), ACPI_HDR_SIZE + sizeof s0 + sizeof s5,
                 "no virtio window: the DSDT holds \\_S0 and \\_S5 only");
    cr_assert_eq(memcmp(d + ACPI_HDR_SIZE, s0, sizeof s0), 0);
    cr_assert_eq(memcmp(d + ACPI_HDR_SIZE + sizeof s0, s5, sizeof s5), 0);
}

Test(acpi, dsdt_parsed)
{
    struct acpi_config c = config(2, 2, virtio2);
    build(&c);
    parse_dsdt();
    const struct obj *s5 = lookup("\\_S5_");
    cr_assert_not_null(s5);
    cr_assert_eq(s5->len, 4);
    cr_assert_eq(pkg_int(s5, 0), ACPI_SLP_TYP_S5);
    cr_assert_eq(pkg_int(s5, 1), ACPI_SLP_TYP_S5);
    const struct obj *s0 = lookup("\\_S0_");
    cr_assert_not_null(s0);
    cr_assert_eq(pkg_int(s0, 0), 0);
    for (int i = 0; i < 2; i++) {
        char path[64];
        snprintf(path, sizeof path, "\\_SB_.VR%02X", i);
        const struct obj *dev = lookup(path);
        cr_assert_not_null(dev, "%s", path);
        cr_assert_eq(dev->type, O_DEV);
        snprintf(path, sizeof path, "\\_SB_.VR%02X._HID", i);
        const struct obj *hid = lookup(path);
        cr_assert_not_null(hid);
        cr_assert_eq(hid->type, O_STR);
        cr_assert_str_eq((const char *)hid->data, "LNRO0005");
        snprintf(path, sizeof path, "\\_SB_.VR%02X._UID", i);
        const struct obj *uid = lookup(path);
        cr_assert_not_null(uid);
        cr_assert_eq(uid->type, O_INT);
        cr_assert_eq(uid->ival, (uint64_t)i);
        snprintf(path, sizeof path, "\\_SB_.VR%02X._CRS", i);
        const struct obj *crs = lookup(path);
        cr_assert_not_null(crs);
        cr_assert_eq(crs->type, O_BUF);
        cr_assert_eq(crs->len, 12 + 9 + 2);
        const uint8_t *r = crs->data;
        /* Memory32Fixed(ReadWrite, base, size) */
        cr_assert_eq(r[0], 0x86);
        cr_assert_eq(rd16(r + 1), 9);
        cr_assert_eq(r[3], 1);
        cr_assert_eq(rd32(r + 4), virtio2[i].base);
        cr_assert_eq(rd32(r + 8), virtio2[i].size);
        /* Interrupt(ResourceConsumer, Level/Edge, ActiveHigh, Exclusive) {gsi} */
        r += 12;
        cr_assert_eq(r[0], 0x89);
        cr_assert_eq(rd16(r + 1), 6);
        cr_assert_eq(r[3], virtio2[i].edge ? 0x03 : 0x01);
        cr_assert_eq(r[4], 1);
        cr_assert_eq(rd32(r + 5), virtio2[i].gsi);
        /* End tag */
        cr_assert_eq(r[9], 0x79);
        cr_assert_eq(r[10], 0);
    }
    cr_assert_null(lookup("\\_SB_.VR02"));
    cr_assert_eq(nobjs, 2 + 2 * 4);
}

/* 16 devices: the \_SB scope is longer than 63 bytes and needs a
 * multi-byte PkgLength; the reader still finds every device. */
Test(acpi, dsdt_many_devices)
{
    struct acpi_virtio_mmio many[ACPI_MAX_VIRTIO];
    for (int i = 0; i < ACPI_MAX_VIRTIO; i++)
        many[i] = (struct acpi_virtio_mmio){ 0xd0000000u + 0x1000u * (unsigned)i, 0x1000,
                                             (uint32_t)(5 + i), false };
    struct acpi_config c = config(4, ACPI_MAX_VIRTIO, many);
    build(&c);
    parse_dsdt();
    cr_assert_eq(nobjs, 2 + 4 * ACPI_MAX_VIRTIO);
    const struct obj *crs = lookup("\\_SB_.VR0F._CRS");
    cr_assert_not_null(crs);
    cr_assert_eq(rd32(crs->data + 4), 0xd000f000u);
    cr_assert_eq(rd32(crs->data + 12 + 5), 20);
}

/* ---- the encoder's pieces ---- */

static size_t enc(void (*f)(struct aml *, uint64_t), uint64_t v, uint8_t *out)
{
    struct aml a;
    aml_init(&a, out, 16);
    f(&a, v);
    cr_assert_not(a.overflow);
    return a.len;
}

Test(aml, integers)
{
    uint8_t b[16];
    cr_assert_eq(enc(aml_integer, 0, b), 1); cr_assert_eq(b[0], 0x00);
    cr_assert_eq(enc(aml_integer, 1, b), 1); cr_assert_eq(b[0], 0x01);
    cr_assert_eq(enc(aml_integer, ~0ull, b), 1); cr_assert_eq(b[0], 0xff);
    cr_assert_eq(enc(aml_integer, 2, b), 2); cr_assert_eq(b[0], 0x0a); cr_assert_eq(b[1], 2);
    cr_assert_eq(enc(aml_integer, 0xff, b), 2);
    cr_assert_eq(enc(aml_integer, 0x100, b), 3); cr_assert_eq(b[0], 0x0b); cr_assert_eq(rd16(b + 1), 0x100);
    cr_assert_eq(enc(aml_integer, 0x10000, b), 5); cr_assert_eq(b[0], 0x0c);
    cr_assert_eq(enc(aml_integer, 0xfeb00000u, b), 5); cr_assert_eq(rd32(b + 1), 0xfeb00000u);
    cr_assert_eq(enc(aml_integer, 1ull << 32, b), 9); cr_assert_eq(b[0], 0x0e);
    cr_assert_eq(rd64(b + 1), 1ull << 32);
}

Test(aml, pkglength)
{
    uint8_t b[4];
    /* one byte up to 63 (counting itself) */
    cr_assert_eq(aml_pkglength(0, b), 1); cr_assert_eq(b[0], 1);
    cr_assert_eq(aml_pkglength(62, b), 1); cr_assert_eq(b[0], 63);
    /* 63 bytes of body: 65 in two bytes, lead 0x40 | (65 & 15), then 65 >> 4 */
    cr_assert_eq(aml_pkglength(63, b), 2); cr_assert_eq(b[0], 0x41); cr_assert_eq(b[1], 0x04);
    cr_assert_eq(aml_pkglength(4093, b), 2);           /* 4095 */
    cr_assert_eq(b[0], 0x4f); cr_assert_eq(b[1], 0xff);
    cr_assert_eq(aml_pkglength(4094, b), 3);           /* 4097 */
    cr_assert_eq(b[0], 0x81); cr_assert_eq(b[1], 0x00); cr_assert_eq(b[2], 0x01);
    cr_assert_eq(aml_pkglength((1u << 20) - 4, b), 3);
    cr_assert_eq(aml_pkglength((1u << 20) - 3, b), 4); cr_assert_eq(b[0] >> 6, 3);
    cr_assert_eq(aml_pkglength(1u << 28, b), 0);
}

Test(aml, namestrings)
{
    uint8_t b[32];
    struct aml a;
    aml_init(&a, b, sizeof b);
    aml_namestring(&a, "\\_SB.VR00");
    static const uint8_t want[] = { 0x5c, 0x2e, '_', 'S', 'B', '_', 'V', 'R', '0', '0' };
    cr_assert_eq(a.len, sizeof want);
    cr_assert_eq(memcmp(b, want, sizeof want), 0);
    aml_init(&a, b, sizeof b);
    aml_namestring(&a, "A.B.C");
    cr_assert_eq(a.len, 2 + 12);
    cr_assert_eq(b[0], 0x2f);
    cr_assert_eq(b[1], 3);
    cr_assert_eq(memcmp(b + 2, "A___B___C___", 12), 0);
    const char *bad[] = { "1ABC", "ABCDE", "A..B", "A.", "a", "\\_S5.", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        aml_init(&a, b, sizeof b);
        aml_namestring(&a, bad[i]);
        if (bad[i][0] == 0)
            cr_assert(!a.overflow && a.len == 1 && b[0] == 0, "\"\" is NullName");
        else
            cr_assert(a.overflow, "\"%s\" accepted", bad[i]);
    }
}

Test(aml, overflow_and_unbalanced)
{
    uint8_t b[8];
    struct aml a;
    aml_init(&a, b, sizeof b);
    aml_name(&a, "\\_S5");
    aml_integer(&a, 0x12345678);        /* 6 + 5 > 8 */
    cr_assert(a.overflow);
    aml_init(&a, b, sizeof b);
    aml_end(&a);
    cr_assert(a.overflow, "aml_end without an open object");
    /* a buffer: PkgLength covers BufferSize and the bytes */
    uint8_t c[16];
    aml_init(&a, c, sizeof c);
    aml_buffer_begin(&a);
    aml_res_end(&a);
    aml_end(&a);
    static const uint8_t want[] = { 0x11, 0x05, 0x0a, 0x02, 0x79, 0x00 };
    cr_assert_eq(a.len, sizeof want);
    cr_assert_eq(memcmp(c, want, sizeof want), 0);
}

/* ---- the PM registers ---- */

struct events { int poweroff, reset; };
static void on_event(void *ctx, enum acpi_pm_event ev)
{
    struct events *e = ctx;
    if (ev == ACPI_PM_POWER_OFF)
        e->poweroff++;
    else
        e->reset++;
}

Test(acpi_pm, sleep_s5_word_write)
{
    struct acpi_pm pm;
    struct events ev = { 0, 0 };
    struct iobus bus;
    iobus_init(&bus);
    acpi_pm_init(&pm, ACPI_SLP_TYP_S5, on_event, &ev);
    cr_assert_eq(acpi_pm_register(&pm, &bus), 0);
    cr_assert_eq(iobus_in(&bus, ACPI_PM1A_CNT, 2), ACPI_PM1_SCI_EN, "always in ACPI mode");
    /* Linux's acpi_hw_legacy_sleep: SLP_TYP first, then SLP_TYP | SLP_EN */
    uint16_t typ = (uint16_t)(ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT);
    iobus_out(&bus, ACPI_PM1A_CNT, 2, typ | ACPI_PM1_SCI_EN);
    cr_assert_eq(ev.poweroff, 0);
    cr_assert_eq(iobus_in(&bus, ACPI_PM1A_CNT, 2), typ | ACPI_PM1_SCI_EN);
    iobus_out(&bus, ACPI_PM1A_CNT, 2, typ | ACPI_PM1_SLP_EN | ACPI_PM1_SCI_EN);
    cr_assert_eq(ev.poweroff, 1);
    cr_assert_eq(ev.reset, 0);
    cr_assert_eq(iobus_in(&bus, ACPI_PM1A_CNT, 2) & ACPI_PM1_SLP_EN, 0, "SLP_EN reads 0");
}

Test(acpi_pm, sleep_s5_byte_write_and_other_types)
{
    struct acpi_pm pm;
    struct events ev = { 0, 0 };
    acpi_pm_init(&pm, ACPI_SLP_TYP_S5, on_event, &ev);
    /* another sleep type with SLP_EN: ignored */
    acpi_pm_io_write(&pm, ACPI_PM1A_CNT, 2, (1u << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
    acpi_pm_io_write(&pm, ACPI_PM1A_CNT, 2, ACPI_PM1_SLP_EN);
    cr_assert_eq(ev.poweroff, 0);
    /* the low byte alone never powers off */
    acpi_pm_io_write(&pm, ACPI_PM1A_CNT, 1, 0xff);
    cr_assert_eq(ev.poweroff, 0);
    /* the high byte carries SLP_TYP and SLP_EN */
    acpi_pm_io_write(&pm, ACPI_PM1A_CNT + 1, 1,
                     ((ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN) >> 8);
    cr_assert_eq(ev.poweroff, 1);
}

Test(acpi_pm, status_enable_reset)
{
    struct acpi_pm pm;
    struct events ev = { 0, 0 };
    struct iobus bus;
    iobus_init(&bus);
    acpi_pm_init(&pm, ACPI_SLP_TYP_S5, on_event, &ev);
    cr_assert_eq(acpi_pm_register(&pm, &bus), 0);
    cr_assert_eq(iobus_in(&bus, ACPI_PM1A_EVT, 2), 0, "no status bit set");
    iobus_out(&bus, ACPI_PM1A_EVT, 2, 0xffff);          /* write-1-to-clear */
    cr_assert_eq(iobus_in(&bus, ACPI_PM1A_EVT, 2), 0);
    iobus_out(&bus, ACPI_PM1A_EVT + 2, 2, 0xffff);
    cr_assert_eq(iobus_in(&bus, ACPI_PM1A_EVT + 2, 2), ACPI_PM1_EN_MASK);
    /* a dword at the event block: status low, enable high (split by the bus) */
    cr_assert_eq(iobus_in(&bus, ACPI_PM1A_EVT, 4), (uint32_t)ACPI_PM1_EN_MASK << 16);
    iobus_out(&bus, ACPI_PM1A_EVT + 2, 1, 0);
    cr_assert_eq(iobus_in(&bus, ACPI_PM1A_EVT + 2, 2), ACPI_PM1_EN_MASK & 0xff00);
    /* reset register: only the FADT's value resets */
    iobus_out(&bus, ACPI_RESET_PORT, 1, 0x02);
    cr_assert_eq(ev.reset, 0);
    cr_assert_eq(iobus_in(&bus, ACPI_RESET_PORT, 1), 0);
    iobus_out(&bus, ACPI_RESET_PORT, 1, ACPI_RESET_VALUE);
    cr_assert_eq(ev.reset, 1);
    cr_assert_eq(ev.poweroff, 0);
    /* the ports between the blocks stay unassigned */
    cr_assert_eq(iobus_in(&bus, ACPI_PM1A_CNT + 2, 1), 0xff);
}

/* ---- the reset-vector stub ---- */

Test(resetvec, bytes_and_ram)
{
    /* mov dx, 0x608; mov al, 6; out dx, al; cli; hlt; jmp -3 (to the hlt) */
    static const uint8_t want[RESETVEC_SIZE] = { 0xba, 0x08, 0x06, 0xb0, 0x06, 0xee, 0xfa, 0xf4,
                                                 0xeb, 0xfd };
    uint8_t b[RESETVEC_SIZE];
    resetvec_build(0x608, 6, b);
    cr_assert_eq(memcmp(b, want, sizeof want), 0);
    struct phys p;
    cr_assert_eq(phys_init(&p, 1u << 20), 0);
    cr_assert_eq(resetvec_write(&p, ACPI_RESET_PORT, ACPI_RESET_VALUE), 0);
    cr_assert_eq(phys_copy_out(&p, RESETVEC_ADDR, b, sizeof b), 0);
    cr_assert_eq(b[0], 0xba);
    cr_assert_eq(b[1] | b[2] << 8, ACPI_RESET_PORT);
    cr_assert_eq(b[4], ACPI_RESET_VALUE);
    phys_free(&p);
    cr_assert_eq(phys_init(&p, 0xf0000), 0);
    cr_assert_eq(resetvec_write(&p, ACPI_RESET_PORT, ACPI_RESET_VALUE), -1);
    phys_free(&p);
}
