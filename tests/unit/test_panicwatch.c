/* test_panicwatch.c - the console watcher that ends the run after a Linux
 * kernel panic (io/panicwatch.c): the end-of-panic line found whole, split
 * at every byte, in several lines per write, with and without printk time
 * stamps; reported at the line's end and only once; near misses and the
 * panic's first line alone do not count; and the halt line ("reboot:
 * System halted"), which only sets a flag. */
#include <criterion/criterion.h>
#include <string.h>

#include "io/panicwatch.h"

static int fired;
static void on_panic(void *ctx)
{
    (void)ctx;
    fired++;
}

static void feed(struct panicwatch *w, const char *s)
{
    panicwatch_feed(w, (const uint8_t *)s, strlen(s));
}

static const char panic_log[] =
    "[    2.104871] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n"
    "[    2.105930] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-28-686 #1  Debian 6.1.119-1\r\n"
    "[    2.107012] Call Trace:\r\n"
    "[    2.109999] ---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---\r\n";

Test(panicwatch, whole_log)
{
    struct panicwatch w;
    fired = 0;
    panicwatch_init(&w, on_panic, NULL);
    feed(&w, panic_log);
    cr_assert_eq(fired, 1);
    feed(&w, panic_log);
    cr_assert_eq(fired, 1, "reported once");
}

Test(panicwatch, every_split_point)
{
    size_t n = strlen(panic_log);
    for (size_t cut = 0; cut <= n; cut++) {
        struct panicwatch w;
        fired = 0;
        panicwatch_init(&w, on_panic, NULL);
        panicwatch_feed(&w, (const uint8_t *)panic_log, cut);
        cr_assert_eq(fired, cut == n ? 1 : 0, "cut at %zu", cut);
        panicwatch_feed(&w, (const uint8_t *)panic_log + cut, n - cut);
        cr_assert_eq(fired, 1, "cut at %zu", cut);
    }
}

Test(panicwatch, byte_by_byte_waits_for_the_newline)
{
    const char *line = "---[ end Kernel panic - not syncing: Attempted to kill init! ]---\n";
    struct panicwatch w;
    fired = 0;
    panicwatch_init(&w, on_panic, NULL);
    for (size_t i = 0; line[i]; i++) {
        cr_assert_eq(fired, 0, "reported before the line ended (byte %zu)", i);
        panicwatch_feed(&w, (const uint8_t *)line + i, 1);
    }
    cr_assert_eq(fired, 1);
}

Test(panicwatch, marker_after_repeated_prefixes)
{
    /* "----[ end..." and "---[ en---[ end...": the match restarts inside
     * a partial one */
    struct panicwatch w;
    fired = 0;
    panicwatch_init(&w, on_panic, NULL);
    feed(&w, "x----[ end Kernel panic - not syncing: a ]---\n");
    cr_assert_eq(fired, 1);
    fired = 0;
    panicwatch_init(&w, on_panic, NULL);
    feed(&w, "---[ end Ker---[ end Kernel panic - not syncing: b ]---\n");
    cr_assert_eq(fired, 1);
}

Test(panicwatch, near_misses)
{
    const char *lines[] = {
        "[    1.0] Kernel panic - not syncing: Fatal exception\n",
        "---[ end trace 0000000000000000 ]---\n",
        "---[ end Kernel panic - not syncinG: x ]---\n",
        "---[ end Kernel panic - not\nsyncing: x ]---\n",
        "end Kernel panic - not syncing: x\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct panicwatch w;
        fired = 0;
        panicwatch_init(&w, on_panic, NULL);
        feed(&w, lines[i]);
        cr_assert_eq(fired, 0, "fired on: %s", lines[i]);
    }
}

Test(panicwatch, no_callback)
{
    struct panicwatch w;
    panicwatch_init(&w, NULL, NULL);
    feed(&w, panic_log);
    cr_assert(w.s.fired);
}

/* The halt line only sets `halted` (at its newline); it never reports a
 * panic, and the panic line never sets `halted`. */
Test(panicwatch, halt_line)
{
    static const char log[] = "[   12.345678] reboot: System halted\r\n";
    size_t n = strlen(log);
    for (size_t cut = 0; cut <= n; cut++) {
        struct panicwatch w;
        fired = 0;
        panicwatch_init(&w, on_panic, NULL);
        panicwatch_feed(&w, (const uint8_t *)log, cut);
        cr_assert_eq(w.s.halted, cut == n, "cut at %zu", cut);
        panicwatch_feed(&w, (const uint8_t *)log + cut, n - cut);
        cr_assert(w.s.halted, "cut at %zu", cut);
        cr_assert_eq(fired, 0);
    }
    struct panicwatch w;
    panicwatch_init(&w, on_panic, NULL);
    feed(&w, "reboot: System halte\n");
    feed(&w, "reboot: Power down\n");
    feed(&w, "System halted\n");
    cr_assert_not(w.s.halted);
    feed(&w, panic_log);
    cr_assert_not(w.s.halted);
}
