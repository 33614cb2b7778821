/* test_translate.c - the translator (src/cpu/translate.c) against the
 * interpreter: the same code run by both engines must leave the same
 * state. Covers native ALU/flag chains, loops with chained blocks,
 * indirect jumps and returns, self-modifying code in the same block,
 * a full code cache (flush and go on), a precise fault in the middle
 * of a translated block, flags at faults after replayed and captured
 * producers, and native string elements (MOVS STOS LODS). */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/mmu.h"

#define RAM (4u << 20)
#define CODE 0x1000u

static struct phys phys;
static struct cpu cpu;

static uint32_t io_in(void *ctx, uint16_t port, int size)
{
    (void)ctx; (void)port; (void)size;
    return 0;
}
static void io_out(void *ctx, uint16_t port, int size, uint32_t v)
{
    (void)ctx; (void)port; (void)size; (void)v;
}

static void start(bool jit, size_t cache)
{
    cr_assert_eq(phys_init(&phys, RAM), 0);
    struct cpu_bus bus = { .io_in = io_in, .io_out = io_out };
    memset(&cpu, 0, sizeof cpu);
    cpu_init(&cpu, &phys, &bus);
    cpu.use_jit = jit;
    cpu.jit_cache_size = cache;
    cpu_set_flat32(&cpu);
    cpu.eip = CODE;
    cpu.r[R_ESP] = 0x80000;
    cpu.stop_on_exception = true;
}

static void stop(void)
{
    cpu_free(&cpu);
    phys_free(&phys);
}

struct result {
    uint32_t r[8], eip, eflags;
    enum cpu_exit why;
    int exc;
    uint32_t mem[16];
    struct jit_stats st;
};

/* Run code (terminated by HLT) with the given engine. */
static bool with_paging;   /* identity map of 1 MiB, page 0x30000 absent */

static void paging_setup(void)
{
    uint32_t pd = 0x20000, pt = 0x21000, v = pt | 7;
    phys_copy_in(&phys, pd, &v, 4);
    for (uint32_t i = 0; i < 256; i++) {
        v = i == 0x30 ? 0 : (i << 12) | 7;
        phys_copy_in(&phys, pt + 4 * i, &v, 4);
    }
    cpu.cr3 = pd;
    cpu.cr0 |= CR0_PG;
    mmu_flush(&cpu);
}

static struct result run(const uint8_t *code, size_t n, bool jit, size_t cache, uint64_t budget)
{
    struct result res;
    start(jit, cache);
    if (with_paging)
        paging_setup();
    cr_assert_eq(phys_copy_in(&phys, CODE, code, n), 0);
    res.why = cpu_run(&cpu, budget);
    memcpy(res.r, cpu.r, sizeof res.r);
    res.eip = cpu.eip;
    res.eflags = cpu.eflags;
    res.exc = cpu.last_exc;
    phys_copy_out(&phys, 0x10000, res.mem, sizeof res.mem);
    res.st = cpu.jit_stats;
    stop();
    return res;
}

static struct result both(const uint8_t *code, size_t n)
{
    struct result a = run(code, n, false, 0, 10000000);
    struct result b = run(code, n, true, 0, 10000000);
    cr_assert_eq(a.why, b.why);
    cr_assert_eq(a.eip, b.eip, "eip interp %x jit %x", a.eip, b.eip);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(a.r[i], b.r[i], "r%d interp %x jit %x", i, a.r[i], b.r[i]);
    cr_assert_eq(a.eflags, b.eflags, "eflags interp %x jit %x", a.eflags, b.eflags);
    cr_assert_eq(a.exc, b.exc);
    cr_assert_arr_eq(a.mem, b.mem, sizeof a.mem);
    cr_assert_gt(b.st.blocks, 0);
    return b;
}

Test(translate, loop_with_flags_and_memory)
{
    static const uint8_t code[] = {
        0xb9, 0x10, 0x27, 0x00, 0x00,             /* mov ecx,10000 */
        0x31, 0xc0,                               /* xor eax,eax */
        0xbe, 0x00, 0x00, 0x01, 0x00,             /* mov esi,0x10000 */
        /* loop: */
        0x01, 0xc8,                               /* add eax,ecx */
        0x11, 0x06,                               /* adc [esi],eax */
        0x83, 0x46, 0x04, 0x01,                   /* add dword [esi+4],1 */
        0x0f, 0xaf, 0xc1,                         /* imul eax,ecx */
        0xc1, 0xc0, 0x03,                         /* rol eax,3 */
        0x49,                                     /* dec ecx */
        0x75, 0xf0,                               /* jnz loop */
        0x0f, 0x9c, 0x46, 0x08,                   /* setl [esi+8] */
        0xf4,                                     /* hlt */
    };
    struct result b = both(code, sizeof code);
    cr_assert_gt(b.st.chain_links, 0, "the loop back edge is chained");
}

