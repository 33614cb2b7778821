/* test_config.c - the configuration file parser: sizes and numbers
 * (overflow, signs, junk), relative paths, and each kind of error with
 * its FILE:LINE text, including what is not a text file (NUL bytes,
 * endless lines, /dev/zero, a directory). config.c is part of the
 * MPI program, not of the core library, so it is compiled in here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char dir[64];

static void mkdir_tmp(void)
{
    strcpy(dir, "/tmp/vsmp-test-config-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(config, .init = mkdir_tmp, .fini = rm_tmp);

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* Parse `text` as dir/vm.cfg (with dir/k.elf and dir/r.bin present).
 * Returns config_parse's result; err gets the message. */
static int parse(const char *text, struct config *cfg, char *err, size_t errlen)
{
    write_file("k.elf", "kernel");
    write_file("r.bin", "rom");
    write_file("vm.cfg", text);
    char path[256];
    snprintf(path, sizeof(path), "%s/vm.cfg", dir);
    err[0] = 0;
    return config_parse(path, cfg, err, errlen);
}

/* Expect an error whose text is "DIR/vm.cfg:LINE: ..." containing `what`. */
static void expect_error(const char *text, int line, const char *what)
{
    struct config cfg;
    char err[1024], prefix[300];
    cr_assert_eq(parse(text, &cfg, err, sizeof(err)), -1, "accepted: %s", text);
    snprintf(prefix, sizeof(prefix), "%s/vm.cfg:%d: ", dir, line);
    cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0, "'%s' lacks '%s'", err, prefix);
    cr_assert_not_null(strstr(err, what), "'%s' lacks '%s'", err, what);
    cr_assert_null(strchr(err, '\n'), "one line");
}

Test(config, sizes)
{
    uint64_t b;
    cr_assert_eq(config_parse_size("4096", &b), 0);
    cr_assert_eq(b, 4096);
    cr_assert_eq(config_parse_size("64K", &b), 0);
    cr_assert_eq(b, 65536);
    cr_assert_eq(config_parse_size("256M", &b), 0);
    cr_assert_eq(b, 256ull << 20);
    cr_assert_eq(config_parse_size("2g", &b), 0);
    cr_assert_eq(b, 2ull << 30);
    cr_assert_eq(config_parse_size("", &b), -1);
    cr_assert_eq(config_parse_size("M", &b), -1);
    cr_assert_eq(config_parse_size("12Q", &b), -1);
    cr_assert_eq(config_parse_size("1MB", &b), -1);
    cr_assert_eq(config_parse_size("-1M", &b), -1);
    cr_assert_eq(config_parse_size("99999999999999999999", &b), -1);
    cr_assert_eq(config_parse_size("99999999999G", &b), -1);
}

