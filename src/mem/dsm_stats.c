/* dsm_stats.c - DSM statistics: fault latency summary (mean, approximate
 * 99th percentile from the log2 histogram), the service time by kind of
 * fault (read without message, read with downgrade, upgrade, write,
 * zero: the first touch of an untouched page),
 * the histogram they share (also for the transport's raw-get baseline),
 * merging, and printing as text or JSON for the machine's --stats /
 * --stats-json output. */
#include "mem/dsm.h"

#include <inttypes.h>
#include <string.h>

static uint64_t nfaults(const struct dsm_stats *s)
{
    return s->read_faults + s->write_faults;
}

uint64_t dsm_stats_mean_ns(const struct dsm_stats *s)
{
    uint64_t n = nfaults(s);
    return n ? s->fault_ns_total / n : 0;
}

unsigned dsm_lat_bucket(uint64_t ns)
{
    unsigned b;
    if (ns < 8) {
        b = (unsigned)ns;
    } else {
        unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
        b = msb * 8u + (unsigned)((ns >> (msb - 3)) & 7u);
    }
    return b < DSM_LAT_BUCKETS ? b : DSM_LAT_BUCKETS - 1;
}

void dsm_kind_record(struct dsm_kind_stats *k, uint64_t ns)
{
    if (k->n == 0 || ns < k->ns_min)
        k->ns_min = ns;
    if (ns > k->ns_max)
        k->ns_max = ns;
    k->n++;
    k->ns_total += ns;
    k->hist[dsm_lat_bucket(ns)]++;
}

/* Upper edge of histogram bucket b (inverse of dsm_lat_bucket). */
static uint64_t bucket_top(unsigned b)
{
    if (b < 8)
        return b;
    unsigned msb = b / 8u, sub = b % 8u;
    if (msb < 3)
        return b;   /* unused buckets */
    if (msb >= 63)
        return UINT64_MAX;
    return ((8ull + sub + 1) << (msb - 3)) - 1;
}

/* Quantile q of a histogram holding n samples whose maximum is max. */
static uint64_t hist_quantile(const uint64_t *hist, uint64_t max, double q)
{
    uint64_t n = 0;
    for (unsigned b = 0; b < DSM_LAT_BUCKETS; b++)
        n += hist[b];
    if (n == 0)
        return 0;
    uint64_t want = (uint64_t)((double)n * q + 0.999999);
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < DSM_LAT_BUCKETS; b++) {
        seen += hist[b];
        if (seen >= want) {
            uint64_t top = bucket_top(b);
            return top < max ? top : max;
        }
    }
    return max;
}

uint64_t dsm_kind_quantile_ns(const struct dsm_kind_stats *k, double q)
{
    return hist_quantile(k->hist, k->ns_max, q);
}

/* Add b's counts and histogram to a's. */
static void kind_merge(struct dsm_kind_stats *a, const struct dsm_kind_stats *b)
{
    if (b->n == 0)
        return;
    if (a->n == 0 || b->ns_min < a->ns_min)
        a->ns_min = b->ns_min;
    if (b->ns_max > a->ns_max)
        a->ns_max = b->ns_max;
    a->n += b->n;
    a->ns_total += b->ns_total;
    for (unsigned i = 0; i < DSM_LAT_BUCKETS; i++)
        a->hist[i] += b->hist[i];
}

const char *dsm_request_kind_name(enum dsm_request_kind k)
{
    static const char *const names[DSM_RQ_COUNT] = {
        [DSM_RQ_INVALIDATE] = "invalidate",
        [DSM_RQ_INVALIDATE_MANY] = "invalidate-many",
        [DSM_RQ_DOWNGRADE] = "downgrade",
        [DSM_RQ_TAKE] = "take",
    };
    return (unsigned)k < DSM_RQ_COUNT ? names[k] : "?";
}

const char *dsm_fault_kind_name(enum dsm_fault_kind k)
{
    static const char *const names[DSM_FK_COUNT] = {
        [DSM_FK_READ] = "read",
        [DSM_FK_READ_DOWNGRADE] = "read-downgrade",
        [DSM_FK_UPGRADE] = "upgrade",
        [DSM_FK_WRITE] = "write",
        [DSM_FK_ZERO] = "zero",
    };
    return (unsigned)k < DSM_FK_COUNT ? names[k] : "?";
}

uint64_t dsm_stats_p99_ns(const struct dsm_stats *s)
{
    uint64_t n = 0;
    for (unsigned b = 0; b < DSM_LAT_BUCKETS; b++)
        n += s->lat_hist[b];
    if (n == 0)
        return 0;
    uint64_t want = n - n / 100;   /* the ceil(0.99 n)-th fault */
    uint64_t seen = 0;
    for (unsigned b = 0; b < DSM_LAT_BUCKETS; b++) {
        seen += s->lat_hist[b];
        if (seen >= want) {
            uint64_t top = bucket_top(b);
            return top < s->fault_ns_max ? top : s->fault_ns_max;
        }
    }
    return s->fault_ns_max;
}

/* Insert (page, faults) into a list sorted by faults, most first. */
void dsm_hot_insert(struct dsm_hot_page *h, uint32_t page, uint32_t faults)
{
    int i = DSM_HOT_PAGES;
    while (i > 0 && h[i - 1].faults < faults)
        i--;
    if (i == DSM_HOT_PAGES)
        return;
    memmove(h + i + 1, h + i, (size_t)(DSM_HOT_PAGES - 1 - i) * sizeof *h);
    h[i] = (struct dsm_hot_page){ page, faults };
}

void dsm_hot_merge(struct dsm_hot_page *into, const struct dsm_hot_page *from)
{
    struct dsm_hot_page all[2 * DSM_HOT_PAGES];
    int n = 0;
    for (int i = 0; i < DSM_HOT_PAGES && into[i].faults; i++)
        all[n++] = into[i];
    for (int i = 0; i < DSM_HOT_PAGES && from[i].faults; i++) {
        int j = 0;
        while (j < n && all[j].page != from[i].page)
            j++;
        if (j < n)
            all[j].faults += from[i].faults;
        else
            all[n++] = from[i];
    }
    memset(into, 0, DSM_HOT_PAGES * sizeof *into);
    for (int i = 0; i < n; i++)
        dsm_hot_insert(into, all[i].page, all[i].faults);
}

void dsm_stats_merge(struct dsm_stats *into, const struct dsm_stats *from)
{
    into->read_faults += from->read_faults;
    into->write_faults += from->write_faults;
    into->upgrades += from->upgrades;
    into->inval_sent += from->inval_sent;
    into->inval_recv += from->inval_recv;
    into->downgrade_sent += from->downgrade_sent;
    into->downgrade_recv += from->downgrade_recv;
    into->pages_got += from->pages_got;
    into->pages_pushed += from->pages_pushed;
    into->bytes_moved += from->bytes_moved;
    into->lock_retries += from->lock_retries;
    into->protocol_errors += from->protocol_errors;
    into->fault_ns_total += from->fault_ns_total;
    if (from->fault_ns_max > into->fault_ns_max)
        into->fault_ns_max = from->fault_ns_max;
    into->wait_ns += from->wait_ns;
    for (unsigned b = 0; b < DSM_LAT_BUCKETS; b++)
        into->lat_hist[b] += from->lat_hist[b];
    into->joins += from->joins;
    into->join_fallbacks += from->join_fallbacks;
    into->join_invals += from->join_invals;
    into->takes_granted += from->takes_granted;
    into->takes_joined += from->takes_joined;
    into->takes_refused += from->takes_refused;
    into->takes_invalidated += from->takes_invalidated;
    into->takes_served += from->takes_served;
    into->joins_served += from->joins_served;
    into->takes_forwarded += from->takes_forwarded;
    for (unsigned k = 0; k < DSM_FK_COUNT; k++)
        kind_merge(&into->kind[k], &from->kind[k]);
    for (unsigned k = 0; k < DSM_RQ_COUNT; k++)
        kind_merge(&into->request[k], &from->request[k]);
    kind_merge(&into->raw_get, &from->raw_get);
    into->migratory_reads += from->migratory_reads;
    into->migratory_dropped += from->migratory_dropped;
    dsm_hot_merge(into->hot, from->hot);
}

/* One "NAME n .. mean .. p50 .. p99 .. min .. max .. ns (p90 .. ns)"
 * text line (p90 last: scripts read the fields before it by position). */
static void kind_line(FILE *f, int rank, const char *what, const char *name,
                      const struct dsm_kind_stats *ks)
{
    fprintf(f, "rank %d dsm: %s %s n %" PRIu64 " mean %" PRIu64 " p50 %" PRIu64
            " p99 %" PRIu64 " min %" PRIu64 " max %" PRIu64 " ns (p90 %" PRIu64 " ns)\n",
            rank, what, name, ks->n, ks->ns_total / ks->n, dsm_kind_quantile_ns(ks, 0.5),
            dsm_kind_quantile_ns(ks, 0.99), ks->ns_min, ks->ns_max,
            dsm_kind_quantile_ns(ks, 0.9));
}

/* The same as a JSON member "NAME": {...}. */
static void kind_json(FILE *f, const char *sep, const char *name, const struct dsm_kind_stats *ks)
{
    fprintf(f, "%s\"%s\": {\"n\": %" PRIu64 ", \"mean_ns\": %" PRIu64 ", \"p50_ns\": %" PRIu64
            ", \"p90_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64 ", \"min_ns\": %" PRIu64
            ", \"max_ns\": %" PRIu64 "}",
            sep, name, ks->n, ks->n ? ks->ns_total / ks->n : 0, dsm_kind_quantile_ns(ks, 0.5),
            dsm_kind_quantile_ns(ks, 0.9), dsm_kind_quantile_ns(ks, 0.99), ks->ns_min, ks->ns_max);
}

void dsm_stats_print(const struct dsm_stats *s, int rank, FILE *f)
{
    fprintf(f,
            "rank %d dsm: faults read %" PRIu64 " write %" PRIu64 " (upgrades %" PRIu64 ")\n"
            "rank %d dsm: invalidations sent %" PRIu64 " received %" PRIu64
            ", downgrades sent %" PRIu64 " received %" PRIu64 "\n"
            "rank %d dsm: pages got %" PRIu64 " pushed %" PRIu64 ", bytes moved %" PRIu64
            ", lock retries %" PRIu64 "\n"
            "rank %d dsm: fault latency mean %" PRIu64 " ns p99 %" PRIu64 " ns max %" PRIu64
            " ns, waiting %" PRIu64 " ns%s\n",
            rank, s->read_faults, s->write_faults, s->upgrades,
            rank, s->inval_sent, s->inval_recv, s->downgrade_sent, s->downgrade_recv,
            rank, s->pages_got, s->pages_pushed, s->bytes_moved, s->lock_retries,
            rank, dsm_stats_mean_ns(s), dsm_stats_p99_ns(s), s->fault_ns_max, s->wait_ns,
            s->protocol_errors ? " (PROTOCOL ERRORS)" : "");
    if (s->joins || s->join_fallbacks)
        fprintf(f, "rank %d dsm: lock-free shared reads %" PRIu64 ", fell back to the lock %" PRIu64
                ", invalidated while joining %" PRIu64 "\n",
                rank, s->joins, s->join_fallbacks, s->join_invals);
    if (s->takes_granted || s->takes_joined || s->takes_refused || s->takes_served ||
        s->joins_served || s->takes_forwarded)
        fprintf(f, "rank %d dsm: take: granted %" PRIu64 " joined %" PRIu64 " refused %" PRIu64
                " invalidated %" PRIu64 "; for others: granted %" PRIu64 " joined %" PRIu64
                " forwarded %" PRIu64 "\n",
                rank, s->takes_granted, s->takes_joined, s->takes_refused, s->takes_invalidated,
                s->takes_served, s->joins_served, s->takes_forwarded);
    /* service time by kind: one line each, in ns */
    for (unsigned k = 0; k < DSM_FK_COUNT; k++)
        if (s->kind[k].n)
            kind_line(f, rank, "service", dsm_fault_kind_name((enum dsm_fault_kind)k),
                      &s->kind[k]);
    /* requests sent: send -> ACK */
    for (unsigned k = 0; k < DSM_RQ_COUNT; k++)
        if (s->request[k].n)
            kind_line(f, rank, "request", dsm_request_kind_name((enum dsm_request_kind)k),
                      &s->request[k]);
    if (s->raw_get.n)
        kind_line(f, rank, "baseline", "raw-get", &s->raw_get);
    if (s->migratory_reads)
        fprintf(f, "rank %d dsm: migratory: read faults taken for writing %" PRIu64
                ", predictions dropped %" PRIu64 "\n", rank, s->migratory_reads,
                s->migratory_dropped);
    if (s->hot[0].faults) {
        fprintf(f, "rank %d dsm: most faults (page:faults)", rank);
        for (int i = 0; i < DSM_HOT_PAGES && s->hot[i].faults; i++)
            fprintf(f, " 0x%x:%" PRIu32, s->hot[i].page, s->hot[i].faults);
        fputc('\n', f);
    }
}

