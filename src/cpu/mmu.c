/* mmu.c - slow paths of guest memory access (see mmu.h): segment limit and
 * rights checks, linear -> physical translation through the page walker
 * with TLB fill, page-crossing and MMIO accesses, instruction fetch, and
 * the hooks that keep decoded code coherent with writes (PG_CODE). */
#include "cpu/mmu.h"

#include "mem/pagewalk.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* The A20 mask to apply to physical addresses. Only bit 20 can ever be
 * masked, so a zero a20_mask (struct not set up) means "A20 off", not
 * "every address is 0". */
static inline uint32_t a20(const struct cpu *cpu)
{
    return cpu->a20_mask | ~0x00100000u;
}

/* Physical write from the CPU: a write to a page holding decoded code
 * tells the execution loop (cpu_code_written), which drops the decoded
 * code the write touched and ends the current block when needed; PG_CODE
 * stays only while decoded code remains. Other pages go through
 * phys_write. */
void cpu_phys_write(struct cpu *cpu, uint32_t pa, int size, uint32_t v)
{
    struct phys *p = cpu->phys;
    if (pa < p->ram_size) {
        uint8_t *f = &p->page_flags[pa >> 12];
        if ((*f & PG_CODE) && !(*f & (PG_MMIO | PG_ROM)) &&
            (pa & 0xfff) + (uint32_t)size <= PAGE_SIZE) {
            phys_coh_ensure(p, pa, true);
            memcpy(p->ram + pa, &v, (size_t)size); /* little-endian host */
            if (!cpu_code_written(cpu, pa, (uint32_t)size))
                *f &= (uint8_t)~PG_CODE;
            return;
        }
    }
    phys_write(p, pa, size, v);
}

/* Page-walker callbacks: page-table entries live in guest physical
 * memory; A/D updates are ordinary CPU writes (they may hit code). */
static uint32_t pw_read32(void *ctx, uint32_t paddr)
{
    struct cpu *cpu = ctx;
    return phys_read(cpu->phys, paddr & a20(cpu), 4);
}

static void pw_write32(void *ctx, uint32_t paddr, uint32_t value)
{
    struct cpu *cpu = ctx;
    cpu_phys_write(cpu, paddr & a20(cpu), 4, value);
}

static inline struct tlb_entry *tlb_table(struct cpu *cpu, int set, int kind)
{
    struct tlb_set *s = &cpu->tlb.set[set];
    return kind == ACC_WRITE ? s->write : kind == ACC_EXEC ? s->code : s->read;
}

/* Install a TLB entry for the page of lin, if the access kind may later
 * be done on it without the slow path (see tlb.h). For writes: only
 * after a successful write walk (so the page is writable at this
 * privilege and Dirty is set), RAM only, and not a code page. */
static void tlb_fill(struct cpu *cpu, int set, int kind, uint32_t lin, uint32_t pa, bool global)
{
    struct phys *p = cpu->phys;
    uint32_t ppage = pa & PAGE_MASK;
    uint8_t *host;
    if (kind == ACC_WRITE) {
        host = phys_host_ptr(p, ppage, true);
        if (!host || (ppage < p->ram_size && (p->page_flags[ppage >> 12] & PG_CODE)))
            return;
    } else {
        host = phys_host_ptr(p, ppage, false);
        if (!host)
            return;
    }
    tlb_set(&cpu->tlb, set, kind, lin, ppage, (uintptr_t)host - (uintptr_t)(lin & PAGE_MASK),
            global);
}

/* Translate lin for an access (ACC_* with optional ACC_SYS) without
 * raising. Consults the TLB first, then walks and fills. Returns false
 * with *err = page-fault error code when the access faults. */
static bool xlate_noraise(struct cpu *cpu, uint32_t lin, int acc, uint32_t *paddr, uint32_t *err)
{
    int kind = acc & 3;
    if (kind == 3)
        kind = ACC_READ;
    bool user = !(acc & ACC_SYS) && cpu->cpl == 3;
    int set = user ? 1 : 0;

    const struct tlb_entry *e = &tlb_table(cpu, set, kind)[tlb_index(lin)];
    if (e->tag == (lin & PAGE_MASK)) {
        *paddr = e->paddr | (lin & 0xfff);
        return true;
    }

    uint32_t pa;
    bool global = false;
    if (!(cpu->cr0 & CR0_PG)) {
        pa = lin & a20(cpu);
    } else {
        struct pw_mem m = { .ctx = cpu, .read32 = pw_read32, .write32 = pw_write32 };
        struct pw_result r;
        if (!pagewalk(cpu->cr0, cpu->cr3, cpu->cr4, lin, kind, user, &m, &r)) {
            *err = r.err;
            return false;
        }
        pa = r.paddr & a20(cpu);
        global = r.global;
    }
    tlb_fill(cpu, set, kind, lin, pa, global);
    *paddr = pa;
    return true;
}

/* Translate or raise #PF (CR2 = lin). */
static uint32_t xlate(struct cpu *cpu, uint32_t lin, int acc)
{
    uint32_t pa = 0, err = 0;
    if (!xlate_noraise(cpu, lin, acc, &pa, &err)) {
        cpu->cr2 = lin;
        cpu_raise(cpu, EXC_PF, err);
    }
    return pa;
}

