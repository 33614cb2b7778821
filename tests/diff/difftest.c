/* difftest.c - differential test of vsmp's CPU core against the host CPU.
 *
 *   difftest [--seed S] [--count N] [--first I] [--class NAME] [-v]
 *            [--self] [--helper PATH] [--max-report N]
 *
 * Generates random instruction sequences (gen.c), runs each natively in the
 * 32-bit helper process (native32, talked to through pipes in batches) and
 * in the core (emu.c), and compares exception vector, EIP, registers, the
 * defined EFLAGS bits, changed memory and (for x87 sequences) the FNSAVE
 * image: control word, status word (undefined condition codes masked),
 * tag word and the non-empty registers. Case i of seed S is independent
 * of the others: "--seed S --first i --count 1 -v" replays it.
 * --self runs a second native helper instead of the core (checks the
 * harness itself: native against native must always agree).
 * Exit status: 0 all passed, 1 a mismatch, 2 a harness error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "gen.h"

#define BATCH 64
#define DEFAULT_SEED 20240607ull

struct helper {
    pid_t pid;
    int to, from;     /* pipe ends: cases out, results in */
};

static int verbose;

static void die(const char *msg)
{
    fprintf(stderr, "difftest: %s: %s\n", msg, strerror(errno));
    exit(2);
}

static void helper_start(struct helper *h, const char *path)
{
    int in[2], out[2];
    if (pipe(in) < 0 || pipe(out) < 0)
        die("pipe");
    fcntl(in[1], F_SETPIPE_SZ, 1 << 20);
    fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
    h->pid = fork();
    if (h->pid < 0)
        die("fork");
    if (h->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execl(path, path, (char *)NULL);
        fprintf(stderr, "difftest: cannot run %s: %s\n", path, strerror(errno));
        _exit(2);
    }
    close(in[0]);
    close(out[1]);
    h->to = in[1];
    h->from = out[0];
}

static void xwrite(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("write to the native helper");
        p += r;
        n -= (size_t)r;
    }
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

static void helper_send(struct helper *h, struct gen_case *gc, uint32_t n)
{
    static struct dt_case buf[BATCH];
    for (uint32_t i = 0; i < n; i++)
        buf[i] = gc[i].c;
    xwrite(h->to, &n, 4);
    xwrite(h->to, buf, n * sizeof(buf[0]));
}

static void helper_recv(struct helper *h, struct dt_result *res, uint32_t n)
{
    xread(h->from, res, n * sizeof(res[0]));
    for (uint32_t i = 0; i < n; i++)
        if (res[i].magic != DT_MAGIC_RES) {
            fprintf(stderr, "difftest: bad result record from the helper\n");
            exit(2);
        }
}

static void helper_stop(struct helper *h)
{
    uint32_t zero = 0;
    int st;
    xwrite(h->to, &zero, 4);
    close(h->to);
    close(h->from);
    waitpid(h->pid, &st, 0);
}

/* ---------------- comparison ---------------- */

