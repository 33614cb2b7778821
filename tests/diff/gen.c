/* gen.c - random instruction-sequence generator for the differential test.
 *
 * A case is 1-8 "items"; an item is one instruction of some class, preceded
 * by the setup instructions it needs (MOV reg, imm32 to make a base register
 * point into the data area, ECX a small count, ...). The generator keeps
 * what it knows about each register (junk, pointer into the data area,
 * small value) so that every memory access stays inside the mapped area,
 * and the set of EFLAGS bits / x87 condition codes that are undefined
 * (SDM) so far. It never generates an instruction that reads an undefined
 * flag (ADC, Jcc, SETcc, CMOVcc, LAHF, ...); undefined flags left at the
 * end (or at a faulting instruction) are masked by the comparison.
 *
 * Encodings are built by hand from the opcode map (SDM Vol. 2, App. A). */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

const char *const gen_class_names[GC_COUNT] = {
    "alu", "incdec", "shift", "shld", "mul", "div", "bcd", "bit",
    "bsf", "movx", "mov", "cmov", "setcc", "xchg", "cmpxchg",
    "bswap", "lea", "stack", "string", "conv", "flag", "branch",
    "xlat",
    "fldst", "farith", "fcmp", "fmisc", "ftrans",
};

int gen_class_by_name(const char *name)
{
    for (int i = 0; i < GC_COUNT; i++)
        if (!strcmp(name, gen_class_names[i]))
            return i;
    return -1;
}

/* EFLAGS bits (duplicated from cpu.h to keep this file core-independent) */
#define CF 0x001u
#define PF 0x004u
#define AF 0x010u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define ALLF (CF | PF | AF | ZF | SF | OF)
#define DF 0x400u
/* FSW condition codes */
#define C0 0x0100u
#define C1 0x0200u
#define C2 0x0400u
#define C3 0x4000u
#define CALL (C0 | C1 | C2 | C3)

#define R_EAX 0
#define R_ECX 1
#define R_EDX 2
#define R_EBX 3
#define R_ESP 4
#define R_EBP 5
#define R_ESI 6
#define R_EDI 7

/* What the generator knows about a register. */
enum { K_JUNK, K_PTR, K_SMALL };

struct gst {
    struct gen_case *gc;
    uint8_t *code;
    int len;
    uint64_t rng;
    int only;              /* class filter or -1 */
    int has_fpu;
    uint32_t undef;        /* EFLAGS bits undefined now */
    uint32_t cundef;       /* FSW condition bits undefined now */
    int kind[8];
    int exact[8];          /* val[] is exact */
    uint32_t val[8];
    int fdepth;            /* approximate x87 stack depth */
    int depth;             /* item nesting (branch bodies) */
};

/* A memory operand before encoding. */
struct mem {
    int base, index;       /* register or -1 */
    int scale;             /* log2 */
    int32_t disp;
    int force32;           /* always use a 32-bit displacement */
    int seg;               /* segment-override prefix byte or 0 */
};

/* An r/m operand: a register or memory. */
struct rm {
    int is_reg;
    int reg;
    struct mem m;
};

static uint32_t rnd(struct gst *g) { return (uint32_t)(dt_rand(&g->rng) >> 32); }
static uint32_t rn(struct gst *g, uint32_t n) { return rnd(g) % n; }
static int chance(struct gst *g, int pct) { return (int)rn(g, 100) < pct; }

static void emit(struct gst *g, uint8_t b)
{
    if (g->len < (int)DT_CODE_MAX)
        g->code[g->len] = b;
    g->len++;
}
static void emit16(struct gst *g, uint32_t v) { emit(g, v); emit(g, v >> 8); }
static void emit32(struct gst *g, uint32_t v) { emit16(g, v); emit16(g, v >> 16); }

/* Record an instruction boundary (before its first byte). */
static void begin(struct gst *g, int cls)
{
    struct gen_case *gc = g->gc;
    if (gc->nbound < GEN_MAX_BOUND) {
        struct gen_bound *b = &gc->b[gc->nbound++];
        b->off = (uint16_t)g->len;
        b->cls = (uint8_t)cls;
        b->undef_fl = g->undef;
        b->undef_c = g->cundef;
    }
    if (cls < GC_COUNT && g->depth >= 0)
        gc->nclass[cls]++;
}

/* Flag bookkeeping: `def` become defined, `und` undefined. */
static void fl(struct gst *g, uint32_t def, uint32_t und)
{
    g->undef = (g->undef & ~def) | und;
}
static void fc(struct gst *g, uint32_t def, uint32_t und)
{
    g->cundef = (g->cundef & ~def) | und;
}
static int readable(struct gst *g, uint32_t mask) { return !(g->undef & mask); }

/* Flags read by condition code cc. */
static uint32_t cc_flags(int cc)
{
    static const uint32_t t[8] = { OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF };
    return t[(cc >> 1) & 7];
}

/* A random condition code whose flags are defined, or -1. */
static int pick_cc(struct gst *g)
{
    for (int i = 0; i < 16; i++) {
        int cc = (int)rn(g, 16);
        if (readable(g, cc_flags(cc)))
            return cc;
    }
    return -1;
}

/* Register n (32-bit number) written with unknown contents. */
static void junk(struct gst *g, int r)
{
    if (r != R_ESP) {
        g->kind[r] = K_JUNK;
        g->exact[r] = 0;
    }
}
/* A write to register n of size sz (1: n 4-7 are AH..BH). */
static void junk_sz(struct gst *g, int n, int sz)
{
    junk(g, sz == 1 ? (n & 3) : n);
}

/* ---- setup instructions ---- */

static void set_reg(struct gst *g, int r, uint32_t v, int kind)
{
    begin(g, GC_SETUP);
    emit(g, 0xb8 + r);
    emit32(g, v);
    g->kind[r] = kind;
    g->exact[r] = 1;
    g->val[r] = v;
}

/* A pointer into the general part of the data area. */
static uint32_t rand_ptr(struct gst *g)
{
    return DT_DATA + 0x800 + rn(g, 0x1000);
}

/* A register (not ESP, not in `avoid` bitmask) to hold a new value. */
static int free_reg(struct gst *g, unsigned avoid)
{
    avoid |= 1u << R_ESP;
    for (;;) {
        int r = (int)rn(g, 8);
        if (!(avoid & (1u << r)))
            return r;
    }
}

/* A register currently of `kind` not in `avoid`; set one up if none (or
 * sometimes anyway). */
static int get_kind(struct gst *g, int kind, unsigned avoid, int allow_esp)
{
    int cand[8], n = 0;
    for (int r = 0; r < 8; r++) {
        if (avoid & (1u << r))
            continue;
        if (r == R_ESP && !(allow_esp && kind == K_PTR))
            continue;
        if (g->kind[r] == kind || (r == R_ESP && kind == K_PTR))
            cand[n++] = r;
    }
    if (n && !chance(g, 15))
        return cand[rn(g, n)];
    int r = free_reg(g, avoid);
    set_reg(g, r, kind == K_PTR ? rand_ptr(g) : rn(g, 64), kind);
    return r;
}

/* A random memory operand covering `size` bytes inside the data area.
 * avoid: registers the instruction needs for something else. */
static void pick_mem(struct gst *g, struct mem *m, unsigned avoid)
{
    int form = (int)rn(g, 10);
    memset(m, 0, sizeof(*m));
    m->base = m->index = -1;
    if (form == 0) {                       /* [disp32] */
        m->disp = (int32_t)rand_ptr(g);
    } else {
        if (form != 1)
            m->base = get_kind(g, K_PTR, avoid, chance(g, 15));
        if (form <= 3) {                   /* with an index */
            m->index = get_kind(g, K_SMALL, avoid | (m->base >= 0 ? 1u << m->base : 0), 0);
            m->scale = (int)rn(g, 4);
        }
        if (m->base < 0) {
            m->disp = (int32_t)rand_ptr(g);
        } else {
            switch (rn(g, 4)) {
            case 0: m->disp = 0; break;
            case 1: m->disp = (int32_t)rn(g, 256) - 128; break;
            case 2: m->disp = (int32_t)rn(g, 0x400) - 0x200; break;
            default: m->disp = (int32_t)rn(g, 64) - 32; m->force32 = 1; break;
            }
        }
    }
    /* sometimes aim the access at a page boundary so that it straddles
     * two pages (the split slow path of the MMU) */
    if (chance(g, 12) && (m->base < 0 || g->exact[m->base] || m->base == R_ESP) &&
        (m->index < 0 || g->exact[m->index]) && m->base != R_ESP) {
        uint32_t ea = (m->base >= 0 ? g->val[m->base] : 0) +
                      (m->index >= 0 ? g->val[m->index] << m->scale : 0);
        uint32_t target = DT_DATA + 0x1000 * (1 + rn(g, 2)) - 1 - rn(g, 8);
        m->disp = (int32_t)(target - ea);
    }
    if (chance(g, 8)) {
        static const uint8_t segs[3] = { 0x26, 0x36, 0x3e };
        m->seg = segs[rn(g, 3)];
    }
}