/* Translate every page of [lin, lin+size) (one or two) before anything
 * is accessed. Returns the number of bytes in the first page. */
static int xlate_span(struct cpu *cpu, uint32_t lin, int size, int acc, uint32_t pa[2])
{
    int n1 = (int)(PAGE_SIZE - (lin & 0xfff));
    pa[0] = xlate(cpu, lin, acc);
    if (n1 >= size) {
        pa[1] = 0;
        return size;
    }
    pa[1] = xlate(cpu, lin + (uint32_t)n1, acc);
    return n1;
}

static inline uint32_t span_addr(const uint32_t pa[2], int n1, int i)
{
    return i < n1 ? pa[0] + (uint32_t)i : pa[1] + (uint32_t)(i - n1);
}

static uint64_t read_span(struct cpu *cpu, const uint32_t pa[2], int n1, int size)
{
    struct phys *p = cpu->phys;
    if (n1 == size) {
        if (size <= 4)
            return phys_read(p, pa[0], size);
        return phys_read(p, pa[0], 4) | (uint64_t)phys_read(p, pa[0] + 4, 4) << 32;
    }
    uint64_t v = 0;
    for (int i = 0; i < size; i++)
        v |= (uint64_t)(phys_read(p, span_addr(pa, n1, i), 1) & 0xff) << (8 * i);
    return v;
}

static void write_span(struct cpu *cpu, const uint32_t pa[2], int n1, int size, uint64_t v)
{
    if (n1 == size) {
        if (size <= 4) {
            cpu_phys_write(cpu, pa[0], size, (uint32_t)v);
        } else {
            cpu_phys_write(cpu, pa[0], 4, (uint32_t)v);
            cpu_phys_write(cpu, pa[0] + 4, 4, (uint32_t)(v >> 32));
        }
        return;
    }
    for (int i = 0; i < size; i++)
        cpu_phys_write(cpu, span_addr(pa, n1, i), 1, (uint32_t)(v >> (8 * i)) & 0xff);
}

/* ------------------------------------------------------------------ */
/* Linear accesses                                                     */
/* ------------------------------------------------------------------ */

uint32_t lin_read_slow(struct cpu *cpu, uint32_t lin, int size, int acc)
{
    uint32_t pa[2];
    if (size < 1 || size > 4)
        size = 4;
    int n1 = xlate_span(cpu, lin, size, acc, pa);
    return (uint32_t)read_span(cpu, pa, n1, size);
}

uint64_t lin_read64(struct cpu *cpu, uint32_t lin, int acc)
{
    uint32_t pa[2];
    int n1 = xlate_span(cpu, lin, 8, acc, pa);
    return read_span(cpu, pa, n1, 8);
}

void lin_write_slow(struct cpu *cpu, uint32_t lin, int size, uint32_t val, int acc)
{
    uint32_t pa[2];
    if (size < 1 || size > 4)
        size = 4;
    int n1 = xlate_span(cpu, lin, size, (acc & ACC_SYS) | ACC_WRITE, pa);
    write_span(cpu, pa, n1, size, val);
}

void lin_write64(struct cpu *cpu, uint32_t lin, uint64_t val, int acc)
{
    uint32_t pa[2];
    int n1 = xlate_span(cpu, lin, 8, (acc & ACC_SYS) | ACC_WRITE, pa);
    write_span(cpu, pa, n1, 8, val);
}

uint32_t mmu_translate(struct cpu *cpu, uint32_t lin, int acc)
{
    return xlate(cpu, lin, acc);
}

void lin_probe_write(struct cpu *cpu, uint32_t lin, int size, int acc)
{
    uint32_t pa[2];
    if (size < 1)
        size = 1;
    if (size > (int)PAGE_SIZE)
        size = PAGE_SIZE;
    xlate_span(cpu, lin, size, (acc & ACC_SYS) | ACC_WRITE, pa);
}

/* ------------------------------------------------------------------ */
/* Instruction fetch                                                   */
/* ------------------------------------------------------------------ */

int mmu_fetch(struct cpu *cpu, uint32_t lin, uint8_t *buf, int n)
{
    struct phys *p = cpu->phys;
    int done = 0;
    while (done < n) {
        uint32_t a = lin + (uint32_t)done;
        int chunk = (int)(PAGE_SIZE - (a & 0xfff));
        if (chunk > n - done)
            chunk = n - done;
        uint32_t pa, err;
        if (!xlate_noraise(cpu, a, ACC_EXEC, &pa, &err))
            break;
        const uint8_t *h = phys_host_ptr(p, pa, false);
        if (h) {
            memcpy(buf + done, h, (size_t)chunk);
        } else {
            for (int i = 0; i < chunk; i++)
                buf[done + i] = (uint8_t)phys_read(p, pa + (uint32_t)i, 1);
        }
        done += chunk;
    }
    return done;
}

