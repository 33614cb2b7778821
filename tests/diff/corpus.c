/* corpus.c - reads and writes the differential test's recorded corpus.
 *
 * File format, version 1 (deterministic: the same generator, normalization
 * and CPU model give the same bytes; no time stamps). A text header of
 * "key value" lines, in this order, then "end" and a binary payload:
 *
 *   vsmp-difftest-corpus 1
 *   seed 20240607                 run parameters the corpus covers:
 *   first 0                       cases first .. first+count-1 of the
 *   count 200000                  seed, class "mix" (or one class name)
 *   class mix
 *   block 1024                    cases per input-digest block
 *   cpu-vendor AuthenticAMD       the CPU the native results came from
 *   cpu-family 25                 (CPUID display family/model/stepping,
 *   cpu-model 17                  brand string)
 *   cpu-stepping 1
 *   cpu-name AMD EPYC
 *   normalization 0123456789abcdef   dg_selfcheck() of the writer
 *   x87-host-dependent d9f0 d9f1 ... the instructions of the x87 rule
 *   x87-cases 12345               cases containing one of them
 *   exceptions 6789               cases that ended in an exception
 *   payload 654321 0123456789abcdef   payload bytes and their FNV-1a 64
 *   end
 *
 * Payload, little-endian:
 *   blocks      ceil(count/block) x { u64 dg_inputs() of the block's
 *               cases, u32 x87 cases before the block }
 *   digests     count x u24: the low 24 bits of dg_result() of the native
 *               result of each case
 *   neutral     x87-cases x u24: the low 24 bits of dg_result() of vsmp's
 *               neutral run (x87host.h) of each such case, in case order
 *   exceptions  exceptions x { LEB128 index minus the previous one (the
 *               first: minus `first`), u8 vector, u16 EIP - DT_CODE }
 *
 * A reader rejects another version, a missing or unknown key, a payload of
 * another size or checksum. Whether the corpus still matches the generator
 * (the block digests) and the normalization is difftest's check. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corpus.h"
#include "digest.h"
#include "gen.h"

#define MAGIC "vsmp-difftest-corpus"
#define MAX_COUNT 100000000u

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) {
        fprintf(stderr, "difftest: out of memory\n");
        exit(2);
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "difftest: out of memory\n");
        exit(2);
    }
    return p;
}

void corpus_new(struct corpus *c, uint64_t seed, uint32_t first, uint32_t count, int cls)
{
    memset(c, 0, sizeof(*c));
    c->seed = seed;
    c->first = first;
    c->count = count;
    c->cls = cls;
    c->block = 1024;
    c->nblocks = (count + c->block - 1) / c->block;
    c->blocks = xcalloc(c->nblocks, sizeof(c->blocks[0]));
    c->digest = xcalloc(count, 3);
}

void corpus_add_neutral(struct corpus *c, uint32_t digest)
{
    if (c->nx87 == c->cap_x87) {
        c->cap_x87 = c->cap_x87 ? 2 * c->cap_x87 : 1024;
        c->neutral = xrealloc(c->neutral, (size_t)c->cap_x87 * 3);
    }
    corpus_put3(c->neutral + 3 * (size_t)c->nx87++, digest & CORPUS_DIGEST_MASK);
}

void corpus_add_exc(struct corpus *c, uint32_t index, int vector, uint32_t eip)
{
    if (c->nexc == c->cap_exc) {
        c->cap_exc = c->cap_exc ? 2 * c->cap_exc : 1024;
        c->exc = xrealloc(c->exc, (size_t)c->cap_exc * sizeof(c->exc[0]));
    }
    c->exc[c->nexc].index = index;
    c->exc[c->nexc].vector = (uint8_t)vector;
    c->exc[c->nexc].eip_off = (uint16_t)(eip - DT_CODE);
    c->nexc++;
}

void corpus_free(struct corpus *c)
{
    free(c->blocks);
    free(c->digest);
    free(c->neutral);
    free(c->exc);
    memset(c, 0, sizeof(*c));
}

const struct corpus_exc *corpus_exc_find(const struct corpus *c, uint32_t index)
{
    uint32_t lo = 0, hi = c->nexc;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->exc[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nexc && c->exc[lo].index == index ? &c->exc[lo] : NULL;
}

/* ---- payload ---- */

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_u(struct buf *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * i));
    put(b, t, (size_t)bytes);
}

static void put_leb(struct buf *b, uint32_t v)
{
    do {
        uint8_t t = v & 0x7f;
        v >>= 7;
        if (v)
            t |= 0x80;
        put(b, &t, 1);
    } while (v);
}