Test(translate, calls_returns_indirect)
{
    static const uint8_t code[] = {
        0xb9, 0xe8, 0x03, 0x00, 0x00,             /* 1000: mov ecx,1000 */
        0xbf, 0x20, 0x10, 0x00, 0x00,             /* 1005: mov edi,0x1020 */
        0xe8, 0x0c, 0x00, 0x00, 0x00,             /* 100a: call 0x101b */
        0xff, 0xd7,                               /* 100f: call edi */
        0xe2, 0xf7,                               /* 1011: loop 0x100a */
        0xf4,                                     /* 1013: hlt */
        0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, /* 1014 */
        0x83, 0xc3, 0x03,                         /* 101b: add ebx,3 */
        0xc3,                                     /* 101e: ret */
        0x90,                                     /* 101f */
        0x8d, 0x14, 0x5a,                         /* 1020: lea edx,[edx+ebx*2] */
        0x52,                                     /* push edx */
        0x5a,                                     /* pop edx */
        0xc2, 0x00, 0x00,                         /* ret 0 */
    };
    struct result b = both(code, sizeof code);
    cr_assert_gt(b.st.lookup_hits, 0);
}

Test(translate, self_modifying_same_block)
{
    /* the store rewrites the immediate of the next instruction */
    static const uint8_t code[] = {
        0xc6, 0x05, 0x0c, 0x10, 0x00, 0x00, 0x07, /* 1000: mov byte [0x100c],7 */
        0x90, 0x90, 0x90, 0x90,                   /* 1007 */
        0xb8, 0x01, 0x00, 0x00, 0x00,             /* 100b: mov eax,1 -> 7 */
        0xf4,
    };
    struct result b = both(code, sizeof code);
    cr_assert_eq(b.r[R_EAX], 7);
}

Test(translate, cache_full_is_flushed)
{
    /* 3000 blocks "add eax,imm; jmp next" in distinct pages' worth of
     * code, run with the smallest cache several times over */
    enum { N = 3000 };
    static uint8_t code[N * 10 + 1];
    for (int i = 0; i < N; i++) {
        uint8_t *p = code + i * 10;
        p[0] = 0x05;                 /* add eax,i */
        memcpy(p + 1, &i, 4);
        p[5] = 0xe9;                 /* jmp +0 */
        memset(p + 6, 0, 4);
    }
    code[N * 10] = 0xf4;
    struct result a = run(code, sizeof code, false, 0, 10000000);
    struct result b = run(code, sizeof code, true, 1u << 20, 10000000);
    cr_assert_eq(a.r[R_EAX], b.r[R_EAX]);
    cr_assert_eq(b.why, CPU_EXIT_HALT);
    (void)b.st.flushes; /* may be 0 if 1 MiB holds them all */
}

Test(translate, precise_fault_mid_block)
{
    /* #DE in the middle: EIP, registers and flags of the faulting insn */
    static const uint8_t code[] = {
        0xb8, 0x05, 0x00, 0x00, 0x00,             /* mov eax,5 */
        0x83, 0xc0, 0xfb,                         /* add eax,-5: ZF CF PF AF */
        0x43,                                     /* inc ebx */
        0x31, 0xc9,                               /* xor ecx,ecx: ZF PF */
        0x01, 0xdb,                               /* add ebx,ebx */
        0xf7, 0xf1,                               /* div ecx: #DE */
        0x40,                                     /* inc eax */
        0xf4,
    };
    struct result b = both(code, sizeof code);
    cr_assert_eq(b.exc, EXC_DE);
    cr_assert_eq(b.eip, CODE + 13);
}

/* A flag producer followed by a memory access that faults: its flags are
 * recomputed on the miss path ("replay"), they must be exact at the #PF. */
static void fault_after_producer(const uint8_t *code, size_t n, uint32_t eip)
{
    with_paging = true;
    struct result b = both(code, n);
    with_paging = false;
    cr_assert_eq(b.exc, EXC_PF);
    cr_assert_eq(b.eip, CODE + eip);
}

Test(translate, replayed_flags_at_fault_add_imm)
{
    static const uint8_t code[] = {
        0xbe, 0xfc, 0xff, 0x02, 0x00,             /* 0: mov esi,0x2fffc */
        0x31, 0xc0,                               /* 5: xor eax,eax */
        0x83, 0xc6, 0x04,                         /* 7: add esi,4: AF PF */
        0x89, 0x44, 0x24, 0x08,                   /* a: mov [esp+8],eax */
        0x8b, 0x06,                               /* e: mov eax,[esi]: #PF */
        0x39, 0xd8,                               /* 10: cmp eax,ebx */
        0xf4,
    };
    fault_after_producer(code, sizeof code, 0xe);
}

