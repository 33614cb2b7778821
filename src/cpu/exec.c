/* exec.c - the interpreter's execution loop and its decoded-block cache.
 *
 * Guest code is decoded once into blocks of struct insn (at most
 * BLOCK_MAX_INSNS, never crossing a page) and cached by the host address
 * of their first byte and the default operand size (CS.D). A block is
 * valid while its physical page's generation is unchanged: a write to
 * decoded bytes of a page (PG_CODE) bumps the generation, so stale
 * decodings are never executed, even when a block modifies itself.
 * Decoded bytes are tracked per 64-byte chunk of a page, so data that
 * shares a page with code (common in small kernels) can be written
 * without throwing the page's code away.
 *
 * With cpu->use_jit (the default) a block is run as host code made by the
 * translator (translate.c); its translation hangs off the decoded block
 * and is valid while the block is, for the same EIP, the same translation
 * key (mode) and the same code-cache epoch. Translated code that leaves a
 * block looks its successor up with jit_lookup() and jumps straight to it.
 *
 * Events (exit requests, interrupts, NMI, HLT) are checked at block
 * entry; a block also ends early when an instruction changes EIP away
 * from the fall-through path, sets cpu->end_block, or single-steps. */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/translate.h"

#define BLOCK_MAX_INSNS 32
/* Decoded blocks, direct-mapped by host address; a block's slot also
 * holds its translation, so an evicted block is translated again. 4096
 * slots were far too few for Linux: 300 fork+exec of busybox's true
 * retranslated 3.3 million blocks (a 2 GB/s stream through the code
 * cache) and took 25 s; with 65536 slots (about 85 MB of address space,
 * touched as used: +72 MB peak RSS on that run) 380,000 and 8.7 s
 * (docs/linux.md). */
#define BCACHE_BITS 16
#define BCACHE_SLOTS (1u << BCACHE_BITS)

struct block {
    const uint8_t *host;   /* key: host address of the first byte (NULL: empty) */
    uint8_t code32;        /* key: default operand size */
    uint8_t n;             /* instructions */
    uint16_t span;         /* bytes covered */
    uint32_t page;         /* physical page number (RAM), or UINT32_MAX */
    uint32_t gen;          /* page generation at decode time */
    /* translation (valid while jit_epoch/jit_eip/jit_key match) */
    const uint8_t *jit_body, *jit_chain;
    uint32_t jit_epoch, jit_eip, jit_key;
    struct insn insn[BLOCK_MAX_INSNS];
};

struct blockcache {
    struct block *slots;
    uint32_t *page_gen;    /* one generation counter per RAM page */
    uint64_t *code_chunks; /* per RAM page: 64-byte chunks holding decoded code */
    uint32_t npages;
    struct block scratch;  /* uncached single instruction (page-straddling) */
};

/* ---- cache management ---- */

static bool code_written_hook(void *ctx, uint32_t paddr, uint32_t len)
{
    return cpu_code_written(ctx, paddr, len);
}

/* Chunk bits of the bytes [off, off+len) of a page (off < 4096). */
static uint64_t chunk_bits(uint32_t off, uint32_t len)
{
    uint32_t first = off >> 6;
    uint32_t last = (off + (len ? len : 1) - 1) >> 6;
    if (last > 63)
        last = 63;
    uint64_t hi = last == 63 ? ~0ull : (2ull << last) - 1;
    return hi & ~((1ull << first) - 1);
}

static struct blockcache *bcache_get(struct cpu *cpu)
{
    struct blockcache *bc = cpu->bcache;
    if (bc)
        return bc;
    bc = calloc(1, sizeof *bc);
    if (!bc)
        abort();
    bc->slots = calloc(BCACHE_SLOTS, sizeof *bc->slots);
    bc->npages = cpu->phys->ram_size >> 12;
    bc->page_gen = calloc(bc->npages ? bc->npages : 1, sizeof *bc->page_gen);
    bc->code_chunks = calloc(bc->npages ? bc->npages : 1, sizeof *bc->code_chunks);
    if (!bc->slots || !bc->page_gen || !bc->code_chunks)
        abort();
    cpu->cur_code_page = UINT32_MAX;
    cpu->bcache = bc;
    cpu->phys->code_written = code_written_hook;
    cpu->phys->code_written_ctx = cpu;
    return bc;
}

