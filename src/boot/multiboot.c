/* multiboot.c - Multiboot v1 loading: header search and checks, ELF32
 * segments through libelf (what libelf does not check precisely is
 * checked here, against the file and guest RAM, before anything is
 * written) or a.out-kludge addresses, and construction of
 * multiboot_info, memory map, strings and module list in guest RAM.
 * Files are read through io/imagefile.h: sizes are checked first, and
 * only the bytes that go into RAM are read. */
#include "boot/multiboot.h"

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/le.h"
#include "boot/loadfile.h"
#include "boot/platform.h"
#include "io/imagefile.h"

#define HDR_FLAG_PAGE_ALIGN 0x00000001u
#define HDR_FLAG_MEMINFO    0x00000002u
#define HDR_FLAG_VIDEO      0x00000004u
#define HDR_FLAG_AOUT       0x00010000u
/* Required-feature bits (0-15) vsmp understands. Video (bit 2) is
 * accepted without a video mode table, as QEMU does. */
#define HDR_KNOWN_REQUIRED  (HDR_FLAG_PAGE_ALIGN | HDR_FLAG_MEMINFO | HDR_FLAG_VIDEO)
#define HDR_AOUT_SIZE       32u  /* magic, flags, checksum + 5 address fields */

#define HIGH_MEM     PLATFORM_HIGH_MEM
#define MAP_MAX      8           /* memory map entries */

/* "memory 16M" / "memory 1028K": the RAM size as the config writes it. */
static const char *mem_text(const struct phys *p, char *buf, size_t len)
{
    if (p->ram_size % (1u << 20) == 0)
        snprintf(buf, len, "memory %uM", p->ram_size >> 20);
    else
        snprintf(buf, len, "memory %uK", p->ram_size >> 10);
    return buf;
}

/* Offset of the Multiboot header, or -1. */
static long find_header(const uint8_t *img, size_t len)
{
    for (size_t off = 0; off + 12 <= len; off += 4)
        if (le_rd32(img + off) == MULTIBOOT_HEADER_MAGIC)
            return (long)off;
    return -1;
}

static bool fits(const struct phys *p, uint64_t addr, uint64_t len)
{
    return addr <= p->ram_size && len <= p->ram_size - addr;
}

/* Zero a RAM range (already checked to fit). */
static int zero_ram(struct phys *p, uint32_t addr, uint64_t len, const char *name,
                    char *err, size_t errlen)
{
    static const uint8_t zeros[4096];
    while (len) {
        uint32_t n = len < sizeof(zeros) ? (uint32_t)len : (uint32_t)sizeof(zeros);
        if (phys_copy_in(p, addr, zeros, n))
            return load_fail(err, errlen, name, "internal error: 0x%x is outside guest RAM", addr);
        addr += n;
        len -= n;
    }
    return 0;
}

/* Flag 16: the header's address fields say where the file goes. `h`
 * holds the HDR_AOUT_SIZE bytes of the header (at file offset hoff). */
