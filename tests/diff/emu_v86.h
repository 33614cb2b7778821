/* emu_v86.h - the vsmp side of the differential test's virtual-8086
 * cases (emu_v86.c): runs a GM_V86 case's V86 form and produces the
 * struct dt_result of its 32-bit form, or runs a GM_V86SYS case to its
 * first delivered event and produces its struct v86s_out. */
#ifndef DIFF_EMU_V86_H
#define DIFF_EMU_V86_H

#include "gen.h"
#include "v86model.h"

/* GM_V86 results that no native result has */
#define V86F_VEC_STRAY  95   /* wrote the data segment beyond the data area */
#define V86F_VEC_NOTV86 94   /* faulted before V86 mode (the entering IRETD) */

struct emu86;
struct emu86 *emu86_new(void);
void emu86_free(struct emu86 *e);
void emu86_run_form(struct emu86 *e, const struct gen_case *gc, struct dt_result *res);
void emu86_run_sys(struct emu86 *e, const struct v86s_case *c, struct v86s_out *o);
/* The engine: "jit" or "interp" (VSMP_ENGINE picks it). */
const char *emu86_engine(const struct emu86 *e);

#endif
