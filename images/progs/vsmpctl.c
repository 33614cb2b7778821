/* images/progs/vsmpctl.c - the guest's side of vsmp's memory images
 * (issue 17): asks the machine for a checkpoint through the vsmp control
 * port 0xF5 (one byte, a device of rank 0; docs/checkpoint.md).
 *   vsmpctl status            prints the port's state, one line:
 *       "vsmpctl: no checkpoint path (vsmp runs without --checkpoint)"
 *       (exit 2), "vsmpctl: ready (no checkpoint failed)" (0),
 *       "vsmpctl: the last checkpoint failed" (1)
 *   vsmpctl checkpoint        writes 1: the image is written and the
 *       machine goes on; prints "vsmpctl: checkpoint written" (0) or
 *       "vsmpctl: checkpoint failed" (1)
 *   vsmpctl checkpoint-exit   writes 2: the image is written and the job
 *       ends with status 0. Nothing more runs in this job; when the job is
 *       restored from the image the program goes on right after the OUT
 *       and prints "vsmpctl: resumed from the checkpoint" (0) - or, when
 *       the write failed and the machine went on, "vsmpctl: checkpoint
 *       failed" (1).
 * After the request, a job restored from the image may have no checkpoint
 * path (the port reads 0): that is the image this request wrote, and the
 * program says so as above.
 * The port reads 0 = no checkpoint PATH, 1 = idle / the last one written,
 * 2 = one in progress, 3 = the last one failed; anything else (0xff: no
 * device at the port, another hypervisor or real hardware) is refused:
 * "vsmpctl: no vsmp control port (port 0xf5 reads 0xNN)", exit 2.
 * Needs root (ioperm): otherwise "vsmpctl: ioperm(0xf5): ... (run as
 * root)", exit 2. Usage errors exit 2 too.
 * It moves itself to CPU 0 first (when it can): that CPU is rank 0's, the
 * port's own, where vsmp takes the request before the next instruction,
 * so the state read right after the OUT is the outcome of this request.
 * From another CPU the OUT is forwarded to rank 0 and the CPU goes on
 * until rank 0 stops it, so a read right after could still see the state
 * from before (vsmp's port has no "requested" state). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <time.h>

#define CTL_PORT 0xF5
#define CTL_NO_PATH 0
#define CTL_IDLE 1
#define CTL_BUSY 2
#define CTL_FAILED 3
#define CTL_REQ_CONTINUE 1
#define CTL_REQ_EXIT 2

static int usage(void)
{
    fprintf(stderr, "vsmpctl: usage: vsmpctl status | checkpoint | checkpoint-exit\n");
    return 2;
}

/* the port's state; waits (up to about 60 s) while a checkpoint is in
 * progress, so the answer is about the one just asked for */
static int ctl_state(void)
{
    struct timespec ms = {0, 1000000};
    int v = inb(CTL_PORT);
    for (int i = 0; v == CTL_BUSY && i < 60000; i++) {
        nanosleep(&ms, NULL);
        v = inb(CTL_PORT);
    }
    return v;
}

/* 0 when the port is vsmp's and has a checkpoint path; else the message
 * and the exit status (2) */
static int ctl_ready(int v)
{
    if (v == CTL_NO_PATH) {
        printf("vsmpctl: no checkpoint path (vsmp runs without --checkpoint)\n");
        return 2;
    }
    if (v != CTL_IDLE && v != CTL_BUSY && v != CTL_FAILED) {
        fprintf(stderr, "vsmpctl: no vsmp control port (port 0x%x reads 0x%02x)\n", CTL_PORT, v);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return usage();
    const char *what = argv[1];
    int req;
    if (strcmp(what, "status") == 0)
        req = 0;
    else if (strcmp(what, "checkpoint") == 0)
        req = CTL_REQ_CONTINUE;
    else if (strcmp(what, "checkpoint-exit") == 0)
        req = CTL_REQ_EXIT;
    else
        return usage();

    cpu_set_t cpu0;
    CPU_ZERO(&cpu0);
    CPU_SET(0, &cpu0);
    (void)sched_setaffinity(0, sizeof cpu0, &cpu0);   /* best effort */
    if (ioperm(CTL_PORT, 1, 1) != 0) {
        fprintf(stderr, "vsmpctl: ioperm(0x%x): %s (run as root)\n", CTL_PORT, strerror(errno));
        return 2;
    }
    int v = ctl_state(), rc = ctl_ready(v);
    if (rc != 0)
        return rc;
    if (req == 0) {
        if (v == CTL_FAILED) {
            printf("vsmpctl: the last checkpoint failed\n");
            return 1;
        }
        printf("vsmpctl: ready (no checkpoint failed)\n");
        return 0;
    }
    fflush(stdout);
    outb(req, CTL_PORT);
    v = ctl_state();
    if (v == CTL_FAILED) {
        printf("vsmpctl: checkpoint failed\n");
        return 1;
    }
    /* 0 (no path): this is a restored job started without --checkpoint,
     * going on from the image this request wrote */
    if (v != CTL_IDLE && v != CTL_NO_PATH) {
        fprintf(stderr, "vsmpctl: unexpected state 0x%02x of port 0x%x after the request\n", v, CTL_PORT);
        return 2;
    }
    printf(req == CTL_REQ_EXIT ? "vsmpctl: resumed from the checkpoint\n" : "vsmpctl: checkpoint written\n");
    return 0;
}
