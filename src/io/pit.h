/* pit.h - the 8254 programmable interval timer at ports 0x40-0x43 and the
 * speaker/gate bits of port 0x61 (system control port B).
 *
 * Counters run at 1.193182 MHz derived from a nanosecond clock that the
 * caller supplies (the host monotonic clock in the machine, a fake in
 * tests); their state is computed from the time since the count was
 * loaded, so nothing has to tick. Counter 0's OUT drives IRQ0: pit_poll()
 * turns rising edges since the last poll into one pulse on `irq0`
 * (edges missed while the host was busy collapse into one, as lost ticks).
 * Counter 2's gate is bit 0 of port 0x61; its OUT reads back as bit 5. */
#ifndef VSMP_PIT_H
#define VSMP_PIT_H

#include <stdbool.h>
#include <stdint.h>

#include "io/iobus.h"
#include "snap/snapbuf.h"

#define PIT_HZ 1193182u

struct pit_counter {
    uint8_t rw;             /* access: 1 LSB, 2 MSB, 3 LSB then MSB */
    uint8_t mode;           /* 0-5 */
    bool bcd;
    uint32_t count;         /* initial count as a number (0 -> 65536/10000) */
    bool loaded;            /* a count has been written since the control word */
    bool null_count;        /* written but not yet counting (status bit 6) */
    bool gate;
    bool triggered;         /* modes 1, 5: gate edge seen since the load */
    bool frozen;            /* gate low: elapsed held at frozen_ticks */
    uint64_t start_tick;    /* counting began (in PIT ticks) */
    uint64_t frozen_ticks;
    uint64_t edges_seen;    /* counter 0: OUT rising edges already signalled */
    /* write state */
    bool write_msb;         /* rw 3: next write is the MSB */
    uint8_t lsb;
    /* read state */
    bool read_msb;          /* rw 3: next unlatched read is the MSB */
    bool count_latched;
    uint16_t latch;         /* latched count as it reads (BCD applied) */
    bool latch_msb;         /* rw 3: next latched read is the MSB */
    bool status_latched;
    uint8_t status;
};

/* The state (plain data: saved in memory images). Tick counts are of the
 * clock now_ns gives (the machine's virtual clock), at PIT_HZ. */
struct pit_state {
    struct pit_counter c[3];
    uint8_t port61;         /* bits 0 (gate 2) and 1 (speaker enable) */
};

struct pit {
    struct pit_state s;
    uint64_t (*now_ns)(void *ctx);
    void *clock_ctx;
    struct irq_line irq0;
};

void pit_init(struct pit *p, uint64_t (*now_ns)(void *ctx), void *clock_ctx,
              struct irq_line irq0);
/* Signal counter 0's OUT edges up to now on irq0. */
void pit_poll(struct pit *p);
/* Host time (ns) of counter 0's next OUT rising edge, or UINT64_MAX. */
uint64_t pit_next_event_ns(const struct pit *p);

/* Current count and OUT of counter i (for tests and port reads). */
uint32_t pit_counter_value(const struct pit *p, int i);
bool pit_counter_out(const struct pit *p, int i);

uint32_t pit_io_read(void *pit, uint16_t port, int size);
void pit_io_write(void *pit, uint16_t port, int size, uint32_t value);
int pit_register(struct pit *p, struct iobus *bus);

/* Memory images: section "PIT ". The load checks the modes, access
 * modes and counts (a count beyond the counter's modulus is refused). */
void pit_save(const struct pit_state *s, struct snapw *w);
bool pit_load(struct pit_state *s, struct snapr *r);


#endif