static int load_aout(struct phys *p, const struct image_file *k, const uint8_t *h, long hoff,
                     struct mb_boot *out, char *err, size_t errlen)
{
    char mem[32];
    uint32_t header_addr = le_rd32(h + 12), load_addr = le_rd32(h + 16);
    uint32_t load_end = le_rd32(h + 20), bss_end = le_rd32(h + 24), entry = le_rd32(h + 28);
    if (load_addr > header_addr || header_addr - load_addr > (uint32_t)hoff)
        return load_fail(err, errlen, k->name,
                         "Multiboot header_addr 0x%x and load_addr 0x%x do not match the file "
                         "(the header is at offset 0x%lx)", header_addr, load_addr, hoff);
    uint64_t file_off = (uint64_t)hoff - (header_addr - load_addr);
    if (load_end && load_end < load_addr)
        return load_fail(err, errlen, k->name, "Multiboot load_end_addr 0x%x below load_addr 0x%x",
                         load_end, load_addr);
    uint64_t load_len = load_end ? (uint64_t)load_end - load_addr : k->size - file_off;
    if (file_off + load_len > k->size)
        return load_fail(err, errlen, k->name,
                         "Multiboot load range 0x%x-0x%llx is beyond the end of the file (%llu bytes)",
                         load_addr, (unsigned long long)(load_addr + load_len),
                         (unsigned long long)k->size);
    uint64_t end = (uint64_t)load_addr + load_len;
    if (bss_end) {
        if (bss_end < end)
            return load_fail(err, errlen, k->name,
                             "Multiboot bss_end_addr 0x%x below the end of the loaded image 0x%llx",
                             bss_end, (unsigned long long)end);
        end = bss_end;
    }
    if (!fits(p, load_addr, end - load_addr))
        return load_fail(err, errlen, k->name, "kernel at 0x%x-0x%llx does not fit in guest RAM (%s)",
                         load_addr, (unsigned long long)end, mem_text(p, mem, sizeof(mem)));
    if (load_file_to_ram(p, k, file_off, load_addr, load_len, err, errlen) ||
        zero_ram(p, (uint32_t)(load_addr + load_len), end - load_addr - load_len, k->name, err,
                 errlen))
        return -1;
    out->kernel_start = load_addr;
    out->kernel_end = (uint32_t)end;
    out->entry = entry;
    return 0;
}

/* libelf failed while reading `what`: one line with libelf's own message
 * when it has one (elf_errno() 0 would print as "no error"). */
static int elf_failed(char *err, size_t errlen, const char *name, const char *what)
{
    int e = elf_errno();
    if (e)
        return load_fail(err, errlen, name, "malformed ELF file: libelf cannot read %s: %s", what,
                         elf_errmsg(e));
    return load_fail(err, errlen, name, "malformed ELF file: libelf cannot read %s", what);
}

/* The kernel as a libelf descriptor, or NULL (libelf's error set).
 * A file goes to elf_begin(ELF_C_READ) on its descriptor, not to
 * elf_memory() on the whole file read into a buffer: a kernel file is
 * not limited to guest RAM's size (only its segments must fit, and the
 * rest - symbols, debug information - may be far larger), and
 * ELF_C_READ makes libelf pread() just the ELF header and, when asked,
 * the program header table; the segment bytes are read by file_to_ram
 * (test_multiboot's big_kernel_file_reads_only_segments: a 1 GiB file
 * loads into 4 MiB of RAM without growing the RSS). An image already in memory (multiboot_load) goes to elf_memory() on
 * a copy in *copy, since libelf takes a writable buffer. */
static Elf *elf_open(const struct image_file *k, char **copy)
{
    *copy = NULL;
    if (!k->mem)
        return elf_begin(k->fd, ELF_C_READ, NULL);
    if (!(*copy = malloc((size_t)k->size)))
        return NULL;
    memcpy(*copy, k->mem, (size_t)k->size);
    return elf_memory(*copy, (size_t)k->size);
}

/* The PT_LOAD segments of an ELF32 i386 executable. `id` holds the
 * file's first bytes (at least 12: a Multiboot header was found in
 * them). libelf provides the ELF header and program headers; checked
 * here, before libelf sees the file or its fields are used, is only
 * what libelf does not report precisely or at all:
 *   - e_ident: magic, EI_CLASS, EI_DATA, EI_VERSION (libelf turns a bad
 *     one into "invalid `Elf' handle"), and a file shorter than the
 *     ELF32 header;
 *   - e_machine, e_type, e_version, e_phentsize, e_phnum (0 and PN_XNUM
 *     refused) and the program header table within the file (which
 *     elf_getphdrnum() would silently shorten, so the count is e_phnum);
 *   - each PT_LOAD: p_filesz <= p_memsz, its file bytes within the file
 *     (p_offset + p_filesz in 64 bits), and p_paddr + p_memsz inside
 *     guest RAM (in 64 bits: a 32-bit wraparound is outside).
 * Every segment is checked before anything is written to RAM. */
