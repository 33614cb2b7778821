/* virtio_mmio.h - the virtio-mmio transport, version 2 (virtio 1.x,
 * 4.2.2): the register window of one virtio device (magic, version,
 * device and vendor IDs, feature words, queue set-up, notify, interrupt
 * status and acknowledge, device status with reset and FEATURES_OK,
 * config generation, config space at 0x100).
 *
 * Register accesses only change this state (docs/devices.md): a
 * QueueNotify calls ops->notify, which marks the device's work pending;
 * the device walks its queues later, between slices. The driver must
 * accept VIRTIO_F_VERSION_1 and may accept only offered features, else
 * FEATURES_OK does not stay set. Queue registers are written only while
 * the queue is not ready (later writes are ignored). Writing 0 to Status
 * resets the device (ops->reset, `resets` counts: a request the device
 * is in the middle of is dropped). The interrupt line is high while
 * InterruptStatus is not 0 (bit 0: used ring, bit 1: configuration
 * change); InterruptACK clears bits. Registers below 0x100 take aligned
 * 32-bit accesses only (others read 0 and are ignored); the config space
 * any size. */
#ifndef VSMP_VIRTIO_MMIO_H
#define VSMP_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "io/iobus.h"
#include "io/virtqueue.h"
#include "snap/snapbuf.h"

#define VIRTIO_MMIO_BASE      0xfeb00000u   /* device i at BASE + i * STRIDE */
#define VIRTIO_MMIO_STRIDE    0x1000u
#define VIRTIO_MMIO_SIZE      0x200u
#define VIRTIO_MMIO_FIRST_GSI 16            /* device i: IOAPIC pin 16 + i */
#define VIRTIO_MMIO_MAGIC     0x74726976u   /* "virt" */
#define VIRTIO_MMIO_VENDOR    0x504d5356u   /* "VSMP" */
#define VIRTIO_MMIO_MAX_QUEUES 1

/* registers */
#define VIRTIO_MMIO_MAGIC_VALUE       0x000
#define VIRTIO_MMIO_VERSION           0x004
#define VIRTIO_MMIO_DEVICE_ID         0x008
#define VIRTIO_MMIO_VENDOR_ID         0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES   0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES   0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL         0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX     0x034
#define VIRTIO_MMIO_QUEUE_NUM         0x038
#define VIRTIO_MMIO_QUEUE_READY       0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY      0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS  0x060
#define VIRTIO_MMIO_INTERRUPT_ACK     0x064
#define VIRTIO_MMIO_STATUS            0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW    0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH   0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW   0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH  0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG            0x100

/* device status bits */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER      2u
#define VIRTIO_STATUS_DRIVER_OK   4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED      0x80u

#define VIRTIO_INT_USED   1u
#define VIRTIO_INT_CONFIG 2u

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_VERSION_1     32

struct virtio_mmio_ops {
    /* config space byte offset, 1/2/4 bytes, little-endian */
    uint32_t (*config_read)(void *ctx, uint32_t off, int size);
    void (*notify)(void *ctx, int queue);
    void (*reset)(void *ctx);
};

/* What the driver set up (plain data: saved in memory images). */
struct virtio_mmio_state {
    uint64_t driver_features;   /* accepted by the driver */
    uint32_t dev_sel, drv_sel, queue_sel;
    uint32_t status, isr;
    uint32_t resets;            /* resets so far */
    struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];
};

/* The state, what the device is (ID, offered features, queues) and the
 * wiring. */
struct virtio_mmio {
    struct virtio_mmio_state s;
    uint32_t device_id;
    uint64_t features;          /* offered */
    int nq;
    struct irq_line irq;
    bool level;                 /* the line's level now */
    const struct virtio_mmio_ops *ops;
    void *ctx;
};

void virtio_mmio_init(struct virtio_mmio *v, uint32_t device_id, uint64_t features, int nq,
                      const struct virtio_mmio_ops *ops, void *ctx, struct irq_line irq);
/* phys MMIO callbacks (ctx: the struct virtio_mmio) */
uint32_t virtio_mmio_read(void *ctx, uint32_t off, int size);
void virtio_mmio_write(void *ctx, uint32_t off, int size, uint32_t value);
/* The device sets InterruptStatus bits (the line goes high). */
void virtio_mmio_interrupt(struct virtio_mmio *v, uint32_t bits);
/* The driver set DRIVER_OK and the device needs no reset. */
bool virtio_mmio_running(const struct virtio_mmio *v);
/* The device cannot go on (a broken ring): DEVICE_NEEDS_RESET and a
 * configuration-change interrupt (4.2.2.1). */
void virtio_mmio_needs_reset(struct virtio_mmio *v);
/* Was feature `bit` accepted by the driver? */
static inline bool virtio_mmio_has(const struct virtio_mmio *v, int bit)
{
    return (v->s.driver_features >> bit) & 1;
}

/* Memory images: section "VMMI" and one "VIRQ" per queue. The load
 * refuses an image of another device (ID, offered features, queues) and
 * status or interrupt bits that cannot be set. */
void virtio_mmio_save(const struct virtio_mmio *v, struct snapw *w);
bool virtio_mmio_load(struct virtio_mmio *v, struct snapr *r);
/* After a load: drive the interrupt line from InterruptStatus (set once,
 * whatever the level). */
void virtio_mmio_redrive(struct virtio_mmio *v);


#endif