/* A memory operand at exactly absolute address `addr`. */
static void exact_mem(struct gst *g, struct mem *m, uint32_t addr)
{
    memset(m, 0, sizeof(*m));
    m->base = m->index = -1;
    int ptrs[8], n = 0;
    for (int r = 0; r < 8; r++)
        if (r != R_ESP && g->kind[r] == K_PTR && g->exact[r])
            ptrs[n++] = r;
    switch (rn(g, 4)) {
    case 0:
    case 1:
        if (n) {
            m->base = ptrs[rn(g, n)];
            m->disp = (int32_t)(addr - g->val[m->base]);
            return;
        }
        break;
    case 2:
        for (int r = 0; r < 8; r++)
            if (r != R_ESP && g->kind[r] == K_SMALL && g->exact[r]) {
                m->index = r;
                m->scale = (int)rn(g, 4);
                m->disp = (int32_t)(addr - (g->val[r] << m->scale));
                return;
            }
        break;
    }
    m->disp = (int32_t)addr;
}

/* Address of a random FP slot of type t. */
static uint32_t fp_slot(struct gst *g, int t)
{
    uint32_t k = rn(g, DT_FP_SLOTS / DT_FPT_N);
    return DT_DATA + DT_FP_LO + 16 * (k * DT_FPT_N + (uint32_t)t);
}

/* Emit ModRM (+SIB +disp) with the given reg field. */
static void put_modrm(struct gst *g, int regf, const struct rm *o)
{
    if (o->is_reg) {
        emit(g, 0xc0 | regf << 3 | o->reg);
        return;
    }
    const struct mem *m = &o->m;
    int mod, dsz;
    if (m->base < 0) {
        if (m->index < 0) {
            emit(g, regf << 3 | 5);
        } else {
            emit(g, regf << 3 | 4);
            emit(g, m->scale << 6 | m->index << 3 | 5);
        }
        emit32(g, (uint32_t)m->disp);
        return;
    }
    if (m->force32 || m->disp < -128 || m->disp > 127)
        mod = 2, dsz = 4;
    else if (m->disp != 0 || m->base == R_EBP)
        mod = 1, dsz = 1;
    else
        mod = 0, dsz = 0;
    if (m->index >= 0 || m->base == R_ESP) {
        emit(g, mod << 6 | regf << 3 | 4);
        emit(g, m->scale << 6 | (m->index >= 0 ? m->index : 4) << 3 | m->base);
    } else {
        emit(g, mod << 6 | regf << 3 | m->base);
    }
    if (dsz == 1)
        emit(g, (uint8_t)m->disp);
    else if (dsz == 4)
        emit32(g, (uint32_t)m->disp);
}

/* Emit a whole instruction: [lock] [seg] [66] opcode(s) modrm imm. */
static void ins(struct gst *g, int cls, int sz, int lock, const uint8_t *op, int oplen,
                int regf, const struct rm *o, uint32_t imm, int immsz)
{
    begin(g, cls);
    if (lock)
        emit(g, 0xf0);
    if (o && !o->is_reg && o->m.seg)
        emit(g, o->m.seg);
    if (sz == 2)
        emit(g, 0x66);
    for (int i = 0; i < oplen; i++)
        emit(g, op[i]);
    if (o)
        put_modrm(g, regf, o);
    if (immsz == 1)
        emit(g, imm);
    else if (immsz == 2)
        emit16(g, imm);
    else if (immsz == 4)
        emit32(g, imm);
}

static void ins1(struct gst *g, int cls, int sz, uint8_t op, int regf, const struct rm *o,
                 uint32_t imm, int immsz)
{
    ins(g, cls, sz, 0, &op, 1, regf, o, imm, immsz);
}

static void ins2(struct gst *g, int cls, int sz, int lock, uint8_t op2, int regf,
                 const struct rm *o, uint32_t imm, int immsz)
{
    uint8_t op[2] = { 0x0f, op2 };
    ins(g, cls, sz, lock, op, 2, regf, o, imm, immsz);
}

static int pick_sz(struct gst *g, int byte_ok)
{
    int r = (int)rn(g, byte_ok ? 3 : 2);
    return byte_ok ? (r == 0 ? 1 : r == 1 ? 2 : 4) : (r == 0 ? 2 : 4);
}

/* A register operand number to write at size sz (never ESP/SP). */
static int dst_reg(struct gst *g, int sz, unsigned avoid)
{
    for (;;) {
        int r = (int)rn(g, 8);
        int full = sz == 1 ? (r & 3) : r;
        if (sz != 1 && r == R_ESP)
            continue;
        if (avoid & (1u << full))
            continue;
        return r;
    }
}

/* An r/m operand: 55% register (written if `write`), else memory. */
static void pick_rm(struct gst *g, struct rm *o, int sz, int write, unsigned avoid)
{
    memset(o, 0, sizeof(*o));
    if (chance(g, 55)) {
        o->is_reg = 1;
        o->reg = write ? dst_reg(g, sz, avoid) : (int)rn(g, 8);
    } else {
        pick_mem(g, &o->m, avoid);
    }
}

static void rm_written(struct gst *g, const struct rm *o, int sz)
{
    if (o->is_reg)
        junk_sz(g, o->reg, sz);
}

static uint32_t rand_imm(struct gst *g, int sz)
{
    uint32_t v = rnd(g);
    switch (rn(g, 4)) {
    case 0: v &= 0xff; break;
    case 1: v = (uint32_t)(int32_t)(int8_t)v; break;
    case 2: v = rn(g, 3) == 0 ? 0 : (rn(g, 2) ? 0x80000000u >> (32 - 8 * sz) : 0xffffffffu); break;
    default: break;
    }
    if (sz == 1) v &= 0xff;
    if (sz == 2) v &= 0xffff;
    return v;
}

/* ================= integer classes ================= */

