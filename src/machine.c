/* machine.c - builds a rank's machine (phys, CPU, local APIC, devices,
 * boot image, MP table) and runs rank 0's CPU: instruction slices, device
 * and APIC timer polling between them, and a sleeping wait while the
 * guest halts.
 *
 * Interrupt wiring (the PC's, with APICs):
 *   ISA IRQ n (PIT 0, UART 4) -> 8259 input n  and  IOAPIC pin ioapic_isa_pin(n)
 *   8259 INTR                 -> local APIC LINT0 (ExtINT: virtual wire)
 *                                and IOAPIC pin 0
 *   IOAPIC messages, IPIs     -> route_msg(): this rank's APIC when it is a
 *                                destination; other ranks via machine_send_ipi()
 *   local APIC INTR output    -> cpu.intr; INTA = apic_intr_ack()
 * Rank 0 is the only rank with devices; every rank has its APIC, whose
 * MMIO window is local to the rank (never forwarded to rank 0). */
#include "machine.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu/apic.h"
#include "cpu/cpu.h"
#include "cpu/system.h"
#include "io/cmos.h"
#include "io/debugexit.h"
#include "io/ioapic.h"
#include "io/iobus.h"
#include "io/mptable.h"
#include "io/multiboot.h"
#include "io/pic.h"
#include "io/pit.h"
#include "io/rom.h"
#include "io/uart.h"
#include "mem/phys.h"

#define DEFAULT_SLICE 20000
#define POLL_INPUT_NS 1000000ull     /* look at stdin at most every 1 ms */
#define FLUSH_NS 50000000ull         /* flush a partial output line after 50 ms */
#define WAIT_MIN_NS 50000ull         /* halted: shortest sleep */
#define WAIT_MAX_NS 100000000ull     /* halted: longest sleep */

struct machine {
    struct phys phys;
    struct cpu cpu;
    bool has_cpu, has_phys;
    bool devices;                /* rank 0 */
    struct iobus io;
    struct pic pic;
    struct pit pit;
    struct uart uart;
    struct cmos cmos;
    struct debugexit dbg;
    struct apic apic;            /* this rank's local APIC (every rank) */
    struct ioapic ioapic;        /* rank 0 */
    int rank, ncpus;
    uint64_t ipis_dropped;       /* messages for other ranks (no transport yet) */
    bool ipi_transport;          /* other ranks can reach this one (NMI, INIT):
                                  * TODO(MPI transport): set it with machine_send_ipi() */
    struct machine_opts opts;
    int out_fd;                  /* console output, -1: none */
    int in_fd;                   /* console input, -1: none or EOF */
    uint64_t next_input_poll;
    uint64_t last_flush;
};

/* ---- host clocks ---- */

static uint64_t host_now_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void host_wall(void *ctx, struct timespec *ts)
{
    (void)ctx;
    clock_gettime(CLOCK_REALTIME, ts);
}

/* ---- glue between the CPU and the devices ---- */

static uint32_t bus_in(void *ctx, uint16_t port, int size)
{
    struct machine *m = ctx;
    return iobus_in(&m->io, port, size);
}

static void bus_out(void *ctx, uint16_t port, int size, uint32_t value)
{
    struct machine *m = ctx;
    iobus_out(&m->io, port, size, value);
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
    ioapic_set_irq(&m->ioapic, 0, level);
}

/* An ISA interrupt request line goes to both controllers. */
static void isa_irq_line(void *ctx, int irq, int level)
{
    struct machine *m = ctx;
    pic_set_irq(&m->pic, irq, level);
    ioapic_set_irq(&m->ioapic, ioapic_isa_pin(irq), level);
}

/* ---- interrupt messages between APICs ---- */

/* TODO(MPI transport, src/mpi/dsm_mpi.c): hand `msg` (an IPI or an IOAPIC
 * redirection that may have destinations on other ranks) to the
 * transport, which delivers it to every other rank; each receiver runs
 * apic_receive() on its own APIC (lowest priority: see apic_route() with a
 * table of every rank's struct apic_peer, kept current through the
 * `changed` op). Until the transport lands, only rank 0's CPU runs and
 * such messages are dropped here (counted in ipis_dropped). */
static void machine_send_ipi(struct machine *m, const struct apic_msg *msg)
{
    (void)msg;
    m->ipis_dropped++;
}

/* Does m reach only the sending/owning rank's APIC, which took it? */
static bool msg_is_local_only(const struct machine *m, const struct apic_msg *msg, bool taken)
{
    if (msg->shorthand == APIC_SH_SELF)
        return true;
    if (msg->shorthand != APIC_SH_NONE)
        return false;                    /* all including/excluding self */
    if (msg->mode == APIC_DM_LOWEST && taken)
        return true;                     /* one target: prefer the local rank */
    return !msg->logical && msg->dest != 0xff && msg->dest == m->apic.id;
}

