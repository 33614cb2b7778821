/* pagewalk.h - the two-level i386 (non-PAE) page-table walk, as a pure
 * function of the control registers, the linear address and the access.
 * Physical memory is reached only through the callbacks in struct
 * pw_mem, so this file knows nothing about struct cpu or the TLB. */
#ifndef VSMP_PAGEWALK_H
#define VSMP_PAGEWALK_H

#include <stdbool.h>
#include <stdint.h>

/* Physical 32-bit word access for the walker (page-table entries). */
struct pw_mem {
    void *ctx;
    uint32_t (*read32)(void *ctx, uint32_t paddr);
    void (*write32)(void *ctx, uint32_t paddr, uint32_t value);
};

/* Page-table entry bits (PDE and PTE). */
#define PTE_P   0x001u
#define PTE_RW  0x002u
#define PTE_US  0x004u
#define PTE_PWT 0x008u
#define PTE_PCD 0x010u
#define PTE_A   0x020u
#define PTE_D   0x040u
#define PTE_PS  0x080u  /* in a PDE: 4 MiB page (with CR4.PSE) */
#define PTE_G   0x100u
/* 4 MiB PDE: bits 13..21 are reserved with a 32-bit physical address
 * width (bit 12 is PAT). */
#define PDE4M_RSVD 0x003fe000u

/* Access kinds (same values as ACC_* in cpu/mmu.h). */
#define PW_READ  0
#define PW_WRITE 1
#define PW_EXEC  2

struct pw_result {
    uint32_t paddr;      /* physical address of `lin` */
    uint32_t page_size;  /* 4096 or 4 MiB */
    bool global;         /* G set and CR4.PGE enabled */
    bool user;           /* U/S: the page is user-accessible (PDE & PTE) */
    bool writable;       /* a write with this privilege would be allowed
                          * (R/W of both levels, or supervisor with WP=0) */
    bool dirty;          /* D is set in the final entry (after this walk) */
    uint32_t err;        /* page-fault error code when the walk fails */
};

/* Walk the tables for `lin`. acc: PW_READ, PW_WRITE or PW_EXEC; user: the
 * access is a user-mode one (CPL 3 and not an implicit supervisor access).
 * Returns true and fills r on success; on a fault returns false with
 * r->err = P/W/U(/RSVD) bits. Sets A on the PDE and PTE, and D on the PTE
 * (or the 4 MiB PDE) for writes, writing an entry back only when a bit
 * actually changes and only when the access succeeds. If CR0.PG is clear
 * the address is returned unchanged. */
bool pagewalk(uint32_t cr0, uint32_t cr3, uint32_t cr4, uint32_t lin, int acc,
              bool user, const struct pw_mem *mem, struct pw_result *r);

#endif
