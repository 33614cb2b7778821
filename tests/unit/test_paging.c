/* test_paging.c - guest physical memory (RAM/ROM/MMIO/PG_CODE), the
 * software TLB, the page-table walker and the MMU slow paths: 4 KiB and
 * 4 MiB pages, fault error codes and CR2, U/S and WP, Accessed/Dirty,
 * global pages, INVLPG, page-straddling accesses, segment checks.
 *
 * Guest faults unwind through cpu_raise() to the jmp_buf that CATCH()
 * installs in cpu->fault_jmp. Build with -DPAGING_TEST_STUBS to link
 * against the memory objects alone (stub cpu_raise / cpu_code_written). */
#include <criterion/criterion.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/mmu.h"
#include "mem/pagewalk.h"

#ifdef PAGING_TEST_STUBS
static int stub_code_written_calls;
void cpu_raise(struct cpu *cpu, int vector, uint32_t err)
{
    cpu->last_exc = vector;
    cpu->last_exc_err = err;
    longjmp(*cpu->fault_jmp, 1);
}
void cpu_raise_noerr(struct cpu *cpu, int vector)
{
    cpu_raise(cpu, vector, 0);
}
bool cpu_code_written(struct cpu *cpu, uint32_t paddr, uint32_t len)
{
    (void)cpu; (void)paddr; (void)len;
    stub_code_written_calls++;
    return false;
}
#endif

#define RAM_SIZE (16u << 20)
#define PD_ADDR 0x1000u
#define PT_BASE 0x200000u   /* page table for PDE i at PT_BASE + i*4096 */

/* Run stmt; evaluates to the exception vector it raised, or -1. */
#define CATCH(c, stmt) __extension__({                                   \
        jmp_buf jb_;                                                     \
        volatile int v_ = -1;                                            \
        (c)->fault_jmp = &jb_;                                           \
        (c)->exc_nest = 0;                                               \
        (c)->last_exc = -1;                                              \
        if (setjmp(jb_) == 0) {                                          \
            stmt;                                                        \
        } else {                                                         \
            v_ = (c)->last_exc;                                          \
        }                                                                \
        (c)->fault_jmp = NULL;                                           \
        v_;                                                              \
    })

struct env {
    struct phys phys;
    struct cpu cpu;
};

static struct env *env_new(void)
{
    struct env *e = calloc(1, sizeof *e);
    cr_assert_not_null(e);
    cr_assert_eq(phys_init(&e->phys, RAM_SIZE), 0);
    struct cpu *c = &e->cpu;
    c->phys = &e->phys;
    c->a20_mask = 0xffffffffu;
    c->cr0 = CR0_PE | CR0_ET;
    c->pe = true;
    c->code32 = c->stack32 = true;
    c->last_exc = -1;
    c->stop_on_exception = true;
    for (int s = 0; s < SEG_COUNT; s++) {
        c->seg[s] = (struct segment){ .sel = 0x10, .base = 0, .limit = 0xffffffffu,
                                      .ar = 0x93 | AR_DB | AR_G };
        seg_refresh_fast(&c->seg[s]);
    }
    c->seg[S_CS].sel = 0x08;
    c->seg[S_CS].ar = 0x9b | AR_DB | AR_G;
    seg_refresh_fast(&c->seg[S_CS]);
    tlb_flush_all(&c->tlb);
    return e;
}

static void env_free(struct env *e)
{
    cpu_free(&e->cpu);
    phys_free(&e->phys);
    free(e);
}

static uint32_t rd32(struct env *e, uint32_t pa)
{
    uint32_t v;
    cr_assert_eq(phys_copy_out(&e->phys, pa, &v, 4), 0);
    return v;
}

static void wr32(struct env *e, uint32_t pa, uint32_t v)
{
    cr_assert_eq(phys_copy_in(&e->phys, pa, &v, 4), 0);
}

static uint32_t pte_addr(uint32_t lin)
{
    return PT_BASE + (lin >> 22) * 4096u + ((lin >> 12) & 0x3ff) * 4u;
}

/* Map 4 KiB page lin -> pa with PTE flags; the PDE allows everything. */
static void map4k(struct env *e, uint32_t lin, uint32_t pa, uint32_t flags)
{
    uint32_t pdi = lin >> 22;
    wr32(e, PD_ADDR + pdi * 4, (PT_BASE + pdi * 4096u) | PTE_P | PTE_RW | PTE_US);
    wr32(e, pte_addr(lin), (pa & PAGE_MASK) | flags);
}

static void paging_on(struct env *e, uint32_t cr4)
{
    e->cpu.cr3 = PD_ADDR;
    e->cpu.cr4 = cr4;
    e->cpu.cr0 |= CR0_PG;
    mmu_flush(&e->cpu);
}

/* ---------------------------------------------------------------- */