void exec_free(struct cpu *cpu)
{
    jit_free(cpu);
    struct blockcache *bc = cpu->bcache;
    if (!bc)
        return;
    free(bc->slots);
    free(bc->page_gen);
    free(bc->code_chunks);
    free(bc);
    cpu->bcache = NULL;
}

bool cpu_code_written(struct cpu *cpu, uint32_t paddr, uint32_t len)
{
    struct blockcache *bc = bcache_get(cpu);
    uint32_t page = paddr >> 12;
    if (page >= bc->npages)
        return false;
    uint64_t *chunks = &bc->code_chunks[page];
    /* No chunk record (marked from outside the cache): the whole page. */
    if (*chunks && !(*chunks & chunk_bits(paddr & 0xfff, len)))
        return true;
    bc->page_gen[page]++;
    *chunks = 0;
    cpu->tlb.gen++;        /* the translator's jump cache */
    if (page == cpu->cur_code_page)
        cpu->end_block = 1;
    return false;
}

static inline unsigned bcache_hash(const uint8_t *host, int code32)
{
    uintptr_t h = (uintptr_t)host;
    h = (h ^ (h >> BCACHE_BITS) ^ (h >> 23)) + (unsigned)code32;
    return (unsigned)(h & (BCACHE_SLOTS - 1));
}

/* Does an instruction with this opcode always leave the straight path?
 * (Decoding stops after it; conditional branches do not end a block.) */
static bool ends_block(const struct insn *in)
{
    switch (in->op) {
    case 0xc2: case 0xc3: case 0xca: case 0xcb: case 0xcc: case 0xcd:
    case 0xce: case 0xcf: case 0xe8: case 0xe9: case 0xea: case 0xeb:
    case 0x9a: case 0xf4: case 0xfb: case 0x9d:
    case 0x100 | 0x0b: case 0x100 | 0x22: case 0x100 | 0x34: case 0x100 | 0x35:
        return true;
    case 0xff:
        return in->reg >= 2 && in->reg <= 5;
    case 0x8e:
        return true; /* MOV Sreg: SS shadow, or a new DS/ES base */
    default:
        return false;
    }
}

/* ---- fetching and decoding ---- */

/* Decode the single instruction at EIP when it straddles a page or lies
 * outside RAM/ROM: fetch byte-wise through the MMU (raising #PF for the
 * page that cannot be fetched). */
static struct block *decode_uncached(struct cpu *cpu, struct blockcache *bc, uint32_t lin,
                                     uint32_t avail_limit)
{
    uint8_t buf[16];
    int want = avail_limit < 15 ? (int)avail_limit : 15;
    int got = mmu_fetch(cpu, lin, buf, want);
    struct block *b = &bc->scratch;
    int len = decode_insn(&b->insn[0], buf, got, cpu->code32);
    if (len == DECODE_TOOLONG)
        cpu_raise(cpu, EXC_GP, 0);
    if (len == DECODE_MORE) {
        if (got < want) {
            uint32_t pa;
            mmu_code_ptr(cpu, lin + (uint32_t)got, &pa); /* raises #PF */
        }
        cpu_raise(cpu, EXC_GP, 0); /* ran past the CS limit */
    }
    b->host = NULL;
    b->n = 1;
    b->span = (uint16_t)len;
    b->page = UINT32_MAX;
    return b;
}

/* Find or build the block starting at cpu->eip. */
static struct block *block_lookup(struct cpu *cpu, struct blockcache *bc)
{
    const struct segment *cs = &cpu->seg[S_CS];
    uint32_t eip = cpu->eip;
    if (unlikely(eip > cs->limit))
        cpu_raise(cpu, EXC_GP, 0);
    uint32_t lin = cs->base + eip;
    uint32_t limit_left = cs->limit - eip; /* bytes allowed after the first */
    if (!cpu->code32 && limit_left > 0xffff - eip)
        limit_left = 0xffff - eip;

    /* host pointer through the code TLB */
    const uint8_t *host;
    uint32_t paddr;
    const struct tlb_entry *e = &mmu_set(cpu)->code[tlb_index(lin)];
    if (likely(e->tag == (lin & PAGE_MASK))) {
        host = (const uint8_t *)(e->addend + lin);
        paddr = e->paddr | (lin & 0xfff);
    } else {
        host = mmu_code_ptr(cpu, lin, &paddr);
    }
    uint32_t page_left = PAGE_SIZE - (lin & 0xfff);
    uint32_t avail = limit_left + 1 < page_left ? limit_left + 1 : page_left;
    if (limit_left == 0xffffffffu)
        avail = page_left;
    if (!host)
        return decode_uncached(cpu, bc, lin, limit_left == 0xffffffffu ? 15 : limit_left + 1);

