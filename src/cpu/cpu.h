/* cpu.h - the architectural and execution state of one virtual i686 CPU,
 * and the entry points every part of the CPU core shares.
 *
 * One struct cpu per rank: this is the "one clearly named place" for the
 * per-rank CPU state. It is passed explicitly everywhere; nothing in
 * src/cpu reads a global CPU. */
#ifndef VSMP_CPU_H
#define VSMP_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/fpu_state.h"
#include "cpu/insn.h"
#include "mem/phys.h"
#include "mem/tlb.h"

/* General registers, in ModRM encoding order. */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };

/* Segment registers, in ModRM/Sreg encoding order. SEG_NONE marks "no
 * memory operand" in a decoded instruction. */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, SEG_COUNT, SEG_NONE = 7 };

/* EFLAGS bits. */
#define F_CF   0x00000001u
#define F_BIT1 0x00000002u /* always 1 */
#define F_PF   0x00000004u
#define F_AF   0x00000010u
#define F_ZF   0x00000040u
#define F_SF   0x00000080u
#define F_TF   0x00000100u
#define F_IF   0x00000200u
#define F_DF   0x00000400u
#define F_OF   0x00000800u
#define F_IOPL 0x00003000u
#define F_NT   0x00004000u
#define F_RF   0x00010000u
#define F_VM   0x00020000u
#define F_AC   0x00040000u
#define F_VIF  0x00080000u
#define F_VIP  0x00100000u
#define F_ID   0x00200000u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* Control register bits. */
#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u
#define CR4_VME 0x0001u
#define CR4_PVI 0x0002u
#define CR4_TSD 0x0004u
#define CR4_DE  0x0008u
#define CR4_PSE 0x0010u
#define CR4_PAE 0x0020u
#define CR4_MCE 0x0040u
#define CR4_PGE 0x0080u
#define CR4_PCE 0x0100u
#define CR4_OSFXSR 0x0200u
#define CR4_OSXMMEXCPT 0x0400u
/* CR4 bits a guest may set (PAE, VME and PVI are not implemented). */
#define CR4_VALID (CR4_TSD | CR4_DE | CR4_PSE | CR4_MCE | CR4_PGE | CR4_PCE | \
                   CR4_OSFXSR | CR4_OSXMMEXCPT)
/* CR0 bits that exist; writes to the others are ignored. ET is fixed at 1. */
#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | \
                   CR0_AM | CR0_NW | CR0_CD | CR0_PG)

/* Exception vectors. */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
    EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11,
    EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17,
    EXC_MC = 18, EXC_XM = 19,
    /* Not a vector: restart the current instruction from its start
     * without delivering anything (a page this instruction relied on was
     * taken by another rank while it waited in a coherence fault). */
    EXC_RESTART = 256,
};

/* Page-fault error code bits. */
#define PF_P    0x1u
#define PF_W    0x2u
#define PF_U    0x4u
#define PF_RSVD 0x8u
#define PF_I    0x10u

/* Segment descriptor cache. `ar` holds the access rights in the layout of
 * the descriptor's high dword bits 8..23, shifted down by 8:
 *   bits 0-3 type, 4 S, 5-6 DPL, 7 P, 12 AVL, 14 D/B, 15 G.
 * `limit` is already expanded to bytes (G applied). */
struct segment {
    uint16_t sel;
    uint32_t base;
    uint32_t limit;
    uint16_t ar;
    uint8_t fast;     /* SEGF_*: accesses the inline path may take with a
                       * plain limit check (set by seg_refresh_fast()) */
};
#define SEGF_R 0x1u   /* readable, expand-up, usable */
#define SEGF_W 0x2u   /* writable, expand-up, usable */
#define AR_TYPE(ar) ((ar) & 0xf)
#define AR_S    0x0010u
#define AR_DPL(ar) (((ar) >> 5) & 3)
#define AR_P    0x0080u
#define AR_DB   0x4000u
#define AR_G    0x8000u

