/* helper.h - the native side's process: native32 (directly, or under
 * qemu-i386), talked to through pipes in batches of cases. Starting it is
 * a real try: the exec and a first trivial case must succeed, so a host
 * that cannot run 32-bit processes (ENOEXEC) is told apart from a broken
 * helper. */
#ifndef DIFF_HELPER_H
#define DIFF_HELPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gen.h"

struct helper {
    pid_t pid;
    int to, from;     /* pipe ends: cases out, results in */
};

/* Start argv[0] (searched in PATH when it has no '/') with argv, and run
 * one trivial case through it; with `native`, the case's CPUID must be
 * this process's (the helper runs on this CPU, not in an emulator the
 * kernel hands i386 programs to). 0: running; else not usable, with the
 * reason in why (e.g. "cannot execute build/.../native32: Exec format
 * error"), nothing left running, and the result says which failure:
 * HELPER_NOEXEC the kernel does not run it (ENOEXEC: no 32-bit support),
 * HELPER_NOPROBE it started but did not run the trivial case (or not on
 * this CPU), HELPER_ERROR
 * any other exec error (no such file, permission, ...). */
enum { HELPER_ERROR = -1, HELPER_NOEXEC = -2, HELPER_NOPROBE = -3 };
int helper_start(struct helper *h, char *const argv[], int native, char *why, size_t len);

/* Batches; any failure now is a harness error (message, exit 2). */
void helper_send(struct helper *h, const struct dt_case *c, uint32_t n);
void helper_recv(struct helper *h, struct dt_result *res, uint32_t n);
void helper_stop(struct helper *h);

/* One batch, where the helper may die (qemu-i386 crashes on some cases):
 * 0 with the results, or -1 with the helper gone (reaped). */
int helper_try_batch(struct helper *h, const struct dt_case *c, struct dt_result *res, uint32_t n);

#endif
