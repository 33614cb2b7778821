/* difftest.c - differential test of vsmp's CPU core against the host CPU,
 * or against a recorded corpus of the host CPU's results.
 *
 *   difftest [--seed S] [--count N] [--first I] [--class NAME] [-v]
 *            [--oracle auto|native|corpus|qemu] [--corpus FILE]
 *            [--helper PATH] [--qemu PATH] [--qemu-helper PATH]
 *            [--record FILE] [--self]
 *            [--max-report N] [--pretend-cpu V/F/M/S] [--x87-skew host|vsmp]
 *
 * Generates random instruction sequences (gen.c), runs each in the core
 * (emu.c) and compares the result with an oracle's:
 *   native  the host CPU: the 32-bit helper native32 (helper.c) runs the
 *           sequences; every field is compared: exception vector, EIP,
 *           registers, the defined EFLAGS bits, changed memory and (for x87
 *           sequences) the FNSAVE image - control word, status word
 *           (undefined condition codes masked), tag word, non-empty ST(i).
 *   corpus  a recorded corpus of native results (--corpus, corpus.c): the
 *           digest of vsmp's normalized result (the same fields, digest.c)
 *           must equal the recorded one; on a host of another CPU model
 *           than the corpus's, the x87 rule of x87host.h applies.
 *   qemu    qemu-i386 running native32, for cases no corpus covers on a
 *           host that cannot run 32-bit processes: integer cases only (its
 *           x87 is softfloat, not the hardware's), and none with CMPXCHG8B
 *           (qemu-i386 7.2 leaves EFLAGS after it that no CPU gives).
 *   auto    (default) native if the helper runs here (tried: exec and a
 *           trivial case), else - the kernel refused it with ENOEXEC, or it
 *           could not run the trivial case - the corpus if it covers these
 *           cases, else qemu-i386 if it runs; with none, the run fails.
 * A --corpus that covers the cases (same seed and class, range inside its
 * own) must match the generator, case by case (input digests), and the
 * normalization; else the run fails: the corpus is stale. With the native
 * oracle it is checked too: this CPU's results and vsmp's must both have
 * the recorded digests. --record FILE writes the corpus of the cases run
 * (native oracle; every case must pass). --self runs a second native
 * helper instead of the core (checks the harness: always agrees).
 * --helper is native32's path (default: next to difftest), --qemu the
 * qemu-i386 to run --qemu-helper (default: --helper) with.
 * --pretend-cpu and --x87-skew serve the tests of the x87 rule: this host
 * looks like CPU model V/F/M/S; its x87 (or only vsmp's) gives other last
 * bits for the host-dependent instructions.
 * Virtual-8086 mode (gen.h's case modes): in the mix, 5% of the cases
 * (class v86 alone: all) are integer sequences that vsmp runs in their V86
 * form (v86form.h: the same instructions with 16-bit default sizes, the
 * SDM's promise of the same results), compared with the oracle's result
 * for the 32-bit form like any other case; 3% (class v86sys alone: all)
 * are V86 system cases (v86sys.h: IOPL-sensitive instructions, the I/O
 * bitmap, #UD/#GP, delivery to ring 0), which no host can run (a 64-bit
 * kernel has no V86 mode): their oracle is the SDM reference model
 * v86model.c, on every host; --class v86sys needs no other oracle.
 * Case i of seed S is independent of the others: "--seed S --first i
 * --count 1 -v" replays it.
 * Exit status: 0 all passed, 1 a mismatch (vsmp against the oracle, or the
 * corpus against this CPU), 2 a harness error, no usable oracle, or a
 * corpus that cannot be used for cases it covers (stale, corrupt). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "corpus.h"
#include "digest.h"
#include "emu.h"
#include "emu_v86.h"
#include "gen.h"
#include "helper.h"
#include "hostcpu.h"
#include "v86form.h"
#include "v86model.h"
#include "x87host.h"

#define BATCH 64
#define DEFAULT_SEED 20240607ull

enum { O_AUTO, O_NATIVE, O_CORPUS, O_QEMU, O_MODEL };
static const char *const oracle_names[] = { "auto", "native", "corpus", "qemu" };

static int verbose;

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
    dg_undef_at(gc, nat->vector, nat->eip, &ufl, &uc);

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

/* objdump's listing of `len` bytes at address `vma`; machine i386 or
 * i8086 (16-bit default sizes). */
static void disasm(const uint8_t *code, uint32_t len, uint32_t vma, const char *machine)
{
    char path[] = "/tmp/difftest-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    if (write(fd, code, len) != (ssize_t)len) {
        close(fd);
        unlink(path);
        return;
    }
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "objdump -D -b binary -m%s --adjust-vma=0x%x %s 2>/dev/null | sed -n '/<.data>:/,$p' | tail -n +2",
             machine, vma, path);
    fflush(stdout);
    if (system(cmd) != 0)
        printf("    (objdump not available)\n");
    unlink(path);
}

