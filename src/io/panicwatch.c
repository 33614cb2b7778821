/* panicwatch.c - finds the end-of-panic and the halt line in the console
 * output (panicwatch.h) with a streaming string match per marker. */
#include "io/panicwatch.h"

#include <string.h>

static const char *const markers[2] = { PANICWATCH_MARKER, PANICWATCH_HALT };

void panicwatch_init(struct panicwatch *w, void (*on_panic)(void *ctx), void *ctx)
{
    memset(w, 0, sizeof(*w));
    w->on_panic = on_panic;
    w->ctx = ctx;
}

/* The longest prefix of marker m that ends the text "m[0..k) c". */
static size_t step(const char *m, size_t len, size_t k, char c)
{
    for (;;) {
        if (k < len && m[k] == c)
            return k + 1;
        if (k == 0)
            return 0;
        /* fall back to the longest proper border of m[0..k) (short
         * markers: found by direct comparison) */
        size_t b = k - 1;
        while (b > 0 && memcmp(m, m + k - b, b) != 0)
            b--;
        k = b;
    }
}

void panicwatch_feed(struct panicwatch *w, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n && !w->s.fired; i++) {
        char c = (char)buf[i];
        if (c == '\n') {
            if (w->s.armed[1])
                w->s.halted = true;
            if (w->s.armed[0]) {
                w->s.fired = true;
                if (w->on_panic)
                    w->on_panic(w->ctx);
            }
            memset(w->s.matched, 0, sizeof w->s.matched);
            memset(w->s.armed, 0, sizeof w->s.armed);
            continue;
        }
        for (int k = 0; k < 2; k++) {
            size_t len = strlen(markers[k]);
            w->s.matched[k] = step(markers[k], len, w->s.matched[k], c);
            if (w->s.matched[k] == len) {
                w->s.armed[k] = true;
                w->s.matched[k] = 0;
            }
        }
    }
}

/* ---- memory images ---- */

void panicwatch_save(const struct panicwatch_state *s, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("PANW"), 1);
    for (int k = 0; k < 2; k++) {
        snapw_u32(w, (uint32_t)s->matched[k]);
        snapw_bool(w, s->armed[k]);
    }
    snapw_bool(w, s->fired);
    snapw_bool(w, s->halted);
    snapw_end(w);
}

bool panicwatch_load(struct panicwatch_state *s, struct snapr *r)
{
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("PANW"), 1, &sub, &version))
        return false;
    struct panicwatch_state n;
    memset(&n, 0, sizeof n);
    for (int k = 0; k < 2; k++) {
        n.matched[k] = snapr_u32(&sub);
        n.armed[k] = snapr_bool(&sub);
        if (!sub.bad && n.matched[k] >= strlen(markers[k]))
            snapr_fail(&sub, "console watch: %zu bytes of a %zu-byte marker matched",
                       n.matched[k], strlen(markers[k]));
    }
    n.fired = snapr_bool(&sub);
    n.halted = snapr_bool(&sub);
    if (!snapr_done(&sub, r))
        return false;
    *s = n;
    return true;
}
