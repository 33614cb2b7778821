/* multiboot.c - Multiboot v1 loading: header search and checks, ELF32
 * segments (parsed here, every field checked against the file and guest
 * RAM before anything is written) or a.out-kludge addresses, and
 * construction of multiboot_info, memory map, strings and module list in
 * guest RAM. Files are read through io/imagefile.h: sizes are checked
 * first, and only the bytes that go into RAM are read. */
#include "io/multiboot.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/imagefile.h"

#define HDR_FLAG_PAGE_ALIGN 0x00000001u
#define HDR_FLAG_MEMINFO    0x00000002u
#define HDR_FLAG_VIDEO      0x00000004u
#define HDR_FLAG_AOUT       0x00010000u
/* Required-feature bits (0-15) vsmp understands. Video (bit 2) is
 * accepted without a video mode table, as QEMU does. */
#define HDR_KNOWN_REQUIRED  (HDR_FLAG_PAGE_ALIGN | HDR_FLAG_MEMINFO | HDR_FLAG_VIDEO)
#define HDR_AOUT_SIZE       32u  /* magic, flags, checksum + 5 address fields */

/* ELF32 (System V ABI): the fields vsmp reads. */
#define ELF_EHDR_SIZE   52u
#define ELF_PHDR_SIZE   32u
#define ELF_CLASS32     1u
#define ELF_DATA_LSB    1u
#define ELF_EV_CURRENT  1u
#define ELF_ET_EXEC     2u
#define ELF_EM_386      3u
#define ELF_PT_LOAD     1u
#define ELF_PN_XNUM     0xffffu

#define LOW_MEM_END  0xa0000u
#define HIGH_MEM     0x100000u
#define CHUNK        16384u      /* file -> RAM copies go through this */

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", name, msg);
    return -1;
}

static uint32_t rd16(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8;
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
        if (rd32(img + off) == MULTIBOOT_HEADER_MAGIC)
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
            return fail(err, errlen, name, "internal error: 0x%x is outside guest RAM", addr);
        addr += n;
        len -= n;
    }
    return 0;
}

/* `len` bytes of the file at `off` into RAM at `addr` (already checked
 * to fit), a chunk at a time. */
