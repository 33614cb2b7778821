/* machine.h - the per-rank machine: this rank's CPU and its local APIC
 * (APIC ID = rank) and, on rank 0, the platform devices (PIC, IOAPIC,
 * PIT, UART, CMOS, debug-exit, ACPI PM registers), the boot image, the MP
 * table and the ACPI tables, plus the run loop that drives them.
 * Implemented in src/board.c, src/xrank.c, src/runloop.c and src/stats.c
 * (docs/map.md).
 *
 * With one CPU the guest RAM is private memory. With N > 1 (one rank per
 * CPU) it is the rank's copy area of the distributed shared memory: the
 * caller (main.c, which owns MPI) opens the transport and hands it in
 * (machine_opts.transport); the machine builds the DSM protocol over it,
 * attaches its CPU, and exchanges platform messages (IPIs, port I/O and
 * device MMIO forwarded to rank 0, level EOIs, fatal errors, shutdown)
 * through the same transport. machine_run() then runs on every rank and
 * returns on all of them with the same status, after a coordinated stop:
 * no rank still needs another when it returns.
 *
 * Exit statuses of a run (the process exit status of every rank):
 *   (V << 1) | 1   the guest wrote V to the debug-exit port 0xF4 (odd)
 *   2              configuration or image error (nothing ran)
 *   4              guest triple fault
 *   6              guest halted with interrupts disabled: it can never wake
 *   8              the --max-insns limit was reached
 *   10             internal error (unexpected CPU exit, a failed MPI call)
 *   12             the statistics asked for could not be written (src/main.c,
 *                  VSMP_EXIT_STATS; it replaces the run's own status)
 *   14             a rank waited longer than --answer-timeout for another
 *                  rank's answer (WATCHDOG_EXIT_STATUS, src/watchdog.h;
 *                  that rank exits, mpirun ends the others)
 *   16             the guest kernel panicked: its console showed Linux's
 *                  "---[ end Kernel panic - not syncing: ..." line
 *                  (io/panicwatch.h)
 *   0              the guest powered off through ACPI (S5) or reset the
 *                  machine through the FADT reset register (io/acpi_pm.h),
 *                  or every CPU halted with interrupts disabled after the
 *                  console's "reboot: System halted" (Linux's halt; else 6)
 * vsmp's own statuses are even, so they never collide with a guest's. */
#ifndef VSMP_MACHINE_H
#define VSMP_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "mem/dsm.h"

struct watchdog;
struct ckpt_ops;
struct ckpt_signals;

enum {
    VSMP_EXIT_CONFIG = 2,
    VSMP_EXIT_TRIPLE_FAULT = 4,
    VSMP_EXIT_HALT_FOREVER = 6,
    VSMP_EXIT_INSN_LIMIT = 8,
    VSMP_EXIT_INTERNAL = 10,
    VSMP_EXIT_NO_ANSWER = 14,
    VSMP_EXIT_GUEST_PANIC = 16,
};

struct machine_opts {
    uint64_t max_insns;         /* 0: no limit */
    bool stats;                 /* print instruction count and speed */
    uint64_t slice;             /* instructions per cpu_run() (0: default) */
    bool interp;                /* interpreter only (--interp) */
    uint64_t jit_cache;         /* code cache bytes (--jit-cache; 0: config/default) */
    int ncpus;                  /* CPUs = MPI world size, for the MP table and
                                 * the "halted forever" check (0: the config's
                                 * `cpus`, else 1) */
    /* N > 1: the DSM transport (dsm_transport.h) over this rank's copy
     * area of guest RAM (ram_bytes = the config's memory, zeroed; nranks
     * = ncpus). NULL: private RAM (one CPU). Borrowed: it must outlive
     * the machine. */
    const struct dsm_transport *transport;
    int64_t clock_offset_ns;    /* rank 0's monotonic clock minus ours
                                 * (clock sync): guest TSC and APIC timers
                                 * run on CLOCK_MONOTONIC + this */
    bool dsm_pull;              /* DSM: fetch pages instead of push */
    enum dsm_take_policy dsm_take;   /* DSM: when a fault asks the home */
    bool dsm_no_migratory;      /* DSM: no migratory prediction */
    /* Called at every poll between slices (and in halted waits), never
     * inside a DSM fault; NULL: nothing. main.c times the raw-get
     * baseline there (--baseline). */
    void (*between_slices)(void *arg);
    void *between_slices_arg;
    /* N > 1: the answer timeout (--answer-timeout; 0: off). A wait in
     * the machine's or the DSM's loops for another rank's answer ends
     * the job after 1.25 times it (docs/smp.md, "A rank that stops
     * answering"), through `watchdog` (NULL: the same without the
     * thread's claim). */
    uint64_t answer_timeout_ns;
    struct watchdog *watchdog;
    bool console_escapes;       /* rank 0: stdin is a terminal in raw mode:
                                 * Ctrl-A commands (src/io/console.h) */
    /* Memory images (src/snap/checkpoint.h, docs/checkpoint.md). */
    const char *ckpt_path;      /* --checkpoint PATH; NULL: none */
    const struct ckpt_ops *ckpt;    /* the collective steps (main.c), with a path */
    const struct ckpt_signals *signals;   /* the handlers' counts; NULL: none */
    bool restore;               /* the RAM and CPU state come from an image
                                 * (ckpt_restore): nothing is loaded, no
                                 * firmware tables are written */
};