    uint32_t page = paddr >> 12;
    struct block *b = &bc->slots[bcache_hash(host, cpu->code32)];
    if (likely(b->host == host && b->code32 == cpu->code32 &&
               (page >= bc->npages || b->gen == bc->page_gen[page]) &&
               b->span - 1u <= limit_left))
        return b;

    /* Build a new block. */
    if (page < bc->npages)
        mmu_mark_code(cpu, paddr);
    b->host = NULL;
    b->jit_body = b->jit_chain = NULL;
    b->code32 = (uint8_t)cpu->code32;
    b->page = page < bc->npages ? page : UINT32_MAX;
    b->gen = page < bc->npages ? bc->page_gen[page] : 0;
    uint32_t off = 0;
    int n = 0;
    while (n < BLOCK_MAX_INSNS && off < avail) {
        struct insn *in = &b->insn[n];
        int len = decode_insn(in, host + off, (int)(avail - off), cpu->code32);
        if (len < 0)
            break;
        n++;
        off += (uint32_t)len;
        if (ends_block(in))
            break;
    }
    if (n == 0)
        return decode_uncached(cpu, bc, lin, limit_left == 0xffffffffu ? 15 : limit_left + 1);
    b->n = (uint8_t)n;
    b->span = (uint16_t)off;
    b->host = host;
    if (page < bc->npages)
        bc->code_chunks[page] |= chunk_bits(paddr & 0xfff, off);
    return b;
}

/* ---- the loop ---- */

/* Take a pending NMI or external interrupt. Returns false if none. An
 * NMI blocks further NMIs until the next IRET (cpu_nmi_unblock()); one
 * that arrives meanwhile stays pending. */
static bool take_interrupt(struct cpu *cpu)
{
    if (cpu_nmi_ready(cpu)) {
        cpu->nmi = 0;
        cpu->nmi_blocked = 1;
        cpu->halted = false;
        cpu_deliver(cpu, EXC_NMI, false, 0, false);
        return true;
    }
    if (cpu->intr && (cpu->eflags & F_IF)) {
        int vec = cpu->bus.intr_ack ? cpu->bus.intr_ack(cpu->bus.ctx) : -1;
        cpu->halted = false;
        if (vec >= 0)
            cpu_deliver(cpu, vec & 0xff, false, 0, false);
        return true;
    }
    return false;
}

/* Interpret n decoded instructions from EIP on (those of a block on the
 * physical page `page`, or UINT32_MAX). */
static void interp_insns(struct cpu *cpu, const struct insn *in, unsigned n, uint32_t page)
{
    cpu->cur_code_page = page;
    uint32_t eip = cpu->eip;
    uint32_t mask = cpu->code32 ? 0xffffffffu : 0xffffu;
    const struct insn *end = in + n;
    do {
        uint32_t tf = cpu->eflags & F_TF;
        uint32_t next = (eip + in->len) & mask;
        cpu->insn_eip = eip;
        cpu->insn_esp = cpu->r[R_ESP];
        cpu->eip = next;
        in->fn(cpu, in);
        cpu->icount++;
        if (unlikely(tf)) {
            /* single-step trap after the instruction (DR6.BS) */
            cpu->dr[6] |= 0x4000;
            cpu->insn_eip = cpu->eip;
            cpu->insn_esp = cpu->r[R_ESP];
            cpu_deliver(cpu, EXC_DB, false, 0, false);
            break;
        }
        if (unlikely(cpu->eip != next || cpu->end_block))
            break;
        eip = next;
        in++;
    } while (in < end);
    cpu->end_block = 0;
    cpu->cur_code_page = UINT32_MAX;
}

/* Interpret one decoded block. */
static void interp_block(struct cpu *cpu, struct block *b, unsigned max)
{
    interp_insns(cpu, b->insn, b->n < max ? b->n : max, b->page);
}

/* Can the REP string instruction in cpu->rep go on as it was decoded?
 * Only if nothing was delivered since it stopped: EIP, ESP and ECX are
 * as it left them. Otherwise it is forgotten and its bytes are fetched
 * anew (after an interrupt or exception, as on hardware). */
