/* translate.h - the dynamic translator: decoded guest blocks (struct insn)
 * to host x86-64 code in the dual-mapped code cache. See
 * docs/translator.md for the design (register conventions, flags, memory
 * fast path, exits, chaining, invalidation). exec.c drives it. */
#ifndef VSMP_TRANSLATE_H
#define VSMP_TRANSLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

#define JIT_CACHE_DEFAULT (32u << 20)
#define JIT_CACHE_MIN     (1u << 20)

/* Bits of the translation key: the mode a translation was made for. */
#define JK_CODE32  0x001u   /* CS.D */
#define JK_STACK32 0x002u   /* SS.B */
#define JK_USER    0x004u   /* CPL 3: the user TLB set */
#define JK_CSFLAT  0x008u   /* CS base 0, limit 4G */
#define JK_FLAT(s) (0x010u << (s)) /* segment s: base 0, limit 4G, R/W */
#define JK_VM      0x400u   /* virtual-8086 mode (EFLAGS.VM) */

struct jit_tb {
    const uint8_t *body;    /* entry from the main loop (jit_enter) */
    const uint8_t *chain;   /* entry from other blocks: checks events first */
};

/* Set up cpu->jit (code cache of cpu->jit_cache_size bytes). -1 if the
 * executable memory cannot be had (the caller then interprets). */
int jit_init(struct cpu *cpu);
void jit_free(struct cpu *cpu);
uint32_t jit_key(const struct cpu *cpu);
/* The jump cache (cpu->jit_jc) is valid while entry.gen == cpu->tlb.gen.
 * tlb.gen is bumped by every TLB invalidation (a mapping may have
 * changed), by a write to decoded code (page generation) and by a code
 * cache flush, so a hit needs no other check: translated code probes it
 * with its own key (which is the current one: handlers that change the
 * key end the block and leave through jit_lookup), and events are
 * checked at the chain entry it jumps to. */
static inline void jit_jc_fill(struct cpu *cpu, uint32_t eip, uint32_t key, const uint8_t *chain)
{
    struct jit_jc *e = &cpu->jit_jc[eip & ((1u << JIT_JC_BITS) - 1)];
    e->eip = eip;
    e->gen = cpu->tlb.gen;
    e->chain = chain;
    e->key = key;
}
/* Incremented by every flush: translations of an older epoch are gone. */
uint32_t jit_epoch(const struct cpu *cpu);
/* Translate the n decoded instructions of a block starting at guest EIP
 * eip. false: the code cache is full (jit_flush, then retry). */
bool jit_translate(struct cpu *cpu, const struct insn *in, int n, uint32_t eip, uint32_t key,
                   uint32_t page, struct jit_tb *out);
void jit_flush(struct cpu *cpu);
/* Run translated code from a body entry until it returns to the loop. */
void jit_enter(struct cpu *cpu, const uint8_t *body);
/* Point the direct jump whose rel32 field is at patch (RX address) at
 * target (RX address). */
void jit_patch(struct cpu *cpu, uint8_t *patch, const uint8_t *target);

/* exec.c: called from translated code at a block exit with cpu->eip set:
 * the chain entry of a valid translation for it, or NULL to return to
 * the loop. patch: rel32 field of the exit's jump to link, or NULL. */
const uint8_t *jit_lookup(struct cpu *cpu, uint8_t *patch);

#endif
