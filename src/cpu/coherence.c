/* coherence.c - the CPU side of distributed shared memory: connects this
 * rank's CPU (its physical memory accesses, software TLB and decoded or
 * translated code) to the DSM protocol in src/mem/dsm.c.
 *
 * - Every RAM access that the page's local state does not allow reaches
 *   coherence_fault() through phys (phys_coh_ensure), which runs the
 *   read or write fault. While this rank waits there it keeps serving the
 *   other ranks, so it may lose other pages meanwhile.
 * - Losing or downgrading a page (coherence_lose, called by the protocol
 *   before it acknowledges) drops the page's TLB entries, and on loss its
 *   decoded and translated code, whose bytes may change before the page
 *   comes back.
 * - If a page was lost while an instruction waited in a fault, the values
 *   that instruction already read may be stale, and its read-modify-write
 *   would not be atomic: the instruction is restarted from its beginning
 *   (EXC_RESTART, nothing delivered). Instructions commit registers only
 *   after their last access (docs/internals.md), so running one again is
 *   safe; this is what makes LOCKed instructions, XCHG, CMPXCHG8B and
 *   accesses that straddle two pages atomic across ranks. */
#include <stdio.h>
#include <stdlib.h>

#include "cpu/coherence.h"
#include "cpu/mmu.h"
#include "mem/dsm.h"

static void coherence_fault(void *ctx, uint32_t page, bool write)
{
    struct cpu *cpu = ctx;
    cpu->coh_lost = false;
    int rc = write ? dsm_write_fault(cpu->dsm, page) : dsm_read_fault(cpu->dsm, page);
    if (rc != 0) {
        fprintf(stderr, "vsmp: coherence: %s fault on guest page 0x%x failed\n",
                write ? "write" : "read", page);
        abort();
    }
    if (cpu->coh_lost && cpu->in_run)
        cpu_raise_noerr(cpu, EXC_RESTART);
}

void coherence_lose(void *arg, uint64_t page, enum dsm_state new_state)
{
    struct cpu *cpu = arg;
    uint32_t paddr = (uint32_t)(page << 12);
    tlb_flush_phys(&cpu->tlb, paddr);
    if (new_state == DSM_INVALID && paddr < cpu->phys->ram_size &&
        (cpu->phys->page_flags[page] & PG_CODE)) {
        if (!cpu_code_written(cpu, paddr, PAGE_SIZE))
            cpu->phys->page_flags[page] &= (uint8_t)~PG_CODE;
    }
    cpu->coh_lost = true;
}

void coherence_attach(struct cpu *cpu, struct dsm *dsm)
{
    cpu->dsm = dsm;
    cpu->phys->coh.state = dsm_state_table(dsm);
    cpu->phys->coh.fault = coherence_fault;
    cpu->phys->coh.ctx = cpu;
    mmu_flush(cpu);
}
