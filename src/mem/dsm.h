/* dsm.h - page-based distributed shared memory for guest RAM: the
 * coherence protocol (single writer / multiple readers with invalidation,
 * Li & Hudak's IVY family, directory at a home rank), independent of MPI.
 * It reaches other ranks only through struct dsm_transport
 * (dsm_transport.h). docs/dsm.md describes the protocol.
 *
 * Use on one rank:
 *   d = dsm_create(&transport, &config);
 *   ... the CPU accesses guest page p directly in transport.ram when
 *   dsm_state(d, p) allows it (DSM_READ: loads, DSM_WRITE: loads and
 *   stores); otherwise it calls dsm_read_fault / dsm_write_fault, which
 *   return once the page is locally readable / writable;
 *   ... it calls dsm_poll(d) at block boundaries (on a budget) so that
 *   other ranks' invalidations and downgrades are served promptly.
 *
 * A page's local state changes ONLY inside dsm_read_fault,
 * dsm_write_fault and dsm_poll: between two such calls the state table
 * is stable, so a CPU that needs two pages at once (an access straddling
 * a page boundary, a locked instruction) faults them in turn; if the
 * first was taken away while the second fault waited (on_lose ran), the
 * CPU runs the instruction again from its start until it holds both
 * (src/cpu/coherence.c, EXC_RESTART).
 *
 * Before a page is taken away or made read-only, config.on_lose is called
 * (with the new state); the CPU layer drops TLB entries and translations
 * of that page there. It runs before the acknowledgement goes out, also
 * in the middle of a fault handler of this rank (the rank keeps serving
 * others while it waits), and must not call back into the DSM. */
#ifndef VSMP_DSM_H
#define VSMP_DSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mem/dsm_transport.h"

#define DSM_PAGE_SHIFT 12
#define DSM_PAGE_SIZE (1u << DSM_PAGE_SHIFT)

/* Local page states (one byte per page in the state table). */
enum dsm_state {
    DSM_INVALID = 0,   /* no valid local copy */
    DSM_READ = 1,      /* valid, read-only */
    DSM_WRITE = 2,     /* valid, writable; no other rank has a copy */
};

/* Control messages (struct dsm_msg.type). */
enum dsm_msg_type {
    DSM_MSG_INVALIDATE = 1,  /* drop your copy of page, then ACK */
    DSM_MSG_DOWNGRADE = 2,   /* make page read-only, then ACK */
    DSM_MSG_ACK = 3,         /* reply; tag = the request's tag */
    DSM_MSG_TAKE = 4,        /* to the page's home, from a rank that holds
                              * no copy: serve my fault without my lock
                              * and request (docs/dsm.md, "Take") */
    DSM_MSG_GRANT = 5,       /* TAKE answered with the page (send_data),
                              * by the home or the owner it forwarded
                              * to; the entry is locked for the
                              * requester, arg = the meta word to
                              * unlock with */
    DSM_MSG_REFUSE = 6,      /* TAKE declined: take the lock path; arg =
                              * the meta word seen (a hint), or 0; flag
                              * LOCKED: the entry is locked for the
                              * requester, unlock it with arg first */
    DSM_MSG_JOINED = 7,      /* a read TAKE of a shared page answered
                              * with the page (send_data), by the home
                              * or the owner: the requester is in the
                              * copyset, no lock; arg = the owner */
    DSM_MSG_FORWARD = 8,     /* home -> owner: answer rank `to`'s TAKE
                              * (tag) yourself. Flag LOCKED: you own the
                              * page exclusively and the entry is locked
                              * for `to` (arg = its meta): give it up as
                              * the TAKE needs (flag WRITE) and GRANT;
                              * else the page is shared: send `to` your
                              * copy (JOINED) */
    DSM_MSG_USER = 16,       /* and above: platform messages (IPIs, device
                              * requests), handed to config.on_msg */
};
/* struct dsm_msg.flags */
#define DSM_MSGF_PUSH 0x01u  /* request: answer with your copy of the page
                              * (the ACK lands it in my copy area:
                              * transport send_data) */
#define DSM_MSGF_WRITE 0x02u /* TAKE: for writing (else for reading) */
#define DSM_MSGF_DOWNGRADED 0x04u /* GRANT for reading: the page was
                              * writable at its owner (a downgrade, for
                              * stats) */
#define DSM_MSGF_LOCKED 0x08u /* FORWARD, REFUSE: the entry is locked for
                              * the requester (see above) */
#define DSM_MSGF_ZERO 0x10u  /* GRANT: the page was untouched: no data
                              * travels, the requester installs a zero
                              * page and owns it exclusively */

