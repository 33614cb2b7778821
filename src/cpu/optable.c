/* optable.c - the interpreter's opcode table: 512 handlers indexed by
 * insn.op (0x000-0x0ff one-byte map, 0x100-0x1ff the 0F map), the #UD
 * handler for every opcode nobody implements, and optable_init(), which
 * lets each ops_*.c file register its handlers. */
#include "cpu/cpu.h"
#include "cpu/insn.h"

/* The table itself (declared in insn.h). */
exec_fn optable[512];

/* Undefined opcode, or a LOCK prefix where none is allowed. */
void op_ud(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    cpu_raise_noerr(cpu, EXC_UD);
}

/* Fill the table: every entry #UD, then each family's registration in a
 * fixed order (a later file may override an earlier one's entry).
 *
 * Idempotent: the table is built in a local copy and then stored entry
 * by entry, so calling this again (even while another CPU of the same
 * process decodes) only ever stores the same final values into optable;
 * no entry is transiently reset to op_ud. */
void optable_init(void)
{
    exec_fn t[512];

    for (int i = 0; i < 512; i++)
        t[i] = op_ud;

    ops_alu_register(t);
    ops_shift_register(t);
    ops_muldiv_register(t);
    ops_bit_register(t);
    ops_bcd_register(t);
    ops_mov_register(t);
    ops_stack_register(t);
    ops_branch_register(t);
    ops_string_register(t);
    ops_system_register(t);
    ops_fpu_register(t);

    for (int i = 0; i < 512; i++) {
        /* A registration function must not leave a hole. */
        if (!t[i])
            t[i] = op_ud;
        optable[i] = t[i];
    }
}
