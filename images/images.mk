# images/images.mk - the default Linux guest (issue 15 item 3).
#   make images   images/build/vmlinuz (Debian bookworm's linux-image-686
#                 bzImage) and images/build/initrd.cpio.gz (busybox-static,
#                 /init, the test programs), both from i386 packages that
#                 apt resolves and downloads now (images/fetch.sh); plus
#                 images/build/host/hashwork, the host build of the hashing
#                 workload that gives the tests their expected digests;
#                 images/build/kmod/ (the virtio and ext4 modules the
#                 initramfs loads for root=/dev/vdX, from the kernel
#                 package: images/kmods.sh); images/build/rootfs.img, the
#                 pristine ext4 root disk (images/mkrootfs.sh), and
#                 images/build/disk.img, the user's disk for `make run`:
#                 a copy of rootfs.img made only when it is absent, so
#                 what the guest wrote there stays (make disk-reset
#                 throws it away).
# images/linux.cfg boots the result. Included by the top Makefile; paths
# are relative to the source root. The guest programs are compiled here
# for i686 without MMX/SSE; nothing 32-bit runs on the host.
IMG_OUT    := images/build
IMG_PROGS  := atomics hashwork forkexec diskio vsmpctl
IMG_GUEST  := $(IMG_PROGS:%=$(IMG_OUT)/guest/%)
IMG_SCRIPTS := images/guest/init $(wildcard images/guest/bin/*)
IMG_GUEST_CFLAGS := -m32 -static -s -march=i686 -mno-sse -mno-mmx -mfpmath=387 -O2 \
                    -std=gnu11 -Wall -Wextra -Werror -pthread
IMG_HOST_CFLAGS  := -std=gnu11 -Wall -Wextra -Werror -O2

# IMG_KMODS: the modules root=/dev/vdX needs (their dependencies are
# found in the modules); IMG_ROOTFS_SIZE: rootfs.img's size (sparse).
IMG_KMODS  ?= virtio_mmio virtio_pci virtio_blk ext4
IMG_ROOTFS_SIZE ?= 256M

.PHONY: images images-fetch images-dbg clean-images disk-reset images-qemu-disk
images: $(IMG_OUT)/vmlinuz $(IMG_OUT)/initrd.cpio.gz $(IMG_OUT)/host/hashwork \
        $(IMG_OUT)/rootfs.img $(IMG_OUT)/disk.img

# make images-dbg: the kernel's full symbol table from its -dbg package
# (images/fetch-dbg.sh, about 760 MB through apt), for naming the data in
# the pages the DSM moves most (bench/linux_hot.sh, docs/linux.md).
images-dbg: $(IMG_OUT)/System.map-full
$(IMG_OUT)/System.map-full: | $(IMG_OUT)/vmlinuz
	@bash images/fetch-dbg.sh $(IMG_OUT)

# Always asks apt (a newer kernel package may have appeared); rewrites the
# outputs only when they change.
images-fetch:
	@IMG_KMODS='$(IMG_KMODS)' bash images/fetch.sh $(IMG_OUT)
$(IMG_OUT)/vmlinuz $(IMG_OUT)/busybox $(IMG_OUT)/packages $(IMG_OUT)/kmod/order &: images-fetch
	@test -f $(IMG_OUT)/vmlinuz && test -f $(IMG_OUT)/busybox && test -f $(IMG_OUT)/kmod/order

$(IMG_OUT)/guest/%: images/progs/%.c images/images.mk
	@mkdir -p $(@D)
	$(CC) $(IMG_GUEST_CFLAGS) -o $@ $<
$(IMG_OUT)/host/%: images/%.c
	@mkdir -p $(@D)
	$(CC) $(IMG_HOST_CFLAGS) -o $@ $<
$(IMG_OUT)/host/hashwork: images/progs/hashwork.c
	@mkdir -p $(@D)
	$(CC) $(IMG_HOST_CFLAGS) -o $@ $<

$(IMG_OUT)/initrd.cpio.gz: $(IMG_OUT)/busybox $(IMG_GUEST) $(IMG_OUT)/host/mkcpio \
                           $(IMG_OUT)/kmod/order images/mkinitrd.sh $(IMG_SCRIPTS)
	@bash images/mkinitrd.sh $(IMG_OUT)

$(IMG_OUT)/rootfs.img: $(IMG_OUT)/busybox $(IMG_GUEST) images/mkrootfs.sh $(IMG_SCRIPTS) \
                       $(IMG_OUT)/packages images/images.mk
	@IMG_ROOTFS_SIZE=$(IMG_ROOTFS_SIZE) bash images/mkrootfs.sh $(IMG_OUT)

# Only when absent (order-only): the guest's writes survive make images.
$(IMG_OUT)/disk.img: | $(IMG_OUT)/rootfs.img
	cp --sparse=always $(IMG_OUT)/rootfs.img $@.tmp
	mv -f $@.tmp $@

# make disk-reset: throws the user's disk away; the next make images or
# make run starts it again from rootfs.img.
disk-reset:
	rm -f $(IMG_OUT)/disk.img

# make images-qemu-disk: the root disk's checks under qemu-system-i386
# (images/qemu-disk.sh; about a minute; not part of make check).
images-qemu-disk: $(IMG_OUT)/vmlinuz $(IMG_OUT)/initrd.cpio.gz $(IMG_OUT)/rootfs.img
	bash images/qemu-disk.sh

# The downloaded packages and everything built from them (disk.img too).
clean-images:
	rm -rf $(IMG_OUT)