static int load_elf(struct phys *p, const struct image_file *k, const uint8_t *id,
                    struct mb_boot *out, char *err, size_t errlen)
{
    const char *name = k->name;
    char mem[32];
    if (memcmp(id, ELFMAG, SELFMAG) != 0)
        return load_fail(err, errlen, name,
                         "not an ELF file (and Multiboot header flag 16, the a.out kludge, is not set)");
    if (id[EI_CLASS] != ELFCLASS32)
        return load_fail(err, errlen, name, "not a 32-bit ELF file (ELF class %u)", id[EI_CLASS]);
    if (id[EI_DATA] != ELFDATA2LSB)
        return load_fail(err, errlen, name, "not a little-endian ELF file (ELF data encoding %u)",
                         id[EI_DATA]);
    if (id[EI_VERSION] != EV_CURRENT)
        return load_fail(err, errlen, name,
                         "malformed ELF file: identification version e_ident[EI_VERSION] is %u, not %u",
                         id[EI_VERSION], EV_CURRENT);
    if (k->size < sizeof(Elf32_Ehdr))
        return load_fail(err, errlen, name,
                         "malformed ELF file: truncated ELF header (the file has %llu bytes, "
                         "an ELF32 header %zu)", (unsigned long long)k->size, sizeof(Elf32_Ehdr));
    if (elf_version(EV_CURRENT) == EV_NONE)
        return load_fail(err, errlen, name, "this libelf does not support ELF version %u", EV_CURRENT);

    char *copy;
    Elf *e = elf_open(k, &copy);
    if (!e) {
        if (k->mem && !copy)
            return load_fail(err, errlen, name, "out of memory");
        elf_failed(err, errlen, name, "the ELF header");
        free(copy);
        return -1;
    }
    int rc = -1;
    GElf_Ehdr eh;
    if (!gelf_getehdr(e, &eh)) {
        elf_failed(err, errlen, name, "the ELF header");
        goto out;
    }
    if (eh.e_machine != EM_386) {
        load_fail(err, errlen, name, "not an i386 ELF file (machine %u)", eh.e_machine);
        goto out;
    }
    if (eh.e_type != ET_EXEC) {
        load_fail(err, errlen, name, "not an ELF executable (type %u)", eh.e_type);
        goto out;
    }
    if (eh.e_version != EV_CURRENT) {
        load_fail(err, errlen, name, "malformed ELF file: e_version is %u, not %u", eh.e_version,
                  EV_CURRENT);
        goto out;
    }
    if (eh.e_phnum == 0) {
        load_fail(err, errlen, name, "ELF file has no program headers: nothing to load");
        goto out;
    }
    if (eh.e_phnum == PN_XNUM) {
        load_fail(err, errlen, name,
                  "malformed ELF file: e_phnum 0xffff (extended numbering) is not supported");
        goto out;
    }
    if (eh.e_phentsize != sizeof(Elf32_Phdr)) {
        load_fail(err, errlen, name, "malformed ELF file: program header size e_phentsize is %u, not %zu",
                  eh.e_phentsize, sizeof(Elf32_Phdr));
        goto out;
    }
    size_t phnum = eh.e_phnum;
    if (eh.e_phoff > k->size || phnum * sizeof(Elf32_Phdr) > k->size - eh.e_phoff) {
        load_fail(err, errlen, name,
                  "malformed ELF file: program headers (%zu at offset 0x%llx) beyond the end "
                  "of the file (%llu bytes)", phnum, (unsigned long long)eh.e_phoff,
                  (unsigned long long)k->size);
        goto out;
    }

