; idle.asm - integration-test guest that idles for ever: the BSP masks
; the 8259s (no timer interrupt can come: there is no IDT), starts every
; other CPU by INIT-SIPI-SIPI (shorthand "all excluding self"), prints
; "idle" on the UART and halts with interrupts enabled; each AP halts
; with interrupts enabled in its real-mode trampoline. Nothing ever
; wakes a CPU, and no CPU waits for an answer: vsmp must neither end
; the run (an interrupt could come) nor time a rank out
; (--answer-timeout). The answer-timeout tests stop one rank of it with
; SIGSTOP: only the liveness check (PING) can find that rank then.
bits 32
%include "mbhdr.inc"
%include "apstart.inc"

COM1    equ 0x3f8

section .text
global _start
_start:
    cli
    mov al, 0xff                ; mask every 8259 input
    out 0x21, al
    out 0xa1, al
    ; trampoline -> 0x8000 (SIPI vector 0x08)
    COPY_TRAMPOLINE
    ; INIT (assert), then STARTUP 0x08 twice, to all excluding self
    mov dword [ICR_LO], 0x000c4500
    mov dword [ICR_LO], 0x000c4608
    mov dword [ICR_LO], 0x000c4608
    mov esi, msg
    mov dx, COM1
.print:
    lodsb
    test al, al
    jz .idle
    out dx, al
    jmp .print
.idle:
    sti
    hlt
    jmp .idle

msg: db "idle", 10, 0

; 16-bit code, run by every AP at 0800:0000
bits 16
tramp:
    sti
.hang:
    hlt
    jmp .hang
tramp_end:
