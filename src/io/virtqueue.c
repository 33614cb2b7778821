/* virtqueue.c - walking a split virtqueue in guest RAM with every guest
 * value checked (virtqueue.h). */
#include "io/virtqueue.h"

#include <string.h>

static bool in_ram(uint64_t addr, uint64_t len, uint32_t ram)
{
    return addr <= ram && len <= ram - addr;
}

bool virtq_layout_ok(const struct virtq *q, uint32_t ram)
{
    uint32_t n = q->num;
    if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
        return false;
    return (q->desc & 15) == 0 && in_ram(q->desc, 16ull * n, ram) &&
           (q->avail & 1) == 0 && in_ram(q->avail, 6ull + 2ull * n, ram) &&
           (q->used & 3) == 0 && in_ram(q->used, 6ull + 8ull * n, ram);
}

/* The queue's fields are read once, before any guest-RAM access: such an
 * access may serve other ranks' messages, a device reset among them
 * (which zeroes *q; the caller then drops what it got). */
int virtq_next(struct phys *p, struct virtq *q, uint16_t *head)
{
    uint16_t num = q->num, last = q->last_avail;
    uint32_t avail = (uint32_t)q->avail;
    if (num == 0)
        return -1;
    uint16_t idx = (uint16_t)phys_read(p, avail + 2, 2);
    uint16_t ahead = (uint16_t)(idx - last);
    if (ahead == 0)
        return 0;
    if (ahead > num)
        return -1;
    *head = (uint16_t)phys_read(p, avail + 4 + 2u * (last % num), 2);
    q->last_avail = (uint16_t)(last + 1);
    return 1;
}

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static struct desc read_desc(struct phys *p, uint64_t table, uint32_t i)
{
    uint32_t a = (uint32_t)table + 16u * i;
    struct desc d;
    d.addr = phys_read(p, a, 4) | (uint64_t)phys_read(p, a + 4, 4) << 32;
    d.len = phys_read(p, a + 8, 4);
    d.flags = (uint16_t)phys_read(p, a + 12, 2);
    d.next = (uint16_t)phys_read(p, a + 14, 2);
    return d;
}

/* One buffer into the chain: 0, or -1 with *why. */
static int add_seg(struct virtq_chain *c, const struct desc *d, uint32_t ram, const char **why)
{
    if (!in_ram(d->addr, d->len, ram)) {
        *why = "a buffer outside guest RAM";
        return -1;
    }
    bool w = d->flags & VIRTQ_DESC_F_WRITE;
    if (!w && c->nin) {
        *why = "a device-readable buffer after a device-writable one";
        return -1;
    }
    if (d->len == 0)
        return 0;
    if (c->nout + c->nin >= VIRTQ_MAX_SEGS) {
        *why = "more than 256 buffers";
        return -1;
    }
    c->seg[c->nout + c->nin] = (struct virtq_seg){ (uint32_t)d->addr, d->len };
    if (w) {
        c->nin++;
        c->in_len += d->len;
    } else {
        c->nout++;
        c->out_len += d->len;
    }
    return 0;
}

/* An indirect table (2.7.5.3): its own descriptors, no nesting. */
static int walk_indirect(struct phys *p, const struct desc *t, uint32_t ram,
                         struct virtq_chain *c, const char **why)
{
    if (t->len == 0 || t->len % 16 || t->len / 16 > VIRTQ_MAX_SEGS || (t->addr & 15) ||
        !in_ram(t->addr, t->len, ram)) {
        *why = "a bad indirect table (size, alignment or outside guest RAM)";
        return -1;
    }
    uint32_t n = t->len / 16, i = 0;
    for (uint32_t steps = 0;; steps++) {
        if (steps == n) {
            *why = "an indirect chain longer than its table (a loop)";
            return -1;
        }
        struct desc d = read_desc(p, t->addr, i);
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            *why = "an indirect descriptor inside an indirect table";
            return -1;
        }
        if (add_seg(c, &d, ram, why))
            return -1;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        if (d.next >= n) {
            *why = "an indirect descriptor index beyond its table";
            return -1;
        }
        i = d.next;
    }
}