static void g_alu(struct gst *g)
{
    struct rm o;
    int op = (int)rn(g, 9); /* 0-7 add or adc sbb and sub xor cmp, 8 test */
    if ((op == 2 || op == 3) && !readable(g, CF))
        op = 0;
    int form = (int)rn(g, 6);
    int sz = pick_sz(g, 1);
    int writes = op != 7 && op != 8;
    int lock = 0;
    if (op == 8) {
        switch (form % 3) {
        case 0:
            pick_rm(g, &o, sz, 0, 0);
            ins1(g, GC_ALU, sz, sz == 1 ? 0x84 : 0x85, (int)rn(g, 8), &o, 0, 0);
            break;
        case 1:
            ins1(g, GC_ALU, sz, sz == 1 ? 0xa8 : 0xa9, 0, NULL, rand_imm(g, sz), sz == 1 ? 1 : sz);
            break;
        default:
            pick_rm(g, &o, sz, 0, 0);
            ins1(g, GC_ALU, sz, sz == 1 ? 0xf6 : 0xf7, 0, &o, rand_imm(g, sz), sz);
            break;
        }
        fl(g, ALLF & ~AF, AF);
        return;
    }
    switch (form) {
    case 0: /* E, G */
        pick_rm(g, &o, sz, writes, 0);
        lock = writes && !o.is_reg && chance(g, 20);
        if (chance(g, 1))
            lock = 1;       /* LOCK with a register or CMP: #UD */
        ins(g, GC_ALU, sz, lock, (uint8_t[]){ (uint8_t)(op * 8 + (sz == 1 ? 0 : 1)) }, 1,
            (int)rn(g, 8), &o, 0, 0);
        if (writes) rm_written(g, &o, sz);
        break;
    case 1: { /* G, E */
        int r = writes ? dst_reg(g, sz, 0) : (int)rn(g, 8);
        pick_rm(g, &o, sz, 0, 0);
        ins1(g, GC_ALU, sz, (uint8_t)(op * 8 + (sz == 1 ? 2 : 3)), r, &o, 0, 0);
        if (writes) junk_sz(g, r, sz);
        break;
    }
    case 2: /* AL/eAX, imm */
        ins1(g, GC_ALU, sz, (uint8_t)(op * 8 + (sz == 1 ? 4 : 5)), 0, NULL, rand_imm(g, sz), sz);
        if (writes) junk(g, R_EAX);
        break;
    default: { /* 80/81/83/82 /op E, imm */
        uint8_t opc;
        int isz;
        pick_rm(g, &o, sz, writes, 0);
        lock = writes && !o.is_reg && chance(g, 20);
        if (sz == 1) {
            opc = form == 5 ? 0x82 : 0x80;
            isz = 1;
        } else if (form == 4) {
            opc = 0x83;
            isz = 1;
        } else {
            opc = 0x81;
            isz = sz;
        }
        ins(g, GC_ALU, sz, lock, &opc, 1, op, &o, rand_imm(g, isz), isz);
        if (writes) rm_written(g, &o, sz);
        break;
    }
    }
    if (op == 1 || op == 4 || op == 6)
        fl(g, ALLF & ~AF, AF);
    else
        fl(g, ALLF, 0);
}

static void g_incdec(struct gst *g)
{
    struct rm o;
    int which = (int)rn(g, 5); /* inc dec not neg, 4: inc/dec short form */
    int sz = pick_sz(g, which != 4);
    if (which == 4) {
        int r = dst_reg(g, sz, 0);
        ins1(g, GC_INCDEC, sz, (uint8_t)((rn(g, 2) ? 0x40 : 0x48) + r), 0, NULL, 0, 0);
        junk(g, r);
        fl(g, ALLF & ~CF, 0);
        return;
    }
    pick_rm(g, &o, sz, 1, 0);
    int lock = o.is_reg ? chance(g, 1) : chance(g, 20); /* LOCK + register: #UD */
    if (which < 2) {
        uint8_t opc = sz == 1 ? 0xfe : 0xff;
        ins(g, GC_INCDEC, sz, lock, &opc, 1, which, &o, 0, 0);
        fl(g, ALLF & ~CF, 0);
    } else {
        uint8_t opc = sz == 1 ? 0xf6 : 0xf7;
        ins(g, GC_INCDEC, sz, lock, &opc, 1, which, &o, 0, 0);
        if (which == 3)
            fl(g, ALLF, 0);
    }
    rm_written(g, &o, sz);
}

/* A shift/rotate count: mostly small, sometimes large. */
static uint32_t rand_count(struct gst *g)
{
    switch (rn(g, 4)) {
    case 0: return 1;
    case 1: return rn(g, 8);
    case 2: return rn(g, 33);
    default: return rn(g, 256);
    }
}

static void g_shift(struct gst *g)
{
    static const int ops[7] = { 0, 1, 2, 3, 4, 5, 7 };
    struct rm o;
    int op = ops[rn(g, 7)];
    if ((op == 2 || op == 3) && !readable(g, CF))
        op = 4;
    int sz = pick_sz(g, 1);
    int form = (int)rn(g, 3); /* by 1, imm, CL */
    uint32_t count = form == 0 ? 1 : rand_count(g);
    if (form == 2) {
        /* MOV CL, count */
        begin(g, GC_SETUP);
        emit(g, 0xb1);
        emit(g, count);
        junk(g, R_ECX);
    }
    pick_rm(g, &o, sz, 1, form == 2 ? 1u << R_ECX : 0);
    if (form == 0)
        ins1(g, GC_SHIFT, sz, sz == 1 ? 0xd0 : 0xd1, op, &o, 0, 0);
    else if (form == 1)
        ins1(g, GC_SHIFT, sz, sz == 1 ? 0xc0 : 0xc1, op, &o, count, 1);
    else
        ins1(g, GC_SHIFT, sz, sz == 1 ? 0xd2 : 0xd3, op, &o, 0, 0);
    rm_written(g, &o, sz);
    uint32_t c = count & 31;
    if (c == 0)
        return;
    uint32_t ofu = c == 1 ? 0 : OF;
    if (op < 4) {            /* rotates: CF, OF */
        fl(g, (CF | OF) & ~ofu, ofu);
    } else {                 /* shifts */
        uint32_t cfu = (op != 7 && c >= (uint32_t)sz * 8) ? CF : 0;
        fl(g, (ALLF & ~AF) & ~ofu & ~cfu, AF | ofu | cfu);
    }
}

static void g_shld(struct gst *g)
{
    struct rm o;
    int sz = pick_sz(g, 0);
    int right = (int)rn(g, 2);
    int bycl = (int)rn(g, 2);
    uint32_t count;
    do
        count = rand_count(g);
    while (sz == 2 && (count & 31) > 16);   /* result undefined beyond 16 */
    if (bycl) {
        begin(g, GC_SETUP);
        emit(g, 0xb1);
        emit(g, count);
        junk(g, R_ECX);
    }
    pick_rm(g, &o, sz, 1, bycl ? 1u << R_ECX : 0);
    ins2(g, GC_SHLD, sz, 0, (uint8_t)((right ? 0xac : 0xa4) + bycl), (int)rn(g, 8), &o,
         count, bycl ? 0 : 1);
    rm_written(g, &o, sz);
    uint32_t c = count & 31;
    if (c == 0)
        return;
    uint32_t ofu = c == 1 ? 0 : OF;
    fl(g, (ALLF & ~AF) & ~ofu, AF | ofu);
}

static void g_mul(struct gst *g)
{
    struct rm o;
    int form = (int)rn(g, 5);
    if (form < 2) { /* mul / imul one operand */
        int sz = pick_sz(g, 1);
        pick_rm(g, &o, sz, 0, 0);
        ins1(g, GC_MUL, sz, sz == 1 ? 0xf6 : 0xf7, 4 + form, &o, 0, 0);
        junk(g, R_EAX);
        if (sz != 1)
            junk(g, R_EDX);
    } else {
        int sz = pick_sz(g, 0);
        int r = dst_reg(g, sz, 0);
        pick_rm(g, &o, sz, 0, 0);
        if (form == 2)
            ins2(g, GC_MUL, sz, 0, 0xaf, r, &o, 0, 0);
        else if (form == 3)
            ins1(g, GC_MUL, sz, 0x69, r, &o, rand_imm(g, sz), sz);
        else
            ins1(g, GC_MUL, sz, 0x6b, r, &o, rnd(g) & 0xff, 1);
        junk(g, r);
    }
    fl(g, CF | OF, SF | ZF | AF | PF);
}

static void g_div(struct gst *g)
{
    struct rm o;
    int sz = pick_sz(g, 1);
    int sign = (int)rn(g, 2);
    /* Usually make the quotient fit: zero/sign-extend the dividend and
     * use a divisor register with a known nonzero value; sometimes leave
     * everything random so that #DE (overflow or zero) happens. */
    int tame = chance(g, 85);
    if (tame) {
        begin(g, GC_SETUP);
        if (sz == 1) {              /* CBW or MOV AH, 0 */
            if (sign) emit(g, 0x66), emit(g, 0x98);
            else emit(g, 0xb4), emit(g, 0);
        } else {
            if (sz == 2) emit(g, 0x66);
            if (sign) emit(g, 0x99);                    /* CWD/CDQ */
            else emit(g, 0x31), emit(g, 0xd2);          /* XOR EDX, EDX */
            if (!sign) fl(g, ALLF & ~AF, AF);
        }
        junk(g, sz == 1 ? R_EAX : R_EDX);
    }
    if (tame && chance(g, 50)) {
        /* a register divisor with a known value (byte form: CL or BL) */
        int r;
        memset(&o, 0, sizeof(o));
        o.is_reg = 1;
        if (sz == 1)
            r = rn(g, 2) ? R_ECX : R_EBX;
        else
            r = free_reg(g, 1u << R_EAX | 1u << R_EDX);
        uint32_t v = 1 + rn(g, 1000);
        if (chance(g, 30)) v = rnd(g) | 1;
        if (sign && chance(g, 50)) v = (uint32_t)-(int32_t)v;
        set_reg(g, r, v, K_JUNK);
        o.reg = r;
    } else {
        pick_rm(g, &o, sz, 0, 0);
    }
    ins1(g, GC_DIV, sz, sz == 1 ? 0xf6 : 0xf7, 6 + sign, &o, 0, 0);
    junk(g, R_EAX);
    if (sz != 1)
        junk(g, R_EDX);
    fl(g, 0, ALLF);
}

