/* digest.h - the normalized result of a differential-test case and its
 * digest, computed the same way from the native helper's result and from
 * vsmp's (so that a recorded corpus of digests can stand in for the host
 * CPU), and the digest of the generated inputs (to tell a stale corpus).
 *
 * "Normalized" is exactly what difftest compares: exception vector, EIP,
 * the eight GPRs, the EFLAGS bits the SDM defines at the end (or at the
 * faulting instruction), the changed dwords of the data area, and for an
 * x87 case that reached its end the FNSAVE image's control word, status
 * word without the undefined C0-C3, tag word and the non-empty ST(i). */
#ifndef DIFF_DIGEST_H
#define DIFF_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "gen.h"

#define DG_FNV_INIT 0xcbf29ce484222325ull

/* FNV-1a, 64-bit. */
uint64_t dg_fnv(uint64_t h, const void *p, size_t n);

/* EFLAGS bits / FSW condition bits undefined where the case stopped:
 * at the end (vector < 0) or at the faulting instruction `eip`. */
void dg_undef_at(const struct gen_case *gc, int vector, uint32_t eip, uint32_t *ufl, uint32_t *uc);

/* Digest of the normalized result `r` of case `gc`. */
uint64_t dg_result(const struct gen_case *gc, const struct dt_result *r);

/* Fold everything the generator produced for `gc` (the case record as
 * sent to the helper, the instruction boundaries and the masks) into h. */
uint64_t dg_inputs(uint64_t h, const struct gen_case *gc);

/* Digest of a fixed synthetic case and result: it changes whenever the
 * normalization or the digest function changes, so a corpus written by
 * another version of this code is told apart from a wrong result. */
uint64_t dg_selfcheck(void);

#endif
