/* v86model.h - the outcome of a V86 system case (v86sys.h), as vsmp
 * produces it (emu_v86.c) and as the SDM reference model predicts it
 * (v86model.c), and their comparison.
 *
 * Every case ends with an interrupt or exception delivered to a ring 0
 * handler (the code is followed by HLT, privileged in V86 mode: #GP(0)),
 * so the outcome is the machine there: which vector's handler runs, the
 * GPRs, EFLAGS and segment selectors after the delivery, the bytes below
 * TSS.ESP0 (the frame: error code, EIP, CS, EFLAGS, ESP, SS, ES, DS, FS,
 * GS), the changed dwords of the data area (pushes, INS) and every port
 * access in order. */
#ifndef DIFF_V86MODEL_H
#define DIFF_V86MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "v86sys.h"

#define V86S_IO_MAX 40

/* vector values that are not a handler (0..255) */
#define V86S_RUNAWAY   0x199  /* vsmp: no handler reached within the budget */
#define V86S_SHUTDOWN  0x198  /* vsmp: triple fault */
#define V86S_ELSEWHERE 0x197  /* vsmp: halted, but not in a handler */
#define V86S_MODEL     0x196  /* model: outside what it covers (a generator bug) */
#define V86S_STRAY     0x195  /* vsmp: wrote the data segment beyond the data area */

struct v86s_out {
    int vector;                      /* the handler that runs */
    uint32_t regs[8];                /* after the delivery (ESP: the ring 0 stack) */
    uint32_t eflags;
    uint16_t sel[6];                 /* ES CS SS DS FS GS (cpu.h order) */
    uint8_t r0[V86E_R0AREA];         /* bytes [ESP0 - V86E_R0AREA, ESP0) */
    uint8_t r0_care[V86E_R0AREA];    /* model: 1 where the SDM defines the byte */
    uint32_t ndirty;                 /* changed dwords of the data area */
    struct dt_dirty dirty[DT_DIRTY_MAX];
    uint32_t nio;                    /* port accesses (may exceed V86S_IO_MAX) */
    struct v86e_io io[V86S_IO_MAX];
    char trace[400];                 /* model: what it executed, for reports */
};

/* The SDM's outcome of case c. */
void v86m_run(const struct v86s_case *c, struct v86s_out *o);

/* Compare vsmp's outcome `got` with the model's `want`; the differences
 * are described in buf. Returns their number. */
int v86m_compare(const struct v86s_out *want, const struct v86s_out *got, char *buf,
                 size_t len);

#endif
