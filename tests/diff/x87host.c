/* x87host.c - the x87 rule for hosts of another CPU model (the rule and
 * why it is sound are in x87host.h): the interposer on vsmp's
 * fpu_host_exec, the independent execution of a host-dependent
 * instruction on this host's x87, and the neutral replacement. */
#include <stdio.h>
#include <string.h>

#include "cpu/fpu.h"
#include "digest.h"
#include "x87host.h"

unsigned __real_fpu_host_exec(struct fpu *f, unsigned esc, unsigned modrm, void *mem,
                              uint32_t *eflags);
unsigned __wrap_fpu_host_exec(struct fpu *f, unsigned esc, unsigned modrm, void *mem,
                              uint32_t *eflags);

static struct x87ctl *ctl;

static const struct {
    uint8_t modrm;
    const char *name;
} ops[] = {
    { 0xf0, "F2XM1" }, { 0xf1, "FYL2X" }, { 0xf2, "FPTAN" }, { 0xf3, "FPATAN" },
    { 0xf5, "FPREM1" }, { 0xf8, "FPREM" }, { 0xf9, "FYL2XP1" }, { 0xfb, "FSINCOS" },
    { 0xfe, "FSIN" }, { 0xff, "FCOS" },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

int x87_host_dependent(unsigned esc, unsigned modrm)
{
    if (esc != 1)
        return 0;
    for (unsigned i = 0; i < NOPS; i++)
        if (ops[i].modrm == modrm)
            return 1;
    return 0;
}

const char *x87_op_name(unsigned modrm)
{
    for (unsigned i = 0; i < NOPS; i++)
        if (ops[i].modrm == modrm)
            return ops[i].name;
    return "?";
}

const char *x87_op_list(void)
{
    static char buf[NOPS * 5 + 1];
    if (!buf[0])
        for (unsigned i = 0; i < NOPS; i++)
            snprintf(buf + 5 * i, sizeof(buf) - 5 * i, "d9%02x%s", ops[i].modrm,
                     i + 1 < NOPS ? " " : "");
    return buf;
}

int x87_case_host_dependent(const struct gen_case *gc)
{
    for (int i = 0; i < gc->nbound; i++) {
        uint32_t p = gc->b[i].off, end = p + gc->b[i].len;
        while (p < end && p < gc->c.code_len) {
            uint8_t b = gc->c.code[p];
            if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 ||
                b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3)
                p++;
            else
                break;
        }
        if (p + 1 < gc->c.code_len && gc->c.code[p] == 0xd9 &&
            x87_host_dependent(1, gc->c.code[p + 1]))
            return 1;
    }
    return 0;
}

void x87_control(struct x87ctl *c)
{
    ctl = c;
}

static int empty(const struct fpu *f, int phys)
{
    return ((f->tw >> (2 * phys)) & 3) == 3;
}

/* Registers (as ST(i) after the instruction) holding computed results. */
static int first_result(unsigned modrm) { return modrm == 0xf2 ? 1 : 0; }   /* FPTAN: ST0 is 1.0 */
static int last_result(unsigned modrm) { return modrm == 0xf2 || modrm == 0xfb ? 1 : 0; }

/* Tests: a CPU whose results differ in the last bit. */
static void skew(struct fpu *f, unsigned modrm)
{
    for (int i = first_result(modrm); i <= last_result(modrm); i++) {
        int p = fpu_phys(f, i);
        if (!empty(f, p) && (f->st[p].sexp & 0x7fff) != 0x7fff && (f->st[p].mant >> 63))
            f->st[p].mant ^= 1;
    }
}

/* Run the instruction from state `pre` on this host's x87, not through
 * vsmp's code: FRSTOR of an image built here, the instruction, FNSAVE. */
static void indep_exec(const struct fpu *pre, unsigned modrm, struct fpu *post)
{
    uint8_t img[108] __attribute__((aligned(16)));
    int top = fpu_top(pre);
    uint32_t tw = 0;
    memset(img, 0, sizeof(img));
    for (int p = 0; p < 8; p++)
        tw |= (empty(pre, p) ? 3u : 0u) << (2 * p);
    dt_put16(img, pre->cw);
    dt_put16(img + 4, pre->sw);
    dt_put16(img + 8, tw);
    for (int i = 0; i < 8; i++) {
        const struct f80 *r = &pre->st[(top + i) & 7];
        dt_put64(img + 28 + 10 * i, r->mant);
        dt_put16(img + 36 + 10 * i, r->sexp);
    }
#define X87_RUN(insn)                                                                       \
    __asm__ volatile("frstor %0\n\t" insn "\n\tfnsave %0"                                   \
                     : "+m"(*(uint8_t(*)[108])img)                                         \
                     :                                                                      \
                     : "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)")
    switch (modrm) {
    case 0xf0: X87_RUN("f2xm1"); break;
    case 0xf1: X87_RUN("fyl2x"); break;
    case 0xf2: X87_RUN("fptan"); break;
    case 0xf3: X87_RUN("fpatan"); break;
    case 0xf5: X87_RUN("fprem1"); break;
    case 0xf8: X87_RUN("fprem"); break;
    case 0xf9: X87_RUN("fyl2xp1"); break;
    case 0xfb: X87_RUN("fsincos"); break;
    case 0xfe: X87_RUN("fsin"); break;
    default: X87_RUN("fcos"); break;
    }
#undef X87_RUN
    memset(post, 0, sizeof(*post));
    post->cw = (uint16_t)(img[0] | img[1] << 8);
    post->sw = (uint16_t)(img[4] | img[5] << 8);
    post->tw = (uint16_t)(img[8] | img[9] << 8);
    top = fpu_top(post);
    for (int i = 0; i < 8; i++) {
        struct f80 *r = &post->st[(top + i) & 7];
        memcpy(&r->mant, img + 28 + 10 * i, 8);
        r->sexp = (uint16_t)(img[36 + 10 * i] | img[37 + 10 * i] << 8);
    }
}