static void print_sys_case(const struct v86s_case *c, uint64_t seed, const char *cls)
{
    printf("  replay: difftest --seed %" PRIu64 "%s%s --first %u --count 1 -v\n", seed,
           cls ? " --class " : "", cls ? cls : "", c->index);
    printf("  V86 system case: CS:IP %04x:%04x, SS=DS=ES %04x, FS %04x, GS %04x, EFLAGS %08x "
           "(IOPL %u)\n", V86E_CS, V86S_IP0, V86E_DS, c->fs, c->gs, c->eflags,
           (c->eflags >> 12) & 3);
    printf("  initial:");
    for (int i = 0; i < 8; i++)
        printf(" %s=%08x", regname[i], c->regs[i]);
    printf("\n  TSS limit %x, I/O map base %x (bitmap bytes 0-7: %02x %02x %02x %02x %02x %02x "
           "%02x %02x, 0x1fff: %02x, 0x2000: %02x, others %02x)\n", c->tss_limit, c->iomap,
           c->map_lo[0], c->map_lo[1], c->map_lo[2], c->map_lo[3], c->map_lo[4], c->map_lo[5],
           c->map_lo[6], c->map_lo[7], c->map_hi[V86S_MAP_HI - 2], c->map_hi[V86S_MAP_HI - 1],
           c->map_mid);
    printf("  instructions:");
    for (int i = 0; i < c->ninsn; i++)
        printf(" %s@%04x", v86s_item_name(c->insn[i].item), V86S_IP0 + c->insn[i].off);
    printf("\n  gates used:");
    for (int v = 0; v < 256; v++)
        if (c->gate[v].access != (0x80 | 3 << 5 | V86E_GATE_INT32) ||
            c->gate[v].sel != V86E_SEL_CODE0)
            printf(" %02x:access %02x sel %04x", v, c->gate[v].access, c->gate[v].sel);
    printf(" (others: 32-bit interrupt gate, DPL 3, to %04x)\n", V86E_SEL_CODE0);
    disasm(c->code, c->code_len, V86S_IP0, "i8086");
}

static void print_sys_out(const char *who, const struct v86s_out *o)
{
    printf("  %s: handler %d", who, o->vector);
    for (int i = 0; i < 8; i++)
        printf(" %s=%08x", regname[i], o->regs[i]);
    printf(" eflags=%08x cs=%04x ss=%04x ds=%04x es=%04x fs=%04x gs=%04x dirty=%u io=%u\n    "
           "ring 0 stack:", o->eflags, o->sel[1], o->sel[2], o->sel[3], o->sel[0], o->sel[4],
           o->sel[5], o->ndirty, o->nio);
    for (uint32_t i = 0; i < V86E_R0AREA; i += 4)
        printf(" %02x%02x%02x%02x", o->r0[i + 3], o->r0[i + 2], o->r0[i + 1], o->r0[i]);
    printf("\n");
}

static void print_case(const struct gen_case *gc, uint64_t seed, int only)
{
    const char *cls = only >= 0 ? gen_class_names[only] : NULL;
    if (gc->mode == GM_V86SYS) {
        print_sys_case(&gc->sys, seed, cls);
        return;
    }
    printf("  replay: difftest --seed %" PRIu64 "%s%s --first %u --count 1 -v\n", seed,
           cls ? " --class " : "", cls ? cls : "", gc->c.index);
    printf("  code (%u bytes):", gc->c.code_len);
    for (uint32_t i = 0; i < gc->c.code_len; i++)
        printf(" %02x", gc->c.code[i]);
    printf("\n");
    disasm(gc->c.code, gc->c.code_len, DT_CODE, "i386");
    if (gc->mode == GM_V86) {
        printf("  V86 form (vsmp runs it at %04x:0000, data area at %04x:0000, EFLAGS IOPL %u "
               "IF %u; the native CPU runs the code above; %u bytes):",
               V86E_CS, V86E_DS, (gc->v86.eflags >> 12) & 3, (gc->v86.eflags >> 9) & 1,
               gc->v86.len);
        for (uint32_t i = 0; i < gc->v86.len; i++)
            printf(" %02x", gc->v86.code[i]);
        printf("\n");
        disasm(gc->v86.code, gc->v86.len, 0, "i8086");
    }
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

/* ---------------- options ---------------- */

struct opts {
    uint64_t seed;
    uint32_t count, first;
    int only, self, max_report, oracle, skew;
    const char *helper, *qemu, *qemu_helper, *corpus, *record, *pretend;
    char helper_buf[4096];
};

static void usage(void)
{
    fprintf(stderr, "usage: difftest [--seed S] [--count N] [--first I] [--class NAME] [-v]\n"
                    "                [--oracle auto|native|corpus|qemu] [--corpus FILE]\n"
                    "                [--helper PATH] [--qemu PATH] [--qemu-helper PATH]\n"
                    "                [--record FILE] [--self]\n"
                    "                [--max-report N] [--pretend-cpu V/F/M/S] [--x87-skew host|vsmp]\n"
                    "classes:");
    for (int i = 0; i < GC_COUNT; i++)
        fprintf(stderr, " %s", gen_class_names[i]);
    fprintf(stderr, "\n");
    exit(2);
}

static uint64_t parse_num(const char *opt, const char *s, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (!*s || *end || errno || v > max || *s == '-') {
        fprintf(stderr, "difftest: %s: bad number '%s'\n", opt, s);
        exit(2);
    }
    return v;
}

static void parse(struct opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->seed = DEFAULT_SEED;
    o->count = 200000;
    o->only = -1;
    o->max_report = 10;
    o->qemu = "qemu-i386";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-v")) {
            verbose = 1;
            continue;
        }
        if (!strcmp(a, "--self")) {
            o->self = 1;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--seed"))
            o->seed = parse_num(a, v, UINT64_MAX);
        else if (!strcmp(a, "--count"))
            o->count = (uint32_t)parse_num(a, v, UINT32_MAX);
        else if (!strcmp(a, "--first"))
            o->first = (uint32_t)parse_num(a, v, UINT32_MAX);
        else if (!strcmp(a, "--class")) {
            o->only = gen_class_by_name(v);
            if (o->only < 0)
                usage();
        } else if (!strcmp(a, "--helper"))
            o->helper = v;
        else if (!strcmp(a, "--qemu"))
            o->qemu = v;
        else if (!strcmp(a, "--qemu-helper"))
            o->qemu_helper = v;
        else if (!strcmp(a, "--corpus"))
            o->corpus = v;
        else if (!strcmp(a, "--record"))
            o->record = v;
        else if (!strcmp(a, "--max-report"))
            o->max_report = (int)parse_num(a, v, 1000000);
        else if (!strcmp(a, "--pretend-cpu"))
            o->pretend = v;
        else if (!strcmp(a, "--x87-skew")) {
            if (!strcmp(v, "host"))
                o->skew = X87_SKEW_HOST;
            else if (!strcmp(v, "vsmp"))
                o->skew = X87_SKEW_VSMP;
            else
                usage();
        } else if (!strcmp(a, "--oracle")) {
            o->oracle = -1;
            for (int k = 0; k < 4; k++)
                if (!strcmp(v, oracle_names[k]))
                    o->oracle = k;
            if (o->oracle < 0)
                usage();
        } else
            usage();
    }
    if ((uint64_t)o->first + o->count > UINT32_MAX) {
        fprintf(stderr, "difftest: --first + --count beyond 2^32 cases\n");
        exit(2);
    }
    if (o->record && o->oracle != O_AUTO && o->oracle != O_NATIVE) {
        fprintf(stderr, "difftest: --record needs the native oracle\n");
        exit(2);
    }
    if (o->self && o->oracle != O_AUTO && o->oracle != O_NATIVE) {
        fprintf(stderr, "difftest: --self needs the native oracle\n");
        exit(2);
    }
    if (o->helper) {
        snprintf(o->helper_buf, sizeof(o->helper_buf), "%s", o->helper);
    } else {
        /* native32 next to this binary */
        snprintf(o->helper_buf, sizeof(o->helper_buf), "%s", argv[0]);
        char *slash = strrchr(o->helper_buf, '/');
        if (slash)
            snprintf(slash + 1, sizeof(o->helper_buf) - (size_t)(slash + 1 - o->helper_buf),
                     "native32");
        else
            snprintf(o->helper_buf, sizeof(o->helper_buf), "./native32");
    }
}

/* ---------------- the run ---------------- */

struct run {
    const struct opts *o;
    int oracle;                 /* O_NATIVE, O_CORPUS, O_QEMU */
    struct emu *emu;
    struct corpus *cp;          /* covers the cases, matches the generator; or NULL */
    int32_t *slot;              /* per case of the run: neutral slot, -1 none */
    int foreign;                /* host CPU model differs from the corpus's */
    struct hostcpu host;
    struct x87ctl x87;          /* installed in the x87 interposer */
    /* counts */
    uint32_t compared, passed, failed, not_compared, qemu_crashed, by_rule;
    struct emu86 *e86;          /* V86 cases */
    uint32_t v86_compared, v86_failed, sys_compared, sys_failed, sys_model;
    uint32_t corpus_native_ok, corpus_native_rule, corpus_native_bad;
    uint32_t corpus_vsmp_ok, corpus_vsmp_rule, corpus_vsmp_bad;
};

static void x87_reset(struct run *r)
{
    memset(&r->x87, 0, sizeof(r->x87));
    r->x87.skew = r->o->skew;
}

static int is_prefix(uint8_t b)
{
    return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 ||
           b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3;
}

/* A case containing CMPXCHG8B (0F C7 /1), for the qemu oracle. */
static int has_cmpxchg8b(const struct gen_case *gc)
{
    const uint8_t *c = gc->c.code;
    for (int i = 0; i < gc->nbound; i++) {
        uint32_t p = gc->b[i].off, end = p + gc->b[i].len;
        if (end > gc->c.code_len)
            end = gc->c.code_len;
        while (p < end && is_prefix(c[p]))
            p++;
        if (p + 2 < end && c[p] == 0x0f && c[p + 1] == 0xc7 && ((c[p + 2] >> 3) & 7) == 1)
            return 1;
    }
    return 0;
}

/* Cases the qemu oracle does not compare (nor run: qemu-i386 7.2 also
 * crashes on some CMPXCHG8B cases, e.g. seed 1 case 75024). */
static int qemu_skips(const struct gen_case *gc)
{
    return gc->c.has_fpu || has_cmpxchg8b(gc);
}

/* Try the native helper (or qemu-i386 running it). */
static int try_helper(struct helper *h, const struct opts *o, int qemu, char *why, size_t len)
{
    char *argv[3];
    if (qemu) {
        argv[0] = (char *)o->qemu;
        argv[1] = (char *)(o->qemu_helper ? o->qemu_helper : o->helper_buf);
        argv[2] = NULL;
    } else {
        argv[0] = (char *)o->helper_buf;
        argv[1] = NULL;
    }
    return helper_start(h, argv, !qemu, why, len);
}

/* A batch through qemu-i386, which crashes on some cases (e.g. IDIV of
 * 2^63 by -1, seed 1 case 123010: a host SIGFPE inside qemu): if it dies,
 * the batch again case by case, restarting it; crashed[i] marks the
 * cases it died on. */
static void qemu_batch(struct helper *h, const struct opts *o, const struct dt_case *c,
                       struct dt_result *res, uint8_t *crashed, uint32_t n)
{
    char why[512];
    int alive;
    memset(crashed, 0, n);
    if (helper_try_batch(h, c, res, n) == 0)
        return;
    alive = 0;
    for (uint32_t i = 0; i <= n; i++) {
        if (!alive) {
            if (try_helper(h, o, 1, why, sizeof(why)) != 0) {
                printf("difftest: FAILED: qemu-i386 does not start again: %s\n", why);
                exit(2);
            }
            alive = 1;
        }
        if (i < n && helper_try_batch(h, &c[i], &res[i], 1) < 0) {
            crashed[i] = 1;
            alive = 0;
        }
    }
}

/* Does the x87 rule (x87host.h) accept case gc, whose digest differs from
 * the recorded one? why: the reason when it does not. */
static int x87_rule(struct run *r, const struct gen_case *gc, int32_t slot, char *why, size_t len)
{
    static struct dt_result res;
    if (!r->foreign) {
        snprintf(why, len, "x87 rule: not applicable, this host is the corpus's CPU model");
        return 0;
    }
    if (slot < 0) {
        snprintf(why, len, "x87 rule: not applicable, no host-dependent x87 instruction in the case");
        return 0;
    }
    x87_reset(r);
    r->x87.verify = 1;
    emu_run(r->emu, &gc->c, &res);
    if (r->x87.bad) {
        snprintf(why, len, "x87 rule: %u host-dependent result(s) unlike this host's x87, first: %s",
                 r->x87.bad, r->x87.first_bad);
        x87_reset(r);
        return 0;
    }
    x87_reset(r);
    r->x87.neutral = 1;
    emu_run(r->emu, &gc->c, &res);
    x87_reset(r);
    uint32_t dn = (uint32_t)dg_result(gc, &res) & CORPUS_DIGEST_MASK;
    uint32_t rec = corpus_get3(r->cp->neutral + 3 * (size_t)slot);
    if (dn != rec) {
        snprintf(why, len,
                 "x87 rule: the neutral run's digest %06x differs from the recorded %06x: the "
                 "difference is not only in host-dependent x87 results",
                 dn, rec);
        return 0;
    }
    return 1;
}

static void print_recorded(const struct run *r, const struct gen_case *gc, uint32_t rec)
{
    const struct corpus_exc *e = corpus_exc_find(r->cp, gc->c.index);
    if (e)
        printf("  recorded: exception %d at eip %08x, digest %06x\n", e->vector,
               DT_CODE + e->eip_off, rec);
    else
        printf("  recorded: ran to the end (eip %08x), digest %06x\n", DT_CODE + gc->c.code_len,
               rec);
}

/* Load --corpus; decide whether it covers the cases; check it against
 * the generator. Returns NULL when it does not cover them (reason in
 * why); exits when it cannot be read or is stale. */
static struct corpus *corpus_open(struct run *r, char *why, size_t len)
{
    const struct opts *o = r->o;
    static struct corpus c;
    char err[512];
    if (corpus_load(&c, o->corpus, err, sizeof(err)) < 0) {
        printf("difftest: FAILED: corpus unusable: %s\n", err);
        exit(2);
    }
    if (c.seed != o->seed || c.cls != o->only || o->first < c.first ||
        (uint64_t)o->first + o->count > (uint64_t)c.first + c.count) {
        snprintf(why, len, "%s covers seed %" PRIu64 " cases %u..%u of %s, not these", o->corpus,
                 c.seed, c.first, c.first + c.count - 1,
                 c.cls < 0 ? "the mix" : gen_class_names[c.cls]);
        corpus_free(&c);
        return NULL;
    }
    if (c.norm != dg_selfcheck() || strcmp(c.x87ops, x87_op_list())) {
        printf("difftest: FAILED: STALE CORPUS %s: written with another %s than this difftest's; "
               "re-record it on a host that runs 32-bit code: make difftest-record\n",
               o->corpus, c.norm != dg_selfcheck() ? "normalization" : "x87 instruction list");
        exit(2);
    }
    /* the blocks overlapping the run: inputs and x87 slots */
    static struct gen_case gc;
    r->slot = calloc(o->count ? o->count : 1, sizeof(r->slot[0]));
    if (!r->slot) {
        fprintf(stderr, "difftest: out of memory\n");
        exit(2);
    }
    uint32_t b0 = (o->first - c.first) / c.block;
    uint32_t b1 = o->count ? (o->first + o->count - 1 - c.first) / c.block : b0;
    for (uint32_t b = b0; b <= b1 && o->count; b++) {
        uint64_t h = DG_FNV_INIT;
        uint32_t x87 = c.blocks[b].x87_before;
        uint32_t lo = c.first + b * c.block;
        uint32_t hi = lo + c.block < c.first + c.count ? lo + c.block : c.first + c.count;
        for (uint32_t i = lo; i < hi; i++) {
            gen_case(&gc, o->seed, i, o->only);
            h = dg_inputs(h, &gc);
            int x = x87_case_host_dependent(&gc);
            if (i >= o->first && i < o->first + o->count)
                r->slot[i - o->first] = x ? (int32_t)x87 : -1;
            x87 += (uint32_t)x;
        }
        uint32_t next = b + 1 < c.nblocks ? c.blocks[b + 1].x87_before : c.nx87;
        if (h != c.blocks[b].inputs || x87 != next) {
            printf("difftest: FAILED: STALE CORPUS %s: the generated cases %u..%u differ from the "
                   "ones it was recorded for (the generator or the case encoding changed); "
                   "re-record it on a host that runs 32-bit code: make difftest-record\n",
                   o->corpus, lo, hi - 1);
            exit(2);
        }
    }
    return &c;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct run r;
    parse(&o, argc, argv);
    memset(&r, 0, sizeof(r));
    r.o = &o;
    signal(SIGPIPE, SIG_IGN);
    hostcpu_get(&r.host);
    if (o.pretend && hostcpu_parse(&r.host, o.pretend) < 0) {
        fprintf(stderr, "difftest: --pretend-cpu wants VENDOR/FAMILY/MODEL/STEPPING\n");
        exit(2);
    }
    char hostdesc[160];
    hostcpu_format(&r.host, hostdesc, sizeof(hostdesc));