static const char *const regname[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

struct report {
    char buf[8192];
    size_t len;
};

static void rp(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rp(struct report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (r->len < sizeof(r->buf))
        r->len += (size_t)vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
    va_end(ap);
    if (r->len > sizeof(r->buf))
        r->len = sizeof(r->buf);
}

/* Undefined EFLAGS / FSW condition bits at the instruction at `eip`. */
static void undef_at(const struct gen_case *gc, int vector, uint32_t eip, uint32_t *ufl, uint32_t *uc)
{
    if (vector < 0) {
        *ufl = gc->undef_fl;
        *uc = gc->undef_c;
        return;
    }
    for (int i = 0; i < gc->nbound; i++)
        if (DT_CODE + gc->b[i].off == eip) {
            *ufl = gc->b[i].undef_fl;
            *uc = gc->b[i].undef_c;
            return;
        }
    *ufl = gc->undef_fl;            /* not at an instruction start */
    *uc = gc->undef_c;
    for (int i = 0; i < gc->nbound; i++) {
        *ufl |= gc->b[i].undef_fl;
        *uc |= gc->b[i].undef_c;
    }
}

static uint32_t get16(const uint8_t *p) { return p[0] | p[1] << 8; }

static void fmt80(char *s, size_t n, const uint8_t *p)
{
    uint64_t m;
    memcpy(&m, p, 8);
    snprintf(s, n, "%04x:%016" PRIx64, get16(p + 8), m);
}

/* Compare; returns the number of differences, described in *r. */
static int compare(const struct gen_case *gc, const struct dt_result *nat,
                   const struct dt_result *emu, struct report *r)
{
    int nd = 0;
    uint32_t ufl, uc;
    undef_at(gc, nat->vector, nat->eip, &ufl, &uc);

    if (nat->vector != emu->vector) {
        rp(r, "  exception: native %d, vsmp %d\n", nat->vector, emu->vector);
        nd++;
    }
    if (nat->eip != emu->eip) {
        rp(r, "  eip: native %08x, vsmp %08x\n", nat->eip, emu->eip);
        nd++;
    }
    for (int i = 0; i < 8; i++)
        if (nat->regs[i] != emu->regs[i]) {
            rp(r, "  %s: native %08x, vsmp %08x\n", regname[i], nat->regs[i], emu->regs[i]);
            nd++;
        }
    uint32_t fmask = 0x0cd5u & ~ufl;
    if ((nat->eflags ^ emu->eflags) & fmask) {
        rp(r, "  eflags: native %08x, vsmp %08x (compared bits %03x, differing %03x)\n",
           nat->eflags, emu->eflags, fmask, (nat->eflags ^ emu->eflags) & fmask);
        nd++;
    }

    /* memory: the sets of changed dwords and their values */
    int memdiff = nat->ndirty != emu->ndirty;
    for (uint32_t i = 0; !memdiff && i < nat->ndirty && i < DT_DIRTY_MAX; i++)
        if (nat->dirty[i].off != emu->dirty[i].off || nat->dirty[i].val != emu->dirty[i].val)
            memdiff = 1;
    if (memdiff) {
        static uint8_t init[DT_DATA_SIZE];
        dt_fill(init, (uint64_t)gc->c.fill_hi << 32 | gc->c.fill_lo);
        memcpy(init + DT_FPU_IN, gc->c.fpu_img, DT_FPU_IMG);
        rp(r, "  memory: native changed %u dwords, vsmp %u\n", nat->ndirty, emu->ndirty);
        uint32_t a = 0, b = 0, shown = 0;
        uint32_t na = nat->ndirty < DT_DIRTY_MAX ? nat->ndirty : DT_DIRTY_MAX;
        uint32_t nb = emu->ndirty < DT_DIRTY_MAX ? emu->ndirty : DT_DIRTY_MAX;
        while ((a < na || b < nb) && shown < 16) {
            uint32_t oa = a < na ? nat->dirty[a].off : UINT32_MAX;
            uint32_t ob = b < nb ? emu->dirty[b].off : UINT32_MAX;
            uint32_t off = oa < ob ? oa : ob, iv, va, vb;
            memcpy(&iv, init + off, 4);
            va = oa == off ? nat->dirty[a++].val : iv;
            vb = ob == off ? emu->dirty[b++].val : iv;
            if (va != vb) {
                rp(r, "    [%08x]: native %08x, vsmp %08x (initial %08x)\n",
                   DT_DATA + off, va, vb, iv);
                shown++;
            }
        }
        nd++;
    }

    /* x87 state from FNSAVE */
    if (gc->c.has_fpu && nat->vector < 0 && emu->vector < 0) {
        const uint8_t *p = nat->fpu, *q = emu->fpu;
        uint32_t swmask = 0xffffu & ~uc;
        if (get16(p) != get16(q)) {
            rp(r, "  fpu cw: native %04x, vsmp %04x\n", get16(p), get16(q));
            nd++;
        }
        if ((get16(p + 4) ^ get16(q + 4)) & swmask) {
            rp(r, "  fpu sw: native %04x, vsmp %04x (compared bits %04x)\n",
               get16(p + 4), get16(q + 4), swmask);
            nd++;
        }
        uint32_t tw = get16(p + 8);
        if (tw != get16(q + 8)) {
            rp(r, "  fpu tag: native %04x, vsmp %04x\n", tw, get16(q + 8));
            nd++;
        }
        uint32_t top = (get16(p + 4) >> 11) & 7;
        for (int i = 0; i < 8; i++) {
            int phys = (int)((top + (uint32_t)i) & 7);
            if (((tw >> (2 * phys)) & 3) == 3)
                continue;          /* empty: contents not architectural */
            if (memcmp(p + 28 + 10 * i, q + 28 + 10 * i, 10)) {
                char a[40], b[40];
                fmt80(a, sizeof(a), p + 28 + 10 * i);
                fmt80(b, sizeof(b), q + 28 + 10 * i);
                rp(r, "  fpu st(%d): native %s, vsmp %s\n", i, a, b);
                nd++;
            }
        }
    }
    return nd;
}

/* ---------------- reporting ---------------- */

static void disasm(const struct gen_case *gc)
{
    char path[] = "/tmp/difftest-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    if (write(fd, gc->c.code, gc->c.code_len) != (ssize_t)gc->c.code_len) {
        close(fd);
        unlink(path);
        return;
    }
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "objdump -D -b binary -mi386 --adjust-vma=0x%x %s 2>/dev/null | sed -n '/<.data>:/,$p' | tail -n +2",
             DT_CODE, path);
    fflush(stdout);
    if (system(cmd) != 0)
        printf("    (objdump not available)\n");
    unlink(path);
}

