# tests/diff/diff.mk - the differential test against the host CPU, or a
# recorded corpus of its results where the host cannot run 32-bit code.
#   $(BUILD)/tests/diff/native32   32-bit helper running sequences natively
#   $(BUILD)/tests/diff/difftest   driver: generator + vsmp core + compare
#   make check-diff                200,000 random cases, fixed seed, both
#                                  engines, then the oracle tests
#   make check-diff-oracle         the oracle tests alone (oracle_test.sh)
#   make difftest-record           re-record the corpus (a host that runs
#                                  32-bit code; commit the file it writes)
#   make difftest-fast             20,000 cases (quick iteration)
#   make difftest-self             harness self-check: native against native
# Variables: DIFF_SEED, DIFF_COUNT, DIFF_ORACLE (auto native corpus qemu),
# DIFF_CORPUS, DIFF_ARGS (extra driver options).
DIFF_DIR    = $(BUILD)/tests/diff
DIFF_SEED  ?= 20240607
DIFF_COUNT ?= 200000
DIFF_ORACLE ?= auto
DIFF_CORPUS ?= tests/diff/corpus.dtc
DIFF_ARGS  ?=
DIFF_HDRS   = tests/diff/proto.h tests/diff/gen.h tests/diff/emu.h tests/diff/digest.h \
	      tests/diff/corpus.h tests/diff/helper.h tests/diff/hostcpu.h tests/diff/x87host.h \
	      tests/diff/v86env.h tests/diff/v86form.h tests/diff/v86sys.h tests/diff/v86model.h \
	      tests/diff/emu_v86.h
# generator sources (corpus_poke needs them too)
DIFF_GEN    = tests/diff/gen.c tests/diff/v86form.c tests/diff/v86sys.c
DIFF_SRCS   = tests/diff/difftest.c $(DIFF_GEN) tests/diff/emu.c tests/diff/digest.c \
	      tests/diff/corpus.c tests/diff/helper.c tests/diff/hostcpu.c tests/diff/x87host.c \
	      tests/diff/v86env.c tests/diff/v86model.c tests/diff/emu_v86.c
# --wrap: the x87 rule's hold on vsmp's host x87 path (x87host.h)
DIFF_LINK   = $(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -Itests/diff $(LDFLAGS) \
	      -Wl,--wrap=fpu_host_exec
DIFFTEST    = $(DIFF_DIR)/difftest --seed $(DIFF_SEED) --count $(DIFF_COUNT) \
	      --oracle $(DIFF_ORACLE) --corpus $(DIFF_CORPUS) $(DIFF_ARGS)

$(DIFF_DIR)/native32: tests/diff/native32.c tests/diff/proto.h
	@mkdir -p $(@D)
	$(CC) -m32 -static -no-pie -std=gnu11 $(WARN) $(OPT) -o $@ $<

$(DIFF_DIR)/difftest: $(DIFF_SRCS) $(DIFF_HDRS) $(CORE_LIB)
	@mkdir -p $(@D)
	$(DIFF_LINK) -o $@ $(DIFF_SRCS) $(CORE_LIB) $(LDLIBS_CORE)

# test builds: vsmp's results corrupted (emu.c), a generator changed in a mask (gen.c)
$(DIFF_DIR)/difftest-mutate: $(DIFF_SRCS) $(DIFF_HDRS) $(CORE_LIB)
	@mkdir -p $(@D)
	$(DIFF_LINK) -DDIFF_MUTATE -o $@ $(DIFF_SRCS) $(CORE_LIB) $(LDLIBS_CORE)
$(DIFF_DIR)/difftest-stale: $(DIFF_SRCS) $(DIFF_HDRS) $(CORE_LIB)
	@mkdir -p $(@D)
	$(DIFF_LINK) -DDIFF_STALE_GEN -o $@ $(DIFF_SRCS) $(CORE_LIB) $(LDLIBS_CORE)
$(DIFF_DIR)/corpus_poke: tests/diff/corpus_poke.c tests/diff/corpus.c tests/diff/digest.c \
		$(DIFF_GEN) $(DIFF_HDRS)
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -Itests/diff $(LDFLAGS) -o $@ \
		tests/diff/corpus_poke.c tests/diff/corpus.c tests/diff/digest.c $(DIFF_GEN)

difftest: $(DIFF_DIR)/difftest $(DIFF_DIR)/native32

# Both execution engines (VSMP_ENGINE is read by the CPU core). The oracle
# is the host CPU where native32 runs (then the corpus is checked against
# it too), else the corpus; each run says which and how many cases.
check-diff: difftest check-diff-oracle
	VSMP_ENGINE=jit $(DIFFTEST)
	VSMP_ENGINE=interp $(DIFFTEST)

check-diff-oracle: difftest $(DIFF_DIR)/difftest-mutate $(DIFF_DIR)/difftest-stale $(DIFF_DIR)/corpus_poke
	sh tests/diff/oracle_test.sh $(DIFF_DIR) $(DIFF_CORPUS)

difftest-record: difftest
	$(DIFF_DIR)/difftest --seed $(DIFF_SEED) --count $(DIFF_COUNT) --oracle native \
		--record $(DIFF_CORPUS) $(DIFF_ARGS)

difftest-fast: difftest
	$(DIFF_DIR)/difftest --seed $(DIFF_SEED) --count 20000 --oracle $(DIFF_ORACLE) \
		--corpus $(DIFF_CORPUS) $(DIFF_ARGS)

difftest-self: difftest
	$(DIFF_DIR)/difftest --self --seed $(DIFF_SEED) --count $(DIFF_COUNT) $(DIFF_ARGS)

.PHONY: difftest difftest-fast difftest-self difftest-record check-diff-oracle
