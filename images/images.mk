# images/images.mk - the default Linux guest (issue 15 item 3).
#   make images   images/build/vmlinuz (Debian bookworm's linux-image-686
#                 bzImage) and images/build/initrd.cpio.gz (busybox-static,
#                 /init, the test programs), both from i386 packages that
#                 apt resolves and downloads now (images/fetch.sh); plus
#                 images/build/host/hashwork, the host build of the hashing
#                 workload that gives the tests their expected digests.
# images/linux.cfg boots the result. Included by the top Makefile; paths
# are relative to the source root. The guest programs are compiled here
# for i686 without MMX/SSE; nothing 32-bit runs on the host.
IMG_OUT    := images/build
IMG_PROGS  := atomics hashwork forkexec
IMG_GUEST  := $(IMG_PROGS:%=$(IMG_OUT)/guest/%)
IMG_SCRIPTS := images/guest/init $(wildcard images/guest/bin/*)
IMG_GUEST_CFLAGS := -m32 -static -s -march=i686 -mno-sse -mno-mmx -mfpmath=387 -O2 \
                    -std=gnu11 -Wall -Wextra -Werror -pthread
IMG_HOST_CFLAGS  := -std=gnu11 -Wall -Wextra -Werror -O2

.PHONY: images images-fetch images-dbg clean-images
images: $(IMG_OUT)/vmlinuz $(IMG_OUT)/initrd.cpio.gz $(IMG_OUT)/host/hashwork

# make images-dbg: the kernel's full symbol table from its -dbg package
# (images/fetch-dbg.sh, about 760 MB through apt), for naming the data in
# the pages the DSM moves most (bench/linux_hot.sh, docs/linux.md).
images-dbg: $(IMG_OUT)/System.map-full
$(IMG_OUT)/System.map-full: | $(IMG_OUT)/vmlinuz
	@bash images/fetch-dbg.sh $(IMG_OUT)

# Always asks apt (a newer kernel package may have appeared); rewrites the
# outputs only when they change.
images-fetch:
	@bash images/fetch.sh $(IMG_OUT)
$(IMG_OUT)/vmlinuz $(IMG_OUT)/busybox &: images-fetch
	@test -f $(IMG_OUT)/vmlinuz && test -f $(IMG_OUT)/busybox

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
                           images/mkinitrd.sh $(IMG_SCRIPTS)
	@bash images/mkinitrd.sh $(IMG_OUT)

# The downloaded packages and everything built from them.
clean-images:
	rm -rf $(IMG_OUT)
