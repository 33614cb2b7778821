/* cmos.c - MC146818 RTC: time registers computed from the wall clock,
 * BCD/binary and 12h/24h encodings, registers A-D with the
 * update-in-progress bit, the SET bit, and the CMOS memory bytes. */
#include "io/cmos.h"

#include <string.h>

enum {
    R_SEC = 0x00, R_MIN = 0x02, R_HOUR = 0x04, R_WDAY = 0x06, R_MDAY = 0x07,
    R_MON = 0x08, R_YEAR = 0x09, R_A = 0x0a, R_B = 0x0b, R_C = 0x0c,
    R_D = 0x0d, R_CENTURY = 0x32,
};

#define B_SET 0x80
#define B_BINARY 0x04
#define B_24H 0x02
#define A_UIP 0x80
#define UIP_NS 244000   /* UIP is set this long before each update */

static bool is_time_reg(uint8_t r)
{
    return r == R_SEC || r == R_MIN || r == R_HOUR || r == R_WDAY ||
           r == R_MDAY || r == R_MON || r == R_YEAR || r == R_CENTURY;
}

void cmos_init(struct cmos *c, uint32_t ram_size,
               void (*wall)(void *ctx, struct timespec *ts), void *wall_ctx)
{
    memset(c, 0, sizeof(*c));
    c->wall = wall;
    c->wall_ctx = wall_ctx;
    c->s.ram[R_A] = 0x26;                 /* 32.768 kHz base, 1024 Hz rate */
    c->s.ram[R_B] = B_24H;                /* BCD, 24-hour */
    c->s.ram[R_D] = 0x80;                 /* valid RAM and time */
    c->s.ram[0x14] = 0x02;                /* equipment: FPU, VGA, no floppy */
    c->s.ram[0x15] = 640 & 0xff;          /* base memory in KiB */
    c->s.ram[0x16] = 640 >> 8;
    uint32_t ext_kb = ram_size > 0x100000 ? (ram_size - 0x100000) / 1024 : 0;
    if (ext_kb > 0xfc00)
        ext_kb = 0xfc00;                /* 1 MiB .. 64 MiB, in KiB */
    c->s.ram[0x17] = c->s.ram[0x30] = (uint8_t)ext_kb;
    c->s.ram[0x18] = c->s.ram[0x31] = (uint8_t)(ext_kb >> 8);
    uint32_t above16 = ram_size > 0x1000000 ? (ram_size - 0x1000000) / 65536 : 0;
    if (above16 > 0xffff)
        above16 = 0xffff;               /* above 16 MiB, in 64 KiB blocks */
    c->s.ram[0x34] = (uint8_t)above16;
    c->s.ram[0x35] = (uint8_t)(above16 >> 8);
}

static uint8_t to_bcd(int v)
{
    return (uint8_t)((v / 10) << 4 | (v % 10));
}

static int from_bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0xf);
}

static uint8_t encode(const struct cmos *c, int v)
{
    return (c->s.ram[R_B] & B_BINARY) ? (uint8_t)v : to_bcd(v);
}

static int decode(const struct cmos *c, uint8_t v)
{
    return (c->s.ram[R_B] & B_BINARY) ? v : from_bcd(v);
}

static uint8_t encode_hour(const struct cmos *c, int h)
{
    if (c->s.ram[R_B] & B_24H)
        return encode(c, h);
    int h12 = h % 12 == 0 ? 12 : h % 12;
    return (uint8_t)(encode(c, h12) | (h >= 12 ? 0x80 : 0));
}

static int decode_hour(const struct cmos *c, uint8_t v)
{
    if (c->s.ram[R_B] & B_24H)
        return decode(c, v);
    int h = decode(c, v & 0x7f) % 12;
    return (v & 0x80) ? h + 12 : h;
}

/* Guest time now, broken down (UTC). */
static void guest_tm(const struct cmos *c, struct tm *tm, long *nsec)
{
    struct timespec ts;
    c->wall(c->wall_ctx, &ts);
    time_t t = (time_t)(ts.tv_sec + c->s.offset_s);
    gmtime_r(&t, tm);
    if (nsec)
        *nsec = ts.tv_nsec;
}

/* Write the time registers of `tm` into ram[] (for the SET snapshot). */
static void store_tm(struct cmos *c, const struct tm *tm)
{
    c->s.ram[R_SEC] = encode(c, tm->tm_sec);
    c->s.ram[R_MIN] = encode(c, tm->tm_min);
    c->s.ram[R_HOUR] = encode_hour(c, tm->tm_hour);
    c->s.ram[R_WDAY] = encode(c, tm->tm_wday + 1);
    c->s.ram[R_MDAY] = encode(c, tm->tm_mday);
    c->s.ram[R_MON] = encode(c, tm->tm_mon + 1);
    c->s.ram[R_YEAR] = encode(c, tm->tm_year % 100);
    c->s.ram[R_CENTURY] = encode(c, (tm->tm_year + 1900) / 100);
}

