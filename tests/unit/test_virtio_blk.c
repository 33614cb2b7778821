/* test_virtio_blk.c - the virtio-mmio block device (io/virtio_mmio.c,
 * io/virtqueue.c, io/virtio_blk.c, io/diskfile.c) driven by a fake driver
 * over a small private guest RAM: registers and feature negotiation,
 * queue set-up, read/write/flush/get_id against a temporary image,
 * read-only disks, chains split over pages and indirect tables,
 * malformed chains (loops, addresses outside RAM, too long), host I/O
 * errors, a reset in the middle of a request, the split of a large
 * request over several work calls, the interrupt line, a disk read
 * over a page with code, and the host I/O thread (a flush held on it
 * while the work goes on, its errors, a reset and the end with an
 * operation in flight). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/diskfile.h"
#include "io/virtio_blk.h"
#include "mem/phys.h"
#include "unit/irq_rec.h"

#define RAM   (2u << 20)
#define QN    16u
#define DESC  0x1000u
#define AVAIL 0x2000u
#define USED  0x3000u
#define HDR   0x4000u     /* request headers, 16 bytes each */
#define STAT  0x5000u     /* status bytes */
#define DATA  0x10000u    /* data buffers */
#define IMG_SECTORS 4096u /* 2 MiB image */

static char img[64];
static struct phys ram;
static struct virtio_blk blk;
static struct irq_rec irq;
static int kicks;
static uint16_t avail_idx;

static void kick(void *ctx)
{
    (void)ctx;
    kicks++;
}

static uint32_t rd(uint32_t off)
{
    return virtio_mmio_read(&blk.mmio, off, 4);
}

static void wr(uint32_t off, uint32_t v)
{
    virtio_mmio_write(&blk.mmio, off, 4, v);
}

/* A 2 MiB image whose byte i is (i * 7 + i / 4096) & 0xff. */
static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 7 + i / 4096) & 0xff);
}

static void make_image(void)
{
    strcpy(img, "/tmp/vsmp-test-vblk-XXXXXX");
    int fd = mkstemp(img);
    cr_assert_geq(fd, 0);
    static uint8_t b[IMG_SECTORS * 512];
    for (uint64_t i = 0; i < sizeof b; i++)
        b[i] = pattern(i);
    cr_assert_eq(write(fd, b, sizeof b), (ssize_t)sizeof b);
    close(fd);
}

/* The device on the image (ro or not), with `chunk` bytes a work call. */
static void open_dev(bool ro, uint32_t chunk)
{
    cr_assert_eq(phys_init(&ram, RAM), 0);
    struct diskfile df;
    char err[512];
    cr_assert_eq(diskfile_open(&df, img, ro, err, sizeof err), 0, "%s", err);
    memset(&irq, 0, sizeof irq);
    kicks = 0;
    avail_idx = 0;
    cr_assert_eq(virtio_blk_init(&blk, &ram, &df, "vsmp-test-serial", chunk,
                                 (struct irq_line){ rec_irq, &irq, 16 }, kick, NULL), 0);
}

static void setup(void)
{
    make_image();
}

static void gate_set(bool hold);

static void teardown(void)
{
    gate_set(false);                     /* a failed threaded test: let the thread end */
    virtio_blk_free(&blk);
    phys_free(&ram);
    unlink(img);
}

TestSuite(vblk, .init = setup, .fini = teardown);

/* The driver's side of 3.1.1: reset, ACK, DRIVER, features, FEATURES_OK,
 * the queue, DRIVER_OK. */
static void driver_init(uint64_t accept)
{
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)accept);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(accept >> 32));
    wr(VIRTIO_MMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK);
    cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, QN);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
    wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL);
    wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
    wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED);
    wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    wr(VIRTIO_MMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    cr_assert(virtio_mmio_running(&blk.mmio));
}

static const uint64_t STD = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH |
                            1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_F_INDIRECT_DESC;

static void put_desc(uint32_t table, int i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint32_t a = table + 16u * (uint32_t)i;
    phys_write(&ram, a, 4, (uint32_t)addr);
    phys_write(&ram, a + 4, 4, (uint32_t)(addr >> 32));
    phys_write(&ram, a + 8, 4, len);
    phys_write(&ram, a + 12, 2, flags);
    phys_write(&ram, a + 14, 2, next);
}

static void put_hdr(uint32_t at, uint32_t type, uint64_t sector)
{
    phys_write(&ram, at, 4, type);
    phys_write(&ram, at + 4, 4, 0);
    phys_write(&ram, at + 8, 4, (uint32_t)sector);
    phys_write(&ram, at + 12, 4, (uint32_t)(sector >> 32));
}

