/* board.c - the board of a rank's machine: which devices there are and
 * how they are wired (ports, MMIO windows, interrupt lines), the glue
 * between the CPU and them, construction and teardown, and the devices'
 * work on guest RAM that rank 0 does between slices (docs/devices.md).
 * The PC it builds is described once in boot/platform.h (CPUs, RAM,
 * IOAPIC, ISA IRQ routing, device windows); the MP table and the memory
 * map are derived from the same description.
 *
 * Interrupt wiring (the PC's, with APICs):
 *   ISA IRQ n (PIT 0, UART 4) -> 8259 input n  and  IOAPIC pin plat.isa_pin[n]
 *   8259 INTR                 -> local APIC LINT0 (ExtINT: virtual wire)
 *                                and IOAPIC pin plat.extint_pin (0)
 *   IOAPIC messages, IPIs     -> xrank_route(): this rank's APIC when it
 *                                is a destination; other ranks by MSG_IPI
 *   local APIC INTR output    -> cpu.intr; INTA = apic_intr_ack()
 * Rank 0 is the only rank with devices; every rank has its APIC, whose
 * MMIO window is local to the rank (never forwarded to rank 0). On the
 * other ranks every port, and every MMIO window the platform marks as
 * rank 0's, is forwarded to rank 0 (src/xrank.c).
 *
 * A new device: its model in src/io/ (registering its ports on the iobus
 * or its MMIO window in phys), one line in setup_devices() below and one
 * window in platform_describe() (boot/platform.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/linux.h"
#include "boot/mptable.h"
#include "boot/multiboot.h"
#include "boot/resetvec.h"
#include "boot/rom.h"
#include "cpu/coherence.h"
#include "cpu/system.h"
#include "machine_impl.h"
#include "snap/checkpoint.h"
#include "watchdog.h"

_Static_assert(VSMP_EXIT_NO_ANSWER == WATCHDOG_EXIT_STATUS, "one status for the answer timeout");
_Static_assert(CONFIG_MAX_DISKS == PLATFORM_MAX_DISKS, "one disk limit");

/* ---- clocks ---- */

/* The clock all ranks agree on (rank 0's monotonic clock, vclock.h). */
static uint64_t machine_now_ns(void *ctx)
{
    struct machine *m = ctx;
    return vclock_now_ns(&m->clock);
}

static uint64_t machine_wall_ns(void *ctx)
{
    struct machine *m = ctx;
    return vclock_wall_ns(&m->clock);
}

/* ---- glue between the CPU and the devices ---- */

/* Ports: rank 0 dispatches on its iobus; another rank forwards what the
 * platform's window table gives to rank 0 (every port today). */
static uint32_t bus_in(void *ctx, uint16_t port, int size)
{
    struct machine *m = ctx;
    if (!m->devices && platform_forwarded(&m->plat, PW_PORT, port, (uint32_t)size))
        return xrank_forward(m, PW_PORT, "port", false, size, port, 0);
    return iobus_in(&m->io, port, size);
}

static void bus_out(void *ctx, uint16_t port, int size, uint32_t value)
{
    struct machine *m = ctx;
    if (!m->devices && platform_forwarded(&m->plat, PW_PORT, port, (uint32_t)size)) {
        xrank_forward(m, PW_PORT, "port", true, size, port, value);
        return;
    }
    iobus_out(&m->io, port, size, value);
}

/* Ranks != 0: a rank-0 MMIO window (the IOAPIC's, ...) forwards to rank
 * 0 with the absolute address. */
static uint32_t fwd_mmio_read(void *ctx, uint32_t offset, int size)
{
    const struct fwd_window *f = ctx;
    return xrank_forward(f->m, PW_MMIO, f->w->name, false, size, f->w->base + offset, 0);
}

static void fwd_mmio_write(void *ctx, uint32_t offset, int size, uint32_t value)
{
    const struct fwd_window *f = ctx;
    xrank_forward(f->m, PW_MMIO, f->w->name, true, size, f->w->base + offset, value);
}

