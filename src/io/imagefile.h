/* imagefile.h - the files a loader reads (kernel, initrd, ROM image):
 * opened without blocking (a FIFO must not hang the start), required to
 * be regular files, their size taken from fstat() before anything is
 * read, then read piece by piece at offsets - never whole - so that a
 * size check against guest RAM comes first and costs nothing. The same
 * interface serves images already in memory (unit tests, multiboot_load).
 * Every error is one line "NAME: what is wrong". */
#ifndef VSMP_IMAGEFILE_H
#define VSMP_IMAGEFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct image_file {
    const char *name;           /* for messages (borrowed) */
    uint64_t size;              /* bytes, from fstat() or the caller */
    const uint8_t *mem;         /* the bytes when in memory, else NULL */
    int fd;                     /* the open file, -1 when in memory */
};

/* Open `path`: 0, or -1 with "PATH: No such file or directory",
 * "PATH: not a regular file (a directory)" etc. in err. */
int image_open(struct image_file *f, const char *path, char *err, size_t errlen);
/* The open behind image_open, for other users of host files (disk
 * images): opens `path` with `oflags` (O_RDONLY, O_RDWR) and O_CLOEXEC,
 * without waiting on a FIFO, and requires a regular file. Returns the fd
 * (blocking again) with its fstat() in *st, or -1 with "PATH: cause" /
 * "PATH: not a regular file (a directory)" etc. in err. */
int image_open_regular(const char *path, int oflags, struct stat *st, char *err, size_t errlen);
/* `len` bytes at `data` (borrowed), named `name` in messages. */
void image_from_memory(struct image_file *f, const char *name, const void *data, size_t len);
/* `len` bytes at offset `off` into buf: 0, or -1 with "NAME: read error
 * at offset N: <strerror>" or "NAME: ends at byte N, not at its size M
 * (changed while loading?)" in err. */
int image_read(const struct image_file *f, uint64_t off, void *buf, size_t len,
               char *err, size_t errlen);
void image_close(struct image_file *f);

#endif
