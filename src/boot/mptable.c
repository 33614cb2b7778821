/* mptable.c - builds the MP floating pointer structure and the MP
 * configuration table (see mptable.h), with their checksums, and copies
 * them into guest RAM. Layout from the Intel MultiProcessor
 * Specification, version 1.4, chapter 4. */
#include "boot/mptable.h"

#include <string.h>

#include "boot/le.h"
/* The byte that makes the sum of n bytes zero (with it stored as 0). */
static uint8_t checksum(const uint8_t *b, size_t n)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + b[i]);
    return (uint8_t)(0u - sum);
}

size_t mptable_size(int ncpus)
{
    if (ncpus < 1 || ncpus > MPTABLE_MAX_CPUS)
        return 0;
    return MPTABLE_SIZE((size_t)ncpus);
}

/* I/O interrupt or local interrupt entry. */
static uint8_t *int_entry(uint8_t *e, uint8_t type, uint8_t itype, uint8_t bus, uint8_t irq,
                          uint8_t dest, uint8_t pin)
{
    e[0] = type;
    e[1] = itype;
    le_wr16(e + 2, 0);            /* polarity and trigger: conform to the bus */
    e[4] = bus;
    e[5] = irq;
    e[6] = dest;
    e[7] = pin;
    return e + MPTABLE_ENTRY_SIZE;
}

size_t mptable_build(const struct mptable_config *cfg, uint32_t base, uint8_t *buf, size_t len)
{
    size_t size = mptable_size(cfg->ncpus);
    if (!size || len < size)
        return 0;
    memset(buf, 0, size);
    uint8_t *fp = buf, *hdr = buf + MPTABLE_FLOAT_SIZE;
    uint8_t *e = hdr + MPTABLE_HDR_SIZE;
    const uint8_t isa_bus = 0;
    uint16_t count = 0;

    for (int i = 0; i < cfg->ncpus; i++, count++) {
        e[0] = MP_ENT_CPU;
        e[1] = (uint8_t)i;                     /* local APIC ID = rank */
        e[2] = cfg->apic_version;
        e[3] = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
        le_wr32(e + 4, cfg->cpu_signature);
        le_wr32(e + 8, cfg->cpu_features);
        e += MPTABLE_CPU_SIZE;
    }
    e[0] = MP_ENT_BUS;
    e[1] = isa_bus;
    memcpy(e + 2, "ISA   ", 6);
    e += MPTABLE_ENTRY_SIZE;
    count++;
    e[0] = MP_ENT_IOAPIC;
    e[1] = cfg->ioapic_id;
    e[2] = cfg->ioapic_version;
    e[3] = 0x01;                                /* usable */
    le_wr32(e + 4, cfg->ioapic_addr);
    e += MPTABLE_ENTRY_SIZE;
    count++;
    /* ISA IRQs: the 8259's INTR (ExtINT) on extint_pin, the others as
     * isa_pin says (by default IRQ0 on pin 2, the others on their own
     * pin); IRQ2 is the cascade and has no entry. */
    e = int_entry(e, MP_ENT_IOINT, MP_EXTINT, isa_bus, 0, cfg->ioapic_id, cfg->extint_pin);
    count++;
    for (uint8_t irq = 0; irq < 16; irq++) {
        if (irq == 2)
            continue;
        e = int_entry(e, MP_ENT_IOINT, MP_INT, isa_bus, irq, cfg->ioapic_id,
                      cfg->isa_pin ? cfg->isa_pin[irq] : irq == 0 ? 2 : irq);
        count++;
    }
    e = int_entry(e, MP_ENT_LOCALINT, MP_EXTINT, isa_bus, 0, 0xff, 0);
    e = int_entry(e, MP_ENT_LOCALINT, MP_NMI, isa_bus, 0, 0xff, 1);
    count += 2;

    size_t table_len = (size_t)(e - hdr);
    memcpy(hdr, "PCMP", 4);
    le_wr16(hdr + 4, (uint16_t)table_len);
    hdr[6] = 4;                                 /* spec revision 1.4 */
    memcpy(hdr + 8, "VSMP    ", 8);             /* OEM ID */
    memcpy(hdr + 16, "VIRTUAL SMP ", 12);       /* product ID */
    le_wr16(hdr + 34, count);
    le_wr32(hdr + 36, cfg->lapic_addr);
    hdr[7] = checksum(hdr, table_len);

    memcpy(fp, "_MP_", 4);
    le_wr32(fp + 4, base + MPTABLE_FLOAT_SIZE);
    fp[8] = 1;                                  /* length in 16-byte units */
    fp[9] = 4;                                  /* spec revision 1.4 */
    fp[11] = 0;                                 /* configuration table present */
    fp[12] = 0;                                 /* virtual wire mode (no IMCR) */
    fp[10] = checksum(fp, MPTABLE_FLOAT_SIZE);
    return size;
}

int mptable_write(struct phys *p, const struct mptable_config *cfg)
{
    uint8_t buf[MPTABLE_MAX];
    size_t n = mptable_build(cfg, MPTABLE_BASE, buf, sizeof buf);
    if (!n || (uint64_t)MPTABLE_BASE + n > p->ram_size)
        return -1;
    return phys_copy_in(p, MPTABLE_BASE, buf, n);
}
