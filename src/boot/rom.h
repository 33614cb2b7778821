/* rom.h - raw firmware images (`rom PATH`): the file is mapped read-only
 * so that it ends at 1 MiB and at 4 GiB; the CPU then starts at the reset
 * vector (F000:FFF0) through cpu_reset(). */
#ifndef VSMP_ROM_H
#define VSMP_ROM_H

#include <stddef.h>

#include "mem/phys.h"

#define ROM_MAX_SIZE (128u * 1024u)

/* 0, or -1 with "PATH: what is wrong" in err. */
int rom_load(struct phys *p, const char *path, char *err, size_t errlen);

#endif
