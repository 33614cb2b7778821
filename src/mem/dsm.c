/* dsm.c - the DSM coherence protocol: per-rank page state table, directory
 * locking (test-and-set with fetch-OR at the home rank), read faults
 * (downgrade the writer, fetch, join the copyset), write faults
 * (invalidate every copy, fetch if needed, become the exclusive owner),
 * and the service side (invalidations and downgrades from other ranks,
 * acknowledged after on_lose ran). See docs/dsm.md.
 *
 * A read fault of a page that is already shared takes no lock: it joins
 * the copyset with one fetch-OR, checks the meta word, and gets the data
 * (dsm_read_fault, try_join; the argument is in docs/dsm.md).
 *
 * Every page starts untouched (the all-zero directory entry: no owner,
 * not shared) and every rank with no copy; nobody reads a copy area's
 * initial bytes. The first fault of a page, read or write, finds it
 * untouched under the lock (or the home does, for a TAKE) and installs
 * a zero page in the faulting rank's own copy area: no data moves, and
 * guest RAM nobody touched costs no host memory (first_touch, grant_zero;
 * docs/dsm.md, "Untouched pages").
 *
 * Two directory layouts (chosen at dsm_create, the same on every rank):
 * for nranks <= DSM_COMBINED_MAX_RANKS the copyset bits live in the meta
 * word next to the lock, SHARED and owner ("combined": the join is one
 * fetch-OR that returns the state it joined, and the locked paths read
 * and rewrite the copyset with their lock and unlock), otherwise in
 * ceil(nranks/64) words after it ("split").
 *
 * Waiting never blocks service: every wait loop (directory lock taken,
 * acknowledgements outstanding) polls the transport, whose handler serves
 * requests for other pages at once. A rank holds at most one directory
 * lock, and only while it waits for acknowledgements, which every rank
 * sends without waiting for anything: no cycle of waits can form.
 *
 * Every wait loop also counts how long it has waited for the other rank
 * (src/waitclock.h) and gives up after the answer timeout
 * (config.answer_timeout_ns, config.on_stall): a rank that stopped
 * answering ends the job instead of hanging it (docs/dsm.md). */
#include "mem/dsm.h"

#include <stdlib.h>
#include <string.h>

#include "mem/dsm_migratory.h"
#include "waitclock.h"

struct dsm {
    const struct dsm_transport *t;
    struct dsm_config cfg;
    uint64_t npages;
    int rank, nranks;
    size_t cs_words;             /* copyset words per entry */
    bool cs_in_meta;             /* combined layout: copyset in the meta word */
    uint8_t *state;              /* enum dsm_state per page */

    /* the one operation this rank has in flight (faults do not nest) */
    bool busy;                   /* inside a fault handler */
    bool in_lose;                /* inside on_lose */
    bool joining;                /* this read fault did the lock-free join:
                                  * our copyset bit may be set (even after
                                  * withdrawing it a writer may have taken
                                  * it) while our state is INVALID */
    int join_credit;             /* adaptive join policy, see read fault */
    int take_credit;             /* adaptive take policy, see take_wanted */
    uint8_t *hint;               /* per page: last known owner (combined
                                  * layout, < 128 ranks) | HINT_SHARED */
    bool take_out;               /* this fault's TAKE is out and its answer
                                  * not yet acted on (a read TAKE may have
                                  * joined us meanwhile) */
    uint8_t take_reply;          /* 0 (no answer yet), DSM_MSG_GRANT,
                                  * _JOINED or _REFUSE */
    uint8_t take_flags;          /* the answer's flags */
    uint64_t take_meta;          /* the answer's arg */
    bool take_deferred;          /* an INVALIDATE of the page came while a
                                  * read TAKE was out: */
    int deferred_src;            /* answered after it (answer_deferred) */
    struct dsm_msg deferred;
    uint64_t tag;                /* tag of the current request round */
    uint64_t op_page;
    int acks_pending;
    uint64_t *req_sent_ns;       /* per target: when its request went out */
    uint32_t *page_faults;       /* faults per page (dsm_hot_pages) */
    uint8_t *req_out;            /* per target: its ACK is still to come */
    int req_round;               /* requests sent in this round */
    enum dsm_msg_type req_type;
    uint64_t *cs_buf;            /* copyset scratch, cs_words words */
    int wait_rank;               /* TAKE, lock waits: the rank waited for */
    unsigned wait_rounds;        /* rounds of the current wait */
    struct waitclock wc;         /* the current wait (answer timeout) */
    bool stalled;                /* a wait timed out: every fault fails */

    struct dsm_migratory mig;    /* with cfg.migratory */

    struct dsm_stats stats;
};

_Static_assert(DSM_PAGE_SIZE <= DSM_TRANSPORT_DATA_MAX, "a page fits one send_data");

/* ---- small helpers ---- */

static uint64_t now(const struct dsm *d)
{
    return d->t->now_ns(d->t->ctx);
}

static size_t page_off(uint64_t page)
{
    return (size_t)page << DSM_PAGE_SHIFT;
}

static uint64_t fop(struct dsm *d, int home, size_t idx, enum dsm_atomic_op op, uint64_t v)
{
    return d->t->fetch_op(d->t->ctx, home, idx, op, v);
}

/* The owner hint: who this rank last knew to own a page (as owner + 1;
 * 0: untouched, as every page starts, or no owner known), and whether the
 * page was shared then. Only steers the choice of path (a wrong hint
 * costs a refused TAKE, never correctness). */
#define HINT_SHARED 0x80u
static uint8_t hint_of(int owner, bool shared)
{
    return owner < 0 ? 0 : (uint8_t)((unsigned)(owner + 1) | (shared ? HINT_SHARED : 0));
}

static void set_hint(struct dsm *d, uint64_t page, int owner, bool shared)
{
    if (d->hint && owner < d->nranks)
        d->hint[page] = hint_of(owner, shared);
}

/* The page was untouched (its entry says so, and we hold its lock or a
 * zero GRANT): our copy becomes a zero page. Nothing else has touched
 * these bytes of our copy area since the transport made it, and nobody
 * reads them before we own the page. */
static void zero_page(struct dsm *d, uint64_t page)
{
    memset(d->t->ram + page_off(page), 0, DSM_PAGE_SIZE);
}

static void record_latency(struct dsm_stats *s, enum dsm_fault_kind kind, uint64_t ns)
{
    s->fault_ns_total += ns;
    if (ns > s->fault_ns_max)
        s->fault_ns_max = ns;
    s->lat_hist[dsm_lat_bucket(ns)]++;
    dsm_kind_record(&s->kind[kind], ns);
}

