/* test_multiboot.c - the Multiboot v1 loader on ELF images built byte by
 * byte here: segment placement, bss zeroing, the multiboot_info fields,
 * memory map, strings, module 0, the a.out kludge, and the rejection of
 * malformed images with a message naming the kernel; then the loader on
 * files: what is not a regular file, files larger than guest RAM (sparse,
 * checked before they are read: the peak RSS must not grow), a file that
 * shrinks while it is read. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/imagefile.h"
#include "boot/multiboot.h"
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
    expect_reject(&im, "segment 1 data (0x100 bytes at offset 0x80) beyond the end of the file (208 bytes)");
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

/* The whole message, exactly. */
static void expect_msg(struct img *im, const char *want)
{
    struct fix f;
    fix_init(&f);
    cr_assert_eq(load(&f, im, NULL, NULL), -1, "accepted, wanted '%s'", want);
    cr_assert_str_eq(f.err, want);
    cr_assert_eq(f.p.ram[0x100000], 0xaa, "nothing loaded: %s", want);
    phys_free(&f.p);
}

Test(multiboot, reject_elf_identification)
{
    struct img im;
    build_elf(&im);
    im.b[6] = 0;                                 /* e_ident[EI_VERSION] */
    expect_msg(&im, "k.elf: malformed ELF file: identification version e_ident[EI_VERSION] is 0, not 1");
    build_elf(&im);
    im.b[6] = 2;
    expect_msg(&im, "k.elf: malformed ELF file: identification version e_ident[EI_VERSION] is 2, not 1");
    build_elf(&im);
    put32(im.b, 20, 7);                          /* e_version */
    expect_msg(&im, "k.elf: malformed ELF file: e_version is 7, not 1");
    build_elf(&im);
    im.b[5] = 2;
    expect_msg(&im, "k.elf: not a little-endian ELF file (ELF data encoding 2)");
    build_elf(&im);
    put16(im.b, 16, 3);                          /* ET_DYN */
    expect_msg(&im, "k.elf: not an ELF executable (type 3)");
}

Test(multiboot, reject_truncated_elf_header)
{
    /* 40 bytes: the ELF identification, then a Multiboot header at 16. */
    struct img im;
    build_elf(&im);
    mb_header(im.b, 16, 0x00000003);
    im.len = 40;
    expect_msg(&im, "k.elf: malformed ELF file: truncated ELF header (the file has 40 bytes, an ELF32 header 52)");
}

Test(multiboot, reject_program_header_table)
{
    struct img im;
    build_elf(&im);
    put16(im.b, 42, 40);                         /* e_phentsize */
    expect_msg(&im, "k.elf: malformed ELF file: program header size e_phentsize is 40, not 32");
    build_elf(&im);
    put16(im.b, 44, 0xffff);                     /* PN_XNUM */
    expect_msg(&im, "k.elf: malformed ELF file: e_phnum 0xffff (extended numbering) is not supported");
    build_elf(&im);
    put16(im.b, 44, 60000);                      /* huge e_phnum */
    expect_msg(&im, "k.elf: malformed ELF file: program headers (60000 at offset 0x90) beyond the end of the file (208 bytes)");
    build_elf(&im);
    put32(im.b, 28, 0xfffffff0);                 /* e_phoff near 4G */
    expect_msg(&im, "k.elf: malformed ELF file: program headers (2 at offset 0xfffffff0) beyond the end of the file (208 bytes)");
    build_elf(&im);
    put16(im.b, 44, 0);
    expect_msg(&im, "k.elf: ELF file has no program headers: nothing to load");
    build_elf(&im);
    put32(im.b, PH_OFF, 4);                      /* PT_NOTE, PT_NOTE */
    put32(im.b, PH_OFF + 32, 4);
    expect_msg(&im, "k.elf: ELF file has no loadable segment");
}

Test(multiboot, reject_bad_segments)
{
    struct img im;
    build_elf(&im);
    phdr(im.b, 1, DATA_OFF, 0x101000, 0x101000, 16, 8);
    expect_msg(&im, "k.elf: malformed ELF file: segment 1 has more file data (p_filesz 0x10) than memory (p_memsz 0x8)");
    build_elf(&im);
    phdr(im.b, 1, DATA_OFF, 0x101000, 0x101000, 16, 0);
    expect_msg(&im, "k.elf: malformed ELF file: segment 1 has more file data (p_filesz 0x10) than memory (p_memsz 0x0)");
    build_elf(&im);
    phdr(im.b, 1, 0xfffffff8, 0x101000, 0x101000, 16, 16);   /* offset + filesz wraps */
    expect_msg(&im, "k.elf: malformed ELF file: segment 1 data (0x10 bytes at offset 0xfffffff8) beyond the end of the file (208 bytes)");
    build_elf(&im);
    phdr(im.b, 1, DATA_OFF, 0xfffff000, 0xfffff000, 16, 0x2000);   /* paddr + memsz wraps */
    expect_msg(&im, "k.elf: segment 1 at 0xfffff000-0x100001000 is outside guest RAM (memory 4M)");
    build_elf(&im);
    phdr(im.b, 1, DATA_OFF, 0x101000, 0x101000, 16, 0xffffffff);
    expect_msg(&im, "k.elf: segment 1 at 0x101000-0x100100fff is outside guest RAM (memory 4M)");
}

