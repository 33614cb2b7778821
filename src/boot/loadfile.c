/* loadfile.c - the loaders' shared error message and file-to-RAM copy
 * (loadfile.h). */
#include "boot/loadfile.h"

#include <stdarg.h>
#include <stdio.h>

#define CHUNK 16384u      /* file -> RAM copies go through this */

int load_fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", name, msg);
    return -1;
}

int load_file_to_ram(struct phys *p, const struct image_file *f, uint64_t off, uint32_t addr,
                     uint64_t len, char *err, size_t errlen)
{
    uint8_t buf[CHUNK];
    while (len) {
        size_t n = len < CHUNK ? (size_t)len : CHUNK;
        if (image_read(f, off, buf, n, err, errlen))
            return -1;
        if (phys_copy_in(p, addr, buf, n))
            return load_fail(err, errlen, f->name, "internal error: 0x%x is outside guest RAM",
                             addr);
        off += n;
        addr += (uint32_t)n;
        len -= n;
    }
    return 0;
}
