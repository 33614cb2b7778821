/* image_io.c - collective write and read of a memory image over MPI
 * (docs/image-format.md; the API in image_io.h).
 *
 * Writing: the ranks agree on each page's writer (the lowest rank holding
 * it, an allreduce MIN), each writer drops its all-zero pages, an
 * allreduce OR joins the stored-page bitmap, and every rank derives the
 * same file layout from it. The file is created, sized, synced and closed
 * with collective MPI-IO calls; rank 0 writes the header, state, bitmap
 * and page sums (reduced to it) in one call; every rank writes its own
 * pages at their fixed offsets (move_pages: large O_DIRECT requests, or
 * independent MPI-IO calls).
 *
 * Reading: rank 0 validates the header against the geometry and the file
 * size and the checksums of the state, bitmap and sums before anything is
 * broadcast or used; each rank then reads one contiguous run of the stored
 * pages into its RAM and checks each page's sum.
 *
 * Every step that can fail on one rank ends with agree(): the lowest
 * failing rank's message goes to every rank, which then all leave through
 * the same cleanup (collective close, rank 0 removes the temporary file). */
#define _GNU_SOURCE /* O_DIRECT */
#include "mpi/image_io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "snap/snapbuf.h"

#define ERRMAX 512
#define PATHMAX 4096
#define RUN_MAX_PAGES 16384u        /* 64 MiB per transfer call */
#define IOV_BATCH 512               /* iovecs per call (below IOV_MAX) */
#define DIRECT_MIN_PAGES 64u        /* smaller file runs: buffered */

/* The parts' places in the file, all derived from (npages, stored,
 * state_len): the reader requires the header to hold exactly these. */
struct layout {
    uint64_t npages, stored, nwords;
    uint64_t state_off, state_len;
    uint64_t bitmap_off, bitmap_len;
    uint64_t sums_off, sums_len;
    uint64_t pages_off, pages_len;
    uint64_t file_len;
};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static bool add_ok(uint64_t a, uint64_t b, uint64_t *r)
{
    return !__builtin_add_overflow(a, b, r);
}
static bool align_ok(uint64_t a, uint64_t *r)
{
    if (!add_ok(a, IMAGE_PAGE - 1, r))
        return false;
    *r &= ~(uint64_t)(IMAGE_PAGE - 1);
    return true;
}

/* False when the sizes overflow (only a crafted header gets there). */
static bool layout_compute(uint64_t npages, uint64_t stored, uint64_t state_len,
                           struct layout *L)
{
    memset(L, 0, sizeof *L);
    L->npages = npages;
    L->stored = stored;
    L->nwords = (npages + 63) / 64;
    L->state_off = IMAGE_HEADER_BYTES;
    L->state_len = state_len;
    L->bitmap_len = L->nwords * 8;
    if (stored > npages || npages > (UINT64_MAX >> 13))
        return false;
    L->sums_len = stored * 8;
    L->pages_len = stored * IMAGE_PAGE;
    uint64_t t;
    return add_ok(L->state_off, state_len, &t) && align_ok(t, &L->bitmap_off) &&
           add_ok(L->bitmap_off, L->bitmap_len, &L->sums_off) &&
           add_ok(L->sums_off, L->sums_len, &t) && align_ok(t, &L->pages_off) &&
           add_ok(L->pages_off, L->pages_len, &L->file_len) &&
           L->file_len <= (uint64_t)INT64_MAX;
}

/* The first failure's message on this rank (later ones are dropped). */
__attribute__((format(printf, 2, 3)))
static void fail(char *le, const char *fmt, ...)
{
    if (le[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(le, ERRMAX, fmt, ap);
    va_end(ap);
    if (!le[0])
        snprintf(le, ERRMAX, "failed");
}

static void fail_mpi(char *le, const char *path, int me, const char *what, int rc)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS)
        snprintf(s, sizeof s, "MPI error %d", rc);
    for (char *c = s; *c; c++)
        if (*c == '\n')
            *c = ' ';
    fail(le, "%s: rank %d: %s: %s", path, me, what, s);
}

/* Collective: 0 when no rank failed; else the lowest failing rank's
 * message in err on every rank and -1. */
