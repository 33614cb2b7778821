/* translate.c - guest i686 basic blocks -> host x86-64 code.
 *
 * Conventions of translated code (docs/translator.md has the full story):
 *   rbx   struct cpu *
 *   r8-r11, r13, rbp, r14, r15: guest EAX ECX EDX EBX ESP EBP ESI EDI
 *         (written back to cpu->r[] around handler calls and exits to C)
 *   r12   arithmetic flags (EFLAGS layout) saved right after a flag-producing
 *         instruction whose result is still needed ("pending" flags, not
 *         yet in cpu->eflags)
 *   rdi   effective address of the current memory operand
 *   rax rcx rdx rsi: scratch
 * A block is entered from C through the shared trampoline (jit_enter),
 * which saves the callee-saved registers; all blocks share that frame, so
 * a block can jump straight into another one ("chaining") and the last
 * one returns through the shared epilogue. The host stack stays 16-byte
 * aligned inside blocks, so helpers are plain SysV calls.
 *
 * Each guest instruction is either emitted natively or as a call to its
 * interpreter handler with the interpreter's calling contract (insn_eip,
 * insn_esp, eip = next, eflags current). A native instruction with a
 * memory operand looks the software TLB up inline; on a miss it runs the
 * whole instruction through the interpreter handler (out of line), which
 * does segment checks, page walks, MMIO, self-modifying-code detection and
 * raises faults with exact state; then rejoins the native path.
 *
 * Flags: the host computes them (same ISA). A backward liveness pass
 * decides for each producer whether its flags are needed later (by a
 * reader, an instruction that can fault or call a handler, or a block
 * exit); only then are they saved into r12 (flags_capture: LAHF/SETO, in
 * EFLAGS layout). They are merged into cpu->eflags lazily: before handler
 * calls, in slow paths and at exits.
 * A register-only ADD/SUB/CMP/TEST/INC/DEC is not saved at all when its
 * operand registers stay intact until its flags are redefined ("replay"):
 * where the flags are needed after the host flags were clobbered (a TLB
 * miss stub, a taken exit, a reader, a handler call, a partial producer)
 * the same operation is recomputed from the registers (for ADD/SUB/INC/DEC
 * on the old value, new -/+ operand). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/codecache.h"
#include "cpu/emit.h"
#include "cpu/mmu.h"
#include "cpu/translate.h"

#define FL_ALL (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
#define STUB_MAX (256u << 10)
#define MAX_LABELS 1024
#define MAX_FIX 2048
#define BLOCK_RESERVE (96u << 10)   /* main code bytes one block may need */

struct jit {
    struct codecache cc;
    uint32_t epoch;
    const uint8_t *enter;       /* RX: trampoline */
    const uint8_t *epilogue;    /* RX */
    const uint8_t *lookup_exit; /* RX: rsi = patch or 0, cpu->eip set */
    const uint8_t *lookup_synced; /* RX: the same with cpu->r[] current */
    uint8_t *stubbuf;
    FILE *perf_map;             /* VSMP_PERF_MAP=1: /tmp/perf-PID.map */
};

_Static_assert(sizeof(struct tlb_entry) == 16, "TLB entry layout");
_Static_assert(TLB_BITS <= 20, "TLB index mask");

#define OFF(f) ((int32_t)offsetof(struct cpu, f))
#define OFF_R(n) ((int32_t)(offsetof(struct cpu, r) + 4 * (n)))

/* ---- labels and fixups ---- */
enum { B_MAIN, B_STUB, B_ABS };

struct label {
    int buf;
    uintptr_t off;   /* offset in buf, or RX address for B_ABS */
    bool bound;
};

struct fixup {
    int buf;
    uint32_t pos;    /* of the field */
    int label;
    bool abs64;
};

struct iinfo {
    bool native;
    bool fault;      /* can fault or calls a handler */
    bool exit;       /* leaves the block (on some path) */
    uint32_t use, def;
    uint32_t live_after;
};

/* A producer whose flags can be recomputed from registers that are still
 * intact ("replay"): ADD/SUB/CMP/TEST r32 with r32 or imm. */
struct replay {
    bool valid;
    int aop;          /* A_ADD, A_SUB, A_CMP, RP_TEST, RP_INC, RP_DEC */
    int dst, src;     /* guest registers; src -1: imm */
    uint32_t imm;
};

enum { RP_TEST = -1, RP_INC = -2, RP_DEC = -3 };

struct tctx {
    struct cpu *cpu;
    struct jit *j;
    struct emit m, s;
    struct label lab[MAX_LABELS];
    int nlab;
    struct fixup fix[MAX_FIX];
    int nfix;
    bool failed;
    uint32_t key, eip0;
    int n;
    const struct insn *ins;     /* the block's instructions (caller's) */
    const struct insn *copies;  /* RX address of their copies in the cache */
    struct iinfo info[64];
    int idx;
    uint32_t eip, next;
    uint32_t pend, hostv;
    bool replay;                /* pend is not in r12: recompute it (rp) */
    struct replay rp, rp_cand;
    int join;                   /* label: end of the current instruction */
    bool stk;                   /* next mem_access is ESP-relative (push/pop/ret) */
};

/* Stack-page cache: two slots in the trampoline's frame ([rsp] in blocks)
 * hold the guest linear page and the host addend of the last stack page
 * whose *write* TLB entry was seen. Invalidated (tag -1) on every entry
 * from C (trampoline), after jit_lookup and after every handler call: it
 * lives only while translated code runs without any C code in between
 * (chained blocks, jump-cache hits), and only C code changes the TLB, CPL,
 * SS, code-page marks or DSM rights, so it never outlives the TLB entry it
 * was copied from. */
#define SC_TAG  0
#define SC_ADD  8
#define SC_FRAME 24     /* trampoline: 8 (alignment) + the two slots */

static int lbl_new(struct tctx *t)
{
    if (t->nlab >= MAX_LABELS) {
        t->failed = true;
        return 0;
    }
    t->lab[t->nlab] = (struct label){ 0, 0, false };
    return t->nlab++;
}

static void lbl_bind(struct tctx *t, int l, int buf)
{
    struct emit *e = buf == B_MAIN ? &t->m : &t->s;
    t->lab[l].buf = buf;
    t->lab[l].off = (uintptr_t)(e->p - e->start);
    t->lab[l].bound = true;
}

static int lbl_abs(struct tctx *t, const uint8_t *rx)
{
    int l = lbl_new(t);
    t->lab[l].buf = B_ABS;
    t->lab[l].off = (uintptr_t)rx;
    t->lab[l].bound = true;
    return l;
}

static void add_fix(struct tctx *t, int buf, uint8_t *field, int label, bool abs64)
{
    struct emit *e = buf == B_MAIN ? &t->m : &t->s;
    if (!field || t->nfix >= MAX_FIX) {
        t->failed = true;
        return;
    }
    t->fix[t->nfix++] = (struct fixup){ buf, (uint32_t)(field - e->start), label, abs64 };
}

static struct emit *B(struct tctx *t, int buf)
{
    return buf == B_MAIN ? &t->m : &t->s;
}

static void jmp_to(struct tctx *t, int buf, int label)
{
    add_fix(t, buf, e_jmp32(B(t, buf)), label, false);
}

static void jcc_to(struct tctx *t, int buf, int cc, int label)
{
    add_fix(t, buf, e_jcc32(B(t, buf), cc), label, false);
}

/* mov reg, imm64 whose value is the RX address of a label */
static void mov_label_addr(struct tctx *t, int buf, int reg, int label)
{
    struct emit *e = B(t, buf);
    e_mov_r_imm64(e, reg, 0);
    add_fix(t, buf, e->overflow ? NULL : e->p - 8, label, true);
}

/* ---- guest operands ---- */
/* Guest general registers live in host registers inside translated code
 * (written back to cpu->r[] around handler calls and at every exit to C,
 * loaded again afterwards and at entry). */
static const int8_t host_of[8] = { H_R8, H_R9, H_R10, H_R11, H_R13, H_RBP, H_R14, H_R15 };
#define H_EA H_RDI   /* effective address of the current memory operand */

/* Guest register n as an operand of `size` bytes. AH..BH (size 1, n >= 4)
 * have no host form: classify() sends such instructions to handlers. */
static struct hop greg(int n, int size)
{
    (void)size;
    return HR(host_of[n]);
}

static struct hop hostmem(void)
{
    return HMX(H_RAX, H_EA, 0, 0);
}

/* cpu->r[] <- host registers / host registers <- cpu->r[] */
static void regs_spill(struct emit *e)
{
    for (int i = 0; i < 8; i++)
        e_mov_store(e, 4, HM(H_RBX, OFF_R(i)), host_of[i]);
}

static void regs_reload(struct emit *e)
{
    for (int i = 0; i < 8; i++)
        e_mov_load(e, 4, host_of[i], HM(H_RBX, OFF_R(i)));
}

/* ---- flags ---- */
static void flags_merge(struct emit *e, uint32_t mask)
{
    if (!mask)
        return;
    e_mov_load(e, 4, H_RSI, HR(H_R12));
    e_alu_imm(e, 4, A_AND, HR(H_RSI), mask);
    e_alu_imm(e, 4, A_AND, HM(H_RBX, OFF(eflags)), ~mask);
    e_alu_store(e, 4, A_OR, HM(H_RBX, OFF(eflags)), H_RSI);
}

/* Recompute the pending flags of a replayable producer from its operands
 * (still intact) into the host flags and r12. */
