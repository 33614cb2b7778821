/* acpi_pm.c - the ACPI PM1 event/control registers and the reset register
 * (acpi_pm.h): registers kept per byte, events reported to the machine. */
#include "io/acpi_pm.h"

#include <string.h>

void acpi_pm_init(struct acpi_pm *pm, uint8_t s5_type,
                  void (*on_event)(void *ctx, enum acpi_pm_event ev), void *ctx)
{
    memset(pm, 0, sizeof(*pm));
    pm->s.cnt = ACPI_PM1_SCI_EN;
    pm->s5_type = s5_type & 7;
    pm->on_event = on_event;
    pm->ctx = ctx;
}

static uint8_t read_byte(const struct acpi_pm *pm, uint16_t port)
{
    uint16_t off = (uint16_t)(port - ACPI_PM1A_EVT);
    uint16_t reg;
    switch (off >> 1) {
    case 0: reg = pm->s.sts; break;
    case 1: reg = pm->s.en; break;
    case 2: reg = pm->s.cnt & (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP); break;
    default: return 0;
    }
    return (uint8_t)(reg >> (8 * (off & 1)));
}

static void write_byte(struct acpi_pm *pm, uint16_t port, uint8_t v)
{
    uint16_t off = (uint16_t)(port - ACPI_PM1A_EVT);
    int shift = 8 * (off & 1);
    uint16_t mask = (uint16_t)(0xffu << shift), val = (uint16_t)(v << shift);
    switch (off >> 1) {
    case 0:
        pm->s.sts &= (uint16_t)~(val & mask);             /* write 1 to clear */
        break;
    case 1:
        pm->s.en = (uint16_t)((pm->s.en & ~mask) | (val & ACPI_PM1_EN_MASK));
        break;
    case 2: {
        uint16_t cnt = (uint16_t)((pm->s.cnt & ~mask) | (val & mask));
        pm->s.cnt = (uint16_t)((cnt & (ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP)) | ACPI_PM1_SCI_EN);
        if ((val & mask & ACPI_PM1_SLP_EN) &&
            ((cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT) == pm->s5_type &&
            pm->on_event)
            pm->on_event(pm->ctx, ACPI_PM_POWER_OFF);
        break;
    }
    default:
        break;
    }
}

uint32_t acpi_pm_io_read(void *opaque, uint16_t port, int size)
{
    struct acpi_pm *pm = opaque;
    uint32_t v = 0;
    if (port == ACPI_RESET_PORT)
        return 0;
    for (int i = 0; i < size; i++)
        v |= (uint32_t)read_byte(pm, (uint16_t)(port + i)) << (8 * i);
    return v;
}

void acpi_pm_io_write(void *opaque, uint16_t port, int size, uint32_t value)
{
    struct acpi_pm *pm = opaque;
    if (port == ACPI_RESET_PORT) {
        if ((uint8_t)value == ACPI_RESET_VALUE && pm->on_event)
            pm->on_event(pm->ctx, ACPI_PM_RESET);
        return;
    }
    for (int i = 0; i < size; i++)
        write_byte(pm, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)));
}

int acpi_pm_register(struct acpi_pm *pm, struct iobus *bus)
{
    if (iobus_register(bus, ACPI_PM1A_EVT, 6, 2, pm, acpi_pm_io_read, acpi_pm_io_write))
        return -1;
    return iobus_register(bus, ACPI_RESET_PORT, 1, 1, pm, acpi_pm_io_read, acpi_pm_io_write);
}

/* ---- memory images ---- */

void acpi_pm_save(const struct acpi_pm_state *s, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("ACPI"), 1);
    snapw_u16(w, s->sts);
    snapw_u16(w, s->en);
    snapw_u16(w, s->cnt);
    snapw_end(w);
}

bool acpi_pm_load(struct acpi_pm_state *s, struct snapr *r)
{
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("ACPI"), 1, &sub, &version))
        return false;
    struct acpi_pm_state n;
    n.sts = snapr_u16(&sub);
    n.en = snapr_u16(&sub);
    n.cnt = snapr_u16(&sub);
    if (!sub.bad && ((n.en & ~ACPI_PM1_EN_MASK) ||
                     (n.cnt & ~(ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP))))
        snapr_fail(&sub, "ACPI PM1: enable 0x%04x, control 0x%04x", n.en, n.cnt);
    if (!snapr_done(&sub, r))
        return false;
    *s = n;
    return true;
}
