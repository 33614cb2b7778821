/* ops_string.c - string instructions MOVS, CMPS, STOS, LODS, SCAS, INS,
 * OUTS with their REP / REPE / REPNE prefixes.
 *
 * Source: in->seg:(E)SI (segment override allowed); destination: ES:(E)DI
 * (never overridden). The index registers and the count (E)CX are chosen
 * by the address size; EFLAGS.DF selects the direction.
 *
 * Each element commits its (E)SI/(E)DI/(E)CX updates only after its own
 * memory accesses succeeded, so a fault in element k restarts the
 * instruction at element k. A REP instruction handles at most
 * STR_MAX_ITER elements per call and then, if it is not finished, sets
 * EIP back to itself so the execution loop can take interrupts between
 * chunks. From its first element to its last it is recorded in cpu->rep:
 * the loop runs the rest as decoded here, not as a fresh fetch of bytes
 * it may have overwritten, unless an event was delivered in between
 * (exec.c). REP MOVS/STOS with DF=0 copy whole runs of elements that stay
 * inside one page directly through the software TLB (fast path). */
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/operand.h"
#include "cpu/system.h"

/* Elements handled per handler call before re-executing the instruction. */
#define STR_MAX_ITER 1024u

enum str_kind { K_MOVS, K_CMPS, K_STOS, K_LODS, K_SCAS, K_INS, K_OUTS };

/* Address-size mask for the index and count registers. */
static inline uint32_t amask(const struct insn *in)
{
    return in->adsize == 16 ? 0xffffu : 0xffffffffu;
}

/* Replace the address-size part of register n with v. */
static inline void idx_set(struct cpu *cpu, int n, uint32_t am, uint32_t v)
{
    cpu->r[n] = (cpu->r[n] & ~am) | (v & am);
}

/* Element size in bytes: the even opcode of each pair is the byte form. */
static inline int str_size(const struct insn *in)
{
    return (in->op & 1) ? osz(in) : 1;
}

/* Write `size` bytes at a linear address already checked by segmentation. */
static inline void lin_write_sz(struct cpu *cpu, uint32_t lin, int size, uint32_t v)
{
    switch (size) {
    case 1: lin_write8(cpu, lin, (uint8_t)v); break;
    case 2: lin_write16(cpu, lin, (uint16_t)v); break;
    default: lin_write32(cpu, lin, v); break;
    }
}

/* CMPS/SCAS flags: those of a - b. */
static inline void cmp_flags(struct cpu *cpu, uint32_t a, uint32_t b, int size)
{
    flags_set_arith(cpu, flags_sub(a, b, 0, a - b, size));
}

/* One element of the string operation; d is +size or -size. */
static inline void str_step(struct cpu *cpu, const struct insn *in, enum str_kind kind,
                            int size, uint32_t am, uint32_t d)
{
    uint32_t si = cpu->r[R_ESI] & am;
    uint32_t di = cpu->r[R_EDI] & am;
    uint32_t a, b;

    switch (kind) {
    case K_MOVS:
        a = mem_read(cpu, in->seg, si, size);
        mem_write(cpu, S_ES, di, size, a);
        idx_set(cpu, R_ESI, am, si + d);
        idx_set(cpu, R_EDI, am, di + d);
        break;
    case K_CMPS:
        a = mem_read(cpu, in->seg, si, size);
        b = mem_read(cpu, S_ES, di, size);
        cmp_flags(cpu, a, b, size);
        idx_set(cpu, R_ESI, am, si + d);
        idx_set(cpu, R_EDI, am, di + d);
        break;
    case K_STOS:
        mem_write(cpu, S_ES, di, size, cpu->r[R_EAX]);
        idx_set(cpu, R_EDI, am, di + d);
        break;
    case K_LODS:
        a = mem_read(cpu, in->seg, si, size);
        reg_set(cpu, R_EAX, size, a);
        idx_set(cpu, R_ESI, am, si + d);
        break;
    case K_SCAS:
        b = mem_read(cpu, S_ES, di, size);
        cmp_flags(cpu, reg_get(cpu, R_EAX, size), b, size);
        idx_set(cpu, R_EDI, am, di + d);
        break;
    case K_INS: {
        /* Port permission first (#GP has priority), then the
         * destination, so that a faulting store does not consume a port
         * read (the instruction restarts). */
        io_check(cpu, (uint16_t)cpu->r[R_EDX], size);
        uint32_t lin = seg_linear(cpu, S_ES, di, size, 1);
        lin_probe_write(cpu, lin, size, ACC_WRITE);
        a = io_in(cpu, (uint16_t)cpu->r[R_EDX], size);
        lin_write_sz(cpu, lin, size, a);
        idx_set(cpu, R_EDI, am, di + d);
        break;
    }
    case K_OUTS:
        a = mem_read(cpu, in->seg, si, size);
        io_out(cpu, (uint16_t)cpu->r[R_EDX], size, a);
        idx_set(cpu, R_ESI, am, si + d);
        break;
    }
}

/* Number of `size`-byte elements (at most max) that can be accessed at
 * seg:off upwards without leaving the segment's plain (fast) limit, the
 * address-size range or the page. *host receives the host pointer of the
 * first one. 0 when the fast path cannot be used (TLB miss, odd segment). */
