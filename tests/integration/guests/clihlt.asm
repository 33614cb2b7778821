; clihlt.asm - integration-test guest that halts with interrupts disabled
; (cli; hlt): nothing can ever wake it, so vsmp must end the run with exit
; status 4 and a clear message.
bits 32
%include "mbhdr.inc"

section .text
global _start
_start:
    cli
    hlt
    ; Never reached: a wake-up is reported with debug-exit 0x7e (status 0xfd).
    mov al, 0x7e
    out 0xf4, al
.spin:
    jmp .spin
