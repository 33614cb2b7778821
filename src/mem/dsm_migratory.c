/* dsm_migratory.c - the migratory-page prediction (see dsm_migratory.h). */
#include "mem/dsm_migratory.h"

#include <stdlib.h>
#include <string.h>

int mig_init(struct dsm_migratory *m, uint64_t npages)
{
    memset(m, 0, sizeof *m);
    m->npages = npages;
    m->predicted = calloc(npages ? npages : 1, 1);
    m->snap = calloc(MIG_SNAPSHOTS, sizeof *m->snap);
    if (!m->predicted || !m->snap) {
        mig_free(m);
        return -1;
    }
    return 0;
}

void mig_free(struct dsm_migratory *m)
{
    free(m->predicted);
    free(m->snap);
    m->predicted = NULL;
    m->snap = NULL;
}

bool mig_predicted(const struct dsm_migratory *m, uint64_t page)
{
    return m->predicted && page < m->npages && m->predicted[page];
}

void mig_upgraded(struct dsm_migratory *m, uint64_t page)
{
    if (m->predicted && page < m->npages)
        m->predicted[page] = 1;
}

static struct mig_snapshot *find(struct dsm_migratory *m, uint64_t page)
{
    for (unsigned i = 0; i < MIG_SNAPSHOTS; i++)
        if (m->snap[i].used && m->snap[i].page == page)
            return &m->snap[i];
    return NULL;
}

void mig_taken(struct dsm_migratory *m, uint64_t page, const uint8_t *data)
{
    if (!m->snap)
        return;
    m->reads_as_writes++;
    struct mig_snapshot *s = find(m, page);
    if (!s) {
        for (unsigned i = 0; i < MIG_SNAPSHOTS && !s; i++)
            if (!m->snap[i].used)
                s = &m->snap[i];
    }
    if (!s) {
        /* all in use: the oldest slot's page keeps its prediction
         * unchecked this time */
        s = &m->snap[m->next];
        m->next = (m->next + 1) % MIG_SNAPSHOTS;
    }
    s->used = true;
    s->page = page;
    memcpy(s->data, data, MIG_PAGE_SIZE);
}

void mig_losing(struct dsm_migratory *m, uint64_t page, const uint8_t *data)
{
    if (!m->snap)
        return;
    struct mig_snapshot *s = find(m, page);
    if (!s)
        return;
    s->used = false;
    if (memcmp(s->data, data, MIG_PAGE_SIZE) == 0) {
        m->predicted[page] = 0;     /* only read while we held it */
        m->dropped++;
    }
}
