/* corpus.h - a recorded corpus of native results for the differential
 * test (the file format is described at the top of corpus.c): per case a
 * 24-bit digest of the normalized native result, the cases that ended in
 * an exception with vector and EIP, per block of cases a digest of the
 * generated inputs (stale-corpus guard), the neutral digests of the x87
 * rule (x87host.h), and the CPU the results came from. */
#ifndef DIFF_CORPUS_H
#define DIFF_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "hostcpu.h"

#define CORPUS_VERSION 1
#define CORPUS_DIGEST_MASK 0xffffffu   /* 24 bits of a 64-bit digest */

struct corpus_block {
    uint64_t inputs;        /* dg_inputs over the block's cases */
    uint32_t x87_before;    /* host-dependent x87 cases before the block */
};

struct corpus_exc {
    uint32_t index;
    uint8_t vector;
    uint16_t eip_off;       /* EIP - DT_CODE */
};

struct corpus {
    uint64_t seed;
    uint32_t first, count;
    int cls;                /* generator class filter, -1: the mix */
    uint32_t block;         /* cases per input-digest block */
    struct hostcpu cpu;     /* the CPU the native results came from */
    uint64_t norm;          /* dg_selfcheck() of the writer */
    char x87ops[128];       /* x87_op_list() of the writer */
    uint32_t nblocks, nx87, nexc, cap_x87, cap_exc;
    struct corpus_block *blocks;
    uint8_t *digest;        /* count x 3 bytes */
    uint8_t *neutral;       /* nx87 x 3 bytes, in case order */
    struct corpus_exc *exc; /* nexc, by index */
};

/* Read `path`. 0 on success; -1 with a one-line reason in err (no such
 * file, not a corpus, another format version, truncated, checksum). */
int corpus_load(struct corpus *c, const char *path, char *err, size_t errlen);

/* Start an empty corpus to record into (arrays sized for `count`). */
void corpus_new(struct corpus *c, uint64_t seed, uint32_t first, uint32_t count, int cls);
void corpus_add_neutral(struct corpus *c, uint32_t digest);
void corpus_add_exc(struct corpus *c, uint32_t index, int vector, uint32_t eip);
/* Write atomically (temporary file, then rename). 0 or -1 with err. */
int corpus_save(const struct corpus *c, const char *path, char *err, size_t errlen);
void corpus_free(struct corpus *c);

static inline uint32_t corpus_get3(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}
static inline void corpus_put3(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16);
}

/* The recorded exception of case `index`, or NULL if it ran to its end. */
const struct corpus_exc *corpus_exc_find(const struct corpus *c, uint32_t index);

#endif
