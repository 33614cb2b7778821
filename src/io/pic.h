/* pic.h - the two cascaded 8259A programmable interrupt controllers of a
 * PC (master at 0x20/0x21, slave at 0xA0/0xA1 on the master's IRQ2) and
 * the edge/level control registers (ELCR) at 0x4D0/0x4D1.
 *
 * Devices call pic_set_irq() with the level of their request line. The
 * pair drives one output, the CPU's INTR line, through `intr_out`; it is
 * recomputed after every state change. pic_ack() is the INTA cycle. */
#ifndef VSMP_PIC_H
#define VSMP_PIC_H

#include <stdbool.h>
#include <stdint.h>

#include "io/iobus.h"
#include "snap/snapbuf.h"

struct pic_chip {
    uint8_t irr, isr, imr;
    uint8_t lines;          /* current input levels (edge detection) */
    uint8_t elcr;           /* level-triggered inputs (ELCR) */
    uint8_t elcr_mask;      /* ELCR bits that exist */
    uint8_t vector_base;    /* ICW2 & 0xf8 */
    uint8_t icw3;
    uint8_t prio_base;      /* IRQ with the highest priority (rotation) */
    int init_step;          /* 0: ready; 2, 3, 4: expecting ICW2..ICW4 */
    bool icw4_needed, single, ltim;
    bool auto_eoi, rotate_on_aeoi, sfnm;
    bool read_isr;          /* OCW3 RR/RIS: command port reads ISR */
    bool poll;              /* OCW3 P: next command port read is a poll */
    bool special_mask;      /* stored only */
};

/* The state (plain data: saved in memory images). */
struct pic_state {
    struct pic_chip chip[2];   /* [0] master, [1] slave */
};

struct pic {
    struct pic_state s;
    void (*intr_out)(void *ctx, int level);
    void *ctx;
    int intr;                  /* last level given to intr_out */
};

void pic_init(struct pic *p, void (*intr_out)(void *ctx, int level), void *ctx);
/* Level of request line irq (0-15). Edge inputs latch a rising edge in
 * IRR; level inputs (ELCR or ICW1 LTIM) follow the line. */
void pic_set_irq(struct pic *p, int irq, int level);
/* INTA: the vector of the highest pending request (spurious IRQ7/IRQ15
 * vector when the request went away). */
int pic_ack(struct pic *p);

/* Port handlers (ports 0x20-0x21, 0xA0-0xA1, 0x4D0-0x4D1). */
uint32_t pic_io_read(void *pic, uint16_t port, int size);
void pic_io_write(void *pic, uint16_t port, int size, uint32_t value);
int pic_register(struct pic *p, struct iobus *bus);

/* Memory images: section "PIC ". The load checks every field it later
 * uses as an index (initialization step, priority base) and the ELCR
 * bits that exist. */
void pic_save(const struct pic_state *s, struct snapw *w);
bool pic_load(struct pic_state *s, struct snapr *r);
/* After a load: drive INTR from the state through intr_out (called once,
 * whatever the level). */
void pic_redrive(struct pic *p);


#endif
