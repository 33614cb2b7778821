/* multiboot.c - Multiboot v1 loading: header search and checks, ELF32
 * segments via libelf (or a.out-kludge addresses), and construction of
 * multiboot_info, memory map, strings and module list in guest RAM. */
#include "io/multiboot.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_FLAG_PAGE_ALIGN 0x00000001u
#define HDR_FLAG_MEMINFO    0x00000002u
#define HDR_FLAG_VIDEO      0x00000004u
#define HDR_FLAG_AOUT       0x00010000u
/* Required-feature bits (0-15) vsmp understands. Video (bit 2) is
 * accepted without a video mode table, as QEMU does. */
#define HDR_KNOWN_REQUIRED  (HDR_FLAG_PAGE_ALIGN | HDR_FLAG_MEMINFO | HDR_FLAG_VIDEO)

#define LOW_MEM_END  0xa0000u
#define HIGH_MEM     0x100000u

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", name, msg);
    return -1;
}

static uint32_t rd32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

static void wr32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static void wr64(uint8_t *b, uint64_t v)
{
    wr32(b, (uint32_t)v);
    wr32(b + 4, (uint32_t)(v >> 32));
}

/* Offset of the Multiboot header, or -1. */
static long find_header(const uint8_t *img, size_t len)
{
    size_t lim = len < MULTIBOOT_SEARCH ? len : MULTIBOOT_SEARCH;
    for (size_t off = 0; off + 12 <= lim; off += 4)
        if (rd32(img + off) == MULTIBOOT_HEADER_MAGIC)
            return (long)off;
    return -1;
}

static bool fits(const struct phys *p, uint64_t addr, uint64_t len)
{
    return addr <= p->ram_size && len <= p->ram_size - addr;
}

/* Zero a RAM range (already checked to fit). */
static void zero_ram(struct phys *p, uint32_t addr, uint32_t len)
{
    static const uint8_t zeros[4096];
    while (len) {
        uint32_t n = len < sizeof(zeros) ? len : (uint32_t)sizeof(zeros);
        phys_copy_in(p, addr, zeros, n);
        addr += n;
        len -= n;
    }
}

static int load_aout(struct phys *p, const struct mb_input *in, long hoff,
                     struct mb_boot *out, char *err, size_t errlen)
{
    const uint8_t *h = in->image + hoff;
    if ((size_t)hoff + 32 > in->image_len)
        return fail(err, errlen, in->name, "Multiboot header truncated");
    uint32_t header_addr = rd32(h + 12), load_addr = rd32(h + 16);
    uint32_t load_end = rd32(h + 20), bss_end = rd32(h + 24), entry = rd32(h + 28);
    if (load_addr > header_addr || header_addr - load_addr > (uint32_t)hoff)
        return fail(err, errlen, in->name,
                    "Multiboot header_addr 0x%x and load_addr 0x%x do not match the file",
                    header_addr, load_addr);
    size_t file_off = (size_t)hoff - (header_addr - load_addr);
    uint64_t load_len = load_end ? (uint64_t)load_end - load_addr
                                 : (uint64_t)(in->image_len - file_off);
    if (load_end && load_end < load_addr)
        return fail(err, errlen, in->name, "Multiboot load_end_addr below load_addr");
    if (file_off + load_len > in->image_len)
        return fail(err, errlen, in->name,
                    "Multiboot load range 0x%x-0x%llx is beyond the end of the file",
                    load_addr, (unsigned long long)(load_addr + load_len));
    uint64_t end = (uint64_t)load_addr + load_len;
    if (bss_end) {
        if (bss_end < end)
            return fail(err, errlen, in->name, "Multiboot bss_end_addr below the loaded image");
        end = bss_end;
    }
    if (!fits(p, load_addr, end - load_addr))
        return fail(err, errlen, in->name,
                    "kernel at 0x%x-0x%llx does not fit in %u KiB of RAM",
                    load_addr, (unsigned long long)end, p->ram_size / 1024);
    phys_copy_in(p, load_addr, in->image + file_off, (size_t)load_len);
    zero_ram(p, (uint32_t)(load_addr + load_len), (uint32_t)(end - load_addr - load_len));
    out->kernel_start = load_addr;
    out->kernel_end = (uint32_t)end;
    out->entry = entry;
    return 0;
}

