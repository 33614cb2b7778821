/* smc.c - test guest for self-modifying code, aimed at the dynamic
 * translator: a store that patches the very next instruction of the same
 * block, a later instruction of the same block, an instruction of a block
 * executed later (immediates, opcodes, call targets), code on another page
 * generated at run time (including an instruction that straddles two
 * pages, and code on one page patching code on another), and REP MOVSB
 * copying new code over the instructions that follow it. Each case runs
 * many times so that cached or translated code must be thrown away. */
#include "lib/guest.h"

/* ---- hand-written code in .text (AT&T syntax) ---- */
uint32_t smc_next(uint32_t b);        /* patches the imm of the next insn */
uint32_t smc_later(uint32_t opbyte);  /* patches an opcode 3 insns later */
uint32_t smc_loop(uint32_t n);        /* patches the next insn, in a loop */
uint32_t smc_self(uint32_t n);        /* an insn increments its own imm8 */
uint32_t smc_rep(const void *src);    /* REP MOVSB over the following code */
uint32_t smc_target(void);            /* patched from C between calls */
uint32_t smc_caller(void);            /* its call rel32 is patched from C */
uint32_t smc_fa(void), smc_fb(void);
extern uint8_t smc_target_imm[], smc_caller_rel[];

__asm__(
    ".text\n"
    ".globl smc_next\n"
    "smc_next:\n"
    "    movl 4(%esp), %ecx\n"
    "    movb %cl, 1f+1\n"                 /* the imm's low byte, next insn */
    "1:  movl $0x11111111, %eax\n"
    "    ret\n"

    ".globl smc_later\n"
    "smc_later:\n"
    "    movl 4(%esp), %ecx\n"
    "    xorl %eax, %eax\n"
    "    movb %cl, 2f\n"                   /* opcode byte of 'inc %eax' */
    "    addl $5, %eax\n"
    "    addl $7, %eax\n"
    "2:  incl %eax\n"
    "    ret\n"

    ".globl smc_loop\n"
    "smc_loop:\n"
    "    movl 4(%esp), %ecx\n"
    "    xorl %edx, %edx\n"
    "1:  movb %cl, 2f+1\n"
    "2:  movl $0, %eax\n"
    "    addl %eax, %edx\n"
    "    loop 1b\n"
    "    movl %edx, %eax\n"
    "    ret\n"

    ".globl smc_self\n"
    "smc_self:\n"
    "    movl 4(%esp), %ecx\n"
    "    xorl %eax, %eax\n"
    "    movb $0, 3f+2\n"
    "3:  .byte 0x83, 0xc0, 0x00\n"         /* addl $imm8, %eax */
    "    incb 3b+2\n"                      /* patch the insn just executed */
    "    loop 3b\n"
    "    ret\n"

    ".globl smc_rep\n"
    "smc_rep:\n"
    "    pushl %esi\n"
    "    pushl %edi\n"
    "    movl 12(%esp), %esi\n"
    "    movl $4f, %edi\n"
    "    movl $6, %ecx\n"
    "    cld\n"
    "    rep movsb\n"
    "4:  movl $0x11111111, %eax\n"        /* 5 bytes + 1 nop, overwritten */
    "    nop\n"
    "    popl %edi\n"
    "    popl %esi\n"
    "    ret\n"

    ".globl smc_target, smc_target_imm\n"
    "smc_target:\n"
    "    .byte 0xb8\n"                      /* movl $imm32, %eax */
    "smc_target_imm:\n"
    "    .long 0\n"
    "    ret\n"

    ".globl smc_caller, smc_caller_rel, smc_fa, smc_fb\n"
    "smc_caller:\n"
    "    .byte 0xe8\n"                      /* call rel32 */
    "smc_caller_rel:\n"
    "    .long smc_fa - (smc_caller_rel + 4)\n"
    "    addl $0x100, %eax\n"
    "    ret\n"
    "smc_fa:\n"
    "    movl $0xa, %eax\n"
    "    ret\n"
    "smc_fb:\n"
    "    movl $0xb, %eax\n"
    "    ret\n");

/* two pages of generated code */
static uint8_t codebuf[3 * 4096] __attribute__((aligned(4096)));
typedef uint32_t (*fn0)(void);