static uint32_t fast_run(struct cpu *cpu, int seg, uint32_t off, uint32_t am, int size,
                         int write, uint32_t max, uint8_t **host)
{
    const struct segment *s = &cpu->seg[seg];
    if (!(s->fast & (write ? SEGF_W : SEGF_R)))
        return 0;
    uint32_t lin = s->base + off;
    const struct tlb_set *set = mmu_set(cpu);
    const struct tlb_entry *e = write ? &set->write[tlb_index(lin)] : &set->read[tlb_index(lin)];
    if (e->tag != (lin & PAGE_MASK))
        return 0;
    if (off > s->limit)
        return 0;
    uint64_t bytes = PAGE_SIZE - (lin & 0xfff);                    /* page */
    uint64_t seg_room = (uint64_t)s->limit + 1 - off;              /* limit */
    uint64_t ad_room = (uint64_t)am + 1 - off;                     /* wrap */
    if (seg_room < bytes)
        bytes = seg_room;
    if (ad_room < bytes)
        bytes = ad_room;
    uint64_t n = bytes / (unsigned)size;
    if (n > max)
        n = max;
    *host = (uint8_t *)(e->addend + lin);
    return (uint32_t)n;
}

/* Fast path of REP MOVS / REP STOS with DF=0: handle a run of elements
 * in host memory. Returns the number of elements done (0: take the slow
 * path for the next element). Cannot fault. */
static uint32_t str_fast(struct cpu *cpu, const struct insn *in, enum str_kind kind,
                         int size, uint32_t am, uint32_t max)
{
    uint32_t si = cpu->r[R_ESI] & am;
    uint32_t di = cpu->r[R_EDI] & am;
    uint8_t *dst, *src;
    uint32_t n = fast_run(cpu, S_ES, di, am, size, 1, max, &dst);
    if (n == 0)
        return 0;
    if (kind == K_STOS) {
        uint32_t v = cpu->r[R_EAX];
        if (size == 1) {
            memset(dst, (int)(v & 0xff), n);
        } else {
            for (uint32_t i = 0; i < n; i++)
                memcpy(dst + i * (unsigned)size, &v, (size_t)size);
        }
        idx_set(cpu, R_EDI, am, di + n * (unsigned)size);
        return n;
    }
    /* K_MOVS */
    n = fast_run(cpu, in->seg, si, am, size, 0, n, &src);
    if (n == 0)
        return 0;
    size_t len = (size_t)n * (unsigned)size;
    if (dst <= src || dst >= src + len) {
        /* No harmful overlap: an element-by-element forward copy gives
         * the same result as memmove. */
        memmove(dst, src, len);
    } else {
        /* Destination overlaps ahead of the source: replicate the
         * element-by-element semantics. */
        for (size_t i = 0; i < len; i += (unsigned)size)
            memmove(dst + i, src + i, (size_t)size);
    }
    idx_set(cpu, R_ESI, am, si + n * (unsigned)size);
    idx_set(cpu, R_EDI, am, di + n * (unsigned)size);
    return n;
}

/* Run a string instruction, with or without a repeat prefix. */
static inline void str_run(struct cpu *cpu, const struct insn *in, enum str_kind kind)
{
    int size = str_size(in);
    uint32_t am = amask(in);
    uint32_t d = (cpu->eflags & F_DF) ? (uint32_t)-size : (uint32_t)size;

    if (!(in->pfx & (PFX_REP | PFX_REPNE))) {
        str_step(cpu, in, kind, size, am, d);
        return;
    }

    uint32_t count = cpu->r[R_ECX] & am;
    if (count == 0)
        return;
    struct rep_resume *rr = &cpu->rep;
    if (in != &rr->in)
        rr->in = *in;
    rr->active = true;
    rr->eip = cpu->insn_eip;
    rr->esp = cpu->r[R_ESP];
    rr->ecx = cpu->r[R_ECX];
    /* CMPS/SCAS: F3 = REPE (stop when ZF=0), F2 = REPNE (stop when ZF=1).
     * Other string instructions treat F2 like F3. */
    int cmp = kind == K_CMPS || kind == K_SCAS;
    int repne = (in->pfx & PFX_REPNE) && !(in->pfx & PFX_REP);
    int fast = (kind == K_MOVS || kind == K_STOS) && !(cpu->eflags & F_DF);

    uint32_t done = 0;
    for (;;) {
        uint32_t n = 0;
        if (fast) {
            uint32_t max = STR_MAX_ITER - done;
            if (max > count)
                max = count;
            n = str_fast(cpu, in, kind, size, am, max);
        }
        if (n == 0) {
            str_step(cpu, in, kind, size, am, d);
            n = 1;
        }
        count -= n;
        done += n;
        idx_set(cpu, R_ECX, am, count);
        rr->ecx = cpu->r[R_ECX];
        if (count == 0 ||
            (cmp && (repne ? (cpu->eflags & F_ZF) : !(cpu->eflags & F_ZF)))) {
            rr->active = false;
            return;
        }
        if (done >= STR_MAX_ITER) {
            cpu->eip = cpu->insn_eip;   /* not finished: run again */
            cpu->eflags |= F_RF;        /* an event taken now pushes RF = 1 */
            return;
        }
    }
}

/* A4/A5 MOVS */
static void op_movs(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_MOVS); }
/* A6/A7 CMPS */
static void op_cmps(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_CMPS); }
/* AA/AB STOS */
static void op_stos(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_STOS); }
/* AC/AD LODS */
static void op_lods(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_LODS); }
/* AE/AF SCAS */
static void op_scas(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_SCAS); }
/* 6C/6D INS */
static void op_ins(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_INS); }
/* 6E/6F OUTS */
static void op_outs(struct cpu *cpu, const struct insn *in) { str_run(cpu, in, K_OUTS); }

void ops_string_register(exec_fn *t)
{
    t[0xa4] = t[0xa5] = op_movs;
    t[0xa6] = t[0xa7] = op_cmps;
    t[0xaa] = t[0xab] = op_stos;
    t[0xac] = t[0xad] = op_lods;
    t[0xae] = t[0xaf] = op_scas;
    t[0x6c] = t[0x6d] = op_ins;
    t[0x6e] = t[0x6f] = op_outs;
}