static void g_bcd(struct gst *g)
{
    int w = (int)rn(g, 6);
    if (w < 2 && !readable(g, CF | AF))
        w = 4;
    if ((w == 2 || w == 3) && !readable(g, AF))
        w = 5;
    if (chance(g, 40)) {
        /* ADD/SUB AL, imm8 first so that AF/CF describe a BCD operation */
        begin(g, GC_SETUP);
        emit(g, rn(g, 2) ? 0x04 : 0x2c);
        emit(g, rnd(g) & 0xff);
        fl(g, ALLF, 0);
    }
    begin(g, GC_BCD);
    switch (w) {
    case 0: emit(g, 0x27); fl(g, ALLF & ~OF, OF); break;             /* DAA */
    case 1: emit(g, 0x2f); fl(g, ALLF & ~OF, OF); break;             /* DAS */
    case 2: emit(g, 0x37); fl(g, AF | CF, OF | SF | ZF | PF); break; /* AAA */
    case 3: emit(g, 0x3f); fl(g, AF | CF, OF | SF | ZF | PF); break; /* AAS */
    default: {                                                       /* AAM/AAD */
        uint32_t imm = chance(g, 60) ? 10 : rnd(g) & 0xff;
        if (w == 4 && chance(g, 3))
            imm = 0;                                                 /* #DE */
        emit(g, w == 4 ? 0xd4 : 0xd5);
        emit(g, imm);
        fl(g, SF | ZF | PF, OF | AF | CF);
        break;
    }
    }
    junk(g, R_EAX);
}

static void g_bit(struct gst *g)
{
    struct rm o;
    int op = (int)rn(g, 4); /* bt bts btr btc */
    int sz = pick_sz(g, 0);
    if (rn(g, 2)) { /* register bit offset */
        int r;
        pick_rm(g, &o, sz, op != 0, 0);
        if (!o.is_reg) {
            /* a large signed offset: the access lands up to +-1 KiB away */
            unsigned avoid = 0;
            if (o.m.base >= 0) avoid |= 1u << o.m.base;
            if (o.m.index >= 0) avoid |= 1u << o.m.index;
            r = free_reg(g, avoid);
            set_reg(g, r, (uint32_t)((int32_t)rn(g, 0x4000) - 0x2000), K_JUNK);
        } else {
            r = (int)rn(g, 8);
        }
        ins2(g, GC_BIT, sz, op && !o.is_reg && chance(g, 20), (uint8_t)(0xa3 + 8 * op), r, &o, 0, 0);
    } else {
        pick_rm(g, &o, sz, op != 0, 0);
        ins2(g, GC_BIT, sz, op && !o.is_reg && chance(g, 20), 0xba, 4 + op, &o, rnd(g) & 0xff, 1);
    }
    if (op)
        rm_written(g, &o, sz);
    fl(g, CF, OF | SF | AF | PF);
}

static void item(struct gst *g, int cls);

/* Emit "Jcc/JMP/LOOP rel" skipping over the next item; the flags and
 * register knowledge after the join are the worst of both paths. */
static void skip_over(struct gst *g, int cls, const uint8_t *op, int oplen, int rel32, int body_cls)
{
    begin(g, cls);
    for (int i = 0; i < oplen; i++)
        emit(g, op[i]);
    int at = g->len;
    if (rel32) emit32(g, 0); else emit(g, 0);
    /* path A: skipped */
    uint32_t u0 = g->undef, c0 = g->cundef;
    int k0[8], e0[8];
    uint32_t v0[8];
    memcpy(k0, g->kind, sizeof(k0));
    memcpy(e0, g->exact, sizeof(e0));
    memcpy(v0, g->val, sizeof(v0));
    int fd0 = g->fdepth;
    g->depth++;
    item(g, body_cls);
    g->depth--;
    int rel = g->len - (at + (rel32 ? 4 : 1));
    if (at + 4 <= (int)DT_CODE_MAX) {
        if (rel32)
            dt_put32(g->code + at, (uint32_t)rel);
        else
            g->code[at] = (uint8_t)rel;
    }
    g->undef |= u0;
    g->cundef |= c0;
    for (int r = 0; r < 8; r++) {
        if (g->kind[r] != k0[r])
            g->kind[r] = K_JUNK;
        if (!e0[r] || !g->exact[r] || v0[r] != g->val[r])
            g->exact[r] = 0;
    }
    if (g->fdepth > fd0) g->fdepth = fd0;
}

/* A random class for a branch body: anything but branches and x87
 * (unless the sequence has the FPU prologue). */
static int body_class(struct gst *g)
{
    for (;;) {
        int c = (int)rn(g, g->has_fpu ? GC_COUNT : GC_FIRST_FPU);
        if (c != GC_BRANCH && c != GC_BSF)
            return c;
    }
}

static void g_bsf(struct gst *g)
{
    struct rm o;
    int sz = pick_sz(g, 0);
    pick_rm(g, &o, sz, 0, 0);
    /* TEST src, src / CMP [mem], 0 ; JZ over ; BSF/BSR r, src
     * (the destination is undefined for a zero source: never run that) */
    if (o.is_reg) {
        begin(g, GC_SETUP);
        if (sz == 2) emit(g, 0x66);
        emit(g, 0x85);
        emit(g, 0xc0 | o.reg << 3 | o.reg);
    } else {
        ins1(g, GC_SETUP, sz, 0x83, 7, &o, 0, 1);
    }
    fl(g, ALLF & ~AF, AF);
    int r = dst_reg(g, sz, 0);
    /* the body is the BSF itself: emit by hand through skip_over's logic */
    begin(g, GC_SETUP);
    emit(g, 0x74);
    int at = g->len;
    emit(g, 0);
    uint32_t u0 = g->undef;
    ins2(g, GC_BSF, sz, 0, (uint8_t)(rn(g, 2) ? 0xbc : 0xbd), r, &o, 0, 0);
    if (at < (int)DT_CODE_MAX)
        g->code[at] = (uint8_t)(g->len - at - 1);
    fl(g, ZF, CF | OF | SF | AF | PF);
    g->undef |= u0;
    junk_sz(g, r, sz);
}

static void g_movx(struct gst *g)
{
    struct rm o;
    int sz = pick_sz(g, 0);
    int src16 = (int)rn(g, 2);
    int r = dst_reg(g, sz, 0);
    pick_rm(g, &o, src16 ? 2 : 1, 0, 0);
    ins2(g, GC_MOVX, sz, 0, (uint8_t)((rn(g, 2) ? 0xb6 : 0xbe) + src16), r, &o, 0, 0);
    junk(g, r);
}

