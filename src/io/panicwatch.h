/* panicwatch.h - watches the console output for the last words of a Linux
 * kernel, so that a panicked or halted guest ends the run instead of
 * spinning or sleeping for ever:
 *  - a panic: Linux's panic() prints "Kernel panic - not syncing: MSG"
 *    and, last of all, "---[ end Kernel panic - not syncing: MSG ]---"
 *    (with a "[ seconds.micros] " time stamp in front when printk times
 *    are on), then spins with interrupts enabled (Debian's kernels have
 *    CONFIG_PANIC_TIMEOUT=0). The watcher reports it once, through
 *    on_panic, at the end of the line that holds PANICWATCH_MARKER (its
 *    newline), so the whole message is out before the run ends.
 *  - a halt: kernel_halt() prints "reboot: System halted" and then stops
 *    every CPU with interrupts disabled. The watcher only records it
 *    (`halted`); the machine, when it finds every CPU halted for good,
 *    ends the run with status 0 instead of 6 if the kernel said so.
 * Output may come in any pieces (a line split over several writes,
 * several lines in one write).
 *
 * It is a heuristic on text: a guest program that prints the panic line
 * ends the run the same way (the halt line changes only the status of a
 * machine that has stopped anyway). */
#ifndef VSMP_PANICWATCH_H
#define VSMP_PANICWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snap/snapbuf.h"

#define PANICWATCH_MARKER "---[ end Kernel panic - not syncing: "
#define PANICWATCH_HALT   "reboot: System halted"

/* The line state (plain data: saved in memory images). */
struct panicwatch_state {
    size_t matched[2];          /* bytes matched so far: panic, halt marker */
    bool armed[2];              /* ... the marker is in the current line */
    bool fired;                 /* on_panic called */
    bool halted;                /* a line held the halt marker */
};

struct panicwatch {
    struct panicwatch_state s;
    void (*on_panic)(void *ctx);
    void *ctx;
};

void panicwatch_init(struct panicwatch *w, void (*on_panic)(void *ctx), void *ctx);
/* Console output bytes, in order. Calls on_panic at most once. */
void panicwatch_feed(struct panicwatch *w, const uint8_t *buf, size_t n);

/* Memory images: section "PANW" (the load refuses a match longer than
 * its marker). */
void panicwatch_save(const struct panicwatch_state *s, struct snapw *w);
bool panicwatch_load(struct panicwatch_state *s, struct snapr *r);


#endif
