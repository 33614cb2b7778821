# bench/linux.mk - `make bench-linux` (bench/linux.sh, also run by `make
# bench`): Debian's i386 Linux (images/) under vsmp beside
# qemu-system-i386 TCG in the same run, same kernel, initrd, command line
# and CPU count: time to the init banner at 1, 2, 4 CPUs, N processes
# each hashing 64 MiB, 300 fork+exec of /bin/true. See docs/linux.md.
.PHONY: bench-linux
bench-linux: vsmp images
	@BUILD=$(BUILD) bash bench/linux.sh
bench: bench-linux