Test(multiboot, reject_multiboot_header_fields)
{
    struct img im;
    build_elf(&im);
    mb_header(im.b, TEXT_OFF, 0x00000803);
    expect_msg(&im, "k.elf: Multiboot header requires unsupported features (flags 0x803: bits 0x800 unknown to vsmp)");
    build_elf(&im);
    im.len = 0;
    expect_msg(&im, "k.elf: empty file, not a kernel");

    /* a.out kludge (flag 16): each address field against the file and RAM */
    struct { uint32_t hdr, load, load_end, bss_end; size_t len; const char *want; } c[] = {
        { 0x200000, 0x200000, 0x200040, 0x201000, 24,
          "k.elf: Multiboot header truncated: with flag 16 (a.out kludge) it has 32 bytes, past the end of the file at offset 0x0" },
        { 0x200000, 0x200010, 0x200040, 0x201000, 0x80,
          "k.elf: Multiboot header_addr 0x200000 and load_addr 0x200010 do not match the file (the header is at offset 0x0)" },
        { 0x200000, 0x200000, 0x1ff000, 0x201000, 0x80,
          "k.elf: Multiboot load_end_addr 0x1ff000 below load_addr 0x200000" },
        { 0x200000, 0x200000, 0x200100, 0x201000, 0x80,
          "k.elf: Multiboot load range 0x200000-0x200100 is beyond the end of the file (128 bytes)" },
        { 0x200000, 0x200000, 0x200040, 0x200020, 0x80,
          "k.elf: Multiboot bss_end_addr 0x200020 below the end of the loaded image 0x200040" },
        { 0x3ff000, 0x3ff000, 0x3ff040, 0x401000, 0x80,
          "k.elf: kernel at 0x3ff000-0x401000 does not fit in guest RAM (memory 4M)" },
        { 0xffffffe0, 0xffffffe0, 0, 0, 0x80,
          "k.elf: kernel at 0xffffffe0-0x100000060 does not fit in guest RAM (memory 4M)" },
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        memset(&im, 0, sizeof(im));
        mb_header(im.b, 0, 0x00010000);
        put32(im.b, 12, c[i].hdr);
        put32(im.b, 16, c[i].load);
        put32(im.b, 20, c[i].load_end);
        put32(im.b, 24, c[i].bss_end);
        put32(im.b, 28, c[i].load + 0x20);
        im.len = c[i].len;
        expect_msg(&im, c[i].want);
    }
}

/* ---- files ---- */

static char tmpdir[64];