Test(phys, ram_rw_and_bounds)
{
    struct phys p;
    cr_assert_eq(phys_init(&p, RAM_SIZE), 0);
    phys_write(&p, 0x1234, 4, 0xdeadbeef);
    cr_assert_eq(phys_read(&p, 0x1234, 4), 0xdeadbeef);
    cr_assert_eq(phys_read(&p, 0x1234, 1), 0xef);
    cr_assert_eq(phys_read(&p, 0x1235, 2), 0xadbe);
    /* unassigned: all ones, writes ignored, no crash at the very top */
    cr_assert_eq(phys_read(&p, RAM_SIZE, 4), 0xffffffffu);
    cr_assert_eq(phys_read(&p, 0x80000000u, 2), 0xffffu);
    phys_write(&p, 0xfffffffcu, 4, 1);
    phys_write(&p, 0xfffffffeu, 2, 1);
    cr_assert_eq(phys_read(&p, 0xfffffffeu, 2), 0xffffu);
    /* a request crossing the end of RAM is split: RAM bytes, then ones */
    cr_assert_eq(phys_read(&p, RAM_SIZE - 2, 4), 0xffff0000u);
    cr_assert_null(phys_host_ptr(&p, RAM_SIZE, false));
    cr_assert_eq(phys_host_ptr(&p, 0x5000, true), p.ram + 0x5000);
    uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    cr_assert_eq(phys_copy_in(&p, RAM_SIZE - 4, buf, 8), -1);
    cr_assert_eq(phys_copy_in(&p, 0xfffffffcu, buf, 8), -1);
    cr_assert_eq(phys_copy_out(&p, RAM_SIZE - 4, buf, 8), -1);
    phys_free(&p);
}

Test(phys, rom_both_addresses_read_only)
{
    struct phys p;
    cr_assert_eq(phys_init(&p, RAM_SIZE), 0);
    uint8_t rom[0x10000];
    for (unsigned i = 0; i < sizeof rom; i++)
        rom[i] = (uint8_t)(i * 7 + 1);
    cr_assert_eq(phys_map_rom(&p, rom, sizeof rom), 0);
    cr_assert_eq(phys_read(&p, 0xf0000, 1), rom[0]);
    cr_assert_eq(phys_read(&p, 0xffff0, 4), rom[0xfff0] | rom[0xfff1] << 8 |
                 rom[0xfff2] << 16 | (uint32_t)rom[0xfff3] << 24);
    cr_assert_eq(phys_read(&p, 0xfffffff0u, 1), rom[0xfff0]);
    cr_assert_eq(phys_read(&p, 0xffff0000u, 1), rom[0]);
    /* writes ignored at both addresses */
    phys_write(&p, 0xffff0, 1, 0);
    phys_write(&p, 0xfffffff0u, 1, 0);
    cr_assert_eq(phys_read(&p, 0xffff0, 1), rom[0xfff0]);
    cr_assert_eq(phys_read(&p, 0xfffffff0u, 1), rom[0xfff0]);
    /* host pointers: readable, never writable */
    const uint8_t *h = phys_host_ptr(&p, 0xfffffff0u, false);
    cr_assert_not_null(h);
    cr_assert_eq(*h, rom[0xfff0]);
    cr_assert_eq(*phys_host_ptr(&p, 0xf0010, false), rom[0x10]);
    cr_assert_null(phys_host_ptr(&p, 0xf0000, true));
    cr_assert_null(phys_host_ptr(&p, 0xfffff000u, true));
    /* below the ROM is still RAM */
    phys_write(&p, 0xef000, 4, 0x11223344);
    cr_assert_eq(phys_read(&p, 0xef000, 4), 0x11223344);
    /* bad sizes */
    cr_assert_eq(phys_map_rom(&p, rom, 100), -1);
    phys_free(&p);
}

struct mmio_log {
    int reads, writes;
    uint32_t last_off, last_val;
    int last_size;
};

static uint32_t mmio_rd(void *ctx, uint32_t off, int size)
{
    struct mmio_log *l = ctx;
    l->reads++;
    l->last_off = off;
    l->last_size = size;
    return 0xabcd0000u | off;
}

static void mmio_wr(void *ctx, uint32_t off, int size, uint32_t v)
{
    struct mmio_log *l = ctx;
    l->writes++;
    l->last_off = off;
    l->last_size = size;
    l->last_val = v;
}

Test(phys, mmio_dispatch)
{
    struct env *e = env_new();
    struct mmio_log log = { 0 };
    cr_assert_eq(phys_add_mmio(&e->phys, 0xfee00000u, 0x1000, &log, mmio_rd, mmio_wr), 0);
    cr_assert_eq(phys_add_mmio(&e->phys, 0xa0000, 0x20000, &log, mmio_rd, mmio_wr), 0);
    cr_assert_eq(phys_read(&e->phys, 0xfee00020u, 4), 0xabcd0020u);
    cr_assert_eq(log.reads, 1);
    phys_write(&e->phys, 0xfee000b0u, 4, 0x55);
    cr_assert_eq(log.writes, 1);
    cr_assert_eq(log.last_off, 0xb0);
    cr_assert_eq(log.last_val, 0x55);
    /* MMIO hides RAM; no host pointer */
    cr_assert_null(phys_host_ptr(&e->phys, 0xa0000, false));
    cr_assert_null(phys_host_ptr(&e->phys, 0xfee00000u, false));
    /* through the CPU (paging off), twice: the TLB must never cache it */
    struct cpu *c = &e->cpu;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(mem_read16(c, S_DS, 0xb8004), 0x8004);
        mem_write32(c, S_DS, 0xb8010, 0x12345678);
        cr_assert_eq(log.last_off, 0x18010);
        cr_assert_eq(log.last_size, 4);
        cr_assert_eq(log.last_val, 0x12345678);
    }
    cr_assert_eq(log.reads, 3);
    cr_assert_eq(log.writes, 3);
    env_free(e);
}

