/* panicwatch.c - finds the end-of-panic line in the console output
 * (panicwatch.h) with a streaming string match. */
#include "io/panicwatch.h"

#include <string.h>

static const char marker[] = PANICWATCH_MARKER;
#define MARKER_LEN (sizeof marker - 1)

void panicwatch_init(struct panicwatch *w, void (*on_panic)(void *ctx), void *ctx)
{
    memset(w, 0, sizeof(*w));
    w->on_panic = on_panic;
    w->ctx = ctx;
}

/* The longest prefix of the marker that ends the text "marker[0..k) c". */
static size_t step(size_t k, char c)
{
    for (;;) {
        if (k < MARKER_LEN && marker[k] == c)
            return k + 1;
        if (k == 0)
            return 0;
        /* fall back to the longest proper border of marker[0..k) (short
         * marker: found by direct comparison) */
        size_t b = k - 1;
        while (b > 0 && memcmp(marker, marker + k - b, b) != 0)
            b--;
        k = b;
    }
}

void panicwatch_feed(struct panicwatch *w, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n && !w->fired; i++) {
        char c = (char)buf[i];
        if (c == '\n') {
            if (w->armed) {
                w->fired = true;
                if (w->on_panic)
                    w->on_panic(w->ctx);
            }
            w->matched = 0;
            continue;
        }
        w->matched = step(w->matched, c);
        if (w->matched == MARKER_LEN) {
            w->armed = true;
            w->matched = 0;
        }
    }
}
