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
 * (VIRTQ_MAX_SEGS - 2), BLK_SIZE (512), FLUSH, TOPOLOGY (opt_io_size
 * VIRTIO_BLK_OPT_IO), RO for `ro` disks.
 *
 * The device's work (virtio_blk_work) runs between slices on rank 0
 * (docs/devices.md); a register access only marks it through `kick`.
 * The host file I/O (pread, pwrite, fdatasync) is not done there but by
 * the disk's host I/O thread (io/hostio.h, once virtio_blk_start_io ran;
 * before that, synchronously inside the work: unit tests) on the
 * device's bounce buffer of iobuf (1 MiB) bytes, one operation at a
 * time, while each work call moves at most `chunk` bytes between guest
 * RAM and the buffer: a write's data is copied from guest RAM (through
 * phys, the DSM) into the buffer over one or more calls and submitted
 * as one pwrite (a request of up to 1 MiB: one hand-over); a read is
 * submitted and, once done, copied into guest RAM over one or more
 * calls (unless the host's page cache holds it all: then
 * it is read in place, which never waits for the storage, RWF_NOWAIT,
 * and saves the hand-over: read_nowait); a flush is submitted and the request completes
 * when it is done. A call returns VBLK_MORE when it has more to do at
 * once (the board runs it again after the next slice, the request's
 * position kept), VBLK_WAIT when it waits for the thread (run it again
 * when the thread signals its wake fd, or at any later poll: a call that
 * finds the operation still running returns VBLK_WAIT again at once),
 * VBLK_IDLE when there is nothing to do. A device reset with an
 * operation in flight drops the request; the buffer stays the thread's
 * until the operation is collected. The longest single call is measured
 * (stats). */
#ifndef VSMP_VIRTIO_BLK_H
#define VSMP_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "io/diskfile.h"
#include "io/hostio.h"
#include "io/virtio_mmio.h"
#include "mem/phys.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9
#define VIRTIO_BLK_F_TOPOLOGY 10
/* The optimal I/O size the device announces (topology opt_io_size): each
 * request costs rank 0 a ring walk and, with several CPUs, DSM transfers
 * of the guest's request structures, whatever its size, so few large
 * requests beat many small ones. Linux makes its readahead twice this
 * (4 MiB instead of 128 KiB; docs/disk.md). */
#define VIRTIO_BLK_OPT_IO     (2u << 20)
#define VIRTIO_BLK_T_IN     0u
#define VIRTIO_BLK_T_OUT    1u
#define VIRTIO_BLK_T_FLUSH  4u
#define VIRTIO_BLK_T_GET_ID 8u
#define VIRTIO_BLK_S_OK     0u
#define VIRTIO_BLK_S_IOERR  1u
#define VIRTIO_BLK_S_UNSUPP 2u
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_CHUNK_DEFAULT (64u << 10)   /* data bytes per work call */
#define VIRTIO_BLK_IOBUF (1u << 20)            /* bytes per host operation (at least chunk) */

enum vblk_work { VBLK_IDLE = 0, VBLK_MORE, VBLK_WAIT };

struct virtio_blk_stats {
    uint64_t requests;          /* completed */
    uint64_t bytes;             /* read + written */
    uint64_t flushes;
    uint64_t errors;            /* IOERR, UNSUPP, malformed chains */
    uint64_t calls;             /* work calls that did something */
    uint64_t service_ns;        /* their total time */
    uint64_t max_service_ns;    /* the longest single work call */
    uint64_t max_flush_ns;      /* the longest fdatasync (on the I/O thread) */
    uint64_t nowait_reads;      /* read pieces served in place from the page cache */
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
    uint8_t *buf;               /* iobuf bytes: the bounce buffer */
    uint32_t iobuf;             /* its size: the largest host operation */
    struct hostio io;           /* runs the host file I/O on buf */
    uint64_t io_n;              /* data bytes of the operation in flight */
    uint64_t staged, staged_at; /* request bytes in buf not yet moved (at buf + staged_at: read) */
    bool read_nowait;           /* try a read's piece in place from the host's page cache */
    uint8_t config[32];         /* the config space (up to the topology) */
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
/* Start the host I/O thread (the device idle: right after init); it
 * writes to wake_fd (an eventfd, or -1) after each operation. 0 or -1
 * (errno: the thread could not start; the device stays synchronous). */
int virtio_blk_start_io(struct virtio_blk *b, int wake_fd);
/* Stops the thread (an operation running is waited for), closes the image. */
void virtio_blk_free(struct virtio_blk *b);
/* Between slices: serve requests; enum vblk_work (VBLK_IDLE is 0). */
int virtio_blk_work(struct virtio_blk *b);

/* Memory images: section "VBLK", then the transport's (virtio_mmio_save).
 * Saved between requests (the machine finishes the one in progress
 * first): an image of a device in the middle of one is refused. The
 * image file (size, read-only) is the machine's to check. */
void virtio_blk_save(const struct virtio_blk *b, struct snapw *w);
bool virtio_blk_load(struct virtio_blk *b, struct snapr *r);


#endif