const uint8_t *mmu_code_ptr(struct cpu *cpu, uint32_t lin, uint32_t *paddr)
{
    const struct tlb_entry *e = &mmu_set(cpu)->code[tlb_index(lin)];
    if (likely(e->tag == (lin & PAGE_MASK))) {
        *paddr = e->paddr | (lin & 0xfff);
        return (const uint8_t *)(e->addend + lin);
    }
    uint32_t pa = xlate(cpu, lin, ACC_EXEC);
    *paddr = pa;
    return phys_host_ptr(cpu->phys, pa, false);
}

void mmu_mark_code(struct cpu *cpu, uint32_t paddr)
{
    struct phys *p = cpu->phys;
    if (paddr >= p->ram_size)
        return;                 /* ROM/MMIO: cannot be written through the TLB */
    /* Write entries are never filled for a PG_CODE page, and the flag is
     * only cleared by a write, so an already marked page has none. */
    if (p->page_flags[paddr >> 12] & PG_CODE)
        return;
    phys_mark_code(p, paddr);
    /* Drop the write entries (both sets) that map this physical page;
     * read and code entries stay valid. */
    tlb_flush_phys_writes(&cpu->tlb, paddr);
}

/* ------------------------------------------------------------------ */
/* TLB maintenance                                                     */
/* ------------------------------------------------------------------ */

void mmu_flush(struct cpu *cpu)
{
    tlb_flush_all(&cpu->tlb);
}

void mmu_flush_nonglobal(struct cpu *cpu)
{
    tlb_flush_nonglobal(&cpu->tlb);
}

void mmu_invlpg(struct cpu *cpu, uint32_t lin)
{
    /* Entries are per 4 KiB linear page even for 4 MiB pages; INVLPG on
     * an address in a large page must drop the whole large page. The
     * cheapest safe choice is to drop every entry of that 4 MiB region
     * when paging with PSE, else just the one page. */
    if ((cpu->cr4 & CR4_PSE) && (cpu->cr0 & CR0_PG)) {
        uint32_t base = lin & 0xffc00000u;
        for (unsigned s = 0; s < 2; s++) {
            for (unsigned i = 0; i < TLB_SIZE; i++) {
                struct tlb_set *ts = &cpu->tlb.set[s];
                if ((ts->read[i].tag & 0xffc00000u) == base && ts->read[i].tag != TLB_INVALID)
                    tlb_flush_page(&cpu->tlb, ts->read[i].tag);
                if ((ts->write[i].tag & 0xffc00000u) == base && ts->write[i].tag != TLB_INVALID)
                    tlb_flush_page(&cpu->tlb, ts->write[i].tag);
                if ((ts->code[i].tag & 0xffc00000u) == base && ts->code[i].tag != TLB_INVALID)
                    tlb_flush_page(&cpu->tlb, ts->code[i].tag);
            }
        }
    }
    tlb_flush_page(&cpu->tlb, lin);
}

/* ------------------------------------------------------------------ */
/* Segmentation                                                        */
/* ------------------------------------------------------------------ */

void seg_refresh_fast(struct segment *s)
{
    s->fast = 0;
    if (!(s->ar & AR_P) || !(s->ar & AR_S))
        return;                        /* unusable or system segment */
    unsigned type = AR_TYPE(s->ar);
    if (type & 8) {                    /* code: expand-up, never writable */
        if (type & 2)
            s->fast = SEGF_R;
        return;
    }
    if (type & 4)                      /* expand-down data: slow path */
        return;
    s->fast = SEGF_R | ((type & 2) ? SEGF_W : 0);
}

__attribute__((noreturn)) static void seg_fault(struct cpu *cpu, int seg)
{
    cpu_raise(cpu, seg == S_SS ? EXC_SS : EXC_GP, 0);
}

uint32_t seg_linear_slow(struct cpu *cpu, int seg, uint32_t off, int size, int write)
{
    const struct segment *s = &cpu->seg[seg];
    uint64_t last = (uint64_t)off + (uint64_t)(size > 0 ? size - 1 : 0);

    if (!cpu->pe) {
        /* Real mode: no rights checks, only the cached limit (0xFFFF
         * normally, larger in "unreal" mode). */
        if (last > s->limit)
            seg_fault(cpu, seg);
        return s->base + off;
    }

    /* Protected mode. A null selector is loaded with an unusable
     * (not-present) descriptor cache; using it is #GP(0). */
    if (!(s->ar & AR_P) || !(s->ar & AR_S))
        seg_fault(cpu, seg);

    unsigned type = AR_TYPE(s->ar);
    if (type & 8) {
        /* Code segment: never writable, readable only with R. */
        if (write || !(type & 2))
            seg_fault(cpu, seg);
    } else if (write && !(type & 2)) {
        seg_fault(cpu, seg);
    }

    if (!(type & 8) && (type & 4)) {
        /* Expand-down data: valid offsets are limit+1 .. upper bound. */
        uint64_t upper = (s->ar & AR_DB) ? 0xffffffffu : 0xffffu;
        if ((uint64_t)off <= s->limit || last > upper)
            seg_fault(cpu, seg);
    } else if (last > s->limit) {
        seg_fault(cpu, seg);
    }
    return s->base + off;
}
