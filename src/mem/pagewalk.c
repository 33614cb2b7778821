/* pagewalk.c - two-level i386 page-table walk (4 KiB pages, 4 MiB pages
 * with CR4.PSE, global pages with CR4.PGE, CR0.WP, Accessed/Dirty). See
 * pagewalk.h. Facts from the Intel SDM vol. 3, chapter 4 (32-bit paging). */
#include "mem/pagewalk.h"

#define CR0_PG_BIT  0x80000000u
#define CR0_WP_BIT  0x00010000u
#define CR4_PSE_BIT 0x00000010u
#define CR4_PGE_BIT 0x00000080u

#define ERR_P    0x1u
#define ERR_W    0x2u
#define ERR_U    0x4u
#define ERR_RSVD 0x8u

bool pagewalk(uint32_t cr0, uint32_t cr3, uint32_t cr4, uint32_t lin, int acc,
              bool user, const struct pw_mem *mem, struct pw_result *r)
{
    bool write = (acc & 3) == PW_WRITE;
    /* Error code bits that describe the access itself. (No I/D bit: it
     * exists only with NX/SMEP, which a non-PAE i686 does not have.) */
    uint32_t acc_err = (write ? ERR_W : 0) | (user ? ERR_U : 0);

    if (!(cr0 & CR0_PG_BIT)) {
        *r = (struct pw_result){ .paddr = lin, .page_size = 4096, .user = true,
                                 .writable = true, .dirty = true };
        return true;
    }

    uint32_t pde_addr = (cr3 & 0xfffff000u) | ((lin >> 22) << 2);
    uint32_t pde = mem->read32(mem->ctx, pde_addr);
    if (!(pde & PTE_P)) {
        r->err = acc_err;
        return false;
    }

    bool big = (cr4 & CR4_PSE_BIT) && (pde & PTE_PS);
    uint32_t pte = 0, pte_addr = 0, perm, leaf;
    if (big) {
        if (pde & PDE4M_RSVD) {
            r->err = acc_err | ERR_P | ERR_RSVD;
            return false;
        }
        perm = pde;
        leaf = pde;
    } else {
        pte_addr = (pde & 0xfffff000u) | (((lin >> 12) & 0x3ff) << 2);
        pte = mem->read32(mem->ctx, pte_addr);
        if (!(pte & PTE_P)) {
            r->err = acc_err;
            return false;
        }
        perm = pde & pte;   /* U/S and R/W: both levels must allow */
        leaf = pte;
    }

    bool is_user = perm & PTE_US;
    bool rw = perm & PTE_RW;
    bool writable = user ? rw : (rw || !(cr0 & CR0_WP_BIT));
    if ((user && !is_user) || (write && !writable)) {
        r->err = acc_err | ERR_P;
        return false;
    }

    /* Success: set Accessed (and Dirty on writes), only where clear. */
    if (big) {
        uint32_t n = pde | PTE_A | (write ? PTE_D : 0);
        if (n != pde)
            mem->write32(mem->ctx, pde_addr, n);
        leaf = n;
        r->paddr = (pde & 0xffc00000u) | (lin & 0x003fffffu);
        r->page_size = 0x400000u;
    } else {
        if (!(pde & PTE_A))
            mem->write32(mem->ctx, pde_addr, pde | PTE_A);
        uint32_t n = pte | PTE_A | (write ? PTE_D : 0);
        if (n != pte)
            mem->write32(mem->ctx, pte_addr, n);
        leaf = n;
        r->paddr = (pte & 0xfffff000u) | (lin & 0xfffu);
        r->page_size = 4096;
    }
    r->global = (cr4 & CR4_PGE_BIT) && (leaf & PTE_G);
    r->user = is_user;
    r->writable = writable;
    r->dirty = leaf & PTE_D;
    r->err = 0;
    return true;
}
