/* decode.c - the x86 instruction decoder: raw bytes -> struct insn.
 *
 * A pure function of the bytes and the default operand size (CS.D). It is
 * on the interpreter's hot path until instructions are cached, so it is
 * driven by two constant attribute tables (one-byte map and 0F map) that
 * say, per opcode, whether a ModRM byte follows and what immediate the
 * instruction carries.
 *
 * Conventions of the decoded form (struct insn, insn.h), beyond the header:
 *  - opsize/adsize are 16 or 32: CS.D flipped by 66/67.
 *  - pfx: F2 and F3 exclude each other, the last one given wins (as on
 *    hardware for string instructions); the last segment override wins.
 *  - seg is always valid: the override if one was given, else SS when the
 *    memory operand's base is EBP/ESP (BP in 16-bit addressing), else DS.
 *    Instructions without a ModRM memory operand (string instructions,
 *    XLAT, moffs MOVs) get the override or DS: their source segment.
 *  - base/index are REG_NONE when absent; scale is 0 when there is no
 *    index. For mod == 3 both are REG_NONE and disp is 0.
 *  - 16-bit addressing fills base/index from the fixed table
 *    (BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP or disp16, BX), scale 0; a
 *    lone register (SI, DI, BP, BX) is the base, the index is REG_NONE.
 *  - MOV to/from CR/DR (0F 20-23, and the obsolete TR moves 0F 24/26)
 *    ignore the mod field: the operand is always the register rm, and the
 *    decoded mod is 3 (no SIB, no displacement).
 *  - moffs MOVs (A0-A3): has_modrm = 0, base = index = REG_NONE and the
 *    offset (2 or 4 bytes by adsize, zero-extended) is in disp. Their
 *    handlers compute the address from disp (insn_ea() also works).
 *    imm_size is 0.
 *  - imm is sign-extended to 32 bits for relative branches (70-7F, E0-E3,
 *    E8, E9, EB, 0F 80-8F; rel16 when opsize is 16) and for 6A, 6B, 83;
 *    every other immediate is zero-extended. imm_size is the size of the
 *    first immediate in bytes.
 *  - ENTER (C8): imm = Iw (frame size), imm2 = Ib (level).
 *    Far pointers (9A, EA): imm = offset (2/4 bytes by opsize), imm2 =
 *    selector.
 *  - fn = optable[op], except: opcodes that do not exist on vsmp's i686
 *    (MMX, SSE, 3DNow!, the 0F 38 / 0F 3A maps, UD0/UD1/UD2) always get
 *    op_ud, and so does a LOCK prefix on an instruction that is not
 *    lockable or whose destination is not memory. The maps' bytes are
 *    still decoded (ModRM, immediates) so that their length is right.
 *  - optable must have been filled (optable_init()) before decoding;
 *    otherwise fn is NULL for ordinary opcodes.
 *
 * Errors: a byte at index >= 15 is never read - the instruction is then
 * longer than 15 bytes (DECODE_TOOLONG). Otherwise, needing a byte at
 * index >= avail returns DECODE_MORE; bytes[avail] is never read. On
 * either error *in is partly written and must not be used. */
#include "cpu/cpu.h"
#include "cpu/insn.h"

#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

/* ---- attribute tables ---- */

/* Immediate / operand kind, low 4 bits of an attribute. */
enum {
    I_NONE = 0,
    I_B,      /* imm8, zero-extended */
    I_BS,     /* imm8, sign-extended (rel8, 6A, 6B, 83) */
    I_W,      /* imm16 (RET/RETF Iw) */
    I_Z,      /* imm16/32 by opsize, zero-extended */
    I_ZS,     /* rel16/32 by opsize, sign-extended */
    I_ENTER,  /* Iw then Ib */
    I_FAR,    /* offset16/32 by opsize, then selector16 */
    I_MOFFS,  /* offset16/32 by adsize, into disp */
    I_G3B,    /* F6: Ib only for /0 and /1 (TEST) */
    I_G3Z,    /* F7: Iz only for /0 and /1 (TEST) */
    I_ESC38,  /* 0F 38 xx ModRM (no i686 instruction) */
    I_ESC3A,  /* 0F 3A xx ModRM Ib (no i686 instruction) */
};
#define A_KIND  0x000fu
#define A_MODRM 0x0010u  /* a ModRM byte follows the opcode */
#define A_UD    0x0020u  /* does not exist on vsmp's CPU: always op_ud */
#define A_CRDR  0x0040u  /* ModRM with mod ignored (always a register) */
#define A_PFX   0x0080u  /* a legacy prefix byte (one-byte map only) */

