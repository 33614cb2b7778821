#!/usr/bin/env bash
# images/mkinitrd.sh OUTDIR - writes OUTDIR/initrd.cpio.gz, the default
# Linux guest's initramfs: /init (images/guest/init), busybox (from
# images/fetch.sh) with /bin/sh, the guest scripts (images/guest/bin), the
# test programs (OUTDIR/guest/*, built by images/images.mk), /dev/console
# and /dev/null, and in /lib/modules/vsmp the kernel modules for a virtio
# disk with ext4 with their load order (OUTDIR/kmod: images/kmods.sh,
# run by images/fetch.sh), which /init loads for root=/dev/vdX. The archive is made by OUTDIR/host/mkcpio (uid 0, mtime 0)
# and gzip -n, so the same inputs give the same bytes; the file is only
# replaced when they change. The applet links are made by init in the
# guest (busybox --install -s): no 32-bit program runs on the host.
set -euo pipefail
OUT=${1:?usage: images/mkinitrd.sh OUTDIR}
cd "$(dirname "$0")/.."
for f in "$OUT/busybox" "$OUT/host/mkcpio" "$OUT/kmod/order" images/guest/init; do
    [ -f "$f" ] || { echo "images: $f missing (make images)" >&2; exit 1; }
done
list=$OUT/initrd.list
{
    echo "# the initramfs of the default Linux guest (images/mkinitrd.sh)"
    for d in /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /tmp /root /etc \
             /lib /lib/modules /lib/modules/vsmp; do
        echo "dir $d 0755"
    done
    echo "nod /dev/console 0600 c 5 1"
    echo "nod /dev/null 0666 c 1 3"
    echo "file /init 0755 images/guest/init"
    echo "file /bin/busybox 0755 $OUT/busybox"
    echo "slink /bin/sh 0777 busybox"
    for f in images/guest/bin/*; do
        echo "file /usr/bin/${f##*/} 0755 $f"
    done
    for f in "$OUT"/guest/*; do
        echo "file /usr/bin/${f##*/} 0755 $f"
    done
    echo "file /lib/modules/vsmp/order 0644 $OUT/kmod/order"
    while read -r ko _; do
        echo "file /lib/modules/vsmp/$ko 0644 $OUT/kmod/$ko"
    done <"$OUT/kmod/order"
} >"$list.tmp"
mv -f "$list.tmp" "$list"
"$OUT/host/mkcpio" "$list" | gzip -n -9 >"$OUT/initrd.cpio.gz.tmp"
if cmp -s "$OUT/initrd.cpio.gz.tmp" "$OUT/initrd.cpio.gz"; then
    rm -f "$OUT/initrd.cpio.gz.tmp"
else
    mv -f "$OUT/initrd.cpio.gz.tmp" "$OUT/initrd.cpio.gz"
    echo "images: $OUT/initrd.cpio.gz ($(stat -c %s "$OUT/initrd.cpio.gz") bytes)"
fi
