; user.asm - ring 3 round trips for the test guests.
;   uint32_t run_user(void (*fn)(void), uint32_t user_esp, uint32_t eflags)
; saves the kernel context and IRETs to fn at CPL 3 (CS 0x1b, SS/DS/ES
; 0x23); a ring 0 handler ends the excursion with kernel_resume(value),
; which restores that context and makes run_user return value.
bits 32
section .text
global run_user, kernel_resume
run_user:
    push ebp
    push ebx
    push esi
    push edi
    mov [saved_kesp], esp
    mov eax, [esp + 20]          ; fn
    mov ecx, [esp + 24]          ; user esp
    mov edx, [esp + 28]          ; eflags
    push dword 0x23              ; ss
    push ecx                     ; esp
    push edx                     ; eflags
    push dword 0x1b              ; cs
    push eax                     ; eip
    mov ax, 0x23
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    iret

kernel_resume:                   ; (uint32_t value), called at CPL 0
    mov eax, [esp + 4]
    mov cx, 0x10
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    mov esp, [saved_kesp]
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

section .bss
saved_kesp: resd 1
