; rom.asm - a raw firmware image (`rom PATH` in a vsmp config, `-bios` for
; QEMU): 64 KiB mapped below 1 MiB and below 4 GiB. The CPU starts at the
; reset vector (F000:FFF0) in real mode; the ROM prints over COM1, does
; some real-mode work, switches to 32-bit protected mode, checks that both
; mappings show the same bytes and that the ROM is read-only, then ends
; through the debug-exit port.
        org 0xf0000
        bits 16
COM1    equ 0x3f8
start:
        cli
        cld
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov ax, 0xf000
        mov ds, ax
        mov si, msg_reset - 0xf0000
        call puts16
        ; real-mode arithmetic: sum 1..100 with a 16-bit loop, print in hex
        xor bx, bx
        mov cx, 100
.sum:   add bx, cx
        loop .sum
        mov si, msg_sum - 0xf0000
        call puts16
        mov ax, bx
        call hex16
        mov al, 10
        call putc16
        ; into protected mode
        o32 lgdt [cs:gdtr - $$]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword 0x08:pm32

putc16: mov dx, COM1
        out dx, al
        ret
puts16: lodsb
        test al, al
        jz .done
        call putc16
        jmp puts16
.done:  ret
hex16:  mov cx, 4               ; print AX as 4 hex digits
.dig:   rol ax, 4
        push ax
        and al, 0x0f
        add al, '0'
        cmp al, '9'
        jbe .out
        add al, 'a' - '0' - 10
.out:   call putc16
        pop ax
        loop .dig
        ret

        bits 32
pm32:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x7000
        mov esi, msg_pm
        call puts32
        ; both mappings of the ROM hold the same bytes
        mov esi, 0xf0000
        mov edi, 0xffff0000
        mov ecx, 0x10000 / 4
        repe cmpsd
        mov esi, msg_alias_ok
        je .alias_ok
        mov esi, msg_alias_bad
.alias_ok:
        call puts32
        ; the high mapping ignores writes
        mov eax, [0xfffff000]
        mov dword [0xfffff000], 0x12345678
        cmp eax, [0xfffff000]
        mov esi, msg_ro_ok
        je .ro_ok
        mov esi, msg_ro_bad
.ro_ok:
        call puts32
        ; RAM below the ROM works
        mov dword [0x8000], 0xcafef00d
        cmp dword [0x8000], 0xcafef00d
        mov esi, msg_ram_ok
        je .ram_ok
        mov esi, msg_ram_bad
.ram_ok:
        call puts32
        mov esi, msg_bye
        call puts32
        mov al, 0
        out 0xf4, al
.hang:  hlt
        jmp .hang

puts32: lodsb
        test al, al
        jz .done
        mov dx, COM1
        out dx, al
        jmp puts32
.done:  ret

        align 8
gdt:    dq 0
        dq 0x00cf9a000000ffff   ; 0x08: flat 32-bit code
        dq 0x00cf92000000ffff   ; 0x10: flat data
gdtr:   dw gdtr - gdt - 1
        dd gdt

msg_reset:     db "rom: started at the reset vector in real mode", 10, 0
msg_sum:       db "rom: real-mode sum 1..100 = 0x", 0
msg_pm:        db "rom: 32-bit protected mode", 10, 0
msg_alias_ok:  db "rom: the 1 MiB and 4 GiB mappings agree", 10, 0
msg_alias_bad: db "rom: the mappings DIFFER", 10, 0
msg_ro_ok:     db "rom: read-only", 10, 0
msg_ro_bad:    db "rom: WRITABLE", 10, 0
msg_ram_ok:    db "rom: RAM ok", 10, 0
msg_ram_bad:   db "rom: RAM BROKEN", 10, 0
msg_bye:       db "rom: done", 10, 0

        times 0xfff0 - ($ - $$) db 0xff
        bits 16
reset:  jmp 0xf000:(start - 0xf0000)
        times 0x10000 - ($ - $$) db 0xff
