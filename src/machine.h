/* machine.h - the per-rank machine: this rank's CPU and its local APIC
 * (APIC ID = rank) and, on rank 0, the platform devices (PIC, IOAPIC,
 * PIT, UART, CMOS, debug-exit), the boot image and the MP table, plus the
 * run loop that drives them.
 *
 * Exit statuses of a run (the process exit status of every rank):
 *   (V << 1) | 1   the guest wrote V to the debug-exit port 0xF4 (odd)
 *   2              configuration or image error (nothing ran)
 *   4              guest triple fault
 *   6              guest halted with interrupts disabled: it can never wake
 *   8              the --max-insns limit was reached
 *   10             internal error (unexpected CPU exit)
 * vsmp's own statuses are even, so they never collide with a guest's. */
#ifndef VSMP_MACHINE_H
#define VSMP_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum {
    VSMP_EXIT_CONFIG = 2,
    VSMP_EXIT_TRIPLE_FAULT = 4,
    VSMP_EXIT_HALT_FOREVER = 6,
    VSMP_EXIT_INSN_LIMIT = 8,
    VSMP_EXIT_INTERNAL = 10,
};

struct machine_opts {
    uint64_t max_insns;         /* 0: no limit */
    bool stats;                 /* print instruction count and speed */
    uint64_t slice;             /* instructions per cpu_run() (0: default) */
    bool interp;                /* interpreter only (--interp) */
    uint64_t jit_cache;         /* code cache bytes (--jit-cache; 0: config/default) */
    int ncpus;                  /* CPUs = MPI world size, for the MP table and
                                 * the "halted forever" check (0: the config's
                                 * `cpus`, else 1). TODO(main.c): set it to
                                 * rt_size() */
};

struct machine;

/* Rank 0: RAM, devices, the kernel or ROM loaded and the CPU set to
 * enter it. NULL with "FILE: message" in err on a configuration or image
 * error. */
struct machine *machine_create(const struct config *cfg, const struct machine_opts *opts,
                               char *err, size_t errlen);
/* Other ranks: RAM and a CPU held in wait-for-SIPI, no devices. */
struct machine *machine_create_ap(const struct config *cfg, int rank,
                                  char *err, size_t errlen);
/* Run rank 0's CPU until the guest ends the run; returns the exit status
 * (messages for abnormal ends are printed on stderr). */
int machine_run(struct machine *m);
void machine_destroy(struct machine *m);

#endif
