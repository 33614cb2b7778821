/* test_decode.c - unit tests of the instruction decoder (decode.c) and of
 * the LOCK / #UD handler selection it does with the opcode table.
 *
 * Expected values are written out here; the length table at the end was
 * cross-checked against binutils' objdump (i386, 16- and 32-bit modes).
 * The tests fill optable with a sentinel handler themselves, so they do
 * not depend on which handlers the ops_*.c files implement. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

#define NONE REG_NONE

static void sentinel(struct cpu *cpu, const struct insn *in)
{
    (void)cpu;
    (void)in;
}

static void fill_sentinel(void)
{
    for (int i = 0; i < 512; i++)
        optable[i] = sentinel;
}

TestSuite(decode, .init = fill_sentinel);

/* ---- decoding with a guard page right after the last valid byte ---- */

/* Copies the first `avail` bytes of `b` so that they end exactly at an
 * inaccessible page: reading bytes[avail] crashes the test. */
static int decode_guarded(struct insn *in, const uint8_t *b, int avail, int code32)
{
    static uint8_t *area;       /* test-local scratch, one per process */
    long pg = sysconf(_SC_PAGESIZE);
    if (!area) {
        area = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        cr_assert(area != MAP_FAILED);
        cr_assert(mprotect(area + pg, pg, PROT_NONE) == 0);
    }
    uint8_t *p = area + pg - avail;
    memcpy(p, b, avail);
    memset(in, 0xcc, sizeof *in);
    return decode_insn(in, p, avail, code32);
}

/* ---- full-field cases ---- */

struct dcase {
    const char *name;
    int code32;
    int n;                  /* bytes given (= expected length) */
    uint8_t b[16];
    unsigned op, pfx, opsize, adsize, seg;
    unsigned has_modrm, mod, reg, rm;
    unsigned base, index, scale;
    uint32_t disp;
    unsigned imm_size;
    uint32_t imm, imm2;
    int ud;                 /* fn must be op_ud (else optable[op]) */
};

#define BY(...) .b = {__VA_ARGS__}, .n = sizeof((uint8_t[]){__VA_ARGS__})
#define M32 .code32 = 1
#define M16 .code32 = 0
#define SZ(o, a) .opsize = o, .adsize = a
#define MRM(md, r, m) .has_modrm = 1, .mod = md, .reg = r, .rm = m
#define EA(b_, i_, s_, d_) .base = b_, .index = i_, .scale = s_, .disp = d_
#define NOEA .base = NONE, .index = NONE
#define IMM(sz, v) .imm_size = sz, .imm = v
#define SEG(s) .seg = s
#define OP(o) .op = o