static void replay_host(struct tctx *t, struct emit *e)
{
    const struct replay *r = &t->rp;
    struct hop d = HR(host_of[r->dst]);
    if (r->aop == RP_INC || r->aop == RP_DEC) {
        /* OF SF ZF AF PF of the same INC/DEC on the old value */
        e_mov_load(e, 4, H_RSI, d);
        e_incdec(e, 4, r->aop == RP_INC, HR(H_RSI));
        e_incdec(e, 4, r->aop == RP_DEC, HR(H_RSI));
    } else if (r->aop == A_CMP || r->aop == RP_TEST) {
        if (r->src < 0) {
            if (r->aop == A_CMP)
                e_alu_imm(e, 4, A_CMP, d, r->imm);
            else
                e_test_imm(e, 4, d, r->imm);
        } else if (r->aop == A_CMP) {
            e_alu_store(e, 4, A_CMP, d, host_of[r->src]);
        } else {
            e_test(e, 4, d, host_of[r->src]);
        }
    } else {
        /* old = new -/+ src, then the same operation again */
        int inv = r->aop == A_ADD ? A_SUB : A_ADD;
        e_mov_load(e, 4, H_RSI, d);
        if (r->src < 0) {
            e_alu_imm(e, 4, inv, HR(H_RSI), r->imm);
            e_alu_imm(e, 4, r->aop, HR(H_RSI), r->imm);
        } else {
            e_alu_store(e, 4, inv, HR(H_RSI), host_of[r->src]);
            e_alu_store(e, 4, r->aop, HR(H_RSI), host_of[r->src]);
        }
    }
}

/* reg (32 bits) <- the host's six arithmetic flags in EFLAGS layout: SF
 * ZF AF PF CF from LAHF (bits 0-7, bit 1 set, bits 3 and 5 clear), OF
 * from SETO moved to bit 11, all other bits clear. Much cheaper than
 * `pushfq; pop reg` (microcoded: it holds up the pipeline until every
 * older instruction has written its flags). Clobbers rax and the host
 * flags. */
static void flags_capture(struct emit *e, int reg)
{
    e_lahf(e);                                  /* ah = flags 0-7 */
    e_setcc(e, HC_O, HR(H_RAX));                /* al = OF */
    e_shift_imm(e, 1, SH_SHL, HR(H_RAX), 3);    /* al = OF << 3 */
    e_shift_imm(e, 2, SH_ROL, HR(H_RAX), 8);    /* ax = OF << 11 | flags 0-7 */
    e_movzx(e, 2, reg, HR(H_RAX));
}

static void replay_emit(struct tctx *t, struct emit *e)
{
    replay_host(t, e);
    flags_capture(e, H_R12);
}

static void flags_flush(struct tctx *t)
{
    if (t->replay && t->pend) {
        replay_emit(t, &t->m);
        t->replay = false;
    }
    t->replay = false;
    if (t->pend) {
        flags_merge(&t->m, t->pend);
        t->hostv = 0;
    }
    t->pend = 0;
}

/* After a native producer of `def`: record where its flags are. AF is
 * forced to 0 where the interpreter defines an undefined AF that way
 * (shifts, IMUL), so both engines agree. */
static void prod_end_af(struct tctx *t, uint32_t def, bool clear_af);
static void prod_end(struct tctx *t, uint32_t def)
{
    prod_end_af(t, def, false);
}

/* Can the flags of producer idx (def) be replayed wherever they are needed
 * until an instruction redefines them? Up to that point (or a handler call,
 * an unconditional exit, a partial producer, or the block end, which all
 * consume the flags before writing any register) only instructions that
 * leave the producer's operand registers alone may come: stores, loads,
 * MOV imm, LEA, PUSH, SETcc, CMOVcc and Jcc (whose taken stub replays). */
static bool replay_safe(const struct tctx *t, uint32_t def, const struct replay *r)
{
    for (int k = t->idx + 1; k < t->n; k++) {
        const struct iinfo *ii = &t->info[k];
        const struct insn *in = &t->ins[k];
        if (!ii->native)
            return true;    /* flags_flush() before the handler call */
        if ((ii->def & def) == def)
            return true;
        if (ii->def)
            return true;    /* partial producer: translate_insn() saves first */
        int w;
        switch (in->op) {
        case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
        case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
        case 0x180: case 0x181: case 0x182: case 0x183: case 0x184: case 0x185: case 0x186:
        case 0x187: case 0x188: case 0x189: case 0x18a: case 0x18b: case 0x18c: case 0x18d:
        case 0x18e: case 0x18f:
            continue;       /* the taken exit replays in its stub */
        case 0xeb: case 0xe9: case 0xe8: case 0xc3: case 0xc2:
            return true;    /* flags_flush() at the exit, before any write */
        case 0xff:
            return in->reg == 2 || in->reg == 4;
        case 0x190: case 0x191: case 0x192: case 0x193: case 0x194: case 0x195: case 0x196:
        case 0x197: case 0x198: case 0x199: case 0x19a: case 0x19b: case 0x19c: case 0x19d:
        case 0x19e: case 0x19f:
            w = in->mod == 3 ? in->rm : -1;
            break;
        case 0x140: case 0x141: case 0x142: case 0x143: case 0x144: case 0x145: case 0x146:
        case 0x147: case 0x148: case 0x149: case 0x14a: case 0x14b: case 0x14c: case 0x14d:
        case 0x14e: case 0x14f:
            w = in->reg;
            break;
        case 0x88: case 0x89: case 0xc6: case 0xc7:
            w = in->mod == 3 ? in->rm : -1;
            break;
        case 0x8a: case 0x8b: case 0x8d: case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf:
            w = in->reg;
            break;
        case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
            w = in->op & 7;
            break;
        case 0xa1:
            w = R_EAX;
            break;
        case 0xa3:
            w = -1;
            break;
        case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
        case 0x68: case 0x6a:
            w = R_ESP;
            break;
        case 0xa4: case 0xa5: case 0xac: case 0xad:   /* MOVS LODS: ESI (EDI / EAX) */
            if (r->dst == R_ESI || r->src == R_ESI)
                return false;
            w = in->op < 0xac ? R_EDI : R_EAX;
            break;
        case 0xaa: case 0xab:                         /* STOS: EDI */
            w = R_EDI;
            break;
        default:
            return false;
        }
        if (w >= 0 && (w == r->dst || w == r->src))
            return false;
    }
    return true;            /* flags_flush() at the fall-through exit */
}

static void prod_end_af(struct tctx *t, uint32_t def, bool clear_af)
{
    struct emit *e = &t->m;
    uint32_t need = def & t->info[t->idx].live_after;
    struct replay cand = t->rp_cand;
    t->rp_cand.valid = false;
    if (t->replay) {
        /* replay_safe() guarantees this producer redefines them all */
        if (t->pend & ~def)
            abort();
        t->replay = false;
        t->pend = 0;
    }
    t->hostv = def;
    if (need && cand.valid && !clear_af && !(t->pend & ~def) &&
        replay_safe(t, def, &cand)) {
        /* recompute them where they are needed and no longer in the host
         * (TLB miss stubs, taken exits, readers after a clobber) */
        t->rp = cand;
        t->replay = true;
        t->pend = def;
        return;
    }
    if (!need) {
        t->pend &= ~def;
        return;
    }
    if (t->pend & ~def) {
        /* keep the older pending bits that this one does not write */
        flags_capture(e, H_RSI);
        e_alu_imm(e, 4, A_AND, HR(H_RSI), clear_af ? def & ~F_AF : def);
        e_alu_imm(e, 4, A_AND, HR(H_R12), ~def);
        e_alu_store(e, 4, A_OR, HR(H_R12), H_RSI);
        t->hostv = 0;
        t->pend |= def;
    } else {
        flags_capture(e, H_R12);
        t->hostv = 0;
        if (clear_af && (def & F_AF))
            e_alu_imm(e, 4, A_AND, HR(H_R12), ~F_AF);
        t->pend = def;
    }
}

/* Put guest CF into host CF (ADC/SBB). */
static void load_cf(struct tctx *t)
{
    if (t->hostv & F_CF)
        return;
    if (t->replay && (t->pend & F_CF)) {
        replay_host(t, &t->m);
        t->hostv = t->pend;
        return;
    }
    if (t->pend & F_CF)
        e_bt_imm(&t->m, 4, HR(H_R12), 0);
    else
        e_bt_imm(&t->m, 4, HM(H_RBX, OFF(eflags)), 0);
}

static uint32_t cc_flags(int cc)
{
    static const uint32_t m[8] = { F_OF, F_CF, F_ZF, F_CF | F_ZF, F_SF, F_PF,
                                   F_SF | F_OF, F_ZF | F_SF | F_OF };
    return m[(cc >> 1) & 7];
}

/* Make the host condition code that is true when guest condition cc
 * holds. May emit code (using eax, edx, esi; never ecx); clobbers host
 * flags except when the flags are already in the host. */
static int cond(struct tctx *t, int cc)
{
    struct emit *e = &t->m;
    uint32_t need = cc_flags(cc);
    if ((need & t->hostv) == need)
        return cc;
    if (t->replay && (need & t->pend) == need) {
        replay_host(t, &t->m);
        t->hostv = t->pend;
        return cc;
    }
    if (t->replay)
        flags_flush(t);
    struct hop src;
    if ((need & t->pend) == need)
        src = HR(H_R12);
    else {
        if (need & t->pend)
            flags_flush(t);
        src = HM(H_RBX, OFF(eflags));
    }
    t->hostv = 0;
    int k = (cc >> 1) & 7;
    if (k < 6) {
        e_test_imm(e, 4, src, need);
        return (cc & 1) ? HC_Z : HC_NZ;
    }
    e_mov_load(e, 4, H_RDX, src);
    e_mov_load(e, 4, H_RSI, HR(H_RDX));
    e_shift_imm(e, 4, SH_SHR, HR(H_RSI), 4);     /* OF -> bit 7 */
    e_alu_store(e, 4, A_XOR, HR(H_RSI), H_RDX);  /* bit 7 = SF ^ OF */
    if (k == 6) {
        e_test_imm(e, 4, HR(H_RSI), 0x80);
    } else {
        e_alu_imm(e, 4, A_AND, HR(H_RSI), 0x80);
        e_alu_imm(e, 4, A_AND, HR(H_RDX), F_ZF);
        e_alu_store(e, 4, A_OR, HR(H_RSI), H_RDX);
    }
    return (cc & 1) ? HC_Z : HC_NZ;
}