/* ---- directory geometry (also used by whoever allocates the windows) ----
 * Page p's directory entry lives at rank dsm_home(p) (p mod nranks), at
 * word dsm_dir_index(p) of that rank's directory. An entry is one meta
 * word followed by ceil(nranks/64) copyset words (docs/dsm.md). With
 * the combined layout (nranks <= DSM_COMBINED_MAX_RANKS, the default
 * there) the copyset lives in the meta word itself and the copyset
 * words stay zero: the geometry is the same for both layouts, so the
 * windows do not depend on the layout chosen. */
static inline int dsm_home(uint64_t page, int nranks)
{
    return (int)(page % (uint64_t)nranks);
}
static inline size_t dsm_copyset_words(int nranks)
{
    return ((size_t)nranks + 63) / 64;
}
static inline size_t dsm_entry_words(int nranks)
{
    return 1 + dsm_copyset_words(nranks);
}
static inline size_t dsm_dir_index(uint64_t page, int nranks)
{
    return (size_t)(page / (uint64_t)nranks) * dsm_entry_words(nranks);
}
/* Number of directory words homed on `rank` for npages pages of RAM. */
static inline size_t dsm_dir_words(uint64_t npages, int nranks, int rank)
{
    uint64_t n = npages > (uint64_t)rank
                 ? (npages - (uint64_t)rank + (uint64_t)nranks - 1) / (uint64_t)nranks
                 : 0;
    return (size_t)n * dsm_entry_words(nranks);
}

/* Meta word: bit 63 lock, bit 16 SHARED, bits 0..15 owner rank + 1 (0:
 * no owner); in the combined layout bits 17..62 are the copyset (rank r =
 * bit 17 + r). No owner and not SHARED = UNTOUCHED: nobody has ever had
 * the page, its contents are zero, and no rank holds a copy (bits of
 * failed joins aside, as in an exclusive entry). All zero, the initial
 * directory, is every page unlocked and untouched: every rank starts with
 * no copy, and the first fault of a page installs a zero page in the
 * faulting rank's copy area with no transfer (docs/dsm.md, "Untouched
 * pages"). */
#define DSM_META_LOCKED (1ull << 63)
#define DSM_META_SHARED (1ull << 16)
#define DSM_META_OWNER_MASK 0xffffull
#define DSM_META_CS_SHIFT 17
#define DSM_COMBINED_MAX_RANKS 46      /* bits 17..62 */
#define DSM_META_CS_MASK (((1ull << DSM_COMBINED_MAX_RANKS) - 1) << DSM_META_CS_SHIFT)
#define DSM_MAX_RANKS 65535            /* owner + 1 fits 16 bits */
/* The owner rank, -1 for none (an untouched page). */
static inline int dsm_meta_owner(uint64_t meta)
{
    return (int)(meta & DSM_META_OWNER_MASK) - 1;
}
/* The owner field naming rank r (exclusive, unlocked, no copyset). */
static inline uint64_t dsm_meta_owned_by(int r)
{
    return (uint64_t)r + 1;
}
/* Nobody has ever had the page: it is zero, no rank holds a copy. */
static inline bool dsm_meta_untouched(uint64_t meta)
{
    return !(meta & (DSM_META_SHARED | DSM_META_OWNER_MASK));
}
/* Copyset bit of rank r in a meta word (combined layout only). */
static inline uint64_t dsm_meta_cs_bit(int r)
{
    return 1ull << (DSM_META_CS_SHIFT + r);
}

/* ---- statistics ---- */
#define DSM_LAT_BUCKETS 512   /* log2 histogram, 8 sub-buckets per octave */

/* Faults by what serving them took (service time, from entering the
 * fault handler to the page being usable). */
enum dsm_fault_kind {
    DSM_FK_READ,           /* read of a page already shared: no message */
    DSM_FK_READ_DOWNGRADE, /* read of a page writable elsewhere: DOWNGRADE */
    DSM_FK_UPGRADE,        /* write to a page held read-only: no data moves,
                            * INVALIDATE to the other readers (if any) */
    DSM_FK_WRITE,          /* write to a page not held: INVALIDATE + data */
    DSM_FK_ZERO,           /* first fault of an untouched page, read or
                            * write: a zero page installed locally, no
                            * data moved, no request */
    DSM_FK_COUNT
};
struct dsm_kind_stats {
    uint64_t n, ns_total, ns_min, ns_max;
    uint64_t hist[DSM_LAT_BUCKETS];
};
/* Short names ("read", "read-downgrade", "upgrade", "write", "zero"). */
const char *dsm_fault_kind_name(enum dsm_fault_kind k);
/* Requests this rank sent, by type, each timed from its own sending to
 * the target's acknowledgement: the target's service (its next poll,
 * dropping the page from its TLB and code cache, the push of the data)
 * and the transport's round trip. INVALIDATEs of a write fault that has
 * several copies to drop are a kind of their own: they go out back to
 * back and their ACKs queue at the writer, so a request's time also
 * holds the sending of the ones after it and the handling of the ACKs
 * before it (docs/dsm.md, "Statistics"). */
