/* panic.c - test guest (vsmp only): prints the two lines Linux's panic()
 * ends with and then spins with interrupts enabled, as a Debian kernel
 * (CONFIG_PANIC_TIMEOUT=0) does. vsmp's console watcher
 * (src/io/panicwatch.c) must end the run with status 16 (on every rank)
 * as soon as the "---[ end Kernel panic" line is out; a guest still
 * running a long while later (counted in its own instructions, not in
 * host time) prints FAIL and exits through port 0xf4. QEMU has no such
 * watcher: it is not run as the oracle. */
#include "lib/guest.h"

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    printf("panic: about to print a kernel panic\n");
    printf("[    1.234567] Kernel panic - not syncing: vsmp test guest\r\n");
    printf("[    1.234568] CPU: 0 PID: 1 Comm: init Not tainted\r\n");
    printf("[    1.234569] ---[ end Kernel panic - not syncing: vsmp test guest ]---\r\n");
    sti();
    for (volatile uint32_t i = 0; i < 50000000u; i++)
        ;
    fail(8, "still running after the end-of-panic line");
}
