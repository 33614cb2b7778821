/* fpu.c - the guest x87 FPU instructions: the ESC opcodes D8-DF, FWAIT
 * (9B) and FXSAVE/FXRSTOR (0F AE /0 /1).
 *
 * Arithmetic, loads, stores, compares and every other data instruction run
 * on the host's own x87 (fpu_host.c), which makes them exact to the bit.
 * This file does what the host cannot do for us: #NM and #MF, guest memory
 * access (always before any FPU state changes), the FPU instruction/data
 * pointers and opcode, and the control instructions whose memory formats
 * depend on the guest's mode and operand size (FLDENV, FNSTENV, FRSTOR,
 * FNSAVE, FXSAVE, FXRSTOR) or that the host must not see (FLDCW, FNCLEX,
 * FNINIT, FNSTSW, FNSTCW). */
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/fpu.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/operand.h"

/* ---------------------------------------------------------------- state */

void fpu_init(struct fpu *f)
{
    f->cw = FCW_INIT;
    f->sw = 0;
    f->tw = 0xffff;
    f->fop = 0;
    f->fip = f->fdp = 0;
    f->fcs = f->fds = 0;
}

void fpu_reset(struct fpu *f)
{
    /* Power-on values (SDM table "IA-32 Processor States Following
     * Power-up, Reset, or INIT"): registers +0.0, tags "zero". */
    memset(f, 0, sizeof *f);
    f->cw = FCW_RESET;
    f->tw = 0x5555;
    f->mxcsr = 0x1f80;
}

/* Tag of a non-empty register computed from its contents, as the P6 and
 * later store it (checked on the host: unnormals, pseudo-denormals,
 * denormals, infinities and NaNs are all "special"). */
static unsigned tag_of(const struct f80 *r)
{
    unsigned e = r->sexp & 0x7fff;
    if (e == 0x7fff)
        return 2;
    if (e == 0)
        return r->mant ? 2 : 1;
    return (r->mant >> 63) ? 0 : 2;
}

uint16_t fpu_full_tag(const struct fpu *f)
{
    uint16_t tw = 0;
    for (int i = 0; i < 8; i++) {
        unsigned t = ((f->tw >> (2 * i)) & 3) == 3 ? 3 : tag_of(&f->st[i]);
        tw |= (uint16_t)(t << (2 * i));
    }
    return tw;
}

uint8_t fpu_abridged_tag(const struct fpu *f)
{
    uint8_t ftw = 0;
    for (int i = 0; i < 8; i++)
        if (((f->tw >> (2 * i)) & 3) != 3)
            ftw |= (uint8_t)(1u << i);
    return ftw;
}

uint16_t fpu_tag_from_abridged(uint8_t ftw)
{
    uint16_t tw = 0;
    for (int i = 0; i < 8; i++)
        if (!(ftw & (1u << i)))
            tw |= (uint16_t)(3u << (2 * i));
    return tw;
}

/* ------------------------------------------------------- guest memory */

