; realmode16.asm - the realmode guest's low-memory blob (flat binary, run
; at 0x7000): from 32-bit protected mode it drops to 16-bit protected
; mode, then to real mode (CR0.PE=0), runs real-mode tests that write
; their results to RES (0x6000), and returns to 32-bit protected mode.
; GDT (set by realmode.c): 0x08/0x10 flat 32-bit, 0x30 16-bit code base 0
; limit 64K, 0x38 16-bit data base 0 limit 64K.
org 0x7000
RES equ 0x6000

bits 32
entry32:
    pushad
    mov [saved_esp], esp
    sidt [saved_idt]
    jmp 0x30:pm16

bits 16
pm16:
    mov ax, 0x38
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov word [RES + 0x40], 0x1616     ; reached 16-bit protected mode
    mov eax, cr0
    mov [RES + 0x44], eax             ; CR0 in 16-bit pm (PE set)
    and eax, ~1
    mov cr0, eax
    jmp 0x0000:rm

rm:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x6ff0
    lidt [rm_idt]
    mov eax, cr0
    mov [RES + 0x48], eax             ; CR0 in real mode (PE clear)

    ; 1. segment arithmetic: write via 0600:0123, read via 0612:0003
    mov ax, 0x0600
    mov es, ax
    mov word [es:0x0123], 0xBEEF
    mov ax, 0x0612
    mov ds, ax
    mov ax, [0x0003]
    xor bx, bx
    mov ds, bx
    mov [RES + 0x00], ax
    ; same byte through two segment:offset pairs, with a carry into the
    ; segment part
    mov ax, 0x05ff
    mov es, ax
    mov byte [es:0x0135], 0x5a        ; 0x5ff0+0x135 = 0x6125
    mov al, [0x6125]
    mov [RES + 0x02], al

    ; 2. software interrupts through IVT entries installed here
    mov word [0x60 * 4], int60
    mov word [0x60 * 4 + 2], 0
    mov word [0x61 * 4], int61 - 0x7000
    mov word [0x61 * 4 + 2], 0x0700
    mov ax, 0x1234
    mov bx, 5
    stc
    int 0x60
    mov [RES + 0x04], ax              ; 0x1234 + 2*5 = 0x123e
    setc byte [RES + 0x06]            ; handler cleared CF in the saved flags
.after60:
    int 0x61
    mov [RES + 0x08], ax              ; CS seen by the handler (0x0700)
    mov [RES + 0x0a], bx              ; IP of int61 in that segment

    ; 3. 16-bit string instructions
    mov si, str_src
    mov ax, 0x0500
    mov es, ax
    mov di, 0x0100                    ; 0500:0100 = 0x5100
    mov cx, str_len
    cld
    rep movsb
    mov [RES + 0x0c], di              ; 0x0100 + len
    mov [RES + 0x0e], si
    mov si, str_src                   ; compare, differs at index 4
    mov di, 0x0100
    mov byte [es:0x0104], 'X'
    mov cx, str_len
    repe cmpsb
    mov [RES + 0x10], cx              ; remaining count
    setz byte [RES + 0x12]
    mov di, 0x0200                    ; stosw fill
    mov ax, 0xA55A
    mov cx, 8
    rep stosw
    mov [RES + 0x14], di
    mov di, 0x0100                    ; scasb: find '!'
    mov al, '!'
    mov cx, str_len
    repne scasb
    mov [RES + 0x16], di
    std                               ; lodsw backwards, sum words
    mov si, str_src + 8
    mov cx, 5
    xor bx, bx
.sum:
    lodsw
    add bx, ax
    loop .sum
    cld
    mov [RES + 0x18], bx
    mov [RES + 0x1a], si

    ; 4. 32-bit operand and address size prefixes in real mode
    mov eax, 0x12345678
    rol eax, 8
    mov [RES + 0x1c], eax             ; 0x34567812
    mov ebx, 0x6000
    mov ecx, 0x10
    mov edx, [ebx + ecx*4 - 0x40 + 0x1c]   ; read back through SIB
    mov [RES + 0x20], edx
    ; 16-bit multiply/divide
    mov ax, 1000
    mov bx, 377
    mul bx                            ; dx:ax = 377000
    mov [RES + 0x24], ax
    mov [RES + 0x26], dx
    mov bx, 999
    div bx                            ; 377000 / 999 = 377 r 377
    mov [RES + 0x28], ax
    mov [RES + 0x2a], dx
    ; stack: push/pop, pushf, far call to another segment
    mov bp, sp
    push word 0x1111
    push word 0x2222
    pushf
    pop ax
    pop bx
    pop cx
    sub bp, sp
    mov [RES + 0x2c], bp              ; 0: balanced
    mov [RES + 0x2e], cx
    call 0x0700:(farfn - 0x7000)
    mov [RES + 0x30], ax
    mov [RES + 0x32], dx

    ; back to 32-bit protected mode
    cli
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword 0x08:pm32

int60:
    push bp
    mov bp, sp
    shl bx, 1
    add ax, bx
    and word [bp + 6], ~1             ; clear CF in the saved FLAGS
    mov bx, [bp + 2]                  ; return IP
    mov [RES + 0x34], bx
    pop bp
    iret
int61:
    mov ax, cs
    call .here                        ; find our IP
.here:
    pop bx
    sub bx, .here - int61
    iret
farfn:
    push bp
    mov bp, sp
    mov ax, cs                        ; 0x0700
    mov dx, [bp + 2]                  ; return IP pushed by the far call
    pop bp
    retf

str_src: db "RealMode!0123"
str_len equ $ - str_src

rm_idt: dw 0x3ff
        dd 0

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, [saved_esp]
    lidt [saved_idt]
    popad
    ret

align 4
saved_esp: dd 0
saved_idt: dw 0
           dd 0
