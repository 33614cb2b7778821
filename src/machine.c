/* machine.c - builds a rank's machine (phys, CPU, local APIC, devices,
 * boot image, MP and ACPI tables) and runs its CPU: instruction slices,
 * device and APIC timer polling between them, and a non-spinning wait
 * while the guest halts. With N > 1 CPUs (one per rank) guest RAM is this rank's
 * copy area of the DSM (src/mem/dsm.c over the transport that main.c
 * opened) and the ranks exchange platform messages (below).
 *
 * Interrupt wiring (the PC's, with APICs):
 *   ISA IRQ n (PIT 0, UART 4) -> 8259 input n  and  IOAPIC pin ioapic_isa_pin(n)
 *   8259 INTR                 -> local APIC LINT0 (ExtINT: virtual wire)
 *                                and IOAPIC pin 0
 *   IOAPIC messages, IPIs     -> route_msg(): this rank's APIC when it is a
 *                                destination; other ranks by MSG_IPI
 *   local APIC INTR output    -> cpu.intr; INTA = apic_intr_ack()
 * Rank 0 is the only rank with devices; every rank has its APIC, whose
 * MMIO window is local to the rank (never forwarded to rank 0).
 *
 * Platform messages (struct dsm_msg, type >= DSM_MSG_USER, through
 * dsm_send; received in platform_msg(), called from dsm_poll() and from
 * the DSM's wait loops, so it never polls, faults or blocks):
 *   MSG_IPI       interrupt message: physical destination -> that rank;
 *                 logical, broadcast and shorthands -> every rank, each
 *                 filters with apic_receive(); lowest priority resolved
 *                 by the sender (apic_route() over the peer table) and
 *                 sent ROUTED to the one target
 *   MSG_PEER      this APIC's addressing state (ID, LDR, DFR, enables),
 *                 broadcast on every change, for lowest-priority routing
 *   MSG_IO/MSG_MMIO  port I/O / IOAPIC MMIO of ranks != 0 -> rank 0,
 *                 which performs it and answers MSG_REPLY (same tag); the
 *                 requesting CPU waits polling (with back-off)
 *   MSG_EOI       EOI of a level-triggered vector -> rank 0's IOAPIC
 *   MSG_TEXT, MSG_FATAL  a rank's fatal error (triple fault, internal
 *                 error, instruction limit) -> rank 0, which prints it
 *                 and ends the run with its status
 *   MSG_SHUTDOWN  rank 0 -> all: the run is over, with the exit status
 *   MSG_STUCK     -> rank 0: "my CPU can only be woken by another CPU"
 *                 (halted with IF=0, or waiting for STARTUP) or "no longer",
 *                 with this rank's IPI messages sent and received: when
 *                 every CPU is stuck and no IPI is in flight (the sums of
 *                 sent and received agree), nothing can ever run again and
 *                 rank 0 ends the run (status 6) instead of hanging
 *   MSG_DONE      all -> all: "my CPU has stopped and I send no more
 *                 requests". A rank returns from machine_run() once it
 *                 has every other rank's DONE; until then it keeps
 *                 serving (DSM requests, rank 0's device requests), so
 *                 no rank can be left waiting for one that stopped.
 *   MSG_PING, MSG_PONG  with --answer-timeout: every rank asks the next
 *                 one (rank + 1 mod N) every eighth of the timeout whether
 *                 it still runs; the answer comes from its next poll. A
 *                 rank that stopped is thus found even when no CPU needs
 *                 anything of it (CPUs spinning on a copy it would have
 *                 to write, every CPU idle).
 * Every wait for another rank's answer (a device request, the stop
 * handshake, the SHUTDOWN after a fatal error, a PONG, and the DSM's
 * fault waits) ends the job after the answer timeout, naming the rank
 * and the request (answer_overdue, no_answer; docs/smp.md).
 * INIT and STARTUP received while the CPU is in the middle of an
 * instruction (a DSM fault wait) are queued and applied between slices. */
#include "machine.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "boot/linux.h"
#include "cpu/apic.h"
#include "cpu/coherence.h"
#include "cpu/cpu.h"
#include "cpu/system.h"
#include "boot/acpi.h"
#include "boot/resetvec.h"
#include "io/acpi_pm.h"
#include "io/cmos.h"
#include "io/debugexit.h"
#include "io/ioapic.h"
#include "io/iobus.h"
#include "io/mptable.h"
#include "io/panicwatch.h"
#include "io/multiboot.h"
#include "io/pic.h"
#include "io/pit.h"
#include "io/rom.h"
#include "io/uart.h"
#include "mem/dsm.h"
#include "mem/phys.h"
#include "slicer.h"
#include "vclock.h"
#include "waitclock.h"
#include "watchdog.h"

_Static_assert(VSMP_EXIT_NO_ANSWER == WATCHDOG_EXIT_STATUS, "one status for the answer timeout");

/* Time between two polls (src/slicer.c turns it into instructions). With
 * N > 1 a DSM request (invalidation, downgrade, IPI) is served at the next
 * slice end, so the quantum must stay well under the 50 us an
 * invalidation may take (docs/smp.md has the measurements); one CPU polls
 * only its devices and timers. */
#define QUANTUM_NS 50000ull
#define SMP_QUANTUM_NS 10000ull
/* A rank that has served nothing for QUIET_NS stretches its quantum so
 * that its empty polls take at most 1/POLL_SHARE of its time, up to
 * SMP_QUANTUM_MAX_NS: over TCP a poll costs 0.7-0.8 us (two MPI progress
 * passes), 7-8 % of a 10 us quantum; over shared memory 0.1 us, and the
 * quantum stays 10 us. The first request after a quiet stretch waits up
 * to the longer quantum; requests that follow each other (a page
 * streamed, a lock handed over, isolated faults less than QUIET_NS
 * apart) find the short one. */
#define QUIET_NS 1000000ull
#define POLL_SHARE 32
#define SMP_QUANTUM_MAX_NS 40000ull
/* N > 1: PAUSEs (guest spin-wait loops) that end a slice early, as
 * hardware's pause-loop exiting does: the rank then serves requests at
 * once and, when none came, yields its host core. */
#define PAUSE_EXIT_COUNT 64
#define POLL_INPUT_NS 1000000ull     /* look at stdin at most every 1 ms */
#define FLUSH_NS 50000000ull         /* flush a partial output line after 50 ms */
#define WAIT_MIN_NS 50000ull         /* halted: shortest sleep */
#define WAIT_MAX_NS 100000000ull     /* halted: longest sleep */
#define CPU_EV_MAX 8                 /* queued INIT/STARTUP */
#define CPU_EV_INIT (-1)
#define TEXT_MAX 240                 /* a rank's fatal message, 24 bytes a chunk */

