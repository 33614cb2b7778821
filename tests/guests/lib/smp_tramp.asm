; smp_tramp.asm - the AP start-up trampoline of the test guests. smp.c
; copies smp_tramp_start..smp_tramp_end to SMP_TRAMP (0x8000) and fills in
; the parameter block; a STARTUP IPI with vector 0x08 starts an AP here in
; real mode at 0800:0000. It loads the BSP's GDT (full 32-bit base),
; enters protected mode (clearing CR0.CD/NW, which are set after INIT),
; loads flat data segments, takes a ticket with LOCK XADD, switches to
; that ticket's stack and jumps to the C entry: entry(ticket).
; All addresses are absolute ones in the copy at TBASE.

TBASE equ 0x8000                 ; keep equal to SMP_TRAMP in smp.h
%define A(x) (TBASE + (x) - smp_tramp_start)

section .text
global smp_tramp_start, smp_tramp_end
global smp_tramp_gdtr, smp_tramp_entry, smp_tramp_stacks, smp_tramp_stack_size
global smp_tramp_ticket, smp_tramp_max

bits 16
smp_tramp_start:
    cli
    cld
    xor ax, ax
    mov ds, ax
    o32 lgdt [A(smp_tramp_gdtr)]
    mov eax, cr0
    and eax, 0x9fffffff          ; CD and NW off
    or al, 1                     ; PE
    mov cr0, eax
    jmp dword 0x08:A(pm32)       ; SEL_KCODE

bits 32
pm32:
    mov ax, 0x10                 ; SEL_KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov eax, 1
    lock xadd [A(smp_tramp_ticket)], eax
    cmp eax, [A(smp_tramp_max)]
    jae .park                    ; more APs than stacks: stay out of the way
    lea esp, [eax + 1]
    imul esp, [A(smp_tramp_stack_size)]
    add esp, [A(smp_tramp_stacks)]
    push eax                     ; entry(ticket)
    push 0                       ; no return address
    jmp [A(smp_tramp_entry)]
.park:
    cli
    hlt
    jmp .park

align 8
smp_tramp_gdtr:       dw 0       ; limit
                      dd 0       ; base
align 4
smp_tramp_entry:      dd 0       ; void entry(uint32_t ticket)
smp_tramp_stacks:     dd 0       ; base of the AP stacks
smp_tramp_stack_size: dd 0
smp_tramp_ticket:     dd 0       ; next ticket (0 = first AP)
smp_tramp_max:        dd 0       ; number of AP stacks
smp_tramp_end:
