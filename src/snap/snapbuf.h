/* snapbuf.h - the byte encoding of machine state in a memory image
 * (docs/image-format.md): a growable little-endian writer and a
 * bounds-checked reader, grouped into tagged, versioned sections, and the
 * 64-bit checksum the image uses for its header, its state and each page.
 *
 * Every device, CPU and the platform writes its state with a save function
 * (X_save(const struct X_state *, struct snapw *)) and reads it back with a
 * load function (X_load(struct X_state *, struct snapr *)). A load reads
 * untrusted bytes: it never reads past the section (the reader returns zero
 * and sets `bad` instead), and it checks every value it will later use as
 * an index or a size; a load that finds something wrong calls
 * snapr_fail() with a short reason and returns false.
 *
 * A section on the wire:  u32 tag (four ASCII characters, e.g. "PIC "),
 * u32 version, u64 length of the payload, then the payload. */
#ifndef VSMP_SNAPBUF_H
#define VSMP_SNAPBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The tag of four characters, e.g. SNAP_TAG("PIC ") (exactly 4). */
#define SNAP_TAG(s) ((uint32_t)(uint8_t)(s)[0] | (uint32_t)(uint8_t)(s)[1] << 8 | \
                     (uint32_t)(uint8_t)(s)[2] << 16 | (uint32_t)(uint8_t)(s)[3] << 24)

/* ---- writer ---- */
struct snapw {
    uint8_t *buf;
    size_t len, cap;
    size_t sect;        /* offset of the open section's header, or SIZE_MAX */
    bool oom;           /* an allocation failed: the contents are unusable */
};

void snapw_init(struct snapw *w);
void snapw_free(struct snapw *w);
void snapw_u8(struct snapw *w, uint8_t v);
void snapw_u16(struct snapw *w, uint16_t v);
void snapw_u32(struct snapw *w, uint32_t v);
void snapw_u64(struct snapw *w, uint64_t v);
static inline void snapw_bool(struct snapw *w, bool v) { snapw_u8(w, v ? 1 : 0); }
static inline void snapw_i32(struct snapw *w, int32_t v) { snapw_u32(w, (uint32_t)v); }
static inline void snapw_i64(struct snapw *w, int64_t v) { snapw_u64(w, (uint64_t)v); }
void snapw_bytes(struct snapw *w, const void *p, size_t n);
/* A string: u32 length, then the bytes (no NUL). */
void snapw_str(struct snapw *w, const char *s);
/* Sections do not nest: begin, the fields, end. */
void snapw_begin(struct snapw *w, uint32_t tag, uint32_t version);
void snapw_end(struct snapw *w);

/* ---- reader ---- */
struct snapr {
    const uint8_t *p;
    size_t len, pos;
    bool bad;           /* read past the end, or a load refused a value */
    char why[160];      /* the first reason (snapr_fail) */
};

void snapr_init(struct snapr *r, const void *p, size_t len);
uint8_t snapr_u8(struct snapr *r);
uint16_t snapr_u16(struct snapr *r);
uint32_t snapr_u32(struct snapr *r);
uint64_t snapr_u64(struct snapr *r);
/* A bool must be 0 or 1 (anything else marks the reader bad). */
bool snapr_bool(struct snapr *r);
static inline int32_t snapr_i32(struct snapr *r) { return (int32_t)snapr_u32(r); }
static inline int64_t snapr_i64(struct snapr *r) { return (int64_t)snapr_u64(r); }
void snapr_bytes(struct snapr *r, void *p, size_t n);
/* A string into buf (NUL-terminated); false (and bad) when it does not
 * fit in size - 1 bytes or holds a NUL. */
bool snapr_str(struct snapr *r, char *buf, size_t size);
/* Record the first reason (printf format) and mark the reader bad.
 * Returns false, for `return snapr_fail(r, ...)`. */
__attribute__((format(printf, 2, 3)))
bool snapr_fail(struct snapr *r, const char *fmt, ...);
/* A value read must be below `limit`: else snapr_fail naming `what`. */
bool snapr_check(struct snapr *r, uint64_t v, uint64_t limit, const char *what);
/* The next section must be `tag`, with a version in 1..max_version: sub
 * becomes a reader of its payload (r moves past it), *version its
 * version. False (r bad, with the reason) otherwise. */
bool snapr_section(struct snapr *r, uint32_t tag, uint32_t max_version,
                   struct snapr *sub, uint32_t *version);
/* After a section's fields: the payload must be used up exactly
 * (trailing bytes are an error: another layout than this version's). */
bool snapr_done(struct snapr *sub, struct snapr *parent);

/* ---- checksum ----
 * A 64-bit keyed hash of n bytes (four 64-bit multiply-rotate lanes over
 * 32-byte blocks, then a final mix): fast enough to sum every page of an
 * image at memory speed. Not cryptographic: it finds corruption. */
uint64_t snap_sum(const void *p, size_t n, uint64_t seed);

#endif