Test(config, full_example_and_relative_paths)
{
    struct config cfg;
    char err[1024];
    char sub[256];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    write_file("sub/initrd.img", "initrd");
    int rc = parse("# a test machine\n"
                   "\n"
                   "memory 64M   # RAM\n"
                   "kernel k.elf\n"
                   "initrd sub/initrd.img\n"
                   "cmdline console=ttyS0  root=/dev/ram0 quiet\n"
                   "console none\n"
                   "cpus 2\n", &cfg, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(cfg.memory, 64u << 20);
    char want[300];
    snprintf(want, sizeof(want), "%s/k.elf", dir);
    cr_assert_str_eq(cfg.kernel, want);
    snprintf(want, sizeof(want), "%s/sub/initrd.img", dir);
    cr_assert_str_eq(cfg.initrd, want);
    cr_assert_str_eq(cfg.cmdline, "console=ttyS0  root=/dev/ram0 quiet");
    cr_assert_eq(cfg.console, CONSOLE_NONE);
    cr_assert_eq(cfg.cpus, 2);
    cr_assert_eq(cfg.cpus_line, 8);
    cr_assert_null(cfg.rom);
    config_free(&cfg);
}

Test(config, defaults_and_absolute_path)
{
    struct config cfg;
    char err[1024], text[300];
    snprintf(text, sizeof(text), "rom %s/r.bin\n", dir);
    cr_assert_eq(parse(text, &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.memory, CONFIG_MEM_DEFAULT);
    cr_assert_eq(cfg.console, CONSOLE_STDIO);
    cr_assert_eq(cfg.cpus, 0);
    cr_assert_not_null(cfg.rom);
    config_free(&cfg);
}

Test(config, unknown_keyword)
{
    expect_error("kernel k.elf\n\nfrobnicate 3\n", 3, "unknown keyword 'frobnicate'");
}

Test(config, bad_sizes)
{
    expect_error("kernel k.elf\nmemory lots\n", 2, "bad memory size 'lots'");
    expect_error("kernel k.elf\nmemory 512K\n", 2, "out of range");
    expect_error("kernel k.elf\nmemory 4G\n", 2, "out of range");
    expect_error("kernel k.elf\nmemory 1048577\n", 2, "multiple of 4K");
    expect_error("memory\nkernel k.elf\n", 1, "'memory' needs a value");
    expect_error("memory 1M 2M\nkernel k.elf\n", 1, "takes one value");
}

Test(config, missing_file)
{
    expect_error("# x\nkernel nothere.elf\n", 2, "kernel 'nothere.elf': No such file or directory");
    expect_error("kernel k.elf\ninitrd /nonexistent/initrd\n", 2, "initrd '/nonexistent/initrd'");
    expect_error("rom .\n", 1, "not a regular file");
}

Test(config, duplicate_keyword)
{
    expect_error("memory 64M\nkernel k.elf\nmemory 32M\n", 3, "duplicate 'memory' (already set on line 1)");
}

Test(config, kernel_and_rom)
{
    expect_error("kernel k.elf\nrom r.bin\n", 2, "not both");
    expect_error("memory 64M\n# nothing\n", 2, "no 'kernel' or 'rom'");
    expect_error("", 1, "no 'kernel' or 'rom'");
    expect_error("rom r.bin\ninitrd k.elf\n", 2, "'initrd' needs a 'kernel'");
}

Test(config, bad_values)
{
    expect_error("kernel k.elf\nconsole tty\n", 2, "console must be 'stdio' or 'none'");
    expect_error("kernel k.elf\ncpus 0\n", 2, "bad cpus value '0'");
    expect_error("kernel k.elf\ncpus two\n", 2, "bad cpus value 'two'");
    expect_error("kernel k.elf\nimage d.img\n", 2, "image 'd.img': No such file");
    expect_error("image k.elf\nimage r.bin\n", 2, "duplicate 'image'");
}

/* image PATH: relative to the config's folder; nothing else to boot is
 * needed; without it, --restore (config_parse_restoring) needs nothing
 * to boot either. */
Test(config, image)
{
    struct config cfg;
    char err[1024], want[300], path[256];
    cr_assert_eq(parse("memory 64M\nimage r.bin\n", &cfg, err, sizeof(err)), 0, "%s", err);
    snprintf(want, sizeof want, "%s/r.bin", dir);
    cr_assert_str_eq(cfg.image, want);
    cr_assert_eq(cfg.image_line, 2);
    cr_assert_null(cfg.kernel);
    config_free(&cfg);
    snprintf(path, sizeof path, "%s/vm.cfg", dir);
    write_file("vm.cfg", "memory 64M\n");
    cr_assert_eq(config_parse(path, &cfg, err, sizeof err), -1);
    cr_assert_eq(config_parse_restoring(path, &cfg, true, err, sizeof err), 0, "%s", err);
    cr_assert_null(cfg.image);
    config_free(&cfg);
}

/* disk PATH [ro]: up to 4 in file order, relative to the config's folder;
 * a fifth, a bad second word, a missing, empty or non-regular image are
 * FILE:LINE errors. */
Test(config, disks)
{
    struct config cfg;
    char err[1024], want[300];
    write_file("a.img", "0123456789");
    write_file("b.img", "x");
    cr_assert_eq(parse("kernel k.elf\ndisk a.img\ndisk b.img ro\n", &cfg, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(cfg.ndisks, 2);
    snprintf(want, sizeof(want), "%s/a.img", dir);
    cr_assert_str_eq(cfg.disk[0].path, want);
    cr_assert_eq(cfg.disk[0].ro, 0);
    cr_assert_eq(cfg.disk[0].line, 2);
    snprintf(want, sizeof(want), "%s/b.img", dir);
    cr_assert_str_eq(cfg.disk[1].path, want);
    cr_assert_eq(cfg.disk[1].ro, 1);
    cr_assert_eq(cfg.disk[1].line, 3);
    config_free(&cfg);
    cr_assert_eq(parse("kernel k.elf\ndisk a.img\ndisk a.img ro\ndisk b.img\ndisk b.img\n",
                       &cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.ndisks, 4);
    config_free(&cfg);
    expect_error("kernel k.elf\ndisk a.img\ndisk a.img\ndisk a.img\ndisk a.img\ndisk b.img\n", 6,
                 "more than 4 'disk' lines");
    expect_error("kernel k.elf\ndisk a.img rw\n", 2, "the second word can only be 'ro'");
    expect_error("kernel k.elf\ndisk a.img ro x\n", 2, "'disk' takes a path and optionally 'ro'");
    expect_error("kernel k.elf\ndisk\n", 2, "'disk' needs an image path");
    expect_error("kernel k.elf\ndisk nope.img\n", 2, "disk 'nope.img': No such file");
    write_file("empty.img", "");
    expect_error("kernel k.elf\ndisk empty.img\n", 2, "disk 'empty.img': empty (zero length)");
    expect_error("kernel k.elf\ndisk .\n", 2, "disk '.': not a regular file");
    /* an empty kernel is not refused by this rule (only disks) */
    write_file("e.elf", "");
    cr_assert_eq(parse("kernel e.elf\n", &cfg, err, sizeof(err)), 0, "%s", err);
    config_free(&cfg);
}

Test(config, cpus_against_ranks)
{
    struct config cfg;
    char err[1024], want[300];
    cr_assert_eq(parse("kernel k.elf\ncpus 4\n", &cfg, err, sizeof(err)), 0);
    cr_assert_eq(config_check_cpus(&cfg, 4, err, sizeof(err)), 0);
    cr_assert_eq(config_check_cpus(&cfg, 2, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s/vm.cfg:2: cpus 4 does not match the 2 MPI ranks", dir);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
    config_free(&cfg);
}

Test(config, unreadable_config)
{
    struct config cfg;
    char err[1024];
    cr_assert_eq(config_parse("/nonexistent/vm.cfg", &cfg, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "/nonexistent/vm.cfg: cannot open: No such file or directory");
}

Test(config, numbers)
{
    uint64_t v;
    cr_assert_eq(config_parse_number("0", 0, &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(config_parse_number("007", 0, &v), 0);
    cr_assert_eq(v, 7);
    cr_assert_eq(config_parse_number("18446744073709551615", 0, &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_eq(config_parse_number("0xffffFFFFffffFFFF", 1, &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_eq(config_parse_number("0x10", 1, &v), 0);
    cr_assert_eq(v, 16);
    const char *bad[] = { "18446744073709551616", "99999999999999999999999", "0x10000000000000000",
                          "", "-1", "+1", " 1", "1 ", "1x", "0x", "0x1g", "1e3", "1.0", "\t2" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 12345;
        cr_assert_eq(config_parse_number(bad[i], 1, &v), -1, "accepted '%s'", bad[i]);
        cr_assert_eq(v, 12345, "'%s' wrote a value", bad[i]);
    }
    cr_assert_eq(config_parse_number("0x10", 0, &v), -1, "hex only where allowed");
}

Test(config, size_limits)
{
    uint64_t b;
    cr_assert_eq(config_parse_size("18446744073709551615", &b), 0);
    cr_assert_eq(b, UINT64_MAX);
    cr_assert_eq(config_parse_size("17179869183G", &b), 0);      /* (2^64 - 1) >> 30 */
    cr_assert_eq(b, 17179869183ull << 30);
    const char *bad[] = { "18446744073709551616", "17179869184G", "17592186044416M",
                          "K", " 1M", "1M ", "+1M", "1KM", "0x10M", "1 M",
                          "100000000000000000000000000000000000000K" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(config_parse_size(bad[i], &b), -1, "accepted '%s'", bad[i]);
}

Test(config, number_values_overflow)
{
    expect_error("kernel k.elf\ncpus 18446744073709551617\n", 2, "bad cpus value '18446744073709551617'");
    expect_error("kernel k.elf\ncpus 4097\n", 2, "bad cpus value '4097'");
    expect_error("kernel k.elf\ncpus -1\n", 2, "bad cpus value '-1'");
    expect_error("kernel k.elf\ncpus +2\n", 2, "bad cpus value '+2'");
    expect_error("kernel k.elf\ncpus 2x\n", 2, "bad cpus value '2x'");
    expect_error("kernel k.elf\nmemory 18446744073709551616\n", 2, "bad memory size '18446744073709551616'");
    expect_error("kernel k.elf\nmemory 17179869184G\n", 2, "bad memory size '17179869184G'");
    expect_error("kernel k.elf\nmemory -64M\n", 2, "bad memory size '-64M'");
    expect_error("kernel k.elf\njit-cache 99999999999999999999M\n", 2, "bad jit-cache size");
}

/* Write `len` bytes (NULs included) as dir/vm.cfg and parse it. */
static int parse_bytes(const char *bytes, size_t len, struct config *cfg, char *err, size_t errlen)
{
    write_file("k.elf", "kernel");
    char path[256];
    snprintf(path, sizeof(path), "%s/vm.cfg", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, len, f), len);
    fclose(f);
    err[0] = 0;
    return config_parse(path, cfg, err, errlen);
}

Test(config, nul_byte_is_an_error)
{
    static const char text[] = "memory 16M\nkernel k.elf\0 junk\n";
    struct config cfg;
    char err[1024], want[300];
    cr_assert_eq(parse_bytes(text, sizeof(text) - 1, &cfg, err, sizeof(err)), -1,
                 "a NUL byte cut the line silently");
    snprintf(want, sizeof(want), "%s/vm.cfg:2: NUL byte at column 13: not a text file", dir);
    cr_assert_str_eq(err, want);
}

Test(config, line_length_is_bounded)
{
    /* A comment line of exactly CONFIG_LINE_MAX bytes is fine ... */
    size_t n = CONFIG_LINE_MAX;
    char *text = malloc(n + 64);
    cr_assert_not_null(text);
    strcpy(text, "kernel k.elf\n#");
    memset(text + 14, 'x', n - 1);
    strcpy(text + 13 + n, "\n");
    struct config cfg;
    char err[1024], want[300];
    cr_assert_eq(parse_bytes(text, strlen(text), &cfg, err, sizeof(err)), 0, "%s", err);
    config_free(&cfg);
    /* ... one byte more is not. */
    memset(text + 14, 'x', n);
    strcpy(text + 14 + n, "\n");
    cr_assert_eq(parse_bytes(text, strlen(text), &cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s/vm.cfg:2: line longer than %u bytes", dir, CONFIG_LINE_MAX);
    cr_assert_str_eq(err, want);
    free(text);
}

Test(config, file_size_is_bounded)
{
    /* CONFIG_FILE_MAX bytes of short comment lines: the end of the file
     * is never reached - nor needed. */
    size_t n = CONFIG_FILE_MAX + 2;
    char *text = malloc(n);
    cr_assert_not_null(text);
    for (size_t i = 0; i < n; i += 2)
        memcpy(text + i, "#\n", 2);
    memcpy(text, "kernel k.elf\n", 13);
    struct config cfg;
    char err[1024], want[300];
    cr_assert_eq(parse_bytes(text, n, &cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s/vm.cfg: longer than %u bytes: not a configuration file", dir,
             CONFIG_FILE_MAX);
    cr_assert_str_eq(err, want);
    free(text);
}

Test(config, dev_zero_and_directory)
{
    struct config cfg;
    char err[1024], want[300];
    /* refused at its first byte, not read until memory runs out */
    cr_assert_eq(config_parse("/dev/zero", &cfg, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "/dev/zero:1: NUL byte at column 1: not a text file");
    /* a read error says what it was */
    cr_assert_eq(config_parse(dir, &cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: read error: Is a directory", dir);
    cr_assert_str_eq(err, want);
}

Test(config, kernel_not_a_regular_file)
{
    expect_error("kernel /dev/zero\n", 1, "kernel '/dev/zero': not a regular file");
    expect_error("kernel k.elf\ninitrd .\n", 2, "initrd '.': not a regular file");
}
