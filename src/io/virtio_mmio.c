/* virtio_mmio.c - the virtio-mmio version 2 register window
 * (virtio_mmio.h). */
#include "io/virtio_mmio.h"

#include <string.h>

static void set_line(struct virtio_mmio *v)
{
    bool level = v->s.isr != 0;
    if (level != v->level) {
        v->level = level;
        if (v->irq.set)
            v->irq.set(v->irq.ctx, v->irq.irq, level);
    }
}

static void reset(struct virtio_mmio *v)
{
    v->s.driver_features = 0;
    v->s.dev_sel = v->s.drv_sel = v->s.queue_sel = 0;
    v->s.status = 0;
    v->s.isr = 0;
    memset(v->s.vq, 0, sizeof v->s.vq);
    v->s.resets++;
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
    return (v->s.status & VIRTIO_STATUS_DRIVER_OK) &&
           !(v->s.status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void virtio_mmio_interrupt(struct virtio_mmio *v, uint32_t bits)
{
    v->s.isr |= bits;
    set_line(v);
}

void virtio_mmio_needs_reset(struct virtio_mmio *v)
{
    if (v->s.status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    v->s.status |= VIRTIO_STATUS_NEEDS_RESET;
    if (v->s.status & VIRTIO_STATUS_DRIVER_OK)
        virtio_mmio_interrupt(v, VIRTIO_INT_CONFIG);
}

static struct virtq *selected(struct virtio_mmio *v)
{
    return v->s.queue_sel < (uint32_t)v->nq ? &v->s.vq[v->s.queue_sel] : NULL;
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
        return v->s.dev_sel < 2 ? (uint32_t)(v->features >> (32 * v->s.dev_sel)) : 0;
    case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? VIRTQ_MAX_SIZE : 0;
    case VIRTIO_MMIO_QUEUE_READY: return q && q->ready;
    case VIRTIO_MMIO_INTERRUPT_STATUS: return v->s.isr;
    case VIRTIO_MMIO_STATUS: return v->s.status;
    case VIRTIO_MMIO_CONFIG_GENERATION: return 0;   /* the config never changes */
    default: return 0;
    }
}

/* Features the driver may accept: offered ones, VERSION_1 among them. */
static bool features_ok(const struct virtio_mmio *v)
{
    return !(v->s.driver_features & ~v->features) && virtio_mmio_has(v, VIRTIO_F_VERSION_1);
}

static void write_status(struct virtio_mmio *v, uint32_t value)
{
    if (value == 0) {
        reset(v);
        return;
    }
    value &= 0xff;
    if ((value & VIRTIO_STATUS_FEATURES_OK) && !(v->s.status & VIRTIO_STATUS_FEATURES_OK) &&
        !features_ok(v))
        value &= ~VIRTIO_STATUS_FEATURES_OK;           /* refused: the driver reads it back */
    if ((value & VIRTIO_STATUS_DRIVER_OK) && !(value & VIRTIO_STATUS_FEATURES_OK))
        value &= ~VIRTIO_STATUS_DRIVER_OK;             /* not without the features agreed */
    /* NEEDS_RESET is the device's, kept until the reset */
    v->s.status = value | (v->s.status & VIRTIO_STATUS_NEEDS_RESET);
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
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: v->s.dev_sel = value; break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (v->s.drv_sel < 2 && !(v->s.status & VIRTIO_STATUS_FEATURES_OK))
            set_half(&v->s.driver_features, v->s.drv_sel == 1, value);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: v->s.drv_sel = value; break;
    case VIRTIO_MMIO_QUEUE_SEL: v->s.queue_sel = value; break;
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
        v->s.isr &= ~value;
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

/* ---- memory images ---- */

void virtio_mmio_save(const struct virtio_mmio *v, struct snapw *w)
{
    const struct virtio_mmio_state *s = &v->s;
    snapw_begin(w, SNAP_TAG("VMMI"), 1);
    snapw_u32(w, v->device_id);
    snapw_u64(w, v->features);
    snapw_u32(w, (uint32_t)v->nq);
    snapw_u64(w, s->driver_features);
    snapw_u32(w, s->dev_sel);
    snapw_u32(w, s->drv_sel);
    snapw_u32(w, s->queue_sel);
    snapw_u32(w, s->status);
    snapw_u32(w, s->isr);
    snapw_u32(w, s->resets);
    snapw_u32(w, 0);            /* ConfigGeneration: the config never changes */
    snapw_end(w);
    for (int i = 0; i < v->nq; i++)
        virtq_save(&s->vq[i], w);
}

bool virtio_mmio_load(struct virtio_mmio *v, struct snapr *r)
{
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("VMMI"), 1, &sub, &version))
        return false;
    struct virtio_mmio_state n;
    memset(&n, 0, sizeof n);
    uint32_t id = snapr_u32(&sub);
    uint64_t features = snapr_u64(&sub);
    uint32_t nq = snapr_u32(&sub);
    n.driver_features = snapr_u64(&sub);
    n.dev_sel = snapr_u32(&sub);
    n.drv_sel = snapr_u32(&sub);
    n.queue_sel = snapr_u32(&sub);
    n.status = snapr_u32(&sub);
    n.isr = snapr_u32(&sub);
    n.resets = snapr_u32(&sub);
    uint32_t generation = snapr_u32(&sub);
    if (!sub.bad) {
        if (id != v->device_id || features != v->features || nq != (uint32_t)v->nq)
            snapr_fail(&sub, "virtio device %u with features 0x%llx and %u queues in the image, "
                       "device %u with features 0x%llx and %d queues here", id,
                       (unsigned long long)features, nq, v->device_id,
                       (unsigned long long)v->features, v->nq);
        else if (n.status & ~0xffu)
            snapr_fail(&sub, "virtio: device status 0x%x", n.status);
        else if (n.isr & ~(VIRTIO_INT_USED | VIRTIO_INT_CONFIG))
            snapr_fail(&sub, "virtio: interrupt status 0x%x", n.isr);
        else if (generation != 0)
            snapr_fail(&sub, "virtio: configuration generation %u", generation);
    }
    if (!snapr_done(&sub, r))
        return false;
    for (int i = 0; i < v->nq; i++)
        if (!virtq_load(&n.vq[i], r))
            return false;
    v->s = n;
    return true;
}

void virtio_mmio_redrive(struct virtio_mmio *v)
{
    v->level = v->s.isr != 0;
    if (v->irq.set)
        v->irq.set(v->irq.ctx, v->irq.irq, v->level);
}