static int file_to_ram(struct phys *p, const struct image_file *f, uint64_t off, uint32_t addr,
                       uint64_t len, char *err, size_t errlen)
{
    uint8_t buf[CHUNK];
    while (len) {
        size_t n = len < CHUNK ? (size_t)len : CHUNK;
        if (image_read(f, off, buf, n, err, errlen))
            return -1;
        if (phys_copy_in(p, addr, buf, n))
            return fail(err, errlen, f->name, "internal error: 0x%x is outside guest RAM", addr);
        off += n;
        addr += (uint32_t)n;
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
    uint32_t header_addr = rd32(h + 12), load_addr = rd32(h + 16);
    uint32_t load_end = rd32(h + 20), bss_end = rd32(h + 24), entry = rd32(h + 28);
    if (load_addr > header_addr || header_addr - load_addr > (uint32_t)hoff)
        return fail(err, errlen, k->name,
                    "Multiboot header_addr 0x%x and load_addr 0x%x do not match the file "
                    "(the header is at offset 0x%lx)", header_addr, load_addr, hoff);
    uint64_t file_off = (uint64_t)hoff - (header_addr - load_addr);
    if (load_end && load_end < load_addr)
        return fail(err, errlen, k->name, "Multiboot load_end_addr 0x%x below load_addr 0x%x",
                    load_end, load_addr);
    uint64_t load_len = load_end ? (uint64_t)load_end - load_addr : k->size - file_off;
    if (file_off + load_len > k->size)
        return fail(err, errlen, k->name,
                    "Multiboot load range 0x%x-0x%llx is beyond the end of the file (%llu bytes)",
                    load_addr, (unsigned long long)(load_addr + load_len),
                    (unsigned long long)k->size);
    uint64_t end = (uint64_t)load_addr + load_len;
    if (bss_end) {
        if (bss_end < end)
            return fail(err, errlen, k->name,
                        "Multiboot bss_end_addr 0x%x below the end of the loaded image 0x%llx",
                        bss_end, (unsigned long long)end);
        end = bss_end;
    }
    if (!fits(p, load_addr, end - load_addr))
        return fail(err, errlen, k->name, "kernel at 0x%x-0x%llx does not fit in guest RAM (%s)",
                    load_addr, (unsigned long long)end, mem_text(p, mem, sizeof(mem)));
    if (file_to_ram(p, k, file_off, load_addr, load_len, err, errlen) ||
        zero_ram(p, (uint32_t)(load_addr + load_len), end - load_addr - load_len, k->name, err,
                 errlen))
        return -1;
    out->kernel_start = load_addr;
    out->kernel_end = (uint32_t)end;
    out->entry = entry;
    return 0;
}

/* A PT_LOAD segment, checked. */
struct seg {
    uint32_t offset, paddr, filesz, memsz;
};

/* The ELF header in `eh` (the file's first bytes, `ehlen` of them, at
 * least 12). Every header and segment is checked before RAM is written. */
static int load_elf(struct phys *p, const struct image_file *k, const uint8_t *eh, size_t ehlen,
                    struct mb_boot *out, char *err, size_t errlen)
{
    const char *name = k->name;
    char mem[32];
    if (memcmp(eh, "\177ELF", 4) != 0)
        return fail(err, errlen, name,
                    "not an ELF file (and Multiboot header flag 16, the a.out kludge, is not set)");
    if (eh[4] != ELF_CLASS32)
        return fail(err, errlen, name, "not a 32-bit ELF file (ELF class %u)", eh[4]);
    if (eh[5] != ELF_DATA_LSB)
        return fail(err, errlen, name, "not a little-endian ELF file (ELF data encoding %u)", eh[5]);
    if (eh[6] != ELF_EV_CURRENT)
        return fail(err, errlen, name,
                    "malformed ELF file: identification version e_ident[EI_VERSION] is %u, not 1",
                    eh[6]);
    if (ehlen < ELF_EHDR_SIZE)
        return fail(err, errlen, name,
                    "malformed ELF file: truncated ELF header (the file has %llu bytes, "
                    "an ELF32 header %u)", (unsigned long long)k->size, ELF_EHDR_SIZE);
    uint32_t type = rd16(eh + 16), machine = rd16(eh + 18), version = rd32(eh + 20);
    uint32_t e_entry = rd32(eh + 24), phoff = rd32(eh + 28);
    uint32_t phentsize = rd16(eh + 42), phnum = rd16(eh + 44);
    if (machine != ELF_EM_386)
        return fail(err, errlen, name, "not an i386 ELF file (machine %u)", machine);
    if (type != ELF_ET_EXEC)
        return fail(err, errlen, name, "not an ELF executable (type %u)", type);
    if (version != ELF_EV_CURRENT)
        return fail(err, errlen, name, "malformed ELF file: e_version is %u, not 1", version);
    if (phnum == 0)
        return fail(err, errlen, name, "ELF file has no program headers: nothing to load");
    if (phnum == ELF_PN_XNUM)
        return fail(err, errlen, name,
                    "malformed ELF file: e_phnum 0xffff (extended numbering) is not supported");
    if (phentsize != ELF_PHDR_SIZE)
        return fail(err, errlen, name,
                    "malformed ELF file: program header size e_phentsize is %u, not %u",
                    phentsize, ELF_PHDR_SIZE);
    uint64_t phend = (uint64_t)phoff + (uint64_t)phnum * ELF_PHDR_SIZE;
    if (phend > k->size)
        return fail(err, errlen, name,
                    "malformed ELF file: program headers (%u at offset 0x%x) beyond the end "
                    "of the file (%llu bytes)", phnum, phoff, (unsigned long long)k->size);

    /* Pass 1: read and check every program header; keep the PT_LOADs. */
    struct seg *segs = malloc((size_t)phnum * sizeof(*segs));
    if (!segs)
        return fail(err, errlen, name, "out of memory");
    int rc = -1;
    uint32_t nseg = 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    uint32_t entry = e_entry;
    bool entry_found = false;
    for (uint32_t i = 0; i < phnum; i++) {
        uint8_t ph[ELF_PHDR_SIZE];
        if (image_read(k, phoff + (uint64_t)i * ELF_PHDR_SIZE, ph, sizeof(ph), err, errlen))
            goto out;
        if (rd32(ph) != ELF_PT_LOAD)
            continue;
        struct seg s = { .offset = rd32(ph + 4), .paddr = rd32(ph + 12),
                         .filesz = rd32(ph + 16), .memsz = rd32(ph + 20) };
        uint32_t vaddr = rd32(ph + 8);
        if (s.filesz > s.memsz) {
            fail(err, errlen, name,
                 "malformed ELF file: segment %u has more file data (p_filesz 0x%x) than "
                 "memory (p_memsz 0x%x)", i, s.filesz, s.memsz);
            goto out;
        }
        if ((uint64_t)s.offset + s.filesz > k->size) {
            fail(err, errlen, name,
                 "malformed ELF file: segment %u data (0x%x bytes at offset 0x%x) beyond the "
                 "end of the file (%llu bytes)", i, s.filesz, s.offset,
                 (unsigned long long)k->size);
            goto out;
        }
        if (s.memsz == 0)
            continue;
        if (!fits(p, s.paddr, s.memsz)) {
            fail(err, errlen, name, "segment %u at 0x%x-0x%llx is outside guest RAM (%s)", i,
                 s.paddr, (unsigned long long)s.paddr + s.memsz, mem_text(p, mem, sizeof(mem)));
            goto out;
        }
        if (s.paddr < lo)
            lo = s.paddr;
        if ((uint64_t)s.paddr + s.memsz > hi)
            hi = (uint64_t)s.paddr + s.memsz;
        /* A higher-half kernel's entry is virtual: translate. */
        if (!entry_found && e_entry >= vaddr && e_entry - vaddr < s.memsz) {
            entry = e_entry - vaddr + s.paddr;
            entry_found = true;
        }
        segs[nseg++] = s;
    }
    if (nseg == 0) {
        fail(err, errlen, name, "ELF file has no loadable segment");
        goto out;
    }
    /* Pass 2: into RAM. */
    for (uint32_t i = 0; i < nseg; i++) {
        const struct seg *s = &segs[i];
        if (file_to_ram(p, k, s->offset, s->paddr, s->filesz, err, errlen) ||
            zero_ram(p, s->paddr + s->filesz, s->memsz - s->filesz, name, err, errlen))
            goto out;
    }
    out->kernel_start = (uint32_t)lo;
    out->kernel_end = (uint32_t)hi;
    out->entry = entry;
    rc = 0;
out:
    free(segs);
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

static int build_info(struct phys *p, const struct image_file *k, const struct image_file *ird,
                      const char *modname, const char *cmdline, struct mb_boot *out,
                      char *err, size_t errlen)
{
    const char *loader = "vsmp";
    char mem[32];
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
        return fail(err, errlen, k->name,
                    "no room for the boot information above the kernel in guest RAM (%s)",
                    mem_text(p, mem, sizeof(mem)));
    uint32_t modname_addr = 0;
    out->mod_start = out->mod_end = 0;
    if (ird) {
        if (place(&pl, strlen(modname) + 1, 1, &modname_addr))
            return fail(err, errlen, ird->name, "no room for the module string in guest RAM (%s)",
                        mem_text(p, mem, sizeof(mem)));
        uint64_t start = (pl.next + 4095) & ~4095ull;
        uint64_t room = start < p->ram_size ? p->ram_size - start : 0;
        if (place(&pl, ird->size, 4096, &out->mod_start))
            return fail(err, errlen, ird->name,
                        "the initrd (%llu bytes) does not fit in the %llu bytes of guest RAM "
                        "free above the kernel (%s)", (unsigned long long)ird->size,
                        (unsigned long long)room, mem_text(p, mem, sizeof(mem)));
        out->mod_end = (uint32_t)(out->mod_start + ird->size);
    }
    out->free_addr = (uint32_t)pl.next;

    uint8_t info[MBI_SIZE];
    memset(info, 0, sizeof(info));
    wr32(info + MBI_OFF_FLAGS, MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER);
    wr32(info + MBI_OFF_MEM_LOWER, LOW_MEM_END / 1024);
    wr32(info + MBI_OFF_MEM_UPPER, (uint32_t)(map[2].len / 1024));
    wr32(info + MBI_OFF_CMDLINE, out->cmdline_addr);
    wr32(info + MBI_OFF_MODS_COUNT, ird ? 1 : 0);
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
    if (ird) {
        wr32(mod, out->mod_start);
        wr32(mod + 4, out->mod_end);
        wr32(mod + 8, modname_addr);
        phys_copy_in(p, modname_addr, modname, strlen(modname) + 1);
        if (file_to_ram(p, ird, 0, out->mod_start, ird->size, err, errlen))
            return -1;
    }
    phys_copy_in(p, out->mods_addr, mod, sizeof(mod));
    return 0;
}

/* The kernel (and initrd, or NULL) as image files. */
static int load(struct phys *p, const struct image_file *k, const struct image_file *ird,
                const char *modname, const char *cmdline, struct mb_boot *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (k->size == 0)
        return fail(err, errlen, k->name, "empty file, not a kernel");
    /* The header lies within the first MULTIBOOT_SEARCH bytes: only
     * those are read to find it. */
    uint8_t head[MULTIBOOT_SEARCH];
    size_t head_len = k->size < MULTIBOOT_SEARCH ? (size_t)k->size : MULTIBOOT_SEARCH;
    if (image_read(k, 0, head, head_len, err, errlen))
        return -1;
    long hoff = find_header(head, head_len);
    if (hoff < 0)
        return fail(err, errlen, k->name,
                    "no Multiboot header in the first %u bytes", MULTIBOOT_SEARCH);
    const uint8_t *h = head + hoff;
    uint32_t magic = rd32(h), flags = rd32(h + 4), checksum = rd32(h + 8);
    if (magic + flags + checksum != 0)
        return fail(err, errlen, k->name,
                    "bad Multiboot header checksum (magic+flags+checksum = 0x%x, not 0)",
                    magic + flags + checksum);
    if (flags & 0xffffu & ~HDR_KNOWN_REQUIRED)
        return fail(err, errlen, k->name,
                    "Multiboot header requires unsupported features (flags 0x%x: bits 0x%x "
                    "unknown to vsmp)", flags, flags & 0xffffu & ~HDR_KNOWN_REQUIRED);
    int rc;
    if (flags & HDR_FLAG_AOUT) {
        if ((size_t)hoff + HDR_AOUT_SIZE > head_len)
            return fail(err, errlen, k->name,
                        "Multiboot header truncated: with flag 16 (a.out kludge) it has %u bytes, "
                        "past %s at offset 0x%lx", HDR_AOUT_SIZE,
                        head_len < MULTIBOOT_SEARCH ? "the end of the file"
                                                    : "the first 8192 bytes", hoff);
        rc = load_aout(p, k, h, hoff, out, err, errlen);
    } else {
        rc = load_elf(p, k, head, head_len, out, err, errlen);
    }
    if (rc)
        return rc;
    if (build_info(p, k, ird, modname ? modname : "", cmdline ? cmdline : "", out, err, errlen))
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
    return load(p, &k, in->initrd ? &ird : NULL, in->initrd_name, in->cmdline, out, err, errlen);
}

int multiboot_load_files(struct phys *p, const char *kernel, const char *initrd,
                         const char *cmdline, struct mb_boot *out,
                         char *err, size_t errlen)
{
    struct image_file k, ird;
    if (image_open(&k, kernel, err, errlen))
        return -1;
    if (initrd && image_open(&ird, initrd, err, errlen)) {
        image_close(&k);
        return -1;
    }
    int rc = load(p, &k, initrd ? &ird : NULL, initrd, cmdline, out, err, errlen);
    image_close(&k);
    if (initrd)
        image_close(&ird);
    return rc;
}