/* What one rank did, for --stats / --stats-json (plain data: rank 0
 * gathers the array of every rank's). */
struct machine_stats {
    int32_t rank;
    int32_t pad;
    uint64_t instructions;
    uint64_t run_ns;            /* machine_run() wall time */
    uint64_t halt_ns;           /* waiting halted / for STARTUP */
    uint64_t ipis_sent;         /* interrupt messages sent to other ranks */
    uint64_t ipis_recv;         /* ... received */
    uint64_t io_requests;       /* port I/O + MMIO forwarded to rank 0 */
    uint64_t io_served;         /* rank 0: requests served for others */
    uint64_t io_wait_ns;        /* waiting for rank 0's replies */
    uint64_t msgs_sent;         /* platform messages of all kinds */
    uint64_t slices;            /* cpu_run() calls */
    uint64_t slice_insns;       /* mean instructions per slice */
    uint64_t pause_exits;       /* slices ended by a run of PAUSEs */
    uint64_t guest_ns;          /* in cpu_run(), less DSM and device waits */
    uint64_t poll_ns;           /* polls between slices (transport, timers) */
    uint64_t cpu_user_ns;       /* host CPU time of the process (getrusage) */
    uint64_t cpu_sys_ns;
    uint64_t csw_voluntary;     /* host context switches: waits, yields */
    uint64_t csw_involuntary;   /* ... preempted by the host scheduler */
    uint64_t minor_faults;      /* host page faults (first touches) */
    uint64_t jit_blocks;        /* blocks translated (again after a loss) */
    uint64_t jit_helper_calls;  /* instructions run through interpreter handlers */
    /* rank 0: the disks (virtio-mmio block devices), all together */
    uint64_t disks;             /* how many */
    uint64_t disk_requests;     /* completed */
    uint64_t disk_bytes;        /* read + written */
    uint64_t disk_flushes;
    uint64_t disk_errors;       /* answered IOERR/UNSUPP, malformed chains */
    uint64_t disk_services;     /* services between slices that did something */
    uint64_t disk_service_ns;   /* their total time */
    uint64_t disk_max_service_ns;   /* the longest single service between slices */
    uint64_t disk_max_flush_ns;     /* the longest fdatasync of an image */
    struct dsm_stats dsm;       /* zero with one CPU */
};

struct machine;

/* Rank 0: RAM, devices, the kernel or ROM loaded and the CPU set to
 * enter it. NULL with "FILE: message" in err on a configuration or image
 * error. */
struct machine *machine_create(const struct config *cfg, const struct machine_opts *opts,
                               char *err, size_t errlen);
/* Other ranks (opts->transport set): a CPU held in wait-for-SIPI, no
 * devices; port I/O and IOAPIC accesses go to rank 0. */
struct machine *machine_create_ap(const struct config *cfg, const struct machine_opts *opts,
                                  int rank, char *err, size_t errlen);
/* Run this rank's CPU until the guest ends the run; returns the exit
 * status (messages for abnormal ends are printed on stderr; with N > 1
 * rank 0 prints them for every rank). Every rank returns the same
 * status. */
int machine_run(struct machine *m);
void machine_get_stats(const struct machine *m, struct machine_stats *out);
/* Print every rank's statistics (n entries, by rank) as text / as one
 * JSON object. */
void machine_stats_print(const struct machine_stats *st, int n, FILE *f);
void machine_stats_json(const struct machine_stats *st, int n, FILE *f);
void machine_destroy(struct machine *m);

#endif
