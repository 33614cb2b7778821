/* image_io_tmp.h - TEMPORARY: the memory-image file API of issue 17 part
 * D1 (src/mpi/image_io.h, being written in parallel), declared here so
 * that the checkpoint core builds before it is merged; implemented by a
 * simple stand-in (image_io_tmp.c) in its own file format. The
 * integrator deletes both files. */
#ifndef VSMP_IMAGE_IO_TMP_H
#define VSMP_IMAGE_IO_TMP_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

struct image_geometry {
    uint32_t ncpus;
    uint64_t ram_bytes;
};

struct image_write_result {
    uint64_t bytes_stored, pages_stored;
    double seconds;
};

struct image_read_result {
    uint64_t bytes_stored, pages_stored;
    double seconds;
};

/* (src/io/imagefile.h has an image_read of its own: other link names) */
#define image_write tmpimg_write
#define image_read tmpimg_read

int image_write(MPI_Comm comm, const char *path, const struct image_geometry *g,
                const uint8_t *ram, const uint8_t *valid, const void *state, size_t state_len,
                struct image_write_result *out, char *err, size_t errlen);
int image_read(MPI_Comm comm, const char *path, const struct image_geometry *g, uint8_t *ram,
               uint8_t *owned, void **state, size_t *state_len, struct image_read_result *out,
               char *err, size_t errlen);

#endif
