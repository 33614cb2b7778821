/* image_io_test.c - multi-rank test of the memory image file
 * (src/mpi/image_io.c, docs/image-format.md). Run under mpirun with 1, 2
 * and 4 ranks over shared memory and over TCP:
 *
 *   mpirun --oversubscribe -np 4 --mca btl self,vader T DIR
 *   mpirun --oversubscribe -np 4 --mca btl self,tcp   T DIR
 *
 * Checks: (1) a round trip of random, zero and nearly-zero pages held by
 * scattered ranks (some pages by none; where several ranks hold a page the
 * higher ones hold other bytes, so only the lowest holder's copy may be
 * stored): the read returns the state block on every rank, each stored
 * page exactly once with the lowest holder's bytes, leaves every other
 * page's RAM untouched, and stores no zero page; (2) failed writes (a rank
 * with another geometry, the temporary name taken by a folder, PATH a
 * folder, a missing folder) return -1 with the same line on every rank,
 * leave the old image byte for byte and no temporary file; (3) refused
 * reads, each -1 with the same line on every rank, owned[] all zero and no
 * state: missing file, not an image, empty, truncated (by a byte, to the
 * header, inside the header), bytes appended, a flipped byte in the
 * header / state / bitmap / sums / first and last page (the page named),
 * wrong CPU count and memory size, another version, and crafted headers
 * and bitmaps whose checksums were recomputed (offsets, lengths, counts
 * that do not fit the geometry or the file). Prints "image_io_test: N
 * ranks: ok" on rank 0 and exits 0, or names the failing check, exits 1.
 *
 * Benchmark: T --bench MiB DIR [block|cyclic|rank0]: MiB of RAM, 1 page in 16
 * zero, the rest random, pages held in blocks per rank (cyclic: page p
 * by rank p % N; rank0: all by rank 0); prints the write (and its sync), cold read (the file's page cache
 * dropped with posix_fadvise) and warm read times and MB/s of stored RAM. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpi/image_io.h"
#include "snap/snapbuf.h"

#define PAGE IMAGE_PAGE
#define NPAGES 1531u          /* not a multiple of 64: the bitmap's tail */
#define STATE_LEN 10007u

static int me, n, failures;
static char dir[1024];

#define CHECK(c, ...) do { if (!(c)) { failures++; fprintf(stderr, "rank %d: FAIL %s:%d: ", me, __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* The content of page p as the lowest holder has it. */
static void truth(uint64_t p, uint8_t *out)
{
    uint64_t h = mix64(p + 1);
    memset(out, 0, PAGE);
    switch (h % 8) {
    case 0: break;                        /* zero */
    case 1: out[PAGE - 1] = 1; break;     /* only the last byte */
    case 2: out[0] = 0x80; break;         /* only the first byte */
    default:
        for (unsigned i = 0; i < PAGE; i += 8) {
            uint64_t v = mix64(h + i);
            memcpy(out + i, &v, 8);
        }
    }
}

/* Which ranks hold page p: a bit set per rank; 0 for one page in 10. */
static unsigned holders(uint64_t p)
{
    uint64_t h = mix64(p * 7919 + 13);
    if (h % 10 == 0)
        return 0;
    unsigned m = (unsigned)(h >> 8) & ((1u << n) - 1);
    return m | 1u << ((h >> 20) % (unsigned)n);
}

static int lowest(unsigned m)
{
    return __builtin_ctz(m);
}

static void fill(uint8_t *ram, uint8_t *valid)
{
    for (uint64_t p = 0; p < NPAGES; p++) {
        unsigned m = holders(p);
        uint8_t *pg = ram + p * PAGE;
        valid[p] = (m >> me) & 1;
        if (!valid[p]) {
            memset(pg, 0x55, PAGE);
            continue;
        }
        truth(p, pg);
        if (me != lowest(m)) {           /* a higher holder's other bytes */
            pg[100] ^= 0xA5;
            pg[PAGE - 1] ^= 0x3C;
        }
    }
}

static bool stored_expect(uint64_t p, uint8_t *tmp)
{
    if (!holders(p))
        return false;
    truth(p, tmp);
    for (unsigned i = 0; i < PAGE; i++)
        if (tmp[i])
            return true;
    return false;
}

static struct image_geometry geom(void)
{
    struct image_geometry g = { (uint32_t)n, (uint64_t)NPAGES * PAGE };
    return g;
}