static int load_elf(struct phys *p, const struct mb_input *in, struct mb_boot *out,
                    char *err, size_t errlen)
{
    const uint8_t *img = in->image;
    if (in->image_len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0)
        return fail(err, errlen, in->name, "not an ELF file (and Multiboot flag 16 is not set)");
    if (img[EI_CLASS] != ELFCLASS32)
        return fail(err, errlen, in->name, "not a 32-bit ELF file (ELF class %u)", img[EI_CLASS]);
    if (img[EI_DATA] != ELFDATA2LSB)
        return fail(err, errlen, in->name, "not a little-endian ELF file");
    /* Bounds of the headers, checked before libelf sees the image. */
    if (in->image_len < 52)
        return fail(err, errlen, in->name, "malformed ELF file: truncated ELF header");
    uint64_t phend = (uint64_t)rd32(img + 28) +
                     (uint64_t)(img[42] | img[43] << 8) * (img[44] | img[45] << 8);
    if (phend > in->image_len)
        return fail(err, errlen, in->name,
                    "malformed ELF file: program headers beyond the end of the file");
    if (elf_version(EV_CURRENT) == EV_NONE)
        return fail(err, errlen, in->name, "libelf: %s", elf_errmsg(-1));

    /* libelf wants a writable buffer. */
    char *copy = malloc(in->image_len);
    if (!copy)
        return fail(err, errlen, in->name, "out of memory");
    memcpy(copy, img, in->image_len);
    int rc = -1;
    Elf *e = elf_memory(copy, in->image_len);
    GElf_Ehdr eh;
    size_t phnum;
    if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
        fail(err, errlen, in->name, "malformed ELF file: %s", elf_errmsg(-1));
        goto out;
    }
    if (eh.e_machine != EM_386) {
        fail(err, errlen, in->name, "not an i386 ELF file (machine %u)", eh.e_machine);
        goto out;
    }
    if (eh.e_type != ET_EXEC) {
        fail(err, errlen, in->name, "not an ELF executable (type %u)", eh.e_type);
        goto out;
    }
    if (elf_getphdrnum(e, &phnum) != 0 ||
        (uint64_t)eh.e_phoff + (uint64_t)phnum * eh.e_phentsize > in->image_len) {
        fail(err, errlen, in->name, "malformed ELF file: program headers beyond the end of the file");
        goto out;
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    uint32_t entry = (uint32_t)eh.e_entry;
    bool entry_found = false;
    /* Check every segment before writing anything. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < phnum; i++) {
            GElf_Phdr ph;
            if (!gelf_getphdr(e, (int)i, &ph)) {
                fail(err, errlen, in->name, "malformed ELF file: %s", elf_errmsg(-1));
                goto out;
            }
            if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
                continue;
            if (pass == 0) {
                if (ph.p_filesz > ph.p_memsz ||
                    ph.p_offset + ph.p_filesz > in->image_len ||
                    ph.p_offset + ph.p_filesz < ph.p_offset) {
                    fail(err, errlen, in->name,
                         "malformed ELF file: segment %zu data beyond the end of the file", i);
                    goto out;
                }
                if (!fits(p, ph.p_paddr, ph.p_memsz)) {
                    fail(err, errlen, in->name,
                         "segment %zu at 0x%llx-0x%llx is outside the %u KiB of guest RAM",
                         i, (unsigned long long)ph.p_paddr,
                         (unsigned long long)(ph.p_paddr + ph.p_memsz), p->ram_size / 1024);
                    goto out;
                }
                if (ph.p_paddr < lo)
                    lo = ph.p_paddr;
                if (ph.p_paddr + ph.p_memsz > hi)
                    hi = ph.p_paddr + ph.p_memsz;
                /* A higher-half kernel's entry is virtual: translate. */
                if (!entry_found && eh.e_entry >= ph.p_vaddr &&
                    eh.e_entry - ph.p_vaddr < ph.p_memsz) {
                    entry = (uint32_t)(eh.e_entry - ph.p_vaddr + ph.p_paddr);
                    entry_found = true;
                }
            } else {
                phys_copy_in(p, (uint32_t)ph.p_paddr, img + ph.p_offset, ph.p_filesz);
                zero_ram(p, (uint32_t)(ph.p_paddr + ph.p_filesz),
                         (uint32_t)(ph.p_memsz - ph.p_filesz));
            }
        }
        if (pass == 0 && hi == 0) {
            fail(err, errlen, in->name, "ELF file has no loadable segment");
            goto out;
        }
    }
    out->kernel_start = (uint32_t)lo;
    out->kernel_end = (uint32_t)hi;
    out->entry = entry;
    rc = 0;
