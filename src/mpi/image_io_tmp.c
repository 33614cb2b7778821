/* image_io_tmp.c - TEMPORARY stand-in for issue 17 part D1's image file
 * (src/mpi/image_io.c): a simple format of its own (header, a byte per
 * page, a checksum per page, the state block, pages at fixed offsets of
 * a sparse file), POSIX I/O by every rank. For developing the checkpoint
 * core until D1 is merged; the integrator deletes it. */
#define _GNU_SOURCE
#include "mpi/image_io_tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snap/snapbuf.h"

#define PG 4096u
#define MAGIC "VSMPTMP"

struct hdr {
    char magic[8];
    uint32_t version, ncpus;
    uint64_t ram, npages, state_len, state_sum, total, sum;
};

static uint64_t align(uint64_t v) { return (v + PG - 1) / PG * PG; }
static uint64_t state_off(uint64_t np) { return align(PG + np + 8 * np); }
static uint64_t pages_off(uint64_t np, uint64_t sl) { return align(state_off(np) + sl); }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every rank: did any fail? The lowest failing rank's message to all. */
static int agree(MPI_Comm comm, int bad, char *err, size_t errlen)
{
    int rank, who;
    MPI_Comm_rank(comm, &rank);
    int mine = bad ? rank : INT_MAX;
    MPI_Allreduce(&mine, &who, 1, MPI_INT, MPI_MIN, comm);
    if (who == INT_MAX)
        return 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", bad ? err : "");
    MPI_Bcast(buf, sizeof buf, MPI_CHAR, who, comm);
    snprintf(err, errlen, "%s", buf);
    return -1;
}

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p = (const char *)p + k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t k = pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        p = (char *)p + k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static bool zero_page(const uint8_t *p)
{
    for (unsigned i = 0; i < PG; i++)
        if (p[i])
            return false;
    return true;
}

int image_write(MPI_Comm comm, const char *path, const struct image_geometry *g,
                const uint8_t *ram, const uint8_t *valid, const void *state, size_t state_len,
                struct image_write_result *out, char *err, size_t errlen)
{
    int rank, n;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &n);
    double t0 = now_s();
    uint64_t np = g->ram_bytes / PG;
    uint64_t sl = state_len;
    MPI_Bcast(&sl, 1, MPI_UINT64_T, 0, comm);
    int *writer = malloc(np * sizeof(int)), *mine = malloc(np * sizeof(int));
    uint8_t *stored = calloc(np, 1), *stored_all = calloc(np, 1);
    uint64_t *sums = calloc(np, 8), *sums_all = calloc(np, 8);
    char tmp[PATH_MAX];
    int fd = -1, bad = 0;
    err[0] = 0;
    for (uint64_t p = 0; p < np; p++)
        mine[p] = valid[p] ? rank : INT_MAX;
    MPI_Allreduce(mine, writer, (int)np, MPI_INT, MPI_MIN, comm);
    int pid = (int)getpid();
    MPI_Bcast(&pid, 1, MPI_INT, 0, comm);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, pid);
    if (rank == 0) {
        fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
            bad = 1;
        }
    }
    if (agree(comm, bad, err, errlen))
        goto out;
    if (rank != 0) {
        fd = open(tmp, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, errlen, "rank %d cannot open %s: %s", rank, tmp, strerror(errno));
            bad = 1;
        }
    }
    uint64_t po = pages_off(np, sl), count = 0;
    for (uint64_t p = 0; p < np && !bad; p++) {
        if (writer[p] != rank || zero_page(ram + p * PG))
            continue;
        stored[p] = 1;
        count++;
        sums[p] = snap_sum(ram + p * PG, PG, p);
        if (pwrite_all(fd, ram + p * PG, PG, po + p * PG)) {
            snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
            bad = 1;
        }
    }
    MPI_Allreduce(stored, stored_all, (int)np, MPI_UINT8_T, MPI_MAX, comm);
    MPI_Allreduce(sums, sums_all, (int)np, MPI_UINT64_T, MPI_BOR, comm);
    uint64_t pages = 0;
    MPI_Allreduce(&count, &pages, 1, MPI_UINT64_T, MPI_SUM, comm);
    if (rank == 0 && !bad) {
        struct hdr h = { .version = 1, .ncpus = g->ncpus, .ram = g->ram_bytes, .npages = np,
                         .state_len = sl, .state_sum = snap_sum(state, sl, 1),
                         .total = po + np * PG };
        memcpy(h.magic, MAGIC, 8);
        h.sum = snap_sum(&h, sizeof h, 7);
        if (pwrite_all(fd, &h, sizeof h, 0) || pwrite_all(fd, stored_all, np, PG) ||
            pwrite_all(fd, sums_all, np * 8, PG + np) ||
            pwrite_all(fd, state, sl, state_off(np)) || ftruncate(fd, (off_t)h.total)) {
            snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
            bad = 1;
        }
    }
    if (!bad && fsync(fd)) {
        snprintf(err, errlen, "cannot fsync %s: %s", tmp, strerror(errno));
        bad = 1;
    }
    if (fd >= 0)
        close(fd);
    fd = -1;
    if (agree(comm, bad, err, errlen)) {
        if (rank == 0)
            unlink(tmp);
        goto out;
    }
    if (rank == 0) {
        if (rename(tmp, path)) {
            snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
            unlink(tmp);
            bad = 1;
        } else {
            char d[PATH_MAX];
            snprintf(d, sizeof d, "%s", path);
            int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
    }
    if (agree(comm, bad, err, errlen))
        goto out;
    if (out) {
        out->pages_stored = pages;
        out->bytes_stored = pages * PG;
        out->seconds = now_s() - t0;
    }
out:
    free(writer);
    free(mine);
    free(stored);
    free(stored_all);
    free(sums);
    free(sums_all);
    return err[0] ? -1 : 0;
}

