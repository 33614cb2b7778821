/* v86form.h - the virtual-8086 form of a GM_V86 case (gen.h): the same
 * instructions for a code segment whose default operand and address size
 * are 16 bits, so that the SDM gives both forms the same results from
 * the same registers and memory (Vol. 1, 3.6 "Operand-size and
 * address-size attributes": 66 and 67 select the non-default size;
 * Vol. 3, 20.1 "Real-Address Mode" / 20.2 "Virtual-8086 Mode": the same
 * instructions, the 8086 address formation):
 *   - the operand-size prefix 66 toggled: added where the 32-bit form has
 *     none, removed where it has one (so the operand size, hence every
 *     immediate, stays the same);
 *   - the address-size prefix 67 toggled the same way, except for a
 *     FIX_A16 operand, which takes the 16-bit addressing form (the 32-bit
 *     form used the same registers plus DT_DATA);
 *   - a FIX_ABS32 displacement minus DT_DATA: the data area is at offset
 *     0 of the V86 data segment (v86env.h);
 *   - branch displacements recomputed for the new lengths.
 * The native CPU (or the corpus) runs the 32-bit form; vsmp runs this
 * one in V86 mode (emu_v86.c), and its result is mapped back: EIP to the
 * 32-bit form's offsets, the data segment's bytes to the data area. */
#ifndef DIFF_V86FORM_H
#define DIFF_V86FORM_H

#include <stddef.h>
#include <stdint.h>

#include "gen.h"

/* Build gc->v86 from gc->c, gc->b and gc->fix. 0, or -1 with the reason. */
int v86_form_build(struct gen_case *gc, char *err, size_t len);

/* The 32-bit form's EIP for V86 IP `ip` (an instruction boundary or the
 * end); an IP that is neither gives DT_CODE + 0x8000 + ip, which no
 * native result has. */
uint32_t v86_form_native_eip(const struct gen_case *gc, uint32_t ip);

#endif