out:
    if (e)
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
    if (a + size > pl->ram_size)
        return -1;
    *addr = (uint32_t)a;
    pl->next = a + size;
    return 0;
}

static int build_info(struct phys *p, const struct mb_input *in, struct mb_boot *out,
                      char *err, size_t errlen)
{
    const char *cmdline = in->cmdline ? in->cmdline : "";
    const char *loader = "vsmp";
    const char *modname = in->initrd_name ? in->initrd_name : "";
    struct placer pl = { .ram_size = p->ram_size };
    pl.next = out->kernel_end > HIGH_MEM ? out->kernel_end : HIGH_MEM;

    struct { uint64_t base, len; uint32_t type; } map[3] = {
        { 0, LOW_MEM_END, 1 },
        { LOW_MEM_END, HIGH_MEM - LOW_MEM_END, 2 },
        { HIGH_MEM, p->ram_size > HIGH_MEM ? p->ram_size - HIGH_MEM : 0, 1 },
    };
    int nmap = map[2].len ? 3 : 2;

    if (place(&pl, MBI_SIZE, 4096, &out->info_addr) ||
        place(&pl, (uint64_t)nmap * 24, 8, &out->mmap_addr) ||
        place(&pl, strlen(loader) + 1, 1, &out->loader_name_addr) ||
        place(&pl, strlen(cmdline) + 1, 1, &out->cmdline_addr) ||
        place(&pl, 16, 16, &out->mods_addr))
        return fail(err, errlen, in->name,
                    "no room for the boot information above the kernel in %u KiB of RAM",
                    p->ram_size / 1024);
    uint32_t modname_addr = 0;
    out->mod_start = out->mod_end = 0;
    if (in->initrd) {
        if (place(&pl, strlen(modname) + 1, 1, &modname_addr) ||
            place(&pl, in->initrd_len, 4096, &out->mod_start))
            return fail(err, errlen, in->name,
                        "the initrd (%zu bytes) does not fit in %u KiB of RAM above the kernel",
                        in->initrd_len, p->ram_size / 1024);
        out->mod_end = (uint32_t)(out->mod_start + in->initrd_len);
    }
    out->free_addr = (uint32_t)pl.next;

    uint8_t info[MBI_SIZE];
    memset(info, 0, sizeof(info));
    wr32(info + MBI_OFF_FLAGS, MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER);
    wr32(info + MBI_OFF_MEM_LOWER, LOW_MEM_END / 1024);
    wr32(info + MBI_OFF_MEM_UPPER, (uint32_t)(map[2].len / 1024));
    wr32(info + MBI_OFF_CMDLINE, out->cmdline_addr);
    wr32(info + MBI_OFF_MODS_COUNT, in->initrd ? 1 : 0);
    wr32(info + MBI_OFF_MODS_ADDR, out->mods_addr);
    wr32(info + MBI_OFF_MMAP_LENGTH, (uint32_t)nmap * 24);
    wr32(info + MBI_OFF_MMAP_ADDR, out->mmap_addr);
    wr32(info + MBI_OFF_LOADER_NAME, out->loader_name_addr);
    phys_copy_in(p, out->info_addr, info, sizeof(info));

    uint8_t mm[3 * 24];
    for (int i = 0; i < nmap; i++) {
        uint8_t *e = mm + 24 * i;
        wr32(e, 20);                     /* size of the rest of the entry */
        wr64(e + 4, map[i].base);
        wr64(e + 12, map[i].len);
        wr32(e + 20, map[i].type);
    }
    phys_copy_in(p, out->mmap_addr, mm, (size_t)nmap * 24);
    phys_copy_in(p, out->loader_name_addr, loader, strlen(loader) + 1);
    phys_copy_in(p, out->cmdline_addr, cmdline, strlen(cmdline) + 1);

    uint8_t mod[16];
    memset(mod, 0, sizeof(mod));
    if (in->initrd) {
        wr32(mod, out->mod_start);
        wr32(mod + 4, out->mod_end);
        wr32(mod + 8, modname_addr);
        phys_copy_in(p, modname_addr, modname, strlen(modname) + 1);
        phys_copy_in(p, out->mod_start, in->initrd, in->initrd_len);
    }
    phys_copy_in(p, out->mods_addr, mod, sizeof(mod));
    return 0;
}