static const struct dcase cases[] = {
    /* ---- 32-bit addressing ---- */
    {"add [eax],al", M32, BY(0x00, 0x00), OP(0x00), SZ(32, 32), SEG(S_DS), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0)},
    {"add eax,ebx", M32, BY(0x01, 0xd8), OP(0x01), SZ(32, 32), SEG(S_DS), MRM(3, 3, 0), NOEA},
    {"mov eax,[ebp+8]", M32, BY(0x8b, 0x45, 0x08), OP(0x8b), SZ(32, 32), SEG(S_SS), MRM(1, 0, 5), EA(R_EBP, NONE, 0, 8)},
    {"mov eax,[ebp-8]", M32, BY(0x8b, 0x45, 0xf8), OP(0x8b), SZ(32, 32), SEG(S_SS), MRM(1, 0, 5), EA(R_EBP, NONE, 0, 0xfffffff8)},
    {"mov eax,[disp32]", M32, BY(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), OP(0x8b), SZ(32, 32), SEG(S_DS), MRM(0, 0, 5), EA(NONE, NONE, 0, 0x12345678)},
    {"mov eax,[esp]", M32, BY(0x8b, 0x04, 0x24), OP(0x8b), SZ(32, 32), SEG(S_SS), MRM(0, 0, 4), EA(R_ESP, NONE, 0, 0)},
    {"mov eax,[esi+ecx*4+0x10]", M32, BY(0x8b, 0x44, 0x8e, 0x10), OP(0x8b), SZ(32, 32), SEG(S_DS), MRM(1, 0, 4), EA(R_ESI, R_ECX, 2, 0x10)},
    {"mov eax,[ecx*8+0x1000]", M32, BY(0x8b, 0x04, 0xcd, 0x00, 0x10, 0x00, 0x00), OP(0x8b), SZ(32, 32), SEG(S_DS), MRM(0, 0, 4), EA(NONE, R_ECX, 3, 0x1000)},
    {"mov eax,[esp+ebp+0x100]", M32, BY(0x8b, 0x84, 0x2c, 0x00, 0x01, 0x00, 0x00), OP(0x8b), SZ(32, 32), SEG(S_SS), MRM(2, 0, 4), EA(R_ESP, R_EBP, 0, 0x100)},
    {"mov eax,[ebx+ebp]", M32, BY(0x8b, 0x04, 0x2b), OP(0x8b), SZ(32, 32), SEG(S_DS), MRM(0, 0, 4), EA(R_EBX, R_EBP, 0, 0)},
    {"mov eax,[ebp+0] sib no index", M32, BY(0x8b, 0x44, 0x65, 0x00), OP(0x8b), SZ(32, 32), SEG(S_SS), MRM(1, 0, 4), EA(R_EBP, NONE, 0, 0)},
    {"mov eax,[ebp*2+disp32]", M32, BY(0x8b, 0x04, 0x6d, 0x10, 0x00, 0x00, 0x00), OP(0x8b), SZ(32, 32), SEG(S_DS), MRM(0, 0, 4), EA(NONE, R_EBP, 1, 0x10)},
    {"mov eax,[disp32] via sib", M32, BY(0x8b, 0x04, 0x25, 0x44, 0x33, 0x22, 0x11), OP(0x8b), SZ(32, 32), SEG(S_DS), MRM(0, 0, 4), EA(NONE, NONE, 0, 0x11223344)},
    {"mov eax,[ebp-0x80000000]", M32, BY(0x8b, 0x85, 0x00, 0x00, 0x00, 0x80), OP(0x8b), SZ(32, 32), SEG(S_SS), MRM(2, 0, 5), EA(R_EBP, NONE, 0, 0x80000000)},
    {"mov ecx,[edi+edx*1-1]", M32, BY(0x8b, 0x4c, 0x17, 0xff), OP(0x8b), SZ(32, 32), SEG(S_DS), MRM(1, 1, 4), EA(R_EDI, R_EDX, 0, 0xffffffff)},
    {"lea esp,[esp+eax*8+4]", M32, BY(0x8d, 0x64, 0xc4, 0x04), OP(0x8d), SZ(32, 32), SEG(S_SS), MRM(1, 4, 4), EA(R_ESP, R_EAX, 3, 4)},
    /* ---- segment overrides ---- */
    {"fs: mov eax,[ebp+8]", M32, BY(0x64, 0x8b, 0x45, 0x08), OP(0x8b), .pfx = PFX_SEG, SZ(32, 32), SEG(S_FS), MRM(1, 0, 5), EA(R_EBP, NONE, 0, 8)},
    {"ds: [ebp]", M32, BY(0x3e, 0x8b, 0x45, 0x00), OP(0x8b), .pfx = PFX_SEG, SZ(32, 32), SEG(S_DS), MRM(1, 0, 5), EA(R_EBP, NONE, 0, 0)},
    {"ss: [eax]", M32, BY(0x36, 0x8b, 0x00), OP(0x8b), .pfx = PFX_SEG, SZ(32, 32), SEG(S_SS), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0)},
    {"cs: [eax]", M32, BY(0x2e, 0x8b, 0x00), OP(0x8b), .pfx = PFX_SEG, SZ(32, 32), SEG(S_CS), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0)},
    {"es: [eax]", M32, BY(0x26, 0x8b, 0x00), OP(0x8b), .pfx = PFX_SEG, SZ(32, 32), SEG(S_ES), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0)},
    {"last override wins (gs)", M32, BY(0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x8b, 0x00), OP(0x8b), .pfx = PFX_SEG, SZ(32, 32), SEG(S_GS), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0)},
    {"last override wins (es)", M32, BY(0x65, 0x26, 0x8b, 0x00), OP(0x8b), .pfx = PFX_SEG, SZ(32, 32), SEG(S_ES), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0)},
    {"override on reg operand", M32, BY(0x64, 0x89, 0xc0), OP(0x89), .pfx = PFX_SEG, SZ(32, 32), SEG(S_FS), MRM(3, 0, 0), NOEA},
    /* ---- 16-bit addressing ---- */
    {"mov ax,[bx+si]", M16, BY(0x8b, 0x00), OP(0x8b), SZ(16, 16), SEG(S_DS), MRM(0, 0, 0), EA(R_EBX, R_ESI, 0, 0)},
    {"mov ax,[bx+di]", M16, BY(0x8b, 0x01), OP(0x8b), SZ(16, 16), SEG(S_DS), MRM(0, 0, 1), EA(R_EBX, R_EDI, 0, 0)},
    {"mov ax,[bp+si]", M16, BY(0x8b, 0x02), OP(0x8b), SZ(16, 16), SEG(S_SS), MRM(0, 0, 2), EA(R_EBP, R_ESI, 0, 0)},
    {"mov ax,[bp+di]", M16, BY(0x8b, 0x03), OP(0x8b), SZ(16, 16), SEG(S_SS), MRM(0, 0, 3), EA(R_EBP, R_EDI, 0, 0)},
    {"mov ax,[si]", M16, BY(0x8b, 0x04), OP(0x8b), SZ(16, 16), SEG(S_DS), MRM(0, 0, 4), EA(R_ESI, NONE, 0, 0)},
    {"mov ax,[di]", M16, BY(0x8b, 0x05), OP(0x8b), SZ(16, 16), SEG(S_DS), MRM(0, 0, 5), EA(R_EDI, NONE, 0, 0)},
    {"mov ax,[0x1234]", M16, BY(0x8b, 0x06, 0x34, 0x12), OP(0x8b), SZ(16, 16), SEG(S_DS), MRM(0, 0, 6), EA(NONE, NONE, 0, 0x1234)},
    {"mov ax,[bx]", M16, BY(0x8b, 0x07), OP(0x8b), SZ(16, 16), SEG(S_DS), MRM(0, 0, 7), EA(R_EBX, NONE, 0, 0)},
    {"mov ax,[bx+si+0x7f]", M16, BY(0x8b, 0x40, 0x7f), OP(0x8b), SZ(16, 16), SEG(S_DS), MRM(1, 0, 0), EA(R_EBX, R_ESI, 0, 0x7f)},
    {"mov ax,[bp-2]", M16, BY(0x8b, 0x46, 0xfe), OP(0x8b), SZ(16, 16), SEG(S_SS), MRM(1, 0, 6), EA(R_EBP, NONE, 0, 0xfffffffe)},
    {"mov ax,[bp-0x8000]", M16, BY(0x8b, 0x86, 0x00, 0x80), OP(0x8b), SZ(16, 16), SEG(S_SS), MRM(2, 0, 6), EA(R_EBP, NONE, 0, 0xffff8000)},
    {"mov ax,[bp+di+0x1234]", M16, BY(0x8b, 0x83, 0x34, 0x12), OP(0x8b), SZ(16, 16), SEG(S_SS), MRM(2, 0, 3), EA(R_EBP, R_EDI, 0, 0x1234)},
    {"mov ax,[0x8000] disp16 sign-ext", M16, BY(0x8b, 0x06, 0x00, 0x80), OP(0x8b), SZ(16, 16), SEG(S_DS), MRM(0, 0, 6), EA(NONE, NONE, 0, 0xffff8000)},
    {"es: mov ax,[bp+si]", M16, BY(0x26, 0x8b, 0x02), OP(0x8b), .pfx = PFX_SEG, SZ(16, 16), SEG(S_ES), MRM(0, 0, 2), EA(R_EBP, R_ESI, 0, 0)},
    {"mov sp,bx (mod 3)", M16, BY(0x8b, 0xe3), OP(0x8b), SZ(16, 16), SEG(S_DS), MRM(3, 4, 3), NOEA},
    /* ---- size prefixes ---- */
    {"67: [bp+2] in 32-bit code", M32, BY(0x67, 0x8b, 0x46, 0x02), OP(0x8b), .pfx = PFX_ADSIZE, SZ(32, 16), SEG(S_SS), MRM(1, 0, 6), EA(R_EBP, NONE, 0, 2)},
    {"67: [esp+4] in 16-bit code", M16, BY(0x67, 0x8b, 0x44, 0x24, 0x04), OP(0x8b), .pfx = PFX_ADSIZE, SZ(16, 32), SEG(S_SS), MRM(1, 0, 4), EA(R_ESP, NONE, 0, 4)},
    {"66: mov ax,bx", M32, BY(0x66, 0x8b, 0xc3), OP(0x8b), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), MRM(3, 0, 3), NOEA},
    {"66: mov eax,ebx in 16-bit code", M16, BY(0x66, 0x8b, 0xc3), OP(0x8b), .pfx = PFX_OPSIZE, SZ(32, 16), SEG(S_DS), MRM(3, 0, 3), NOEA},
    {"66 67 66 67: both flipped once", M32, BY(0x66, 0x67, 0x66, 0x67, 0x8b, 0x07), OP(0x8b), .pfx = PFX_OPSIZE | PFX_ADSIZE, SZ(16, 16), SEG(S_DS), MRM(0, 0, 7), EA(R_EBX, NONE, 0, 0)},
    /* ---- immediates ---- */
    {"add al,0x7f", M32, BY(0x04, 0x7f), OP(0x04), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0x7f)},
    {"add al,0x80 zero-ext", M32, BY(0x04, 0x80), OP(0x04), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0x80)},
    {"add eax,imm32", M32, BY(0x05, 0x78, 0x56, 0x34, 0x12), OP(0x05), SZ(32, 32), SEG(S_DS), NOEA, IMM(4, 0x12345678)},
    {"add ax,0x8000", M32, BY(0x66, 0x05, 0x00, 0x80), OP(0x05), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), NOEA, IMM(2, 0x8000)},
    {"cmp eax,imm32 (3d)", M32, BY(0x3d, 0xff, 0xff, 0xff, 0xff), OP(0x3d), SZ(32, 32), SEG(S_DS), NOEA, IMM(4, 0xffffffff)},
    {"add al,0xff (80)", M32, BY(0x80, 0xc0, 0xff), OP(0x80), SZ(32, 32), SEG(S_DS), MRM(3, 0, 0), NOEA, IMM(1, 0xff)},
    {"add al,0xff (82)", M32, BY(0x82, 0xc0, 0xff), OP(0x82), SZ(32, 32), SEG(S_DS), MRM(3, 0, 0), NOEA, IMM(1, 0xff)},
    {"add ecx,0x80000000 (81)", M32, BY(0x81, 0xc1, 0x00, 0x00, 0x00, 0x80), OP(0x81), SZ(32, 32), SEG(S_DS), MRM(3, 0, 1), NOEA, IMM(4, 0x80000000)},
    {"add cx,0xffff (81)", M32, BY(0x66, 0x81, 0xc1, 0xff, 0xff), OP(0x81), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), MRM(3, 0, 1), NOEA, IMM(2, 0xffff)},
    {"add ecx,-1 (83)", M32, BY(0x83, 0xc1, 0xff), OP(0x83), SZ(32, 32), SEG(S_DS), MRM(3, 0, 1), NOEA, IMM(1, 0xffffffff)},
    {"add cx,-0x80 (83)", M32, BY(0x66, 0x83, 0xc1, 0x80), OP(0x83), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), MRM(3, 0, 1), NOEA, IMM(1, 0xffffff80)},
    {"cmp dword [esp+4],1 (83 /7)", M32, BY(0x83, 0x7c, 0x24, 0x04, 0x01), OP(0x83), SZ(32, 32), SEG(S_SS), MRM(1, 7, 4), EA(R_ESP, NONE, 0, 4), IMM(1, 1)},
    {"add dword [disp32],imm32", M32, BY(0x81, 0x05, 0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00), OP(0x81), SZ(32, 32), SEG(S_DS), MRM(0, 0, 5), EA(NONE, NONE, 0, 0x1000), IMM(4, 1)},
    {"push -1 (6a)", M32, BY(0x6a, 0xff), OP(0x6a), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0xffffffff)},
    {"push imm32 (68)", M32, BY(0x68, 0x00, 0x00, 0x00, 0x80), OP(0x68), SZ(32, 32), SEG(S_DS), NOEA, IMM(4, 0x80000000)},
    {"push imm16 (68) 16-bit", M16, BY(0x68, 0x34, 0x92), OP(0x68), SZ(16, 16), SEG(S_DS), NOEA, IMM(2, 0x9234)},
    {"imul eax,eax,0x100 (69)", M32, BY(0x69, 0xc0, 0x00, 0x01, 0x00, 0x00), OP(0x69), SZ(32, 32), SEG(S_DS), MRM(3, 0, 0), NOEA, IMM(4, 0x100)},
    {"imul ax,ax,0xffff (69)", M32, BY(0x66, 0x69, 0xc0, 0xff, 0xff), OP(0x69), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), MRM(3, 0, 0), NOEA, IMM(2, 0xffff)},
    {"imul eax,[ebx],-1 (6b)", M32, BY(0x6b, 0x03, 0xff), OP(0x6b), SZ(32, 32), SEG(S_DS), MRM(0, 0, 3), EA(R_EBX, NONE, 0, 0), IMM(1, 0xffffffff)},
    {"test al,0x80 (a8)", M32, BY(0xa8, 0x80), OP(0xa8), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0x80)},
    {"test ax,0x8001 (a9)", M16, BY(0xa9, 0x01, 0x80), OP(0xa9), SZ(16, 16), SEG(S_DS), NOEA, IMM(2, 0x8001)},
    {"mov bh,0xff (b7)", M32, BY(0xb7, 0xff), OP(0xb7), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0xff)},
    {"mov edi,imm32 (bf)", M32, BY(0xbf, 0x78, 0x56, 0x34, 0x12), OP(0xbf), SZ(32, 32), SEG(S_DS), NOEA, IMM(4, 0x12345678)},
    {"mov ax,imm16 (b8)", M32, BY(0x66, 0xb8, 0x34, 0x12), OP(0xb8), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), NOEA, IMM(2, 0x1234)},
    {"shl al,3 (c0)", M32, BY(0xc0, 0xe0, 0x03), OP(0xc0), SZ(32, 32), SEG(S_DS), MRM(3, 4, 0), NOEA, IMM(1, 3)},
    {"sar dword [eax],0x1f (c1)", M32, BY(0xc1, 0x38, 0x1f), OP(0xc1), SZ(32, 32), SEG(S_DS), MRM(0, 7, 0), EA(R_EAX, NONE, 0, 0), IMM(1, 0x1f)},
    {"shl al,1 (d0)", M32, BY(0xd0, 0xe0), OP(0xd0), SZ(32, 32), SEG(S_DS), MRM(3, 4, 0), NOEA},
    {"shr eax,cl (d3)", M32, BY(0xd3, 0xe8), OP(0xd3), SZ(32, 32), SEG(S_DS), MRM(3, 5, 0), NOEA},
    {"ret 8", M32, BY(0xc2, 0x08, 0x00), OP(0xc2), SZ(32, 32), SEG(S_DS), NOEA, IMM(2, 8)},
    {"o16 ret 0xfffe", M32, BY(0x66, 0xc2, 0xfe, 0xff), OP(0xc2), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), NOEA, IMM(2, 0xfffe)},
    {"retf 4", M16, BY(0xca, 0x04, 0x00), OP(0xca), SZ(16, 16), SEG(S_DS), NOEA, IMM(2, 4)},
    {"mov byte [eax],0xff (c6)", M32, BY(0xc6, 0x00, 0xff), OP(0xc6), SZ(32, 32), SEG(S_DS), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0), IMM(1, 0xff)},
    {"mov dword [ebp-4],1 (c7)", M32, BY(0xc7, 0x45, 0xfc, 0x01, 0x00, 0x00, 0x00), OP(0xc7), SZ(32, 32), SEG(S_SS), MRM(1, 0, 5), EA(R_EBP, NONE, 0, 0xfffffffc), IMM(4, 1)},
    {"mov word [eax],0x1234 (c7)", M32, BY(0x66, 0xc7, 0x00, 0x34, 0x12), OP(0xc7), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0), IMM(2, 0x1234)},
    {"enter 0x10,2", M32, BY(0xc8, 0x10, 0x00, 0x02), OP(0xc8), SZ(32, 32), SEG(S_DS), NOEA, IMM(2, 0x10), .imm2 = 2},
    {"enter 0xffff,0xff (16)", M16, BY(0xc8, 0xff, 0xff, 0xff), OP(0xc8), SZ(16, 16), SEG(S_DS), NOEA, IMM(2, 0xffff), .imm2 = 0xff},
    {"int 0x80", M32, BY(0xcd, 0x80), OP(0xcd), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0x80)},
    {"in al,0x60", M32, BY(0xe4, 0x60), OP(0xe4), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0x60)},
    {"out 0xe9,eax", M32, BY(0xe7, 0xe9), OP(0xe7), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0xe9)},
    {"aam 10", M32, BY(0xd4, 0x0a), OP(0xd4), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 10)},
    {"aad 0x80", M32, BY(0xd5, 0x80), OP(0xd5), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0x80)},
    /* ---- relative branches ---- */
    {"jmp short -2", M32, BY(0xeb, 0xfe), OP(0xeb), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0xfffffffe)},
    {"je +0x10", M32, BY(0x74, 0x10), OP(0x74), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0x10)},
    {"jg -0x80", M16, BY(0x7f, 0x80), OP(0x7f), SZ(16, 16), SEG(S_DS), NOEA, IMM(1, 0xffffff80)},
    {"jecxz -2", M32, BY(0xe3, 0xfe), OP(0xe3), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0xfffffffe)},
    {"loopne -2", M32, BY(0xe0, 0xfe), OP(0xe0), SZ(32, 32), SEG(S_DS), NOEA, IMM(1, 0xfffffffe)},
    {"loop (67) in 32-bit code", M32, BY(0x67, 0xe2, 0x05), OP(0xe2), .pfx = PFX_ADSIZE, SZ(32, 16), SEG(S_DS), NOEA, IMM(1, 5)},
    {"call rel32", M32, BY(0xe8, 0x00, 0x00, 0x00, 0x00), OP(0xe8), SZ(32, 32), SEG(S_DS), NOEA, IMM(4, 0)},
    {"jmp rel32 -5", M32, BY(0xe9, 0xfb, 0xff, 0xff, 0xff), OP(0xe9), SZ(32, 32), SEG(S_DS), NOEA, IMM(4, 0xfffffffb)},
    {"call rel16 -3", M16, BY(0xe8, 0xfd, 0xff), OP(0xe8), SZ(16, 16), SEG(S_DS), NOEA, IMM(2, 0xfffffffd)},
    {"o16 jmp rel16 -0x8000", M32, BY(0x66, 0xe9, 0x00, 0x80), OP(0xe9), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), NOEA, IMM(2, 0xffff8000)},
    {"je rel32 (0f 84)", M32, BY(0x0f, 0x84, 0x00, 0x00, 0x00, 0x80), OP(0x184), SZ(32, 32), SEG(S_DS), NOEA, IMM(4, 0x80000000)},
    {"jne rel16 (0f 85)", M16, BY(0x0f, 0x85, 0xfe, 0xff), OP(0x185), SZ(16, 16), SEG(S_DS), NOEA, IMM(2, 0xfffffffe)},
    {"o32 jg rel32 in 16-bit code", M16, BY(0x66, 0x0f, 0x8f, 0x10, 0x00, 0x00, 0x00), OP(0x18f), .pfx = PFX_OPSIZE, SZ(32, 16), SEG(S_DS), NOEA, IMM(4, 0x10)},
    /* ---- far pointers ---- */
    {"call 0008:12345678", M32, BY(0x9a, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00), OP(0x9a), SZ(32, 32), SEG(S_DS), NOEA, IMM(4, 0x12345678), .imm2 = 8},
    {"jmp 0000:7c00 (16)", M16, BY(0xea, 0x00, 0x7c, 0x00, 0x00), OP(0xea), SZ(16, 16), SEG(S_DS), NOEA, IMM(2, 0x7c00), .imm2 = 0},
    {"jmp f000:e05b (16)", M16, BY(0xea, 0x5b, 0xe0, 0x00, 0xf0), OP(0xea), SZ(16, 16), SEG(S_DS), NOEA, IMM(2, 0xe05b), .imm2 = 0xf000},
    {"o32 jmp 0010:00100000 in 16-bit code", M16, BY(0x66, 0xea, 0x00, 0x00, 0x10, 0x00, 0x10, 0x00), OP(0xea), .pfx = PFX_OPSIZE, SZ(32, 16), SEG(S_DS), NOEA, IMM(4, 0x100000), .imm2 = 0x10},
    {"o16 call 1234:8000", M32, BY(0x66, 0x9a, 0x00, 0x80, 0x34, 0x12), OP(0x9a), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), NOEA, IMM(2, 0x8000), .imm2 = 0x1234},
    /* ---- moffs ---- */
    {"mov eax,[moffs32]", M32, BY(0xa1, 0x78, 0x56, 0x34, 0x12), OP(0xa1), SZ(32, 32), SEG(S_DS), EA(NONE, NONE, 0, 0x12345678)},
    {"mov al,[moffs16]", M16, BY(0xa0, 0x34, 0x12), OP(0xa0), SZ(16, 16), SEG(S_DS), EA(NONE, NONE, 0, 0x1234)},
    {"a16 mov [0x8000],eax", M32, BY(0x67, 0xa3, 0x00, 0x80), OP(0xa3), .pfx = PFX_ADSIZE, SZ(32, 16), SEG(S_DS), EA(NONE, NONE, 0, 0x8000)},
    {"a32 mov [moffs32],al in 16-bit", M16, BY(0x67, 0xa2, 0x00, 0x00, 0x00, 0x80), OP(0xa2), .pfx = PFX_ADSIZE, SZ(16, 32), SEG(S_DS), EA(NONE, NONE, 0, 0x80000000)},
    {"fs: mov eax,[0]", M32, BY(0x64, 0xa1, 0x00, 0x00, 0x00, 0x00), OP(0xa1), .pfx = PFX_SEG, SZ(32, 32), SEG(S_FS), EA(NONE, NONE, 0, 0)},
    /* ---- group 3: immediate only for TEST ---- */
    {"test bl,1 (f6 /0)", M32, BY(0xf6, 0xc3, 0x01), OP(0xf6), SZ(32, 32), SEG(S_DS), MRM(3, 0, 3), NOEA, IMM(1, 1)},
    {"test bl,0x81 (f6 /1)", M32, BY(0xf6, 0xcb, 0x81), OP(0xf6), SZ(32, 32), SEG(S_DS), MRM(3, 1, 3), NOEA, IMM(1, 0x81)},
    {"not bl (f6 /2)", M32, BY(0xf6, 0xd3), OP(0xf6), SZ(32, 32), SEG(S_DS), MRM(3, 2, 3), NOEA},
    {"idiv byte [esi] (f6 /7)", M32, BY(0xf6, 0x3e), OP(0xf6), SZ(32, 32), SEG(S_DS), MRM(0, 7, 6), EA(R_ESI, NONE, 0, 0)},
    {"test eax,0x10000 (f7 /0)", M32, BY(0xf7, 0xc0, 0x00, 0x00, 0x01, 0x00), OP(0xf7), SZ(32, 32), SEG(S_DS), MRM(3, 0, 0), NOEA, IMM(4, 0x10000)},
    {"test ax,0xffff (f7 /0)", M32, BY(0x66, 0xf7, 0xc0, 0xff, 0xff), OP(0xf7), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), MRM(3, 0, 0), NOEA, IMM(2, 0xffff)},
    {"neg eax (f7 /3)", M32, BY(0xf7, 0xd8), OP(0xf7), SZ(32, 32), SEG(S_DS), MRM(3, 3, 0), NOEA},
    {"div ecx (f7 /6)", M32, BY(0xf7, 0xf1), OP(0xf7), SZ(32, 32), SEG(S_DS), MRM(3, 6, 1), NOEA},
    {"test dword [esp],0xff", M32, BY(0xf7, 0x04, 0x24, 0xff, 0x00, 0x00, 0x00), OP(0xf7), SZ(32, 32), SEG(S_SS), MRM(0, 0, 4), EA(R_ESP, NONE, 0, 0), IMM(4, 0xff)},
    {"mul word [bp+2] (16)", M16, BY(0xf7, 0x66, 0x02), OP(0xf7), SZ(16, 16), SEG(S_SS), MRM(1, 4, 6), EA(R_EBP, NONE, 0, 2)},
    /* ---- 0F map immediates ---- */
    {"bt eax,5 (0f ba /4)", M32, BY(0x0f, 0xba, 0xe0, 0x05), OP(0x1ba), SZ(32, 32), SEG(S_DS), MRM(3, 4, 0), NOEA, IMM(1, 5)},
    {"btc dword [ebp+8],0x1f", M32, BY(0x0f, 0xba, 0x7d, 0x08, 0x1f), OP(0x1ba), SZ(32, 32), SEG(S_SS), MRM(1, 7, 5), EA(R_EBP, NONE, 0, 8), IMM(1, 0x1f)},
    {"shld edx,eax,4", M32, BY(0x0f, 0xa4, 0xc2, 0x04), OP(0x1a4), SZ(32, 32), SEG(S_DS), MRM(3, 0, 2), NOEA, IMM(1, 4)},
    {"shrd [eax],edx,0x90", M32, BY(0x0f, 0xac, 0x10, 0x90), OP(0x1ac), SZ(32, 32), SEG(S_DS), MRM(0, 2, 0), EA(R_EAX, NONE, 0, 0), IMM(1, 0x90)},
    {"shld edx,eax,cl", M32, BY(0x0f, 0xa5, 0xc2), OP(0x1a5), SZ(32, 32), SEG(S_DS), MRM(3, 0, 2), NOEA},
    {"movzx eax,byte [bx] (16 addr)", M16, BY(0x66, 0x0f, 0xb6, 0x07), OP(0x1b6), .pfx = PFX_OPSIZE, SZ(32, 16), SEG(S_DS), MRM(0, 0, 7), EA(R_EBX, NONE, 0, 0)},
    /* ---- CR/DR moves: mod ignored ---- */
    {"mov eax,cr0", M32, BY(0x0f, 0x20, 0xc0), OP(0x120), SZ(32, 32), SEG(S_DS), MRM(3, 0, 0), NOEA},
    {"mov cr3,eax (mod 0)", M32, BY(0x0f, 0x22, 0x18), OP(0x122), SZ(32, 32), SEG(S_DS), MRM(3, 3, 0), NOEA},
    {"mov ebp,cr4 (mod 0 rm 5: no disp)", M32, BY(0x0f, 0x20, 0x25), OP(0x120), SZ(32, 32), SEG(S_DS), MRM(3, 4, 5), NOEA},
    {"mov dr7,esp (mod 0 rm 4: no sib)", M32, BY(0x0f, 0x23, 0x3c), OP(0x123), SZ(32, 32), SEG(S_DS), MRM(3, 7, 4), NOEA},
    {"mov eax,dr6 (mod 1: no disp)", M32, BY(0x0f, 0x21, 0x70), OP(0x121), SZ(32, 32), SEG(S_DS), MRM(3, 6, 0), NOEA},
    {"mov cr0,eax 16-bit (mod 2: no disp)", M16, BY(0x0f, 0x22, 0x80), OP(0x122), SZ(16, 16), SEG(S_DS), MRM(3, 0, 0), NOEA},
    /* ---- groups with ModRM in the 0F map; FPU ---- */
    {"lgdt [disp32]", M32, BY(0x0f, 0x01, 0x15, 0x00, 0x10, 0x00, 0x00), OP(0x101), SZ(32, 32), SEG(S_DS), MRM(0, 2, 5), EA(NONE, NONE, 0, 0x1000)},
    {"lidt [bp+0] (16)", M16, BY(0x0f, 0x01, 0x5e, 0x00), OP(0x101), SZ(16, 16), SEG(S_SS), MRM(1, 3, 6), EA(R_EBP, NONE, 0, 0)},
    {"ltr ax", M32, BY(0x0f, 0x00, 0xd8), OP(0x100), SZ(32, 32), SEG(S_DS), MRM(3, 3, 0), NOEA},
    {"fxsave [eax]", M32, BY(0x0f, 0xae, 0x00), OP(0x1ae), SZ(32, 32), SEG(S_DS), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0)},
    {"cmpxchg8b [esi]", M32, BY(0x0f, 0xc7, 0x0e), OP(0x1c7), SZ(32, 32), SEG(S_DS), MRM(0, 1, 6), EA(R_ESI, NONE, 0, 0)},
    {"nop dword [eax+eax*1+0]", M32, BY(0x0f, 0x1f, 0x44, 0x00, 0x00), OP(0x11f), SZ(32, 32), SEG(S_DS), MRM(1, 0, 4), EA(R_EAX, R_EAX, 0, 0)},
    {"nop word [eax+eax*1+disp32]", M32, BY(0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00), OP(0x11f), .pfx = PFX_OPSIZE, SZ(16, 32), SEG(S_DS), MRM(2, 0, 4), EA(R_EAX, R_EAX, 0, 0)},
    {"prefetchnta [esi]", M32, BY(0x0f, 0x18, 0x06), OP(0x118), SZ(32, 32), SEG(S_DS), MRM(0, 0, 6), EA(R_ESI, NONE, 0, 0)},
    {"cmove eax,[ebp-4]", M32, BY(0x0f, 0x44, 0x45, 0xfc), OP(0x144), SZ(32, 32), SEG(S_SS), MRM(1, 0, 5), EA(R_EBP, NONE, 0, 0xfffffffc)},
    {"sete al", M32, BY(0x0f, 0x94, 0xc0), OP(0x194), SZ(32, 32), SEG(S_DS), MRM(3, 0, 0), NOEA},
    {"bswap edi", M32, BY(0x0f, 0xcf), OP(0x1cf), SZ(32, 32), SEG(S_DS), NOEA},
    {"cpuid", M32, BY(0x0f, 0xa2), OP(0x1a2), SZ(32, 32), SEG(S_DS), NOEA},
    {"fldz", M32, BY(0xd9, 0xee), OP(0xd9), SZ(32, 32), SEG(S_DS), MRM(3, 5, 6), NOEA},
    {"fld qword [esp+8]", M32, BY(0xdd, 0x44, 0x24, 0x08), OP(0xdd), SZ(32, 32), SEG(S_SS), MRM(1, 0, 4), EA(R_ESP, NONE, 0, 8)},
    {"fadd dword [disp32]", M32, BY(0xd8, 0x05, 0x00, 0x00, 0x01, 0x00), OP(0xd8), SZ(32, 32), SEG(S_DS), MRM(0, 0, 5), EA(NONE, NONE, 0, 0x10000)},
    {"fnstsw ax", M32, BY(0xdf, 0xe0), OP(0xdf), SZ(32, 32), SEG(S_DS), MRM(3, 4, 0), NOEA},
    {"call [disp32] (ff /2)", M32, BY(0xff, 0x15, 0x00, 0x10, 0x00, 0x00), OP(0xff), SZ(32, 32), SEG(S_DS), MRM(0, 2, 5), EA(NONE, NONE, 0, 0x1000)},
    {"jmp eax (ff /4)", M32, BY(0xff, 0xe0), OP(0xff), SZ(32, 32), SEG(S_DS), MRM(3, 4, 0), NOEA},
    {"pop dword [eax] (8f)", M32, BY(0x8f, 0x00), OP(0x8f), SZ(32, 32), SEG(S_DS), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0)},
    {"mov ds,ax (8e)", M16, BY(0x8e, 0xd8), OP(0x8e), SZ(16, 16), SEG(S_DS), MRM(3, 3, 0), NOEA},
    {"les ax,[bp+si+4] (c4)", M16, BY(0xc4, 0x42, 0x04), OP(0xc4), SZ(16, 16), SEG(S_SS), MRM(1, 0, 2), EA(R_EBP, R_ESI, 0, 4)},
    {"bound eax,[ecx] (62)", M32, BY(0x62, 0x01), OP(0x62), SZ(32, 32), SEG(S_DS), MRM(0, 0, 1), EA(R_ECX, NONE, 0, 0)},
    /* ---- no operands; string instructions get the source segment ---- */
    {"nop", M32, BY(0x90), OP(0x90), SZ(32, 32), SEG(S_DS), NOEA},
    {"ret", M16, BY(0xc3), OP(0xc3), SZ(16, 16), SEG(S_DS), NOEA},
    {"hlt", M32, BY(0xf4), OP(0xf4), SZ(32, 32), SEG(S_DS), NOEA},
    {"inc edx", M32, BY(0x42), OP(0x42), SZ(32, 32), SEG(S_DS), NOEA},
    {"movsb", M32, BY(0xa4), OP(0xa4), SZ(32, 32), SEG(S_DS), NOEA},
    {"cs movsb", M32, BY(0x2e, 0xa4), OP(0xa4), .pfx = PFX_SEG, SZ(32, 32), SEG(S_CS), NOEA},
    {"rep movsd", M32, BY(0xf3, 0xa5), OP(0xa5), .pfx = PFX_REP, SZ(32, 32), SEG(S_DS), NOEA},
    {"repne scasb", M32, BY(0xf2, 0xae), OP(0xae), .pfx = PFX_REPNE, SZ(32, 32), SEG(S_DS), NOEA},
    {"f2 f3: last (rep) wins", M32, BY(0xf2, 0xf3, 0xa6), OP(0xa6), .pfx = PFX_REP, SZ(32, 32), SEG(S_DS), NOEA},
    {"f3 f2: last (repne) wins", M32, BY(0xf3, 0xf2, 0xa6), OP(0xa6), .pfx = PFX_REPNE, SZ(32, 32), SEG(S_DS), NOEA},
    {"a16 o16 rep es: lodsw", M32, BY(0x67, 0x66, 0xf3, 0x26, 0xad), OP(0xad), .pfx = PFX_ADSIZE | PFX_OPSIZE | PFX_REP | PFX_SEG, SZ(16, 16), SEG(S_ES), NOEA},
    {"xlat", M32, BY(0xd7), OP(0xd7), SZ(32, 32), SEG(S_DS), NOEA},
    {"fs xlat", M32, BY(0x64, 0xd7), OP(0xd7), .pfx = PFX_SEG, SZ(32, 32), SEG(S_FS), NOEA},
    {"lock add [eax],eax", M32, BY(0xf0, 0x01, 0x00), OP(0x01), .pfx = PFX_LOCK, SZ(32, 32), SEG(S_DS), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0)},
    {"every prefix", M32, BY(0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67, 0x87, 0x03), OP(0x87),
     .pfx = PFX_LOCK | PFX_REP | PFX_SEG | PFX_OPSIZE | PFX_ADSIZE, SZ(16, 16), SEG(S_GS), MRM(0, 0, 3), EA(R_EBP, R_EDI, 0, 0)},
    /* ---- opcodes that do not exist on vsmp's i686: op_ud, right length ---- */
    {"ud2", M32, BY(0x0f, 0x0b), OP(0x10b), SZ(32, 32), SEG(S_DS), NOEA, .ud = 1},
    {"ud1 eax,[eax]", M32, BY(0x0f, 0xb9, 0x00), OP(0x1b9), SZ(32, 32), SEG(S_DS), MRM(0, 0, 0), EA(R_EAX, NONE, 0, 0), .ud = 1},
    {"0f 38 00 c1 (pshufb)", M32, BY(0x0f, 0x38, 0x00, 0xc1), OP(0x138), SZ(32, 32), SEG(S_DS), MRM(3, 0, 1), NOEA, .ud = 1},
    {"0f 38 00 44 24 08", M32, BY(0x0f, 0x38, 0x00, 0x44, 0x24, 0x08), OP(0x138), SZ(32, 32), SEG(S_SS), MRM(1, 0, 4), EA(R_ESP, NONE, 0, 8), .ud = 1},
    {"0f 3a 0f c1 08 (palignr)", M32, BY(0x0f, 0x3a, 0x0f, 0xc1, 0x08), OP(0x13a), SZ(32, 32), SEG(S_DS), MRM(3, 0, 1), NOEA, IMM(1, 8), .ud = 1},
    {"movq mm0,[esp]", M32, BY(0x0f, 0x6f, 0x04, 0x24), OP(0x16f), SZ(32, 32), SEG(S_SS), MRM(0, 0, 4), EA(R_ESP, NONE, 0, 0), .ud = 1},
    {"movaps xmm0,[disp32]", M32, BY(0x0f, 0x28, 0x05, 0x00, 0x20, 0x00, 0x00), OP(0x128), SZ(32, 32), SEG(S_DS), MRM(0, 0, 5), EA(NONE, NONE, 0, 0x2000), .ud = 1},
    {"emms", M32, BY(0x0f, 0x77), OP(0x177), SZ(32, 32), SEG(S_DS), NOEA, .ud = 1},
    {"pshufw mm0,mm1,0x1b", M32, BY(0x0f, 0x70, 0xc1, 0x1b), OP(0x170), SZ(32, 32), SEG(S_DS), MRM(3, 0, 1), NOEA, IMM(1, 0x1b), .ud = 1},
    {"psrlw mm1,3", M32, BY(0x0f, 0x71, 0xd1, 0x03), OP(0x171), SZ(32, 32), SEG(S_DS), MRM(3, 2, 1), NOEA, IMM(1, 3), .ud = 1},
    {"cmpps xmm0,xmm1,0", M32, BY(0x0f, 0xc2, 0xc1, 0x00), OP(0x1c2), SZ(32, 32), SEG(S_DS), MRM(3, 0, 1), NOEA, IMM(1, 0), .ud = 1},
    {"paddb mm0,[bx] (16)", M16, BY(0x0f, 0xfc, 0x07), OP(0x1fc), SZ(16, 16), SEG(S_DS), MRM(0, 0, 7), EA(R_EBX, NONE, 0, 0), .ud = 1},
};

