/* v86.c - virtual-8086 mode, as the Intel SDM describes it for a
 * P6-family processor without the virtual-mode extensions (CPUID.VME = 0;
 * CR4.VME and CR4.PVI cannot be set): Vol. 3, chapter "8086 Emulation"
 * (V86 mode), and the Operation sections of IRET, INT n, PUSHF, POPF,
 * CLI, STI and the I/O instructions in Vol. 2.
 *
 * The mode is EFLAGS.VM with CR0.PE; CPL is 3 while it is set
 * (cpu_update_mode). It is entered by an IRET at CPL 0 whose popped
 * EFLAGS has VM = 1 (v86_iret_enter) or by a task switch to a TSS whose
 * EFLAGS image has VM = 1 (task.c, with v86_seg_set), and left only by an
 * interrupt or exception: through a trap or interrupt gate to a DPL 0
 * code segment (v86_interrupt), through a task gate (task.c saves the V86
 * selectors and EFLAGS.VM in the old TSS), or by SYSENTER.
 *
 * In V86 mode every segment register holds an 8086 segment (base
 * selector << 4, limit 0xffff, 16-bit, DPL 3: v86_seg_set), loaded by
 * MOV/POP Sreg, LDS..., far JMP/CALL/RET and IRET without any descriptor
 * (seg.c, ops_sys_far.c). The IOPL-sensitive instructions CLI, STI,
 * PUSHF, POPF, INT n (not INT3, INTO, INT1) and IRET raise #GP(0) unless
 * IOPL = 3 (ops_system.c, ops_sys_far.c); port I/O is always checked
 * against the TSS I/O permission bitmap, whatever IOPL is (io_check);
 * the instructions the SDM does not recognise in V86 mode (LLDT, SLDT,
 * LTR, STR, LAR, LSL, VERR, VERW, ARPL) raise #UD, and the privileged
 * ones #GP(0) as at any CPL 3. */
#include "cpu/v86.h"

#include "cpu/mmu.h"
#include "cpu/operand.h"
#include "cpu/seg.h"

#define V86_AR 0x00f3u                 /* present, DPL 3, data, R/W, accessed */
#define EFLAGS_VALID 0x003f7fd5u       /* the EFLAGS bits that exist */

void v86_seg_set(struct segment *s, uint16_t sel)
{
    s->sel = sel;
    s->base = (uint32_t)sel << 4;
    s->limit = 0xffff;
    s->ar = V86_AR;
    seg_refresh_fast(s);
}

void v86_seg_load(struct cpu *cpu, int sreg, uint16_t sel)
{
    v86_seg_set(&cpu->seg[sreg], sel);
    if (sreg == S_CS || sreg == S_SS)
        cpu_update_mode(cpu);
}

void v86_need_iopl3(struct cpu *cpu)
{
    if ((cpu->eflags & F_IOPL) != F_IOPL)
        cpu_raise(cpu, EXC_GP, 0);
}

void v86_iret(struct cpu *cpu, int opsize)
{
    v86_need_iopl3(cpu);
    int size = opsize / 8;
    uint32_t mask = cpu_sp_mask(cpu);
    uint32_t sp = sp_get(cpu);
    uint32_t eip = mem_read(cpu, S_SS, sp, size);
    uint16_t cs = (uint16_t)mem_read(cpu, S_SS, (sp + (uint32_t)size) & mask, 2);
    uint32_t fl = mem_read(cpu, S_SS, (sp + 2u * (uint32_t)size) & mask, size);
    if (eip > cpu->seg[S_CS].limit)
        cpu_raise(cpu, EXC_GP, 0);
    /* VM, IOPL, VIP and VIF are not changed; a 16-bit IRET changes
     * FLAGS only. */
    uint32_t chg = EFLAGS_VALID & ~(F_VM | F_IOPL | F_VIP | F_VIF);
    if (size == 2)
        chg &= 0xffff;
    cpu->eflags = (cpu->eflags & ~chg) | (fl & chg) | F_BIT1;
    sp_set(cpu, sp + 3u * (uint32_t)size);
    v86_seg_load(cpu, S_CS, cs);
    cpu->eip = eip;
    cpu->end_block = 1;
}