/* ---- common sequences ---- */
static void store_eip(struct emit *e, uint32_t eip)
{
    e_mov_imm(e, 4, HM(H_RBX, OFF(eip)), eip);
}

static void add_icount(struct emit *e, int n)
{
    if (n)
        e_alu_imm(e, 8, A_ADD, HM(H_RBX, OFF(icount)), (uint32_t)n);
}

/* Call the interpreter handler of instruction idx with the interpreter's
 * contract. Flags must be in cpu->eflags (the caller merged them). */
static void call_handler_r(struct tctx *t, int buf, int idx, uint32_t eip, uint32_t next, bool reload);
static void call_handler(struct tctx *t, int buf, int idx, uint32_t eip, uint32_t next)
{
    call_handler_r(t, buf, idx, eip, next, true);
}

/* reload false: the caller leaves through exit_synced() right after */
static void call_handler_r(struct tctx *t, int buf, int idx, uint32_t eip, uint32_t next, bool reload)
{
    struct emit *e = B(t, buf);
    e_mov_imm(e, 4, HM(H_RBX, OFF(insn_eip)), eip);
    e_mov_store(e, 4, HM(H_RBX, OFF(insn_esp)), host_of[R_ESP]);
    store_eip(e, next);
    regs_spill(e);
    e_mov_load(e, 8, H_RDI, HR(H_RBX));
    e_mov_r_imm64(e, H_RSI, (uint64_t)(uintptr_t)&t->copies[idx]);
    e_call_abs(e, (const void *)t->ins[idx].fn);
    e_mov_imm(e, 8, HM(H_RSP, SC_TAG), 0xffffffffu);    /* stack cache: invalid */
    if (reload)
        regs_reload(e);
    e_alu_imm(e, 8, A_ADD, HM(H_RBX, OFF(jit_stats.helper_calls)), 1);
}

#define OFF_JC(i, f) ((int32_t)(offsetof(struct cpu, jit_jc) + (i) * sizeof(struct jit_jc) + \
                              offsetof(struct jit_jc, f)))
_Static_assert(sizeof(struct jit_jc) == 32, "jump cache entry layout");

/* Can this block use the jump cache? (EIP is the linear address) */
static bool jc_ok(const struct tctx *t)
{
    return (t->key & (JK_CSFLAT | JK_CODE32)) == (JK_CSFLAT | JK_CODE32);
}

/* Jump-cache probe for the EIP in edx: on a hit jump to the chain entry,
 * else fall through (edx kept). Clobbers eax, ecx. */
static void jc_probe_edx(struct tctx *t, int buf)
{
    struct emit *e = B(t, buf);
    int miss = lbl_new(t);
    e_mov_load(e, 4, H_RAX, HR(H_RDX));
    e_alu_imm(e, 4, A_AND, HR(H_RAX), (1u << JIT_JC_BITS) - 1);
    e_shift_imm(e, 4, SH_SHL, HR(H_RAX), 5);
    e_alu_load(e, 4, A_CMP, H_RDX, HMX(H_RBX, H_RAX, 0, OFF_JC(0, eip)));
    jcc_to(t, buf, HC_NZ, miss);
    e_alu_imm(e, 4, A_CMP, HMX(H_RBX, H_RAX, 0, OFF_JC(0, key)), t->key);
    jcc_to(t, buf, HC_NZ, miss);
    e_mov_load(e, 4, H_RCX, HM(H_RBX, OFF(tlb.gen)));
    e_alu_load(e, 4, A_CMP, H_RCX, HMX(H_RBX, H_RAX, 0, OFF_JC(0, gen)));
    jcc_to(t, buf, HC_NZ, miss);
    e_jmp_mem(e, HMX(H_RBX, H_RAX, 0, OFF_JC(0, chain)));
    lbl_bind(t, miss, buf);
}

/* Exit to `target` (a known guest EIP), the `count` instructions up to
 * here retired. Chainable when in the block's page and CS is flat. Flags
 * must already be merged. Emitted into buf. */
static void exit_direct(struct tctx *t, int buf, uint32_t target, int count)
{
    struct emit *e = B(t, buf);
    add_icount(e, count);
    bool chain = (t->key & JK_CSFLAT) && (t->key & JK_CODE32) &&
                 ((target ^ t->eip0) & ~0xfffu) == 0;
    if (!chain) {
        if (jc_ok(t)) {
            /* jump cache, with the entry known now */
            unsigned i = target & ((1u << JIT_JC_BITS) - 1);
            int miss = lbl_new(t);
            e_alu_imm(e, 4, A_CMP, HM(H_RBX, OFF_JC(i, eip)), target);
            jcc_to(t, buf, HC_NZ, miss);
            e_alu_imm(e, 4, A_CMP, HM(H_RBX, OFF_JC(i, key)), t->key);
            jcc_to(t, buf, HC_NZ, miss);
            e_mov_load(e, 4, H_RCX, HM(H_RBX, OFF(tlb.gen)));
            e_alu_load(e, 4, A_CMP, H_RCX, HM(H_RBX, OFF_JC(i, gen)));
            jcc_to(t, buf, HC_NZ, miss);
            e_jmp_mem(e, HM(H_RBX, OFF_JC(i, chain)));
            lbl_bind(t, miss, buf);
        }
        store_eip(e, target);
        e_alu_store(e, 4, A_XOR, HR(H_RSI), H_RSI);
        jmp_to(t, buf, lbl_abs(t, t->j->lookup_exit));
        return;
    }
    /* patchable jmp; until linked it goes to the code right after it */
    uint8_t *f = e_jmp32(e);
    if (!f) {
        t->failed = true;
        return;
    }
    int lf = lbl_new(t);
    t->lab[lf] = (struct label){ buf, (uintptr_t)(f - e->start), true };
    int after = lbl_new(t);
    lbl_bind(t, after, buf);
    add_fix(t, buf, f, after, false);
    store_eip(e, target);
    mov_label_addr(t, buf, H_RSI, lf);
    jmp_to(t, buf, lbl_abs(t, t->j->lookup_exit));
}

/* Exit with cpu->eip already set (after handler calls, end_block). */
static void exit_dynamic(struct tctx *t, int buf, int count)
{
    struct emit *e = B(t, buf);
    add_icount(e, count);
    e_alu_store(e, 4, A_XOR, HR(H_RSI), H_RSI);
    jmp_to(t, buf, lbl_abs(t, t->j->lookup_exit));
}

/* exit_dynamic with cpu->r[] already current (right after a handler) */
static void exit_synced(struct tctx *t, int buf, int count)
{
    struct emit *e = B(t, buf);
    add_icount(e, count);
    e_alu_store(e, 4, A_XOR, HR(H_RSI), H_RSI);
    jmp_to(t, buf, lbl_abs(t, t->j->lookup_synced));
}

/* Exit of a native indirect jump/return: the target in edx. Jump cache
 * first, then the lookup. */
static void exit_indirect(struct tctx *t, int count)
{
    struct emit *e = &t->m;
    add_icount(e, count);
    if (jc_ok(t))
        jc_probe_edx(t, B_MAIN);
    e_mov_store(e, 4, HM(H_RBX, OFF(eip)), H_RDX);
    e_alu_store(e, 4, A_XOR, HR(H_RSI), H_RSI);
    jmp_to(t, B_MAIN, lbl_abs(t, t->j->lookup_exit));
}

/* End of a native indirect transfer whose target is in edx on the main
 * path; its slow path (the handler) joins with cpu->eip set. */
static void indirect_tail(struct tctx *t)
{
    int common = lbl_new(t);
    jmp_to(t, B_MAIN, common);
    lbl_bind(t, t->join, B_MAIN);
    e_mov_load(&t->m, 4, H_RDX, HM(H_RBX, OFF(eip)));
    lbl_bind(t, common, B_MAIN);
    exit_indirect(t, t->idx + 1);
}

/* ---- memory operands ---- */
static void emit_ea(struct tctx *t, const struct insn *in)
{
    struct emit *e = &t->m;
    int32_t d = (int32_t)in->disp;
    if (in->base != REG_NONE) {
        int b = host_of[in->base];
        if (in->index != REG_NONE)
            e_lea(e, 4, H_EA, HMX(b, host_of[in->index], in->scale, d));
        else if (d)
            e_lea(e, 4, H_EA, HM(b, d));
        else
            e_mov_load(e, 4, H_EA, HR(b));
    } else if (in->index != REG_NONE) {
        e_lea(e, 4, H_EA, HMX(-1, host_of[in->index], in->scale, d));
    } else {
        e_mov_r_imm32(e, H_EA, (uint32_t)d);
    }
}