/* ---- service side: requests from other ranks ---- */

static void lose(struct dsm *d, uint64_t page, enum dsm_state ns)
{
    if (d->state[page] == DSM_WRITE)
        mig_losing(&d->mig, page, d->t->ram + page_off(page));
    if (d->cfg.on_lose) {
        d->in_lose = true;
        d->cfg.on_lose(d->cfg.on_lose_arg, page, ns);
        d->in_lose = false;
    }
    d->state[page] = (uint8_t)ns;
}

static void serve_request(struct dsm *d, int src, const struct dsm_msg *m)
{
    uint64_t page = m->page;
    struct dsm_msg ack = {
        .type = DSM_MSG_ACK, .src = (uint32_t)d->rank, .page = page, .tag = m->tag,
    };
    if (page >= d->npages) {
        d->stats.protocol_errors++;
        d->t->send(d->t->ctx, src, &ack);
        return;
    }
    enum dsm_state st = (enum dsm_state)d->state[page];
    enum dsm_state to = m->type == DSM_MSG_INVALIDATE ? DSM_INVALID : DSM_READ;
    if (m->type == DSM_MSG_INVALIDATE && st == DSM_INVALID && d->take_out && d->joining &&
        page == d->op_page && !d->take_deferred) {
        /* our read TAKE may have joined us to the copyset, and the page
         * may still be on its way to us (or here, its answer delivered
         * in this same poll, not yet acted on): answer once take() has
         * dealt with it, so that no stale copy is kept */
        d->take_deferred = true;
        d->deferred_src = src;
        d->deferred = *m;
        return;
    }
    if (m->type == DSM_MSG_INVALIDATE) {
        d->stats.inval_recv++;
        /* nothing to drop: an error, unless a lock-free join of this
         * page (still in progress, we cannot have left the fault: the
         * sender holds the lock until we answer) put our bit there */
        if (st == DSM_INVALID) {
            if (dsm_join_pending(d, page))
                d->stats.join_invals++;
            else
                d->stats.protocol_errors++;
        }
    } else {
        d->stats.downgrade_recv++;
        if (st != DSM_WRITE)
            d->stats.protocol_errors++;
    }
    /* The CPU layer drops its mappings first; no local store can follow. */
    if (st > to)
        lose(d, page, to);
    if (m->type == DSM_MSG_INVALIDATE)
        set_hint(d, page, src, false);          /* src becomes the writer */
    else
        set_hint(d, page, d->rank, true);
    ack.arg = (uint64_t)st;
    ack.flags = m->flags;   /* echo PUSH: the requester checks the answer */
    if ((m->flags & DSM_MSGF_PUSH) && st != DSM_INVALID) {
        /* the answer carries our copy (rule 8: in place on delivery) */
        d->t->send_data(d->t->ctx, src, &ack, page_off(page), DSM_PAGE_SIZE);
        d->stats.pages_pushed++;
        d->stats.bytes_moved += DSM_PAGE_SIZE;
    } else {
        d->t->send(d->t->ctx, src, &ack);
    }
}

static void dir_unlock(struct dsm *d, int home, size_t idx, uint64_t meta);

/* The INVALIDATE held back while our read TAKE awaited its answer: our
 * copy never became valid (a JOINED page that came is not kept), so
 * answer it as a rank without one. */
static void answer_deferred(struct dsm *d)
{
    if (!d->take_deferred)
        return;
    d->take_deferred = false;
    const struct dsm_msg *m = &d->deferred;
    struct dsm_msg ack = {
        .type = DSM_MSG_ACK, .flags = m->flags, .src = (uint32_t)d->rank,
        .page = m->page, .tag = m->tag, .arg = DSM_INVALID,
    };
    d->stats.inval_recv++;
    d->stats.takes_invalidated++;
    if (m->flags & DSM_MSGF_PUSH)       /* only the owner is asked for data */
        d->stats.protocol_errors++;
    set_hint(d, m->page, d->deferred_src, false);
    d->t->send(d->t->ctx, d->deferred_src, &ack);
}

/* ---- service side: TAKEs, served by the home or the owner it forwards
 * to (docs/dsm.md, "Take"); nothing here waits ---- */

/* Answer the TAKE m (whose requester is `to`) with REFUSE. */
static void refuse(struct dsm *d, int to, const struct dsm_msg *m, uint64_t arg, uint8_t flags)
{
    struct dsm_msg r = {
        .type = DSM_MSG_REFUSE, .flags = flags, .src = (uint32_t)d->rank,
        .page = m->page, .tag = m->tag, .arg = arg,
    };
    d->t->send(d->t->ctx, to, &r);
}

/* Answer the TAKE m with our copy of its page (GRANT or JOINED). */
static void answer_with_page(struct dsm *d, int to, const struct dsm_msg *m, uint8_t type,
                             uint8_t flags, uint64_t arg)
{
    struct dsm_msg r = {
        .type = type, .flags = flags, .src = (uint32_t)d->rank,
        .page = m->page, .tag = m->tag, .arg = arg,
    };
    d->t->send_data(d->t->ctx, to, &r, page_off(m->page), DSM_PAGE_SIZE);
    if (type == DSM_MSG_GRANT)
        d->stats.takes_served++;
    else
        d->stats.joins_served++;
    d->stats.pages_pushed++;
    d->stats.bytes_moved += DSM_PAGE_SIZE;
}

/* We own the TAKE's page and its entry (meta word `old`) is locked for
 * the requester `to`, which holds no copy: give our copy up as its fault
 * needs (on_lose first: read-only for a read, invalid for a write) and
 * GRANT it the page with the meta word it unlocks with. For a read the
 * owner stays us, SHARED, copyset = the old readers (an exclusive
 * entry's stray bits of failed joins dropped) + us + `to`; for a write
 * `to` owns it exclusively. */
static void grant(struct dsm *d, int to, const struct dsm_msg *m, bool write, uint64_t old)
{
    uint64_t page = m->page;
    enum dsm_state st = (enum dsm_state)d->state[page];
    enum dsm_state keep = write ? DSM_INVALID : DSM_READ;
    uint64_t meta;
    if (write) {
        meta = dsm_meta_owned_by(to);
        set_hint(d, page, to, false);
    } else {
        meta = ((old & DSM_META_SHARED) ? old & ~DSM_META_LOCKED : dsm_meta_owned_by(d->rank)) |
               DSM_META_SHARED | dsm_meta_cs_bit(d->rank) | dsm_meta_cs_bit(to);
        set_hint(d, page, d->rank, true);
    }
    if (st > keep)
        lose(d, page, keep);
    answer_with_page(d, to, m, DSM_MSG_GRANT,
                     st == DSM_WRITE && !write ? DSM_MSGF_DOWNGRADED : 0, meta);
}

/* The TAKE's page is untouched and its entry locked for the requester
 * `to` (by us, its home): GRANT it without data (flag ZERO), read or
 * write alike: it installs a zero page and owns it exclusively. */
static void grant_zero(struct dsm *d, int to, const struct dsm_msg *m)
{
    struct dsm_msg r = {
        .type = DSM_MSG_GRANT, .flags = DSM_MSGF_ZERO, .src = (uint32_t)d->rank,
        .page = m->page, .tag = m->tag, .arg = dsm_meta_owned_by(to),
    };
    d->t->send(d->t->ctx, to, &r);
    d->stats.takes_served++;
    set_hint(d, m->page, to, false);
}

/* Ask the page's owner to answer the TAKE m itself (FORWARD). */
static void forward(struct dsm *d, int owner, int to, const struct dsm_msg *m, uint8_t flags,
                    uint64_t meta)
{
    struct dsm_msg f = {
        .type = DSM_MSG_FORWARD, .flags = flags, .to = (uint16_t)to,
        .src = (uint32_t)d->rank, .page = m->page, .tag = m->tag, .arg = meta,
    };
    d->t->send(d->t->ctx, owner, &f);
    d->stats.takes_forwarded++;
}

/* A read TAKE of a page we do not hold writable: join the requester to
 * the copyset with one OR on our own directory word (its own lock-free
 * join, done here). If the entry was unlocked and SHARED, the requester
 * is a reader from that instant, and every copy stays current until a
 * writer has its ACK, which it holds back until the page has arrived
 * (answer_deferred): send it our copy, or have the owner send its own.
 * Otherwise false; the bit is a failed join's (docs/dsm.md), and the
 * caller goes on to lock the entry. */
static bool take_join(struct dsm *d, int src, const struct dsm_msg *m, size_t idx,
                      enum dsm_state st)
{
    uint64_t old = fop(d, d->rank, idx, DSM_OP_OR, dsm_meta_cs_bit(src));
    int owner = dsm_meta_owner(old);
    if ((old & DSM_META_LOCKED) || !(old & DSM_META_SHARED))
        return false;
    if (st == DSM_READ) {
        answer_with_page(d, src, m, DSM_MSG_JOINED, 0, (uint64_t)owner);
    } else if (owner < 0 || owner == d->rank || owner == src || owner >= d->nranks) {
        d->stats.protocol_errors++;     /* the owner of a shared page holds a copy */
        refuse(d, src, m, old, 0);
    } else {
        forward(d, owner, src, m, 0, old);
    }
    return true;
}

/* A TAKE: a rank without a copy asks us, the page's home, to serve its
 * fault without its lock and request. A read of a shared page joins it
 * (take_join). Otherwise we lock the entry (our own directory word: no
 * waiting) and, if the page is untouched, GRANT it without data (the
 * requester zero-fills it); if we own the page, GRANT; if a third rank
 * owns it exclusively, that rank answers (FORWARD, the entry stays
 * locked for the requester). Anything else (entry locked, our own fault
 * on the page in progress, other readers to invalidate for a write) is a
 * REFUSE, and the requester takes the lock path. */
static void serve_take(struct dsm *d, int src, const struct dsm_msg *m)
{
    uint64_t page = m->page;
    bool write = (m->flags & DSM_MSGF_WRITE) != 0;
    if (page >= d->npages || !d->cs_in_meta || dsm_home(page, d->nranks) != d->rank ||
        src == d->rank) {
        d->stats.protocol_errors++;
        refuse(d, src, m, 0, 0);
        return;
    }
    size_t idx = dsm_dir_index(page, d->nranks);
    enum dsm_state st = (enum dsm_state)d->state[page];
    if (d->busy && d->op_page == page) {
        /* our own fault on the page decides first */
        refuse(d, src, m, fop(d, d->rank, idx, DSM_OP_LOAD, 0), 0);
        return;
    }
    if (!write && st != DSM_WRITE && take_join(d, src, m, idx, st))
        return;
    uint64_t old = fop(d, d->rank, idx, DSM_OP_OR, DSM_META_LOCKED);
    if (old & DSM_META_LOCKED) {
        refuse(d, src, m, old, 0);
        return;
    }
    bool shared = (old & DSM_META_SHARED) != 0;
    int owner = dsm_meta_owner(old);
    if (dsm_meta_untouched(old)) {
        if (st == DSM_INVALID) {
            grant_zero(d, src, m);
            return;
        }
        d->stats.protocol_errors++;     /* we hold a copy nobody gave us */
    } else if (owner == d->rank) {
        uint64_t readers = shared ? old & DSM_META_CS_MASK & ~dsm_meta_cs_bit(d->rank) : 0;
        if (st != (shared ? DSM_READ : DSM_WRITE)) {
            d->stats.protocol_errors++;
        } else if (!(write && readers)) {
            grant(d, src, m, write, old);
            return;
        }
    } else if (!shared && owner != src && owner < d->nranks) {
        forward(d, owner, src, m, DSM_MSGF_LOCKED | (write ? DSM_MSGF_WRITE : 0), old);
        return;
    } else if (owner == src) {
        d->stats.protocol_errors++;     /* src would hold a copy */
    }
    dir_unlock(d, d->rank, idx, old);   /* as we found it */
    refuse(d, src, m, old, 0);
}

/* A TAKE the page's home (src) forwarded to us, the owner: answer its
 * requester `to`. Unlocked: the page is shared and `to` already joined,
 * send our copy (JOINED), or REFUSE if a writer took it from us since
 * (that writer waits for `to`'s ACK, which waits for this answer).
 * LOCKED: we hold the page exclusively and the entry is locked for `to`:
 * GRANT (grant); anything else contradicts the directory, and the
 * REFUSE hands the lock back (`to` unlocks with the meta word). */