static int same_state(const struct fpu *a, const struct fpu *b)
{
    if (a->cw != b->cw || a->sw != b->sw)
        return 0;
    for (int p = 0; p < 8; p++) {
        if (empty(a, p) != empty(b, p))
            return 0;
        if (!empty(a, p) && (a->st[p].mant != b->st[p].mant || a->st[p].sexp != b->st[p].sexp))
            return 0;
    }
    return 1;
}

static void describe(char *buf, size_t len, unsigned modrm, const struct fpu *pre,
                     const struct fpu *v, const struct fpu *h)
{
    const struct f80 *s0 = &pre->st[fpu_phys(pre, 0)], *s1 = &pre->st[fpu_phys(pre, 1)];
    const struct f80 *a = &v->st[fpu_phys(v, 0)], *b = &h->st[fpu_phys(h, 0)];
    snprintf(buf, len,
             "%s with cw %04x st0 %04x:%016llx st1 %04x:%016llx: vsmp sw %04x st0 %04x:%016llx, "
             "this host's x87 sw %04x st0 %04x:%016llx",
             x87_op_name(modrm), pre->cw, s0->sexp, (unsigned long long)s0->mant, s1->sexp,
             (unsigned long long)s1->mant, v->sw, a->sexp, (unsigned long long)a->mant, h->sw,
             b->sexp, (unsigned long long)b->mant);
}

static uint64_t mix(uint64_t h)
{
    return dt_mix(h);
}

/* The neutral replacement: results, C0-C3 and the exception flags become
 * a function of the input state (control word, status word without the
 * condition codes, the non-empty registers); TOP and emptiness stay
 * (architectural). */
static void neutralize(struct fpu *f, const struct fpu *pre, unsigned modrm)
{
    uint8_t buf[8 + 8 * 11];
    size_t n = 0;
    int top = fpu_top(pre);
    buf[n++] = (uint8_t)modrm;
    dt_put16(buf + n, pre->cw); n += 2;
    /* not C0-C3: earlier instructions may have left them undefined, and
     * then another CPU model may hold other values there */
    dt_put16(buf + n, pre->sw & ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)); n += 2;
    for (int i = 0; i < 8; i++) {
        int p = (top + i) & 7;
        buf[n++] = (uint8_t)(empty(pre, p) ? 0xff : i);
        if (!empty(pre, p)) {
            dt_put64(buf + n, pre->st[p].mant);
            dt_put16(buf + n + 8, pre->st[p].sexp);
            n += 10;
        }
    }
    uint64_t h = dg_fnv(DG_FNV_INIT, buf, n);
    for (int i = 0; i <= last_result(modrm); i++) {
        int p = fpu_phys(f, i);
        h = mix(h);
        if (empty(f, p))
            continue;
        f->st[p].mant = h | 1ull << 63;
        f->st[p].sexp = (uint16_t)(((h >> 8) & 0x8000u) | (0x3ffeu + ((h >> 40) & 1)));
    }
    h = mix(h);
    f->sw = (uint16_t)((f->sw & FSW_TOP) | (pre->sw & (FSW_EXC | FSW_SF)) | FSW_PE |
                       (h & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)));
    fpu_update_es(f);
}

unsigned __wrap_fpu_host_exec(struct fpu *f, unsigned esc, unsigned modrm, void *mem,
                              uint32_t *eflags)
{
    struct x87ctl *c = ctl;
    if (!c || !x87_host_dependent(esc, modrm))
        return __real_fpu_host_exec(f, esc, modrm, mem, eflags);
    struct fpu pre = *f;
    unsigned r = __real_fpu_host_exec(f, esc, modrm, mem, eflags);
    c->seen++;
    if (c->skew != X87_SKEW_NONE)
        skew(f, modrm);
    if (c->verify) {
        struct fpu h;
        indep_exec(&pre, modrm, &h);
        if (c->skew == X87_SKEW_HOST)
            skew(&h, modrm);
        if (!same_state(f, &h)) {
            if (!c->bad)
                describe(c->first_bad, sizeof(c->first_bad), modrm, &pre, f, &h);
            c->bad++;
        }
    }
    if (c->neutral)
        neutralize(f, &pre, modrm);
    return r;
}
