/* xrank.c - everything that passes between ranks, in one place: the
 * platform messages (struct dsm_msg, type >= DSM_MSG_USER, through
 * dsm_send; received in xrank_on_msg(), called from dsm_poll() and from
 * the DSM's wait loops, so it never polls, faults or blocks):
 *   MSG_IPI       interrupt message: physical destination -> that rank;
 *                 logical, broadcast and shorthands -> every rank, each
 *                 filters with apic_receive(); lowest priority resolved
 *                 by the sender (apic_route() over the peer table) and
 *                 sent ROUTED to the one target
 *   MSG_PEER      this APIC's addressing state (ID, LDR, DFR, enables),
 *                 broadcast on every change, for lowest-priority routing
 *   MSG_IO/MSG_MMIO  port I/O / MMIO of a rank-0 window (the IOAPIC)
 *                 of ranks != 0 -> rank 0 (absolute port or address),
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
 *   MSG_CKPT_ASK  -> rank 0: a signal asked this rank for a checkpoint
 *                 (arg: enum ckpt_kind); rank 0 decides
 *   MSG_CKPT_BEGIN  rank 0 -> all: a checkpoint runs at your next slice
 *                 boundary (arg: its kind; src/snap/checkpoint.c). Every
 *                 platform message is counted by peer, sent and received,
 *                 so that the checkpoint can drain those in flight
 *   MSG_PING, MSG_PONG  with --answer-timeout: every rank asks the next
 *                 one (rank + 1 mod N) every eighth of the timeout whether
 *                 it still runs; the answer comes from its next poll. A
 *                 rank that stopped is thus found even when no CPU needs
 *                 anything of it (CPUs spinning on a copy it would have
 *                 to write, every CPU idle).
 * Every wait for another rank's answer (a device request, the stop
 * handshake, the SHUTDOWN after a fatal error, a PONG, and the DSM's
 * fault waits) ends the job after the answer timeout, naming the rank
 * and the request (xrank_overdue, xrank_no_answer; docs/smp.md).
 * The forwarded device accesses follow the platform's window table
 * (boot/platform.h): a rank != 0 forwards every port outside a local
 * window and every MMIO access in a rank-0 window (MSG_MMIO carries the
 * absolute address); rank 0 serves them through its ordinary dispatch
 * (iobus, phys MMIO), after checking the access against the same table.
 * With one CPU (no DSM) nothing here sends anything: machine_end_run()
 * and machine_fail() only end the run. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "machine_impl.h"
#include "snap/checkpoint.h"
#include "watchdog.h"

/* Platform message types (struct dsm_msg.type): the one list. */
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
    MSG_CKPT_ASK,
    MSG_CKPT_BEGIN,
};
#define IPIF_ROUTED 0x01u            /* MSG_IPI: deliver, do not filter */
#define IOF_WRITE 0x01u              /* MSG_IO/MMIO flags: bit 0 write, */
#define IOF_SIZE_SHIFT 1             /* bits 1-3 size */

/* ---- messages to other ranks ---- */

