# bench/linux.mk - `make bench-linux` (bench/linux.sh, also run by `make
# bench`): Debian's i386 Linux (images/) under vsmp beside
# qemu-system-i386 TCG in the same run, same kernel, initrd, command line
# and CPU count: time to the init banner at 1, 2, 4 CPUs, N processes
# each hashing 64 MiB, 300 fork+exec of /bin/true. See docs/linux.md.
.PHONY: bench-linux
bench-linux: vsmp images
	@BUILD=$(BUILD) bash bench/linux.sh
bench: bench-linux

# make bench-linux-hot (bench/linux_hot.sh, also run by `make bench`): the
# DSM statistics of a boot and of each workload on 2 CPUs, the 20 pages
# that fault most named by kernel section and symbol (the full symbol
# table comes from the kernel's -dbg package: images-dbg, about 760 MB).
.PHONY: bench-linux-hot
bench-linux-hot: vsmp images images-dbg
	@BUILD=$(BUILD) bash bench/linux_hot.sh
bench: bench-linux-hot

# make bench-disk (bench/disk.sh, also run by `make bench`): the guest's
# sequential write (with and without fsync), cold sequential read and
# random 4 KiB reads under vsmp and QEMU TCG at 1 and 2 CPUs, and the
# flush-then-kill test 20 times. See docs/disk.md.
.PHONY: bench-disk
bench-disk: vsmp images
	@BUILD=$(BUILD) bash bench/disk.sh
bench: bench-disk

# make bench-ckpt (bench/ckpt.sh, also run by `make bench`): memory images
# of the default guest at 1, 2, 4 ranks: size, write and restore times,
# a usable shell from an image vs a cold boot. See docs/checkpoint.md.
.PHONY: bench-ckpt
bench-ckpt: vsmp images
	@BUILD=$(BUILD) bash bench/ckpt.sh
bench: bench-ckpt
