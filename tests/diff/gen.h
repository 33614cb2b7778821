/* gen.h - the random test-case generator of the differential test: from
 * (seed, index) it builds a sequence of instructions (own encoder tables),
 * the initial register/FPU state, and per instruction boundary the mask of
 * EFLAGS bits and x87 condition codes that the Intel SDM leaves undefined
 * at that point, so that the comparison can ignore them.
 *
 * A case has a mode: most are 32-bit protected-mode code (GM_PM32); in
 * the mix 5% are the same integer classes generated so that they also
 * have a virtual-8086 form with the same results (GM_V86: no pointers in
 * registers, addresses in displacements; v86form.c builds that form), and
 * 3% are V86 system cases (GM_V86SYS: v86sys.h) that have no 32-bit form.
 * The mode comes from its own hash of (seed, index): the other cases are
 * the ones the generator made before the V86 modes existed. */
#ifndef DIFF_GEN_H
#define DIFF_GEN_H

#include <stdint.h>

#include "proto.h"
#include "v86sys.h"

/* Instruction classes (one name each for --class). */
enum {
    GC_ALU, GC_INCDEC, GC_SHIFT, GC_SHLD, GC_MUL, GC_DIV, GC_BCD, GC_BIT,
    GC_BSF, GC_MOVX, GC_MOV, GC_CMOV, GC_SETCC, GC_XCHG, GC_CMPXCHG,
    GC_BSWAP, GC_LEA, GC_STACK, GC_STRING, GC_CONV, GC_FLAG, GC_BRANCH,
    GC_XLAT,
    GC_FLDST, GC_FARITH, GC_FCMP, GC_FMISC, GC_FTRANS,
    GC_NMIX,               /* the classes above make up 32-bit cases */
    GC_V86 = GC_NMIX,      /* GM_V86 cases (their instructions count here) */
    GC_V86SYS,             /* GM_V86SYS cases */
    GC_COUNT,
    GC_FIRST_FPU = GC_FLDST,
    GC_SETUP = GC_COUNT,   /* helper instructions (register setup) */
};

enum { GM_PM32, GM_V86, GM_V86SYS };

#define GEN_MAX_BOUND 160
#define GEN_MAX_FIX   96
#define V86F_CODE_MAX 800

/* What the V86 form of a GM_V86 case changes besides the 66/67 prefixes
 * (v86form.c), at native code offset `off`. */
enum {
    FIX_ABS32,             /* a disp32/moffs32 holding a DT_DATA address */
    FIX_A16,               /* len bytes (modrm sib disp32) whose V86 form is
                            * the 16-bit addressing form repl[0..rlen) */
    FIX_REL8, FIX_REL32,   /* a branch displacement to native offset target */
};

struct gen_fix {
    uint16_t off;
    uint8_t kind;
    uint8_t len;
    uint16_t target;
    uint8_t rlen;
    uint8_t repl[3];
};

/* The V86 form of a GM_V86 case. */
struct v86_form {
    uint32_t len;
    uint8_t code[V86F_CODE_MAX];
    uint16_t off[GEN_MAX_BOUND + 1];   /* V86 offset of each boundary; [nbound]: len */
    uint32_t eflags;                   /* IOPL and IF of its EFLAGS (irrelevant to it) */
};

struct gen_bound {
    uint16_t off;          /* offset of the instruction in the code */
    uint8_t cls;           /* GC_* or GC_SETUP */
    uint8_t len;
    uint32_t undef_fl;     /* EFLAGS bits undefined before it executes */
    uint32_t undef_c;      /* FSW condition bits undefined before it */
};

struct gen_case {
    struct dt_case c;
    int nbound;
    struct gen_bound b[GEN_MAX_BOUND];
    uint32_t undef_fl;     /* at the end of the sequence */
    uint32_t undef_c;
    uint32_t nclass[GC_COUNT]; /* main instructions per class */
    int mode;              /* GM_* */
    int nfix;
    struct gen_fix fix[GEN_MAX_FIX];
    struct v86_form v86;   /* GM_V86 */
    struct v86s_case sys;  /* GM_V86SYS (c is then an empty case) */
};

extern const char *const gen_class_names[GC_COUNT];
int gen_class_by_name(const char *name);   /* -1 if unknown */

/* Build case `index` of run `seed`. only_class: GC_* or -1 for a mix. */
/* (GC_V86 gives only GM_V86 cases, GC_V86SYS only GM_V86SYS, another
 * class only GM_PM32 ones.) */
void gen_case(struct gen_case *g, uint64_t seed, uint32_t index, int only_class);

#endif