/* Deliver an interrupt message to its destinations: this rank's APIC when
 * it is one of them, the other ranks through machine_send_ipi(). */
static void route_msg(struct machine *m, const struct apic_msg *msg)
{
    bool taken = apic_receive(&m->apic, msg);
    if (m->ncpus > 1 && !msg_is_local_only(m, msg, taken))
        machine_send_ipi(m, msg);
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
    route_msg(ctx, msg);
}

static void lapic_eoi(void *ctx, uint8_t vector)
{
    struct machine *m = ctx;
    /* TODO(MPI transport): on other ranks the EOI of a level-triggered
     * vector must reach rank 0's IOAPIC as a message. */
    if (m->devices)
        ioapic_eoi(&m->ioapic, vector);
}

static void lapic_nmi(void *ctx)
{
    struct machine *m = ctx;
    m->cpu.nmi = 1;
}

static void lapic_init_cpu(void *ctx)
{
    struct machine *m = ctx;
    cpu_apic_init(&m->cpu);
}

static void lapic_sipi(void *ctx, uint8_t vector)
{
    struct machine *m = ctx;
    cpu_sipi(&m->cpu, vector);
}

static void lapic_changed(void *ctx, const struct apic *a)
{
    /* TODO(MPI transport): broadcast apic_peer_state(a) so that every
     * rank can route logical and lowest-priority messages. */
    (void)ctx;
    (void)a;
}

static const struct apic_ops lapic_ops = {
    .now_ns = host_now_ns,      /* TODO(clock sync): the synchronized clock */
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
    route_msg(m, &msg);
}

static void dbg_exit(void *ctx)
{
    struct machine *m = ctx;
    m->cpu.exit_request = 1;
}

static void console_tx(void *ctx, const uint8_t *buf, size_t n)
{
    struct machine *m = ctx;
    while (m->out_fd >= 0 && n) {
        ssize_t w = write(m->out_fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            m->out_fd = -1;      /* stdout went away: drop the output */
            break;
        }
        buf += w;
        n -= (size_t)w;
    }
}

/* ---- construction ---- */

/* The IOAPIC's ID: the first after the CPUs' APIC IDs where it fits in
 * its 4 bits (the MP table names it), else 0 (xAPIC: separate spaces). */
static uint8_t ioapic_id_for(int ncpus)
{
    return ncpus < 15 ? (uint8_t)ncpus : 0;
}

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

static int setup_devices(struct machine *m, const struct config *cfg)
{
    iobus_init(&m->io);
    ioapic_init(&m->ioapic, ioapic_id_for(m->ncpus), ioapic_deliver_msg, m);
    if (ioapic_map(&m->ioapic, &m->phys, IOAPIC_DEFAULT_BASE))
        return -1;
    pic_init(&m->pic, pic_intr_out, m);
    pit_init(&m->pit, host_now_ns, NULL, (struct irq_line){ isa_irq_line, m, 0 });
    uart_init(&m->uart, 0x3f8, (struct irq_line){ isa_irq_line, m, 4 },
              console_tx, m);
    cmos_init(&m->cmos, cfg->memory, host_wall, NULL);
    debugexit_init(&m->dbg, dbg_exit, m);
    if (pic_register(&m->pic, &m->io) || pit_register(&m->pit, &m->io) ||
        uart_register(&m->uart, &m->io) || cmos_register(&m->cmos, &m->io) ||
        debugexit_register(&m->dbg, &m->io))
        return -1;
    m->devices = true;
    m->out_fd = cfg->console == CONSOLE_STDIO ? STDOUT_FILENO : -1;
    m->in_fd = cfg->console == CONSOLE_STDIO ? STDIN_FILENO : -1;
    return 0;
}

static struct machine *alloc_machine(const struct config *cfg, char *err, size_t errlen)
{
    struct machine *m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "%s: out of memory", cfg->file);
        return NULL;
    }
    m->out_fd = m->in_fd = -1;
    if (phys_init(&m->phys, cfg->memory) != 0) {
        snprintf(err, errlen, "%s: cannot allocate %u MiB of guest RAM: %s",
                 cfg->file, cfg->memory >> 20, strerror(errno));
        free(m);
        return NULL;
    }
    m->has_phys = true;
    return m;
}