static void check_case(const struct dcase *c)
{
    struct insn in;
    int r = decode_guarded(&in, c->b, c->n, c->code32);
    cr_assert_eq(r, c->n, "%s: length %d, expected %d", c->name, r, c->n);
    cr_assert_eq(in.len, c->n, "%s: len", c->name);
    cr_assert_eq(in.op, c->op, "%s: op %03x", c->name, in.op);
    cr_assert_eq(in.pfx, c->pfx, "%s: pfx %02x", c->name, in.pfx);
    cr_assert_eq(in.opsize, c->opsize, "%s: opsize %d", c->name, in.opsize);
    cr_assert_eq(in.adsize, c->adsize, "%s: adsize %d", c->name, in.adsize);
    cr_assert_eq(in.seg, c->seg, "%s: seg %d", c->name, in.seg);
    cr_assert_eq(in.has_modrm, c->has_modrm, "%s: has_modrm", c->name);
    if (c->has_modrm) {
        cr_assert_eq(in.mod, c->mod, "%s: mod %d", c->name, in.mod);
        cr_assert_eq(in.reg, c->reg, "%s: reg %d", c->name, in.reg);
        cr_assert_eq(in.rm, c->rm, "%s: rm %d", c->name, in.rm);
    }
    cr_assert_eq(in.base, c->base, "%s: base %d", c->name, in.base);
    cr_assert_eq(in.index, c->index, "%s: index %d", c->name, in.index);
    cr_assert_eq(in.scale, c->scale, "%s: scale %d", c->name, in.scale);
    cr_assert_eq(in.disp, c->disp, "%s: disp %08x", c->name, in.disp);
    cr_assert_eq(in.imm_size, c->imm_size, "%s: imm_size %d", c->name, in.imm_size);
    cr_assert_eq(in.imm, c->imm, "%s: imm %08x", c->name, in.imm);
    cr_assert_eq(in.imm2, c->imm2, "%s: imm2 %08x", c->name, in.imm2);
    if (c->ud)
        cr_assert(in.fn == op_ud, "%s: fn should be op_ud", c->name);
    else
        cr_assert(in.fn == sentinel, "%s: fn should be optable[op]", c->name);
}

Test(decode, fields)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

/* The result does not depend on bytes after the instruction. */
Test(decode, trailing_bytes_ignored)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct dcase *c = &cases[i];
        uint8_t buf[32];
        struct insn in;
        memset(buf, 0xff, sizeof buf);
        memcpy(buf, c->b, c->n);
        cr_assert_eq(decode_insn(&in, buf, sizeof buf, c->code32), c->n, "%s", c->name);
        memset(buf, 0x00, sizeof buf);
        memcpy(buf, c->b, c->n);
        cr_assert_eq(decode_insn(&in, buf, 15, c->code32), c->n, "%s", c->name);
        cr_assert_eq(in.len, c->n, "%s", c->name);
    }
}

/* Every truncation point of every case asks for more bytes, and never
 * reads bytes[avail] (guard page). */
Test(decode, truncation_more)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct dcase *c = &cases[i];
        for (int avail = 0; avail < c->n; avail++) {
            struct insn in;
            int r = decode_guarded(&in, c->b, avail, c->code32);
            cr_assert_eq(r, DECODE_MORE, "%s: avail %d -> %d", c->name, avail, r);
        }
    }
}

/* ---- length limit ---- */

Test(decode, too_long)
{
    uint8_t b[32];
    struct insn in;

    /* 14 prefixes + NOP: 15 bytes, fine. */
    memset(b, 0x66, sizeof b);
    b[14] = 0x90;
    cr_assert_eq(decode_guarded(&in, b, 15, 1), 15);
    cr_assert_eq(in.op, 0x90);
    cr_assert_eq(in.opsize, 16);

    /* 15 prefixes + NOP: 16 bytes. */
    memset(b, 0x2e, sizeof b);
    b[15] = 0x90;
    cr_assert_eq(decode_insn(&in, b, 16, 1), DECODE_TOOLONG);
    cr_assert_eq(decode_insn(&in, b, sizeof b, 1), DECODE_TOOLONG);
    /* Only 15 bytes given: byte 15 is beyond the limit anyway. */
    cr_assert_eq(decode_guarded(&in, b, 15, 1), DECODE_TOOLONG);
    /* Fewer than 15 bytes given: the decoder cannot know yet. */
    cr_assert_eq(decode_guarded(&in, b, 10, 1), DECODE_MORE);

    /* 20 prefixes, all kinds. */
    static const uint8_t kinds[] = {0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67};
    for (int i = 0; i < 20; i++)
        b[i] = kinds[i % sizeof kinds];
    b[20] = 0x90;
    cr_assert_eq(decode_insn(&in, b, sizeof b, 1), DECODE_TOOLONG);

    /* 13 prefixes + mov eax,[ebx]: 15 bytes fine, 14 prefixes: 16. */
    memset(b, 0x3e, sizeof b);
    b[13] = 0x8b;
    b[14] = 0x03;
    cr_assert_eq(decode_guarded(&in, b, 15, 1), 15);
    cr_assert_eq(in.seg, S_DS);
    cr_assert_eq(in.base, R_EBX);
    memset(b, 0x3e, sizeof b);
    b[14] = 0x8b;
    b[15] = 0x03;
    cr_assert_eq(decode_insn(&in, b, sizeof b, 1), DECODE_TOOLONG);

    /* Long through its operands: 6 prefixes + mov dword [eax+disp32],imm32
     * (c7 80 d32 i32) = 16 bytes. Known too long once the displacement is
     * read, even when the immediate bytes are not available. */
    memset(b, 0x64, 6);
    b[6] = 0xc7;
    b[7] = 0x80;
    memset(b + 8, 0x11, 8);
    cr_assert_eq(decode_insn(&in, b, sizeof b, 1), DECODE_TOOLONG);
    cr_assert_eq(decode_guarded(&in, b, 15, 1), DECODE_TOOLONG);
    cr_assert_eq(decode_guarded(&in, b, 12, 1), DECODE_TOOLONG);
    cr_assert_eq(decode_guarded(&in, b, 11, 1), DECODE_MORE);
    cr_assert_eq(decode_guarded(&in, b, 7, 1), DECODE_MORE);
    /* 5 prefixes: exactly 15. */
    cr_assert_eq(decode_guarded(&in, b + 1, 15, 1), 15);
    cr_assert_eq(in.seg, S_FS);
    cr_assert_eq(in.disp, 0x11111111);
    cr_assert_eq(in.imm, 0x11111111);
}

/* ---- LOCK ---- */

struct lcase {
    uint8_t b[8];
    int n;
    int ok;     /* lock allowed: fn = optable[op]; else op_ud */
};

#define L(ok_, ...) {.b = {__VA_ARGS__}, .n = sizeof((uint8_t[]){__VA_ARGS__}), .ok = ok_}

static const struct lcase lock_cases[] = {
    L(1, 0xf0, 0x01, 0x00),             /* add [eax],eax */
    L(0, 0xf0, 0x01, 0xc0),             /* add eax,eax: register dest */
    L(0, 0xf0, 0x03, 0x00),             /* add eax,[eax]: register dest */
    L(0, 0xf0, 0x39, 0x00),             /* cmp [eax],eax */
    L(0, 0xf0, 0x38, 0x00),             /* cmp [eax],al */
    L(1, 0xf0, 0x31, 0x00),             /* xor [eax],eax */
    L(0, 0xf0, 0x04, 0x01),             /* add al,1 */
    L(1, 0xf0, 0x80, 0x00, 0x01),       /* add byte [eax],1 */
    L(0, 0xf0, 0x80, 0x38, 0x01),       /* cmp byte [eax],1 */
    L(1, 0xf0, 0x82, 0x30, 0x01),       /* xor byte [eax],1 (82) */
    L(1, 0xf0, 0x81, 0x28, 1, 0, 0, 0), /* sub dword [eax],1 */
    L(1, 0xf0, 0x83, 0x08, 0x01),       /* or dword [eax],1 */
    L(0, 0xf0, 0x83, 0xc8, 0x01),       /* or eax,1 */
    L(0, 0xf0, 0x83, 0x38, 0x01),       /* cmp dword [eax],1 */
    L(1, 0xf0, 0xfe, 0x00),             /* inc byte [eax] */
    L(1, 0xf0, 0xfe, 0x08),             /* dec byte [eax] */
    L(0, 0xf0, 0xfe, 0xc0),             /* inc al */
    L(1, 0xf0, 0xff, 0x00),             /* inc dword [eax] */
    L(1, 0xf0, 0xff, 0x4d, 0x08),       /* dec dword [ebp+8] */
    L(0, 0xf0, 0xff, 0x30),             /* push dword [eax] */
    L(0, 0xf0, 0xff, 0x10),             /* call [eax] */
    L(0, 0xf0, 0x40),                   /* inc eax (40) */
    L(1, 0xf0, 0xf6, 0x10),             /* not byte [eax] */
    L(1, 0xf0, 0xf7, 0x18),             /* neg dword [eax] */
    L(0, 0xf0, 0xf7, 0xd8),             /* neg eax */
    L(0, 0xf0, 0xf6, 0x00, 0x01),       /* test byte [eax],1 */
    L(0, 0xf0, 0xf7, 0x20),             /* mul dword [eax] */
    L(1, 0xf0, 0x86, 0x00),             /* xchg [eax],al */
    L(1, 0xf0, 0x87, 0x18),             /* xchg [eax],ebx */
    L(0, 0xf0, 0x87, 0xc3),             /* xchg ebx,eax */
    L(0, 0xf0, 0x90),                   /* nop */
    L(0, 0xf0, 0x89, 0x00),             /* mov [eax],eax */
    L(0, 0xf0, 0xa4),                   /* movsb */
    L(0, 0xf0, 0x0f, 0xa3, 0x00),       /* bt [eax],eax */
    L(1, 0xf0, 0x0f, 0xab, 0x00),       /* bts */
    L(1, 0xf0, 0x0f, 0xb3, 0x00),       /* btr */
    L(1, 0xf0, 0x0f, 0xbb, 0x00),       /* btc */
    L(0, 0xf0, 0x0f, 0xab, 0xc0),       /* bts eax,eax */
    L(0, 0xf0, 0x0f, 0xba, 0x20, 0x01), /* bt [eax],1 */
    L(1, 0xf0, 0x0f, 0xba, 0x28, 0x01), /* bts [eax],1 */
    L(1, 0xf0, 0x0f, 0xba, 0x30, 0x01), /* btr [eax],1 */
    L(1, 0xf0, 0x0f, 0xba, 0x38, 0x01), /* btc [eax],1 */
    L(0, 0xf0, 0x0f, 0xba, 0xe8, 0x01), /* bts eax,1 */
    L(1, 0xf0, 0x0f, 0xb0, 0x0b),       /* cmpxchg [ebx],cl */
    L(1, 0xf0, 0x0f, 0xb1, 0x0b),       /* cmpxchg [ebx],ecx */
    L(0, 0xf0, 0x0f, 0xb1, 0xcb),       /* cmpxchg ebx,ecx */
    L(1, 0xf0, 0x0f, 0xc0, 0x0b),       /* xadd [ebx],cl */
    L(1, 0xf0, 0x0f, 0xc1, 0x0b),       /* xadd [ebx],ecx */
    L(0, 0xf0, 0x0f, 0xc1, 0xcb),       /* xadd ebx,ecx */
    L(1, 0xf0, 0x0f, 0xc7, 0x0e),       /* cmpxchg8b [esi] */
    L(0, 0xf0, 0x0f, 0xc7, 0xce),       /* cmpxchg8b esi (invalid) */
    L(0, 0xf0, 0x0f, 0xc7, 0x16),       /* 0f c7 /2 */
    L(0, 0xf0, 0x0f, 0xb6, 0x00),       /* movzx */
    L(0, 0xf0, 0x0f, 0xa2),             /* cpuid */
    L(1, 0x66, 0xf0, 0x01, 0x00),       /* prefix order does not matter */
    L(1, 0x2e, 0xf0, 0x66, 0x01, 0x00),
    L(1, 0xf0, 0xf0, 0x01, 0x00),       /* repeated lock */
    L(1, 0x01, 0x00),                   /* no lock: plain add */
    L(1, 0x01, 0xc0),
    L(1, 0x89, 0x00),
};

Test(decode, lock)
{
    for (size_t i = 0; i < sizeof lock_cases / sizeof lock_cases[0]; i++) {
        const struct lcase *c = &lock_cases[i];
        struct insn in;
        cr_assert_eq(decode_guarded(&in, c->b, c->n, 1), c->n, "lock case %zu", i);
        if (c->ok)
            cr_assert(in.fn == sentinel, "lock case %zu should be allowed", i);
        else
            cr_assert(in.fn == op_ud, "lock case %zu should be #UD", i);
    }
}

/* All 64 ALU opcodes 00-3F with LOCK and a memory operand. */
Test(decode, lock_alu_rows)
{
    for (unsigned op = 0; op < 0x40; op++) {
        unsigned sub = op & 7;
        if (sub >= 6)
            continue;   /* push/pop/prefix/BCD column */
        uint8_t b[8] = {0xf0, (uint8_t)op, 0x00, 0x00, 0x00, 0x00, 0x00};
        struct insn in;
        int r = decode_insn(&in, b, sizeof b, 1);
        cr_assert_gt(r, 0);
        int ok = sub <= 1 && op < 0x38;
        cr_assert_eq(in.fn == sentinel, ok, "lock %02x", op);
        cr_assert_eq(in.fn == op_ud, !ok, "lock %02x", op);
    }
}

/* Opcodes without ModRM ignore mod/rm fields and get optable[op]. */
Test(decode, fn_from_table)
{
    static const uint8_t b[] = {0x90};
    struct insn in;
    optable[0x90] = op_ud;
    cr_assert_eq(decode_insn(&in, b, 1, 1), 1);
    cr_assert(in.fn == op_ud);
    optable[0x90] = sentinel;
    cr_assert_eq(decode_insn(&in, b, 1, 1), 1);
    cr_assert(in.fn == sentinel);
}

/* ---- lengths of one sample of every opcode, both modes ----
 * Generated with random prefixes and operand bytes, lengths checked with
 * objdump -D -b binary -mi386 [-Maddr16,data16]. */

struct lencase {
    int code32;
    int len;
    const char *b;
};

