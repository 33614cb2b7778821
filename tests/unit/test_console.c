/* test_console.c - the console's host side (src/io/console.c): the
 * Ctrl-A escape keys, input buffered until the guest raises RTS and fed
 * only into free FIFO room (nothing lost to the guest's probing and FIFO
 * resets, nothing lost to overrun, a pipe's whole content delivered in
 * order), end of input that neither ends the run nor spins, and output. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/console.h"
#include "io/iobus.h"
#include "io/uart.h"

/* ---- the escape state machine ---- */

static int esc_run(const char *in, size_t n, int *out)
{
    struct console_esc e = { 0 };
    for (size_t i = 0; i < n; i++)
        out[i] = console_escape(&e, (uint8_t)in[i]);
    return e.armed;
}

Test(console_esc, ctrl_a_x_quits)
{
    int o[2];
    esc_run("\001x", 2, o);
    cr_assert_eq(o[0], CONSOLE_DROP);
    cr_assert_eq(o[1], CONSOLE_QUIT);
    esc_run("\001X", 2, o);
    cr_assert_eq(o[1], CONSOLE_QUIT);
}

Test(console_esc, ctrl_a_ctrl_a_sends_one_ctrl_a)
{
    int o[4];
    int armed = esc_run("\001\001x\001", 4, o);
    cr_assert_eq(o[0], CONSOLE_DROP);
    cr_assert_eq(o[1], 0x01, "one Ctrl-A for the guest");
    cr_assert_eq(o[2], 'x', "the pair is done: x is a plain key");
    cr_assert_eq(o[3], CONSOLE_DROP);
    cr_assert(armed, "a Ctrl-A at the end waits for its command");
}

Test(console_esc, ctrl_a_other_is_dropped)
{
    int o[4];
    esc_run("\001qz\003", 4, o);
    cr_assert_eq(o[0], CONSOLE_DROP);
    cr_assert_eq(o[1], CONSOLE_DROP, "Ctrl-A q: no such command, nothing sent");
    cr_assert_eq(o[2], 'z');
    cr_assert_eq(o[3], 0x03, "Ctrl-C is a byte for the guest");
    esc_run("\001h\001?", 4, o);
    cr_assert_eq(o[1], CONSOLE_HELP);
    cr_assert_eq(o[3], CONSOLE_HELP);
}

Test(console_esc, every_other_byte_passes)
{
    struct console_esc e = { 0 };
    for (int b = 0; b < 256; b++)
        if (b != CONSOLE_ESCAPE_CHAR)
            cr_assert_eq(console_escape(&e, (uint8_t)b), b);
}

/* ---- input through a UART ---- */

struct fix {
    struct iobus bus;
    struct uart u;
    struct console c;            /* large: static below */
    int p[2];                    /* the input pipe */
};

static void noirq(void *ctx, int irq, int level)
{
    (void)ctx, (void)irq, (void)level;
}

static struct fix F;

static void setup(bool escapes)
{
    memset(&F.bus, 0, sizeof F.bus);
    iobus_init(&F.bus);
    uart_init(&F.u, 0x3f8, (struct irq_line){ noirq, NULL, 4 }, NULL, NULL);
    cr_assert_eq(uart_register(&F.u, &F.bus), 0);
    cr_assert_eq(pipe(F.p), 0);
    console_init(&F.c, F.p[0], -1, escapes);
}

static uint8_t in(int reg)
{
    return (uint8_t)iobus_in(&F.bus, (uint16_t)(0x3f8 + reg), 1);
}

static void out(int reg, uint8_t v)
{
    iobus_out(&F.bus, (uint16_t)(0x3f8 + reg), 1, v);
}

