/* hostmem.h - will the copies of guest RAM fit this host? Every rank holds
 * a copy area as large as guest RAM (docs/dsm.md); pages cost host memory
 * only once a rank touches them, so the worst case on one host is every
 * rank there holding a copy of every page: ranks_on_host x memory. The
 * start-up rule and the run-time guard are pure functions of numbers
 * (struct hostmem), so that tests can inject them; hostmem_read gets the
 * numbers from /proc/meminfo, the memory cgroup (v2 memory.max and
 * memory.current, or v1 memory.limit_in_bytes and memory.usage_in_bytes,
 * the tightest limit on the way to the root) and RLIMIT_AS.
 * docs/startup.md has the rules and why. */
#ifndef VSMP_HOSTMEM_H
#define VSMP_HOSTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What this host (and this process's limits) can give; 0 = unknown or
 * no limit, in bytes. */
struct hostmem {
    uint64_t mem_total;       /* MemTotal */
    uint64_t mem_available;   /* MemAvailable */
    uint64_t cg_limit;        /* the memory cgroup's limit (memory.max) */
    uint64_t cg_usage;        /* that cgroup's usage (memory.current) */
    uint64_t as_limit;        /* RLIMIT_AS (soft) */
};

enum hostmem_verdict {
    HOSTMEM_OK,               /* every rank can hold all of guest RAM */
    HOSTMEM_WARN,             /* a guest that touches much of its RAM may
                               * get a rank killed: say so, run anyway */
    HOSTMEM_ERROR,            /* certain failure: a copy area cannot even
                               * be mapped (RLIMIT_AS below memory) */
};

/* The start-up rule for `ranks` ranks on this host, each with a copy area
 * of ram_bytes. Not OK: one line (no "vsmp:" prefix, no newline) in msg
 * saying what does not fit, with the numbers and where they came from. */
enum hostmem_verdict hostmem_check(const struct hostmem *h, uint64_t ram_bytes, int ranks,
                                   char *msg, size_t len);

/* The run-time guard: true (and one line in msg) when the memory in use
 * is close to what the host or the cgroup can give: cgroup usage within
 * max(limit / 16, 64 MiB) of its limit, or MemAvailable below
 * max(MemTotal / 32, 64 MiB). */
bool hostmem_low(const struct hostmem *h, char *msg, size_t len);

/* Fill h from the files under root ("" for the real /proc and /sys; a
 * folder holding proc/meminfo, proc/self/cgroup and sys/fs/cgroup/... for
 * tests) and from getrlimit (only when root is ""). Numbers it cannot
 * read stay 0. */
void hostmem_read(struct hostmem *h, const char *root);

#endif
