/* helper.c - the native helper process of the differential test (see
 * helper.h). */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

#define BATCH 64
#define WAIT_MS 120000   /* only against a helper that hangs */

static void die(const char *msg)
{
    fprintf(stderr, "difftest: %s: %s\n", msg, strerror(errno));
    exit(2);
}

static int try_write(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void xwrite(int fd, const void *buf, size_t n)
{
    if (try_write(fd, buf, n) < 0)
        die("write to the native helper");
}

static void xread(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "difftest: the native helper died (read %zd)\n", r);
            exit(2);
        }
        p += r;
        n -= (size_t)r;
    }
}

/* Read n bytes, unless the helper dies or hangs; 0 or -1. */
static int read_wait(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        struct pollfd pf = { fd, POLLIN, 0 };
        int k = poll(&pf, 1, WAIT_MS);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int reap(struct helper *h)
{
    int st = 0;
    close(h->to);
    close(h->from);
    kill(h->pid, SIGKILL);
    waitpid(h->pid, &st, 0);
    return st;
}

int helper_start(struct helper *h, char *const argv[], int native, char *why, size_t len)
{
    int in[2], out[2], ex[2];
    why[0] = 0;
    if (pipe(in) < 0 || pipe(out) < 0 || pipe2(ex, O_CLOEXEC) < 0)
        die("pipe");
    fcntl(in[1], F_SETPIPE_SZ, 1 << 20);
    fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
    h->pid = fork();
    if (h->pid < 0)
        die("fork");
    if (h->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]); close(ex[0]);
        if (strchr(argv[0], '/'))
            execv(argv[0], argv);
        else
            execvp(argv[0], argv);
        int e = errno;
        if (write(ex[1], &e, sizeof(e)) < 0)
            _exit(127);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(ex[1]);
    h->to = in[1];
    h->from = out[0];
    int e = 0;
    ssize_t r;
    do
        r = read(ex[0], &e, sizeof(e));
    while (r < 0 && errno == EINTR);
    close(ex[0]);
    if (r == (ssize_t)sizeof(e)) {
        snprintf(why, len, "cannot execute %s: %s", argv[0], strerror(e));
        reap(h);
        return e == ENOEXEC ? HELPER_NOEXEC : HELPER_ERROR;
    }

    /* the exec worked: now a trivial sequence must come back. It reads
     * CPUID leaves 1 (signature to ESI) and 0 (vendor in EBX EDX ECX):
     * mov eax,1; cpuid; mov esi,eax; xor eax,eax; cpuid */
    static const uint8_t code[] = { 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0x89, 0xc6, 0x31, 0xc0, 0x0f, 0xa2 };
    static struct dt_case probe;
    static struct dt_result res;
    uint32_t one = 1;
    memset(&probe, 0, sizeof(probe));
    probe.magic = DT_MAGIC_CASE;
    probe.index = 0xfffffffeu;
    probe.regs[4] = DT_DATA + 0x3400;
    probe.code_len = sizeof(code);
    memcpy(probe.code, code, sizeof(code));
    if (write(h->to, &one, 4) != 4 || write(h->to, &probe, sizeof(probe)) != (ssize_t)sizeof(probe) ||
        read_wait(h->from, &res, sizeof(res)) < 0 || res.magic != DT_MAGIC_RES ||
        res.index != probe.index || res.vector != -1 || res.eip != DT_CODE + sizeof(code)) {
        int st = reap(h);
        if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
            snprintf(why, len, "%s started but did not run a trivial case (exit status %d)",
                     argv[0], WEXITSTATUS(st));
        else if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL)
            snprintf(why, len, "%s started but did not run a trivial case (signal %d)",
                     argv[0], WTERMSIG(st));
        else
            snprintf(why, len, "%s started but did not run a trivial case", argv[0]);
        return HELPER_NOPROBE;
    }
    unsigned a = 0, b = 0, c = 0, d = 0, sig = 0;
    __get_cpuid(1, &sig, &b, &c, &d);
    __get_cpuid(0, &a, &b, &c, &d);
    if (native && (res.regs[6] != sig || res.regs[3] != b || res.regs[2] != d || res.regs[1] != c)) {
        /* e.g. the kernel hands i386 programs to qemu-i386 (binfmt_misc) */
        snprintf(why, len, "%s runs, but not on this CPU: its CPUID signature is %08x, this "
                 "process's %08x (an emulator behind binfmt_misc?)", argv[0], res.regs[6], sig);
        reap(h);
        return HELPER_NOPROBE;
    }
    return 0;
}

void helper_send(struct helper *h, const struct dt_case *c, uint32_t n)
{
    if (n > BATCH) {
        fprintf(stderr, "difftest: batch too large\n");
        exit(2);
    }
    xwrite(h->to, &n, 4);
    xwrite(h->to, c, n * sizeof(c[0]));
}

void helper_recv(struct helper *h, struct dt_result *res, uint32_t n)
{
    xread(h->from, res, n * sizeof(res[0]));
    for (uint32_t i = 0; i < n; i++)
        if (res[i].magic != DT_MAGIC_RES) {
            fprintf(stderr, "difftest: bad result record from the helper\n");
            exit(2);
        }
}

int helper_try_batch(struct helper *h, const struct dt_case *c, struct dt_result *res, uint32_t n)
{
    if (n > BATCH) {
        fprintf(stderr, "difftest: batch too large\n");
        exit(2);
    }
    if (try_write(h->to, &n, 4) < 0 || try_write(h->to, c, n * sizeof(c[0])) < 0 ||
        read_wait(h->from, res, n * sizeof(res[0])) < 0) {
        reap(h);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++)
        if (res[i].magic != DT_MAGIC_RES) {
            fprintf(stderr, "difftest: bad result record from the helper\n");
            exit(2);
        }
    return 0;
}

void helper_stop(struct helper *h)
{
    uint32_t zero = 0;
    int st;
    xwrite(h->to, &zero, 4);
    close(h->to);
    close(h->from);
    waitpid(h->pid, &st, 0);
}
