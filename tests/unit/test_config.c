/* test_config.c - the configuration file parser: sizes, relative paths,
 * and each kind of error with its FILE:LINE text. config.c is part of the
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
    expect_error("kernel k.elf\ndisk d.img\n", 2, "not supported yet");
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