void v86_iret_enter(struct cpu *cpu, uint32_t eip, uint16_t cs, uint32_t eflags, uint32_t at)
{
    /* ESP, SS, ES, DS, FS, GS: dwords, the selectors in their low words */
    uint32_t mask = cpu_sp_mask(cpu);
    uint32_t v[6];
    for (int i = 0; i < 6; i++)
        v[i] = mem_read(cpu, S_SS, (at + 4u * (uint32_t)i) & mask, 4);
    if (eip > 0xffff)
        cpu_raise(cpu, EXC_GP, 0);
    /* Nothing below faults. */
    cpu->eflags = (eflags & EFLAGS_VALID) | F_BIT1;
    static const int order[5] = { S_SS, S_ES, S_DS, S_FS, S_GS };
    for (int i = 0; i < 5; i++)
        v86_seg_set(&cpu->seg[order[i]], (uint16_t)v[i + 1]);
    v86_seg_set(&cpu->seg[S_CS], cs);
    cpu->r[R_ESP] = v[0];
    cpu->eip = eip;
    cpu_update_mode(cpu);                   /* CPL 3, 16-bit code and stack */
    cpu->end_block = 1;
}

void v86_interrupt(struct cpu *cpu, uint16_t sel, uint64_t d, uint32_t off, bool gate32,
                   bool trap, bool has_err, uint32_t err, uint32_t ext, uint32_t rf)
{
    /* The ring 0 stack of the current TSS. */
    uint16_t nss;
    uint32_t nesp;
    tss_read_stack(cpu, 0, &nss, &nesp, ext);
    uint64_t sd = seg_check_ss(cpu, nss, 0, EXC_TS, ext);
    struct segment ssc;
    seg_cache_set(&ssc, nss, sd);
    uint32_t mask = (ssc.ar & AR_DB) ? 0xffffffffu : 0xffffu;

    /* The frame, lowest address first. */
    int size = gate32 ? 4 : 2;
    uint32_t vmask = gate32 ? 0xffffffffu : 0xffffu;
    uint32_t vals[10];
    int n = 0;
    if (has_err)
        vals[n++] = err;
    vals[n++] = cpu->eip;
    vals[n++] = cpu->seg[S_CS].sel;
    vals[n++] = gate32 ? (cpu->eflags | rf) : cpu->eflags;
    vals[n++] = cpu->r[R_ESP];
    vals[n++] = cpu->seg[S_SS].sel;
    vals[n++] = cpu->seg[S_ES].sel;
    vals[n++] = cpu->seg[S_DS].sel;
    vals[n++] = cpu->seg[S_FS].sel;
    vals[n++] = cpu->seg[S_GS].sel;
    uint32_t bytes = (uint32_t)(n * size);
    uint32_t nsp = ((nesp & mask) - bytes) & mask;
    if (!seg_range_ok(&ssc, nsp, bytes))
        cpu_raise(cpu, EXC_SS, (nss & 0xfffcu) | ext);
    if (off > desc_limit(d))
        cpu_raise(cpu, EXC_GP, ext);
    lin_probe_write(cpu, ssc.base + nsp, 1, ACC_WRITE | ACC_SYS);
    lin_probe_write(cpu, ssc.base + nsp + bytes - 1, 1, ACC_WRITE | ACC_SYS);
    seg_set_accessed(cpu, nss, &sd);
    seg_set_accessed(cpu, sel, &d);

    /* Nothing below faults. */
    for (int i = 0; i < n; i++)
        lin_write_slow(cpu, ssc.base + ((nsp + (uint32_t)(i * size)) & mask), size,
                       vals[i] & vmask, ACC_WRITE | ACC_SYS);
    cpu->eflags &= ~(F_VM | F_TF | F_RF | F_NT);
    if (!trap)
        cpu->eflags &= ~F_IF;
    static const int data[4] = { S_GS, S_FS, S_DS, S_ES };
    for (int i = 0; i < 4; i++)
        seg_set_null(cpu, data[i], 0);
    seg_commit(cpu, S_SS, nss, sd, -1);
    seg_commit(cpu, S_CS, sel, d, 0);       /* VM clear: CPL 0 */
    cpu->r[R_ESP] = (nesp & ~mask) | nsp;
    cpu->eip = gate32 ? off : (off & 0xffff);
}