/* Short names for the tables. */
#define __  0
#define M   A_MODRM
#define MB  (A_MODRM | I_B)
#define MBS (A_MODRM | I_BS)
#define MZ  (A_MODRM | I_Z)
#define B   I_B
#define BS  I_BS
#define W   I_W
#define Z   I_Z
#define ZS  I_ZS
#define EN  I_ENTER
#define FP  I_FAR
#define MO  I_MOFFS
#define G3B (A_MODRM | I_G3B)
#define G3Z (A_MODRM | I_G3Z)
#define P   A_PFX
#define U   A_UD
#define UM  (A_UD | A_MODRM)
#define UMB (A_UD | A_MODRM | I_B)
#define CR  (A_MODRM | A_CRDR)

static const uint16_t attr_tab[512] = {
    /* ---- one-byte map ---- */
    /*        0    1    2    3    4    5    6    7    8    9    A    B    C    D    E    F */
    /* 0 */   M,   M,   M,   M,   B,   Z,   __,  __,  M,   M,   M,   M,   B,   Z,   __,  __,
    /* 1 */   M,   M,   M,   M,   B,   Z,   __,  __,  M,   M,   M,   M,   B,   Z,   __,  __,
    /* 2 */   M,   M,   M,   M,   B,   Z,   P,   __,  M,   M,   M,   M,   B,   Z,   P,   __,
    /* 3 */   M,   M,   M,   M,   B,   Z,   P,   __,  M,   M,   M,   M,   B,   Z,   P,   __,
    /* 4 */   __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,
    /* 5 */   __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  __,
    /* 6 */   __,  __,  M,   M,   P,   P,   P,   P,   Z,   MZ,  BS,  MBS, __,  __,  __,  __,
    /* 7 */   BS,  BS,  BS,  BS,  BS,  BS,  BS,  BS,  BS,  BS,  BS,  BS,  BS,  BS,  BS,  BS,
    /* 8 */   MB,  MZ,  MB,  MBS, M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
    /* 9 */   __,  __,  __,  __,  __,  __,  __,  __,  __,  __,  FP,  __,  __,  __,  __,  __,
    /* A */   MO,  MO,  MO,  MO,  __,  __,  __,  __,  B,   Z,   __,  __,  __,  __,  __,  __,
    /* B */   B,   B,   B,   B,   B,   B,   B,   B,   Z,   Z,   Z,   Z,   Z,   Z,   Z,   Z,
    /* C */   MB,  MB,  W,   __,  M,   M,   MB,  MZ,  EN,  __,  W,   __,  __,  B,   __,  __,
    /* D */   M,   M,   M,   M,   B,   B,   __,  __,  M,   M,   M,   M,   M,   M,   M,   M,
    /* E */   BS,  BS,  BS,  BS,  B,   B,   B,   B,   ZS,  ZS,  FP,  BS,  __,  __,  __,  __,
    /* F */   P,   __,  P,   P,   __,  __,  G3B, G3Z, __,  __,  __,  __,  __,  __,  M,   M,

    /* ---- two-byte map, 0F xx ---- */
    /*        0    1    2    3    4    5    6    7    8    9    A    B    C    D    E    F */
    /* 0 */   M,   M,   M,   M,   __,  __,  __,  __,  __,  __,  __,  U,   __,  M,   U,   UMB,
    /* 1 */   UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  M,   M,   M,   M,   M,   M,   M,   M,
    /* 2 */   CR,  CR,  CR,  CR,  CR,  __,  CR,  __,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,
    /* 3 */   __,  __,  __,  __,  __,  __,  __,  __,  I_ESC38|U, __, I_ESC3A|U, __, __, __, __, __,
    /* 4 */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
    /* 5 */   UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,
    /* 6 */   UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,
    /* 7 */   UMB, UMB, UMB, UMB, UM,  UM,  UM,  U,   UM,  UM,  __,  __,  UM,  UM,  UM,  UM,
    /* 8 */   ZS,  ZS,  ZS,  ZS,  ZS,  ZS,  ZS,  ZS,  ZS,  ZS,  ZS,  ZS,  ZS,  ZS,  ZS,  ZS,
    /* 9 */   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,   M,
    /* A */   __,  __,  __,  M,   MB,  M,   __,  __,  __,  __,  __,  M,   MB,  M,   M,   M,
    /* B */   M,   M,   M,   M,   M,   M,   M,   M,   UM,  UM,  MB,  M,   M,   M,   M,   M,
    /* C */   M,   M,   UMB, UM,  UMB, UMB, UMB, M,   __,  __,  __,  __,  __,  __,  __,  __,
    /* D */   UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,
    /* E */   UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,
    /* F */   UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,  UM,
};

#undef __
#undef M
#undef MB
#undef MBS
#undef MZ
#undef B
#undef BS
#undef W
#undef Z
#undef ZS
#undef EN
#undef FP
#undef MO
#undef G3B
#undef G3Z
#undef P
#undef U
#undef UM
#undef UMB
#undef CR