struct machine *machine_create(const struct config *cfg, const struct machine_opts *opts,
                               char *err, size_t errlen)
{
    struct machine *m = alloc_machine(cfg, err, errlen);
    if (!m)
        return NULL;
    m->opts = *opts;
    if (!m->opts.slice)
        m->opts.slice = DEFAULT_SLICE;
    m->ncpus = opts->ncpus > 0 ? opts->ncpus : cfg->cpus > 0 ? cfg->cpus : 1;
    if (setup_apic(m, 0) || setup_devices(m, cfg)) {
        snprintf(err, errlen, "%s: cannot set up the devices", cfg->file);
        machine_destroy(m);
        return NULL;
    }
    struct cpu_bus bus = { .ctx = m, .io_in = bus_in, .io_out = bus_out,
                           .intr_ack = bus_intr_ack };
    cpu_init(&m->cpu, &m->phys, &bus);
    if (m->opts.interp)
        m->cpu.use_jit = false;
    m->cpu.jit_cache_size = (size_t)(m->opts.jit_cache ? m->opts.jit_cache : cfg->jit_cache);
    m->has_cpu = true;
    cpu_reset(&m->cpu);
    if (cfg->rom) {
        if (rom_load(&m->phys, cfg->rom, err, errlen)) {
            machine_destroy(m);
            return NULL;
        }
        cpu_reset(&m->cpu);
    } else {
        struct mb_boot boot;
        if (multiboot_load_files(&m->phys, cfg->kernel, cfg->initrd, cfg->cmdline,
                                 &boot, err, errlen)) {
            machine_destroy(m);
            return NULL;
        }
        cpu_set_flat32(&m->cpu);
        m->cpu.r[R_EAX] = boot.eax;
        m->cpu.r[R_EBX] = boot.ebx;
        m->cpu.eip = boot.entry;
    }
    attach_apic(m);
    if (!cfg->rom) {
        /* A Multiboot kernel has no firmware to describe the CPUs and
         * interrupt controllers: write the MP table (ROMs bring their own). */
        struct mptable_config mp = {
            .ncpus = m->ncpus,
            .apic_version = APIC_VERSION,
            .cpu_signature = cpu_cpuid_signature(),
            .cpu_features = cpu_cpuid_features(&m->cpu),
            .lapic_addr = APIC_DEFAULT_BASE,
            .ioapic_id = m->ioapic.id,
            .ioapic_version = IOAPIC_VERSION,
            .ioapic_addr = IOAPIC_DEFAULT_BASE,
        };
        if (mptable_write(&m->phys, &mp)) {
            snprintf(err, errlen, "%s: cannot write the MP table for %d CPUs",
                     cfg->file, m->ncpus);
            machine_destroy(m);
            return NULL;
        }
    }
    return m;
}

struct machine *machine_create_ap(const struct config *cfg, int rank,
                                  char *err, size_t errlen)
{
    struct machine *m = alloc_machine(cfg, err, errlen);
    if (!m)
        return NULL;
    m->ncpus = cfg->cpus > rank ? cfg->cpus : rank + 1;
    if (setup_apic(m, rank)) {
        snprintf(err, errlen, "%s: cannot map the local APIC", cfg->file);
        machine_destroy(m);
        return NULL;
    }
    struct cpu_bus bus = { .ctx = m, .io_in = NULL, .io_out = NULL, .intr_ack = NULL };
    cpu_init(&m->cpu, &m->phys, &bus);
    if (m->opts.interp)
        m->cpu.use_jit = false;
    m->cpu.jit_cache_size = (size_t)(m->opts.jit_cache ? m->opts.jit_cache : cfg->jit_cache);
    m->has_cpu = true;
    cpu_reset(&m->cpu);
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
    if (m->has_cpu)
        cpu_free(&m->cpu);
    if (m->has_phys)
        phys_free(&m->phys);
    free(m);
}

/* ---- running ---- */

/* Move waiting console input into the UART. */
static void poll_input(struct machine *m, int timeout_ms)
{
    if (m->in_fd < 0 || uart_rx_space(&m->uart) <= 0) {
        if (timeout_ms > 0) {
            struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
        return;
    }
    struct pollfd pfd = { .fd = m->in_fd, .events = POLLIN };
    int r = poll(&pfd, 1, timeout_ms);
    if (r <= 0)
        return;
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
        uint8_t buf[UART_FIFO];
        int space = uart_rx_space(&m->uart);
        ssize_t n = (pfd.revents & POLLNVAL) ? 0 : read(m->in_fd, buf, (size_t)space);
        if (n <= 0) {
            if (n == 0 || (errno != EINTR && errno != EAGAIN))
                m->in_fd = -1;   /* EOF: stop looking */
            return;
        }
        for (ssize_t i = 0; i < n; i++)
            uart_receive(&m->uart, buf[i]);
    }
}