static bool rep_resumable(struct cpu *cpu)
{
    const struct rep_resume *rr = &cpu->rep;
    if (cpu->eip == rr->eip && cpu->r[R_ESP] == rr->esp && cpu->r[R_ECX] == rr->ecx)
        return true;
    cpu->rep.active = false;
    return false;
}

/* ---- the translator's side ---- */

static bool jit_valid(const struct cpu *cpu, const struct block *b, uint32_t key)
{
    return b->jit_body && b->jit_epoch == jit_epoch(cpu) && b->jit_eip == cpu->eip &&
           b->jit_key == key;
}

/* Run block b (and whatever it chains to) as translated code. false:
 * no translation could be made; interpret it. */
static bool jit_run(struct cpu *cpu, struct blockcache *bc, struct block *b, uint64_t stop)
{
    (void)bc;
    if (unlikely(!cpu->jit)) {
        if (jit_init(cpu) < 0) {
            cpu->use_jit = false;
            return false;
        }
    }
    uint32_t key = jit_key(cpu);
    if (!jit_valid(cpu, b, key)) {
        struct jit_tb tb;
        if (!jit_translate(cpu, b->insn, b->n, cpu->eip, key, b->page, &tb)) {
            jit_flush(cpu);
            if (!jit_translate(cpu, b->insn, b->n, cpu->eip, key, b->page, &tb))
                return false;
        }
        b->jit_body = tb.body;
        b->jit_chain = tb.chain;
        b->jit_epoch = jit_epoch(cpu);
        b->jit_eip = cpu->eip;
        b->jit_key = key;
        jit_jc_fill(cpu, cpu->eip, key, b->jit_chain);
    }
    cpu->jit_stop = stop;
    cpu->jit_stats.entries++;
    cpu->cur_code_page = b->page;
    jit_enter(cpu, b->jit_body);
    cpu->end_block = 0;
    cpu->cur_code_page = UINT32_MAX;
    return true;
}

const uint8_t *jit_lookup(struct cpu *cpu, uint8_t *patch)
{
    struct blockcache *bc = cpu->bcache;
    cpu->jit_stats.lookups++;
    if (cpu->end_block || cpu->inhibit_irq || cpu->halted || (cpu->eflags & (F_TF | F_RF)) ||
        cpu->shutdown_reason || cpu->wait_sipi || cpu->rep.active)
        return NULL;
    const struct segment *cs = &cpu->seg[S_CS];
    uint32_t eip = cpu->eip;
    if (eip > cs->limit)
        return NULL;
    uint32_t lin = cs->base + eip;
    uint32_t limit_left = cs->limit - eip;
    if (!cpu->code32 && limit_left > 0xffff - eip)
        limit_left = 0xffff - eip;
    const struct tlb_entry *e = &mmu_set(cpu)->code[tlb_index(lin)];
    if (e->tag != (lin & PAGE_MASK))
        return NULL;
    const uint8_t *host = (const uint8_t *)(e->addend + lin);
    uint32_t page = e->paddr >> 12;
    struct block *b = &bc->slots[bcache_hash(host, cpu->code32)];
    if (b->host != host || b->code32 != cpu->code32 ||
        (page < bc->npages && b->gen != bc->page_gen[page]) || b->span - 1u > limit_left)
        return NULL;
    uint32_t key = jit_key(cpu);
    if (!jit_valid(cpu, b, key))
        return NULL;
    cpu->jit_stats.lookup_hits++;
    cpu->cur_code_page = b->page;
    jit_jc_fill(cpu, eip, key, b->jit_chain);
    if (patch)
        jit_patch(cpu, patch, b->jit_chain);
    return b->jit_chain;
}

void exec_print_stats(struct cpu *cpu, FILE *f)
{
    const struct jit_stats *s = &cpu->jit_stats;
    if (!cpu->use_jit && !s->blocks) {
        fprintf(f, "vsmp: engine: interpreter\n");
        return;
    }
    fprintf(f, "vsmp: engine: translator: blocks translated %llu, guest insns translated %llu "
            "(%.1f%% as handler calls), host bytes/guest insn %.1f\n",
            (unsigned long long)s->blocks, (unsigned long long)s->guest_insns,
            s->guest_insns ? 100.0 * (double)s->helper_insns / (double)s->guest_insns : 0.0,
            s->guest_insns ? (double)s->host_bytes / (double)s->guest_insns : 0.0);
    fprintf(f, "vsmp: translator: chain links %llu, C lookups %llu (%llu hits), loop entries %llu, "
            "handler calls (interpreted) %.2f%% of executed insns, cache flushes %llu\n",
            (unsigned long long)s->chain_links, (unsigned long long)s->lookups,
            (unsigned long long)s->lookup_hits, (unsigned long long)s->entries,
            cpu->icount ? 100.0 * (double)s->helper_calls / (double)cpu->icount : 0.0,
            (unsigned long long)s->flushes);
}

