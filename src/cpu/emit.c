/* emit.c - the x86-64 encoder used by the translator (see emit.h).
 * Encodings follow the Intel SDM vol. 2: legacy prefix 66, REX (0100WRXB),
 * opcode, ModRM, SIB, displacement, immediate. */
#include <string.h>

#include "cpu/emit.h"

void emit_init(struct emit *e, uint8_t *buf, uint8_t *end)
{
    e->p = e->start = buf;
    e->end = end;
    e->overflow = false;
}

void e_byte(struct emit *e, uint8_t b)
{
    if (e->p < e->end)
        *e->p++ = b;
    else
        e->overflow = true;
}

void e_u32(struct emit *e, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        e_byte(e, (uint8_t)(v >> (8 * i)));
}

void e_u64(struct emit *e, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        e_byte(e, (uint8_t)(v >> (8 * i)));
}

static bool fits8(int32_t v)
{
    return v >= -128 && v <= 127;
}

/* reg_is_digit: the reg field is an opcode extension, not a register
 * (no REX needed for byte registers 4-7). */
static void op_enc(struct emit *e, int size, uint32_t opc, int reg, struct hop rm, bool reg_is_digit);

void e_op(struct emit *e, int size, uint32_t opc, int reg, struct hop rm)
{
    op_enc(e, size, opc, reg, rm, false);
}

static void e_opd(struct emit *e, int size, uint32_t opc, int digit, struct hop rm)
{
    op_enc(e, size, opc, digit, rm, true);
}

static void op_enc(struct emit *e, int size, uint32_t opc, int reg, struct hop rm, bool reg_is_digit)
{
    uint8_t rex = 0;
    if (size == 2)
        e_byte(e, 0x66);
    if (size == 8)
        rex |= 0x48;
    if (reg & 8)
        rex |= 0x44;
    if (rm.mem) {
        if (rm.index >= 0 && (rm.index & 8))
            rex |= 0x42;
        if (rm.base >= 0 && (rm.base & 8))
            rex |= 0x41;
    } else {
        if (rm.reg & 8)
            rex |= 0x41;
        /* byte registers SPL/BPL/SIL/DIL need a REX prefix */
        if (size == 1 && (rm.reg & 7) >= 4 && rm.reg < 8)
            rex |= 0x40;
    }
    if (size == 1 && !reg_is_digit && reg >= 4 && reg < 8)
        rex |= 0x40;
    if (rex)
        e_byte(e, rex);
    if (opc > 0xff)
        e_byte(e, (uint8_t)(opc >> 8));
    e_byte(e, (uint8_t)opc);

    uint8_t r = (uint8_t)((reg & 7) << 3);
    if (!rm.mem) {
        e_byte(e, (uint8_t)(0xc0 | r | (rm.reg & 7)));
        return;
    }
    if (rm.base < 0) {
        /* [index*s + disp32] or [disp32]: SIB with base=101, mod=00 */
        e_byte(e, (uint8_t)(0x04 | r));
        int idx = rm.index >= 0 ? (rm.index & 7) : 4;
        e_byte(e, (uint8_t)((rm.scale << 6) | (idx << 3) | 5));
        e_u32(e, (uint32_t)rm.disp);
        return;
    }
    int mod;
    if (rm.disp == 0 && (rm.base & 7) != 5)
        mod = 0;
    else if (fits8(rm.disp))
        mod = 1;
    else
        mod = 2;
    if (rm.index >= 0 || (rm.base & 7) == 4) {
        int idx = rm.index >= 0 ? (rm.index & 7) : 4;
        e_byte(e, (uint8_t)((mod << 6) | r | 4));
        e_byte(e, (uint8_t)((rm.scale << 6) | (idx << 3) | (rm.base & 7)));
    } else {
        e_byte(e, (uint8_t)((mod << 6) | r | (rm.base & 7)));
    }
    if (mod == 1)
        e_byte(e, (uint8_t)rm.disp);
    else if (mod == 2)
        e_u32(e, (uint32_t)rm.disp);
}

static void e_imm(struct emit *e, int size, uint32_t imm)
{
    if (size == 1)
        e_byte(e, (uint8_t)imm);
    else if (size == 2) {
        e_byte(e, (uint8_t)imm);
        e_byte(e, (uint8_t)(imm >> 8));
    } else
        e_u32(e, imm);
}

void e_mov_load(struct emit *e, int size, int reg, struct hop rm)
{
    e_op(e, size, size == 1 ? 0x8a : 0x8b, reg, rm);
}

void e_mov_store(struct emit *e, int size, struct hop rm, int reg)
{
    e_op(e, size, size == 1 ? 0x88 : 0x89, reg, rm);
}

void e_mov_imm(struct emit *e, int size, struct hop rm, uint32_t imm)
{
    e_opd(e, size, size == 1 ? 0xc6 : 0xc7, 0, rm);
    e_imm(e, size == 8 ? 4 : size, imm);
}

void e_mov_r_imm32(struct emit *e, int reg, uint32_t imm)
{
    if (reg & 8)
        e_byte(e, 0x41);
    e_byte(e, (uint8_t)(0xb8 + (reg & 7)));
    e_u32(e, imm);
}

void e_mov_r_imm64(struct emit *e, int reg, uint64_t imm)
{
    e_byte(e, (uint8_t)(0x48 | ((reg & 8) ? 1 : 0)));
    e_byte(e, (uint8_t)(0xb8 + (reg & 7)));
    e_u64(e, imm);
}

void e_alu_store(struct emit *e, int size, int op, struct hop rm, int reg)
{
    e_op(e, size, (uint32_t)(op << 3) | (size == 1 ? 0 : 1), reg, rm);
}