/* INTA: the local APIC answers (for an ExtINT request it runs the 8259's
 * INTA through apic_extint_ack()). */
static int bus_intr_ack(void *ctx)
{
    struct machine *m = ctx;
    return apic_intr_ack(&m->apic);
}

/* The 8259 pair's INTR output: LINT0 of the boot CPU's APIC (virtual
 * wire) and IOAPIC pin 0 (the MP table's ExtINT entry). */
static void pic_intr_out(void *ctx, int level)
{
    struct machine *m = ctx;
    apic_set_lint(&m->apic, 0, level);
    ioapic_set_irq(&m->ioapic, m->plat.extint_pin, level);
}

/* An ISA interrupt request line goes to both controllers. */
static void isa_irq_line(void *ctx, int irq, int level)
{
    struct machine *m = ctx;
    pic_set_irq(&m->pic, irq, level);
    if (irq >= 0 && irq < PLATFORM_ISA_IRQS && m->plat.isa_pin[irq] != PLATFORM_NO_PIN)
        ioapic_set_irq(&m->ioapic, m->plat.isa_pin[irq], level);
}

/* ---- local APIC callbacks ---- */

static void lapic_intr_out(void *ctx, int level)
{
    struct machine *m = ctx;
    m->cpu.intr = level;
}

static int lapic_extint_ack(void *ctx)
{
    struct machine *m = ctx;
    if (m->devices)
        return pic_ack(&m->pic);
    return (int)(m->apic.svr & 0xff);    /* no 8259 on this rank: spurious */
}

static void lapic_send(void *ctx, const struct apic_msg *msg)
{
    xrank_route(ctx, msg);
}

static void lapic_eoi(void *ctx, uint8_t vector)
{
    struct machine *m = ctx;
    if (m->devices)
        ioapic_eoi(&m->ioapic, vector);
    else
        xrank_eoi(m, vector);
}

static void lapic_nmi(void *ctx)
{
    struct machine *m = ctx;
    m->cpu.nmi = 1;
}

/* INIT and STARTUP act on the CPU between instructions: queued here (the
 * CPU may be inside an instruction, waiting in a DSM fault) and applied
 * by apply_cpu_events() once cpu_run() returned. */
static void lapic_init_cpu(void *ctx)
{
    struct machine *m = ctx;
    m->cpu_ev[0] = CPU_EV_INIT;          /* INIT discards earlier STARTUPs */
    m->ncpu_ev = 1;
    m->cpu.exit_request = 1;
}

static void lapic_sipi(void *ctx, uint8_t vector)
{
    struct machine *m = ctx;
    if (m->ncpu_ev < CPU_EV_MAX)
        m->cpu_ev[m->ncpu_ev++] = vector;
    m->cpu.exit_request = 1;
}

/* This APIC's addressing changed: tell every rank (lowest priority). */
static void lapic_changed(void *ctx, const struct apic *a)
{
    xrank_apic_changed(ctx, a);
}

static const struct apic_ops lapic_ops = {
    .now_ns = machine_now_ns,
    .intr_out = lapic_intr_out,
    .extint_ack = lapic_extint_ack,
    .send = lapic_send,
    .eoi = lapic_eoi,
    .nmi = lapic_nmi,
    .init = lapic_init_cpu,
    .sipi = lapic_sipi,
    .changed = lapic_changed,
};

/* IOAPIC output: a message routed like an IPI from rank 0's APIC. */
static void ioapic_deliver_msg(void *ctx, uint8_t dest, bool logical, int mode,
                               uint8_t vector, bool trigger_level)
{
    struct machine *m = ctx;
    struct apic_msg msg = {
        .vector = vector, .mode = (uint8_t)mode, .shorthand = APIC_SH_NONE,
        .dest = dest, .logical = logical, .trigger_level = trigger_level,
        .source = m->apic.id,
    };
    xrank_route(m, &msg);
}

static void dbg_exit(void *ctx)
{
    struct machine *m = ctx;
    m->cpu.exit_request = 1;
    machine_end_run(m, m->dbg.status);
}

/* ACPI S5 (power-off) and the FADT reset register both end the run with
 * status 0: vsmp does not restart a guest. */
