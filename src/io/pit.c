/* pit.c - 8254 counters computed from elapsed time: modes 0-5, binary or
 * BCD counting, LSB/MSB access, counter latch, read-back, gates, and the
 * port 0x61 bits that Linux uses to calibrate with counter 2. */
#include "io/pit.h"

#include <string.h>

static uint64_t ns_to_ticks(uint64_t ns)
{
    return (uint64_t)(((unsigned __int128)ns * PIT_HZ) / 1000000000u);
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
    /* round up so that at this time the tick has happened */
    return (uint64_t)(((unsigned __int128)ticks * 1000000000u + PIT_HZ - 1) / PIT_HZ);
}

static uint64_t now_ticks(const struct pit *p)
{
    return ns_to_ticks(p->now_ns(p->clock_ctx));
}

static uint32_t modulus(const struct pit_counter *c)
{
    return c->bcd ? 10000u : 65536u;
}

/* The initial count N as a number of clocks. */
static uint64_t period(const struct pit_counter *c)
{
    return c->count ? c->count : modulus(c);
}

static bool running(const struct pit_counter *c)
{
    if (!c->loaded)
        return false;
    if (c->mode == 1 || c->mode == 5)
        return c->triggered;
    return true;
}

static uint64_t elapsed(const struct pit_counter *c, uint64_t now)
{
    if (c->frozen)
        return c->frozen_ticks;
    return now >= c->start_tick ? now - c->start_tick : 0;
}

/* Count and OUT of a counter at tick `now`. */
static void state(const struct pit_counter *c, uint64_t now, uint32_t *count, bool *out)
{
    uint64_t n = period(c), m = modulus(c);
    if (!running(c)) {
        *count = (uint32_t)(c->count % m);
        *out = c->mode != 0;
        return;
    }
    uint64_t e = elapsed(c, now);
    switch (c->mode) {
    case 0:
    case 1:
        *out = e >= n;
        *count = (uint32_t)((n + m - e % m) % m);
        break;
    case 2: {
        uint64_t r = e % n;
        *out = r != n - 1 || n == 1;
        *count = (uint32_t)(n - r);
        if (c->frozen && !c->gate)
            *out = true;
        break;
    }
    case 3: {
        uint64_t h = (n + 1) / 2, r = e % n;
        if (r < h) {
            *out = true;
            *count = (uint32_t)(n - 2 * r);
        } else {
            *out = false;
            *count = (uint32_t)(n - 2 * (r - h));
        }
        if (c->frozen && !c->gate)
            *out = true;
        break;
    }
    default: /* 4, 5: strobe low for one clock when the count reaches 0 */
        *out = e != n;
        *count = (uint32_t)((n + m - e % m) % m);
        break;
    }
    *count %= (uint32_t)m;
}

/* Rising edges of OUT since counting began. */
static uint64_t edges(const struct pit_counter *c, uint64_t now)
{
    if (!running(c))
        return 0;
    uint64_t n = period(c), e = elapsed(c, now);
    switch (c->mode) {
    case 0: case 1: return e >= n;
    case 2: case 3: return e / n;
    default: return e > n;
    }
}

uint32_t pit_counter_value(const struct pit *p, int i)
{
    uint32_t count;
    bool out;
    state(&p->s.c[i], now_ticks(p), &count, &out);
    return count;
}

bool pit_counter_out(const struct pit *p, int i)
{
    uint32_t count;
    bool out;
    state(&p->s.c[i], now_ticks(p), &count, &out);
    return out;
}

void pit_init(struct pit *p, uint64_t (*now_ns)(void *ctx), void *clock_ctx,
              struct irq_line irq0)
{
    memset(p, 0, sizeof(*p));
    p->now_ns = now_ns;
    p->clock_ctx = clock_ctx;
    p->irq0 = irq0;
    for (int i = 0; i < 3; i++) {
        p->s.c[i].rw = 3;
        p->s.c[i].gate = i != 2;
    }
}

void pit_poll(struct pit *p)
{
    struct pit_counter *c = &p->s.c[0];
    uint64_t e = edges(c, now_ticks(p));
    if (e > c->edges_seen) {
        c->edges_seen = e;
        irq_line_set(&p->irq0, 1);
        irq_line_set(&p->irq0, 0);
    }
}

uint64_t pit_next_event_ns(const struct pit *p)
{
    const struct pit_counter *c = &p->s.c[0];
    if (!running(c) || c->frozen)
        return UINT64_MAX;
    uint64_t n = period(c), at;
    switch (c->mode) {
    case 0: case 1:
        if (c->edges_seen)
            return UINT64_MAX;
        at = n;
        break;
    case 2: case 3:
        at = (c->edges_seen + 1) * n;
        break;
    default:
        if (c->edges_seen)
            return UINT64_MAX;
        at = n + 1;
        break;
    }
    return ticks_to_ns(c->start_tick + at);
}