/* Platform message types (struct dsm_msg.type). */
enum {
    MSG_IPI = DSM_MSG_USER,
    MSG_PEER,
    MSG_IO,
    MSG_MMIO,
    MSG_REPLY,
    MSG_EOI,
    MSG_TEXT,
    MSG_FATAL,
    MSG_SHUTDOWN,
    MSG_DONE,
    MSG_STUCK,
    MSG_PING,
    MSG_PONG,
};
#define IPIF_ROUTED 0x01u            /* MSG_IPI: deliver, do not filter */
#define IOF_WRITE 0x01u              /* MSG_IO/MMIO flags: bit 0 write, */
#define IOF_SIZE_SHIFT 1             /* bits 1-3 size */

/* A CPU that only another CPU can wake (MSG_STUCK): its IPI counts then. */
struct stuck {
    bool stuck;
    uint64_t sent, recv;
};

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
    struct acpi_pm acpi_pm;
    struct panicwatch panicwatch;    /* console output: a guest kernel panic */
    struct apic apic;            /* this rank's local APIC (every rank) */
    struct ioapic ioapic;        /* rank 0 */
    int rank, ncpus;
    bool ipi_transport;          /* other ranks can reach this one (NMI, INIT) */
    struct machine_opts opts;
    int out_fd;                  /* console output, -1: none */
    int in_fd;                   /* console input, -1: none or EOF */
    uint64_t next_input_poll;
    uint64_t last_flush;
    struct vclock clock;         /* the virtual clock (TSC, timers, RTC) */

    /* ---- N > 1 ---- */
    const struct dsm_transport *tr;
    struct dsm *dsm;
    struct apic_peer *peers;     /* every rank's APIC, for lowest priority */
    uint64_t next_tag;
    uint64_t io_tag;             /* the request this CPU waits for */
    bool io_done;
    uint32_t io_value;
    int cpu_ev[CPU_EV_MAX];      /* queued INIT (CPU_EV_INIT) / SIPI vectors */
    int ncpu_ev;
    bool stop;                   /* the run is over (status below) */
    int status;
    bool fatal_sent;             /* rank != 0: reported, waits for SHUTDOWN */
    int ndone;                   /* MSG_DONE received */
    bool aps_started;            /* rank 0 sent an IPI to another rank */
    char (*text)[TEXT_MAX + 1];  /* rank 0: fatal message per rank */
    struct stuck *stuck;         /* rank 0: every rank's last MSG_STUCK */
    struct stuck self_stuck;     /* what this rank reported last */
    struct slicer slicer;        /* instructions per slice */
    uint64_t last_served_ns;     /* when a poll last served a message */
    uint64_t poll_cost_ns;       /* smoothed cost of an empty poll */
    uint64_t hook_ns;            /* time in opts.between_slices so far */
    /* the answer timeout (N > 1): loop waits end the job after this */
    uint64_t answer_limit_ns;    /* 0: off */
    unsigned wait_rounds;        /* wait_round() calls (when to look) */
    bool *done_from;             /* MSG_DONE received, by rank */
    struct waitclock fatal_wc;   /* rank != 0: since the fatal report */
    struct {
        bool out;                /* a PING awaits its PONG */
        uint64_t tag, next_ns;   /* its tag; when the next one goes out */
        struct waitclock wc;
    } ping;
    struct machine_stats st;
};

/* ---- clocks ---- */

static uint64_t host_now_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

/* ---- messages to other ranks ---- */

static void send_msg(struct machine *m, int rank, struct dsm_msg *q)
{
    m->st.msgs_sent++;
    dsm_send(m->dsm, rank, q);
}

static void send_all(struct machine *m, struct dsm_msg *q)
{
    for (int r = 0; r < m->ncpus; r++)
        if (r != m->rank)
            send_msg(m, r, q);
}

/* ---- the answer timeout (docs/smp.md, "A rank that stops answering") ---- */

/* The wait has gone on too long: one line naming the rank and the
 * request, and the job ends (status 14). */
__attribute__((noreturn, format(printf, 3, 4)))
static void no_answer(struct machine *m, uint64_t waited_ns, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof what)
        snprintf(what + n, sizeof what - (size_t)n, " for %.1f s", (double)waited_ns / 1e9);
    if (m->devices)
        uart_flush(&m->uart);           /* the guest's output so far */
    watchdog_end_job(m->opts.watchdog, m->rank, what);
}

/* A look at time `now` at a wait started with waitclock_start(wc,
 * host_now_ns()): true once it has waited the limit (time this rank did
 * not run aside). */
static bool answer_overdue(const struct machine *m, struct waitclock *wc, uint64_t now)
{
    return m->answer_limit_ns &&
           waitclock_look(wc, now, waitclock_gap(m->opts.answer_timeout_ns)) >=
               m->answer_limit_ns;
}

/* The DSM's on_stall: one of its fault waits timed out. */
static void dsm_stalled(void *arg, const struct dsm_stall *s)
{
    struct machine *m = arg;
    char what[200];
    dsm_stall_describe(s, what, sizeof what);
    no_answer(m, s->waited_ns, "%s", what);
}

/* The liveness check: PING the next rank every eighth of the timeout,
 * expect its PONG within 1.5 times the timeout: later than the waits
 * whose request names what the guest needed (1.25 times), earlier than
 * the DSM's waits whose answering rank is uncertain (2.5 times: a
 * directory lock's holder, a forwarded TAKE), so that a rank that
 * stopped is named by whoever waits for it (docs/smp.md). Called at
 * every poll between slices, in the halted wait and in every wait loop
 * (the DSM's too: on_wait), until the run stops. */
static void liveness(struct machine *m, uint64_t now)
{
    if (!m->answer_limit_ns || m->stop)
        return;
    int next = (m->rank + 1) % m->ncpus;
    if (m->ping.out) {
        uint64_t limit = m->opts.answer_timeout_ns + m->opts.answer_timeout_ns / 2;
        uint64_t gap = waitclock_gap(m->opts.answer_timeout_ns);
        if (waitclock_look(&m->ping.wc, now, gap) >= limit)
            no_answer(m, m->ping.wc.waited, "rank %d has not answered PING (the liveness check)",
                      next);
    } else if (now >= m->ping.next_ns) {
        struct dsm_msg q = { .type = MSG_PING, .tag = ++m->ping.tag };
        m->ping.out = true;
        waitclock_start(&m->ping.wc, now);
        send_msg(m, next, &q);
    }
}

static void dsm_waiting(void *arg, uint64_t now)
{
    liveness(arg, now);
}

