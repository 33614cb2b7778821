/* halt.c - test guest (vsmp only): ends the way Linux's `halt -f` does:
 * every AP halts with interrupts disabled, the BSP prints the console
 * line "reboot: System halted" and halts with interrupts disabled too.
 * vsmp must end the run with status 0 (on every rank), not 6: the kernel
 * said it halted (src/io/panicwatch.h). With "nomsg" on the command line
 * it halts without the line: status 6, as for any guest that can never
 * wake up. QEMU would wait for ever: it is not run as the oracle. */
#include "lib/smp.h"

static volatile int halting;

static void halt_ap(int cpu)
{
    if (cpu == 0)
        return;
    __atomic_fetch_add(&halting, 1, __ATOMIC_SEQ_CST);
    cli();
    for (;;)
        hlt();
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    int msg = strcmp(mb_cmdline(mbi), "nomsg") != 0;
    smp_init(mbi);
    printf("halt: %d CPUs, halting every one\n", smp.ncpus);
    if (smp.ncpus > 1) {
        /* the APs never return: the run only hands them the function */
        smp_run_all(halt_ap, 1);
        while (halting != smp.ncpus - 1)
            cpu_relax();
    }
    if (msg)
        printf("[    3.141592] reboot: System halted\r\n");
    cli();
    for (;;)
        hlt();
}
