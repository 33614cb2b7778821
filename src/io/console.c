/* console.c - the console's input buffer, its escape keys and its output
 * (see console.h). */
#include "io/console.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 4096

static const char help_text[] =
    "\r\nvsmp console keys:\r\n"
    "  Ctrl-A x        end the run (every CPU, exit status 0)\r\n"
    "  Ctrl-A Ctrl-A   send Ctrl-A to the guest\r\n"
    "  Ctrl-A h        this list\r\n";

int console_escape(struct console_esc *e, uint8_t b)
{
    if (!e->armed) {
        if (b == CONSOLE_ESCAPE_CHAR) {
            e->armed = true;
            return CONSOLE_DROP;
        }
        return b;
    }
    e->armed = false;
    switch (b) {
    case CONSOLE_ESCAPE_CHAR:
        return b;
    case 'x':
    case 'X':
        return CONSOLE_QUIT;
    case 'h':
    case 'H':
    case '?':
        return CONSOLE_HELP;
    default:
        return CONSOLE_DROP;
    }
}

void console_init(struct console *c, int in_fd, int out_fd, bool escapes)
{
    memset(c, 0, offsetof(struct console, buf));
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    c->escapes = escapes;
}

void console_output(void *ctx, const uint8_t *buf, size_t n)
{
    struct console *c = ctx;
    while (c->out_fd >= 0 && n) {
        ssize_t w = write(c->out_fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            c->out_fd = -1;      /* output went away: drop the rest */
            break;
        }
        buf += w;
        n -= (size_t)w;
    }
}

/* Buffered bytes into the UART, as many as it takes now; how many. */
static size_t feed(struct console *c, struct uart *u)
{
    size_t fed = 0;
    while (c->len) {
        int room = uart_rx_space(u);
        if (room <= 0)
            break;
        for (; room > 0 && c->len; room--, fed++) {
            uart_receive(u, c->buf[c->head]);
            c->head = (c->head + 1) % CONSOLE_INBUF;
            c->len--;
        }
    }
    return fed;
}

static void put(struct console *c, uint8_t b)
{
    c->buf[(c->head + c->len) % CONSOLE_INBUF] = b;
    c->len++;
}

/* Bytes read from the input into the buffer (through the escape keys). */
static void take(struct console *c, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n && !c->quit; i++) {
        int r = c->escapes ? console_escape(&c->esc, in[i]) : in[i];
        if (r >= 0)
            put(c, (uint8_t)r);
        else if (r == CONSOLE_QUIT)
            c->quit = true;
        else if (r == CONSOLE_HELP)
            console_output(c, (const uint8_t *)help_text, sizeof help_text - 1);
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

bool console_poll(struct console *c, struct uart *u, int timeout_ms)
{
    if (c->quit)
        return true;
    if (feed(c, u))
        return false;            /* the guest has input: no waiting */
    size_t room = CONSOLE_INBUF - c->len;
    if (c->in_fd < 0 || room == 0) {
        if (timeout_ms > 0)
            sleep_ms(timeout_ms);
        return false;
    }
    struct pollfd pfd = { .fd = c->in_fd, .events = POLLIN };
    int r = poll(&pfd, 1, timeout_ms);
    if (r <= 0)
        return false;
    if (pfd.revents & POLLNVAL) {
        c->in_fd = -1;
        return false;
    }
    uint8_t chunk[READ_CHUNK];
    ssize_t n = read(c->in_fd, chunk, room < sizeof chunk ? room : sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return false;
    if (n <= 0) {
        c->in_fd = -1;           /* end of input (or an error): stop looking */
        return false;
    }
    take(c, chunk, (size_t)n);
    if (c->quit) {
        static const char note[] = "\r\nvsmp: Ctrl-A x: ending the run\r\n";
        if (write(STDERR_FILENO, note, sizeof note - 1) < 0) {
            /* nowhere to say it: the run ends all the same */
        }
        return true;
    }
    feed(c, u);
    return false;
}