struct dtr {
    uint32_t base;
    uint16_t limit;
};

/* Model-specific registers vsmp implements. */
#define MSR_TSC             0x010
#define MSR_APIC_BASE       0x01b
#define MSR_TSC_ADJUST      0x03b
#define MSR_SYSENTER_CS     0x174
#define MSR_SYSENTER_ESP    0x175
#define MSR_SYSENTER_EIP    0x176
#define MSR_MISC_ENABLE     0x1a0
#define MSR_PAT             0x277
#define MSR_TSC_DEADLINE    0x6e0
/* KVM paravirtual clock (paravirt.h) */
#define MSR_KVM_WALL_CLOCK_NEW  0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u

struct apic;

/* Why cpu_run() returned. */
enum cpu_exit {
    CPU_EXIT_BUDGET,     /* executed the instruction budget */
    CPU_EXIT_HALT,       /* HLT: waiting for an interrupt */
    CPU_EXIT_REQUEST,    /* somebody set cpu->exit_request (device, debug-exit) */
    CPU_EXIT_EXCEPTION,  /* stop_on_exception was set and an exception was raised */
    CPU_EXIT_SHUTDOWN,   /* triple fault */
    CPU_EXIT_WAIT_SIPI,  /* application processor waiting for STARTUP */
};

/* The platform the CPU is plugged into: port I/O and the interrupt line.
 * Set by the machine (src/), faked by unit tests. */
struct cpu_bus {
    void *ctx;
    uint32_t (*io_in)(void *ctx, uint16_t port, int size);
    void (*io_out)(void *ctx, uint16_t port, int size, uint32_t value);
    /* Interrupt acknowledge: the vector of the highest pending external
     * interrupt; called only while cpu->intr is set and EFLAGS.IF=1. */
    int (*intr_ack)(void *ctx);
    /* The machine's virtual clock (src/vclock.h), ns: the TSC counts it
     * at 1 GHz; and the wall-clock time (Unix epoch ns) that goes with
     * it, for kvmclock. NULL: the host's CLOCK_MONOTONIC and
     * CLOCK_REALTIME. */
    uint64_t (*clock_ns)(void *ctx);
    uint64_t (*wall_ns)(void *ctx);
};

struct dsm;

#define JIT_JC_BITS 10   /* jump cache entries (log2), see struct cpu */

