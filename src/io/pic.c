/* pic.c - 8259A master/slave pair: initialization words ICW1-ICW4,
 * operation words OCW1-OCW3, IRR/ISR/IMR, priority with rotation,
 * specific and non-specific EOI, auto-EOI, poll, spurious IRQ7/IRQ15 and
 * the cascade on IRQ2. Special mask mode is stored but not applied. */
#include "io/pic.h"

#include <string.h>

static void chip_reset(struct pic_chip *c, uint8_t elcr_mask)
{
    uint8_t elcr = c->elcr, lines = c->lines;
    memset(c, 0, sizeof(*c));
    c->elcr = elcr & elcr_mask;
    c->lines = lines; /* input levels are wires, not state */
    c->elcr_mask = elcr_mask;
}

void pic_init(struct pic *p, void (*intr_out)(void *ctx, int level), void *ctx)
{
    memset(p, 0, sizeof(*p));
    chip_reset(&p->s.chip
[0], 0xf8);
    chip_reset(&p->s.chip
[1], 0xde);
    p->intr_out = intr_out;
    p->ctx = ctx;
}

/* Highest-priority set bit of `bits` in rotation order, as an IRQ number,
 * or -1. */
static int highest(const struct pic_chip *c, uint8_t bits)
{
    if (!bits)
        return -1;
    for (int i = 0; i < 8; i++) {
        int irq = (c->prio_base + i) & 7;
        if (bits & (1u << irq))
            return irq;
    }
    return -1;
}

static int priority(const struct pic_chip *c, int irq)
{
    return (irq - c->prio_base) & 7;
}

/* The request this chip would present on INT, or -1. */
static int chip_pending(const struct pic_chip *c)
{
    int req = highest(c, c->irr & ~c->imr);
    if (req < 0)
        return -1;
    uint8_t isr = c->isr;
    if (c->sfnm && (c->icw3 & isr))
        isr &= (uint8_t)~c->icw3; /* slave in service does not block it */
    int cur = highest(c, isr);
    if (cur >= 0 && priority(c, cur) <= priority(c, req))
        return -1;
    return req;
}

static bool cascaded(const struct pic *p)
{
    return !p->s.chip
[0].single;
}

static void update(struct pic *p)
{
    struct pic_chip *m = &p->s.chip
[0];
    if (cascaded(p)) {
        /* The slave's INT output is wired to master IR2; treat it as a
         * level so a request that stays asserted is never lost. */
        if (chip_pending(&p->s.chip
[1]) >= 0)
            m->irr |= 0x04;
        else
            m->irr &= (uint8_t)~0x04;
    }
    int level = chip_pending(m) >= 0;
    if (level != p->intr) {
        p->intr = level;
        if (p->intr_out)
            p->intr_out(p->ctx, level);
    }
}

static bool is_level(const struct pic_chip *c, uint8_t bit)
{
    return c->ltim || (c->elcr & bit);
}

void pic_set_irq(struct pic *p, int irq, int level)
{
    if (irq < 0 || irq > 15)
        return;
    struct pic_chip *c = &p->s.chip
[irq >> 3];
    uint8_t bit = (uint8_t)(1u << (irq & 7));
    if (is_level(c, bit)) {
        if (level)
            c->irr |= bit;
        else
            c->irr &= (uint8_t)~bit;
    } else if (level && !(c->lines & bit)) {
        c->irr |= bit;
    }
    if (level)
        c->lines |= bit;
    else
        c->lines &= (uint8_t)~bit;
    update(p);
}

/* Acknowledge irq on one chip: IRR -> ISR (or auto-EOI). */
static void chip_ack(struct pic_chip *c, int irq)
{
    uint8_t bit = (uint8_t)(1u << irq);
    c->irr &= (uint8_t)~bit;
    if (is_level(c, bit) && (c->lines & bit))
        c->irr |= bit; /* still asserted: requests again after EOI */
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi)
            c->prio_base = (uint8_t)((irq + 1) & 7);
    } else {
        c->isr |= bit;
    }
}

