/* insn.h - a decoded x86 instruction: the one format that the decoder
 * produces and both back ends (interpreter, translator) consume. */
#ifndef VSMP_INSN_H
#define VSMP_INSN_H

#include <stdint.h>

struct cpu;
struct insn;

/* Interpreter handler for one opcode. Called with cpu->eip already set to
 * the address of the next instruction and cpu->insn_eip to this one. */
typedef void (*exec_fn)(struct cpu *cpu, const struct insn *in);

/* prefix bits */
#define PFX_LOCK   0x01u
#define PFX_REP    0x02u  /* F3 */
#define PFX_REPNE  0x04u  /* F2 */
#define PFX_OPSIZE 0x08u  /* 66 */
#define PFX_ADSIZE 0x10u  /* 67 */
#define PFX_SEG    0x20u  /* a segment override was given */

#define REG_NONE 0xff

struct insn {
    uint16_t op;        /* 0x000-0x0ff one-byte map, 0x100-0x1ff: 0F xx */
    uint8_t len;        /* total length in bytes, prefixes included */
    uint8_t pfx;        /* PFX_* */
    uint8_t opsize;     /* 16 or 32: operand size after 66 */
    uint8_t adsize;     /* 16 or 32: address size after 67 */
    uint8_t seg;        /* segment of the memory operand (override or
                         * default: SS for EBP/ESP bases, else DS);
                         * for string instructions, the source segment */
    uint8_t has_modrm;
    uint8_t mod, reg, rm; /* ModRM fields (reg is also the /digit) */
    uint8_t base;       /* base register of the memory operand, REG_NONE */
    uint8_t index;      /* index register, REG_NONE */
    uint8_t scale;      /* log2 of the scale, 0..3 */
    uint8_t imm_size;   /* bytes of immediate (first immediate) */
    uint32_t disp;      /* displacement, sign-extended to 32 bits */
    uint32_t imm;       /* first immediate, sign- or zero-extended as the
                         * opcode defines (see decode.c) */
    uint32_t imm2;      /* second immediate: ENTER's level byte, the
                         * selector of a far pointer (9A/EA) */
    exec_fn fn;         /* interpreter handler (filled by the decoder
                         * from the opcode table) */
};

/* Is the ModRM operand a memory operand? */
static inline int insn_is_mem(const struct insn *in)
{
    return in->has_modrm && in->mod != 3;
}

/* Decode one instruction from `bytes` (avail bytes valid).
 *   code32: default operand/address size (CS.D).
 * Returns the length (1..15) on success; DECODE_MORE if the instruction
 * runs past `avail` bytes (the caller fetches more or raises #PF at
 * bytes+avail); DECODE_TOOLONG if it exceeds 15 bytes (#GP(0)).
 * Undefined opcodes decode successfully with fn = the #UD handler. */
#define DECODE_MORE    (-1)
#define DECODE_TOOLONG (-2)
int decode_insn(struct insn *in, const uint8_t *bytes, int avail, int code32);

/* The interpreter's opcode table (optable.c): 512 handlers, indexed by
 * insn.op. Each ops_*.c file fills its entries from its registration
 * function; unfilled entries raise #UD. */
extern exec_fn optable[512];
void optable_init(void);

/* Registration functions, one per file of handlers. */
void ops_alu_register(exec_fn *t);
void ops_shift_register(exec_fn *t);
void ops_muldiv_register(exec_fn *t);
void ops_bit_register(exec_fn *t);
void ops_bcd_register(exec_fn *t);
void ops_mov_register(exec_fn *t);
void ops_stack_register(exec_fn *t);
void ops_branch_register(exec_fn *t);
void ops_string_register(exec_fn *t);
void ops_system_register(exec_fn *t);
void ops_fpu_register(exec_fn *t);

void op_ud(struct cpu *cpu, const struct insn *in);

#endif
