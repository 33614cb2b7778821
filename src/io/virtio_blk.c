/* virtio_blk.c - the virtio block device's requests (virtio_blk.h). */
#include "io/virtio_blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t mono_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t config_read(void *ctx, uint32_t off, int size)
{
    struct virtio_blk *b = ctx;
    uint32_t v = 0;
    for (int i = 0; i < size; i++)
        if (off + (uint32_t)i < sizeof b->config)
            v |= (uint32_t)b->config[off + (uint32_t)i] << (8 * i);
    return v;
}

static void notify(void *ctx, int queue)
{
    (void)queue;
    struct virtio_blk *b = ctx;
    if (b->kick)
        b->kick(b->kick_ctx);
}

/* A reset drops the request in progress (its epoch no longer matches). */
static void on_reset(void *ctx)
{
    struct virtio_blk *b = ctx;
    b->busy = false;
}

static const struct virtio_mmio_ops blk_ops = {
    .config_read = config_read, .notify = notify, .reset = on_reset,
};

int virtio_blk_init(struct virtio_blk *b, struct phys *p, const struct diskfile *disk,
                    const char *serial, uint32_t chunk, struct irq_line irq,
                    void (*kick)(void *ctx), void *kick_ctx)
{
    memset(b, 0, sizeof *b);
    b->phys = p;
    b->disk = *disk;
    b->chunk = chunk ? (chunk + DISK_SECTOR - 1) / DISK_SECTOR * DISK_SECTOR
                     : VIRTIO_BLK_CHUNK_DEFAULT;
    b->iobuf = b->chunk > VIRTIO_BLK_IOBUF ? b->chunk : VIRTIO_BLK_IOBUF;
    b->buf = malloc(b->iobuf);
    if (!b->buf)
        return -1;
    b->kick = kick;
    b->kick_ctx = kick_ctx;
    b->now_ns = mono_ns;
    hostio_init(&b->io, &b->disk, false, -1);
    strncpy(b->serial, serial ? serial : "", sizeof b->serial);
    uint64_t f = 1ull << VIRTIO_F_INDIRECT_DESC | 1ull << VIRTIO_BLK_F_SEG_MAX |
                 1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH |
                 1ull << VIRTIO_BLK_F_TOPOLOGY;
    if (disk->ro)
        f |= 1ull << VIRTIO_BLK_F_RO;
    virtio_mmio_init(&b->mmio, VIRTIO_ID_BLOCK, f, 1, &blk_ops, b, irq);
    put_le(b->config + 0, disk->sectors, 8);            /* capacity */
    put_le(b->config + 8, 0, 4);                        /* size_max (not offered) */
    put_le(b->config + 12, VIRTQ_MAX_SEGS - 2, 4);      /* seg_max */
    put_le(b->config + 20, DISK_SECTOR, 4);             /* blk_size */
    /* topology: physical_block_exp 0, alignment_offset 0, min_io_size 0
     * (24-27, left zero), opt_io_size in logical blocks */
    put_le(b->config + 28, VIRTIO_BLK_OPT_IO / DISK_SECTOR, 4);
    return 0;
}

int virtio_blk_start_io(struct virtio_blk *b, int wake_fd)
{
    if (hostio_busy(&b->io)) {
        errno = EBUSY;
        return -1;
    }
    if (hostio_init(&b->io, &b->disk, true, wake_fd)) {
        int e = errno;
        hostio_init(&b->io, &b->disk, false, -1);
        errno = e;
        return -1;
    }
    b->read_nowait = true;
    return 0;
}

void virtio_blk_free(struct virtio_blk *b)
{
    hostio_stop(&b->io);                 /* the buffer is ours again */
    diskfile_close(&b->disk);
    free(b->buf);
    b->buf = NULL;
}

/* Has the driver reset the device since the request was taken? (A
 * guest-RAM access may serve other ranks' messages, a reset among them.) */
static bool stale(const struct virtio_blk *b)
{
    return !b->busy || b->epoch != b->mmio.s.resets;
}

/* The request's end: its status byte (the chain's last writable byte),
 * the used ring, the interrupt. */
static void complete(struct virtio_blk *b, uint8_t status, uint32_t written)
{
    struct virtq *q = &b->mmio.s.vq[0];
    if (virtq_copy_in(b->phys, &b->ch, b->ch.in_len - 1, &status, 1) || stale(b)) {
        b->busy = false;                 /* reset meanwhile: dropped */
        return;
    }
    virtq_push(b->phys, q, b->ch.head, written + 1);
    b->busy = false;
    if (status == VIRTIO_BLK_S_OK)
        b->st.requests++;
    else
        b->st.errors++;
    virtio_mmio_interrupt(&b->mmio, VIRTIO_INT_USED);
}

/* Take the next chain: 1 when one is in b->ch (with its header parsed),
 * 2 when a malformed one went back, 0 when none or the device stopped. */
