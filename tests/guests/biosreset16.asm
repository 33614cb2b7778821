; biosreset16.asm - the biosreset guest's low-memory blob (flat binary,
; run at 0x7000): from 32-bit protected mode to 16-bit protected mode,
; to real mode (CR0.PE=0), then a far jump to the reset vector F000:FFF0,
; as Linux's machine_real_restart does for reboot=bios. Never returns.
; GDT (set by biosreset.c): 0x30 16-bit code base 0 limit 64K, 0x38
; 16-bit data base 0 limit 64K.
org 0x7000

bits 32
entry32:
    cli
    jmp 0x30:pm16

bits 16
pm16:
    mov ax, 0x38
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and eax, ~1
    mov cr0, eax
    jmp 0x0000:rm
rm:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x6ff0
    jmp 0xf000:0xfff0
