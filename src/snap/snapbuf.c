/* snapbuf.c - the little-endian writer and bounds-checked reader of machine
 * state in memory images, and the image checksum (snapbuf.h). */
#include "snap/snapbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void snapw_init(struct snapw *w)
{
    memset(w, 0, sizeof *w);
    w->sect = SIZE_MAX;
}

void snapw_free(struct snapw *w)
{
    free(w->buf);
    snapw_init(w);
}

static uint8_t *grow(struct snapw *w, size_t n)
{
    if (w->oom)
        return NULL;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->oom = true;
            return NULL;
        }
        w->buf = b;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

static void put_le(struct snapw *w, uint64_t v, int n)
{
    uint8_t *p = grow(w, (size_t)n);
    if (p)
        for (int i = 0; i < n; i++)
            p[i] = (uint8_t)(v >> (8 * i));
}

void snapw_u8(struct snapw *w, uint8_t v) { put_le(w, v, 1); }
void snapw_u16(struct snapw *w, uint16_t v) { put_le(w, v, 2); }
void snapw_u32(struct snapw *w, uint32_t v) { put_le(w, v, 4); }
void snapw_u64(struct snapw *w, uint64_t v) { put_le(w, v, 8); }

void snapw_bytes(struct snapw *w, const void *p, size_t n)
{
    uint8_t *d = grow(w, n);
    if (d && n)
        memcpy(d, p, n);
}

void snapw_str(struct snapw *w, const char *s)
{
    size_t n = strlen(s);
    snapw_u32(w, (uint32_t)n);
    snapw_bytes(w, s, n);
}

void snapw_begin(struct snapw *w, uint32_t tag, uint32_t version)
{
    w->sect = w->len;
    snapw_u32(w, tag);
    snapw_u32(w, version);
    snapw_u64(w, 0);
}

void snapw_end(struct snapw *w)
{
    if (w->sect == SIZE_MAX || w->oom)
        return;
    uint64_t n = w->len - w->sect - 16;
    for (int i = 0; i < 8; i++)
        w->buf[w->sect + 8 + (size_t)i] = (uint8_t)(n >> (8 * i));
    w->sect = SIZE_MAX;
}

void snapr_init(struct snapr *r, const void *p, size_t len)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->len = len;
}

bool snapr_fail(struct snapr *r, const char *fmt, ...)
{
    if (!r->bad) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, sizeof r->why, fmt, ap);
        va_end(ap);
    }
    r->bad = true;
    return false;
}

static uint64_t get_le(struct snapr *r, int n)
{
    if (r->bad || r->len - r->pos < (size_t)n) {
        snapr_fail(r, "state ends early");
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)n;
    return v;
}

uint8_t snapr_u8(struct snapr *r) { return (uint8_t)get_le(r, 1); }
uint16_t snapr_u16(struct snapr *r) { return (uint16_t)get_le(r, 2); }
uint32_t snapr_u32(struct snapr *r) { return (uint32_t)get_le(r, 4); }
uint64_t snapr_u64(struct snapr *r) { return get_le(r, 8); }

bool snapr_bool(struct snapr *r)
{
    uint8_t v = snapr_u8(r);
    if (v > 1)
        snapr_fail(r, "a flag is %u, not 0 or 1", v);
    return v == 1;
}

void snapr_bytes(struct snapr *r, void *p, size_t n)
{
    if (r->bad || r->len - r->pos < n) {
        snapr_fail(r, "state ends early");
        memset(p, 0, n);
        return;
    }
    if (n)
        memcpy(p, r->p + r->pos, n);
    r->pos += n;
}

bool snapr_str(struct snapr *r, char *buf, size_t size)
{
    uint32_t n = snapr_u32(r);
    buf[0] = 0;
    if (r->bad)
        return false;
    if (n >= size)
        return snapr_fail(r, "a name of %u bytes is too long", n);
    snapr_bytes(r, buf, n);
    buf[r->bad ? 0 : n] = 0;
    if (!r->bad && memchr(buf, 0, n))
        return snapr_fail(r, "a name holds a NUL byte");
    return !r->bad;
}

bool snapr_check(struct snapr *r, uint64_t v, uint64_t limit, const char *what)
{
    if (v < limit)
        return true;
    return snapr_fail(r, "%s is %llu (at most %llu)", what, (unsigned long long)v,
                      (unsigned long long)(limit ? limit - 1 : 0));
}

static void tag_text(uint32_t tag, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)(tag >> (8 * i));
        out[i] = (c >= 32 && c < 127) ? c : '?';
    }
    out[4] = 0;
}

bool snapr_section(struct snapr *r, uint32_t tag, uint32_t max_version,
                   struct snapr *sub, uint32_t *version)
{
    char want[5], got[5];
    tag_text(tag, want);
    snapr_init(sub, NULL, 0);
    uint32_t t = snapr_u32(r);
    uint32_t v = snapr_u32(r);
    uint64_t n = snapr_u64(r);
    if (r->bad)
        return snapr_fail(r, "section '%s' missing (state ends early)", want);
    tag_text(t, got);
    if (t != tag)
        return snapr_fail(r, "section '%s' found where '%s' belongs", got, want);
    if (v < 1 || v > max_version)
        return snapr_fail(r, "section '%s' has version %u (this vsmp reads 1..%u)", want, v,
                          max_version);
    if (n > r->len - r->pos)
        return snapr_fail(r, "section '%s' is longer than the state", want);
    snapr_init(sub, r->p + r->pos, (size_t)n);
    r->pos += (size_t)n;
    if (version)
        *version = v;
    return true;
}

bool snapr_done(struct snapr *sub, struct snapr *parent)
{
    if (!sub->bad && sub->pos != sub->len)
        snapr_fail(sub, "%zu bytes left over in a section", sub->len - sub->pos);
    if (sub->bad) {
        if (!parent->bad)
            snapr_fail(parent, "%s", sub->why);
        return false;
    }
    return true;
}

/* ---- checksum ---- */
static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);   /* the host is little-endian (x86-64) */
    return v;
}

#define SUM_K1 0x9e3779b97f4a7c15ull
#define SUM_K2 0xc2b2ae3d27d4eb4full
#define SUM_K3 0x165667b19e3779f9ull

static inline uint64_t lane(uint64_t acc, uint64_t v)
{
    acc += v * SUM_K2;
    acc = rotl(acc, 31);
    return acc * SUM_K1;
}

static inline uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= SUM_K2;
    h ^= h >> 29;
    h *= SUM_K3;
    h ^= h >> 32;
    return h;
}

uint64_t snap_sum(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t a = seed + SUM_K1 + SUM_K2, b = seed + SUM_K2, c = seed, d = seed - SUM_K1;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a = lane(a, load64(p + i));
        b = lane(b, load64(p + i + 8));
        c = lane(c, load64(p + i + 16));
        d = lane(d, load64(p + i + 24));
    }
    uint64_t h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + (uint64_t)n;
    for (; i + 8 <= n; i += 8)
        h = rotl(h ^ lane(0, load64(p + i)), 27) * SUM_K1 + SUM_K3;
    for (; i < n; i++)
        h = rotl(h ^ (p[i] * SUM_K3), 11) * SUM_K1;
    return mix(h);
}