/* Little-endian field access in memory images. */
static inline uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void put16(uint8_t *p, uint32_t v) { uint16_t w = (uint16_t)v; memcpy(p, &w, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* Read n bytes of guest memory at seg:off (may fault). */
static void guest_read(struct cpu *cpu, int seg, uint32_t off, void *dst, int n)
{
    uint32_t lin = seg_linear(cpu, seg, off, n, 0);
    uint8_t *d = dst;
    while (n > 0) {
        unsigned po = lin & 0xfff;
        int k;
        if (n >= 4 && po <= 0xffc) {
            put32(d, lin_read32(cpu, lin));
            k = 4;
        } else if (n >= 2 && po <= 0xffe) {
            put16(d, lin_read16(cpu, lin));
            k = 2;
        } else {
            *d = lin_read8(cpu, lin);
            k = 1;
        }
        lin += k;
        d += k;
        n -= k;
    }
}

/* Write n bytes of guest memory at seg:off. Either all of it is written
 * or it faults before the first byte: an area that spans two pages is
 * probed first. */
static void guest_write(struct cpu *cpu, int seg, uint32_t off, const void *src, int n)
{
    uint32_t lin = seg_linear(cpu, seg, off, n, 1);
    const uint8_t *s = src;
    if ((lin & 0xfff) + (uint32_t)n > PAGE_SIZE)
        lin_probe_write(cpu, lin, n, ACC_WRITE);
    while (n > 0) {
        unsigned po = lin & 0xfff;
        int k;
        if (n >= 4 && po <= 0xffc) {
            lin_write32(cpu, lin, get32(s));
            k = 4;
        } else if (n >= 2 && po <= 0xffe) {
            lin_write16(cpu, lin, get16(s));
            k = 2;
        } else {
            lin_write8(cpu, lin, *s);
            k = 1;
        }
        lin += k;
        s += k;
        n -= k;
    }
}

/* ----------------------------------------------------------- helpers */

/* A waiting FP instruction finds an unmasked exception pending: #MF.
 * With CR0.NE=0 a PC would instead assert FERR# and the chipset would
 * raise IRQ13 (and hold IGNNE#); vsmp does not emulate that routing and
 * raises #MF in both cases. */
static void fpu_check_pending(struct cpu *cpu)
{
    if (cpu->fpu.sw & FSW_ES)
        cpu_raise_noerr(cpu, EXC_MF);
}

/* Pointers of a non-control instruction: FIP/FCS the instruction (first
 * prefix byte), FOP the low 3 bits of the opcode byte and the ModRM byte,
 * FDP/FDS the memory operand (left unchanged by register forms). */
static void set_pointers(const struct cpu *cpu, struct fpu *f, const struct insn *in,
                         unsigned modrm, int mem, uint32_t ea)
{
    f->fip = cpu->insn_eip;
    f->fcs = cpu->seg[S_CS].sel;
    f->fop = (uint16_t)(((in->op & 7u) << 8) | modrm);
    if (mem) {
        f->fdp = ea;
        f->fds = cpu->seg[in->seg].sel;
    }
}

/* Run a data instruction on the host and commit it. `mem`: the memory
 * operand (NULL for register forms); size > 0 bytes read before, < 0
 * bytes written after (unless an unmasked exception suppressed the
 * store). */
static void fpu_exec_host(struct cpu *cpu, const struct insn *in, unsigned esc,
                          unsigned modrm, int size, int set_eflags)
{
    uint8_t buf[16] __attribute__((aligned(16)));
    uint32_t ea = 0;
    int mem = in->mod != 3;

    fpu_check_pending(cpu);
    memset(buf, 0, sizeof buf);
    if (mem) {
        ea = insn_ea(cpu, in);
        if (size > 0)
            guest_read(cpu, in->seg, ea, buf, size);
    }

    struct fpu nf = cpu->fpu;
    uint32_t fl = cpu->eflags;
    unsigned suppressed = fpu_host_exec(&nf, esc, modrm, buf, &fl);
    if (mem && size < 0 && !suppressed)
        guest_write(cpu, in->seg, ea, buf, -size);   /* may fault: nothing committed yet */

    set_pointers(cpu, &nf, in, modrm, mem, ea);
    cpu->fpu = nf;
    if (set_eflags)   /* FCOMI family: ZF PF CF, OF SF AF cleared */
        cpu->eflags = (cpu->eflags & ~F_ARITH) | (fl & F_ARITH);
}

/* ------------------------------------------- environment and save area */

/* Environment images (SDM "Protected Mode / Real Mode x87 FPU State
 * Images in Memory"). Protected mode when CR0.PE, except in V86 mode,
 * which uses the real-mode formats (env_pm); 32- or 16-bit by operand
 * size. The 32-bit formats store all-ones in the reserved upper halves,
 * as hardware does. In the real-mode formats the
 * pointers are 20/32-bit linear addresses; vsmp keeps offset and selector
 * and stores (selector << 4) + offset there. */
static bool env_pm(const struct cpu *cpu)
{
    return cpu->pe && !cpu_v86(cpu);
}

static int env_size(const struct insn *in)
{
    return in->opsize == 32 ? 28 : 14;
}

static void env_build(const struct cpu *cpu, const struct insn *in, const struct fpu *f, uint8_t *b)
{
    uint16_t tw = fpu_full_tag(f);
    if (in->opsize == 32) {
        put32(b + 0, 0xffff0000u | f->cw);
        put32(b + 4, 0xffff0000u | f->sw);
        put32(b + 8, 0xffff0000u | tw);
        if (env_pm(cpu)) {
            put32(b + 12, f->fip);
            put32(b + 16, f->fcs | ((uint32_t)(f->fop & 0x7ff) << 16));
            put32(b + 20, f->fdp);
            put32(b + 24, 0xffff0000u | f->fds);
        } else {
            uint32_t ip = ((uint32_t)f->fcs << 4) + f->fip;
            uint32_t dp = ((uint32_t)f->fds << 4) + f->fdp;
            put32(b + 12, 0xffff0000u | (ip & 0xffff));
            put32(b + 16, ((ip >> 16) << 12) | (f->fop & 0x7ff));
            put32(b + 20, 0xffff0000u | (dp & 0xffff));
            put32(b + 24, (dp >> 16) << 12);
        }
    } else {
        put16(b + 0, f->cw);
        put16(b + 2, f->sw);
        put16(b + 4, tw);
        if (env_pm(cpu)) {
            put16(b + 6, f->fip);
            put16(b + 8, f->fcs);
            put16(b + 10, f->fdp);
            put16(b + 12, f->fds);
        } else {
            uint32_t ip = ((uint32_t)f->fcs << 4) + f->fip;
            uint32_t dp = ((uint32_t)f->fds << 4) + f->fdp;
            put16(b + 6, ip);
            put16(b + 8, (((ip >> 16) & 0xf) << 12) | (f->fop & 0x7ff));
            put16(b + 10, dp);
            put16(b + 12, ((dp >> 16) & 0xf) << 12);
        }
    }
}

/* Load an environment image into f (the inverse of env_build). */
static void env_parse(const struct cpu *cpu, const struct insn *in, struct fpu *f, const uint8_t *b)
{
    uint16_t cw, sw, tw;
    if (in->opsize == 32) {
        cw = get16(b + 0);
        sw = get16(b + 4);
        tw = get16(b + 8);
        if (env_pm(cpu)) {
            f->fip = get32(b + 12);
            f->fcs = get16(b + 16);
            f->fop = get16(b + 18) & 0x7ff;
            f->fdp = get32(b + 20);
            f->fds = get16(b + 24);
        } else {
            f->fip = (get16(b + 12)) | (((get32(b + 16) >> 12) & 0xffff) << 16);
            f->fop = get16(b + 16) & 0x7ff;
            f->fdp = (get16(b + 20)) | (((get32(b + 24) >> 12) & 0xffff) << 16);
            f->fcs = f->fds = 0;
        }
    } else {
        cw = get16(b + 0);
        sw = get16(b + 2);
        tw = get16(b + 4);
        if (env_pm(cpu)) {
            f->fip = get16(b + 6);
            f->fcs = get16(b + 8);
            f->fdp = get16(b + 10);
            f->fds = get16(b + 12);
            /* FOP is not part of the 16-bit protected-mode image. */
        } else {
            f->fip = get16(b + 6) | ((uint32_t)(get16(b + 8) >> 12) << 16);
            f->fop = get16(b + 8) & 0x7ff;
            f->fdp = get16(b + 10) | ((uint32_t)(get16(b + 12) >> 12) << 16);
            f->fcs = f->fds = 0;
        }
    }
    f->cw = (uint16_t)((cw & FCW_KEEP) | 0x40);
    f->sw = sw;
    /* Only empty versus not empty is kept (see fpu_state.h). */
    uint16_t t = 0;
    for (int i = 0; i < 8; i++)
        t |= (uint16_t)((((tw >> (2 * i)) & 3) == 3 ? 3u : 0u) << (2 * i));
    f->tw = t;
    fpu_update_es(f);
}

static void op_fldenv(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[28];
    fpu_check_pending(cpu);
    guest_read(cpu, in->seg, insn_ea(cpu, in), b, env_size(in));
    env_parse(cpu, in, &cpu->fpu, b);
}

static void op_fnstenv(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[28];
    env_build(cpu, in, &cpu->fpu, b);
    guest_write(cpu, in->seg, insn_ea(cpu, in), b, env_size(in));
    /* FNSTENV then masks all exceptions (ES and B follow). */
    cpu->fpu.cw |= FCW_MASKS;
    fpu_update_es(&cpu->fpu);
}

static void op_frstor(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[108];
    int es = env_size(in);
    fpu_check_pending(cpu);
    guest_read(cpu, in->seg, insn_ea(cpu, in), b, es + 80);
    struct fpu *f = &cpu->fpu;
    env_parse(cpu, in, f, b);
    int top = fpu_top(f);
    for (int i = 0; i < 8; i++) {
        struct f80 *r = &f->st[(top + i) & 7];
        memcpy(&r->mant, b + es + 10 * i, 8);
        r->sexp = get16(b + es + 10 * i + 8);
    }
}

static void op_fnsave(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[108];
    int es = env_size(in);
    struct fpu *f = &cpu->fpu;
    env_build(cpu, in, f, b);
    int top = fpu_top(f);
    for (int i = 0; i < 8; i++) {
        const struct f80 *r = &f->st[(top + i) & 7];
        memcpy(b + es + 10 * i, &r->mant, 8);
        put16(b + es + 10 * i + 8, r->sexp);
    }
    guest_write(cpu, in->seg, insn_ea(cpu, in), b, es + 80);
    fpu_init(f);
}

/* ------------------------------------------------ the ESC instructions */

/* Memory forms, indexed by (esc << 3) | reg: bytes loaded (> 0) or
 * stored (< 0) by a data instruction; M_CTL: a control instruction
 * handled below; M_UD: undefined on an i686 (the FISTTP forms are SSE3). */
#define M_CTL 0
#define M_UD  99
static const signed char mem_form[64] = {
    /* D8 m32fp arith */ 4, 4, 4, 4, 4, 4, 4, 4,
    /* D9 FLD FST FSTP m32, FLDENV FLDCW FNSTENV FNSTCW */
    4, M_UD, -4, -4, M_CTL, M_CTL, M_CTL, M_CTL,
    /* DA m32int arith */ 4, 4, 4, 4, 4, 4, 4, 4,
    /* DB FILD FISTTP FIST FISTP m32, -, FLD m80, -, FSTP m80 */
    4, M_UD, -4, -4, M_UD, 10, M_UD, -10,
    /* DC m64fp arith */ 8, 8, 8, 8, 8, 8, 8, 8,
    /* DD FLD FISTTP FST FSTP m64, FRSTOR, -, FNSAVE, FNSTSW */
    8, M_UD, -8, -8, M_CTL, M_UD, M_CTL, M_CTL,
    /* DE m16int arith */ 2, 2, 2, 2, 2, 2, 2, 2,
    /* DF FILD FISTTP FIST FISTP m16, FBLD, FILD m64, FBSTP, FISTP m64 */
    2, M_UD, -2, -2, 10, 8, -10, -8,
};

static void fpu_mem_form(struct cpu *cpu, const struct insn *in, unsigned esc, unsigned modrm)
{
    int size = mem_form[(esc << 3) | in->reg];
    if (size == M_UD)
        cpu_raise_noerr(cpu, EXC_UD);
    if (size != M_CTL) {
        fpu_exec_host(cpu, in, esc, modrm, size, 0);
        return;
    }
    switch ((esc << 3) | in->reg) {
    case (1 << 3) | 4: op_fldenv(cpu, in); break;
    case (1 << 3) | 5: {                                   /* FLDCW */
        fpu_check_pending(cpu);
        uint16_t cw = mem_read16(cpu, in->seg, insn_ea(cpu, in));
        cpu->fpu.cw = (uint16_t)((cw & FCW_KEEP) | 0x40);
        fpu_update_es(&cpu->fpu);   /* unmasking a set flag makes it pending */
        break;
    }
    case (1 << 3) | 6: op_fnstenv(cpu, in); break;
    case (1 << 3) | 7:                                     /* FNSTCW */
        mem_write16(cpu, in->seg, insn_ea(cpu, in), cpu->fpu.cw);
        break;
    case (5 << 3) | 4: op_frstor(cpu, in); break;
    case (5 << 3) | 6: op_fnsave(cpu, in); break;
    case (5 << 3) | 7:                                     /* FNSTSW m16 */
        mem_write16(cpu, in->seg, insn_ea(cpu, in), cpu->fpu.sw);
        break;
    }
}

/* Register forms. */
enum { RF_UD, RF_DATA, RF_FCOMI, RF_NOP_NW, RF_FNCLEX, RF_FNINIT, RF_FNSTSW_AX };

static int reg_form(unsigned esc, unsigned m)
{
    switch (esc) {
    case 1:                                    /* D9 */
        if (m >= 0xd1 && m <= 0xd7)
            return RF_UD;
        if (m == 0xe2 || m == 0xe3 || m == 0xe6 || m == 0xe7 || m == 0xef)
            return RF_UD;
        return RF_DATA;   /* FLD FXCH FNOP FSTP1 FCHS FABS FTST FXAM consts F0-FF */
    case 2:                                    /* DA: FCMOVB/E/BE/U, FUCOMPP */
        return (m < 0xe0 || m == 0xe9) ? RF_DATA : RF_UD;
    case 3:                                    /* DB */
        if (m < 0xe0)
            return RF_DATA;                    /* FCMOVNB/NE/NBE/NU */
        if (m == 0xe0 || m == 0xe1 || m == 0xe4)
            return RF_NOP_NW;                  /* FNENI FNDISI FNSETPM: no-ops */
        if (m == 0xe2)
            return RF_FNCLEX;
        if (m == 0xe3)
            return RF_FNINIT;
        if (m >= 0xe8 && m <= 0xf7)
            return RF_FCOMI;                   /* FUCOMI FCOMI */
        return RF_UD;
    case 5:                                    /* DD: FFREE FXCH4 FST FSTP FUCOM FUCOMP */
        return m < 0xf0 ? RF_DATA : RF_UD;
    case 6:                                    /* DE */
        if (m == 0xd8 || (m >= 0xda && m <= 0xdf))
            return RF_UD;
        return RF_DATA;
    case 7:                                    /* DF */
        if (m < 0xe0)
            return RF_DATA;                    /* FFREEP FXCH7 FSTP8 FSTP9 */
        if (m == 0xe0)
            return RF_FNSTSW_AX;
        if (m >= 0xe8 && m <= 0xf7)
            return RF_FCOMI;                   /* FUCOMIP FCOMIP */
        return RF_UD;
    default:                                   /* D8, DC: all defined */
        return RF_DATA;
    }
}

static void fpu_reg_form(struct cpu *cpu, const struct insn *in, unsigned esc, unsigned modrm)
{
    switch (reg_form(esc, modrm)) {
    case RF_UD:
        cpu_raise_noerr(cpu, EXC_UD);
    case RF_DATA:
        fpu_exec_host(cpu, in, esc, modrm, 0, 0);
        break;
    case RF_FCOMI:
        fpu_exec_host(cpu, in, esc, modrm, 0, 1);
        break;
    case RF_NOP_NW:
        break;
    case RF_FNCLEX:
        cpu->fpu.sw &= (uint16_t)~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
        break;
    case RF_FNINIT:
        fpu_init(&cpu->fpu);
        break;
    case RF_FNSTSW_AX:
        reg_set(cpu, R_EAX, 2, cpu->fpu.sw);
        break;
    }
}

/* D8-DF */
static void op_fpu(struct cpu *cpu, const struct insn *in)
{
    unsigned esc = in->op & 7;
    unsigned modrm = ((unsigned)in->mod << 6) | ((unsigned)in->reg << 3) | in->rm;

    /* EM: no FPU (emulate it in software); TS: the task has not used the
     * FPU since a task switch. Either way every ESC opcode gives #NM. */
    if (cpu->cr0 & (CR0_EM | CR0_TS))
        cpu_raise_noerr(cpu, EXC_NM);
    if (in->mod == 3)
        fpu_reg_form(cpu, in, esc, modrm);
    else
        fpu_mem_form(cpu, in, esc, modrm);
}

/* 9B FWAIT: #NM only when MP and TS are both set, then pending exceptions. */
static void op_fwait(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    if ((cpu->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        cpu_raise_noerr(cpu, EXC_NM);
    fpu_check_pending(cpu);
}

/* ------------------------------------------------------ FXSAVE/FXRSTOR */

/* Bits of MXCSR a guest may set: no DAZ on a P6 without SSE2. */
#define MXCSR_MASK 0x0000ffbfu
/* Bytes of the 512-byte area vsmp uses: the x87 part, MXCSR and the eight
 * register slots. The XMM area (160-511) is neither written nor read:
 * vsmp has no XMM registers (CPUID advertises no SSE). */
#define FX_USED 160

static uint32_t fx_linear_checked(struct cpu *cpu, const struct insn *in, uint32_t ea, int write)
{
    /* 16-byte alignment of the memory operand, regardless of segment. */
    if ((cpu->seg[in->seg].base + ea) & 15)
        cpu_raise(cpu, EXC_GP, 0);
    return seg_linear(cpu, in->seg, ea, 512, write); /* limit of the whole area */
}

static void op_fxsave(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[FX_USED];
    const struct fpu *f = &cpu->fpu;
    uint32_t ea = insn_ea(cpu, in);
    fx_linear_checked(cpu, in, ea, 1);

    memset(b, 0, sizeof b);
    put16(b + 0, f->cw);
    put16(b + 2, f->sw);
    b[4] = fpu_abridged_tag(f);
    put16(b + 6, f->fop & 0x7ff);
    put32(b + 8, f->fip);
    put16(b + 12, f->fcs);
    put32(b + 16, f->fdp);
    put16(b + 20, f->fds);
    put32(b + 24, f->mxcsr);
    put32(b + 28, MXCSR_MASK);
    int top = fpu_top(f);
    for (int i = 0; i < 8; i++) {   /* ST(i) in 16-byte slots, high 6 bytes 0 */
        const struct f80 *r = &f->st[(top + i) & 7];
        memcpy(b + 32 + 16 * i, &r->mant, 8);
        put16(b + 32 + 16 * i + 8, r->sexp);
    }
    guest_write(cpu, in->seg, ea, b, FX_USED);
}

static void op_fxrstor(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[FX_USED];
    uint32_t ea = insn_ea(cpu, in);
    fx_linear_checked(cpu, in, ea, 0);
    guest_read(cpu, in->seg, ea, b, FX_USED);

    uint32_t mxcsr = get32(b + 24);
    if (mxcsr & ~MXCSR_MASK)
        cpu_raise(cpu, EXC_GP, 0);

    struct fpu *f = &cpu->fpu;
    f->cw = (uint16_t)((get16(b + 0) & FCW_KEEP) | 0x40);
    f->sw = get16(b + 2);
    f->tw = fpu_tag_from_abridged(b[4]);
    f->fop = get16(b + 6) & 0x7ff;
    f->fip = get32(b + 8);
    f->fcs = get16(b + 12);
    f->fdp = get32(b + 16);
    f->fds = get16(b + 20);
    f->mxcsr = mxcsr;
    int top = fpu_top(f);
    for (int i = 0; i < 8; i++) {
        struct f80 *r = &f->st[(top + i) & 7];
        memcpy(&r->mant, b + 32 + 16 * i, 8);
        r->sexp = get16(b + 32 + 16 * i + 8);
    }
    fpu_update_es(f);
}

/* 0F AE: group 15. FXSAVE and FXRSTOR (memory forms) and the three
 * fences exist on this CPU; LDMXCSR/STMXCSR and CLFLUSH need SSE/SSE2: #UD. */
static void op_grp15(struct cpu *cpu, const struct insn *in)
{
    /* LFENCE, MFENCE, SFENCE (0F AE E8/F0/F8): this CPU runs one
     * instruction at a time and the DSM orders every store before the
     * next access, so they have nothing to do. (The SSE2 fences exist
     * because Linux's TSC-deadline timer code runs MFENCE and LFENCE
     * unconditionally.) */
    if (in->mod == 3 && in->reg >= 5 && !(in->pfx & (PFX_LOCK | PFX_OPSIZE | PFX_REP | PFX_REPNE)))
        return;
    if (in->mod == 3 || in->reg > 1 || (in->pfx & PFX_LOCK))
        cpu_raise_noerr(cpu, EXC_UD);
    if (cpu->cr0 & (CR0_EM | CR0_TS))
        cpu_raise_noerr(cpu, EXC_NM);
    /* Neither instruction checks for pending x87 exceptions. */
    if (in->reg == 0)
        op_fxsave(cpu, in);
    else
        op_fxrstor(cpu, in);
}

void ops_fpu_register(exec_fn *t)
{
    for (int op = 0xd8; op <= 0xdf; op++)
        t[op] = op_fpu;
    t[0x9b] = op_fwait;
    t[0x100 | 0xae] = op_grp15;
}
