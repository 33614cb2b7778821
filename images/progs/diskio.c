/* images/progs/diskio.c - the disk workload of the Linux guest (issue 16):
 * sequential write and read, random 4 KiB reads, and a write-flush loop
 * whose records the host checks after killing the job. One result line
 * each on stdout (MB = 10^6 bytes; times by CLOCK_MONOTONIC):
 *   diskio write PATH MIB [fsync]   create/truncate PATH, write MIB MiB in
 *       1 MiB blocks (with fsync: fsync before the clock stops)
 *       -> diskio: write M MiB fsync=0|1 in S.SSS s: X.X MB/s
 *   diskio read PATH                drop PATH's cached pages (fsync,
 *       posix_fadvise DONTNEED, 3 > /proc/sys/vm/drop_caches), then read
 *       it all in 1 MiB blocks
 *       -> diskio: read M MiB in S.SSS s: X.X MB/s
 *   diskio randread PATH COUNT      COUNT O_DIRECT 4 KiB reads at random
 *       4 KiB-aligned offsets (fixed seed) within PATH's size
 *       -> diskio: randread COUNT in S.SSS s: N IOPS
 *   diskio flushloop DEV COUNT      for i = 0.. COUNT-1 (COUNT 0: for
 *       ever): pwrite at i*4096 a 4096-byte record, the line
 *       "vsmp-flush-record %08u\n" (i) repeated, fdatasync, then print
 *       "diskio: flushed %u" (i) and flush stdout
 * Errors: "diskio: PATH: strerror" on stderr, exit status 1. */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define REC 4096

static int fail(const char *path)
{
    fprintf(stderr, "diskio: %s: %s\n", path, strerror(errno));
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "diskio: usage: diskio write PATH MIB [fsync] | read PATH | "
                    "randread PATH COUNT | flushloop DEV COUNT\n");
    return 1;
}

/* a decimal argument; 0 (and a usage message) when it is not one */
static int number(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return *s >= '0' && *s <= '9' && *end == '\0' && errno == 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static double span(double t0)
{
    double s = now() - t0;
    return s > 1e-9 ? s : 1e-9;
}

/* write all of buf at off (pwrite) or at the file position (off < 0) */
static int write_all(int fd, const char *buf, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t w = off < 0 ? write(fd, buf, n) : pwrite(fd, buf, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        buf += w;
        n -= (size_t)w;
        if (off >= 0)
            off += w;
    }
    return 0;
}

static int do_write(const char *path, unsigned long mib, int sync)
{
    char *buf = malloc(MIB);
    if (!buf) {
        errno = ENOMEM;
        return fail(path);
    }
    for (size_t i = 0; i < MIB; i++)
        buf[i] = (char)(i * 131 + (i >> 12));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fail(path);
    double t0 = now();
    for (unsigned long i = 0; i < mib; i++) {
        buf[0] = (char)i;
        if (write_all(fd, buf, MIB, -1) < 0)
            return fail(path);
    }
    if (sync && fsync(fd) < 0)
        return fail(path);
    double s = span(t0);
    if (close(fd) < 0)
        return fail(path);
    printf("diskio: write %lu MiB fsync=%d in %.3f s: %.1f MB/s\n", mib, sync, s,
           (double)mib * MIB / 1e6 / s);
    free(buf);
    return 0;
}

static int drop_caches(int fd, const char *path)
{
    const char *dc = "/proc/sys/vm/drop_caches";
    if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
        return fail(path);
    errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (errno)
        return fail(path);
    int d = open(dc, O_WRONLY);
    if (d < 0 || write_all(d, "3\n", 2, -1) < 0 || close(d) < 0)
        return fail(dc);
    return 0;
}

static int do_read(const char *path)
{
    char *buf = malloc(MIB);
    if (!buf) {
        errno = ENOMEM;
        return fail(path);
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return fail(path);
    if (drop_caches(fd, path))
        return 1;
    unsigned long long total = 0;
    double t0 = now();
    for (;;) {
        ssize_t r = read(fd, buf, MIB);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail(path);
        if (r == 0)
            break;
        total += (unsigned long long)r;
    }
    double s = span(t0);
    close(fd);
    printf("diskio: read %llu MiB in %.3f s: %.1f MB/s\n", total / MIB, s, (double)total / 1e6 / s);
    free(buf);
    return 0;
}

static int do_randread(const char *path, unsigned long count)
{
    void *buf;
    if ((errno = posix_memalign(&buf, REC, REC)) != 0)
        return fail(path);
    int fd = open(path, O_RDONLY | O_DIRECT);
    if (fd < 0)
        return fail(path);
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0)
        return fail(path);
    uint64_t blocks = (uint64_t)size / REC;
    if (blocks == 0) {
        errno = EINVAL;
        return fail(path);
    }
    uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64*, fixed seed */
    double t0 = now();
    for (unsigned long i = 0; i < count; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t b = (x * 0x2545f4914f6cdd1dull) % blocks;
        ssize_t r = pread(fd, buf, REC, (off_t)(b * REC));
        if (r < 0 && errno == EINTR) {
            i--;
            continue;
        }
        if (r != REC) {
            if (r >= 0)
                errno = EIO;
            return fail(path);
        }
    }
    double s = span(t0);
    close(fd);
    printf("diskio: randread %lu in %.3f s: %.0f IOPS\n", count, s, count / s);
    free(buf);
    return 0;
}

static int do_flushloop(const char *path, unsigned long count)
{
    char rec[REC], line[64];
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0)
        return fail(path);
    for (unsigned i = 0; count == 0 || i < count; i++) {
        int n = snprintf(line, sizeof line, "vsmp-flush-record %08u\n", i);
        for (int k = 0; k < REC; k++)
            rec[k] = line[k % n];
        if (write_all(fd, rec, REC, (off_t)i * REC) < 0 || fdatasync(fd) < 0)
            return fail(path);
        printf("diskio: flushed %u\n", i);
        fflush(stdout);
        if (count == 0 && i == 0xffffffffu)
            break;
    }
    if (close(fd) < 0)
        return fail(path);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long n;
    if (argc == 4 || argc == 5) {
        if (!strcmp(argv[1], "write") && number(argv[3], &n) &&
            (argc == 4 || !strcmp(argv[4], "fsync")))
            return do_write(argv[2], n, argc == 5);
    }
    if (argc == 3 && !strcmp(argv[1], "read"))
        return do_read(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "randread") && number(argv[3], &n))
        return do_randread(argv[2], n);
    if (argc == 4 && !strcmp(argv[1], "flushloop") && number(argv[3], &n))
        return do_flushloop(argv[2], n);
    return usage();
}