    uint64_t lo = UINT64_MAX, hi = 0;
    uint32_t entry = (uint32_t)eh.e_entry;
    bool entry_found = false, any = false;
    /* Pass 0 checks every program header, pass 1 loads. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < phnum; i++) {
            GElf_Phdr ph;
            if (!gelf_getphdr(e, (int)i, &ph)) {
                char what[48];
                snprintf(what, sizeof(what), "program header %zu", i);
                elf_failed(err, errlen, name, what);
                goto out;
            }
            if (ph.p_type != PT_LOAD)
                continue;
            if (pass == 1) {
                if (ph.p_memsz &&
                    (load_file_to_ram(p, k, ph.p_offset, (uint32_t)ph.p_paddr, ph.p_filesz, err,
                                      errlen) ||
                     zero_ram(p, (uint32_t)(ph.p_paddr + ph.p_filesz), ph.p_memsz - ph.p_filesz,
                              name, err, errlen)))
                    goto out;
                continue;
            }
            if (ph.p_filesz > ph.p_memsz) {
                load_fail(err, errlen, name,
                          "malformed ELF file: segment %zu has more file data (p_filesz 0x%llx) than "
                          "memory (p_memsz 0x%llx)", i, (unsigned long long)ph.p_filesz,
                          (unsigned long long)ph.p_memsz);
                goto out;
            }
            if (ph.p_offset > k->size || ph.p_filesz > k->size - ph.p_offset) {
                load_fail(err, errlen, name,
                          "malformed ELF file: segment %zu data (0x%llx bytes at offset 0x%llx) beyond "
                          "the end of the file (%llu bytes)", i, (unsigned long long)ph.p_filesz,
                          (unsigned long long)ph.p_offset, (unsigned long long)k->size);
                goto out;
            }
            if (ph.p_memsz == 0)
                continue;
            if (!fits(p, ph.p_paddr, ph.p_memsz)) {
                load_fail(err, errlen, name, "segment %zu at 0x%llx-0x%llx is outside guest RAM (%s)",
                          i, (unsigned long long)ph.p_paddr,
                          (unsigned long long)(ph.p_paddr + ph.p_memsz), mem_text(p, mem, sizeof(mem)));
                goto out;
            }
            any = true;
            if (ph.p_paddr < lo)
                lo = ph.p_paddr;
            if (ph.p_paddr + ph.p_memsz > hi)
                hi = ph.p_paddr + ph.p_memsz;
            /* A higher-half kernel's entry is virtual: translate. */
            if (!entry_found && eh.e_entry >= ph.p_vaddr && eh.e_entry - ph.p_vaddr < ph.p_memsz) {
                entry = (uint32_t)(eh.e_entry - ph.p_vaddr + ph.p_paddr);
                entry_found = true;
            }
        }
        if (pass == 0 && !any) {
            load_fail(err, errlen, name, "ELF file has no loadable segment");
            goto out;
        }
    }
    out->kernel_start = (uint32_t)lo;
    out->kernel_end = (uint32_t)hi;
    out->entry = entry;
    rc = 0;
out:
    elf_end(e);
    free(copy);
    return rc;
}

/* Bump allocator over guest RAM for the boot information. */
struct placer {
    uint64_t next;
    uint32_t ram_size;
};

static int place(struct placer *pl, uint64_t size, uint32_t align, uint32_t *addr)
{
    uint64_t a = (pl->next + align - 1) & ~(uint64_t)(align - 1);
    if (a > pl->ram_size || size > pl->ram_size - a)
        return -1;
    *addr = (uint32_t)a;
    pl->next = a + size;
    return 0;
}

static int build_info(struct phys *p, const struct platform *plat, const struct image_file *k,
                      const struct image_file *ird, const char *modname, const char *cmdline,
                      struct mb_boot *out, char *err, size_t errlen)
{
    const char *loader = "vsmp";
    char mem[32];
    struct placer pl = { .ram_size = p->ram_size };
    pl.next = out->kernel_end > HIGH_MEM ? out->kernel_end : HIGH_MEM;

    /* The memory map and mem_lower/mem_upper: the platform's e820 map
     * (RAM below 640 KiB, RAM from 1 MiB). */
    struct e820_entry map[MAP_MAX];
    int nmap = platform_e820(plat, map, MAP_MAX);
    if (nmap < 0)
        return load_fail(err, errlen, k->name, "internal error: memory map too long");
    uint32_t mem_lower = 0, mem_upper = 0;
    for (int i = 0; i < nmap; i++) {
        if (map[i].type != E820_RAM)
            continue;
        if (map[i].base == 0)
            mem_lower = (uint32_t)(map[i].len / 1024);
        else if (map[i].base == HIGH_MEM)
            mem_upper = (uint32_t)(map[i].len / 1024);
    }

