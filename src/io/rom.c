/* rom.c - reads a raw firmware image, checks its size and maps it. */
#include "io/rom.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rom_load(struct phys *p, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(ROM_MAX_SIZE + 1);
    size_t n = buf ? fread(buf, 1, ROM_MAX_SIZE + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    int rc = -1;
    if (!buf)
        snprintf(err, errlen, "%s: out of memory", path);
    else if (bad)
        snprintf(err, errlen, "%s: read error", path);
    else if (n == 0 || n > ROM_MAX_SIZE || n % 4096)
        snprintf(err, errlen,
                 "%s: ROM image must be a non-zero multiple of 4 KiB up to 128 KiB (it is %zu bytes%s)",
                 path, n > ROM_MAX_SIZE ? ROM_MAX_SIZE : n, n > ROM_MAX_SIZE ? " or more" : "");
    else if (phys_map_rom(p, buf, (uint32_t)n) != 0)
        snprintf(err, errlen, "%s: cannot map the ROM image", path);
    else
        rc = 0;
    free(buf);
    return rc;
}
