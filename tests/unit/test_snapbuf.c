/* test_snapbuf.c - the memory image's state encoding: round trip, sections,
 * reads past the end, wrong tags and versions, left-over bytes, checksum. */
#include <criterion/criterion.h>
#include <string.h>

#include "snap/snapbuf.h"

Test(snapbuf, round_trip)
{
    struct snapw w;
    snapw_init(&w);
    snapw_begin(&w, SNAP_TAG("TEST"), 2);
    snapw_u8(&w, 0xab);
    snapw_u16(&w, 0x1234);
    snapw_u32(&w, 0xdeadbeef);
    snapw_u64(&w, 0x0102030405060708ull);
    snapw_bool(&w, true);
    snapw_str(&w, "disk.img");
    snapw_end(&w);
    cr_assert(!w.oom);
    cr_assert_eq(w.len, 16 + 1 + 2 + 4 + 8 + 1 + 4 + 8);
    cr_assert_eq(w.buf[16 + 1], 0x34);   /* little-endian */

    struct snapr r, s;
    uint32_t v = 0;
    snapr_init(&r, w.buf, w.len);
    cr_assert(snapr_section(&r, SNAP_TAG("TEST"), 3, &s, &v));
    cr_assert_eq(v, 2);
    cr_assert_eq(snapr_u8(&s), 0xab);
    cr_assert_eq(snapr_u16(&s), 0x1234);
    cr_assert_eq(snapr_u32(&s), 0xdeadbeef);
    cr_assert_eq(snapr_u64(&s), 0x0102030405060708ull);
    cr_assert(snapr_bool(&s));
    char name[16];
    cr_assert(snapr_str(&s, name, sizeof name));
    cr_assert_str_eq(name, "disk.img");
    cr_assert(snapr_done(&s, &r));
    cr_assert(!r.bad);
    cr_assert_eq(r.pos, r.len);
    snapw_free(&w);
}

Test(snapbuf, refusals)
{
    struct snapw w;
    snapw_init(&w);
    snapw_begin(&w, SNAP_TAG("AAAA"), 1);
    snapw_u32(&w, 7);
    snapw_u8(&w, 2);
    snapw_end(&w);
    struct snapr r, s;

    snapr_init(&r, w.buf, w.len);             /* wrong tag */
    cr_assert(!snapr_section(&r, SNAP_TAG("BBBB"), 1, &s, NULL));
    cr_assert(strstr(r.why, "'AAAA' found where 'BBBB'"), "%s", r.why);

    snapr_init(&r, w.buf, w.len);             /* newer version than known */
    w.buf[4] = 5;
    cr_assert(!snapr_section(&r, SNAP_TAG("AAAA"), 4, &s, NULL));
    w.buf[4] = 1;

    snapr_init(&r, w.buf, w.len - 1);         /* truncated payload */
    cr_assert(!snapr_section(&r, SNAP_TAG("AAAA"), 1, &s, NULL));

    snapr_init(&r, w.buf, w.len);             /* left-over byte */
    cr_assert(snapr_section(&r, SNAP_TAG("AAAA"), 1, &s, NULL));
    cr_assert_eq(snapr_u32(&s), 7);
    cr_assert(!snapr_done(&s, &r));
    cr_assert(r.bad);

    snapr_init(&r, w.buf, w.len);             /* a flag that is not 0/1, past the end */
    cr_assert(snapr_section(&r, SNAP_TAG("AAAA"), 1, &s, NULL));
    snapr_u32(&s);
    snapr_bool(&s);
    cr_assert(s.bad);
    struct snapr e;
    snapr_init(&e, w.buf, 3);
    cr_assert_eq(snapr_u32(&e), 0);
    cr_assert(e.bad);
    cr_assert(!snapr_check(&e, 5, 5, "x"));
    snapw_free(&w);
}

Test(snapbuf, checksum)
{
    static uint8_t page[4096];
    for (size_t i = 0; i < sizeof page; i++)
        page[i] = (uint8_t)(i * 7);
    uint64_t h = snap_sum(page, sizeof page, 1);
    cr_assert_eq(h, snap_sum(page, sizeof page, 1));
    cr_assert_neq(h, snap_sum(page, sizeof page, 2));
    /* every single-bit flip, at a few places, changes the sum */
    size_t at[] = {0, 31, 32, 4000, 4095};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++)
        for (int b = 0; b < 8; b++) {
            page[at[k]] ^= (uint8_t)(1u << b);
            cr_assert_neq(snap_sum(page, sizeof page, 1), h);
            page[at[k]] ^= (uint8_t)(1u << b);
        }
    cr_assert_neq(snap_sum(page, 4095, 1), snap_sum(page, 4094, 1));
    cr_assert_neq(snap_sum("", 0, 1), snap_sum("\0", 1, 1));
}
