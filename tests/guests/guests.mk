# tests/guests/guests.mk - the project's own Multiboot test guests.
#   make guests        build every guest into $(BUILD)/tests/guests/NAME.elf
#   make check-guests  run each under ./vsmp (and qemu-system-i386 when
#                      installed, as the oracle) and compare with expected/
# Included by the top Makefile; paths are relative to the source root.

GUEST_SRC_DIR := tests/guests
GUEST_OUT     := $(BUILD)/tests/guests
GUEST_NAMES   := hello demo realmode paging privilege pit uart x87 bench_cpu tss \
                 smc codepage midblock irqloop repstr repsmc cachefill bench_mem bench_sys \
                 apic ioapic mptable smp bench_par bench_lock popss nmi rflag zeromem v86 \
                 kvmclock acpi panic halt biosreset vdisk
GUEST_ELFS    := $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf)
GUEST_NASM    ?= nasm
GUEST_CFLAGS  := -m32 -march=i686 -std=gnu11 -ffreestanding -fno-pic -fno-pie \
                 -fno-stack-protector -fno-builtin -nostdlib -O2 -Wall -Wextra -Werror \
                 -mno-sse -mno-mmx -mfpmath=387 -fno-asynchronous-unwind-tables \
                 -I$(GUEST_SRC_DIR)
GUEST_LDFLAGS := -m32 -nostdlib -static -Wl,-m,elf_i386 -no-pie \
                 -Wl,-z,max-page-size=0x1000 -Wl,--build-id=none -Wl,-z,noexecstack \
                 -T $(GUEST_SRC_DIR)/lib/guest.ld
GUEST_LIB_OBJ := $(GUEST_OUT)/lib/entry.o $(GUEST_OUT)/lib/isr.o $(GUEST_OUT)/lib/user.o $(GUEST_OUT)/lib/lib.o
GUEST_HDRS    := $(GUEST_SRC_DIR)/lib/guest.h $(GUEST_SRC_DIR)/lib/msort.h

.PHONY: guests check-guests
.SECONDARY: $(GUEST_LIB_OBJ) $(GUEST_NAMES:%=$(GUEST_OUT)/%.o) $(GUEST_OUT)/realmode16.bin $(GUEST_OUT)/realmode_blob.o
.SECONDARY: $(GUEST_OUT)/v86code.bin $(GUEST_OUT)/v86_blob.o
.SECONDARY: $(GUEST_OUT)/biosreset16.bin $(GUEST_OUT)/biosreset_blob.o
guests: $(GUEST_ELFS) $(GUEST_OUT)/rom.bin

$(GUEST_OUT)/lib/%.o: $(GUEST_SRC_DIR)/lib/%.asm
	@mkdir -p $(@D)
	$(GUEST_NASM) -f elf32 $< -o $@
$(GUEST_OUT)/lib/%.o: $(GUEST_SRC_DIR)/lib/%.c $(GUEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(GUEST_OUT)/%.o: $(GUEST_SRC_DIR)/%.c $(GUEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
# 16-bit real-mode code, assembled flat and embedded into the ELF
$(GUEST_OUT)/%.bin: $(GUEST_SRC_DIR)/%.asm
	@mkdir -p $(@D)
	$(GUEST_NASM) -f bin $< -o $@
$(GUEST_OUT)/realmode_blob.o: $(GUEST_OUT)/realmode16.bin
	printf 'section .rodata\nglobal rm_blob, rm_blob_end\nrm_blob: incbin "%s"\nrm_blob_end:\n' $< > $(GUEST_OUT)/realmode_blob.asm
	$(GUEST_NASM) -f elf32 $(GUEST_OUT)/realmode_blob.asm -o $@

GUEST_EXTRA_realmode := $(GUEST_OUT)/realmode_blob.o
# virtual-8086 mode: the V86 code (v86code.asm) embedded the same way
$(GUEST_OUT)/v86_blob.o: $(GUEST_OUT)/v86code.bin
	printf 'section .rodata\nglobal v86_blob, v86_blob_end\nv86_blob: incbin "%s"\nv86_blob_end:\n' $< > $(GUEST_OUT)/v86_blob.asm
	$(GUEST_NASM) -f elf32 $(GUEST_OUT)/v86_blob.asm -o $@
GUEST_EXTRA_v86 := $(GUEST_OUT)/v86_blob.o
# the jump to the reset vector from real mode (biosreset16.asm), the same way
$(GUEST_OUT)/biosreset_blob.o: $(GUEST_OUT)/biosreset16.bin
	printf 'section .rodata\nglobal rb_blob, rb_blob_end\nrb_blob: incbin "%s"\nrb_blob_end:\n' $< > $(GUEST_OUT)/biosreset_blob.asm
	$(GUEST_NASM) -f elf32 $(GUEST_OUT)/biosreset_blob.asm -o $@
GUEST_EXTRA_biosreset := $(GUEST_OUT)/biosreset_blob.o
# the SMP guest: lib/smp.c (CPUs, local APIC, AP start-up) + the trampoline
GUEST_EXTRA_smp := $(GUEST_OUT)/lib/smp.o $(GUEST_OUT)/lib/smp_tramp.o
$(GUEST_OUT)/lib/smp.o $(GUEST_OUT)/smp.o: $(GUEST_SRC_DIR)/lib/smp.h
.SECONDARY: $(GUEST_EXTRA_smp)
# SMP benchmark guests (issue 4, item 8 (c), (d); bench/smp.sh): same library
GUEST_EXTRA_bench_par := $(GUEST_EXTRA_smp)
GUEST_EXTRA_bench_lock := $(GUEST_EXTRA_smp)
$(GUEST_OUT)/bench_par.o $(GUEST_OUT)/bench_lock.o: $(GUEST_SRC_DIR)/lib/smp.h
# NMI blocking, also between CPUs (nmi.1, nmi.2)
GUEST_EXTRA_nmi := $(GUEST_EXTRA_smp)
$(GUEST_OUT)/nmi.o: $(GUEST_SRC_DIR)/lib/smp.h
# untouched guest RAM reads as zero on every CPU (issue 14, item 2)
GUEST_EXTRA_zeromem := $(GUEST_EXTRA_smp)
$(GUEST_OUT)/zeromem.o: $(GUEST_SRC_DIR)/lib/smp.h
# the virtio-mmio disk driven by the guest at 2 CPUs (issue 16)
GUEST_EXTRA_vdisk := $(GUEST_EXTRA_smp)
$(GUEST_OUT)/vdisk.o: $(GUEST_SRC_DIR)/lib/smp.h
# Linux's `halt`: every CPU halted after the kernel's halt line (halt.N)
GUEST_EXTRA_halt := $(GUEST_EXTRA_smp)
$(GUEST_OUT)/halt.o: $(GUEST_SRC_DIR)/lib/smp.h

.SECONDEXPANSION:
$(GUEST_OUT)/%.elf: $(GUEST_OUT)/%.o $(GUEST_LIB_OBJ) $$(GUEST_EXTRA_$$*) $(GUEST_SRC_DIR)/lib/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_EXTRA_$*) $(GUEST_LIB_OBJ) -lgcc

# rom.bin: a raw firmware image (the `rom` config keyword), run from the
# reset vector; built by the %.bin rule above.

check-guests: vsmp guests
	@BUILD=$(BUILD) QEMU=$(QEMU) bash $(GUEST_SRC_DIR)/run-all.sh