    printf("difftest: seed %" PRIu64 ", %u cases from %u%s%s%s\n", o.seed, o.count, o.first,
           o.only >= 0 ? ", class " : "", o.only >= 0 ? gen_class_names[o.only] : "",
           o.self ? " (native against native)" : "");
    fflush(stdout);

    /* ---- the oracle ---- */
    char why_corpus[512] = "no --corpus given", why_native[512] = "", why_qemu[512] = "";
    struct helper nat, other;
    int have_helper = 0;
    if (o.only == GC_V86SYS) {
        /* no native results exist for these: the SDM model is the oracle */
        if (o.record || o.self) {
            printf("difftest: FAILED: class v86sys has no native results (--record, --self)\n");
            exit(2);
        }
        r.oracle = O_MODEL;
    }
    if (o.corpus && !o.record && !o.self && r.oracle != O_MODEL)
        r.cp = corpus_open(&r, why_corpus, sizeof(why_corpus));
    if (r.oracle != O_MODEL && (o.oracle == O_AUTO || o.oracle == O_NATIVE)) {
        int st = try_helper(&nat, &o, 0, why_native, sizeof(why_native));
        if (st == 0) {
            have_helper = 1;
            r.oracle = O_NATIVE;
        } else if (o.oracle == O_NATIVE || o.self || o.record || st == HELPER_ERROR) {
            /* only "the kernel does not run it" or "it does not work here"
             * mean another oracle: a missing helper is a broken build */
            printf("difftest: FAILED: the native oracle cannot run: %s\n", why_native);
            exit(2);
        } else {
            printf("difftest: the native oracle cannot run here: %s\n", why_native);
        }
    }
    if (r.oracle != O_MODEL && !have_helper && (o.oracle == O_AUTO || o.oracle == O_CORPUS)) {
        if (r.cp)
            r.oracle = O_CORPUS;
        else if (o.oracle == O_CORPUS) {
            printf("difftest: FAILED: no corpus for these cases: %s\n", why_corpus);
            exit(2);
        } else if (o.corpus)
            printf("difftest: corpus not used: %s\n", why_corpus);
    }
    if (r.oracle != O_MODEL && !have_helper && r.oracle != O_CORPUS &&
        (o.oracle == O_AUTO || o.oracle == O_QEMU)) {
        if (try_helper(&nat, &o, 1, why_qemu, sizeof(why_qemu)) == 0) {
            have_helper = 1;
            r.oracle = O_QEMU;
        } else if (o.oracle == O_QEMU) {
            printf("difftest: FAILED: the qemu oracle cannot run: %s\n", why_qemu);
            exit(2);
        }
    }
    if (r.oracle != O_MODEL && !have_helper && r.oracle != O_CORPUS) {
        printf("difftest: FAILED: no usable oracle for these cases: native: %s; corpus: %s; "
               "qemu: %s\n",
               why_native, why_corpus, why_qemu);
        exit(2);
    }
    if (r.oracle != O_NATIVE && r.oracle != O_CORPUS && r.cp) {
        corpus_free(r.cp);
        r.cp = NULL;
    }
    if (o.self && try_helper(&other, &o, 0, why_native, sizeof(why_native)) < 0) {
        printf("difftest: FAILED: second native helper: %s\n", why_native);
        exit(2);
    }
    if (r.cp) {
        char rec[160];
        hostcpu_format(&r.cp->cpu, rec, sizeof(rec));
        r.foreign = !hostcpu_same(&r.host, &r.cp->cpu);
        printf("difftest: corpus %s: recorded on %s; this host: %s%s\n", o.corpus, rec,
               r.foreign ? hostdesc : "the same CPU model",
               r.foreign ? " - another CPU model: the x87 rule applies (x87host.h)" : "");
    }
    if (r.oracle == O_NATIVE)
        printf("difftest: oracle native: this host's CPU, %s, running %s\n", hostdesc, o.helper_buf);
    else if (r.oracle == O_CORPUS)
        printf("difftest: oracle corpus: %s\n", o.corpus);
    else if (r.oracle == O_MODEL)
        printf("difftest: oracle SDM model: v86model.c, the SDM's rules for virtual-8086 mode "
               "(no host runs V86 code)\n");
    else
        printf("difftest: oracle qemu: %s running %s - integer cases without CMPXCHG8B only; "
               "x87 cases are not compared (qemu's x87 is not the hardware's)\n",
               o.qemu, o.qemu_helper ? o.qemu_helper : o.helper_buf);
    fflush(stdout);

