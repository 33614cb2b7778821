/* v86sys.h - the differential test's "v86sys" cases: what virtual-8086
 * mode does differently from any 16-bit code - the IOPL-sensitive
 * instructions (CLI, STI, PUSHF, POPF, INT n, IRET) at IOPL < 3 and = 3,
 * INT3/INTO/ICEBP (not IOPL-sensitive), port I/O against the TSS I/O
 * permission bitmap whatever IOPL is, the instructions V86 mode does not
 * recognise (#UD) and the privileged ones (#GP(0)), and the delivery of
 * each interrupt or exception through a random IDT to ring 0.
 *
 * A case is a random V86 machine (v86env.h: IOPL and the other EFLAGS
 * bits, GPRs, FS/GS, the I/O bitmap and TSS limit, the gates of the
 * vectors it uses) and a short random instruction sequence, built from
 * (seed, index) by v86s_gen. The expected outcome comes from the SDM
 * reference model (v86model.c), which decodes the code bytes itself; the
 * generator only makes sure the sequence stays inside what the model
 * covers (no task gates, no TF, exceptions always deliverable). */
#ifndef DIFF_V86SYS_H
#define DIFF_V86SYS_H

#include <stdint.h>

#include "v86env.h"

#define V86S_CODE_MAX 224
#define V86S_MAX_INSN 48
#define V86S_IP0      0x0100u        /* IP of the first instruction (CS = V86E_CS) */
#define V86S_MAP_LO   0x80u          /* bitmap bytes 0..0x7f (ports 0..0x3ff) are random */
#define V86S_MAP_HI   0x11u          /* and bytes 0x1ff0..0x2000 (0x2000: the byte after it) */
#define V86S_MAP_LEN  0x2001u

/* what an instruction of the case is, for listings */
enum {
    VS_SETUP, VS_CLI, VS_STI, VS_PUSHF, VS_POPF, VS_INT, VS_INT3, VS_INTO, VS_ICEBP, VS_IRET,
    VS_IN, VS_OUT, VS_INS, VS_OUTS, VS_UD, VS_PRIV, VS_NITEM
};

struct v86s_insn {
    uint16_t off;                    /* offset in code[] (IP = V86S_IP0 + off) */
    uint8_t len;
    uint8_t item;                    /* VS_* */
};

struct v86s_case {
    uint32_t index;
    uint64_t fill;                   /* the data area's filler seed (dt_fill) */
    uint32_t regs[8];                /* GPRs at the entry to V86 mode */
    uint32_t eflags;                 /* EFLAGS popped by the entering IRETD (VM = 1) */
    uint16_t fs, gs;                 /* CS = V86E_CS, DS = ES = SS = V86E_DS */
    struct v86e_gate gate[256];
    uint16_t iomap;                  /* I/O map base (TSS offset 0x66) */
    uint32_t tss_limit;
    uint8_t map_lo[V86S_MAP_LO];
    uint8_t map_hi[V86S_MAP_HI];
    uint8_t map_mid;                 /* every bitmap byte in between */
    uint32_t code_len;
    uint8_t code[V86S_CODE_MAX];
    int ninsn;
    struct v86s_insn insn[V86S_MAX_INSN];
    uint32_t nitem[VS_NITEM];        /* instructions per kind */
};

/* Build case `index` of run `seed`. */
void v86s_gen(struct v86s_case *c, uint64_t seed, uint32_t index);

/* Byte i (0 .. V86S_MAP_LEN-1) of the I/O permission bitmap area. */
uint8_t v86s_map_byte(const struct v86s_case *c, uint32_t i);

const char *v86s_item_name(int item);

#endif