/* Slow path of the current instruction: run its handler, then rejoin. */
static void slow_stub(struct tctx *t, uint32_t def_after)
{
    struct emit *s = &t->s;
    if (t->replay && t->pend)
        replay_emit(t, s);
    flags_merge(s, t->pend);
    call_handler(t, B_STUB, t->idx, t->eip, t->next);
    /* a write to translated code (or a mode change) ends the block */
    e_alu_imm(s, 4, A_CMP, HM(H_RBX, OFF(end_block)), 0);
    int cont = lbl_new(t);
    jcc_to(t, B_STUB, HC_Z, cont);
    exit_dynamic(t, B_STUB, t->idx + 1);
    lbl_bind(t, cont, B_STUB);
    if (def_after) {
        /* the fast path leaves the new flags pending in r12 and the host */
        e_mov_load(s, 4, H_R12, HM(H_RBX, OFF(eflags)));
        e_mov_load(s, 4, H_RAX, HR(H_R12));
        e_alu_imm(s, 4, A_AND, HR(H_RAX), FL_ALL);
        e_push(s, H_RAX);
        e_popfq(s);
    }
    jmp_to(t, B_STUB, t->join);
}

/* Inline TLB lookup for the address in edi (H_EA); hit: host base in rax
 * (operand hostmem()). Miss: the whole instruction via its handler. */
static void mem_access(struct tctx *t, int size, bool write, uint32_t def_after)
{
    struct emit *e = &t->m;
    int u = (t->key & JK_USER) ? 1 : 0;
    int32_t wtab = (int32_t)offsetof(struct cpu, tlb.set[u].write);
    int32_t tab = write ? wtab : (int32_t)offsetof(struct cpu, tlb.set[u].read);
    const struct insn *in = &t->ins[t->idx];
    bool stk = t->stk || (insn_is_mem(in) && in->base == R_ESP);
    t->stk = false;
    if (stk) {
        /* stack-page cache: (lin ^ tag) <= 4096 - size means the same
         * page and no crossing; the invalid tag (-1) never matches */
        struct emit *s = &t->s;
        int cmiss = lbl_new(t), cjoin = lbl_new(t), slow = lbl_new(t);
        e_mov_load(e, 4, H_RCX, HR(H_EA));
        e_alu_load(e, 8, A_XOR, H_RCX, HM(H_RSP, SC_TAG));
        e_alu_imm(e, 8, A_CMP, HR(H_RCX), 4096u - (unsigned)size);
        jcc_to(t, B_MAIN, HC_A, cmiss);
        e_mov_load(e, 8, H_RAX, HM(H_RSP, SC_ADD));
        lbl_bind(t, cjoin, B_MAIN);
        /* cache miss: the normal inline check, out of line */
        lbl_bind(t, cmiss, B_STUB);
        e_mov_load(s, 4, H_RAX, HR(H_EA));
        e_shift_imm(s, 4, SH_SHR, HR(H_RAX), 12 - 4);
        e_alu_imm(s, 4, A_AND, HR(H_RAX), (TLB_SIZE - 1) << 4);
        if (size > 1)
            e_lea(s, 4, H_RCX, HM(H_EA, size - 1));
        else
            e_mov_load(s, 4, H_RCX, HR(H_EA));
        e_alu_imm(s, 4, A_AND, HR(H_RCX), PAGE_MASK);
        if (!write) {
            /* refresh from the write entry when there is one */
            int nowr = lbl_new(t);
            e_alu_load(s, 4, A_CMP, H_RCX, HMX(H_RBX, H_RAX, 0, wtab + (int32_t)offsetof(struct tlb_entry, tag)));
            jcc_to(t, B_STUB, HC_NZ, nowr);
            e_mov_load(s, 8, H_RAX, HMX(H_RBX, H_RAX, 0, wtab + (int32_t)offsetof(struct tlb_entry, addend)));
            e_mov_store(s, 8, HM(H_RSP, SC_ADD), H_RAX);
            e_mov_store(s, 8, HM(H_RSP, SC_TAG), H_RCX);
            jmp_to(t, B_STUB, cjoin);   /* same host RAM as the read entry */
            lbl_bind(t, nowr, B_STUB);
        }
        e_alu_load(s, 4, A_CMP, H_RCX, HMX(H_RBX, H_RAX, 0, tab + (int32_t)offsetof(struct tlb_entry, tag)));
        jcc_to(t, B_STUB, HC_NZ, slow);
        e_mov_load(s, 8, H_RAX, HMX(H_RBX, H_RAX, 0, tab + (int32_t)offsetof(struct tlb_entry, addend)));
        if (write) {
            e_mov_store(s, 8, HM(H_RSP, SC_ADD), H_RAX);
            e_mov_store(s, 8, HM(H_RSP, SC_TAG), H_RCX);
        }
        jmp_to(t, B_STUB, cjoin);
        lbl_bind(t, slow, B_STUB);
        t->hostv = 0;
        slow_stub(t, def_after);
        return;
    }
    e_mov_load(e, 4, H_RAX, HR(H_EA));
    e_shift_imm(e, 4, SH_SHR, HR(H_RAX), 12 - 4);
    e_alu_imm(e, 4, A_AND, HR(H_RAX), (TLB_SIZE - 1) << 4);
    if (size > 1)
        e_lea(e, 4, H_RCX, HM(H_EA, size - 1));
    else
        e_mov_load(e, 4, H_RCX, HR(H_EA));
    e_alu_imm(e, 4, A_AND, HR(H_RCX), PAGE_MASK);
    e_alu_load(e, 4, A_CMP, H_RCX, HMX(H_RBX, H_RAX, 0, tab + (int32_t)offsetof(struct tlb_entry, tag)));
    int stub = lbl_new(t);
    jcc_to(t, B_MAIN, HC_NZ, stub);
    lbl_bind(t, stub, B_STUB);
    uint32_t hv = t->hostv;
    t->hostv = 0;
    slow_stub(t, def_after);
    (void)hv;
    e_mov_load(e, 8, H_RAX, HMX(H_RBX, H_RAX, 0, tab + (int32_t)offsetof(struct tlb_entry, addend)));
}

/* ---- classification ---- */
static bool seg_flat(const struct tctx *t, const struct insn *in)
{
    return in->seg < SEG_COUNT && (t->key & JK_FLAT(in->seg));
}

/* Memory operand usable natively? (or no memory operand at all) */
static bool mem_ok(const struct tctx *t, const struct insn *in)
{
    if (!insn_is_mem(in))
        return true;
    return in->adsize == 32 && seg_flat(t, in);
}

static bool stack_ok(const struct tctx *t)
{
    return (t->key & JK_STACK32) && (t->key & JK_FLAT(S_SS));
}

static int alu_size(const struct insn *in, int op)
{
    return (op & 1) ? (in->opsize == 32 ? 4 : 0) : 1;
}

/* Does a byte-sized instruction name AH, CH, DH or BH? (no host form
 * while guest registers live in host registers) */
static bool uses_hibyte(const struct insn *in)
{
    unsigned op = in->op;
    bool reg_b = false, rm_b = false;
    if (op < 0x40 && (op & 7) < 4 && !(op & 1)) {
        reg_b = rm_b = true;
    } else {
        switch (op) {
        case 0x84: case 0x86: case 0x88: case 0x8a:
            reg_b = rm_b = true;
            break;
        case 0x80: case 0xc0: case 0xd0: case 0xc6: case 0xf6: case 0xfe:
        case 0x1b6: case 0x1be:
        case 0x190: case 0x191: case 0x192: case 0x193: case 0x194: case 0x195: case 0x196: case 0x197:
        case 0x198: case 0x199: case 0x19a: case 0x19b: case 0x19c: case 0x19d: case 0x19e: case 0x19f:
            rm_b = true;
            break;
        case 0xb4: case 0xb5: case 0xb6: case 0xb7:
            return true;
        default:
            return false;
        }
    }
    return (reg_b && in->reg >= 4) || (rm_b && in->mod == 3 && in->rm >= 4);
}

