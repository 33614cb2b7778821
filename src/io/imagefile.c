/* imagefile.c - files for the loaders: regular-file check and size from
 * fstat() first, then reads at offsets (see imagefile.h). */
#include "io/imagefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m)  ? "a directory"
         : S_ISFIFO(m) ? "a FIFO"
         : S_ISCHR(m)  ? "a character device"
         : S_ISBLK(m)  ? "a block device"
         : S_ISSOCK(m) ? "a socket"
                       : "not a plain file";
}

int image_open_regular(const char *path, int oflags, struct stat *st, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO without a writer would wait for one. */
    int fd = open(path, oflags | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s: not a regular file (%s)", path, kind_of(st->st_mode));
        close(fd);
        return -1;
    }
    /* Regular files ignore O_NONBLOCK; clear it all the same. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int image_open(struct image_file *f, const char *path, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->name = path;
    f->fd = -1;
    struct stat st;
    int fd = image_open_regular(path, O_RDONLY, &st, err, errlen);
    if (fd < 0)
        return -1;
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    return 0;
}

void image_from_memory(struct image_file *f, const char *name, const void *data, size_t len)
{
    f->name = name;
    f->size = len;
    f->mem = data;
    f->fd = -1;
}

int image_read(const struct image_file *f, uint64_t off, void *buf, size_t len,
               char *err, size_t errlen)
{
    if (off > f->size || len > f->size - off) {
        snprintf(err, errlen, "%s: %zu bytes at offset %llu lie beyond the end of the file (%llu bytes)",
                 f->name, len, (unsigned long long)off, (unsigned long long)f->size);
        return -1;
    }
    if (f->mem) {
        memcpy(buf, f->mem + off, len);
        return 0;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(f->fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: read error at offset %llu: %s", f->name,
                     (unsigned long long)(off + done), strerror(errno));
            return -1;
        }
        if (n == 0) {
            snprintf(err, errlen, "%s: ends at byte %llu, not at its size %llu (changed while loading?)",
                     f->name, (unsigned long long)(off + done), (unsigned long long)f->size);
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

void image_close(struct image_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}