static void send_msg(struct machine *m, int rank, struct dsm_msg *q)
{
    m->st.msgs_sent++;
    if (m->ck.sent_to && rank >= 0 && rank < m->ncpus)
        m->ck.sent_to[rank]++;
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
void xrank_no_answer(struct machine *m, uint64_t waited_ns, const char *fmt, ...)
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
bool xrank_overdue(const struct machine *m, struct waitclock *wc, uint64_t now)
{
    return m->answer_limit_ns &&
           waitclock_look(wc, now, waitclock_gap(m->opts.answer_timeout_ns)) >=
               m->answer_limit_ns;
}

/* The DSM's on_stall: one of its fault waits timed out. */
void xrank_on_stall(void *arg, const struct dsm_stall *s)
{
    struct machine *m = arg;
    char what[200];
    dsm_stall_describe(s, what, sizeof what);
    xrank_no_answer(m, s->waited_ns, "%s", what);
}

/* The liveness check: PING the next rank every eighth of the timeout,
 * expect its PONG within 1.5 times the timeout: later than the waits
 * whose request names what the guest needed (1.25 times), earlier than
 * the DSM's waits whose answering rank is uncertain (2.5 times: a
 * directory lock's holder, a forwarded TAKE), so that a rank that
 * stopped is named by whoever waits for it (docs/smp.md). Called at
 * every poll between slices, in the halted wait and in every wait loop
 * (the DSM's too: on_wait), until the run stops. */
void xrank_liveness(struct machine *m, uint64_t now)
{
    if (!m->answer_limit_ns || m->stop)
        return;
    int next = (m->rank + 1) % m->ncpus;
    if (m->ping.out) {
        uint64_t limit = m->opts.answer_timeout_ns + m->opts.answer_timeout_ns / 2;
        uint64_t gap = waitclock_gap(m->opts.answer_timeout_ns);
        if (waitclock_look(&m->ping.wc, now, gap) >= limit)
            xrank_no_answer(m, m->ping.wc.waited, "rank %d has not answered PING (the liveness check)",
                      next);
    } else if (now >= m->ping.next_ns) {
        struct dsm_msg q = { .type = MSG_PING, .tag = ++m->ping.tag };
        m->ping.out = true;
        waitclock_start(&m->ping.wc, now);
        send_msg(m, next, &q);
    }
}

void xrank_on_wait(void *arg, uint64_t now)
{
    xrank_liveness(arg, now);
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
    xrank_liveness(m, now);
    return now;
}

/* ---- device accesses forwarded to rank 0 ---- */

/* Rank != 0: port I/O or MMIO of a rank-0 window performed by rank 0;
 * waits for its answer, serving others meanwhile. */
uint32_t xrank_forward(struct machine *m, enum platform_space space, const char *what,
                       bool write, int size, uint32_t addr, uint32_t value)
{
    uint8_t type = space == PW_PORT ? MSG_IO : MSG_MMIO;
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
        if (now && xrank_overdue(m, &wc, now))
            xrank_no_answer(m, wc.waited,
                            "rank 0 has not answered the device request (%s %s 0x%0*llx)",
                            type == MSG_IO ? "port" : what, write ? "write to" : "read of",
                            type == MSG_IO ? 4 : 8, (unsigned long long)addr);
    }
    m->st.io_wait_ns += host_now_ns(NULL) - t0;
    /* Pages may have been taken away meanwhile: do not run on in a
     * block whose code may have changed. */
    m->cpu.end_block = 1;
    return m->io_value;
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
void xrank_route(struct machine *m, const struct apic_msg *msg)
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

/* This APIC's addressing changed: tell every rank (lowest priority). */
void xrank_apic_changed(struct machine *m, const struct apic *a)
{
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

/* Rank != 0: the EOI of a level-triggered vector, for rank 0's IOAPIC. */
void xrank_eoi(struct machine *m, uint8_t vector)
{
    if (!m->dsm)
        return;
    struct dsm_msg q = { .type = MSG_EOI, .arg = vector };
    send_msg(m, 0, &q);
}

/* ---- the end of a run ---- */

/* Rank 0 (or the only rank): the run ends with `status`; every other
 * rank is told. The first end wins. */
void machine_end_run(struct machine *m, int status)
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
void machine_fail(struct machine *m, int status, const char *fmt, ...)
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
        machine_end_run(m, status);
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
        /* only a rank-0 device window, whole: never RAM (the device rule,
         * docs/devices.md) and never a window of this rank's own */
        uint32_t addr = (uint32_t)q->page;
        bool ok = q->page <= UINT32_MAX &&
                  platform_forwarded(&m->plat, PW_MMIO, addr, (uint32_t)size);
        if (ok && write)
            phys_write(&m->phys, addr, size, (uint32_t)q->arg);
        else if (ok)
            v = phys_read(&m->phys, addr, size);
        else
            v = 0xffffffffu;
    }
    m->st.io_served++;
    struct dsm_msg r = { .type = MSG_REPLY, .tag = q->tag, .arg = v };
    send_msg(m, src, &r);
}

/* The DSM's on_msg: every platform message, also while this rank waits
 * inside a fault. May send, never polls, faults or waits. */
void xrank_on_msg(void *arg, int src, const struct dsm_msg *q)
{
    struct machine *m = arg;
    if (m->ck.recv_from && src >= 0 && src < m->ncpus)
        m->ck.recv_from[src]++;
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
            machine_end_run(m, (int)q->arg);
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
    case MSG_CKPT_ASK:
        if (m->devices && q->arg <= CKPT_EXIT)
            ckpt_request(m, (int)q->arg);
        break;
    case MSG_CKPT_BEGIN:
        if (src == 0 && q->arg <= CKPT_EXIT)
            ckpt_begin(m, (int)q->arg);
        break;
    case MSG_STUCK:
        if (m->stuck && src > 0 && src < m->ncpus)
            m->stuck[src] = (struct stuck){ q->flags != 0, q->page, q->tag };
        break;
    default:
        break;
    }
}

/* ---- memory images ---- */

/* Rank != 0: a signal asked for a checkpoint of `kind`. */
void xrank_ckpt_ask(struct machine *m, int kind)
{
    struct dsm_msg q = { .type = MSG_CKPT_ASK, .arg = (uint64_t)kind };
    send_msg(m, 0, &q);
}

/* Rank 0: every other rank runs the checkpoint at its next boundary. */
void xrank_ckpt_begin(struct machine *m, int kind)
{
    struct dsm_msg q = { .type = MSG_CKPT_BEGIN, .arg = (uint64_t)kind };
    send_all(m, &q);
}

/* ---- stuck CPUs and the end of the run (N > 1) ---- */

/* N > 1, while waiting: can only another CPU wake this one (halted with
 * IF=0 and no NMI pending that it may take, or waiting for STARTUP with
 * none queued)? Tell rank 0 whenever that or, while it holds, the IPI counts change;
 * rank 0 ends the run when every CPU is stuck and no IPI is in flight.
 * Returns true when the run was ended here (rank 0). */
bool xrank_check_stuck(struct machine *m)
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
    if (machine_halt_was_asked(m)) {
        machine_end_run(m, 0);
        return true;
    }
    machine_fail(m, VSMP_EXIT_HALT_FOREVER, "every CPU is halted with interrupts disabled or "
                 "waits for STARTUP: nothing can wake them (rank 0 at EIP=%08x)", cpu->eip);
    return true;
}

/* N > 1, after this rank's CPU stopped: tell every rank, and keep serving
 * until every rank said the same (module comment). */
void xrank_stop(struct machine *m)
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
        if (now && xrank_overdue(m, &wc, now)) {
            int r = 0;
            while (r < m->ncpus && (r == m->rank || m->done_from[r]))
                r++;
            xrank_no_answer(m, wc.waited, "rank %d has not reported the end of its run (DONE)", r);
        }
    }
    if (m->devices)
        uart_flush(&m->uart);
}
