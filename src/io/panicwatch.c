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
    for (size_t i = 0; i < n && !w->fired; i++) {
        char c = (char)buf[i];
        if (c == '\n') {
            if (w->armed[1])
                w->halted = true;
            if (w->armed[0]) {
                w->fired = true;
                if (w->on_panic)
                    w->on_panic(w->ctx);
            }
            memset(w->matched, 0, sizeof w->matched);
            memset(w->armed, 0, sizeof w->armed);
            continue;
        }
        for (int k = 0; k < 2; k++) {
            size_t len = strlen(markers[k]);
            w->matched[k] = step(markers[k], len, w->matched[k], c);
            if (w->matched[k] == len) {
                w->armed[k] = true;
                w->matched[k] = 0;
            }
        }
    }
}
