/* iobus.h - the ISA side of the platform: I/O port dispatch to devices,
 * and the interrupt request lines devices drive.
 *
 * A device registers a port range with read/write callbacks and the
 * widest access it takes natively; wider accesses are split into byte
 * accesses at consecutive ports, as the ISA bus does for 8-bit devices.
 * Unassigned ports read as all-ones and ignore writes. */
#ifndef VSMP_IOBUS_H
#define VSMP_IOBUS_H

#include <stdint.h>

typedef uint32_t (*io_read_fn)(void *ctx, uint16_t port, int size);
typedef void (*io_write_fn)(void *ctx, uint16_t port, int size, uint32_t value);

struct io_range {
    uint16_t first, last;   /* inclusive */
    int width;              /* widest native access: 1, 2 or 4 */
    void *ctx;
    io_read_fn read;        /* NULL: reads as all-ones */
    io_write_fn write;      /* NULL: writes ignored */
};

#define IOBUS_MAX_RANGES 32

struct iobus {
    struct io_range range[IOBUS_MAX_RANGES];
    int nranges;
};

void iobus_init(struct iobus *bus);
/* 0, or -1 when the table is full or the range overlaps another one. */
int iobus_register(struct iobus *bus, uint16_t first, uint16_t count, int width,
                   void *ctx, io_read_fn rd, io_write_fn wr);
uint32_t iobus_in(struct iobus *bus, uint16_t port, int size);
void iobus_out(struct iobus *bus, uint16_t port, int size, uint32_t value);

/* One interrupt request line from a device to the interrupt controller.
 * `set` receives the line number and its new level (0 or 1). */
struct irq_line {
    void (*set)(void *ctx, int irq, int level);
    void *ctx;
    int irq;
};

static inline void irq_line_set(const struct irq_line *l, int level)
{
    if (l->set)
        l->set(l->ctx, l->irq, level);
}

#endif
