/* ckpt_mpi.c - struct ckpt_ops over MPI (ckpt_mpi.h). */
#include "mpi/ckpt_mpi.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/image_io.h"
#include "snap/checkpoint.h"

struct ckpt_mpi {
    MPI_Comm comm;
    int rank, size;
    MPI_Request barrier;
    struct ckpt_ops ops;
};

static void barrier_start(void *ctx)
{
    struct ckpt_mpi *c = ctx;
    MPI_Ibarrier(c->comm, &c->barrier);
}

static bool barrier_test(void *ctx)
{
    struct ckpt_mpi *c = ctx;
    int done = 0;
    MPI_Test(&c->barrier, &done, MPI_STATUS_IGNORE);
    return done != 0;
}

static void alltoall(void *ctx, const uint64_t *send, uint64_t *recv)
{
    struct ckpt_mpi *c = ctx;
    MPI_Alltoall(send, 1, MPI_UINT64_T, recv, 1, MPI_UINT64_T, c->comm);
}

static int max(void *ctx, int value)
{
    struct ckpt_mpi *c = ctx;
    int out = value;
    MPI_Allreduce(&value, &out, 1, MPI_INT, MPI_MAX, c->comm);
    return out;
}

static void bcast(void *ctx, void *buf, size_t len)
{
    struct ckpt_mpi *c = ctx;
    MPI_Bcast(buf, (int)len, MPI_BYTE, 0, c->comm);
}

static void max_u16(void *ctx, uint16_t *v, size_t n)
{
    struct ckpt_mpi *c = ctx;
    for (size_t off = 0; off < n;) {             /* counts are ints */
        size_t k = n - off < (size_t)INT_MAX ? n - off : (size_t)INT_MAX;
        MPI_Allreduce(MPI_IN_PLACE, v + off, (int)k, MPI_UINT16_T, MPI_MAX, c->comm);
        off += k;
    }
}

static int gather(void *ctx, const void *mine, size_t len, uint8_t **all, uint64_t *lens)
{
    struct ckpt_mpi *c = ctx;
    uint64_t l = len;
    *all = NULL;
    MPI_Gather(&l, 1, MPI_UINT64_T, lens, 1, MPI_UINT64_T, 0, c->comm);
    int counts[c->size], displs[c->size];
    int bad = 0;
    if (c->rank == 0) {
        uint64_t sum = 0;
        for (int r = 0; r < c->size; r++) {
            if (lens[r] > INT_MAX || sum + lens[r] > INT_MAX)
                bad = 1;
            counts[r] = (int)lens[r];
            displs[r] = (int)sum;
            sum += lens[r];
        }
        if (!bad && !(*all = malloc(sum ? sum : 1)))
            bad = 1;
    }
    if (max(c, bad)) {
        free(*all);
        *all = NULL;
        return -1;
    }
    MPI_Gatherv(mine, (int)len, MPI_BYTE, *all, counts, displs, MPI_BYTE, 0, c->comm);
    return 0;
}

/* image_io's lines begin with the path; the checkpoint's line names it
 * already ("vsmp: checkpoint PATH: ..."). */
static void drop_path(char *err, const char *path)
{
    size_t n = strlen(path);
    if (!strncmp(err, path, n) && err[n] == ':' && err[n + 1] == ' ')
        memmove(err, err + n + 2, strlen(err + n + 2) + 1);
}

/* "PATH: ..." -> "restore PATH: ..." (the restore's lines, docs/checkpoint.md) */
static void restore_prefix(char *err, size_t errlen)
{
    static const char pre[] = "restore ";
    size_t n = strlen(err), k = sizeof pre - 1;
    if (n + k + 1 > errlen)
        n = errlen - k - 1;
    memmove(err + k, err, n);
    err[n + k] = 0;
    memcpy(err, pre, k);
}

static int write_image(void *ctx, const char *path, uint32_t ncpus, uint64_t ram_bytes,
                       const uint8_t *ram, const uint8_t *valid, const void *state,
                       size_t state_len, struct ckpt_io_result *out, char *err, size_t errlen)
{
    struct ckpt_mpi *c = ctx;
    struct image_geometry g = { .ncpus = ncpus, .ram_bytes = ram_bytes };
    struct image_write_result r;
    memset(&r, 0, sizeof r);
    int rc = image_io_write(c->comm, path, &g, ram, valid, state, state_len, &r, err, errlen);
    if (rc)
        drop_path(err, path);
    out->pages = r.pages_stored;
    out->seconds = r.seconds;
    return rc;
}

static int read_image(void *ctx, const char *path, uint32_t ncpus, uint64_t ram_bytes,
                      uint8_t *ram, uint8_t *owned, void **state, size_t *state_len,
                      struct ckpt_io_result *out, char *err, size_t errlen)
{
    struct ckpt_mpi *c = ctx;
    struct image_geometry g = { .ncpus = ncpus, .ram_bytes = ram_bytes };
    struct image_read_result r;
    memset(&r, 0, sizeof r);
    int rc = image_io_read(c->comm, path, &g, ram, owned, state, state_len, &r, err, errlen);
    if (rc)
        restore_prefix(err, errlen);
    out->pages = r.pages_stored;
    out->seconds = r.seconds;
    return rc;
}

struct ckpt_mpi *ckpt_mpi_open(void)
{
    struct ckpt_mpi *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "vsmp: out of memory\n");
        return NULL;
    }
    if (MPI_Comm_dup(MPI_COMM_WORLD, &c->comm) != MPI_SUCCESS) {
        fprintf(stderr, "vsmp: cannot duplicate MPI_COMM_WORLD for memory images\n");
        free(c);
        return NULL;
    }
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    c->barrier = MPI_REQUEST_NULL;
    c->ops = (struct ckpt_ops){
        .ctx = c, .barrier_start = barrier_start, .barrier_test = barrier_test,
        .alltoall = alltoall, .max = max, .bcast = bcast, .max_u16 = max_u16, .gather = gather,
        .write = write_image, .read = read_image,
    };
    return c;
}

const struct ckpt_ops *ckpt_mpi_ops(struct ckpt_mpi *c)
{
    return &c->ops;
}

void ckpt_mpi_close(struct ckpt_mpi *c)
{
    if (!c)
        return;
    MPI_Comm_free(&c->comm);
    free(c);
}