static void acpi_pm_event(void *ctx, enum acpi_pm_event ev)
{
    struct machine *m = ctx;
    if (ev == ACPI_PM_RESET && !m->stop)
        fprintf(stderr, "vsmp: the guest reset the machine (ACPI reset register); "
                "vsmp does not restart guests: the run ends with status 0\n");
    m->cpu.exit_request = 1;
    machine_end_run(m, 0);
}

static void guest_panicked(void *ctx)
{
    struct machine *m = ctx;
    if (!m->stop)
        fprintf(stderr, "vsmp: the guest kernel panicked (console above); "
                "the run ends with status %d\n", VSMP_EXIT_GUEST_PANIC);
    m->cpu.exit_request = 1;
    machine_end_run(m, VSMP_EXIT_GUEST_PANIC);
}

static void console_tx(void *ctx, const uint8_t *buf, size_t n)
{
    struct machine *m = ctx;
    console_output(&m->con, buf, n);
    panicwatch_feed(&m->panicwatch, buf, n);
}

/* ---- the devices' work on guest RAM (docs/devices.md) ---- */

int board_add_work(struct machine *m, void (*run)(void *ctx), void *ctx)
{
    if (m->nwork >= BOARD_MAX_WORK || !run)
        return -1;
    m->work[m->nwork] = (struct board_work){ .run = run, .ctx = ctx };
    return m->nwork++;
}

/* From a register access: only a flag, no guest RAM touched. */
void board_mark_pending(struct machine *m, int handle)
{
    if (handle < 0 || handle >= m->nwork)
        return;
    board_continue(m, handle);
    m->cpu.exit_request = 1;             /* do it at the end of this slice */
}

void board_continue(struct machine *m, int handle)
{
    if (handle < 0 || handle >= m->nwork)
        return;
    m->work[handle].pending = true;
    m->work[handle].waiting = false;
    m->work_pending = true;
}

void board_wait_io(struct machine *m, int handle)
{
    if (handle < 0 || handle >= m->nwork)
        return;
    if (!m->work[handle].pending)
        m->work[handle].waiting = true;
    m->work[handle].pending = true;
    m->work_pending = true;
}

bool board_work_runnable(const struct machine *m)
{
    if (!m->work_pending)
        return false;
    for (int i = 0; i < m->nwork; i++)
        if (m->work[i].pending && !m->work[i].waiting)
            return true;
    return false;
}

/* Rank 0, between slices (never inside an access or a DSM wait): every
 * pending work, once; work marked meanwhile runs at the next call. Guest
 * RAM is reached through phys (the DSM), as a CPU reaches it. */
void board_run_pending(struct machine *m)
{
    if (!m->work_pending)
        return;
    m->work_pending = false;
    for (int i = 0; i < m->nwork; i++) {
        if (!m->work[i].pending)
            continue;
        m->work[i].pending = false;
        m->work[i].waiting = false;
        m->work[i].run(m->work[i].ctx);
    }
}

/* ---- construction ---- */

/* This rank's local APIC (ID = rank, BSP on rank 0), mapped in its phys.
 * Before the devices: the 8259 drives LINT0 from pic_init() on. */
static int setup_apic(struct machine *m, int rank)
{
    m->rank = rank;
    apic_init(&m->apic, (uint8_t)rank, rank == 0, &lapic_ops, m);
    return apic_map(&m->apic, &m->phys);
}

/* Plug the APIC into the CPU (after cpu_init()/cpu_reset()). */
static void attach_apic(struct machine *m)
{
    m->cpu.apic = &m->apic;
    m->cpu.apic_base = apic_get_base(&m->apic);   /* BSP bit: cpu_apic_init() */
    m->cpu.intr = m->apic.out;
}

/* ---- disks (virtio-mmio block devices, docs/devices.md) ---- */

static void disk_kick(void *ctx)
{
    struct board_disk *d = ctx;
    board_mark_pending(d->m, d->work);
}

