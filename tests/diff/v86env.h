/* v86env.h - the machine the differential test's virtual-8086 cases run
 * in: physical memory layout (paging off, linear = physical), the GDT,
 * the TSS and the IDT gate encoding, and the port values the I/O bus
 * returns. Shared by the vsmp side (emu_v86.c builds this machine in
 * vsmp's memory), the generator of the V86 system cases (v86sys.c) and
 * the SDM reference model (v86model.c), which reads the same descriptors
 * but applies the SDM's rules to them itself.
 *
 * Two kinds of cases run here:
 *   GM_V86     (class "v86") the 32-bit classes in their V86 form
 *              (v86form.c): CS = V86E_CS, DS = ES = SS = FS = GS =
 *              V86E_DS, whose base 0x30000 holds the data area
 *              (DT_DATA_SIZE bytes at offset 0, as the native side's at
 *              DT_DATA), stopped at the first exception (vsmp's
 *              stop_on_exception), compared with the native result of the
 *              32-bit form.
 *   GM_V86SYS  (class "v86sys") IOPL-sensitive, I/O and privileged
 *              instructions, run until the first interrupt or exception,
 *              delivered through this IDT to a ring 0 handler that halts;
 *              compared with the model.
 * Both enter V86 mode the architectural way: a ring 0 IRETD at V86E_STUB
 * pops a frame with VM = 1 (SDM Vol. 2, IRET, RETURN-TO-VIRTUAL-8086-MODE). */
#ifndef DIFF_V86ENV_H
#define DIFF_V86ENV_H

#include <stdint.h>

#include "proto.h"

/* ---- physical layout ---- */
#define V86E_RAM        (4u << 20)
#define V86E_GDT        0x1000u
#define V86E_IDT        0x1800u     /* 256 gates */
#define V86E_TSS        0x2000u     /* 0x68 bytes, then (at iomap base) the bitmap */
#define V86E_TSS_END    0x5000u     /* the TSS area ends here (bitmap base <= 0x200) */
#define V86E_HANDLERS   0x6000u     /* vector v's handler at +16v: HLT */
#define V86E_STUB       0x7000u     /* ring 0: IRETD into V86 mode */
#define V86E_STUB_ESP   0x7f00u     /* ring 0 stack holding the IRETD frame */
#define V86E_ESP0       0x9000u     /* TSS.ESP0 (SS0 = V86E_SEL_DATA0) */
#define V86E_R0AREA     48u         /* bytes below ESP0 compared (the largest frame: 40) */
#define V86E_R0FILL     0xa5u       /* what they hold before the case */
#define V86E_CS         0x2000u     /* V86 code segment: linear 0x20000 */
#define V86E_DS         0x3000u     /* V86 data segment: linear 0x30000 */
#define V86E_CODE_LIN   ((uint32_t)V86E_CS << 4)
#define V86E_DATA_LIN   ((uint32_t)V86E_DS << 4)
#define V86E_CODE_AREA  0x1000u     /* HLT-filled code bytes at V86E_CODE_LIN */
#define V86E_TAIL_FILL  0x5au       /* data segment bytes beyond the data area */

/* ---- GDT ---- */
enum {
    V86E_SEL_CODE16 = 0x08,  /* code, DPL 0, 16-bit, base 0, limit 0xffff */
    V86E_SEL_CODE0 = 0x10,   /* code, DPL 0, 32-bit, flat (cpu_set_flat32's CS) */
    V86E_SEL_DATA0 = 0x18,   /* data, DPL 0, 32-bit, flat (SS0) */
    V86E_SEL_CODE3 = 0x20,   /* code, DPL 3, 32-bit, flat */
    V86E_SEL_CONF0 = 0x28,   /* conforming code, DPL 0 */
    V86E_SEL_CODE1 = 0x30,   /* code, DPL 1 */
    V86E_SEL_TSS = 0x38,     /* 32-bit TSS, limit per case */
    V86E_SEL_DATA = 0x40,    /* data, DPL 0 (not code) */
    V86E_SEL_NP = 0x48,      /* code, DPL 0, not present */
    V86E_GDT_LIMIT = 0x4f,
};

/* A GDT entry as the generator and the model see it. */
struct v86e_desc {
    uint16_t sel;
    uint8_t code;        /* code segment (else data or system) */
    uint8_t system;      /* S = 0 (the TSS) */
    uint8_t dpl;
    uint8_t conforming;
    uint8_t present;
    uint8_t big;         /* D = 1 */
    uint32_t limit;      /* byte granular limit */
};

/* The descriptor of `sel` (RPL and TI ignored: no LDT), or NULL when the
 * index is 0 or beyond V86E_GDT_LIMIT. */
const struct v86e_desc *v86e_desc(uint16_t sel);
/* Its 8 bytes (emu_v86.c); the TSS descriptor with limit `tss_limit`,
 * busy type. */
uint64_t v86e_desc_bytes(const struct v86e_desc *d, uint32_t tss_limit);

/* ---- IDT gates (the access byte: P, DPL, type) ---- */
#define V86E_GATE_INT32  0x0e
#define V86E_GATE_TRAP32 0x0f
#define V86E_GATE_INT16  0x06
#define V86E_GATE_TRAP16 0x07

struct v86e_gate {
    uint8_t access;      /* P DPL S type, as in the descriptor */
    uint16_t sel;        /* target code segment selector */
};

/* Gate bytes for vector v (offset V86E_HANDLERS + 16v). */
uint64_t v86e_gate_bytes(const struct v86e_gate *g, int v);

/* ---- port I/O: what IN reads from port `port` (size 1, 2, 4) ---- */
static inline uint32_t v86e_port_value(uint16_t port, int size)
{
    uint32_t v = (uint32_t)port * 0x9e3779b1u ^ 0x5bd1e995u * (uint32_t)size;
    v ^= v >> 15;
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

/* An I/O access as the bus saw it (emu) or the model predicts it. */
struct v86e_io {
    uint16_t port;
    uint8_t size;
    uint8_t out;         /* 1 OUT/OUTS, 0 IN/INS */
    uint32_t value;
};

#endif
