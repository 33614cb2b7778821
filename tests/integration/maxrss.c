/* maxrss.c - run a command and record its peak resident memory, for the
 * start-up memory tests and bench/startup.sh (no dependency on GNU time).
 *   maxrss OUT COMMAND [ARG...]
 * runs COMMAND, then writes one line "STATUS ELAPSED_S MAXRSS_KIB" to OUT
 * ("%r" in OUT becomes the MPI rank from OMPI_COMM_WORLD_RANK, so that
 * each rank of an mpirun job gets its own file). STATUS is the exit
 * status, or 128 + the signal. Exits 0 whatever the command did (mpirun
 * would otherwise end the other ranks before they write their files);
 * 127 if COMMAND cannot be run, 126 if OUT cannot be written. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: maxrss OUT COMMAND [ARG...]\n");
        return 2;
    }
    char out[4096];
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");
    const char *pct = strstr(argv[1], "%r");
    if (pct)
        snprintf(out, sizeof out, "%.*s%s%s", (int)(pct - argv[1]), argv[1],
                 rank ? rank : "0", pct + 2);
    else
        snprintf(out, sizeof out, "%s", argv[1]);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0)
        return 127;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    FILE *f = fopen(out, "w");
    if (!f)
        return 126;
    fprintf(f, "%d %.3f %ld\n", status, s, ru.ru_maxrss);
    return fclose(f) == 0 ? 0 : 126;
}
