/* vdisk.c - test guest for the virtio-mmio disk (issue 16) at 2 CPUs,
 * driving the device itself: finds it at 0xFEB00000 (magic, version 2,
 * block device), negotiates VIRTIO_F_VERSION_1 + FLUSH, sets up one
 * queue, reads the capacity and GET_ID. Then the cross-CPU code test:
 * CPU 1 writes a function into a page (so that its rank owns the page)
 * and runs it many times (translated); CPU 0 writes different code to
 * disk sector 8 (T_OUT, FLUSH) and reads that sector back into CPU 1's
 * code page (T_IN), the completion interrupt routed through the IOAPIC
 * (pin 16, level) to CPU 1, which acknowledges it on the device and
 * EOIs; CPU 1 runs the function again and must see the new code.
 * Also a read past the end of the disk (IOERR) and an unknown request
 * type (UNSUPP).
 *
 * The disk is the config's `disk` line (run-guest.sh makes a 64 KiB
 * image); QEMU's pc machine has no virtio-mmio: vsmp only. */
#include "lib/smp.h"

#define VBASE 0xfeb00000u
#define IOAPIC 0xfec00000u
#define VEC   0x50
#define QN    8
#define LIMIT TB_MS(60000)
#define PAGE  __attribute__((aligned(4096)))

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
static volatile struct desc desc[QN] PAGE;
static volatile uint16_t avail[2 + QN] PAGE;
static volatile uint32_t used[1 + 2 * QN] PAGE;     /* flags|idx, then id,len pairs */
static volatile uint8_t hdr[16] PAGE;
static volatile uint8_t status;
static uint8_t buf[4096] PAGE;
static uint8_t code[4096] PAGE;                     /* CPU 1's function */
static uint16_t avail_idx, used_seen;
static volatile uint32_t irqs_cpu1, isr_seen;
static volatile uint32_t before, after;

static uint32_t vr(uint32_t off) { return *(volatile uint32_t *)(VBASE + off); }
static void vw(uint32_t off, uint32_t v) { *(volatile uint32_t *)(VBASE + off) = v; }

static void io_w(uint8_t reg, uint32_t v)
{
    *(volatile uint32_t *)IOAPIC = reg;
    *(volatile uint32_t *)(IOAPIC + 0x10) = v;
}

static void on_irq(struct frame *f)
{
    (void)f;
    uint32_t s = vr(0x60);
    isr_seen |= s;
    vw(0x64, s);                                    /* InterruptACK: the line goes low */
    if (smp_cpu() == 1)
        irqs_cpu1++;
    lapic_eoi();
}

/* One request: header, optional data (write: the device reads it),
 * status. Submits, then waits for the used ring (polled on CPU 0).
 * Returns the status byte, 0xff on a timeout. */
static uint8_t request(uint32_t type, uint64_t sector, void *data, uint32_t len, int dev_writes)
{
    for (int i = 0; i < 16; i++)
        hdr[i] = 0;
    hdr[0] = (uint8_t)type;
    for (int i = 0; i < 8; i++)
        hdr[8 + i] = (uint8_t)(sector >> (8 * i));
    status = 0xee;
    int n = 0;
    desc[n] = (struct desc){ (uint32_t)hdr, 16, 1, (uint16_t)(n + 1) };
    n++;
    if (len) {
        desc[n] = (struct desc){ (uint32_t)data, len, (uint16_t)(1 | (dev_writes ? 2 : 0)),
                                 (uint16_t)(n + 1) };
        n++;
    }
    desc[n] = (struct desc){ (uint32_t)&status, 1, 2, 0 };
    avail[2 + avail_idx % QN] = 0;
    avail_idx++;
    __asm__ volatile("" ::: "memory");
    avail[1] = avail_idx;
    vw(0x50, 0);                                    /* QueueNotify */
    uint32_t t0 = tb_now();
    while ((uint16_t)(used[0] >> 16) == used_seen) {
        if (tb_now() - t0 > LIMIT)
            return 0xff;
        cpu_relax();
    }
    used_seen++;
    return status;
}