static int agree(MPI_Comm comm, int me, int n, const char *le, char *err, size_t errlen)
{
    int mine = le[0] ? me : n, first = n;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == n)
        return 0;
    char buf[ERRMAX];
    if (me == first)
        snprintf(buf, sizeof buf, "%s", le);
    MPI_Bcast(buf, ERRMAX, MPI_CHAR, first, comm);
    buf[ERRMAX - 1] = 0;
    if (err && errlen)
        snprintf(err, errlen, "%s", buf);
    return -1;
}

/* Collective: this rank passed the same geometry as rank 0. */
static bool same_geometry(MPI_Comm comm, const struct image_geometry *g)
{
    uint64_t v[2] = { g->ram_bytes, g->ncpus };
    MPI_Bcast(v, 2, MPI_UINT64_T, 0, comm);
    return v[0] == g->ram_bytes && v[1] == g->ncpus;
}

/* Collective: rank 0's path on every rank (the one name all ranks use). */
static void bcast_path(MPI_Comm comm, int me, const char *path, char *out)
{
    if (me == 0)
        snprintf(out, PATHMAX, "%s", path ? path : "");
    MPI_Bcast(out, PATHMAX, MPI_CHAR, 0, comm);
    out[PATHMAX - 1] = 0;
}

static bool page_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    for (unsigned i = 0; i < IMAGE_PAGE / 8; i += 8) {
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
            return false;
    }
    return true;
}

static uint64_t page_sum(const uint8_t *p, uint64_t pn)
{
    return snap_sum(p, IMAGE_PAGE, IMAGE_SEED_PAGE + pn);
}

static void seal_header(uint8_t *h)
{
    put64(h + IMAGE_H_HEADER_SUM, snap_sum(h, IMAGE_H_HEADER_SUM, IMAGE_SEED_HEADER));
}

static void fill_header(uint8_t *h, const struct image_geometry *g, const struct layout *L,
                        uint64_t state_sum, uint64_t bitmap_sum, uint64_t sums_sum)
{
    memset(h, 0, IMAGE_HEADER_BYTES);
    memcpy(h + IMAGE_H_MAGIC, IMAGE_MAGIC, 8);
    put32(h + IMAGE_H_VERSION, IMAGE_VERSION);
    put32(h + IMAGE_H_HEADER_BYTES, IMAGE_HEADER_BYTES);
    put32(h + IMAGE_H_PAGE_BYTES, IMAGE_PAGE);
    put32(h + IMAGE_H_NCPUS, g->ncpus);
    put64(h + IMAGE_H_RAM_BYTES, g->ram_bytes);
    put64(h + IMAGE_H_NPAGES, L->npages);
    put64(h + IMAGE_H_STORED, L->stored);
    put64(h + IMAGE_H_STATE_OFF, L->state_off);
    put64(h + IMAGE_H_STATE_LEN, L->state_len);
    put64(h + IMAGE_H_BITMAP_OFF, L->bitmap_off);
    put64(h + IMAGE_H_BITMAP_LEN, L->bitmap_len);
    put64(h + IMAGE_H_SUMS_OFF, L->sums_off);
    put64(h + IMAGE_H_SUMS_LEN, L->sums_len);
    put64(h + IMAGE_H_PAGES_OFF, L->pages_off);
    put64(h + IMAGE_H_PAGES_LEN, L->pages_len);
    put64(h + IMAGE_H_FILE_LEN, L->file_len);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    put64(h + IMAGE_H_CREATED_NS, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
    put64(h + IMAGE_H_STATE_SUM, state_sum);
    put64(h + IMAGE_H_BITMAP_SUM, bitmap_sum);
    put64(h + IMAGE_H_SUMS_SUM, sums_sum);
    seal_header(h);
}

/* Independent write/read of a byte range in pieces below 2^31. */
static int write_bytes(MPI_File fh, uint64_t off, const uint8_t *p, uint64_t len)
{
    while (len > 0) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        MPI_Status st;
        int rc = MPI_File_write_at(fh, (MPI_Offset)off, p, n, MPI_BYTE, &st);
        if (rc != MPI_SUCCESS)
            return rc;
        off += (uint64_t)n, p += n, len -= (uint64_t)n;
    }
    return MPI_SUCCESS;
}
static int read_bytes(MPI_File fh, uint64_t off, uint8_t *p, uint64_t len, bool *short_read)
{
    *short_read = false;
    while (len > 0) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len, got = 0;
        MPI_Status st;
        int rc = MPI_File_read_at(fh, (MPI_Offset)off, p, n, MPI_BYTE, &st);
        if (rc != MPI_SUCCESS)
            return rc;
        MPI_Get_count(&st, MPI_BYTE, &got);
        if (got != n) {
            *short_read = true;
            return MPI_SUCCESS;
        }
        off += (uint64_t)n, p += n, len -= (uint64_t)n;
    }
    return MPI_SUCCESS;
}

