/* console.h - the host end of the guest's serial console: what the user
 * types at vsmp's standard input goes to the UART, what the guest sends
 * goes to standard output.
 *
 * Input is read into a buffer of CONSOLE_INBUF bytes and handed to the
 * UART only as fast as the guest lets it in (uart_rx_space(): its RTS and
 * free FIFO room), so nothing typed is lost - not before the guest opens
 * the port, not while it probes or resets its FIFOs, not when input comes
 * faster than it reads. A full buffer stops reading (the pipe or the
 * terminal holds the rest). End of input is no event for the guest: the
 * console stops looking at the descriptor, and the run goes on.
 *
 * At a terminal (escapes on) Ctrl-A starts a command, as in
 * qemu-system-i386 -nographic: Ctrl-A x ends the run (status 0),
 * Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A h or ? prints the list, and
 * Ctrl-A followed by anything else is dropped. From a pipe every byte
 * goes to the guest as it is. */
#ifndef VSMP_CONSOLE_H
#define VSMP_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/uart.h"

#define CONSOLE_INBUF 65536
#define CONSOLE_ESCAPE_CHAR 0x01     /* Ctrl-A */

/* console_escape()'s answers other than a byte for the guest */
enum {
    CONSOLE_DROP = -1,               /* nothing for the guest */
    CONSOLE_QUIT = -2,               /* Ctrl-A x: end the run */
    CONSOLE_HELP = -3,               /* Ctrl-A h: print the keys */
};

/* The escape state machine: one byte typed at the terminal in, the byte
 * for the guest (0-255) or one of the answers above out. */
struct console_esc {
    bool armed;                      /* Ctrl-A seen, its command comes next */
};
int console_escape(struct console_esc *e, uint8_t b);

struct console {
    int in_fd;                       /* input, -1: none or ended */
    int out_fd;                      /* output, -1: none (or it went away) */
    bool escapes;                    /* Ctrl-A commands (a terminal) */
    bool quit;                       /* Ctrl-A x was typed */
    struct console_esc esc;
    size_t head, len;                /* buf[head..] holds len bytes, a ring */
    uint8_t buf[CONSOLE_INBUF];
};

void console_init(struct console *c, int in_fd, int out_fd, bool escapes);
/* Hand buffered input to the UART as far as it takes it; when it took
 * nothing, read what the input has (waiting for it up to timeout_ms, or
 * sleeping that long when there is nothing to wait on) and hand that on.
 * Returns true once the user asked to end the run (Ctrl-A x). */
bool console_poll(struct console *c, struct uart *u, int timeout_ms);
/* The UART's tx: the guest's output to out_fd (ctx: the console). */
void console_output(void *ctx, const uint8_t *buf, size_t n);

#endif