static int cw_calls;
static uint32_t cw_last;
static bool cw_hook(void *ctx, uint32_t paddr, uint32_t len)
{
    (void)ctx; (void)len;
    cw_calls++;
    cw_last = paddr;
    return false;
}

Test(phys, code_pages)
{
    struct phys p;
    cr_assert_eq(phys_init(&p, RAM_SIZE), 0);
    p.code_written = cw_hook;
    cw_calls = 0;
    phys_mark_code(&p, 0x3000);
    phys_mark_code(&p, 0xfffff000u); /* outside RAM: ignored */
    cr_assert(phys_page_is_code(&p, 0x3abc));
    phys_write(&p, 0x3010, 1, 0x90);
    cr_assert_eq(cw_calls, 1);
    cr_assert_eq(cw_last & PAGE_MASK, 0x3000);
    cr_assert_not(phys_page_is_code(&p, 0x3000));
    phys_write(&p, 0x3010, 1, 0x90);  /* flag gone: no second call */
    cr_assert_eq(cw_calls, 1);
    phys_mark_code(&p, 0x5000);
    uint8_t buf[0x2000] = { 0 };
    cr_assert_eq(phys_copy_in(&p, 0x4800, buf, sizeof buf), 0);
    cr_assert_eq(cw_calls, 2);
    cr_assert_eq(cw_last & PAGE_MASK, 0x5000);
    phys_free(&p);
}

/* ---------------------------------------------------------------- */

Test(mmu, flat_paging_off)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    mem_write32(c, S_DS, 0x12340, 0xcafebabe);
    cr_assert_eq(rd32(e, 0x12340), 0xcafebabe);
    cr_assert_eq(mem_read32(c, S_DS, 0x12340), 0xcafebabe);
    cr_assert_eq(mem_read8(c, S_DS, 0x12343), 0xca);
    /* second access hits the TLB */
    cr_assert_eq(c->tlb.set[0].read[tlb_index(0x12340)].tag, 0x12000u);
    cr_assert_eq(c->tlb.set[0].write[tlb_index(0x12340)].tag, 0x12000u);
    /* straddling a page */
    mem_write32(c, S_DS, 0x12ffe, 0x01020304);
    cr_assert_eq(mem_read32(c, S_DS, 0x12ffe), 0x01020304);
    cr_assert_eq(rd32(e, 0x13000) & 0xffff, 0x0102);
    mem_write64(c, S_DS, 0x13ffc, 0x1122334455667788ull);
    cr_assert_eq(mem_read64(c, S_DS, 0x13ffc), 0x1122334455667788ull);
    cr_assert_eq(mmu_translate(c, 0x123456, ACC_READ), 0x123456u);
    /* A20 off wraps bit 20 */
    c->a20_mask = ~0x100000u;
    mmu_flush(c);
    cr_assert_eq(mmu_translate(c, 0x112340, ACC_READ), 0x012340u);
    cr_assert_eq(mem_read32(c, S_DS, 0x112340), 0xcafebabe);
    c->a20_mask = 0xffffffffu;
    mmu_flush(c);
    /* fetch */
    uint8_t buf[16];
    cr_assert_eq(mmu_fetch(c, 0x12340, buf, 4), 4);
    cr_assert_eq(buf[0], 0xbe);
    uint32_t pa;
    const uint8_t *h = mmu_code_ptr(c, 0x12341, &pa);
    cr_assert_eq(pa, 0x12341u);
    cr_assert_eq(*h, 0xba);
    /* unassigned memory reads as ones, no TLB entry */
    cr_assert_eq(mem_read32(c, S_DS, 0x80000000u), 0xffffffffu);
    mem_write32(c, S_DS, 0x80000000u, 0);
    env_free(e);
}

Test(mmu, translate_4k_and_fault)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    map4k(e, 0x400000, 0x800000, PTE_P | PTE_RW);
    wr32(e, 0x800010, 0x5a5a5a5a);
    paging_on(e, 0);
    cr_assert_eq(mem_read32(c, S_DS, 0x400010), 0x5a5a5a5a);
    cr_assert_eq(mmu_translate(c, 0x400abc, ACC_READ), 0x800abcu);
    /* not present, read */
    uint32_t v = 0;
    c->cr2 = 0;
    cr_assert_eq(CATCH(c, v = mem_read32(c, S_DS, 0x401008)), EXC_PF);
    cr_assert_eq(c->cr2, 0x401008u);
    cr_assert_eq(c->last_exc_err, 0u);
    /* not present, write */
    cr_assert_eq(CATCH(c, mem_write8(c, S_DS, 0x401009, 1)), EXC_PF);
    cr_assert_eq(c->cr2, 0x401009u);
    cr_assert_eq(c->last_exc_err, PF_W);
    /* PDE not present */
    cr_assert_eq(CATCH(c, v = mem_read8(c, S_DS, 0x00c00000u)), EXC_PF);
    cr_assert_eq(c->cr2, 0x00c00000u);
    cr_assert_eq(c->last_exc_err, 0u);
    /* user, not present */
    c->cpl = 3;
    cr_assert_eq(CATCH(c, mem_write16(c, S_DS, 0x401000, 1)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_W | PF_U);
    /* mmu_translate and instruction fetch fault too; mmu_fetch does not */
    c->cpl = 0;
    cr_assert_eq(CATCH(c, mmu_translate(c, 0x401000, ACC_READ)), EXC_PF);
    uint32_t pa;
    cr_assert_eq(CATCH(c, mmu_code_ptr(c, 0x401000, &pa)), EXC_PF);
    cr_assert_eq(c->last_exc_err, 0u);
    uint8_t buf[16];
    cr_assert_eq(mmu_fetch(c, 0x400ffc, buf, 16), 4);
    (void)v;
    env_free(e);
}