static uint32_t from_bcd16(uint32_t v)
{
    return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 +
           ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

static uint16_t to_bcd16(uint32_t v)
{
    return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 |
                      (v / 10 % 10) << 4 | (v % 10));
}

/* The count as the guest reads it (BCD applied). */
static uint16_t visible_count(const struct pit_counter *c, uint64_t now)
{
    uint32_t count;
    bool out;
    state(c, now, &count, &out);
    return c->bcd ? to_bcd16(count) : (uint16_t)count;
}

static void load(struct pit_counter *c, uint32_t raw, uint64_t now)
{
    c->count = c->bcd ? from_bcd16(raw) % 10000 : raw & 0xffff;
    c->loaded = true;
    c->null_count = false;
    c->start_tick = now;
    c->edges_seen = 0;
    c->triggered = false;
    c->frozen = !c->gate && c->mode != 1 && c->mode != 5;
    c->frozen_ticks = 0;
}

static void write_counter(struct pit_counter *c, uint8_t v, uint64_t now)
{
    switch (c->rw) {
    case 1:
        load(c, v, now);
        break;
    case 2:
        load(c, (uint32_t)v << 8, now);
        break;
    default:
        if (!c->write_msb) {
            c->lsb = v;
            c->write_msb = true;
            if (c->mode == 0)
                c->loaded = false; /* writing the LSB stops mode 0 */
            c->null_count = true;
        } else {
            c->write_msb = false;
            load(c, (uint32_t)v << 8 | c->lsb, now);
        }
        break;
    }
}

static uint8_t read_counter(struct pit_counter *c, uint64_t now)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->count_latched) {
        uint8_t v;
        if (c->rw == 1) {
            v = (uint8_t)c->latch;
            c->count_latched = false;
        } else if (c->rw == 2) {
            v = (uint8_t)(c->latch >> 8);
            c->count_latched = false;
        } else if (!c->latch_msb) {
            v = (uint8_t)c->latch;
            c->latch_msb = true;
        } else {
            v = (uint8_t)(c->latch >> 8);
            c->latch_msb = false;
            c->count_latched = false;
        }
        return v;
    }
    uint16_t cnt = visible_count(c, now);
    switch (c->rw) {
    case 1: return (uint8_t)cnt;
    case 2: return (uint8_t)(cnt >> 8);
    default:
        c->read_msb = !c->read_msb;
        return c->read_msb ? (uint8_t)cnt : (uint8_t)(cnt >> 8);
    }
}

static void latch_count(struct pit_counter *c, uint64_t now)
{
    if (c->count_latched)
        return;
    c->latch = visible_count(c, now);
    c->count_latched = true;
    c->latch_msb = false;
}

