/* test_emit.c - the x86-64 encoder (src/cpu/emit.c): byte-exact
 * encodings of the forms the translator uses (checked against the Intel
 * SDM / GNU as), REX rules for r8-r15 and byte registers, SIB and
 * displacement selection, buffer overflow detection and rel32 patching. */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/emit.h"

static uint8_t buf[256];
static struct emit e;

static void begin(void)
{
    memset(buf, 0, sizeof buf);
    emit_init(&e, buf, buf + sizeof buf);
}

#define EXPECT(...)                                                              \
    do {                                                                         \
        const uint8_t want[] = { __VA_ARGS__ };                                  \
        cr_assert_eq(emit_len(&e), sizeof want, "length %u, want %zu",           \
                     emit_len(&e), sizeof want);                                 \
        cr_assert_arr_eq(buf, want, sizeof want);                                \
        begin();                                                                 \
    } while (0)

Test(emit, moves)
{
    begin();
    e_mov_load(&e, 4, H_RAX, HM(H_RBX, 8));          /* mov eax,[rbx+8] */
    EXPECT(0x8b, 0x43, 0x08);
    e_mov_store(&e, 4, HM(H_RBX, 0x200), H_RDX);     /* mov [rbx+0x200],edx */
    EXPECT(0x89, 0x93, 0x00, 0x02, 0x00, 0x00);
    e_mov_load(&e, 4, H_R13, HM(H_RBX, 0));          /* mov r13d,[rbx] */
    EXPECT(0x44, 0x8b, 0x2b);
    e_mov_load(&e, 8, H_RAX, HMX(H_RBX, H_RAX, 0, 16)); /* mov rax,[rbx+rax+16] */
    EXPECT(0x48, 0x8b, 0x44, 0x03, 0x10);
    e_mov_store(&e, 1, HMX(H_RAX, H_R13, 0, 0), H_RDX); /* mov [rax+r13],dl */
    EXPECT(0x42, 0x88, 0x14, 0x28);
    e_mov_load(&e, 4, H_RAX, HM(H_R13, 0));          /* mov eax,[r13+0] */
    EXPECT(0x41, 0x8b, 0x45, 0x00);
    e_mov_load(&e, 4, H_RAX, HM(H_R12, 0));          /* mov eax,[r12] (SIB) */
    EXPECT(0x41, 0x8b, 0x04, 0x24);
    e_mov_imm(&e, 4, HM(H_RBX, 0x20), 0x12345678);   /* mov dword [rbx+0x20],imm */
    EXPECT(0xc7, 0x43, 0x20, 0x78, 0x56, 0x34, 0x12);
    e_mov_r_imm32(&e, H_R13, 5);                     /* mov r13d,5 */
    EXPECT(0x41, 0xbd, 0x05, 0x00, 0x00, 0x00);
    e_mov_r_imm64(&e, H_RSI, 0x1122334455667788ull);
    EXPECT(0x48, 0xbe, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
    e_mov_load(&e, 2, H_RCX, HM(H_RBX, 4));          /* mov cx,[rbx+4] */
    EXPECT(0x66, 0x8b, 0x4b, 0x04);
    e_mov_load(&e, 1, H_RSI, HR(H_RDI));             /* mov sil,dil: needs REX */
    EXPECT(0x40, 0x8a, 0xf7);
    e_lea(&e, 4, H_R13, HMX(-1, H_RAX, 2, 0x100));   /* lea r13d,[rax*4+0x100] */
    EXPECT(0x44, 0x8d, 0x2c, 0x85, 0x00, 0x01, 0x00, 0x00);
}

Test(emit, alu_and_flags)
{
    begin();
    e_alu_store(&e, 4, A_ADD, HM(H_RBX, 4), H_RCX);  /* add [rbx+4],ecx */
    EXPECT(0x01, 0x4b, 0x04);
    e_alu_load(&e, 4, A_CMP, H_RCX, HMX(H_RBX, H_RAX, 0, 0x40)); /* cmp ecx,[rbx+rax+0x40] */
    EXPECT(0x3b, 0x4c, 0x03, 0x40);
    e_alu_imm(&e, 4, A_AND, HR(H_RAX), 0xff0);       /* and eax,0xff0 */
    EXPECT(0x81, 0xe0, 0xf0, 0x0f, 0x00, 0x00);
    e_alu_imm(&e, 4, A_SUB, HR(H_RCX), 4);           /* sub ecx,4 (imm8) */
    EXPECT(0x83, 0xe9, 0x04);
    e_alu_imm(&e, 1, A_XOR, HM(H_RBX, 1), 0x80);     /* xor byte [rbx+1],0x80 */
    EXPECT(0x80, 0x73, 0x01, 0x80);
    e_alu_imm(&e, 8, A_ADD, HM(H_RBX, 0x10), 3);     /* add qword [rbx+0x10],3 */
    EXPECT(0x48, 0x83, 0x43, 0x10, 0x03);
    e_test_imm(&e, 4, HR(H_R12), 0x40);              /* test r12d,0x40 */
    EXPECT(0x41, 0xf7, 0xc4, 0x40, 0x00, 0x00, 0x00);
    e_shift_imm(&e, 4, SH_SHR, HR(H_RAX), 8);        /* shr eax,8 */
    EXPECT(0xc1, 0xe8, 0x08);
    e_incdec(&e, 4, true, HM(H_RBX, 4));             /* dec dword [rbx+4] */
    EXPECT(0xff, 0x4b, 0x04);
    e_imul(&e, 4, H_RDX, HR(H_RCX));                 /* imul edx,ecx */
    EXPECT(0x0f, 0xaf, 0xd1);
    e_imul_imm(&e, 4, H_RDX, HR(H_RCX), 1000);       /* imul edx,ecx,1000 */
    EXPECT(0x69, 0xd1, 0xe8, 0x03, 0x00, 0x00);
    e_movzx(&e, 1, H_RDX, HM(H_RBX, 5));             /* movzx edx,byte [rbx+5] */
    EXPECT(0x0f, 0xb6, 0x53, 0x05);
    e_movsx(&e, 2, H_RDX, HMX(H_RAX, H_R13, 0, 0));  /* movsx edx,word [rax+r13] */
    EXPECT(0x42, 0x0f, 0xbf, 0x14, 0x28);
    e_setcc(&e, HC_NZ, HM(H_RBX, 0));                /* setnz byte [rbx] */
    EXPECT(0x0f, 0x95, 0x03);
    e_cmov(&e, 4, HC_L, H_RAX, HR(H_RCX));           /* cmovl eax,ecx */
    EXPECT(0x0f, 0x4c, 0xc1);
    e_bt_imm(&e, 4, HR(H_R12), 0);                   /* bt r12d,0 */
    EXPECT(0x41, 0x0f, 0xba, 0xe4, 0x00);
    e_bswap(&e, H_RDX);
    EXPECT(0x0f, 0xca);
    /* the translator's flags capture: lahf; seto al; shl al,3; rol ax,8;
     * movzx r12d,ax */
    e_lahf(&e);
    e_setcc(&e, HC_O, HR(H_RAX));
    e_shift_imm(&e, 1, SH_SHL, HR(H_RAX), 3);
    e_shift_imm(&e, 2, SH_ROL, HR(H_RAX), 8);
    e_movzx(&e, 2, H_R12, HR(H_RAX));
    EXPECT(0x9f, 0x0f, 0x90, 0xc0, 0xc0, 0xe0, 0x03, 0x66, 0xc1, 0xc0, 0x08,
           0x44, 0x0f, 0xb7, 0xe0);
}

Test(emit, stack_calls_jumps)
{
    begin();
    e_push(&e, H_RBX);
    e_push(&e, H_R15);
    e_pop(&e, H_R12);
    e_pushfq(&e);
    e_popfq(&e);
    e_ret(&e);
    EXPECT(0x53, 0x41, 0x57, 0x41, 0x5c, 0x9c, 0x9d, 0xc3);
    e_jmp_reg(&e, H_RSI);
    EXPECT(0xff, 0xe6);
    e_call_abs(&e, (const void *)(uintptr_t)0x1000);
    EXPECT(0x48, 0xb8, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0xff, 0xd0);
    uint8_t *f = e_jcc32(&e, HC_NZ);
    cr_assert_eq(f, buf + 2);
    emit_patch_rel32(f, buf + 0x20);
    EXPECT(0x0f, 0x85, 0x1a, 0x00, 0x00, 0x00);
    f = e_jmp32(&e);
    emit_patch_rel32(f, buf);          /* backwards */
    EXPECT(0xe9, 0xfb, 0xff, 0xff, 0xff);
}

Test(emit, overflow_is_reported)
{
    uint8_t small[4];
    emit_init(&e, small, small + sizeof small);
    e_mov_imm(&e, 4, HM(H_RBX, 0x20), 1);
    cr_assert(e.overflow);
    cr_assert(emit_len(&e) <= sizeof small);
}
