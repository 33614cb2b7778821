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

# make check-disk (issue 16): the guest's root file system on vsmp's
# virtio block device, a copy of images/build/rootfs.img: files written
# and synced survive into the next job at 1, 2, 4 ranks and over TCP and
# are read back under QEMU's virtio-blk too; e2fsck -n clean after each
# job; a read-only disk refuses writes; flushed writes survive kill -9 of
# a rank (tests/linux/disk.sh).
.PHONY: check-disk
check-disk: vsmp images
	@bash tests/linux/disk.sh

# make check-ckpt (issue 17 item 4): memory images of a booted Linux at
# 1, 2, 4 ranks (tests/linux/ckpt.sh): checkpoint by SIGTERM, SIGUSR2 and
# the guest's vsmpctl, restore in a new job (files, a counter, clocks,
# console input, the disk), SIGUSR1 checkpoint-and-continue, corrupted
# and mismatched images refused with status 2.
.PHONY: check-ckpt
check-ckpt: vsmp images
	@bash tests/linux/ckpt.sh
