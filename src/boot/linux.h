/* linux.h - the Linux x86 boot protocol, 32-bit entry (the way a
 * firmware-less VMM starts a bzImage; Linux Documentation/arch/x86/
 * boot.rst): the kernel's real-mode setup code is skipped, its
 * protected-mode part is loaded at 1 MiB, a "zero page" (struct
 * boot_params) is filled with the setup header copied from the file, the
 * e820 memory map, the command line, the initrd's place and the ACPI RSDP
 * address, and the CPU enters the kernel at 1 MiB in flat 32-bit
 * protected mode with ESI pointing at the zero page.
 *
 * Guest memory the loader uses (all below the kernel):
 *   LINUX_GDT_ADDR      a 4-entry GDT: selector 0x10 flat code, 0x18 flat
 *                       data (the protocol's __BOOT_CS / __BOOT_DS)
 *   LINUX_PARAMS_ADDR   boot_params (4 KiB)
 *   LINUX_CMDLINE_ADDR  the command line, NUL-terminated
 *   LINUX_KERNEL_ADDR   the protected-mode kernel (1 MiB)
 *   initrd              the highest page-aligned place below both the end
 *                       of RAM and the header's initrd_addr_max that
 *                       stays clear of the area the kernel decompresses
 *                       into (as QEMU and boot loaders place it)
 * Every header field is checked against the file and guest RAM before
 * anything is written; a malformed or truncated image, a kernel or an
 * initrd that does not fit, or a command line longer than the kernel
 * accepts is a one-line error naming the file. */
#ifndef VSMP_BOOT_LINUX_H
#define VSMP_BOOT_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/platform.h"
#include "io/imagefile.h"
#include "mem/phys.h"

#define LINUX_GDT_ADDR      0x00001000u
#define LINUX_PARAMS_ADDR   0x00010000u
#define LINUX_CMDLINE_ADDR  0x00020000u
#define LINUX_CMDLINE_MAX   0x00010000u   /* bytes reserved for it */
#define LINUX_KERNEL_ADDR   0x00100000u
#define LINUX_MIN_VERSION   0x020au       /* boot protocol 2.10 (init_size) */

/* Setup header field offsets in the file and in boot_params. */
#define LH_SETUP_SECTS     0x1f1
#define LH_BOOT_FLAG       0x1fe
#define LH_JUMP            0x200
#define LH_HEADER          0x202
#define LH_VERSION         0x206
#define LH_TYPE_OF_LOADER  0x210
#define LH_LOADFLAGS       0x211
#define LH_CODE32_START    0x214
#define LH_RAMDISK_IMAGE   0x218
#define LH_RAMDISK_SIZE    0x21c
#define LH_CMD_LINE_PTR    0x228
#define LH_INITRD_ADDR_MAX 0x22c
#define LH_KERNEL_ALIGN    0x230
#define LH_RELOCATABLE     0x234
#define LH_CMDLINE_SIZE    0x238
#define LH_PREF_ADDRESS    0x258
#define LH_INIT_SIZE       0x260
/* boot_params fields outside the header */
#define BP_ACPI_RSDP_ADDR  0x070
#define BP_ALT_MEM_K       0x1e0
#define BP_E820_ENTRIES    0x1e8
#define BP_E820_TABLE      0x2d0
#define BP_E820_MAX        128
#define BP_SIZE            4096

#define LINUX_LOADED_HIGH  0x01u          /* loadflags bit 0: a bzImage */

/* What the loader is told besides the files. */
struct linux_params {
    const char *cmdline;              /* NULL: empty */
    uint32_t rsdp_addr;               /* 0: none (the kernel scans) */
    const struct e820_entry *e820;    /* the memory map (platform_e820) */
    int ne820;
};

/* Where things went and how the CPU enters the kernel. */
struct linux_boot {
    uint16_t version;                 /* boot protocol, e.g. 0x020f */
    uint32_t entry;                   /* EIP */
    uint32_t params;                  /* ESI: the zero page */
    uint32_t kernel_end;              /* end of the loaded kernel */
    uint32_t extract_end;             /* end of the area it decompresses into */
    uint32_t initrd_addr, initrd_size;
    uint32_t cmdline_addr;
};

/* True when the first bytes of the file carry a Linux setup header
 * ("HdrS" at 0x202): the caller then loads it with linux_load(). */
bool linux_is_kernel(const uint8_t *head, size_t len);
/* 0, or -1 with "NAME: what is wrong" in err. ird may be NULL. */
int linux_load(struct phys *p, const struct image_file *k, const struct image_file *ird,
               const struct linux_params *lp, struct linux_boot *out, char *err, size_t errlen);
/* The same from files: 1 (nothing done, err untouched) when `kernel`
 * has no Linux setup header or cannot even be read that far - the
 * caller then tries the Multiboot loader, which says what is wrong -
 * else 0 or -1 as linux_load(). */
int linux_load_files(struct phys *p, const char *kernel, const char *initrd,
                     const struct linux_params *lp, struct linux_boot *out,
                     char *err, size_t errlen);

#endif
