# bench/bench.mk - `make bench`: CPU-bound guests timed under vsmp and
# under qemu-system-i386 (TCG) in the same run. See docs/benchmarks.md.
bench: vsmp guests
	@bash bench/run.sh
