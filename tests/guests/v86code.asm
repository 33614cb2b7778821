; v86code.asm - the v86 guest's virtual-8086 code (flat binary, copied to
; linear 0x20000 and run with CS = 0x2000). It starts with a table of the
; entry points (IP values) that v86.c names by index (enum entry there,
; same order); each entry runs a few instructions and ends with UD2 (or
; the fault under test), which the guest's handlers record.
org 0
bits 16

table:
    dw e_segs, e_addr, e_lim_word, e_lim_a32, e_lim_stack
    dw e_cli, e_sti, e_pushf, e_pushfd, e_popf, e_popfd, e_intn, e_iret, e_iretd
    dw e_int3, e_into, e_int_cd03
    dw e_io_ok, e_io_deny, e_io_word, e_io_beyond, e_io_ins, e_io_outs
    dw e_div0, e_hlt, e_int42, e_int43, e_int44, e_int45
    dw e_iret_back, e_irq_loop, e_task, e_far, e_page_read, e_page_write
    dw e_int41, e_int46
    ; one instruction each, then UD2: faults at +0, runs at +n
    dw p_lar, p_lsl, p_verr, p_verw, p_arpl, p_sldt, p_str, p_lldt, p_ltr
    dw p_mov_from_cr0, p_mov_to_cr0, p_mov_from_dr7, p_mov_to_dr7, p_lgdt, p_lidt
    dw p_lmsw, p_clts, p_invlpg, p_rdmsr, p_wrmsr, p_wbinvd, p_smsw, p_sgdt, p_sidt
    dw p_sysexit
    dw 0

