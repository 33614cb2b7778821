; aptriple.asm - integration-test guest whose application processor
; triple-faults: the BSP copies a real-mode trampoline to 0x8000, starts
; the CPU with APIC ID 1 by INIT-SIPI-SIPI and spins with interrupts off.
; The AP loads an IDT with limit 0 and executes int3 (#GP, #DF, triple
; fault). With 2 or more ranks vsmp must end the whole job with status 4
; and one message naming rank 1 (printed by rank 0). Needs >= 2 CPUs.
bits 32
%include "mbhdr.inc"
%include "apstart.inc"

section .text
global _start
_start:
    cli
    ; trampoline -> 0x8000 (SIPI vector 0x08)
    COPY_TRAMPOLINE
    ; INIT (assert) to APIC ID 1, then STARTUP 0x08 twice
    mov dword [ICR_HI], 1 << 24
    mov dword [ICR_LO], 0x00004500
    mov dword [ICR_HI], 1 << 24
    mov dword [ICR_LO], 0x00004608
    mov dword [ICR_HI], 1 << 24
    mov dword [ICR_LO], 0x00004608
.spin:
    pause
    jmp .spin

; 16-bit code, run by the AP at 0800:0000
bits 16
tramp:
    lidt [cs:tr_idtr - tramp]
    int3
    ; not reached: report with debug-exit 0x7d (status 0xfb)
    mov al, 0x7d
    out 0xf4, al
.hang:
    jmp .hang
tr_idtr:
    dw 0
    dd 0
tramp_end:
