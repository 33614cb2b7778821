/* checkpoint.c - memory images of the running machine, the machine's
 * side: requests, the quiescence of every rank, the state block, the
 * restore (checkpoint.h has the protocol, docs/checkpoint.md the rest). */
#include "snap/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "machine_impl.h"
#include "snap/snapbuf.h"
#include "snap/state.h"

/* The state block's own sections (the CPU's and the devices' are inside
 * RCPU and DEVS, written by snap/state.h's functions). */
#define PLAT_VERSION 1
#define CLCK_VERSION 1
#define RANK_VERSION 1
#define DEVS_VERSION 1

static int max_kind(int a, int b)
{
    return a > b ? a : b;
}

/* ---- requests ---- */

/* Signals that came since the last look: the kind they ask (0: none). */
static int take_signals(struct machine *m)
{
    const struct ckpt_signals *s = m->opts.signals;
    if (!s)
        return CKPT_NONE;
    int c = s->cont, e = s->exit, kind = CKPT_NONE;
    if (e != m->ck.seen_exit)
        kind = CKPT_EXIT;
    else if (c != m->ck.seen_cont)
        kind = CKPT_CONTINUE;
    m->ck.seen_cont = c;
    m->ck.seen_exit = e;
    return kind;
}

void ckpt_request(struct machine *m, int kind)
{
    if (!m->opts.ckpt_path || kind <= CKPT_NONE || kind > CKPT_EXIT)
        return;
    m->ck.request = max_kind(m->ck.request, kind);
    m->cpu.exit_request = 1;
}

void ckpt_begin(struct machine *m, int kind)
{
    if (kind <= CKPT_NONE || kind > CKPT_EXIT)
        return;
    m->ck.due = max_kind(m->ck.due, kind);
    m->cpu.exit_request = 1;
}

bool ckpt_due(const struct machine *m)
{
    return m->ck.due != CKPT_NONE;
}

void ckpt_poll(struct machine *m)
{
    int kind = take_signals(m);
    if (kind) {
        if (m->devices)
            ckpt_request(m, kind);
        else
            xrank_ckpt_ask(m, kind);
    }
    if (m->devices && m->ck.request && !m->ck.due && !m->stop) {
        int k = m->ck.request;
        m->ck.request = CKPT_NONE;
        if (m->dsm)
            xrank_ckpt_begin(m, k);
        ckpt_begin(m, k);
    }
}

/* ---- the vsmp control port ---- */

static uint32_t port_read(void *ctx, uint16_t port, int size)
{
    (void)port;
    (void)size;
    struct machine *m = ctx;
    return (uint32_t)m->ck.port;
}

/* 1: a checkpoint, the guest goes on; 2: a checkpoint, then the end of
 * the job. Runs after the OUT completed, between slices. */
static void port_write(void *ctx, uint16_t port, int size, uint32_t value)
{
    (void)port;
    (void)size;
    struct machine *m = ctx;
    uint8_t v = (uint8_t)value;
    if (v != CKPT_CONTINUE && v != CKPT_EXIT)
        return;
    if (!m->opts.ckpt_path) {
        if (!m->ck.announced_once)
            fprintf(stderr, "vsmp: the guest asked for a checkpoint (port 0x%x, value %u): "
                    "ignored: no --checkpoint PATH\n", CKPT_PORT, v);
        m->ck.announced_once = true;
        return;
    }
    ckpt_request(m, v);
}

int ckpt_port_register(struct machine *m)
{
    m->ck.port = m->opts.ckpt_path ? CKPT_PORT_IDLE : CKPT_PORT_NO_PATH;
    return iobus_register(&m->io, CKPT_PORT, 1, 1, m, port_read, port_write);
}

/* ---- quiescence ---- */

/* One round of a wait: serve what arrived, else back off; with the
 * answer timeout, the liveness check now and then (a rank that stopped
 * ends the job instead of leaving the others in this wait for ever). */
static void serve_round(struct machine *m, unsigned *spins)
{
    if (!m->dsm)
        return;
    if (dsm_poll(m->dsm) > 0)
        *spins = 0;
    else
        m->tr->idle(m->tr->ctx, (*spins)++);
    if (m->answer_limit_ns && ++m->wait_rounds % DSM_WAIT_LOOK_ROUNDS == 0)
        xrank_liveness(m, host_now_ns(NULL));
}

/* Every rank comes, each serving DSM and platform messages meanwhile. */
static void barrier_serving(struct machine *m)
{
    const struct ckpt_ops *o = m->opts.ckpt;
    o->barrier_start(o->ctx);
    unsigned spins = 0;
    while (!o->barrier_test(o->ctx))
        serve_round(m, &spins);
}

/* Rank 0: every device's work done (disk requests on the host I/O
 * threads complete), then every writable disk's image fdatasync'd. 0, or
 * -1 with the reason in err. */
static int finish_device_work(struct machine *m, char *err, size_t errlen)
{
    unsigned spins = 0;
    for (;;) {
        board_run_pending(m);
        if (!m->work_pending)
            break;
        if (board_work_runnable(m))
            continue;
        /* only host I/O in flight: serve the others while it runs */
        if (m->dsm && dsm_poll(m->dsm) > 0)
            continue;
        struct pollfd pfd = { .fd = m->io_wake_fd, .events = POLLIN };
        if (m->io_wake_fd >= 0 && poll(&pfd, 1, m->dsm ? 0 : 1) > 0) {
            uint64_t v;
            if (read(m->io_wake_fd, &v, sizeof v) < 0) {
                /* EAGAIN: emptied already; the work looks itself */
            }
        } else if (m->dsm) {
            m->tr->idle(m->tr->ctx, spins++);
        }
    }
    for (int i = 0; i < m->ndisks; i++) {
        struct board_disk *d = &m->disk[i];
        if (!d->live || d->blk.disk.ro)
            continue;
        int e = diskfile_flush(&d->blk.disk);
        if (e) {
            snprintf(err, errlen, "cannot flush the disk %s: %s", d->path ? d->path : "?",
                     strerror(-e));
            return -1;
        }
    }
    return 0;
}

static uint64_t total(const uint64_t *v, int n)
{
    uint64_t s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s;
}

/* The platform messages still in flight, drained: each rank learns how
 * many every other sent it and polls until it has them all; a message
 * served meanwhile may send another (an EOI that raises an IPI, a PONG),
 * so rounds repeat until one sends nothing anywhere. */
static void drain_messages(struct machine *m)
{
    const struct ckpt_ops *o = m->opts.ckpt;
    if (!m->dsm)
        return;
    int n = m->ncpus;
    uint64_t *expect = calloc((size_t)n, sizeof *expect);
    if (!expect) {
        fprintf(stderr, "vsmp: rank %d: out of memory for a checkpoint\n", m->rank);
        exit(VSMP_EXIT_INTERNAL);
    }
    for (;;) {
        uint64_t before = total(m->ck.sent_to, n);
        o->alltoall(o->ctx, m->ck.sent_to, expect);
        unsigned spins = 0;
        for (int p = 0; p < n; p++)
            while (p != m->rank && m->ck.recv_from[p] < expect[p])
                serve_round(m, &spins);
        if (!o->max(o->ctx, total(m->ck.sent_to, n) != before))
            break;
    }
    free(expect);
}

/* ---- the state block ---- */

static uint64_t disk_bytes(const struct board_disk *d)
{
    return d->blk.disk.sectors * 512u + d->blk.disk.tail;
}

static void save_platform(const struct machine *m, struct snapw *w)
{
    snapw_begin(w, SNAP_TAG("PLAT"), PLAT_VERSION);
    snapw_u32(w, (uint32_t)m->ncpus);
    snapw_u64(w, m->phys.ram_size);
    snapw_u32(w, (uint32_t)m->ndisks);
    for (int i = 0; i < m->ndisks; i++) {
        snapw_str(w, m->disk[i].path ? m->disk[i].path : "");
        snapw_u64(w, disk_bytes(&m->disk[i]));
        snapw_bool(w, m->disk[i].blk.disk.ro);
    }
    snapw_end(w);
}

