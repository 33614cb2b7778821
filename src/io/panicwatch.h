/* panicwatch.h - watches the console output for the end of a Linux kernel
 * panic, so that a panicked guest ends the run instead of spinning for
 * ever (Debian's kernels have CONFIG_PANIC_TIMEOUT=0).
 *
 * Linux's panic() prints "Kernel panic - not syncing: MSG" and, last of
 * all, the line "---[ end Kernel panic - not syncing: MSG ]---" (with a
 * "[ seconds.micros] " time stamp in front when printk times are on),
 * then spins with interrupts enabled. The watcher looks for
 * PANICWATCH_MARKER anywhere in the output and reports once, at the end
 * of the line that holds it (its newline), so the whole message has been
 * written out before the run ends. Output may come in any pieces (a line
 * split over several writes, several lines in one write).
 *
 * It is a heuristic on text: a guest program that prints the marker line
 * ends the run the same way. */
#ifndef VSMP_PANICWATCH_H
#define VSMP_PANICWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PANICWATCH_MARKER "---[ end Kernel panic - not syncing: "

struct panicwatch {
    size_t matched;             /* marker bytes matched so far */
    bool armed;                 /* the marker is in the current line */
    bool fired;
    void (*on_panic)(void *ctx);
    void *ctx;
};

void panicwatch_init(struct panicwatch *w, void (*on_panic)(void *ctx), void *ctx);
/* Console output bytes, in order. Calls on_panic at most once. */
void panicwatch_feed(struct panicwatch *w, const uint8_t *buf, size_t n);

#endif