enum dsm_request_kind {
    DSM_RQ_INVALIDATE,      /* the write fault's only INVALIDATE */
    DSM_RQ_INVALIDATE_MANY, /* one of several for one write fault */
    DSM_RQ_DOWNGRADE,
    DSM_RQ_TAKE,           /* TAKE -> GRANT or REFUSE */
    DSM_RQ_COUNT
};
/* "invalidate", "invalidate-many", "downgrade", "take" */
const char *dsm_request_kind_name(enum dsm_request_kind k);

/* The pages that faulted most on a rank (a profile of sharing: map them
 * to what the guest keeps there). */
#define DSM_HOT_PAGES 20
struct dsm_hot_page {
    uint32_t page;               /* guest physical page number */
    uint32_t faults;             /* read + write faults on it */
};

struct dsm_stats {
    uint64_t read_faults, write_faults;
    uint64_t upgrades;           /* write faults on a page held read-only */
    uint64_t inval_sent, inval_recv;
    uint64_t downgrade_sent, downgrade_recv;
    uint64_t pages_got, pages_pushed;   /* pages moved in by get / out with an ACK */
    uint64_t bytes_moved;
    uint64_t lock_retries;       /* directory lock found taken */
    uint64_t protocol_errors;    /* messages that contradict the local state */
    uint64_t fault_ns_total, fault_ns_max;
    uint64_t wait_ns;            /* inside wait loops (lock, acknowledgements) */
    uint64_t lat_hist[DSM_LAT_BUCKETS];   /* fault latency, ns */
    uint64_t joins;              /* read faults served by the lock-free join */
    uint64_t join_fallbacks;     /* joins tried that found the page not
                                  * shared (or locked): took the lock path */
    uint64_t join_invals;        /* INVALIDATEs received for the copyset bit
                                  * of a join in progress (no copy yet) */
    uint64_t takes_granted;      /* faults served by a TAKE's GRANT */
    uint64_t takes_joined;       /* read faults served by a TAKE's JOINED */
    uint64_t takes_refused;      /* TAKEs declined: took the lock path */
    uint64_t takes_invalidated;  /* INVALIDATEs that came while a read
                                  * TAKE awaited its answer (answered
                                  * after it; the copy is not kept) */
    uint64_t takes_served;       /* GRANTs this rank sent (home or owner) */
    uint64_t joins_served;       /* JOINEDs this rank sent (home or owner) */
    uint64_t takes_forwarded;    /* TAKEs this rank, as home, forwarded */
    struct dsm_kind_stats kind[DSM_FK_COUNT];
    struct dsm_kind_stats request[DSM_RQ_COUNT];   /* send -> ACK */
    /* Not the protocol's: the baseline its faults are compared with, a
     * raw 4 KiB get + flush of the transport timed in the same job
     * between faults (vsmp --baseline, filled in by main.c). */
    struct dsm_kind_stats raw_get;
    uint64_t migratory_reads;    /* read faults taken for writing */
    uint64_t migratory_dropped;  /* ... predictions dropped again */
    /* Filled by dsm_hot_pages(), most faults first; faults 0 ends it. */
    struct dsm_hot_page hot[DSM_HOT_PAGES];
};
/* Histogram bucket of a time in ns (8 per power of two), and one sample
 * added to a kind's counts and histogram. */
unsigned dsm_lat_bucket(uint64_t ns);
void dsm_kind_record(struct dsm_kind_stats *k, uint64_t ns);
/* The DSM_HOT_PAGES pages with most faults on this rank into out. */
struct dsm;
void dsm_hot_pages(const struct dsm *d, struct dsm_hot_page *out);
/* The migratory prediction's counts (dsm_config.migratory). */
void dsm_migratory_stats(const struct dsm *d, uint64_t *reads_as_writes, uint64_t *dropped);
/* Insert (page, faults) into such a list (sorted, most faults first). */
void dsm_hot_insert(struct dsm_hot_page *h, uint32_t page, uint32_t faults);
/* Merge two such lists (faults of a page on both summed) into `into`. */
void dsm_hot_merge(struct dsm_hot_page *into, const struct dsm_hot_page *from);
/* Mean and approximate 99th percentile (upper edge of its bucket, within
 * 12.5%) of fault latency, ns; 0 when there were no faults. */
