/* fpu_host.c - "x86 on x86" execution of guest x87 instructions.
 *
 * The host is x86-64 and has a real x87 of the same architecture as the
 * guest's i686 FPU. To be exact to the bit in every corner (rounding and
 * precision control, denormals, NaN propagation, unsupported encodings,
 * stack faults, tags, C0-C3, unmasked over/underflow with the biased
 * exponent, transcendental results), a guest instruction is executed by
 * the host itself:
 *
 *   1. the guest state is written as an FNSAVE image (32-bit protected-mode
 *      format, 108 bytes) and loaded with FRSTOR - the guest's own control
 *      word, exception masks included, is in force;
 *   2. the same x87 opcode is executed from a table of tiny stubs
 *      (one per opcode byte and ModRM byte); memory forms address a host
 *      buffer through RDI;
 *   3. FNSAVE writes the new state back and re-initializes the host x87,
 *      and the host's control word is restored.
 *
 * An unmasked exception raised in step 2 only becomes pending on the host:
 * the host traps at its next *waiting* x87 instruction, and every
 * instruction after the stub is non-waiting (FNSAVE) or runs after the
 * re-initialization (FLDCW). The caller guarantees the guest state has no
 * pending exception when it enters (fpu.c raises #MF first), so FRSTOR
 * never loads one either. */
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/fpu.h"

/* The stub table: 8 opcode bytes x 256 ModRM bytes, 8 bytes a stub:
 *   endbr64; <D8+esc> <modrm'>; ret; int3
 * For register forms modrm' is the ModRM byte itself; for memory forms it
 * is mod=00, the same reg field, rm=111: the operand at [rdi]. */
__asm__(
    ".pushsection .text\n"
    ".balign 16\n"
    ".globl vsmp_fpu_host_stubs\n"
    ".hidden vsmp_fpu_host_stubs\n"
    "vsmp_fpu_host_stubs:\n"
    ".set .Lfpu_o, 0\n"
    ".rept 8\n"
    "  .set .Lfpu_m, 0\n"
    "  .rept 256\n"
    "    .byte 0xf3, 0x0f, 0x1e, 0xfa\n"
    "    .if .Lfpu_m >= 0xc0\n"
    "      .byte 0xd8 + .Lfpu_o, .Lfpu_m\n"
    "    .else\n"
    "      .byte 0xd8 + .Lfpu_o, (.Lfpu_m & 0x38) | 7\n"
    "    .endif\n"
    "    ret\n"
    "    int3\n"
    "    .set .Lfpu_m, .Lfpu_m + 1\n"
    "  .endr\n"
    "  .set .Lfpu_o, .Lfpu_o + 1\n"
    ".endr\n"
    ".popsection\n");

extern const unsigned char vsmp_fpu_host_stubs[];

/* FNSAVE/FRSTOR image, 32-bit protected-mode format. */
struct fsave32 {
    uint16_t cw, cw_hi;
    uint16_t sw, sw_hi;
    uint16_t tw, tw_hi;
    uint32_t fip;
    uint16_t fcs, fop;
    uint32_t fdp;
    uint16_t fds, fds_hi;
    unsigned char st[8][10];    /* ST(0)..ST(7) */
} __attribute__((packed));

_Static_assert(sizeof(struct fsave32) == 108, "FNSAVE image is 108 bytes");

#define HOST_ARITH_FLAGS 0x8d5u /* CF PF AF ZF SF OF */

unsigned fpu_host_exec(struct fpu *f, unsigned esc, unsigned modrm, void *mem,
                       uint32_t *eflags)
{
    struct fsave32 img;
    int top = fpu_top(f);

    memset(&img, 0, sizeof img);
    img.cw = f->cw;
    img.sw = f->sw;
    img.tw = f->tw;
    for (int i = 0; i < 8; i++)
        memcpy(img.st[i], &f->st[(top + i) & 7], 10);

    const unsigned char *stub = vsmp_fpu_host_stubs + (((esc & 7) << 8) | (modrm & 0xff)) * 8;
    uint64_t gflags = *eflags & HOST_ARITH_FLAGS;
    uint64_t hflags;
    uint16_t host_cw;

    /* The flags push/pop and the call run below the red zone (the compiler
     * may keep data, even img, in the 128 bytes under RSP), so no memory
     * operand is used between the SUB and the ADD. The guest's arithmetic flags are put into the
     * host's RFLAGS for FCMOVcc, and the result flags read back for
     * FCOMI. DF stays clear as the ABI wants. */
    __asm__ volatile(
        "fnstcw %[hcw]\n\t"
        "frstor %[img]\n\t"
        "sub $128, %%rsp\n\t"     /* no rsp-relative operand from here */
        "pushfq\n\t"
        "andq $~0x8d5, (%%rsp)\n\t"
        "orq %[gf], (%%rsp)\n\t"
        "popfq\n\t"
        "call *%[stub]\n\t"
        "pushfq\n\t"
        "popq %[hf]\n\t"
        "add $128, %%rsp\n\t"     /* ... to here */
        "fnsave %[img]\n\t"
        "fldcw %[hcw]\n\t"
        : [img] "+m"(img), [hcw] "=m"(host_cw), [hf] "=&r"(hflags)
        : [stub] "r"(stub), [gf] "r"(gflags), "D"(mem)
        : "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)",
          "st(6)", "st(7)");

    f->cw = img.cw;
    f->sw = img.sw;
    f->tw = img.tw;
    top = fpu_top(f);
    for (int i = 0; i < 8; i++)
        memcpy(&f->st[(top + i) & 7], img.st[i], 10);
    *eflags = (*eflags & ~HOST_ARITH_FLAGS) | ((uint32_t)hflags & HOST_ARITH_FLAGS);
    return f->sw & ~f->cw & (FSW_IE | FSW_DE | FSW_ZE | FSW_OE | FSW_UE);
}
