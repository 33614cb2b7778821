/* codecache.h - executable memory for translated code, W^X-clean by dual
 * mapping: one memfd is mapped twice, read+write (where the translator
 * writes) and read+execute (what runs). No mapping is ever writable and
 * executable at once. Space is handed out by a bump allocator; when it
 * runs out the owner flushes everything (codecache_reset). */
#ifndef VSMP_CODECACHE_H
#define VSMP_CODECACHE_H

#include <stddef.h>
#include <stdint.h>

struct codecache {
    uint8_t *rw;        /* writable view */
    uint8_t *rx;        /* executable view (same bytes) */
    size_t size;
    size_t used;        /* bump pointer (offset) */
    size_t reserved;    /* bytes at the start kept across resets */
    int fd;
};

/* 0 on success, -1 if the memory could not be set up. */
int codecache_init(struct codecache *cc, size_t size);
void codecache_free(struct codecache *cc);
/* Forget everything after the reserved prefix. */
void codecache_reset(struct codecache *cc);

static inline uint8_t *codecache_rx_of(const struct codecache *cc, const uint8_t *rw)
{
    return cc->rx + (rw - cc->rw);
}
static inline uint8_t *codecache_rw_of(const struct codecache *cc, const uint8_t *rx)
{
    return cc->rw + (rx - cc->rx);
}
static inline int codecache_owns_rx(const struct codecache *cc, const uint8_t *rx)
{
    return rx >= cc->rx && rx < cc->rx + cc->size;
}

#endif
