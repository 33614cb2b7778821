/* ops_stack.c - stack instructions: PUSH/POP of registers, immediates and
 * memory, PUSHA/POPA, ENTER and LEAVE.
 *
 * ESP may change before a fault (the execution loop restores it from
 * cpu->insn_esp); every other register is written only after all memory
 * accesses of the instruction succeeded. */
#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mmu.h"
#include "cpu/operand.h"

/* 50-57 PUSH r. PUSH (E)SP pushes the value from before the decrement. */
static void op_push_r(struct cpu *cpu, const struct insn *in)
{
    push(cpu, osz(in), reg_get(cpu, in->op & 7, osz(in)));
}

/* 58-5F POP r. POP (E)SP loads the popped value into (E)SP (the
 * increment is overwritten). */
static void op_pop_r(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    uint32_t v = pop(cpu, size);
    reg_set(cpu, in->op & 7, size, v);
}

/* 68 PUSH Iz, 6A PUSH Ib (imm already extended by the decoder) */
static void op_push_imm(struct cpu *cpu, const struct insn *in)
{
    push(cpu, osz(in), in->imm);
}

/* 8F /0 POP Ev. A memory destination is addressed with ESP already
 * incremented (so POP [ESP] writes above the popped slot). ESP is set
 * before the write; should the write fault, the loop restores ESP. */
static void op_pop_ev(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    if (in->reg != 0)
        cpu_raise_noerr(cpu, EXC_UD);
    uint32_t sp = sp_get(cpu);
    uint32_t v = mem_read(cpu, S_SS, sp, size);
    sp_set(cpu, sp + size);
    if (in->mod == 3)
        reg_set(cpu, in->rm, size, v);
    else
        mem_write(cpu, in->seg, insn_ea(cpu, in), size, v);
}

/* 60 PUSHA/PUSHAD: push AX CX DX BX (original SP) BP SI DI. All eight
 * slots are written before ESP is updated. */
static void op_pusha(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    uint32_t mask = cpu_sp_mask(cpu);
    uint32_t sp = sp_get(cpu);
    for (int n = R_EAX; n <= R_EDI; n++) {
        sp = (sp - size) & mask;
        mem_write(cpu, S_SS, sp, size, reg_get(cpu, n, size));
    }
    sp_set(cpu, sp);
}

/* 61 POPA/POPAD: pop DI SI BP (skip the SP slot) BX DX CX AX. All reads
 * happen before any register is written. */
static void op_popa(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    uint32_t mask = cpu_sp_mask(cpu);
    uint32_t sp = sp_get(cpu);
    uint32_t v[8];
    for (int n = R_EDI; n >= R_EAX; n--) {
        v[n] = mem_read(cpu, S_SS, sp, size);
        sp = (sp + size) & mask;
    }
    for (int n = R_EAX; n <= R_EDI; n++)
        if (n != R_ESP)
            reg_set(cpu, n, size, v[n]);
    sp_set(cpu, sp);
}

/* C8 ENTER Iw,Ib: push (E)BP, copy level-1 frame pointers from the old
 * frame (walked through (E)BP with the stack address size), push the new
 * frame pointer, then allocate Iw bytes. The final stack top is probed for
 * a write, as hardware does. (E)BP is written last. */
static void op_enter(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    uint32_t mask = cpu_sp_mask(cpu);
    uint32_t alloc = in->imm & 0xffff;
    int level = in->imm2 & 0x1f;

    push(cpu, size, reg_get(cpu, R_EBP, size));
    uint32_t frame = cpu->r[R_ESP];         /* FrameTemp (full ESP) */
    if (level > 0) {
        uint32_t bp = cpu->r[R_EBP] & mask; /* walk with stack size */
        while (--level) {
            bp = (bp - size) & mask;
            push(cpu, size, mem_read(cpu, S_SS, bp, size));
        }
        push(cpu, size, frame);
    }
    uint32_t sp = (sp_get(cpu) - alloc) & mask;
    lin_probe_write(cpu, seg_linear(cpu, S_SS, sp, size, 1), size, ACC_WRITE);
    sp_set(cpu, sp);
    reg_set(cpu, R_EBP, size, frame);
}

/* C9 LEAVE: (E)SP = (E)BP (stack size), then pop (E)BP (operand size). */
static void op_leave(struct cpu *cpu, const struct insn *in)
{
    int size = osz(in);
    uint32_t sp = cpu->r[R_EBP] & cpu_sp_mask(cpu);
    uint32_t v = mem_read(cpu, S_SS, sp, size);
    sp_set(cpu, sp + size);
    reg_set(cpu, R_EBP, size, v);
}

void ops_stack_register(exec_fn *t)
{
    for (int i = 0; i < 8; i++) {
        t[0x50 + i] = op_push_r;
        t[0x58 + i] = op_pop_r;
    }
    t[0x68] = op_push_imm;
    t[0x6a] = op_push_imm;
    t[0x8f] = op_pop_ev;
    t[0x60] = op_pusha;
    t[0x61] = op_popa;
    t[0xc8] = op_enter;
    t[0xc9] = op_leave;
}
