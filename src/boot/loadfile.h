/* loadfile.h - what the kernel loaders (multiboot.c, linux.c) share:
 * their one-line error message and the copy of part of an image file
 * into guest RAM, a chunk at a time (the file is never read whole). */
#ifndef VSMP_BOOT_LOADFILE_H
#define VSMP_BOOT_LOADFILE_H

#include <stddef.h>
#include <stdint.h>

#include "io/imagefile.h"
#include "mem/phys.h"

/* "NAME: message" into err; returns -1. */
__attribute__((format(printf, 4, 5)))
int load_fail(char *err, size_t errlen, const char *name, const char *fmt, ...);
/* `len` bytes of the file at `off` into RAM at `addr` (the caller has
 * checked that they fit): 0, or -1 with the message in err. */
int load_file_to_ram(struct phys *p, const struct image_file *f, uint64_t off, uint32_t addr,
                     uint64_t len, char *err, size_t errlen);

#endif
