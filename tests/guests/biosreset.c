/* biosreset.c - test guest: reboots the way Linux does with reboot=bios
 * (or acpi=off, after the keyboard controller): real mode, then a far
 * jump to the reset vector F000:FFF0 (realmode's transition, blob in
 * biosreset16.asm). Under QEMU (-no-reboot) the firmware there resets the
 * machine and QEMU exits with status 0; under vsmp, which has no firmware
 * for a Multiboot guest, the stub it puts there (src/boot/resetvec.h)
 * writes the ACPI reset register: status 0 too. A missing stub leaves
 * the CPU running zeros until the test's time limit. */
#include "lib/guest.h"

extern const uint8_t rb_blob[], rb_blob_end[];

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    printf("biosreset: jumping to the reset vector F000:FFF0 from real mode\n");
    gdt_set(6, 0, 0xffff, 0x9a, 0x0);   /* 16-bit code, base 0, 64K */
    gdt_set(7, 0, 0xffff, 0x92, 0x0);   /* 16-bit data */
    gdt_load();
    memcpy((void *)0x7000, rb_blob, (size_t)(rb_blob_end - rb_blob));
    __asm__ volatile("mov $0x7000, %%eax\n\tjmp *%%eax" : : : "eax", "memory");
    for (;;)
        ;
}
