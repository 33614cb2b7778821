/* fpu.h - the x87 FPU: reset/init, tag-word helpers, and the "x86 on x86"
 * executor that runs one guest x87 instruction on the host's own x87
 * (fpu_host.c). The guest instruction handlers are in fpu.c and are
 * registered with ops_fpu_register() (insn.h). */
#ifndef VSMP_FPU_H
#define VSMP_FPU_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/fpu_state.h"

/* Status word bits. */
#define FSW_IE  0x0001u
#define FSW_DE  0x0002u
#define FSW_ZE  0x0004u
#define FSW_OE  0x0008u
#define FSW_UE  0x0010u
#define FSW_PE  0x0020u
#define FSW_SF  0x0040u
#define FSW_ES  0x0080u
#define FSW_C0  0x0100u
#define FSW_C1  0x0200u
#define FSW_C2  0x0400u
#define FSW_TOP 0x3800u
#define FSW_C3  0x4000u
#define FSW_B   0x8000u
#define FSW_EXC 0x003fu   /* the six exception flags (= the CW masks) */

/* Control word bits. */
#define FCW_MASKS 0x003fu
#define FCW_PC    0x0300u
#define FCW_RC    0x0c00u
#define FCW_IC    0x1000u
#define FCW_KEEP  0x1f3fu /* bits FLDCW keeps; bit 6 reads as 1 */

#define FCW_INIT  0x037fu /* after FNINIT */
#define FCW_RESET 0x0040u /* after RESET */

static inline int fpu_top(const struct fpu *f)
{
    return (f->sw >> 11) & 7;
}

/* Physical register number of ST(i). */
static inline int fpu_phys(const struct fpu *f, int i)
{
    return (fpu_top(f) + i) & 7;
}

/* Recompute ES and B from the exception flags and masks (hardware keeps
 * them as a summary: see FLDCW, FLDENV, FRSTOR, FNSTENV). */
static inline void fpu_update_es(struct fpu *f)
{
    if (f->sw & ~f->cw & FSW_EXC)
        f->sw |= FSW_ES | FSW_B;
    else
        f->sw &= (uint16_t)~(FSW_ES | FSW_B);
}

struct snapw;
struct snapr;
/* The x87 state and MXCSR in a memory image: section "FPU " (fpu_snap.c).
 * The load checks the values first and leaves *f alone when it refuses. */
void fpu_save(const struct fpu *f, struct snapw *w);
bool fpu_load(struct fpu *f, struct snapr *r);

void fpu_reset(struct fpu *f);  /* power-on/RESET state (INIT keeps the FPU) */
void fpu_init(struct fpu *f);   /* FNINIT */

/* The tag word as FNSTENV/FNSAVE store it: empty registers 3, others
 * computed from their contents (0 valid, 1 zero, 2 special). */
uint16_t fpu_full_tag(const struct fpu *f);
/* The abridged tag byte of FXSAVE: bit i set when R[i] is not empty. */
uint8_t fpu_abridged_tag(const struct fpu *f);
/* Tag word from an abridged tag byte (FXRSTOR). */
uint16_t fpu_tag_from_abridged(uint8_t ftw);

/* Execute one x87 instruction on the host x87, on the state *f.
 *   esc:   the opcode byte minus 0xD8 (0..7)
 *   modrm: the ModRM byte. For a memory form (mod != 3) only the reg
 *          field matters: the operand is the host buffer `mem` (at least
 *          16 bytes, read for loads and written for stores).
 *   eflags: in: the guest EFLAGS (FCMOVcc reads CF ZF PF); out: FCOMI and
 *          FUCOMI results are in its arithmetic flags (the caller merges).
 * The instruction must be one the host executes without #UD (see fpu.c)
 * and not one that reads or writes the environment (FLDENV, FRSTOR, ...)
 * since the buffer is small. *f must not have a pending unmasked
 * exception (ES clear): the caller raises #MF first. Returns the status
 * word's newly raised unmasked exceptions that suppress a memory store
 * (IE DE ZE OE UE); then *mem holds no result. FIP/FDP/FOP are left for
 * the caller to set. */
unsigned fpu_host_exec(struct fpu *f, unsigned esc, unsigned modrm, void *mem,
                       uint32_t *eflags);

#endif
