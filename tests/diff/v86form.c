/* v86form.c - the virtual-8086 form of a GM_V86 case (see v86form.h). */
#include <stdio.h>
#include <string.h>

#include "v86form.h"

static int fail(char *err, size_t len, const char *what, uint32_t off)
{
    snprintf(err, len, "%s at native offset %#x", what, off);
    return -1;
}

static int is_prefix(uint8_t b)
{
    return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65 ||
           b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3;
}

static const struct gen_fix *fix_at(const struct gen_case *gc, uint32_t off)
{
    for (int i = 0; i < gc->nfix; i++)
        if (gc->fix[i].off == off)
            return &gc->fix[i];
    return NULL;
}

int v86_form_build(struct gen_case *gc, char *err, size_t len)
{
    const uint8_t *n = gc->c.code;
    struct v86_form *f = &gc->v86;
    uint32_t vl = 0;
    uint16_t relpos[GEN_MAX_FIX];
    if (gc->nbound == 0 || gc->b[0].off != 0)
        return fail(err, len, "no instruction", 0);
    for (int i = 0; i < gc->nbound; i++) {
        uint32_t o = gc->b[i].off, end = o + gc->b[i].len, p = o;
        int has66 = 0, has67 = 0, a16 = 0;
        f->off[i] = (uint16_t)vl;
        for (uint32_t q = o; q < end; q++) {
            const struct gen_fix *x = fix_at(gc, q);
            if (x && x->kind == FIX_A16)
                a16 = 1;
        }
        if (vl + (end - o) + 2 > V86F_CODE_MAX)
            return fail(err, len, "V86 form too long", o);
        /* prefixes: all but 66/67 as they are, then 66/67 as toggled */
        for (; p < end && is_prefix(n[p]); p++) {
            if (n[p] == 0x66)
                has66 = 1;
            else if (n[p] == 0x67)
                has67 = 1;
            else
                f->code[vl++] = n[p];
        }
        if (a16 && has67)
            return fail(err, len, "16-bit addressing operand with a 67 prefix", o);
        if (!has66)
            f->code[vl++] = 0x66;
        if (!has67 && !a16)
            f->code[vl++] = 0x67;
        while (p < end) {
            const struct gen_fix *x = fix_at(gc, p);
            if (!x) {
                f->code[vl++] = n[p++];
                continue;
            }
            if (p + x->len > end)
                return fail(err, len, "fix across an instruction boundary", p);
            switch (x->kind) {
            case FIX_ABS32: {
                uint32_t v = (uint32_t)n[p] | (uint32_t)n[p + 1] << 8 |
                             (uint32_t)n[p + 2] << 16 | (uint32_t)n[p + 3] << 24;
                if (v - DT_DATA >= DT_DATA_SIZE)
                    return fail(err, len, "absolute displacement outside the data area", p);
                dt_put32(f->code + vl, v - DT_DATA);
                vl += 4;
                break;
            }
            case FIX_A16:
                memcpy(f->code + vl, x->repl, x->rlen);
                vl += x->rlen;
                break;
            default:                        /* FIX_REL8 / FIX_REL32 */
                relpos[x - gc->fix] = (uint16_t)vl;
                memset(f->code + vl, 0, x->len);
                vl += x->len;
                break;
            }
            p += x->len;
        }
        if (vl - f->off[i] > 15)
            return fail(err, len, "V86 instruction longer than 15 bytes", o);
    }
    f->off[gc->nbound] = (uint16_t)vl;
    f->len = vl;

    /* branch displacements: target boundary in the V86 form */
    for (int k = 0; k < gc->nfix; k++) {
        const struct gen_fix *x = &gc->fix[k];
        if (x->kind != FIX_REL8 && x->kind != FIX_REL32)
            continue;
        int t = -1;
        for (int i = 0; i <= gc->nbound; i++)
            if ((i < gc->nbound ? gc->b[i].off : gc->c.code_len) == x->target) {
                t = i;
                break;
            }
        if (t < 0)
            return fail(err, len, "branch target not an instruction boundary", x->off);
        int32_t rel = (int32_t)f->off[t] - (int32_t)(relpos[k] + x->len);
        if (x->kind == FIX_REL8) {
            if (rel < -128 || rel > 127)
                return fail(err, len, "rel8 out of range in the V86 form", x->off);
            f->code[relpos[k]] = (uint8_t)rel;
        } else {
            dt_put32(f->code + relpos[k], (uint32_t)rel);
        }
    }
    return 0;
}

uint32_t v86_form_native_eip(const struct gen_case *gc, uint32_t ip)
{
    if (ip == gc->v86.len)
        return DT_CODE + gc->c.code_len;
    for (int i = 0; i < gc->nbound; i++)
        if (gc->v86.off[i] == ip)
            return DT_CODE + gc->b[i].off;
    return DT_CODE + 0x8000u + ip;
}
