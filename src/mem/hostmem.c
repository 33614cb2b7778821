/* hostmem.c - will the copies of guest RAM fit this host (hostmem.h)? The
 * start-up rule, the run-time guard, and reading what the host, its
 * memory cgroup and RLIMIT_AS can give. docs/startup.md. */
#include "mem/hostmem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MIB (1024ull * 1024ull)
#define GUARD_MIN (64ull * MIB)
/* cgroup v1 writes "no limit" as a huge number (PAGE_COUNTER_MAX pages) */
#define NO_LIMIT (1ull << 60)

static unsigned long long mib(uint64_t b)
{
    return (unsigned long long)(b / MIB);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

enum hostmem_verdict hostmem_check(const struct hostmem *h, uint64_t ram_bytes, int ranks,
                                   char *msg, size_t len)
{
    if (ranks < 1)
        ranks = 1;
    uint64_t need = (uint64_t)ranks * ram_bytes;
    if (h->as_limit && h->as_limit < ram_bytes) {
        snprintf(msg, len, "memory %llu MiB does not fit the address-space limit RLIMIT_AS "
                 "(ulimit -v) of %llu MiB: a rank cannot map its copy of guest RAM",
                 mib(ram_bytes), mib(h->as_limit));
        return HOSTMEM_ERROR;
    }
    /* what the host can still give: MemAvailable (MemTotal if unknown),
     * or less where the memory cgroup has less room left */
    uint64_t can = h->mem_available ? h->mem_available : h->mem_total;
    const char *what = h->mem_available ? "MemAvailable" : "MemTotal";
    if (h->cg_limit) {
        uint64_t room = h->cg_limit > h->cg_usage ? h->cg_limit - h->cg_usage : 0;
        if (!can || room < can) {
            can = room;
            what = "left under the memory cgroup's limit";
        }
    }
    if ((can || h->cg_limit) && need > can) {
        snprintf(msg, len, "warning: %d rank%s on this host x memory %llu MiB = %llu MiB if "
                 "every rank touches all of guest RAM, but the host can give %llu MiB (%s): "
                 "the kernel may kill a rank once the guest has touched more than about "
                 "%llu MiB", ranks, ranks == 1 ? "" : "s", mib(ram_bytes), mib(need), mib(can),
                 what, mib(can / (uint64_t)ranks));
        return HOSTMEM_WARN;
    }
    /* over shared memory every rank also maps the others' copy areas */
    if (h->as_limit && ranks > 1 && h->as_limit < need) {
        snprintf(msg, len, "warning: RLIMIT_AS (ulimit -v) of %llu MiB is less than %d ranks "
                 "x memory %llu MiB: over shared memory each rank maps every copy of guest "
                 "RAM on its host, and the transport may fail to start",
                 mib(h->as_limit), ranks, mib(ram_bytes));
        return HOSTMEM_WARN;
    }
    return HOSTMEM_OK;
}

bool hostmem_low(const struct hostmem *h, char *msg, size_t len)
{
    if (h->cg_limit) {
        uint64_t margin = max_u64(h->cg_limit / 16, GUARD_MIN);
        if (h->cg_usage + margin >= h->cg_limit) {
            snprintf(msg, len, "warning: the memory cgroup is at %llu of its %llu MiB: the "
                     "copies of guest RAM on this host are close to the limit, and the kernel "
                     "may kill a rank", mib(h->cg_usage), mib(h->cg_limit));
            return true;
        }
        return false;
    }
    if (h->mem_total && h->mem_available) {
        uint64_t margin = max_u64(h->mem_total / 32, GUARD_MIN);
        if (h->mem_available < margin) {
            snprintf(msg, len, "warning: host memory nearly exhausted: %llu MiB available of "
                     "%llu MiB (the copies of guest RAM on this host grow as the guest touches "
                     "pages): the kernel may kill a rank",
                     mib(h->mem_available), mib(h->mem_total));
            return true;
        }
    }
    return false;
}

/* ---- reading the numbers ---- */

/* The first line of root/path as a number of bytes; "max" or a v1 "no
 * limit" is 0. False if it cannot be read. */
static bool read_bytes(const char *root, const char *path, uint64_t *out)
{
    char fn[4096];
    snprintf(fn, sizeof fn, "%s%s", root, path);
    FILE *f = fopen(fn, "r");
    if (!f)
        return false;
    char line[64];
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (!ok)
        return false;
    if (!strncmp(line, "max", 3)) {
        *out = 0;
        return true;
    }
    char *end;
    unsigned long long v = strtoull(line, &end, 10);
    if (end == line)
        return false;
    *out = v >= NO_LIMIT ? 0 : (uint64_t)v;
    return true;
}

static void read_meminfo(struct hostmem *h, const char *root)
{
    char fn[4096];
    snprintf(fn, sizeof fn, "%s/proc/meminfo", root);
    FILE *f = fopen(fn, "r");
    if (!f)
        return;
    char line[256];
    unsigned long long kb;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
            h->mem_total = (uint64_t)kb * 1024;
        else if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            h->mem_available = (uint64_t)kb * 1024;
    }
    fclose(f);
}

