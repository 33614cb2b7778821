/* aml.c - the AML encoder (aml.h): byte output with one overflow flag,
 * NameStrings, integers, and PkgLength-prefixed objects whose header is
 * inserted when they are closed. */
#include "boot/aml.h"

#include <string.h>

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
    memset(a, 0, sizeof(*a));
    a->buf = buf;
    a->cap = cap;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (a->overflow || n > a->cap - a->len) {
        a->overflow = true;
        return;
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t v)
{
    aml_bytes(a, &v, 1);
}

static void le(struct aml *a, uint64_t v, int n)
{
    uint8_t b[8];
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    aml_bytes(a, b, (size_t)n);
}

static bool lead_char(char c)
{
    return (c >= 'A' && c <= 'Z') || c == '_';
}

/* One segment of up to 4 characters into seg[4]; the length used, or -1. */
static int nameseg(const char *s, char seg[4])
{
    int n = 0;
    while (s[n] && s[n] != '.') {
        char c = s[n];
        if (n >= 4 || !(lead_char(c) || (n > 0 && c >= '0' && c <= '9')))
            return -1;
        seg[n++] = c;
    }
    if (n == 0)
        return -1;
    for (int i = n; i < 4; i++)
        seg[i] = '_';
    return n;
}

void aml_namestring(struct aml *a, const char *path)
{
    char segs[255][4];
    int nsegs = 0;
    if (*path == '\\') {
        aml_byte(a, AML_ROOT);
        path++;
    }
    while (*path) {
        int n = nsegs < 255 ? nameseg(path, segs[nsegs]) : -1;
        if (n < 0) {
            a->overflow = true;
            return;
        }
        nsegs++;
        path += n;
        if (*path == '.' && !*++path) {
            a->overflow = true;
            return;
        }
    }
    if (nsegs == 0) {
        aml_byte(a, AML_ZERO);          /* NullName */
        return;
    }
    if (nsegs == 2)
        aml_byte(a, AML_DUAL_NAME);
    else if (nsegs > 2) {
        aml_byte(a, AML_MULTI_NAME);
        aml_byte(a, (uint8_t)nsegs);
    }
    aml_bytes(a, segs, 4u * (size_t)nsegs);
}

void aml_integer(struct aml *a, uint64_t v)
{
    if (v == 0)
        aml_byte(a, AML_ZERO);
    else if (v == 1)
        aml_byte(a, AML_ONE);
    else if (v == UINT64_MAX)
        aml_byte(a, AML_ONES);
    else if (v <= 0xff) {
        aml_byte(a, AML_BYTE);
        le(a, v, 1);
    } else if (v <= 0xffff) {
        aml_byte(a, AML_WORD);
        le(a, v, 2);
    } else if (v <= 0xffffffffu) {
        aml_byte(a, AML_DWORD);
        le(a, v, 4);
    } else {
        aml_byte(a, AML_QWORD);
        le(a, v, 8);
    }
}

void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, AML_STRING);
    aml_bytes(a, s, strlen(s) + 1);
}

void aml_name(struct aml *a, const char *path)
{
    aml_byte(a, AML_NAME);
    aml_namestring(a, path);
}

int aml_pkglength(size_t body, uint8_t out[4])
{
    /* The length counts its own bytes. One byte: 6 bits; n = 2..4 bytes:
     * the lead byte's low nibble, then 8 bits a byte; bits 7-6 of the lead
     * byte hold n - 1. */
    if (body + 1 < 0x40) {
        out[0] = (uint8_t)(body + 1);
        return 1;
    }
    for (int n = 2; n <= 4; n++) {
        size_t total = body + (size_t)n;
        if (total < (1u << (4 + 8 * (n - 1)))) {
            out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
            for (int i = 1; i < n; i++)
                out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
            return n;
        }
    }
    return 0;
}

static void open_obj(struct aml *a, bool buffer)
{
    if (a->depth >= AML_MAX_DEPTH) {
        a->overflow = true;
        return;
    }
    a->open[a->depth].start = a->len;
    a->open[a->depth].buffer = buffer;
    a->depth++;
}

void aml_end(struct aml *a)
{
    if (a->depth <= 0) {
        a->overflow = true;
        return;
    }
    a->depth--;
    if (a->overflow)
        return;
    size_t start = a->open[a->depth].start;
    size_t content = a->len - start;
    /* what goes between PkgLength and the contents: a Buffer's size */
    uint8_t extra[9];
    size_t nextra = 0;
    if (a->open[a->depth].buffer) {
        struct aml t;
        aml_init(&t, extra, sizeof extra);
        aml_integer(&t, content);
        nextra = t.len;
    }
    uint8_t pl[4];
    int npl = aml_pkglength(nextra + content, pl);
    size_t hdr = (size_t)npl + nextra;
    if (npl == 0 || hdr > a->cap - a->len) {
        a->overflow = true;
        return;
    }
    memmove(a->buf + start + hdr, a->buf + start, content);
    memcpy(a->buf + start, pl, (size_t)npl);
    memcpy(a->buf + start + npl, extra, nextra);
    a->len += hdr;
}

/* The PkgLength goes right after the opcode, before the name: the mark
 * is taken after the opcode and the name follows inside the contents. */
void aml_scope_begin(struct aml *a, const char *path)
{
    aml_byte(a, AML_SCOPE);
    open_obj(a, false);
    aml_namestring(a, path);
}

void aml_device_begin(struct aml *a, const char *name)
{
    aml_byte(a, AML_EXT);
    aml_byte(a, AML_EXT_DEVICE);
    open_obj(a, false);
    aml_namestring(a, name);
}

void aml_package_begin(struct aml *a, uint8_t nelems)
{
    aml_byte(a, AML_PACKAGE);
    open_obj(a, false);
    aml_byte(a, nelems);
}

void aml_buffer_begin(struct aml *a)
{
    aml_byte(a, AML_BUFFER);
    open_obj(a, true);
}

void aml_res_memory32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t len)
{
    aml_byte(a, AML_RES_MEM32_FIXED);
    le(a, 9, 2);                        /* bytes after the length field */
    aml_byte(a, writable ? 1 : 0);
    le(a, base, 4);
    le(a, len, 4);
}

void aml_res_interrupt(struct aml *a, uint8_t flags, uint32_t gsi)
{
    aml_byte(a, AML_RES_EXT_IRQ);
    le(a, 6, 2);                        /* flags, count, one interrupt */
    aml_byte(a, flags);
    aml_byte(a, 1);
    le(a, gsi, 4);
}

void aml_res_end(struct aml *a)
{
    aml_byte(a, AML_RES_END);
    aml_byte(a, 0);                     /* checksum 0: "treat as correct" */
}
