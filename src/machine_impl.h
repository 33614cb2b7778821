/* machine_impl.h - the inside of struct machine (machine.h is the public
 * API), shared by the files that make a rank's machine:
 *   src/board.c      the board: devices and how they are wired (ports,
 *                    MMIO windows, interrupt lines), construction and
 *                    teardown, the devices' pending work
 *   src/xrank.c      everything between ranks: the one list of platform
 *                    messages (IPIs, forwarded device accesses, run state,
 *                    shutdown, stuck detection, liveness)
 *   src/runloop.c    the run loop: slices, polls between them, the one
 *                    wait for a wake-up
 *   src/stats.c      statistics
 *   src/snap/checkpoint.c  memory images: the quiescence, the state
 *                    block, the restore (and the other src/snap/ files
 *                    that save and load a rank's state)
 * Nothing outside these files (and unit tests of them) includes it. */
#ifndef VSMP_MACHINE_IMPL_H
#define VSMP_MACHINE_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "boot/platform.h"
#include "cpu/apic.h"
#include "cpu/cpu.h"
#include "io/acpi_pm.h"
#include "io/cmos.h"
#include "io/console.h"
#include "io/debugexit.h"
#include "io/ioapic.h"
#include "io/iobus.h"
#include "io/panicwatch.h"
#include "io/pic.h"
#include "io/pit.h"
#include "io/uart.h"
#include "io/virtio_blk.h"
#include "machine.h"
#include "mem/dsm.h"
#include "mem/phys.h"
#include "slicer.h"
#include "vclock.h"
#include "waitclock.h"

/* Time between two polls (src/slicer.c turns it into instructions). With
 * N > 1 a DSM request (invalidation, downgrade, IPI) is served at the next
 * slice end, so the quantum must stay well under the 50 us an
 * invalidation may take (docs/smp.md has the measurements); one CPU polls
 * only its devices and timers. */
#define QUANTUM_NS 50000ull
#define SMP_QUANTUM_NS 10000ull
#define CPU_EV_MAX 8                 /* queued INIT/STARTUP */
#define CPU_EV_INIT (-1)
#define TEXT_MAX 240                 /* a rank's fatal message, 24 bytes a chunk */
#define BOARD_MAX_WORK 16            /* devices with pending work */

/* A CPU that only another CPU can wake (MSG_STUCK): its IPI counts then. */
struct stuck {
    bool stuck;
    uint64_t sent, recv;
};

/* Ranks != 0: one MMIO window of a rank-0 device, forwarded (phys MMIO
 * callback context). */
struct fwd_window {
    struct machine *m;
    const struct platform_window *w;
};

/* A device's work on guest RAM, done by rank 0 between slices
 * (docs/devices.md): `run` is called once after each board_mark_pending(). */
struct board_work {
    void (*run)(void *ctx);
    void *ctx;
    bool pending;
    bool waiting;                /* pending only to collect a host I/O thread's result */
};

/* Rank 0: one virtio-mmio disk (the config's disk line i) and its work. */
struct board_disk {
    struct machine *m;
    int work;                    /* board_add_work handle */
    bool live;                   /* initialised (free it) */
    char *path;                  /* the image's absolute path (memory images) */
    struct virtio_blk blk;
};

struct machine {
    struct phys phys;
    struct cpu cpu;
    bool has_cpu, has_phys;
    bool devices;                /* rank 0 */
    struct iobus io;
    struct pic pic;
    struct pit pit;
    struct uart uart;
    struct cmos cmos;
    struct debugexit dbg;
    struct acpi_pm acpi_pm;
    struct panicwatch panicwatch;    /* console output: a guest kernel panic */
    struct apic apic;            /* this rank's local APIC (every rank) */
    struct ioapic ioapic;        /* rank 0 */
    int rank, ncpus;
    struct platform plat;        /* the PC every rank runs (boot/platform.h) */
    bool ipi_transport;          /* other ranks can reach this one (NMI, INIT) */
    struct machine_opts opts;
    struct console con;          /* rank 0: stdin/stdout <-> the UART */
    uint64_t next_input_poll;
    uint64_t last_flush;
    struct vclock clock;         /* the virtual clock (TSC, timers, RTC) */
    struct board_work work[BOARD_MAX_WORK];   /* rank 0 */
    int nwork;
    bool work_pending;           /* some work[].pending */
    struct board_disk disk[PLATFORM_MAX_DISKS];   /* rank 0 */
    int ndisks;
    int io_wake_fd;              /* rank 0: eventfd the disks' I/O threads write; -1 */

