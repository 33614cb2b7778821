/* linux.c - loads a Linux bzImage by the 32-bit boot protocol (see
 * linux.h for the memory layout and the rules it follows). */
#include "boot/linux.h"

#include <stdio.h>
#include <string.h>

#include "boot/le.h"
#include "boot/loadfile.h"

#define HEAD_LEN   1024u          /* the setup header lies in the first 2 sectors */
#define MIB        (1u << 20)

bool linux_is_kernel(const uint8_t *head, size_t len)
{
    return len >= LH_HEADER + 4 && memcmp(head + LH_HEADER, "HdrS", 4) == 0;
}

static uint32_t mib_up(uint64_t bytes)
{
    return (uint32_t)((bytes + MIB - 1) / MIB);
}

/* The boot GDT: null, null, 0x10 flat code, 0x18 flat data. */
static int write_gdt(struct phys *p)
{
    static const uint8_t gdt[32] = {
        0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0,
        0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0,      /* code: base 0, 4G, 32-bit */
        0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0,      /* data: base 0, 4G, 32-bit */
    };
    return phys_copy_in(p, LINUX_GDT_ADDR, gdt, sizeof gdt);
}

int linux_load(struct phys *p, const struct image_file *k, const struct image_file *ird,
               const struct linux_params *lp, struct linux_boot *out, char *err, size_t errlen)
{
    const char *name = k->name;
    uint8_t head[HEAD_LEN];
    memset(out, 0, sizeof *out);
    if (k->size < HEAD_LEN)
        return load_fail(err, errlen, name, "truncated Linux kernel: %llu bytes, the setup header "
                         "needs %u", (unsigned long long)k->size, HEAD_LEN);
    if (image_read(k, 0, head, HEAD_LEN, err, errlen))
        return -1;
    if (!linux_is_kernel(head, HEAD_LEN))
        return load_fail(err, errlen, name, "no Linux setup header (\"HdrS\" at 0x202)");
    if (le_rd16(head + LH_BOOT_FLAG) != 0xaa55)
        return load_fail(err, errlen, name, "malformed Linux kernel: boot flag 0x%04x, not 0xaa55",
                         le_rd16(head + LH_BOOT_FLAG));
    uint16_t version = le_rd16(head + LH_VERSION);
    if (version < LINUX_MIN_VERSION)
        return load_fail(err, errlen, name, "Linux boot protocol %u.%02u is too old (vsmp needs "
                         "%u.%02u or later)", version >> 8, version & 0xff,
                         LINUX_MIN_VERSION >> 8, LINUX_MIN_VERSION & 0xff);
    if (!(head[LH_LOADFLAGS] & LINUX_LOADED_HIGH))
        return load_fail(err, errlen, name, "a zImage (loaded low) is not supported: use a bzImage");
    unsigned hdr_end = LH_HEADER + head[LH_JUMP + 1];
    if (head[LH_JUMP] != 0xeb || hdr_end < LH_INIT_SIZE + 4 || hdr_end > HEAD_LEN)
        return load_fail(err, errlen, name, "malformed Linux kernel: setup header ends at 0x%x",
                         hdr_end);
    unsigned setup_sects = head[LH_SETUP_SECTS] ? head[LH_SETUP_SECTS] : 4;
    uint64_t setup_len = (uint64_t)(setup_sects + 1) * 512;
    if (k->size <= setup_len)
        return load_fail(err, errlen, name, "truncated Linux kernel: %llu bytes, the setup code "
                         "alone takes %llu", (unsigned long long)k->size,
                         (unsigned long long)setup_len);
    uint64_t pm_len = k->size - setup_len;
    uint32_t init_size = le_rd32(head + LH_INIT_SIZE);
    uint32_t pref = le_rd32(head + LH_PREF_ADDRESS);
    uint32_t align = le_rd32(head + LH_KERNEL_ALIGN);
    bool relocatable = head[LH_RELOCATABLE] != 0;
    if (init_size < pm_len)
        return load_fail(err, errlen, name, "malformed Linux kernel: init_size %u is smaller than "
                         "the kernel's %llu bytes", init_size, (unsigned long long)pm_len);
    /* Where the kernel decompresses itself: at its preferred address
     * (LOAD_PHYSICAL_ADDR) when that is above 1 MiB, init_size bytes. */
    uint64_t out_at = LINUX_KERNEL_ADDR;
    if (relocatable && align && (align & (align - 1)) == 0)
        out_at = (out_at + align - 1) & ~(uint64_t)(align - 1);
    if (pref > out_at)
        out_at = pref;
    uint64_t extract_end = out_at + init_size;
    uint64_t kernel_end = LINUX_KERNEL_ADDR + pm_len;
    if (extract_end < kernel_end)
        extract_end = kernel_end;
    if (extract_end > p->ram_size)
        return load_fail(err, errlen, name, "the kernel needs %u MiB of RAM to start (it decompresses "
                         "to 0x%llx-0x%llx), but memory is %u MiB", mib_up(extract_end),
                         (unsigned long long)out_at, (unsigned long long)extract_end,
                         p->ram_size >> 20);
    /* The command line. */
    const char *cmdline = lp->cmdline ? lp->cmdline : "";
    size_t cl_len = strlen(cmdline);
    uint32_t cl_max = le_rd32(head + LH_CMDLINE_SIZE);
    if (cl_len > cl_max || cl_len >= LINUX_CMDLINE_MAX)
        return load_fail(err, errlen, name, "command line of %zu bytes is longer than the kernel "
                         "takes (%u)", cl_len, cl_max < LINUX_CMDLINE_MAX - 1 ? cl_max :
                         LINUX_CMDLINE_MAX - 1);
    /* The initrd: at the top of what the kernel can reach, above the
     * area the kernel decompresses into. */
    uint32_t initrd_addr = 0;
    uint64_t initrd_size = ird ? ird->size : 0;
    if (ird) {
        uint64_t top = p->ram_size;
        uint64_t max = (uint64_t)le_rd32(head + LH_INITRD_ADDR_MAX) + 1;
        if (max < top)
            top = max;
        top &= ~(uint64_t)(PAGE_SIZE - 1);
        if (initrd_size > top || ((top - initrd_size) & ~(uint64_t)(PAGE_SIZE - 1)) <
                                     extract_end)
            return load_fail(err, errlen, ird->name, "initrd of %llu bytes does not fit between "
                             "the kernel (up to %u MiB) and %u MiB (memory %u MiB)",
                             (unsigned long long)initrd_size, mib_up(extract_end),
                             (uint32_t)(top >> 20), p->ram_size >> 20);
        initrd_addr = (uint32_t)((top - initrd_size) & ~(uint64_t)(PAGE_SIZE - 1));
    }
    if (lp->ne820 < 1 || lp->ne820 > BP_E820_MAX)
        return load_fail(err, errlen, name, "internal error: %d e820 entries", lp->ne820);

    /* Everything fits: write. */
    uint8_t bp[BP_SIZE];
    memset(bp, 0, sizeof bp);
    memcpy(bp + LH_SETUP_SECTS, head + LH_SETUP_SECTS, hdr_end - LH_SETUP_SECTS);
    bp[LH_TYPE_OF_LOADER] = 0xff;                 /* no registered loader ID */
    le_wr32(bp + LH_CODE32_START, LINUX_KERNEL_ADDR);
    le_wr32(bp + LH_RAMDISK_IMAGE, initrd_addr);
    le_wr32(bp + LH_RAMDISK_SIZE, (uint32_t)initrd_size);
    le_wr32(bp + LH_CMD_LINE_PTR, LINUX_CMDLINE_ADDR);
    if (version >= 0x020e)
        le_wr64(bp + BP_ACPI_RSDP_ADDR, lp->rsdp_addr);
    uint64_t ext_kib = p->ram_size > MIB ? (p->ram_size - MIB) >> 10 : 0;
    le_wr32(bp + BP_ALT_MEM_K, (uint32_t)ext_kib);
    bp[BP_E820_ENTRIES] = (uint8_t)lp->ne820;
    for (int i = 0; i < lp->ne820; i++) {
        uint8_t *e = bp + BP_E820_TABLE + 20 * i;
        le_wr64(e, lp->e820[i].base);
        le_wr64(e + 8, lp->e820[i].len);
        le_wr32(e + 16, lp->e820[i].type);
    }
    if (write_gdt(p) || phys_copy_in(p, LINUX_PARAMS_ADDR, bp, sizeof bp) ||
        phys_copy_in(p, LINUX_CMDLINE_ADDR, cmdline, cl_len + 1))
        return load_fail(err, errlen, name, "memory %u MiB is too small for the boot data",
                         p->ram_size >> 20);
    if (load_file_to_ram(p, k, setup_len, LINUX_KERNEL_ADDR, pm_len, err, errlen))
        return -1;
    if (ird && load_file_to_ram(p, ird, 0, initrd_addr, initrd_size, err, errlen))
        return -1;
    out->version = version;
    out->entry = LINUX_KERNEL_ADDR;
    out->params = LINUX_PARAMS_ADDR;
    out->kernel_end = (uint32_t)kernel_end;
    out->extract_end = (uint32_t)extract_end;
    out->initrd_addr = initrd_addr;
    out->initrd_size = (uint32_t)initrd_size;
    out->cmdline_addr = LINUX_CMDLINE_ADDR;
    return 0;
}

int linux_load_files(struct phys *p, const char *kernel, const char *initrd,
                     const struct linux_params *lp, struct linux_boot *out,
                     char *err, size_t errlen)
{
    struct image_file k, ird;
    uint8_t head[LH_HEADER + 4];
    if (image_open(&k, kernel, err, errlen))
        return -1;
    if (k.size < sizeof head || image_read(&k, 0, head, sizeof head, err, errlen) ||
        !linux_is_kernel(head, sizeof head)) {
        image_close(&k);
        return 1;
    }
    if (initrd && image_open(&ird, initrd, err, errlen)) {
        image_close(&k);
        return -1;
    }
    int rc = linux_load(p, &k, initrd ? &ird : NULL, lp, out, err, errlen);
    image_close(&k);
    if (initrd)
        image_close(&ird);
    return rc;
}
