/* phys.h - guest physical address space: RAM, ROM, MMIO windows, and the
 * per-page bookkeeping that self-modifying-code detection needs.
 *
 * RAM is one host allocation of `ram_size` bytes at guest physical 0
 * (later a window shared with other ranks by the DSM layer). A ROM image
 * can be mapped read-only at the top of the first MiB and at the top of
 * 4 GiB. MMIO windows route accesses to device callbacks. Unassigned
 * addresses read as all-ones and ignore writes, as on a PC. */
#ifndef VSMP_PHYS_H
#define VSMP_PHYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SIZE 4096u
#define PAGE_MASK 0xfffff000u

/* page_flags bits */
#define PG_CODE 0x01u /* decoded or translated code exists for this page */
#define PG_MMIO 0x02u /* an MMIO window overlaps this RAM page (no host ptr) */
#define PG_ROM  0x04u /* the ROM image hides this RAM page (read-only) */

typedef uint32_t (*mmio_read_fn)(void *ctx, uint32_t offset, int size);
typedef void (*mmio_write_fn)(void *ctx, uint32_t offset, int size, uint32_t value);

struct mmio_region {
    uint32_t base, size;
    void *ctx;
    mmio_read_fn read;
    mmio_write_fn write;
};

#define PHYS_MAX_MMIO 16
#define PHYS_MAX_ROM 2

struct rom_map {
    uint32_t base, size;
    const uint8_t *data;
};

/* Coherence of RAM pages with other ranks (the DSM). With `state` NULL,
 * RAM is private to this rank. Otherwise state[page] says what this rank
 * may do with its copy (0 nothing, 1 read, 2 read and write) and every RAM
 * access below first calls fault() when the state does not allow it;
 * fault() returns once it does. */
struct phys_coherence {
    const uint8_t *state;
    void (*fault)(void *ctx, uint32_t page, bool write);
    void *ctx;
};

struct phys {
    uint8_t *ram;
    bool ram_borrowed;        /* ram belongs to somebody else (a window) */
    struct phys_coherence coh;
    uint32_t ram_size;        /* bytes, multiple of PAGE_SIZE */
    uint8_t *page_flags;      /* one byte per RAM page */
    uint8_t *rom;             /* ROM image (owned) */
    uint32_t rom_size;
    struct rom_map roms[PHYS_MAX_ROM];
    int nroms;
    struct mmio_region mmio[PHYS_MAX_MMIO];
    int nmmio;
    /* Called after a write of len bytes at paddr hit a page with PG_CODE.
     * Returns true if the page still holds code afterwards (the write
     * missed every decoded byte): PG_CODE then stays set, else it is
     * cleared. Set by the CPU core; NULL: the flag is simply cleared. */
    bool (*code_written)(void *ctx, uint32_t paddr, uint32_t len);
    void *code_written_ctx;
};

int phys_init(struct phys *p, uint32_t ram_size);   /* 0 or -1 (errno) */
/* The same over RAM that the caller provides (page-aligned, ram_size a
 * multiple of PAGE_SIZE), e.g. this rank's DSM copy area: zeroed, or
 * under the coherence protocol (phys.coh), which installs each page
 * before any access reaches it (an untouched page as zeros). */
int phys_init_borrowed(struct phys *p, uint8_t *ram, uint32_t ram_size);
void phys_free(struct phys *p);
/* Map a ROM image of `size` bytes (copied) so that it ends at 1 MiB and at
 * 4 GiB. size must be a multiple of 4 KiB and at most 128 KiB. */
int phys_map_rom(struct phys *p, const uint8_t *data, uint32_t size);
int phys_add_mmio(struct phys *p, uint32_t base, uint32_t size, void *ctx,
                  mmio_read_fn rd, mmio_write_fn wr);

/* Host pointer to the byte at paddr when it is in RAM (write=false: also
 * ROM), else NULL. Valid for the rest of that page. */
uint8_t *phys_host_ptr(struct phys *p, uint32_t paddr, bool write);

/* Any-region access, size 1, 2 or 4 (never crossing a page). Writes to a
 * PG_CODE page call code_written. */
uint32_t phys_read(struct phys *p, uint32_t paddr, int size);
void phys_write(struct phys *p, uint32_t paddr, int size, uint32_t value);
/* Bulk copy for loaders and DMA (RAM only; returns -1 if out of RAM). */
int phys_copy_in(struct phys *p, uint32_t paddr, const void *src, size_t n);
int phys_copy_out(struct phys *p, uint32_t paddr, void *dst, size_t n);

/* Make the RAM page of paddr accessible for reading (write=false) or
 * writing under the coherence protocol; no-op for private RAM. */
static inline void phys_coh_ensure(struct phys *p, uint32_t paddr, bool write)
{
    if (p->coh.state && paddr < p->ram_size &&
        p->coh.state[paddr >> 12] < (write ? 2 : 1))
        p->coh.fault(p->coh.ctx, paddr >> 12, write);
}

static inline bool phys_page_is_code(const struct phys *p, uint32_t paddr)
{
    return paddr < p->ram_size && (p->page_flags[paddr >> 12] & PG_CODE);
}
void phys_mark_code(struct phys *p, uint32_t paddr);

#endif