/* Decide native or handler, and what the instruction does to flags. */
static struct iinfo classify(const struct tctx *t, const struct insn *in)
{
    struct iinfo r = { .native = false, .fault = true, .exit = false, .use = FL_ALL, .def = FL_ALL };
    struct iinfo nat = { .native = true, .fault = insn_is_mem(in), .exit = false, .use = 0, .def = 0 };
    unsigned op = in->op;
    if (!(t->key & JK_CODE32) || in->fn == op_ud || !mem_ok(t, in) || uses_hibyte(in))
        return r;
    if (op < 0x40 && (op & 7) < 6) {
        int size = alu_size(in, op);
        if (!size)
            return r;
        int aop = (op >> 3) & 7;
        nat.def = FL_ALL;
        nat.use = (aop == A_ADC || aop == A_SBB) ? F_CF : 0;
        return nat;
    }
    switch (op) {
    case 0x80: case 0x81: case 0x83:
        if (op != 0x80 && in->opsize != 32)
            return r;
        nat.def = FL_ALL;
        nat.use = (in->reg == A_ADC || in->reg == A_SBB) ? F_CF : 0;
        return nat;
    case 0x84: case 0x85: case 0xa8: case 0xa9:
        if ((op & 1) && in->opsize != 32)
            return r;
        nat.def = FL_ALL;
        return nat;
    case 0xf6: case 0xf7:
        if ((op & 1) && in->opsize != 32)
            return r;
        if (in->reg == 0 || in->reg == 3) {
            nat.def = FL_ALL;
            return nat;
        }
        if (in->reg == 2)
            return nat;
        return r;
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
        if (in->opsize != 32)
            return r;
        nat.def = FL_ALL & ~F_CF;
        return nat;
    case 0xfe: case 0xff:
        if (op == 0xff && in->opsize != 32)
            return r;
        if (in->reg <= 1) {
            nat.def = FL_ALL & ~F_CF;
            return nat;
        }
        if (op == 0xff && in->reg == 4 && (t->key & JK_CSFLAT)) {
            nat.exit = true;
            return nat;
        }
        if (op == 0xff && in->reg == 2 && in->mod == 3 && (t->key & JK_CSFLAT) && stack_ok(t)) {
            nat.exit = true;
            nat.fault = true;
            return nat;
        }
        return r;
    case 0x88: case 0x8a: case 0xc6:
        if (op == 0xc6 && in->reg != 0)
            return r;
        return nat;
    case 0x89: case 0x8b: case 0xc7:
        if (in->opsize != 32 || (op == 0xc7 && in->reg != 0))
            return r;
        return nat;
    case 0xa0: case 0xa1: case 0xa2: case 0xa3:
        if (in->adsize != 32 || ((op & 1) && in->opsize != 32) || !seg_flat(t, in))
            return r;
        nat.fault = true;
        return nat;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
        return nat;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
        return in->opsize == 32 ? nat : r;
    case 0x8d:
        if (in->opsize != 32 || in->adsize != 32 || in->mod == 3)
            return r;
        nat.fault = false;
        return nat;
    case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf:
        return in->opsize == 32 ? nat : r;
    case 0x1af: case 0x69: case 0x6b:
        if (in->opsize != 32)
            return r;
        nat.def = FL_ALL;
        return nat;
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: {
        if ((op & 1) && in->opsize != 32)
            return r;
        int cnt = (op >= 0xd0) ? 1 : (in->imm & 31);
        if (cnt == 0 || in->reg == SH_RCL || in->reg == SH_RCR)
            return r;
        nat.def = (in->reg == SH_ROL || in->reg == SH_ROR) ? (F_CF | F_OF) : FL_ALL;
        return nat;
    }
    case 0x86: case 0x87:
        if ((op & 1) && in->opsize != 32)
            return r;
        return nat;
    case 0xa4: case 0xa5: case 0xaa: case 0xab: case 0xac: case 0xad:
        /* MOVS STOS LODS without REP: source in->seg:ESI, destination
         * ES:EDI, both flat; DF=1 takes the handler path */
        if (in->pfx & (PFX_REP | PFX_REPNE))
            return r;
        if (in->adsize != 32 || ((op & 1) && in->opsize != 32))
            return r;
        if (op != 0xaa && op != 0xab && !seg_flat(t, in))
            return r;
        if (op < 0xac && !(t->key & JK_FLAT(S_ES)))
            return r;
        nat.fault = true;
        return nat;
    case 0x90:
        if (in->pfx & (PFX_REP | PFX_REPNE))
            return r; /* PAUSE is fine natively too, keep it simple */
        return nat;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
    case 0x98: case 0x99:
        return in->opsize == 32 ? nat : r;
    case 0x1c8: case 0x1c9: case 0x1ca: case 0x1cb: case 0x1cc: case 0x1cd: case 0x1ce: case 0x1cf:
        return in->opsize == 32 ? nat : r;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
    case 0x68: case 0x6a:
        if (in->opsize != 32 || !stack_ok(t))
            return r;
        nat.fault = true;
        return nat;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
    case 0x180: case 0x181: case 0x182: case 0x183: case 0x184: case 0x185: case 0x186: case 0x187:
    case 0x188: case 0x189: case 0x18a: case 0x18b: case 0x18c: case 0x18d: case 0x18e: case 0x18f:
        if (in->opsize != 32 || !(t->key & JK_CSFLAT))
            return r;
        nat.use = cc_flags(op & 15);
        nat.exit = true;
        return nat;
    case 0xeb: case 0xe9:
        if (in->opsize != 32 || !(t->key & JK_CSFLAT))
            return r;
        nat.exit = true;
        return nat;
    case 0xe8:
        if (in->opsize != 32 || !(t->key & JK_CSFLAT) || !stack_ok(t))
            return r;
        nat.exit = true;
        nat.fault = true;
        return nat;
    case 0xc3: case 0xc2:
        if (in->opsize != 32 || !(t->key & JK_CSFLAT) || !stack_ok(t))
            return r;
        nat.exit = true;
        nat.fault = true;
        return nat;
    case 0x190: case 0x191: case 0x192: case 0x193: case 0x194: case 0x195: case 0x196: case 0x197:
    case 0x198: case 0x199: case 0x19a: case 0x19b: case 0x19c: case 0x19d: case 0x19e: case 0x19f:
        nat.use = cc_flags(op & 15);
        return nat;
    case 0x140: case 0x141: case 0x142: case 0x143: case 0x144: case 0x145: case 0x146: case 0x147:
    case 0x148: case 0x149: case 0x14a: case 0x14b: case 0x14c: case 0x14d: case 0x14e: case 0x14f:
        if (in->opsize != 32)
            return r;
        nat.use = cc_flags(op & 15);
        return nat;
    default:
        return r;
    }
}

/* ---- native emission ---- */

/* Source operand of a G/E form into ecx (or cl/cx). */
static void load_rm(struct tctx *t, const struct insn *in, int size, int reg, uint32_t def_after)
{
    if (in->mod == 3) {
        e_mov_load(&t->m, size, reg, greg(in->rm, size));
    } else {
        emit_ea(t, in);
        mem_access(t, size, false, def_after);
        e_mov_load(&t->m, size, reg, hostmem());
    }
}

/* ALU op dst, src where dst is r/m (E) and src a register number or imm */
static void emit_alu(struct tctx *t, const struct insn *in, int aop, int size, int form)
{
    /* form 0: E <- E op G; 1: G <- G op E; 2: E <- E op imm; 3: acc op imm */
    struct emit *e = &t->m;
    bool ro = (aop == A_CMP);
    struct hop dst;
    if (form == 1) {
        load_rm(t, in, size, H_RCX, FL_ALL);
        dst = greg(in->reg, size);
    } else if (form == 3) {
        dst = greg(R_EAX, size);
    } else if (in->mod == 3) {
        dst = greg(in->rm, size);
    } else {
        emit_ea(t, in);
        mem_access(t, size, !ro, FL_ALL);
        e_lea(e, 8, H_RDX, hostmem());
        dst = HM(H_RDX, 0);
    }
    if (form == 0)
        e_mov_load(e, size, H_RCX, greg(in->reg, size));
    if (aop == A_ADC || aop == A_SBB)
        load_cf(t);
    if (form >= 2)
        e_alu_imm(e, size, aop, dst, in->imm);
    else
        e_alu_store(e, size, aop, dst, H_RCX);
    if (size == 4 && (aop == A_ADD || aop == A_SUB || aop == A_CMP) &&
        (form == 3 || in->mod == 3)) {
        struct replay r = { true, aop, -1, -1, in->imm };
        switch (form) {
        case 0: r.dst = in->rm; r.src = in->reg; break;
        case 1: r.dst = in->reg; r.src = in->rm; break;
        case 2: r.dst = in->rm; break;
        default: r.dst = R_EAX; break;
        }
        if (aop == A_CMP || r.src != r.dst)
            t->rp_cand = r;
    }
    prod_end(t, FL_ALL);
}

static void emit_test(struct tctx *t, const struct insn *in, int size, bool imm)
{
    struct emit *e = &t->m;
    struct hop dst;
    if (in->op == 0xa8 || in->op == 0xa9) {
        dst = greg(R_EAX, size);
    } else if (in->mod == 3) {
        dst = greg(in->rm, size);
    } else {
        emit_ea(t, in);
        mem_access(t, size, false, FL_ALL);
        dst = hostmem();
    }
    if (imm)
        e_test_imm(e, size, dst, in->imm);
    else {
        e_mov_load(e, size, H_RCX, greg(in->reg, size));
        e_test(e, size, dst, H_RCX);
    }
    if (size == 4 && (in->op == 0xa9 || in->mod == 3)) {
        struct replay r = { true, RP_TEST, in->op == 0xa9 ? R_EAX : in->rm, imm ? -1 : in->reg, in->imm };
        t->rp_cand = r;
    }
    prod_end(t, FL_ALL);
}

/* r/m destination for an in-place op (INC, NOT, shifts...). */
static struct hop rmw_dst(struct tctx *t, const struct insn *in, int size, uint32_t def)
{
    if (in->mod == 3)
        return greg(in->rm, size);
    emit_ea(t, in);
    mem_access(t, size, true, def);
    return hostmem();
}

/* push the value in edx (32-bit stack) */
static void emit_push_edx(struct tctx *t)
{
    struct emit *e = &t->m;
    e_lea(e, 4, H_EA, HM(host_of[R_ESP], -4));
    t->stk = true;
    mem_access(t, 4, true, 0);
    e_mov_store(e, 4, hostmem(), H_RDX);
    e_mov_store(e, 4, greg(R_ESP, 4), H_EA);
}