/* 16-bit addressing: base and index registers of rm 0..7 (rm 6 with
 * mod 0 is a bare disp16, handled in the code). */
static const uint8_t ea16_base[8] = {
    R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX,
};
static const uint8_t ea16_index[8] = {
    R_ESI, R_EDI, R_ESI, R_EDI, REG_NONE, REG_NONE, REG_NONE, REG_NONE,
};

/* ---- LOCK ---- */

/* Is a LOCK prefix allowed on this decoded instruction? Only the
 * read-modify-write instructions the SDM lists, and only with a memory
 * destination. Called only when LOCK was given (cold path). */
static int lock_ok(const struct insn *in)
{
    unsigned op = in->op;
    unsigned r = in->reg;

    if (!in->has_modrm || in->mod == 3)
        return 0;
    if (op < 0x40) {
        /* ALU rows 00-3F: ADD OR ADC SBB AND SUB XOR with Eb/Ev
         * destination (xx0/xx1 forms); not CMP (38/39). */
        return (op & 7) <= 1 && op < 0x38;
    }
    switch (op) {
    case 0x80: case 0x81: case 0x82: case 0x83: /* group 1, not CMP */
        return r != 7;
    case 0x86: case 0x87:                       /* XCHG */
        return 1;
    case 0xf6: case 0xf7:                       /* NOT, NEG */
        return r == 2 || r == 3;
    case 0xfe: case 0xff:                       /* INC, DEC */
        return r <= 1;
    case 0x1ab: case 0x1b3: case 0x1bb:         /* BTS BTR BTC Ev,Gv */
    case 0x1b0: case 0x1b1:                     /* CMPXCHG */
    case 0x1c0: case 0x1c1:                     /* XADD */
        return 1;
    case 0x1ba:                                 /* BTS BTR BTC Ev,Ib */
        return r >= 5;
    case 0x1c7:                                 /* CMPXCHG8B */
        return r == 1;
    default:
        return 0;
    }
}

/* ---- the decoder ---- */

/* Failure for an instruction that needs bytes up to index end-1. */
static inline int need_fail(int end)
{
    return end > 15 ? DECODE_TOOLONG : DECODE_MORE;
}