Test(mmu, user_supervisor)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    map4k(e, 0x400000, 0x800000, PTE_P | PTE_RW);           /* supervisor */
    map4k(e, 0x401000, 0x801000, PTE_P | PTE_RW | PTE_US);  /* user */
    paging_on(e, 0);
    uint32_t v = 0;
    cr_assert_eq(CATCH(c, v = mem_read32(c, S_DS, 0x400000)), -1); /* CPL 0 fills set 0 */
    c->cpl = 3;
    cr_assert_eq(CATCH(c, v = mem_read32(c, S_DS, 0x400000)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_P | PF_U);
    cr_assert_eq(CATCH(c, mem_write32(c, S_DS, 0x400000, 1)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_P | PF_U | PF_W);
    cr_assert_eq(CATCH(c, mem_write32(c, S_DS, 0x401000, 7)), -1);
    cr_assert_eq(rd32(e, 0x801000), 7u);
    /* implicit supervisor access at CPL 3 works and does not fill the user set */
    cr_assert_eq(CATCH(c, v = lin_read_slow(c, 0x400000, 4, ACC_READ | ACC_SYS)), -1);
    cr_assert_neq(c->tlb.set[1].read[tlb_index(0x400000)].tag, 0x400000u);
    cr_assert_eq(CATCH(c, v = mem_read32(c, S_DS, 0x400000)), EXC_PF);
    /* user bit is needed at both levels */
    wr32(e, PD_ADDR + 1 * 4, (PT_BASE + 4096) | PTE_P | PTE_RW);
    mmu_flush(c);
    cr_assert_eq(CATCH(c, v = mem_read32(c, S_DS, 0x401000)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_P | PF_U);
    (void)v;
    env_free(e);
}

Test(mmu, read_only_wp)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    map4k(e, 0x400000, 0x800000, PTE_P | PTE_US);  /* read-only */
    paging_on(e, 0);
    /* WP=0: supervisor may write */
    cr_assert_eq(CATCH(c, mem_write32(c, S_DS, 0x400004, 0x77)), -1);
    cr_assert_eq(rd32(e, 0x800004), 0x77u);
    /* user may not */
    c->cpl = 3;
    cr_assert_eq(CATCH(c, mem_write32(c, S_DS, 0x400004, 0x88)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_P | PF_W | PF_U);
    cr_assert_eq(rd32(e, 0x800004), 0x77u);
    /* WP=1: supervisor faults too */
    c->cpl = 0;
    c->cr0 |= CR0_WP;
    mmu_flush(c);
    cr_assert_eq(CATCH(c, mem_write32(c, S_DS, 0x400004, 0x99)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_P | PF_W);
    cr_assert_eq(c->cr2, 0x400004u);
    cr_assert_eq(rd32(e, 0x800004), 0x77u);
    /* but reads are fine */
    cr_assert_eq(mem_read32(c, S_DS, 0x400004), 0x77u);
    env_free(e);
}

/* The read of a read-modify-write (mem_read_rmw, mem_read64_rmw) is
 * checked as the write: a read-only or absent page faults with W=1 before
 * anything is read, Dirty is set, and the write TLB entry it fills is
 * the one the write then uses. */
Test(mmu, rmw_read_checks_write)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    map4k(e, 0x400000, 0x800000, PTE_P | PTE_US);            /* read-only */
    map4k(e, 0x401000, 0x801000, PTE_P | PTE_RW | PTE_US);   /* writable */
    wr32(e, 0x800010, 0x1234);
    wr32(e, 0x801010, 0x5678);
    paging_on(e, 0);
    c->cpl = 3;
    cr_assert_eq(mem_read32(c, S_DS, 0x400010), 0x1234u);   /* a plain read is fine */
    cr_assert_eq(CATCH(c, mem_read_rmw(c, S_DS, 0x400010, 4)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_P | PF_W | PF_U);
    cr_assert_eq(c->cr2, 0x400010u);
    /* absent page: a write's error code too */
    cr_assert_eq(CATCH(c, mem_read_rmw(c, S_DS, 0x402010, 2)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_W | PF_U);
    /* writable: the value, Dirty set by the read, the write entry filled */
    cr_assert_eq(rd32(e, pte_addr(0x401000)) & PTE_D, 0u);
    cr_assert_eq(mem_read_rmw(c, S_DS, 0x401010, 4), 0x5678u);
    cr_assert_neq(rd32(e, pte_addr(0x401000)) & PTE_D, 0u);
    cr_assert_eq(mmu_set(c)->write[tlb_index(0x401010)].tag, 0x401000u);
    /* 8 bytes from the writable page into the absent one: the second
     * page faults, as a write, before anything is read */
    cr_assert_eq(CATCH(c, mem_read64_rmw(c, S_DS, 0x401ffc)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_W | PF_U);
    cr_assert_eq(c->cr2, 0x402000u);
    /* and into the read-only page from below it */
    map4k(e, 0x3ff000, 0x7ff000, PTE_P | PTE_RW | PTE_US);
    mmu_flush(c);
    cr_assert_eq(CATCH(c, mem_read64_rmw(c, S_DS, 0x3ffffc)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_P | PF_W | PF_U);
    cr_assert_eq(c->cr2, 0x400000u);
    env_free(e);
}

Test(mmu, pages_4m)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    /* PDE 2 (lin 0x800000) -> 4 MiB page at phys 0x400000 */
    wr32(e, PD_ADDR + 2 * 4, 0x400000u | PTE_P | PTE_RW | PTE_PS);
    wr32(e, 0x400000 + 0x1234, 0x600dbeef);
    paging_on(e, CR4_PSE);
    cr_assert_eq(mmu_translate(c, 0x801234, ACC_READ), 0x401234u);
    cr_assert_eq(mem_read32(c, S_DS, 0xbff000), rd32(e, 0x7ff000));
    mem_write32(c, S_DS, 0x9ffff0, 42);
    cr_assert_eq(rd32(e, 0x5ffff0), 42u);
    uint32_t pde = rd32(e, PD_ADDR + 8);
    cr_assert(pde & PTE_A);
    cr_assert(pde & PTE_D);
    /* reserved bits 13..21 of a 4 MiB PDE */
    wr32(e, PD_ADDR + 3 * 4, 0x400000u | 0x2000u | PTE_P | PTE_RW | PTE_PS);
    uint32_t v = 0;
    cr_assert_eq(CATCH(c, v = mem_read8(c, S_DS, 0xc00000)), EXC_PF);
    cr_assert_eq(c->last_exc_err, PF_P | PF_RSVD);
    /* INVLPG anywhere in a 4 MiB page drops all of it */
    cr_assert_eq(mem_read32(c, S_DS, 0x801234), 0x600dbeefu);
    wr32(e, PD_ADDR + 2 * 4, 0xc00000u | PTE_P | PTE_RW | PTE_PS);
    wr32(e, 0xc01234, 0x12121212);
    cr_assert_eq(mem_read32(c, S_DS, 0x801234), 0x600dbeefu); /* stale TLB */
    mmu_invlpg(c, 0x900000);
    cr_assert_eq(mem_read32(c, S_DS, 0x801234), 0x12121212u);
    /* with PSE=0 the PS bit is ignored: the PDE points at a page table */
    c->cr4 = 0;
    mmu_flush(c);
    wr32(e, PD_ADDR + 2 * 4, PT_BASE | PTE_P | PTE_RW | PTE_PS);
    wr32(e, PT_BASE + 1 * 4, 0x300000u | PTE_P | PTE_RW);
    wr32(e, 0x300008, 0xfeedf00d);
    cr_assert_eq(mem_read32(c, S_DS, 0x801008), 0xfeedf00du);
    (void)v;
    env_free(e);
}

/* Page-walker A/D: entries are written only when a bit changes. */
struct pw_counter {
    struct phys *p;
    int writes;
};
static uint32_t cnt_read32(void *ctx, uint32_t pa)
{
    struct pw_counter *k = ctx;
    return phys_read(k->p, pa, 4);
}
static void cnt_write32(void *ctx, uint32_t pa, uint32_t v)
{
    struct pw_counter *k = ctx;
    k->writes++;
    phys_write(k->p, pa, 4, v);
}

Test(pagewalk, accessed_dirty)
{
    struct env *e = env_new();
    struct pw_counter k = { .p = &e->phys };
    struct pw_mem m = { .ctx = &k, .read32 = cnt_read32, .write32 = cnt_write32 };
    struct pw_result r;
    uint32_t cr0 = CR0_PE | CR0_PG;
    map4k(e, 0x400000, 0x800000, PTE_P | PTE_RW);
    cr_assert(pagewalk(cr0, PD_ADDR, 0, 0x400010, PW_READ, false, &m, &r));
    cr_assert_eq(r.paddr, 0x800010u);
    cr_assert_eq(k.writes, 2); /* PDE.A and PTE.A */
    cr_assert(rd32(e, PD_ADDR + 4) & PTE_A);
    cr_assert_eq(rd32(e, pte_addr(0x400000)) & (PTE_A | PTE_D), PTE_A);
    cr_assert_not(r.dirty);
    cr_assert(pagewalk(cr0, PD_ADDR, 0, 0x400010, PW_READ, false, &m, &r));
    cr_assert_eq(k.writes, 2); /* nothing rewritten */
    cr_assert(pagewalk(cr0, PD_ADDR, 0, 0x400010, PW_WRITE, false, &m, &r));
    cr_assert_eq(k.writes, 3); /* PTE.D only */
    cr_assert(r.dirty);
    cr_assert_eq(rd32(e, pte_addr(0x400000)) & (PTE_A | PTE_D), PTE_A | PTE_D);
    cr_assert(pagewalk(cr0, PD_ADDR, 0, 0x400010, PW_WRITE, false, &m, &r));
    cr_assert_eq(k.writes, 3);
    /* faulting accesses change nothing */
    map4k(e, 0x401000, 0x801000, PTE_P);
    uint32_t before = rd32(e, pte_addr(0x401000));
    cr0 |= CR0_WP;
    cr_assert_not(pagewalk(cr0, PD_ADDR, 0, 0x401000, PW_WRITE, false, &m, &r));
    cr_assert_eq(r.err, PF_P | PF_W);
    cr_assert_eq(rd32(e, pte_addr(0x401000)), before);
    cr_assert_eq(k.writes, 3);
    /* paging off: identity */
    cr_assert(pagewalk(CR0_PE, PD_ADDR, 0, 0x12345678, PW_WRITE, true, &m, &r));
    cr_assert_eq(r.paddr, 0x12345678u);
    /* 4 MiB page: A and D in one write */
    k.writes = 0;
    wr32(e, PD_ADDR + 2 * 4, 0x400000u | PTE_P | PTE_RW | PTE_PS | PTE_G);
    cr_assert(pagewalk(cr0, PD_ADDR, CR4_PSE | CR4_PGE, 0x800000, PW_WRITE, false, &m, &r));
    cr_assert_eq(k.writes, 1);
    cr_assert(r.global);
    cr_assert_eq(r.page_size, 0x400000u);
    cr_assert_eq(rd32(e, PD_ADDR + 8) & (PTE_A | PTE_D), PTE_A | PTE_D);
    cr_assert(pagewalk(cr0, PD_ADDR, CR4_PSE, 0x800000, PW_WRITE, false, &m, &r));
    cr_assert_eq(k.writes, 1);
    cr_assert_not(r.global); /* G without CR4.PGE */
    env_free(e);
}

Test(mmu, dirty_bit_and_write_tlb)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    map4k(e, 0x400000, 0x800000, PTE_P | PTE_RW);
    paging_on(e, 0);
    cr_assert_eq(mem_read32(c, S_DS, 0x400000), 0u);
    cr_assert_eq(rd32(e, pte_addr(0x400000)) & (PTE_A | PTE_D), PTE_A);
    cr_assert_neq(c->tlb.set[0].write[tlb_index(0x400000)].tag, 0x400000u);
    /* the first write must reach the slow path and set D */
    mem_write32(c, S_DS, 0x400000, 5);
    cr_assert_eq(rd32(e, pte_addr(0x400000)) & (PTE_A | PTE_D), PTE_A | PTE_D);
    cr_assert_eq(c->tlb.set[0].write[tlb_index(0x400000)].tag, 0x400000u);
    env_free(e);
}

Test(mmu, global_pages)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    map4k(e, 0x400000, 0x800000, PTE_P | PTE_RW | PTE_G);
    map4k(e, 0x401000, 0x801000, PTE_P | PTE_RW);
    wr32(e, 0x800000, 0x11111111);
    wr32(e, 0x801000, 0x22222222);
    wr32(e, 0x900000, 0x33333333);
    wr32(e, 0x901000, 0x44444444);
    paging_on(e, CR4_PGE);
    cr_assert_eq(mem_read32(c, S_DS, 0x400000), 0x11111111u);
    cr_assert_eq(mem_read32(c, S_DS, 0x401000), 0x22222222u);
    /* remap both, then a CR3 reload (non-global flush) */
    wr32(e, pte_addr(0x400000), 0x900000u | PTE_P | PTE_RW | PTE_G);
    wr32(e, pte_addr(0x401000), 0x901000u | PTE_P | PTE_RW);
    mmu_flush_nonglobal(c);
    cr_assert_eq(mem_read32(c, S_DS, 0x400000), 0x11111111u);  /* kept */
    cr_assert_eq(mem_read32(c, S_DS, 0x401000), 0x44444444u);  /* reloaded */
    mmu_flush(c);
    cr_assert_eq(mem_read32(c, S_DS, 0x400000), 0x33333333u);
    env_free(e);
}

Test(mmu, invlpg)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    map4k(e, 0x400000, 0x800000, PTE_P | PTE_RW);
    wr32(e, 0x800000, 1);
    wr32(e, 0x900000, 2);
    paging_on(e, 0);
    cr_assert_eq(mem_read32(c, S_DS, 0x400000), 1u);
    mem_write32(c, S_DS, 0x400004, 9);
    wr32(e, pte_addr(0x400000), 0x900000u | PTE_P | PTE_RW);
    cr_assert_eq(mem_read32(c, S_DS, 0x400000), 1u); /* stale, as on hardware */
    mmu_invlpg(c, 0x400abc);
    cr_assert_eq(mem_read32(c, S_DS, 0x400000), 2u);
    mem_write32(c, S_DS, 0x400004, 10);
    cr_assert_eq(rd32(e, 0x900004), 10u);
    cr_assert_eq(rd32(e, 0x800004), 9u);
    /* not present after invlpg */
    wr32(e, pte_addr(0x400000), 0);
    mmu_invlpg(c, 0x400000);
    uint32_t v = 0;
    cr_assert_eq(CATCH(c, v = mem_read32(c, S_DS, 0x400000)), EXC_PF);
    (void)v;
    env_free(e);
}

Test(mmu, straddle_second_page_faults)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    map4k(e, 0x400000, 0x800000, PTE_P | PTE_RW);
    map4k(e, 0x401000, 0x801000, PTE_P);            /* read-only */
    wr32(e, 0x800ffc, 0xaaaaaaaa);
    paging_on(e, 0);
    c->cr0 |= CR0_WP;
    mmu_flush(c);
    cr_assert_eq(CATCH(c, mem_write32(c, S_DS, 0x400ffe, 0x12345678)), EXC_PF);
    cr_assert_eq(c->cr2, 0x401000u);
    cr_assert_eq(c->last_exc_err, PF_P | PF_W);
    cr_assert_eq(rd32(e, 0x800ffc), 0xaaaaaaaau);
    cr_assert_eq(CATCH(c, mem_write64(c, S_DS, 0x400ffa, 0x0102030405060708ull)), EXC_PF);
    cr_assert_eq(rd32(e, 0x800ffc), 0xaaaaaaaau);
    /* second page not present */
    wr32(e, pte_addr(0x401000), 0);
    mmu_flush(c);
    cr_assert_eq(CATCH(c, mem_write16(c, S_DS, 0x400fff, 0xbbbb)), EXC_PF);
    cr_assert_eq(c->cr2, 0x401000u);
    cr_assert_eq(c->last_exc_err, PF_W);
    cr_assert_eq(rd32(e, 0x800ffc), 0xaaaaaaaau);
    /* reads straddling work when both pages are present */
    wr32(e, pte_addr(0x401000), 0x801000u | PTE_P);
    mmu_flush(c);
    wr32(e, 0x801000, 0x000000bb);
    cr_assert_eq(mem_read16(c, S_DS, 0x400fff), 0xbbaa);
    env_free(e);
}

Test(mmu, code_page_write_drops_write_entry)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    mem_write32(c, S_DS, 0x7000, 1);
    cr_assert_eq(c->tlb.set[0].write[tlb_index(0x7000)].tag, 0x7000u);
    mmu_mark_code(c, 0x7000);
    cr_assert(phys_page_is_code(&e->phys, 0x7000));
    cr_assert_neq(c->tlb.set[0].write[tlb_index(0x7000)].tag, 0x7000u);
#ifdef PAGING_TEST_STUBS
    stub_code_written_calls = 0;
#endif
    mem_write32(c, S_DS, 0x7010, 0x90909090);  /* slow path */
    cr_assert_not(phys_page_is_code(&e->phys, 0x7000));
    cr_assert_eq(rd32(e, 0x7010), 0x90909090u);
#ifdef PAGING_TEST_STUBS
    cr_assert_eq(stub_code_written_calls, 1);
#endif
    /* a code page never gets a write entry */
    mmu_mark_code(c, 0x7000);
    lin_probe_write(c, 0x7000, 4, ACC_WRITE);
    cr_assert_neq(c->tlb.set[0].write[tlb_index(0x7000)].tag, 0x7000u);
    env_free(e);
}