static void emit_native(struct tctx *t, const struct insn *in)
{
    struct emit *e = &t->m;
    unsigned op = in->op;
    int idx = t->idx;
    if (op < 0x40 && (op & 7) < 6) {
        int size = alu_size(in, op);
        int aop = (op >> 3) & 7;
        switch (op & 7) {
        case 0: case 1: emit_alu(t, in, aop, size, 0); break;
        case 2: case 3: emit_alu(t, in, aop, size, 1); break;
        default: emit_alu(t, in, aop, size, 3); break;
        }
        return;
    }
    switch (op) {
    case 0x80: case 0x81: case 0x83:
        emit_alu(t, in, in->reg, op == 0x80 ? 1 : 4, 2);
        return;
    case 0x84: case 0x85:
        emit_test(t, in, op == 0x84 ? 1 : 4, false);
        return;
    case 0xa8: case 0xa9:
        emit_test(t, in, op == 0xa8 ? 1 : 4, true);
        return;
    case 0xf6: case 0xf7: {
        int size = op == 0xf6 ? 1 : 4;
        if (in->reg == 0) {
            emit_test(t, in, size, true);
            return;
        }
        uint32_t def = in->reg == 3 ? FL_ALL : 0;
        struct hop d = rmw_dst(t, in, size, def);
        e_unary(e, size, in->reg, d);
        if (def)
            prod_end(t, def);
        return;
    }
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
        e_incdec(e, 4, op >= 0x48, greg(op & 7, 4));
        t->rp_cand = (struct replay){ true, op >= 0x48 ? RP_DEC : RP_INC, op & 7, -1, 0 };
        prod_end(t, FL_ALL & ~F_CF);
        return;
    case 0xfe: case 0xff: {
        int size = op == 0xfe ? 1 : 4;
        if (in->reg <= 1) {
            struct hop d = rmw_dst(t, in, size, FL_ALL & ~F_CF);
            e_incdec(e, size, in->reg == 1, d);
            if (size == 4 && in->mod == 3)
                t->rp_cand = (struct replay){ true, in->reg == 1 ? RP_DEC : RP_INC, in->rm, -1, 0 };
            prod_end(t, FL_ALL & ~F_CF);
            return;
        }
        if (in->reg == 4) { /* JMP r/m32 */
            flags_flush(t);
            load_rm(t, in, 4, H_RDX, 0);
            indirect_tail(t);
            return;
        }
        /* CALL r32 */
        flags_flush(t);
        e_mov_load(e, 4, H_RSI, greg(in->rm, 4));
        e_mov_r_imm32(e, H_RDX, t->next);
        emit_push_edx(t);
        e_mov_load(e, 4, H_RDX, HR(H_RSI));
        indirect_tail(t);
        return;
    }
    case 0x88: case 0x89: {
        int size = op == 0x88 ? 1 : 4;
        e_mov_load(e, size, H_RDX, greg(in->reg, size));
        if (in->mod == 3) {
            e_mov_store(e, size, greg(in->rm, size), H_RDX);
        } else {
            emit_ea(t, in);
            mem_access(t, size, true, 0);
            e_mov_store(e, size, hostmem(), H_RDX);
        }
        return;
    }
    case 0x8a: case 0x8b: {
        int size = op == 0x8a ? 1 : 4;
        load_rm(t, in, size, H_RDX, 0);
        e_mov_store(e, size, greg(in->reg, size), H_RDX);
        return;
    }
    case 0xc6: case 0xc7: {
        int size = op == 0xc6 ? 1 : 4;
        if (in->mod == 3) {
            e_mov_imm(e, size, greg(in->rm, size), in->imm);
        } else {
            emit_ea(t, in);
            mem_access(t, size, true, 0);
            e_mov_imm(e, size, hostmem(), in->imm);
        }
        return;
    }
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
        int size = (op & 1) ? 4 : 1;
        e_mov_r_imm32(e, H_EA, in->disp);
        if (op >= 0xa2) {
            e_mov_load(e, size, H_RDX, greg(R_EAX, size));
            mem_access(t, size, true, 0);
            e_mov_store(e, size, hostmem(), H_RDX);
        } else {
            mem_access(t, size, false, 0);
            e_mov_load(e, size, H_RDX, hostmem());
            e_mov_store(e, size, greg(R_EAX, size), H_RDX);
        }
        return;
    }
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
        e_mov_imm(e, 1, greg(op & 7, 1), in->imm);
        return;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
        e_mov_imm(e, 4, greg(op & 7, 4), in->imm);
        return;
    case 0x8d:
        emit_ea(t, in);
        e_mov_store(e, 4, greg(in->reg, 4), H_EA);
        return;
    case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf: {
        int ss = (op & 1) ? 2 : 1;
        struct hop src;
        if (in->mod == 3) {
            src = greg(in->rm, ss);
        } else {
            emit_ea(t, in);
            mem_access(t, ss, false, 0);
            src = hostmem();
        }
        if (op <= 0x1b7)
            e_movzx(e, ss, H_RDX, src);
        else
            e_movsx(e, ss, H_RDX, src);
        e_mov_store(e, 4, greg(in->reg, 4), H_RDX);
        return;
    }
    case 0x1af:
        load_rm(t, in, 4, H_RCX, FL_ALL);
        e_mov_load(e, 4, H_RDX, greg(in->reg, 4));
        e_imul(e, 4, H_RDX, HR(H_RCX));
        prod_end_af(t, FL_ALL, true);
        e_mov_store(e, 4, greg(in->reg, 4), H_RDX);
        return;
    case 0x69: case 0x6b:
        load_rm(t, in, 4, H_RCX, FL_ALL);
        e_imul_imm(e, 4, H_RDX, HR(H_RCX), in->imm);
        prod_end_af(t, FL_ALL, true);
        e_mov_store(e, 4, greg(in->reg, 4), H_RDX);
        return;
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: {
        int size = (op & 1) ? 4 : 1;
        int cnt = (op >= 0xd0) ? 1 : (in->imm & 31);
        uint32_t def = (in->reg == SH_ROL || in->reg == SH_ROR) ? (F_CF | F_OF) : FL_ALL;
        struct hop d = rmw_dst(t, in, size, def);
        e_shift_imm(e, size, in->reg == SH_SAL ? SH_SHL : in->reg, d, (uint8_t)cnt);
        prod_end_af(t, def, true);
        return;
    }
    case 0x86: case 0x87: {
        int size = op == 0x86 ? 1 : 4;
        if (in->mod == 3) {
            e_mov_load(e, size, H_RCX, greg(in->reg, size));
            e_mov_load(e, size, H_RDX, greg(in->rm, size));
            e_mov_store(e, size, greg(in->rm, size), H_RCX);
        } else {
            emit_ea(t, in);
            mem_access(t, size, true, 0);
            e_mov_load(e, size, H_RCX, greg(in->reg, size));
            e_mov_load(e, size, H_RDX, hostmem());
            e_mov_store(e, size, hostmem(), H_RCX);
        }
        e_mov_store(e, size, greg(in->reg, size), H_RDX);
        return;
    }
    case 0xa4: case 0xa5: case 0xaa: case 0xab: case 0xac: case 0xad: {
        /* one string element; the index registers are committed (lea:
         * the host flags stay) only after both accesses hit the TLB */
        int size = (op & 1) ? 4 : 1;
        int up = lbl_new(t);
        e_test_imm(e, 4, HM(H_RBX, OFF(eflags)), F_DF);
        jcc_to(t, B_MAIN, HC_NZ, up);
        lbl_bind(t, up, B_STUB);
        t->hostv = 0;
        slow_stub(t, 0);
        if (op != 0xaa && op != 0xab) {
            e_mov_load(e, 4, H_EA, greg(R_ESI, 4));
            mem_access(t, size, false, 0);
            if (op >= 0xac)
                e_mov_load(e, size, host_of[R_EAX], hostmem());
            else if (size == 1)
                e_movzx(e, 1, H_RDX, hostmem());
            else
                e_mov_load(e, 4, H_RDX, hostmem());
        }
        if (op < 0xac) {
            e_mov_load(e, 4, H_EA, greg(R_EDI, 4));
            mem_access(t, size, true, 0);
            e_mov_store(e, size, hostmem(), op >= 0xaa ? host_of[R_EAX] : H_RDX);
            e_lea(e, 4, host_of[R_EDI], HM(host_of[R_EDI], size));
        }
        if (op != 0xaa && op != 0xab)
            e_lea(e, 4, host_of[R_ESI], HM(host_of[R_ESI], size));
        return;
    }
    case 0x90:
        return;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
        e_mov_load(e, 4, H_RCX, greg(R_EAX, 4));
        e_mov_load(e, 4, H_RDX, greg(op & 7, 4));
        e_mov_store(e, 4, greg(op & 7, 4), H_RCX);
        e_mov_store(e, 4, greg(R_EAX, 4), H_RDX);
        return;
    case 0x98:
        e_movsx(e, 2, H_RDX, greg(R_EAX, 2));
        e_mov_store(e, 4, greg(R_EAX, 4), H_RDX);
        return;
    case 0x99:
        e_mov_load(e, 4, H_RDX, greg(R_EAX, 4));
        e_shift_imm(e, 4, SH_SAR, HR(H_RDX), 31);   /* does not matter: flags are not guest-visible */
        e_mov_store(e, 4, greg(R_EDX, 4), H_RDX);
        t->hostv = 0;
        return;
    case 0x1c8: case 0x1c9: case 0x1ca: case 0x1cb: case 0x1cc: case 0x1cd: case 0x1ce: case 0x1cf:
        e_mov_load(e, 4, H_RDX, greg(op & 7, 4));
        e_bswap(e, H_RDX);
        e_mov_store(e, 4, greg(op & 7, 4), H_RDX);
        return;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
        e_mov_load(e, 4, H_RDX, greg(op & 7, 4));
        emit_push_edx(t);
        return;
    case 0x68: case 0x6a:
        e_mov_r_imm32(e, H_RDX, in->imm);
        emit_push_edx(t);
        return;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
        e_mov_load(e, 4, H_EA, greg(R_ESP, 4));
        t->stk = true;
        mem_access(t, 4, false, 0);
        e_mov_load(e, 4, H_RDX, hostmem());
        e_lea(e, 4, H_RCX, HM(H_EA, 4));
        e_mov_store(e, 4, greg(R_ESP, 4), H_RCX);
        e_mov_store(e, 4, greg(op & 7, 4), H_RDX);
        return;
    case 0xeb: case 0xe9:
        flags_flush(t);
        exit_direct(t, B_MAIN, t->next + in->imm, idx + 1);
        return;
    case 0xe8:
        flags_flush(t);
        e_mov_r_imm32(e, H_RDX, t->next);
        emit_push_edx(t);
        lbl_bind(t, t->join, B_MAIN);
        exit_direct(t, B_MAIN, t->next + in->imm, idx + 1);
        return;
    case 0xc3: case 0xc2:
        flags_flush(t);
        e_mov_load(e, 4, H_EA, greg(R_ESP, 4));
        t->stk = true;
        mem_access(t, 4, false, 0);
        e_mov_load(e, 4, H_RDX, hostmem());
        e_lea(e, 4, H_RCX, HM(H_EA, 4 + (op == 0xc2 ? (int32_t)(in->imm & 0xffff) : 0)));
        e_mov_store(e, 4, greg(R_ESP, 4), H_RCX);
        indirect_tail(t);
        return;
    case 0x190: case 0x191: case 0x192: case 0x193: case 0x194: case 0x195: case 0x196: case 0x197:
    case 0x198: case 0x199: case 0x19a: case 0x19b: case 0x19c: case 0x19d: case 0x19e: case 0x19f: {
        struct hop d;
        if (in->mod == 3) {
            d = greg(in->rm, 1);
        } else {
            emit_ea(t, in);
            mem_access(t, 1, true, 0);
            /* cond() may clobber rax (flags_capture), not rcx */
            e_lea(e, 8, H_RCX, hostmem());
            d = HM(H_RCX, 0);
        }
        int hc = cond(t, op & 15);
        e_setcc(e, hc, d);
        return;
    }
    case 0x140: case 0x141: case 0x142: case 0x143: case 0x144: case 0x145: case 0x146: case 0x147:
    case 0x148: case 0x149: case 0x14a: case 0x14b: case 0x14c: case 0x14d: case 0x14e: case 0x14f: {
        load_rm(t, in, 4, H_RCX, 0);
        int hc = cond(t, op & 15);
        e_mov_load(e, 4, H_RAX, greg(in->reg, 4));
        e_cmov(e, 4, hc, H_RAX, HR(H_RCX));
        e_mov_store(e, 4, greg(in->reg, 4), H_RAX);
        return;
    }
    default:
        break;
    }
    /* conditional branches */
    int cc = op & 15;
    uint32_t target = t->next + in->imm;
    int hc = cond(t, cc);
    /* the taken path leaves the block: all flags must be in memory there */
    int taken = lbl_new(t);
    jcc_to(t, B_MAIN, hc, taken);
    lbl_bind(t, taken, B_STUB);
    if (t->replay && t->pend)
        replay_emit(t, &t->s);
    flags_merge(&t->s, t->pend);
    exit_direct(t, B_STUB, target, idx + 1);
}