void dsm_stats_json(const struct dsm_stats *s, int rank, FILE *f)
{
    fprintf(f,
            "{\"rank\": %d, \"read_faults\": %" PRIu64 ", \"write_faults\": %" PRIu64
            ", \"upgrades\": %" PRIu64 ", \"invalidations_sent\": %" PRIu64
            ", \"invalidations_received\": %" PRIu64 ", \"downgrades_sent\": %" PRIu64
            ", \"downgrades_received\": %" PRIu64 ", \"pages_got\": %" PRIu64
            ", \"pages_pushed\": %" PRIu64 ", \"bytes_moved\": %" PRIu64
            ", \"lock_retries\": %" PRIu64 ", \"protocol_errors\": %" PRIu64
            ", \"fault_latency_mean_ns\": %" PRIu64 ", \"fault_latency_p99_ns\": %" PRIu64
            ", \"fault_latency_max_ns\": %" PRIu64 ", \"wait_ns\": %" PRIu64
            ", \"lockfree_reads\": %" PRIu64 ", \"lockfree_fallbacks\": %" PRIu64
            ", \"takes_granted\": %" PRIu64 ", \"takes_joined\": %" PRIu64
            ", \"takes_refused\": %" PRIu64 ", \"takes_invalidated\": %" PRIu64
            ", \"takes_served\": %" PRIu64 ", \"joins_served\": %" PRIu64
            ", \"takes_forwarded\": %" PRIu64 ", \"service\": {",
            rank, s->read_faults, s->write_faults, s->upgrades, s->inval_sent,
            s->inval_recv, s->downgrade_sent, s->downgrade_recv, s->pages_got,
            s->pages_pushed, s->bytes_moved, s->lock_retries, s->protocol_errors,
            dsm_stats_mean_ns(s), dsm_stats_p99_ns(s), s->fault_ns_max, s->wait_ns,
            s->joins, s->join_fallbacks, s->takes_granted, s->takes_joined, s->takes_refused,
            s->takes_invalidated, s->takes_served, s->joins_served, s->takes_forwarded);
    /* service time by kind, every kind present (n 0: all zero) */
    for (unsigned k = 0; k < DSM_FK_COUNT; k++)
        kind_json(f, k ? ", " : "", dsm_fault_kind_name((enum dsm_fault_kind)k), &s->kind[k]);
    fputs("}, \"request\": {", f);
    for (unsigned k = 0; k < DSM_RQ_COUNT; k++)
        kind_json(f, k ? ", " : "", dsm_request_kind_name((enum dsm_request_kind)k),
                  &s->request[k]);
    fputs("}, \"baseline\": {", f);
    kind_json(f, "", "raw-get", &s->raw_get);
    fprintf(f, "}, \"migratory_reads\": %" PRIu64 ", \"migratory_dropped\": %" PRIu64
            ", \"hot_pages\": [", s->migratory_reads, s->migratory_dropped);
    for (int i = 0; i < DSM_HOT_PAGES && s->hot[i].faults; i++)
        fprintf(f, "%s{\"page\": %" PRIu32 ", \"faults\": %" PRIu32 "}", i ? ", " : "",
                s->hot[i].page, s->hot[i].faults);
    fputs("]}", f);
}