struct cpu {
    /* ---- architectural state ---- */
    uint32_t r[8];
    uint32_t eip;
    uint32_t eflags;          /* all flags, kept current (eager) */
    struct segment seg[SEG_COUNT];
    struct segment ldtr, tr;
    struct dtr gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];
    int cpl;                  /* current privilege level, 0..3 */
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t apic_base;       /* IA32_APIC_BASE as the CPU keeps it (no APIC
                               * attached, and across INIT: cpu_apic_init()) */
    struct apic *apic;        /* this CPU's local APIC (cpu/apic.h), attached
                               * by the machine; NULL (unit tests): no APIC in
                               * CPUID, IA32_APIC_BASE is the field above */
    uint64_t pat;
    uint64_t tsc_offset;      /* guest TSC = virtual clock ns + offset: this
                               * is IA32_TSC_ADJUST (0 at RESET, kept by INIT) */
    uint64_t kvm_system_time; /* MSR_KVM_SYSTEM_TIME_NEW as written (bit 0:
                               * enabled; paravirt.c), 0 at RESET and INIT */
    uint64_t kvm_wall_clock;  /* MSR_KVM_WALL_CLOCK_NEW as last written */
    struct fpu fpu;
    uint32_t a20_mask;        /* 0xffffffff: A20 always enabled */

    /* ---- derived mode, refreshed by cpu_update_mode() ---- */
    bool pe;                  /* CR0.PE (also set in V86 mode) */
    bool code32;              /* CS.D */
    bool stack32;             /* SS.B */

    /* ---- execution ---- */
    uint32_t insn_eip;        /* start of the instruction being executed */
    uint32_t insn_esp;        /* ESP at its start (restored on faults) */
    jmp_buf *fault_jmp;       /* where cpu_raise() unwinds to */
    int exc_nest;             /* contributory/#PF nesting, for #DF */
    int inhibit_irq;          /* instructions left with interrupts shadowed
                               * (after STI, MOV SS, POP SS) */
    volatile int exit_request; /* leave cpu_run() at the next instruction */
    uint32_t pause_left;      /* pause-loop exit: PAUSEs this slice may still
                               * run before it ends (0: never ends it) */
    bool pause_exit;          /* the slice ended because of pause_left */
    int end_block;            /* end the current decoded block after this
                               * instruction (mode/mapping changed, SMC) */
    volatile int intr;        /* external INTR line (level) */
    volatile int nmi;         /* NMI pending (edge) */
    int nmi_blocked;          /* an NMI was delivered and no IRET has run
                               * since: a pending NMI waits (SDM Vol. 3
                               * "Handling Multiple NMIs"); cpu_nmi_ready() */
    bool halted;
    bool wait_sipi;           /* AP before STARTUP */
    bool in_run;              /* inside cpu_run(): faults may unwind */
    bool coh_lost;            /* a page was taken away (coherence.c) */
    uint32_t cur_code_page;   /* physical page number of the block being
                               * executed (UINT32_MAX: none); a write to it
                               * ends the block (exec.c) */
    /* A REP string instruction that started and has not finished: it
     * stopped after a batch of elements (or coherence restarted it). It
     * goes on as it was decoded, even if it overwrote its own bytes,
     * unless the loop finds EIP, ESP or ECX changed first: an interrupt
     * or exception was delivered, and its bytes are fetched anew, as on
     * hardware (ops_string.c sets it, exec.c resumes and drops it). */
    struct rep_resume {
        bool active;
        uint32_t eip, esp, ecx; /* as the instruction left them */
        struct insn in;         /* as decoded */
    } rep;
    struct dsm *dsm;          /* coherence with other ranks, or NULL */
    bool stop_on_exception;   /* tests: return CPU_EXIT_EXCEPTION instead of
                               * delivering through the IDT */
    int last_exc;             /* vector of the last raised exception, -1 */
    uint32_t last_exc_err;
    bool last_exc_has_err;    /* last_exc pushes an error code */
    uint64_t icount;          /* instructions retired */
    const char *shutdown_reason;

    struct cpu_bus bus;
    struct phys *phys;
    struct tlb tlb;
    struct blockcache *bcache; /* decoded-instruction cache (exec.c) */

    /* ---- translator (translate.c, docs/translator.md) ---- */
    bool use_jit;             /* run translated code (default; VSMP_ENGINE=interp
                               * or --interp select the interpreter) */
    uint64_t jit_stop;        /* icount at which translated code returns */
    size_t jit_cache_size;    /* code cache bytes (0: default) */
    struct jit *jit;          /* code cache and translator state */
    /* Jump cache: guest EIP -> chain entry of its translation, probed
     * inline by translated code at indirect and cross-page exits. An
     * entry is valid for its key while gen == tlb.gen (translate.h says
     * what bumps it); filled by jit_lookup()/jit_run() (exec.c). */
    struct jit_jc {
        uint32_t eip;
        uint32_t gen;
        const uint8_t *chain;
        uint32_t key;         /* translation key of the target */
        uint32_t pad[3];
    } jit_jc[1u << JIT_JC_BITS];
    struct jit_stats {
        uint64_t blocks;          /* blocks translated */
        uint64_t guest_insns;     /* guest instructions translated */
        uint64_t helper_insns;    /* of which as calls to interpreter handlers */
        uint64_t host_bytes;      /* host code bytes produced */
        uint64_t flushes;         /* code cache flushes (full) */
        uint64_t chain_links;     /* direct jumps patched to their target */
        uint64_t lookups;         /* indirect/cross-page lookups from code */
        uint64_t lookup_hits;     /* ... that found a translation */
        uint64_t helper_calls;    /* dynamic: instructions run by handler calls */
        uint64_t entries;         /* blocks entered from the main loop */
    } jit_stats;
};