/* ---------------------------------------------------------------- */

Test(seg, limits_and_rights)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    uint32_t v = 0;
    /* DS: byte-granular limit 0xfff, base 0x10000 */
    c->seg[S_DS] = (struct segment){ .sel = 0x10, .base = 0x10000, .limit = 0xfff, .ar = 0x93 | AR_DB };
    seg_refresh_fast(&c->seg[S_DS]);
    cr_assert_eq(seg_linear(c, S_DS, 0xffc, 4, 0), 0x10ffcu);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_DS, 0xffd, 4, 0)), EXC_GP);
    cr_assert_eq(c->last_exc_err, 0u);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_DS, 0xffffffffu, 2, 0)), EXC_GP);
    /* SS: limit violations are #SS(0) */
    c->seg[S_SS] = c->seg[S_DS];
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_SS, 0x1000, 2, 1)), EXC_SS);
    cr_assert_eq(c->last_exc_err, 0u);
    /* read-only data */
    c->seg[S_ES] = (struct segment){ .sel = 0x18, .base = 0, .limit = 0xffffffffu, .ar = 0x91 | AR_DB };
    seg_refresh_fast(&c->seg[S_ES]);
    cr_assert_eq(c->seg[S_ES].fast, SEGF_R);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_ES, 0, 4, 0)), -1);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_ES, 0, 4, 1)), EXC_GP);
    c->seg[S_SS] = c->seg[S_ES];
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_SS, 0, 4, 1)), EXC_SS);
    /* execute-only code: no reads, code never writable */
    c->seg[S_FS] = (struct segment){ .sel = 0x20, .base = 0, .limit = 0xffffffffu, .ar = 0x99 | AR_DB };
    seg_refresh_fast(&c->seg[S_FS]);
    cr_assert_eq(c->seg[S_FS].fast, 0);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_FS, 0, 1, 0)), EXC_GP);
    c->seg[S_FS].ar = 0x9b | AR_DB;
    seg_refresh_fast(&c->seg[S_FS]);
    cr_assert_eq(c->seg[S_FS].fast, SEGF_R);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_FS, 0, 1, 0)), -1);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_FS, 0, 1, 1)), EXC_GP);
    /* null selector (unusable cache) */
    c->seg[S_GS] = (struct segment){ .sel = 0, .base = 0, .limit = 0, .ar = 0 };
    seg_refresh_fast(&c->seg[S_GS]);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_GS, 0, 1, 0)), EXC_GP);
    cr_assert_eq(CATCH(c, v = mem_read8(c, S_GS, 0)), EXC_GP);
    (void)v;
    env_free(e);
}