int multiboot_load(struct phys *p, const struct mb_input *in, struct mb_boot *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    long hoff = find_header(in->image, in->image_len);
    if (hoff < 0)
        return fail(err, errlen, in->name,
                    "no Multiboot header in the first %u bytes", MULTIBOOT_SEARCH);
    const uint8_t *h = in->image + hoff;
    uint32_t magic = rd32(h), flags = rd32(h + 4), checksum = rd32(h + 8);
    if (magic + flags + checksum != 0)
        return fail(err, errlen, in->name,
                    "bad Multiboot header checksum (magic+flags+checksum = 0x%x, not 0)",
                    magic + flags + checksum);
    if (flags & 0xffffu & ~HDR_KNOWN_REQUIRED)
        return fail(err, errlen, in->name,
                    "Multiboot header requires unsupported features (flags 0x%x)", flags);
    int rc = (flags & HDR_FLAG_AOUT) ? load_aout(p, in, hoff, out, err, errlen)
                                     : load_elf(p, in, out, err, errlen);
    if (rc)
        return rc;
    if (build_info(p, in, out, err, errlen))
        return -1;
    out->eax = MULTIBOOT_BOOT_MAGIC;
    out->ebx = out->info_addr;
    return 0;
}

/* Whole file into a malloc'd buffer. */
static int read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, path, "%s", strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b)
        return fail(err, errlen, path, "out of memory");
    if (bad) {
        free(b);
        return fail(err, errlen, path, "read error");
    }
    *buf = b;
    *len = n;
    return 0;
}

int multiboot_load_files(struct phys *p, const char *kernel, const char *initrd,
                         const char *cmdline, struct mb_boot *out,
                         char *err, size_t errlen)
{
    struct mb_input in = { .name = kernel, .cmdline = cmdline, .initrd_name = initrd };
    uint8_t *kbuf = NULL, *ibuf = NULL;
    size_t klen = 0, ilen = 0;
    if (read_file(kernel, &kbuf, &klen, err, errlen))
        return -1;
    if (initrd && read_file(initrd, &ibuf, &ilen, err, errlen)) {
        free(kbuf);
        return -1;
    }
    in.image = kbuf;
    in.image_len = klen;
    if (initrd) {
        in.initrd = ibuf ? ibuf : (const uint8_t *)"";
        in.initrd_len = ilen;
    }
    int rc = multiboot_load(p, &in, out, err, errlen);
    free(kbuf);
    free(ibuf);
    return rc;
}