/* ---- lifecycle (cpu.c) ---- */
void cpu_init(struct cpu *cpu, struct phys *phys, const struct cpu_bus *bus);
void cpu_reset(struct cpu *cpu);        /* power-on state: real mode, F000:FFF0 */
void cpu_free(struct cpu *cpu);
/* Put the CPU in flat 32-bit protected mode, paging off, CPL 0 (the
 * Multiboot entry state, and the tests' starting point). */
void cpu_set_flat32(struct cpu *cpu);
void cpu_update_mode(struct cpu *cpu);  /* after CR0/CS/SS/EFLAGS changes */

/* ---- execution (exec.c) ---- */
enum cpu_exit cpu_run(struct cpu *cpu, uint64_t budget);
/* len bytes at paddr, on a page holding decoded code, were written: drop
 * the decoded instructions they touch. Returns true if decoded code
 * remains on the page (the write missed it), so PG_CODE stays set. */
bool cpu_code_written(struct cpu *cpu, uint32_t paddr, uint32_t len);
void exec_free(struct cpu *cpu);   /* free the decoded-block cache */
/* Print the translator statistics (blocks, bytes, chains...) to f. */
void exec_print_stats(struct cpu *cpu, FILE *f);

/* ---- exceptions and interrupts (except.c) ---- */
/* Raise a fault/trap from inside an instruction: unwinds to cpu_run(). */
__attribute__((noreturn)) void cpu_raise(struct cpu *cpu, int vector, uint32_t err);
__attribute__((noreturn)) void cpu_raise_noerr(struct cpu *cpu, int vector);
/* Deliver vector through the IVT/IDT. `soft` is set for INT n / INT3 / INTO
 * (privilege check against gate DPL, EIP already points past the INT). */
void cpu_deliver(struct cpu *cpu, int vector, bool has_err, uint32_t err, bool soft);
bool exc_has_error_code(int vector);
/* Deliver the fault `vector` (error code `err` where the vector has one)
 * raised by an instruction; handles #DF and triple fault (sets
 * cpu->shutdown_reason). Called by cpu_run() after cpu_raise() unwound. */
void cpu_exception(struct cpu *cpu, int vector, uint32_t err);

/* NMI blocking: from the delivery of an NMI until the next IRET, which
 * ends it even if that IRET faults (SDM Vol. 3, "Handling Multiple
 * NMIs"). Every IRET calls cpu_nmi_unblock() first, whatever path it then
 * takes (real mode, protected mode, a task return). */
static inline void cpu_nmi_unblock(struct cpu *cpu)
{
    cpu->nmi_blocked = 0;
}

/* Is an NMI pending that may be delivered now (or wake a halted CPU)? */
static inline bool cpu_nmi_ready(const struct cpu *cpu)
{
    return cpu->nmi && !cpu->nmi_blocked;
}

/* Virtual-8086 mode: EFLAGS.VM, which only an IRET at CPL 0 or a task
 * switch sets (both with CR0.PE; v86.c). CPL is 3 while it is set. */
static inline bool cpu_v86(const struct cpu *cpu)
{
    return (cpu->eflags & F_VM) != 0;
}

/* ---- x87 (fpu.c) ---- */
void fpu_reset(struct fpu *f);          /* FNINIT-like power-on state */

/* ---- registers ---- */
static inline uint32_t cpu_sp_mask(const struct cpu *cpu)
{
    return cpu->stack32 ? 0xffffffffu : 0xffffu;
}

#endif