    if (place(&pl, MBI_SIZE, 4096, &out->info_addr) ||
        place(&pl, (uint64_t)nmap * 24, 8, &out->mmap_addr) ||
        place(&pl, strlen(loader) + 1, 1, &out->loader_name_addr) ||
        place(&pl, strlen(cmdline) + 1, 1, &out->cmdline_addr) ||
        place(&pl, 16, 16, &out->mods_addr))
        return load_fail(err, errlen, k->name,
                         "no room for the boot information above the kernel in guest RAM (%s)",
                         mem_text(p, mem, sizeof(mem)));
    uint32_t modname_addr = 0;
    out->mod_start = out->mod_end = 0;
    if (ird) {
        if (place(&pl, strlen(modname) + 1, 1, &modname_addr))
            return load_fail(err, errlen, ird->name, "no room for the module string in guest RAM (%s)",
                             mem_text(p, mem, sizeof(mem)));
        uint64_t start = (pl.next + 4095) & ~4095ull;
        uint64_t room = start < p->ram_size ? p->ram_size - start : 0;
        if (place(&pl, ird->size, 4096, &out->mod_start))
            return load_fail(err, errlen, ird->name,
                             "the initrd (%llu bytes) does not fit in the %llu bytes of guest RAM "
                             "free above the kernel (%s)", (unsigned long long)ird->size,
                             (unsigned long long)room, mem_text(p, mem, sizeof(mem)));
        out->mod_end = (uint32_t)(out->mod_start + ird->size);
    }
    out->free_addr = (uint32_t)pl.next;

    uint8_t info[MBI_SIZE];
    memset(info, 0, sizeof(info));
    le_wr32(info + MBI_OFF_FLAGS, MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER);
    le_wr32(info + MBI_OFF_MEM_LOWER, mem_lower);
    le_wr32(info + MBI_OFF_MEM_UPPER, mem_upper);
    le_wr32(info + MBI_OFF_CMDLINE, out->cmdline_addr);
    le_wr32(info + MBI_OFF_MODS_COUNT, ird ? 1 : 0);
    le_wr32(info + MBI_OFF_MODS_ADDR, out->mods_addr);
    le_wr32(info + MBI_OFF_MMAP_LENGTH, (uint32_t)nmap * 24);
    le_wr32(info + MBI_OFF_MMAP_ADDR, out->mmap_addr);
    le_wr32(info + MBI_OFF_LOADER_NAME, out->loader_name_addr);
    phys_copy_in(p, out->info_addr, info, sizeof(info));

    uint8_t mm[MAP_MAX * 24];
    for (int i = 0; i < nmap; i++) {
        uint8_t *e = mm + 24 * i;
        le_wr32(e, 20);                     /* size of the rest of the entry */
        le_wr64(e + 4, map[i].base);
        le_wr64(e + 12, map[i].len);
        le_wr32(e + 20, map[i].type);
    }
    phys_copy_in(p, out->mmap_addr, mm, (size_t)nmap * 24);
    phys_copy_in(p, out->loader_name_addr, loader, strlen(loader) + 1);
    phys_copy_in(p, out->cmdline_addr, cmdline, strlen(cmdline) + 1);

    uint8_t mod[16];
    memset(mod, 0, sizeof(mod));
    if (ird) {
        le_wr32(mod, out->mod_start);
        le_wr32(mod + 4, out->mod_end);
        le_wr32(mod + 8, modname_addr);
        phys_copy_in(p, modname_addr, modname, strlen(modname) + 1);
        if (load_file_to_ram(p, ird, 0, out->mod_start, ird->size, err, errlen))
            return -1;
    }
    phys_copy_in(p, out->mods_addr, mod, sizeof(mod));
    return 0;
}

