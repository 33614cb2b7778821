# bench/bench.mk - `make bench`: three guests (CPU-bound, memory-heavy,
# exception/system-heavy) timed under vsmp's interpreter (--interp), vsmp's
# default engine (the translator) and qemu-system-i386 (TCG) in the same
# run; MIPS, time ratios and translation statistics. See docs/benchmarks.md.
bench: vsmp guests
	@bash bench/run.sh

# `make bench-smp` (bench/smp.sh): SMP scaling at 1, 2 and 4 vsmp ranks
# (bench_par over sm and tcp, bench_lock over sm), then the DSM fault and
# invalidation service times of tests/integration/dsmbench.sh.
.PHONY: bench-smp
bench-smp: vsmp guests $(BUILD)/tests/integration/guests/dsmbench.elf $(BUILD)/bench/mpi_fault
	@BUILD=$(BUILD) bash bench/smp.sh

# `make bench-startup` (bench/startup.sh): start-up time and peak RSS per
# rank for memory 64M, 1G and 3G at 1 and 2 ranks, as a singleton and
# over sm and tcp (docs/startup.md).
.PHONY: bench-startup
bench-startup: vsmp guests $(BUILD)/tests/integration/maxrss
	@BUILD=$(BUILD) bash bench/startup.sh
