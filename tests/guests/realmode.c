/* realmode.c - test guest: protected mode -> 16-bit protected mode ->
 * real mode and back (the code is realmode16.asm, copied to 0x7000);
 * prints what the real-mode code computed. */
#include "lib/guest.h"

extern const uint8_t rm_blob[], rm_blob_end[];
#define RES ((volatile uint8_t *)0x6000)
#define R8(o) (*(volatile uint8_t *)(RES + (o)))
#define R16(o) (*(volatile uint16_t *)(RES + (o)))
#define R32(o) (*(volatile uint32_t *)(RES + (o)))

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    printf("realmode: blob %u bytes at 0x7000\n", (uint32_t)(rm_blob_end - rm_blob));
    gdt_set(6, 0, 0xffff, 0x9a, 0x0);   /* 16-bit code, base 0, 64K */
    gdt_set(7, 0, 0xffff, 0x92, 0x0);   /* 16-bit data */
    gdt_load();
    memset((void *)RES, 0xcc, 0x100);
    memcpy((void *)0x7000, rm_blob, (size_t)(rm_blob_end - rm_blob));

    uint32_t ebx_in = 0xfeedf00d, esi_in = 0x600df00d, ebx_out, esi_out;
    __asm__ volatile("mov $0x7000, %%eax\n\t"
                     "call *%%eax"
                     : "=b"(ebx_out), "=S"(esi_out)
                     : "0"(ebx_in), "1"(esi_in)
                     : "eax", "ecx", "edx", "edi", "memory", "cc");
    printf("back in 32-bit protected mode: regs %s\n",
           ebx_out == ebx_in && esi_out == esi_in ? "restored" : "CLOBBERED");
    printf("16-bit pm reached: %x, cr0.pe there=%u, in real mode=%u\n", R16(0x40),
           R32(0x44) & 1, R32(0x48) & 1);
    printf("segment arithmetic: 0612:0003 -> %04x, 05ff:0135 -> %02x (flat %04x %02x)\n",
           R16(0x00), R8(0x02), *(volatile uint16_t *)0x6123, *(volatile uint8_t *)0x6125);
    printf("int 60h: ax=%04x cf=%u ret ip=%04x\n", R16(0x04), R8(0x06), R16(0x34));
    printf("int 61h: cs=%04x ip=%04x\n", R16(0x08), R16(0x0a));
    printf("movsb: di=%04x si=%04x copy='%c%c%c%c%c%c%c%c'\n", R16(0x0c), R16(0x0e),
           *(char *)0x5100, *(char *)0x5101, *(char *)0x5102, *(char *)0x5103,
           *(char *)0x5105, *(char *)0x5106, *(char *)0x5107, *(char *)0x5108);
    printf("cmpsb: cx=%u zf=%u\n", R16(0x10), R8(0x12));
    printf("stosw: di=%04x fill=%04x..%04x\n", R16(0x14), *(volatile uint16_t *)0x5200,
           *(volatile uint16_t *)0x520e);
    printf("scasb: di=%04x\n", R16(0x16));
    printf("lodsw (std): sum=%04x si=%04x\n", R16(0x18), R16(0x1a));
    printf("32-bit ops: rol=%08x sib=%08x\n", R32(0x1c), R32(0x20));
    printf("mul: dx:ax=%04x:%04x div: q=%u r=%u\n", R16(0x26), R16(0x24), R16(0x28), R16(0x2a));
    printf("stack: delta=%u pop=%04x far call: cs=%04x ret ip=%04x\n", R16(0x2c), R16(0x2e),
           R16(0x30), R16(0x32));
    printf("realmode done\n");
    return 0;
}