int pic_ack(struct pic *p)
{
    struct pic_chip *m = &p->s.chip
[0], *s = &p->s.chip
[1];
    int vector;
    int irq = chip_pending(m);
    if (irq < 0) {
        vector = m->vector_base + 7;           /* spurious IRQ7 */
    } else if (irq == 2 && cascaded(p)) {
        int sirq = chip_pending(s);
        chip_ack(m, 2);
        if (sirq < 0) {
            vector = s->vector_base + 7;       /* spurious IRQ15 */
        } else {
            chip_ack(s, sirq);
            vector = s->vector_base + sirq;
        }
    } else {
        chip_ack(m, irq);
        vector = m->vector_base + irq;
    }
    update(p);
    return vector;
}

/* Poll command (OCW3 P): acknowledge like INTA, return 0x80|irq or 0. */
static uint8_t chip_poll(struct pic *p, int which)
{
    struct pic_chip *c = &p->s.chip
[which];
    int irq = chip_pending(c);
    if (irq < 0)
        return 0;
    chip_ack(c, irq);
    update(p);
    return (uint8_t)(0x80 | irq);
}

static void write_command(struct pic *p, struct pic_chip *c, uint8_t v)
{
    if (v & 0x10) {                         /* ICW1 */
        chip_reset(c, c->elcr_mask);
        c->ltim = v & 0x08;
        c->single = v & 0x02;
        c->icw4_needed = v & 0x01;
        c->init_step = 2;
    } else if (v & 0x08) {                  /* OCW3 */
        if (v & 0x04)
            c->poll = true;
        if (v & 0x02)
            c->read_isr = v & 0x01;
        if (v & 0x40)
            c->special_mask = v & 0x20;
    } else {                                /* OCW2 */
        int cmd = v >> 5;
        int irq = -1;
        switch (cmd) {
        case 1: /* non-specific EOI */
        case 5: /* rotate on non-specific EOI */
            irq = highest(c, c->isr);
            break;
        case 3: /* specific EOI */
        case 7: /* rotate on specific EOI */
            irq = v & 7;
            break;
        case 4: c->rotate_on_aeoi = true; break;
        case 0: c->rotate_on_aeoi = false; break;
        case 6: c->prio_base = (uint8_t)((v + 1) & 7); break; /* set priority */
        default: break;
        }
        if (irq >= 0 && (cmd == 1 || cmd == 5 || cmd == 3 || cmd == 7)) {
            c->isr &= (uint8_t)~(1u << irq);
            if (cmd == 5 || cmd == 7)
                c->prio_base = (uint8_t)((irq + 1) & 7);
        }
    }
    update(p);
}

static void write_data(struct pic *p, struct pic_chip *c, uint8_t v)
{
    switch (c->init_step) {
    case 2:
        c->vector_base = v & 0xf8;
        c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
        break;
    case 3:
        c->icw3 = v;
        c->init_step = c->icw4_needed ? 4 : 0;
        break;
    case 4:
        c->auto_eoi = v & 0x02;
        c->sfnm = v & 0x10;
        c->init_step = 0;
        break;
    default:
        c->imr = v;                         /* OCW1 */
        break;
    }
    update(p);
}

uint32_t pic_io_read(void *opaque, uint16_t port, int size)
{
    struct pic *p = opaque;
    (void)size;
    if (port == 0x4d0 || port == 0x4d1)
        return p->s.chip
[port & 1].elcr;
    int which = (port & 0x80) ? 1 : 0;
    struct pic_chip *c = &p->s.chip
[which];
    if (c->poll) {
        c->poll = false;
        return chip_poll(p, which);
    }
    if (port & 1)
        return c->imr;
    return c->read_isr ? c->isr : c->irr;
}