/* Rank 0: the whole block from every rank's part (parts: concatenated,
 * lens by rank). */
static int build_state(struct machine *m, const uint8_t *parts, const uint64_t *lens,
                       struct snapw *w)
{
    save_platform(m, w);
    snapw_begin(w, SNAP_TAG("CLCK"), CLCK_VERSION);
    snapw_u64(w, vclock_now_ns(&m->clock));
    snapw_u64(w, vclock_wall_ns(&m->clock));
    snapw_end(w);
    for (int r = 0; r < m->ncpus; r++) {
        snapw_begin(w, SNAP_TAG("RCPU"), RANK_VERSION);
        snapw_u32(w, (uint32_t)r);
        snapw_bytes(w, parts, (size_t)lens[r]);
        snapw_end(w);
        parts += lens[r];
    }
    struct snapw dev;
    snapw_init(&dev);
    devices_save(m, &dev);
    snapw_begin(w, SNAP_TAG("DEVS"), DEVS_VERSION);
    snapw_bytes(w, dev.buf, dev.len);
    snapw_end(w);
    bool oom = dev.oom || w->oom;
    snapw_free(&dev);
    return oom ? -1 : 0;
}

/* Which pages this rank holds a valid copy of (one CPU: every page). */
static uint8_t *valid_pages(const struct machine *m, uint64_t npages)
{
    uint8_t *v = malloc(npages ? npages : 1);
    if (!v)
        return NULL;
    if (!m->dsm) {
        memset(v, 1, npages);
        return v;
    }
    const uint8_t *st = dsm_state_table(m->dsm);
    for (uint64_t p = 0; p < npages; p++)
        v[p] = st[p] != DSM_INVALID;
    return v;
}

/* The state block and the pages to the file: 0, or -1 with err (the
 * same on every rank). */
static int write_image(struct machine *m, struct ckpt_io_result *res, char *err, size_t errlen)
{
    const struct ckpt_ops *o = m->opts.ckpt;
    uint64_t npages = m->phys.ram_size / DSM_PAGE_SIZE;
    struct snapw mine, all;
    snapw_init(&mine);
    snapw_init(&all);
    rank_state_save(m, &mine);
    uint8_t *valid = valid_pages(m, npages);
    uint8_t *parts = NULL;
    uint64_t *lens = calloc((size_t)m->ncpus, sizeof *lens);
    int bad = o->max(o->ctx, mine.oom || !valid || !lens);
    int rc = -1;
    if (!bad)
        bad = o->gather(o->ctx, mine.buf, mine.len, &parts, lens) != 0;
    if (!bad && m->devices)
        bad = build_state(m, parts, lens, &all) != 0;
    if (o->max(o->ctx, bad)) {
        snprintf(err, errlen, "out of memory for the state block");
    } else {
        rc = o->write(o->ctx, m->opts.ckpt_path, (uint32_t)m->ncpus, m->phys.ram_size,
                      m->phys.ram, valid, all.buf, all.len, res, err, errlen);
    }
    free(parts);
    free(lens);
    free(valid);
    snapw_free(&mine);
    snapw_free(&all);
    return rc;
}

