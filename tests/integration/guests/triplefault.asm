; triplefault.asm - integration-test guest that triple-faults on purpose:
; it loads an IDT with limit 0, then executes int3. Vector 3 lies outside
; the IDT (#GP), so does vector 13 (#GP while delivering #GP: #DF), and so
; does vector 8 (a fault while delivering #DF): a triple fault. vsmp must end the run
; with exit status 3 and a message naming rank 0.
bits 32
%include "mbhdr.inc"

section .text
global _start
_start:
    cli
    lidt [idtr]
    int3
    ; Never reached: if int3 returned, report it with debug-exit 0x7e
    ; (status 0xfd) so the test sees a distinct failure.
    mov al, 0x7e
    out 0xf4, al
.spin:
    jmp .spin

align 4
idtr:                ; in .text: read-only data is enough
    dw 0            ; limit 0: no vector fits
    dd 0            ; base