static void serve_forward(struct dsm *d, int src, const struct dsm_msg *m)
{
    uint64_t page = m->page;
    int to = m->to;
    bool locked = (m->flags & DSM_MSGF_LOCKED) != 0;
    if (to >= d->nranks || to == d->rank) {
        d->stats.protocol_errors++;     /* nobody to answer */
        return;
    }
    uint8_t rflags = locked ? DSM_MSGF_LOCKED : 0;
    if (page >= d->npages || !d->cs_in_meta || src != dsm_home(page, d->nranks)) {
        d->stats.protocol_errors++;
        refuse(d, to, m, m->arg, rflags);
        return;
    }
    enum dsm_state st = (enum dsm_state)d->state[page];
    if (!locked) {
        if (st == DSM_READ) {
            answer_with_page(d, to, m, DSM_MSG_JOINED, 0, (uint64_t)d->rank);
            return;
        }
        if (st == DSM_WRITE)
            d->stats.protocol_errors++; /* copies of a shared page are read-only */
        refuse(d, to, m, m->arg, 0);
        return;
    }
    if (st != DSM_WRITE || (m->arg & DSM_META_SHARED) || dsm_meta_owner(m->arg) != d->rank) {
        d->stats.protocol_errors++;
        refuse(d, to, m, m->arg, DSM_MSGF_LOCKED);
        return;
    }
    grant(d, to, m, (m->flags & DSM_MSGF_WRITE) != 0, m->arg);
}

static void on_msg(void *arg, int src, const struct dsm_msg *m)
{
    struct dsm *d = arg;
    switch (m->type) {
    case DSM_MSG_INVALIDATE:
    case DSM_MSG_DOWNGRADE:
        serve_request(d, src, m);
        break;
    case DSM_MSG_TAKE:
        serve_take(d, src, m);
        break;
    case DSM_MSG_FORWARD:
        serve_forward(d, src, m);
        break;
    case DSM_MSG_GRANT:
    case DSM_MSG_JOINED:
    case DSM_MSG_REFUSE:
        if (d->take_out && !d->take_reply && m->tag == d->tag && m->page == d->op_page) {
            d->take_reply = m->type;
            d->take_flags = m->flags;
            d->take_meta = m->arg;
        } else {
            d->stats.protocol_errors++;
        }
        break;
    case DSM_MSG_ACK:
        if (d->busy && m->tag == d->tag && m->page == d->op_page && d->acks_pending > 0) {
            d->acks_pending--;
            enum dsm_request_kind k = d->req_type == DSM_MSG_DOWNGRADE ? DSM_RQ_DOWNGRADE
                                      : d->req_round > 1             ? DSM_RQ_INVALIDATE_MANY
                                                                     : DSM_RQ_INVALIDATE;
            if (src >= 0 && src < d->nranks) {
                dsm_kind_record(&d->stats.request[k], now(d) - d->req_sent_ns[src]);
                d->req_out[src] = 0;
            }
            /* a push request answered by a rank without the data (an
             * INVALIDATE without push may meet a joining rank that has
             * none: the target checks that case itself) */
            if (m->arg == DSM_INVALID && (m->flags & DSM_MSGF_PUSH))
                d->stats.protocol_errors++;
        } else {
            d->stats.protocol_errors++;
        }
        break;
    default:
        /* platform messages (IPIs, device requests) go to the machine */
        if (m->type >= DSM_MSG_USER && d->cfg.on_msg)
            d->cfg.on_msg(d->cfg.on_msg_arg, src, m);
        else
            d->stats.protocol_errors++;
        break;
    }
}

void dsm_send(struct dsm *d, int rank, const struct dsm_msg *m)
{
    struct dsm_msg copy = *m;
    copy.src = (uint32_t)d->rank;
    d->t->send(d->t->ctx, rank, &copy);
}

int dsm_poll(struct dsm *d)
{
    if (d->in_lose)
        return 0;
    return d->t->poll(d->t->ctx, 0, on_msg, d);
}

/* ---- waiting for another rank, and the answer timeout ---- */

static void wait_start(struct dsm *d, int rank)
{
    d->wait_rank = rank;
    d->wait_rounds = 0;
    if (d->cfg.answer_timeout_ns)
        waitclock_start(&d->wc, now(d));
}

/* The wait has gone on too long: tell config.on_stall who and what we
 * waited for. From then on every fault fails. */
static void stall(struct dsm *d, enum dsm_stall_kind kind, uint64_t waited)
{
    struct dsm_stall s = {
        .kind = kind, .rank = d->wait_rank, .holder = -1, .page = d->op_page,
        .waited_ns = waited,
    };
    if (kind == DSM_STALL_ACK) {
        s.request = d->req_type;
        for (int r = 0; r < d->nranks; r++)
            if (d->req_out[r]) {
                s.rank = r;         /* the first whose ACK is missing */
                break;
            }
    } else if (kind == DSM_STALL_TAKE) {
        s.request = DSM_MSG_TAKE;
    } else if (d->nranks == 2) {
        s.holder = 1 - d->rank;     /* we never wait for our own lock */
    }
    d->stalled = true;
    if (d->cfg.on_stall)
        d->cfg.on_stall(d->cfg.on_stall_arg, &s);
}

/* One round of a wait loop: serve what arrived, else back off; every
 * DSM_WAIT_LOOK_ROUNDS rounds the answer timeout (limit:
 * config.answer_timeout_ns for an ACK, twice that for the others) and
 * on_wait. False when the wait timed out. */
static bool wait_round(struct dsm *d, unsigned *spins, enum dsm_stall_kind kind)
{
    if (d->t->poll(d->t->ctx, 0, on_msg, d) > 0)
        *spins = 0;
    else
        d->t->idle(d->t->ctx, (*spins)++);
    uint64_t limit = d->cfg.answer_timeout_ns;
    if (!limit || ++d->wait_rounds % DSM_WAIT_LOOK_ROUNDS)
        return true;
    uint64_t t = now(d);
    if (d->cfg.on_wait)
        d->cfg.on_wait(d->cfg.on_wait_arg, t);
    uint64_t waited = waitclock_look(&d->wc, t, waitclock_gap(limit));
    if (kind != DSM_STALL_ACK)
        limit *= 2;
    if (waited < limit)
        return true;
    stall(d, kind, waited);
    return false;
}

int dsm_stall_describe(const struct dsm_stall *s, char *buf, size_t len)
{
    unsigned long long addr = (unsigned long long)s->page << DSM_PAGE_SHIFT;
    switch (s->kind) {
    case DSM_STALL_ACK:
        return snprintf(buf, len, "rank %d has not answered %s of page 0x%08llx", s->rank,
                        s->request == DSM_MSG_DOWNGRADE ? "DOWNGRADE" : "INVALIDATE", addr);
    case DSM_STALL_TAKE:
        return snprintf(buf, len,
                        "rank %d (the home of page 0x%08llx) or the owner it forwarded the "
                        "request to has not answered TAKE", s->rank, addr);
    default:
        if (s->holder >= 0)
            return snprintf(buf, len,
                            "rank %d has held the directory entry of page 0x%08llx locked "
                            "(at rank %d)", s->holder, addr, s->rank);
        return snprintf(buf, len,
                        "the directory entry of page 0x%08llx (at rank %d) has stayed locked "
                        "by another rank", addr, s->rank);
    }
}

