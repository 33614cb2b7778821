/* phys.c - guest physical address space: RAM (anonymous mmap), a ROM image
 * visible below 1 MiB and below 4 GiB, MMIO windows dispatched to device
 * callbacks, and the per-page flags used for self-modifying-code detection.
 *
 * Precedence for an address: MMIO window, then ROM, then RAM, then
 * "unassigned" (reads all-ones, writes ignored). RAM pages hidden by MMIO
 * or ROM carry PG_MMIO / PG_ROM in page_flags so that the common RAM case
 * needs no search. Every guest-supplied address is bounds-checked: nothing
 * outside ram[0..ram_size) and rom[0..rom_size) is ever touched. */
#include "mem/phys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ROM_MAX_SIZE (128u * 1024u)

int phys_init(struct phys *p, uint32_t ram_size)
{
    memset(p, 0, sizeof *p);
    /* Round up to whole pages; at least one page so ram is never NULL. */
    uint64_t sz = ((uint64_t)ram_size + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    if (sz == 0)
        sz = PAGE_SIZE;
    if (sz > 0xfffff000u) {
        errno = EINVAL;
        return -1;
    }
    void *m = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    p->page_flags = calloc((size_t)(sz / PAGE_SIZE), 1);
    if (!p->page_flags) {
        munmap(m, (size_t)sz);
        errno = ENOMEM;
        return -1;
    }
    p->ram = m;
    p->ram_size = (uint32_t)sz;
    return 0;
}

int phys_init_borrowed(struct phys *p, uint8_t *ram, uint32_t ram_size)
{
    memset(p, 0, sizeof *p);
    if (!ram || ram_size == 0 || (ram_size & (PAGE_SIZE - 1))) {
        errno = EINVAL;
        return -1;
    }
    p->page_flags = calloc(ram_size / PAGE_SIZE, 1);
    if (!p->page_flags) {
        errno = ENOMEM;
        return -1;
    }
    p->ram = ram;
    p->ram_size = ram_size;
    p->ram_borrowed = true;
    return 0;
}

void phys_free(struct phys *p)
{
    if (p->ram && !p->ram_borrowed)
        munmap(p->ram, p->ram_size);
    free(p->page_flags);
    free(p->rom);
    memset(p, 0, sizeof *p);
}

/* Set or clear `flag` on every RAM page overlapping [base, base+size). */
static void mark_range(struct phys *p, uint32_t base, uint32_t size, uint8_t flag, bool set)
{
    if (size == 0)
        return;
    uint64_t first = base >> 12;
    uint64_t last = ((uint64_t)base + size - 1) >> 12;
    uint64_t npages = p->ram_size >> 12;
    for (uint64_t pg = first; pg <= last && pg < npages; pg++) {
        if (set)
            p->page_flags[pg] |= flag;
        else
            p->page_flags[pg] &= (uint8_t)~flag;
    }
}

int phys_map_rom(struct phys *p, const uint8_t *data, uint32_t size)
{
    if (size == 0 || size > ROM_MAX_SIZE || (size & (PAGE_SIZE - 1))) {
        errno = EINVAL;
        return -1;
    }
    uint8_t *copy = malloc(size);
    if (!copy) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(copy, data, size);
    /* Replace a previously mapped image. */
    for (int i = 0; i < p->nroms; i++)
        mark_range(p, p->roms[i].base, p->roms[i].size, PG_ROM, false);
    free(p->rom);
    p->rom = copy;
    p->rom_size = size;
    p->roms[0] = (struct rom_map){ .base = 0x100000u - size, .size = size, .data = copy };
    p->roms[1] = (struct rom_map){ .base = 0u - size, .size = size, .data = copy };
    p->nroms = 2;
    for (int i = 0; i < p->nroms; i++)
        mark_range(p, p->roms[i].base, p->roms[i].size, PG_ROM, true);
    return 0;
}

int phys_add_mmio(struct phys *p, uint32_t base, uint32_t size, void *ctx,
                  mmio_read_fn rd, mmio_write_fn wr)
{
    if (p->nmmio >= PHYS_MAX_MMIO || size == 0) {
        errno = size ? ENOSPC : EINVAL;
        return -1;
    }
    p->mmio[p->nmmio++] = (struct mmio_region){
        .base = base, .size = size, .ctx = ctx, .read = rd, .write = wr,
    };
    mark_range(p, base, size, PG_MMIO, true);
    return 0;
}

/* ---- lookup helpers ---- */

static const struct mmio_region *find_mmio(const struct phys *p, uint32_t paddr)
{
    for (int i = 0; i < p->nmmio; i++)
        if (paddr - p->mmio[i].base < p->mmio[i].size)
            return &p->mmio[i];
    return NULL;
}

static const struct rom_map *find_rom(const struct phys *p, uint32_t paddr)
{
    for (int i = 0; i < p->nroms; i++)
        if (paddr - p->roms[i].base < p->roms[i].size)
            return &p->roms[i];
    return NULL;
}

/* Does any MMIO window overlap the page holding paddr? */
static bool mmio_in_page(const struct phys *p, uint32_t paddr)
{
    uint64_t pg = paddr & PAGE_MASK;
    for (int i = 0; i < p->nmmio; i++) {
        uint64_t b = p->mmio[i].base, e = b + p->mmio[i].size;
        if (b < pg + PAGE_SIZE && e > pg)
            return true;
    }
    return false;
}

/* Does paddr need the full search (MMIO or ROM may cover it)? */
static inline bool needs_search(const struct phys *p, uint32_t paddr)
{
    return paddr >= p->ram_size || (p->page_flags[paddr >> 12] & (PG_MMIO | PG_ROM));
}

uint8_t *phys_host_ptr(struct phys *p, uint32_t paddr, bool write)
{
    if (!needs_search(p, paddr)) {
        phys_coh_ensure(p, paddr, write);
        return p->ram + paddr;
    }
    /* A page touched by an MMIO window has no host pointer at all: the
     * pointer must be valid for the rest of the page. */
    if (paddr < p->ram_size && (p->page_flags[paddr >> 12] & PG_MMIO))
        return NULL;
    if (paddr >= p->ram_size && mmio_in_page(p, paddr))
        return NULL;
    const struct rom_map *r = find_rom(p, paddr);
    if (r)
        return write ? NULL : (uint8_t *)r->data + (paddr - r->base);
    return NULL;
}

/* ---- byte-granular access, used for the rare cases (page-crossing
 * requests, partially covered pages) ---- */

static uint32_t read_one(struct phys *p, uint32_t paddr, int size)
{
    if (needs_search(p, paddr)) {
        const struct mmio_region *m = find_mmio(p, paddr);
        if (m)
            return m->read ? m->read(m->ctx, paddr - m->base, size) : 0xffffffffu >> (32 - 8 * size);
        const struct rom_map *r = find_rom(p, paddr);
        if (r) {
            uint32_t v = 0;
            for (int i = 0; i < size; i++) {
                uint32_t o = paddr + i - r->base;
                v |= (uint32_t)(o < r->size ? r->data[o] : 0xff) << (8 * i);
            }
            return v;
        }
        if (paddr >= p->ram_size)
            return 0xffffffffu >> (32 - 8 * size);
    }
    phys_coh_ensure(p, paddr, false);
    uint32_t v = 0;
    memcpy(&v, p->ram + paddr, (size_t)size); /* little-endian host */
    return v;
}

uint32_t phys_read(struct phys *p, uint32_t paddr, int size)
{
    if (size != 1 && size != 2 && size != 4)
        size = 4;
    if ((paddr & (PAGE_SIZE - 1)) + (uint32_t)size > PAGE_SIZE) {
        /* Not expected, but never run off the end of a page. */
        uint32_t v = 0;
        for (int i = 0; i < size; i++)
            v |= (read_one(p, paddr + i, 1) & 0xff) << (8 * i);
        return v;
    }
    return read_one(p, paddr, size);
}

static void write_one(struct phys *p, uint32_t paddr, int size, uint32_t value)
{
    if (needs_search(p, paddr)) {
        const struct mmio_region *m = find_mmio(p, paddr);
        if (m) {
            if (m->write)
                m->write(m->ctx, paddr - m->base, size, value);
            return;
        }
        if (paddr >= p->ram_size || find_rom(p, paddr))
            return; /* unassigned or ROM: ignored */
    }
    phys_coh_ensure(p, paddr, true);
    memcpy(p->ram + paddr, &value, (size_t)size);
    uint8_t *f = &p->page_flags[paddr >> 12];
    if ((*f & PG_CODE) &&
        !(p->code_written && p->code_written(p->code_written_ctx, paddr, (uint32_t)size)))
        *f &= (uint8_t)~PG_CODE;
}

void phys_write(struct phys *p, uint32_t paddr, int size, uint32_t value)
{
    if (size != 1 && size != 2 && size != 4)
        size = 4;
    if ((paddr & (PAGE_SIZE - 1)) + (uint32_t)size > PAGE_SIZE) {
        for (int i = 0; i < size; i++)
            write_one(p, paddr + i, 1, value >> (8 * i));
        return;
    }
    write_one(p, paddr, size, value);
}

int phys_copy_in(struct phys *p, uint32_t paddr, const void *src, size_t n)
{
    if ((uint64_t)paddr + n > p->ram_size)
        return -1;
    if (n == 0)
        return 0;
    if (p->coh.state) {
        /* page by page, each made writable first */
        for (uint64_t a = paddr; a < (uint64_t)paddr + n;) {
            uint64_t end = ((a >> 12) + 1) << 12;
            if (end > (uint64_t)paddr + n)
                end = (uint64_t)paddr + n;
            phys_coh_ensure(p, (uint32_t)a, true);
            memcpy(p->ram + a, (const uint8_t *)src + (a - paddr), (size_t)(end - a));
            a = end;
        }
    } else {
        memcpy(p->ram + paddr, src, n);
    }
    /* Loaders and DMA can overwrite code too. */
    for (uint64_t pg = paddr >> 12; pg <= ((uint64_t)paddr + n - 1) >> 12; pg++) {
        if (p->page_flags[pg] & PG_CODE) {
            /* the part of [paddr, paddr+n) inside this page */
            uint64_t lo = pg << 12 > paddr ? pg << 12 : paddr;
            uint64_t hi = (pg + 1) << 12 < (uint64_t)paddr + n ? (pg + 1) << 12 : (uint64_t)paddr + n;
            if (!(p->code_written &&
                  p->code_written(p->code_written_ctx, (uint32_t)lo, (uint32_t)(hi - lo))))
                p->page_flags[pg] &= (uint8_t)~PG_CODE;
        }
    }
    return 0;
}

int phys_copy_out(struct phys *p, uint32_t paddr, void *dst, size_t n)
{
    if ((uint64_t)paddr + n > p->ram_size)
        return -1;
    for (uint64_t a = paddr; a < (uint64_t)paddr + n;) {
        uint64_t end = ((a >> 12) + 1) << 12;
        if (end > (uint64_t)paddr + n)
            end = (uint64_t)paddr + n;
        phys_coh_ensure(p, (uint32_t)a, false);
        memcpy((uint8_t *)dst + (a - paddr), p->ram + a, (size_t)(end - a));
        a = end;
    }
    return 0;
}

void phys_mark_code(struct phys *p, uint32_t paddr)
{
    if (paddr < p->ram_size)
        p->page_flags[paddr >> 12] |= PG_CODE;
}
