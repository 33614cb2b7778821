; isr.asm - per-vector interrupt stubs for the test guests. Each stub
; pushes a dummy error code where the CPU pushes none, then the vector,
; and jumps to a common path that saves registers, loads the kernel data
; segments, calls isr_dispatch(struct frame *) and returns with IRET.
bits 32
section .text

extern isr_dispatch

; vectors where the CPU pushes an error code: 8, 10-14, 17, 21, 29, 30
%macro STUB 1
isr_stub_%1:
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30
%else
    push dword 0
%endif
    push dword %1
    jmp isr_common
%endmacro

%assign v 0
%rep 256
STUB v
%assign v v+1
%endrep

isr_common:
    pusha
    push ds
    push es
    push fs
    push gs
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    cld
    push esp                     ; struct frame *
    call isr_dispatch
    add esp, 4
global isr_return
isr_return:
    pop gs
    pop fs
    pop es
    pop ds
    popa
    add esp, 8                   ; vector, error code
    iret

section .rodata
global isr_stub_table
isr_stub_table:
%assign v 0
%rep 256
    dd isr_stub_ %+ v
%assign v v+1
%endrep