void ckpt_run(struct machine *m)
{
    const struct ckpt_ops *o = m->opts.ckpt;
    int kind = max_kind(m->ck.due, take_signals(m));
    char err[600] = "";
    if (m->devices)
        uart_flush(&m->uart);
    /* 1: every rank at a slice boundary */
    barrier_serving(m);
    /* 2: rank 0's devices idle and the disks on stable storage */
    int disk_bad = m->devices ? finish_device_work(m, err, sizeof err) : 0;
    barrier_serving(m);
    /* 3: nothing in flight */
    drain_messages(m);
    if (m->devices) {
        kind = max_kind(kind, m->ck.request);     /* asked meanwhile: this one */
        m->ck.request = CKPT_NONE;
    }
    kind = o->max(o->ctx, kind);
    m->ck.due = CKPT_NONE;
    /* 4: the image */
    struct ckpt_io_result res = { 0, 0 };
    int rc;
    if (o->max(o->ctx, disk_bad)) {
        rc = -1;                                  /* the message is rank 0's */
    } else {
        rc = write_image(m, &res, err, sizeof err);
    }
    m->ck.port = rc ? CKPT_PORT_FAILED : CKPT_PORT_IDLE;
    if (m->devices) {
        if (rc == 0) {
            double mib = (double)res.pages * DSM_PAGE_SIZE / (1024.0 * 1024.0);
            double mbs = res.seconds > 0 ? (double)res.pages * DSM_PAGE_SIZE / 1e6 / res.seconds
                                         : 0;
            fprintf(stderr, "vsmp: checkpoint %s: %.1f MiB of RAM in use (%" PRIu64 " pages), "
                    "written in %.3f s (%.0f MB/s)\n", m->opts.ckpt_path, mib, res.pages,
                    res.seconds, mbs);
        } else {
            fprintf(stderr, "vsmp: checkpoint %s: %s; %s\n", m->opts.ckpt_path, err,
                    kind == CKPT_EXIT ? "the job ends with status 10" : "the guest goes on");
        }
        fflush(stderr);
    }
    /* 5: go on, or end the run here on every rank (all agree: no message) */
    if (kind == CKPT_EXIT && !m->stop) {
        m->stop = true;
        m->status = rc ? VSMP_EXIT_INTERNAL : 0;
        m->cpu.exit_request = 1;
    }
}

/* ---- restore ---- */

/* PLAT against this machine: 0, or -1 with the mismatch in err. */
static int check_platform(const struct machine *m, struct snapr *r, const char *path, char *err,
                          size_t errlen)
{
    struct snapr s;
    uint32_t version;
    if (!snapr_section(r, SNAP_TAG("PLAT"), PLAT_VERSION, &s, &version)) {
        snprintf(err, errlen, "restore %s: %s", path, r->why);
        return -1;
    }
    uint32_t ncpus = snapr_u32(&s);
    uint64_t ram = snapr_u64(&s);
    uint32_t ndisks = snapr_u32(&s);
    if (s.bad) {
        snprintf(err, errlen, "restore %s: the platform section is cut short", path);
        return -1;
    }
    if (ncpus != (uint32_t)m->ncpus) {
        snprintf(err, errlen, "restore %s: the image is of %u CPU%s, this job has %d rank%s",
                 path, ncpus, ncpus == 1 ? "" : "s", m->ncpus, m->ncpus == 1 ? "" : "s");
        return -1;
    }
    if (ram != m->phys.ram_size) {
        snprintf(err, errlen, "restore %s: the image has %" PRIu64 " MiB of RAM, the config "
                 "%u MiB (memory)", path, ram >> 20, m->phys.ram_size >> 20);
        return -1;
    }
    if (!m->devices)
        return 0;                        /* the disks are rank 0's */
    if (ndisks != (uint32_t)m->ndisks) {
        snprintf(err, errlen, "restore %s: the image has %u disk%s, the config %d", path, ndisks,
                 ndisks == 1 ? "" : "s", m->ndisks);
        return -1;
    }
    for (uint32_t i = 0; i < ndisks; i++) {
        char dpath[1024];
        bool okp = snapr_str(&s, dpath, sizeof dpath);
        uint64_t bytes = snapr_u64(&s);
        bool ro = snapr_bool(&s);
        if (!okp || s.bad) {
            snprintf(err, errlen, "restore %s: the platform section is damaged (disk %u)", path,
                     i + 1);
            return -1;
        }
        const struct board_disk *d = &m->disk[i];
        if (strcmp(dpath, d->path ? d->path : "") != 0) {
            snprintf(err, errlen, "restore %s: disk %u is %s in the image, %s here", path, i + 1,
                     dpath, d->path ? d->path : "?");
            return -1;
        }
        if (bytes != disk_bytes(d)) {
            snprintf(err, errlen, "restore %s: disk %u: the image's (%s) has %" PRIu64
                     " bytes, %s has %" PRIu64, path, i + 1, dpath, bytes, d->path, disk_bytes(d));
            return -1;
        }
        if (ro != d->blk.disk.ro) {
            snprintf(err, errlen, "restore %s: disk %u: the image's (%s) is %s, %s is %s", path,
                     i + 1, dpath, ro ? "read-only" : "writable", d->path,
                     d->blk.disk.ro ? "read-only (ro)" : "writable");
            return -1;
        }
    }
    if (!snapr_done(&s, r)) {
        snprintf(err, errlen, "restore %s: %s", path, r->why);
        return -1;
    }
    return 0;
}