/* Make chain `head` available and notify. */
static void submit(uint16_t head)
{
    phys_write(&ram, AVAIL + 4 + 2u * (avail_idx % QN), 2, head);
    avail_idx++;
    phys_write(&ram, AVAIL + 2, 2, avail_idx);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Run the work until it has nothing more; the number of calls. */
static int serve(void)
{
    int calls = 1;
    while (virtio_blk_work(&blk)) {
        calls++;
        cr_assert_lt(calls, 10000, "the work never ends");
    }
    return calls;
}

static uint16_t used_idx(void)
{
    return (uint16_t)phys_read(&ram, USED + 2, 2);
}

static void used_elem(uint16_t i, uint32_t *id, uint32_t *len)
{
    *id = phys_read(&ram, USED + 4 + 8u * (i % QN), 4);
    *len = phys_read(&ram, USED + 8 + 8u * (i % QN), 4);
}

/* A 3-descriptor request at descriptors 3h..3h+2 (h < 5): header, data,
 * status. */
static uint16_t simple(int h, uint32_t type, uint64_t sector, uint32_t data, uint32_t len)
{
    uint32_t hdr = HDR + 16u * (uint32_t)h, st = STAT + (uint32_t)h;
    put_hdr(hdr, type, sector);
    phys_write(&ram, st, 1, 0xee);
    bool in = type != VIRTIO_BLK_T_OUT;
    uint16_t d = (uint16_t)(3 * h);
    put_desc(DESC, d, hdr, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
    put_desc(DESC, d + 1, data, len, VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0),
             (uint16_t)(d + 2));
    put_desc(DESC, d + 2, st, 1, VIRTQ_DESC_F_WRITE, 0);
    return d;
}

static uint8_t status_of(int h)
{
    return (uint8_t)phys_read(&ram, STAT + (uint32_t)h, 1);
}

Test(vblk, registers_and_features)
{
    open_dev(false, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976u);
    cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2);
    cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
    cr_assert_eq(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES) & 1, 1, "VERSION_1 offered");
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
    cr_assert(f & (1u << VIRTIO_BLK_F_FLUSH));
    cr_assert_not(f & (1u << VIRTIO_BLK_F_RO), "a writable disk");
    /* capacity in the config space, byte and word reads */
    cr_assert_eq(virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_CONFIG, 4), IMG_SECTORS);
    cr_assert_eq(virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_CONFIG + 1, 1), IMG_SECTORS >> 8);
    cr_assert_eq(virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_CONFIG + 4, 4), 0);
    cr_assert_eq(virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_CONFIG + 20, 4), 512, "blk_size");
    cr_assert_eq(virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_CONFIG + 12, 4), VIRTQ_MAX_SEGS - 2);
    /* topology: the optimal I/O size in 512-byte blocks, the rest zero */
    cr_assert(f & (1u << VIRTIO_BLK_F_TOPOLOGY));
    cr_assert_eq(virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_CONFIG + 24, 4), 0);
    cr_assert_eq(virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_CONFIG + 28, 4), VIRTIO_BLK_OPT_IO / 512);
    /* without VERSION_1: FEATURES_OK does not stay */
    wr(VIRTIO_MMIO_STATUS, 3);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_BLK_F_FLUSH);
    wr(VIRTIO_MMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK);
    cr_assert_not(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, "legacy driver refused");
    wr(VIRTIO_MMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    cr_assert_not(virtio_mmio_running(&blk.mmio), "no DRIVER_OK without FEATURES_OK");
    /* a feature not offered (RO on a writable disk): refused */
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, 3);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_BLK_F_RO);
    wr(VIRTIO_MMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK);
    cr_assert_not(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    /* the proper sequence */
    driver_init(STD);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
    /* queue registers are frozen while ready */
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x8000);
    cr_assert_eq(blk.mmio.s.vq[0].desc, DESC);
    /* a queue that does not exist */
    wr(VIRTIO_MMIO_QUEUE_SEL, 1);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    /* odd-sized register accesses are ignored */
    cr_assert_eq(virtio_mmio_read(&blk.mmio, VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
    /* reset clears everything */
    wr(VIRTIO_MMIO_STATUS, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
    cr_assert_eq(blk.mmio.s.vq[0].ready, false);
    cr_assert_eq(blk.mmio.s.driver_features, 0);
}

Test(vblk, read_write_flush_get_id)
{
    open_dev(false, 0);
    driver_init(STD);
    /* write 2 sectors at sector 5 */
    for (uint32_t i = 0; i < 1024; i++)
        phys_write(&ram, DATA + i, 1, (uint8_t)(0xa5 ^ i));
    submit(simple(0, VIRTIO_BLK_T_OUT, 5, DATA, 1024));
    cr_assert_eq(kicks, 1, "the notify only marked the work");
    cr_assert_eq(used_idx(), 0, "nothing served inside the register access");
    serve();
    cr_assert_eq(status_of(0), VIRTIO_BLK_S_OK);
    cr_assert_eq(used_idx(), 1);
    cr_assert_eq(irq.level, 1, "completion interrupt");
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);
    wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
    cr_assert_eq(irq.level, 0, "the ack lowers the line");
    int fd = open(img, O_RDONLY);
    uint8_t b[1024];
    cr_assert_eq(pread(fd, b, sizeof b, 5 * 512), (ssize_t)sizeof b);
    close(fd);
    for (uint32_t i = 0; i < 1024; i++)
        cr_assert_eq(b[i], (uint8_t)(0xa5 ^ i), "byte %u on disk", i);
    /* read 3 sectors at sector 100 */
    submit(simple(1, VIRTIO_BLK_T_IN, 100, DATA + 0x2000, 1536));
    serve();
    cr_assert_eq(status_of(1), VIRTIO_BLK_S_OK);
    uint32_t id, len;
    used_elem(1, &id, &len);
    cr_assert_eq(id, 3);
    cr_assert_eq(len, 1537, "data + status written");
    for (uint32_t i = 0; i < 1536; i++)
        cr_assert_eq(phys_read(&ram, DATA + 0x2000 + i, 1), pattern(100 * 512 + i));
    /* flush */
    put_hdr(HDR + 32, VIRTIO_BLK_T_FLUSH, 0);
    put_desc(DESC, 6, HDR + 32, 16, VIRTQ_DESC_F_NEXT, 7);
    put_desc(DESC, 7, STAT + 2, 1, VIRTQ_DESC_F_WRITE, 0);
    phys_write(&ram, STAT + 2, 1, 0xee);
    submit(6);
    serve();
    cr_assert_eq(status_of(2), VIRTIO_BLK_S_OK);
    cr_assert_eq(blk.st.flushes, 1);
    /* get_id */
    submit(simple(3, VIRTIO_BLK_T_GET_ID, 0, DATA + 0x4000, 20));
    serve();
    cr_assert_eq(status_of(3), VIRTIO_BLK_S_OK);
    char idb[21] = { 0 };
    phys_copy_out(&ram, DATA + 0x4000, idb, 20);
    cr_assert_str_eq(idb, "vsmp-test-serial");
    /* an unknown type */
    submit(simple(4, 99, 0, DATA, 512));
    serve();
    cr_assert_eq(status_of(4), VIRTIO_BLK_S_UNSUPP);
    cr_assert_eq(blk.st.requests, 4);
    cr_assert_eq(blk.st.bytes, 1024 + 1536);
}

Test(vblk, read_only)
{
    open_dev(true, 0);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    cr_assert(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO), "RO offered");
    driver_init(STD | 1ull << VIRTIO_BLK_F_RO);
    for (uint32_t i = 0; i < 512; i++)
        phys_write(&ram, DATA + i, 1, 0);
    submit(simple(0, VIRTIO_BLK_T_OUT, 0, DATA, 512));
    serve();
    cr_assert_eq(status_of(0), VIRTIO_BLK_S_IOERR, "a write to a read-only disk fails");
    int fd = open(img, O_RDONLY);
    uint8_t b[512];
    cr_assert_eq(pread(fd, b, sizeof b, 0), 512);
    close(fd);
    for (uint32_t i = 0; i < 512; i++)
        cr_assert_eq(b[i], pattern(i), "the image is unchanged");
    submit(simple(1, VIRTIO_BLK_T_IN, 0, DATA, 512));
    serve();
    cr_assert_eq(status_of(1), VIRTIO_BLK_S_OK, "reads work");
    cr_assert_eq(phys_read(&ram, DATA + 7, 1), pattern(7));
}

