/* ckpt_mpi.h - the collective steps of a checkpoint and a restore
 * (struct ckpt_ops, src/snap/checkpoint.h) over MPI: a non-blocking
 * barrier, all-to-all counts, max, broadcast, gather, and the image file
 * (src/mpi/image_io.h), all on a duplicate of MPI_COMM_WORLD so that they
 * never match the DSM's messages. MPI must be initialised. */
#ifndef VSMP_CKPT_MPI_H
#define VSMP_CKPT_MPI_H

struct ckpt_mpi;
struct ckpt_ops;

/* Collective. NULL (after a message) when the communicator cannot be
 * made. */
struct ckpt_mpi *ckpt_mpi_open(void);
const struct ckpt_ops *ckpt_mpi_ops(struct ckpt_mpi *c);
/* Collective. */
void ckpt_mpi_close(struct ckpt_mpi *c);

#endif
