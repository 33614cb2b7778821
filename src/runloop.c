/* runloop.c - runs a rank's CPU: instruction slices, and between them
 * the polls (other ranks' messages, timers, console input and output,
 * the devices' pending work on rank 0), and one wait for a wake-up while
 * the CPU is halted or waits for STARTUP: with one CPU a sleep until the
 * next timer event or console input, with N > 1 a polling back-off
 * (other ranks' messages can wake it at any time). INIT and STARTUP
 * received while the CPU is in the middle of an instruction (a DSM fault
 * wait) are queued (src/board.c) and applied between slices. */
#define _GNU_SOURCE                  /* ppoll */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "machine_impl.h"
#include "snap/checkpoint.h"

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

/* INIT and STARTUP queued by the APIC (lapic_init_cpu, lapic_sipi in
 * src/board.c), applied once cpu_run() returned. */

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

/* Console input into the UART (waiting up to timeout_ms for it); Ctrl-A x
 * at a terminal ends the run. */
static void poll_input(struct machine *m, int timeout_ms)
{
    if (console_poll(&m->con, &m->uart, timeout_ms))
        machine_end_run(m, 0);
}

/* Between slices: other ranks' requests, timer interrupts, the devices'
 * pending work (rank 0), console input, output flushing. Returns the
 * number of messages served. */