static void g_mov(struct gst *g)
{
    struct rm o;
    int sz = pick_sz(g, 1);
    int r;
    switch (rn(g, 5)) {
    case 0: /* E, G */
        pick_rm(g, &o, sz, 1, 0);
        ins1(g, GC_MOV, sz, sz == 1 ? 0x88 : 0x89, (int)rn(g, 8), &o, 0, 0);
        rm_written(g, &o, sz);
        break;
    case 1: /* G, E */
        r = dst_reg(g, sz, 0);
        pick_rm(g, &o, sz, 0, 0);
        ins1(g, GC_MOV, sz, sz == 1 ? 0x8a : 0x8b, r, &o, 0, 0);
        junk_sz(g, r, sz);
        break;
    case 2: /* E, imm */
        pick_rm(g, &o, sz, 1, 0);
        ins1(g, GC_MOV, sz, sz == 1 ? 0xc6 : 0xc7, 0, &o, rand_imm(g, sz), sz);
        rm_written(g, &o, sz);
        break;
    case 3: /* moffs */
        begin(g, GC_MOV);
        if (sz == 2) emit(g, 0x66);
        {
            int load = (int)rn(g, 2);
            emit(g, (uint8_t)((load ? 0xa0 : 0xa2) + (sz != 1)));
            emit32(g, rand_ptr(g));
            if (load) junk(g, R_EAX);
        }
        break;
    default: /* reg, imm */
        r = dst_reg(g, sz, 0);
        begin(g, GC_MOV);
        if (sz == 2) emit(g, 0x66);
        emit(g, (uint8_t)((sz == 1 ? 0xb0 : 0xb8) + r));
        if (sz == 1) emit(g, rnd(g)); else if (sz == 2) emit16(g, rnd(g)); else emit32(g, rnd(g));
        junk_sz(g, r, sz);
        break;
    }
}

static void g_cmov(struct gst *g)
{
    struct rm o;
    int cc = pick_cc(g);
    if (cc < 0) { g_mov(g); return; }
    int sz = pick_sz(g, 0);
    int r = dst_reg(g, sz, 0);
    pick_rm(g, &o, sz, 0, 0);
    ins2(g, GC_CMOV, sz, 0, (uint8_t)(0x40 + cc), r, &o, 0, 0);
    junk(g, r);
}

static void g_setcc(struct gst *g)
{
    struct rm o;
    int cc = pick_cc(g);
    if (cc < 0) { g_mov(g); return; }
    pick_rm(g, &o, 1, 1, 0);
    ins2(g, GC_SETCC, 1, 0, (uint8_t)(0x90 + cc), 0, &o, 0, 0);
    rm_written(g, &o, 1);
}

static void g_xchg(struct gst *g)
{
    struct rm o;
    int sz = pick_sz(g, 1);
    if (sz != 1 && chance(g, 20)) {      /* 90+r: XCHG eAX, r */
        int r = 1 + (int)rn(g, 7);
        if (r == R_ESP) r = R_EBX;
        ins1(g, GC_XCHG, sz, (uint8_t)(0x90 + r), 0, NULL, 0, 0);
        junk(g, R_EAX);
        junk(g, r);
        return;
    }
    int r = dst_reg(g, sz, 0);
    pick_rm(g, &o, sz, 1, 0);
    if (rn(g, 2)) {
        ins1(g, GC_XCHG, sz, sz == 1 ? 0x86 : 0x87, r, &o, 0, 0);
    } else {                             /* XADD */
        ins2(g, GC_XCHG, sz, !o.is_reg && chance(g, 20), sz == 1 ? 0xc0 : 0xc1, r, &o, 0, 0);
        fl(g, ALLF, 0);
    }
    junk_sz(g, r, sz);
    rm_written(g, &o, sz);
}

static void g_cmpxchg(struct gst *g)
{
    struct rm o;
    if (chance(g, 30)) {                 /* CMPXCHG8B m64 */
        memset(&o, 0, sizeof(o));
        pick_mem(g, &o.m, 1u << R_EAX | 1u << R_EDX | 1u << R_ECX | 1u << R_EBX);
        if (chance(g, 50)) {             /* EDX:EAX = the memory: equal */
            struct rm o4 = o;
            ins1(g, GC_SETUP, 4, 0x8b, R_EAX, &o, 0, 0);
            o4.m.disp += 4;
            ins1(g, GC_SETUP, 4, 0x8b, R_EDX, &o4, 0, 0);
        }
        ins2(g, GC_CMPXCHG, 4, chance(g, 20), 0xc7, 1, &o, 0, 0);
        junk(g, R_EAX);
        junk(g, R_EDX);
        fl(g, ZF, 0);
        return;
    }
    int sz = pick_sz(g, 1);
    pick_rm(g, &o, sz, 1, 1u << R_EAX);
    if (chance(g, 40))                   /* accumulator = destination */
        ins1(g, GC_SETUP, sz, sz == 1 ? 0x8a : 0x8b, R_EAX, &o, 0, 0);
    int r = (int)rn(g, 8);
    ins2(g, GC_CMPXCHG, sz, !o.is_reg && chance(g, 20), sz == 1 ? 0xb0 : 0xb1, r, &o, 0, 0);
    junk(g, R_EAX);
    rm_written(g, &o, sz);
    fl(g, ALLF, 0);
}

static void g_bswap(struct gst *g)
{
    int r = dst_reg(g, 4, 0);
    begin(g, GC_BSWAP);
    emit(g, 0x0f);
    emit(g, (uint8_t)(0xc8 + r));
    junk(g, r);
}

static void g_lea(struct gst *g)
{
    int sz = pick_sz(g, 0);
    int r = dst_reg(g, sz, 0);
    begin(g, GC_LEA);
    if (sz == 2) emit(g, 0x66);
    if (chance(g, 35)) {                 /* 16-bit addressing */
        int mod = (int)rn(g, 3), rm = (int)rn(g, 8);
        emit(g, 0x67);
        emit(g, 0x8d);
        emit(g, (uint8_t)(mod << 6 | r << 3 | rm));
        if (mod == 1) emit(g, rnd(g));
        else if (mod == 2 || (mod == 0 && rm == 6)) emit16(g, rnd(g));
    } else {                             /* any registers: no access */
        struct rm o;
        memset(&o, 0, sizeof(o));
        o.m.base = rn(g, 6) ? (int)rn(g, 8) : -1;
        o.m.index = rn(g, 2) ? (int)rn(g, 8) : -1;
        if (o.m.index == R_ESP) o.m.index = -1;
        o.m.scale = (int)rn(g, 4);
        o.m.disp = (int32_t)rand_imm(g, 4);
        o.m.force32 = chance(g, 10);
        emit(g, 0x8d);
        put_modrm(g, r, &o);
    }
    junk(g, r);
}

static void g_stack(struct gst *g)
{
    struct rm o;
    int sz = chance(g, 25) ? 2 : 4;
    int r;
    switch (rn(g, 9)) {
    case 0: /* PUSH r */
        ins1(g, GC_STACK, sz, (uint8_t)(0x50 + rn(g, 8)), 0, NULL, 0, 0);
        break;
    case 1: /* POP r */
        r = dst_reg(g, 4, 0);
        ins1(g, GC_STACK, sz, (uint8_t)(0x58 + r), 0, NULL, 0, 0);
        junk(g, r);
        break;
    case 2: /* PUSH imm */
        if (rn(g, 2))
            ins1(g, GC_STACK, sz, 0x68, 0, NULL, rand_imm(g, sz), sz);
        else
            ins1(g, GC_STACK, sz, 0x6a, 0, NULL, rnd(g) & 0xff, 1);
        break;
    case 3: /* PUSH E */
        pick_rm(g, &o, sz, 0, 0);
        ins1(g, GC_STACK, sz, 0xff, 6, &o, 0, 0);
        break;
    case 4: /* POP E (a base of ESP uses the incremented ESP) */
        pick_rm(g, &o, sz, 1, 0);
        ins1(g, GC_STACK, sz, 0x8f, 0, &o, 0, 0);
        rm_written(g, &o, sz);
        break;
    case 5: /* PUSHA */
        ins1(g, GC_STACK, sz, 0x60, 0, NULL, 0, 0);
        break;
    case 6: /* POPA */
        ins1(g, GC_STACK, sz, 0x61, 0, NULL, 0, 0);
        for (r = 0; r < 8; r++)
            junk(g, r);
        break;
    case 7: { /* ENTER size, level */
        uint32_t level = rn(g, 3) ? 0 : rn(g, 4);
        if (chance(g, 5)) level = 32 + rn(g, 3);   /* level is taken mod 32 */
        if (g->kind[R_EBP] != K_PTR || chance(g, 30))
            set_reg(g, R_EBP, DT_DATA + 0x3200 + (rn(g, 0x200) & ~3u), K_PTR);
        begin(g, GC_STACK);
        if (sz == 2) emit(g, 0x66);
        emit(g, 0xc8);
        emit16(g, rn(g, 48));
        emit(g, level);
        g->exact[R_EBP] = 0;
        break;
    }
    default: /* LEAVE */
        if (g->kind[R_EBP] != K_PTR || chance(g, 30))
            set_reg(g, R_EBP, DT_DATA + 0x3200 + (rn(g, 0x200) & ~3u), K_PTR);
        ins1(g, GC_STACK, sz, 0xc9, 0, NULL, 0, 0);
        junk(g, R_EBP);
        break;
    }
}

