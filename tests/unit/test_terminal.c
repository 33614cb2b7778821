/* test_terminal.c - raw mode for the user's terminal (src/io/terminal.c)
 * on a pseudo-terminal: the settings raw mode makes, which descriptors
 * count as "the terminal", and that every way a process ends - exit(),
 * the signals mpirun and kill send, a crash, abort(), the watchdog's
 * _exit - gives the saved settings back. Each ending runs in a child
 * process; the parent checks the terminal in raw mode before and
 * restored after. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "io/terminal.h"
#include "watchdog.h"

Test(terminal, raw_settings)
{
    struct termios t;
    memset(&t, 0, sizeof t);
    t.c_iflag = ICRNL | IXON | BRKINT;
    t.c_lflag = ECHO | ICANON | ISIG | IEXTEN;
    t.c_oflag = OPOST | ONLCR;
    t.c_cflag = CS7 | PARENB | CREAD;
    terminal_make_raw(&t);
    cr_assert_eq(t.c_iflag & (ICRNL | IXON | BRKINT), 0, "no input translation, no XON/XOFF");
    cr_assert_eq(t.c_lflag & (ECHO | ICANON | ISIG | IEXTEN), 0, "Ctrl-C is a byte");
    cr_assert_eq(t.c_oflag, OPOST | ONLCR, "output processing kept");
    cr_assert_eq(t.c_cflag & (CSIZE | PARENB), CS8);
    cr_assert(t.c_cflag & CREAD);
    cr_assert_eq(t.c_cc[VMIN], 1);
    cr_assert_eq(t.c_cc[VTIME], 0);
}

static int master, slave;

static void open_pty(void)
{
    cr_assert_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
    struct termios t;
    cr_assert_eq(tcgetattr(slave, &t), 0);
    cr_assert(t.c_lflag & ICANON, "a new pty is cooked");
}

static bool is_raw(int fd)
{
    struct termios t;
    cr_assert_eq(tcgetattr(fd, &t), 0);
    return !(t.c_lflag & (ICANON | ECHO | ISIG));
}

static bool is_cooked(int fd)
{
    struct termios t;
    cr_assert_eq(tcgetattr(fd, &t), 0);
    return (t.c_lflag & (ICANON | ECHO | ISIG)) == (ICANON | ECHO | ISIG) &&
           (t.c_iflag & ICRNL);
}

Test(terminal, find)
{
    open_pty();
    cr_assert_eq(terminal_find(slave), slave, "a terminal (nobody's controlling one)");
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(terminal_find(p[0]), -1, "a pipe the parent does not write");
    int f = open("/dev/null", O_RDONLY);
    cr_assert_eq(terminal_find(f), -1, "not a terminal");
}

Test(terminal, raw_and_restore)
{
    open_pty();
    cr_assert_eq(terminal_raw(slave), 0);
    cr_assert(is_raw(slave));
    terminal_restore();
    cr_assert(is_cooked(slave));
    terminal_restore();                  /* twice: nothing */
    cr_assert(is_cooked(slave));
}

/* Runs `end` in a child that put the pty in raw mode; returns its wait
 * status after checking raw mode while it ran and cooked mode after. */
static int child_ends(void (*end)(void))
{
    open_pty();
    int go[2], ready[2];
    cr_assert_eq(pipe(go), 0);
    cr_assert_eq(pipe(ready), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        for (int s = 1; s < NSIG; s++)
            signal(s, SIG_DFL);
        if (terminal_raw(slave))
            _exit(100);
        char b = 'r';
        if (write(ready[1], &b, 1) != 1 || read(go[0], &b, 1) != 1)
            _exit(101);
        end();
        _exit(102);
    }
    char b;
    cr_assert_eq(read(ready[0], &b, 1), 1);
    cr_assert(is_raw(slave), "raw while the child runs");
    cr_assert_eq(write(go[1], "g", 1), 1);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(is_cooked(slave), "restored after the child ended (status 0x%x)", st);
    return st;
}

static void end_exit(void) { exit(7); }
static void end_term(void) { kill(getpid(), SIGTERM); pause(); }
static void end_hup(void) { kill(getpid(), SIGHUP); pause(); }
static void end_int(void) { kill(getpid(), SIGINT); pause(); }
static void end_abort(void) { abort(); }
static void end_watchdog(void) { watchdog_end_job(NULL, 0, "a test"); }
static void end_segv(void)
{
    volatile uintptr_t a = 8;            /* an unmapped page */
    *(volatile int *)a = 1;
}

Test(terminal, restored_at_exit)
{
    int st = child_ends(end_exit);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7);
}

Test(terminal, restored_on_sigterm_sighup_sigint)
{
    int st = child_ends(end_term);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "still ended by the signal");
    st = child_ends(end_hup);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGHUP);
    st = child_ends(end_int);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
}

Test(terminal, restored_on_a_crash_and_abort)
{
    int st = child_ends(end_segv);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    st = child_ends(end_abort);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}

Test(terminal, restored_by_the_watchdogs_exit)
{
    int st = child_ends(end_watchdog);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == WATCHDOG_EXIT_STATUS);
}
