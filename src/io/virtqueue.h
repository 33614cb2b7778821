/* virtqueue.h - a split virtqueue (virtio 1.x, 2.7) as a device walks
 * it in guest RAM: take the next descriptor chain the driver made
 * available, turn it into a list of checked guest-RAM segments (the
 * device-readable ones first, then the device-writable ones), and put
 * the finished chain in the used ring.
 *
 * Every value in the rings is guest input: the ring areas must lie in
 * RAM (virtq_layout_ok), a descriptor index must be below the queue
 * size, a buffer must lie wholly in RAM, a chain has at most num
 * descriptors (a loop ends there) and an indirect table at most
 * VIRTQ_MAX_SEGS entries, a readable descriptor after a writable one is
 * refused. Such a chain is reported malformed, never followed further.
 * No event index (VIRTIO_F_EVENT_IDX is not offered): the driver's
 * avail flags are not consulted, every completion interrupts.
 *
 * Guest RAM is reached through phys (phys_read/phys_write, the DSM on
 * several ranks): called between slices on rank 0 only. */
#ifndef VSMP_VIRTQUEUE_H
#define VSMP_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/phys.h"
#include "snap/snapbuf.h"

#define VIRTQ_MAX_SIZE   256     /* QueueNumMax */
#define VIRTQ_MAX_SEGS   256     /* segments of one chain (direct or indirect) */
#define VIRTQ_DESC_F_NEXT     1u
#define VIRTQ_DESC_F_WRITE    2u
#define VIRTQ_DESC_F_INDIRECT 4u

/* A queue's state is plain data (saved in memory images as it is). */
struct virtq {
    uint16_t num;               /* the size the driver chose (QueueNum) */
    bool ready;                 /* QueueReady */
    uint64_t desc, avail, used; /* guest physical addresses of the areas */
    uint16_t last_avail;        /* the next avail ring slot the device takes */
    uint16_t used_idx;          /* the device's used index */
};

struct virtq_seg {
    uint32_t addr, len;         /* inside guest RAM */
};

/* One chain: nout readable segments, then nin writable ones. */
struct virtq_chain {
    uint16_t head;
    int nout, nin;
    uint64_t out_len, in_len;   /* bytes */
    struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

/* Is the queue usable with `ram` bytes of RAM: num a power of two
 * 1..VIRTQ_MAX_SIZE, each area aligned as 2.7 asks and inside RAM? */
bool virtq_layout_ok(const struct virtq *q, uint32_t ram);
/* The next available chain's head in *head: 1; 0 when none; -1 when the
 * driver's index ran more than num ahead (a broken ring). */
int virtq_next(struct phys *p, struct virtq *q, uint16_t *head);
/* Walk the chain at `head` (with `indirect`: indirect tables allowed).
 * 0, or -1 when it is malformed (*why says how). */
int virtq_chain(struct phys *p, const struct virtq *q, uint16_t head, bool indirect,
                struct virtq_chain *c, const char **why);
/* Put `head` with `len` bytes written into the used ring. */
void virtq_push(struct phys *p, struct virtq *q, uint16_t head, uint32_t len);

/* Bytes [off, off + n) of the chain's readable (copy_out) or writable
 * (copy_in) stream to / from buf, through phys_copy_out/in (the DSM; a
 * write into a page with code invalidates its translations). 0, or -1
 * when the stream is shorter. */
int virtq_copy_out(struct phys *p, const struct virtq_chain *c, uint64_t off, void *buf,
                   uint64_t n);
int virtq_copy_in(struct phys *p, const struct virtq_chain *c, uint64_t off, const void *buf,
                  uint64_t n);

/* Memory images: section "VIRQ". The load refuses a size that is not 0
 * or a power of two up to VIRTQ_MAX_SIZE; the ring addresses are checked
 * against RAM at each use (virtq_layout_ok), as the driver's are. */
void virtq_save(const struct virtq *q, struct snapw *w);
bool virtq_load(struct virtq *q, struct snapr *r);


#endif
