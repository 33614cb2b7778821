/* proto.h - shared between the 64-bit driver (difftest, gen, emu) and the
 * 32-bit native helper (native32): the fixed guest memory layout, the test
 * case and result records exchanged over the pipes, and the deterministic
 * filler of the data area (both sides regenerate the same initial data
 * from a 64-bit seed instead of shipping 16 KiB per case).
 *
 * Only uint8_t/uint32_t fields are used so that the layout is identical in
 * the i386 and x86-64 ABIs. */
#ifndef DIFF_PROTO_H
#define DIFF_PROTO_H

#include <stdint.h>
#include <string.h>

/* Fixed addresses (linear = physical in vsmp: flat segments, paging off). */
#define DT_CODE       0x00200000u   /* one page of code */
#define DT_CODE_SIZE  0x1000u
#define DT_RETSLOT    (DT_CODE + 0xffcu) /* native: address of the return stub */
#define DT_DATA       0x00300000u   /* the data area */
#define DT_DATA_SIZE  0x4000u
/* Layout inside the data area (offsets). */
#define DT_GEN_LO     0x0000u       /* random bytes */
#define DT_GEN_HI     0x2000u
#define DT_FP_LO      0x2000u       /* FP value slots, 16 bytes each */
#define DT_FP_SLOTS   256u
#define DT_STACK_LO   0x3000u       /* stack, ESP starts near 0x3400 */
#define DT_STACK_HI   0x3800u
#define DT_FPU_IN     0x3800u       /* FRSTOR image (108 bytes) */
#define DT_FPU_OUT    0x3900u       /* FNSAVE image, compared field-wise */
#define DT_CWTAB      0x3a00u       /* 16 control words for FLDCW */
#define DT_FPU_IMG    108u

/* FP slot types: slot i holds a value of type i % DT_FPT_N */
enum { DT_FPT_F32, DT_FPT_F64, DT_FPT_F80, DT_FPT_I16, DT_FPT_I32, DT_FPT_I64, DT_FPT_N };

#define DT_CODE_MAX   480u          /* sequence bytes, terminator excluded */
#define DT_DIRTY_MAX  192u          /* changed dwords reported per case */

#define DT_MAGIC_CASE 0x44544331u
#define DT_MAGIC_RES  0x44545231u

struct dt_case {
    uint32_t magic;
    uint32_t index;
    uint32_t fill_lo, fill_hi;      /* seed of the data-area filler */
    uint32_t regs[8];               /* EAX..EDI, ESP included */
    uint32_t eflags;                /* arithmetic flags and DF only */
    uint32_t code_len;              /* bytes at DT_CODE before the terminator */
    uint32_t has_fpu;               /* sequence starts with FRSTOR, ends with FNSAVE */
    uint8_t fpu_img[DT_FPU_IMG];    /* copied to DT_DATA + DT_FPU_IN */
    uint8_t code[DT_CODE_MAX];
};

struct dt_dirty {
    uint32_t off;                   /* offset in the data area, dword aligned */
    uint32_t val;
};

struct dt_result {
    uint32_t magic;
    uint32_t index;
    int32_t vector;                 /* -1: reached the end; else exception vector */
    uint32_t eip;                   /* DT_CODE + code_len when vector == -1 */
    uint32_t regs[8];
    uint32_t eflags;
    uint32_t ndirty;                /* changed dwords (may exceed DT_DIRTY_MAX) */
    uint8_t fpu[DT_FPU_IMG];        /* the FNSAVE image (has_fpu, no exception) */
    struct dt_dirty dirty[DT_DIRTY_MAX];
};

/* ---- deterministic PRNG (xorshift64*) shared by both sides ---- */
static inline uint64_t dt_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* splitmix64 step: turns (seed, index) into a well-mixed nonzero state */
static inline uint64_t dt_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 1;
}

static inline void dt_put16(uint8_t *p, uint32_t v) { p[0] = v; p[1] = v >> 8; }
static inline void dt_put32(uint8_t *p, uint32_t v)
{
    p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}
static inline void dt_put64(uint8_t *p, uint64_t v)
{
    dt_put32(p, (uint32_t)v);
    dt_put32(p + 4, (uint32_t)(v >> 32));
}

/* A "nice" extended value as (sign/exponent, 64-bit mantissa): mostly
 * small integers and moderate normals, sometimes zeros, infinities, NaNs,
 * denormals. The mantissa is trimmed to `mbits` significant bits so that
 * the value also fits a narrower format exactly when wanted. */
static inline void dt_nice80(uint64_t *s, uint64_t *mant, uint32_t *sexp)
{
    uint64_t r = dt_rand(s);
    uint32_t sign = (r >> 63) ? 0x8000u : 0;
    unsigned kind = r & 31;
    uint64_t m = dt_rand(s) | (1ull << 63);
    uint32_t e;
    if (kind == 0) {                         /* zero */
        *mant = 0; *sexp = sign; return;
    } else if (kind == 1) {                  /* infinity */
        *mant = 1ull << 63; *sexp = sign | 0x7fff; return;
    } else if (kind == 2) {                  /* quiet NaN */
        *mant = (3ull << 62) | (dt_rand(s) >> 40); *sexp = sign | 0x7fff; return;
    } else if (kind < 12) {                  /* small integer 1..1000 */
        uint32_t v = 1 + (uint32_t)((r >> 8) % 1000);
        int n = 63 - __builtin_clzll(v);
        *mant = (uint64_t)v << (63 - n); *sexp = sign | (0x3fff + n); return;
    } else if (kind < 20) {                  /* moderate, 24-bit mantissa */
        m &= ~((1ull << 40) - 1);
        e = 0x3fff - 20 + (uint32_t)((r >> 8) % 41);
    } else if (kind < 28) {                  /* moderate, full mantissa */
        e = 0x3fff - 40 + (uint32_t)((r >> 8) % 81);
    } else if (kind < 30) {                  /* wide range */
        e = 0x3fff - 200 + (uint32_t)((r >> 8) % 401);
    } else {                                 /* double-range edge */
        e = 0x3fff - 1020 + (uint32_t)((r >> 8) % 40);
    }
    *mant = m;
    *sexp = sign | e;
}

