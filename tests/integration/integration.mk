# tests/integration/integration.mk - MPI integration tests and the demo.
#   make check-integration   real mpirun jobs of 1, 2 and 4 ranks over shared
#                            memory and TCP, singleton runs, error cases, and
#                            (as root) simulated nodes in network namespaces
#   make demo                run images/demo.cfg on 2 virtual CPUs
# Included by the top Makefile; paths are relative to the source root.

INTEG_SRC    := tests/integration
INTEG_OUT    := $(BUILD)/tests/integration/guests
INTEG_NASM   ?= nasm
INTEG_LD     ?= ld
INTEG_GUESTS := $(INTEG_OUT)/triplefault.elf $(INTEG_OUT)/clihlt.elf $(INTEG_OUT)/aptriple.elf \
                $(INTEG_OUT)/allhalt.elf $(INTEG_OUT)/idle.elf $(INTEG_OUT)/console.elf \
                $(INTEG_OUT)/ckpt.elf

.PHONY: check-integration integration-guests demo
integration-guests: $(INTEG_GUESTS)

# Tiny hand-written guests for the error cases (a triple fault, cli; hlt).
$(INTEG_OUT)/%.o: $(INTEG_SRC)/guests/%.asm $(INTEG_SRC)/guests/mbhdr.inc \
                  $(INTEG_SRC)/guests/apstart.inc
	@mkdir -p $(@D)
	$(INTEG_NASM) -f elf32 -I $(INTEG_SRC)/guests/ $< -o $@
$(INTEG_OUT)/%.elf: $(INTEG_OUT)/%.o $(INTEG_SRC)/guests/guest.ld
	$(INTEG_LD) -m elf_i386 -z max-page-size=0x1000 --build-id=none \
	    -T $(INTEG_SRC)/guests/guest.ld -o $@ $<

# The console guest (C, on the test guests' library): tests/integration/console.sh
$(INTEG_OUT)/console.o: $(INTEG_SRC)/guests/console.c $(GUEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(INTEG_OUT)/console.elf: $(INTEG_OUT)/console.o $(GUEST_LIB_OBJ) $(GUEST_SRC_DIR)/lib/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_LIB_OBJ) -lgcc

# The memory-image guest (counts on every CPU): tests/integration/ckpt.sh
$(INTEG_OUT)/ckpt.o: $(INTEG_SRC)/guests/ckpt.c $(GUEST_HDRS) $(GUEST_SRC_DIR)/lib/smp.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(INTEG_OUT)/ckpt.elf: $(INTEG_OUT)/ckpt.o $(GUEST_LIB_OBJ) $(GUEST_EXTRA_smp) $(GUEST_SRC_DIR)/lib/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_EXTRA_smp) $(GUEST_LIB_OBJ) -lgcc

# maxrss: runs a command, records its peak RSS (a 64-bit host program)
INTEG_MAXRSS := $(BUILD)/tests/integration/maxrss
$(INTEG_MAXRSS): $(INTEG_SRC)/maxrss.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<

check-integration: vsmp guests integration-guests $(INTEG_MAXRSS)
	@BUILD=$(BUILD) bash $(INTEG_SRC)/run.sh
	@BUILD=$(BUILD) bash $(INTEG_SRC)/ckpt.sh

# mpirun -np 2 ./vsmp images/demo.cfg with the environment Open MPI 4.1.4
# needs here: the vader fix always, the root flags only as root, and
# --oversubscribe for more ranks than cores. The guest ends with debug-exit
# 0, i.e. status 1 (mpirun then notes that a process "returned a non-zero
# exit code"): that is success; any other status fails the target.
demo: vsmp guests
	@if [ "$$(id -u)" = 0 ]; then \
	    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; \
	fi; \
	export OMPI_MCA_btl_vader_single_copy_mechanism=none; \
	echo "mpirun --oversubscribe -np 2 ./vsmp images/demo.cfg"; \
	st=0; mpirun --oversubscribe -np 2 ./vsmp images/demo.cfg || st=$$?; \
	if [ $$st = 1 ]; then echo "demo: the guest powered off normally (exit status 1)"; \
	else echo "demo: vsmp exit status $$st" >&2; exit 1; fi

# dsmbench: a measurement guest (tests/integration/guests/dsmbench.c) on
# the test guests' library; `make dsmbench` builds it and runs
# tests/integration/dsmbench.sh (DSM fault times at 2 and 4 ranks over sm
# and tcp). Not part of `make check`: its output is timings.
INTEG_DSMBENCH := $(INTEG_OUT)/dsmbench.elf
.PHONY: dsmbench
$(INTEG_OUT)/dsmbench.o: $(INTEG_SRC)/guests/dsmbench.c $(GUEST_HDRS) $(GUEST_SRC_DIR)/lib/smp.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(INTEG_DSMBENCH): $(INTEG_OUT)/dsmbench.o $(GUEST_LIB_OBJ) $(GUEST_EXTRA_smp) $(GUEST_SRC_DIR)/lib/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_EXTRA_smp) $(GUEST_LIB_OBJ) -lgcc
dsmbench: vsmp $(INTEG_DSMBENCH) $(MPI_FAULT)
	@BUILD=$(BUILD) bash $(INTEG_SRC)/dsmbench.sh
