/* digest.c - normalized results and their digests (see digest.h). The
 * normalization is byte for byte what difftest's field-wise comparison
 * looks at, serialized little-endian and hashed with FNV-1a. */
#include <string.h>

#include "digest.h"

uint64_t dg_fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

void dg_undef_at(const struct gen_case *gc, int vector, uint32_t eip, uint32_t *ufl, uint32_t *uc)
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

struct ser {
    uint8_t b[2048];
    size_t n;
};

static void s8(struct ser *s, uint32_t v) { s->b[s->n++] = (uint8_t)v; }
static void s16(struct ser *s, uint32_t v) { dt_put16(s->b + s->n, v); s->n += 2; }
static void s32(struct ser *s, uint32_t v) { dt_put32(s->b + s->n, v); s->n += 4; }
static void sbytes(struct ser *s, const void *p, size_t n) { memcpy(s->b + s->n, p, n); s->n += n; }
static uint32_t get16(const uint8_t *p) { return p[0] | p[1] << 8; }

uint64_t dg_result(const struct gen_case *gc, const struct dt_result *r)
{
    struct ser s = { .n = 0 };
    uint32_t ufl, uc;
    dg_undef_at(gc, r->vector, r->eip, &ufl, &uc);

    s32(&s, (uint32_t)r->vector);
    s32(&s, r->eip);
    for (int i = 0; i < 8; i++)
        s32(&s, r->regs[i]);
    s32(&s, r->eflags & 0x0cd5u & ~ufl);
    s32(&s, r->ndirty);
    for (uint32_t i = 0; i < r->ndirty && i < DT_DIRTY_MAX; i++) {
        s32(&s, r->dirty[i].off);
        s32(&s, r->dirty[i].val);
    }
    if (gc->c.has_fpu && r->vector < 0) {
        const uint8_t *p = r->fpu;
        uint32_t tw = get16(p + 8), top = (get16(p + 4) >> 11) & 7;
        s16(&s, get16(p));
        s16(&s, get16(p + 4) & ~uc);
        s16(&s, tw);
        for (int i = 0; i < 8; i++) {
            if (((tw >> (2 * ((top + (uint32_t)i) & 7))) & 3) == 3)
                continue;          /* empty: contents not architectural */
            s8(&s, (uint32_t)i);
            sbytes(&s, p + 28 + 10 * i, 10);
        }
    }
    return dg_fnv(DG_FNV_INIT, s.b, s.n);
}

uint64_t dg_inputs(uint64_t h, const struct gen_case *gc)
{
    struct ser s = { .n = 0 };
    const struct dt_case *c = &gc->c;
    s32(&s, c->magic);
    s32(&s, c->index);
    s32(&s, c->fill_lo);
    s32(&s, c->fill_hi);
    for (int i = 0; i < 8; i++)
        s32(&s, c->regs[i]);
    s32(&s, c->eflags);
    s32(&s, c->code_len);
    s32(&s, c->has_fpu);
    sbytes(&s, c->fpu_img, DT_FPU_IMG);
    sbytes(&s, c->code, c->code_len <= DT_CODE_MAX ? c->code_len : DT_CODE_MAX);
    h = dg_fnv(h, s.b, s.n);
    /* The data area the case starts with is made from the fill seed by
     * proto.h's dt_fill, on both sides: hash it for one case in 64 (16
     * KiB each), so that a change of the filler makes a corpus stale,
     * not only a change of the generator. */
    if (c->index % 64 == 0) {
        static uint8_t area[DT_DATA_SIZE];
        dt_fill(area, (uint64_t)c->fill_hi << 32 | c->fill_lo);
        h = dg_fnv(h, area, sizeof area);
    }
    s.n = 0;
    s32(&s, (uint32_t)gc->nbound);
    s32(&s, gc->undef_fl);
    s32(&s, gc->undef_c);
    h = dg_fnv(h, s.b, s.n);
    for (int i = 0; i < gc->nbound; i++) {
        s.n = 0;
        s16(&s, gc->b[i].off);
        s8(&s, gc->b[i].cls);
        s8(&s, gc->b[i].len);
        s32(&s, gc->b[i].undef_fl);
        s32(&s, gc->b[i].undef_c);
        h = dg_fnv(h, s.b, s.n);
    }
    return h;
}

uint64_t dg_selfcheck(void)
{
    static struct gen_case gc;
    static struct dt_result r;
    memset(&gc, 0, sizeof(gc));
    memset(&r, 0, sizeof(r));
    gc.c.has_fpu = 1;
    gc.c.code_len = 9;
    gc.nbound = 2;
    gc.b[1].off = 4;
    gc.b[1].undef_fl = 0x10;
    gc.b[1].undef_c = 0x4100;
    gc.undef_fl = 0x801;
    gc.undef_c = 0x0200;
    uint64_t h = DG_FNV_INIT;
    for (int k = 0; k < 3; k++) {
        r.vector = k == 2 ? 13 : -1;
        r.eip = k == 2 ? DT_CODE + 4 : DT_CODE + 9;
        for (int i = 0; i < 8; i++)
            r.regs[i] = 0x01010101u * (uint32_t)(i + k);
        r.eflags = 0x0ed7u;
        r.ndirty = 3 + (uint32_t)k;
        for (uint32_t i = 0; i < r.ndirty; i++) {
            r.dirty[i].off = 4 * i;
            r.dirty[i].val = 0xdead0000u + i;
        }
        for (unsigned i = 0; i < DT_FPU_IMG; i++)
            r.fpu[i] = (uint8_t)(i * 7 + k);
        r.fpu[8] = 0x3c;           /* tag word: some registers empty */
        r.fpu[9] = 0xc3;
        uint8_t d[8];
        dt_put64(d, dg_result(&gc, &r));
        h = dg_fnv(h, d, sizeof(d));
    }
    return h;
}