/* ---- directory lock ---- */

/* Test-and-set the lock bit of page's meta word; returns the meta word
 * as it was when this rank got the lock (lock bit clear), or
 * DSM_META_LOCKED when the wait timed out. */
static uint64_t dir_lock(struct dsm *d, int home, size_t idx)
{
    uint64_t t0 = 0;
    unsigned spins = 0;
    for (;;) {
        uint64_t old = fop(d, home, idx, DSM_OP_OR, DSM_META_LOCKED);
        if (!(old & DSM_META_LOCKED)) {
            if (t0)
                d->stats.wait_ns += now(d) - t0;
            return old;
        }
        if (!t0) {
            t0 = now(d);
            wait_start(d, home);
        }
        d->stats.lock_retries++;
        if (!wait_round(d, &spins, DSM_STALL_LOCK))
            return DSM_META_LOCKED;
    }
}

/* The unlock is a store that does not wait for the home (rule 2b): a
 * later lock of this entry by this rank is ordered after it, and nothing
 * else this rank does depends on it having landed; ranks waiting for the
 * lock see it one way trip later instead of after our round trip. */
static void dir_unlock(struct dsm *d, int home, size_t idx, uint64_t meta)
{
    d->t->store(d->t->ctx, home, idx, meta & ~DSM_META_LOCKED);
}

/* ---- requests from this rank ---- */

static void send_request(struct dsm *d, int target, uint64_t page, enum dsm_msg_type type, bool push)
{
    struct dsm_msg m = {
        .type = (uint8_t)type,
        .flags = push ? DSM_MSGF_PUSH : 0,
        .src = (uint32_t)d->rank,
        .page = page,
        .tag = d->tag,
    };
    /* one round (one page, one type) goes out back to back; no ACK is
     * handled before the last request has been sent */
    if (d->acks_pending++ == 0)
        d->req_round = 0;
    d->req_round++;
    d->req_type = type;
    if (target >= 0 && target < d->nranks) {
        d->req_sent_ns[target] = now(d);
        d->req_out[target] = 1;
    }
    if (type == DSM_MSG_INVALIDATE)
        d->stats.inval_sent++;
    else
        d->stats.downgrade_sent++;
    d->t->send(d->t->ctx, target, &m);
}

/* False when the wait timed out. */
static bool wait_acks(struct dsm *d)
{
    if (d->acks_pending == 0)
        return true;
    uint64_t t0 = now(d);
    unsigned spins = 0;
    wait_start(d, -1);
    while (d->acks_pending > 0)
        if (!wait_round(d, &spins, DSM_STALL_ACK))
            return false;
    d->stats.wait_ns += now(d) - t0;
    return true;
}

static void fetch(struct dsm *d, int from, uint64_t page)
{
    d->t->get(d->t->ctx, from, page_off(page), d->t->ram + page_off(page), DSM_PAGE_SIZE);
    d->stats.pages_got++;
    d->stats.bytes_moved += DSM_PAGE_SIZE;
}

static bool begin_op(struct dsm *d, uint64_t page)
{
    if (page >= d->npages || d->busy || d->in_lose || d->stalled)
        return false;
    d->busy = true;
    d->joining = false;
    d->take_out = false;
    d->take_reply = 0;
    d->take_deferred = false;
    d->tag++;
    d->op_page = page;
    d->acks_pending = 0;
    return true;
}

static void end_op(struct dsm *d, enum dsm_fault_kind kind, uint64_t t0)
{
    record_latency(&d->stats, kind, now(d) - t0);
    d->busy = false;
    d->joining = false;
}

/* A fault whose wait timed out: -1 (the dsm is stalled for good). */
static int fail_op(struct dsm *d)
{
    d->busy = false;
    d->joining = false;
    d->take_out = false;
    return -1;
}

bool dsm_copyset_in_meta(const struct dsm *d)
{
    return d->cs_in_meta;
}

bool dsm_join_pending(const struct dsm *d, uint64_t page)
{
    return d->busy && d->joining && d->op_page == page;
}

/* The adaptive policies (join, take): a success earns credit (up to
 * CREDIT_MAX), a failure costs CREDIT_PENALTY; with negative credit the
 * path is skipped and the credit grows by one per fault that skipped it,
 * so a rank whose faults all fail it tries once in CREDIT_PENALTY + 1. */
#define CREDIT_MAX 4
#define CREDIT_PENALTY 4

static bool credit_allows(int *credit)
{
    if (*credit >= 0)
        return true;
    (*credit)++;
    return false;
}

static void credit_won(int *credit)
{
    if (*credit < CREDIT_MAX)
        (*credit)++;
}

static void credit_lost(int *credit)
{
    *credit -= CREDIT_PENALTY;
}

static bool join_wanted(struct dsm *d)
{
    switch (d->cfg.join) {
    case DSM_JOIN_ALWAYS:
        return true;
    case DSM_JOIN_NEVER:
        return false;
    default:
        return credit_allows(&d->join_credit);
    }
}

/* A join saw the meta word `meta` after its bit was in the copyset:
 * unlocked and SHARED (owned by another rank, ours would contradict our
 * INVALID state: the lock path counts that as a protocol error) means the
 * owner's copy is current: get it, the page is READ. Otherwise count the
 * fallback; the caller takes the lock. */
static bool join_outcome(struct dsm *d, uint64_t page, uint64_t meta)
{
    int owner = dsm_meta_owner(meta);
    if (!(meta & DSM_META_LOCKED) && (meta & DSM_META_SHARED) && owner != d->rank) {
        fetch(d, owner, page);
        d->state[page] = DSM_READ;
        set_hint(d, page, owner, true);
        d->stats.joins++;
        credit_won(&d->join_credit);
        return true;
    }
    d->stats.join_fallbacks++;
    credit_lost(&d->join_credit);
    set_hint(d, page, owner, (meta & DSM_META_SHARED) != 0);
    return false;
}