    /* ---- N > 1 ---- */
    const struct dsm_transport *tr;
    struct dsm *dsm;
    struct apic_peer *peers;     /* every rank's APIC, for lowest priority */
    struct fwd_window fwd[PLATFORM_MAX_WINDOWS];   /* ranks != 0 */
    uint64_t next_tag;
    uint64_t io_tag;             /* the request this CPU waits for */
    bool io_done;
    uint32_t io_value;
    int cpu_ev[CPU_EV_MAX];      /* queued INIT (CPU_EV_INIT) / SIPI vectors */
    int ncpu_ev;
    bool stop;                   /* the run is over (status below) */
    int status;
    bool fatal_sent;             /* rank != 0: reported, waits for SHUTDOWN */
    int ndone;                   /* MSG_DONE received */
    bool aps_started;            /* rank 0 sent an IPI to another rank */
    char (*text)[TEXT_MAX + 1];  /* rank 0: fatal message per rank */
    struct stuck *stuck;         /* rank 0: every rank's last MSG_STUCK */
    struct stuck self_stuck;     /* what this rank reported last */
    struct slicer slicer;        /* instructions per slice */
    uint64_t last_served_ns;     /* when a poll last served a message */
    uint64_t poll_cost_ns;       /* smoothed cost of an empty poll */
    uint64_t hook_ns;            /* time in opts.between_slices so far */
    /* the answer timeout (N > 1): loop waits end the job after this */
    uint64_t answer_limit_ns;    /* 0: off */
    unsigned wait_rounds;        /* wait_round() calls (when to look) */
    bool *done_from;             /* MSG_DONE received, by rank */
    struct waitclock fatal_wc;   /* rank != 0: since the fatal report */
    struct {
        bool out;                /* a PING awaits its PONG */
        uint64_t tag, next_ns;   /* its tag; when the next one goes out */
        struct waitclock wc;
    } ping;
    struct machine_stats st;
    /* memory images (src/snap/checkpoint.c) */
    struct {
        int seen_cont, seen_exit;    /* signal counts acted on */
        int request;                 /* rank 0: asked, not yet announced */
        int due;                     /* announced: run at the next boundary */
        int port;                    /* port 0xF5 reads this (CKPT_PORT_*) */
        bool announced_once;         /* rank != 0: noted "no PATH" once */
        uint64_t *sent_to;           /* N > 1: platform messages, by peer */
        uint64_t *recv_from;
    } ck;
};

static inline uint64_t host_now_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- board.c ---- */
/* A device's work on guest RAM (docs/devices.md): register once (rank 0,
 * at construction; returns the handle or -1 when the list is full), mark
 * from the register access, run by rank 0 between slices. */
int board_add_work(struct machine *m, void (*run)(void *ctx), void *ctx);
void board_mark_pending(struct machine *m, int handle);
/* From the work itself: not finished, run it again at the next poll
 * (after a full slice: the CPU's slice is not cut short). */
void board_continue(struct machine *m, int handle);
/* From the work itself: it waits for a host I/O thread, which writes
 * m->io_wake_fd when done; run it again at the next poll (cheap: it only
 * looks whether the result is there), and a halted CPU may sleep on the
 * fd meanwhile instead of polling at once. */
void board_wait_io(struct machine *m, int handle);
/* Some work is pending that is not only waiting for a host I/O thread. */
bool board_work_runnable(const struct machine *m);
void board_run_pending(struct machine *m);

/* ---- xrank.c ---- */
/* Rank != 0: a port (PW_PORT) or MMIO (PW_MMIO, absolute address)
 * access performed by rank 0; waits for its answer. `what` names the
 * window in messages. */
uint32_t xrank_forward(struct machine *m, enum platform_space space, const char *what,
                       bool write, int size, uint32_t addr, uint32_t value);
/* An interrupt message to its destinations (this rank's APIC, others). */
void xrank_route(struct machine *m, const struct apic_msg *msg);
void xrank_eoi(struct machine *m, uint8_t vector);         /* rank != 0 */
void xrank_apic_changed(struct machine *m, const struct apic *a);
/* The end of the run with `status` (rank 0, or the only rank): every
 * rank is told; the first end wins. */
/* Every CPU halted for good: the end of Linux's `halt` when its console
 * said "reboot: System halted" (the run then ends with status 0), else a
 * guest that can never wake up (status 6). */
static inline bool machine_halt_was_asked(const struct machine *m)
{
    return m->panicwatch.s.halted;
}
void machine_end_run(struct machine *m, int status);
/* This rank's CPU cannot go on: rank 0 prints "vsmp: rank R: TEXT" and
 * ends the run with `status`. */
__attribute__((format(printf, 3, 4)))
void machine_fail(struct machine *m, int status, const char *fmt, ...);
__attribute__((noreturn, format(printf, 3, 4)))
void xrank_no_answer(struct machine *m, uint64_t waited_ns, const char *fmt, ...);
bool xrank_overdue(const struct machine *m, struct waitclock *wc, uint64_t now);
void xrank_liveness(struct machine *m, uint64_t now);
bool xrank_check_stuck(struct machine *m);
void xrank_stop(struct machine *m);
/* Memory images: a rank's signal to rank 0; rank 0's announcement. */
void xrank_ckpt_ask(struct machine *m, int kind);
void xrank_ckpt_begin(struct machine *m, int kind);
/* The DSM's callbacks (struct dsm_config). */
void xrank_on_msg(void *arg, int src, const struct dsm_msg *q);
void xrank_on_stall(void *arg, const struct dsm_stall *s);
void xrank_on_wait(void *arg, uint64_t now);

/* ---- stats.c ---- */
void stats_end_of_run(struct machine *m, uint64_t t0);

#endif
