/* emu.h - the vsmp side of the differential test: runs a struct dt_case
 * in the CPU core (in-process) and produces the same struct dt_result the
 * native helper produces. */
#ifndef DIFF_EMU_H
#define DIFF_EMU_H

#include "proto.h"

struct emu;
struct emu *emu_new(void);
void emu_run(struct emu *e, const struct dt_case *c, struct dt_result *res);
void emu_free(struct emu *e);
/* The engine: "jit" or "interp" (VSMP_ENGINE picks it; set_jit changes it). */
const char *emu_engine(const struct emu *e);
void emu_set_jit(struct emu *e, int on);

#endif