/* One vectored transfer at off with preadv/pwritev (short transfers and
 * EINTR retried; iov is consumed): 0, or an errno (ENODATA for the end of
 * the file). */
static int xferv(int fd, bool wr, struct iovec *iov, int cnt, uint64_t off)
{
    while (cnt > 0) {
        ssize_t r = wr ? pwritev(fd, iov, cnt, (off_t)off) : preadv(fd, iov, cnt, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0)
            return ENODATA;
        off += (uint64_t)r;
        while (cnt > 0 && (size_t)r >= iov->iov_len) {
            r -= (ssize_t)iov->iov_len;
            iov++, cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + r;
            iov->iov_len -= (size_t)r;
        }
    }
    return 0;
}

/* Moves this rank's pages between ram and the file: pairs[2k] is a page
 * number, pairs[2k+1] its stored index (both ascending). The pages go in
 * file runs (consecutive stored indices, up to 64 MiB): a run of at least
 * DIRECT_MIN_PAGES is one preadv/pwritev on the file opened again with
 * O_DIRECT, its iovecs the runs of consecutive pages in RAM (guest RAM is
 * page-aligned, and so are the file's pages): no copy through the page
 * cache, which on this kind of host is most of a write's cost, and few
 * large requests. Shorter runs (pages held in small pieces), and all runs
 * where O_DIRECT is refused (a filesystem without it, RAM not
 * page-aligned), go through independent MPI-IO calls on fh, one per run
 * of pages consecutive in both. Failures go to le. True when O_DIRECT
 * moved pages. */
