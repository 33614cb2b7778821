/* iobus.c - I/O port dispatch: finds the device owning a port and splits
 * accesses wider than the device takes into byte accesses. */
#include "io/iobus.h"

#include <string.h>

void iobus_init(struct iobus *bus)
{
    memset(bus, 0, sizeof(*bus));
}

int iobus_register(struct iobus *bus, uint16_t first, uint16_t count, int width,
                   void *ctx, io_read_fn rd, io_write_fn wr)
{
    if (count == 0 || bus->nranges >= IOBUS_MAX_RANGES ||
        (uint32_t)first + count - 1 > 0xffff)
        return -1;
    uint16_t last = (uint16_t)(first + count - 1);
    for (int i = 0; i < bus->nranges; i++) {
        const struct io_range *r = &bus->range[i];
        if (first <= r->last && last >= r->first)
            return -1;
    }
    struct io_range *r = &bus->range[bus->nranges++];
    r->first = first;
    r->last = last;
    r->width = width == 2 || width == 4 ? width : 1;
    r->ctx = ctx;
    r->read = rd;
    r->write = wr;
    return 0;
}

static const struct io_range *find(const struct iobus *bus, uint16_t port)
{
    for (int i = 0; i < bus->nranges; i++)
        if (port >= bus->range[i].first && port <= bus->range[i].last)
            return &bus->range[i];
    return NULL;
}

static uint32_t size_mask(int size)
{
    return size == 1 ? 0xffu : size == 2 ? 0xffffu : 0xffffffffu;
}

uint32_t iobus_in(struct iobus *bus, uint16_t port, int size)
{
    const struct io_range *r = find(bus, port);
    if (r && size <= r->width)
        return r->read ? r->read(r->ctx, port, size) & size_mask(size)
                       : size_mask(size);
    if (!r && size == 1)
        return 0xff;
    uint32_t v = 0;
    for (int i = 0; i < size; i++)
        v |= iobus_in(bus, (uint16_t)(port + i), 1) << (8 * i);
    return v;
}

void iobus_out(struct iobus *bus, uint16_t port, int size, uint32_t value)
{
    const struct io_range *r = find(bus, port);
    if (r && size <= r->width) {
        if (r->write)
            r->write(r->ctx, port, size, value & size_mask(size));
        return;
    }
    if (!r && size == 1)
        return;
    for (int i = 0; i < size; i++)
        iobus_out(bus, (uint16_t)(port + i), 1, (value >> (8 * i)) & 0xff);
}
