# tests/unit/unit.mk - Criterion unit tests: each tests/unit/test_*.c is one
# binary linked against the core library (no MPI).
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
CRITERION_LIBS = -lcriterion

$(BUILD)/tests/unit/%: tests/unit/%.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(CORE_LIB) $(CRITERION_LIBS) $(LDLIBS_CORE)

unit-tests: $(UNIT_BIN)
check-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t --jobs 2; done

-include $(UNIT_BIN:=.d)
