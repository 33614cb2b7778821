# tests/diff/diff.mk - the differential test against the host CPU.
#   $(BUILD)/tests/diff/native32   32-bit helper running sequences natively
#   $(BUILD)/tests/diff/difftest   driver: generator + vsmp core + compare
#   make check-diff                200,000 random cases, fixed seed
#   make difftest-fast             20,000 cases (quick iteration)
#   make difftest-self             harness self-check: native against native
# Variables: DIFF_SEED, DIFF_COUNT, DIFF_ARGS (extra driver options).
DIFF_DIR    = $(BUILD)/tests/diff
DIFF_SEED  ?= 20240607
DIFF_COUNT ?= 200000
DIFF_ARGS  ?=
DIFF_HDRS   = tests/diff/proto.h tests/diff/gen.h tests/diff/emu.h

$(DIFF_DIR)/native32: tests/diff/native32.c tests/diff/proto.h
	@mkdir -p $(@D)
	$(CC) -m32 -static -no-pie -std=gnu11 $(WARN) $(OPT) -o $@ $<

$(DIFF_DIR)/difftest: tests/diff/difftest.c tests/diff/gen.c tests/diff/emu.c $(DIFF_HDRS) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -Itests/diff $(LDFLAGS) -o $@ \
		tests/diff/difftest.c tests/diff/gen.c tests/diff/emu.c $(CORE_LIB) $(LDLIBS_CORE)

difftest: $(DIFF_DIR)/difftest $(DIFF_DIR)/native32

# both execution engines (VSMP_ENGINE is read by the CPU core)
check-diff: difftest
	VSMP_ENGINE=jit $(DIFF_DIR)/difftest --seed $(DIFF_SEED) --count $(DIFF_COUNT) $(DIFF_ARGS)
	VSMP_ENGINE=interp $(DIFF_DIR)/difftest --seed $(DIFF_SEED) --count $(DIFF_COUNT) $(DIFF_ARGS)

difftest-fast: difftest
	$(DIFF_DIR)/difftest --seed $(DIFF_SEED) --count 20000 $(DIFF_ARGS)

difftest-self: difftest
	$(DIFF_DIR)/difftest --self --seed $(DIFF_SEED) --count $(DIFF_COUNT) $(DIFF_ARGS)

.PHONY: difftest difftest-fast difftest-self