static void mk_tmp(void)
{
    strcpy(tmpdir, "/tmp/vsmp-test-mb-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

/* tmpdir/NAME holding `len` bytes of `data`, then grown to `size` bytes
 * (a sparse tail of zeros). Returns the path (static buffer per slot). */
static const char *tmp_file(int slot, const char *name, const void *data, size_t len, uint64_t size)
{
    static char paths[4][256];
    snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", tmpdir, name);
    int fd = open(paths[slot], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    close(fd);
    return paths[slot];
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

static int load_files(struct fix *f, const char *kernel, const char *initrd)
{
    return multiboot_load_files(&f->p, kernel, initrd, "x", &f->boot, f->err, sizeof(f->err));
}

/* A FIFO without a writer as the kernel or initrd: refused at once, not
 * waited on (the timeout only catches a hang). */
Test(multiboot, fifo_is_refused_not_waited_on, .init = mk_tmp, .fini = rm_tmp, .timeout = 60)
{
    struct fix f;
    struct img im;
    build_elf(&im);
    fix_init(&f);
    const char *k = tmp_file(0, "k.elf", im.b, im.len, im.len);
    char fifo[256], want[512];
    snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    snprintf(want, sizeof(want), "%s: not a regular file (a FIFO)", fifo);
    cr_assert_eq(load_files(&f, fifo, NULL), -1);
    cr_assert_str_eq(f.err, want);
    cr_assert_eq(load_files(&f, k, fifo), -1);
    cr_assert_str_eq(f.err, want);
    phys_free(&f.p);
}

Test(multiboot, files_not_regular, .init = mk_tmp, .fini = rm_tmp)
{
    struct fix f;
    struct img im;
    build_elf(&im);
    fix_init(&f);
    const char *k = tmp_file(0, "k.elf", im.b, im.len, im.len);
    char want[512];

    cr_assert_eq(load_files(&f, tmpdir, NULL), -1);
    snprintf(want, sizeof(want), "%s: not a regular file (a directory)", tmpdir);
    cr_assert_str_eq(f.err, want);
    cr_assert_eq(load_files(&f, k, "/dev/zero"), -1);
    cr_assert_str_eq(f.err, "/dev/zero: not a regular file (a character device)");
    cr_assert_eq(load_files(&f, k, tmpdir), -1);
    snprintf(want, sizeof(want), "%s: not a regular file (a directory)", tmpdir);
    cr_assert_str_eq(f.err, want);
    cr_assert_eq(f.p.ram[0x100000], 0xaa, "nothing loaded");
    /* and the good kernel from its file */
    cr_assert_eq(load_files(&f, k, NULL), 0, "%s", f.err);
    cr_assert_eq(memcmp(f.p.ram + 0x100000, im.b + TEXT_OFF, 64), 0);
    phys_free(&f.p);
}

/* An initrd of 1 GiB (sparse) with 4 MiB of RAM: refused from its size,
 * before a byte of it is read - the process's peak RSS stays where it
 * was (reading it whole first would add the whole GiB, or fail). */
Test(multiboot, huge_initrd_refused_before_reading, .init = mk_tmp, .fini = rm_tmp)
{
    struct fix f;
    struct img im;
    build_elf(&im);
    fix_init(&f);
    const char *k = tmp_file(0, "k.elf", im.b, im.len, im.len);
    const char *big = tmp_file(1, "big.img", "", 0, 1ull << 30);
    long before = peak_rss_kib();
    cr_assert_eq(load_files(&f, k, big), -1);
    long grew = peak_rss_kib() - before;
    char want[512];
    snprintf(want, sizeof(want),
             "%s: the initrd (1073741824 bytes) does not fit in the 3129344 bytes of guest RAM "
             "free above the kernel (memory 4M)", big);
    cr_assert_str_eq(f.err, want);
    cr_assert_lt(grew, 64 * 1024, "peak RSS grew by %ld KiB", grew);
    /* one that fits exactly, from a file */
    const char *fit = tmp_file(2, "fit.img", "INITRD", 6, 3129344);
    cr_assert_eq(load_files(&f, k, fit), 0, "%s", f.err);
    cr_assert_eq(f.boot.mod_end, RAM);
    cr_assert_eq(memcmp(f.p.ram + f.boot.mod_start, "INITRD\0\0", 8), 0);
    phys_free(&f.p);
}

/* A kernel file of 1 GiB (its segments, at the start, a few bytes):
 * only what goes into RAM is read. */
Test(multiboot, big_kernel_file_reads_only_segments, .init = mk_tmp, .fini = rm_tmp)
{
    struct fix f;
    struct img im;
    build_elf(&im);
    fix_init(&f);
    const char *k = tmp_file(0, "k.elf", im.b, im.len, 1ull << 30);
    long before = peak_rss_kib();
    cr_assert_eq(load_files(&f, k, NULL), 0, "%s", f.err);
    long grew = peak_rss_kib() - before;
    cr_assert_lt(grew, 64 * 1024, "peak RSS grew by %ld KiB", grew);
    cr_assert_eq(memcmp(f.p.ram + 0x101000, "data segment....", 16), 0);
    phys_free(&f.p);
}

/* A file that shrinks after it was opened: a read error, not garbage. */
Test(multiboot, file_shrinks_while_loading, .init = mk_tmp, .fini = rm_tmp)
{
    struct img im;
    build_elf(&im);
    const char *k = tmp_file(0, "k.elf", im.b, im.len, im.len);
    struct image_file f;
    char err[512], want[512], buf[64];
    cr_assert_eq(image_open(&f, k, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(f.size, im.len);
    cr_assert_eq(truncate(k, 100), 0);
    cr_assert_eq(image_read(&f, 64, buf, 64, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: ends at byte 100, not at its size 208 (changed while loading?)", k);
    cr_assert_str_eq(err, want);
    cr_assert_eq(image_read(&f, 200, buf, 16, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: 16 bytes at offset 200 lie beyond the end of the file (208 bytes)", k);
    cr_assert_str_eq(err, want);
    image_close(&f);
    cr_assert_eq(image_open(&f, "/nonexistent/k", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "/nonexistent/k: No such file or directory");
}

/* What the checks leave to libelf still gets libelf's own reason, never
 * "no error": e_phoff 0 with program headers counted (libelf refuses a
 * table at offset 0; read as program headers, the ELF header itself
 * would give "no loadable segment", which is not what is wrong). */
Test(multiboot, libelf_reason_is_reported)
{
    struct img im;
    build_elf(&im);
    put32(im.b, 28, 0);                          /* e_phoff */
    expect_msg(&im, "k.elf: malformed ELF file: libelf cannot read program header 0: "
                    "file has no program header");
}