static void print_case(const struct gen_case *gc, uint64_t seed)
{
    printf("  replay: difftest --seed %" PRIu64 " --first %u --count 1 -v\n", seed, gc->c.index);
    printf("  code (%u bytes):", gc->c.code_len);
    for (uint32_t i = 0; i < gc->c.code_len; i++)
        printf(" %02x", gc->c.code[i]);
    printf("\n");
    disasm(gc);
    printf("  classes:");
    for (int i = 0; i < gc->nbound; i++)
        printf(" %s@%x", gc->b[i].cls < GC_COUNT ? gen_class_names[gc->b[i].cls] : "setup",
               DT_CODE + gc->b[i].off);
    printf("\n  initial:");
    for (int i = 0; i < 8; i++)
        printf(" %s=%08x", regname[i], gc->c.regs[i]);
    printf(" eflags=%03x\n", gc->c.eflags);
    if (gc->c.has_fpu) {
        const uint8_t *p = gc->c.fpu_img;
        printf("  initial fpu: cw=%04x sw=%04x tag=%04x\n", get16(p), get16(p + 4), get16(p + 8));
        for (int i = 0; i < 8; i++) {
            char s[40];
            fmt80(s, sizeof(s), p + 28 + 10 * i);
            printf("    st(%d)=%s\n", i, s);
        }
    }
    printf("  undefined at end: eflags %03x, fsw %04x\n", gc->undef_fl, gc->undef_c);
}

static void print_result(const char *who, const struct dt_result *r, int has_fpu)
{
    printf("  %s: vector %d eip %08x", who, r->vector, r->eip);
    for (int i = 0; i < 8; i++)
        printf(" %s=%08x", regname[i], r->regs[i]);
    printf(" eflags=%08x dirty=%u\n", r->eflags, r->ndirty);
    if (has_fpu && r->vector < 0)
        printf("    fpu cw=%04x sw=%04x tag=%04x\n", get16(r->fpu), get16(r->fpu + 4), get16(r->fpu + 8));
}

static void usage(void)
{
    fprintf(stderr, "usage: difftest [--seed S] [--count N] [--first I] [--class NAME] [-v]\n"
                    "                [--self] [--helper PATH] [--max-report N]\n"
                    "classes:");
    for (int i = 0; i < GC_COUNT; i++)
        fprintf(stderr, " %s", gen_class_names[i]);
    fprintf(stderr, "\n");
    exit(2);
}