static void disk_work(void *ctx)
{
    struct board_disk *d = ctx;
    int r = virtio_blk_work(&d->blk);
    if (r == VBLK_MORE)
        board_continue(d->m, d->work);
    else if (r == VBLK_WAIT)
        board_wait_io(d->m, d->work);
}

/* Line i's image is the file of an earlier line's: refused (the second
 * open would only meet the first's lock, "in use by another vsmp job").
 * 0, or -1 with "CONFIG:LINE: IMAGE: ..." in err. */
static int same_image(struct machine *m, const struct config *cfg, int i, char *err,
                      size_t errlen)
{
    const struct config_disk *c = &cfg->disk[i];
    struct stat st;
    if (stat(c->path, &st) != 0)
        return 0;                        /* diskfile_open says why */
    for (int j = 0; j < i; j++) {
        const struct diskfile *o = &m->disk[j].blk.disk;
        if (o->dev != (uint64_t)st.st_dev || o->ino != (uint64_t)st.st_ino)
            continue;
        if (c->ro && cfg->disk[j].ro)
            continue;                    /* read-only users may share */
        snprintf(err, errlen, "%s:%d: %s: the same image as the disk on line %d "
                 "(one image backs one writable disk)", cfg->file, c->line, c->path,
                 cfg->disk[j].line);
        return -1;
    }
    return 0;
}

/* Each `disk` line: its image opened and locked, the device in its
 * window, its interrupt on IOAPIC pin 16 + i. 0, or -1 with
 * "CONFIG:LINE: IMAGE: cause" in err. */
static int setup_disks(struct machine *m, const struct config *cfg, char *err, size_t errlen)
{
    for (int i = 0; i < cfg->ndisks && i < m->plat.nvirtio; i++) {
        struct board_disk *d = &m->disk[i];
        const struct config_disk *c = &cfg->disk[i];
        struct diskfile df;
        char why[768];
        if (same_image(m, cfg, i, err, errlen))
            return -1;
        if (diskfile_open(&df, c->path, c->ro, why, sizeof why)) {
            snprintf(err, errlen, "%s:%d: %s", cfg->file, c->line, why);
            return -1;
        }
        char serial[VIRTIO_BLK_ID_BYTES + 1];
        snprintf(serial, sizeof serial, "vsmp-disk-%d", i);
        d->m = m;
        d->work = board_add_work(m, disk_work, d);
        const struct acpi_virtio_mmio *v = &m->plat.virtio[i];
        struct irq_line irq = { ioapic_irq_line, &m->ioapic, (int)v->gsi };
        if (d->work < 0 ||
            virtio_blk_init(&d->blk, &m->phys, &df, serial, 0, irq, disk_kick, d)) {
            diskfile_close(&df);
            snprintf(err, errlen, "%s:%d: %s: cannot set up the disk", cfg->file, c->line, c->path);
            return -1;
        }
        d->live = true;
        m->ndisks = i + 1;
        d->path = realpath(c->path, NULL);       /* the same file from any folder */
        if (!d->path) {
            snprintf(err, errlen, "%s:%d: %s: %s", cfg->file, c->line, c->path, strerror(errno));
            return -1;
        }
        if (m->io_wake_fd < 0)
            m->io_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (m->io_wake_fd < 0 || virtio_blk_start_io(&d->blk, m->io_wake_fd)) {
            snprintf(err, errlen, "%s:%d: %s: cannot start the disk's I/O thread: %s", cfg->file,
                     c->line, c->path, strerror(errno));
            return -1;
        }
        if (phys_add_mmio(&m->phys, v->base, v->size, &d->blk.mmio, virtio_mmio_read,
                          virtio_mmio_write)) {
            snprintf(err, errlen, "%s:%d: cannot map the disk's window", cfg->file, c->line);
            return -1;
        }
    }
    return 0;
}