static const struct lencase lengths[] = {
    { 1,  3, "\x67\x00\xca" }, /* addr16 add %cl,%dl */
    { 1,  2, "\x01\xd9" }, /* add    %ebx,%ecx */
    { 1,  6, "\x2e\x26\x02\x5c\x34\x60" }, /* cs add %es:0x60(%esp,%esi,1),%bl */
    { 1,  8, "\x64\x2e\x03\x99\x7f\x5c\x7c\x29" }, /* fs add %cs:0x297c5c7f(%ecx),%ebx */
    { 1,  4, "\x64\x67\x04\xaf" }, /* fs addr16 add $0xaf,%al */
    { 1,  5, "\x05\x8a\xf2\x21\x1f" }, /* add    $0x1f21f28a,%eax */
    { 1,  2, "\x66\x06" }, /* pushw  %es */
    { 1,  2, "\x26\x07" }, /* es pop %es */
    { 1,  6, "\x67\x2e\x08\x90\x02\x4a" }, /* or     %dl,%cs:0x4a02(%bx,%si) */
    { 1,  3, "\x66\x09\xf6" }, /* or     %si,%si */
    { 1,  4, "\x67\x26\x0a\x33" }, /* or     %es:(%bp,%di),%dh */
    { 1,  2, "\x0b\xf9" }, /* or     %ecx,%edi */
    { 1,  4, "\x2e\x67\x0c\x0d" }, /* cs addr16 or $0xd,%al */
    { 1,  6, "\x67\x0d\x66\xfc\xb6\x0e" }, /* addr16 or $0xeb6fc66,%eax */
    { 1,  1, "\x0e" }, /* push   %cs */
    { 1,  2, "\x10\xf4" }, /* adc    %dh,%ah */
    { 1,  4, "\x64\x67\x11\xf2" }, /* fs addr16 adc %esi,%edx */
    { 1,  5, "\x67\x12\x95\x7b\xa6" }, /* adc    -0x5985(%di),%dl */
    { 1,  3, "\x67\x13\x02" }, /* adc    (%bp,%si),%eax */
    { 1,  3, "\x66\x14\x32" }, /* data16 adc $0x32,%al */
    { 1,  6, "\x67\x15\xd5\x3e\xc8\xe2" }, /* addr16 adc $0xe2c83ed5,%eax */
    { 1,  2, "\x67\x16" }, /* addr16 push %ss */
    { 1,  2, "\x67\x17" }, /* addr16 pop %ss */
    { 1,  3, "\x18\x75\x35" }, /* sbb    %dh,0x35(%ebp) */
    { 1,  7, "\x66\x19\x8e\x1d\x5d\xd9\x25" }, /* sbb    %cx,0x25d95d1d(%esi) */
    { 1,  2, "\x1a\xe8" }, /* sbb    %al,%ch */
    { 1,  4, "\x2e\x1b\x69\x94" }, /* sbb    %cs:-0x6c(%ecx),%ebp */
    { 1,  2, "\x1c\xe4" }, /* sbb    $0xe4,%al */
    { 1,  5, "\x1d\x07\x24\x82\xdc" }, /* sbb    $0xdc822407,%eax */
    { 1,  1, "\x1e" }, /* push   %ds */
    { 1,  2, "\x64\x1f" }, /* fs pop %ds */
    { 1,  6, "\x20\x99\x9b\x77\x2b\x4f" }, /* and    %bl,0x4f2b779b(%ecx) */
    { 1,  3, "\x26\x21\x08" }, /* and    %ecx,%es:(%eax) */
    { 1,  3, "\x2e\x22\x01" }, /* and    %cs:(%ecx),%al */
    { 1,  3, "\x64\x23\x27" }, /* and    %fs:(%edi),%esp */
    { 1,  2, "\x24\xf8" }, /* and    $0xf8,%al */
    { 1,  4, "\x66\x25\x94\xea" }, /* and    $0xea94,%ax */
    { 1,  1, "\x27" }, /* daa */
    { 1,  2, "\x28\xd5" }, /* sub    %dl,%ch */
    { 1,  3, "\x2e\x29\x21" }, /* sub    %esp,%cs:(%ecx) */
    { 1,  6, "\x2a\x88\xdf\xa1\x61\xbf" }, /* sub    -0x409e5e21(%eax),%cl */
    { 1,  3, "\x64\x2b\x19" }, /* sub    %fs:(%ecx),%ebx */
    { 1,  3, "\x26\x2c\xc9" }, /* es sub $0xc9,%al */
    { 1,  6, "\x67\x2d\x2e\x59\xaf\x2e" }, /* addr16 sub $0x2eaf592e,%eax */
    { 1,  3, "\x67\x64\x2f" }, /* addr16 fs das */
    { 1,  3, "\x64\x30\xdd" }, /* fs xor %bl,%ch */
    { 1,  2, "\x31\x37" }, /* xor    %esi,(%edi) */
    { 1,  3, "\x26\x32\xdf" }, /* es xor %bh,%bl */
    { 1,  5, "\x2e\x33\x7c\xf3\x78" }, /* xor    %cs:0x78(%ebx,%esi,8),%edi */
    { 1,  3, "\x67\x34\xd9" }, /* addr16 xor $0xd9,%al */
    { 1,  5, "\x35\xfd\x66\x9f\x63" }, /* xor    $0x639f66fd,%eax */
    { 1,  2, "\x66\x37" }, /* data16 aaa */
    { 1,  2, "\x38\x28" }, /* cmp    %ch,(%eax) */
    { 1,  2, "\x39\x28" }, /* cmp    %ebp,(%eax) */
    { 1,  6, "\x3a\xbe\xe4\x62\xa5\xba" }, /* cmp    -0x455a9d1c(%esi),%bh */
    { 1,  2, "\x3b\x1f" }, /* cmp    (%edi),%ebx */
    { 1,  3, "\x66\x3c\x77" }, /* data16 cmp $0x77,%al */
    { 1,  5, "\x3d\x78\xa7\xa3\xeb" }, /* cmp    $0xeba3a778,%eax */
    { 1,  3, "\x26\x2e\x3f" }, /* es cs aas */
    { 1,  1, "\x40" }, /* inc    %eax */
    { 1,  1, "\x41" }, /* inc    %ecx */
    { 1,  1, "\x42" }, /* inc    %edx */
    { 1,  2, "\x26\x43" }, /* es inc %ebx */
    { 1,  2, "\x66\x44" }, /* inc    %sp */
    { 1,  2, "\x66\x45" }, /* inc    %bp */
    { 1,  2, "\x64\x46" }, /* fs inc %esi */
    { 1,  3, "\x2e\x64\x47" }, /* cs fs inc %edi */
    { 1,  1, "\x48" }, /* dec    %eax */
    { 1,  2, "\x67\x49" }, /* addr16 dec %ecx */
    { 1,  1, "\x4a" }, /* dec    %edx */
    { 1,  3, "\x64\x67\x4b" }, /* fs addr16 dec %ebx */
    { 1,  1, "\x4c" }, /* dec    %esp */
    { 1,  1, "\x4d" }, /* dec    %ebp */
    { 1,  2, "\x67\x4e" }, /* addr16 dec %esi */
    { 1,  2, "\x64\x4f" }, /* fs dec %edi */
    { 1,  3, "\x67\x2e\x50" }, /* addr16 cs push %eax */
    { 1,  1, "\x51" }, /* push   %ecx */
    { 1,  2, "\x66\x52" }, /* push   %dx */
    { 1,  2, "\x66\x53" }, /* push   %bx */
    { 1,  1, "\x54" }, /* push   %esp */
    { 1,  3, "\x67\x26\x55" }, /* addr16 es push %ebp */
    { 1,  1, "\x56" }, /* push   %esi */
    { 1,  3, "\x66\x67\x57" }, /* addr16 push %di */
    { 1,  2, "\x66\x58" }, /* pop    %ax */
    { 1,  2, "\x67\x59" }, /* addr16 pop %ecx */
    { 1,  1, "\x5a" }, /* pop    %edx */
    { 1,  2, "\x64\x5b" }, /* fs pop %ebx */
    { 1,  2, "\x26\x5c" }, /* es pop %esp */
    { 1,  1, "\x5d" }, /* pop    %ebp */
    { 1,  1, "\x5e" }, /* pop    %esi */
    { 1,  2, "\x64\x5f" }, /* fs pop %edi */
    { 1,  2, "\x2e\x60" }, /* cs pusha */
    { 1,  1, "\x61" }, /* popa */
    { 1,  3, "\x67\x62\x37" }, /* bound  %esi,(%bx) */
    { 1,  3, "\x63\x48\x83" }, /* arpl   %cx,-0x7d(%eax) */
    { 1,  4, "\x66\x68\xd6\x7c" }, /* pushw  $0x7cd6 */
    { 1,  7, "\x64\x69\x36\x13\x80\x6f\x52" }, /* imul   $0x526f8013,%fs:(%esi),%esi */
    { 1,  4, "\x2e\x64\x6a\xe9" }, /* cs fs push $0xffffffe9 */
    { 1,  3, "\x6b\x26\xd6" }, /* imul   $0xffffffd6,(%esi),%esp */
    { 1,  1, "\x6c" }, /* insb   (%dx),%es:(%edi) */
    { 1,  2, "\x2e\x6d" }, /* cs insl (%dx),%es:(%edi) */
    { 1,  2, "\x67\x6e" }, /* outsb  %ds:(%si),(%dx) */
    { 1,  3, "\x66\x26\x6f" }, /* outsw  %es:(%esi),(%dx) */
    { 1,  3, "\x67\x70\x28" }, /* addr16 jo 0x2b */
    { 1,  2, "\x71\xfb" }, /* jno    0xfffffffd */
    { 1,  2, "\x72\x5c" }, /* jb     0x5e */
    { 1,  3, "\x66\x73\xbb" }, /* data16 jae 0xffffffbe */
    { 1,  3, "\x64\x74\xaa" }, /* fs je  0xffffffad */
    { 1,  3, "\x26\x75\xcf" }, /* es jne 0xffffffd2 */
    { 1,  2, "\x76\x14" }, /* jbe    0x16 */
    { 1,  2, "\x77\xd7" }, /* ja     0xffffffd9 */
    { 1,  3, "\x26\x78\x4f" }, /* es js  0x52 */
    { 1,  2, "\x79\x6f" }, /* jns    0x71 */
    { 1,  3, "\x64\x7a\x82" }, /* fs jp  0xffffff85 */
    { 1,  3, "\x2e\x7b\xe0" }, /* jnp,pn 0xffffffe3 */
    { 1,  3, "\x2e\x7c\x1f" }, /* jl,pn  0x22 */
    { 1,  2, "\x7d\xa4" }, /* jge    0xffffffa6 */
    { 1,  3, "\x67\x7e\x77" }, /* addr16 jle 0x7a */
    { 1,  2, "\x7f\xcb" }, /* jg     0xffffffcd */
    { 1,  6, "\x67\x80\x16\xfc\xbf\x36" }, /* adcb   $0x36,-0x4004 */
    { 1,  6, "\x81\x11\x68\xf8\x6d\x85" }, /* adcl   $0x856df868,(%ecx) */
    { 1,  3, "\x82\xc1\x2a" }, /* add    $0x2a,%cl */
    { 1,  5, "\x67\x66\x83\xc9\x5d" }, /* addr16 or $0x5d,%cx */
    { 1,  8, "\x66\x84\x84\xf7\x1c\x33\x4a\xa2" }, /* data16 test %al,-0x5db5cce4(%edi,%esi,8) */
    { 1,  3, "\x2e\x85\xc7" }, /* cs test %eax,%edi */
    { 1,  3, "\x86\x70\x27" }, /* xchg   %dh,0x27(%eax) */
    { 1,  6, "\x87\xbb\x49\xa9\x71\x1d" }, /* xchg   %edi,0x1d71a949(%ebx) */
    { 1,  6, "\x88\x0d\x8a\x97\xab\x55" }, /* mov    %cl,0x55ab978a */
    { 1,  2, "\x89\xf4" }, /* mov    %esi,%esp */
    { 1,  6, "\x8a\x1d\x96\x49\x08\xe2" }, /* mov    0xe2084996,%bl */
    { 1,  5, "\x67\x8b\x8d\x5c\x46" }, /* mov    0x465c(%di),%ecx */
    { 1,  3, "\x8c\x62\x9d" }, /* mov    %fs,-0x63(%edx) */
    { 1,  5, "\x67\x8d\x88\x7f\x5f" }, /* lea    0x5f7f(%bx,%si),%ecx */
    { 1,  7, "\x8e\xa4\xc3\x1f\x95\x37\xfd" }, /* mov    -0x2c86ae1(%ebx,%eax,8),%fs */
    { 1,  3, "\x66\x64\x90" }, /* fs xchg %ax,%ax */
    { 1,  3, "\x2e\x64\x91" }, /* cs fs xchg %eax,%ecx */
    { 1,  1, "\x92" }, /* xchg   %eax,%edx */
    { 1,  2, "\x2e\x93" }, /* cs xchg %eax,%ebx */
    { 1,  1, "\x94" }, /* xchg   %eax,%esp */
    { 1,  3, "\x67\x2e\x95" }, /* addr16 cs xchg %eax,%ebp */
    { 1,  1, "\x96" }, /* xchg   %eax,%esi */
    { 1,  1, "\x97" }, /* xchg   %eax,%edi */
    { 1,  1, "\x98" }, /* cwtl */
    { 1,  1, "\x99" }, /* cltd */
    { 1,  9, "\x67\x26\x9a\xfe\x82\xde\xb2\x00\x39" }, /* addr16 es lcall $0x3900,$0xb2de82fe */
    { 1,  3, "\x26\x64\x9c" }, /* es fs pushf */
    { 1,  1, "\x9d" }, /* popf */
    { 1,  1, "\x9e" }, /* sahf */
    { 1,  2, "\x26\x9f" }, /* es lahf */
    { 1,  5, "\xa0\xac\xa5\xf6\xbc" }, /* mov    0xbcf6a5ac,%al */
    { 1,  6, "\x26\xa1\x9a\x56\x21\x49" }, /* mov    %es:0x4921569a,%eax */
    { 1,  7, "\x2e\x64\xa2\xb6\xdb\x22\xf8" }, /* cs mov %al,%fs:0xf822dbb6 */
    { 1,  5, "\xa3\x6f\x18\xcc\xe5" }, /* mov    %eax,0xe5cc186f */
    { 1,  3, "\x2e\x67\xa4" }, /* movsb  %cs:(%si),%es:(%di) */
    { 1,  3, "\x2e\x67\xa5" }, /* movsl  %cs:(%si),%es:(%di) */
    { 1,  3, "\x2e\x66\xa6" }, /* data16 cmpsb %es:(%edi),%cs:(%esi) */
    { 1,  2, "\x26\xa7" }, /* cmpsl  %es:(%edi),%es:(%esi) */
    { 1,  2, "\xa8\xf3" }, /* test   $0xf3,%al */
    { 1,  7, "\x2e\x67\xa9\x5a\x52\x0e\xb3" }, /* cs addr16 test $0xb30e525a,%eax */
    { 1,  2, "\x66\xaa" }, /* data16 stos %al,%es:(%edi) */
    { 1,  1, "\xab" }, /* stos   %eax,%es:(%edi) */
    { 1,  2, "\x67\xac" }, /* lods   %ds:(%si),%al */
    { 1,  2, "\x66\xad" }, /* lods   %ds:(%esi),%ax */
    { 1,  1, "\xae" }, /* scas   %es:(%edi),%al */
    { 1,  3, "\x26\x67\xaf" }, /* es scas %es:(%di),%eax */
    { 1,  2, "\xb0\x72" }, /* mov    $0x72,%al */
    { 1,  3, "\x66\xb1\x16" }, /* data16 mov $0x16,%cl */
    { 1,  3, "\x64\xb2\xd8" }, /* fs mov $0xd8,%dl */
    { 1,  2, "\xb3\x65" }, /* mov    $0x65,%bl */
    { 1,  4, "\x26\x64\xb4\x78" }, /* es fs mov $0x78,%ah */
    { 1,  3, "\x26\xb5\xf4" }, /* es mov $0xf4,%ch */
    { 1,  2, "\xb6\xa4" }, /* mov    $0xa4,%dh */
    { 1,  2, "\xb7\x8c" }, /* mov    $0x8c,%bh */
    { 1,  7, "\x2e\x26\xb8\xae\xc3\x81\x09" }, /* cs es mov $0x981c3ae,%eax */
    { 1,  6, "\x67\xb9\x87\xe0\x2e\xfc" }, /* addr16 mov $0xfc2ee087,%ecx */
    { 1,  4, "\x66\xba\x97\xd0" }, /* mov    $0xd097,%dx */
    { 1,  5, "\xbb\x28\xe4\xc2\xc9" }, /* mov    $0xc9c2e428,%ebx */
    { 1,  5, "\xbc\xe1\xcb\xfb\x45" }, /* mov    $0x45fbcbe1,%esp */
    { 1,  5, "\xbd\x71\x27\x07\x34" }, /* mov    $0x34072771,%ebp */
    { 1,  7, "\x67\x64\xbe\x19\x4a\xa4\xab" }, /* addr16 fs mov $0xaba44a19,%esi */
    { 1,  6, "\x2e\xbf\xca\xd7\x1a\x9d" }, /* cs mov $0x9d1ad7ca,%edi */
    { 1,  7, "\xc0\xbf\xed\xfa\x48\xbb\xae" }, /* sarb   $0xae,-0x44b70513(%edi) */
    { 1,  8, "\xc1\x8c\x70\xe0\x95\x66\x6b\xe8" }, /* rorl   $0xe8,0x6b6695e0(%eax,%esi,2) */
    { 1,  3, "\xc2\x19\x46" }, /* ret    $0x4619 */
    { 1,  3, "\x66\x64\xc3" }, /* fs retw */
    { 1,  3, "\xc4\x51\xe4" }, /* les    -0x1c(%ecx),%edx */
    { 1,  4, "\x64\xc5\x4f\x95" }, /* lds    %fs:-0x6b(%edi),%ecx */
    { 1,  4, "\xc6\x47\xf0\x8a" }, /* movb   $0x8a,-0x10(%edi) */
    { 1,  7, "\x67\xc7\x03\x8a\x49\x60\x17" }, /* movl   $0x1760498a,(%bp,%di) */
    { 1,  4, "\xc8\xc2\xfc\xb8" }, /* enter  $0xfcc2,$0xb8 */
    { 1,  3, "\x67\x2e\xc9" }, /* addr16 cs leave */
    { 1,  3, "\xca\x85\xb9" }, /* lret   $0xb985 */
    { 1,  1, "\xcb" }, /* lret */
    { 1,  3, "\x26\x2e\xcc" }, /* es cs int3 */
    { 1,  3, "\x64\xcd\xae" }, /* fs int $0xae */
    { 1,  1, "\xce" }, /* into */
    { 1,  1, "\xcf" }, /* iret */
    { 1,  3, "\xd0\x24\x3e" }, /* shlb   (%esi,%edi,1) */
    { 1,  2, "\xd1\xf7" }, /* shl    %edi */
    { 1,  3, "\x2e\xd2\x20" }, /* shlb   %cl,%cs:(%eax) */
    { 1,  5, "\x26\xd3\x44\xdc\xe8" }, /* roll   %cl,%es:-0x18(%esp,%ebx,8) */
    { 1,  4, "\x66\x64\xd4\x65" }, /* data16 fs aam $0x65 */
    { 1,  4, "\x2e\x26\xd5\xb5" }, /* cs es aad $0xb5 */
    { 1,  1, "\xd7" }, /* xlat   %ds:(%ebx) */
    { 1,  2, "\xd8\xf1" }, /* fdiv   %st(1),%st */
    { 1,  3, "\x64\xd9\x1f" }, /* fstps  %fs:(%edi) */
    { 1,  3, "\x67\xda\xc0" }, /* addr16 fcmovb %st(0),%st */
    { 1,  4, "\x64\xdb\x43\x26" }, /* fildl  %fs:0x26(%ebx) */
    { 1,  6, "\xdc\x05\x0c\xf0\x10\x77" }, /* faddl  0x7710f00c */
    { 1,  2, "\xdd\x08" }, /* fisttpll (%eax) */
    { 1,  5, "\x66\xde\x54\x06\xb8" }, /* data16 ficoms -0x48(%esi,%eax,1) */
    { 1,  6, "\xdf\x9e\xe9\x8a\x73\xa4" }, /* fistps -0x5b8c7517(%esi) */
    { 1,  2, "\xe0\x4f" }, /* loopne 0x51 */
    { 1,  4, "\x2e\x66\xe1\x55" }, /* data16 loope,pn 0x59 */
    { 1,  2, "\xe2\x1a" }, /* loop   0x1c */
    { 1,  3, "\x67\xe3\xff" }, /* jcxz   0x2 */
    { 1,  2, "\xe4\x1d" }, /* in     $0x1d,%al */
    { 1,  2, "\xe5\xd1" }, /* in     $0xd1,%eax */
    { 1,  2, "\xe6\x45" }, /* out    %al,$0x45 */
    { 1,  2, "\xe7\xc9" }, /* out    %eax,$0xc9 */
    { 1,  5, "\xe8\x07\xd3\x8b\x0e" }, /* call   0xe8bd30c */
    { 1,  5, "\xe9\x09\x0c\x3a\x2a" }, /* jmp    0x2a3a0c0e */
    { 1,  8, "\x2e\xea\xaa\x1c\x2a\x87\x53\x87" }, /* cs ljmp $0x8753,$0x872a1caa */
    { 1,  4, "\x64\x67\xeb\x60" }, /* fs addr16 jmp 0x64 */
    { 1,  1, "\xec" }, /* in     (%dx),%al */
    { 1,  1, "\xed" }, /* in     (%dx),%eax */
    { 1,  2, "\x2e\xee" }, /* cs out %al,(%dx) */
    { 1,  2, "\x66\xef" }, /* out    %ax,(%dx) */
    { 1,  1, "\xf1" }, /* int1 */
    { 1,  2, "\x26\xf4" }, /* es hlt */
    { 1,  2, "\x64\xf5" }, /* fs cmc */
    { 1,  3, "\xf6\x7a\x58" }, /* idivb  0x58(%edx) */
    { 1,  3, "\xf7\x5e\x93" }, /* negl   -0x6d(%esi) */
    { 1,  1, "\xf8" }, /* clc */
    { 1,  2, "\x67\xf9" }, /* addr16 stc */
    { 1,  3, "\x67\x66\xfa" }, /* addr16 data16 cli */
    { 1,  2, "\x67\xfb" }, /* addr16 sti */
    { 1,  1, "\xfc" }, /* cld */
    { 1,  2, "\x2e\xfd" }, /* cs std */
    { 1,  5, "\x26\x66\xfe\x49\xc1" }, /* data16 decb %es:-0x3f(%ecx) */
    { 1,  5, "\x64\x67\xff\x6d\x49" }, /* ljmp   *%fs:0x49(%di) */
    { 1,  5, "\x64\x66\x0f\x00\x2f" }, /* data16 verw %fs:(%edi) */
    { 1,  5, "\x64\x0f\x01\x57\x6e" }, /* lgdtl  %fs:0x6e(%edi) */
    { 1,  5, "\x67\x0f\x02\x6f\xe4" }, /* lar    -0x1c(%bx),%ebp */
    { 1,  8, "\x64\x0f\x03\x8d\xf1\x65\xf1\x4a" }, /* lsl    %fs:0x4af165f1(%ebp),%ecx */
    { 1,  3, "\x64\x0f\x05" }, /* fs syscall */
    { 1,  2, "\x0f\x06" }, /* clts */
    { 1,  4, "\x26\x66\x0f\x07" }, /* es data16 sysret */
    { 1,  3, "\x26\x0f\x08" }, /* es invd */
    { 1,  4, "\x26\x2e\x0f\x09" }, /* es cs wbinvd */
    { 1,  2, "\x0f\x0b" }, /* ud2 */
    { 1,  7, "\x0f\x0d\x9d\x4e\x81\x33\x1e" }, /* prefetch 0x1e33814e(%ebp) */
    { 1,  3, "\x64\x0f\x0e" }, /* fs femms */
    { 1,  4, "\x0f\x0f\x08\x0d" }, /* pi2fd  (%eax),%mm1 */
    { 1,  5, "\x67\x2e\x0f\x10\x18" }, /* movups %cs:(%bx,%si),%xmm3 */
    { 1,  5, "\x2e\x0f\x11\x5f\xdf" }, /* movups %xmm3,%cs:-0x21(%edi) */
    { 1,  8, "\x0f\x12\xbc\x3a\xa2\x95\x9d\xbf" }, /* movlps -0x40626a5e(%edx,%edi,1),%xmm7 */
    { 1,  5, "\x67\x0f\x13\x41\x07" }, /* movlps %xmm0,0x7(%bx,%di) */
    { 1,  5, "\x66\x0f\x14\x5e\xf3" }, /* unpcklpd -0xd(%esi),%xmm3 */
    { 1,  5, "\x64\x26\x0f\x15\xca" }, /* fs es unpckhps %xmm2,%xmm1 */
    { 1,  4, "\x2e\x0f\x16\xeb" }, /* cs movlhps %xmm3,%xmm5 */
    { 1,  5, "\x66\x0f\x17\x4f\x49" }, /* movhpd %xmm1,0x49(%edi) */
    { 1,  3, "\x0f\x18\xc2" }, /* nop    %edx */
    { 1,  4, "\x64\x0f\x19\x2e" }, /* nopl   %fs:(%esi) */
    { 1,  4, "\x67\x0f\x1a\xec" }, /* addr16 nop %esp */
    { 1,  4, "\x0f\x1b\x59\x3a" }, /* bndstx %bnd3,0x3a(%ecx) */
    { 1,  4, "\x0f\x1c\x58\x1d" }, /* nopl   0x1d(%eax) */
    { 1,  4, "\x0f\x1d\x46\x19" }, /* nopl   0x19(%esi) */
    { 1,  6, "\x64\x67\x0f\x1e\x71\xab" }, /* nopl   %fs:-0x55(%bx,%di) */
    { 1,  9, "\x64\x26\x0f\x1f\xa1\x06\xc4\x85\xd1" }, /* fs nopl %es:-0x2e7a3bfa(%ecx) */
    { 1,  4, "\x66\x0f\x20\xfe" }, /* data16 mov %cr7,%esi */
    { 1,  4, "\x26\x0f\x21\xef" }, /* es mov %db5,%edi */
    { 1,  5, "\x26\x67\x0f\x22\xf4" }, /* es addr16 mov %esp,%cr6 */
    { 1,  4, "\x67\x0f\x23\xc3" }, /* addr16 mov %ebx,%db0 */
    { 1,  4, "\x2e\x0f\x24\x09" }, /* cs mov %tr1,%ecx */
    { 1,  3, "\x0f\x26\x4b" }, /* mov    %ebx,%tr1 */
    { 1,  5, "\x2e\x0f\x28\x6f\xa6" }, /* movaps %cs:-0x5a(%edi),%xmm5 */
    { 1,  7, "\x67\x26\x0f\x29\xaf\x11\xe5" }, /* movaps %xmm5,%es:-0x1aef(%bx) */
    { 1,  6, "\x2e\x64\x0f\x2a\x4f\x96" }, /* cs cvtpi2ps %fs:-0x6a(%edi),%xmm1 */
    { 1,  5, "\x2e\x0f\x2b\x45\x41" }, /* movntps %xmm0,%cs:0x41(%ebp) */
    { 1,  7, "\x0f\x2c\x85\x2e\x6c\x37\x97" }, /* cvttps2pi -0x68c893d2(%ebp),%mm0 */
    { 1,  6, "\x66\x0f\x2d\x54\x84\x28" }, /* cvtpd2pi 0x28(%esp,%eax,4),%mm2 */
    { 1,  3, "\x0f\x2e\xcb" }, /* ucomiss %xmm3,%xmm1 */
    { 1,  6, "\x64\x2e\x0f\x2f\x5f\xdf" }, /* fs comiss %cs:-0x21(%edi),%xmm3 */
    { 1,  2, "\x0f\x30" }, /* wrmsr */
    { 1,  4, "\x66\x67\x0f\x31" }, /* data16 addr16 rdtsc */
    { 1,  3, "\x67\x0f\x32" }, /* addr16 rdmsr */
    { 1,  4, "\x2e\x26\x0f\x33" }, /* cs es rdpmc */
    { 1,  2, "\x0f\x34" }, /* sysenter */
    { 1,  3, "\x66\x0f\x35" }, /* data16 sysexit */
    { 1,  2, "\x0f\x37" }, /* getsec */
    { 1,  6, "\x66\x0f\x38\x37\x0c\xc7" }, /* pcmpgtq (%edi,%eax,8),%xmm1 */
    { 1,  4, "\x64\x0f\x40\xf8" }, /* fs cmovo %eax,%edi */
    { 1,  5, "\x2e\x26\x0f\x41\x20" }, /* cs cmovno %es:(%eax),%esp */
    { 1,  8, "\x64\x0f\x42\xba\xfa\xea\xdb\xf9" }, /* cmovb  %fs:-0x6241506(%edx),%edi */
    { 1,  5, "\x67\x2e\x0f\x43\xfc" }, /* addr16 cs cmovae %esp,%edi */
    { 1,  4, "\x64\x0f\x44\xe4" }, /* fs cmove %esp,%esp */
    { 1,  7, "\x0f\x45\x99\x45\xc3\xff\x70" }, /* cmovne 0x70ffc345(%ecx),%ebx */
    { 1,  3, "\x0f\x46\x1a" }, /* cmovbe (%edx),%ebx */
    { 1, 10, "\x26\x64\x0f\x47\xb4\x79\xd1\x59\x04\x51" }, /* es cmova %fs:0x510459d1(%ecx,%edi,2),%esi */
    { 1,  7, "\x0f\x48\x80\x36\x13\x36\x9b" }, /* cmovs  -0x64c9ecca(%eax),%eax */
    { 1,  6, "\x2e\x0f\x49\x4c\x95\x16" }, /* cmovns %cs:0x16(%ebp,%edx,4),%ecx */
    { 1,  3, "\x0f\x4a\x32" }, /* cmovp  (%edx),%esi */
    { 1,  8, "\x26\x0f\x4b\xb0\xb0\xac\xdd\xcd" }, /* cmovnp %es:-0x32225350(%eax),%esi */
    { 1,  5, "\x0f\x4c\x7c\x3b\xf9" }, /* cmovl  -0x7(%ebx,%edi,1),%edi */
    { 1,  3, "\x0f\x4d\xeb" }, /* cmovge %ebx,%ebp */
    { 1,  4, "\x2e\x0f\x4e\x19" }, /* cmovle %cs:(%ecx),%ebx */
    { 1,  5, "\x2e\x67\x0f\x4f\x2d" }, /* cmovg  %cs:(%di),%ebp */
    { 1,  3, "\x0f\x50\xc2" }, /* movmskps %xmm2,%eax */
    { 1,  3, "\x0f\x51\xde" }, /* sqrtps %xmm6,%xmm3 */
    { 1,  4, "\x2e\x0f\x52\xdb" }, /* cs rsqrtps %xmm3,%xmm3 */
    { 1,  3, "\x0f\x53\xcb" }, /* rcpps  %xmm3,%xmm1 */
    { 1,  5, "\x2e\x66\x0f\x54\x0b" }, /* andpd  %cs:(%ebx),%xmm1 */
    { 1,  5, "\x2e\x64\x0f\x55\xf8" }, /* cs fs andnps %xmm0,%xmm7 */
    { 1,  4, "\x0f\x56\x4d\xb1" }, /* orps   -0x4f(%ebp),%xmm1 */
    { 1,  3, "\x0f\x57\xe9" }, /* xorps  %xmm1,%xmm5 */
    { 1,  3, "\x0f\x58\xe9" }, /* addps  %xmm1,%xmm5 */
    { 1,  5, "\x67\x26\x0f\x59\xf4" }, /* addr16 es mulps %xmm4,%xmm6 */
    { 1,  4, "\x64\x0f\x5a\xe7" }, /* fs cvtps2pd %xmm7,%xmm4 */
    { 1,  5, "\x2e\x0f\x5b\x63\xa4" }, /* cvtdq2ps %cs:-0x5c(%ebx),%xmm4 */
    { 1,  8, "\x26\x0f\x5c\x9b\x3c\x06\xab\x25" }, /* subps  %es:0x25ab063c(%ebx),%xmm3 */
    { 1,  5, "\x67\x0f\x5d\x4a\xb2" }, /* minps  -0x4e(%bp,%si),%xmm1 */
    { 1,  4, "\x0f\x5e\x51\x19" }, /* divps  0x19(%ecx),%xmm2 */
    { 1,  4, "\x0f\x5f\x5d\x6e" }, /* maxps  0x6e(%ebp),%xmm3 */
    { 1,  5, "\x66\x0f\x60\x51\xb7" }, /* punpcklbw -0x49(%ecx),%xmm2 */
    { 1,  8, "\x64\x0f\x61\x8e\xa8\x9e\x32\x81" }, /* punpcklwd %fs:-0x7ecd6158(%esi),%mm1 */
    { 1,  4, "\x0f\x62\x2c\x09" }, /* punpckldq (%ecx,%ecx,1),%mm5 */
    { 1,  3, "\x0f\x63\x1b" }, /* packsswb (%ebx),%mm3 */
    { 1,  5, "\x26\x0f\x64\x79\xdb" }, /* pcmpgtb %es:-0x25(%ecx),%mm7 */
    { 1,  5, "\x66\x0f\x65\x5d\x4f" }, /* pcmpgtw 0x4f(%ebp),%xmm3 */
    { 1,  7, "\x0f\x66\x25\xb2\xc7\xed\xa5" }, /* pcmpgtd 0xa5edc7b2,%mm4 */
    { 1,  5, "\x64\x0f\x67\x24\x98" }, /* packuswb %fs:(%eax,%ebx,4),%mm4 */
    { 1,  7, "\x0f\x68\x83\xe0\xfa\xe2\xe3" }, /* punpckhbw -0x1c1d0520(%ebx),%mm0 */
    { 1,  4, "\x26\x0f\x69\xe0" }, /* es punpckhwd %mm0,%mm4 */
    { 1,  4, "\x66\x0f\x6a\x06" }, /* punpckhdq (%esi),%xmm0 */
    { 1,  9, "\x66\x26\x0f\x6b\x83\xb5\x22\xe3\xc0" }, /* packssdw %es:-0x3f1cdd4b(%ebx),%xmm0 */
    { 1,  5, "\x66\x0f\x6c\x34\x00" }, /* punpcklqdq (%eax,%eax,1),%xmm6 */
    { 1,  5, "\x2e\x66\x0f\x6d\x12" }, /* punpckhqdq %cs:(%edx),%xmm2 */
    { 1,  4, "\x0f\x6e\x4d\xb9" }, /* movd   -0x47(%ebp),%mm1 */
    { 1,  5, "\x0f\x6f\x44\x71\x18" }, /* movq   0x18(%ecx,%esi,2),%mm0 */
    { 1,  5, "\x26\x0f\x70\x38\xe9" }, /* pshufw $0xe9,%es:(%eax),%mm7 */
    { 1,  5, "\x67\x0f\x71\xd0\xd7" }, /* addr16 psrlw $0xd7,%mm0 */
    { 1,  5, "\x2e\x0f\x72\xd7\x42" }, /* cs psrld $0x42,%mm7 */
    { 1,  5, "\x26\x0f\x73\xd1\x3b" }, /* es psrlq $0x3b,%mm1 */
    { 1,  4, "\x66\x0f\x74\xda" }, /* pcmpeqb %xmm2,%xmm3 */
    { 1,  3, "\x0f\x75\xd6" }, /* pcmpeqw %mm6,%mm2 */
    { 1,  8, "\x26\x0f\x76\xb8\x91\xfb\x82\xf0" }, /* pcmpeqd %es:-0xf7d046f(%eax),%mm7 */
    { 1,  2, "\x0f\x77" }, /* emms */
    { 1,  9, "\x2e\x64\x0f\x79\xae\xe5\x8a\x55\xbe" }, /* cs vmwrite %fs:-0x41aa751b(%esi),%ebp */
    { 1,  4, "\x66\x0f\x7c\x12" }, /* haddpd (%edx),%xmm2 */
    { 1,  5, "\x66\x0f\x7d\x2c\x34" }, /* hsubpd (%esp,%esi,1),%xmm5 */
    { 1,  3, "\x0f\x7e\xcf" }, /* movd   %mm1,%edi */
    { 1,  5, "\x66\x0f\x7f\x2c\x47" }, /* movdqa %xmm5,(%edi,%eax,2) */
    { 1,  6, "\x0f\x80\x75\xd4\x78\x48" }, /* jo     0x4878d47b */
    { 1,  8, "\x26\x67\x0f\x81\x30\x80\x96\xf7" }, /* es addr16 jno 0xf7968038 */
    { 1,  8, "\x64\x26\x0f\x82\x5e\x05\xbc\xbd" }, /* fs es jb 0xbdbc0566 */
    { 1,  8, "\x26\x64\x0f\x83\x9c\xf3\x44\x66" }, /* es fs jae 0x6644f3a4 */
    { 1,  8, "\x67\x64\x0f\x84\x07\x20\xd4\xfa" }, /* addr16 fs je 0xfad4200f */
    { 1,  7, "\x67\x0f\x85\xd8\x81\x00\xaf" }, /* addr16 jne 0xaf0081df */
    { 1,  6, "\x0f\x86\xdc\xea\x58\x33" }, /* jbe    0x3358eae2 */
    { 1,  6, "\x0f\x87\xc0\xc1\x42\xfe" }, /* ja     0xfe42c1c6 */
    { 1,  6, "\x0f\x88\x62\x4a\x6f\x53" }, /* js     0x536f4a68 */
    { 1,  7, "\x2e\x0f\x89\x5d\xf7\xa6\x2e" }, /* jns,pn 0x2ea6f764 */
    { 1,  7, "\x67\x0f\x8a\x65\x87\xa9\x57" }, /* addr16 jp 0x57a9876c */
    { 1,  5, "\x66\x0f\x8b\x9f\x11" }, /* jnp    0x11a4 */
    { 1,  7, "\x67\x0f\x8c\x2a\x67\x6a\xe2" }, /* addr16 jl 0xe26a6731 */
    { 1,  6, "\x0f\x8d\xd3\x0b\xd5\x3b" }, /* jge    0x3bd50bd9 */
    { 1,  6, "\x26\x66\x0f\x8e\x5c\x68" }, /* es jle 0x6862 */
    { 1,  8, "\x67\x2e\x0f\x8f\x5c\xa7\x35\x1e" }, /* addr16 jg,pn 0x1e35a764 */
    { 1,  4, "\x0f\x90\x7a\x5d" }, /* seto   0x5d(%edx) */
    { 1,  4, "\x2e\x0f\x91\x0e" }, /* setno  %cs:(%esi) */
    { 1,  5, "\x66\x0f\x92\x7a\x91" }, /* data16 setb -0x6f(%edx) */
    { 1,  6, "\x2e\x67\x0f\x93\x5f\x81" }, /* setae  %cs:-0x7f(%bx) */
    { 1,  4, "\x66\x0f\x94\xd3" }, /* data16 sete %bl */
    { 1,  3, "\x0f\x95\xd1" }, /* setne  %cl */
    { 1,  7, "\x0f\x96\xaa\x24\xac\x5b\x83" }, /* setbe  -0x7ca453dc(%edx) */
    { 1,  4, "\x26\x0f\x97\x2f" }, /* seta   %es:(%edi) */
    { 1,  3, "\x0f\x98\xcc" }, /* sets   %ah */
    { 1,  9, "\x64\x26\x0f\x99\x95\xdc\x9d\x89\x8f" }, /* fs setns %es:-0x70766224(%ebp) */
    { 1,  4, "\x0f\x9a\x68\x03" }, /* setp   0x3(%eax) */
    { 1,  3, "\x0f\x9b\x2e" }, /* setnp  (%esi) */
    { 1,  4, "\x2e\x0f\x9c\xe7" }, /* cs setl %bh */
    { 1,  9, "\x64\x26\x0f\x9d\xa1\x72\xb4\xea\x43" }, /* fs setge %es:0x43eab472(%ecx) */
    { 1,  5, "\x64\x0f\x9e\x58\x73" }, /* setle  %fs:0x73(%eax) */
    { 1,  9, "\x66\x0f\x9f\x9c\x83\x66\xb2\x73\x9b" }, /* data16 setg -0x648c4d9a(%ebx,%eax,4) */
    { 1,  2, "\x0f\xa0" }, /* push   %fs */
    { 1,  2, "\x0f\xa1" }, /* pop    %fs */
    { 1,  3, "\x2e\x0f\xa2" }, /* cs cpuid */
    { 1,  5, "\x0f\xa3\x5c\xcc\xe4" }, /* bt     %ebx,-0x1c(%esp,%ecx,8) */
    { 1,  4, "\x0f\xa4\xc0\xcf" }, /* shld   $0xcf,%eax,%eax */
    { 1,  4, "\x64\x0f\xa5\x2f" }, /* shld   %cl,%ebp,%fs:(%edi) */
    { 1,  2, "\x0f\xa8" }, /* push   %gs */
    { 1,  4, "\x26\x66\x0f\xa9" }, /* es popw %gs */
    { 1,  2, "\x0f\xaa" }, /* rsm */
    { 1,  8, "\x64\x0f\xab\x97\x01\x98\xb5\x24" }, /* bts    %edx,%fs:0x24b59801(%edi) */
    { 1,  4, "\x0f\xac\x31\xb0" }, /* shrd   $0xb0,%esi,(%ecx) */
    { 1,  4, "\x0f\xad\x67\x9f" }, /* shrd   %cl,%esp,-0x61(%edi) */
    { 1,  3, "\x0f\xae\x39" }, /* clflush (%ecx) */
    { 1,  4, "\x67\x0f\xaf\x02" }, /* imul   (%bp,%si),%eax */
    { 1,  5, "\x67\x64\x0f\xb0\xd0" }, /* addr16 fs cmpxchg %dl,%al */
    { 1,  4, "\x64\x0f\xb1\x06" }, /* cmpxchg %eax,%fs:(%esi) */
    { 1,  8, "\x66\x0f\xb2\xb2\x35\x41\x41\x70" }, /* lss    0x70414135(%edx),%si */
    { 1,  4, "\x0f\xb3\x72\xee" }, /* btr    %esi,-0x12(%edx) */
    { 1,  6, "\x67\x0f\xb4\x99\xc6\x3b" }, /* lfs    0x3bc6(%bx,%di),%ebx */
    { 1,  4, "\x0f\xb5\x40\x84" }, /* lgs    -0x7c(%eax),%eax */
    { 1,  8, "\x64\x0f\xb6\xaa\x48\x28\x69\xa0" }, /* movzbl %fs:-0x5f96d7b8(%edx),%ebp */
    { 1,  5, "\x64\x0f\xb7\x7a\xae" }, /* movzwl %fs:-0x52(%edx),%edi */
    { 1,  5, "\x2e\x0f\xb9\x73\xbb" }, /* ud1    %cs:-0x45(%ebx),%esi */
    { 1,  4, "\x0f\xba\xf0\x2c" }, /* btr    $0x2c,%eax */
    { 1,  8, "\x2e\x0f\xbb\xad\x80\x07\x2e\x66" }, /* btc    %ebp,%cs:0x662e0780(%ebp) */
    { 1,  4, "\x0f\xbc\x50\x07" }, /* bsf    0x7(%eax),%edx */
    { 1,  5, "\x2e\x66\x0f\xbd\xc1" }, /* cs bsr %cx,%ax */
    { 1,  3, "\x0f\xbe\xd7" }, /* movsbl %bh,%edx */
    { 1,  4, "\x64\x0f\xbf\x3b" }, /* movswl %fs:(%ebx),%edi */
    { 1,  6, "\x67\x66\x0f\xc0\x4e\x72" }, /* data16 xadd %cl,0x72(%bp) */
    { 1,  4, "\x64\x0f\xc1\xff" }, /* fs xadd %edi,%edi */
    { 1,  4, "\x0f\xc2\xec\x1a" }, /* cmpps  $0x1a,%xmm4,%xmm5 */
    { 1,  6, "\x67\x0f\xc3\x3e\xb2\x07" }, /* movnti %edi,0x7b2 */
    { 1,  4, "\x0f\xc4\xcf\xec" }, /* pinsrw $0xec,%edi,%mm1 */
    { 1,  4, "\x0f\xc5\xf5\x55" }, /* pextrw $0x55,%mm5,%esi */
    { 1, 10, "\x2e\x64\x0f\xc6\x80\x1b\xce\xf1\x6f\xaf" }, /* cs shufps $0xaf,%fs:0x6ff1ce1b(%eax),%xmm0 */
    { 1,  4, "\x0f\xc7\x34\x6c" }, /* vmptrld (%esp,%ebp,2) */
    { 1,  2, "\x0f\xc8" }, /* bswap  %eax */
    { 1,  2, "\x0f\xc9" }, /* bswap  %ecx */
    { 1,  2, "\x0f\xca" }, /* bswap  %edx */
    { 1,  3, "\x64\x0f\xcb" }, /* fs bswap %ebx */
    { 1,  4, "\x26\x67\x0f\xcc" }, /* es addr16 bswap %esp */
    { 1,  4, "\x66\x67\x0f\xcd" }, /* addr16 bswap %bp */
    { 1,  3, "\x64\x0f\xce" }, /* fs bswap %esi */
    { 1,  2, "\x0f\xcf" }, /* bswap  %edi */
    { 1,  6, "\x66\x2e\x0f\xd0\x53\xe3" }, /* addsubpd %cs:-0x1d(%ebx),%xmm2 */
    { 1,  9, "\x2e\x26\x0f\xd1\x1d\x21\x77\x32\xcb" }, /* cs psrlw %es:0xcb327721,%mm3 */
    { 1,  4, "\x0f\xd2\x70\x5f" }, /* psrld  0x5f(%eax),%mm6 */
    { 1,  3, "\x0f\xd3\x0a" }, /* psrlq  (%edx),%mm1 */
    { 1,  7, "\x0f\xd4\xb9\x49\x1c\x42\x64" }, /* paddq  0x64421c49(%ecx),%mm7 */
    { 1,  7, "\x0f\xd5\x98\xab\x7a\x0b\xc4" }, /* pmullw -0x3bf48555(%eax),%mm3 */
    { 1,  6, "\x67\x66\x0f\xd6\x62\x31" }, /* movq   %xmm4,0x31(%bp,%si) */
    { 1,  4, "\x67\x0f\xd7\xe3" }, /* addr16 pmovmskb %mm3,%esp */
    { 1,  4, "\x0f\xd8\x61\xd6" }, /* psubusb -0x2a(%ecx),%mm4 */
    { 1,  6, "\x26\x0f\xd9\x5c\x92\x1c" }, /* psubusw %es:0x1c(%edx,%edx,4),%mm3 */
    { 1,  3, "\x0f\xda\xeb" }, /* pminub %mm3,%mm5 */
    { 1,  4, "\x0f\xdb\x71\xa7" }, /* pand   -0x59(%ecx),%mm6 */
    { 1,  5, "\x0f\xdc\x44\x82\xf3" }, /* paddusb -0xd(%edx,%eax,4),%mm0 */
    { 1,  3, "\x0f\xdd\x3b" }, /* paddusw (%ebx),%mm7 */
    { 1,  4, "\x67\x0f\xde\x3b" }, /* pmaxub (%bp,%di),%mm7 */
    { 1,  7, "\x0f\xdf\xb0\x77\xcd\x3c\x21" }, /* pandn  0x213ccd77(%eax),%mm6 */
    { 1,  4, "\x26\x0f\xe0\x3a" }, /* pavgb  %es:(%edx),%mm7 */
    { 1,  3, "\x0f\xe1\x29" }, /* psraw  (%ecx),%mm5 */
    { 1,  8, "\x2e\x0f\xe2\xbf\x2f\x8e\xb0\x60" }, /* psrad  %cs:0x60b08e2f(%edi),%mm7 */
    { 1,  3, "\x0f\xe3\xf2" }, /* pavgw  %mm2,%mm6 */
    { 1,  4, "\x0f\xe4\x5d\x62" }, /* pmulhuw 0x62(%ebp),%mm3 */
    { 1,  5, "\x2e\x0f\xe5\x6a\xfc" }, /* pmulhw %cs:-0x4(%edx),%mm5 */
    { 1,  8, "\x66\x0f\xe6\x35\xe4\xa4\x6c\xb7" }, /* cvttpd2dq 0xb76ca4e4,%xmm6 */
    { 1,  4, "\x0f\xe7\x7b\x67" }, /* movntq %mm7,0x67(%ebx) */
    { 1,  3, "\x0f\xe8\xf2" }, /* psubsb %mm2,%mm6 */
    { 1,  5, "\x0f\xe9\x5c\x59\xbe" }, /* psubsw -0x42(%ecx,%ebx,2),%mm3 */
    { 1,  7, "\x0f\xea\xa2\x10\xb8\x3d\x5d" }, /* pminsw 0x5d3db810(%edx),%mm4 */
    { 1,  4, "\x26\x0f\xeb\xfc" }, /* es por %mm4,%mm7 */
    { 1,  5, "\x64\x2e\x0f\xec\xc5" }, /* fs cs paddsb %mm5,%mm0 */
    { 1,  3, "\x0f\xed\x02" }, /* paddsw (%edx),%mm0 */
    { 1,  4, "\x64\x0f\xee\xde" }, /* fs pmaxsw %mm6,%mm3 */
    { 1,  4, "\x0f\xef\x55\xbc" }, /* pxor   -0x44(%ebp),%mm2 */
    { 1,  8, "\x2e\x0f\xf1\x9e\x29\x65\x04\x3e" }, /* psllw  %cs:0x3e046529(%esi),%mm3 */
    { 1,  3, "\x0f\xf2\xfd" }, /* pslld  %mm5,%mm7 */
    { 1,  4, "\x0f\xf3\x49\x3e" }, /* psllq  0x3e(%ecx),%mm1 */
    { 1,  4, "\x0f\xf4\x4e\xa9" }, /* pmuludq -0x57(%esi),%mm1 */
    { 1,  7, "\x0f\xf5\x2d\x2a\xcc\xd7\x4a" }, /* pmaddwd 0x4ad7cc2a,%mm5 */
    { 1,  5, "\x64\x0f\xf6\x6a\xd4" }, /* psadbw %fs:-0x2c(%edx),%mm5 */
    { 1,  4, "\x67\x0f\xf7\xe4" }, /* addr16 maskmovq %mm4,%mm4 */
    { 1,  7, "\x0f\xf8\xb6\x64\xc2\x6d\xea" }, /* psubb  -0x15923d9c(%esi),%mm6 */
    { 1,  8, "\x66\x0f\xf9\xba\x5a\x29\x8f\xd2" }, /* psubw  -0x2d70d6a6(%edx),%xmm7 */
    { 1,  8, "\x26\x0f\xfa\xa8\x71\xc4\xc7\x31" }, /* psubd  %es:0x31c7c471(%eax),%mm5 */
    { 1,  3, "\x0f\xfb\x21" }, /* psubq  (%ecx),%mm4 */
    { 1,  4, "\x0f\xfc\x79\x71" }, /* paddb  0x71(%ecx),%mm7 */
    { 1,  4, "\x0f\xfd\x77\x1e" }, /* paddw  0x1e(%edi),%mm6 */
    { 1,  3, "\x0f\xfe\xe0" }, /* paddd  %mm0,%mm4 */
    { 1,  7, "\x0f\xff\x9f\xec\xb4\xee\xa7" }, /* ud0    -0x58114b14(%edi),%ebx */
    { 0,  5, "\x64\x66\x00\x57\x2e" }, /* data32 add %dl,%fs:0x2e(%bx) */
    { 0,  9, "\x26\x67\x01\xa4\x70\x76\xd3\x1f\x60" }, /* add    %sp,%es:0x601fd376(%eax,%esi,2) */
    { 0,  4, "\x02\xa5\xe9\xff" }, /* add    -0x17(%di),%ah */
    { 0,  3, "\x2e\x03\xe9" }, /* cs add %cx,%bp */
    { 0,  3, "\x67\x04\xf6" }, /* addr32 add $0xf6,%al */
    { 0,  3, "\x05\xd7\xd3" }, /* add    $0xd3d7,%ax */
    { 0,  1, "\x06" }, /* push   %es */
    { 0,  1, "\x07" }, /* pop    %es */
    { 0,  3, "\x64\x08\x03" }, /* or     %al,%fs:(%bp,%di) */
    { 0,  4, "\x09\x1e\x19\xf6" }, /* or     %bx,-0x9e7 */
    { 0,  3, "\x26\x0a\xee" }, /* es or  %dh,%ch */
    { 0,  4, "\x67\x0b\x5b\x7e" }, /* or     0x7e(%ebx),%bx */
    { 0,  3, "\x2e\x0c\x4a" }, /* cs or  $0x4a,%al */
    { 0,  3, "\x0d\x12\x51" }, /* or     $0x5112,%ax */
    { 0,  2, "\x64\x0e" }, /* fs push %cs */
    { 0,  3, "\x64\x10\xd6" }, /* fs adc %dl,%dh */
    { 0,  3, "\x66\x11\xd2" }, /* adc    %edx,%edx */
    { 0,  4, "\x66\x26\x12\xdc" }, /* data32 es adc %ah,%bl */
    { 0,  4, "\x26\x2e\x13\x09" }, /* es adc %cs:(%bx,%di),%cx */
    { 0,  2, "\x14\x0b" }, /* adc    $0xb,%al */
    { 0,  4, "\x26\x15\x81\x54" }, /* es adc $0x5481,%ax */
    { 0,  1, "\x16" }, /* push   %ss */
    { 0,  1, "\x17" }, /* pop    %ss */
    { 0,  4, "\x66\x18\x67\xcc" }, /* data32 sbb %ah,-0x34(%bx) */
    { 0,  5, "\x67\x2e\x19\x7a\x1d" }, /* sbb    %di,%cs:0x1d(%edx) */
    { 0,  5, "\x66\x1a\x8b\xdf\xb4" }, /* data32 sbb -0x4b21(%bp,%di),%cl */
    { 0,  3, "\x1b\x6d\xef" }, /* sbb    -0x11(%di),%bp */
    { 0,  2, "\x1c\x42" }, /* sbb    $0x42,%al */
    { 0,  5, "\x26\x67\x1d\xc0\xbe" }, /* es addr32 sbb $0xbec0,%ax */
    { 0,  3, "\x64\x67\x1e" }, /* fs addr32 push %ds */
    { 0,  3, "\x67\x64\x1f" }, /* addr32 fs pop %ds */
    { 0,  2, "\x20\xee" }, /* and    %ch,%dh */
    { 0,  5, "\x26\x67\x21\x4e\x53" }, /* and    %cx,%es:0x53(%esi) */
    { 0,  4, "\x67\x22\x72\x6d" }, /* and    0x6d(%edx),%dh */
    { 0,  7, "\x67\x23\x97\x9c\x72\xb0\xe2" }, /* and    -0x1d4f8d64(%edi),%dx */
    { 0,  3, "\x26\x24\x16" }, /* es and $0x16,%al */
    { 0,  3, "\x25\x02\xd9" }, /* and    $0xd902,%ax */
    { 0,  2, "\x2e\x27" }, /* cs daa */
    { 0,  4, "\x2e\x28\x41\xa1" }, /* sub    %al,%cs:-0x5f(%bx,%di) */
    { 0,  4, "\x29\x80\x0c\xff" }, /* sub    %ax,-0xf4(%bx,%si) */
    { 0,  4, "\x2a\x91\xba\x97" }, /* sub    -0x6846(%bx,%di),%dl */
    { 0,  4, "\x2e\x2b\x5b\xa5" }, /* sub    %cs:-0x5b(%bp,%di),%bx */
    { 0,  4, "\x66\x26\x2c\xd2" }, /* data32 es sub $0xd2,%al */
    { 0,  3, "\x2d\xca\xbd" }, /* sub    $0xbdca,%ax */
    { 0,  2, "\x66\x2f" }, /* data32 das */
    { 0,  5, "\x26\x2e\x30\x64\x46" }, /* es xor %ah,%cs:0x46(%si) */
    { 0,  5, "\x64\x31\xa8\xc8\xf6" }, /* xor    %bp,%fs:-0x938(%bx,%si) */
    { 0,  4, "\x32\x0e\x0a\xdd" }, /* xor    -0x22f6,%cl */
    { 0,  3, "\x67\x33\xe1" }, /* addr32 xor %cx,%sp */
    { 0,  3, "\x66\x34\xa3" }, /* data32 xor $0xa3,%al */
    { 0,  6, "\x66\x35\xf7\x77\x4b\x09" }, /* xor    $0x94b77f7,%eax */
    { 0,  3, "\x26\x2e\x37" }, /* es cs aaa */
    { 0,  5, "\x64\x38\x1e\x9f\x7e" }, /* cmp    %bl,%fs:0x7e9f */
    { 0,  3, "\x67\x39\x18" }, /* cmp    %bx,(%eax) */
    { 0,  3, "\x26\x3a\x01" }, /* cmp    %es:(%bx,%di),%al */
    { 0,  3, "\x3b\x5b\x38" }, /* cmp    0x38(%bp,%di),%bx */
    { 0,  2, "\x3c\x42" }, /* cmp    $0x42,%al */
    { 0,  3, "\x3d\xb5\xd5" }, /* cmp    $0xd5b5,%ax */
    { 0,  2, "\x67\x3f" }, /* addr32 aas */
    { 0,  2, "\x67\x40" }, /* addr32 inc %ax */
    { 0,  1, "\x41" }, /* inc    %cx */
    { 0,  1, "\x42" }, /* inc    %dx */
    { 0,  2, "\x66\x43" }, /* inc    %ebx */
    { 0,  1, "\x44" }, /* inc    %sp */
    { 0,  2, "\x67\x45" }, /* addr32 inc %bp */
    { 0,  2, "\x2e\x46" }, /* cs inc %si */
    { 0,  1, "\x47" }, /* inc    %di */
    { 0,  1, "\x48" }, /* dec    %ax */
    { 0,  1, "\x49" }, /* dec    %cx */
    { 0,  2, "\x26\x4a" }, /* es dec %dx */
    { 0,  3, "\x2e\x64\x4b" }, /* cs fs dec %bx */
    { 0,  1, "\x4c" }, /* dec    %sp */
    { 0,  2, "\x66\x4d" }, /* dec    %ebp */
    { 0,  2, "\x66\x4e" }, /* dec    %esi */
    { 0,  2, "\x2e\x4f" }, /* cs dec %di */
    { 0,  2, "\x2e\x50" }, /* cs push %ax */
    { 0,  3, "\x2e\x67\x51" }, /* cs addr32 push %cx */
    { 0,  1, "\x52" }, /* push   %dx */
    { 0,  1, "\x53" }, /* push   %bx */
    { 0,  2, "\x64\x54" }, /* fs push %sp */
    { 0,  1, "\x55" }, /* push   %bp */
    { 0,  1, "\x56" }, /* push   %si */
    { 0,  2, "\x66\x57" }, /* push   %edi */
    { 0,  1, "\x58" }, /* pop    %ax */
    { 0,  1, "\x59" }, /* pop    %cx */
    { 0,  2, "\x67\x5a" }, /* addr32 pop %dx */
    { 0,  1, "\x5b" }, /* pop    %bx */
    { 0,  1, "\x5c" }, /* pop    %sp */
    { 0,  2, "\x2e\x5d" }, /* cs pop %bp */
    { 0,  1, "\x5e" }, /* pop    %si */
    { 0,  1, "\x5f" }, /* pop    %di */
    { 0,  2, "\x26\x60" }, /* es pusha */
    { 0,  3, "\x67\x66\x61" }, /* addr32 popal */
    { 0,  3, "\x26\x62\x3b" }, /* bound  %di,%es:(%bp,%di) */
    { 0,  4, "\x67\x26\x63\xeb" }, /* addr32 es arpl %bp,%bx */
    { 0,  4, "\x26\x68\x39\xf2" }, /* es push $0xf239 */
    { 0,  6, "\x69\xbb\x32\xe1\x38\x7a" }, /* imul   $0x7a38,-0x1ece(%bp,%di),%di */
    { 0,  4, "\x67\x66\x6a\x54" }, /* addr32 pushl $0x54 */
    { 0,  9, "\x67\x6b\x8c\xc9\x94\x67\xed\x8c\x72" }, /* imul   $0x72,-0x7312986c(%ecx,%ecx,8),%cx */
    { 0,  2, "\x66\x6c" }, /* data32 insb (%dx),%es:(%di) */
    { 0,  2, "\x26\x6d" }, /* es insw (%dx),%es:(%di) */
    { 0,  1, "\x6e" }, /* outsb  %ds:(%si),(%dx) */
    { 0,  1, "\x6f" }, /* outsw  %ds:(%si),(%dx) */
    { 0,  4, "\x66\x67\x70\xa5" }, /* data32 addr32 jo 0xffffffa9 */
    { 0,  2, "\x71\x9d" }, /* jno    0xffffff9f */
    { 0,  4, "\x26\x64\x72\x0d" }, /* es fs jb 0x11 */
    { 0,  2, "\x73\xe9" }, /* jae    0xffffffeb */
    { 0,  3, "\x67\x74\x05" }, /* addr32 je 0x8 */
    { 0,  4, "\x64\x26\x75\x6c" }, /* fs es jne 0x70 */
    { 0,  2, "\x76\x53" }, /* jbe    0x55 */
    { 0,  3, "\x66\x77\x22" }, /* data32 ja 0x25 */
    { 0,  2, "\x78\x78" }, /* js     0x7a */
    { 0,  2, "\x79\xa3" }, /* jns    0xffffffa5 */
    { 0,  4, "\x64\x26\x7a\xed" }, /* fs es jp 0xfffffff1 */
    { 0,  4, "\x66\x67\x7b\xde" }, /* data32 addr32 jnp 0xffffffe2 */
    { 0,  4, "\x2e\x66\x7c\x59" }, /* data32 jl,pn 0x5d */
    { 0,  3, "\x64\x7d\x06" }, /* fs jge 0x9 */
    { 0,  4, "\x2e\x26\x7e\x8e" }, /* cs jle,pn 0xffffff92 */
    { 0,  4, "\x2e\x67\x7f\x86" }, /* addr32 jg,pn 0xffffff8a */
    { 0,  5, "\x64\x80\x6a\x49\xd5" }, /* subb   $0xd5,%fs:0x49(%bp,%si) */
    { 0,  6, "\x67\x81\x4d\x64\x59\x0d" }, /* orw    $0xd59,0x64(%ebp) */
    { 0,  4, "\x2e\x82\xfe\x4f" }, /* cs cmp $0x4f,%dh */
    { 0,  4, "\x83\x5d\xdb\xee" }, /* sbbw   $0xffee,-0x25(%di) */
    { 0,  5, "\x2e\x84\x92\x2d\xd7" }, /* test   %dl,%cs:-0x28d3(%bp,%si) */
    { 0,  2, "\x85\x2c" }, /* test   %bp,(%si) */
    { 0,  2, "\x86\x01" }, /* xchg   %al,(%bx,%di) */
    { 0,  2, "\x87\x1c" }, /* xchg   %bx,(%si) */
    { 0,  5, "\x2e\x66\x88\x6e\xd5" }, /* data32 mov %ch,%cs:-0x2b(%bp) */
    { 0,  2, "\x89\xeb" }, /* mov    %bp,%bx */
    { 0,  7, "\x67\x8a\xa5\x04\xb2\x8e\xf8" }, /* mov    -0x7714dfc(%ebp),%ah */
    { 0,  2, "\x8b\xd1" }, /* mov    %cx,%dx */
    { 0,  3, "\x8c\x6f\x36" }, /* mov    %gs,0x36(%bx) */
    { 0,  3, "\x26\x8d\x17" }, /* lea    %es:(%bx),%dx */
    { 0,  4, "\x8e\xaf\x80\x3a" }, /* mov    0x3a80(%bx),%gs */
    { 0,  4, "\x8f\x06\x9e\xa7" }, /* pop    -0x5862 */
    { 0,  2, "\x26\x90" }, /* es nop */
    { 0,  1, "\x91" }, /* xchg   %ax,%cx */
    { 0,  2, "\x67\x92" }, /* addr32 xchg %ax,%dx */
    { 0,  1, "\x93" }, /* xchg   %ax,%bx */
    { 0,  2, "\x2e\x94" }, /* cs xchg %ax,%sp */
    { 0,  3, "\x26\x67\x95" }, /* es addr32 xchg %ax,%bp */
    { 0,  1, "\x96" }, /* xchg   %ax,%si */
    { 0,  2, "\x64\x97" }, /* fs xchg %ax,%di */
    { 0,  2, "\x26\x98" }, /* es cbtw */
    { 0,  3, "\x67\x66\x99" }, /* addr32 cltd */
    { 0,  6, "\x26\x9a\xc5\x34\x84\x51" }, /* es lcall $0x5184,$0x34c5 */
    { 0,  3, "\x2e\x66\x9c" }, /* cs pushfl */
    { 0,  2, "\x67\x9d" }, /* addr32 popf */
    { 0,  1, "\x9e" }, /* sahf */
    { 0,  2, "\x2e\x9f" }, /* cs lahf */
    { 0,  4, "\x64\xa0\x0d\xb6" }, /* mov    %fs:0xb60d,%al */
    { 0,  6, "\x67\xa1\x0a\xda\x1a\x6f" }, /* addr32 mov 0x6f1ada0a,%ax */
    { 0,  4, "\x66\xa2\xc5\x61" }, /* data32 mov %al,0x61c5 */
    { 0,  7, "\x2e\x67\xa3\x4e\xd4\xbc\x0f" }, /* addr32 mov %ax,%cs:0xfbcd44e */
    { 0,  1, "\xa4" }, /* movsb  %ds:(%si),%es:(%di) */
    { 0,  1, "\xa5" }, /* movsw  %ds:(%si),%es:(%di) */
    { 0,  3, "\x2e\x26\xa6" }, /* cs cmpsb %es:(%di),%es:(%si) */
    { 0,  2, "\x64\xa7" }, /* cmpsw  %es:(%di),%fs:(%si) */
    { 0,  2, "\xa8\x20" }, /* test   $0x20,%al */
    { 0,  3, "\xa9\xec\x87" }, /* test   $0x87ec,%ax */
    { 0,  2, "\x67\xaa" }, /* stos   %al,%es:(%edi) */
    { 0,  1, "\xab" }, /* stos   %ax,%es:(%di) */
    { 0,  3, "\x2e\x67\xac" }, /* lods   %cs:(%esi),%al */
    { 0,  2, "\x66\xad" }, /* lods   %ds:(%si),%eax */
    { 0,  1, "\xae" }, /* scas   %es:(%di),%al */
    { 0,  3, "\x67\x66\xaf" }, /* scas   %es:(%edi),%eax */
    { 0,  2, "\xb0\x5e" }, /* mov    $0x5e,%al */
    { 0,  3, "\x64\xb1\xb9" }, /* fs mov $0xb9,%cl */
    { 0,  4, "\x26\x66\xb2\x4a" }, /* es data32 mov $0x4a,%dl */
    { 0,  2, "\xb3\x8b" }, /* mov    $0x8b,%bl */
    { 0,  4, "\x64\x67\xb4\x87" }, /* fs addr32 mov $0x87,%ah */
    { 0,  2, "\xb5\xaa" }, /* mov    $0xaa,%ch */
    { 0,  4, "\x67\x66\xb6\x67" }, /* addr32 data32 mov $0x67,%dh */
    { 0,  4, "\x66\x26\xb7\x95" }, /* data32 es mov $0x95,%bh */
    { 0,  3, "\xb8\x55\x2a" }, /* mov    $0x2a55,%ax */
    { 0,  7, "\x64\x66\xb9\x8e\x14\xcc\x1c" }, /* fs mov $0x1ccc148e,%ecx */
    { 0,  4, "\x2e\xba\x98\x40" }, /* cs mov $0x4098,%dx */
    { 0,  4, "\x26\xbb\x72\x37" }, /* es mov $0x3772,%bx */
    { 0,  4, "\x2e\xbc\x39\xd6" }, /* cs mov $0xd639,%sp */
    { 0,  3, "\xbd\xea\x24" }, /* mov    $0x24ea,%bp */
    { 0,  4, "\x64\xbe\x8f\x99" }, /* fs mov $0x998f,%si */
    { 0,  4, "\x2e\xbf\xfb\x06" }, /* cs mov $0x6fb,%di */
    { 0,  5, "\x67\xc0\x60\x77\xbb" }, /* shlb   $0xbb,0x77(%eax) */
    { 0,  5, "\x26\xc1\x60\x9b\xa2" }, /* shlw   $0xa2,%es:-0x65(%bx,%si) */
    { 0,  5, "\x64\x67\xc2\xc8\xe7" }, /* fs addr32 ret $0xe7c8 */
    { 0,  2, "\x67\xc3" }, /* addr32 ret */
    { 0,  3, "\x26\xc4\x2f" }, /* les    %es:(%bx),%bp */
    { 0,  2, "\xc5\x0b" }, /* lds    (%bp,%di),%cx */
    { 0,  4, "\xc6\x41\x10\xc8" }, /* movb   $0xc8,0x10(%bx,%di) */
    { 0,  6, "\x2e\x64\xc8\xaa\x71\xeb" }, /* cs fs enter $0x71aa,$0xeb */
    { 0,  2, "\x64\xc9" }, /* fs leave */
    { 0,  4, "\x26\xca\xed\xf3" }, /* es lret $0xf3ed */
    { 0,  2, "\x26\xcb" }, /* es lret */
    { 0,  2, "\x64\xcc" }, /* fs int3 */
    { 0,  3, "\x2e\xcd\x80" }, /* cs int $0x80 */
    { 0,  1, "\xce" }, /* into */
    { 0,  1, "\xcf" }, /* iret */
    { 0,  2, "\xd0\xd9" }, /* rcr    %cl */
    { 0,  2, "\xd1\x0d" }, /* rorw   (%di) */
    { 0,  2, "\xd2\x05" }, /* rolb   %cl,(%di) */
    { 0,  3, "\x26\xd3\x20" }, /* shlw   %cl,%es:(%bx,%si) */
    { 0,  3, "\x64\xd4\x55" }, /* fs aam $0x55 */
    { 0,  2, "\xd5\xeb" }, /* aad    $0xeb */
    { 0,  2, "\x2e\xd7" }, /* xlat   %cs:(%bx) */
    { 0,  4, "\xd8\xa9\x25\xa7" }, /* fsubrs -0x58db(%bx,%di) */
    { 0,  3, "\x66\xd9\x2d" }, /* data32 fldcw (%di) */
    { 0,  4, "\x2e\xda\x49\x01" }, /* fimull %cs:0x1(%bx,%di) */
    { 0,  3, "\x2e\xdb\xe9" }, /* cs fucomi %st(1),%st */
    { 0,  5, "\x67\x26\xdc\x1c\x87" }, /* fcompl %es:(%edi,%eax,4) */
    { 0,  3, "\xdd\x48\xeb" }, /* fisttpll -0x15(%bx,%si) */
    { 0,  2, "\xde\xc2" }, /* faddp  %st,%st(2) */
    { 0,  4, "\xdf\x83\x31\x0f" }, /* filds  0xf31(%bp,%di) */
    { 0,  2, "\xe0\xfe" }, /* loopne 0x0 */
    { 0,  4, "\x66\x26\xe1\xe6" }, /* data32 es loope 0xffffffea */
    { 0,  3, "\x66\xe2\x8b" }, /* data32 loop 0xffffff8e */
    { 0,  2, "\xe3\x44" }, /* jcxz   0x46 */
    { 0,  3, "\x26\xe4\x2a" }, /* es in  $0x2a,%al */
    { 0,  4, "\x66\x64\xe5\x95" }, /* fs in  $0x95,%eax */
    { 0,  3, "\x2e\xe6\x4a" }, /* cs out %al,$0x4a */
    { 0,  3, "\x66\xe7\x19" }, /* out    %eax,$0x19 */
    { 0,  4, "\x64\xe8\x4e\x14" }, /* fs call 0x1452 */
    { 0,  3, "\xe9\x70\xef" }, /* jmp    0xef73 */
    { 0,  7, "\x26\x67\xea\xc6\x81\x0c\xf2" }, /* es addr32 ljmp $0xf20c,$0x81c6 */
    { 0,  2, "\xeb\x0f" }, /* jmp    0x11 */
    { 0,  3, "\x2e\x64\xec" }, /* cs fs in (%dx),%al */
    { 0,  1, "\xed" }, /* in     (%dx),%ax */
    { 0,  2, "\x64\xee" }, /* fs out %al,(%dx) */
    { 0,  1, "\xef" }, /* out    %ax,(%dx) */
    { 0,  1, "\xf1" }, /* int1 */
    { 0,  1, "\xf4" }, /* hlt */
    { 0,  2, "\x67\xf5" }, /* addr32 cmc */
    { 0,  3, "\x26\xf6\x32" }, /* divb   %es:(%bp,%si) */
    { 0,  5, "\x26\xf7\xb6\x4f\x38" }, /* divw   %es:0x384f(%bp) */
    { 0,  1, "\xf8" }, /* clc */
    { 0,  2, "\x26\xf9" }, /* es stc */
    { 0,  1, "\xfa" }, /* cli */
    { 0,  3, "\x64\x67\xfb" }, /* fs addr32 sti */
    { 0,  1, "\xfc" }, /* cld */
    { 0,  3, "\x2e\x67\xfd" }, /* cs addr32 std */
    { 0,  3, "\x2e\xfe\xc9" }, /* cs dec %cl */
    { 0,  5, "\x2e\xff\x36\x8b\xa5" }, /* push   %cs:-0x5a75 */
    { 0,  4, "\x67\x0f\x00\x08" }, /* str    (%eax) */
    { 0,  5, "\x26\x0f\x01\x5c\x98" }, /* lidtw  %es:-0x68(%si) */
    { 0,  3, "\x0f\x02\xfa" }, /* lar    %dx,%di */
    { 0,  3, "\x0f\x03\x00" }, /* lsl    (%bx,%si),%ax */
    { 0,  2, "\x0f\x05" }, /* syscall */
    { 0,  2, "\x0f\x06" }, /* clts */
    { 0,  2, "\x0f\x07" }, /* sysret */
    { 0,  3, "\x64\x0f\x08" }, /* fs invd */
    { 0,  2, "\x0f\x09" }, /* wbinvd */
    { 0,  2, "\x0f\x0b" }, /* ud2 */
    { 0,  4, "\x26\x0f\x0d\x1a" }, /* prefetch %es:(%bp,%si) */
    { 0,  3, "\x2e\x0f\x0e" }, /* cs femms */
    { 0,  5, "\x67\x0f\x0f\xf3\x8e" }, /* addr32 pfpnacc %mm3,%mm6 */
    { 0,  6, "\x2e\x0f\x10\x81\x34\x11" }, /* movups %cs:0x1134(%bx,%di),%xmm0 */
    { 0,  5, "\x64\x0f\x11\x42\x7c" }, /* movups %xmm0,%fs:0x7c(%bp,%si) */
    { 0,  4, "\x0f\x12\x4a\xc9" }, /* movlps -0x37(%bp,%si),%xmm1 */
    { 0,  3, "\x0f\x13\x27" }, /* movlps %xmm4,(%bx) */
    { 0,  5, "\x26\x0f\x14\x76\x26" }, /* unpcklps %es:0x26(%bp),%xmm6 */
    { 0,  6, "\x67\x2e\x0f\x15\x72\xe7" }, /* unpckhps %cs:-0x19(%edx),%xmm6 */
    { 0,  5, "\x64\x0f\x16\x5c\x94" }, /* movhps %fs:-0x6c(%si),%xmm3 */
    { 0,  4, "\x0f\x17\x45\x28" }, /* movhps %xmm0,0x28(%di) */
    { 0,  7, "\x2e\x26\x0f\x18\x85\x61\xb0" }, /* cs prefetchnta %es:-0x4f9f(%di) */
    { 0,  5, "\x0f\x19\xa7\x93\xf5" }, /* nopw   -0xa6d(%bx) */
    { 0,  4, "\x26\x0f\x1a\xf1" }, /* es nop %cx */
    { 0,  4, "\x64\x0f\x1b\xd4" }, /* fs nop %sp */
    { 0,  5, "\x67\x0f\x1c\x66\x13" }, /* nopw   0x13(%esi) */
    { 0,  3, "\x0f\x1d\x29" }, /* nopw   (%bx,%di) */
    { 0,  5, "\x64\x2e\x0f\x1e\x0b" }, /* fs nopw %cs:(%bp,%di) */
    { 0,  8, "\x67\x0f\x1f\x85\xa0\x47\x82\xe3" }, /* nopw   -0x1c7db860(%ebp) */
    { 0,  4, "\x67\x0f\x20\x14" }, /* addr32 mov %cr2,%esp */
    { 0,  4, "\x64\x0f\x21\x62" }, /* fs mov %db4,%edx */
    { 0,  4, "\x64\x0f\x22\xde" }, /* fs mov %esi,%cr3 */
    { 0,  3, "\x0f\x23\xc9" }, /* mov    %ecx,%db1 */
    { 0,  4, "\x64\x0f\x24\xac" }, /* fs mov %tr5,%esp */
    { 0,  3, "\x0f\x26\x63" }, /* mov    %ebx,%tr4 */
    { 0,  6, "\x26\x0f\x28\x3e\xe0\x1b" }, /* movaps %es:0x1be0,%xmm7 */
    { 0,  3, "\x0f\x29\x1a" }, /* movaps %xmm3,(%bp,%si) */
    { 0,  4, "\x2e\x0f\x2a\xd9" }, /* cs cvtpi2ps %mm1,%xmm3 */
    { 0,  5, "\x0f\x2b\x99\x7f\xf9" }, /* movntps %xmm3,-0x681(%bx,%di) */
    { 0,  3, "\x0f\x2c\xd0" }, /* cvttps2pi %xmm0,%mm2 */
    { 0,  5, "\x26\x0f\x2d\x40\x35" }, /* cvtps2pi %es:0x35(%bx,%si),%mm0 */
    { 0,  4, "\x64\x0f\x2e\x07" }, /* ucomiss %fs:(%bx),%xmm0 */
    { 0,  3, "\x0f\x2f\xc2" }, /* comiss %xmm2,%xmm0 */
    { 0,  3, "\x66\x0f\x30" }, /* data32 wrmsr */
    { 0,  3, "\x2e\x0f\x31" }, /* cs rdtsc */
    { 0,  2, "\x0f\x32" }, /* rdmsr */
    { 0,  3, "\x66\x0f\x33" }, /* data32 rdpmc */
    { 0,  2, "\x0f\x34" }, /* sysenter */
    { 0,  3, "\x2e\x0f\x35" }, /* cs sysexit */
    { 0,  3, "\x66\x0f\x37" }, /* data32 getsec */
    { 0,  5, "\x0f\x38\xc9\x62\x7a" }, /* sha1msg1 0x7a(%bp,%si),%xmm4 */
    { 0,  4, "\x0f\x40\x77\x14" }, /* cmovo  0x14(%bx),%si */
    { 0,  4, "\x67\x0f\x41\xf1" }, /* addr32 cmovno %cx,%si */
    { 0,  4, "\x64\x0f\x42\xc5" }, /* fs cmovb %bp,%ax */
    { 0,  3, "\x0f\x43\xc9" }, /* cmovae %cx,%cx */
    { 0,  6, "\x66\x0f\x44\xbf\x17\x6e" }, /* cmove  0x6e17(%bx),%edi */
    { 0,  4, "\x64\x0f\x45\xe2" }, /* fs cmovne %dx,%sp */
    { 0,  7, "\x26\x66\x0f\x46\xb6\xed\xa9" }, /* cmovbe %es:-0x5613(%bp),%esi */
    { 0,  4, "\x26\x0f\x47\xf2" }, /* es cmova %dx,%si */
    { 0,  6, "\x64\x0f\x48\x9b\xe2\x27" }, /* cmovs  %fs:0x27e2(%bp,%di),%bx */
    { 0,  4, "\x66\x0f\x49\xc0" }, /* cmovns %eax,%eax */
    { 0,  4, "\x66\x0f\x4a\x03" }, /* cmovp  (%bp,%di),%eax */
    { 0,  4, "\x64\x0f\x4b\x1d" }, /* cmovnp %fs:(%di),%bx */
    { 0,  5, "\x66\x0f\x4c\x7d\xa7" }, /* cmovl  -0x59(%di),%edi */
    { 0,  6, "\x66\x0f\x4d\x92\xd5\x6f" }, /* cmovge 0x6fd5(%bp,%si),%edx */
    { 0,  4, "\x67\x0f\x4e\xce" }, /* addr32 cmovle %si,%cx */
    { 0,  3, "\x0f\x4f\x37" }, /* cmovg  (%bx),%si */
    { 0,  4, "\x67\x0f\x50\xd5" }, /* addr32 movmskps %xmm5,%edx */
    { 0,  4, "\x0f\x51\x44\x35" }, /* sqrtps 0x35(%si),%xmm0 */
    { 0,  4, "\x0f\x52\x44\xaa" }, /* rsqrtps -0x56(%si),%xmm0 */
    { 0,  5, "\x2e\x26\x0f\x53\x21" }, /* cs rcpps %es:(%bx,%di),%xmm4 */
    { 0,  4, "\x66\x0f\x54\xf4" }, /* andpd  %xmm4,%xmm6 */
    { 0,  3, "\x0f\x55\x19" }, /* andnps (%bx,%di),%xmm3 */
    { 0,  6, "\x66\x26\x0f\x56\x51\x03" }, /* orpd   %es:0x3(%bx,%di),%xmm2 */
    { 0,  3, "\x0f\x57\x30" }, /* xorps  (%bx,%si),%xmm6 */
    { 0,  6, "\x64\x2e\x0f\x58\x58\x45" }, /* fs addps %cs:0x45(%bx,%si),%xmm3 */
    { 0,  5, "\x26\x0f\x59\x73\xe4" }, /* mulps  %es:-0x1c(%bp,%di),%xmm6 */
    { 0,  5, "\x0f\x5a\x94\xf1\x5b" }, /* cvtps2pd 0x5bf1(%si),%xmm2 */
    { 0,  4, "\x67\x0f\x5b\xd5" }, /* addr32 cvtdq2ps %xmm5,%xmm2 */
    { 0,  5, "\x26\x0f\x5c\x7b\x64" }, /* subps  %es:0x64(%bp,%di),%xmm7 */
    { 0,  4, "\x2e\x0f\x5d\x3c" }, /* minps  %cs:(%si),%xmm7 */
    { 0,  5, "\x66\x0f\x5e\x46\x61" }, /* divpd  0x61(%bp),%xmm0 */
    { 0,  6, "\x64\x0f\x5f\x26\x16\x35" }, /* maxps  %fs:0x3516,%xmm4 */
    { 0,  3, "\x0f\x60\xde" }, /* punpcklbw %mm6,%mm3 */
    { 0,  5, "\x67\x0f\x61\x40\x6f" }, /* punpcklwd 0x6f(%eax),%mm0 */
    { 0,  5, "\x0f\x62\x2e\xe6\x1d" }, /* punpckldq 0x1de6,%mm5 */
    { 0,  5, "\x67\x0f\x63\x71\xb7" }, /* packsswb -0x49(%ecx),%mm6 */
    { 0,  3, "\x0f\x64\xed" }, /* pcmpgtb %mm5,%mm5 */
    { 0,  4, "\x66\x0f\x65\xc0" }, /* pcmpgtw %xmm0,%xmm0 */
    { 0,  7, "\x26\x2e\x0f\x66\x89\x37\xf5" }, /* es pcmpgtd %cs:-0xac9(%bx,%di),%mm1 */
    { 0,  4, "\x0f\x67\x59\x38" }, /* packuswb 0x38(%bx,%di),%mm3 */
    { 0,  9, "\x66\x67\x0f\x68\xb6\x2a\x4d\x85\x65" }, /* punpckhbw 0x65854d2a(%esi),%xmm6 */
    { 0,  5, "\x26\x0f\x69\x46\xad" }, /* punpckhwd %es:-0x53(%bp),%mm0 */
    { 0,  3, "\x0f\x6a\x09" }, /* punpckhdq (%bx,%di),%mm1 */
    { 0,  5, "\x2e\x0f\x6b\x47\x3f" }, /* packssdw %cs:0x3f(%bx),%mm0 */
    { 0,  4, "\x66\x0f\x6c\x2f" }, /* punpcklqdq (%bx),%xmm5 */
    { 0,  7, "\x66\x26\x0f\x6d\xbb\xb7\xd5" }, /* punpckhqdq %es:-0x2a49(%bp,%di),%xmm7 */
    { 0,  3, "\x0f\x6e\x0f" }, /* movd   (%bx),%mm1 */
    { 0,  4, "\x67\x0f\x6f\xde" }, /* addr32 movq %mm6,%mm3 */
    { 0,  5, "\x2e\x0f\x70\x37\x3f" }, /* pshufw $0x3f,%cs:(%bx),%mm6 */
    { 0,  4, "\x0f\x71\xe7\xc5" }, /* psraw  $0xc5,%mm7 */
    { 0,  5, "\x2e\x0f\x72\xe4\x4e" }, /* cs psrad $0x4e,%mm4 */
    { 0,  5, "\x66\x0f\x73\xf2\xf7" }, /* psllq  $0xf7,%xmm2 */
    { 0,  5, "\x64\x0f\x74\x7e\x74" }, /* pcmpeqb %fs:0x74(%bp),%mm7 */
    { 0,  4, "\x0f\x75\x40\x87" }, /* pcmpeqw -0x79(%bx,%si),%mm0 */
    { 0,  5, "\x0f\x76\x95\xea\x2a" }, /* pcmpeqd 0x2aea(%di),%mm2 */
    { 0,  3, "\x2e\x0f\x77" }, /* cs emms */
    { 0,  3, "\x0f\x79\xc9" }, /* vmwrite %ecx,%ecx */
    { 0,  6, "\x66\x0f\x7c\x26\x27\xa7" }, /* haddpd -0x58d9,%xmm4 */
    { 0,  7, "\x2e\x66\x0f\x7d\x8a\x01\x9b" }, /* hsubpd %cs:-0x64ff(%bp,%si),%xmm1 */
    { 0,  4, "\x26\x0f\x7e\xd2" }, /* es movd %mm2,%edx */
    { 0,  6, "\x2e\x0f\x7f\x82\x98\xf1" }, /* movq   %mm0,%cs:-0xe68(%bp,%si) */
    { 0,  8, "\x26\x66\x0f\x80\x42\xc8\x72\x3d" }, /* es jo  0x3d72c84a */
    { 0,  4, "\x0f\x81\xcf\x38" }, /* jno    0x38d3 */
    { 0,  6, "\x26\x2e\x0f\x82\xc8\xf0" }, /* es jb,pn 0xf0ce */
    { 0,  7, "\x66\x0f\x83\xf1\xde\x7b\xa1" }, /* jae    0xa17bdef8 */
    { 0,  5, "\x2e\x0f\x84\x00\xc2" }, /* je,pn  0xc205 */
    { 0,  4, "\x0f\x85\xc2\x66" }, /* jne    0x66c6 */
    { 0,  6, "\x67\x26\x0f\x86\x76\x28" }, /* addr32 es jbe 0x287c */
    { 0,  5, "\x64\x0f\x87\x4a\xa8" }, /* fs ja  0xa84f */
    { 0,  4, "\x0f\x88\x61\xc7" }, /* js     0xc765 */
    { 0,  5, "\x2e\x0f\x89\x39\x50" }, /* jns,pn 0x503e */
    { 0,  5, "\x2e\x0f\x8a\x30\xac" }, /* jp,pn  0xac35 */
    { 0,  4, "\x0f\x8b\x44\x0f" }, /* jnp    0xf48 */
    { 0,  5, "\x26\x0f\x8c\x91\x02" }, /* es jl  0x296 */
    { 0,  5, "\x64\x0f\x8d\x9f\xe8" }, /* fs jge 0xe8a4 */
    { 0,  6, "\x67\x2e\x0f\x8e\x23\x65" }, /* addr32 jle,pn 0x6529 */
    { 0,  4, "\x0f\x8f\x7b\xad" }, /* jg     0xad7f */
    { 0,  3, "\x0f\x90\xe5" }, /* seto   %ch */
    { 0,  5, "\x2e\x0f\x91\x5a\x28" }, /* setno  %cs:0x28(%bp,%si) */
    { 0,  4, "\x26\x0f\x92\x35" }, /* setb   %es:(%di) */
    { 0,  3, "\x0f\x93\x25" }, /* setae  (%di) */
    { 0,  5, "\x64\x0f\x94\x59\x82" }, /* sete   %fs:-0x7e(%bx,%di) */
    { 0,  5, "\x66\x67\x0f\x95\xda" }, /* data32 addr32 setne %dl */
    { 0,  4, "\x67\x0f\x96\xce" }, /* addr32 setbe %dh */
    { 0,  6, "\x26\x0f\x97\xa8\x13\x4e" }, /* seta   %es:0x4e13(%bx,%si) */
    { 0,  5, "\x26\x0f\x98\x53\x32" }, /* sets   %es:0x32(%bp,%di) */
    { 0,  6, "\x67\x2e\x0f\x99\x48\xad" }, /* setns  %cs:-0x53(%eax) */
    { 0,  8, "\x67\x0f\x9a\xa2\x8a\xc3\xed\xcd" }, /* setp   -0x32123c76(%edx) */
    { 0,  3, "\x0f\x9b\x28" }, /* setnp  (%bx,%si) */
    { 0,  4, "\x67\x0f\x9c\x12" }, /* setl   (%edx) */
    { 0,  6, "\x2e\x0f\x9d\xad\x2d\xda" }, /* setge  %cs:-0x25d3(%di) */
    { 0,  3, "\x0f\x9e\xfd" }, /* setle  %ch */
    { 0,  4, "\x66\x0f\x9f\xde" }, /* data32 setg %dh */
    { 0,  3, "\x67\x0f\xa0" }, /* addr32 push %fs */
    { 0,  3, "\x2e\x0f\xa1" }, /* cs pop %fs */
    { 0,  3, "\x64\x0f\xa2" }, /* fs cpuid */
    { 0,  5, "\x26\x2e\x0f\xa3\x37" }, /* es bt  %si,%cs:(%bx) */
    { 0,  5, "\x67\x0f\xa4\x30\x77" }, /* shld   $0x77,%si,(%eax) */
    { 0,  5, "\x0f\xa5\xa7\x28\x77" }, /* shld   %cl,%sp,0x7728(%bx) */
    { 0,  2, "\x0f\xa8" }, /* push   %gs */
    { 0,  3, "\x64\x0f\xa9" }, /* fs pop %gs */
    { 0,  2, "\x0f\xaa" }, /* rsm */
    { 0,  5, "\x66\x0f\xab\x69\x4d" }, /* bts    %ebp,0x4d(%bx,%di) */
    { 0,  7, "\x66\x0f\xac\xa2\xf6\x28\xd2" }, /* shrd   $0xd2,%esp,0x28f6(%bp,%si) */
    { 0,  6, "\x64\x0f\xad\x90\x72\x88" }, /* shrd   %cl,%dx,%fs:-0x778e(%bx,%si) */
    { 0,  4, "\x2e\x0f\xae\x2d" }, /* xrstor %cs:(%di) */
    { 0,  4, "\x64\x0f\xaf\xc3" }, /* fs imul %bx,%ax */
    { 0,  6, "\x67\x2e\x0f\xb0\x1c\x79" }, /* cmpxchg %bl,%cs:(%ecx,%edi,2) */
    { 0,  4, "\x2e\x0f\xb1\xf7" }, /* cs cmpxchg %si,%di */
    { 0,  5, "\x0f\xb2\x95\x17\xb4" }, /* lss    -0x4be9(%di),%dx */
    { 0,  4, "\x0f\xb3\x48\x32" }, /* btr    %cx,0x32(%bx,%si) */
    { 0,  5, "\x67\x0f\xb4\x1c\xe0" }, /* lfs    (%eax,%eiz,8),%bx */
    { 0,  5, "\x66\x26\x0f\xb5\x15" }, /* lgs    %es:(%di),%edx */
    { 0,  4, "\x67\x0f\xb6\xc3" }, /* addr32 movzbw %bl,%ax */
    { 0,  3, "\x0f\xb7\xd4" }, /* movzww %sp,%dx */
    { 0,  6, "\x67\x66\x0f\xb9\x75\xdd" }, /* ud1    -0x23(%ebp),%esi */
    { 0,  7, "\x26\x0f\xba\xb1\x1b\xb9\x78" }, /* btrw   $0x78,%es:-0x46e5(%bx,%di) */
    { 0,  3, "\x0f\xbb\x02" }, /* btc    %ax,(%bp,%si) */
    { 0,  4, "\x66\x0f\xbc\x2f" }, /* bsf    (%bx),%ebp */
    { 0,  5, "\x66\x0f\xbd\x63\x0b" }, /* bsr    0xb(%bp,%di),%esp */
    { 0,  5, "\x64\x0f\xbe\x54\x87" }, /* movsbw %fs:-0x79(%si),%dx */
    { 0,  8, "\x67\x0f\xbf\x0d\x18\x50\x70\xa9" }, /* addr32 movsww 0xa9705018,%cx */
    { 0,  5, "\x26\x67\x0f\xc0\x1a" }, /* xadd   %bl,%es:(%edx) */
    { 0,  4, "\x64\x0f\xc1\xe4" }, /* fs xadd %sp,%sp */
    { 0,  4, "\x0f\xc2\xc2\x1d" }, /* cmpps  $0x1d,%xmm2,%xmm0 */
    { 0,  8, "\x67\x0f\xc3\xbf\x1b\xc7\x79\x3f" }, /* movnti %edi,0x3f79c71b(%edi) */
    { 0,  6, "\x64\x66\x0f\xc4\x14\xd1" }, /* pinsrw $0xd1,%fs:(%si),%xmm2 */
    { 0,  5, "\x26\x0f\xc5\xd6\x1d" }, /* es pextrw $0x1d,%mm6,%edx */
    { 0,  4, "\x0f\xc6\x05\x8d" }, /* shufps $0x8d,(%di),%xmm0 */
    { 0,  4, "\x66\x0f\xc7\x0f" }, /* data32 cmpxchg8b (%bx) */
    { 0,  3, "\x26\x0f\xc8" }, /* es bswap %ax */
    { 0,  3, "\x2e\x0f\xc9" }, /* cs bswap %cx */
    { 0,  2, "\x0f\xca" }, /* bswap  %dx */
    { 0,  3, "\x2e\x0f\xcb" }, /* cs bswap %bx */
    { 0,  3, "\x67\x0f\xcc" }, /* addr32 bswap %sp */
    { 0,  3, "\x66\x0f\xcd" }, /* bswap  %ebp */
    { 0,  3, "\x2e\x0f\xce" }, /* cs bswap %si */
    { 0,  3, "\x2e\x0f\xcf" }, /* cs bswap %di */
    { 0,  4, "\x66\x0f\xd0\xf8" }, /* addsubpd %xmm0,%xmm7 */
    { 0,  5, "\x0f\xd1\x9f\x98\x83" }, /* psrlw  -0x7c68(%bx),%mm3 */
    { 0,  6, "\x64\x0f\xd2\xa8\xf8\x5b" }, /* psrld  %fs:0x5bf8(%bx,%si),%mm5 */
    { 0,  6, "\x2e\x0f\xd3\x91\x8b\xd5" }, /* psrlq  %cs:-0x2a75(%bx,%di),%mm2 */
    { 0,  3, "\x0f\xd4\x0c" }, /* paddq  (%si),%mm1 */
    { 0,  4, "\x67\x0f\xd5\xcc" }, /* addr32 pmullw %mm4,%mm1 */
    { 0,  5, "\x66\x67\x0f\xd6\x2a" }, /* movq   %xmm5,(%edx) */
    { 0,  3, "\x0f\xd7\xdf" }, /* pmovmskb %mm7,%ebx */
    { 0,  4, "\x0f\xd8\x6b\x04" }, /* psubusb 0x4(%bp,%di),%mm5 */
    { 0,  6, "\x66\x0f\xd9\x84\x8e\x1f" }, /* psubusw 0x1f8e(%si),%xmm0 */
    { 0,  8, "\x67\x0f\xda\x80\xd9\x19\xbb\x64" }, /* pminub 0x64bb19d9(%eax),%mm0 */
    { 0,  5, "\x26\x0f\xdb\x5f\x5b" }, /* pand   %es:0x5b(%bx),%mm3 */
    { 0,  4, "\x0f\xdc\x7a\xd3" }, /* paddusb -0x2d(%bp,%si),%mm7 */
    { 0,  3, "\x0f\xdd\xf4" }, /* paddusw %mm4,%mm6 */
    { 0,  5, "\x66\x0f\xde\x4e\x66" }, /* pmaxub 0x66(%bp),%xmm1 */
    { 0,  4, "\x66\x0f\xdf\x24" }, /* pandn  (%si),%xmm4 */
    { 0,  3, "\x0f\xe0\x02" }, /* pavgb  (%bp,%si),%mm0 */
    { 0,  5, "\x26\x67\x0f\xe1\xe0" }, /* es addr32 psraw %mm0,%mm4 */
    { 0,  4, "\x26\x0f\xe2\xcf" }, /* es psrad %mm7,%mm1 */
    { 0,  3, "\x0f\xe3\xf8" }, /* pavgw  %mm0,%mm7 */
    { 0,  7, "\x26\x66\x0f\xe4\x86\xd6\x4f" }, /* pmulhuw %es:0x4fd6(%bp),%xmm0 */
    { 0,  9, "\x66\x67\x0f\xe5\x8d\x24\x93\x95\xae" }, /* pmulhw -0x516a6cdc(%ebp),%xmm1 */
    { 0,  6, "\x66\x0f\xe6\x36\x2f\x3f" }, /* cvttpd2dq 0x3f2f,%xmm6 */
    { 0,  4, "\x0f\xe7\x7f\x65" }, /* movntq %mm7,0x65(%bx) */
    { 0,  3, "\x0f\xe8\xe7" }, /* psubsb %mm7,%mm4 */
    { 0,  4, "\x67\x0f\xe9\xfc" }, /* addr32 psubsw %mm4,%mm7 */
    { 0,  3, "\x0f\xea\xe8" }, /* pminsw %mm0,%mm5 */
    { 0,  4, "\x2e\x0f\xeb\xec" }, /* cs por %mm4,%mm5 */
    { 0,  5, "\x0f\xec\x3e\x15\xb3" }, /* paddsb -0x4ceb,%mm7 */
    { 0,  6, "\x67\x26\x0f\xed\x68\x8d" }, /* paddsw %es:-0x73(%eax),%mm5 */
    { 0,  4, "\x2e\x0f\xee\xe6" }, /* cs pmaxsw %mm6,%mm4 */
    { 0,  5, "\x66\x0f\xef\x68\x9e" }, /* pxor   -0x62(%bx,%si),%xmm5 */
    { 0,  4, "\x64\x0f\xf1\x37" }, /* psllw  %fs:(%bx),%mm6 */
    { 0,  4, "\x2e\x0f\xf2\xf5" }, /* cs pslld %mm5,%mm6 */
    { 0,  4, "\x26\x0f\xf3\xe0" }, /* es psllq %mm0,%mm4 */
    { 0,  3, "\x0f\xf4\x02" }, /* pmuludq (%bp,%si),%mm0 */
    { 0,  3, "\x0f\xf5\x32" }, /* pmaddwd (%bp,%si),%mm6 */
    { 0,  5, "\x0f\xf6\x8e\xe8\xa2" }, /* psadbw -0x5d18(%bp),%mm1 */
    { 0,  3, "\x0f\xf7\xd4" }, /* maskmovq %mm4,%mm2 */
    { 0,  4, "\x0f\xf8\x45\x6c" }, /* psubb  0x6c(%di),%mm0 */
    { 0,  6, "\x64\x26\x0f\xf9\x4e\x44" }, /* fs psubw %es:0x44(%bp),%mm1 */
    { 0,  4, "\x67\x0f\xfa\xc1" }, /* addr32 psubd %mm1,%mm0 */
    { 0,  5, "\x64\x0f\xfb\x5e\x5f" }, /* psubq  %fs:0x5f(%bp),%mm3 */
    { 0,  4, "\x67\x0f\xfc\x0a" }, /* paddb  (%edx),%mm1 */
    { 0,  6, "\x26\x0f\xfd\x16\xad\x0c" }, /* paddw  %es:0xcad,%mm2 */
    { 0,  4, "\x26\x0f\xfe\x0d" }, /* paddd  %es:(%di),%mm1 */
    { 0,  5, "\x26\x0f\xff\x41\x2c" }, /* ud0    %es:0x2c(%bx,%di),%ax */
};

Test(decode, lengths)
{
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        const struct lencase *c = &lengths[i];
        const uint8_t *b = (const uint8_t *)c->b;
        struct insn in;
        int r = decode_guarded(&in, b, c->len, c->code32);
        cr_assert_eq(r, c->len, "lengths[%zu] (op %03x, code32 %d): %d, expected %d",
                     i, in.op, c->code32, r, c->len);
        cr_assert_eq(decode_guarded(&in, b, c->len - 1, c->code32), DECODE_MORE,
                     "lengths[%zu]: truncated", i);
    }
}