/* Little-endian loads; the caller has checked the bounds. */
static inline uint32_t ld16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}
static inline uint32_t ld32(const uint8_t *p)
{
    /* Compiles to one unaligned load on little-endian hosts. */
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

int decode_insn(struct insn *in, const uint8_t *bytes, int avail, int code32)
{
    /* Bytes that may be read: min(avail, 15). Needing byte index >= lim
     * means DECODE_MORE, or DECODE_TOOLONG when the index is >= 15. */
    const int lim = avail < 15 ? avail : 15;
    int p = 0;
    unsigned pfx = 0;
    unsigned sego = SEG_NONE;   /* segment override */
    unsigned op, a;

#define NEED(n)                      \
    do {                             \
        if (p + (n) > lim)           \
            return need_fail(p + (n)); \
    } while (0)

    /* Prefixes, then the opcode. */
    for (;;) {
        NEED(1);
        op = bytes[p++];
        a = attr_tab[op];
        if (!(a & A_PFX))
            break;
        switch (op) {
        case 0xf0: pfx |= PFX_LOCK; break;
        case 0xf2: pfx = (pfx & ~PFX_REP) | PFX_REPNE; break;
        case 0xf3: pfx = (pfx & ~PFX_REPNE) | PFX_REP; break;
        case 0x66: pfx |= PFX_OPSIZE; break;
        case 0x67: pfx |= PFX_ADSIZE; break;
        case 0x26: sego = S_ES; pfx |= PFX_SEG; break;
        case 0x2e: sego = S_CS; pfx |= PFX_SEG; break;
        case 0x36: sego = S_SS; pfx |= PFX_SEG; break;
        case 0x3e: sego = S_DS; pfx |= PFX_SEG; break;
        case 0x64: sego = S_FS; pfx |= PFX_SEG; break;
        default:   sego = S_GS; pfx |= PFX_SEG; break; /* 0x65 */
        }
    }
    if (op == 0x0f) {
        NEED(1);
        op = 0x100u | bytes[p++];
        a = attr_tab[op];
    }

    in->op = (uint16_t)op;
    in->pfx = (uint8_t)pfx;
    in->opsize = (code32 != 0) != ((pfx & PFX_OPSIZE) != 0) ? 32 : 16;
    in->adsize = (code32 != 0) != ((pfx & PFX_ADSIZE) != 0) ? 32 : 16;
    in->has_modrm = 0;
    in->mod = 0;
    in->reg = 0;
    in->rm = 0;
    in->base = REG_NONE;
    in->index = REG_NONE;
    in->scale = 0;
    in->imm_size = 0;
    in->disp = 0;
    in->imm = 0;
    in->imm2 = 0;

    unsigned kind = a & A_KIND;
    unsigned defseg = S_DS;

    /* The 0F 38 / 0F 3A maps: one more opcode byte before the ModRM. */
    if (unlikely(kind == I_ESC38 || kind == I_ESC3A)) {
        NEED(1);
        p++;
        a |= A_MODRM;
    }

    if (a & A_MODRM) {
        NEED(1);
        unsigned m = bytes[p++];
        unsigned mod = m >> 6, rm = m & 7;
        in->has_modrm = 1;
        in->reg = (m >> 3) & 7;
        in->rm = (uint8_t)rm;
        if (unlikely(a & A_CRDR))
            mod = 3;
        in->mod = (uint8_t)mod;
        if (mod != 3) {
            if (in->adsize == 32) {
                unsigned base = rm;
                if (rm == 4) {
                    NEED(1);
                    unsigned s = bytes[p++];
                    unsigned idx = (s >> 3) & 7;
                    base = s & 7;
                    if (idx != 4) {
                        in->index = (uint8_t)idx;
                        in->scale = (uint8_t)(s >> 6);
                    }
                    if (base == 5 && mod == 0) {
                        base = REG_NONE;
                        mod = 2;        /* disp32 follows */
                    }
                } else if (rm == 5 && mod == 0) {
                    base = REG_NONE;
                    mod = 2;            /* disp32 follows */
                }
                in->base = (uint8_t)base;
                if (base == R_ESP || base == R_EBP)
                    defseg = S_SS;
                if (mod == 1) {
                    NEED(1);
                    in->disp = (uint32_t)(int32_t)(int8_t)bytes[p];
                    p += 1;
                } else if (mod == 2) {
                    NEED(4);
                    in->disp = ld32(bytes + p);
                    p += 4;
                }
            } else {
                if (rm == 6 && mod == 0) {
                    mod = 2;            /* bare disp16 */
                } else {
                    in->base = ea16_base[rm];
                    in->index = ea16_index[rm];
                    if (in->base == R_EBP)
                        defseg = S_SS;
                }
                if (mod == 1) {
                    NEED(1);
                    in->disp = (uint32_t)(int32_t)(int8_t)bytes[p];
                    p += 1;
                } else if (mod == 2) {
                    NEED(2);
                    in->disp = (uint32_t)(int32_t)(int16_t)ld16(bytes + p);
                    p += 2;
                }
            }
        }
    }
    in->seg = (uint8_t)(sego != SEG_NONE ? sego : defseg);

    /* Immediates. */
    switch (kind) {
    case I_NONE:
    case I_ESC38:
        break;
    case I_G3B:             /* F6: only TEST (/0, /1) has an immediate */
        if (in->reg > 1)
            break;
        __attribute__((fallthrough));
    case I_B:
    case I_ESC3A:
        NEED(1);
        in->imm = bytes[p];
        in->imm_size = 1;
        p += 1;
        break;
    case I_BS:
        NEED(1);
        in->imm = (uint32_t)(int32_t)(int8_t)bytes[p];
        in->imm_size = 1;
        p += 1;
        break;
    case I_W:
        NEED(2);
        in->imm = ld16(bytes + p);
        in->imm_size = 2;
        p += 2;
        break;
    case I_G3Z:             /* F7: only TEST (/0, /1) has an immediate */
        if (in->reg > 1)
            break;
        __attribute__((fallthrough));
    case I_Z:
    case I_ZS:
    case I_FAR:
        if (in->opsize == 32) {
            NEED(4);
            in->imm = ld32(bytes + p);
            in->imm_size = 4;
            p += 4;
        } else {
            NEED(2);
            in->imm = ld16(bytes + p);
            if (kind == I_ZS)
                in->imm = (uint32_t)(int32_t)(int16_t)in->imm;
            in->imm_size = 2;
            p += 2;
        }
        if (kind == I_FAR) {
            NEED(2);
            in->imm2 = ld16(bytes + p);
            p += 2;
        }
        break;
    case I_ENTER:
        NEED(3);
        in->imm = ld16(bytes + p);
        in->imm2 = bytes[p + 2];
        in->imm_size = 2;
        p += 3;
        break;
    case I_MOFFS:
        if (in->adsize == 32) {
            NEED(4);
            in->disp = ld32(bytes + p);
            p += 4;
        } else {
            NEED(2);
            in->disp = ld16(bytes + p);
            p += 2;
        }
        break;
    default:
        break;
    }
#undef NEED

    in->len = (uint8_t)p;
    if (unlikely(a & A_UD))
        in->fn = op_ud;
    else
        in->fn = optable[op];
    if (unlikely(pfx & PFX_LOCK) && !lock_ok(in))
        in->fn = op_ud;
    return p;
}