int virtq_chain(struct phys *p, const struct virtq *qp, uint16_t head, bool indirect,
                struct virtq_chain *c, const char **why)
{
    const struct virtq qs = *qp, *q = &qs;      /* see virtq_next */
    uint32_t ram = p->ram_size;
    c->head = head;
    c->nout = c->nin = 0;
    c->out_len = c->in_len = 0;
    *why = "";
    if (head >= q->num) {
        *why = "a head index beyond the queue";
        return -1;
    }
    uint16_t i = head;
    for (unsigned steps = 0;; steps++) {
        if (steps == q->num) {
            *why = "a chain longer than the queue (a loop)";
            return -1;
        }
        struct desc d = read_desc(p, q->desc, i);
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!indirect || (d.flags & VIRTQ_DESC_F_NEXT)) {
                *why = indirect ? "an indirect descriptor with NEXT set"
                                : "an indirect descriptor (not offered)";
                return -1;
            }
            return walk_indirect(p, &d, ram, c, why);
        }
        if (add_seg(c, &d, ram, why))
            return -1;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        if (d.next >= q->num) {
            *why = "a descriptor index beyond the queue";
            return -1;
        }
        i = d.next;
    }
}

void virtq_push(struct phys *p, struct virtq *q, uint16_t head, uint32_t len)
{
    uint16_t num = q->num, idx = q->used_idx;  /* see virtq_next */
    uint32_t used = (uint32_t)q->used;
    if (num == 0)
        return;
    uint32_t e = used + 4 + 8u * (idx % num);
    phys_write(p, e, 4, head);
    phys_write(p, e + 4, 4, len);
    idx++;
    q->used_idx = idx;
    phys_write(p, used + 2, 2, idx);
}

/* The stream of segments [first, first + count), bytes [off, off + n),
 * copied in (to guest RAM) or out. */
static int stream(struct phys *p, const struct virtq_chain *c, int first, int count,
                  uint64_t off, uint8_t *buf, uint64_t n, bool in)
{
    for (int s = first; s < first + count && n; s++) {
        const struct virtq_seg *g = &c->seg[s];
        if (off >= g->len) {
            off -= g->len;
            continue;
        }
        uint64_t k = g->len - off < n ? g->len - off : n;
        int rc = in ? phys_copy_in(p, g->addr + (uint32_t)off, buf, (size_t)k)
                    : phys_copy_out(p, g->addr + (uint32_t)off, buf, (size_t)k);
        if (rc)
            return -1;
        buf += k;
        n -= k;
        off = 0;
    }
    return n ? -1 : 0;
}

int virtq_copy_out(struct phys *p, const struct virtq_chain *c, uint64_t off, void *buf,
                   uint64_t n)
{
    return stream(p, c, 0, c->nout, off, buf, n, false);
}

int virtq_copy_in(struct phys *p, const struct virtq_chain *c, uint64_t off, const void *buf,
                  uint64_t n)
{
    return stream(p, c, c->nout, c->nin, off, (uint8_t *)(uintptr_t)buf, n, true);
}

/* ---- memory images ---- */

void virtq_save(const struct virtq *q, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("VIRQ"), 1);
    snapw_u16(w, q->num);
    snapw_bool(w, q->ready);
    snapw_u64(w, q->desc);
    snapw_u64(w, q->avail);
    snapw_u64(w, q->used);
    snapw_u16(w, q->last_avail);
    snapw_u16(w, q->used_idx);
    snapw_end(w);
}

bool virtq_load(struct virtq *q, struct snapr *r)
{
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("VIRQ"), 1, &sub, &version))
        return false;
    struct virtq n;
    memset(&n, 0, sizeof n);
    n.num = snapr_u16(&sub);
    n.ready = snapr_bool(&sub);
    n.desc = snapr_u64(&sub);
    n.avail = snapr_u64(&sub);
    n.used = snapr_u64(&sub);
    n.last_avail = snapr_u16(&sub);
    n.used_idx = snapr_u16(&sub);
    if (!sub.bad && (n.num > VIRTQ_MAX_SIZE || (n.num & (n.num - 1))))
        snapr_fail(&sub, "virtqueue: size %u", n.num);
    if (!snapr_done(&sub, r))
        return false;
    *q = n;
    return true;
}
