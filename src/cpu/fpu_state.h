/* fpu_state.h - the x87 FPU register file (part of struct cpu). The
 * operations live in fpu.c. */
#ifndef VSMP_FPU_STATE_H
#define VSMP_FPU_STATE_H

#include <stdint.h>

/* One 80-bit extended-precision register, as stored in memory. */
struct f80 {
    uint64_t mant;
    uint16_t sexp;      /* sign bit 15, exponent bits 0-14 */
};

struct fpu {
    struct f80 st[8];   /* physical registers R0..R7 */
    uint16_t cw;        /* control word */
    uint16_t sw;        /* status word, TOP kept in bits 11-13 */
    uint16_t tw;        /* full tag word, 2 bits per physical register */
    uint16_t fop;       /* last opcode (11 bits) */
    uint32_t fip, fdp;  /* last instruction / data pointer (offsets) */
    uint16_t fcs, fds;  /* and their selectors */
    uint32_t mxcsr;     /* kept for FXSAVE/FXRSTOR */
};

#endif