; the segment registers as V86 code sees them (the frame's GS FS DS ES SS)
e_segs:
    mov ax, cs
    mov bx, ds
    mov cx, es
    mov dx, ss
    mov si, fs
    mov di, gs
    mov bp, sp
    ud2

; 8086 address formation: DS = 0x2345, ES = 0xffff, GS = 0x1234, SS = 0x3000
; and SP = 0 (set by v86.c)
e_addr:
    mov eax, [0x0010]           ; 0x23450 + 0x10
    mov bx, 0xfff0
    mov ecx, [bx + 0x20]        ; offset 0x10010 wraps to 0x0010
    mov edx, [es:0x0010]        ; 0xffff0 + 0x10 = 0x100000: above 1 MiB
    mov si, [gs:0x0005]         ; 0x12340 + 5
    push word 0xbeef            ; SP 0 -> 0xfffe: at 0x3fffe
    pop di
    ud2

; segment limit 0xffff (the SDM's #GP(0) / #SS(0); QEMU checks no limits)
e_lim_word:
    mov ax, [0xffff]            ; a word across the limit
    ud2
e_lim_a32:
    mov ebx, 0x10000
    mov al, [ebx]               ; a 32-bit offset beyond the limit
    ud2
e_lim_stack:
    mov sp, 1
    push ax                     ; a word at SS:0xffff
    ud2

; the IOPL-sensitive instructions (#GP(0) at IOPL < 3)
e_cli:
    cli
    ud2
e_sti:
    sti
    ud2
e_pushf:
    pushf
    ud2
e_pushfd:
    pushfd
    ud2
e_popf:
    push word 0x0cd5            ; CF PF AF ZF SF DF OF; IF 0, IOPL 0
    popf
    ud2
e_popfd:
    push dword 0x00244cd5       ; ID AC NT + the above; VM 0, IOPL 0
    popfd
    ud2
e_intn:
    int 0x40
    ud2
e_iret:
    push word 0x0ad5            ; IF set, IOPL 0
    push cs
    push word .to
    iret
    ud2                         ; not reached
.to:
    ud2
e_iretd:
    push dword 0x00040ed7       ; AC, DF + arith; VM 0, IOPL 0
    push dword 0x2000
    push dword .to
    iretd
    ud2
.to:
    ud2

; INT3, INTO and INT n's two-byte form of INT 3
e_int3:
    int3
    ud2
e_into:
    mov al, 0x7f
    add al, 1                   ; OF = 1
    into
    ud2
e_int_cd03:
    db 0xcd, 0x03               ; INT 3 as INT n
    ud2

; port I/O against the TSS I/O bitmap (0x3ff allowed, 0x3fe denied)
e_io_ok:
    mov dx, 0x3ff
    mov al, 0x5a
    out dx, al
    xor al, al
    in al, dx
    mov bl, al
    ud2
e_io_deny:
    mov dx, 0x3fe
    in al, dx
    ud2
e_io_word:
    mov dx, 0x3fd               ; 0x3fd allowed, 0x3fe denied
    in ax, dx
    ud2
e_io_beyond:
    mov dx, 0x1234              ; beyond the end of the bitmap
    in al, dx
    ud2
e_io_ins:
    mov dx, 0x3fe
    mov di, 0x100
    insb
    ud2
e_io_outs:
    mov dx, 0x3ff
    mov si, .byte
    db 0x2e                     ; CS:
    outsb
    in al, dx
    mov bl, al
    ud2
.byte:
    db 0xa5

; exceptions and gates
e_div0:
    mov ax, 1
    xor cx, cx
    div cx
    ud2
e_hlt:
    hlt
    ud2
e_int42:
    int 0x42                    ; gate DPL 0
    ud2
e_int43:
    int 0x43                    ; gate to a DPL 3 code segment
    ud2
e_int44:
    int 0x44                    ; gate to a conforming DPL 0 code segment
    ud2
e_int45:
    int 0x45                    ; gate to a DPL 1 code segment
    ud2
e_int41:
    int 0x41                    ; trap gate
    ud2
e_int46:
    int 0x46                    ; 16-bit interrupt gate
    ud2

; IRET back to V86: the handler of INT 0x40 changes the DS in its frame
e_iret_back:
    mov ax, 0x1111
    int 0x40
    mov bx, ds
    mov cx, es
    mov si, fs
    mov di, gs
    ud2

; an external interrupt while V86 code runs (its handler sets the byte
; at 0x2000:0xf000)
e_irq_loop:
    mov ax, cs
    mov ds, ax
.wait:
    cmp byte [0xf000], 0
    je .wait
    ud2

; the V86 task (entered by a task switch)
e_task:
    mov ax, cs
    mov bx, ds
    mov cx, es
    mov dx, ss
    mov si, fs
    mov di, gs
    mov bp, sp
    ud2

; far transfers and segment loads work as in real mode
e_far:
    jmp 0x1f00:(.l + 0x1000)    ; the same linear address, another CS
.l:
    mov ax, cs
    call 0x2000:far_fn
    mov cx, cs
    lds si, [cs:.ptr + 0x1000]
    mov dx, ds
    mov di, 0xffff
    mov es, di
    push word 0x0123
    pop fs
    ud2
.ptr:
    dw 0x5678, 0x1234
far_fn:
    mov bx, cs
    retf

; paging: a supervisor-only page at 0x50000
e_page_read:
    mov ax, 0x5000
    mov ds, ax
    mov ax, [0x0004]
    ud2
e_page_write:
    mov ax, 0x5000
    mov ds, ax
    mov [0x0008], ax
    ud2

; one instruction each
p_lar:  lar ax, bx
        ud2
p_lsl:  lsl ax, bx
        ud2
p_verr: verr ax
        ud2
p_verw: verw ax
        ud2
p_arpl: arpl ax, bx
        ud2
p_sldt: sldt ax
        ud2
p_str:  str ax
        ud2
p_lldt: lldt ax
        ud2
p_ltr:  ltr ax
        ud2
p_mov_from_cr0: mov eax, cr0
        ud2
p_mov_to_cr0: mov cr0, eax
        ud2
p_mov_from_dr7: mov eax, dr7
        ud2
p_mov_to_dr7: mov dr7, eax
        ud2
p_lgdt: lgdt [0x100]
        ud2
p_lidt: lidt [0x100]
        ud2
p_lmsw: lmsw ax
        ud2
p_clts: clts
        ud2
p_invlpg: invlpg [0x100]
        ud2
p_rdmsr: rdmsr
        ud2
p_wrmsr: wrmsr
        ud2
p_wbinvd: wbinvd
        ud2
p_smsw: smsw ax
        ud2
p_sgdt: sgdt [0x100]
        ud2
p_sidt: sidt [0x100]
        ud2
p_sysexit: sysexit
        ud2