Test(translate, replayed_flags_at_fault_sub_cmp_test)
{
    static const uint8_t code[] = {
        0xbe, 0x00, 0x10, 0x03, 0x00,             /* 0: mov esi,0x31000 */
        0xb9, 0x00, 0x10, 0x00, 0x00,             /* 5: mov ecx,0x1000 */
        0x29, 0xce,                               /* a: sub esi,ecx */
        0x8b, 0x44, 0x24, 0x04,                   /* c: mov eax,[esp+4] */
        0x39, 0xf1,                               /* 10: cmp ecx,esi: CF SF */
        0x89, 0x04, 0x24,                         /* 12: mov [esp],eax */
        0x85, 0xc9,                               /* 15: test ecx,ecx */
        0x89, 0x4e, 0x10,                         /* 17: mov [esi+16],ecx: #PF */
        0x01, 0xc0,                               /* 1a: add eax,eax */
        0xf4,
    };
    fault_after_producer(code, sizeof code, 0x17);
}

Test(translate, replayed_flags_at_fault_inc_dec)
{
    static const uint8_t code[] = {
        0xbe, 0x00, 0x00, 0x03, 0x00,             /* 0: mov esi,0x30000 */
        0xba, 0xff, 0xff, 0xff, 0x7f,             /* 5: mov edx,0x7fffffff */
        0xbb, 0x01, 0x00, 0x00, 0x00,             /* a: mov ebx,1 */
        0x83, 0xfb, 0x02,                         /* f: cmp ebx,2: CF */
        0x89, 0x5c, 0x24, 0x04,                   /* 12: mov [esp+4],ebx */
        0x42,                                     /* 16: inc edx: OF SF AF, CF kept */
        0x8b, 0x04, 0x24,                         /* 17: mov eax,[esp] */
        0x89, 0x16,                               /* 1a: mov [esi],edx: #PF */
        0x01, 0xc0,                               /* 1c: add eax,eax */
        0xf4,
    };
    fault_after_producer(code, sizeof code, 0x1a);
}

Test(translate, replayed_flags_at_fault_dec_first)
{
    static const uint8_t code[] = {
        0xbe, 0x00, 0x00, 0x03, 0x00,             /* 0: mov esi,0x30000 */
        0xbf, 0x01, 0x00, 0x00, 0x00,             /* 5: mov edi,1 */
        0xff, 0xcf,                               /* a: dec edi: ZF PF */
        0x89, 0x7c, 0x24, 0x08,                   /* c: mov [esp+8],edi */
        0x8b, 0x46, 0x04,                         /* 10: mov eax,[esi+4]: #PF */
        0x85, 0xc0,                               /* 13: test eax,eax */
        0xf4,
    };
    fault_after_producer(code, sizeof code, 0x10);
}

/* Flags captured with LAHF/SETO (no replay possible: the same register
 * twice, then a partial producer) must be exact at a #PF: OF SF AF PF
 * set by the ADD, CF kept through the INC. */
Test(translate, captured_flags_at_fault)
{
    static const uint8_t code[] = {
        0xbe, 0x00, 0x00, 0x03, 0x00,             /* 0: mov esi,0x30000 */
        0xb8, 0x08, 0x00, 0x00, 0x80,             /* 5: mov eax,0x80000008 */
        0x01, 0xc0,                               /* a: add eax,eax: CF OF AF */
        0x89, 0x44, 0x24, 0x08,                   /* c: mov [esp+8],eax */
        0x41,                                     /* 10: inc ecx: CF kept */
        0x89, 0x0c, 0x24,                         /* 11: mov [esp],ecx */
        0x89, 0x06,                               /* 14: mov [esi],eax: #PF */
        0x01, 0xc0,                               /* 16: add eax,eax */
        0xf4,
    };
    fault_after_producer(code, sizeof code, 0x14);
}

Test(translate, captured_flags_of_memory_destination)
{
    /* INC/ADD on memory (captured) then a fault: OF from 0x7fffffff+1 */
    static const uint8_t code[] = {
        0xbe, 0x00, 0x00, 0x03, 0x00,             /* 0: mov esi,0x30000 */
        0xc7, 0x04, 0x24, 0xff, 0xff, 0xff, 0x7f, /* 5: mov dword [esp],0x7fffffff */
        0xff, 0x04, 0x24,                         /* c: inc dword [esp]: OF SF AF */
        0x8b, 0x5c, 0x24, 0x04,                   /* f: mov ebx,[esp+4] */
        0x8b, 0x06,                               /* 13: mov eax,[esi]: #PF */
        0xf4,
    };
    fault_after_producer(code, sizeof code, 0x13);
}

