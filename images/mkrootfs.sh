#!/usr/bin/env bash
# images/mkrootfs.sh OUTDIR - writes OUTDIR/rootfs.img, the default Linux
# guest's root disk: an ext4 file system image (IMG_ROOTFS_SIZE, default
# 256M, a sparse file) holding
#   /bin/busybox (images/fetch.sh) and a link in /bin for each of its
#   applets (but init), /usr/bin/env; /sbin/init (images/guest/init); the
#   guest scripts (images/guest/bin) and test programs (OUTDIR/guest/*) in
#   /usr/bin, as in the initramfs; /etc basics (passwd, group, hostname,
#   hosts, fstab, vsmp-packages: the Debian packages used); /dev with
#   console and null; /proc, /sys, /tmp, /mnt, /root, /run, /var/tmp.
# Made without root privileges: mke2fs -d copies a staging folder, then
# debugfs makes every file root's, sets every time stamp to IMG_EPOCH
# (default 2023-01-01; also the file system's own times, through
# E2FSPROGS_FAKE_TIME) and makes the device nodes. The UUID and directory
# hash seed are fixed, so the same inputs give the same bytes; the image
# is checked with e2fsck -fn and only replaced when it changes. The applet
# names are read from busybox's own table (the NUL-separated list that
# starts "[", "[["): no 32-bit program runs on the host.
set -euo pipefail
OUT=${1:?usage: images/mkrootfs.sh OUTDIR}
SIZE=${IMG_ROOTFS_SIZE:-256M}
EPOCH=${IMG_EPOCH:-1672531200}
UUID=5f1b6c1e-7a3d-4c59-9e0b-2d6f8a4c1e37
cd "$(dirname "$0")/.."
die() { echo "images: $*" >&2; exit 1; }
for t in mke2fs debugfs e2fsck; do
    command -v "$t" >/dev/null || PATH=$PATH:/sbin:/usr/sbin
    command -v "$t" >/dev/null || die "$t not found (e2fsprogs)"
done
for f in "$OUT/busybox" images/guest/init; do
    [ -f "$f" ] || die "$f missing (make images)"
done

x=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-rootfs.XXXXXX")
trap 'rm -rf "$x"' EXIT
s=$x/root
for d in bin sbin usr/bin usr/sbin etc dev proc sys tmp mnt root run var/tmp; do
    mkdir -p "$s/$d"
done
chmod 1777 "$s/tmp" "$s/var/tmp"
chmod 700 "$s/root"
install -m 755 "$OUT/busybox" "$s/bin/busybox"
tr '\0' '\n' <"$OUT/busybox" >"$x/strings"
awk 'prev == "[" && $0 == "[[" { on = 1; print "[" } on { if ($0 == "") exit; print } { prev = $0 }' \
    "$x/strings" >"$x/applets"
n=$(wc -l <"$x/applets")
if [ "$n" -lt 50 ] || grep -qv '^[][a-z0-9_.-]*$' "$x/applets" || ! grep -qx sh "$x/applets" ||
   ! grep -qx mount "$x/applets"; then
    die "cannot read the applet names from $OUT/busybox ($n names found)"
fi
while read -r a; do
    case $a in init|linuxrc|busybox) continue ;; esac
    ln -s busybox "$s/bin/$a"
done <"$x/applets"
ln -s /bin/busybox "$s/usr/bin/env"
install -m 755 images/guest/init "$s/sbin/init"
for f in images/guest/bin/* "$OUT"/guest/*; do
    install -m 755 "$f" "$s/usr/bin/${f##*/}"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$s/etc/passwd"
printf 'root:x:0:\n' >"$s/etc/group"
printf 'vsmp\n' >"$s/etc/hostname"
printf '127.0.0.1\tlocalhost vsmp\n' >"$s/etc/hosts"
printf '# the root disk (images/mkrootfs.sh); mounted by the initramfs\n/dev/root\t/\text4\tdefaults\t0 1\n' >"$s/etc/fstab"
if [ -f "$OUT/packages" ]; then cp "$OUT/packages" "$s/etc/vsmp-packages"; fi
chmod 644 "$s"/etc/*
find "$s" -exec touch -h -d "@$EPOCH" {} +

# mke2fs: ext4 with 4 KiB blocks whatever the size (-T default: not the
# 1 KiB blocks of "small"), fixed UUID and hash seed, fake clock
export E2FSPROGS_FAKE_TIME=$EPOCH
rm -f "$x/img"
mke2fs -q -F -t ext4 -T default -L vsmp-root -U "$UUID" \
       -E "hash_seed=$UUID,root_owner=0:0" -d "$s" "$x/img" "$SIZE" >"$x/log" 2>&1 ||
    die "mke2fs -d failed: $(tail -n 3 "$x/log")"
{
    (cd "$s" && find . -mindepth 1) | sed 's|^\.||' | while read -r p; do
        printf 'sif %s uid 0\nsif %s gid 0\nsif %s ctime @%s\n' "$p" "$p" "$p" "$EPOCH"
    done
    printf 'sif / ctime @%s\n' "$EPOCH"
    printf 'cd /dev\nmknod console c 5 1\nmknod null c 1 3\n'
    printf 'sif /dev/console mode 020600\nsif /dev/null mode 020666\n'
} >"$x/debugfs.cmd"
debugfs -w -f "$x/debugfs.cmd" "$x/img" >"$x/log" 2>&1 || die "debugfs failed: $(tail -n 3 "$x/log")"
if grep -v -e '^debugfs' -e '^Allocated inode' "$x/log" | grep -q .; then
    die "debugfs: $(grep -v -e '^debugfs' -e '^Allocated inode' "$x/log" | head -n 3)"
fi
e2fsck -fn "$x/img" >"$x/log" 2>&1 || die "e2fsck -fn of the new image failed: $(tail -n 5 "$x/log")"

if cmp -s "$x/img" "$OUT/rootfs.img"; then
    touch "$OUT/rootfs.img"
else
    cp --sparse=always "$x/img" "$OUT/rootfs.img.tmp"
    mv -f "$OUT/rootfs.img.tmp" "$OUT/rootfs.img"
    echo "images: $OUT/rootfs.img ($SIZE, $(du -k "$OUT/rootfs.img" | cut -f1) KiB used)"
fi
