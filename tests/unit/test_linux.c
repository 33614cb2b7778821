/* test_linux.c - the Linux boot protocol loader (src/boot/linux.c) on
 * bzImages built byte by byte here: where the protected-mode part, the
 * initrd, the command line and the zero page go, the zero page's fields
 * (setup header copied, loader type, ramdisk, cmdline pointer, RSDP, e820
 * map), and the one-line errors for malformed, truncated, too old or too
 * large kernels, initrds that do not fit and over-long command lines. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/le.h"
#include "boot/linux.h"
#include "io/imagefile.h"
#include "mem/phys.h"

#define MIB (1u << 20)

/* A bzImage: 4 setup sectors + boot sector, then `pm` bytes of
 * "protected-mode kernel" (a byte pattern). Protocol 2.15, relocatable,
 * preferred address 16 MiB, init_size `init`. */
#define SETUP_SECTS 4
#define SETUP_LEN ((SETUP_SECTS + 1) * 512)

static uint8_t *bzimage(size_t pm, uint32_t init, size_t *len)
{
    *len = SETUP_LEN + pm;
    uint8_t *b = calloc(1, *len);
    b[LH_SETUP_SECTS] = SETUP_SECTS;
    le_wr16(b + LH_BOOT_FLAG, 0xaa55);
    b[LH_JUMP] = 0xeb;
    b[LH_JUMP + 1] = 0x6a;                         /* header ends at 0x26c */
    memcpy(b + LH_HEADER, "HdrS", 4);
    le_wr16(b + LH_VERSION, 0x020f);
    b[LH_LOADFLAGS] = LINUX_LOADED_HIGH;
    le_wr32(b + LH_CODE32_START, 0x100000);
    le_wr32(b + LH_INITRD_ADDR_MAX, 0x7fffffff);
    le_wr32(b + LH_KERNEL_ALIGN, 0x2000);
    b[LH_RELOCATABLE] = 1;
    le_wr32(b + LH_CMDLINE_SIZE, 2047);
    le_wr32(b + LH_PREF_ADDRESS, 16 * MIB);
    le_wr32(b + LH_INIT_SIZE, init);
    for (size_t i = 0; i < pm; i++)
        b[SETUP_LEN + i] = (uint8_t)(i * 7 + 1);
    return b;
}

static const struct e820_entry map[] = {
    { 0, 0x9fc00, 1 },
    { 0x100000, 63 * MIB, 1 },
};

static struct phys p;
static char err[512];

static void setup(void)
{
    cr_assert_eq(phys_init(&p, 64 * MIB), 0);
    err[0] = 0;
}

static void teardown(void)
{
    phys_free(&p);
}

static int load(const uint8_t *k, size_t klen, const uint8_t *ird, size_t irdlen,
                const char *cmdline, struct linux_boot *out)
{
    struct image_file kf, rf;
    image_from_memory(&kf, "bz", k, klen);
    image_from_memory(&rf, "rd", ird, irdlen);
    struct linux_params lp = { .cmdline = cmdline, .rsdp_addr = 0xe0000, .e820 = map,
                               .ne820 = 2 };
    return linux_load(&p, &kf, ird ? &rf : NULL, &lp, out, err, sizeof err);
}

TestSuite(linux_boot, .init = setup, .fini = teardown);

Test(linux_boot, recognises_the_setup_header)
{
    size_t len;
    uint8_t *k = bzimage(4096, 8 * MIB, &len);
    cr_assert(linux_is_kernel(k, len));
    k[LH_HEADER] = 'X';
    cr_assert(!linux_is_kernel(k, len));
    cr_assert(!linux_is_kernel(k, LH_HEADER + 3));
    free(k);
}

Test(linux_boot, loads_kernel_initrd_cmdline_and_zero_page)
{
    size_t len;
    uint8_t *k = bzimage(10000, 8 * MIB, &len);
    uint8_t rd[5000];
    for (size_t i = 0; i < sizeof rd; i++)
        rd[i] = (uint8_t)(i ^ 0x5a);
    struct linux_boot b;
    cr_assert_eq(load(k, len, rd, sizeof rd, "console=ttyS0 quiet", &b), 0, "%s", err);
    cr_assert_eq(b.entry, LINUX_KERNEL_ADDR);
    cr_assert_eq(b.params, LINUX_PARAMS_ADDR);
    cr_assert_eq(b.version, 0x020f);
    /* the protected-mode part at 1 MiB, byte for byte */
    cr_assert_eq(memcmp(p.ram + LINUX_KERNEL_ADDR, k + SETUP_LEN, 10000), 0);
    /* the initrd at the top of RAM, page aligned, above where the kernel
     * decompresses (16 MiB + 8 MiB) */
    cr_assert_eq(b.initrd_addr, (64 * MIB - sizeof rd) & ~0xfffu);
    cr_assert_eq(b.extract_end, 24 * MIB);
    cr_assert_eq(memcmp(p.ram + b.initrd_addr, rd, sizeof rd), 0);
    /* zero page */
    const uint8_t *bp = p.ram + LINUX_PARAMS_ADDR;
    cr_assert_eq(memcmp(bp + LH_HEADER, "HdrS", 4), 0, "setup header copied");
    cr_assert_eq(bp[LH_TYPE_OF_LOADER], 0xff);
    cr_assert_eq(le_rd32(p.ram + (LINUX_PARAMS_ADDR + LH_RAMDISK_IMAGE)), b.initrd_addr);
    cr_assert_eq(le_rd32(p.ram + (LINUX_PARAMS_ADDR + LH_RAMDISK_SIZE)), sizeof rd);
    cr_assert_eq(le_rd32(p.ram + (LINUX_PARAMS_ADDR + LH_CMD_LINE_PTR)), LINUX_CMDLINE_ADDR);
    cr_assert_str_eq((const char *)p.ram + LINUX_CMDLINE_ADDR, "console=ttyS0 quiet");
    cr_assert_eq(le_rd32(p.ram + (LINUX_PARAMS_ADDR + BP_ACPI_RSDP_ADDR)), 0xe0000);
    cr_assert_eq(bp[BP_E820_ENTRIES], 2);
    cr_assert_eq(le_rd32(p.ram + (LINUX_PARAMS_ADDR + BP_E820_TABLE + 20 + 0)), 0x100000);
    cr_assert_eq(le_rd32(p.ram + (LINUX_PARAMS_ADDR + BP_E820_TABLE + 20 + 8)), 63 * MIB);
    cr_assert_eq(le_rd32(p.ram + (LINUX_PARAMS_ADDR + BP_E820_TABLE + 20 + 16)), 1);
    /* the boot GDT: 0x10 flat code, 0x18 flat data */
    cr_assert_eq(le_rd32(p.ram + (LINUX_GDT_ADDR + 0x10 + 4)), 0x00cf9b00);
    cr_assert_eq(le_rd32(p.ram + (LINUX_GDT_ADDR + 0x18 + 4)), 0x00cf9300);
    free(k);
}

