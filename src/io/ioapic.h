/* ioapic.h - an Intel 82093AA I/O APIC (version 0x11, 24 inputs) at
 * 0xFEC00000, on rank 0.
 *
 * Registers are reached indirectly: IOREGSEL (offset 0x00) selects,
 * IOWIN (offset 0x10) reads and writes the selected register: 0x00 ID
 * (bits 24-27), 0x01 version (0x11, max redirection entry 23 in bits
 * 16-23), 0x02 arbitration ID, 0x10 + 2n / 0x11 + 2n the low/high halves
 * of redirection entry n: vector, delivery mode (fixed, lowest priority,
 * SMI, NMI, INIT, ExtINT), destination mode, delivery status (always 0),
 * polarity, remote IRR, trigger mode, mask, destination (bits 56-63).
 *
 * Inputs are logical request levels (1 = asserted): the polarity bit is
 * stored but does not invert the line, as the devices model their lines
 * active-high. An edge-triggered entry sends one message per rising edge
 * while unmasked (edges on a masked pin are lost, as on the 82093AA). A
 * level-triggered fixed/lowest-priority entry sends a message while its
 * line is asserted, unmasked and remote IRR is clear, then sets remote
 * IRR until a local APIC broadcasts the EOI of its vector (ioapic_eoi()),
 * after which a still-asserted line is sent again. NMI, INIT, SMI and
 * ExtINT are always edge-triggered.
 *
 * Messages go out through `deliver` with the destination as programmed;
 * the machine routes them to ranks like IPIs (apic_route()). */
#ifndef VSMP_IOAPIC_H
#define VSMP_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/phys.h"
#include "snap/snapbuf.h"

#define IOAPIC_DEFAULT_BASE 0xfec00000u
#define IOAPIC_MMIO_SIZE    0x20u
#define IOAPIC_PINS         24
#define IOAPIC_VERSION      0x11u

/* Register indices (through IOREGSEL) and MMIO offsets. */
#define IOAPIC_REG_ID      0x00u
#define IOAPIC_REG_VERSION 0x01u
#define IOAPIC_REG_ARB     0x02u
#define IOAPIC_REG_REDTBL  0x10u
#define IOAPIC_IOREGSEL    0x00u
#define IOAPIC_IOWIN       0x10u

/* Redirection entry bits */
#define IOAPIC_RTE_LOGICAL    0x00000800u
#define IOAPIC_RTE_STATUS     0x00001000u
#define IOAPIC_RTE_POLARITY   0x00002000u   /* 1: active low (stored only) */
#define IOAPIC_RTE_REMOTE_IRR 0x00004000u
#define IOAPIC_RTE_LEVEL      0x00008000u
#define IOAPIC_RTE_MASKED     0x00010000u

/* One message: destination field, destination mode, delivery mode (the
 * APIC_DM_* encoding), vector, trigger mode. */
typedef void (*ioapic_deliver_fn)(void *ctx, uint8_t dest, bool logical, int mode,
                                  uint8_t vector, bool trigger_level);

/* The state (plain data: saved in memory images). */
struct ioapic_state {
    uint8_t id;                 /* 4 bits */
    uint8_t regsel;
    uint64_t rte[IOAPIC_PINS];
    uint32_t lines;             /* input levels, bit per pin */
};

struct ioapic {
    struct ioapic_state s;
    ioapic_deliver_fn deliver;
    void *ctx;
};

/* Power-on state (every entry masked) with ID `id` & 15. */
void ioapic_init(struct ioapic *io, uint8_t id, ioapic_deliver_fn deliver, void *ctx);
void ioapic_reset(struct ioapic *io);

/* Request level of input `pin` (0-23). */
void ioapic_set_irq(struct ioapic *io, int pin, int level);
/* Signature suitable for struct irq_line (irq = pin). */
void ioapic_irq_line(void *io, int pin, int level);
/* EOI broadcast from a local APIC for a level-triggered vector. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* Indirect register access (index as written to IOREGSEL). */
uint32_t ioapic_read_reg(struct ioapic *io, uint8_t index);
void ioapic_write_reg(struct ioapic *io, uint8_t index, uint32_t value);
/* phys MMIO callbacks (ctx = struct ioapic *) and mapping at `base`. */
uint32_t ioapic_mmio_read(void *io, uint32_t offset, int size);
void ioapic_mmio_write(void *io, uint32_t offset, int size, uint32_t value);
int ioapic_map(struct ioapic *io, struct phys *phys, uint32_t base);

/* Memory images: section "IOAP". IOREGSEL may hold any byte (a register
 * access checks the index); the load refuses an ID over 15, input levels
 * of pins that do not exist and entry bits that cannot be set. */
void ioapic_save(const struct ioapic_state *s, struct snapw *w);
bool ioapic_load(struct ioapic_state *s, struct snapr *r);
/* After a load: level-triggered entries whose line is asserted, unmasked
 * and not in service are delivered (as after an EOI). */
void ioapic_redrive(struct ioapic *io);


/* PC wiring of ISA IRQ `irq` to an IOAPIC input: the PIT's IRQ0 is on
 * pin 2 (pin 0 carries the 8259's INTR for ExtINT), the rest identity. */
static inline int ioapic_isa_pin(int irq)
{
    return irq == 0 ? 2 : irq;
}

#endif
