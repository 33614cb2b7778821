/* dsm_migratory.h - a per-page prediction of migratory sharing for the
 * DSM (docs/dsm.md, "Migratory pages"): data that one CPU at a time reads
 * and then writes (a lock and what it guards, a counter, a run queue)
 * costs two faults per move under the plain protocol - a read fault,
 * then an upgrade that invalidates the copy just downgraded. A rank that
 * upgraded a page predicts that its next read fault of that page will be
 * followed by a write, and takes the page for writing at once (one
 * fault). The prediction corrects itself: a page taken that way is
 * snapshotted, and when it leaves this rank unchanged (it was only read)
 * the prediction is dropped, so read-shared pages go back to being
 * shared after at most one exclusive round.
 *
 * Local to a rank: nothing here is sent or agreed; the protocol stays
 * the same and only the kind of fault this rank asks for changes. */
#ifndef VSMP_DSM_MIGRATORY_H
#define VSMP_DSM_MIGRATORY_H

#include <stdbool.h>
#include <stdint.h>

#define MIG_SNAPSHOTS 32        /* pages taken for writing on a read, at once */
#define MIG_PAGE_SIZE 4096u

struct mig_snapshot {
    uint64_t page;
    bool used;
    uint8_t data[MIG_PAGE_SIZE];
};

struct dsm_migratory {
    uint8_t *predicted;          /* per page: 1 = read faults become writes */
    uint64_t npages;
    struct mig_snapshot *snap;   /* MIG_SNAPSHOTS */
    unsigned next;               /* round-robin victim */
    uint64_t reads_as_writes;    /* read faults taken for writing */
    uint64_t dropped;            /* predictions dropped (page left unchanged) */
};

/* 0, or -1 when out of memory. */
int mig_init(struct dsm_migratory *m, uint64_t npages);
void mig_free(struct dsm_migratory *m);
/* A read fault of `page` (held by nobody here): take it for writing? */
bool mig_predicted(const struct dsm_migratory *m, uint64_t page);
/* A write fault of a page this rank held read-only. */
void mig_upgraded(struct dsm_migratory *m, uint64_t page);
/* A read fault was served as a write: `data` is the page as it came,
 * before the CPU wrote anything. */
void mig_taken(struct dsm_migratory *m, uint64_t page, const uint8_t *data);
/* The page leaves this rank's exclusive hold (invalidated or downgraded);
 * `data` is this rank's copy as it stands. */
void mig_losing(struct dsm_migratory *m, uint64_t page, const uint8_t *data);

#endif