Test(seg, expand_down)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    uint32_t v = 0;
    /* 16-bit expand-down stack: valid offsets 0x1000..0xffff */
    c->seg[S_SS] = (struct segment){ .sel = 0x10, .base = 0x20000, .limit = 0xfff, .ar = 0x97 };
    seg_refresh_fast(&c->seg[S_SS]);
    cr_assert_eq(c->seg[S_SS].fast, 0);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_SS, 0x1000, 2, 1)), -1);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_SS, 0xfffe, 2, 1)), -1);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_SS, 0xfff, 2, 1)), EXC_SS);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_SS, 0xffff, 2, 0)), EXC_SS);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_SS, 0x10000, 1, 0)), EXC_SS);
    /* 32-bit (B=1): upper bound 4 GiB - 1 */
    c->seg[S_SS].ar |= AR_DB;
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_SS, 0x10000, 4, 1)), -1);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_SS, 0xfffffffcu, 4, 1)), -1);
    cr_assert_eq(CATCH(c, v = seg_linear(c, S_SS, 0xfffffffdu, 4, 1)), EXC_SS);
    /* through the memory API */
    mem_write32(c, S_SS, 0x2000, 0x13572468);
    cr_assert_eq(rd32(e, 0x22000), 0x13572468u);
    /* as DS: #GP */
    c->seg[S_DS] = c->seg[S_SS];
    cr_assert_eq(CATCH(c, v = mem_read8(c, S_DS, 0x10)), EXC_GP);
    (void)v;
    env_free(e);
}

