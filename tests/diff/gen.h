/* gen.h - the random test-case generator of the differential test: from
 * (seed, index) it builds a sequence of instructions (own encoder tables),
 * the initial register/FPU state, and per instruction boundary the mask of
 * EFLAGS bits and x87 condition codes that the Intel SDM leaves undefined
 * at that point, so that the comparison can ignore them. */
#ifndef DIFF_GEN_H
#define DIFF_GEN_H

#include <stdint.h>

#include "proto.h"

/* Instruction classes (one name each for --class). */
enum {
    GC_ALU, GC_INCDEC, GC_SHIFT, GC_SHLD, GC_MUL, GC_DIV, GC_BCD, GC_BIT,
    GC_BSF, GC_MOVX, GC_MOV, GC_CMOV, GC_SETCC, GC_XCHG, GC_CMPXCHG,
    GC_BSWAP, GC_LEA, GC_STACK, GC_STRING, GC_CONV, GC_FLAG, GC_BRANCH,
    GC_XLAT,
    GC_FLDST, GC_FARITH, GC_FCMP, GC_FMISC, GC_FTRANS,
    GC_COUNT,
    GC_FIRST_FPU = GC_FLDST,
    GC_SETUP = GC_COUNT,   /* helper instructions (register setup) */
};

#define GEN_MAX_BOUND 160

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
};

extern const char *const gen_class_names[GC_COUNT];
int gen_class_by_name(const char *name);   /* -1 if unknown */

/* Build case `index` of run `seed`. only_class: GC_* or -1 for a mix. */
void gen_case(struct gen_case *g, uint64_t seed, uint32_t index, int only_class);

#endif