/* The kernel (and initrd, or NULL) as image files. */
static int load(struct phys *p, const struct platform *plat, const struct image_file *k,
                const struct image_file *ird, const char *modname, const char *cmdline,
                struct mb_boot *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (k->size == 0)
        return load_fail(err, errlen, k->name, "empty file, not a kernel");
    /* The header lies within the first MULTIBOOT_SEARCH bytes: only
     * those are read to find it. */
    uint8_t head[MULTIBOOT_SEARCH];
    size_t head_len = k->size < MULTIBOOT_SEARCH ? (size_t)k->size : MULTIBOOT_SEARCH;
    if (image_read(k, 0, head, head_len, err, errlen))
        return -1;
    long hoff = find_header(head, head_len);
    if (hoff < 0)
        return load_fail(err, errlen, k->name,
                         "no Multiboot header in the first %u bytes", MULTIBOOT_SEARCH);
    const uint8_t *h = head + hoff;
    uint32_t magic = le_rd32(h), flags = le_rd32(h + 4), checksum = le_rd32(h + 8);
    if (magic + flags + checksum != 0)
        return load_fail(err, errlen, k->name,
                         "bad Multiboot header checksum (magic+flags+checksum = 0x%x, not 0)",
                         magic + flags + checksum);
    if (flags & 0xffffu & ~HDR_KNOWN_REQUIRED)
        return load_fail(err, errlen, k->name,
                         "Multiboot header requires unsupported features (flags 0x%x: bits 0x%x "
                         "unknown to vsmp)", flags, flags & 0xffffu & ~HDR_KNOWN_REQUIRED);
    int rc;
    if (flags & HDR_FLAG_AOUT) {
        if ((size_t)hoff + HDR_AOUT_SIZE > head_len)
            return load_fail(err, errlen, k->name,
                             "Multiboot header truncated: with flag 16 (a.out kludge) it has %u bytes, "
                             "past %s at offset 0x%lx", HDR_AOUT_SIZE,
                             head_len < MULTIBOOT_SEARCH ? "the end of the file"
                                                    : "the first 8192 bytes", hoff);
        rc = load_aout(p, k, h, hoff, out, err, errlen);
    } else {
        rc = load_elf(p, k, head, out, err, errlen);
    }
    if (rc)
        return rc;
    if (build_info(p, plat, k, ird, modname ? modname : "", cmdline ? cmdline : "", out, err, errlen))
        return -1;
    out->eax = MULTIBOOT_BOOT_MAGIC;
    out->ebx = out->info_addr;
    return 0;
}

int multiboot_load(struct phys *p, const struct mb_input *in, struct mb_boot *out,
                   char *err, size_t errlen)
{
    struct image_file k, ird;
    image_from_memory(&k, in->name, in->image, in->image_len);
    if (in->initrd)
        image_from_memory(&ird, in->initrd_name ? in->initrd_name : "initrd", in->initrd,
                          in->initrd_len);
    struct platform def;
    if (!in->platform)
        platform_describe(&def, 1, p->ram_size, 0);
    return load(p, in->platform ? in->platform : &def, &k, in->initrd ? &ird : NULL,
                in->initrd_name, in->cmdline, out, err, errlen);
}

int multiboot_load_files(struct phys *p, const char *kernel, const char *initrd,
                         const char *cmdline, struct mb_boot *out,
                         char *err, size_t errlen)
{
    struct platform def;
    platform_describe(&def, 1, p->ram_size, 0);
    return multiboot_load_platform_files(p, &def, kernel, initrd, cmdline, out, err, errlen);
}

int multiboot_load_platform_files(struct phys *p, const struct platform *plat,
                                  const char *kernel, const char *initrd, const char *cmdline,
                                  struct mb_boot *out, char *err, size_t errlen)
{
    struct image_file k, ird;
    if (image_open(&k, kernel, err, errlen))
        return -1;
    if (initrd && image_open(&ird, initrd, err, errlen)) {
        image_close(&k);
        return -1;
    }
    int rc = load(p, plat, &k, initrd ? &ird : NULL, initrd, cmdline, out, err, errlen);
    image_close(&k);
    if (initrd)
        image_close(&ird);
    return rc;
}