static size_t payload_size_fixed(const struct corpus *c)
{
    return (size_t)c->nblocks * 12 + (size_t)c->count * 3 + (size_t)c->nx87 * 3;
}

int corpus_save(const struct corpus *c, const char *path, char *err, size_t errlen)
{
    struct buf b = { NULL, 0, 0 };
    for (uint32_t i = 0; i < c->nblocks; i++) {
        put_u(&b, c->blocks[i].inputs, 8);
        put_u(&b, c->blocks[i].x87_before, 4);
    }
    put(&b, c->digest, (size_t)c->count * 3);
    put(&b, c->neutral, (size_t)c->nx87 * 3);
    uint32_t prev = c->first;
    for (uint32_t i = 0; i < c->nexc; i++) {
        put_leb(&b, c->exc[i].index - prev);
        prev = c->exc[i].index;
        put_u(&b, c->exc[i].vector, 1);
        put_u(&b, c->exc[i].eip_off, 2);
    }

    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(b.p);
        return fail(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    }
    fprintf(f, "%s %d\n", MAGIC, CORPUS_VERSION);
    fprintf(f, "seed %" PRIu64 "\nfirst %u\ncount %u\nclass %s\nblock %u\n", c->seed, c->first,
            c->count, c->cls < 0 ? "mix" : gen_class_names[c->cls], c->block);
    fprintf(f, "cpu-vendor %s\ncpu-family %u\ncpu-model %u\ncpu-stepping %u\ncpu-name %s\n",
            c->cpu.vendor, c->cpu.family, c->cpu.model, c->cpu.stepping,
            c->cpu.name[0] ? c->cpu.name : "-");
    fprintf(f, "normalization %016" PRIx64 "\nx87-host-dependent %s\nx87-cases %u\nexceptions %u\n",
            c->norm, c->x87ops, c->nx87, c->nexc);
    fprintf(f, "payload %zu %016" PRIx64 "\nend\n", b.n, dg_fnv(DG_FNV_INIT, b.p, b.n));
    fwrite(b.p, 1, b.n, f);
    free(b.p);
    if (fflush(f) != 0 || ferror(f)) {
        fclose(f);
        unlink(tmp);
        return fail(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    }
    fclose(f);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return fail(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    }
    return 0;
}

/* ---- reading ---- */

static int get_line(FILE *f, char *line, size_t len)
{
    if (!fgets(line, (int)len, f))
        return -1;
    size_t n = strlen(line);
    if (!n || line[n - 1] != '\n')
        return -1;
    line[n - 1] = 0;
    return 0;
}

/* Next header line must be "key value"; returns the value. */
static const char *expect(FILE *f, char *line, size_t len, const char *key)
{
    size_t k = strlen(key);
    if (get_line(f, line, len) < 0 || strncmp(line, key, k) || line[k] != ' ')
        return NULL;
    return line + k + 1;
}

static int num(const char *s, uint64_t *v, int base)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    *v = strtoull(s, &end, base);
    return (*end || errno) ? -1 : 0;
}

int corpus_load(struct corpus *c, const char *path, char *err, size_t errlen)
{
    char line[512];
    const char *v;
    uint64_t x, plen, psum;
    memset(c, 0, sizeof(*c));
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, "cannot open %s: %s", path, strerror(errno));

#define HDR(key)                                                                   \
    do {                                                                           \
        if (!(v = expect(f, line, sizeof(line), key))) {                           \
            fclose(f);                                                             \
            return fail(err, errlen, "%s: header line '%s' missing or malformed", path, key); \
        }                                                                          \
    } while (0)