static void g_string(struct gst *g)
{
    int w = (int)rn(g, 5);           /* movs cmps stos lods scas */
    static const uint8_t base[5] = { 0xa4, 0xa6, 0xaa, 0xac, 0xae };
    int sz = pick_sz(g, 1);
    int uses_si = w == 0 || w == 1 || w == 3;
    int uses_di = w != 3;
    int rep = (int)rn(g, 3);         /* none, F3, F2 (cmps/scas only) */
    if (rep == 2 && w != 1 && w != 4)
        rep = 1;
    if (w == 3 && rep && chance(g, 50))
        rep = 0;
    uint32_t count = 0;
    if (uses_si && (g->kind[R_ESI] != K_PTR || chance(g, 40)))
        set_reg(g, R_ESI, rand_ptr(g), K_PTR);
    if (uses_di && uses_si && g->exact[R_ESI] && chance(g, 25))   /* overlapping */
        set_reg(g, R_EDI, g->val[R_ESI] + rn(g, 17) - 8, K_PTR);
    else if (uses_di && (g->kind[R_EDI] != K_PTR || chance(g, 40)))
        set_reg(g, R_EDI, rand_ptr(g), K_PTR);
    if (rep) {
        count = rn(g, 5) ? rn(g, 17) : 0;
        set_reg(g, R_ECX, count, K_SMALL);
    }
    if (chance(g, 25)) {             /* flip the direction */
        begin(g, GC_SETUP);
        emit(g, rn(g, 2) ? 0xfd : 0xfc);
    }
    begin(g, GC_STRING);
    if (rep) emit(g, rep == 1 ? 0xf3 : 0xf2);
    if (uses_si && chance(g, 15)) {
        static const uint8_t segs[3] = { 0x26, 0x36, 0x3e };
        emit(g, segs[rn(g, 3)]);
    }
    if (sz == 2) emit(g, 0x66);
    emit(g, (uint8_t)(base[w] + (sz != 1)));
    if (uses_si) g->exact[R_ESI] = 0;
    if (uses_di) g->exact[R_EDI] = 0;
    if (rep) g->exact[R_ECX] = 0;
    if (w == 3) junk(g, R_EAX);
    if ((w == 1 || w == 4) && !(rep && count == 0))
        fl(g, ALLF, 0);
}

static void g_conv(struct gst *g)
{
    int sz = pick_sz(g, 0);
    int cwd = (int)rn(g, 2);
    ins1(g, GC_CONV, sz, cwd ? 0x99 : 0x98, 0, NULL, 0, 0);
    junk(g, cwd ? R_EDX : R_EAX);
}

static void g_flag(struct gst *g)
{
    int w = (int)rn(g, 7);
    if (w == 0 && !readable(g, SF | ZF | AF | PF | CF))
        w = 1;
    if (w == 4 && !readable(g, CF))
        w = 2;
    begin(g, GC_FLAG);
    switch (w) {
    case 0: emit(g, 0x9f); junk(g, R_EAX); break;           /* LAHF */
    case 1: emit(g, 0x9e); fl(g, SF | ZF | AF | PF | CF, 0); break; /* SAHF */
    case 2: emit(g, 0xf8); fl(g, CF, 0); break;             /* CLC */
    case 3: emit(g, 0xf9); fl(g, CF, 0); break;             /* STC */
    case 4: emit(g, 0xf5); break;                           /* CMC */
    case 5: emit(g, 0xfc); break;                           /* CLD */
    default: emit(g, 0xfd); break;                          /* STD */
    }
}

static void g_branch(struct gst *g)
{
    int w = (int)rn(g, 6);
    int bc = body_class(g);
    uint8_t op[3];
    if (w == 0 || w == 1) {          /* Jcc rel8 / rel32 */
        int cc = pick_cc(g);
        if (cc < 0) w = 2;
        else if (w == 0) {
            op[0] = (uint8_t)(0x70 + cc);
            skip_over(g, GC_BRANCH, op, 1, 0, bc);
            return;
        } else {
            op[0] = 0x0f;
            op[1] = (uint8_t)(0x80 + cc);
            skip_over(g, GC_BRANCH, op, 2, 1, bc);
            return;
        }
    }
    if (w == 2) {                    /* JMP rel8 / rel32 */
        op[0] = rn(g, 2) ? 0xeb : 0xe9;
        skip_over(g, GC_BRANCH, op, 1, op[0] == 0xe9, bc);
        return;
    }
    /* LOOP / LOOPE / LOOPNE / JECXZ, sometimes with 67 (CX) */
    int n = 0;
    int k = (int)rn(g, 4);           /* E2 loop, E1 loope, E0 loopne, E3 jecxz */
    static const uint8_t lop[4] = { 0xe2, 0xe1, 0xe0, 0xe3 };
    if ((k == 1 || k == 2) && !readable(g, ZF))
        k = 0;
    if (chance(g, 25))
        op[n++] = 0x67;
    op[n++] = lop[k];
    if (k != 3)
        junk(g, R_ECX);     /* decremented before the body runs */
    skip_over(g, GC_BRANCH, op, n, 0, bc);
}

static void g_xlat(struct gst *g)
{
    if (g->kind[R_EBX] != K_PTR || chance(g, 20))
        set_reg(g, R_EBX, rand_ptr(g), K_PTR);
    begin(g, GC_XLAT);
    if (chance(g, 20)) emit(g, rn(g, 2) ? 0x36 : 0x26);
    emit(g, 0xd7);
    junk(g, R_EAX);
}

/* ================= x87 ================= */

/* C1 defined, C0 C2 C3 undefined: most x87 instructions */
#define FC_ARITH() fc(g, C1, C0 | C2 | C3)

static void fpu_mem(struct gst *g, struct rm *o, int type)
{
    memset(o, 0, sizeof(*o));
    exact_mem(g, &o->m, fp_slot(g, type));
}

static void fpu_op(struct gst *g, int cls, uint8_t a, uint8_t b)
{
    begin(g, cls);
    emit(g, a);
    emit(g, b);
}