static void latch_status(struct pit_counter *c, uint64_t now)
{
    if (c->status_latched)
        return;
    uint32_t count;
    bool out;
    state(c, now, &count, &out);
    c->status = (uint8_t)((out ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
                          c->rw << 4 | c->mode << 1 | (c->bcd ? 1 : 0));
    c->status_latched = true;
}

static void write_control(struct pit *p, uint8_t v, uint64_t now)
{
    int sc = v >> 6;
    if (sc == 3) {                       /* read-back */
        for (int i = 0; i < 3; i++) {
            if (!(v & (2u << i)))
                continue;
            if (!(v & 0x20))
                latch_count(&p->s.c[i], now);
            if (!(v & 0x10))
                latch_status(&p->s.c[i], now);
        }
        return;
    }
    struct pit_counter *c = &p->s.c[sc];
    int rw = (v >> 4) & 3;
    if (rw == 0) {
        latch_count(c, now);
        return;
    }
    c->rw = (uint8_t)rw;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;                    /* 6, 7 are aliases of 2, 3 */
    c->bcd = v & 1;
    c->loaded = false;
    c->null_count = true;
    c->write_msb = false;
    c->read_msb = false;
    c->count_latched = false;
    c->status_latched = false;
    c->edges_seen = 0;
}

static void set_gate(struct pit_counter *c, bool gate, uint64_t now)
{
    if (gate == c->gate)
        return;
    if (c->loaded) {
        switch (c->mode) {
        case 1: case 5:
            if (gate) {
                c->start_tick = now;
                c->triggered = true;
                c->edges_seen = 0;
            }
            break;
        case 2: case 3:
            if (gate) {                  /* rising edge reloads */
                c->start_tick = now;
                c->frozen = false;
                c->edges_seen = 0;
            } else {
                c->frozen_ticks = elapsed(c, now);
                c->frozen = true;
            }
            break;
        default:                         /* 0, 4: counting pauses */
            if (gate) {
                c->start_tick = now - c->frozen_ticks;
                c->frozen = false;
            } else {
                c->frozen_ticks = elapsed(c, now);
                c->frozen = true;
            }
            break;
        }
    }
    c->gate = gate;
}

uint32_t pit_io_read(void *opaque, uint16_t port, int size)
{
    struct pit *p = opaque;
    (void)size;
    uint64_t now = now_ticks(p);
    if (port == 0x61) {
        uint32_t count;
        bool out;
        state(&p->s.c[2], now, &count, &out);
        /* bit 4: DRAM refresh toggle, every 15.085 us */
        uint64_t ns = p->now_ns(p->clock_ctx);
        return (p->s.port61
 & 3) | ((ns / 15085) & 1 ? 0x10 : 0) | (out ? 0x20 : 0);
    }
    if (port == 0x43)
        return 0xff;                     /* control word is write-only */
    return read_counter(&p->s.c[port - 0x40], now);
}

void pit_io_write(void *opaque, uint16_t port, int size, uint32_t value)
{
    struct pit *p = opaque;
    (void)size;
    uint64_t now = now_ticks(p);
    uint8_t v = (uint8_t)value;
    if (port == 0x61) {
        p->s.port61
 = v & 3;
        set_gate(&p->s.c[2], v & 1, now);
    } else if (port == 0x43) {
        write_control(p, v, now);
    } else {
        write_counter(&p->s.c[port - 0x40], v, now);
    }
}

int pit_register(struct pit *p, struct iobus *bus)
{
    if (iobus_register(bus, 0x40, 4, 1, p, pit_io_read, pit_io_write) ||
        iobus_register(bus, 0x61, 1, 1, p, pit_io_read, pit_io_write))
        return -1;
    return 0;
}

/* ---- memory images ---- */

void pit_save(const struct pit_state *s, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("PIT "), 1);
    for (int i = 0; i < 3; i++) {
        const struct pit_counter *c = &s->c[i];
        snapw_u8(w, c->rw);
        snapw_u8(w, c->mode);
        snapw_bool(w, c->bcd);
        snapw_u32(w, c->count);
        snapw_bool(w, c->loaded);
        snapw_bool(w, c->null_count);
        snapw_bool(w, c->gate);
        snapw_bool(w, c->triggered);
        snapw_bool(w, c->frozen);
        snapw_u64(w, c->start_tick);
        snapw_u64(w, c->frozen_ticks);
        snapw_u64(w, c->edges_seen);
        snapw_bool(w, c->write_msb);
        snapw_u8(w, c->lsb);
        snapw_bool(w, c->read_msb);
        snapw_bool(w, c->count_latched);
        snapw_u16(w, c->latch);
        snapw_bool(w, c->latch_msb);
        snapw_bool(w, c->status_latched);
        snapw_u8(w, c->status);
    }
    snapw_u8(w, s->port61);
    snapw_end(w);
}

bool pit_load(struct pit_state *s, struct snapr *r)
{
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("PIT "), 1, &sub, &version))
        return false;
    struct pit_state n;
    memset(&n, 0, sizeof n);
    for (int i = 0; i < 3 && !sub.bad; i++) {
        struct pit_counter *c = &n.c[i];
        c->rw = snapr_u8(&sub);
        c->mode = snapr_u8(&sub);
        c->bcd = snapr_bool(&sub);
        c->count = snapr_u32(&sub);
        c->loaded = snapr_bool(&sub);
        c->null_count = snapr_bool(&sub);
        c->gate = snapr_bool(&sub);
        c->triggered = snapr_bool(&sub);
        c->frozen = snapr_bool(&sub);
        c->start_tick = snapr_u64(&sub);
        c->frozen_ticks = snapr_u64(&sub);
        c->edges_seen = snapr_u64(&sub);
        c->write_msb = snapr_bool(&sub);
        c->lsb = snapr_u8(&sub);
        c->read_msb = snapr_bool(&sub);
        c->count_latched = snapr_bool(&sub);
        c->latch = snapr_u16(&sub);
        c->latch_msb = snapr_bool(&sub);
        c->status_latched = snapr_bool(&sub);
        c->status = snapr_u8(&sub);
        if (sub.bad)
            break;
        if (c->rw < 1 || c->rw > 3)
            snapr_fail(&sub, "PIT counter %d: access mode %u", i, c->rw);
        else if (c->mode > 5)
            snapr_fail(&sub, "PIT counter %d: mode %u", i, c->mode);
        else if (c->count >= modulus(c))
            snapr_fail(&sub, "PIT counter %d: count %u", i, c->count);
    }
    n.port61 = snapr_u8(&sub);
    if (!sub.bad && (n.port61 & ~3u))
        snapr_fail(&sub, "PIT: port 0x61 bits 0x%02x", n.port61);
    if (!snapr_done(&sub, r))
        return false;
    *s = n;
    return true;
}
