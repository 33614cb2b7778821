/* v86env.c - the descriptors of the differential test's V86 machine
 * (v86env.h): the GDT as a table, and the bytes of its entries and of
 * IDT gates. */
#include <stddef.h>

#include "v86env.h"

static const struct v86e_desc gdt[] = {
    { V86E_SEL_CODE16, 1, 0, 0, 0, 1, 0, 0xffffu },
    { V86E_SEL_CODE0, 1, 0, 0, 0, 1, 1, 0xffffffffu },
    { V86E_SEL_DATA0, 0, 0, 0, 0, 1, 1, 0xffffffffu },
    { V86E_SEL_CODE3, 1, 0, 3, 0, 1, 1, 0xffffffffu },
    { V86E_SEL_CONF0, 1, 0, 0, 1, 1, 1, 0xffffffffu },
    { V86E_SEL_CODE1, 1, 0, 1, 0, 1, 1, 0xffffffffu },
    { V86E_SEL_TSS, 0, 1, 0, 0, 1, 0, 0 },
    { V86E_SEL_DATA, 0, 0, 0, 0, 1, 1, 0xffffffffu },
    { V86E_SEL_NP, 1, 0, 0, 0, 0, 1, 0xffffffffu },
};

const struct v86e_desc *v86e_desc(uint16_t sel)
{
    uint16_t idx = sel & 0xfff8u;
    if (idx == 0 || (sel & 4) || idx + 7u > V86E_GDT_LIMIT)
        return NULL;
    for (size_t i = 0; i < sizeof(gdt) / sizeof(gdt[0]); i++)
        if (gdt[i].sel == idx)
            return &gdt[i];
    return NULL;
}

uint64_t v86e_desc_bytes(const struct v86e_desc *d, uint32_t tss_limit)
{
    uint32_t limit = d->system ? tss_limit : d->limit, g = 0;
    if (limit > 0xfffffu) {
        limit >>= 12;
        g = 1;
    }
    uint32_t type;
    if (d->system)
        type = 0xb;                                  /* busy 32-bit TSS */
    else if (d->code)
        type = 0xb | (d->conforming ? 4u : 0u);      /* execute/read, accessed */
    else
        type = 0x3;                                  /* read/write, accessed */
    uint32_t access = (d->present ? 0x80u : 0) | (uint32_t)d->dpl << 5 |
                      (d->system ? 0 : 0x10u) | type;
    uint32_t lo = (limit & 0xffffu);                 /* base 0 */
    uint32_t hi = access << 8 | (limit & 0xf0000u) | (g << 23) | (d->big ? 1u << 22 : 0);
    if (d->system)
        return (uint64_t)hi << 32 | lo | (uint64_t)V86E_TSS << 16 |
               ((uint64_t)(V86E_TSS >> 16) & 0xff) << 32;
    return (uint64_t)hi << 32 | lo;
}

uint64_t v86e_gate_bytes(const struct v86e_gate *g, int v)
{
    uint32_t off = V86E_HANDLERS + 16u * (uint32_t)v;
    uint32_t lo = (off & 0xffffu) | (uint32_t)g->sel << 16;
    uint32_t hi = (off & 0xffff0000u) | (uint32_t)g->access << 8;
    return (uint64_t)hi << 32 | lo;
}