static bool move_pages(MPI_File fh, const char *file, bool wr, uint8_t *ram, const uint64_t *pairs,
                       uint64_t count, uint64_t pages_off, const char *path, int me, char *le)
{
    bool direct = false, first = true;
    int fd = -1;
    if (count && (uintptr_t)ram % IMAGE_PAGE == 0)
        fd = open(file, (wr ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
    struct iovec iov[IOV_BATCH];
    for (uint64_t k = 0; k < count && !le[0];) {
        uint64_t i0 = pairs[2 * k + 1], m = 1;
        while (k + m < count && m < RUN_MAX_PAGES && pairs[2 * (k + m) + 1] == i0 + m)
            m++;
        uint64_t off = pages_off + i0 * IMAGE_PAGE;
        /* the RAM runs of this file run, at most IOV_BATCH of them */
        int cnt = 0;
        uint64_t used = 0;
        while (used < m) {
            uint64_t p = pairs[2 * (k + used)];
            if (cnt > 0 && (uint8_t *)iov[cnt - 1].iov_base + iov[cnt - 1].iov_len == ram + p * IMAGE_PAGE) {
                iov[cnt - 1].iov_len += IMAGE_PAGE;
            } else {
                if (cnt == IOV_BATCH)
                    break;
                iov[cnt].iov_base = ram + p * IMAGE_PAGE;
                iov[cnt].iov_len = IMAGE_PAGE;
                cnt++;
            }
            used++;
        }
        k += used;
        if (fd >= 0 && used >= DIRECT_MIN_PAGES) {
            struct iovec save[IOV_BATCH];
            memcpy(save, iov, (size_t)cnt * sizeof *iov);
            int e = xferv(fd, wr, iov, cnt, off);
            if (e == 0) {
                first = false;
                direct = true;
                continue;
            }
            if (!(first && e == EINVAL)) {
                if (e == ENODATA)
                    fail(le, "%s: the image is truncated (rank %d read past its end)", path, me);
                else
                    fail(le, "%s: rank %d: %s failed: %s", path, me, wr ? "write" : "read",
                         strerror(e));
                break;
            }
            close(fd);      /* O_DIRECT opened but refused: MPI-IO from here */
            fd = -1;
            memcpy(iov, save, (size_t)cnt * sizeof *iov);
        }
        for (int j = 0; j < cnt && !le[0]; j++) {
            bool shrt = false;
            uint8_t *buf = iov[j].iov_base;
            int rc = wr ? write_bytes(fh, off, buf, iov[j].iov_len)
                        : read_bytes(fh, off, buf, iov[j].iov_len, &shrt);
            if (rc != MPI_SUCCESS)
                fail_mpi(le, path, me, wr ? "write failed" : "read failed", rc);
            else if (shrt)
                fail(le, "%s: the image is truncated (rank %d read past its end)", path, me);
            off += iov[j].iov_len;
        }
    }
    if (fd >= 0)
        close(fd);
    return direct;
}

static void dir_of(const char *path, char *dir)
{
    snprintf(dir, PATHMAX, "%s", path);
    char *s = strrchr(dir, '/');
    if (!s)
        snprintf(dir, PATHMAX, ".");
    else if (s == dir)
        dir[1] = 0;
    else
        *s = 0;
}

static double now(void)
{
    return MPI_Wtime();
}

int image_io_write(MPI_Comm comm, const char *path_arg, const struct image_geometry *g,
                   const uint8_t *ram, const uint8_t *valid,
                   const void *state, size_t state_len,
                   struct image_write_result *out, char *err, size_t errlen)
{
    double t0 = now(), tsync = 0;
    int me, n;
    MPI_Comm_rank(comm, &me);
    MPI_Comm_size(comm, &n);
    char le[ERRMAX] = "", path[PATHMAX], tmp[PATHMAX + 32];
    int32_t *owner = NULL;
    uint64_t *bitmap = NULL, *sums = NULL, *mypages = NULL;
    uint8_t *meta = NULL;
    MPI_File fh = MPI_FILE_NULL;
    bool created = false;
    int ret = -1, rc;
    struct layout L;

    bcast_path(comm, me, path_arg, path);
    if (!path_arg || !path_arg[0] || strlen(path_arg) >= PATHMAX - 32)
        fail(le, "image: rank %d: no path or a path too long", me);
    else if (strcmp(path_arg, path) != 0)
        fail(le, "%s: rank %d: another path (%s) than rank 0's", path, me, path_arg);
    struct image_geometry gz = { 0, 0 };
    const struct image_geometry *gg = g ? g : &gz;
    if (!same_geometry(comm, gg))
        fail(le, "%s: rank %d: another memory size or CPU count than rank 0's", path, me);
    uint64_t npages = gg->ram_bytes / IMAGE_PAGE;
    if (!g || !ram || !valid)
        fail(le, "%s: rank %d: no geometry, RAM or valid map", path, me);
    else if (g->ram_bytes == 0 || g->ram_bytes % IMAGE_PAGE || npages > INT_MAX || g->ncpus == 0)
        fail(le, "%s: %llu bytes of memory, %u CPUs: not a machine an image can hold",
             path, (unsigned long long)g->ram_bytes, g->ncpus);
    uint64_t slen = state_len;
    if (me == 0 && (slen > IMAGE_STATE_MAX || (slen && !state)))
        fail(le, "%s: a state block of %llu bytes (at most %llu)", path,
             (unsigned long long)slen, (unsigned long long)IMAGE_STATE_MAX);
    MPI_Bcast(&slen, 1, MPI_UINT64_T, 0, comm);
    if (agree(comm, me, n, le, err, errlen))
        goto out;

    /* Each page's writer: the lowest rank holding it. */
    uint64_t nwords = (npages + 63) / 64;
    owner = malloc(npages * sizeof *owner);
    bitmap = calloc(nwords, sizeof *bitmap);
    if (!owner || !bitmap)
        fail(le, "%s: rank %d: out of memory", path, me);
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    for (uint64_t p = 0; p < npages; p++)
        owner[p] = valid[p] ? me : INT32_MAX;
    MPI_Allreduce(MPI_IN_PLACE, owner, (int)npages, MPI_INT32_T, MPI_MIN, comm);
    uint64_t mine = 0;
    for (uint64_t p = 0; p < npages; p++)
        if (owner[p] == me && !page_zero(ram + p * IMAGE_PAGE)) {
            bitmap[p / 64] |= 1ull << (p % 64);
            mine++;
        }
    MPI_Allreduce(MPI_IN_PLACE, bitmap, (int)nwords, MPI_UINT64_T, MPI_BOR, comm);
    uint64_t stored = 0;
    for (uint64_t w = 0; w < nwords; w++)
        stored += (uint64_t)__builtin_popcountll(bitmap[w]);
    if (!layout_compute(npages, stored, slen, &L))
        fail(le, "%s: the image would be too large", path);

    /* My pages in page order with their stored index; their sums. */
    sums = calloc(stored ? stored : 1, sizeof *sums);
    mypages = malloc((mine ? mine : 1) * 2 * sizeof *mypages);
    if (!sums || !mypages)
        fail(le, "%s: rank %d: out of memory", path, me);
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    {
        uint64_t idx = 0, k = 0;
        for (uint64_t w = 0; w < nwords; w++)
            for (uint64_t b = bitmap[w]; b; b &= b - 1, idx++) {
                uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(b);
                if (owner[p] != me)
                    continue;
                sums[idx] = page_sum(ram + p * IMAGE_PAGE, p);
                mypages[2 * k] = p;
                mypages[2 * k + 1] = idx;
                k++;
            }
    }
    free(owner);
    owner = NULL;
    MPI_Reduce(me == 0 ? MPI_IN_PLACE : sums, sums, (int)stored, MPI_UINT64_T, MPI_BOR, 0, comm);

    /* Rank 0: header, state, bitmap and sums, 0 .. pages_off. */
    if (me == 0) {
        meta = calloc(1, L.pages_off);
        if (!meta) {
            fail(le, "%s: rank 0: out of memory", path);
        } else {
            if (slen)
                memcpy(meta + L.state_off, state, slen);
            for (uint64_t w = 0; w < nwords; w++)
                put64(meta + L.bitmap_off + 8 * w, bitmap[w]);
            for (uint64_t i = 0; i < stored; i++)
                put64(meta + L.sums_off + 8 * i, sums[i]);
            fill_header(meta, g, &L,
                        snap_sum(meta + L.state_off, slen, IMAGE_SEED_STATE),
                        snap_sum(meta + L.bitmap_off, L.bitmap_len, IMAGE_SEED_BITMAP),
                        snap_sum(meta + L.sums_off, L.sums_len, IMAGE_SEED_SUMS));
        }
    }
    free(sums);
    sums = NULL;
    double tprep = now() - t0;
    /* The temporary file: PATH.tmp.<pid of rank 0>. */
    long pid = (long)getpid();
    MPI_Bcast(&pid, 1, MPI_LONG, 0, comm);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, pid);
    if (me == 0 && unlink(tmp) != 0 && errno != ENOENT)
        fail(le, "%s: cannot remove the stale %s: %s", path, tmp, strerror(errno));
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    rc = MPI_File_open(comm, tmp, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh);
    if (rc != MPI_SUCCESS) {
        fh = MPI_FILE_NULL;
        fail_mpi(le, path, me, "cannot create the temporary file", rc);
    }
    created = true;
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    rc = MPI_File_set_size(fh, (MPI_Offset)L.file_len);
    if (rc != MPI_SUCCESS)
        fail_mpi(le, path, me, "cannot size the temporary file", rc);
    if (me == 0 && !le[0] && (rc = write_bytes(fh, 0, meta, L.pages_off)) != MPI_SUCCESS)
        fail_mpi(le, path, me, "write failed", rc);

    /* The pages (each rank its own; see move_pages). */
    bool direct = false;
    if (!le[0])
        direct = move_pages(fh, tmp, true, (uint8_t *)(uintptr_t)ram, mypages, mine, L.pages_off, path, me, le);
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    double ts = now();
    rc = MPI_File_sync(fh);
    tsync = now() - ts;
    if (rc != MPI_SUCCESS)
        fail_mpi(le, path, me, "sync failed", rc);
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    rc = MPI_File_close(&fh);
    fh = MPI_FILE_NULL;
    if (rc != MPI_SUCCESS)
        fail_mpi(le, path, me, "close failed", rc);
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    if (me == 0) {
        char dir[PATHMAX];
        dir_of(path, dir);
        if (rename(tmp, path) != 0) {
            fail(le, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
        } else {
            created = false;
            int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd < 0 || fsync(dfd) != 0)
                fail(le, "%s: cannot sync its folder %s: %s", path, dir, strerror(errno));
            if (dfd >= 0)
                close(dfd);
        }
    }
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    ret = 0;
    if (out) {
        out->pages_stored = stored;
        out->bytes_stored = stored * IMAGE_PAGE;
        out->file_bytes = L.file_len;
        out->sync_seconds = tsync;
        out->prep_seconds = tprep;
        out->direct = direct;
        out->seconds = now() - t0;
    }
out:
    if (fh != MPI_FILE_NULL)
        MPI_File_close(&fh);
    if (ret != 0 && created && me == 0)
        unlink(tmp);
    free(owner);
    free(bitmap);
    free(sums);
    free(mypages);
    free(meta);
    return ret;
}

/* The header against the geometry and the file's size: the layout it
 * names must be the one (npages, stored, state_len) give. Pure: every rank
 * gets the same answer from the same bytes. */
static bool check_header(const uint8_t *h, uint64_t fsize, const struct image_geometry *g,
                         const char *path, struct layout *L, char *le)
{
    if (fsize < 8 || memcmp(h + IMAGE_H_MAGIC, IMAGE_MAGIC, 8) != 0) {
        fail(le, "%s: not a vsmp memory image", path);
        return false;
    }
    if (fsize < IMAGE_HEADER_BYTES) {
        fail(le, "%s: the image is truncated (%llu bytes, not even its header)", path,
             (unsigned long long)fsize);
        return false;
    }
    uint32_t ver = get32(h + IMAGE_H_VERSION);
    if (ver != IMAGE_VERSION) {
        fail(le, "%s: image format version %u, this vsmp reads version %u", path, ver,
             IMAGE_VERSION);
        return false;
    }
    if (snap_sum(h, IMAGE_H_HEADER_SUM, IMAGE_SEED_HEADER) != get64(h + IMAGE_H_HEADER_SUM)) {
        fail(le, "%s: the header fails its checksum (image corrupted)", path);
        return false;
    }
    uint32_t ncpus = get32(h + IMAGE_H_NCPUS);
    uint64_t ram = get64(h + IMAGE_H_RAM_BYTES);
    if (ncpus != g->ncpus) {
        fail(le, "%s: the image is of %u CPUs, this job has %u ranks", path, ncpus, g->ncpus);
        return false;
    }
    if (ram != g->ram_bytes) {
        fail(le, "%s: the image is of %llu KiB of memory, this machine has %llu KiB", path,
             (unsigned long long)(ram >> 10), (unsigned long long)(g->ram_bytes >> 10));
        return false;
    }
    bool ok = get32(h + IMAGE_H_HEADER_BYTES) == IMAGE_HEADER_BYTES &&
              get32(h + IMAGE_H_PAGE_BYTES) == IMAGE_PAGE &&
              get64(h + IMAGE_H_NPAGES) == g->ram_bytes / IMAGE_PAGE &&
              get64(h + IMAGE_H_STATE_LEN) <= IMAGE_STATE_MAX &&
              layout_compute(g->ram_bytes / IMAGE_PAGE, get64(h + IMAGE_H_STORED),
                             get64(h + IMAGE_H_STATE_LEN), L);
    for (unsigned i = IMAGE_H_USED; ok && i < IMAGE_H_HEADER_SUM; i++)
        ok = h[i] == 0;
    ok = ok && get64(h + IMAGE_H_STATE_OFF) == L->state_off &&
         get64(h + IMAGE_H_BITMAP_OFF) == L->bitmap_off &&
         get64(h + IMAGE_H_BITMAP_LEN) == L->bitmap_len &&
         get64(h + IMAGE_H_SUMS_OFF) == L->sums_off &&
         get64(h + IMAGE_H_SUMS_LEN) == L->sums_len &&
         get64(h + IMAGE_H_PAGES_OFF) == L->pages_off &&
         get64(h + IMAGE_H_PAGES_LEN) == L->pages_len &&
         get64(h + IMAGE_H_FILE_LEN) == L->file_len;
    if (!ok) {
        fail(le, "%s: the header's layout is inconsistent (image corrupted)", path);
        return false;
    }
    if (fsize < L->file_len) {
        fail(le, "%s: the image is truncated (%llu of %llu bytes)", path,
             (unsigned long long)fsize, (unsigned long long)L->file_len);
        return false;
    }
    if (fsize > L->file_len) {
        fail(le, "%s: %llu bytes after the image's end (image corrupted)", path,
             (unsigned long long)(fsize - L->file_len));
        return false;
    }
    return true;
}

/* The metadata region (state_off .. pages_off) after check_header: its
 * checksums, and a bitmap holding exactly `stored` pages below npages. */
static bool check_meta(const uint8_t *h, const uint8_t *m, const struct layout *L,
                       const char *path, char *le)
{
    const uint8_t *st = m, *bm = m + (L->bitmap_off - L->state_off),
                  *sm = m + (L->sums_off - L->state_off);
    if (snap_sum(st, L->state_len, IMAGE_SEED_STATE) != get64(h + IMAGE_H_STATE_SUM)) {
        fail(le, "%s: the state block fails its checksum (image corrupted)", path);
        return false;
    }
    if (snap_sum(bm, L->bitmap_len, IMAGE_SEED_BITMAP) != get64(h + IMAGE_H_BITMAP_SUM)) {
        fail(le, "%s: the page bitmap fails its checksum (image corrupted)", path);
        return false;
    }
    if (snap_sum(sm, L->sums_len, IMAGE_SEED_SUMS) != get64(h + IMAGE_H_SUMS_SUM)) {
        fail(le, "%s: the page sums fail their checksum (image corrupted)", path);
        return false;
    }
    uint64_t count = 0;
    for (uint64_t w = 0; w < L->nwords; w++)
        count += (uint64_t)__builtin_popcountll(get64(bm + 8 * w));
    if (L->npages % 64 && (get64(bm + 8 * (L->nwords - 1)) >> (L->npages % 64)) != 0) {
        fail(le, "%s: the page bitmap names pages past the end of memory (image corrupted)", path);
        return false;
    }
    if (count != L->stored) {
        fail(le, "%s: the page bitmap holds %llu pages, the header %llu (image corrupted)", path,
             (unsigned long long)count, (unsigned long long)L->stored);
        return false;
    }
    return true;
}

int image_io_read(MPI_Comm comm, const char *path_arg, const struct image_geometry *g,
                  uint8_t *ram, uint8_t *owned, void **state, size_t *state_len,
                  struct image_read_result *out, char *err, size_t errlen)
{
    double t0 = now();
    int me, n;
    MPI_Comm_rank(comm, &me);
    MPI_Comm_size(comm, &n);
    char le[ERRMAX] = "", path[PATHMAX];
    uint8_t hdr[IMAGE_HEADER_BYTES];
    uint8_t *meta = NULL, *st = NULL;
    uint64_t *mypages = NULL;
    MPI_File fh = MPI_FILE_NULL;
    int ret = -1, rc;
    struct layout L;
    uint64_t fsize = 0, npages = 0, mine = 0;

    if (state)
        *state = NULL;
    if (state_len)
        *state_len = 0;
    bcast_path(comm, me, path_arg, path);
    if (!path_arg || !path_arg[0] || strlen(path_arg) >= PATHMAX)
        fail(le, "image: rank %d: no path or a path too long", me);
    else if (strcmp(path_arg, path) != 0)
        fail(le, "%s: rank %d: another path (%s) than rank 0's", path, me, path_arg);
    struct image_geometry gz = { 0, 0 };
    const struct image_geometry *gg = g ? g : &gz;
    if (!same_geometry(comm, gg))
        fail(le, "%s: rank %d: another memory size or CPU count than rank 0's", path, me);
    if (!g || !ram || !owned || !state || !state_len)
        fail(le, "%s: rank %d: no geometry, RAM, owned map or state pointers", path, me);
    else if (g->ram_bytes == 0 || g->ram_bytes % IMAGE_PAGE ||
             g->ram_bytes / IMAGE_PAGE > INT_MAX || g->ncpus == 0)
        fail(le, "%s: %llu bytes of memory, %u CPUs: not a machine an image can hold",
             path, (unsigned long long)g->ram_bytes, g->ncpus);
    else
        npages = g->ram_bytes / IMAGE_PAGE;
    if (npages && owned)
        memset(owned, 0, npages);
    if (me == 0 && !le[0]) {
        struct stat sb;
        if (stat(path, &sb) != 0)
            fail(le, "%s: cannot open the image: %s", path, strerror(errno));
        else if (!S_ISREG(sb.st_mode))
            fail(le, "%s: not a regular file", path);
    }
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    rc = MPI_File_open(comm, path, MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
    if (rc != MPI_SUCCESS) {
        fh = MPI_FILE_NULL;
        fail_mpi(le, path, me, "cannot open the image", rc);
    }
    if (agree(comm, me, n, le, err, errlen))
        goto out;

    /* Rank 0 checks the header and metadata before anything else. */
    memset(hdr, 0, sizeof hdr);
    if (me == 0) {
        MPI_Offset sz = 0;
        bool shrt;
        rc = MPI_File_get_size(fh, &sz);
        fsize = sz > 0 ? (uint64_t)sz : 0;
        if (rc != MPI_SUCCESS)
            fail_mpi(le, path, me, "cannot get the image's size", rc);
        else if ((rc = read_bytes(fh, 0, hdr, fsize < sizeof hdr ? fsize : sizeof hdr, &shrt)) != MPI_SUCCESS)
            fail_mpi(le, path, me, "read failed", rc);
        else if (check_header(hdr, fsize, g, path, &L, le)) {
            meta = malloc(L.pages_off - L.state_off);
            if (!meta)
                fail(le, "%s: rank 0: out of memory", path);
            else if ((rc = read_bytes(fh, L.state_off, meta, L.pages_off - L.state_off, &shrt)) != MPI_SUCCESS)
                fail_mpi(le, path, me, "read failed", rc);
            else if (shrt)
                fail(le, "%s: the image is truncated (short read)", path);
            else
                check_meta(hdr, meta, &L, path, le);
        }
    }
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    MPI_Bcast(hdr, IMAGE_HEADER_BYTES, MPI_BYTE, 0, comm);
    MPI_Bcast(&fsize, 1, MPI_UINT64_T, 0, comm);
    if (!check_header(hdr, fsize, g, path, &L, le) || L.pages_off - L.state_off > INT_MAX)
        fail(le, "%s: rank %d: the image's metadata is too large", path, me);
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    uint64_t mlen = L.pages_off - L.state_off;
    if (me != 0 && !(meta = malloc(mlen)))
        fail(le, "%s: rank %d: out of memory", path, me);
    st = malloc(L.state_len ? L.state_len : 1);
    if (!st)
        fail(le, "%s: rank %d: out of memory", path, me);
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    MPI_Bcast(meta, (int)mlen, MPI_BYTE, 0, comm);
    memcpy(st, meta, L.state_len);
    const uint8_t *bm = meta + (L.bitmap_off - L.state_off);
    const uint8_t *sm = meta + (L.sums_off - L.state_off);

    /* My run of the stored pages: indices [lo, hi). */
    uint64_t lo = L.stored * (uint64_t)me / (uint64_t)n;
    uint64_t hi = L.stored * (uint64_t)(me + 1) / (uint64_t)n;
    mine = hi - lo;
    mypages = malloc((mine ? mine : 1) * 2 * sizeof *mypages);
    if (!mypages)
        fail(le, "%s: rank %d: out of memory", path, me);
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    {
        uint64_t idx = 0, k = 0;
        for (uint64_t w = 0; w < L.nwords && idx < hi; w++)
            for (uint64_t b = get64(bm + 8 * w); b && idx < hi; b &= b - 1, idx++)
                if (idx >= lo) {
                    mypages[2 * k] = w * 64 + (uint64_t)__builtin_ctzll(b);
                    mypages[2 * k + 1] = idx;
                    k++;
                }
    }
    bool direct = move_pages(fh, path, false, ram, mypages, mine, L.pages_off, path, me, le);
    for (uint64_t k = 0; k < mine && !le[0]; k++) {
        uint64_t p = mypages[2 * k];
        if (page_sum(ram + p * IMAGE_PAGE, p) != get64(sm + 8 * (lo + k)))
            fail(le, "%s: page 0x%llx fails its checksum (image corrupted)", path,
                 (unsigned long long)p);
    }
    if (agree(comm, me, n, le, err, errlen))
        goto out;
    for (uint64_t k = 0; k < mine; k++)
        owned[mypages[2 * k]] = 1;
    *state = st;
    *state_len = L.state_len;
    st = NULL;
    ret = 0;
    if (out) {
        out->pages_stored = L.stored;
        out->bytes_stored = L.stored * IMAGE_PAGE;
        out->pages_here = mine;
        out->direct = direct;
        out->seconds = now() - t0;
    }
out:
    if (fh != MPI_FILE_NULL)
        MPI_File_close(&fh);
    free(meta);
    free(st);
    free(mypages);
    return ret;
}