static void g_fldst(struct gst *g)
{
    struct rm o;
    int w = (int)rn(g, 8);
    if (g->fdepth >= 8 && w < 4 && chance(g, 80)) w = 4 + (int)rn(g, 4);
    if (g->fdepth <= 0 && w >= 4 && chance(g, 80)) w = (int)rn(g, 4);
    switch (w) {
    case 0: { /* FLD m32/m64/m80 */
        int t = (int)rn(g, 3);
        static const uint8_t opc[3] = { 0xd9, 0xdd, 0xdb };
        static const int regf[3] = { 0, 0, 5 };
        fpu_mem(g, &o, t);
        ins1(g, GC_FLDST, 4, opc[t], regf[t], &o, 0, 0);
        g->fdepth++;
        break;
    }
    case 1: /* FLD st(i) */
        fpu_op(g, GC_FLDST, 0xd9, (uint8_t)(0xc0 + rn(g, 8)));
        g->fdepth++;
        break;
    case 2: { /* FILD m16/m32/m64 */
        int t = (int)rn(g, 3);
        static const uint8_t opc[3] = { 0xdf, 0xdb, 0xdf };
        static const int regf[3] = { 0, 0, 5 };
        fpu_mem(g, &o, DT_FPT_I16 + t);
        ins1(g, GC_FLDST, 4, opc[t], regf[t], &o, 0, 0);
        g->fdepth++;
        break;
    }
    case 3: /* constants D9 E8..EE */
        fpu_op(g, GC_FLDST, 0xd9, (uint8_t)(0xe8 + rn(g, 7)));
        g->fdepth++;
        break;
    case 4: { /* FST/FSTP m32/m64, FSTP m80 */
        int k = (int)rn(g, 5);
        static const uint8_t opc[5] = { 0xd9, 0xd9, 0xdd, 0xdd, 0xdb };
        static const int regf[5] = { 2, 3, 2, 3, 7 };
        static const int typ[5] = { DT_FPT_F32, DT_FPT_F32, DT_FPT_F64, DT_FPT_F64, DT_FPT_F80 };
        fpu_mem(g, &o, typ[k]);
        ins1(g, GC_FLDST, 4, opc[k], regf[k], &o, 0, 0);
        if (regf[k] != 2) g->fdepth--;
        break;
    }
    case 5: { /* FST/FSTP st(i) */
        int p = (int)rn(g, 2);
        fpu_op(g, GC_FLDST, 0xdd, (uint8_t)((p ? 0xd8 : 0xd0) + rn(g, 8)));
        if (p) g->fdepth--;
        break;
    }
    default: { /* FIST m16/m32, FISTP m16/m32/m64 */
        int k = (int)rn(g, 5);
        static const uint8_t opc[5] = { 0xdf, 0xdb, 0xdf, 0xdb, 0xdf };
        static const int regf[5] = { 2, 2, 3, 3, 7 };
        static const int typ[5] = { DT_FPT_I16, DT_FPT_I32, DT_FPT_I16, DT_FPT_I32, DT_FPT_I64 };
        fpu_mem(g, &o, typ[k]);
        ins1(g, GC_FLDST, 4, opc[k], regf[k], &o, 0, 0);
        if (regf[k] != 2) g->fdepth--;
        break;
    }
    }
    FC_ARITH();
}

/* /r of the arithmetic group: 0 add 1 mul 4 sub 5 subr 6 div 7 divr */
static int arith_op(struct gst *g)
{
    static const int t[6] = { 0, 1, 4, 5, 6, 7 };
    return t[rn(g, 6)];
}

static void g_farith(struct gst *g)
{
    struct rm o;
    int w = (int)rn(g, 8);
    int r = arith_op(g);
    switch (w) {
    case 0: { /* m32 / m64 / m32int / m16int */
        int k = (int)rn(g, 4);
        static const uint8_t opc[4] = { 0xd8, 0xdc, 0xda, 0xde };
        static const int typ[4] = { DT_FPT_F32, DT_FPT_F64, DT_FPT_I32, DT_FPT_I16 };
        fpu_mem(g, &o, typ[k]);
        ins1(g, GC_FARITH, 4, opc[k], r, &o, 0, 0);
        break;
    }
    case 1: /* st(0), st(i) */
        fpu_op(g, GC_FARITH, 0xd8, (uint8_t)(0xc0 + r * 8 + rn(g, 8)));
        break;
    case 2: /* st(i), st(0) */
        fpu_op(g, GC_FARITH, 0xdc, (uint8_t)(0xc0 + r * 8 + rn(g, 8)));
        break;
    case 3: /* p-forms */
        fpu_op(g, GC_FARITH, 0xde, (uint8_t)(0xc0 + r * 8 + rn(g, 8)));
        g->fdepth--;
        break;
    case 4: { /* fsqrt fabs fchs frndint */
        static const uint8_t t[4] = { 0xfa, 0xe1, 0xe0, 0xfc };
        fpu_op(g, GC_FARITH, 0xd9, t[rn(g, 4)]);
        break;
    }
    case 5: /* fscale */
        fpu_op(g, GC_FARITH, 0xd9, 0xfd);
        break;
    case 6: /* fprem / fprem1: all condition codes defined */
        fpu_op(g, GC_FARITH, 0xd9, rn(g, 2) ? 0xf8 : 0xf5);
        fc(g, CALL, 0);
        return;
    default: /* fxtract */
        fpu_op(g, GC_FARITH, 0xd9, 0xf4);
        g->fdepth++;
        break;
    }
    FC_ARITH();
}

static void g_fcmp(struct gst *g)
{
    struct rm o;
    int w = (int)rn(g, 8);
    switch (w) {
    case 0: { /* FCOM/FCOMP/FICOM/FICOMP mem */
        int k = (int)rn(g, 4);
        static const uint8_t opc[4] = { 0xd8, 0xdc, 0xda, 0xde };
        static const int typ[4] = { DT_FPT_F32, DT_FPT_F64, DT_FPT_I32, DT_FPT_I16 };
        int p = (int)rn(g, 2);
        fpu_mem(g, &o, typ[k]);
        ins1(g, GC_FCMP, 4, opc[k], 2 + p, &o, 0, 0);
        if (p) g->fdepth--;
        break;
    }
    case 1: /* FCOM/FCOMP st(i) */
        fpu_op(g, GC_FCMP, 0xd8, (uint8_t)((rn(g, 2) ? 0xd0 : 0xd8) + rn(g, 8)));
        break;
    case 2: /* FUCOM/FUCOMP st(i) */
        fpu_op(g, GC_FCMP, 0xdd, (uint8_t)((rn(g, 2) ? 0xe0 : 0xe8) + rn(g, 8)));
        break;
    case 3: /* FCOMPP / FUCOMPP */
        if (rn(g, 2)) fpu_op(g, GC_FCMP, 0xde, 0xd9);
        else fpu_op(g, GC_FCMP, 0xda, 0xe9);
        g->fdepth -= 2;
        break;
    case 4: /* FTST / FXAM */
        fpu_op(g, GC_FCMP, 0xd9, rn(g, 2) ? 0xe4 : 0xe5);
        break;
    default: { /* FCOMI FUCOMI FCOMIP FUCOMIP: EFLAGS */
        static const uint8_t a[4] = { 0xdb, 0xdb, 0xdf, 0xdf };
        static const uint8_t b[4] = { 0xf0, 0xe8, 0xf0, 0xe8 };
        int k = (int)rn(g, 4);
        fpu_op(g, GC_FCMP, a[k], (uint8_t)(b[k] + rn(g, 8)));
        if (k >= 2) g->fdepth--;
        fl(g, ALLF, 0);
        fc(g, C1, 0);
        return;
    }
    }
    fc(g, CALL, 0);
}

static void g_fmisc(struct gst *g)
{
    struct rm o;
    switch (rn(g, 8)) {
    case 0: /* FXCH */
        fpu_op(g, GC_FMISC, 0xd9, (uint8_t)(0xc8 + rn(g, 8)));
        FC_ARITH();
        break;
    case 1:
    case 2: { /* FCMOVcc */
        int k = (int)rn(g, 8);
        static const uint32_t rd[4] = { CF, ZF, CF | ZF, PF };
        if (!readable(g, rd[k & 3])) {
            fpu_op(g, GC_FMISC, 0xd9, 0xd0);     /* FNOP */
            fc(g, 0, CALL);
            break;
        }
        fpu_op(g, GC_FMISC, k < 4 ? 0xda : 0xdb, (uint8_t)(0xc0 + 8 * (k & 3) + rn(g, 8)));
        FC_ARITH();
        break;
    }
    case 3: /* FLDCW from the table of valid control words */
        memset(&o, 0, sizeof(o));
        exact_mem(g, &o.m, DT_DATA + DT_CWTAB + 2 * rn(g, 16));
        ins1(g, GC_FMISC, 4, 0xd9, 5, &o, 0, 0);
        fc(g, 0, CALL);
        break;
    case 4: /* FNSTCW m16 */
        memset(&o, 0, sizeof(o));
        pick_mem(g, &o.m, 0);
        ins1(g, GC_FMISC, 4, 0xd9, 7, &o, 0, 0);
        fc(g, 0, CALL);
        break;
    case 5: /* FNSTSW AX (only when every condition bit is defined) */
        if (g->cundef) {
            fpu_op(g, GC_FMISC, 0xd9, 0xd0);     /* FNOP */
            fc(g, 0, CALL);
            break;
        }
        fpu_op(g, GC_FMISC, 0xdf, 0xe0);
        junk(g, R_EAX);
        fc(g, 0, CALL);
        break;
    case 6: /* FDECSTP / FINCSTP */
        fpu_op(g, GC_FMISC, 0xd9, rn(g, 2) ? 0xf6 : 0xf7);
        FC_ARITH();
        break;
    default: /* FFREE st(i) (condition codes undefined) */
        fpu_op(g, GC_FMISC, 0xdd, (uint8_t)(0xc0 + rn(g, 8)));
        fc(g, 0, CALL);
        break;
    }
}