int image_read(MPI_Comm comm, const char *path, const struct image_geometry *g, uint8_t *ram,
               uint8_t *owned, void **state, size_t *state_len, struct image_read_result *out,
               char *err, size_t errlen)
{
    int rank, n, bad = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &n);
    double t0 = now_s();
    err[0] = 0;
    *state = NULL;
    *state_len = 0;
    uint8_t *stored = NULL, *st = NULL;
    uint64_t *sums = NULL;
    struct hdr h;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "restore %s: %s", path, strerror(errno));
        bad = 1;
    } else if (fstat(fd, &sb) || pread_all(fd, &h, sizeof h, 0) || memcmp(h.magic, MAGIC, 8)) {
        snprintf(err, errlen, "restore %s: not a vsmp memory image", path);
        bad = 1;
    } else {
        uint64_t sum = h.sum;
        h.sum = 0;
        if (snap_sum(&h, sizeof h, 7) != sum) {
            snprintf(err, errlen, "restore %s: the header fails its checksum (image corrupted)", path);
            bad = 1;
        } else if ((uint64_t)sb.st_size != h.total) {
            snprintf(err, errlen, "restore %s: %llu bytes, the header says %llu (truncated)", path,
                     (unsigned long long)sb.st_size, (unsigned long long)h.total);
            bad = 1;
        } else if (h.ncpus != g->ncpus) {
            snprintf(err, errlen, "restore %s: the image is of %u CPU%s, this job has %u rank%s",
                     path, h.ncpus, h.ncpus == 1 ? "" : "s", g->ncpus, g->ncpus == 1 ? "" : "s");
            bad = 1;
        } else if (h.ram != g->ram_bytes) {
            snprintf(err, errlen, "restore %s: the image has %llu MiB of RAM, the config %llu MiB",
                     path, (unsigned long long)h.ram >> 20, (unsigned long long)g->ram_bytes >> 20);
            bad = 1;
        }
    }
    if (agree(comm, bad, err, errlen))
        goto out;
    uint64_t np = h.npages;
    stored = malloc(np);
    sums = malloc(np * 8);
    st = malloc(h.state_len ? h.state_len : 1);
    if (!stored || !sums || !st || pread_all(fd, stored, np, PG) ||
        pread_all(fd, sums, np * 8, PG + np) || pread_all(fd, st, h.state_len, state_off(np))) {
        snprintf(err, errlen, "restore %s: cannot read: %s", path, strerror(errno));
        bad = 1;
    } else if (snap_sum(st, h.state_len, 1) != h.state_sum) {
        snprintf(err, errlen, "restore %s: the state block fails its checksum (image corrupted)",
                 path);
        bad = 1;
    }
    uint64_t po = pages_off(np, h.state_len), count = 0;
    for (uint64_t p = 0; p < np && !bad; p++) {
        owned[p] = 0;
        if (!stored[p] || p % (uint64_t)n != (uint64_t)rank)
            continue;
        if (pread_all(fd, ram + p * PG, PG, po + p * PG)) {
            snprintf(err, errlen, "restore %s: cannot read page 0x%llx: %s", path,
                     (unsigned long long)p, strerror(errno));
            bad = 1;
        } else if (snap_sum(ram + p * PG, PG, p) != sums[p]) {
            snprintf(err, errlen, "restore %s: page 0x%llx fails its checksum (image corrupted)",
                     path, (unsigned long long)p);
            bad = 1;
        }
        owned[p] = 1;
        count++;
    }
    if (agree(comm, bad, err, errlen))
        goto out;
    uint64_t pages = 0;
    MPI_Allreduce(&count, &pages, 1, MPI_UINT64_T, MPI_SUM, comm);
    *state = st;
    *state_len = h.state_len;
    st = NULL;
    if (out) {
        out->pages_stored = pages;
        out->bytes_stored = pages * PG;
        out->seconds = now_s() - t0;
    }
out:
    if (fd >= 0)
        close(fd);
    free(stored);
    free(sums);
    free(st);
    return err[0] ? -1 : 0;
}
