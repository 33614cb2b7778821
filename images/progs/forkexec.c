/* images/progs/forkexec.c - the process-creation workload of the Linux
 * guest: COUNT times fork, execv PATH in the child, waitpid in the parent;
 * every child must exit with status 0. Prints
 *   forkexec count=N path=PATH ok guest_s=SECONDS
 * (SECONDS by the guest's CLOCK_MONOTONIC; the bench times the same span
 * on the host between the lines it prints before and after).
 *   forkexec [COUNT [PATH]]   (defaults: 300, /bin/true) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    unsigned count = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 300;
    char *path = argc > 2 ? argv[2] : "/bin/true";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < count; i++) {
        pid_t p = fork();
        if (p < 0) {
            perror("forkexec: fork");
            return 1;
        }
        if (p == 0) {
            char *args[] = { path, NULL };
            execv(path, args);
            _exit(127);
        }
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("forkexec: run %u of %s failed (status 0x%x)\n", i, path, st);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("forkexec count=%u path=%s ok guest_s=%.3f\n", count, path,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