/* The clock continues from the saved value on every rank (each keeps its
 * synchronisation offset), the wall clock from the later of the saved
 * one and the host's now. */
static void continue_clock(struct machine *m, uint64_t saved_ns, uint64_t saved_wall_ns)
{
    const struct ckpt_ops *o = m->opts.ckpt;
    int64_t v[2] = { 0, 0 };
    if (m->rank == 0) {
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        int64_t now_wall = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
        int64_t wall = now_wall > (int64_t)saved_wall_ns ? now_wall : (int64_t)saved_wall_ns;
        v[0] = (int64_t)(saved_ns - vclock_now_ns(&m->clock));   /* offset change */
        v[1] = wall - (int64_t)saved_ns;                         /* wall at clock 0 */
    }
    o->bcast(o->ctx, v, sizeof v);
    m->clock.offset_ns += v[0];
    m->clock.wall_base_ns = v[1];
}

/* This rank's RCPU section and (rank 0) DEVS: 0, or -1 with err. */
static int load_states(struct machine *m, struct snapr *r, const char *path, char *err,
                       size_t errlen)
{
    struct snapr s;
    uint32_t version;
    bool mine_done = false;
    for (int i = 0; i < m->ncpus; i++) {
        if (!snapr_section(r, SNAP_TAG("RCPU"), RANK_VERSION, &s, &version))
            goto bad;
        uint32_t who = snapr_u32(&s);
        if (s.bad || who != (uint32_t)i) {
            snprintf(err, errlen, "restore %s: the CPU states are out of order (CPU %u at %d)",
                     path, who, i);
            return -1;
        }
        struct snapr cpu;
        snapr_init(&cpu, s.p + s.pos, s.len - s.pos);
        if (who != (uint32_t)m->rank) {
            /* another CPU: its APIC addressing for this rank's peer table
             * (lowest-priority routing), before any rank runs */
            if (m->peers && !rank_state_peer(&cpu, i, m->ncpus, &m->peers[i])) {
                snprintf(err, errlen, "restore %s: CPU %d: %s", path, i,
                         cpu.why[0] ? cpu.why : "its state does not load");
                return -1;
            }
            continue;
        }
        if (!rank_state_load(m, &cpu) || cpu.bad) {
            snprintf(err, errlen, "restore %s: CPU %d: %s", path, m->rank,
                     cpu.why[0] ? cpu.why : "its state does not load");
            return -1;
        }
        if (cpu.pos != cpu.len) {
            snprintf(err, errlen, "restore %s: CPU %d: %zu bytes after its state", path, m->rank,
                     cpu.len - cpu.pos);
            return -1;
        }
        mine_done = true;
    }
    if (!mine_done)
        goto bad;
    if (!snapr_section(r, SNAP_TAG("DEVS"), DEVS_VERSION, &s, &version))
        goto bad;
    if (m->devices) {
        struct snapr dev;
        snapr_init(&dev, s.p, s.len);
        if (!devices_load(m, &dev) || dev.bad) {
            snprintf(err, errlen, "restore %s: devices: %s", path,
                     dev.why[0] ? dev.why : "their state does not load");
            return -1;
        }
        if (dev.pos != dev.len) {
            snprintf(err, errlen, "restore %s: devices: %zu bytes after their state", path,
                     dev.len - dev.pos);
            return -1;
        }
    }
    if (r->pos != r->len) {
        snprintf(err, errlen, "restore %s: %zu bytes after the state block", path, r->len - r->pos);
        return -1;
    }
    return 0;
bad:
    snprintf(err, errlen, "restore %s: %s", path, r->why[0] ? r->why : "the state block is damaged");
    return -1;
}