/* Convert a nice 80-bit value to float/double bit patterns (truncating
 * the mantissa, saturating the exponent range to inf/zero). */
static inline uint64_t dt_to64(uint64_t m, uint32_t se)
{
    uint64_t sign = (uint64_t)(se >> 15) << 63;
    int e = se & 0x7fff;
    if (e == 0x7fff)
        return sign | (0x7ffull << 52) | ((m << 1) >> 12);
    if (m == 0)
        return sign;
    e = e - 0x3fff + 1023;
    if (e >= 0x7ff) return sign | (0x7ffull << 52);
    if (e <= 0) /* denormal, or zero below the smallest (no shift by 64+) */
        return 1 - e >= 64 ? sign : sign | ((m >> 11) >> (1 - e));
    return sign | ((uint64_t)e << 52) | ((m << 1) >> 12);
}
static inline uint32_t dt_to32(uint64_t m, uint32_t se)
{
    uint32_t sign = (se >> 15) << 31;
    int e = se & 0x7fff;
    if (e == 0x7fff)
        return sign | (0xffu << 23) | (uint32_t)((m << 1) >> 41);
    if (m == 0)
        return sign;
    e = e - 0x3fff + 127;
    if (e >= 0xff) return sign | (0xffu << 23);
    if (e <= 0) /* denormal, or zero below the smallest (no shift by 64+) */
        return 1 - e >= 64 ? sign : sign | (uint32_t)((m >> 40) >> (1 - e));
    return sign | ((uint32_t)e << 23) | (uint32_t)((m << 1) >> 41);
}

/* Fill the data area (DT_DATA_SIZE bytes at `d`) from `seed`. */
static inline void dt_fill(uint8_t *d, uint64_t seed)
{
    uint64_t s = dt_mix(seed);
    unsigned mode = dt_rand(&s) & 3;
    uint32_t i;
    /* general area: mode 0/1 random bytes, 2 few distinct values (so that
     * CMPS/SCAS/CMPXCHG find equal data), 3 mostly zero/small dwords */
    for (i = DT_GEN_LO; i < DT_STACK_HI; i += 8) {
        uint64_t r = dt_rand(&s);
        if (i >= DT_FP_LO && i < DT_STACK_LO)
            continue;                        /* filled below */
        if (mode == 2 && i < DT_GEN_HI) {
            static const uint8_t pool[4] = { 0x00, 0x41, 0xff, 0x80 };
            for (int k = 0; k < 8; k++)
                d[i + k] = pool[(r >> (2 * k)) & 1 ? 0 : ((r >> (2 * k + 16)) & 3)];
        } else if (mode == 3 && i < DT_GEN_HI) {
            dt_put32(d + i, (r & 0x100) ? 0 : (uint32_t)(r & 0xff));
            dt_put32(d + i + 4, (r & 0x200) ? 0 : (uint32_t)((r >> 16) & 0x1ff));
        } else {
            dt_put64(d + i, r);
        }
    }
    /* FP slots */
    for (i = 0; i < DT_FP_SLOTS; i++) {
        uint8_t *p = d + DT_FP_LO + 16 * i;
        uint64_t m, r = dt_rand(&s);
        uint32_t se;
        memset(p, 0, 16);
        dt_nice80(&s, &m, &se);
        switch (i % DT_FPT_N) {
        case DT_FPT_F32: dt_put32(p, dt_to32(m, se)); break;
        case DT_FPT_F64: dt_put64(p, dt_to64(m, se)); break;
        case DT_FPT_F80:
            if ((r & 0x3f00) == 0) {    /* unsupported / pseudo-denormal encodings */
                m = dt_rand(&s);
                se = (r & 0x4000) ? (uint32_t)(r >> 16) & 0xffff : (uint32_t)(r >> 16) & 0x8000;
                if (!(r & 0x8000)) m &= ~(1ull << 63); else m |= 1ull << 63;
            }
            dt_put64(p, m);
            dt_put16(p + 8, se);
            break;
        case DT_FPT_I16: dt_put16(p, (r & 1) ? (uint32_t)(r >> 8) : (uint32_t)((int32_t)(r >> 8) % 300)); break;
        case DT_FPT_I32: dt_put32(p, (r & 1) ? (uint32_t)(r >> 8) : (uint32_t)((int32_t)(r >> 8) % 100000)); break;
        default: dt_put64(p, (r & 1) ? dt_rand(&s) : (uint64_t)(int64_t)((int32_t)(r >> 8) % 100000)); break;
        }
    }
    memset(d + DT_STACK_HI, 0, DT_DATA_SIZE - DT_STACK_HI);
    /* control words: all masks set, RC 0..3, PC single/double/extended */
    for (i = 0; i < 16; i++) {
        static const uint32_t pc[4] = { 0, 2, 3, 3 };
        dt_put16(d + DT_CWTAB + 2 * i, 0x037fu & ~0x0300u);
        d[DT_CWTAB + 2 * i + 1] |= (uint8_t)((i & 3) << 2 | pc[i >> 2]);
    }
}

#endif