/* A waiting round: serve what arrived, else back off (yield, then
 * short sleeps: ranks may share a core). With the answer timeout, every
 * DSM_WAIT_LOOK_ROUNDS rounds (as the DSM's waits) the liveness check,
 * and the time then is returned for the caller's own check; else 0. */
static uint64_t wait_round(struct machine *m, unsigned *spins)
{
    if (dsm_poll(m->dsm) > 0)
        *spins = 0;
    else
        m->tr->idle(m->tr->ctx, (*spins)++);
    if (!m->answer_limit_ns || ++m->wait_rounds % DSM_WAIT_LOOK_ROUNDS)
        return 0;
    uint64_t now = host_now_ns(NULL);
    liveness(m, now);
    return now;
}

/* Rank != 0: port I/O or IOAPIC MMIO performed by rank 0; waits for its
 * answer, serving others meanwhile. */
static uint32_t remote_request(struct machine *m, uint8_t type, bool write, int size,
                               uint64_t addr, uint32_t value)
{
    struct dsm_msg q = {
        .type = type, .flags = (uint8_t)((write ? IOF_WRITE : 0) | (size << IOF_SIZE_SHIFT)),
        .page = addr, .tag = ++m->next_tag, .arg = value,
    };
    uint64_t t0 = host_now_ns(NULL);
    m->io_tag = q.tag;
    m->io_done = false;
    m->st.io_requests++;
    send_msg(m, 0, &q);
    unsigned spins = 0;
    struct waitclock wc;
    waitclock_start(&wc, t0);
    while (!m->io_done) {
        uint64_t now = wait_round(m, &spins);
        if (now && answer_overdue(m, &wc, now))
            no_answer(m, wc.waited, "rank 0 has not answered the device request (%s %s 0x%0*llx)",
                      type == MSG_IO ? "port" : "IOAPIC", write ? "write to" : "read of",
                      type == MSG_IO ? 4 : 8, (unsigned long long)addr);
    }
    m->st.io_wait_ns += host_now_ns(NULL) - t0;
    /* Pages may have been taken away meanwhile: do not run on in a
     * block whose code may have changed. */
    m->cpu.end_block = 1;
    return m->io_value;
}

/* ---- glue between the CPU and the devices ---- */

static uint32_t bus_in(void *ctx, uint16_t port, int size)
{
    struct machine *m = ctx;
    if (!m->devices)
        return remote_request(m, MSG_IO, false, size, port, 0);
    return iobus_in(&m->io, port, size);
}

static void bus_out(void *ctx, uint16_t port, int size, uint32_t value)
{
    struct machine *m = ctx;
    if (!m->devices) {
        remote_request(m, MSG_IO, true, size, port, value);
        return;
    }
    iobus_out(&m->io, port, size, value);
}

/* Ranks != 0: the IOAPIC window forwards to rank 0's IOAPIC. */
static uint32_t fwd_ioapic_read(void *ctx, uint32_t offset, int size)
{
    return remote_request(ctx, MSG_MMIO, false, size, IOAPIC_DEFAULT_BASE + offset, 0);
}

