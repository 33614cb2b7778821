/* multiboot.h - Multiboot (version 1) kernel loader.
 *
 * Finds the Multiboot header in the first 8192 bytes of the image, checks
 * magic, checksum and the required-feature flags, loads the kernel (the
 * PT_LOAD segments of an ELF32 i386 executable through libelf, or the
 * address fields of the header when flag 16, the a.out kludge, is set,
 * as QEMU does), then
 * builds the multiboot_info structure with the memory map (the platform's
 * e820 map, boot/platform.h), command line,
 * boot loader name "vsmp" and the initrd as module 0, all placed in free
 * RAM above the kernel (at or above 1 MiB). Every header field and
 * segment is checked against the file and guest RAM before anything is
 * written; nothing is written outside guest RAM, and files are never read
 * whole (a file larger than RAM costs nothing): a malformed image or one
 * that does not fit is a one-line error naming the file. */
#ifndef VSMP_MULTIBOOT_H
#define VSMP_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "mem/phys.h"

struct platform;

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOT_MAGIC   0x2BADB002u
#define MULTIBOOT_SEARCH       8192u

/* multiboot_info flags vsmp sets */
#define MBI_MEM      0x001u
#define MBI_CMDLINE  0x004u
#define MBI_MODS     0x008u
#define MBI_MMAP     0x040u
#define MBI_LOADER   0x200u

/* Byte offsets in multiboot_info. */
#define MBI_OFF_FLAGS       0
#define MBI_OFF_MEM_LOWER   4
#define MBI_OFF_MEM_UPPER   8
#define MBI_OFF_CMDLINE     16
#define MBI_OFF_MODS_COUNT  20
#define MBI_OFF_MODS_ADDR   24
#define MBI_OFF_MMAP_LENGTH 44
#define MBI_OFF_MMAP_ADDR   48
#define MBI_OFF_LOADER_NAME 64
#define MBI_SIZE            128  /* 116 bytes defined, rounded up */

/* What the loader was given. */
struct mb_input {
    const char *name;            /* kernel file name, for messages */
    const uint8_t *image;
    size_t image_len;
    const uint8_t *initrd;       /* NULL: no module */
    size_t initrd_len;
    const char *initrd_name;     /* module string */
    const char *cmdline;         /* NULL: empty */
    const struct platform *platform;   /* the memory map's source (NULL:
                                        * the PC for this RAM size) */
};

/* Where things went, and the entry state (EAX, EBX, EIP). */
struct mb_boot {
    uint32_t entry;
    uint32_t eax, ebx;
    uint32_t kernel_start, kernel_end;   /* [start, end) */
    uint32_t info_addr, mmap_addr, cmdline_addr, loader_name_addr;
    uint32_t mods_addr, mod_start, mod_end;
    uint32_t free_addr;                  /* first byte after everything */
};

/* Load into RAM. 0, or -1 with a one-line message "NAME: what is wrong"
 * in err. */
int multiboot_load(struct phys *p, const struct mb_input *in, struct mb_boot *out,
                   char *err, size_t errlen);
/* The same from files (io/imagefile.h: regular files only, sizes
 * checked before anything is read), the memory map from `plat`. */
int multiboot_load_platform_files(struct phys *p, const struct platform *plat,
                                  const char *kernel, const char *initrd, const char *cmdline,
                                  struct mb_boot *out, char *err, size_t errlen);
/* The same with the PC for this RAM size (platform_describe()). */
int multiboot_load_files(struct phys *p, const char *kernel, const char *initrd,
                         const char *cmdline, struct mb_boot *out,
                         char *err, size_t errlen);

#endif