void pic_io_write(void *opaque, uint16_t port, int size, uint32_t value)
{
    struct pic *p = opaque;
    (void)size;
    uint8_t v = (uint8_t)value;
    if (port == 0x4d0 || port == 0x4d1) {
        struct pic_chip *c = &p->s.chip
[port & 1];
        c->elcr = v & c->elcr_mask;
        update(p);
        return;
    }
    struct pic_chip *c = &p->s.chip
[(port & 0x80) ? 1 : 0];
    if (port & 1)
        write_data(p, c, v);
    else
        write_command(p, c, v);
}

int pic_register(struct pic *p, struct iobus *bus)
{
    if (iobus_register(bus, 0x20, 2, 1, p, pic_io_read, pic_io_write) ||
        iobus_register(bus, 0xa0, 2, 1, p, pic_io_read, pic_io_write) ||
        iobus_register(bus, 0x4d0, 2, 1, p, pic_io_read, pic_io_write))
        return -1;
    return 0;
}

/* ---- memory images ---- */

void pic_save(const struct pic_state *s, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("PIC "), 1);
    for (int i = 0; i < 2; i++) {
        const struct pic_chip *c = &s->chip[i];
        snapw_u8(w, c->irr);
        snapw_u8(w, c->isr);
        snapw_u8(w, c->imr);
        snapw_u8(w, c->lines);
        snapw_u8(w, c->elcr);
        snapw_u8(w, c->vector_base);
        snapw_u8(w, c->icw3);
        snapw_u8(w, c->prio_base);
        snapw_u8(w, (uint8_t)c->init_step);
        snapw_bool(w, c->icw4_needed);
        snapw_bool(w, c->single);
        snapw_bool(w, c->ltim);
        snapw_bool(w, c->auto_eoi);
        snapw_bool(w, c->rotate_on_aeoi);
        snapw_bool(w, c->sfnm);
        snapw_bool(w, c->read_isr);
        snapw_bool(w, c->poll);
        snapw_bool(w, c->special_mask);
    }
    snapw_end(w);
}

bool pic_load(struct pic_state *s, struct snapr *r)
{
    static const uint8_t elcr_mask[2] = { 0xf8, 0xde };
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("PIC "), 1, &sub, &version))
        return false;
    struct pic_state n;
    memset(&n, 0, sizeof n);
    for (int i = 0; i < 2 && !sub.bad; i++) {
        struct pic_chip *c = &n.chip[i];
        c->irr = snapr_u8(&sub);
        c->isr = snapr_u8(&sub);
        c->imr = snapr_u8(&sub);
        c->lines = snapr_u8(&sub);
        c->elcr = snapr_u8(&sub);
        c->elcr_mask = elcr_mask[i];
        c->vector_base = snapr_u8(&sub);
        c->icw3 = snapr_u8(&sub);
        c->prio_base = snapr_u8(&sub);
        c->init_step = snapr_u8(&sub);
        c->icw4_needed = snapr_bool(&sub);
        c->single = snapr_bool(&sub);
        c->ltim = snapr_bool(&sub);
        c->auto_eoi = snapr_bool(&sub);
        c->rotate_on_aeoi = snapr_bool(&sub);
        c->sfnm = snapr_bool(&sub);
        c->read_isr = snapr_bool(&sub);
        c->poll = snapr_bool(&sub);
        c->special_mask = snapr_bool(&sub);
        if (sub.bad)
            break;
        if (c->init_step != 0 && (c->init_step < 2 || c->init_step > 4))
            snapr_fail(&sub, "PIC %d: initialization step %d", i, c->init_step);
        else if (c->prio_base > 7)
            snapr_fail(&sub, "PIC %d: priority base %u", i, c->prio_base);
        else if (c->elcr & (uint8_t)~c->elcr_mask)
            snapr_fail(&sub, "PIC %d: ELCR 0x%02x sets bits that do not exist", i, c->elcr);
        else if (c->vector_base & 7)
            snapr_fail(&sub, "PIC %d: vector base 0x%02x", i, c->vector_base);
    }
    if (!snapr_done(&sub, r))
        return false;
    *s = n;
    return true;
}

void pic_redrive(struct pic *p)
{
    p->intr = -1;               /* not a level: update calls intr_out */
    update(p);
}