uint64_t dsm_stats_mean_ns(const struct dsm_stats *s);
uint64_t dsm_stats_p99_ns(const struct dsm_stats *s);
/* Quantile q (0 < q <= 1) of one kind's service time, ns (upper edge of
 * its histogram bucket, within 12.5%, at most the maximum). */
uint64_t dsm_kind_quantile_ns(const struct dsm_kind_stats *k, double q);
/* Human-readable block / one JSON object (no trailing newline). */
void dsm_stats_print(const struct dsm_stats *s, int rank, FILE *f);
void dsm_stats_json(const struct dsm_stats *s, int rank, FILE *f);
void dsm_stats_merge(struct dsm_stats *into, const struct dsm_stats *from);

/* ---- the protocol ---- */
typedef void (*dsm_lose_fn)(void *arg, uint64_t page, enum dsm_state new_state);

/* A wait for another rank that went on too long (config.answer_timeout_ns,
 * docs/dsm.md "A rank that stops answering"). A wait looks at the clock
 * every DSM_WAIT_LOOK_ROUNDS rounds (a round is a poll and a back-off:
 * microseconds; a clock read costs tens of nanoseconds here). */
#define DSM_WAIT_LOOK_ROUNDS 8u
enum dsm_stall_kind {
    DSM_STALL_ACK,         /* the ACK of a request (INVALIDATE, DOWNGRADE)
                            * from `rank`: limit answer_timeout_ns */
    DSM_STALL_TAKE,        /* the answer to a TAKE sent to `rank`, the
                            * page's home, which may have forwarded it to
                            * the owner: limit twice answer_timeout_ns */
    DSM_STALL_LOCK,        /* the page's directory entry at `rank` (its
                            * home) stayed locked by another rank, `holder`
                            * where it can only be one (2 ranks), else -1:
                            * limit twice answer_timeout_ns */
};
struct dsm_stall {
    enum dsm_stall_kind kind;
    int rank;
    int holder;
    enum dsm_msg_type request;   /* ACK: DSM_MSG_INVALIDATE or _DOWNGRADE;
                                  * TAKE: DSM_MSG_TAKE */
    uint64_t page;
    uint64_t waited_ns;          /* as counted (waitclock.h) */
};
/* One line without newline, e.g. "rank 1 has not answered INVALIDATE of
 * page 0x00123000"; the length snprintf returned. */
int dsm_stall_describe(const struct dsm_stall *s, char *buf, size_t len);

/* When a read fault first tries the lock-free join (docs/dsm.md). */
enum dsm_join_policy {
    DSM_JOIN_ADAPTIVE = 0, /* default: try it unless recent tries failed
                            * (a failed try costs two atomics) */
    DSM_JOIN_ALWAYS,       /* every read fault (tests: most races) */
    DSM_JOIN_NEVER,        /* lock every directory entry (the old path) */
};

/* When a fault of a page this rank holds no copy of asks the page's home
 * to serve it (TAKE: the home, or the owner it forwards to, answers with
 * the page: one message round trip, or three one-way trips, instead of a
 * lock or join at the home and then a request or get at the owner),
 * docs/dsm.md. Only with the combined layout. */
enum dsm_take_policy {
    DSM_TAKE_ADAPTIVE = 0, /* default: where one-sided operations on the
                            * home are not cheap (transport rule 9), every
                            * read and the writes of pages last seen
                            * exclusive at their home, unless recent
                            * TAKEs were refused */
    DSM_TAKE_ALWAYS,       /* every such fault whose home is another rank
                            * (tests: most refusals and races) */
    DSM_TAKE_NEVER,        /* lock path only */
    DSM_TAKE_HOME,         /* as adaptive, but only when the page was
                            * last seen exclusive at its home, reads too
                            * (the policy before forwarding; comparisons) */
};

