/* diskfile.c - a disk's host image: open, lock, size, positioned I/O
 * (diskfile.h). */
#define _GNU_SOURCE
#include "io/diskfile.h"

#include "io/imagefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int diskfile_open(struct diskfile *d, const char *path, bool ro, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->fd = -1;
    d->ro = ro;
    struct stat st;
    int fd = image_open_regular(path, ro ? O_RDONLY : O_RDWR, &st, err, errlen);
    if (fd < 0)
        return -1;
    if ((uint64_t)st.st_size < DISK_SECTOR) {
        snprintf(err, errlen, "%s: %s", path, st.st_size == 0 ? "empty (zero length)"
                 : "shorter than one 512-byte sector");
        close(fd);
        return -1;
    }
    struct flock lk = { .l_type = ro ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET,
                        .l_start = 0, .l_len = 0 };
    if (fcntl(fd, F_OFD_SETLK, &lk) != 0) {
        int e = errno;
        if (e == EAGAIN || e == EACCES)
            snprintf(err, errlen, "%s: in use by another vsmp job (locked)", path);
        else
            snprintf(err, errlen, "%s: cannot lock: %s", path, strerror(e));
        close(fd);
        return -1;
    }
    d->fd = fd;
    d->sectors = (uint64_t)st.st_size / DISK_SECTOR;
    d->tail = (uint64_t)st.st_size % DISK_SECTOR;
    d->dev = (uint64_t)st.st_dev;
    d->ino = (uint64_t)st.st_ino;
    return 0;
}

void diskfile_close(struct diskfile *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

static bool in_range(const struct diskfile *d, size_t len, uint64_t off)
{
    uint64_t end = d->sectors * DISK_SECTOR;
    return d->fd >= 0 && off <= end && len <= end - off;
}

/* All of len bytes at off, through short transfers and EINTR: 0, or
 * -errno (-EIO when the file ends first: the image shrank under us). */
static int transfer(int fd, void *buf, size_t len, uint64_t off, bool write)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = write ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

int diskfile_read(struct diskfile *d, void *buf, size_t len, uint64_t off)
{
    if (!in_range(d, len, off))
        return -EINVAL;
    if (d->hook) {
        int rc = d->hook(d->hook_ctx, DISKFILE_READ);
        if (rc)
            return rc;
    }
    return transfer(d->fd, buf, len, off, false);
}

int diskfile_read_nowait(struct diskfile *d, void *buf, size_t len, uint64_t off)
{
    if (!in_range(d, len, off))
        return -EAGAIN;
    struct iovec iov = { buf, len };
    ssize_t n = preadv2(d->fd, &iov, 1, (off_t)off, RWF_NOWAIT);
    if (n < 0 && errno == EOPNOTSUPP)
        return -EOPNOTSUPP;
    return n == (ssize_t)len ? 0 : -EAGAIN;
}

int diskfile_write(struct diskfile *d, const void *buf, size_t len, uint64_t off)
{
    if (!in_range(d, len, off))
        return -EINVAL;
    if (d->ro)
        return -EBADF;
    if (d->hook) {
        int rc = d->hook(d->hook_ctx, DISKFILE_WRITE);
        if (rc)
            return rc;
    }
    return transfer(d->fd, (void *)buf, len, off, true);
}

int diskfile_flush(struct diskfile *d)
{
    if (d->fd < 0)
        return -EBADF;
    if (d->hook) {
        int rc = d->hook(d->hook_ctx, DISKFILE_FLUSH);
        if (rc)
            return rc;
    }
    while (fdatasync(d->fd) != 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}
