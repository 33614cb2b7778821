; allhalt.asm - integration-test guest in which every CPU ends up halted
; with interrupts disabled: the BSP starts all other CPUs by
; INIT-SIPI-SIPI (shorthand "all excluding self"), each runs `cli; hlt`
; from a real-mode trampoline, and the BSP itself does `cli; hlt` right
; after the last STARTUP. Nothing can wake any CPU again: vsmp must end
; the whole job with status 6 and one message, not hang. With one CPU the
; IPIs reach nobody and the BSP's own halt ends the run the same way.
bits 32
%include "mbhdr.inc"
%include "apstart.inc"

section .text
global _start
_start:
    cli
    ; trampoline -> 0x8000 (SIPI vector 0x08)
    COPY_TRAMPOLINE
    ; INIT (assert), then STARTUP 0x08 twice, to all excluding self
    mov dword [ICR_LO], 0x000c4500
    mov dword [ICR_LO], 0x000c4608
    mov dword [ICR_LO], 0x000c4608
.halt:
    hlt
    jmp .halt

; 16-bit code, run by every AP at 0800:0000
bits 16
tramp:
    cli
.hang:
    hlt
    jmp .hang
tramp_end:
