/* fpu_snap.c - the x87 state (struct fpu, with MXCSR) in a memory image:
 * section "FPU " (docs/image-format.md). The load refuses what the FPU
 * code could not have produced and relies on: a control word with its
 * fixed bits wrong, a status word whose ES/B summary disagrees with its
 * unmasked exception flags (fpu_host_exec() would then run the host's
 * x87 with an exception pending), MXCSR reserved bits. */
#include "cpu/fpu.h"

#include "snap/snapbuf.h"

#define FPU_SNAP_VERSION 1
#define MXCSR_VALID 0x0000ffbfu     /* as FXRSTOR accepts (fpu.c) */

void fpu_save(const struct fpu *f, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("FPU "), FPU_SNAP_VERSION);
    for (int i = 0; i < 8; i++) {
        snapw_u64(w, f->st[i].mant);
        snapw_u16(w, f->st[i].sexp);
    }
    snapw_u16(w, f->cw);
    snapw_u16(w, f->sw);
    snapw_u16(w, f->tw);
    snapw_u16(w, f->fop);
    snapw_u32(w, f->fip);
    snapw_u32(w, f->fdp);
    snapw_u16(w, f->fcs);
    snapw_u16(w, f->fds);
    snapw_u32(w, f->mxcsr);
    snapw_end(w);
}

bool fpu_load(struct fpu *f, struct snapr *r)
{
    struct snapr s;
    if (!snapr_section(r, SNAP_TAG("FPU "), FPU_SNAP_VERSION, &s, NULL))
        return false;
    struct fpu n = { 0 };
    for (int i = 0; i < 8; i++) {
        n.st[i].mant = snapr_u64(&s);
        n.st[i].sexp = snapr_u16(&s);
    }
    n.cw = snapr_u16(&s);
    n.sw = snapr_u16(&s);
    n.tw = snapr_u16(&s);
    n.fop = snapr_u16(&s);
    n.fip = snapr_u32(&s);
    n.fdp = snapr_u32(&s);
    n.fcs = snapr_u16(&s);
    n.fds = snapr_u16(&s);
    n.mxcsr = snapr_u32(&s);
    if (!s.bad) {
        struct fpu sum = n;
        fpu_update_es(&sum);
        if ((n.cw & ~FCW_KEEP) != 0x0040u)
            snapr_fail(&s, "FPU control word %#x has its fixed bits wrong", n.cw);
        else if (sum.sw != n.sw)
            snapr_fail(&s, "FPU status word %#x: ES/B disagree with its exception flags", n.sw);
        else if (n.fop > 0x7ff)
            snapr_fail(&s, "FPU opcode %#x is wider than 11 bits", n.fop);
        else if (n.mxcsr & ~MXCSR_VALID)
            snapr_fail(&s, "MXCSR %#x has reserved bits set", n.mxcsr);
    }
    if (!snapr_done(&s, r))
        return false;
    *f = n;
    return true;
}