static void fwd_ioapic_write(void *ctx, uint32_t offset, int size, uint32_t value)
{
    remote_request(ctx, MSG_MMIO, true, size, IOAPIC_DEFAULT_BASE + offset, value);
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

static uint64_t pack_apic_msg(const struct apic_msg *a)
{
    return (uint64_t)a->vector | (uint64_t)a->mode << 8 | (uint64_t)a->shorthand << 16 |
           (uint64_t)a->dest << 24 | (uint64_t)a->logical << 32 |
           (uint64_t)a->trigger_level << 33 | (uint64_t)a->source << 40;
}

static struct apic_msg unpack_apic_msg(uint64_t v)
{
    struct apic_msg a = {
        .vector = (uint8_t)v, .mode = (uint8_t)(v >> 8), .shorthand = (uint8_t)(v >> 16),
        .dest = (uint8_t)(v >> 24), .logical = (v >> 32) & 1, .trigger_level = (v >> 33) & 1,
        .source = (uint8_t)(v >> 40),
    };
    return a;
}

static void send_ipi(struct machine *m, int rank, const struct apic_msg *a, uint8_t flags)
{
    struct dsm_msg q = { .type = MSG_IPI, .flags = flags, .page = pack_apic_msg(a) };
    m->st.ipis_sent++;
    m->aps_started = true;
    send_msg(m, rank, &q);
}

/* Deliver an interrupt message to its destinations: this rank's APIC when
 * it is one of them, the other ranks by message. */
static void route_msg(struct machine *m, const struct apic_msg *msg)
{
    if (m->ncpus <= 1 || !m->dsm || msg->shorthand == APIC_SH_SELF) {
        apic_receive(&m->apic, msg);
        return;
    }
    if (msg->mode == APIC_DM_LOWEST) {
        /* one target, chosen here from the peer table (preferring this
         * rank on a tie: no message needed) */
        apic_peer_state(&m->apic, &m->peers[m->rank]);
        bool hit[m->ncpus];
        apic_route(msg, m->peers, m->ncpus, m->rank, hit);
        for (int r = 0; r < m->ncpus; r++) {
            if (!hit[r])
                continue;
            if (r == m->rank)
                apic_deliver(&m->apic, APIC_DM_FIXED, msg->vector, msg->trigger_level);
            else
                send_ipi(m, r, msg, IPIF_ROUTED);
        }
        return;
    }
    if (msg->shorthand == APIC_SH_NONE && !msg->logical && msg->dest != 0xff) {
        /* physical: the rank whose APIC has that ID */
        if (msg->dest == m->apic.id) {
            apic_receive(&m->apic, msg);
            return;
        }
        for (int r = 0; r < m->ncpus; r++)
            if (r != m->rank && m->peers[r].id == msg->dest) {
                send_ipi(m, r, msg, 0);
                return;
            }
        return;                          /* no such APIC */
    }
    /* logical, broadcast, all-including/excluding-self: everyone filters */
    apic_receive(&m->apic, msg);
    for (int r = 0; r < m->ncpus; r++)
        if (r != m->rank)
            send_ipi(m, r, msg, 0);
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
    if (m->devices) {
        ioapic_eoi(&m->ioapic, vector);
    } else if (m->dsm) {
        struct dsm_msg q = { .type = MSG_EOI, .arg = vector };
        send_msg(m, 0, &q);
    }
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

static void apply_cpu_events(struct machine *m)
{
    if (!m->ncpu_ev)
        return;
    for (int i = 0; i < m->ncpu_ev; i++) {
        if (m->cpu_ev[i] == CPU_EV_INIT)
            cpu_apic_init(&m->cpu);
        else
            cpu_sipi(&m->cpu, (uint8_t)m->cpu_ev[i]);
    }
    m->ncpu_ev = 0;
    m->cpu.exit_request = 0;
}

/* This APIC's addressing changed: tell every rank (lowest priority). */
static void lapic_changed(void *ctx, const struct apic *a)
{
    struct machine *m = ctx;
    if (!m->dsm || !m->peers)
        return;
    struct apic_peer *p = &m->peers[m->rank];
    apic_peer_state(a, p);
    struct dsm_msg q = {
        .type = MSG_PEER,
        .page = (uint64_t)p->ldr | (uint64_t)p->dfr << 32,
        .arg = (uint64_t)p->id | (uint64_t)p->tpr << 8 | (uint64_t)p->hw_enabled << 16 |
               (uint64_t)p->sw_enabled << 17,
    };
    send_all(m, &q);
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
    route_msg(m, &msg);
}

/* ---- the end of a run ---- */

/* Rank 0 (or the only rank): the run ends with `status`; every other
 * rank is told. The first end wins. */
static void end_run(struct machine *m, int status)
{
    if (m->stop)
        return;
    m->stop = true;
    m->status = status;
    m->cpu.exit_request = 1;
    if (m->dsm) {
        struct dsm_msg q = { .type = MSG_SHUTDOWN, .arg = (uint64_t)(uint32_t)status };
        send_all(m, &q);
    }
}

/* This rank's CPU cannot go on: rank 0 prints "vsmp: rank R: TEXT" and
 * ends the run with `status`. */
__attribute__((format(printf, 3, 4)))
static void fail(struct machine *m, int status, const char *fmt, ...)
{
    char text[TEXT_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (m->devices || !m->dsm) {
        if (m->devices)
            uart_flush(&m->uart);
        if (!m->stop)
            fprintf(stderr, "vsmp: rank %d: %s\n", m->rank, text);
        end_run(m, status);
        return;
    }
    if (m->fatal_sent || m->stop)
        return;
    size_t len = strlen(text);
    for (size_t off = 0, k = 0; off < len; off += 24, k++) {
        struct dsm_msg q = { .type = MSG_TEXT, .flags = (uint8_t)k };
        char chunk[24] = { 0 };
        memcpy(chunk, text + off, len - off < 24 ? len - off : 24);
        memcpy(&q.page, chunk, 8);
        memcpy(&q.tag, chunk + 8, 8);
        memcpy(&q.arg, chunk + 16, 8);
        send_msg(m, 0, &q);
    }
    struct dsm_msg q = { .type = MSG_FATAL, .arg = (uint64_t)(uint32_t)status };
    send_msg(m, 0, &q);
    m->fatal_sent = true;
    waitclock_start(&m->fatal_wc, host_now_ns(NULL));
}

static void dbg_exit(void *ctx)
{
    struct machine *m = ctx;
    m->cpu.exit_request = 1;
    end_run(m, m->dbg.status);
}

/* ACPI S5 (power-off) and the FADT reset register both end the run with
 * status 0: vsmp does not restart a guest. */
static void acpi_pm_event(void *ctx, enum acpi_pm_event ev)
{
    struct machine *m = ctx;
    if (ev == ACPI_PM_RESET && !m->stop)
        fprintf(stderr, "vsmp: the guest reset the machine (ACPI reset register); "
                "vsmp does not restart guests: the run ends with status 0\n");
    end_run(m, 0);
}

/* Every CPU halted for good: the end of Linux's `halt` when its console
 * said "reboot: System halted" (status 0), else a guest that can never
 * wake up (status 6). */
static bool halt_was_asked(const struct machine *m)
{
    return m->panicwatch.halted;
}

static void guest_panicked(void *ctx)
{
    struct machine *m = ctx;
    if (!m->stop)
        fprintf(stderr, "vsmp: the guest kernel panicked (console above); "
                "the run ends with status %d\n", VSMP_EXIT_GUEST_PANIC);
    end_run(m, VSMP_EXIT_GUEST_PANIC);
}

/* ---- rank 0: serving the other ranks' device requests ---- */

static void serve_io(struct machine *m, int src, const struct dsm_msg *q)
{
    int size = (q->flags >> IOF_SIZE_SHIFT) & 7;
    bool write = q->flags & IOF_WRITE;
    uint32_t v = 0;
    if (size != 1 && size != 2 && size != 4)
        size = 1;
    if (q->type == MSG_IO) {
        if (write)
            iobus_out(&m->io, (uint16_t)q->page, size, (uint32_t)q->arg);
        else
            v = iobus_in(&m->io, (uint16_t)q->page, size);
    } else {
        uint32_t addr = (uint32_t)q->page;
        bool ok = addr >= IOAPIC_DEFAULT_BASE &&
                  addr + (uint32_t)size <= IOAPIC_DEFAULT_BASE + IOAPIC_MMIO_SIZE;
        if (ok && write)
            ioapic_mmio_write(&m->ioapic, addr - IOAPIC_DEFAULT_BASE, size, (uint32_t)q->arg);
        else if (ok)
            v = ioapic_mmio_read(&m->ioapic, addr - IOAPIC_DEFAULT_BASE, size);
        else
            v = 0xffffffffu;
    }
    m->st.io_served++;
    struct dsm_msg r = { .type = MSG_REPLY, .tag = q->tag, .arg = v };
    send_msg(m, src, &r);
}

/* The DSM's on_msg: every platform message, also while this rank waits
 * inside a fault. May send, never polls, faults or waits. */
static void platform_msg(void *arg, int src, const struct dsm_msg *q)
{
    struct machine *m = arg;
    switch (q->type) {
    case MSG_IPI: {
        struct apic_msg a = unpack_apic_msg(q->page);
        m->st.ipis_recv++;
        if (q->flags & IPIF_ROUTED)
            apic_deliver(&m->apic, a.mode == APIC_DM_LOWEST ? APIC_DM_FIXED : a.mode,
                         a.vector, a.trigger_level);
        else
            apic_receive(&m->apic, &a);
        break;
    }
    case MSG_PEER:
        if (src >= 0 && src < m->ncpus) {
            struct apic_peer *p = &m->peers[src];
            p->ldr = (uint32_t)q->page;
            p->dfr = (uint32_t)(q->page >> 32);
            p->id = (uint8_t)q->arg;
            p->tpr = (uint8_t)(q->arg >> 8);
            p->hw_enabled = (q->arg >> 16) & 1;
            p->sw_enabled = (q->arg >> 17) & 1;
        }
        break;
    case MSG_IO:
    case MSG_MMIO:
        if (m->devices)
            serve_io(m, src, q);
        break;
    case MSG_REPLY:
        if (q->tag == m->io_tag) {
            m->io_value = (uint32_t)q->arg;
            m->io_done = true;
        }
        break;
    case MSG_EOI:
        if (m->devices)
            ioapic_eoi(&m->ioapic, (uint8_t)q->arg);
        break;
    case MSG_TEXT:
        if (m->text && src > 0 && src < m->ncpus && q->flags * 24u < TEXT_MAX) {
            char *t = m->text[src] + q->flags * 24u;
            size_t room = TEXT_MAX - q->flags * 24u;
            char chunk[24];
            memcpy(chunk, &q->page, 8);
            memcpy(chunk + 8, &q->tag, 8);
            memcpy(chunk + 16, &q->arg, 8);
            memcpy(t, chunk, room < 24 ? room : 24);
        }
        break;
    case MSG_FATAL:
        if (m->devices && !m->stop) {
            uart_flush(&m->uart);
            fprintf(stderr, "vsmp: rank %d: %s\n", src,
                    m->text && src > 0 && src < m->ncpus && m->text[src][0]
                    ? m->text[src] : "fatal error");
            end_run(m, (int)q->arg);
        }
        break;
    case MSG_SHUTDOWN:
        if (!m->stop) {
            m->stop = true;
            m->status = (int)q->arg;
            m->cpu.exit_request = 1;
        }
        break;
    case MSG_DONE:
        m->ndone++;
        if (src >= 0 && src < m->ncpus)
            m->done_from[src] = true;
        break;
    case MSG_PING: {
        struct dsm_msg r = { .type = MSG_PONG, .tag = q->tag };
        if (src >= 0 && src < m->ncpus && src != m->rank)
            send_msg(m, src, &r);
        break;
    }
    case MSG_PONG:
        if (m->ping.out && q->tag == m->ping.tag) {
            m->ping.out = false;
            m->ping.next_ns = host_now_ns(NULL) + m->opts.answer_timeout_ns / 8;
        }
        break;
    case MSG_STUCK:
        if (m->stuck && src > 0 && src < m->ncpus)
            m->stuck[src] = (struct stuck){ q->flags != 0, q->page, q->tag };
        break;
    default:
        break;
    }
}

static void console_tx(void *ctx, const uint8_t *buf, size_t n)
{
    struct machine *m = ctx;
    const uint8_t *text = buf;
    size_t len = n;
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
    panicwatch_feed(&m->panicwatch, text, len);
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
    pit_init(&m->pit, vclock_now_ns, &m->clock, (struct irq_line){ isa_irq_line, m, 0 });
    uart_init(&m->uart, 0x3f8, (struct irq_line){ isa_irq_line, m, 4 },
              console_tx, m);
    cmos_init(&m->cmos, cfg->memory, vclock_wall, &m->clock);
    debugexit_init(&m->dbg, dbg_exit, m);
    acpi_pm_init(&m->acpi_pm, ACPI_SLP_TYP_S5, acpi_pm_event, m);
    panicwatch_init(&m->panicwatch, guest_panicked, m);
    if (pic_register(&m->pic, &m->io) || pit_register(&m->pit, &m->io) ||
        uart_register(&m->uart, &m->io) || cmos_register(&m->cmos, &m->io) ||
        debugexit_register(&m->dbg, &m->io) || acpi_pm_register(&m->acpi_pm, &m->io))
        return -1;
    m->devices = true;
    m->out_fd = cfg->console == CONSOLE_STDIO ? STDOUT_FILENO : -1;
    m->in_fd = cfg->console == CONSOLE_STDIO ? STDIN_FILENO : -1;
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
    m->out_fd = m->in_fd = -1;
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
        .on_msg = platform_msg, .on_msg_arg = m,
    };
    if (m->opts.answer_timeout_ns) {
        m->answer_limit_ns = m->opts.answer_timeout_ns + m->opts.answer_timeout_ns / 4;
        dc.answer_timeout_ns = m->answer_limit_ns;
        dc.on_stall = dsm_stalled;
        dc.on_stall_arg = m;
        dc.on_wait = dsm_waiting;
        dc.on_wait_arg = m;
    }
    m->peers = calloc((size_t)m->ncpus, sizeof *m->peers);
    m->done_from = calloc((size_t)m->ncpus, sizeof *m->done_from);
    if (m->devices) {
        m->text = calloc((size_t)m->ncpus, sizeof *m->text);
        m->stuck = calloc((size_t)m->ncpus, sizeof *m->stuck);
    }
    m->dsm = dsm_create(t, &dc);
    if (!m->peers || !m->done_from || (m->devices && (!m->text || !m->stuck)) || !m->dsm) {
        snprintf(err, errlen, "%s: cannot set up the shared memory", cfg->file);
        return -1;
    }
    for (int r = 0; r < m->ncpus; r++) {
        apic_peer_state(&m->apic, &m->peers[r]);
        m->peers[r].id = (uint8_t)r;
    }
    coherence_attach(&m->cpu, m->dsm);
    m->ipi_transport = true;
    if (!m->devices &&
        phys_add_mmio(&m->phys, IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE, m,
                      fwd_ioapic_read, fwd_ioapic_write)) {
        snprintf(err, errlen, "%s: cannot map the IOAPIC window", cfg->file);
        return -1;
    }
    return 0;
}

/* A Linux bzImage (0), something else (1: try Multiboot) or an error
 * (-1, message in err). */
static int load_linux(struct machine *m, const struct config *cfg, struct linux_boot *lb,
                      char *err, size_t errlen)
{
    uint32_t ram = m->phys.ram_size;
    struct linux_e820 map[] = {
        { 0, 0x9fc00, 1 },
        { 0x9fc00, 0x400, 2 },
        { 0xe0000, 0x20000, 2 },
        { 0x100000, ram > 0x100000 ? ram - 0x100000 : 0, 1 },
    };
    struct linux_params lp = { .cmdline = cfg->cmdline, .rsdp_addr = ACPI_RSDP_ADDR,
                               .e820 = map, .ne820 = 4 };
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
    setup_cpu(m, cfg);
    if (setup_smp(m, cfg, err, errlen)) {
        machine_destroy(m);
        return NULL;
    }
    if (cfg->rom) {
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
            cpu_set_flat32(&m->cpu);
            m->cpu.gdtr.base = LINUX_GDT_ADDR;
            m->cpu.gdtr.limit = 31;
            m->cpu.r[R_ESI] = lb.params;
            m->cpu.eip = lb.entry;
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
        struct acpi_config acpi = {
            .ncpus = m->ncpus, .lapic_addr = APIC_DEFAULT_BASE,
            .ioapic_id = m->ioapic.id, .ioapic_addr = IOAPIC_DEFAULT_BASE,
            .irq0_gsi = (uint8_t)ioapic_isa_pin(0), .sci_irq = ACPI_SCI_IRQ,
            .ram_size = cfg->memory, .pm1a_evt = ACPI_PM1A_EVT, .pm1a_cnt = ACPI_PM1A_CNT,
            .reset_port = ACPI_RESET_PORT, .reset_value = ACPI_RESET_VALUE,
        };
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
    if (m->ncpus <= rank)
        m->ncpus = rank + 1;
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
    if (m->has_cpu)
        cpu_free(&m->cpu);
    dsm_free(m->dsm);
    if (m->has_phys)
        phys_free(&m->phys);
    free(m->peers);
    free(m->done_from);
    free(m->text);
    free(m->stuck);
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

/* Between slices: other ranks' requests, timer interrupts, console
 * input, output flushing. Returns the number of messages served. */
static int poll_devices(struct machine *m, uint64_t now)
{
    int n = m->dsm ? dsm_poll(m->dsm) : 0;
    if (n > 0)
        m->last_served_ns = now;         /* not quiet (see QUIET_NS) */
    if (m->dsm)
        liveness(m, now);
    if (m->opts.between_slices) {
        uint64_t h0 = host_now_ns(NULL);
        m->opts.between_slices(m->opts.between_slices_arg);
        m->hook_ns += host_now_ns(NULL) - h0;
    }
    apic_poll(&m->apic);
    if (!m->devices)
        return n;
    pit_poll(&m->pit);
    if (now >= m->next_input_poll) {
        poll_input(m, 0);
        m->next_input_poll = now + POLL_INPUT_NS;
    }
    if (m->uart.out_len && now - m->last_flush >= FLUSH_NS) {
        uart_flush(&m->uart);
        m->last_flush = now;
    }
    return n;
}

/* The next timer event of this rank (PIT on rank 0, APIC timer), on the
 * host's monotonic clock; UINT64_MAX: none. */
static uint64_t next_timer_ns(const struct machine *m)
{
    uint64_t next = apic_next_event_ns(&m->apic);
    if (m->devices) {
        uint64_t pit = pit_next_event_ns(&m->pit);
        if (pit < next)
            next = pit;
    }
    if (next != UINT64_MAX)
        next -= (uint64_t)m->clock.offset_ns;   /* virtual -> host clock */
    return next;
}

/* Time this rank's CPU spent waiting for other ranks so far: DSM faults
 * and device requests forwarded to rank 0. */
static uint64_t waited_ns(const struct machine *m)
{
    return m->st.io_wait_ns + (m->dsm ? dsm_get_stats(m->dsm)->fault_ns_total : 0);
}

/* Can anything still wake this CPU, halted with IF=0? An NMI or INIT
 * from another CPU can: only with one CPU, or on rank 0 before it ever
 * sent an IPI (no other CPU was started, so none can send), is it
 * hopeless (devices could in theory send an NMI: not modelled). */
static bool halted_forever(const struct machine *m)
{
    if (m->ncpus <= 1 || !m->ipi_transport)
        return true;
    return m->rank == 0 && !m->aps_started;
}

/* One CPU: the guest executed HLT: sleep until an interrupt can be taken.
 * Returns 0 when the CPU can go on, or an exit status. */
static int wait_halted(struct machine *m)
{
    struct cpu *cpu = &m->cpu;
    uart_flush(&m->uart);
    for (;;) {
        apply_cpu_events(m);
        if (cpu_nmi_ready(cpu) || (cpu->intr && (cpu->eflags & F_IF)))
            return 0;
        if (m->stop)
            return 0;
        if (!cpu->halted)
            return 0;                    /* INIT woke it */
        if (!(cpu->eflags & F_IF) && halted_forever(m)) {
            if (halt_was_asked(m)) {
                end_run(m, 0);
                return 0;
            }
            fprintf(stderr, "vsmp: rank 0: guest halted with interrupts disabled at EIP=%08x\n",
                    cpu->eip);
            return VSMP_EXIT_HALT_FOREVER;
        }
        uint64_t now = host_now_ns(NULL);
        uint64_t next = next_timer_ns(m);
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

/* N > 1, while waiting: can only another CPU wake this one (halted with
 * IF=0 and no NMI pending that it may take, or waiting for STARTUP with
 * none queued)? Tell rank 0 whenever that or, while it holds, the IPI counts change;
 * rank 0 ends the run when every CPU is stuck and no IPI is in flight.
 * Returns true when the run was ended here (rank 0). */
static bool check_stuck(struct machine *m)
{
    const struct cpu *cpu = &m->cpu;
    struct stuck now = {
        .stuck = !m->stop && !m->fatal_sent && m->ncpu_ev == 0 && !cpu_nmi_ready(cpu) &&
                 (cpu->wait_sipi || (cpu->halted && !(cpu->eflags & F_IF))),
        .sent = m->st.ipis_sent, .recv = m->st.ipis_recv,
    };
    struct stuck *last = &m->self_stuck;
    if (now.stuck != last->stuck || (now.stuck && (now.sent != last->sent ||
                                                   now.recv != last->recv))) {
        *last = now;
        if (m->rank != 0) {
            struct dsm_msg q = { .type = MSG_STUCK, .flags = now.stuck,
                                 .page = now.sent, .tag = now.recv };
            send_msg(m, 0, &q);
        }
    }
    if (!m->stuck || !now.stuck)
        return false;
    m->stuck[0] = now;
    uint64_t sent = 0, recv = 0;
    for (int r = 0; r < m->ncpus; r++) {
        if (!m->stuck[r].stuck)
            return false;
        sent += m->stuck[r].sent;
        recv += m->stuck[r].recv;
    }
    if (sent != recv)
        return false;                    /* an IPI is on its way */
    if (halt_was_asked(m)) {
        end_run(m, 0);
        return true;
    }
    fail(m, VSMP_EXIT_HALT_FOREVER, "every CPU is halted with interrupts disabled or waits "
         "for STARTUP: nothing can wake them (rank 0 at EIP=%08x)", cpu->eip);
    return true;
}

/* N > 1: the CPU is halted or waits for STARTUP (or, after a fatal
 * error on a rank != 0, for the SHUTDOWN): poll the transport, the APIC
 * and (rank 0) the devices, backing off (yield, then sleeps up to
 * ~128 us), until it can run again or the run ends. */
static void wait_smp(struct machine *m)
{
    struct cpu *cpu = &m->cpu;
    uint64_t t0 = host_now_ns(NULL);
    unsigned spins = 0;
    if (m->devices)
        uart_flush(&m->uart);
    for (;;) {
        int n = poll_devices(m, host_now_ns(NULL));
        apply_cpu_events(m);
        if (m->stop)
            break;
        if (check_stuck(m))
            break;
        if (m->fatal_sent) {
            /* reported to rank 0: wait for its SHUTDOWN */
            if (answer_overdue(m, &m->fatal_wc, host_now_ns(NULL)))
                no_answer(m, m->fatal_wc.waited,
                          "rank 0 has not answered this rank's report of a fatal error "
                          "(no SHUTDOWN)");
        } else if (!cpu->wait_sipi) {
            if (!cpu->halted || cpu_nmi_ready(cpu) || (cpu->intr && (cpu->eflags & F_IF)))
                break;
            if (!(cpu->eflags & F_IF) && halted_forever(m)) {
                if (halt_was_asked(m))
                    end_run(m, 0);
                else
                    fail(m, VSMP_EXIT_HALT_FOREVER,
                         "guest halted with interrupts disabled at EIP=%08x", cpu->eip);
                break;
            }
        }
        if (n > 0)
            spins = 0;
        else
            m->tr->idle(m->tr->ctx, spins++);
    }
    m->st.halt_ns += host_now_ns(NULL) - t0;
}

/* N > 1, after this rank's CPU stopped: tell every rank, and keep serving
 * until every rank said the same (module comment). */
static void stop_smp(struct machine *m)
{
    if (m->devices)
        uart_flush(&m->uart);
    struct dsm_msg q = { .type = MSG_DONE };
    send_all(m, &q);
    unsigned spins = 0;
    struct waitclock wc;
    waitclock_start(&wc, host_now_ns(NULL));
    while (m->ndone < m->ncpus - 1) {
        uint64_t now = wait_round(m, &spins);
        if (now && answer_overdue(m, &wc, now)) {
            int r = 0;
            while (r < m->ncpus && (r == m->rank || m->done_from[r]))
                r++;
            no_answer(m, wc.waited, "rank %d has not reported the end of its run (DONE)", r);
        }
    }
    if (m->devices)
        uart_flush(&m->uart);
}

static void print_host_stats(const struct machine_stats *s, FILE *f);

static uint64_t timeval_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

static void print_stats(const struct machine *m, uint64_t t0)
{
    double secs = (double)(host_now_ns(NULL) - t0) / 1e9;
    fprintf(stderr, "vsmp: rank 0: %llu instructions in %.3f s (%.1f MIPS)\n",
            (unsigned long long)m->cpu.icount, secs,
            secs > 0 ? (double)m->cpu.icount / secs / 1e6 : 0.0);
    struct machine_stats st;
    machine_get_stats(m, &st);
    print_host_stats(&st, stderr);
}

/* The time quantum of the slice starting at now (see SMP_QUANTUM_NS). */
static uint64_t quantum_ns(const struct machine *m, uint64_t now)
{
    if (now - m->last_served_ns < QUIET_NS)
        return SMP_QUANTUM_NS;
    return slicer_stretch(SMP_QUANTUM_NS, SMP_QUANTUM_MAX_NS, m->poll_cost_ns, POLL_SHARE);
}

int machine_run(struct machine *m)
{
    struct cpu *cpu = &m->cpu;
    bool smp = m->dsm != NULL;
    uint64_t t0 = host_now_ns(NULL);
    int served = 0;                      /* requests served at the last poll */
    m->last_flush = t0;
    while (!m->stop) {
        if (m->fatal_sent) {             /* rank != 0: wait for the SHUTDOWN */
            wait_smp(m);
            continue;
        }
        apply_cpu_events(m);
        uint64_t start = host_now_ns(NULL);
        uint64_t deadline = next_timer_ns(m);
        if (served && start + SMP_QUANTUM_NS / 4 < deadline)
            deadline = start + SMP_QUANTUM_NS / 4;
        if (smp)
            m->slicer.quantum_ns = quantum_ns(m, start);
        uint64_t budget = slicer_budget(&m->slicer, start, deadline);
        if (m->opts.max_insns) {
            if (cpu->icount >= m->opts.max_insns) {
                fail(m, VSMP_EXIT_INSN_LIMIT, "instruction limit %llu reached at EIP=%08x",
                     (unsigned long long)m->opts.max_insns, cpu->eip);
                continue;
            }
            if (m->opts.max_insns - cpu->icount < budget)
                budget = m->opts.max_insns - cpu->icount;
        }
        uint64_t icount0 = cpu->icount, waited0 = waited_ns(m);
        cpu->pause_left = smp ? PAUSE_EXIT_COUNT : 0;
        enum cpu_exit r = cpu_run(cpu, budget);
        uint64_t end = host_now_ns(NULL);
        uint64_t ran = end - start, waited = waited_ns(m) - waited0;
        uint64_t guest = waited < ran ? ran - waited : 0;   /* in guest code */
        slicer_update(&m->slicer, cpu->icount - icount0, guest);
        m->st.guest_ns += guest;
        m->st.slices++;
        if (m->stop)
            break;
        /* A rank that has just served another's request (a page it
         * held, an IPI) often gets the next one right after (a page
         * streamed across, a lock handed over): the next slice is a
         * quarter quantum. */
        uint64_t hook0 = m->hook_ns;
        served = poll_devices(m, end);
        uint64_t polled = host_now_ns(NULL);
        m->st.poll_ns += polled - end;
        if (!served)    /* an empty poll's own cost, less the baseline hook */
            m->poll_cost_ns = (7 * m->poll_cost_ns + (polled - end - (m->hook_ns - hook0))) / 8;
        if (cpu->pause_exit) {
            cpu->pause_exit = false;
            m->st.pause_exits++;
            if (!served)
                m->tr->idle(m->tr->ctx, 0);
        }
        switch (r) {
        case CPU_EXIT_BUDGET:
        case CPU_EXIT_REQUEST:
            break;
        case CPU_EXIT_HALT:
            if (smp) {
                wait_smp(m);
            } else {
                int s = wait_halted(m);
                if (s)
                    end_run(m, s);
            }
            break;
        case CPU_EXIT_WAIT_SIPI:
            if (smp) {
                wait_smp(m);
                break;
            }
            __attribute__((fallthrough));    /* one CPU never waits for STARTUP */
        case CPU_EXIT_EXCEPTION:
        default:
            fail(m, VSMP_EXIT_INTERNAL, "internal error: unexpected CPU exit %d at EIP=%08x",
                 (int)r, cpu->eip);
            break;
        case CPU_EXIT_SHUTDOWN:
            fail(m, VSMP_EXIT_TRIPLE_FAULT, "guest triple fault: %s at EIP=%08x",
                 cpu->shutdown_reason ? cpu->shutdown_reason : "shutdown", cpu->eip);
            break;
        }
    }
    if (smp)
        stop_smp(m);
    if (m->devices)
        uart_flush(&m->uart);
    m->st.run_ns = host_now_ns(NULL) - t0;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        m->st.cpu_user_ns = timeval_ns(ru.ru_utime);
        m->st.cpu_sys_ns = timeval_ns(ru.ru_stime);
        m->st.csw_voluntary = (uint64_t)ru.ru_nvcsw;
        m->st.csw_involuntary = (uint64_t)ru.ru_nivcsw;
        m->st.minor_faults = (uint64_t)ru.ru_minflt;
    }
    if (m->opts.stats && !smp) {
        print_stats(m, t0);
        exec_print_stats(&m->cpu, stderr);
    }
    return m->status;
}

/* ---- statistics ---- */

void machine_get_stats(const struct machine *m, struct machine_stats *out)
{
    *out = m->st;
    out->rank = m->rank;
    out->instructions = m->cpu.icount;
    out->slice_insns = m->st.slices ? m->cpu.icount / m->st.slices : 0;
    out->jit_blocks = m->cpu.jit_stats.blocks;
    out->jit_helper_calls = m->cpu.jit_stats.helper_calls;
    if (m->dsm) {
        out->dsm = *dsm_get_stats(m->dsm);
        dsm_hot_pages(m->dsm, out->dsm.hot);
        dsm_migratory_stats(m->dsm, &out->dsm.migratory_reads, &out->dsm.migratory_dropped);
    } else
        memset(&out->dsm, 0, sizeof out->dsm);
}

/* Where a rank's host time went: guest code (and its speed there),
 * polls between slices, and what the host kernel says of the process. */
static void print_host_stats(const struct machine_stats *s, FILE *f)
{
    double g = (double)s->guest_ns / 1e9;
    fprintf(f, "vsmp: rank %d: host: guest code %.3f s (%.1f MIPS), polls %.3f s (%.2f us each), "
            "CPU time user %.3f s sys %.3f s, context switches %" PRIu64 " voluntary %" PRIu64
            " involuntary, %" PRIu64 " page faults, %" PRIu64 " blocks translated, %.2f%% of "
            "instructions by handler calls\n",
            s->rank, g, g > 0 ? (double)s->instructions / g / 1e6 : 0.0, (double)s->poll_ns / 1e9,
            s->slices ? (double)s->poll_ns / 1e3 / (double)s->slices : 0.0,
            (double)s->cpu_user_ns / 1e9, (double)s->cpu_sys_ns / 1e9, s->csw_voluntary,
            s->csw_involuntary, s->minor_faults, s->jit_blocks,
            s->instructions ? 100.0 * (double)s->jit_helper_calls / (double)s->instructions : 0.0);
}

void machine_stats_print(const struct machine_stats *st, int n, FILE *f)
{
    for (int i = 0; i < n; i++) {
        const struct machine_stats *s = &st[i];
        double secs = (double)s->run_ns / 1e9;
        fprintf(f, "vsmp: rank %d: %" PRIu64 " instructions in %.3f s (%.1f MIPS), "
                "halted %.3f s, %" PRIu64 " slices of %" PRIu64 " insns (mean), "
                "%" PRIu64 " ended by PAUSE\n",
                s->rank, s->instructions, secs,
                secs > 0 ? (double)s->instructions / secs / 1e6 : 0.0,
                (double)s->halt_ns / 1e9, s->slices, s->slice_insns, s->pause_exits);
        print_host_stats(s, f);
        if (n <= 1)
            continue;
        fprintf(f, "vsmp: rank %d: IPIs sent %" PRIu64 " received %" PRIu64
                ", device requests %" PRIu64 " (waited %.3f ms), served %" PRIu64
                ", messages sent %" PRIu64 "\n",
                s->rank, s->ipis_sent, s->ipis_recv, s->io_requests,
                (double)s->io_wait_ns / 1e6, s->io_served, s->msgs_sent);
        /* dsm_stats_print writes "rank R dsm: ..." lines: prefix them */
        char *buf = NULL;
        size_t len = 0;
        FILE *mf = open_memstream(&buf, &len);
        if (!mf)
            continue;
        dsm_stats_print(&s->dsm, s->rank, mf);
        fclose(mf);
        for (char *line = buf; line && *line;) {
            char *nl = strchr(line, '\n');
            int l = nl ? (int)(nl - line) : (int)strlen(line);
            fprintf(f, "vsmp: %.*s\n", l, line);
            line = nl ? nl + 1 : NULL;
        }
        free(buf);
    }
}

void machine_stats_json(const struct machine_stats *st, int n, FILE *f)
{
    fprintf(f, "{\"cpus\": %d, \"ranks\": [", n);
    for (int i = 0; i < n; i++) {
        const struct machine_stats *s = &st[i];
        fprintf(f, "%s\n  {\"rank\": %d, \"instructions\": %" PRIu64 ", \"run_ns\": %" PRIu64
                ", \"halt_ns\": %" PRIu64 ", \"slices\": %" PRIu64 ", \"slice_insns\": %" PRIu64
                ", \"pause_exits\": %" PRIu64 ", \"ipis_sent\": %" PRIu64 ", \"ipis_received\": %" PRIu64
                ", \"device_requests\": %" PRIu64 ", \"device_wait_ns\": %" PRIu64
                ", \"device_requests_served\": %" PRIu64 ", \"messages_sent\": %" PRIu64
                ", \"guest_ns\": %" PRIu64 ", \"poll_ns\": %" PRIu64 ", \"cpu_user_ns\": %" PRIu64
                ", \"cpu_sys_ns\": %" PRIu64 ", \"context_switches_voluntary\": %" PRIu64
                ", \"context_switches_involuntary\": %" PRIu64 ", \"page_faults\": %" PRIu64
                ", \"blocks_translated\": %" PRIu64 ", \"handler_call_insns\": %" PRIu64
                ", \"dsm\": ",
                i ? "," : "", s->rank, s->instructions, s->run_ns, s->halt_ns, s->slices,
                s->slice_insns, s->pause_exits, s->ipis_sent, s->ipis_recv, s->io_requests, s->io_wait_ns,
                s->io_served, s->msgs_sent, s->guest_ns, s->poll_ns, s->cpu_user_ns, s->cpu_sys_ns,
                s->csw_voluntary, s->csw_involuntary, s->minor_faults, s->jit_blocks,
                s->jit_helper_calls);
        dsm_stats_json(&s->dsm, s->rank, f);
        fprintf(f, "}");
    }
    fprintf(f, "\n]}\n");
}
