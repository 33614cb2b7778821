/* test_rom.c - the raw firmware image loader (`rom PATH`) on real files:
 * a good image is mapped, and what is not a regular file or has the
 * wrong size is refused from fstat alone, with the size in the message
 * (an 8 GiB sparse file costs nothing). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/rom.h"
#include "mem/phys.h"

static char dir[64];
static struct phys p;

static void setup(void)
{
    strcpy(dir, "/tmp/vsmp-test-rom-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(phys_init(&p, 4u << 20), 0);
}

static void teardown(void)
{
    phys_free(&p);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(rom, .init = setup, .fini = teardown);

/* dir/NAME: `len` bytes of 0xEA, then a sparse tail up to `size`. */
static const char *rom_file(const char *name, size_t len, uint64_t size)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    uint8_t buf[4096];
    memset(buf, 0xea, sizeof(buf));
    for (size_t done = 0; done < len; done += sizeof(buf))
        cr_assert_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    close(fd);
    return path;
}

static void expect(const char *path, const char *what)
{
    char err[512], want[512];
    cr_assert_eq(rom_load(&p, path, err, sizeof(err)), -1, "accepted %s", path);
    snprintf(want, sizeof(want), "%s: %s", path, what);
    cr_assert_str_eq(err, want);
    cr_assert_null(p.rom, "nothing mapped");
}

Test(rom, good_image_is_mapped)
{
    char err[512];
    const char *path = rom_file("bios.bin", 8192, 8192);
    cr_assert_eq(rom_load(&p, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(p.rom_size, 8192);
    cr_assert_eq(p.rom[0], 0xea);
    cr_assert_eq(p.rom[8191], 0xea);
}

Test(rom, wrong_sizes)
{
    expect(rom_file("empty.bin", 0, 0),
           "ROM image must be a non-zero multiple of 4 KiB up to 128 KiB (it is 0 bytes)");
    expect(rom_file("odd.bin", 4096, 5000),
           "ROM image must be a non-zero multiple of 4 KiB up to 128 KiB (it is 5000 bytes)");
    expect(rom_file("big.bin", 0, 132 * 1024),
           "ROM image must be a non-zero multiple of 4 KiB up to 128 KiB (it is 135168 bytes)");
    expect(rom_file("huge.bin", 0, 8ull << 30),
           "ROM image must be a non-zero multiple of 4 KiB up to 128 KiB (it is 8589934592 bytes)");
}

Test(rom, not_regular_files)
{
    expect(dir, "not a regular file (a directory)");
    expect("/dev/zero", "not a regular file (a character device)");
    expect("/nonexistent/bios.bin", "No such file or directory");
}

/* A FIFO without a writer: refused at once, not waited on (the timeout
 * only catches a hang; the check takes microseconds). */
Test(rom, fifo_is_refused_not_waited_on, .timeout = 60)
{
    char fifo[256];
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    expect(fifo, "not a regular file (a FIFO)");
}
