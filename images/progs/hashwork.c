/* images/progs/hashwork.c - the hashing workload of the Linux guest: one
 * process generates MIB mebibytes of deterministic data from SEED, a 4 MiB
 * private buffer at a time, and hashes it with SHA-256 (FIPS 180-4).
 *   hashwork SEED MIB [CPU]   prints "hashwork seed=S mib=M cpu=C sha256=HEX"
 *                             (CPU: pin the process to that CPU first)
 *   hashwork -o SEED MIB      writes the data to stdout instead
 * Built twice from this file: for the guest (gcc -m32 -static, i686 without
 * MMX/SSE) and for the host (64-bit, -o only), where `hashwork -o S M |
 * sha256sum` gives the digest the guest must print. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (4u << 20)

/* xorshift128 on 32-bit words, seeded from SEED. */
struct gen { uint32_t x, y, z, w; };

static void gen_init(struct gen *g, uint32_t seed)
{
    g->x = 123456789u ^ seed;
    g->y = 362436069u ^ (seed * 2654435761u);
    g->z = 521288629u;
    g->w = 88675123u ^ (seed << 7);
    if (!(g->x | g->y | g->z | g->w))
        g->x = 1;
}

static uint32_t gen_next(struct gen *g)
{
    uint32_t t = g->x ^ (g->x << 11);
    g->x = g->y;
    g->y = g->z;
    g->z = g->w;
    g->w = g->w ^ (g->w >> 19) ^ t ^ (t >> 8);
    return g->w;
}

static void fill(struct gen *g, unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = gen_next(g);
        p[i] = (unsigned char)v;
        p[i + 1] = (unsigned char)(v >> 8);
        p[i + 2] = (unsigned char)(v >> 16);
        p[i + 3] = (unsigned char)(v >> 24);
    }
}

/* ---- SHA-256 (FIPS 180-4, section 6.2) ---- */
struct sha256 { uint32_t h[8]; uint64_t len; unsigned char buf[64]; unsigned used; };

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void sha_block(struct sha256 *s, const unsigned char *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, h;
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
    e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
    s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha_init(struct sha256 *s)
{
    static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
    s->used = 0;
}

static void sha_update(struct sha256 *s, const unsigned char *p, size_t n)
{
    s->len += n;
    while (n) {
        if (s->used == 0 && n >= 64) {
            sha_block(s, p);
            p += 64;
            n -= 64;
            continue;
        }
        size_t k = 64 - s->used < n ? 64 - s->used : n;
        memcpy(s->buf + s->used, p, k);
        s->used += (unsigned)k;
        p += k;
        n -= k;
        if (s->used == 64) {
            sha_block(s, s->buf);
            s->used = 0;
        }
    }
}

static void sha_final(struct sha256 *s, unsigned char out[32])
{
    uint64_t bits = s->len * 8;
    unsigned char pad[72] = { 0x80 };
    size_t padlen = (s->used < 56 ? 56 : 120) - s->used;
    for (int i = 0; i < 8; i++)
        pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
    sha_update(s, pad, padlen + 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(s->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)s->h[i];
    }
}

static unsigned long num(const char *s, const char *what)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v > 1u << 20) {
        fprintf(stderr, "hashwork: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    int raw = argc > 1 && !strcmp(argv[1], "-o");
    char **a = argv + 1 + raw;
    int na = argc - 1 - raw;
    if (na < 2 || na > 3 || (raw && na != 2)) {
        fprintf(stderr, "usage: hashwork SEED MIB [CPU] | hashwork -o SEED MIB\n");
        return 2;
    }
    uint32_t seed = (uint32_t)num(a[0], "SEED");
    unsigned long mib = num(a[1], "MIB");
    if (na == 3) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((int)num(a[2], "CPU"), &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0)
            perror("hashwork: sched_setaffinity");
    }
    unsigned char *buf = malloc(CHUNK);
    if (!buf) {
        fprintf(stderr, "hashwork: out of memory\n");
        return 1;
    }
    struct gen g;
    struct sha256 s;
    gen_init(&g, seed);
    sha_init(&s);
    unsigned long total = mib << 20;
    for (unsigned long done = 0; done < total; done += CHUNK / 2) {
        /* the data in halves of the buffer, so that it is written and read */
        size_t n = total - done < CHUNK / 2 ? total - done : CHUNK / 2;
        unsigned char *p = buf + (done / (CHUNK / 2) % 2) * (CHUNK / 2);
        fill(&g, p, n);
        if (raw) {
            if (fwrite(p, 1, n, stdout) != n)
                return 1;
        } else {
            sha_update(&s, p, n);
        }
    }
    if (raw)
        return fflush(stdout) != 0;
    unsigned char d[32];
    sha_final(&s, d);
    printf("hashwork seed=%u mib=%lu cpu=%d sha256=", (unsigned)seed, mib, sched_getcpu());
    for (int i = 0; i < 32; i++)
        printf("%02x", d[i]);
    printf("\n");
    return 0;
}