/* Adaptive take policy: a TAKE is worth a try where one-sided operations
 * on the home are not cheap (transport rule 9: over shared memory a lock
 * or join costs a fraction of a microsecond, while a message waits for
 * the home's next poll). There it is tried for every read (the home
 * answers a shared page itself or through the owner, and an exclusive
 * one through the owner: three one-way trips at most, where the join or
 * lock and then the get or request make four; an untouched one with a
 * zero GRANT), and for writes of pages last seen exclusive at their home
 * (one round trip instead of two; a forwarded write, three one-way trips,
 * measured slower than the lock path for isolated writes over TCP on 2
 * cores, docs/benchmarks.md "Forwarded takes"; a home whose hint was
 * stale forwards rather than refuse). Not for a write of a page last
 * seen untouched: the lock path's zero fill (one atomic at the home, then
 * an unlock that does not wait) costs no more than a TAKE's round trip,
 * and needs no message that the home must poll for (rank 0's loader
 * writes the kernel while the other ranks may not poll yet). Refusals
 * cost credit, as failed joins do. */
#define TAKE_MIN_RMA_NS 500

static bool home_is_far(const struct dsm *d, int home)
{
    return !d->t->rma_ns || d->t->rma_ns(d->t->ctx, home) >= TAKE_MIN_RMA_NS;
}

static bool take_wanted(struct dsm *d, uint64_t page, int home, bool write)
{
    if (!d->cs_in_meta || home == d->rank || d->state[page] != DSM_INVALID)
        return false;
    switch (d->cfg.take) {
    case DSM_TAKE_ALWAYS:
        return true;
    case DSM_TAKE_NEVER:
        return false;
    default:
        if (!home_is_far(d, home) ||
            ((write || d->cfg.take == DSM_TAKE_HOME) && d->hint[page] != hint_of(home, false)))
            return false;
        return credit_allows(&d->take_credit);
    }
}

enum take_answer { TAKE_REFUSED, TAKE_GRANTED, TAKE_JOINED, TAKE_STALLED };

/* Send a TAKE to the page's home and wait (serving others) for the
 * answer, from the home or the owner it forwarded to. GRANT: the page is
 * in our copy area (flag ZERO: it was untouched, zero-filled here; then
 * we own it exclusively, also for a read), we hold the entry's lock and
 * unlock it with *meta.
 * JOINED (reads): the page is in our copy area and we are in the
 * copyset; an INVALIDATE that came meanwhile is answered now and the
 * copy dropped (TAKE_REFUSED then). REFUSE: nothing changed but a lock
 * handed back (flag LOCKED: unlocked here with the meta word given);
 * the hint is refreshed from the meta word the home saw. TAKE_STALLED:
 * no answer within the answer timeout. */
static enum take_answer take(struct dsm *d, uint64_t page, int home, size_t idx, bool write,
                             uint64_t *meta)
{
    struct dsm_msg m = {
        .type = DSM_MSG_TAKE,
        .flags = write ? DSM_MSGF_WRITE : 0,
        .src = (uint32_t)d->rank,
        .page = page,
        .tag = d->tag,
    };
    uint64_t t0 = now(d);
    d->take_out = true;
    d->take_reply = 0;
    d->joining = !write;        /* a read: the home may set our copyset bit */
    d->t->send(d->t->ctx, home, &m);
    unsigned spins = 0;
    wait_start(d, home);
    while (!d->take_reply)
        if (!wait_round(d, &spins, DSM_STALL_TAKE))
            return TAKE_STALLED;
    d->take_out = false;        /* no poll until the answer is acted on */
    uint64_t dt = now(d) - t0;
    d->stats.wait_ns += dt;
    dsm_kind_record(&d->stats.request[DSM_RQ_TAKE], dt);
    switch (d->take_reply) {
    case DSM_MSG_GRANT:
        if (d->take_deferred) {         /* the entry was locked for us */
            d->stats.protocol_errors++;
            answer_deferred(d);
        }
        d->stats.takes_granted++;
        credit_won(&d->take_credit);
        *meta = d->take_meta;
        if (d->take_flags & DSM_MSGF_ZERO)
            zero_page(d, page);
        set_hint(d, page, dsm_meta_owner(d->take_meta),
                 (d->take_meta & DSM_META_SHARED) != 0);
        return TAKE_GRANTED;
    case DSM_MSG_JOINED:
        d->stats.takes_joined++;
        credit_won(&d->take_credit);
        set_hint(d, page, (int)(d->take_meta & DSM_META_OWNER_MASK), true);
        if (!d->take_deferred)
            return TAKE_JOINED;
        answer_deferred(d);
        return TAKE_REFUSED;
    default:
        if (d->take_flags & DSM_MSGF_LOCKED)
            dir_unlock(d, home, idx, d->take_meta);
        d->stats.takes_refused++;
        credit_lost(&d->take_credit);
        set_hint(d, page, dsm_meta_owner(d->take_meta),
                 (d->take_meta & DSM_META_SHARED) != 0);
        answer_deferred(d);
        return TAKE_REFUSED;
    }
}

/* Lock-free read of a shared page: OR our bit into the copyset, then
 * read the meta word. If it is unlocked and SHARED, our bit was in the
 * copyset at that moment and every writer that takes the copyset from
 * now on will invalidate us; any writer that took it since our OR still
 * holds the lock (it waits for our ACK, and we do not poll here), so the
 * entry would read as locked. The owner's copy is current and cannot
 * change until a writer has our ACK, which we send only after the get.
 * Otherwise withdraw the bit (AND) and let the caller take the lock; a
 * writer that saw the bit meanwhile sends us an INVALIDATE, which
 * serve_request accepts while dsm_join_pending. */
static bool try_join(struct dsm *d, uint64_t page, int home, size_t idx)
{
    size_t w = idx + 1 + (size_t)d->rank / 64;
    uint64_t bit = 1ull << (d->rank % 64);
    d->joining = true;
    fop(d, home, w, DSM_OP_OR, bit);
    if (join_outcome(d, page, fop(d, home, idx, DSM_OP_LOAD, 0)))
        return true;
    fop(d, home, w, DSM_OP_AND, ~bit);
    return false;
}

/* The lock-free join of the combined layout: one fetch-OR of our bit
 * into the meta word returns the state we joined. Unlocked and SHARED:
 * our bit became part of the copyset at the same instant (any writer
 * locks later and sees it), the owner's copy is current, get it. Else
 * (locked, or exclusive) the caller takes the lock; the bit is not
 * withdrawn: it can only sit in a locked or exclusive entry, whose next
 * lock holder ignores copyset bits it finds in an exclusive entry and
 * rewrites the whole word at its unlock (docs/dsm.md). */
