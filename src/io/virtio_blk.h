/* virtio_blk.h - a virtio block device (virtio 1.x, 5.2) on a host image
 * (io/diskfile.h) behind the virtio-mmio transport (io/virtio_mmio.h).
 *
 * Requests: T_IN (read), T_OUT (write; IOERR on a read-only disk, which
 * offers VIRTIO_BLK_F_RO so that the guest sees it read-only), T_FLUSH
 * (fdatasync of the image before the request completes), T_GET_ID (the
 * serial, 20 bytes). Anything else: UNSUPP. A transfer not a multiple of
 * 512 bytes, or beyond the capacity, or a host I/O error: IOERR. A
 * malformed chain (virtqueue.h) goes back in the used ring with length 0
 * and no status byte; a broken avail ring (or rings outside RAM) sets
 * DEVICE_NEEDS_RESET. Features: VERSION_1, INDIRECT_DESC, SEG_MAX
 * (VIRTQ_MAX_SEGS - 2), BLK_SIZE (512), FLUSH, RO for `ro` disks.
 *
 * The device's work (virtio_blk_work) runs between slices on rank 0
 * (docs/devices.md); a register access only marks it through `kick`.
 * One call moves at most `chunk` bytes of data (and does at most one
 * flush), then returns true if there is more: the board runs it again
 * after the next slice, the request's position kept, so that a large
 * request never stops rank 0's CPU and its service of the other ranks
 * for long. The longest single call is measured (stats). */
#ifndef VSMP_VIRTIO_BLK_H
#define VSMP_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "io/diskfile.h"
#include "io/virtio_mmio.h"
#include "mem/phys.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9
#define VIRTIO_BLK_T_IN     0u
#define VIRTIO_BLK_T_OUT    1u
#define VIRTIO_BLK_T_FLUSH  4u
#define VIRTIO_BLK_T_GET_ID 8u
#define VIRTIO_BLK_S_OK     0u
#define VIRTIO_BLK_S_IOERR  1u
#define VIRTIO_BLK_S_UNSUPP 2u
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_CHUNK_DEFAULT (64u << 10)   /* data bytes per work call */

struct virtio_blk_stats {
    uint64_t requests;          /* completed */
    uint64_t bytes;             /* read + written */
    uint64_t flushes;
    uint64_t errors;            /* IOERR, UNSUPP, malformed chains */
    uint64_t calls;             /* work calls that did something */
    uint64_t service_ns;        /* their total time */
    uint64_t max_service_ns;    /* the longest single work call */
    uint64_t max_flush_ns;      /* the longest fdatasync (inside one call) */
};

struct virtio_blk {
    struct virtio_mmio mmio;
    struct diskfile disk;
    struct phys *phys;
    char serial[VIRTIO_BLK_ID_BYTES];
    void (*kick)(void *ctx);    /* mark the work pending (board) */
    void *kick_ctx;
    uint64_t (*now_ns)(void *ctx);
    void *now_ctx;
    uint32_t chunk;             /* data bytes per call */
    uint8_t *buf;               /* chunk bytes */
    uint8_t config[24];         /* the config space */
    /* the request in progress */
    bool busy;
    uint32_t epoch;             /* mmio.resets when it was taken */
    uint32_t type;
    uint64_t sector, done, len; /* data bytes: done of len */
    struct virtq_chain ch;
    struct virtio_blk_stats st;
};

/* The device on an open image (taken over: closed by virtio_blk_free).
 * chunk 0: VIRTIO_BLK_CHUNK_DEFAULT. now_ns NULL: CLOCK_MONOTONIC. 0 or
 * -1 (out of memory). */
int virtio_blk_init(struct virtio_blk *b, struct phys *p, const struct diskfile *disk,
                    const char *serial, uint32_t chunk, struct irq_line irq,
                    void (*kick)(void *ctx), void *kick_ctx);
void virtio_blk_free(struct virtio_blk *b);
/* Between slices: serve requests; true when more remains (call again). */
bool virtio_blk_work(struct virtio_blk *b);

#endif