static int take(struct virtio_blk *b)
{
    struct virtq *q = &b->mmio.s.vq[0];
    if (!q->ready || !virtq_layout_ok(q, b->phys->ram_size)) {
        if (q->ready)
            virtio_mmio_needs_reset(&b->mmio);
        return 0;
    }
    {
        uint16_t head;
        uint32_t epoch = b->mmio.s.resets;
        int r = virtq_next(b->phys, q, &head);
        if (epoch != b->mmio.s.resets || r == 0)
            return 0;
        if (r < 0) {
            virtio_mmio_needs_reset(&b->mmio);
            return 0;
        }
        const char *why;
        int bad = virtq_chain(b->phys, q, head, virtio_mmio_has(&b->mmio, VIRTIO_F_INDIRECT_DESC),
                              &b->ch, &why);
        uint8_t hdr[16];
        if (!bad && (b->ch.out_len < 16 || b->ch.in_len < 1 ||
                     virtq_copy_out(b->phys, &b->ch, 0, hdr, 16)))
            bad = 1;
        if (epoch != b->mmio.s.resets)
            return 0;
        if (bad) {
            /* no status byte to trust: back with nothing written */
            virtq_push(b->phys, q, head, 0);
            b->st.errors++;
            virtio_mmio_interrupt(&b->mmio, VIRTIO_INT_USED);
            return 2;
        }
        b->busy = true;
        b->epoch = epoch;
        b->type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
                  (uint32_t)hdr[3] << 24;
        b->sector = 0;
        for (int i = 0; i < 8; i++)
            b->sector |= (uint64_t)hdr[8 + i] << (8 * i);
        b->done = 0;
        b->staged = 0;
        b->len = b->type == VIRTIO_BLK_T_IN ? b->ch.in_len - 1
               : b->type == VIRTIO_BLK_T_OUT ? b->ch.out_len - 16 : 0;
        return 1;
    }
}

/* A read: up to *budget bytes of the data the thread read into the
 * buffer copied into guest RAM; the request completes after its last. */
static void copy_staged(struct virtio_blk *b, uint64_t *budget)
{
    uint64_t n = b->staged < *budget ? b->staged : *budget;
    if (virtq_copy_in(b->phys, &b->ch, b->done, b->buf + b->staged_at, n), stale(b))
        return;                          /* reset meanwhile: dropped */
    *budget -= n;
    b->staged -= n;
    b->staged_at += n;
    b->done += n;
    b->st.bytes += n;
    if (b->done >= b->len)
        complete(b, VIRTIO_BLK_S_OK, (uint32_t)b->len);
}

/* The next step of a read or write (the request's checks first), moving
 * at most *budget bytes between guest RAM and the buffer. A read: data
 * already in the buffer copied out; else a piece the page cache holds
 * read in place (read_nowait, at most *budget); else a pread of up to
 * iobuf bytes submitted. A write: up to *budget more bytes copied into
 * the buffer; once it is full or holds the rest of the request, one
 * pwrite of it submitted. Or the request completed (an error, nothing to
 * move). */
static void piece_start(struct virtio_blk *b, uint64_t *budget)
{
    bool in = b->type == VIRTIO_BLK_T_IN;
    if (b->done == 0 && b->staged == 0) {
        uint64_t cap = b->disk.sectors;
        if ((!in && b->disk.ro) || b->len % DISK_SECTOR || b->sector > cap ||
            b->len / DISK_SECTOR > cap - b->sector) {
            complete(b, VIRTIO_BLK_S_IOERR, 0);
            return;
        }
    }
    if (b->done >= b->len) {
        complete(b, VIRTIO_BLK_S_OK, 0);
        return;
    }
    uint64_t off = b->sector * DISK_SECTOR + b->done;
    if (in) {
        if (b->staged) {
            copy_staged(b, budget);
            return;
        }
        uint64_t n = b->len - b->done;
        if (b->read_nowait) {
            uint64_t k = n < *budget ? n : *budget;
            int rc = diskfile_read_nowait(&b->disk, b->buf, (size_t)k, off);
            if (rc == 0) {
                b->st.nowait_reads++;
                b->staged = k;
                b->staged_at = 0;
                copy_staged(b, budget);
                return;
            }
            if (rc == -EOPNOTSUPP)
                b->read_nowait = false;  /* this file system cannot tell */
        }
        if (n > b->iobuf)
            n = b->iobuf;
        b->io_n = n;
        hostio_submit(&b->io, DISKFILE_READ, b->buf, (size_t)n, off);
        return;
    }
    uint64_t n = b->len - b->done - b->staged;
    if (n > *budget)
        n = *budget;
    if (n > b->iobuf - b->staged)
        n = b->iobuf - b->staged;
    if (virtq_copy_out(b->phys, &b->ch, 16 + b->done + b->staged, b->buf + b->staged, n),
        stale(b))
        return;                          /* reset meanwhile: dropped */
    *budget -= n;
    b->staged += n;
    if (b->staged == b->iobuf || b->done + b->staged == b->len) {
        b->io_n = b->staged;
        b->staged = 0;
        hostio_submit(&b->io, DISKFILE_WRITE, b->buf, (size_t)b->io_n, off);
    }
}

