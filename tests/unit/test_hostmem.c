/* test_hostmem.c - will the copies of guest RAM fit the host
 * (src/mem/hostmem.c)? The start-up rule and the run-time guard with
 * injected numbers, and reading the numbers from a fake /proc and
 * /sys/fs/cgroup tree (cgroup v2, v1, and a limit on a parent). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mem/hostmem.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)

static char msg[512];

Test(hostmem_check, fits_silently)
{
    struct hostmem h = {.mem_total = 24 * GIB, .mem_available = 20 * GIB};
    cr_assert_eq(hostmem_check(&h, 3 * GIB, 2, msg, sizeof msg), HOSTMEM_OK);
    cr_assert_eq(hostmem_check(&h, 64 * MIB, 16, msg, sizeof msg), HOSTMEM_OK);
    /* nothing known: nothing to say */
    struct hostmem none = {0};
    cr_assert_eq(hostmem_check(&none, 3 * GIB, 64, msg, sizeof msg), HOSTMEM_OK);
}

/* 2 ranks x 3 GiB on a host with 4 GiB available: a warning with the
 * numbers, the worst case per rank, and where the limit came from. */
Test(hostmem_check, two_copies_do_not_fit_mem_available)
{
    struct hostmem h = {.mem_total = 8 * GIB, .mem_available = 4 * GIB};
    cr_assert_eq(hostmem_check(&h, 3 * GIB, 2, msg, sizeof msg), HOSTMEM_WARN);
    cr_assert_str_eq(msg, "warning: 2 ranks on this host x memory 3072 MiB = 6144 MiB if every "
                          "rank touches all of guest RAM, but the host can give 4096 MiB "
                          "(MemAvailable): the kernel may kill a rank once the guest has "
                          "touched more than about 2048 MiB");
    /* one rank: one copy */
    cr_assert_eq(hostmem_check(&h, 3 * GIB, 1, msg, sizeof msg), HOSTMEM_OK);
    cr_assert_eq(hostmem_check(&h, 6 * GIB, 1, msg, sizeof msg), HOSTMEM_WARN);
    cr_assert(strstr(msg, "1 rank on this host x memory 6144 MiB"), "%s", msg);
}

/* The memory cgroup has less room than the host: its room counts. */
Test(hostmem_check, cgroup_limit_is_tighter)
{
    struct hostmem h = {.mem_total = 64 * GIB, .mem_available = 60 * GIB,
                        .cg_limit = 2 * GIB, .cg_usage = 512 * MIB};
    cr_assert_eq(hostmem_check(&h, 1 * GIB, 2, msg, sizeof msg), HOSTMEM_WARN);
    cr_assert(strstr(msg, "the host can give 1536 MiB (left under the memory cgroup's limit)"),
              "%s", msg);
    cr_assert(strstr(msg, "about 768 MiB"), "%s", msg);
    cr_assert_eq(hostmem_check(&h, 512 * MIB, 3, msg, sizeof msg), HOSTMEM_OK);
    /* a cgroup already over its limit has no room at all */
    h.cg_usage = 3 * GIB;
    cr_assert_eq(hostmem_check(&h, 64 * MIB, 1, msg, sizeof msg), HOSTMEM_WARN);
    cr_assert(strstr(msg, "can give 0 MiB"), "%s", msg);
    /* MemTotal stands in for an unknown MemAvailable */
    struct hostmem t = {.mem_total = 4 * GIB};
    cr_assert_eq(hostmem_check(&t, 3 * GIB, 2, msg, sizeof msg), HOSTMEM_WARN);
    cr_assert(strstr(msg, "(MemTotal)"), "%s", msg);
}

/* RLIMIT_AS below one copy area: certain failure, an error; below the
 * copies a rank maps over shared memory: a warning. */
Test(hostmem_check, address_space_limit)
{
    struct hostmem h = {.mem_total = 64 * GIB, .mem_available = 60 * GIB, .as_limit = 2 * GIB};
    cr_assert_eq(hostmem_check(&h, 3 * GIB, 1, msg, sizeof msg), HOSTMEM_ERROR);
    cr_assert_str_eq(msg, "memory 3072 MiB does not fit the address-space limit RLIMIT_AS "
                          "(ulimit -v) of 2048 MiB: a rank cannot map its copy of guest RAM");
    cr_assert_eq(hostmem_check(&h, 1536 * MIB, 2, msg, sizeof msg), HOSTMEM_WARN);
    cr_assert(strstr(msg, "RLIMIT_AS (ulimit -v) of 2048 MiB is less than 2 ranks x memory "
                          "1536 MiB"), "%s", msg);
    cr_assert_eq(hostmem_check(&h, 1536 * MIB, 1, msg, sizeof msg), HOSTMEM_OK);
    cr_assert_eq(hostmem_check(&h, 512 * MIB, 4, msg, sizeof msg), HOSTMEM_OK);
}