static uint8_t *emit_mov_eax(uint8_t *p, uint32_t v)
{
    *p++ = 0xb8;
    memcpy(p, &v, 4);
    return p + 4;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;

    /* 1. the store patches the next instruction of the same block */
    uint32_t r1 = smc_next(0x42), r2 = smc_next(0x43), r3 = smc_next(0x11);
    printf("same block, next insn: %x %x %x\n", r1, r2, r3);

    /* 2. opcode of an instruction later in the same block */
    printf("same block, later opcode: dec=%u nop=%u inc=%u\n", smc_later(0x48), smc_later(0x90),
           smc_later(0x40));

    /* 3. a loop that patches the next instruction on every iteration */
    uint32_t want = 0;
    for (uint32_t c = 1000; c; c--)
        want += c & 0xff;
    uint32_t got = smc_loop(1000);
    printf("patching loop: %u (want %u) %s\n", got, want, got == want ? "ok" : "WRONG");

    /* 4. an instruction that patches its own immediate for the next round */
    want = 0;
    for (uint32_t k = 0; k < 700; k++)
        want += (uint32_t)(int32_t)(int8_t)(uint8_t)k;   /* imm8 is sign-extended */
    got = smc_self(700);
    printf("self-patching insn: %u (want %u) %s\n", got, want, got == want ? "ok" : "WRONG");

    /* 5. REP MOVSB writes the code that follows it */
    static const uint8_t new_a[6] = { 0xb8, 0x22, 0x22, 0x22, 0x22, 0x90 };   /* mov $0x22222222 */
    static const uint8_t new_b[6] = { 0x31, 0xc0, 0x48, 0x90, 0x90, 0x90 };   /* xor; dec eax */
    static const uint8_t orig[6] = { 0xb8, 0x11, 0x11, 0x11, 0x11, 0x90 };
    uint32_t ra = smc_rep(new_a), rb = smc_rep(new_b), ro = smc_rep(orig), ra2 = smc_rep(new_a);
    printf("rep movsb over following code: %x %x %x %x\n", ra, rb, ro, ra2);

    /* 6. next block: patch an immediate between calls (hot code) */
    volatile uint8_t *imm = smc_target_imm;
    uint32_t sum = 0, sumwant = 0;
    for (uint32_t i = 0; i < 2000; i++) {
        uint32_t v = i * 0x9e3779b9u;
        imm[0] = (uint8_t)v;
        imm[1] = (uint8_t)(v >> 8);
        imm[2] = (uint8_t)(v >> 16);
        imm[3] = (uint8_t)(v >> 24);
        sum += smc_target() ^ i;
        sumwant += v ^ i;
    }
    printf("patched immediate, 2000 calls: %x %s\n", sum, sum == sumwant ? "ok" : "WRONG");

    /* 7. next block: retarget a call rel32 */
    volatile uint32_t *rel = (volatile uint32_t *)smc_caller_rel;
    uint32_t base = (uint32_t)smc_caller_rel + 4, seq = 0;
    for (int i = 0; i < 300; i++) {
        *rel = (uint32_t)((i & 1) ? smc_fb : smc_fa) - base;
        seq = seq * 3 + smc_caller();
    }
    printf("retargeted call: last %x seq %x\n", smc_caller(), seq);

    /* 8. generated code on another page, rewritten between calls */
    fn0 f = (fn0)codebuf;
    uint32_t acc = 0;
    for (uint32_t i = 0; i < 500; i++) {
        uint8_t *p = emit_mov_eax(codebuf, i * 7 + 1);
        *p++ = 0x05;                    /* add $imm32, %eax */
        uint32_t k = i ^ 0x5a5a;
        memcpy(p, &k, 4);
        p[4] = 0xc3;
        acc = acc * 31 + f();
    }
    printf("rewritten code page, 500 versions: %x\n", acc);

    /* 9. an instruction that straddles two pages; patch each half */
    uint8_t *s = codebuf + 4096 - 3;    /* mov $imm32 at 4093..4097 */
    emit_mov_eax(s, 0x11223344);
    s[5] = 0xc3;
    fn0 g = (fn0)s;
    uint32_t v1 = g();
    s[0] = 0xb9;                        /* first page: opcode -> mov $imm, %ecx */
    s[5] = 0x91;                        /* xchg %ecx, %eax */
    s[6] = 0xc3;
    uint32_t v2 = g();
    s[0] = 0xb8;
    s[5] = 0xc3;
    s[4] = 0x77;                        /* second page: imm's top byte */
    uint32_t v3 = g();
    s[2] = 0x66;                        /* first page: an imm byte */
    uint32_t v4 = g();
    printf("page-straddling insn: %x %x %x %x\n", v1, v2, v3, v4);

    /* 10. code on page 0 patches code on page 2 of the buffer and calls it */
    uint8_t *callee = codebuf + 2 * 4096 + 0x100;
    emit_mov_eax(callee, 0)[0] = 0xc3;
    uint8_t *p = codebuf + 0x200;       /* for i: movl $i, callee+1; call callee; add; */
    /* mov $v, %edx ; mov %edx, (callee+1) ; call callee ; add %eax, %esi ; dec %ebx ; ... */
    *p++ = 0x56;                        /* push %esi */
    *p++ = 0x53;                        /* push %ebx */
    *p++ = 0x31; *p++ = 0xf6;           /* xor %esi, %esi */
    *p++ = 0xbb; uint32_t cnt = 400; memcpy(p, &cnt, 4); p += 4;   /* mov $400, %ebx */
    uint8_t *loop = p;
    *p++ = 0x89; *p++ = 0xda;           /* mov %ebx, %edx */
    *p++ = 0x69; *p++ = 0xd2; uint32_t m = 0x01000193; memcpy(p, &m, 4); p += 4; /* imul */
    *p++ = 0x89; *p++ = 0x15; uint32_t a = (uint32_t)callee + 1; memcpy(p, &a, 4); p += 4;
    *p++ = 0xe8; int32_t r = (int32_t)((uint32_t)callee - (uint32_t)(p + 4)); memcpy(p, &r, 4); p += 4;
    *p++ = 0x01; *p++ = 0xc6;           /* add %eax, %esi */
    *p++ = 0xc1; *p++ = 0xc6; *p++ = 3; /* rol $3, %esi */
    *p++ = 0x4b;                        /* dec %ebx */
    *p++ = 0x75; *p = (uint8_t)(loop - (p + 1)); p++;   /* jnz loop */
    *p++ = 0x89; *p++ = 0xf0;           /* mov %esi, %eax */
    *p++ = 0x5b;                        /* pop %ebx */
    *p++ = 0x5e;                        /* pop %esi */
    *p++ = 0xc3;
    uint32_t cross = ((fn0)(codebuf + 0x200))();
    uint32_t cw = 0;
    for (uint32_t b = 400; b; b--) {
        cw += b * 0x01000193u;
        cw = cw << 3 | cw >> 29;
    }
    printf("code on one page patches another: %x %s\n", cross, cross == cw ? "ok" : "WRONG");
    printf("smc done\n");
    return 0;
}