static int setup_devices(struct machine *m, const struct config *cfg)
{
    iobus_init(&m->io);
    ioapic_init(&m->ioapic, m->plat.ioapic_id, ioapic_deliver_msg, m);
    if (ioapic_map(&m->ioapic, &m->phys, m->plat.ioapic_base))
        return -1;
    pic_init(&m->pic, pic_intr_out, m);
    pit_init(&m->pit, vclock_now_ns, &m->clock, (struct irq_line){ isa_irq_line, m, 0 });
    uart_init(&m->uart, 0x3f8, (struct irq_line){ isa_irq_line, m, 4 },
              console_tx, m);
    cmos_init(&m->cmos, cfg->memory, vclock_wall, &m->clock);
    debugexit_init(&m->dbg, dbg_exit, m);
    acpi_pm_init(&m->acpi_pm, ACPI_SLP_TYP_S5, acpi_pm_event, m);
    panicwatch_init(&m->panicwatch, guest_panicked, m);
    if (pic_register(&m->pic, &m->io) || pit_register(&m->pit, &m->io) ||
        uart_register(&m->uart, &m->io) || cmos_register(&m->cmos, &m->io) ||
        debugexit_register(&m->dbg, &m->io) || acpi_pm_register(&m->acpi_pm, &m->io) ||
        ckpt_port_register(m))
        return -1;
    m->devices = true;
    bool stdio = cfg->console == CONSOLE_STDIO;
    console_init(&m->con, stdio ? STDIN_FILENO : -1, stdio ? STDOUT_FILENO : -1,
                 m->opts.console_escapes);
    return 0;
}

/* RAM: private, or (N > 1) the transport's copy area. */
static struct machine *alloc_machine(const struct config *cfg, const struct machine_opts *opts,
                                     int rank, char *err, size_t errlen)
{
    struct machine *m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "%s: out of memory", cfg->file);
        return NULL;
    }
    console_init(&m->con, -1, -1, false);
    m->io_wake_fd = -1;
    m->opts = *opts;
    m->rank = rank;
    m->st.rank = rank;
    vclock_init(&m->clock, opts->clock_offset_ns);
    const struct dsm_transport *t = opts->transport;
    m->ncpus = opts->ncpus > 0 ? opts->ncpus : cfg->cpus > 0 ? cfg->cpus : 1;
    if (t && (t->nranks != m->ncpus || t->rank != rank || t->ram_bytes != cfg->memory)) {
        snprintf(err, errlen, "%s: internal error: DSM transport of %d ranks, %zu bytes "
                 "for %d CPUs, %u bytes", cfg->file, t->nranks, t->ram_bytes, m->ncpus,
                 cfg->memory);
        free(m);
        return NULL;
    }
    if (m->ncpus <= rank)
        m->ncpus = rank + 1;
    platform_describe(&m->plat, m->ncpus, cfg->memory, cfg->ndisks);
    int rc = t ? phys_init_borrowed(&m->phys, t->ram, cfg->memory)
               : phys_init(&m->phys, cfg->memory);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot allocate %u MiB of guest RAM: %s",
                 cfg->file, cfg->memory >> 20, strerror(errno));
        free(m);
        return NULL;
    }
    m->has_phys = true;
    slicer_init(&m->slicer, t && m->ncpus > 1 ? SMP_QUANTUM_NS : QUANTUM_NS, m->opts.slice);
    return m;
}

/* The CPU with its bus; `jit_cache` from the options or the config. */
static void setup_cpu(struct machine *m, const struct config *cfg)
{
    struct cpu_bus bus = { .ctx = m, .io_in = bus_in, .io_out = bus_out,
                           .intr_ack = bus_intr_ack, .clock_ns = machine_now_ns,
                           .wall_ns = machine_wall_ns };
    cpu_init(&m->cpu, &m->phys, &bus);
    if (m->opts.interp)
        m->cpu.use_jit = false;
    m->cpu.jit_cache_size = (size_t)(m->opts.jit_cache ? m->opts.jit_cache : cfg->jit_cache);
    m->has_cpu = true;
    cpu_reset(&m->cpu);
}

/* N > 1: the DSM over the transport, the CPU attached to it, the peer
 * table (every APIC starts in the same state, with ID = rank). */
