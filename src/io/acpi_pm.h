/* acpi_pm.h - the ACPI fixed-hardware power-management registers the FADT
 * (boot/acpi.h) names, as I/O ports on rank 0:
 *   ACPI_PM1A_EVT     PM1a_STS (16 bits, write 1 to clear) and, at +2,
 *                     PM1a_EN (16 bits). No event source exists, so no
 *                     status bit is ever set and the SCI is never raised.
 *   ACPI_PM1A_CNT     PM1a_CNT (16 bits): SCI_EN reads 1 (no SMI command
 *                     port: always in ACPI mode), BM_RLD and SLP_TYP read
 *                     back, GBL_RLS and SLP_EN read 0. Setting SLP_EN with
 *                     SLP_TYP = ACPI_SLP_TYP_S5 (\_S5) reports
 *                     ACPI_PM_POWER_OFF; other sleep types are ignored
 *                     (the DSDT offers no S1-S4).
 *   ACPI_RESET_PORT   the FADT reset register (8 bits): writing
 *                     ACPI_RESET_VALUE reports ACPI_PM_RESET; other values
 *                     are ignored; reads 0.
 * Byte, word and (split by the bus) dword accesses all work; a byte write
 * to PM1a_CNT's high byte carries SLP_TYP and SLP_EN together.
 * What an event does is the machine's choice (machine.c: power-off and
 * reset both end the run with status 0). */
#ifndef VSMP_ACPI_PM_H
#define VSMP_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "io/iobus.h"
#include "snap/snapbuf.h"

#define ACPI_PM1A_EVT    0x600
#define ACPI_PM1A_CNT    0x604
#define ACPI_RESET_PORT  0x608
#define ACPI_RESET_VALUE 0x06
#define ACPI_SCI_IRQ     9

/* PM1 control bits (ACPI 6.4, 4.8.3.2.1). */
#define ACPI_PM1_SCI_EN     0x0001u
#define ACPI_PM1_BM_RLD     0x0002u
#define ACPI_PM1_GBL_RLS    0x0004u
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP    0x1c00u
#define ACPI_PM1_SLP_EN     0x2000u
/* PM1 enable bits that exist (TMR, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE_DIS). */
#define ACPI_PM1_EN_MASK    0x4721u

enum acpi_pm_event { ACPI_PM_POWER_OFF, ACPI_PM_RESET };

/* The registers (plain data: saved in memory images). */
struct acpi_pm_state {
    uint16_t sts, en, cnt;
};

struct acpi_pm {
    struct acpi_pm_state s;
    uint8_t s5_type;            /* SLP_TYP value that means S5 */
    void (*on_event)(void *ctx, enum acpi_pm_event ev);
    void *ctx;
};

void acpi_pm_init(struct acpi_pm *pm, uint8_t s5_type,
                  void (*on_event)(void *ctx, enum acpi_pm_event ev), void *ctx);
uint32_t acpi_pm_io_read(void *pm, uint16_t port, int size);
void acpi_pm_io_write(void *pm, uint16_t port, int size, uint32_t value);
/* Registers both port ranges; 0 or -1 (a range taken). */
int acpi_pm_register(struct acpi_pm *pm, struct iobus *bus);

/* Memory images: section "ACPI" (the load refuses bits that cannot be
 * set). */
void acpi_pm_save(const struct acpi_pm_state *s, struct snapw *w);
bool acpi_pm_load(struct acpi_pm_state *s, struct snapr *r);


#endif