/* Execute blocks until an event or the instruction count reaches stop.
 * Faults unwind out of here to cpu_run(). */
static __attribute__((noinline)) enum cpu_exit run_blocks(struct cpu *cpu, uint64_t stop)
{
    struct blockcache *bc = cpu->bcache;
    for (;;) {
        if (unlikely(cpu->shutdown_reason))
            return CPU_EXIT_SHUTDOWN;
        if (unlikely(cpu->exit_request)) {
            cpu->exit_request = 0;
            return CPU_EXIT_REQUEST;
        }
        if (unlikely(cpu->wait_sipi))
            return CPU_EXIT_WAIT_SIPI;
        /* Events at block entry; the delivery itself may fault, so make
         * the restart point the current EIP first. */
        cpu->insn_eip = cpu->eip;
        cpu->insn_esp = cpu->r[R_ESP];
        bool shadow = false;
        if (cpu->inhibit_irq) {
            /* STI / MOV SS / POP SS: interrupts wait one instruction */
            cpu->inhibit_irq = 0;
            shadow = true;
        } else if (unlikely(cpu->nmi || cpu->intr) && take_interrupt(cpu)) {
            /* Taken: the APIC moved the vector to ISR and the frame is
             * pushed, so a restart from here on (the handler's code
             * fetch waiting for a page, EXC_RESTART) must resume at the
             * handler, not undo the delivery. */
            cpu->insn_eip = cpu->eip;
            cpu->insn_esp = cpu->r[R_ESP];
        }
        if (unlikely(cpu->halted))
            return CPU_EXIT_HALT;
        if (unlikely(cpu->icount >= stop))
            return CPU_EXIT_BUDGET;
        /* EFLAGS.RF (set by an IRET that popped it, or by a REP string
         * instruction stopped between iterations) lasts until the next
         * instruction starts: an event taken above pushed it, the
         * instruction clears it (SDM Vol. 3, "Instruction-Breakpoint
         * Exception Condition"). jit_lookup() leaves translated code
         * while RF is set, so this runs before that instruction too. */
        cpu->eflags &= ~F_RF;

        if (unlikely(cpu->rep.active) && rep_resumable(cpu)) {
            /* the rest of a REP string instruction, as decoded */
            interp_insns(cpu, &cpu->rep.in, 1, UINT32_MAX);
            continue;
        }
        struct block *b = block_lookup(cpu, bc);
        if (unlikely(shadow)) {
            /* just the shadowed instruction, then look at interrupts again
             * (`sti; nop; cli` must let a pending interrupt in) */
            interp_block(cpu, b, 1);
            continue;
        }
        if (cpu->use_jit && b->host && !(cpu->eflags & F_TF) && jit_run(cpu, bc, b, stop))
            continue;
        interp_block(cpu, b, BLOCK_MAX_INSNS);
    }
}

enum cpu_exit cpu_run(struct cpu *cpu, uint64_t budget)
{
    bcache_get(cpu);
    uint64_t stop = cpu->icount + budget;
    jmp_buf jb;
    jmp_buf *saved = cpu->fault_jmp;
    enum cpu_exit why;

    cpu->fault_jmp = &jb;
    if (setjmp(jb)) {
        /* A fault inside an instruction (or while looking one up):
         * back to the instruction's start, then deliver. */
        cpu->eip = cpu->insn_eip;
        cpu->r[R_ESP] = cpu->insn_esp;
        cpu->end_block = 0;
        cpu->cur_code_page = UINT32_MAX;
        if (cpu->last_exc == EXC_RESTART)
            goto run;   /* coherence: run the instruction again */
        if (cpu->stop_on_exception) {
            cpu->rep.active = false;
            cpu->in_run = false;
            cpu->fault_jmp = saved;
            return CPU_EXIT_EXCEPTION;
        }
        cpu_exception(cpu, cpu->last_exc, cpu->last_exc_err);
    }
run:
    cpu->in_run = true;
    why = run_blocks(cpu, stop);
    cpu->in_run = false;
    cpu->fault_jmp = saved;
    return why;
}
