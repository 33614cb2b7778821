; entry.asm - Multiboot v1 header and entry point of every test guest:
; sets up a stack, runs guest_init() and main(magic, mbi), then exits
; through the debug-exit port with main's return value.
bits 32

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00000003          ; page-align modules, want memory info

section .multiboot progbits alloc noexec nowrite align=4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

section .bss nobits alloc noexec write align=16
global guest_stack_top
guest_stack:
    resb 65536
guest_stack_top:

section .text
global _start
extern guest_init
extern main
extern guest_exit
_start:
    cli
    cld
    mov esp, guest_stack_top
    mov ebp, 0
    push ebx                     ; saved for main
    push eax
    push ebx
    push eax
    call guest_init              ; guest_init(magic, mbi)
    add esp, 8
    call main                    ; main(magic, mbi)
    push eax
    call guest_exit
.hang:
    cli
    hlt
    jmp .hang
