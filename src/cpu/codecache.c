/* codecache.c - dual-mapped executable memory (see codecache.h).
 * memfd_create gives an anonymous file; mapping it twice gives a RW and a
 * RX view of the same pages. If memfd_create is unavailable, a POSIX shm
 * object unlinked right away serves the same purpose. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu/codecache.h"

static int make_fd(void)
{
#ifdef MFD_CLOEXEC
    int fd = memfd_create("vsmp-jit", MFD_CLOEXEC);
    if (fd >= 0)
        return fd;
#endif
    char name[64];
    snprintf(name, sizeof name, "/vsmp-jit-%d", (int)getpid());
    int fd2 = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd2 >= 0)
        shm_unlink(name);
    return fd2;
}

int codecache_init(struct codecache *cc, size_t size)
{
    memset(cc, 0, sizeof *cc);
    cc->fd = -1;
    size = (size + 0xffff) & ~(size_t)0xffff;
    int fd = make_fd();
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) < 0) {
        close(fd);
        return -1;
    }
    void *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (rw == MAP_FAILED) {
        close(fd);
        return -1;
    }
    void *rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (rx == MAP_FAILED) {
        munmap(rw, size);
        close(fd);
        return -1;
    }
    cc->rw = rw;
    cc->rx = rx;
    cc->size = size;
    cc->fd = fd;
    return 0;
}

void codecache_free(struct codecache *cc)
{
    if (cc->rw)
        munmap(cc->rw, cc->size);
    if (cc->rx)
        munmap(cc->rx, cc->size);
    if (cc->fd >= 0)
        close(cc->fd);
    memset(cc, 0, sizeof *cc);
    cc->fd = -1;
}

void codecache_reset(struct codecache *cc)
{
    cc->used = cc->reserved;
}