/* ---- block translation ---- */

/* Handlers after which the block must not go on: they may change what
 * the translation key describes (segments, stack size, CPL, paging,
 * interrupt shadow) or transfer control far away. */
static bool helper_ends(const struct insn *in)
{
    switch (in->op) {
    case 0x07: case 0x17: case 0x1f: case 0x8e: case 0xc4: case 0xc5:
    case 0x1a1: case 0x1a9: case 0x1b2: case 0x1b4: case 0x1b5:
    case 0x100: case 0x101: case 0x106: case 0x108: case 0x109:
    case 0x120: case 0x121: case 0x122: case 0x123: case 0x124: case 0x126:
    case 0x130: case 0x134: case 0x135:
    case 0x9a: case 0xea: case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf:
    case 0x9d: case 0xfb: case 0xf4:
        return true;
    case 0xff:
        return in->reg == 3 || in->reg == 5;
    default:
        return false;
    }
}

static void translate_insn(struct tctx *t)
{
    const struct insn *in = &t->ins[t->idx];
    struct iinfo *ii = &t->info[t->idx];
    struct emit *e = &t->m;
    t->join = lbl_new(t);
    t->rp_cand.valid = false;
    if (t->replay && ii->native && ii->def && (ii->def & t->pend) != t->pend) {
        /* a partial producer: the replayed bits it keeps go to r12 now */
        replay_emit(t, e);
        t->replay = false;
        t->hostv = 0;
    }
    if (ii->native) {
        emit_native(t, in);
        if (!t->lab[t->join].bound)
            lbl_bind(t, t->join, B_MAIN);
        return;
    }
    flags_flush(t);
    bool last = t->idx == t->n - 1 || helper_ends(in);
    call_handler_r(t, B_MAIN, t->idx, t->eip, t->next, !last);
    t->hostv = 0;
    if (last) {
        exit_synced(t, B_MAIN, t->idx + 1);
        return;
    }
    int out = lbl_new(t);
    e_alu_imm(e, 4, A_CMP, HM(H_RBX, OFF(eip)), t->next);
    jcc_to(t, B_MAIN, HC_NZ, out);
    e_alu_imm(e, 4, A_CMP, HM(H_RBX, OFF(end_block)), 0);
    jcc_to(t, B_MAIN, HC_NZ, out);
    lbl_bind(t, out, B_STUB);
    exit_dynamic(t, B_STUB, t->idx + 1);
    lbl_bind(t, t->join, B_MAIN);
}

static bool is_uncond_exit(const struct insn *in)
{
    switch (in->op) {
    case 0xeb: case 0xe9: case 0xe8: case 0xc3: case 0xc2:
        return true;
    case 0xff:
        return in->reg == 2 || in->reg == 4;
    default:
        return false;
    }
}

static void emit_prefix(struct jit *j)
{
    struct codecache *cc = &j->cc;
    struct emit e;
    emit_init(&e, cc->rw, cc->rw + 1024);
    /* enter(cpu, body): save the callee-saved registers (six pushes and
     * the 8 below keep rsp 16-byte aligned in blocks), load the guest
     * registers, jump to the body */
    j->enter = codecache_rx_of(cc, e.p);
    e_push(&e, H_RBX);
    e_push(&e, H_RBP);
    e_push(&e, H_R12);
    e_push(&e, H_R13);
    e_push(&e, H_R14);
    e_push(&e, H_R15);
    e_alu_imm(&e, 8, A_SUB, HR(H_RSP), SC_FRAME);
    e_mov_load(&e, 8, H_RBX, HR(H_RDI));
    regs_reload(&e);
    e_mov_imm(&e, 8, HM(H_RSP, SC_TAG), 0xffffffffu);   /* stack cache: invalid */
    e_jmp_reg(&e, H_RSI);
    /* epilogue: write the guest registers back, return to C */
    j->epilogue = codecache_rx_of(cc, e.p);
    regs_spill(&e);
    uint8_t *ret_only = e.p;
    e_alu_imm(&e, 8, A_ADD, HR(H_RSP), SC_FRAME);
    e_pop(&e, H_R15);
    e_pop(&e, H_R14);
    e_pop(&e, H_R13);
    e_pop(&e, H_R12);
    e_pop(&e, H_RBP);
    e_pop(&e, H_RBX);
    e_ret(&e);
    /* lookup exit: rsi = patch or 0, cpu->eip set */
    j->lookup_exit = codecache_rx_of(cc, e.p);
    regs_spill(&e);
    j->lookup_synced = codecache_rx_of(cc, e.p);
    e_mov_load(&e, 8, H_RDI, HR(H_RBX));
    e_call_abs(&e, (const void *)jit_lookup);
    e_mov_imm(&e, 8, HM(H_RSP, SC_TAG), 0xffffffffu);   /* stack cache: invalid */
    e_test(&e, 8, HR(H_RAX), H_RAX);
    uint8_t *f = e_jcc32(&e, HC_Z);
    emit_patch_rel32(f, ret_only);
    regs_reload(&e);
    e_jmp_reg(&e, H_RAX);
    if (e.overflow)
        abort();
    cc->reserved = cc->used = ((size_t)(e.p - cc->rw) + 63) & ~(size_t)63;
}

int jit_init(struct cpu *cpu)
{
    if (cpu->jit)
        return 0;
    struct jit *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    size_t size = cpu->jit_cache_size ? cpu->jit_cache_size : JIT_CACHE_DEFAULT;
    if (size < JIT_CACHE_MIN)
        size = JIT_CACHE_MIN;
    j->stubbuf = malloc(STUB_MAX);
    if (!j->stubbuf || codecache_init(&j->cc, size) < 0) {
        free(j->stubbuf);
        free(j);
        return -1;
    }
    emit_prefix(j);
    j->epoch = 1;
    const char *pm = getenv("VSMP_PERF_MAP");
    if (pm && *pm && *pm != '0') {
        /* perf's JIT symbol map: "START SIZE name" per line */
        char path[64];
        snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
        j->perf_map = fopen(path, "w");
        if (j->perf_map) {
            setvbuf(j->perf_map, NULL, _IOLBF, 0);
            fprintf(j->perf_map, "%llx %zx jit_prefix\n",
                    (unsigned long long)(uintptr_t)j->cc.rx, j->cc.reserved);
        }
    }
    cpu->jit = j;
    return 0;
}

void jit_free(struct cpu *cpu)
{
    struct jit *j = cpu->jit;
    if (!j)
        return;
    if (j->perf_map) {
        /* VSMP_PERF_MAP=2: also dump the code cache next to the map, for
         * objdump -b binary -m i386:x86-64 --adjust-vma=<first map address> */
        const char *pm = getenv("VSMP_PERF_MAP");
        if (pm && pm[0] == '2') {
            char path[64];
            snprintf(path, sizeof path, "/tmp/perf-%d.bin", (int)getpid());
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(j->cc.rw, 1, j->cc.used, f);
                fclose(f);
            }
        }
        fclose(j->perf_map);
    }
    codecache_free(&j->cc);
    free(j->stubbuf);
    free(j);
    cpu->jit = NULL;
}