struct dsm_config {
    bool pull;             /* fetch data with get after the owner's ACK
                            * instead of having the owner send it with
                            * the ACK (push, the default: one round trip
                            * less) */
    enum dsm_join_policy join;
    enum dsm_take_policy take;
    bool migratory;        /* predict migratory pages: a read fault of a
                            * page this rank upgraded before is taken for
                            * writing (src/mem/dsm_migratory.h) */
    bool split_copyset;    /* keep the copyset in its own words even when
                            * nranks <= DSM_COMBINED_MAX_RANKS (tests,
                            * comparisons); every rank must agree */
    dsm_lose_fn on_lose;   /* may be NULL */
    void *on_lose_arg;
    /* Messages of type >= DSM_MSG_USER arriving in dsm_poll or while this
     * rank waits in a fault: called with the message; may dsm_send(), must
     * not poll or fault. NULL: they count as protocol errors. */
    void (*on_msg)(void *arg, int src, const struct dsm_msg *m);
    void *on_msg_arg;
    /* The answer timeout (0: wait for ever). A fault that has waited
     * answer_timeout_ns for an ACK, or twice that for a TAKE's answer or
     * a locked directory entry (who answers those is not known for sure:
     * a rank that still runs reports its own wait first, docs/dsm.md),
     * calls on_stall. Time while this rank did not run is not counted
     * (src/waitclock.h). on_stall normally ends the process; if it
     * returns (tests), the fault fails (-1), and so does every later
     * fault of this dsm. */
    uint64_t answer_timeout_ns;
    void (*on_stall)(void *arg, const struct dsm_stall *s);
    void *on_stall_arg;
    /* With answer_timeout_ns: called every DSM_WAIT_LOOK_ROUNDS rounds of
     * a wait for another rank, after serving what arrived, with the
     * transport's clock (the machine checks its other waits there); may
     * send, must not poll or fault. NULL: nothing. */
    void (*on_wait)(void *arg, uint64_t now_ns);
    void *on_wait_arg;
};

struct dsm;

/* Guest RAM is transport->ram_bytes (a multiple of DSM_PAGE_SIZE); the
 * transport is borrowed, not copied, and must outlive the dsm. Every rank
 * starts with the initial directory (all zero: every page untouched) and
 * every page DSM_INVALID; the copy area's initial bytes are never read.
 * Costs npages bytes (state table), and npages more with the combined
 * layout (owner hints), allocated zeroed and touched only page by page.
 * NULL on bad arguments or no memory. */
struct dsm *dsm_create(const struct dsm_transport *t, const struct dsm_config *cfg);
void dsm_free(struct dsm *d);

uint64_t dsm_npages(const struct dsm *d);
/* Send a platform message (type >= DSM_MSG_USER); src is filled in. */
void dsm_send(struct dsm *d, int rank, const struct dsm_msg *m);
/* The local state table (npages bytes, enum dsm_state), for inline
 * checks on the CPU's slow path. */
const uint8_t *dsm_state_table(const struct dsm *d);
static inline enum dsm_state dsm_state(const struct dsm *d, uint64_t page)
{
    return (enum dsm_state)dsm_state_table(d)[page];
}
/* Host address of the local copy of a page. */
uint8_t *dsm_page_ptr(const struct dsm *d, uint64_t page);

/* Make page locally readable / writable; returns 0 once it is, -1 for a
 * page out of range, a call from inside on_lose, or a wait that timed
 * out (config.on_stall returned). Serves other ranks' requests while
 * waiting. The first fault of an untouched page (read or write) leaves it
 * DSM_WRITE: the faulting rank owns its zero page. */
int dsm_read_fault(struct dsm *d, uint64_t page);
int dsm_write_fault(struct dsm *d, uint64_t page);
/* True while this rank is inside a read fault on page that went through
 * the lock-free join: its copyset bit may then be set in the directory
 * before its copy is valid (docs/dsm.md, "Lock-free shared read"). For
 * invariant checkers. */
bool dsm_join_pending(const struct dsm *d, uint64_t page);
/* True when this dsm keeps the copyset in the meta word (combined
 * layout: nranks <= DSM_COMBINED_MAX_RANKS and not config.split_copyset). */
bool dsm_copyset_in_meta(const struct dsm *d);
/* Serve incoming requests without waiting; returns how many messages
 * were handled. */
int dsm_poll(struct dsm *d);

/* A memory image's restore (src/snap/checkpoint.c), before any rank
 * runs: each restored page becomes the exclusive copy of the rank that
 * read it into its copy area. That rank calls dsm_install_copy (local
 * state DSM_WRITE); the page's home calls dsm_install_owner (its
 * directory entry: "owned by `owner`, no copyset"), a local atomic, so
 * that a restore costs no remote operation per page. Nobody may fault
 * until every rank is done. 0, or -1 for a page out of range, a page
 * homed elsewhere (owner), a bad owner or a call during a fault. */
int dsm_install_copy(struct dsm *d, uint64_t page);
int dsm_install_owner(struct dsm *d, uint64_t page, int owner);

const struct dsm_stats *dsm_get_stats(const struct dsm *d);

#endif