/* The transcendentals. Their results are the host's own (vsmp runs x87
 * instructions on the host x87), and differ in the last bits between CPU
 * models: see the x87 rule in x87host.c. The SDM defines C1 (and C2 for
 * the trigonometric ones: operand out of range); C0 and C3 are undefined.
 * F2XM1 and FYL2XP1 have undefined results outside their input ranges;
 * that, too, is the host's behaviour. */
static void g_ftrans(struct gst *g)
{
    static const uint8_t op[8] = {
        0xf0, /* F2XM1 */ 0xf1, /* FYL2X (pops) */ 0xf2, /* FPTAN (pushes 1.0) */
        0xf3, /* FPATAN (pops) */ 0xf9, /* FYL2XP1 (pops) */
        0xfb, /* FSINCOS (pushes) */ 0xfe, /* FSIN */ 0xff, /* FCOS */
    };
    uint8_t b = op[rn(g, 8)];
    fpu_op(g, GC_FTRANS, 0xd9, b);
    if (b == 0xf1 || b == 0xf3 || b == 0xf9)
        g->fdepth--;
    else if (b == 0xf2 || b == 0xfb)
        g->fdepth++;
#ifdef DIFF_STALE_GEN
    /* test build (diff.mk's difftest-stale): a generator that differs only
     * in a mask, not in any code byte, must make a recorded corpus stale */
    FC_ARITH();
#else
    if (b == 0xf2 || b >= 0xfb)
        fc(g, C1 | C2, C0 | C3);
    else
        FC_ARITH();
#endif
}

/* ================= driver ================= */

typedef void (*genfn)(struct gst *g);
static const genfn gens[GC_COUNT] = {
    g_alu, g_incdec, g_shift, g_shld, g_mul, g_div, g_bcd, g_bit,
    g_bsf, g_movx, g_mov, g_cmov, g_setcc, g_xchg, g_cmpxchg,
    g_bswap, g_lea, g_stack, g_string, g_conv, g_flag, g_branch,
    g_xlat,
    g_fldst, g_farith, g_fcmp, g_fmisc, g_ftrans,
};

static void item(struct gst *g, int cls)
{
    gens[cls](g);
}

/* Tag of an 80-bit value (FNSAVE tag word encoding). */
static int tag_of(uint64_t m, uint32_t se)
{
    uint32_t e = se & 0x7fff;
    if (e == 0)
        return m == 0 ? 1 : 2;
    if (e == 0x7fff || !(m >> 63))
        return 2;
    return 0;
}

/* A random initial x87 state as an FRSTOR image (32-bit format). */
static void init_fpu(struct gst *g, uint8_t *img)
{
    static const uint32_t pcs[3] = { 0, 2, 3 };
    uint32_t cw = 0x007f | pcs[rn(g, 3)] << 8 | rn(g, 4) << 10;
    if (chance(g, 50)) cw = 0x037f;
    uint32_t top = rn(g, 8);
    uint32_t sw = top << 11 | (rnd(g) & 0x4700);
    if (chance(g, 20)) sw |= rnd(g) & 0x3f;   /* sticky exception flags (masked) */
    int depth = (int)rn(g, 9);
    uint32_t tw = 0;
    memset(img, 0, DT_FPU_IMG);
    for (int i = 0; i < 8; i++) {
        uint64_t m;
        uint32_t se;
        dt_nice80(&g->rng, &m, &se);
        if (chance(g, 3)) {             /* unnormal / pseudo-denormal / pseudo-NaN */
            m = dt_rand(&g->rng) & ~(1ull << 63);
            se = rn(g, 2) ? (se & 0x8000) | 0x7fff : rn(g, 2) ? se & 0x8000 : se;
            if (!(se & 0x7fff)) m |= 1ull << 63;
        }
        dt_put64(img + 28 + 10 * i, m);
        dt_put16(img + 36 + 10 * i, se);
        int phys = (int)((top + (uint32_t)i) & 7);
        int tag = i < depth ? tag_of(m, se) : 3;
        tw |= (uint32_t)tag << (2 * phys);
    }
    dt_put16(img + 0, cw);
    dt_put16(img + 4, sw);
    dt_put16(img + 8, tw);
    g->fdepth = depth;
}

void gen_case(struct gen_case *gc, uint64_t seed, uint32_t index, int only_class)
{
    struct gst g;
    memset(gc, 0, sizeof(*gc));
    memset(&g, 0, sizeof(g));
    g.gc = gc;
    g.code = gc->c.code;
    g.rng = dt_mix(seed ^ dt_mix(index));
    g.only = only_class;

    gc->c.magic = DT_MAGIC_CASE;
    gc->c.index = index;
    uint64_t fs = dt_rand(&g.rng);
    gc->c.fill_lo = (uint32_t)fs;
    gc->c.fill_hi = (uint32_t)(fs >> 32);

    /* initial registers: some pointers, some small, the rest random */
    for (int r = 0; r < 8; r++) {
        uint32_t k = rn(&g, 4);
        if (r == R_ESP) {
            g.val[r] = DT_DATA + 0x3400 + (rn(&g, 0x100) & ~3u);
            if (chance(&g, 5)) g.val[r] += 2;
            g.kind[r] = K_PTR;
        } else if (k == 0) {
            g.val[r] = rand_ptr(&g);
            g.kind[r] = K_PTR;
            g.exact[r] = 1;
        } else if (k == 1) {
            g.val[r] = rn(&g, 64);
            g.kind[r] = K_SMALL;
            g.exact[r] = 1;
        } else {
            g.val[r] = rand_imm(&g, 4);
            g.kind[r] = K_JUNK;
        }
        gc->c.regs[r] = g.val[r];
    }
    gc->c.eflags = rnd(&g) & (ALLF | DF);

    g.has_fpu = only_class >= GC_FIRST_FPU || (only_class < 0 && chance(&g, 35));
    if (g.has_fpu) {
        struct rm o;
        init_fpu(&g, gc->c.fpu_img);
        memset(&o, 0, sizeof(o));
        o.m.base = o.m.index = -1;
        o.m.disp = (int32_t)(DT_DATA + DT_FPU_IN);
        ins1(&g, GC_SETUP, 4, 0xdd, 4, &o, 0, 0);        /* FRSTOR */
    }

    int n = 1 + (int)rn(&g, 8);
    for (int i = 0; i < n && g.len < (int)DT_CODE_MAX - 120; i++) {
        int cls = only_class;
        if (cls < 0) {
            cls = (int)rn(&g, GC_COUNT);
            if (cls >= GC_FIRST_FPU && !g.has_fpu)
                cls = (int)rn(&g, GC_FIRST_FPU);
            /* x87 sequences: mostly x87 instructions */
            if (g.has_fpu && cls < GC_FIRST_FPU && chance(&g, 60))
                cls = GC_FIRST_FPU + (int)rn(&g, GC_COUNT - GC_FIRST_FPU);
        }
        item(&g, cls);
    }
    if (g.has_fpu) {
        struct rm o;
        memset(&o, 0, sizeof(o));
        o.m.base = o.m.index = -1;
        o.m.disp = (int32_t)(DT_DATA + DT_FPU_OUT);
        ins1(&g, GC_SETUP, 4, 0xdd, 6, &o, 0, 0);        /* FNSAVE */
    }
    if (g.len > (int)DT_CODE_MAX)
        abort();                        /* generator bug: sequence too long */
    gc->c.code_len = (uint32_t)g.len;
    gc->c.has_fpu = (uint32_t)g.has_fpu;
    gc->undef_fl = g.undef;
    gc->undef_c = g.cundef;
    for (int i = 0; i < gc->nbound; i++) {
        int end = i + 1 < gc->nbound ? gc->b[i + 1].off : g.len;
        gc->b[i].len = (uint8_t)(end - gc->b[i].off);
    }
}