int main(int argc, char **argv)
{
    uint64_t seed = DEFAULT_SEED;
    uint32_t count = 200000, first = 0;
    int only = -1, self = 0, max_report = 10;
    char helper_path[4096];
    const char *helper_arg = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "--count") && i + 1 < argc)
            count = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(a, "--first") && i + 1 < argc)
            first = (uint32_t)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(a, "--class") && i + 1 < argc) {
            only = gen_class_by_name(argv[++i]);
            if (only < 0)
                usage();
        } else if (!strcmp(a, "--helper") && i + 1 < argc)
            helper_arg = argv[++i];
        else if (!strcmp(a, "--max-report") && i + 1 < argc)
            max_report = atoi(argv[++i]);
        else if (!strcmp(a, "--self"))
            self = 1;
        else if (!strcmp(a, "-v"))
            verbose = 1;
        else
            usage();
    }
    if (helper_arg) {
        snprintf(helper_path, sizeof(helper_path), "%s", helper_arg);
    } else {
        /* native32 next to this binary */
        snprintf(helper_path, sizeof(helper_path), "%s", argv[0]);
        char *slash = strrchr(helper_path, '/');
        if (slash)
            snprintf(slash + 1, sizeof(helper_path) - (size_t)(slash + 1 - helper_path), "native32");
        else
            snprintf(helper_path, sizeof(helper_path), "./native32");
    }
    signal(SIGPIPE, SIG_IGN);

    printf("difftest: seed %" PRIu64 ", %u cases from %u%s%s%s\n", seed, count, first,
           only >= 0 ? ", class " : "", only >= 0 ? gen_class_names[only] : "",
           self ? " (native against native)" : "");
    fflush(stdout);

    struct helper nat, other;
    struct emu *emu = NULL;
    helper_start(&nat, helper_path);
    if (self)
        helper_start(&other, helper_path);
    else
        emu = emu_new();

    static struct gen_case gc[BATCH];
    static struct dt_result rn[BATCH], re[BATCH];
    uint64_t ins_cls[GC_COUNT] = { 0 }, fail_cls[GC_COUNT] = { 0 };
    uint32_t passed = 0, failed = 0, exc_cases = 0, exc_vec[32] = { 0 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (uint32_t done = 0; done < count;) {
        uint32_t n = count - done < BATCH ? count - done : BATCH;
        for (uint32_t i = 0; i < n; i++)
            gen_case(&gc[i], seed, first + done + i, only);
        helper_send(&nat, gc, n);
        if (self) {
            helper_send(&other, gc, n);
            helper_recv(&other, re, n);
        } else {
            for (uint32_t i = 0; i < n; i++)
                emu_run(emu, &gc[i].c, &re[i]);
        }
        helper_recv(&nat, rn, n);
        for (uint32_t i = 0; i < n; i++) {
            struct report r = { .len = 0 };
            int bad = compare(&gc[i], &rn[i], &re[i], &r);
            for (int k = 0; k < GC_COUNT; k++)
                ins_cls[k] += gc[i].nclass[k];
            if (rn[i].vector >= 0) {
                exc_cases++;
                exc_vec[rn[i].vector & 31]++;
            }
            if (bad) {
                failed++;
                for (int k = 0; k < GC_COUNT; k++)
                    if (gc[i].nclass[k])
                        fail_cls[k]++;
                if ((int)failed <= max_report) {
                    printf("MISMATCH: seed %" PRIu64 " case %u\n", seed, gc[i].c.index);
                    fwrite(r.buf, 1, r.len, stdout);
                    print_case(&gc[i], seed);
                    print_result("native", &rn[i], (int)gc[i].c.has_fpu);
                    print_result("vsmp  ", &re[i], (int)gc[i].c.has_fpu);
                    fflush(stdout);
                }
            } else {
                passed++;
                if (verbose) {
                    printf("case %u: ok\n", gc[i].c.index);
                    print_case(&gc[i], seed);
                    print_result("native", &rn[i], (int)gc[i].c.has_fpu);
                    print_result("vsmp  ", &re[i], (int)gc[i].c.has_fpu);
                }
            }
        }
        done += n;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    helper_stop(&nat);
    if (self)
        helper_stop(&other);
    else
        emu_free(emu);

    printf("difftest: per class (instructions generated / failing cases containing one):\n");
    for (int k = 0; k < GC_COUNT; k++)
        printf("  %-8s %9" PRIu64 " %7" PRIu64 "%s", gen_class_names[k], ins_cls[k], fail_cls[k],
               k % 3 == 2 ? "\n" : "   ");
    printf("\ndifftest: %u cases ending in an exception (native):", exc_cases);
    for (int k = 0; k < 32; k++)
        if (exc_vec[k])
            printf(" #%d x%u", k, exc_vec[k]);
    printf("\n");
    printf("difftest: %u passed, %u failed (seed %" PRIu64 ", %.1f s)\n", passed, failed, seed,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return failed ? 1 : 0;
}
