/* image_io.h - writing and reading a memory image file (docs/image-format.md)
 * collectively over an MPI communicator with MPI-IO: a 4096-byte header,
 * the machine's state block (rank 0's sections), a bitmap of the stored
 * pages with a checksum per page, then the stored pages, each written by
 * the rank that holds it. Zero pages and pages no rank holds are left out.
 *
 * Both calls are collective: every rank of `comm` calls them with the same
 * path and geometry. A failure anywhere (bad arguments, I/O error, a
 * corrupted or mismatched image) makes the call return -1 on EVERY rank
 * with the same one-line message in err, which begins with the path, e.g.
 *   "img.vsmp: page 0x1234 fails its checksum (image corrupted)"
 * No rank is left waiting in a collective. (image_io_write/read: the
 * plan's image_write/image_read, renamed because src/io/imagefile.h has an
 * image_read of its own in the same program.) */
#ifndef VSMP_IMAGE_IO_H
#define VSMP_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

struct image_geometry {
    uint32_t ncpus;        /* CPUs of the machine (one per rank) */
    uint64_t ram_bytes;    /* guest RAM, a multiple of IMAGE_PAGE */
};

struct image_write_result {
    uint64_t bytes_stored;  /* bytes of RAM stored (pages_stored * 4096) */
    uint64_t pages_stored;
    uint64_t file_bytes;    /* the length of the file written */
    double seconds;         /* the whole call, sync included */
    double prep_seconds;    /* of which before the first byte is written:
                               writers, zero test, sums, layout */
    double sync_seconds;    /* of which the MPI_File_sync (fsync) */
    int direct;             /* this rank's pages went through O_DIRECT */
};

struct image_read_result {
    uint64_t bytes_stored;  /* bytes of RAM in the image */
    uint64_t pages_stored;
    uint64_t pages_here;    /* pages this rank read (owned[p] = 1) */
    double seconds;
    int direct;             /* this rank's pages came through O_DIRECT */
};

/* Collective. valid[p] nonzero: this rank holds a valid copy of page p.
 * The writer of each page is the lowest rank holding it; all-zero pages
 * and pages no rank holds are not stored. state/state_len: rank 0's state
 * block (ignored on other ranks). Writes PATH.tmp.<pid of rank 0>, syncs
 * it, renames it to path and syncs the directory: the old file at path
 * stays intact until the rename. 0 on success; else -1 on every rank with
 * one line in err (the same on every rank). out may be NULL. */
int image_io_write(MPI_Comm comm, const char *path, const struct image_geometry *g,
                   const uint8_t *ram, const uint8_t *valid,
                   const void *state, size_t state_len,
                   struct image_write_result *out, char *err, size_t errlen);

/* Collective. Checks the header against g (CPUs, memory size), the file's
 * length and every checksum; reads the state block into a malloc'd buffer
 * on every rank (*state, *state_len; the caller frees it). Each stored page
 * is read by exactly one rank (the stored pages, in file order, split into
 * nranks runs of nearly equal counts: rank r takes the r-th run) into ram
 * at page p's offset, and that rank's owned[p] = 1; for every other page
 * owned[p] = 0 and ram is untouched. ram and owned span g->ram_bytes / 4096
 * pages on every rank. -1 on every rank with one line in err on any
 * mismatch, corruption or I/O error; then *state is NULL, owned[] is all
 * zero and the stored pages' bytes in ram are unspecified. */
int image_io_read(MPI_Comm comm, const char *path, const struct image_geometry *g,
                  uint8_t *ram, uint8_t *owned, void **state, size_t *state_len,
                  struct image_read_result *out, char *err, size_t errlen);

/* ---- the format (docs/image-format.md), for tests and tools ---- */
#define IMAGE_MAGIC "VSMPIMG"          /* 8 bytes with its NUL */
#define IMAGE_VERSION 1u
#define IMAGE_PAGE 4096u
#define IMAGE_HEADER_BYTES 4096u
#define IMAGE_STATE_MAX (256ull << 20)   /* the largest state block read */

/* Byte offsets of the header's fields (all little-endian). */
enum {
    IMAGE_H_MAGIC = 0,          /* 8 bytes */
    IMAGE_H_VERSION = 8,        /* u32 */
    IMAGE_H_HEADER_BYTES = 12,  /* u32 */
    IMAGE_H_PAGE_BYTES = 16,    /* u32 */
    IMAGE_H_NCPUS = 20,         /* u32 */
    IMAGE_H_RAM_BYTES = 24,     /* u64, then u64s: */
    IMAGE_H_NPAGES = 32,
    IMAGE_H_STORED = 40,
    IMAGE_H_STATE_OFF = 48,
    IMAGE_H_STATE_LEN = 56,
    IMAGE_H_BITMAP_OFF = 64,
    IMAGE_H_BITMAP_LEN = 72,
    IMAGE_H_SUMS_OFF = 80,
    IMAGE_H_SUMS_LEN = 88,
    IMAGE_H_PAGES_OFF = 96,
    IMAGE_H_PAGES_LEN = 104,
    IMAGE_H_FILE_LEN = 112,
    IMAGE_H_CREATED_NS = 120,
    IMAGE_H_STATE_SUM = 128,
    IMAGE_H_BITMAP_SUM = 136,
    IMAGE_H_SUMS_SUM = 144,
    IMAGE_H_USED = 152,         /* bytes 152..4087 are zero */
    IMAGE_H_HEADER_SUM = 4088,  /* snap_sum(bytes 0..4087, IMAGE_SEED_HEADER) */
};

/* The seeds of snap_sum for each part; page p's sum uses
 * IMAGE_SEED_PAGE + p (a page stored at another page's place fails). */
#define IMAGE_SEED_HEADER 0x5244482d474d4956ull   /* "VIMG-HDR" */
#define IMAGE_SEED_STATE 0x5453532d474d4956ull    /* "VIMG-SST" */
#define IMAGE_SEED_BITMAP 0x50414d2d474d4956ull   /* "VIMG-MAP" */
#define IMAGE_SEED_SUMS 0x4d55532d474d4956ull     /* "VIMG-SUM" */
#define IMAGE_SEED_PAGE 0x4741502d474d4956ull     /* "VIMG-PAG" */

#endif