static int setup_smp(struct machine *m, const struct config *cfg, char *err, size_t errlen)
{
    const struct dsm_transport *t = m->opts.transport;
    if (!t)
        return 0;
    m->tr = t;
    struct dsm_config dc = {
        .pull = m->opts.dsm_pull,
        .take = m->opts.dsm_take,
        .migratory = !m->opts.dsm_no_migratory,
        .on_lose = coherence_lose, .on_lose_arg = &m->cpu,
        .on_msg = xrank_on_msg, .on_msg_arg = m,
    };
    if (m->opts.answer_timeout_ns) {
        m->answer_limit_ns = m->opts.answer_timeout_ns + m->opts.answer_timeout_ns / 4;
        dc.answer_timeout_ns = m->answer_limit_ns;
        dc.on_stall = xrank_on_stall;
        dc.on_stall_arg = m;
        dc.on_wait = xrank_on_wait;
        dc.on_wait_arg = m;
    }
    m->peers = calloc((size_t)m->ncpus, sizeof *m->peers);
    m->done_from = calloc((size_t)m->ncpus, sizeof *m->done_from);
    m->ck.sent_to = calloc((size_t)m->ncpus, sizeof *m->ck.sent_to);
    m->ck.recv_from = calloc((size_t)m->ncpus, sizeof *m->ck.recv_from);
    if (m->devices) {
        m->text = calloc((size_t)m->ncpus, sizeof *m->text);
        m->stuck = calloc((size_t)m->ncpus, sizeof *m->stuck);
    }
    m->dsm = dsm_create(t, &dc);
    if (!m->peers || !m->done_from || !m->ck.sent_to || !m->ck.recv_from || (m->devices && (!m->text || !m->stuck)) || !m->dsm) {
        snprintf(err, errlen, "%s: cannot set up the shared memory", cfg->file);
        return -1;
    }
    for (int r = 0; r < m->ncpus; r++) {
        apic_peer_state(&m->apic, &m->peers[r]);
        m->peers[r].id = (uint8_t)r;
    }
    coherence_attach(&m->cpu, m->dsm);
    m->ipi_transport = true;
    /* Ranks != 0: the MMIO windows of rank 0's devices forward there. */
    for (int i = 0; i < m->plat.nwindows && !m->devices; i++) {
        const struct platform_window *w = &m->plat.window[i];
        if (w->space != PW_MMIO || w->where != PW_RANK0)
            continue;
        m->fwd[i] = (struct fwd_window){ .m = m, .w = w };
        if (phys_add_mmio(&m->phys, w->base, w->size, &m->fwd[i], fwd_mmio_read,
                          fwd_mmio_write)) {
            snprintf(err, errlen, "%s: cannot map the %s window", cfg->file, w->name);
            return -1;
        }
    }
    return 0;
}

/* A Linux bzImage (0), something else (1: the caller tries Multiboot)
 * or an error (-1, message in err). The memory map is the platform's,
 * the ACPI tables' address the fixed one (boot/acpi.h). */
static int load_linux(struct machine *m, const struct config *cfg, struct linux_boot *lb,
                      char *err, size_t errlen)
{
    struct e820_entry map[8];
    int n = platform_e820(&m->plat, map, 8);
    if (n < 0) {
        snprintf(err, errlen, "%s: internal error: the memory map does not fit", cfg->file);
        return -1;
    }
    struct linux_params lp = { .cmdline = cfg->cmdline, .rsdp_addr = ACPI_RSDP_ADDR,
                               .e820 = map, .ne820 = n };
    return linux_load_files(&m->phys, cfg->kernel, cfg->initrd, &lp, lb, err, errlen);
}

