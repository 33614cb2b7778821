/* runtime.c - MPI start-up, error agreement, the gather of statistics,
 * abort and finalize. */
#include "mpi/runtime.h"
#include "io/terminal.h"

#include <limits.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct runtime {
    int rank, size;
    bool local;                 /* no MPI (rt_init_local without launcher) */
};

bool rt_launched(void)
{
    const char *vars[] = { "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK",
                           "PMI_RANK", "PMI_SIZE" };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        if (getenv(vars[i]))
            return true;
    return false;
}

struct runtime *rt_init_local(int *argc, char ***argv)
{
    if (rt_launched())
        return rt_init(argc, argv);
    struct runtime *rt = calloc(1, sizeof(*rt));
    if (!rt) {
        fprintf(stderr, "vsmp: out of memory\n");
        exit(2);
    }
    rt->rank = 0;
    rt->size = 1;
    rt->local = true;
    return rt;
}

struct runtime *rt_init(int *argc, char ***argv)
{
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "vsmp: MPI_Init_thread failed\n");
        return NULL;
    }
    struct runtime *rt = calloc(1, sizeof(*rt));
    if (!rt) {
        fprintf(stderr, "vsmp: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
        exit(2);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rt->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &rt->size);
    /* Errors end the job with a message rather than MPI's default. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    return rt;
}

int rt_need_mpi(struct runtime *rt)
{
    if (!rt->local)
        return 0;
    int provided, argc = 0;
    char **argv = NULL;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "vsmp: MPI_Init_thread failed\n");
        return -1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    rt->local = false;
    return 0;
}

int rt_rank(const struct runtime *rt)
{
    return rt->rank;
}

int rt_size(const struct runtime *rt)
{
    return rt->size;
}

void rt_barrier(struct runtime *rt)
{
    if (rt->local)
        return;
    MPI_Barrier(MPI_COMM_WORLD);
}

int rt_max(struct runtime *rt, int value)
{
    if (rt->local)
        return value;
    int out = value;
    MPI_Allreduce(&value, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

void rt_gather(struct runtime *rt, const void *mine, size_t len, void *all)
{
    if (len > (size_t)INT_MAX)
        rt_abort(rt, 10, "rt_gather: %zu bytes is too much", len);
    if (rt->local) {
        memcpy(all, mine, len);
        return;
    }
    MPI_Gather(mine, (int)len, MPI_BYTE, rt->rank == 0 ? all : NULL, (int)len, MPI_BYTE, 0,
               MPI_COMM_WORLD);
}

void rt_abort(struct runtime *rt, int status, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vsmp: rank %d: ", rt ? rt->rank : -1);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    if (rt && rt->local)
        exit(status);
    terminal_restore();          /* MPI_Abort runs no atexit handler */
    MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}

void rt_finalize(struct runtime *rt)
{
    if (rt && rt->local) {
        free(rt);
        return;
    }
    free(rt);
    MPI_Finalize();
}