static int poll_devices(struct machine *m, uint64_t now)
{
    int n = m->dsm ? dsm_poll(m->dsm) : 0;
    if (n > 0)
        m->last_served_ns = now;         /* not quiet (see QUIET_NS) */
    if (m->dsm)
        xrank_liveness(m, now);
    ckpt_poll(m);
    if (m->opts.between_slices) {
        uint64_t h0 = host_now_ns(NULL);
        m->opts.between_slices(m->opts.between_slices_arg);
        m->hook_ns += host_now_ns(NULL) - h0;
    }
    apic_poll(&m->apic);
    if (!m->devices)
        return n;
    pit_poll(&m->pit);
    board_run_pending(m);
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

/* A disk's host I/O thread writes the eventfd when its operation is
 * done: sleep up to wait_ns or until then, and empty the counter (a
 * completion signalled before the sleep began ends it at once). */
static void sleep_for_io(struct machine *m, uint64_t wait_ns)
{
    struct pollfd pfd = { .fd = m->io_wake_fd, .events = POLLIN };
    struct timespec ts = { (time_t)(wait_ns / 1000000000ull), (long)(wait_ns % 1000000000ull) };
    if (ppoll(&pfd, 1, &ts, NULL) > 0) {
        uint64_t v;
        if (read(m->io_wake_fd, &v, sizeof v) < 0) {
            /* EAGAIN: already emptied; the work looks at the result itself */
        }
    }
}

/* One CPU, halted: sleep until the next timer event (or console input,
 * which it also looks at), at least WAIT_MIN_NS and at most WAIT_MAX_NS;
 * then poll. While a disk waits for its host I/O thread, the sleep ends
 * when the thread is done (and looks at input every POLL_INPUT_NS). */
static void sleep_for_event(struct machine *m)
{
    if (board_work_runnable(m)) {        /* a device's work goes on (a large request) */
        poll_devices(m, host_now_ns(NULL));
        return;
    }
    uint64_t now = host_now_ns(NULL);
    uint64_t next = next_timer_ns(m);
    uint64_t wait = next > now ? next - now : 0;
    if (wait < WAIT_MIN_NS)
        wait = WAIT_MIN_NS;
    if (wait > WAIT_MAX_NS)
        wait = WAIT_MAX_NS;
    if (m->work_pending && m->io_wake_fd >= 0) {   /* only host I/O in flight */
        sleep_for_io(m, wait < POLL_INPUT_NS ? wait : POLL_INPUT_NS);
    } else if (wait >= 1000000) {
        poll_input(m, (int)(wait / 1000000));
    } else {
        struct timespec ts = { (time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull) };
        nanosleep(&ts, NULL);
    }
    m->next_input_poll = 0;              /* look at input now */
    poll_devices(m, host_now_ns(NULL));
}

/* The one wait for a wake-up: the CPU is halted or waits for STARTUP
 * (or, after a fatal error on a rank != 0, for the SHUTDOWN). Until it
 * can run again or the run ends: with N > 1 poll the transport, the APIC
 * and (rank 0) the devices, backing off (yield, then sleeps up to
 * ~128 us), and report a CPU only another can wake (xrank_check_stuck);
 * with one CPU sleep until the next event (sleep_for_event). A CPU
 * halted with IF=0 that nothing can wake ends the run (status 6). */
static void wait_wakeup(struct machine *m)
{
    struct cpu *cpu = &m->cpu;
    bool smp = m->dsm != NULL;
    uint64_t t0 = host_now_ns(NULL);
    unsigned spins = 0;
    if (m->devices)
        uart_flush(&m->uart);
    for (;;) {
        int n = smp ? poll_devices(m, host_now_ns(NULL)) : 0;
        apply_cpu_events(m);
        if (ckpt_due(m))                 /* a memory image, halted CPUs too */
            ckpt_run(m);
        if (m->stop)
            break;
        if (smp && xrank_check_stuck(m))
            break;
        if (m->fatal_sent) {
            /* reported to rank 0: wait for its SHUTDOWN */
            if (xrank_overdue(m, &m->fatal_wc, host_now_ns(NULL)))
                xrank_no_answer(m, m->fatal_wc.waited,
                                "rank 0 has not answered this rank's report of a fatal error "
                                "(no SHUTDOWN)");
        } else if (!cpu->wait_sipi) {
            if (!cpu->halted || cpu_nmi_ready(cpu) || (cpu->intr && (cpu->eflags & F_IF)))
                break;
            if (!(cpu->eflags & F_IF) && halted_forever(m)) {
                if (machine_halt_was_asked(m))
                    machine_end_run(m, 0);
                else
                    machine_fail(m, VSMP_EXIT_HALT_FOREVER,
                                 "guest halted with interrupts disabled at EIP=%08x", cpu->eip);
                break;
            }
        }
        if (!smp)
            sleep_for_event(m);
        else if (n > 0 || board_work_runnable(m))   /* served, or a device's work goes on */
            spins = 0;
        else
            m->tr->idle(m->tr->ctx, spins++);
    }
    if (smp)
        m->st.halt_ns += host_now_ns(NULL) - t0;
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
            wait_wakeup(m);
            continue;
        }
        apply_cpu_events(m);
        if (ckpt_due(m)) {               /* a memory image, between slices */
            ckpt_run(m);
            continue;
        }
        uint64_t start = host_now_ns(NULL);
        uint64_t deadline = next_timer_ns(m);
        if (served && start + SMP_QUANTUM_NS / 4 < deadline)
            deadline = start + SMP_QUANTUM_NS / 4;
        if (smp)
            m->slicer.quantum_ns = quantum_ns(m, start);
        uint64_t budget = slicer_budget(&m->slicer, start, deadline);
        if (m->opts.max_insns) {
            if (cpu->icount >= m->opts.max_insns) {
                machine_fail(m, VSMP_EXIT_INSN_LIMIT,
                             "instruction limit %llu reached at EIP=%08x",
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
            wait_wakeup(m);
            break;
        case CPU_EXIT_WAIT_SIPI:
            if (smp) {
                wait_wakeup(m);
                break;
            }
            __attribute__((fallthrough));    /* one CPU never waits for STARTUP */
        case CPU_EXIT_EXCEPTION:
        default:
            machine_fail(m, VSMP_EXIT_INTERNAL,
                         "internal error: unexpected CPU exit %d at EIP=%08x", (int)r, cpu->eip);
            break;
        case CPU_EXIT_SHUTDOWN:
            machine_fail(m, VSMP_EXIT_TRIPLE_FAULT, "guest triple fault: %s at EIP=%08x",
                         cpu->shutdown_reason ? cpu->shutdown_reason : "shutdown", cpu->eip);
            break;
        }
    }
    if (ckpt_due(m))                     /* announced before the end: every rank takes part */
        ckpt_run(m);
    if (smp)
        xrank_stop(m);
    if (m->devices)
        uart_flush(&m->uart);
    stats_end_of_run(m, t0);
    return m->status;
}