/* Between slices: timer interrupts, console input, output flushing. */
static void poll_devices(struct machine *m, uint64_t now)
{
    pit_poll(&m->pit);
    apic_poll(&m->apic);
    if (now >= m->next_input_poll) {
        poll_input(m, 0);
        m->next_input_poll = now + POLL_INPUT_NS;
    }
    if (m->uart.out_len && now - m->last_flush >= FLUSH_NS) {
        uart_flush(&m->uart);
        m->last_flush = now;
    }
}

/* The guest executed HLT: sleep until an interrupt can be taken.
 * Returns 0 when the CPU can go on, or an exit status. */
static int wait_halted(struct machine *m)
{
    struct cpu *cpu = &m->cpu;
    uart_flush(&m->uart);
    for (;;) {
        if (cpu->nmi || (cpu->intr && (cpu->eflags & F_IF)))
            return 0;
        if (m->dbg.exited)
            return 0;
        if (!cpu->halted)
            return 0;                    /* INIT woke it */
        if (!(cpu->eflags & F_IF) && (m->ncpus <= 1 || !m->ipi_transport)) {
            /* No NMI source exists: nothing can ever wake it. (Once other
             * CPUs can send IPIs here, an NMI or INIT still can.) */
            fprintf(stderr, "vsmp: rank 0: guest halted with interrupts disabled at EIP=%08x\n",
                    cpu->eip);
            return VSMP_EXIT_HALT_FOREVER;
        }
        uint64_t now = host_now_ns(NULL);
        uint64_t next = pit_next_event_ns(&m->pit);
        uint64_t apic_next = apic_next_event_ns(&m->apic);
        if (apic_next < next)
            next = apic_next;
        uint64_t wait = next > now ? next - now : 0;
        if (wait < WAIT_MIN_NS)
            wait = WAIT_MIN_NS;
        if (wait > WAIT_MAX_NS)
            wait = WAIT_MAX_NS;
        if (m->in_fd >= 0 && uart_rx_space(&m->uart) > 0 && wait >= 1000000) {
            poll_input(m, (int)(wait / 1000000));
        } else {
            struct timespec ts = { (time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull) };
            nanosleep(&ts, NULL);
        }
        m->next_input_poll = 0;          /* look at input now */
        poll_devices(m, host_now_ns(NULL));
    }
}

static void print_stats(const struct machine *m, uint64_t t0)
{
    double secs = (double)(host_now_ns(NULL) - t0) / 1e9;
    fprintf(stderr, "vsmp: rank 0: %llu instructions in %.3f s (%.1f MIPS)\n",
            (unsigned long long)m->cpu.icount, secs,
            secs > 0 ? (double)m->cpu.icount / secs / 1e6 : 0.0);
}

int machine_run(struct machine *m)
{
    struct cpu *cpu = &m->cpu;
    uint64_t t0 = host_now_ns(NULL);
    m->last_flush = t0;
    int status = -1;
    while (status < 0) {
        uint64_t budget = m->opts.slice;
        if (m->opts.max_insns) {
            if (cpu->icount >= m->opts.max_insns) {
                uart_flush(&m->uart);
                fprintf(stderr, "vsmp: rank 0: instruction limit %llu reached at EIP=%08x\n",
                        (unsigned long long)m->opts.max_insns, cpu->eip);
                status = VSMP_EXIT_INSN_LIMIT;
                break;
            }
            if (m->opts.max_insns - cpu->icount < budget)
                budget = m->opts.max_insns - cpu->icount;
        }
        enum cpu_exit r = cpu_run(cpu, budget);
        if (m->dbg.exited) {
            status = m->dbg.status;
            break;
        }
        poll_devices(m, host_now_ns(NULL));
        switch (r) {
        case CPU_EXIT_BUDGET:
        case CPU_EXIT_REQUEST:
            break;
        case CPU_EXIT_HALT: {
            int s = wait_halted(m);
            if (m->dbg.exited)
                status = m->dbg.status;
            else if (s)
                status = s;
            break;
        }
        case CPU_EXIT_SHUTDOWN:
            uart_flush(&m->uart);
            fprintf(stderr, "vsmp: rank 0: guest triple fault: %s at EIP=%08x\n",
                    cpu->shutdown_reason ? cpu->shutdown_reason : "shutdown", cpu->eip);
            status = VSMP_EXIT_TRIPLE_FAULT;
            break;
        case CPU_EXIT_EXCEPTION:
        case CPU_EXIT_WAIT_SIPI:
        default:
            uart_flush(&m->uart);
            fprintf(stderr, "vsmp: rank 0: internal error: unexpected CPU exit %d at EIP=%08x\n",
                    (int)r, cpu->eip);
            status = VSMP_EXIT_INTERNAL;
            break;
        }
    }
    uart_flush(&m->uart);
    if (m->opts.stats) {
        print_stats(m, t0);
        exec_print_stats(&m->cpu, stderr);
    }
    return status;
}
