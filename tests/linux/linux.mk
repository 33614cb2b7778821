# tests/linux/linux.mk - the Linux guest's tests (issue 15 item 5).
#   make check-linux   boots images/ (Debian's i386 Linux 6.1 and the
#                      initramfs; `make images` builds them) under
#                      qemu-system-i386 -smp 1, 2, 4 (the oracle) and under
#                      vsmp at 1, 2, 4 ranks over shared memory and 2 over
#                      TCP: banner, CPUs, hashing digests, pthread atomics,
#                      console input through a pipe, poweroff status 0
#                      (tests/linux/run.sh; LINUX_MODES picks the runs).
# Included by the top Makefile; paths are relative to the source root.
.PHONY: check-linux
check-linux: vsmp images
	@bash tests/linux/run.sh
