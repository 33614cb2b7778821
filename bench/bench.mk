# bench/bench.mk - `make bench`: three guests (CPU-bound, memory-heavy,
# exception/system-heavy) timed under vsmp's interpreter (--interp), vsmp's
# default engine (the translator) and qemu-system-i386 (TCG) in the same
# run; MIPS, time ratios and translation statistics. See docs/benchmarks.md.
bench: vsmp guests
	@bash bench/run.sh
