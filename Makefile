# Makefile - builds ./vsmp, its tests and benchmarks.
#   ./configure [--prefix=DIR]   (run automatically by make if needed)
#   make            build ./vsmp
#   make check      run every test (unit, differential, guests, MPI jobs)
#   make bench      benchmarks (vsmp vs qemu-system-i386)
#   make install    install vsmp under $(PREFIX)/bin

include config.mk

BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN     = -Wall -Wextra -Werror
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -Isrc -MMD -MP
LDLIBS_CORE = -lelf -lm
ifeq ($(SANITIZE),yes)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# The core (CPU, memory, devices, config, machine) builds without MPI so
# that unit tests link it alone; src/main.c and src/mpi/*.c make the MPI
# program.
CORE_SRC = $(wildcard src/cpu/*.c src/mem/*.c src/io/*.c src/boot/*.c src/snap/*.c) src/config.c src/board.c src/xrank.c src/runloop.c src/stats.c src/slicer.c \
           src/watchdog.c
APP_SRC  = src/main.c $(wildcard src/mpi/*.c)
CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/%.o)
APP_OBJ  = $(APP_SRC:%.c=$(BUILD)/%.o)
CORE_LIB = $(BUILD)/libvsmpcore.a

.PHONY: all run check check-unit check-sanitize check-diff check-guests check-integration check-mpi-transport check-image-io bench install clean distclean
all: vsmp

config.mk:
	./configure

$(BUILD)/src/mpi/%.o: src/mpi/%.c config.mk
	@mkdir -p $(@D)
	$(MPICC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/src/main.o: src/main.c config.mk
	@mkdir -p $(@D)
	$(MPICC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/src/%.o: src/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/src/cpu/%.o: src/cpu/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/src/mem/%.o: src/mem/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/src/io/%.o: src/io/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(BUILD)/src/boot/%.o: src/boot/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

vsmp: $(APP_OBJ) $(CORE_LIB)
	$(MPICC) $(LDFLAGS) -o $@ $(APP_OBJ) $(CORE_LIB) $(LDLIBS_CORE)

# Test and benchmark fragments, one per area.
include tests/unit/unit.mk
include tests/diff/diff.mk
include tests/guests/guests.mk
# bench/mpi.mk first: integration.mk's dsmbench uses $(MPI_FAULT) in a
# prerequisite list, which make expands when it reads the rule.
include bench/mpi.mk
include tests/integration/integration.mk
include tests/integration/mpi_transport.mk
include tests/integration/image_io.mk
include bench/bench.mk
include images/images.mk
include tests/linux/linux.mk
include tests/slurm/slurm.mk
include bench/linux.mk

# make run: build what is missing (vsmp, the Debian guest images) and boot
# the default guest on RUN_CPUS CPUs (2) under mpirun into its interactive
# shell on this terminal (raw, like qemu -nographic: Ctrl-A x ends the
# job, Ctrl-A h lists the keys; README "Console"). As root mpirun needs
# its run-as-root flag; Open MPI 4.1.4's shared-memory transport needs
# single_copy_mechanism=none here (design notes).
RUN_CPUS ?= 2
RUN_CONFIG ?= images/linux.cfg
run: vsmp images
	OMPI_MCA_btl_vader_single_copy_mechanism=none \
	mpirun $$( [ "$$(id -u)" = 0 ] && echo --allow-run-as-root ) --oversubscribe \
	    -np $(RUN_CPUS) ./vsmp $(RUN_CONFIG)

check: vsmp check-unit check-sanitize check-diff check-guests check-integration check-mpi-transport \
       check-image-io check-linux check-disk check-ckpt check-slurm
	@echo "make check: all test groups passed"

# The unit tests again, built with AddressSanitizer and UBSan in a separate
# build folder (random guest code must not make the core touch host memory
# outside the guest).
check-sanitize:
	$(MAKE) BUILD=build-san SANITIZE=yes check-unit

install: vsmp
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 vsmp $(DESTDIR)$(PREFIX)/bin/vsmp

clean:
	rm -rf $(BUILD) build-san vsmp

distclean: clean
	rm -f config.mk

-include $(CORE_OBJ:.o=.d) $(APP_OBJ:.o=.d)