static bool try_join_meta(struct dsm *d, uint64_t page, int home, size_t idx)
{
    d->joining = true;
    return join_outcome(d, page, fop(d, home, idx, DSM_OP_OR, dsm_meta_cs_bit(d->rank)));
}

/* A fault, read or write, that locked the entry and found the page
 * untouched: nobody has a copy or ever had one, so nobody needs a
 * request; our copy becomes a zero page and we own it exclusively (a
 * read too: the usual next access to a fresh page is a write, and a
 * reader that comes later downgrades us as from any writer). Copyset
 * bits of failed joins are dropped by the unlock, as after an exclusive
 * entry. */
static void first_touch(struct dsm *d, uint64_t page, int home, size_t idx, uint64_t t0)
{
    zero_page(d, page);
    d->state[page] = DSM_WRITE;
    set_hint(d, page, d->rank, false);
    dir_unlock(d, home, idx, dsm_meta_owned_by(d->rank));
    end_op(d, DSM_FK_ZERO, t0);
}

static int read_fault(struct dsm *d, uint64_t page);

int dsm_read_fault(struct dsm *d, uint64_t page)
{
    if (page < d->npages && d->state[page] != DSM_INVALID)
        return 0;
    if (mig_predicted(&d->mig, page)) {
        /* migratory: the write that follows would upgrade at once */
        int rc = dsm_write_fault(d, page);
        if (rc == 0 && d->state[page] == DSM_WRITE)
            mig_taken(&d->mig, page, d->t->ram + page_off(page));
        return rc;
    }
    return read_fault(d, page);
}

static int read_fault(struct dsm *d, uint64_t page)
{
    if (!begin_op(d, page))
        return -1;
    uint64_t t0 = now(d);
    d->stats.read_faults++;
    d->page_faults[page]++;
    int home = dsm_home(page, d->nranks);
    size_t idx = dsm_dir_index(page, d->nranks);
    uint64_t granted;
    enum take_answer a = take_wanted(d, page, home, false)
                             ? take(d, page, home, idx, false, &granted) : TAKE_REFUSED;
    if (a == TAKE_STALLED)
        return fail_op(d);
    if (a != TAKE_REFUSED) {
        bool zero = a == TAKE_GRANTED && (d->take_flags & DSM_MSGF_ZERO);
        d->state[page] = zero ? DSM_WRITE : DSM_READ;
        if (a == TAKE_GRANTED)
            dir_unlock(d, home, idx, granted);
        end_op(d, zero ? DSM_FK_ZERO
                  : d->take_flags & DSM_MSGF_DOWNGRADED ? DSM_FK_READ_DOWNGRADE : DSM_FK_READ, t0);
        return 0;
    }
    if (join_wanted(d) &&
        (d->cs_in_meta ? try_join_meta(d, page, home, idx) : try_join(d, page, home, idx))) {
        end_op(d, DSM_FK_READ, t0);
        return 0;
    }
    uint64_t meta = dir_lock(d, home, idx);
    if (meta & DSM_META_LOCKED)
        return fail_op(d);
    if (dsm_meta_untouched(meta)) {
        first_touch(d, page, home, idx, t0);
        return 0;
    }
    int owner = dsm_meta_owner(meta);
    bool push = !d->cfg.pull;

    if (!(meta & DSM_META_SHARED) && owner == d->rank) {
        /* cannot happen (our state would be WRITE); keep what we have */
        d->stats.protocol_errors++;
        d->state[page] = DSM_WRITE;
        dir_unlock(d, home, idx, meta & ~DSM_META_CS_MASK);
        end_op(d, DSM_FK_READ, t0);
        return 0;
    }
    enum dsm_fault_kind kind = DSM_FK_READ;
    if (!(meta & DSM_META_SHARED)) {
        /* exclusive at the owner, another rank */
        kind = DSM_FK_READ_DOWNGRADE;
        send_request(d, owner, page, DSM_MSG_DOWNGRADE, push);
        if (!wait_acks(d))
            return fail_op(d);
        if (!push)
            fetch(d, owner, page);
        if (d->cs_in_meta) {
            /* the copyset becomes exactly {owner, self}, written by the
             * unlock; bits found in the exclusive entry belong to
             * failed joins still spinning on our lock: dropped */
            meta = (meta & DSM_META_OWNER_MASK) | DSM_META_SHARED |
                   dsm_meta_cs_bit(owner) | dsm_meta_cs_bit(d->rank);
        } else {
            /* copyset words were empty but for bits of joining ranks:
             * add {owner, self} */
            uint64_t wo = (uint64_t)owner / 64, ws = (uint64_t)d->rank / 64;
            uint64_t bo = 1ull << (owner % 64), bs = 1ull << (d->rank % 64);
            if (wo == ws) {
                fop(d, home, idx + 1 + wo, DSM_OP_OR, bo | bs);
            } else {
                fop(d, home, idx + 1 + wo, DSM_OP_OR, bo);
                fop(d, home, idx + 1 + ws, DSM_OP_OR, bs);
            }
            meta |= DSM_META_SHARED;
        }
    } else {
        /* shared: the owner's copy is current and stays put while we
         * hold the lock */
        fetch(d, owner, page);
        if (d->cs_in_meta)      /* every bit of a shared entry is a reader */
            meta |= dsm_meta_cs_bit(d->rank);
        else
            fop(d, home, idx + 1 + (uint64_t)d->rank / 64, DSM_OP_OR, 1ull << (d->rank % 64));
    }
    d->state[page] = DSM_READ;
    set_hint(d, page, owner, true);
    dir_unlock(d, home, idx, meta);
    end_op(d, kind, t0);
    return 0;
}