static void write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        cr_assert(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

/* What the guest reads now (LSR.DR / RBR), appended to buf. */
static size_t drain(uint8_t *buf, size_t at)
{
    while (in(5) & UART_LSR_DR)
        buf[at++] = in(0);
    cr_assert_eq(in(5) & UART_LSR_OE, 0, "no overrun, ever");
    return at;
}

Test(console, input_waits_for_rts_and_survives_the_probe)
{
    setup(false);
    uint8_t data[100], got[100];
    for (int i = 0; i < 100; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    write_all(F.p[1], data, sizeof data);
    /* the guest has not opened the port: MCR 0 */
    for (int i = 0; i < 5; i++)
        cr_assert(!console_poll(&F.c, &F.u, 0));
    cr_assert_eq(F.c.len, 100, "read from the pipe into the buffer");
    cr_assert_eq(in(5) & UART_LSR_DR, 0, "nothing sent while RTS is off");
    /* Linux's probe and start-up: loopback, FIFO resets, RBR reads */
    out(4, 0x1a);
    cr_assert(!console_poll(&F.c, &F.u, 0));
    out(2, 0x01);
    out(2, 0x07);
    out(2, 0x00);
    (void)in(0);
    out(4, 0x00);
    out(4, 0x08);                        /* OUT2, still no RTS */
    cr_assert(!console_poll(&F.c, &F.u, 0));
    out(2, 0x81);                        /* FIFO on, trigger 8 */
    cr_assert_eq(in(5) & UART_LSR_DR, 0);
    out(4, 0x0b);                        /* DTR RTS OUT2: the tty is open */
    size_t n = 0;
    for (int i = 0; i < 50 && n < 100; i++) {
        console_poll(&F.c, &F.u, 0);
        cr_assert_leq(F.u.s.rx_count, UART_FIFO);
        n = drain(got, n);
    }
    cr_assert_eq(n, 100);
    cr_assert_eq(memcmp(got, data, 100), 0, "every byte, in order");
}

/* A writer far faster than the guest: 300,000 bytes, more than the
 * console's buffer and the pipe together, all delivered. */
Test(console, a_long_pipe_is_delivered_whole)
{
    setup(false);
    enum { N = 300000 };
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(F.p[0]);
        static uint8_t buf[N];
        for (int i = 0; i < N; i++)
            buf[i] = (uint8_t)(i % 251);
        for (size_t off = 0; off < N;) {
            ssize_t w = write(F.p[1], buf + off, N - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(F.p[1]);
    out(2, 0x01);
    out(4, 0x03);
    static uint8_t got[N + 16];
    size_t n = 0;
    for (int i = 0; i < 10 * N && (n < N || F.c.in_fd >= 0); i++) {
        console_poll(&F.c, &F.u, 10);
        n = drain(got, n);
        cr_assert_leq(n, N);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert_eq(n, N);
    for (int i = 0; i < N; i++)
        cr_assert_eq(got[i], (uint8_t)(i % 251), "byte %d", i);
    cr_assert_eq(F.c.in_fd, -1, "end of input seen");
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(console, end_of_input_neither_ends_the_run_nor_spins)
{
    setup(false);
    out(4, 0x03);
    write_all(F.p[1], "ab", 2);
    close(F.p[1]);
    uint8_t got[4];
    size_t n = 0;
    for (int i = 0; i < 10; i++) {
        cr_assert(!console_poll(&F.c, &F.u, 0), "end of input ends nothing");
        n = drain(got, n);
    }
    cr_assert_eq(n, 2);
    cr_assert_eq(memcmp(got, "ab", 2), 0);
    cr_assert_eq(F.c.in_fd, -1, "the console stopped looking at it");
    /* a wait after the end sleeps its time instead of returning at once
     * (a lower bound: it holds on any host) */
    uint64_t t0 = now_ms();
    for (int i = 0; i < 3; i++)
        cr_assert(!console_poll(&F.c, &F.u, 20));
    cr_assert_geq(now_ms() - t0, 60);
}

/* A poll that hands the guest a byte returns at once (a halted guest
 * wakes for it) instead of waiting on the input: it leaves what the
 * input has for the next poll. */
Test(console, a_delivery_ends_the_poll)
{
    setup(false);
    out(4, 0x03);                        /* RTS, FIFO off: one byte at a time */
    write_all(F.p[1], "bc", 2);
    cr_assert(!console_poll(&F.c, &F.u, 0));
    cr_assert_eq(in(0), 'b');
    write_all(F.p[1], "d", 1);
    cr_assert(!console_poll(&F.c, &F.u, 1000));
    int pending = -1;
    cr_assert_eq(ioctl(F.p[0], FIONREAD, &pending), 0);
    cr_assert_eq(pending, 1, "c delivered, d not read (no wait on the input)");
    cr_assert_eq(in(0), 'c');
}

Test(console, from_a_pipe_every_byte_is_data)
{
    setup(false);
    out(2, 0x01);
    out(4, 0x03);
    write_all(F.p[1], "\001x\003\001\001", 5);
    for (int i = 0; i < 3; i++)
        cr_assert(!console_poll(&F.c, &F.u, 0), "no Ctrl-A commands from a pipe");
    uint8_t got[8];
    cr_assert_eq(drain(got, 0), 5);
    cr_assert_eq(memcmp(got, "\001x\003\001\001", 5), 0);
}

Test(console, at_a_terminal_ctrl_a_x_ends_the_run)
{
    setup(true);
    out(2, 0x01);
    out(4, 0x03);
    write_all(F.p[1], "a\001\001\003\001qb\001xcd", 11);
    bool quit = false;
    for (int i = 0; i < 3 && !quit; i++)
        quit = console_poll(&F.c, &F.u, 0);
    cr_assert(quit);
    cr_assert(console_poll(&F.c, &F.u, 0), "and stays so");
    uint8_t got[8];
    size_t n = drain(got, 0);
    /* what came before Ctrl-A x: a, Ctrl-A, Ctrl-C, b; nothing after */
    n += F.c.len;
    cr_assert_eq(n, 4);
}

Test(console, output_goes_out_until_the_reader_leaves)
{
    int p[2];
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(pipe(p), 0);
    static struct console c;
    console_init(&c, -1, p[1], false);
    console_output(&c, (const uint8_t *)"hi\r\n", 4);
    char buf[8];
    cr_assert_eq(read(p[0], buf, sizeof buf), 4);
    cr_assert_eq(memcmp(buf, "hi\r\n", 4), 0);
    close(p[0]);
    console_output(&c, (const uint8_t *)"x", 1);
    cr_assert_eq(c.out_fd, -1, "a closed reader: output dropped from then on");
}
