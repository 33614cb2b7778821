/* virtio_mmio.c - the virtio-mmio version 2 register window
 * (virtio_mmio.h). */
#include "io/virtio_mmio.h"

#include <string.h>

static void set_line(struct virtio_mmio *v)
{
    bool level = v->isr != 0;
    if (level != v->level) {
        v->level = level;
        if (v->irq.set)
            v->irq.set(v->irq.ctx, v->irq.irq, level);
    }
}

static void reset(struct virtio_mmio *v)
{
    v->driver_features = 0;
    v->dev_sel = v->drv_sel = v->queue_sel = 0;
    v->status = 0;
    v->isr = 0;
    memset(v->vq, 0, sizeof v->vq);
    v->resets++;
    set_line(v);
    if (v->ops && v->ops->reset)
        v->ops->reset(v->ctx);
}

void virtio_mmio_init(struct virtio_mmio *v, uint32_t device_id, uint64_t features, int nq,
                      const struct virtio_mmio_ops *ops, void *ctx, struct irq_line irq)
{
    memset(v, 0, sizeof *v);
    v->device_id = device_id;
    v->features = features | 1ull << VIRTIO_F_VERSION_1;
    v->nq = nq < 1 ? 1 : nq > VIRTIO_MMIO_MAX_QUEUES ? VIRTIO_MMIO_MAX_QUEUES : nq;
    v->ops = ops;
    v->ctx = ctx;
    v->irq = irq;
}

bool virtio_mmio_running(const struct virtio_mmio *v)
{
    return (v->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(v->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void virtio_mmio_interrupt(struct virtio_mmio *v, uint32_t bits)
{
    v->isr |= bits;
    set_line(v);
}

void virtio_mmio_needs_reset(struct virtio_mmio *v)
{
    if (v->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    v->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (v->status & VIRTIO_STATUS_DRIVER_OK)
        virtio_mmio_interrupt(v, VIRTIO_INT_CONFIG);
}

static struct virtq *selected(struct virtio_mmio *v)
{
    return v->queue_sel < (uint32_t)v->nq ? &v->vq[v->queue_sel] : NULL;
}

uint32_t virtio_mmio_read(void *ctx, uint32_t off, int size)
{
    struct virtio_mmio *v = ctx;
    if (off >= VIRTIO_MMIO_CONFIG)
        return v->ops && v->ops->config_read
                   ? v->ops->config_read(v->ctx, off - VIRTIO_MMIO_CONFIG, size) : 0;
    if (size != 4 || (off & 3))
        return 0;
    struct virtq *q = selected(v);
    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION: return 2;
    case VIRTIO_MMIO_DEVICE_ID: return v->device_id;
    case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return v->dev_sel < 2 ? (uint32_t)(v->features >> (32 * v->dev_sel)) : 0;
    case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? VIRTQ_MAX_SIZE : 0;
    case VIRTIO_MMIO_QUEUE_READY: return q && q->ready;
    case VIRTIO_MMIO_INTERRUPT_STATUS: return v->isr;
    case VIRTIO_MMIO_STATUS: return v->status;
    case VIRTIO_MMIO_CONFIG_GENERATION: return 0;   /* the config never changes */
    default: return 0;
    }
}

/* Features the driver may accept: offered ones, VERSION_1 among them. */
static bool features_ok(const struct virtio_mmio *v)
{
    return !(v->driver_features & ~v->features) && virtio_mmio_has(v, VIRTIO_F_VERSION_1);
}

static void write_status(struct virtio_mmio *v, uint32_t value)
{
    if (value == 0) {
        reset(v);
        return;
    }
    value &= 0xff;
    if ((value & VIRTIO_STATUS_FEATURES_OK) && !(v->status & VIRTIO_STATUS_FEATURES_OK) &&
        !features_ok(v))
        value &= ~VIRTIO_STATUS_FEATURES_OK;           /* refused: the driver reads it back */
    if ((value & VIRTIO_STATUS_DRIVER_OK) && !(value & VIRTIO_STATUS_FEATURES_OK))
        value &= ~VIRTIO_STATUS_DRIVER_OK;             /* not without the features agreed */
    /* NEEDS_RESET is the device's, kept until the reset */
    v->status = value | (v->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void set_half(uint64_t *a, bool high, uint32_t value)
{
    *a = high ? (*a & 0xffffffffu) | (uint64_t)value << 32
              : (*a & ~0xffffffffull) | value;
}

void virtio_mmio_write(void *ctx, uint32_t off, int size, uint32_t value)
{
    struct virtio_mmio *v = ctx;
    if (off >= VIRTIO_MMIO_CONFIG || size != 4 || (off & 3))
        return;                          /* the config space is read-only */
    struct virtq *q = selected(v);
    bool setup = q && !q->ready;         /* queue registers: only before ready */
    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: v->dev_sel = value; break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (v->drv_sel < 2 && !(v->status & VIRTIO_STATUS_FEATURES_OK))
            set_half(&v->driver_features, v->drv_sel == 1, value);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: v->drv_sel = value; break;
    case VIRTIO_MMIO_QUEUE_SEL: v->queue_sel = value; break;
    case VIRTIO_MMIO_QUEUE_NUM:
        if (setup)
            q->num = value <= VIRTQ_MAX_SIZE ? (uint16_t)value : 0;
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        if (q) {
            q->ready = value & 1;
            if (q->ready) {              /* the rings start empty */
                q->last_avail = 0;
                q->used_idx = 0;
            }
        }
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        if (value < (uint32_t)v->nq && v->ops && v->ops->notify)
            v->ops->notify(v->ctx, (int)value);
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        v->isr &= ~value;
        set_line(v);
        break;
    case VIRTIO_MMIO_STATUS: write_status(v, value); break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        if (setup)
            set_half(&q->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, value);
        break;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW: case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
        if (setup)
            set_half(&q->avail, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, value);
        break;
    case VIRTIO_MMIO_QUEUE_USED_LOW: case VIRTIO_MMIO_QUEUE_USED_HIGH:
        if (setup)
            set_half(&q->used, off == VIRTIO_MMIO_QUEUE_USED_HIGH, value);
        break;
    default: break;
    }
}