#define NUM(key, dst, base)                                                        \
    do {                                                                           \
        HDR(key);                                                                  \
        if (num(v, &x, base) < 0) {                                                \
            fclose(f);                                                             \
            return fail(err, errlen, "%s: bad number in '%s %s'", path, key, v);  \
        }                                                                          \
        dst = x;                                                                   \
    } while (0)

    HDR(MAGIC);
    if (strcmp(v, "1")) {
        fclose(f);
        return fail(err, errlen, "%s: corpus format %s, this difftest reads format %d", path, v,
                    CORPUS_VERSION);
    }
    NUM("seed", c->seed, 0);
    NUM("first", c->first, 10);
    NUM("count", c->count, 10);
    HDR("class");
    c->cls = strcmp(v, "mix") ? gen_class_by_name(v) : -1;
    if (strcmp(v, "mix") && c->cls < 0) {
        fclose(f);
        return fail(err, errlen, "%s: unknown class '%s'", path, v);
    }
    NUM("block", c->block, 10);
    HDR("cpu-vendor");
    snprintf(c->cpu.vendor, sizeof(c->cpu.vendor), "%s", v);
    NUM("cpu-family", c->cpu.family, 10);
    NUM("cpu-model", c->cpu.model, 10);
    NUM("cpu-stepping", c->cpu.stepping, 10);
    HDR("cpu-name");
    snprintf(c->cpu.name, sizeof(c->cpu.name), "%s", v);
    NUM("normalization", c->norm, 16);
    HDR("x87-host-dependent");
    snprintf(c->x87ops, sizeof(c->x87ops), "%s", v);
    NUM("x87-cases", c->nx87, 10);
    NUM("exceptions", c->nexc, 10);
    HDR("payload");
    if (sscanf(v, "%" SCNu64 " %" SCNx64, &plen, &psum) != 2) {
        fclose(f);
        return fail(err, errlen, "%s: bad payload line", path);
    }
    if (get_line(f, line, sizeof(line)) < 0 || strcmp(line, "end")) {
        fclose(f);
        return fail(err, errlen, "%s: header does not end with 'end'", path);
    }
#undef NUM
#undef HDR
    if (c->count == 0 || c->count > MAX_COUNT || c->block == 0 || c->nx87 > c->count ||
        c->nexc > c->count) {
        fclose(f);
        return fail(err, errlen, "%s: implausible header (count %u, block %u)", path, c->count,
                    c->block);
    }
    c->nblocks = (c->count + c->block - 1) / c->block;
    if (plen < payload_size_fixed(c) || plen > payload_size_fixed(c) + (uint64_t)c->nexc * 8) {
        fclose(f);
        return fail(err, errlen, "%s: payload size %" PRIu64 " does not fit the header", path, plen);
    }
    uint8_t *p = xcalloc(plen, 1);
    size_t got = fread(p, 1, plen, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != plen || extra != EOF) {
        free(p);
        return fail(err, errlen, "%s: payload is %s than the header says (corrupt or truncated)",
                    path, got != plen ? "shorter" : "longer");
    }
    if (dg_fnv(DG_FNV_INIT, p, plen) != psum) {
        free(p);
        return fail(err, errlen, "%s: payload checksum mismatch (corrupt file)", path);
    }

    const uint8_t *q = p, *end = p + plen;
    c->blocks = xcalloc(c->nblocks, sizeof(c->blocks[0]));
    for (uint32_t i = 0; i < c->nblocks; i++, q += 12) {
        uint64_t d = 0;
        for (int k = 7; k >= 0; k--)
            d = d << 8 | q[k];
        c->blocks[i].inputs = d;
        c->blocks[i].x87_before = q[8] | (uint32_t)q[9] << 8 | (uint32_t)q[10] << 16 |
                                  (uint32_t)q[11] << 24;
    }
    c->digest = xcalloc(c->count, 3);
    memcpy(c->digest, q, (size_t)c->count * 3);
    q += (size_t)c->count * 3;
    c->neutral = xcalloc(c->nx87, 3);
    memcpy(c->neutral, q, (size_t)c->nx87 * 3);
    q += (size_t)c->nx87 * 3;
    c->exc = xcalloc(c->nexc, sizeof(c->exc[0]));
    c->cap_exc = c->nexc;
    c->cap_x87 = c->nx87;
    uint32_t prev = c->first;
    for (uint32_t i = 0; i < c->nexc; i++) {
        uint32_t d = 0;
        int shift = 0;
        for (;;) {
            if (q >= end || shift > 28) {
                free(p);
                return fail(err, errlen, "%s: exception list malformed", path);
            }
            uint8_t b = *q++;
            d |= (uint32_t)(b & 0x7f) << shift;
            shift += 7;
            if (!(b & 0x80))
                break;
        }
        if (end - q < 3 || (i && d == 0)) {
            free(p);
            return fail(err, errlen, "%s: exception list malformed", path);
        }
        prev += d;
        c->exc[i].index = prev;
        c->exc[i].vector = q[0];
        c->exc[i].eip_off = (uint16_t)(q[1] | q[2] << 8);
        q += 3;
    }
    ptrdiff_t left = end - q;
    free(p);
    if (left)
        return fail(err, errlen, "%s: payload has %td bytes after the exception list", path, left);
    if (c->nexc && c->exc[c->nexc - 1].index >= c->first + c->count)
        return fail(err, errlen, "%s: exception list outside the cases", path);
    return 0;
}