/* The tightest limit from the cgroup at `path` (under the hierarchy's
 * mount point `mount`) up to the root: limit and usage files are v2's or
 * v1's names. Returns true if any limit was found. */
static bool walk_cgroup(struct hostmem *h, const char *root, const char *mount, char *path,
                        const char *limit_file, const char *usage_file)
{
    bool found = false;
    for (;;) {
        size_t n = strlen(path);
        while (n > 1 && path[n - 1] == '/')
            path[--n] = '\0';
        char fn[3072];
        uint64_t limit;
        snprintf(fn, sizeof fn, "%s%s/%s", mount, strcmp(path, "/") ? path : "", limit_file);
        if (read_bytes(root, fn, &limit) && limit && (!found || limit < h->cg_limit)) {
            uint64_t usage = 0;
            snprintf(fn, sizeof fn, "%s%s/%s", mount, strcmp(path, "/") ? path : "", usage_file);
            read_bytes(root, fn, &usage);
            h->cg_limit = limit;
            h->cg_usage = usage;
            found = true;
        }
        char *slash = strrchr(path, '/');
        if (!slash || n <= 1)
            return found;
        if (slash == path)
            slash[1] = '\0';       /* up to "/" */
        else
            *slash = '\0';
    }
}

static void read_cgroup(struct hostmem *h, const char *root)
{
    char fn[4096];
    snprintf(fn, sizeof fn, "%s/proc/self/cgroup", root);
    FILE *f = fopen(fn, "r");
    if (!f)
        return;
    char line[2048], v2[1024] = "", v1[1024] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2[1] != '/')
            continue;
        *c1 = '\0';
        *c2 = '\0';
        if (!strcmp(line, "0") && c1[1] == '\0') {
            snprintf(v2, sizeof v2, "%s", c2 + 1);
        } else {
            /* v1: "id:ctrl,ctrl:path" with "memory" among the controllers */
            for (char *tok = strtok(c1 + 1, ","); tok; tok = strtok(NULL, ","))
                if (!strcmp(tok, "memory"))
                    snprintf(v1, sizeof v1, "%s", c2 + 1);
        }
    }
    fclose(f);
    if (v2[0] && walk_cgroup(h, root, "/sys/fs/cgroup", v2, "memory.max", "memory.current"))
        return;
    if (v1[0])
        walk_cgroup(h, root, "/sys/fs/cgroup/memory", v1, "memory.limit_in_bytes",
                    "memory.usage_in_bytes");
}

void hostmem_read(struct hostmem *h, const char *root)
{
    memset(h, 0, sizeof *h);
    read_meminfo(h, root);
    read_cgroup(h, root);
    struct rlimit rl;
    if (!root[0] && getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        h->as_limit = (uint64_t)rl.rlim_cur;
}
