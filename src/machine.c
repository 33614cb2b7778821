/* machine.c - builds a rank's machine (phys, CPU, devices, boot image)
 * and runs rank 0's CPU: instruction slices, device polling between them,
 * and a sleeping wait while the guest halts. */
#include "machine.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "io/cmos.h"
#include "io/debugexit.h"
#include "io/iobus.h"
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

static int bus_intr_ack(void *ctx)
{
    struct machine *m = ctx;
    return pic_ack(&m->pic);
}

static void pic_intr_out(void *ctx, int level)
{
    struct machine *m = ctx;
    m->cpu.intr = level;
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

static int setup_devices(struct machine *m, const struct config *cfg)
{
    iobus_init(&m->io);
    pic_init(&m->pic, pic_intr_out, m);
    pit_init(&m->pit, host_now_ns, NULL,
             (struct irq_line){ pic_irq_line, &m->pic, 0 });
    uart_init(&m->uart, 0x3f8, (struct irq_line){ pic_irq_line, &m->pic, 4 },
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
    if (setup_devices(m, cfg)) {
        snprintf(err, errlen, "%s: cannot set up the devices", cfg->file);
        machine_destroy(m);
        return NULL;
    }
    struct cpu_bus bus = { .ctx = m, .io_in = bus_in, .io_out = bus_out,
                           .intr_ack = bus_intr_ack };
    cpu_init(&m->cpu, &m->phys, &bus);
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
    return m;
}

struct machine *machine_create_ap(const struct config *cfg, int rank,
                                  char *err, size_t errlen)
{
    (void)rank;
    struct machine *m = alloc_machine(cfg, err, errlen);
    if (!m)
        return NULL;
    struct cpu_bus bus = { .ctx = m, .io_in = NULL, .io_out = NULL, .intr_ack = NULL };
    cpu_init(&m->cpu, &m->phys, &bus);
    m->has_cpu = true;
    cpu_reset(&m->cpu);
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
        if (!(cpu->eflags & F_IF)) {
            /* No NMI source exists: nothing can ever wake it. */
            fprintf(stderr, "vsmp: rank 0: guest halted with interrupts disabled at EIP=%08x\n",
                    cpu->eip);
            return VSMP_EXIT_HALT_FOREVER;
        }
        uint64_t now = host_now_ns(NULL);
        uint64_t next = pit_next_event_ns(&m->pit);
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
    if (m->opts.stats)
        print_stats(m, t0);
    return status;
}
