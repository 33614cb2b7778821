/* terminal.c - raw mode for the user's terminal and its restoring on
 * every way out (see terminal.h). */
#define _GNU_SOURCE
#include "io/terminal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const int restore_signals[] = {
    SIGTERM, SIGINT, SIGHUP, SIGQUIT,            /* mpirun, kill */
    SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,    /* crashes */
};
#define NSIGS (sizeof restore_signals / sizeof restore_signals[0])

/* The one record a signal handler can reach. */
static struct {
    volatile sig_atomic_t raw;       /* the terminal is in raw mode */
    int fd;
    struct termios saved;
    bool installed;                  /* handlers and atexit in place */
    struct sigaction old[NSIGS];     /* what was there before */
} term = { .fd = -1 };

void terminal_make_raw(struct termios *t)
{
    t->c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL |
                              IXON | IXOFF);
    t->c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t->c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t->c_cflag |= CS8;
    t->c_cc[VMIN] = 1;
    t->c_cc[VTIME] = 0;
}

void terminal_restore(void)
{
    if (!term.raw)
        return;
    term.raw = 0;
    /* a background process group may set a terminal's modes only with
     * SIGTTOU blocked (or ignored): rank 0 under mpirun is one */
    sigset_t tt, old;
    sigemptyset(&tt);
    sigaddset(&tt, SIGTTOU);
    sigprocmask(SIG_BLOCK, &tt, &old);
    while (tcsetattr(term.fd, TCSANOW, &term.saved) < 0 && errno == EINTR)
        ;
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static void restore_at_exit(void)
{
    terminal_restore();
}

/* Restore, then the signal does what it did before (the default: end
 * the process; Open MPI's crash report; ...). Raised again here, it is
 * delivered when this handler returns: the same for a fault and for a
 * signal sent. */
static void on_signal(int sig)
{
    int saved_errno = errno;
    terminal_restore();
    for (size_t i = 0; i < NSIGS; i++)
        if (restore_signals[i] == sig)
            sigaction(sig, &term.old[i], NULL);
    raise(sig);
    errno = saved_errno;
}

static void install(void)
{
    if (term.installed)
        return;
    term.installed = true;
    atexit(restore_at_exit);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NSIGS; i++)
        sigaction(restore_signals[i], &sa, &term.old[i]);
}

int terminal_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return -1;
    term.saved = t;
    term.fd = fd;
    install();
    terminal_make_raw(&t);
    sigset_t tt, old;
    sigemptyset(&tt);
    sigaddset(&tt, SIGTTOU);
    sigprocmask(SIG_BLOCK, &tt, &old);
    term.raw = 1;
    int rc;
    while ((rc = tcsetattr(fd, TCSANOW, &t)) < 0 && errno == EINTR)
        ;
    int e = errno;
    if (rc < 0)
        term.raw = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return rc < 0 ? -1 : 0;
}

/* Does process pid hold a descriptor for the file st names (the other
 * end of our pipe)? */
static bool holds(pid_t pid, const struct stat *st)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[64 + sizeof e->d_name];
        struct stat s;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &s) == 0 && S_ISFIFO(s.st_mode) && s.st_dev == st->st_dev &&
            s.st_ino == st->st_ino)
            found = true;
    }
    closedir(d);
    return found;
}

int terminal_find(int in_fd)
{
    if (isatty(in_fd)) {
        pid_t fg = tcgetpgrp(in_fd);
        if (fg >= 0 && fg != getpgrp())
            return -1;               /* a background job: hands off */
        return in_fd;                /* ours, or nobody's controlling terminal */
    }
    struct stat in, pin;
    pid_t pp = getppid();
    char p0[64];
    snprintf(p0, sizeof p0, "/proc/%d/fd/0", (int)pp);
    if (fstat(in_fd, &in) < 0 || !S_ISFIFO(in.st_mode) || pp <= 1 || stat(p0, &pin) < 0 ||
        !S_ISCHR(pin.st_mode) || !holds(pp, &in))
        return -1;
    /* the same terminal, opened anew: it must be our controlling one
     * (tcgetsid answers only for that) with mpirun in the foreground */
    int fd = open(p0, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (!isatty(fd) || tcgetsid(fd) < 0 || tcgetpgrp(fd) != getpgid(pp)) {
        close(fd);
        return -1;
    }
    return fd;
}