uint32_t jit_epoch(const struct cpu *cpu)
{
    return cpu->jit ? cpu->jit->epoch : 0;
}

void jit_flush(struct cpu *cpu)
{
    struct jit *j = cpu->jit;
    codecache_reset(&j->cc);
    j->epoch++;
    cpu->tlb.gen++;     /* the jump cache points into the old epoch */
    cpu->jit_stats.flushes++;
}

static bool seg_is_flat(const struct segment *s, bool need_rw)
{
    return s->base == 0 && s->limit == 0xffffffffu &&
           (!need_rw || (s->fast & (SEGF_R | SEGF_W)) == (SEGF_R | SEGF_W));
}

uint32_t jit_key(const struct cpu *cpu)
{
    uint32_t k = 0;
    if (cpu->code32)
        k |= JK_CODE32;
    if (cpu->stack32)
        k |= JK_STACK32;
    if (cpu->cpl == 3)
        k |= JK_USER;
    if (cpu_v86(cpu))
        k |= JK_VM;         /* never run in real or protected mode, nor vice versa */
    if (seg_is_flat(&cpu->seg[S_CS], false))
        k |= JK_CSFLAT;
    for (int s = 0; s < SEG_COUNT; s++)
        if (s != S_CS && seg_is_flat(&cpu->seg[s], true))
            k |= JK_FLAT(s);
    return k;
}

void jit_enter(struct cpu *cpu, const uint8_t *body)
{
    void (*fn)(struct cpu *, const uint8_t *) =
        (void (*)(struct cpu *, const uint8_t *))(uintptr_t)cpu->jit->enter;
    fn(cpu, body);
}

void jit_patch(struct cpu *cpu, uint8_t *patch, const uint8_t *target)
{
    struct codecache *cc = &cpu->jit->cc;
    if (!codecache_owns_rx(cc, patch) || !codecache_owns_rx(cc, target))
        return;
    int32_t rel = (int32_t)(target - (patch + 4));
    memcpy(codecache_rw_of(cc, patch), &rel, 4);
    cpu->jit_stats.chain_links++;
}

static uintptr_t lbl_addr(const struct tctx *t, int l, uint8_t *main_rw, uint32_t mainlen)
{
    const struct label *lb = &t->lab[l];
    const struct codecache *cc = &t->j->cc;
    switch (lb->buf) {
    case B_MAIN: return (uintptr_t)codecache_rx_of(cc, main_rw + lb->off);
    case B_STUB: return (uintptr_t)codecache_rx_of(cc, main_rw + mainlen + lb->off);
    default: return lb->off;
    }
}

bool jit_translate(struct cpu *cpu, const struct insn *ins, int n, uint32_t eip, uint32_t key,
                   uint32_t page, struct jit_tb *out)
{
    struct jit *j = cpu->jit;
    struct codecache *cc = &j->cc;
    struct tctx *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    if (n > 64)
        n = 64;
    t->cpu = cpu;
    t->j = j;
    t->key = key;
    t->eip0 = eip;
    t->n = n;
    t->ins = ins;

    /* instruction copies first: handlers get pointers to them */
    size_t start = (cc->used + 15) & ~(size_t)15;
    size_t csize = (size_t)n * sizeof(struct insn);
    if (start + csize + BLOCK_RESERVE > cc->size) {
        free(t);
        return false;
    }
    memcpy(cc->rw + start, ins, csize);
    t->copies = (const struct insn *)(void *)codecache_rx_of(cc, cc->rw + start);
    uint8_t *main_rw = cc->rw + ((start + csize + 15) & ~(size_t)15);
    emit_init(&t->m, main_rw, cc->rw + cc->size);
    emit_init(&t->s, j->stubbuf, j->stubbuf + STUB_MAX);

    /* classification and flag liveness */
    uint32_t mask = key & JK_CODE32 ? 0xffffffffu : 0xffffu;
    int helpers = 0;
    for (int i = 0; i < n; i++) {
        t->info[i] = classify(t, &ins[i]);
        if (!t->info[i].native)
            helpers++;
    }
    uint32_t live = FL_ALL;
    for (int i = n - 1; i >= 0; i--) {
        struct iinfo *ii = &t->info[i];
        ii->live_after = live;
        uint32_t use = ii->use;
        if (ii->fault || ii->exit)
            use = FL_ALL;
        live = use | (live & ~ii->def);
    }

    /* chain entry: events and the instruction budget */
    struct emit *e = &t->m;
    int ev = lbl_new(t);
    int evchk = lbl_new(t), intchk = lbl_new(t);
    e_mov_load(e, 4, H_RAX, HM(H_RBX, OFF(exit_request)));
    e_alu_load(e, 4, A_OR, H_RAX, HM(H_RBX, OFF(nmi)));
    jcc_to(t, B_MAIN, HC_NZ, evchk);
    lbl_bind(t, intchk, B_MAIN);
    int noint = lbl_new(t);
    e_alu_imm(e, 4, A_CMP, HM(H_RBX, OFF(intr)), 0);
    jcc_to(t, B_MAIN, HC_Z, noint);
    e_test_imm(e, 4, HM(H_RBX, OFF(eflags)), F_IF);
    jcc_to(t, B_MAIN, HC_NZ, ev);
    lbl_bind(t, noint, B_MAIN);
    e_mov_load(e, 8, H_RAX, HM(H_RBX, OFF(icount)));
    e_alu_load(e, 8, A_CMP, H_RAX, HM(H_RBX, OFF(jit_stop)));
    jcc_to(t, B_MAIN, HC_AE, ev);
    /* entered from another block (chain or jump cache): its page is now
     * the one whose writes end the block */
    e_mov_imm(e, 4, HM(H_RBX, OFF(cur_code_page)), page);
    lbl_bind(t, ev, B_STUB);
    store_eip(&t->s, eip);
    jmp_to(t, B_STUB, lbl_abs(t, j->epilogue));
    /* exit_request or an NMI: an NMI blocked by an earlier one (until the
     * next IRET, cpu_nmi_ready()) does not stop the block */
    lbl_bind(t, evchk, B_STUB);
    e_alu_imm(&t->s, 4, A_CMP, HM(H_RBX, OFF(exit_request)), 0);
    jcc_to(t, B_STUB, HC_NZ, ev);
    e_alu_imm(&t->s, 4, A_CMP, HM(H_RBX, OFF(nmi_blocked)), 0);
    jcc_to(t, B_STUB, HC_Z, ev);
    jmp_to(t, B_STUB, intchk);
    uint32_t body_off = emit_len(e);

    uint32_t pc = eip;
    bool ended = false;
    for (int i = 0; i < n && !t->failed; i++) {
        t->idx = i;
        t->eip = pc;
        t->next = (pc + ins[i].len) & mask;
        translate_insn(t);
        pc = t->next;
        if (is_uncond_exit(&ins[i]) && t->info[i].native) {
            ended = true;
            break;
        }
        if (!t->info[i].native && (i == n - 1 || helper_ends(&ins[i]))) {
            ended = true;
            break;
        }
    }
    if (!ended && !t->failed) {
        flags_flush(t);
        exit_direct(t, B_MAIN, pc, n);
    }

    uint32_t mainlen = (emit_len(&t->m) + 15) & ~15u;
    uint32_t stublen = emit_len(&t->s);
    if (t->failed || t->m.overflow || t->s.overflow ||
        (size_t)(main_rw - cc->rw) + mainlen + stublen > cc->size) {
        bool full = t->m.overflow || (size_t)(main_rw - cc->rw) + mainlen + stublen > cc->size;
        free(t);
        if (full)
            return false;
        abort(); /* label/fixup tables too small: a translator bug */
    }
    while (emit_len(&t->m) < mainlen)
        e_byte(&t->m, 0xcc);
    memcpy(main_rw + mainlen, t->s.start, stublen);
    for (int f = 0; f < t->nfix; f++) {
        const struct fixup *fx = &t->fix[f];
        uint8_t *field_rw = (fx->buf == B_MAIN ? main_rw : main_rw + mainlen) + fx->pos;
        uintptr_t target = lbl_addr(t, fx->label, main_rw, mainlen);
        if (!t->lab[fx->label].bound)
            abort();
        if (fx->abs64) {
            uint64_t v = target;
            memcpy(field_rw, &v, 8);
        } else {
            uint8_t *field_rx = codecache_rx_of(cc, field_rw);
            int32_t rel = (int32_t)((intptr_t)target - (intptr_t)(field_rx + 4));
            memcpy(field_rw, &rel, 4);
        }
    }
    out->chain = codecache_rx_of(cc, main_rw);
    out->body = codecache_rx_of(cc, main_rw + body_off);
    size_t end = (size_t)(main_rw - cc->rw) + mainlen + stublen;
    cpu->jit_stats.blocks++;
    cpu->jit_stats.guest_insns += (uint64_t)n;
    cpu->jit_stats.helper_insns += (uint64_t)helpers;
    cpu->jit_stats.host_bytes += mainlen + stublen;
    cc->used = end;
    if (j->perf_map)
        fprintf(j->perf_map, "%llx %x jit_%08x_k%x\n",
                (unsigned long long)(uintptr_t)out->chain, mainlen + stublen, eip, key);
    free(t);
    return true;
}