/* The operation in flight is done (rc, in ns): a flush's request
 * completes; a read's data is in the buffer (its first part copied out
 * now); a write's piece is in the image. */
static void piece_done(struct virtio_blk *b, int rc, uint64_t ns, uint64_t *budget)
{
    if (b->type == VIRTIO_BLK_T_FLUSH) {
        if (ns > b->st.max_flush_ns)
            b->st.max_flush_ns = ns;
        b->st.flushes++;
        complete(b, rc ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, 0);
        *budget = 0;                     /* at most one flush a call */
        return;
    }
    if (rc) {
        complete(b, VIRTIO_BLK_S_IOERR, 0);
        return;
    }
    if (b->type == VIRTIO_BLK_T_IN) {
        b->staged = b->io_n;
        b->staged_at = 0;
        copy_staged(b, budget);
        return;
    }
    b->done += b->io_n;
    b->st.bytes += b->io_n;
    if (b->done >= b->len)
        complete(b, VIRTIO_BLK_S_OK, 0);
}

int virtio_blk_work(struct virtio_blk *b)
{
    if (!virtio_mmio_running(&b->mmio)) {
        b->busy = false;                 /* an operation in flight: collected later */
        return VBLK_IDLE;
    }
    uint64_t t0 = b->now_ns(b->now_ctx);
    uint64_t budget = b->chunk;
    bool did = false, waiting = false;
    /* chains a call takes: bounded also when they move no data */
    for (int n = 0; budget && n < VIRTQ_MAX_SIZE; n++) {
        if (hostio_busy(&b->io)) {
            int rc;
            uint64_t ns;
            if (!hostio_collect(&b->io, &rc, &ns)) {
                waiting = true;          /* the thread is at it */
                break;
            }
            did = true;
            if (!b->busy || stale(b)) {
                b->busy = false;         /* reset meanwhile: its result dropped */
                continue;
            }
            piece_done(b, rc, ns, &budget);
            continue;
        }
        if (!b->busy || stale(b)) {
            b->busy = false;
            int t = virtio_mmio_running(&b->mmio) ? take(b) : 0;
            if (!t)
                break;
            did = true;
            if (t == 2)
                continue;
        }
        did = true;
        switch (b->type) {
        case VIRTIO_BLK_T_IN:
        case VIRTIO_BLK_T_OUT:
            piece_start(b, &budget);
            break;
        case VIRTIO_BLK_T_FLUSH:
            if (b->disk.ro) {            /* nothing to flush */
                b->st.flushes++;
                complete(b, VIRTIO_BLK_S_OK, 0);
                budget = 0;
            } else {
                hostio_submit(&b->io, DISKFILE_FLUSH, NULL, 0, 0);
            }
            break;
        case VIRTIO_BLK_T_GET_ID: {
            uint64_t n = b->ch.in_len - 1;
            if (n > VIRTIO_BLK_ID_BYTES)
                n = VIRTIO_BLK_ID_BYTES;
            if (virtq_copy_in(b->phys, &b->ch, 0, b->serial, n), stale(b))
                break;
            complete(b, VIRTIO_BLK_S_OK, (uint32_t)n);
            break;
        }
        default:
            complete(b, VIRTIO_BLK_S_UNSUPP, 0);
            break;
        }
    }
    int res = VBLK_IDLE;
    if (waiting)
        res = VBLK_WAIT;
    else if (b->busy && !stale(b))
        res = VBLK_MORE;                 /* a request in progress */
    else if (did && virtio_mmio_running(&b->mmio))
        res = VBLK_MORE;                 /* the budget ran out: look again */
    if (did) {
        uint64_t t = b->now_ns(b->now_ctx) - t0;
        b->st.calls++;
        b->st.service_ns += t;
        if (t > b->st.max_service_ns)
            b->st.max_service_ns = t;
    }
    return res;
}

/* ---- memory images ---- */

void virtio_blk_save(const struct virtio_blk *b, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("VBLK"), 1);
    snapw_bool(w, b->busy);
    snapw_end(w);
    virtio_mmio_save(&b->mmio, w);
}

bool virtio_blk_load(struct virtio_blk *b, struct snapr *r)
{
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("VBLK"), 1, &sub, &version))
        return false;
    bool busy = snapr_bool(&sub);
    if (!sub.bad && busy)
        snapr_fail(&sub, "virtio-blk: a request was in progress when the image was written");
    if (!snapr_done(&sub, r) || !virtio_mmio_load(&b->mmio, r))
        return false;
    b->busy = false;
    b->staged = b->staged_at = 0;
    return true;
}
