/* debugexit.c - the isa-debug-exit port: records the exit status and asks
 * the machine to stop. */
#include "io/debugexit.h"

#include <string.h>

void debugexit_init(struct debugexit *d, void (*on_exit)(void *ctx), void *ctx)
{
    memset(d, 0, sizeof(*d));
    d->on_exit = on_exit;
    d->ctx = ctx;
}

int debugexit_status(uint32_t value)
{
    return (int)(((value << 1) | 1u) & 0x7fffffffu);
}

void debugexit_io_write(void *opaque, uint16_t port, int size, uint32_t value)
{
    struct debugexit *d = opaque;
    (void)port;
    if (size == 1)
        value &= 0xff;
    else if (size == 2)
        value &= 0xffff;
    if (d->exited)
        return;                         /* the first write wins */
    d->exited = true;
    d->status = debugexit_status(value);
    if (d->on_exit)
        d->on_exit(d->ctx);
}

int debugexit_register(struct debugexit *d, struct iobus *bus)
{
    return iobus_register(bus, DEBUGEXIT_PORT, 1, 4, d, NULL, debugexit_io_write);
}