/* N > 1: each page this rank read becomes its exclusive copy; the
 * directory entries of the pages homed here name their readers (learnt
 * with one max over every rank's "reader + 1" per page), set with local
 * atomics. Collective. 0, or -1 (on every rank) out of memory. */
static int install_pages(struct machine *m, const uint8_t *owned, uint64_t npages)
{
    const struct ckpt_ops *o = m->opts.ckpt;
    uint16_t *owner = malloc((npages ? npages : 1) * sizeof *owner);
    if (o->max(o->ctx, owner == NULL)) {
        free(owner);
        return -1;
    }
    for (uint64_t p = 0; p < npages; p++) {
        owner[p] = owned[p] ? (uint16_t)(m->rank + 1) : 0;
        if (owned[p])
            dsm_install_copy(m->dsm, p);
    }
    o->max_u16(o->ctx, owner, npages);
    for (uint64_t p = (uint64_t)m->rank; p < npages; p += (uint64_t)m->ncpus)   /* homed here */
        if (owner[p])
            dsm_install_owner(m->dsm, p, owner[p] - 1);
    free(owner);
    return 0;
}

int ckpt_restore(struct machine *m, const char *path, char *err, size_t errlen)
{
    const struct ckpt_ops *o = m->opts.ckpt;
    uint64_t npages = m->phys.ram_size / DSM_PAGE_SIZE;
    uint8_t *owned = calloc(npages ? npages : 1, 1);
    void *state = NULL;
    size_t state_len = 0;
    struct ckpt_io_result res = { 0, 0 };
    if (o->max(o->ctx, owned == NULL)) {
        free(owned);
        snprintf(err, errlen, "restore %s: out of memory", path);
        return -1;
    }
    if (o->read(o->ctx, path, (uint32_t)m->ncpus, m->phys.ram_size, m->phys.ram, owned, &state,
                &state_len, &res, err, errlen)) {
        free(owned);
        return -1;
    }
    /* the same block on every rank; the disks only rank 0 can check */
    struct snapr r, s;
    uint32_t version;
    snapr_init(&r, state, state_len);
    int rc = check_platform(m, &r, path, err, errlen);
    if (o->max(o->ctx, rc != 0) && rc == 0) {
        snprintf(err, errlen, "restore %s: refused by another rank", path);
        rc = -1;
    }
    uint64_t saved = 0, saved_wall = 0;
    if (rc == 0) {
        if (!snapr_section(&r, SNAP_TAG("CLCK"), CLCK_VERSION, &s, &version)) {
            snprintf(err, errlen, "restore %s: %s", path, r.why);
            rc = -1;
        } else {
            saved = snapr_u64(&s);
            saved_wall = snapr_u64(&s);
            if (!snapr_done(&s, &r)) {
                snprintf(err, errlen, "restore %s: %s", path, r.why);
                rc = -1;
            }
        }
    }
    if (rc == 0) {
        if (m->dsm && install_pages(m, owned, npages)) {
            snprintf(err, errlen, "restore %s: out of memory for the page owners", path);
            rc = -1;
        }
        continue_clock(m, saved, saved_wall);
        if (rc == 0)
            rc = load_states(m, &r, path, err, errlen);
    }
    if (rc == 0) {
        if (m->devices && res.seconds > 0)
            fprintf(stderr, "vsmp: restore %s: %.1f MiB of RAM (%" PRIu64 " pages) read in "
                    "%.3f s\n", path, (double)res.pages * DSM_PAGE_SIZE / (1024.0 * 1024.0),
                    res.pages, res.seconds);
    }
    free(state);
    free(owned);
    return rc;
}