/* SETcc to memory after a replayed producer whose flags must be saved
 * first (the condition needs CF, INC keeps it): the save must not clobber
 * the host address of the destination. Looped: the first pass misses the
 * TLB (handler path), the second one runs the native path. */
Test(translate, setcc_memory_after_replay)
{
    static const uint8_t code[] = {
        0xbb, 0x00, 0x00, 0x01, 0x00,             /* mov ebx,0x10000 */
        0xb9, 0x03, 0x00, 0x00, 0x00,             /* mov ecx,3 */
        /* loop: */
        0xf9,                                     /* stc */
        0x42,                                     /* inc edx */
        0x0f, 0x92, 0x43, 0x04,                   /* setb [ebx+4] */
        0x0f, 0x94, 0x43, 0x08,                   /* setz [ebx+8] */
        0x0f, 0x9c, 0x43, 0x0c,                   /* setl [ebx+12] */
        0x49,                                     /* dec ecx */
        0x75, 0xef,                               /* jnz loop */
        0xf4,
    };
    struct result b = both(code, sizeof code);
    cr_assert_eq(b.mem[1], 1);
}

/* MOVS/STOS/LODS without REP are native: both directions (DF=1 takes the
 * handler path), bytes and dwords, ES:EDI destination; looped so that the
 * later passes hit the TLB. */
Test(translate, string_elements)
{
    static const uint8_t code[] = {
        0xb9, 0x03, 0x00, 0x00, 0x00,             /* mov ecx,3 */
        /* loop: */
        0xbe, 0x00, 0x00, 0x01, 0x00,             /* mov esi,0x10000 */
        0xbf, 0x20, 0x00, 0x01, 0x00,             /* mov edi,0x10020 */
        0x05, 0x44, 0x33, 0x22, 0x11,             /* add eax,0x11223344 */
        0xab,                                     /* stosd */
        0xaa,                                     /* stosb */
        0xa5,                                     /* movsd */
        0xa4,                                     /* movsb */
        0xac,                                     /* lodsb */
        0xad,                                     /* lodsd */
        0xfd,                                     /* std */
        0xa5,                                     /* movsd */
        0xab,                                     /* stosd */
        0xac,                                     /* lodsb */
        0xfc,                                     /* cld */
        0xa4,                                     /* movsb */
        0x01, 0xf0,                               /* add eax,esi */
        0x49,                                     /* dec ecx */
        0x75, 0xe0,                               /* jnz loop */
        0xf4,
    };
    both(code, sizeof code);
}

/* A string element whose destination faults: nothing committed, EIP at
 * the MOVS, ESI/EDI unchanged, flags of the producer before it exact. */
Test(translate, string_element_fault)
{
    static const uint8_t code[] = {
        0xbe, 0x00, 0x00, 0x01, 0x00,             /* 0: mov esi,0x10000 */
        0xbf, 0xfa, 0xff, 0x02, 0x00,             /* 5: mov edi,0x2fffa */
        0xa5,                                     /* a: movsd (ok) */
        0x83, 0xc1, 0xff,                         /* b: add ecx,-1 */
        0xa5,                                     /* e: movsd: #PF (crosses) */
        0xf4,
    };
    fault_after_producer(code, sizeof code, 0xe);
}

/* An NMI pending while NMIs are blocked (an NMI handler runs, no IRET
 * yet) must not stop translated code at every chain entry: the blocks
 * stay chained, the NMI stays pending (the interpreter loop does not take
 * it either). */
Test(translate, blocked_nmi_does_not_stop_chained_blocks)
{
    static const uint8_t code[] = {
        0xb9, 0x10, 0x27, 0x00, 0x00,             /* mov ecx,10000 */
        /* loop: */
        0x40,                                     /* inc eax */
        0x49,                                     /* dec ecx */
        0x75, 0xfc,                               /* jnz loop */
        0xf4,
    };
    for (int jit = 0; jit < 2; jit++) {
        start(jit, 0);
        cr_assert_eq(phys_copy_in(&phys, CODE, code, sizeof code), 0);
        cpu.nmi = 1;
        cpu.nmi_blocked = 1;
        cr_assert_eq(cpu_run(&cpu, 1000000), CPU_EXIT_HALT);
        cr_assert_eq(cpu.r[R_EAX], 10000);
        cr_assert_eq(cpu.nmi, 1);
        cr_assert_eq(cpu.last_exc, -1);
        if (jit)
            cr_assert_lt(cpu.jit_stats.entries, 10, "%llu entries from the loop",
                         (unsigned long long)cpu.jit_stats.entries);
        stop();
    }
}