    if (!o.self) {
        r.e86 = emu86_new();
        r.emu = emu_new();
        x87_reset(&r);
        x87_control(&r.x87);
        if (r.cp || o.record) {
            /* the interposer must be in vsmp's x87 path: FNINIT, FLDPI, FSIN */
            static struct dt_case t;
            static struct dt_result tr;
            memset(&t, 0, sizeof(t));
            t.magic = DT_MAGIC_CASE;
            t.regs[4] = DT_DATA + 0x3400;
            t.code_len = 6;
            memcpy(t.code, "\xdb\xe3\xd9\xeb\xd9\xfe", 6);
            emu_run(r.emu, &t, &tr);
            if (r.x87.seen != 1 || tr.vector != -1) {
                fprintf(stderr, "difftest: the x87 interposer is not in vsmp's path "
                                "(link with -Wl,--wrap=fpu_host_exec): %u calls, vector %d\n",
                        r.x87.seen, tr.vector);
                exit(2);
            }
            x87_reset(&r);
        }
    }
    const char *engine = r.emu ? emu_engine(r.emu) : "none (native against native)";

    struct corpus recd;
    struct emu *emu2 = NULL;
    if (o.record) {
        corpus_new(&recd, o.seed, o.first, o.count, o.only);
        hostcpu_get(&recd.cpu);
        recd.norm = dg_selfcheck();
        snprintf(recd.x87ops, sizeof(recd.x87ops), "%s", x87_op_list());
        for (uint32_t b = 0; b < recd.nblocks; b++)
            recd.blocks[b].inputs = DG_FNV_INIT;
        emu2 = emu_new();                       /* neutral runs in the other engine too */
        emu_set_jit(emu2, strcmp(emu_engine(r.emu), "jit") != 0);
    }