/* Set the offset so that the guest time is what ram[] holds. */
static void adopt_tm(struct cmos *c)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_sec = decode(c, c->s.ram[R_SEC]);
    tm.tm_min = decode(c, c->s.ram[R_MIN]);
    tm.tm_hour = decode_hour(c, c->s.ram[R_HOUR]);
    tm.tm_mday = decode(c, c->s.ram[R_MDAY]);
    tm.tm_mon = decode(c, c->s.ram[R_MON]) - 1;
    tm.tm_year = decode(c, c->s.ram[R_CENTURY]) * 100 + decode(c, c->s.ram[R_YEAR]) - 1900;
    struct timespec ts;
    c->wall(c->wall_ctx, &ts);
    c->s.offset_s = (int64_t)timegm(&tm) - (int64_t)ts.tv_sec;
}

uint8_t cmos_read(struct cmos *c, uint8_t reg)
{
    reg &= 0x7f;
    if (is_time_reg(reg) && !(c->s.ram[R_B] & B_SET)) {
        struct tm tm;
        guest_tm(c, &tm, NULL);
        store_tm(c, &tm);
        return c->s.ram[reg];
    }
    switch (reg) {
    case R_A: {
        struct tm tm;
        long ns;
        guest_tm(c, &tm, &ns);
        bool uip = !(c->s.ram[R_B] & B_SET) && ns >= 1000000000L - UIP_NS;
        return (uint8_t)((c->s.ram[R_A] & 0x7f) | (uip ? A_UIP : 0));
    }
    case R_C: {
        uint8_t v = c->s.ram[R_C];
        c->s.ram[R_C] = 0;                /* flags clear on read */
        return v;
    }
    case R_D:
        return 0x80;
    default:
        return c->s.ram[reg];
    }
}

void cmos_write(struct cmos *c, uint8_t reg, uint8_t value)
{
    reg &= 0x7f;
    if (is_time_reg(reg)) {
        if (!(c->s.ram[R_B] & B_SET)) {
            struct tm tm;
            guest_tm(c, &tm, NULL);
            store_tm(c, &tm);
            c->s.ram[reg] = value;
            adopt_tm(c);
        } else {
            c->s.ram[reg] = value;
        }
        return;
    }
    switch (reg) {
    case R_A:
        c->s.ram[R_A] = value & 0x7f;
        break;
    case R_B: {
        uint8_t old = c->s.ram[R_B];
        if ((value & B_SET) && !(old & B_SET)) {
            struct tm tm;                /* freeze: snapshot the time */
            guest_tm(c, &tm, NULL);
            c->s.ram[R_B] = value;
            store_tm(c, &tm);
        } else if (!(value & B_SET) && (old & B_SET)) {
            adopt_tm(c);                 /* decoded with the old format */
            c->s.ram[R_B] = value;
        } else {
            c->s.ram[R_B] = value;
        }
        break;
    }
    case R_C:
    case R_D:
        break;                           /* read-only */
    default:
        c->s.ram[reg] = value;
        break;
    }
}

uint32_t cmos_io_read(void *opaque, uint16_t port, int size)
{
    struct cmos *c = opaque;
    (void)size;
    if (port == 0x70)
        return 0xff;                     /* index port is write-only */
    return cmos_read(c, c->s.index);
}

void cmos_io_write(void *opaque, uint16_t port, int size, uint32_t value)
{
    struct cmos *c = opaque;
    (void)size;
    if (port == 0x70) {
        c->s.index = value & 0x7f;
        c->s.nmi_masked = value & 0x80;
    } else {
        cmos_write(c, c->s.index, (uint8_t)value);
    }
}

int cmos_register(struct cmos *c, struct iobus *bus)
{
    return iobus_register(bus, 0x70, 2, 1, c, cmos_io_read, cmos_io_write);
}

/* ---- memory images ---- */

void cmos_save(const struct cmos_state *s, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("CMOS"), 1);
    snapw_u8(w, s->index);
    snapw_bool(w, s->nmi_masked);
    snapw_bytes(w, s->ram, sizeof s->ram);
    snapw_i64(w, s->offset_s);
    snapw_end(w);
}

bool cmos_load(struct cmos_state *s, struct snapr *r)
{
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("CMOS"), 1, &sub, &version))
        return false;
    struct cmos_state n;
    memset(&n, 0, sizeof n);
    n.index = snapr_u8(&sub);
    n.nmi_masked = snapr_bool(&sub);
    snapr_bytes(&sub, n.ram, sizeof n.ram);
    n.offset_s = snapr_i64(&sub);
    if (!sub.bad && n.index >= sizeof n.ram)
        snapr_fail(&sub, "CMOS: index 0x%02x", n.index);
    if (!snapr_done(&sub, r))
        return false;
    *s = n;
    return true;
}
