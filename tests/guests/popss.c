/* popss.c - test guest: the stack pointer after an instruction that loads
 * SS, when the new SS has another stack-address size than the old one.
 * The SDM's POP pseudo-code increments the stack pointer with the
 * StackAddrSize of the instruction, i.e. of the old SS: POP SS from a
 * 16-bit stack increments SP only (wrapping at 64 KiB, the upper half of
 * ESP kept) even when it loads a 32-bit SS, and POP SS from a 32-bit
 * stack increments all of ESP even when it loads a 16-bit SS (test386.asm
 * POST 0x09, hardware and QEMU agree). Checked for o32 and o16 POP SS in
 * both directions and at the same size, and for LSS and MOV SS (which
 * set ESP from their operand, or leave it alone). */
#include "lib/guest.h"

#define SEL_SS16 (6 << 3)       /* 16-bit data segment, base = area, 64 KiB */

/* a 64 KiB-aligned area: the 16-bit stack segment, and the place where
 * 32-bit stacks cross a 64 KiB boundary */
static uint8_t area[0x20000] __attribute__((aligned(0x10000)));

uint32_t popss_saved_esp, popss_esp_after, popss_ss_after;

/* Each helper: SS <- ss0 (with interrupts off), ESP <- esp0, the
 * instruction under test, then records ESP and SS and restores both. */
uint32_t t_pop_ss_o32(uint32_t ss0, uint32_t esp0);
uint32_t t_pop_ss_o16(uint32_t ss0, uint32_t esp0);
uint32_t t_lss(uint32_t ss0, uint32_t esp0, const void *farptr);
uint32_t t_mov_ss(uint32_t ss0, uint32_t esp0, uint32_t ss1);
#define SAVE_AND_SWITCH \
    "  push %ebx\n  mov %ss, %ebx\n  mov %esp, popss_saved_esp\n" \
    "  mov 8(%esp), %ecx\n  mov 12(%esp), %edx\n  mov 16(%esp), %eax\n" \
    "  mov %cx, %ss\n  mov %edx, %esp\n"
#define RECORD_AND_RESTORE \
    "  mov %esp, popss_esp_after\n  mov %ss, %ecx\n  mov %ecx, popss_ss_after\n" \
    "  mov %bx, %ss\n  mov popss_saved_esp, %esp\n  pop %ebx\n" \
    "  mov popss_esp_after, %eax\n  ret\n"
__asm__(
    ".text\n"
    ".globl t_pop_ss_o32\nt_pop_ss_o32:\n" SAVE_AND_SWITCH
    "  popl %ss\n" RECORD_AND_RESTORE
    ".globl t_pop_ss_o16\nt_pop_ss_o16:\n" SAVE_AND_SWITCH
    "  popw %ss\n" RECORD_AND_RESTORE
    ".globl t_lss\nt_lss:\n" SAVE_AND_SWITCH
    "  lss (%eax), %esp\n" RECORD_AND_RESTORE
    ".globl t_mov_ss\nt_mov_ss:\n" SAVE_AND_SWITCH
    "  mov %ax, %ss\n" RECORD_AND_RESTORE);

static uint32_t base;

static void put16(uint32_t off, uint16_t v) { *(volatile uint16_t *)(base + off) = v; }
static void put32(uint32_t off, uint32_t v) { *(volatile uint32_t *)(base + off) = v; }

/* An ESP value, relative to `area` (printed as area+X) where it points
 * into it, so that the output does not depend on where `area` is. */
static void put_esp(uint32_t v)
{
    if (v - base < sizeof(area))
        printf("area+%08x", v - base);
    else
        printf("%08x", v);
}

static void show(const char *what, uint32_t esp0, uint32_t esp)
{
    printf("%s: ESP ", what);
    put_esp(esp0);
    printf(" -> ");
    put_esp(esp);
    printf(", SS %04x\n", popss_ss_after);
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    cli();
    base = (uint32_t)area;
    gdt_set(SEL_SS16 >> 3, base, 0xffff, 0x92, 0x0);       /* B = 0: 16-bit stack */
    gdt_load();

    /* 16-bit SS -> 32-bit SS: SP wraps, ESP[31:16] stays (test386 POST 9) */
    uint32_t esp0 = 0x1234fffc;
    put32(0xfffc, SEL_KDATA);
    show("o32 pop ss, 16-bit -> 32-bit", esp0, t_pop_ss_o32(SEL_SS16, esp0));
    esp0 = 0x1234fffe;
    put16(0xfffe, SEL_KDATA);
    show("o16 pop ss, 16-bit -> 32-bit", esp0, t_pop_ss_o16(SEL_SS16, esp0));
    /* 16-bit -> 16-bit, for comparison */
    put16(0xfffe, SEL_SS16);
    show("o16 pop ss, 16-bit -> 16-bit", esp0, t_pop_ss_o16(SEL_SS16, esp0));
    esp0 = 0x12340010;
    put32(0x0010, SEL_SS16);
    show("o32 pop ss, 16-bit -> 16-bit", esp0, t_pop_ss_o32(SEL_SS16, esp0));

    /* 32-bit SS -> 16-bit SS: all of ESP is incremented, across 64 KiB */
    esp0 = base + 0xfffc;
    put32(0xfffc, SEL_SS16);
    show("o32 pop ss, 32-bit -> 16-bit", esp0, t_pop_ss_o32(SEL_KDATA, esp0));
    esp0 = base + 0xfffe;
    put16(0xfffe, SEL_SS16);
    show("o16 pop ss, 32-bit -> 16-bit", esp0, t_pop_ss_o16(SEL_KDATA, esp0));
    /* 32-bit -> 32-bit, for comparison */
    put16(0xfffe, SEL_KDATA);
    show("o16 pop ss, 32-bit -> 32-bit", esp0, t_pop_ss_o16(SEL_KDATA, esp0));

    /* LSS and MOV SS: ESP comes from the operand, or is left alone */
    static struct { uint32_t off; uint16_t sel; } __attribute__((packed)) fp32 = { 0x5678abcd, SEL_KDATA };
    static struct { uint32_t off; uint16_t sel; } __attribute__((packed)) fp16 = { 0x0001fff0, SEL_SS16 };
    esp0 = 0x1234fffc;
    show("lss esp, 16-bit -> 32-bit", esp0, t_lss(SEL_SS16, esp0, &fp32));
    esp0 = base + 0xfffc;
    show("lss esp, 32-bit -> 16-bit", esp0, t_lss(SEL_KDATA, esp0, &fp16));
    esp0 = 0x1234fffc;
    show("mov ss, 16-bit -> 32-bit", esp0, t_mov_ss(SEL_SS16, esp0, SEL_KDATA));
    esp0 = base + 0xfffc;
    show("mov ss, 32-bit -> 16-bit", esp0, t_mov_ss(SEL_KDATA, esp0, SEL_SS16));

    printf("popss done\n");
    guest_exit(0);
}
