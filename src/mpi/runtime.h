/* runtime.h - the MPI job around the machine: start-up, rank and size,
 * agreement on errors, abort and finalize. The only code that
 * calls MPI (src/mpi/ is the only place that includes mpi.h); the struct
 * is opaque for that reason.
 *
 * Open MPI 4.1.4 here crashes in btl/vader unless
 * OMPI_MCA_btl_vader_single_copy_mechanism=none is in the environment;
 * mpirun's environment is the caller's business, but main() sets it for
 * the singleton case (plain ./vsmp) before rt_init(). */
#ifndef VSMP_RUNTIME_H
#define VSMP_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

struct runtime;

/* MPI_Init_thread (FUNNELED). NULL (after a message) on failure. */
struct runtime *rt_init(int *argc, char ***argv);
/* True when an MPI launcher started this process (OMPI_COMM_WORLD_SIZE,
 * PMIX_RANK, PMI_RANK or PMI_SIZE in the environment). */
bool rt_launched(void);
/* Like rt_init, but without a launcher (rt_launched() false) MPI is not
 * started at all: a job of one rank, rank 0, whose collectives are local
 * and whose abort is exit(). A singleton MPI_Init spawns orted and scans
 * the hardware (0.2-0.4 s); a one-CPU machine needs none of it. */
struct runtime *rt_init_local(int *argc, char ***argv);
/* A job of rt_init_local without MPI starts it now (a one-CPU run that
 * writes or reads a memory image: the image code is MPI-IO); otherwise
 * nothing. 0, or -1 after a message. */
int rt_need_mpi(struct runtime *rt);
int rt_rank(const struct runtime *rt);
int rt_size(const struct runtime *rt);
void rt_barrier(struct runtime *rt);
/* Collective: the largest of every rank's value (error agreement). */
int rt_max(struct runtime *rt, int value);
/* Collective: rank 0 receives every rank's `len` bytes at `mine`, by
 * rank, in `all` (size * len bytes; ignored on other ranks). */
void rt_gather(struct runtime *rt, const void *mine, size_t len, void *all);
/* End the whole job now: "vsmp: rank R: MESSAGE" on stderr, MPI_Abort. */
__attribute__((noreturn, format(printf, 3, 4)))
void rt_abort(struct runtime *rt, int status, const char *fmt, ...);
/* MPI_Finalize and free. */
void rt_finalize(struct runtime *rt);

#endif