static int all_fail(void)
{
    int f = failures, s = 0;
    MPI_Allreduce(&f, &s, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    return s;
}

/* err is the same on every rank. */
static void same_err(const char *err, const char *what)
{
    char r0[512];
    snprintf(r0, sizeof r0, "%s", err);
    MPI_Bcast(r0, sizeof r0, MPI_CHAR, 0, MPI_COMM_WORLD);
    CHECK(strcmp(r0, err) == 0, "%s: rank 0 says '%s', this rank '%s'", what, r0, err);
    CHECK(strchr(err, '\n') == NULL && err[0], "%s: not one line: '%s'", what, err);
}

static bool read_file(const char *p, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return false;
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc(l > 0 ? (size_t)l : 1);
    *len = fread(*buf, 1, (size_t)l, f);
    fclose(f);
    return *len == (size_t)l;
}

static void write_file(const char *p, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        fprintf(stderr, "rank %d: cannot write %s\n", me, p);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    fclose(f);
}

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void reseal(uint8_t *img)
{
    wr64(img + IMAGE_H_HEADER_SUM, snap_sum(img, IMAGE_H_HEADER_SUM, IMAGE_SEED_HEADER));
}

static int count_tmp(void)
{
    int c = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp."))
            c++;
    if (d)
        closedir(d);
    return c;
}

/* A read that must be refused with a line containing `want`. */
static void refuse(const char *path, struct image_geometry g, const char *want, const char *what)
{
    size_t np = g.ram_bytes / PAGE;
    uint8_t *ram = malloc(g.ram_bytes), *owned = malloc(np);
    memset(ram, 0xAA, g.ram_bytes);
    memset(owned, 7, np);
    void *st = (void *)1;
    size_t sl = 99;
    char err[512] = "";
    int rc = image_io_read(MPI_COMM_WORLD, path, &g, ram, owned, &st, &sl, NULL, err, sizeof err);
    CHECK(rc == -1, "%s: read returned %d", what, rc);
    CHECK(st == NULL && sl == 0, "%s: a state came back", what);
    bool zero = true;
    for (size_t p = 0; p < np; p++)
        zero = zero && owned[p] == 0;
    CHECK(zero, "%s: owned[] not all zero", what);
    CHECK(strstr(err, want) != NULL, "%s: '%s' does not say '%s'", what, err, want);
    same_err(err, what);
    if (me == 0 && getenv("IMAGE_IO_TEST_VERBOSE"))
        printf("refused (%s): %s\n", what, err);
    free(ram);
    free(owned);
}

/* Rank 0 writes a modified copy of `good` to `path`. */
static void variant(const char *path, const uint8_t *good, size_t len,
                    void (*mod)(uint8_t *img, size_t *len, void *arg), void *arg)
{
    if (me == 0) {
        uint8_t *c = malloc(len + PAGE);
        memcpy(c, good, len);
        size_t l = len;
        if (mod)
            mod(c, &l, arg);
        write_file(path, c, l);
        free(c);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static void m_flip(uint8_t *img, size_t *len, void *arg) { (void)len; img[*(size_t *)arg] ^= 0x10; }
static void m_trunc(uint8_t *img, size_t *len, void *arg) { (void)img; *len = *(size_t *)arg; }
static void m_append(uint8_t *img, size_t *len, void *arg) { (void)arg; img[*len] = 1; *len += 1; }
static void m_set64(uint8_t *img, size_t *len, void *arg)
{
    (void)len;
    const uint64_t *a = arg;     /* offset, value */
    wr64(img + a[0], a[1]);
    reseal(img);
}
static void m_version(uint8_t *img, size_t *len, void *arg)
{
    (void)len; (void)arg;
    img[IMAGE_H_VERSION] = 2;
    reseal(img);
}
/* Flip bitmap bit `arg` and recompute the bitmap's sum and the header's. */
static void m_bit(uint8_t *img, size_t *len, void *arg)
{
    (void)len;
    uint64_t bit = *(uint64_t *)arg, off = rd64(img + IMAGE_H_BITMAP_OFF);
    img[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
    wr64(img + IMAGE_H_BITMAP_SUM, snap_sum(img + off, rd64(img + IMAGE_H_BITMAP_LEN), IMAGE_SEED_BITMAP));
    reseal(img);
}

/* RAM at `off` bytes past a page boundary (0: the pages move with
 * O_DIRECT; else through MPI-IO). */
static uint8_t *ram_alloc(size_t bytes, size_t off, void **base)
{
    if (posix_memalign(base, PAGE, bytes + PAGE)) {
        fprintf(stderr, "rank %d: out of memory\n", me);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return (uint8_t *)*base + off;
}

static void test_all(size_t off)
{
    struct image_geometry g = geom();
    size_t bytes = (size_t)NPAGES * PAGE;
    void *ram_base, *ram2_base;
    uint8_t *ram = ram_alloc(bytes, off, &ram_base), *valid = malloc(NPAGES), *tmp = malloc(PAGE);
    uint8_t *state = malloc(STATE_LEN);
    for (unsigned i = 0; i < STATE_LEN; i++)
        state[i] = (uint8_t)(i * 37 + 11);
    fill(ram, valid);
    char path[1200], err[512] = "";
    snprintf(path, sizeof path, "%s/img.vsmp", dir);
    if (me == 0)
        unlink(path);

    /* (1) round trip */
    struct image_write_result wr;
    memset(&wr, 0, sizeof wr);
    int rc = image_io_write(MPI_COMM_WORLD, path, &g, ram, valid, me == 0 ? state : NULL,
                         me == 0 ? STATE_LEN : 0, &wr, err, sizeof err);
    CHECK(rc == 0, "write: %s", err);
    uint64_t expect = 0;
    for (uint64_t p = 0; p < NPAGES; p++)
        expect += stored_expect(p, tmp);
    CHECK(wr.pages_stored == expect && wr.bytes_stored == expect * PAGE,
          "write stored %llu pages, expected %llu", (unsigned long long)wr.pages_stored,
          (unsigned long long)expect);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (uint64_t)sb.st_size == wr.file_bytes, "file size");
    CHECK(count_tmp() == 0, "a temporary file is left");

    uint8_t *ram2 = ram_alloc(bytes, off, &ram2_base), *owned = malloc(NPAGES);
    memset(ram2, 0xAA, bytes);
    memset(owned, 9, NPAGES);
    void *st = NULL;
    size_t sl = 0;
    struct image_read_result rr;
    memset(&rr, 0, sizeof rr);
    rc = image_io_read(MPI_COMM_WORLD, path, &g, ram2, owned, &st, &sl, &rr, err, sizeof err);
    CHECK(rc == 0, "read: %s", err);
    CHECK(rc == 0 && sl == STATE_LEN && st && memcmp(st, state, STATE_LEN) == 0, "state block");
    free(st);
    CHECK(rr.pages_stored == expect, "read: %llu pages", (unsigned long long)rr.pages_stored);
    uint8_t *cnt = malloc(NPAGES);
    uint64_t here = 0;
    for (uint64_t p = 0; p < NPAGES; p++) {
        CHECK(owned[p] <= 1, "owned[%llu] = %d", (unsigned long long)p, owned[p]);
        cnt[p] = owned[p];
        here += owned[p];
        if (owned[p]) {
            truth(p, tmp);
            CHECK(memcmp(tmp, ram2 + p * PAGE, PAGE) == 0, "page %llu: other bytes", (unsigned long long)p);
        } else {
            bool untouched = true;
            for (unsigned i = 0; i < PAGE; i++)
                untouched = untouched && ram2[p * PAGE + i] == 0xAA;
            CHECK(untouched, "page %llu not owned but written", (unsigned long long)p);
        }
    }
    CHECK(here == rr.pages_here, "pages_here");
    CHECK(off == 0 || (!wr.direct && !rr.direct), "O_DIRECT with RAM not page-aligned");
    if (getenv("IMAGE_IO_TEST_VERBOSE"))
        printf("rank %d: RAM at +%zu: write %s, read %s\n", me, off,
               wr.direct ? "O_DIRECT" : "MPI-IO", rr.direct ? "O_DIRECT" : "MPI-IO");
    MPI_Allreduce(MPI_IN_PLACE, cnt, NPAGES, MPI_UINT8_T, MPI_SUM, MPI_COMM_WORLD);
    for (uint64_t p = 0; p < NPAGES; p++)
        CHECK(cnt[p] == (stored_expect(p, tmp) ? 1 : 0), "page %llu read by %d ranks",
              (unsigned long long)p, cnt[p]);
    free(cnt);

    uint8_t *good = NULL;
    size_t glen = 0;
    CHECK(read_file(path, &good, &glen), "read back %s", path);

    /* (2) failed writes keep the old image */
    struct { const char *name; int kind; } wf[] = {
        { "another geometry on the last rank", 0 },
        { "temporary name is a folder", 1 },
        { "path is a folder", 2 },
        { "missing folder", 3 },
    };
    for (unsigned k = 0; k < sizeof wf / sizeof wf[0]; k++) {
        struct image_geometry g2 = g;
        char p2[1300], tdir[1400] = "";
        snprintf(p2, sizeof p2, "%s", path);
        if (wf[k].kind == 0 && me == n - 1)
            g2.ram_bytes += n == 1 ? 1 : PAGE;
        if (wf[k].kind == 1) {
            long pid = (long)getpid();
            MPI_Bcast(&pid, 1, MPI_LONG, 0, MPI_COMM_WORLD);
            snprintf(tdir, sizeof tdir, "%s.tmp.%ld", path, pid);
            if (me == 0)
                CHECK(mkdir(tdir, 0755) == 0, "mkdir %s", tdir);
            MPI_Barrier(MPI_COMM_WORLD);
        }
        if (wf[k].kind == 2) {
            snprintf(p2, sizeof p2, "%s/adir", dir);
            if (me == 0)
                mkdir(p2, 0755);
            MPI_Barrier(MPI_COMM_WORLD);
        }
        if (wf[k].kind == 3)
            snprintf(p2, sizeof p2, "%s/nothere/img.vsmp", dir);
        err[0] = 0;
        rc = image_io_write(MPI_COMM_WORLD, p2, &g2, ram, valid, state, STATE_LEN, NULL, err, sizeof err);
        CHECK(rc == -1, "%s: write returned %d", wf[k].name, rc);
        same_err(err, wf[k].name);
        if (me == 0 && getenv("IMAGE_IO_TEST_VERBOSE"))
            printf("write refused (%s): %s\n", wf[k].name, err);
        MPI_Barrier(MPI_COMM_WORLD);
        if (tdir[0] && me == 0)
            rmdir(tdir);
        if (wf[k].kind == 2 && me == 0)
            rmdir(p2);
        MPI_Barrier(MPI_COMM_WORLD);
        uint8_t *now = NULL;
        size_t nlen = 0;
        CHECK(read_file(path, &now, &nlen) && nlen == glen && memcmp(now, good, glen) == 0,
              "%s: the old image changed", wf[k].name);
        free(now);
        CHECK(count_tmp() == 0, "%s: a temporary file is left", wf[k].name);
        MPI_Barrier(MPI_COMM_WORLD);
    }

    /* (3) refused reads */
    char bad[1300];
    snprintf(bad, sizeof bad, "%s/bad.vsmp", dir);
    uint64_t state_off = rd64(good + IMAGE_H_STATE_OFF), bitmap_off = rd64(good + IMAGE_H_BITMAP_OFF),
             sums_off = rd64(good + IMAGE_H_SUMS_OFF), pages_off = rd64(good + IMAGE_H_PAGES_OFF);
    uint64_t first = 0, last = 0;
    bool any = false;
    for (uint64_t p = 0; p < NPAGES; p++)
        if (stored_expect(p, tmp)) {
            if (!any)
                first = p;
            any = true;
            last = p;
        }
    char want[128];

    snprintf(bad, sizeof bad, "%s/none.vsmp", dir);
    refuse(bad, g, "cannot open", "missing file");
    snprintf(bad, sizeof bad, "%s/bad.vsmp", dir);
    if (me == 0)
        write_file(bad, (const uint8_t *)"#!/bin/sh\necho not an image\n", 29);
    MPI_Barrier(MPI_COMM_WORLD);
    refuse(bad, g, "not a vsmp memory image", "not an image");
    variant(bad, good, glen, m_trunc, &(size_t){ 0 });
    refuse(bad, g, "not a vsmp memory image", "empty file");
    variant(bad, good, glen, m_trunc, &(size_t){ 2000 });
    refuse(bad, g, "truncated", "truncated inside the header");
    variant(bad, good, glen, m_trunc, &(size_t){ 4096 });
    snprintf(want, sizeof want, "the image is truncated (4096 of %zu bytes)", glen);
    refuse(bad, g, want, "truncated to the header");
    variant(bad, good, glen, m_trunc, &(size_t){ glen - 1 });
    snprintf(want, sizeof want, "the image is truncated (%zu of %zu bytes)", glen - 1, glen);
    refuse(bad, g, want, "truncated by a byte");
    variant(bad, good, glen, m_append, NULL);
    refuse(bad, g, "after the image's end", "a byte appended");
    variant(bad, good, glen, m_flip, &(size_t){ IMAGE_H_STORED });
    refuse(bad, g, "header fails its checksum", "flipped header byte");
    variant(bad, good, glen, m_flip, &(size_t){ 3000 });
    refuse(bad, g, "header fails its checksum", "flipped reserved header byte");
    variant(bad, good, glen, m_flip, &(size_t){ state_off + 5 });
    refuse(bad, g, "state block fails its checksum", "flipped state byte");
    variant(bad, good, glen, m_flip, &(size_t){ bitmap_off + 3 });
    refuse(bad, g, "page bitmap fails its checksum", "flipped bitmap byte");
    variant(bad, good, glen, m_flip, &(size_t){ sums_off + 8 * 2 + 1 });
    refuse(bad, g, "page sums fail their checksum", "flipped sum byte");
    variant(bad, good, glen, m_flip, &(size_t){ pages_off + 17 });
    snprintf(want, sizeof want, "page 0x%llx fails its checksum", (unsigned long long)first);
    refuse(bad, g, want, "flipped byte in the first page");
    variant(bad, good, glen, m_flip, &(size_t){ glen - 1 });
    snprintf(want, sizeof want, "page 0x%llx fails its checksum", (unsigned long long)last);
    refuse(bad, g, want, "flipped byte in the last page");
    struct image_geometry gx = g;
    gx.ncpus = (uint32_t)n + 1;
    snprintf(want, sizeof want, "the image is of %d CPU%s, this job has %d ranks", n, n == 1 ? "" : "s",
             n + 1);
    refuse(path, gx, want, "wrong CPU count");
    gx = g;
    gx.ram_bytes += 16 * PAGE;
    refuse(path, gx, "KiB of memory", "wrong memory size");
    gx.ram_bytes = g.ram_bytes - 64 * PAGE;
    refuse(path, gx, "KiB of memory", "smaller memory size");
    variant(bad, good, glen, m_version, NULL);
    refuse(bad, g, "version 2", "another version");
    uint64_t craft[][2] = {
        { IMAGE_H_STATE_LEN, 1ull << 62 },
        { IMAGE_H_STATE_LEN, 100 },
        { IMAGE_H_STORED, NPAGES + 1 },
        { IMAGE_H_STORED, UINT64_MAX / 8 },
        { IMAGE_H_PAGES_OFF, 0 },
        { IMAGE_H_SUMS_LEN, 1ull << 40 },
        { IMAGE_H_FILE_LEN, 1ull << 50 },
        { IMAGE_H_NPAGES, NPAGES + 1 },
        { IMAGE_H_STATE_OFF, 0 },
        { IMAGE_H_USED + 8, 1 },                        /* a reserved byte */
        { IMAGE_H_HEADER_BYTES, 8192 | (uint64_t)PAGE << 32 },
        { IMAGE_H_HEADER_BYTES, 4096 | (uint64_t)512 << 32 },  /* page bytes */
    };
    for (unsigned k = 0; k < sizeof craft / sizeof craft[0]; k++) {
        variant(bad, good, glen, m_set64, craft[k]);
        refuse(bad, g, "layout is inconsistent", "crafted header field");
    }
    /* a bit past the end of memory (NPAGES % 64 != 0), and a bit cleared */
    variant(bad, good, glen, m_bit, &(uint64_t){ NPAGES + 1 });
    refuse(bad, g, "past the end of memory", "bitmap bit past the end");
    variant(bad, good, glen, m_bit, &(uint64_t){ last });
    refuse(bad, g, "page bitmap holds", "bitmap bit cleared");
    /* the good image still reads */
    memset(owned, 0, NPAGES);
    rc = image_io_read(MPI_COMM_WORLD, path, &g, ram2, owned, &st, &sl, NULL, err, sizeof err);
    CHECK(rc == 0, "read again: %s", err);
    free(st);
    if (me == 0) {
        unlink(bad);
        unlink(path);
    }
    free(good);
    free(ram_base);
    free(ram2_base);
    free(valid);
    free(owned);
    free(tmp);
    free(state);
}

static void bench(uint64_t mib, int mode)
{
    struct image_geometry g = { (uint32_t)n, mib << 20 };
    uint64_t np = g.ram_bytes / PAGE;
    void *base = NULL;
    uint8_t *ram = posix_memalign(&base, PAGE, g.ram_bytes) ? NULL : base;
    uint8_t *valid = malloc(np), *owned = malloc(np);
    if (!ram || !valid || !owned) {
        fprintf(stderr, "image_io_test: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (uint64_t p = 0; p < np; p++) {
        uint64_t *w = (uint64_t *)(void *)(ram + p * PAGE);
        uint64_t r = mode == 1 ? p % (uint64_t)n : mode == 2 ? 0 : p * (uint64_t)n / np;
        valid[p] = r == (uint64_t)me;
        if (p % 16 == 5) {
            memset(w, 0, PAGE);
            continue;
        }
        for (unsigned i = 0; i < PAGE / 8; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            w[i] = x;
        }
    }
    char path[1200], err[512] = "";
    snprintf(path, sizeof path, "%s/bench.vsmp", dir);
    uint8_t state[4096] = { 1 };
    struct image_write_result wr;
    MPI_Barrier(MPI_COMM_WORLD);
    int rc = image_io_write(MPI_COMM_WORLD, path, &g, ram, valid, state, sizeof state, &wr, err, sizeof err);
    if (rc) {
        if (me == 0)
            fprintf(stderr, "image_io_test: bench write: %s\n", err);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (me == 0) {     /* drop the file's clean pages: a cold read */
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
            close(fd);
        }
    }
    double rs[2];
    struct image_read_result rr;
    for (int k = 0; k < 2; k++) {
        void *st = NULL;
        size_t sl = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        rc = image_io_read(MPI_COMM_WORLD, path, &g, ram, owned, &st, &sl, &rr, err, sizeof err);
        if (rc) {
            if (me == 0)
                fprintf(stderr, "image_io_test: bench read: %s\n", err);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        free(st);
        double t = rr.seconds;
        MPI_Allreduce(&t, &rs[k], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    }
    double ws = wr.seconds, wmax = 0;
    MPI_Allreduce(&ws, &wmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (me == 0) {
        double mb = (double)wr.bytes_stored / 1e6;
        printf("image_io bench: %d ranks (%s), %llu MiB RAM, %.0f MB stored, file %.0f MB\n",
               n, mode == 1 ? "cyclic" : mode == 2 ? "rank0" : "block", (unsigned long long)mib, mb, wr.file_bytes / 1e6);
        printf("  write %.3f s = %.0f MB/s (of which rank 0: prepare %.3f s, sync %.3f s; "
               "without the sync %.0f MB/s)%s\n",
               wmax, mb / wmax, wr.prep_seconds, wr.sync_seconds, mb / (wmax - wr.sync_seconds),
               wr.direct ? " O_DIRECT" : "");
        printf("  read cold %.3f s = %.0f MB/s, warm %.3f s = %.0f MB/s%s\n",
               rs[0], mb / rs[0], rs[1], mb / rs[1], rr.direct ? " O_DIRECT" : "");
        unlink(path);
    }
    free(ram);
    free(valid);
    free(owned);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    if (argc >= 4 && strcmp(argv[1], "--bench") == 0) {
        snprintf(dir, sizeof dir, "%s", argv[3]);
        const char *m = argc >= 5 ? argv[4] : "block";
        bench(strtoull(argv[2], NULL, 0), strcmp(m, "cyclic") == 0 ? 1 : strcmp(m, "rank0") == 0 ? 2 : 0);
        MPI_Finalize();
        return 0;
    }
    if (argc != 2) {
        if (me == 0)
            fprintf(stderr, "usage: image_io_test DIR | --bench MiB DIR [block|cyclic|rank0]\n");
        MPI_Finalize();
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    test_all(0);
    test_all(64);
    int f = all_fail();
    if (me == 0)
        printf("image_io_test: %d ranks: %s\n", n, f ? "FAILED" : "ok");
    MPI_Finalize();
    return f ? 1 : 0;
}
