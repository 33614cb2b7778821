/* emit.h - a small x86-64 machine-code encoder for the translator.
 *
 * Writes into a byte buffer (struct emit); running past its end sets
 * `overflow` instead of writing, so the caller can detect a full buffer
 * once at the end. Operands of the r/m kind are described by struct hop:
 * a host register or a memory reference [base + index*2^scale + disp]
 * (base/index -1 for none). Sizes are in bytes: 1, 2, 4 or 8. Only the
 * encodings the translator needs are provided; every function documents
 * the instruction it emits in Intel syntax. */
#ifndef VSMP_EMIT_H
#define VSMP_EMIT_H

#include <stdbool.h>
#include <stdint.h>

enum { H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
       H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15 };

/* host condition codes (low nibble of Jcc/SETcc/CMOVcc) */
enum { HC_O, HC_NO, HC_B, HC_AE, HC_Z, HC_NZ, HC_BE, HC_A,
       HC_S, HC_NS, HC_P, HC_NP, HC_L, HC_GE, HC_LE, HC_G };

/* ALU operations in their /digit order (ADD OR ADC SBB AND SUB XOR CMP) */
enum { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP };
/* shift/rotate /digit (ROL ROR RCL RCR SHL SHR SAL SAR) */
enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

struct emit {
    uint8_t *p;        /* next byte */
    uint8_t *start;
    uint8_t *end;      /* one past the last writable byte */
    bool overflow;
};

struct hop {
    bool mem;
    int8_t reg;        /* register operand (mem == false) */
    int8_t base;       /* memory: base register or -1 */
    int8_t index;      /* memory: index register or -1 (not RSP) */
    uint8_t scale;     /* memory: log2 of the scale */
    int32_t disp;
};

static inline struct hop HR(int r)
{
    return (struct hop){ .mem = false, .reg = (int8_t)r, .base = -1, .index = -1 };
}
static inline struct hop HM(int base, int32_t disp)
{
    return (struct hop){ .mem = true, .reg = -1, .base = (int8_t)base, .index = -1, .disp = disp };
}
static inline struct hop HMX(int base, int index, int scale, int32_t disp)
{
    return (struct hop){ .mem = true, .reg = -1, .base = (int8_t)base, .index = (int8_t)index,
                         .scale = (uint8_t)scale, .disp = disp };
}

void emit_init(struct emit *e, uint8_t *buf, uint8_t *end);
static inline uint32_t emit_len(const struct emit *e) { return (uint32_t)(e->p - e->start); }

void e_byte(struct emit *e, uint8_t b);
void e_u32(struct emit *e, uint32_t v);
void e_u64(struct emit *e, uint64_t v);

/* Generic: [66] [REX] opcode(1-2 bytes; 0x0Fxx for two) ModRM(reg, rm) */
void e_op(struct emit *e, int size, uint32_t opc, int reg, struct hop rm);

void e_mov_load(struct emit *e, int size, int reg, struct hop rm);   /* mov reg, rm */
void e_mov_store(struct emit *e, int size, struct hop rm, int reg);  /* mov rm, reg */
void e_mov_imm(struct emit *e, int size, struct hop rm, uint32_t imm); /* mov rm, imm (8: sign-ext imm32) */
void e_mov_r_imm32(struct emit *e, int reg, uint32_t imm);           /* mov r32, imm32 */
void e_mov_r_imm64(struct emit *e, int reg, uint64_t imm);           /* mov r64, imm64 */
void e_alu_store(struct emit *e, int size, int op, struct hop rm, int reg); /* op rm, reg */
void e_alu_load(struct emit *e, int size, int op, int reg, struct hop rm);  /* op reg, rm */
void e_alu_imm(struct emit *e, int size, int op, struct hop rm, uint32_t imm); /* op rm, imm */
void e_test(struct emit *e, int size, struct hop rm, int reg);       /* test rm, reg */
void e_test_imm(struct emit *e, int size, struct hop rm, uint32_t imm); /* test rm, imm */
void e_shift_imm(struct emit *e, int size, int op, struct hop rm, uint8_t count); /* op rm, imm8 */
void e_unary(struct emit *e, int size, int digit, struct hop rm);    /* F6/F7 /digit: 2 not, 3 neg */
void e_incdec(struct emit *e, int size, bool dec, struct hop rm);    /* inc/dec rm */
void e_lea(struct emit *e, int size, int reg, struct hop m);         /* lea reg, m */
void e_movzx(struct emit *e, int srcsize, int reg, struct hop rm);   /* movzx r32, rm8/rm16 */
void e_movsx(struct emit *e, int srcsize, int reg, struct hop rm);   /* movsx r32, rm8/rm16 */
void e_imul(struct emit *e, int size, int reg, struct hop rm);       /* imul reg, rm */
void e_imul_imm(struct emit *e, int size, int reg, struct hop rm, uint32_t imm); /* imul reg, rm, imm */
void e_setcc(struct emit *e, int cc, struct hop rm);                 /* setcc rm8 */
void e_cmov(struct emit *e, int size, int cc, int reg, struct hop rm); /* cmovcc reg, rm */
void e_bt_imm(struct emit *e, int size, struct hop rm, uint8_t bit); /* bt rm, imm8 */
void e_bswap(struct emit *e, int reg);                               /* bswap r32 */
void e_push(struct emit *e, int reg);                                /* push r64 */
void e_pop(struct emit *e, int reg);                                 /* pop r64 */
void e_pushfq(struct emit *e);
void e_popfq(struct emit *e);
void e_lahf(struct emit *e);                                         /* lahf (ah <- SF ZF 0 AF 0 PF 1 CF) */
void e_ret(struct emit *e);
void e_call_abs(struct emit *e, const void *fn);   /* mov rax, fn; call rax */
void e_jmp_reg(struct emit *e, int reg);            /* jmp r64 */
void e_jmp_mem(struct emit *e, struct hop m);       /* jmp qword [m] */
/* jmp/jcc rel32 with a zero displacement; return the address of the
 * displacement for emit_patch_rel32. */
uint8_t *e_jmp32(struct emit *e);
uint8_t *e_jcc32(struct emit *e, int cc);
/* Set the rel32 field at `field` so that the jump lands at `target`.
 * `field` and `target` are addresses in the same view (or a
 * view-independent pair: only their difference matters). */
void emit_patch_rel32(uint8_t *field, const uint8_t *target);

#endif