Test(linux_boot, no_initrd_leaves_ramdisk_fields_zero)
{
    size_t len;
    uint8_t *k = bzimage(512, 8 * MIB, &len);
    struct linux_boot b;
    cr_assert_eq(load(k, len, NULL, 0, NULL, &b), 0, "%s", err);
    cr_assert_eq(le_rd32(p.ram + (LINUX_PARAMS_ADDR + LH_RAMDISK_IMAGE)), 0);
    cr_assert_eq(le_rd32(p.ram + (LINUX_PARAMS_ADDR + LH_RAMDISK_SIZE)), 0);
    cr_assert_eq(p.ram[LINUX_CMDLINE_ADDR], 0);
    free(k);
}

/* Each rejected image: status -1, one line naming the file. */
static void rejected(const uint8_t *k, size_t len, const char *what)
{
    struct linux_boot b;
    memset(p.ram + LINUX_KERNEL_ADDR, 0xcc, 16);
    cr_assert_eq(load(k, len, NULL, 0, NULL, &b), -1, "accepted: %s", what);
    cr_assert(strncmp(err, "bz: ", 4) == 0, "%s", err);
    cr_assert(strstr(err, what), "'%s' lacks '%s'", err, what);
    cr_assert(!strchr(err, '\n'));
    cr_assert_eq(p.ram[LINUX_KERNEL_ADDR], 0xcc, "nothing written");
}

Test(linux_boot, rejects_malformed_images)
{
    size_t len;
    uint8_t *k = bzimage(4096, 8 * MIB, &len);
    rejected(k, 700, "truncated");
    rejected(k, SETUP_LEN, "truncated");
    k[LH_BOOT_FLAG] = 0;
    rejected(k, len, "boot flag");
    k[LH_BOOT_FLAG] = 0x55;
    le_wr16(k + LH_VERSION, 0x0204);
    rejected(k, len, "too old");
    le_wr16(k + LH_VERSION, 0x020f);
    k[LH_LOADFLAGS] = 0;
    rejected(k, len, "zImage");
    k[LH_LOADFLAGS] = LINUX_LOADED_HIGH;
    k[LH_JUMP + 1] = 0x10;
    rejected(k, len, "setup header ends");
    k[LH_JUMP + 1] = 0x6a;
    le_wr32(k + LH_INIT_SIZE, 100);
    rejected(k, len, "init_size");
    le_wr32(k + LH_INIT_SIZE, 60 * MIB);
    rejected(k, len, "needs 76 MiB");
    free(k);
}

Test(linux_boot, rejects_initrd_and_cmdline_that_do_not_fit)
{
    size_t len;
    uint8_t *k = bzimage(4096, 8 * MIB, &len);
    struct linux_boot b;
    static uint8_t big[41 * MIB];
    cr_assert_eq(load(k, len, big, sizeof big, NULL, &b), -1);
    cr_assert(strncmp(err, "rd: initrd of", 13) == 0, "%s", err);
    cr_assert_eq(load(k, len, big, 40 * MIB, NULL, &b), 0, "%s", err);
    char cl[3000];
    memset(cl, 'a', sizeof cl - 1);
    cl[sizeof cl - 1] = 0;
    cr_assert_eq(load(k, len, NULL, 0, cl, &b), -1);
    cr_assert(strstr(err, "command line of 2999 bytes"), "%s", err);
    cl[2047] = 0;
    cr_assert_eq(load(k, len, NULL, 0, cl, &b), 0, "%s", err);
    /* initrd_addr_max below RAM's end: the initrd ends under it */
    le_wr32(k + LH_INITRD_ADDR_MAX, 48 * MIB - 1);
    cr_assert_eq(load(k, len, big, 4096, NULL, &b), 0, "%s", err);
    cr_assert_eq(b.initrd_addr, 48 * MIB - 4096);
    free(k);
}