static void t_code(int me)
{
    if (me == 1) {
        static const uint8_t a[] = { 0xb8, 0x11, 0x11, 0, 0, 0xc3 };   /* mov $0x1111,%eax; ret */
        for (int i = 0; i < 4096; i++)
            code[i] = 0x90;
        memcpy(code, a, sizeof a);
        uint32_t r = 0;
        for (int i = 0; i < 1000; i++)
            r = ((uint32_t (*)(void))code)();
        before = r;
    }
    if (smp_barrier(me))
        return;
    if (me == 0) {
        /* interrupts for the read to CPU 1 */
        io_w(0x10 + 2 * 16 + 1, (uint32_t)smp.apic_id[1] << 24);
        io_w(0x10 + 2 * 16, VEC | 0x8000);          /* level, unmasked, fixed */
        status = request(0 /* T_IN */, 8, code, 512, 1);
    } else {
        uint32_t t0 = 0;
        __asm__ volatile("sti");
        while (!irqs_cpu1 && t0++ < 200000000u && !smp_stop(me))
            cpu_relax();
        __asm__ volatile("cli");
    }
    if (smp_barrier(me))
        return;
    if (me == 1)
        after = ((uint32_t (*)(void))code)();
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    pic_remap(0x20, 0x28);
    smp_init(mbi);
    idt_set(VEC, on_irq, 0, 0);
    printf("vdisk: magic %s, version %u, device %u\n",
           vr(0) == 0x74726976u ? "ok" : "WRONG", vr(4), vr(8));
    vw(0x70, 0);
    vw(0x70, 1);
    vw(0x70, 3);
    vw(0x14, 1);
    uint32_t f1 = vr(0x10);
    vw(0x14, 0);
    uint32_t f0 = vr(0x10);
    printf("vdisk: VERSION_1 %s, FLUSH %s, RO %s\n", f1 & 1 ? "yes" : "no",
           f0 & (1u << 9) ? "yes" : "no", f0 & (1u << 5) ? "yes" : "no");
    vw(0x24, 0);
    vw(0x20, 1u << 9);
    vw(0x24, 1);
    vw(0x20, 1);
    vw(0x70, 3 | 8);
    CHECK(0x20, vr(0x70) & 8);
    vw(0x30, 0);
    CHECK(0x21, vr(0x34) >= QN && vr(0x44) == 0);
    vw(0x38, QN);
    vw(0x80, (uint32_t)desc);
    vw(0x84, 0);
    vw(0x90, (uint32_t)avail);
    vw(0x94, 0);
    vw(0xa0, (uint32_t)used);
    vw(0xa4, 0);
    vw(0x44, 1);
    vw(0x70, 3 | 8 | 4);
    uint32_t cap = vr(0x100), cap_hi = vr(0x104);
    printf("vdisk: capacity %u sectors (high %u)\n", cap, cap_hi);

    uint8_t st = request(8 /* GET_ID */, 0, buf, 20, 1);
    buf[20] = 0;
    printf("vdisk: get_id status %u: %s\n", st, (char *)buf);

    /* the new code, written to sector 8 and flushed */
    static const uint8_t b[] = { 0xb8, 0x22, 0x22, 0, 0, 0xc3 };    /* mov $0x2222,%eax; ret */
    for (int i = 0; i < 512; i++)
        buf[i] = 0x90;
    memcpy(buf, b, sizeof b);
    printf("vdisk: write status %u\n", request(1 /* T_OUT */, 8, buf, 512, 0));
    printf("vdisk: flush status %u\n", request(4 /* T_FLUSH */, 0, buf, 0, 0));
    printf("vdisk: read past the end: status %u (1 = IOERR)\n",
           request(0 /* T_IN */, cap, buf, 512, 1));
    printf("vdisk: unknown type: status %u (2 = UNSUPP)\n", request(77, 0, buf, 512, 1));

    if (smp.ncpus < 2)
        fail(0x22, "vdisk needs 2 CPUs");
    if (smp_run_all(t_code, LIMIT) || smp_failed)
        fail(0x23, "vdisk: timeout in the code test");
    printf("vdisk: cpu 1 ran %x, then after the disk read into its code page %x\n",
           before, after);
    printf("vdisk: read status %u, interrupts on cpu 1: %u, status bits seen %x\n",
           status, irqs_cpu1, isr_seen);
    printf("vdisk: interrupt line after the ack: %s\n", vr(0x60) == 0 ? "low" : "HIGH");
    printf("vdisk done\n");
    return 0;
}