    static struct gen_case gc[BATCH];
    static struct dt_case sendbuf[BATCH];
    static uint8_t crashed[BATCH];
    static struct dt_result rn[BATCH], re[BATCH];
    static struct v86s_out so[BATCH], mo[BATCH];
    uint64_t ins_cls[GC_COUNT] = { 0 }, fail_cls[GC_COUNT] = { 0 };
    uint32_t exc_cases = 0, exc_vec[32] = { 0 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    for (uint32_t done = 0; done < o.count;) {
        uint32_t n = o.count - done < BATCH ? o.count - done : BATCH;
        for (uint32_t i = 0; i < n; i++) {
            gen_case(&gc[i], o.seed, o.first + done + i, o.only);
            sendbuf[i] = gc[i].c;
            if (r.oracle == O_QEMU && qemu_skips(&gc[i])) {
                sendbuf[i].code_len = 0;        /* qemu-i386 runs only what it is compared on */
                sendbuf[i].has_fpu = 0;
            }
        }
        if (have_helper && r.oracle != O_QEMU)
            helper_send(&nat, sendbuf, n);
        if (o.self) {
            helper_send(&other, sendbuf, n);
            helper_recv(&other, re, n);
        } else {
            for (uint32_t i = 0; i < n; i++) {
                if (gc[i].mode == GM_V86)
                    emu86_run_form(r.e86, &gc[i], &re[i]);
                else if (gc[i].mode == GM_V86SYS)
                    emu86_run_sys(r.e86, &gc[i].sys, &so[i]);
                else
                    emu_run(r.emu, &gc[i].c, &re[i]);
            }
        }
        if (r.oracle == O_QEMU)
            qemu_batch(&nat, &o, sendbuf, rn, crashed, n);
        else if (have_helper)
            helper_recv(&nat, rn, n);

        for (uint32_t i = 0; i < n; i++) {
            const struct gen_case *g = &gc[i];
            uint32_t k = done + i;               /* case number within the run */
            struct report rep = { .len = 0 };
            char why[600] = "";
            int bad = 0, rule = -1;              /* rule: -1 not evaluated */
            if (g->mode == GM_V86SYS) {
                /* against the SDM model; no native result exists */
                if (o.record) {
                    uint32_t b = k / recd.block;
                    recd.blocks[b].inputs = dg_inputs(recd.blocks[b].inputs, g);
                    if (k % recd.block == 0)
                        recd.blocks[b].x87_before = recd.nx87;
                }
                if (o.self)
                    continue;
                for (int c = 0; c < GC_COUNT; c++)
                    ins_cls[c] += g->nclass[c];
                static char sbuf[8192];
                v86m_run(&g->sys, &mo[i]);
                bad = v86m_compare(&mo[i], &so[i], sbuf, sizeof(sbuf)) != 0 ||
                      mo[i].vector == V86S_MODEL;
                r.compared++;
                r.sys_compared++;
                if (mo[i].vector == V86S_MODEL)
                    r.sys_model++;
                if (bad) {
                    r.failed++;
                    r.sys_failed++;
                    fail_cls[GC_V86SYS]++;
                    if ((int)r.failed <= o.max_report) {
                        printf("MISMATCH: seed %" PRIu64 " case %u (V86 system case, against the "
                               "SDM model)\n%s", o.seed, g->c.index, sbuf);
                        if (mo[i].vector == V86S_MODEL)
                            printf("  the case is outside the model: a generator bug\n");
                        print_case(g, o.seed, o.only);
                        printf("  SDM model: %s\n", mo[i].trace);
                        print_sys_out("SDM ", &mo[i]);
                        print_sys_out("vsmp", &so[i]);
                        fflush(stdout);
                    }
                } else {
                    r.passed++;
                    if (verbose) {
                        printf("case %u: ok\n", g->c.index);
                        print_case(g, o.seed, o.only);
                        printf("  SDM model: %s\n", mo[i].trace);
                        print_sys_out("SDM ", &mo[i]);
                        print_sys_out("vsmp", &so[i]);
                    }
                }
                continue;
            }
            if (r.oracle == O_QEMU && qemu_skips(g)) {
                r.not_compared++;
                continue;
            }
            if (r.oracle == O_QEMU && crashed[i]) {
                if (r.qemu_crashed++ < (uint32_t)o.max_report)
                    printf("qemu-i386 crashed on case %u: not compared\n", g->c.index);
                continue;
            }
            for (int c = 0; c < GC_COUNT; c++)
                ins_cls[c] += g->nclass[c];
            if (r.oracle != O_CORPUS && rn[i].vector >= 0) {
                exc_cases++;
                exc_vec[rn[i].vector & 31]++;
            }
            uint32_t rec = r.cp ? corpus_get3(r.cp->digest + 3 * (size_t)(g->c.index - r.cp->first)) : 0;
            int32_t slot = r.cp ? r.slot[k] : -1;
            if (r.oracle == O_CORPUS) {
                uint32_t dv = (uint32_t)dg_result(g, &re[i]) & CORPUS_DIGEST_MASK;
                if (dv != rec) {
                    rule = x87_rule(&r, g, slot, why, sizeof(why));
                    if (rule)
                        r.by_rule++;
                    else
                        bad = 1;
                }
                const struct corpus_exc *e = corpus_exc_find(r.cp, g->c.index);
                if (e) {
                    exc_cases++;
                    exc_vec[e->vector & 31]++;
                }
            } else {
                bad = compare(g, &rn[i], &re[i], &rep) != 0;
            }
            if (r.oracle == O_NATIVE && r.cp) {
                uint32_t dn = (uint32_t)dg_result(g, &rn[i]) & CORPUS_DIGEST_MASK;
                uint32_t dv = (uint32_t)dg_result(g, &re[i]) & CORPUS_DIGEST_MASK;
                if ((dn != rec || dv != rec) && rule < 0)
                    rule = x87_rule(&r, g, slot, why, sizeof(why));
                if (dn == rec)
                    r.corpus_native_ok++;
                else if (rule)
                    r.corpus_native_rule++;
                else
                    r.corpus_native_bad++;
                if (dv == rec)
                    r.corpus_vsmp_ok++;
                else if (rule)
                    r.corpus_vsmp_rule++;
                else
                    r.corpus_vsmp_bad++;
                if (dn != rec && !rule) {
                    bad = 1;
                    rp(&rep, "  CORPUS: this CPU's result has digest %06x, the corpus %06x "
                             "(vsmp: %06x): the corpus is wrong or stale for this case; "
                             "re-record it (make difftest-record)\n  %s\n",
                       dn, rec, dv, why);
                }
            }
            if (o.record) {
                uint32_t dn = (uint32_t)dg_result(g, &rn[i]) & CORPUS_DIGEST_MASK;
                uint32_t b = k / recd.block;
                corpus_put3(recd.digest + 3 * (size_t)k, dn);
                recd.blocks[b].inputs = dg_inputs(recd.blocks[b].inputs, g);
                if (k % recd.block == 0)
                    recd.blocks[b].x87_before = recd.nx87;
                if (rn[i].vector >= 0)
                    corpus_add_exc(&recd, g->c.index, rn[i].vector, rn[i].eip);
                if (x87_case_host_dependent(g)) {
                    static struct dt_result nr;
                    x87_reset(&r);
                    r.x87.neutral = 1;
                    emu_run(r.emu, &g->c, &nr);
                    uint64_t d1 = dg_result(g, &nr);
                    emu_run(emu2, &g->c, &nr);
                    uint64_t d2 = dg_result(g, &nr);
                    x87_reset(&r);
                    if (d1 != d2) {
                        printf("difftest: FAILED: case %u: the neutral run differs between the "
                               "engines; no corpus written\n", g->c.index);
                        exit(1);
                    }
                    corpus_add_neutral(&recd, (uint32_t)d1);
                }
            }

            r.compared++;
            if (g->mode == GM_V86) {
                r.v86_compared++;
                r.v86_failed += (uint32_t)bad;
            }
            if (bad) {
                r.failed++;
                for (int c = 0; c < GC_COUNT; c++)
                    if (g->nclass[c])
                        fail_cls[c]++;
                if ((int)r.failed <= o.max_report) {
                    printf("MISMATCH: seed %" PRIu64 " case %u%s%s\n", o.seed, g->c.index,
                           g->mode == GM_V86 ? " (run by vsmp in V86 mode)" : "",
                           r.oracle == O_CORPUS ? " (against the corpus)" : "");
                    fwrite(rep.buf, 1, rep.len, stdout);
                    if (r.oracle == O_CORPUS) {
                        print_recorded(&r, g, rec);
                        printf("  vsmp: digest %06x\n  %s\n",
                               (uint32_t)dg_result(g, &re[i]) & CORPUS_DIGEST_MASK, why);
                        printf("  (the corpus holds digests, not the native fields: replay with "
                               "--oracle native on a host that runs 32-bit code, or --oracle "
                               "qemu for an integer case)\n");
                    }
                    print_case(g, o.seed, o.only);
                    if (r.oracle != O_CORPUS)
                        print_result(r.oracle == O_QEMU ? "qemu  " : "native", &rn[i],
                                     (int)g->c.has_fpu);
                    print_result("vsmp  ", &re[i], (int)g->c.has_fpu);
                    fflush(stdout);
                }
            } else {
                r.passed++;
                if (rule == 1 && r.by_rule + r.corpus_native_rule <= (uint32_t)o.max_report)
                    printf("x87 rule: case %u differs from the corpus only in host-dependent x87 "
                           "results of this CPU (accepted, counted apart)\n", g->c.index);
                if (verbose) {
                    printf("case %u: ok\n", g->c.index);
                    print_case(g, o.seed, o.only);
                    if (r.oracle != O_CORPUS)
                        print_result("native", &rn[i], (int)g->c.has_fpu);
                    print_result("vsmp  ", &re[i], (int)g->c.has_fpu);
                }
            }
        }
        done += n;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (have_helper)
        helper_stop(&nat);
    if (o.self)
        helper_stop(&other);

    printf("difftest: per class (instructions in the compared cases / failing cases containing one):\n");
    for (int k = 0; k < GC_COUNT; k++)
        printf("  %-8s %9" PRIu64 " %7" PRIu64 "%s", gen_class_names[k], ins_cls[k], fail_cls[k],
               k % 3 == 2 ? "\n" : "   ");
    printf("\ndifftest: %u cases ending in an exception (%s):", exc_cases,
           r.oracle == O_CORPUS ? "recorded" : r.oracle == O_QEMU ? "qemu" : "native");
    for (int k = 0; k < 32; k++)
        if (exc_vec[k])
            printf(" #%d x%u", k, exc_vec[k]);
    printf("\n");

    int status = r.failed ? 1 : 0;
    if (o.record) {
        if (r.failed) {
            printf("difftest: FAILED: vsmp disagrees with the CPU in %u cases; a corpus is recorded "
                   "only from a passing tree: %s not written\n", r.failed, o.record);
            status = 1;
        } else {
            char err[512];
            if (corpus_save(&recd, o.record, err, sizeof(err)) < 0) {
                printf("difftest: FAILED: %s\n", err);
                status = 2;
            } else {
                printf("difftest: recorded %s: %u cases, %u with host-dependent x87 "
                       "instructions, %u ending in an exception\n",
                       o.record, recd.count, recd.nx87, recd.nexc);
            }
        }
        corpus_free(&recd);
        emu_free(emu2);
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    const char *oname = r.oracle == O_NATIVE ? "native (this host's CPU)"
                        : r.oracle == O_CORPUS ? "corpus"
                        : r.oracle == O_MODEL ? "SDM model" : "qemu-i386 (integer cases)";
    if (!o.self)
        printf("difftest: V86 mode: %u cases run in virtual-8086 mode against %s's results for "
               "their 32-bit form, %u failed; %u V86 system cases against the SDM model "
               "(v86model.c), %u failed%s\n",
               r.v86_compared, r.oracle == O_MODEL ? "no oracle" : oname, r.v86_failed,
               r.sys_compared, r.sys_failed,
               r.sys_model ? " (some outside the model: a generator bug)" : "");
    if (r.oracle == O_NATIVE && r.cp)
        printf("difftest: corpus %s against this CPU: %u agree, %u by the x87 rule, %u differ; "
               "against vsmp: %u agree, %u by the x87 rule, %u differ (the %u V86 system cases "
               "have no entry)\n",
               o.corpus, r.corpus_native_ok, r.corpus_native_rule, r.corpus_native_bad,
               r.corpus_vsmp_ok, r.corpus_vsmp_rule, r.corpus_vsmp_bad, r.sys_compared);
    if (r.oracle == O_QEMU)
        printf("difftest: %u cases not compared (x87 or CMPXCHG8B: not the qemu oracle's), "
               "%u not compared because qemu-i386 crashed on them\n",
               r.not_compared, r.qemu_crashed);
    printf("difftest: engine %s, oracle %s: %u cases compared, %u passed", engine, oname,
           r.compared, r.passed);
    if (r.oracle == O_CORPUS)
        printf(" (%u of them by the x87 rule)", r.by_rule);
    printf(", %u failed (seed %" PRIu64 ", %.1f s)\n", r.failed, o.seed, secs);
    if (r.emu)
        emu_free(r.emu);
    if (r.e86)
        emu86_free(r.e86);
    if (r.cp)
        corpus_free(r.cp);
    free(r.slot);
    return status;
}
