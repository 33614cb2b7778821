/* diskfile.h - a disk's image on the host (rank 0): a raw file opened
 * read-write (or read-only for `disk PATH ro`), its size in 512-byte
 * sectors from fstat(), an OFD lock on the whole file so that two vsmp
 * jobs never open one writable image at once (a write lock for a
 * writable disk, a read lock for a read-only one: read-only users may
 * share an image, nobody writes it under them), and positioned reads,
 * writes and fdatasync that retry EINTR and short transfers. A host I/O
 * error is returned as -errno, never fatal: the device turns it into an
 * I/O error in the guest. The operations may run on a disk's host I/O
 * thread (io/hostio.h): they touch only the fd and the caller's buffer.
 *
 * An image whose size is not a multiple of 512 is used with its size
 * rounded down: the bytes after the last whole sector are neither read
 * nor written (a zero-length image, or one shorter than a sector, is
 * refused). */
#ifndef VSMP_DISKFILE_H
#define VSMP_DISKFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISK_SECTOR 512u

enum diskfile_op { DISKFILE_READ, DISKFILE_WRITE, DISKFILE_FLUSH };

struct diskfile {
    int fd;                     /* -1: closed */
    bool ro;
    uint64_t sectors;           /* whole 512-byte sectors of the image */
    uint64_t tail;              /* bytes after the last whole sector */
    uint64_t dev, ino;          /* the file's identity (fstat at open) */
    /* tests: called first by each read, write and flush (on whichever
     * thread runs it); non-zero (-errno) fails the operation undone */
    int (*hook)(void *ctx, enum diskfile_op op);
    void *hook_ctx;
};

/* Open and lock `path`. 0, or -1 with one line in err: "PATH: <cause>",
 * "PATH: in use by another vsmp job (locked)", "PATH: shorter than one
 * 512-byte sector", ... (the caller adds "CONFIG:LINE: "). */
int diskfile_open(struct diskfile *d, const char *path, bool ro, char *err, size_t errlen);
/* Closes the file (and so drops the lock); safe on a closed one. */
void diskfile_close(struct diskfile *d);
/* len bytes at byte offset off: 0 or -errno (-EIO for an end of file
 * before len: the image shrank). off + len beyond the sectors: -EINVAL. */
int diskfile_read(struct diskfile *d, void *buf, size_t len, uint64_t off);
int diskfile_write(struct diskfile *d, const void *buf, size_t len, uint64_t off);
/* A read only if the host's page cache holds it all (preadv2 with
 * RWF_NOWAIT: never waits for the storage): 0, or -EAGAIN (not all
 * cached, or any error: do it with diskfile_read), -EOPNOTSUPP (the file
 * system cannot tell: do not ask again). Not hooked. */
int diskfile_read_nowait(struct diskfile *d, void *buf, size_t len, uint64_t off);
/* fdatasync: 0 or -errno. */
int diskfile_flush(struct diskfile *d);

#endif