Test(seg, real_mode)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    uint32_t v = 0;
    c->pe = false;
    c->cr0 = 0;
    for (int s = 0; s < SEG_COUNT; s++) {
        c->seg[s] = (struct segment){ .sel = 0x1000, .base = 0x10000, .limit = 0xffff, .ar = 0x93 };
        seg_refresh_fast(&c->seg[s]);
    }
    c->seg[S_CS].ar = 0x9b;
    seg_refresh_fast(&c->seg[S_CS]);
    /* CS is writable in real mode (slow path) */
    cr_assert_eq(CATCH(c, mem_write16(c, S_CS, 0x10, 0x4321)), -1);
    cr_assert_eq(rd32(e, 0x10010) & 0xffff, 0x4321u);
    cr_assert_eq(CATCH(c, v = mem_read16(c, S_DS, 0xffff)), EXC_GP);
    cr_assert_eq(CATCH(c, v = mem_read16(c, S_SS, 0xffff)), EXC_SS);
    cr_assert_eq(CATCH(c, v = mem_read8(c, S_SS, 0xffff)), -1);
    (void)v;
    env_free(e);
}

Test(mmu, rom_through_cpu)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    uint8_t rom[0x2000];
    for (unsigned i = 0; i < sizeof rom; i++)
        rom[i] = (uint8_t)(0xa0 + i);
    cr_assert_eq(phys_map_rom(&e->phys, rom, sizeof rom), 0);
    mmu_flush(c);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(mem_read8(c, S_DS, 0xffff0), rom[0x1ff0]);
        cr_assert_eq(mem_read8(c, S_DS, 0xfffffff0u), rom[0x1ff0]);
        mem_write8(c, S_DS, 0xffff0, 0);
        mem_write8(c, S_DS, 0xfffffff0u, 0);
    }
    cr_assert_eq(mem_read8(c, S_DS, 0xffff0), rom[0x1ff0]);
    cr_assert_eq(mem_read8(c, S_DS, 0xfffffff0u), rom[0x1ff0]);
    uint32_t pa;
    const uint8_t *h = mmu_code_ptr(c, 0xfffffff0u, &pa);
    cr_assert_not_null(h);
    cr_assert_eq(pa, 0xfffffff0u);
    cr_assert_eq(*h, rom[0x1ff0]);
    /* a dword read straddling 4 GiB wraps to RAM page 0 */
    wr32(e, 0, 0x44332211);
    cr_assert_eq(lin_read32(c, 0xfffffffeu),
                 (uint32_t)rom[0x1ffe] | (uint32_t)rom[0x1fff] << 8 | 0x22110000u);
    env_free(e);
}

Test(mmu, mark_code_keeps_read_entries)
{
    struct env *e = env_new();
    struct cpu *c = &e->cpu;
    mem_write32(c, S_DS, 0x9000, 3);
    cr_assert_eq(mem_read32(c, S_DS, 0x9000), 3u);
    mmu_mark_code(c, 0x9004);
    cr_assert_eq(c->tlb.set[0].read[tlb_index(0x9000)].tag, 0x9000u);
    cr_assert_neq(c->tlb.set[0].write[tlb_index(0x9000)].tag, 0x9000u);
    mmu_mark_code(c, 0x9004);  /* already marked: no-op */
    cr_assert(phys_page_is_code(&e->phys, 0x9000));
    env_free(e);
}
