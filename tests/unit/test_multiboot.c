/* test_multiboot.c - the Multiboot v1 loader on ELF images built byte by
 * byte here: segment placement, bss zeroing, the multiboot_info fields,
 * memory map, strings, module 0, the a.out kludge, and the rejection of
 * malformed images with a message naming the kernel. */
#include <criterion/criterion.h>
#include <string.h>

#include "io/multiboot.h"
#include "mem/phys.h"

#define RAM (4u << 20)

static void put16(uint8_t *b, uint32_t off, uint16_t v)
{
    b[off] = (uint8_t)v;
    b[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, uint32_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const struct phys *p, uint32_t addr)
{
    const uint8_t *b = p->ram + addr;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* A two-segment ELF32 i386 executable:
 *   0x00  ELF header
 *   0x40  text (64 bytes, Multiboot header first) -> paddr 0x100000
 *   0x80  data (16 bytes, memsz 0x2000)           -> paddr 0x101000
 *   0x90  two program headers
 * Entry 0x100010. */
#define TEXT_OFF 0x40
#define DATA_OFF 0x80
#define PH_OFF 0x90
#define ELF_LEN (PH_OFF + 2 * 32)

struct img {
    uint8_t b[ELF_LEN];
    size_t len;
};

static void phdr(uint8_t *b, int i, uint32_t off, uint32_t vaddr, uint32_t paddr,
                 uint32_t filesz, uint32_t memsz)
{
    uint32_t o = PH_OFF + 32u * (uint32_t)i;
    put32(b, o + 0, 1);         /* PT_LOAD */
    put32(b, o + 4, off);
    put32(b, o + 8, vaddr);
    put32(b, o + 12, paddr);
    put32(b, o + 16, filesz);
    put32(b, o + 20, memsz);
    put32(b, o + 24, 7);        /* RWX */
    put32(b, o + 28, 0x1000);
}

static void mb_header(uint8_t *b, uint32_t off, uint32_t flags)
{
    put32(b, off, MULTIBOOT_HEADER_MAGIC);
    put32(b, off + 4, flags);
    put32(b, off + 8, 0u - MULTIBOOT_HEADER_MAGIC - flags);
}

static void build_elf(struct img *im)
{
    uint8_t *b = im->b;
    memset(b, 0, sizeof(im->b));
    memcpy(b, "\177ELF", 4);
    b[4] = 1;                   /* ELFCLASS32 */
    b[5] = 1;                   /* little-endian */
    b[6] = 1;                   /* EV_CURRENT */
    put16(b, 16, 2);            /* ET_EXEC */
    put16(b, 18, 3);            /* EM_386 */
    put32(b, 20, 1);
    put32(b, 24, 0x100010);     /* e_entry */
    put32(b, 28, PH_OFF);       /* e_phoff */
    put32(b, 32, 0);            /* e_shoff */
    put16(b, 40, 52);           /* e_ehsize */
    put16(b, 42, 32);           /* e_phentsize */
    put16(b, 44, 2);            /* e_phnum */
    put16(b, 46, 40);           /* e_shentsize */
    mb_header(b, TEXT_OFF, 0x00000003);
    for (int i = 12; i < 64; i++)
        b[TEXT_OFF + i] = (uint8_t)(0x90 + i); /* recognisable text */
    memcpy(b + DATA_OFF, "data segment....", 16);
    phdr(b, 0, TEXT_OFF, 0x100000, 0x100000, 64, 64);
    phdr(b, 1, DATA_OFF, 0x101000, 0x101000, 16, 0x2000);
    im->len = ELF_LEN;
}

struct fix {
    struct phys p;
    struct mb_boot boot;
    char err[512];
};

static void fix_init(struct fix *f)
{
    memset(f, 0, sizeof(*f));
    cr_assert_eq(phys_init(&f->p, RAM), 0);
    memset(f->p.ram, 0xaa, RAM);  /* to see what is zeroed */
}

static int load(struct fix *f, const struct img *im, const char *initrd, const char *cmdline)
{
    struct mb_input in = {
        .name = "k.elf", .image = im->b, .image_len = im->len,
        .initrd = (const uint8_t *)initrd, .initrd_len = initrd ? strlen(initrd) : 0,
        .initrd_name = initrd ? "initrd.img" : NULL, .cmdline = cmdline,
    };
    return multiboot_load(&f->p, &in, &f->boot, f->err, sizeof(f->err));
}

static void expect_reject(struct img *im, const char *what)
{
    struct fix f;
    fix_init(&f);
    cr_assert_eq(load(&f, im, NULL, NULL), -1, "accepted");
    cr_assert_eq(strncmp(f.err, "k.elf: ", 7), 0, "'%s' does not name the kernel", f.err);
    cr_assert_not_null(strstr(f.err, what), "'%s' lacks '%s'", f.err, what);
    phys_free(&f.p);
}

Test(multiboot, loads_segments_and_zeroes_bss)
{
    struct img im;
    struct fix f;
    build_elf(&im);
    fix_init(&f);
    cr_assert_eq(load(&f, &im, NULL, "console=ttyS0"), 0, "%s", f.err);
    cr_assert_eq(memcmp(f.p.ram + 0x100000, im.b + TEXT_OFF, 64), 0);
    cr_assert_eq(memcmp(f.p.ram + 0x101000, "data segment....", 16), 0);
    for (uint32_t a = 0x101010; a < 0x103000; a++)
        cr_assert_eq(f.p.ram[a], 0, "bss at %x", a);
    cr_assert_eq(f.p.ram[0x100040], 0xaa, "nothing past the text's memsz");
    cr_assert_eq(f.boot.entry, 0x100010);
    cr_assert_eq(f.boot.eax, MULTIBOOT_BOOT_MAGIC);
    cr_assert_eq(f.boot.kernel_start, 0x100000);
    cr_assert_eq(f.boot.kernel_end, 0x103000);
    phys_free(&f.p);
}

Test(multiboot, info_structure)
{
    struct img im;
    struct fix f;
    build_elf(&im);
    fix_init(&f);
    cr_assert_eq(load(&f, &im, "INITRD-CONTENTS", "root=/dev/ram0 quiet"), 0, "%s", f.err);
    uint32_t mbi = f.boot.ebx;
    cr_assert_eq(mbi, f.boot.info_addr);
    cr_assert(mbi >= f.boot.kernel_end, "info above the kernel");
    cr_assert_eq(mbi % 4, 0);
    uint32_t flags = get32(&f.p, mbi + MBI_OFF_FLAGS);
    cr_assert_eq(flags, MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER);
    cr_assert_eq(get32(&f.p, mbi + MBI_OFF_MEM_LOWER), 640);
    cr_assert_eq(get32(&f.p, mbi + MBI_OFF_MEM_UPPER), (RAM - 0x100000) / 1024);
    cr_assert_str_eq((char *)f.p.ram + get32(&f.p, mbi + MBI_OFF_CMDLINE), "root=/dev/ram0 quiet");
    cr_assert_str_eq((char *)f.p.ram + get32(&f.p, mbi + MBI_OFF_LOADER_NAME), "vsmp");
    cr_assert_eq(get32(&f.p, mbi + 12), 0, "no boot_device");

    /* memory map: [0,640K) RAM, [640K,1M) reserved, [1M,end) RAM */
    uint32_t mm = get32(&f.p, mbi + MBI_OFF_MMAP_ADDR);
    cr_assert_eq(get32(&f.p, mbi + MBI_OFF_MMAP_LENGTH), 3 * 24);
    const uint32_t want[3][4] = {
        { 0, 0xa0000, 1 }, { 0xa0000, 0x60000, 2 }, { 0x100000, RAM - 0x100000, 1 },
    };
    for (int i = 0; i < 3; i++) {
        uint32_t e = mm + 24u * (uint32_t)i;
        cr_assert_eq(get32(&f.p, e), 20);
        cr_assert_eq(get32(&f.p, e + 4), want[i][0]);
        cr_assert_eq(get32(&f.p, e + 8), 0);
        cr_assert_eq(get32(&f.p, e + 12), want[i][1]);
        cr_assert_eq(get32(&f.p, e + 16), 0);
        cr_assert_eq(get32(&f.p, e + 20), want[i][2]);
    }

    /* module 0 */
    cr_assert_eq(get32(&f.p, mbi + MBI_OFF_MODS_COUNT), 1);
    uint32_t mods = get32(&f.p, mbi + MBI_OFF_MODS_ADDR);
    uint32_t start = get32(&f.p, mods), end = get32(&f.p, mods + 4);
    cr_assert_eq(start % 4096, 0, "module page aligned");
    cr_assert(start >= f.boot.kernel_end);
    cr_assert_eq(end - start, strlen("INITRD-CONTENTS"));
    cr_assert_eq(memcmp(f.p.ram + start, "INITRD-CONTENTS", end - start), 0);
    cr_assert_str_eq((char *)f.p.ram + get32(&f.p, mods + 8), "initrd.img");
    cr_assert_eq(get32(&f.p, mods + 12), 0);
    cr_assert(f.boot.free_addr >= end && f.boot.free_addr <= RAM);
    /* nothing overlaps the info block */
    cr_assert(mm >= mbi + MBI_SIZE);
    phys_free(&f.p);
}

Test(multiboot, no_initrd_no_cmdline)
{
    struct img im;
    struct fix f;
    build_elf(&im);
    fix_init(&f);
    cr_assert_eq(load(&f, &im, NULL, NULL), 0, "%s", f.err);
    uint32_t mbi = f.boot.ebx;
    cr_assert_eq(get32(&f.p, mbi + MBI_OFF_MODS_COUNT), 0);
    cr_assert_str_eq((char *)f.p.ram + get32(&f.p, mbi + MBI_OFF_CMDLINE), "");
    phys_free(&f.p);
}

Test(multiboot, higher_half_entry_is_translated)
{
    struct img im;
    struct fix f;
    build_elf(&im);
    put32(im.b, 24, 0xc0100010);
    phdr(im.b, 0, TEXT_OFF, 0xc0100000, 0x100000, 64, 64);
    phdr(im.b, 1, DATA_OFF, 0xc0101000, 0x101000, 16, 0x2000);
    fix_init(&f);
    cr_assert_eq(load(&f, &im, NULL, NULL), 0, "%s", f.err);
    cr_assert_eq(f.boot.entry, 0x100010);
    phys_free(&f.p);
}

Test(multiboot, aout_kludge)
{
    /* A flat binary: header at offset 0 with flag 16. */
    struct img im;
    struct fix f;
    memset(&im, 0, sizeof(im));
    mb_header(im.b, 0, 0x00010000);
    put32(im.b, 12, 0x200000);   /* header_addr */
    put32(im.b, 16, 0x200000);   /* load_addr */
    put32(im.b, 20, 0x200040);   /* load_end_addr */
    put32(im.b, 24, 0x201000);   /* bss_end_addr */
    put32(im.b, 28, 0x200020);   /* entry_addr */
    memset(im.b + 32, 0xf4, 32);
    im.len = 0x80;
    fix_init(&f);
    cr_assert_eq(load(&f, &im, NULL, NULL), 0, "%s", f.err);
    cr_assert_eq(f.boot.entry, 0x200020);
    cr_assert_eq(memcmp(f.p.ram + 0x200000, im.b, 0x40), 0);
    cr_assert_eq(f.p.ram[0x200040], 0, "bss zeroed");
    cr_assert_eq(f.p.ram[0x200fff], 0);
    cr_assert(f.boot.info_addr >= 0x201000);
    phys_free(&f.p);
}

Test(multiboot, reject_truncated)
{
    struct img im;
    build_elf(&im);
    im.len = PH_OFF + 40;        /* program headers cut */
    expect_reject(&im, "beyond the end of the file");
    build_elf(&im);
    phdr(im.b, 1, DATA_OFF, 0x101000, 0x101000, 0x100, 0x2000);
    expect_reject(&im, "segment 1 data beyond the end of the file");
    build_elf(&im);
    im.len = TEXT_OFF + 8;       /* the header itself cut */
    expect_reject(&im, "no Multiboot header");
}

Test(multiboot, reject_wrong_class_and_machine)
{
    struct img im;
    build_elf(&im);
    im.b[4] = 2;
    expect_reject(&im, "not a 32-bit ELF");
    build_elf(&im);
    put16(im.b, 18, 62);
    expect_reject(&im, "not an i386 ELF");
    build_elf(&im);
    memcpy(im.b, "MZ\0\0", 4);
    expect_reject(&im, "not an ELF file");
}

Test(multiboot, reject_no_header)
{
    struct img im;
    build_elf(&im);
    put32(im.b, TEXT_OFF, 0x12345678);
    expect_reject(&im, "no Multiboot header in the first 8192 bytes");
}

Test(multiboot, reject_bad_checksum)
{
    struct img im;
    build_elf(&im);
    put32(im.b, TEXT_OFF + 8, 0);
    expect_reject(&im, "bad Multiboot header checksum");
}

Test(multiboot, reject_unsupported_flags)
{
    struct img im;
    build_elf(&im);
    mb_header(im.b, TEXT_OFF, 0x00000803);
    expect_reject(&im, "unsupported features");
}

Test(multiboot, reject_segment_beyond_ram)
{
    struct img im;
    build_elf(&im);
    phdr(im.b, 1, DATA_OFF, 0x3ff000, 0x3ff000, 16, 0x2000);
    struct fix f;
    fix_init(&f);
    cr_assert_eq(load(&f, &im, NULL, NULL), -1);
    cr_assert_not_null(strstr(f.err, "k.elf: segment 1 at 0x3ff000-0x401000 is outside"), "%s", f.err);
    cr_assert_eq(f.p.ram[0x100000], 0xaa, "nothing loaded when a segment is bad");
    phys_free(&f.p);
    build_elf(&im);
    phdr(im.b, 0, TEXT_OFF, 0xfffff000, 0xfffff000, 64, 0x2000);
    expect_reject(&im, "is outside");
}

Test(multiboot, reject_initrd_too_big)
{
    struct img im;
    struct fix f;
    build_elf(&im);
    fix_init(&f);
    static uint8_t big[RAM];
    struct mb_input in = { .name = "k.elf", .image = im.b, .image_len = im.len,
                           .initrd = big, .initrd_len = sizeof(big), .initrd_name = "big" };
    cr_assert_eq(multiboot_load(&f.p, &in, &f.boot, f.err, sizeof(f.err)), -1);
    cr_assert_not_null(strstr(f.err, "does not fit"), "%s", f.err);
    phys_free(&f.p);
}

Test(multiboot, files)
{
    struct fix f;
    fix_init(&f);
    cr_assert_eq(multiboot_load_files(&f.p, "/nonexistent/k.elf", NULL, NULL, &f.boot,
                                      f.err, sizeof(f.err)), -1);
    cr_assert_str_eq(f.err, "/nonexistent/k.elf: No such file or directory");
    phys_free(&f.p);
}