/* The header split over two descriptors, the data over three that cross
 * page boundaries, the status byte after the last data byte in the same
 * descriptor; then the same through an indirect table. */
Test(vblk, chains_split_over_pages)
{
    open_dev(false, 0);
    driver_init(STD);
    put_hdr(HDR, VIRTIO_BLK_T_IN, 8);
    put_desc(DESC, 0, HDR, 5, VIRTQ_DESC_F_NEXT, 1);
    put_desc(DESC, 1, HDR + 5, 11, VIRTQ_DESC_F_NEXT, 2);
    put_desc(DESC, 2, DATA + 0x0f00, 0x300, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
    put_desc(DESC, 3, DATA + 0x3ff0, 0x100, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
    /* 0x200 more data + 1 status byte */
    put_desc(DESC, 4, DATA + 0x5ffe, 0x201, VIRTQ_DESC_F_WRITE, 0);
    submit(0);
    serve();
    cr_assert_eq(phys_read(&ram, DATA + 0x5ffe + 0x200, 1), VIRTIO_BLK_S_OK);
    uint64_t base = 8 * 512;
    for (uint32_t i = 0; i < 0x300; i++)
        cr_assert_eq(phys_read(&ram, DATA + 0x0f00 + i, 1), pattern(base + i));
    for (uint32_t i = 0; i < 0x100; i++)
        cr_assert_eq(phys_read(&ram, DATA + 0x3ff0 + i, 1), pattern(base + 0x300 + i));
    for (uint32_t i = 0; i < 0x200; i++)
        cr_assert_eq(phys_read(&ram, DATA + 0x5ffe + i, 1), pattern(base + 0x400 + i));
    /* indirect: the table at 0x8000 */
    uint32_t t = 0x8000;
    put_hdr(HDR + 16, VIRTIO_BLK_T_IN, 1);
    put_desc(t, 0, HDR + 16, 16, VIRTQ_DESC_F_NEXT, 2);
    put_desc(t, 2, DATA + 0x7f00, 0x200, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    put_desc(t, 1, STAT + 1, 1, VIRTQ_DESC_F_WRITE, 0);
    put_desc(DESC, 5, t, 48, VIRTQ_DESC_F_INDIRECT, 0);
    phys_write(&ram, STAT + 1, 1, 0xee);
    submit(5);
    serve();
    cr_assert_eq(status_of(1), VIRTIO_BLK_S_OK);
    for (uint32_t i = 0; i < 0x200; i++)
        cr_assert_eq(phys_read(&ram, DATA + 0x7f00 + i, 1), pattern(512 + i));
}

/* Each malformed chain comes back in the used ring with length 0 and no
 * status; the device goes on and serves the next good request. */
Test(vblk, malformed_chains, .timeout = 60)
{
    open_dev(false, 0);
    driver_init(STD);
    struct { const char *what; uint16_t head; } bad[12];
    int n = 0;
    /* a loop: 0 -> 1 -> 0 */
    put_hdr(HDR, VIRTIO_BLK_T_IN, 0);
    put_desc(DESC, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(DESC, 1, DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
    bad[n++] = (typeof(bad[0])){ "loop", 0 };
    /* a buffer outside RAM, and one that runs past its end */
    put_desc(DESC, 2, HDR, 16, VIRTQ_DESC_F_NEXT, 3);
    put_desc(DESC, 3, 0xfeb00000u, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
    put_desc(DESC, 4, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
    bad[n++] = (typeof(bad[0])){ "outside RAM", 2 };
    put_desc(DESC, 5, RAM - 8, 16, 0, 0);
    bad[n++] = (typeof(bad[0])){ "past the end of RAM", 5 };
    put_desc(DESC, 6, 1ull << 32, 16, 0, 0);
    bad[n++] = (typeof(bad[0])){ "above 4 GiB", 6 };
    /* next beyond the queue */
    put_desc(DESC, 7, HDR, 16, VIRTQ_DESC_F_NEXT, 200);
    bad[n++] = (typeof(bad[0])){ "next beyond the queue", 7 };
    /* a head beyond the queue */
    bad[n++] = (typeof(bad[0])){ "head beyond the queue", 300 };
    /* an indirect table that loops on itself (too long a chain) */
    uint32_t t = 0x8000;
    put_desc(t, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(t, 1, DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
    put_desc(DESC, 8, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
    bad[n++] = (typeof(bad[0])){ "indirect loop", 8 };
    /* a loop of empty buffers (only the step bound ends it) */
    put_desc(DESC, 12, HDR, 0, VIRTQ_DESC_F_NEXT, 13);
    put_desc(DESC, 13, HDR, 0, VIRTQ_DESC_F_NEXT, 12);
    bad[n++] = (typeof(bad[0])){ "loop of empty buffers", 12 };
    put_desc(t + 0x100, 0, HDR, 0, VIRTQ_DESC_F_NEXT, 1);
    put_desc(t + 0x100, 1, HDR, 0, VIRTQ_DESC_F_NEXT, 0);
    put_desc(DESC, 14, t + 0x100, 32, VIRTQ_DESC_F_INDIRECT, 0);
    bad[n++] = (typeof(bad[0])){ "indirect loop of empty buffers", 14 };
    /* writable then readable; no status byte */
    put_desc(DESC, 9, HDR, 16, VIRTQ_DESC_F_NEXT, 10);
    put_desc(DESC, 10, DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 11);
    put_desc(DESC, 11, DATA, 512, 0, 0);
    bad[n++] = (typeof(bad[0])){ "readable after writable", 9 };
    for (int i = 0; i < n; i++) {
        submit(bad[i].head);
        serve();
        uint32_t id, len;
        used_elem((uint16_t)i, &id, &len);
        cr_assert_eq(used_idx(), i + 1, "%s: answered", bad[i].what);
        cr_assert_eq(id, bad[i].head, "%s", bad[i].what);
        cr_assert_eq(len, 0, "%s", bad[i].what);
    }
    cr_assert_eq(blk.st.errors, (uint64_t)n);
    cr_assert(virtio_mmio_running(&blk.mmio));
    submit(simple(4, VIRTIO_BLK_T_IN, 0, DATA, 512));
    serve();
    cr_assert_eq(status_of(4), VIRTIO_BLK_S_OK, "the device goes on");
    /* a driver index far ahead of the device: the ring is broken */
    phys_write(&ram, AVAIL + 2, 2, (uint16_t)(avail_idx + 100));
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    serve();
    cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
    cr_assert_not(virtio_blk_work(&blk), "a broken device does nothing");
}

/* Rings outside RAM: the device needs a reset, touches nothing. */
Test(vblk, rings_outside_ram)
{
    open_dev(false, 0);
    driver_init(STD);
    wr(VIRTIO_MMIO_QUEUE_READY, 0);
    wr(VIRTIO_MMIO_QUEUE_USED_LOW, RAM - 8);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    cr_assert_not(virtio_blk_work(&blk));
    cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

/* Past the end of the disk, a length not a multiple of 512, a read
 * error of the host (an fd that fails), a write error: IOERR. */
Test(vblk, io_errors)
{
    open_dev(false, 0);
    driver_init(STD);
    submit(simple(0, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, DATA, 1024));
    submit(simple(1, VIRTIO_BLK_T_IN, UINT64_MAX - 1, DATA, 1024));
    submit(simple(2, VIRTIO_BLK_T_IN, 0, DATA, 100));
    serve();
    cr_assert_eq(status_of(0), VIRTIO_BLK_S_IOERR, "past the end");
    cr_assert_eq(status_of(1), VIRTIO_BLK_S_IOERR, "sector overflow");
    cr_assert_eq(status_of(2), VIRTIO_BLK_S_IOERR, "not whole sectors");
    submit(simple(3, VIRTIO_BLK_T_IN, IMG_SECTORS - 2, DATA, 1024));
    serve();
    cr_assert_eq(status_of(3), VIRTIO_BLK_S_OK, "the last sectors");
    /* the host fd now fails: a directory for reads, read-only for writes */
    int good = blk.disk.fd;
    blk.disk.fd = open("/", O_RDONLY | O_DIRECTORY);
    cr_assert_geq(blk.disk.fd, 0);
    submit(simple(4, VIRTIO_BLK_T_IN, 0, DATA, 512));
    serve();
    cr_assert_eq(status_of(4), VIRTIO_BLK_S_IOERR, "host read error");
    close(blk.disk.fd);
    blk.disk.fd = open(img, O_RDONLY);
    submit(simple(0, VIRTIO_BLK_T_OUT, 0, DATA, 512));   /* descriptors 0-2 again */
    serve();
    cr_assert_eq(status_of(0), VIRTIO_BLK_S_IOERR, "host write error");
    close(blk.disk.fd);
    blk.disk.fd = good;
    cr_assert_eq(blk.st.errors, 5);
}

/* A 1 MiB read with 64 KiB a call: 16 calls, the used ring untouched
 * until the last, the data whole; a reset in the middle of the next
 * drops it. */
Test(vblk, large_request_split)
{
    open_dev(false, 64u << 10);
    driver_init(STD);
    submit(simple(0, VIRTIO_BLK_T_IN, 0, 0x100000, 1u << 20));
    int calls = 1;
    while (virtio_blk_work(&blk)) {
        if (used_idx() == 0)
            cr_assert_eq(blk.st.bytes, (uint64_t)calls * (64u << 10), "64 KiB a call");
        calls++;
        cr_assert_lt(calls, 100);
    }
    cr_assert_geq(calls, 16, "served in pieces (%d calls)", calls);
    cr_assert_eq(used_idx(), 1);
    cr_assert_eq(status_of(0), VIRTIO_BLK_S_OK);
    for (uint32_t i = 0; i < (1u << 20); i += 4093)
        cr_assert_eq(phys_read(&ram, 0x100000 + i, 1), pattern(i));
    cr_assert_gt(blk.st.max_service_ns, 0);
    /* a reset in the middle */
    submit(simple(1, VIRTIO_BLK_T_IN, 0, 0x100000, 1u << 20));
    cr_assert(virtio_blk_work(&blk));
    wr(VIRTIO_MMIO_STATUS, 0);
    cr_assert_not(virtio_blk_work(&blk), "dropped");
    cr_assert_eq(used_idx(), 1, "nothing completed after the reset");
}

/* A disk read over a page that holds code tells the CPU core
 * (phys.code_written): its translations are invalidated. */
static int code_hits;
static bool on_code_written(void *ctx, uint32_t paddr, uint32_t len)
{
    (void)ctx;
    (void)len;
    if ((paddr & PAGE_MASK) == DATA + 0x1000)
        code_hits++;
    return false;
}

Test(vblk, read_over_code)
{
    open_dev(false, 0);
    driver_init(STD);
    code_hits = 0;
    ram.code_written = on_code_written;
    phys_mark_code(&ram, DATA + 0x1000);
    submit(simple(0, VIRTIO_BLK_T_IN, 0, DATA + 0x1000, 512));
    serve();
    cr_assert_eq(status_of(0), VIRTIO_BLK_S_OK);
    cr_assert_geq(code_hits, 1, "the code page's translations were dropped");
    cr_assert_not(phys_page_is_code(&ram, DATA + 0x1000));
}

/* diskfile: sizes, the lock between two opens (a second job), ro users
 * sharing, errors. */
Test(vblk, diskfile_lock_and_size)
{
    struct diskfile a, b, c;
    char err[512];
    cr_assert_eq(diskfile_open(&a, img, false, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.sectors, IMG_SECTORS);
    /* another open file description: as another job would */
    cr_assert_eq(diskfile_open(&b, img, false, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "in use by another vsmp job (locked)"), "%s", err);
    cr_assert_eq(diskfile_open(&b, img, true, err, sizeof err), -1, "no reader under a writer");
    /* a child process too */
    pid_t pid = fork();
    if (pid == 0) {
        struct diskfile x;
        _exit(diskfile_open(&x, img, false, err, sizeof err) == -1 ? 0 : 1);
    }
    int ws;
    waitpid(pid, &ws, 0);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the other process was refused");
    diskfile_close(&a);
    cr_assert_eq(diskfile_open(&b, img, true, err, sizeof err), 0, "%s", err);
    cr_assert_eq(diskfile_open(&c, img, true, err, sizeof err), 0, "readers share: %s", err);
    cr_assert_eq(diskfile_open(&a, img, false, err, sizeof err), -1, "no writer over readers");
    cr_assert_eq(diskfile_write(&b, "x", 1, 0), -EBADF);
    uint8_t buf[512];
    cr_assert_eq(diskfile_read(&b, buf, 512, (uint64_t)IMG_SECTORS * 512), -EINVAL);
    cr_assert_eq(diskfile_read(&b, buf, 512, (uint64_t)(IMG_SECTORS - 1) * 512), 0);
    diskfile_close(&b);
    diskfile_close(&c);
    /* a size not a multiple of 512: rounded down; < 512: refused */
    cr_assert_eq(truncate(img, 1000), 0);
    cr_assert_eq(diskfile_open(&a, img, false, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.sectors, 1);
    cr_assert_eq(a.tail, 488);
    diskfile_close(&a);
    cr_assert_eq(truncate(img, 100), 0);
    cr_assert_eq(diskfile_open(&a, img, false, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "shorter than one 512-byte sector"), "%s", err);
    cr_assert_eq(truncate(img, 0), 0);
    cr_assert_eq(diskfile_open(&a, img, false, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "empty"), "%s", err);
    cr_assert_eq(diskfile_open(&a, "/", false, err, sizeof err), -1);
    cr_assert_eq(diskfile_open(&a, "/nonexistent/x.img", false, err, sizeof err), -1);
    cr_assert_not_null(strstr(err, "No such file"), "%s", err);
    make_image();       /* for teardown's virtio_blk_free: nothing open */
    memset(&blk, 0, sizeof blk);
    blk.disk.fd = -1;
    phys_init(&ram, PAGE_SIZE);
}

/* The work's guest-RAM accesses go through the DSM, whose page faults may
 * serve other ranks' messages: here a forwarded write of 0 to Status (a
 * reset) arrives inside the fault on the data page. The request is
 * dropped, nothing completes, nothing crashes (the queue was zeroed
 * under the work), and the device works again after a new set-up. */
static uint8_t coh_state[RAM / PAGE_SIZE];
static int coh_faults;
static uint32_t coh_reset_page;

static void coh_fault(void *ctx, uint32_t page, bool write)
{
    (void)ctx;
    (void)write;
    coh_faults++;
    coh_state[page] = 2;
    if (page == coh_reset_page)
        wr(VIRTIO_MMIO_STATUS, 0);       /* as xrank's handler would, inside the fault */
}

Test(vblk, reset_inside_a_page_fault)
{
    open_dev(false, 0);
    driver_init(STD);
    memset(coh_state, 2, sizeof coh_state);
    ram.coh = (struct phys_coherence){ .state = coh_state, .fault = coh_fault };
    for (int pass = 0; pass < 3; pass++) {
        /* pass 0: the data page (mid-transfer); 1: the status page
         * (completion); 2: the avail ring (taking the chain) */
        uint32_t pg = pass == 0 ? DATA + 0x3000 : pass == 1 ? STAT : AVAIL;
        coh_reset_page = pg >> 12;
        submit(simple(0, VIRTIO_BLK_T_IN, 0, DATA + 0x2000, 8192));
        uint16_t before = used_idx();
        coh_state[pg >> 12] = 0;
        coh_faults = 0;
        serve();
        cr_assert_geq(coh_faults, 1, "pass %d: the fault happened", pass);
        cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0, "pass %d: reset", pass);
        cr_assert_eq(used_idx(), before, "pass %d: nothing completed after the reset", pass);
        cr_assert_not(virtio_blk_work(&blk), "pass %d: no work left", pass);
        avail_idx = 0;
        phys_write(&ram, AVAIL + 2, 2, 0);
        phys_write(&ram, USED + 2, 2, 0);
        driver_init(STD);
    }
    submit(simple(0, VIRTIO_BLK_T_IN, 0, DATA + 0x2000, 8192));
    serve();
    cr_assert_eq(status_of(0), VIRTIO_BLK_S_OK, "works again after the set-up");
    cr_assert_eq(used_idx(), 1);
    ram.coh.state = NULL;
}

/* ---- the host I/O thread (io/hostio.h, virtio_blk_start_io) ----
 * A diskfile hook (the gate) holds each operation on the thread until
 * the test releases it; one run on the test's own thread (the work
 * doing the file I/O itself) is recorded and not held, so that a
 * synchronous device fails the tests instead of hanging them. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t main;
    bool hold;                   /* operations wait at the gate */
    int entered, left;           /* operations that reached / passed it */
    int on_main;                 /* operations run on the test's thread */
    int fail_op;                 /* -1, or a diskfile_op that fails ... */
    int fail_rc;                 /* ... with this */
    enum diskfile_op ops[64];
} gate = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static int gate_hook(void *ctx, enum diskfile_op op)
{
    (void)ctx;
    pthread_mutex_lock(&gate.mu);
    if (gate.entered < 64)
        gate.ops[gate.entered] = op;
    gate.entered++;
    if (pthread_equal(pthread_self(), gate.main))
        gate.on_main++;
    else
        while (gate.hold)
            pthread_cond_wait(&gate.cv, &gate.mu);
    gate.left++;
    int rc = (int)op == gate.fail_op ? gate.fail_rc : 0;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
    return rc;
}

static void gate_set(bool hold)
{
    pthread_mutex_lock(&gate.mu);
    gate.hold = hold;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
}

/* Wait (up to 10 s) until `n` operations reached the gate. */
static void gate_wait_entered(int n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&gate.mu);
    while (gate.entered < n && gate.on_main == 0)
        if (pthread_cond_timedwait(&gate.cv, &gate.mu, &ts))
            break;
    int e = gate.entered, m = gate.on_main;
    pthread_mutex_unlock(&gate.mu);
    cr_assert_eq(m, 0, "the file I/O ran on the caller's thread (not the I/O thread)");
    cr_assert_geq(e, n, "operation %d never reached the I/O thread", n);
}

static int wake_fd = -1;

/* The device with its I/O thread and the gate; wake_fd its eventfd. */
static void open_threaded(uint32_t chunk)
{
    open_dev(false, chunk);
    pthread_mutex_lock(&gate.mu);
    gate.main = pthread_self();
    gate.hold = false;
    gate.entered = gate.left = gate.on_main = 0;
    gate.fail_op = -1;
    pthread_mutex_unlock(&gate.mu);
    blk.disk.hook = gate_hook;
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    cr_assert_geq(wake_fd, 0);
    cr_assert_eq(virtio_blk_start_io(&blk, wake_fd), 0);
    cr_assert(blk.io.threaded);
    cr_assert(blk.read_nowait);
    blk.read_nowait = false;             /* every operation on the thread */
}

/* Run the work until it is idle, sleeping on the eventfd (up to 10 s
 * each) while it waits for the thread. */
static void serve_threaded(void)
{
    for (int calls = 0;; calls++) {
        cr_assert_lt(calls, 100000, "the work never ends");
        int r = virtio_blk_work(&blk);
        if (r == VBLK_IDLE)
            return;
        if (r == VBLK_WAIT) {
            struct pollfd p = { .fd = wake_fd, .events = POLLIN };
            cr_assert_eq(poll(&p, 1, 10000), 1, "the I/O thread never signalled");
            uint64_t v;
            cr_assert_eq(read(wake_fd, &v, sizeof v), 8);
        }
    }
}

static void close_threaded(void)
{
    gate_set(false);
    virtio_blk_free(&blk);               /* joins the thread */
    close(wake_fd);
    wake_fd = -1;
}

/* A FLUSH held on the I/O thread: the work returns at once (the CPU
 * goes on) asking to wait, the request is not completed until the
 * release; then the eventfd wakes the poller and it completes. */
Test(vblk, threaded_flush_does_not_block_the_work, .timeout = 60)
{
    open_threaded(0);
    driver_init(STD);
    gate_set(true);
    submit(simple(0, VIRTIO_BLK_T_FLUSH, 0, DATA, 0));
    /* the flush's chain has an empty data descriptor: make it 2 long */
    put_desc(DESC, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 2);
    cr_assert_eq(virtio_blk_work(&blk), VBLK_WAIT, "waits for the thread");
    gate_wait_entered(1);
    cr_assert_eq(gate.ops[0], DISKFILE_FLUSH);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(virtio_blk_work(&blk), VBLK_WAIT, "still waiting, not blocked");
    cr_assert_eq(used_idx(), 0, "not completed while the flush is held");
    cr_assert_eq(status_of(0), 0xee);
    cr_assert_eq(irq.level, 0, "no interrupt yet");
    gate_set(false);
    struct pollfd p = { .fd = wake_fd, .events = POLLIN };
    cr_assert_eq(poll(&p, 1, 10000), 1, "the eventfd wakes a sleeper");
    serve_threaded();
    cr_assert_eq(used_idx(), 1);
    cr_assert_eq(status_of(0), VIRTIO_BLK_S_OK);
    cr_assert_eq(blk.st.flushes, 1);
    cr_assert(irq.level, "the completion interrupt");
    close_threaded();
}

/* A 192 KiB write then read back, 64 KiB copied a call: the write's
 * data is gathered in the buffer over 3 calls and written by one pwrite,
 * the read is one pread copied out over 3 calls; the image holds the
 * data, the read returns it. */
Test(vblk, threaded_write_then_read, .timeout = 60)
{
    open_threaded(64u << 10);
    driver_init(STD);
    const uint32_t len = 192u << 10;
    for (uint32_t i = 0; i < len; i += 4)
        phys_write(&ram, 0x100000 + i, 4, i * 2654435761u);
    submit(simple(0, VIRTIO_BLK_T_OUT, 8, 0x100000, len));
    cr_assert_eq(virtio_blk_work(&blk), VBLK_MORE);
    cr_assert_eq(virtio_blk_work(&blk), VBLK_MORE);
    cr_assert_eq(blk.staged, 128u << 10, "gathered, 64 KiB a call");
    cr_assert_eq(gate.entered, 0, "nothing written before the buffer holds it all");
    serve_threaded();
    cr_assert_eq(status_of(0), VIRTIO_BLK_S_OK);
    int fd = open(img, O_RDONLY);
    static uint8_t f[192u << 10];
    cr_assert_eq(pread(fd, f, len, 8 * 512), (ssize_t)len);
    close(fd);
    for (uint32_t i = 0; i < len; i += 4) {
        uint32_t v;
        memcpy(&v, f + i, 4);
        cr_assert_eq(v, i * 2654435761u, "image byte %u", i);
    }
    submit(simple(1, VIRTIO_BLK_T_IN, 8, 0x200000 - len, len));
    serve_threaded();
    cr_assert_eq(status_of(1), VIRTIO_BLK_S_OK);
    for (uint32_t i = 0; i < len; i += 4)
        cr_assert_eq(phys_read(&ram, 0x200000 - len + i, 4), i * 2654435761u);
    cr_assert_eq(gate.entered, 2, "one pwrite and one pread for 192 KiB");
    cr_assert_eq(gate.ops[0], DISKFILE_WRITE);
    cr_assert_eq(gate.ops[1], DISKFILE_READ);
    cr_assert_eq(gate.on_main, 0);
    close_threaded();
}

/* A write, a read and a flush that fail on the thread: IOERR each. */
Test(vblk, threaded_io_errors, .timeout = 60)
{
    open_threaded(0);
    driver_init(STD);
    static const int ops[3] = { DISKFILE_WRITE, DISKFILE_READ, DISKFILE_FLUSH };
    for (int h = 0; h < 3; h++) {
        gate.fail_op = ops[h];
        gate.fail_rc = -EIO;
        uint32_t type = h == 0 ? VIRTIO_BLK_T_OUT : h == 1 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_FLUSH;
        submit(simple(h, type, 0, DATA, 4096));
        serve_threaded();
        cr_assert_eq(status_of(h), VIRTIO_BLK_S_IOERR, "request %d", h);
    }
    cr_assert_eq(blk.st.errors, 3);
    cr_assert_eq(used_idx(), 3);
    cr_assert_eq(gate.on_main, 0);
    close_threaded();
}

/* A reset while a read is held on the thread: the request is dropped,
 * and the buffer stays the thread's: a write taken after the new set-up
 * is not copied into it nor submitted until the read is done, so the
 * image gets the write's data (not what the read put in the buffer). */
Test(vblk, threaded_reset_in_flight, .timeout = 60)
{
    open_threaded(0);
    driver_init(STD);
    gate_set(true);
    submit(simple(0, VIRTIO_BLK_T_IN, 0, DATA, 4096));
    cr_assert_eq(virtio_blk_work(&blk), VBLK_WAIT);
    gate_wait_entered(1);
    wr(VIRTIO_MMIO_STATUS, 0);           /* reset with the read in flight */
    avail_idx = 0;
    phys_write(&ram, AVAIL + 2, 2, 0);
    phys_write(&ram, USED + 2, 2, 0);
    driver_init(STD);
    for (uint32_t i = 0; i < 4096; i++)
        phys_write(&ram, DATA + 0x8000 + i, 1, 0x5a);
    submit(simple(1, VIRTIO_BLK_T_OUT, 16, DATA + 0x8000, 4096));
    for (int i = 0; i < 5; i++)
        cr_assert_eq(virtio_blk_work(&blk), VBLK_WAIT, "waits for the dropped read");
    cr_assert_eq(gate.entered, 1, "nothing submitted while the buffer is the thread's");
    gate_set(false);
    serve_threaded();
    cr_assert_eq(used_idx(), 1, "only the write completed");
    cr_assert_eq(status_of(1), VIRTIO_BLK_S_OK);
    cr_assert_eq(status_of(0), 0xee, "the dropped read has no status");
    uint8_t f[4096];
    int fd = open(img, O_RDONLY);
    cr_assert_eq(pread(fd, f, sizeof f, 16 * 512), (ssize_t)sizeof f);
    close(fd);
    for (uint32_t i = 0; i < sizeof f; i++)
        cr_assert_eq(f[i], 0x5a, "image byte %u: the write's data", i);
    close_threaded();
}

/* The end with a flush held on the thread: virtio_blk_free waits for it
 * (joins) and returns once it is done; nothing is left running. */
static void *release_later(void *arg)
{
    (void)arg;
    struct timespec ts = { 0, 200000000 };
    nanosleep(&ts, NULL);
    gate_set(false);
    return NULL;
}

Test(vblk, threaded_free_waits_for_the_flush, .timeout = 60)
{
    open_threaded(0);
    driver_init(STD);
    gate_set(true);
    submit(simple(0, VIRTIO_BLK_T_FLUSH, 0, DATA, 512));
    cr_assert_eq(virtio_blk_work(&blk), VBLK_WAIT);
    gate_wait_entered(1);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, release_later, NULL), 0);
    virtio_blk_free(&blk);
    pthread_mutex_lock(&gate.mu);
    int left = gate.left;
    pthread_mutex_unlock(&gate.mu);
    cr_assert_eq(left, 1, "free returned before the flush was done");
    pthread_join(t, NULL);
    close(wake_fd);
    wake_fd = -1;
    memset(&blk, 0, sizeof blk);         /* teardown's free: nothing open */
    blk.disk.fd = -1;
}

/* A read the host's page cache holds (the image was just written) is
 * served in place: no hand-over to the thread (held here), done at once. */
Test(vblk, threaded_cached_read_in_place, .timeout = 60)
{
    open_threaded(0);
    blk.read_nowait = true;
    driver_init(STD);
    int fd = open(img, O_RDONLY);
    uint8_t f[8192];
    cr_assert_eq(pread(fd, f, sizeof f, 0), (ssize_t)sizeof f);   /* cached */
    close(fd);
    gate_set(true);
    submit(simple(0, VIRTIO_BLK_T_IN, 0, DATA, 8192));
    cr_assert_neq(virtio_blk_work(&blk), VBLK_WAIT);
    cr_assert_eq(status_of(0), VIRTIO_BLK_S_OK, "completed in place");
    cr_assert_eq(gate.entered, 0, "nothing went to the thread");
    cr_assert_eq(blk.st.nowait_reads, 1);
    for (uint32_t i = 0; i < 8192; i += 511)
        cr_assert_eq(phys_read(&ram, DATA + i, 1), pattern(i));
    close_threaded();
}
