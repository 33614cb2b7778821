/* debugexit.h - QEMU's isa-debug-exit device at port 0xF4: a write of V
 * (1, 2 or 4 bytes) ends the run with exit status (V << 1) | 1. */
#ifndef VSMP_DEBUGEXIT_H
#define VSMP_DEBUGEXIT_H

#include <stdbool.h>
#include <stdint.h>

#include "io/iobus.h"

#define DEBUGEXIT_PORT 0xf4

struct debugexit {
    bool exited;
    int status;
    void (*on_exit)(void *ctx);   /* make the CPU leave cpu_run() */
    void *ctx;
};

void debugexit_init(struct debugexit *d, void (*on_exit)(void *ctx), void *ctx);
/* The exit status for a written value (the process sees its low 8 bits). */
int debugexit_status(uint32_t value);
void debugexit_io_write(void *debugexit, uint16_t port, int size, uint32_t value);
int debugexit_register(struct debugexit *d, struct iobus *bus);

#endif
