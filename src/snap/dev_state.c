/* dev_state.c - rank 0's platform devices in a memory image
 * (snap/state.h): each device's state section in a fixed order, then the
 * disks - each one's image (path, size, read-only) and its virtio state.
 * A load reads everything into temporaries first and installs nothing
 * unless the whole board's state is valid and the disks are the same;
 * then each interrupt source drives its lines again from the state, and
 * each disk's work is marked pending once (a buffer the driver made
 * available before the image was written is seen). debug-exit has no
 * state to save (a run whose guest wrote it has ended). */
#include "snap/state.h"

#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "machine_impl.h"

#define DISKS_TAG SNAP_TAG("DSKS")
#define DISKS_VERSION 1

static uint64_t disk_bytes(const struct board_disk *d)
{
    return d->blk.disk.sectors * DISK_SECTOR + d->blk.disk.tail;
}

void devices_save(const struct machine *m, struct snapw *w)
{
    pic_save(&m->pic.s, w);
    pit_save(&m->pit.s, w);
    uart_save(&m->uart.s, w);
    ioapic_save(&m->ioapic.s, w);
    cmos_save(&m->cmos.s, w);
    acpi_pm_save(&m->acpi_pm.s, w);
    panicwatch_save(&m->panicwatch.s, w);
    snapw_begin(w, DISKS_TAG, DISKS_VERSION);
    snapw_u32(w, (uint32_t)m->ndisks);
    for (int i = 0; i < m->ndisks; i++) {
        const struct board_disk *d = &m->disk[i];
        snapw_str(w, d->path ? d->path : "");
        snapw_u64(w, disk_bytes(d));
        snapw_bool(w, d->blk.disk.ro);
    }
    snapw_end(w);
    for (int i = 0; i < m->ndisks; i++)
        virtio_blk_save(&m->disk[i].blk, w);
}

/* The disks of the image against this machine's: one line naming the
 * first that differs. */
static bool check_disks(const struct machine *m, struct snapr *r)
{
    struct snapr sub;
    uint32_t version;
    if (!snapr_section(r, DISKS_TAG, DISKS_VERSION, &sub, &version))
        return false;
    uint32_t n = snapr_u32(&sub);
    if (!sub.bad && n != (uint32_t)m->ndisks)
        return snapr_fail(r, "the image has %" PRIu32 " disk%s, this machine %d", n,
                          n == 1 ? "" : "s", m->ndisks);
    for (int i = 0; i < m->ndisks && !sub.bad; i++) {
        const struct board_disk *d = &m->disk[i];
        char path[PATH_MAX];
        snapr_str(&sub, path, sizeof path);
        uint64_t size = snapr_u64(&sub);
        bool ro = snapr_bool(&sub);
        if (sub.bad)
            break;
        const char *here = d->path ? d->path : "";
        if (strcmp(path, here) != 0 || size != disk_bytes(d))
            return snapr_fail(r, "disk %d (vd%c) is %s of %" PRIu64 " bytes in the image, "
                              "%s of %" PRIu64 " bytes here", i, 'a' + i, path, size, here,
                              disk_bytes(d));
        if (ro != d->blk.disk.ro)
            return snapr_fail(r, "disk %d (vd%c) %s is %s in the image, %s here", i, 'a' + i,
                              here, ro ? "read-only" : "writable",
                              d->blk.disk.ro ? "read-only" : "writable");
    }
    return snapr_done(&sub, r);
}

bool devices_load(struct machine *m, struct snapr *r)
{
    struct pic_state pic;
    struct pit_state pit;
    struct uart_state uart;
    struct ioapic_state ioapic;
    struct cmos_state cmos;
    struct acpi_pm_state pm;
    struct panicwatch_state pw;
    if (!pic_load(&pic, r) || !pit_load(&pit, r) || !uart_load(&uart, r) ||
        !ioapic_load(&ioapic, r) || !cmos_load(&cmos, r) || !acpi_pm_load(&pm, r) ||
        !panicwatch_load(&pw, r) || !check_disks(m, r))
        return false;
    /* the transports (each load installs only a valid state: the ones
     * before a refused one are put back) */
    struct virtio_mmio_state old[PLATFORM_MAX_DISKS];
    for (int i = 0; i < m->ndisks; i++)
        old[i] = m->disk[i].blk.mmio.s;
    for (int i = 0; i < m->ndisks; i++) {
        if (!virtio_blk_load(&m->disk[i].blk, r)) {
            for (int j = 0; j < i; j++)
                m->disk[j].blk.mmio.s = old[j];
            return false;
        }
    }
    m->pic.s = pic;
    m->pit.s = pit;
    m->uart.s = uart;
    m->ioapic.s = ioapic;
    m->cmos.s = cmos;
    m->acpi_pm.s = pm;
    m->panicwatch.s = pw;
    /* the outputs, from the state: the sources first, then the level
     * lines the I/O APIC has not delivered yet */
    pic_redrive(&m->pic);
    uart_redrive(&m->uart);
    for (int i = 0; i < m->ndisks; i++)
        virtio_mmio_redrive(&m->disk[i].blk.mmio);
    ioapic_redrive(&m->ioapic);
    for (int i = 0; i < m->ndisks; i++)
        board_mark_pending(m, m->disk[i].work);
    return true;
}
