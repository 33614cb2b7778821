/* rom.c - reads a raw firmware image, checks its size and maps it. */
#include "boot/rom.h"

#include <stdio.h>
#include <stdlib.h>

#include "io/imagefile.h"

int rom_load(struct phys *p, const char *path, char *err, size_t errlen)
{
    struct image_file f;
    if (image_open(&f, path, err, errlen))
        return -1;
    int rc = -1;
    uint8_t *buf = NULL;
    /* The size from fstat, checked before anything is read. */
    if (f.size == 0 || f.size > ROM_MAX_SIZE || f.size % 4096)
        snprintf(err, errlen,
                 "%s: ROM image must be a non-zero multiple of 4 KiB up to 128 KiB (it is %llu bytes)",
                 path, (unsigned long long)f.size);
    else if (!(buf = malloc((size_t)f.size)))
        snprintf(err, errlen, "%s: out of memory", path);
    else if (image_read(&f, 0, buf, (size_t)f.size, err, errlen) == 0) {
        if (phys_map_rom(p, buf, (uint32_t)f.size) != 0)
            snprintf(err, errlen, "%s: cannot map the ROM image", path);
        else
            rc = 0;
    }
    free(buf);
    image_close(&f);
    return rc;
}