Test(hostmem_low, cgroup_close_to_its_limit)
{
    /* margin: max(limit / 16, 64 MiB) */
    struct hostmem h = {.mem_total = 64 * GIB, .mem_available = 60 * GIB,
                        .cg_limit = 4 * GIB, .cg_usage = 4 * GIB - 257 * MIB};
    cr_assert_not(hostmem_low(&h, msg, sizeof msg));
    h.cg_usage = 4 * GIB - 256 * MIB;
    cr_assert(hostmem_low(&h, msg, sizeof msg));
    cr_assert_str_eq(msg, "warning: the memory cgroup is at 3840 of its 4096 MiB: the copies "
                          "of guest RAM on this host are close to the limit, and the kernel "
                          "may kill a rank");
    h.cg_limit = 512 * MIB;
    h.cg_usage = 447 * MIB;
    cr_assert_not(hostmem_low(&h, msg, sizeof msg));
    h.cg_usage = 448 * MIB;
    cr_assert(hostmem_low(&h, msg, sizeof msg));
}

Test(hostmem_low, host_memory_nearly_gone)
{
    /* margin: max(MemTotal / 32, 64 MiB) */
    struct hostmem h = {.mem_total = 32 * GIB, .mem_available = 1 * GIB};
    cr_assert_not(hostmem_low(&h, msg, sizeof msg));
    h.mem_available = 1 * GIB - 1;
    cr_assert(hostmem_low(&h, msg, sizeof msg));
    cr_assert(strstr(msg, "host memory nearly exhausted: 1023 MiB available of 32768 MiB"),
              "%s", msg);
    struct hostmem small = {.mem_total = 1 * GIB, .mem_available = 65 * MIB};
    cr_assert_not(hostmem_low(&small, msg, sizeof msg));
    small.mem_available = 63 * MIB;
    cr_assert(hostmem_low(&small, msg, sizeof msg));
    struct hostmem none = {0};
    cr_assert_not(hostmem_low(&none, msg, sizeof msg));
}

/* ---- reading the numbers from a fake tree ---- */

static char root[256];

static void put(const char *path, const char *text)
{
    char fn[512];
    snprintf(fn, sizeof fn, "%s%s", root, path);
    for (char *p = fn + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(fn, 0755);
            *p = '/';
        }
    }
    FILE *f = fopen(fn, "w");
    cr_assert_not_null(f, "%s", fn);
    fputs(text, f);
    fclose(f);
}

static void new_root(void)
{
    snprintf(root, sizeof root, "/tmp/vsmp-hostmem.XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    put("/proc/meminfo", "MemTotal:       24683784 kB\nMemFree:        1000 kB\n"
                         "MemAvailable:   24210584 kB\nBuffers:  1 kB\n");
}

static void drop_root(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}

/* v2: the leaf has no limit ("max"), its parent has one */
Test(hostmem_read, cgroup_v2_limit_on_a_parent)
{
    new_root();
    put("/proc/self/cgroup", "0::/user.slice/job/leaf\n");
    put("/sys/fs/cgroup/user.slice/job/leaf/memory.max", "max\n");
    put("/sys/fs/cgroup/user.slice/job/leaf/memory.current", "1000\n");
    put("/sys/fs/cgroup/user.slice/job/memory.max", "2147483648\n");
    put("/sys/fs/cgroup/user.slice/job/memory.current", "1073741824\n");
    put("/sys/fs/cgroup/user.slice/memory.max", "4294967296\n");
    put("/sys/fs/cgroup/user.slice/memory.current", "1073741824\n");
    struct hostmem h;
    hostmem_read(&h, root);
    cr_assert_eq(h.mem_total, 24683784ull * 1024);
    cr_assert_eq(h.mem_available, 24210584ull * 1024);
    cr_assert_eq(h.cg_limit, 2 * GIB);
    cr_assert_eq(h.cg_usage, 1 * GIB);
    cr_assert_eq(h.as_limit, 0, "RLIMIT_AS is read only for the real root");
    drop_root();
}

/* v1 (a hybrid host, as this one: v2 mounted without the memory
 * controller): "no limit" is a huge number; the root's limit counts */
Test(hostmem_read, cgroup_v1_memory_controller)
{
    new_root();
    put("/proc/self/cgroup", "9:name=systemd:/\n4:memory:/jobs/a\n3:cpuset:/\n0::/\n");
    put("/sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes", "9223372036854771712\n");
    put("/sys/fs/cgroup/memory/jobs/a/memory.usage_in_bytes", "5000\n");
    put("/sys/fs/cgroup/memory/memory.limit_in_bytes", "1073741824\n");
    put("/sys/fs/cgroup/memory/memory.usage_in_bytes", "536870912\n");
    struct hostmem h;
    hostmem_read(&h, root);
    cr_assert_eq(h.cg_limit, 1 * GIB);
    cr_assert_eq(h.cg_usage, 512 * MIB);
    drop_root();
}

/* no limit anywhere, or no cgroup files: the cgroup numbers stay 0 */
Test(hostmem_read, no_limit)
{
    new_root();
    put("/proc/self/cgroup", "0::/a\n");
    put("/sys/fs/cgroup/a/memory.max", "max\n");
    put("/sys/fs/cgroup/memory.max", "max\n");
    struct hostmem h;
    hostmem_read(&h, root);
    cr_assert_eq(h.cg_limit, 0);
    cr_assert_eq(h.mem_total, 24683784ull * 1024);
    drop_root();
    new_root();
    hostmem_read(&h, root);
    cr_assert_eq(h.cg_limit, 0);
    cr_assert_eq(h.mem_available, 24210584ull * 1024);
    drop_root();
}
