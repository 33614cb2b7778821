/* terminal.h - the user's terminal in raw mode while vsmp runs, as
 * qemu-system-i386 -nographic does: keys go to the guest as they are
 * typed (Ctrl-C too: it is the byte 0x03 for the guest, not SIGINT for
 * the job), and the saved settings come back however the process ends -
 * at exit() (atexit), on SIGTERM, SIGINT, SIGHUP or SIGQUIT (what mpirun
 * sends when it ends a job), on a crash (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
 * SIGABRT), and where vsmp calls _exit or MPI_Abort (those call
 * terminal_restore() first). Only SIGKILL of rank 0, and an MPI error
 * that Open MPI itself ends rank 0 for (MPI_ERRORS_ARE_FATAL: it exits
 * without atexit handlers), leave the terminal raw (`stty sane` mends
 * it).
 *
 * Rank 0 reads the console from its standard input. Run plainly
 * (./vsmp CONFIG) that is the terminal itself; under mpirun it is a pipe
 * from mpirun, which reads the terminal and forwards the bytes as they
 * are: terminal_find() recognises that case and returns the terminal, so
 * that raw mode reaches the keys where mpirun reads them.
 *
 * The saved settings live in this file's one static record: a signal
 * handler has no other way to reach them. */
#ifndef VSMP_TERMINAL_H
#define VSMP_TERMINAL_H

#include <termios.h>

/* The terminal that feeds in_fd, if it is one to put in raw mode: in_fd
 * itself when it is a terminal whose foreground job is ours (or which is
 * no process's controlling terminal); or, when in_fd is a pipe the parent
 * process (mpirun) writes, and the parent reads its own standard input
 * from our controlling terminal in the foreground, that terminal, newly
 * opened (through /proc/PPID/fd/0). -1: none (a file, a pipe from another program, a background
 * job). */
int terminal_find(int in_fd);
/* Save fd's settings and put it in raw mode; installs the restoring
 * atexit handler and signal handlers (the first time). 0, or -1 (errno)
 * with the terminal untouched. */
int terminal_raw(int fd);
/* The saved settings back (nothing if raw mode was never entered or is
 * restored already). Async-signal-safe. */
void terminal_restore(void);
/* Raw mode as terminal_raw() makes it from the settings t: no echo, no
 * line editing, no signal keys, no input translation, 8 bits, one byte
 * per read; output processing (\n -> \r\n) is kept for vsmp's messages. */
void terminal_make_raw(struct termios *t);

#endif