void e_alu_load(struct emit *e, int size, int op, int reg, struct hop rm)
{
    e_op(e, size, (uint32_t)(op << 3) | (size == 1 ? 2 : 3), reg, rm);
}

void e_alu_imm(struct emit *e, int size, int op, struct hop rm, uint32_t imm)
{
    if (size == 1) {
        e_opd(e, 1, 0x80, op, rm);
        e_byte(e, (uint8_t)imm);
    } else if (fits8((int32_t)(size == 2 ? (uint32_t)(int16_t)imm : imm))) {
        e_opd(e, size, 0x83, op, rm);
        e_byte(e, (uint8_t)imm);
    } else {
        e_opd(e, size, 0x81, op, rm);
        e_imm(e, size == 8 ? 4 : size, imm);
    }
}

void e_test(struct emit *e, int size, struct hop rm, int reg)
{
    e_op(e, size, size == 1 ? 0x84 : 0x85, reg, rm);
}

void e_test_imm(struct emit *e, int size, struct hop rm, uint32_t imm)
{
    e_opd(e, size, size == 1 ? 0xf6 : 0xf7, 0, rm);
    e_imm(e, size == 8 ? 4 : size, imm);
}

void e_shift_imm(struct emit *e, int size, int op, struct hop rm, uint8_t count)
{
    e_opd(e, size, size == 1 ? 0xc0 : 0xc1, op, rm);
    e_byte(e, count);
}

void e_unary(struct emit *e, int size, int digit, struct hop rm)
{
    e_opd(e, size, size == 1 ? 0xf6 : 0xf7, digit, rm);
}

void e_incdec(struct emit *e, int size, bool dec, struct hop rm)
{
    e_opd(e, size, size == 1 ? 0xfe : 0xff, dec ? 1 : 0, rm);
}

void e_lea(struct emit *e, int size, int reg, struct hop m)
{
    e_op(e, size, 0x8d, reg, m);
}

void e_movzx(struct emit *e, int srcsize, int reg, struct hop rm)
{
    /* the REX byte-register rule applies to the source operand */
    e_op(e, srcsize == 1 ? 1 : 4, srcsize == 1 ? 0x0fb6 : 0x0fb7, reg, rm);
}

void e_movsx(struct emit *e, int srcsize, int reg, struct hop rm)
{
    e_op(e, srcsize == 1 ? 1 : 4, srcsize == 1 ? 0x0fbe : 0x0fbf, reg, rm);
}

void e_imul(struct emit *e, int size, int reg, struct hop rm)
{
    e_op(e, size, 0x0faf, reg, rm);
}

void e_imul_imm(struct emit *e, int size, int reg, struct hop rm, uint32_t imm)
{
    int32_t s = size == 2 ? (int16_t)imm : (int32_t)imm;
    if (fits8(s)) {
        e_op(e, size, 0x6b, reg, rm);
        e_byte(e, (uint8_t)imm);
    } else {
        e_op(e, size, 0x69, reg, rm);
        e_imm(e, size == 8 ? 4 : size, imm);
    }
}

void e_setcc(struct emit *e, int cc, struct hop rm)
{
    e_opd(e, 1, 0x0f90u + (uint32_t)cc, 0, rm);
}

void e_cmov(struct emit *e, int size, int cc, int reg, struct hop rm)
{
    e_op(e, size, 0x0f40u + (uint32_t)cc, reg, rm);
}

void e_bt_imm(struct emit *e, int size, struct hop rm, uint8_t bit)
{
    e_opd(e, size, 0x0fba, 4, rm);
    e_byte(e, bit);
}

void e_bswap(struct emit *e, int reg)
{
    if (reg & 8)
        e_byte(e, 0x41);
    e_byte(e, 0x0f);
    e_byte(e, (uint8_t)(0xc8 + (reg & 7)));
}

void e_push(struct emit *e, int reg)
{
    if (reg & 8)
        e_byte(e, 0x41);
    e_byte(e, (uint8_t)(0x50 + (reg & 7)));
}

void e_pop(struct emit *e, int reg)
{
    if (reg & 8)
        e_byte(e, 0x41);
    e_byte(e, (uint8_t)(0x58 + (reg & 7)));
}

void e_pushfq(struct emit *e)
{
    e_byte(e, 0x9c);
}

void e_popfq(struct emit *e)
{
    e_byte(e, 0x9d);
}

void e_lahf(struct emit *e)
{
    e_byte(e, 0x9f);
}

void e_ret(struct emit *e)
{
    e_byte(e, 0xc3);
}

void e_call_abs(struct emit *e, const void *fn)
{
    e_mov_r_imm64(e, H_RAX, (uint64_t)(uintptr_t)fn);
    e_byte(e, 0xff);
    e_byte(e, 0xd0); /* call rax */
}

void e_jmp_reg(struct emit *e, int reg)
{
    if (reg & 8)
        e_byte(e, 0x41);
    e_byte(e, 0xff);
    e_byte(e, (uint8_t)(0xe0 | (reg & 7)));
}

void e_jmp_mem(struct emit *e, struct hop m)
{
    e_opd(e, 4, 0xff, 4, m); /* FF /4: 64-bit operand by default */
}

uint8_t *e_jmp32(struct emit *e)
{
    e_byte(e, 0xe9);
    uint8_t *f = e->p;
    e_u32(e, 0);
    return e->overflow ? NULL : f;
}

uint8_t *e_jcc32(struct emit *e, int cc)
{
    e_byte(e, 0x0f);
    e_byte(e, (uint8_t)(0x80 + cc));
    uint8_t *f = e->p;
    e_u32(e, 0);
    return e->overflow ? NULL : f;
}

void emit_patch_rel32(uint8_t *field, const uint8_t *target)
{
    int32_t rel = (int32_t)(target - (field + 4));
    memcpy(field, &rel, 4);
}