struct machine *machine_create(const struct config *cfg, const struct machine_opts *opts,
                               char *err, size_t errlen)
{
    struct machine *m = alloc_machine(cfg, opts, 0, err, errlen);
    if (!m)
        return NULL;
    if (setup_apic(m, 0) || setup_devices(m, cfg)) {
        snprintf(err, errlen, "%s: cannot set up the devices", cfg->file);
        machine_destroy(m);
        return NULL;
    }
    if (setup_disks(m, cfg, err, errlen)) {
        machine_destroy(m);
        return NULL;
    }
    setup_cpu(m, cfg);
    if (setup_smp(m, cfg, err, errlen)) {
        machine_destroy(m);
        return NULL;
    }
    if (m->opts.restore) {
        /* RAM, CPU and devices come from the image (ckpt_restore) */
    } else if (cfg->rom) {
        if (rom_load(&m->phys, cfg->rom, err, errlen)) {
            machine_destroy(m);
            return NULL;
        }
        cpu_reset(&m->cpu);
    } else {
        struct linux_boot lb;
        int lrc = load_linux(m, cfg, &lb, err, errlen);
        if (lrc < 0) {
            machine_destroy(m);
            return NULL;
        }
        if (lrc == 0) {
            /* the 32-bit boot protocol's entry state (boot/linux.h) */
            cpu_set_flat32(&m->cpu);
            m->cpu.gdtr.base = LINUX_GDT_ADDR;
            m->cpu.gdtr.limit = 31;
            m->cpu.r[R_ESI] = lb.params;
            m->cpu.eip = lb.entry;
        } else {
            struct mb_boot boot;
            if (multiboot_load_platform_files(&m->phys, &m->plat, cfg->kernel, cfg->initrd,
                                              cfg->cmdline, &boot, err, errlen)) {
                machine_destroy(m);
                return NULL;
            }
            cpu_set_flat32(&m->cpu);
            m->cpu.r[R_EAX] = boot.eax;
            m->cpu.r[R_EBX] = boot.ebx;
            m->cpu.eip = boot.entry;
        }
    }
    attach_apic(m);
    if (!cfg->rom && !m->opts.restore) {
        /* A Multiboot kernel has no firmware to describe the CPUs and
         * interrupt controllers: write the MP table (ROMs bring their own). */
        struct mptable_config mp = platform_mptable(&m->plat);
        mp.cpu_signature = cpu_cpuid_signature();
        mp.cpu_features = cpu_cpuid_features(&m->cpu);
        if (mptable_write(&m->phys, &mp)) {
            snprintf(err, errlen, "%s: cannot write the MP table for %d CPUs",
                     cfg->file, m->ncpus);
            machine_destroy(m);
            return NULL;
        }
        struct acpi_config acpi = platform_acpi(&m->plat);
        if (acpi_write(&m->phys, &acpi) ||
            resetvec_write(&m->phys, ACPI_RESET_PORT, ACPI_RESET_VALUE)) {
            snprintf(err, errlen, "%s: cannot write the ACPI tables for %d CPUs",
                     cfg->file, m->ncpus);
            machine_destroy(m);
            return NULL;
        }
    }
    return m;
}

struct machine *machine_create_ap(const struct config *cfg, const struct machine_opts *opts,
                                  int rank, char *err, size_t errlen)
{
    struct machine *m = alloc_machine(cfg, opts, rank, err, errlen);
    if (!m)
        return NULL;
    if (setup_apic(m, rank)) {
        snprintf(err, errlen, "%s: cannot map the local APIC", cfg->file);
        machine_destroy(m);
        return NULL;
    }
    setup_cpu(m, cfg);
    if (setup_smp(m, cfg, err, errlen)) {
        machine_destroy(m);
        return NULL;
    }
    attach_apic(m);
    m->cpu.wait_sipi = true;
    return m;
}

void machine_destroy(struct machine *m)
{
    if (!m)
        return;
    if (m->devices)
        uart_flush(&m->uart);
    for (int i = 0; i < m->ndisks; i++) {   /* joins the I/O threads */
        if (m->disk[i].live)
            virtio_blk_free(&m->disk[i].blk);
        free(m->disk[i].path);
    }
    if (m->io_wake_fd >= 0)
        close(m->io_wake_fd);
    if (m->has_cpu)
        cpu_free(&m->cpu);
    dsm_free(m->dsm);
    if (m->has_phys)
        phys_free(&m->phys);
    free(m->peers);
    free(m->done_from);
    free(m->text);
    free(m->stuck);
    free(m->ck.sent_to);
    free(m->ck.recv_from);
    free(m);
}
