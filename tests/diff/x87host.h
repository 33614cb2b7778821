/* x87host.h - the x87 rule of the differential test for hosts of another
 * CPU model than the one a corpus was recorded on.
 *
 * vsmp runs guest x87 instructions on the host's own x87 (fpu_host.c), so
 * the results of the instructions whose last bits the SDM leaves to the
 * implementation (F2XM1 FYL2X FPTAN FPATAN FPREM1 FPREM FYL2XP1 FSINCOS
 * FSIN FCOS: "host-dependent" below) are what the host CPU gives, and
 * may differ from the recording CPU's while being right. The rule, which
 * applies only when the host's vendor/family/model/stepping differ from
 * the corpus's and only to a case whose generated code contains a
 * host-dependent instruction, accepts a case whose digest differs from
 * the recorded one when both of these hold:
 *
 *  1. every host-dependent instruction vsmp executed in the case gave
 *     exactly what this host's x87 gives for the same input state, run
 *     independently in this 64-bit process (x87 instructions work in
 *     64-bit mode; "verify" below), and
 *  2. vsmp's run of the case with every host-dependent result replaced by
 *     a fixed function of the instruction's input state ("neutral" run:
 *     values, C0-C3 and the exception flags from a hash of the inputs;
 *     TOP and which registers are empty kept, as the stack behaviour is
 *     architectural) has the same digest as the neutral run recorded
 *     with the corpus, where vsmp agreed with the native CPU.
 *
 * So everything except the host-dependent results themselves (registers,
 * flags, memory, stack handling, how those results propagate) is checked
 * against the recording, and the host-dependent results against this
 * host's CPU. Such cases are counted and reported apart; any other
 * difference is a failure.
 *
 * The hold on vsmp's x87 path: difftest is linked with
 * -Wl,--wrap=fpu_host_exec, so every call from the core goes through
 * __wrap_fpu_host_exec here, which consults the control block installed
 * with x87_control() (a file-static pointer: the wrapped function's
 * signature is the core's and cannot carry it). */
#ifndef DIFF_X87HOST_H
#define DIFF_X87HOST_H

#include <stdint.h>

#include "gen.h"

/* Is D8+esc / modrm a host-dependent instruction? */
int x87_host_dependent(unsigned esc, unsigned modrm);
const char *x87_op_name(unsigned modrm);
/* Does the generated code of `gc` contain one (at an instruction start)? */
int x87_case_host_dependent(const struct gen_case *gc);
/* The list, for the corpus header ("d9f0 d9f1 ..."). */
const char *x87_op_list(void);

enum {
    X87_SKEW_NONE,
    X87_SKEW_HOST,   /* tests: this "host" x87 gives other last bits (vsmp and the check alike) */
    X87_SKEW_VSMP,   /* tests: only vsmp's results are off (a vsmp bug) */
};

struct x87ctl {
    int neutral;        /* replace host-dependent results (rule, part 2) */
    int verify;         /* check them against this host's x87 (part 1) */
    int skew;           /* X87_SKEW_* */
    uint32_t seen;      /* out: host-dependent instructions executed */
    uint32_t bad;       /* out: of them, results unlike this host's x87 */
    char first_bad[320];
};

/* Install `ctl` (NULL: calls pass straight through). */
void x87_control(struct x87ctl *ctl);

#endif