int dsm_write_fault(struct dsm *d, uint64_t page)
{
    if (page < d->npages && d->state[page] == DSM_WRITE)
        return 0;
    if (page < d->npages && d->state[page] == DSM_READ)
        mig_upgraded(&d->mig, page);
    if (!begin_op(d, page))
        return -1;
    uint64_t t0 = now(d);
    d->stats.write_faults++;
    d->page_faults[page]++;
    int home = dsm_home(page, d->nranks);
    size_t idx = dsm_dir_index(page, d->nranks);
    uint64_t granted;
    enum take_answer a = take_wanted(d, page, home, true)
                             ? take(d, page, home, idx, true, &granted) : TAKE_REFUSED;
    if (a == TAKE_STALLED)
        return fail_op(d);
    if (a == TAKE_GRANTED) {
        d->state[page] = DSM_WRITE;
        dir_unlock(d, home, idx, granted);
        end_op(d, d->take_flags & DSM_MSGF_ZERO ? DSM_FK_ZERO : DSM_FK_WRITE, t0);
        return 0;
    }
    uint64_t meta = dir_lock(d, home, idx);
    if (meta & DSM_META_LOCKED)
        return fail_op(d);
    if (dsm_meta_untouched(meta)) {
        first_touch(d, page, home, idx, t0);
        return 0;
    }
    int owner = dsm_meta_owner(meta);
    bool push = !d->cfg.pull;
    bool have = false;           /* this rank's copy is current */

    if (!(meta & DSM_META_SHARED)) {
        if (owner == d->rank) {
            /* cannot happen (state would be WRITE); repair quietly */
            d->stats.protocol_errors++;
            have = true;
        } else {
            send_request(d, owner, page, DSM_MSG_INVALIDATE, push);
        }
    } else {
        /* take and clear the copyset (we hold the lock); combined
         * layout: the lock returned it, the unlock clears it */
        if (d->cs_in_meta)
            d->cs_buf[0] = (meta & DSM_META_CS_MASK) >> DSM_META_CS_SHIFT;
        else
            for (size_t w = 0; w < d->cs_words; w++)
                d->cs_buf[w] = fop(d, home, idx + 1 + w, DSM_OP_SWAP, 0);
        have = (d->cs_buf[d->rank / 64] >> (d->rank % 64)) & 1;
        if (have != (d->state[page] == DSM_READ) ||
            !((d->cs_buf[owner / 64] >> (owner % 64)) & 1))
            d->stats.protocol_errors++;
        for (size_t w = 0; w < d->cs_words; w++) {
            uint64_t bits = d->cs_buf[w];
            while (bits) {
                int b = __builtin_ctzll(bits);
                bits &= bits - 1;
                int r = (int)(w * 64) + b;
                if (r == d->rank)
                    continue;
                send_request(d, r, page, DSM_MSG_INVALIDATE, push && !have && r == owner);
            }
        }
    }
    if (have)
        d->stats.upgrades++;
    if (!wait_acks(d))
        return fail_op(d);
    if (!have && !push)
        fetch(d, owner, page);
    d->state[page] = DSM_WRITE;
    set_hint(d, page, d->rank, false);
    dir_unlock(d, home, idx, dsm_meta_owned_by(d->rank));
    end_op(d, have ? DSM_FK_UPGRADE : DSM_FK_WRITE, t0);
    return 0;
}

/* ---- life cycle, accessors ---- */

struct dsm *dsm_create(const struct dsm_transport *t, const struct dsm_config *cfg)
{
    if (!t || !t->ram || t->nranks < 1 || t->nranks > DSM_MAX_RANKS ||
        t->rank < 0 || t->rank >= t->nranks || t->ram_bytes % DSM_PAGE_SIZE)
        return NULL;
    struct dsm *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->t = t;
    if (cfg)
        d->cfg = *cfg;
    d->rank = t->rank;
    d->nranks = t->nranks;
    d->npages = t->ram_bytes / DSM_PAGE_SIZE;
    d->cs_words = dsm_copyset_words(t->nranks);
    d->cs_in_meta = t->nranks <= DSM_COMBINED_MAX_RANKS && !d->cfg.split_copyset;
    /* all DSM_INVALID (0): every page starts untouched, nobody holds a
     * copy; calloc'd, so a page of the table costs host memory only once
     * it is written */
    d->state = calloc(d->npages ? d->npages : 1, 1);
    d->cs_buf = calloc(d->cs_words, sizeof *d->cs_buf);
    d->req_sent_ns = calloc((size_t)d->nranks, sizeof *d->req_sent_ns);
    d->req_out = calloc((size_t)d->nranks, 1);
    d->page_faults = calloc(d->npages ? d->npages : 1, sizeof *d->page_faults);
    /* hints fit a byte with the combined layout; all pages start
     * untouched (hint 0) */
    if (d->cs_in_meta)
        d->hint = calloc(d->npages ? d->npages : 1, 1);
    if (d->cfg.migratory && mig_init(&d->mig, d->npages)) {
        dsm_free(d);
        return NULL;
    }
    if (!d->state || !d->cs_buf || !d->req_sent_ns || !d->req_out || !d->page_faults ||
        (d->cs_in_meta && !d->hint)) {
        dsm_free(d);
        return NULL;
    }
    return d;
}

void dsm_free(struct dsm *d)
{
    if (!d)
        return;
    free(d->state);
    free(d->cs_buf);
    free(d->req_sent_ns);
    free(d->req_out);
    free(d->page_faults);
    mig_free(&d->mig);
    free(d->hint);
    free(d);
}

int dsm_install_copy(struct dsm *d, uint64_t page)
{
    if (page >= d->npages || d->busy || d->in_lose)
        return -1;
    d->state[page] = DSM_WRITE;
    set_hint(d, page, d->rank, false);
    return 0;
}

int dsm_install_owner(struct dsm *d, uint64_t page, int owner)
{
    if (page >= d->npages || d->busy || d->in_lose || owner < 0 || owner >= d->nranks ||
        dsm_home(page, d->nranks) != d->rank)
        return -1;
    fop(d, d->rank, dsm_dir_index(page, d->nranks), DSM_OP_SWAP, dsm_meta_owned_by(owner));
    if (owner != d->rank)
        set_hint(d, page, owner, false);
    return 0;
}

uint64_t dsm_npages(const struct dsm *d)
{
    return d->npages;
}

const uint8_t *dsm_state_table(const struct dsm *d)
{
    return d->state;
}

uint8_t *dsm_page_ptr(const struct dsm *d, uint64_t page)
{
    return d->t->ram + page_off(page);
}

void dsm_hot_pages(const struct dsm *d, struct dsm_hot_page *out)
{
    memset(out, 0, DSM_HOT_PAGES * sizeof *out);
    for (uint64_t p = 0; p < d->npages; p++)
        if (d->page_faults[p] > out[DSM_HOT_PAGES - 1].faults)
            dsm_hot_insert(out, (uint32_t)p, d->page_faults[p]);
}

const struct dsm_stats *dsm_get_stats(const struct dsm *d)
{
    return &d->stats;
}

void dsm_migratory_stats(const struct dsm *d, uint64_t *reads_as_writes, uint64_t *dropped)
{
    *reads_as_writes = d->mig.reads_as_writes;
    *dropped = d->mig.dropped;
}
