/* fpu_state.h - the x87 FPU register file (part of struct cpu). The
 * operations live in fpu.c (guest instructions) and fpu_host.c (execution
 * on the host's own x87); fpu.h declares what other parts may call. */
#ifndef VSMP_FPU_STATE_H
#define VSMP_FPU_STATE_H

#include <stdint.h>

/* One 80-bit extended-precision register, as stored in memory: the first
 * 10 bytes of this struct are exactly the m80fp memory format. */
struct f80 {
    uint64_t mant;
    uint16_t sexp;      /* sign bit 15, exponent bits 0-14 */
};

struct fpu {
    struct f80 st[8];   /* physical registers R0..R7 (ST(i) = R[(TOP+i)&7]) */
    uint16_t cw;        /* control word (reserved bits as hardware keeps
                         * them: bit 6 set, bits 7 and 13-15 clear) */
    uint16_t sw;        /* status word, TOP kept in bits 11-13; ES and B
                         * always equal "an unmasked exception flag is set" */
    uint16_t tw;        /* tag word, 2 bits per physical register. Only
                         * "empty" (3) versus "not empty" is meaningful, as
                         * on P6 hardware: the full tags that FNSTENV and
                         * FNSAVE store are computed from the contents
                         * (fpu_full_tag()). */
    uint16_t fop;       /* last opcode (11 bits) */
    uint32_t fip, fdp;  /* last instruction / data pointer (offsets) */
    uint16_t fcs, fds;  /* and their selectors */
    uint32_t mxcsr;     /* kept for FXSAVE/FXRSTOR */
};

#endif
