/* cmos.h - the MC146818 real-time clock and CMOS RAM at ports 0x70/0x71.
 *
 * The time comes from a wall clock the caller supplies (the host's
 * CLOCK_REALTIME in the machine) plus an offset the guest sets by writing
 * the time registers. Register B selects BCD or binary and 24h or 12h.
 * Alarm and periodic interrupts (IRQ8) are not generated yet. Bit 7 of
 * the index port is the NMI mask. */
#ifndef VSMP_CMOS_H
#define VSMP_CMOS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "io/iobus.h"
#include "snap/snapbuf.h"

/* The state (plain data: saved in memory images): the registers, the
 * CMOS RAM (the alarm registers among them) and the guest's time as an
 * offset from the wall clock (the machine's virtual clock's wall time,
 * which a restore keeps continuous). */
struct cmos_state {
    uint8_t index;
    bool nmi_masked;
    uint8_t ram[128];           /* everything that is plain storage */
    int64_t offset_s;           /* guest time - wall clock time */
};

struct cmos {
    struct cmos_state s;
    void (*wall)(void *ctx, struct timespec *ts);
    void *wall_ctx;
};

/* ram_size: the memory-size bytes (0x15-0x18, 0x30-0x31, 0x34-0x35). */
void cmos_init(struct cmos *c, uint32_t ram_size,
               void (*wall)(void *ctx, struct timespec *ts), void *wall_ctx);
uint8_t cmos_read(struct cmos *c, uint8_t reg);
void cmos_write(struct cmos *c, uint8_t reg, uint8_t value);

uint32_t cmos_io_read(void *cmos, uint16_t port, int size);
void cmos_io_write(void *cmos, uint16_t port, int size, uint32_t value);
int cmos_register(struct cmos *c, struct iobus *bus);

/* Memory images: section "CMOS" (the load refuses an index over 127). */
void cmos_save(const struct cmos_state *s, struct snapw *w);
bool cmos_load(struct cmos_state *s, struct snapr *r);


#endif
