#!/usr/bin/env bash
# images/qemu-disk.sh - checks the root disk of `make images` under
# qemu-system-i386 (the oracle; virtio-blk-pci), each boot on a fresh or
# the same copy of images/build/rootfs.img in a scratch folder:
#   - boot from the disk (root=/dev/vda): the banner, power down; a file
#     written and synced is there at the next boot;
#   - diskio write (with and without fsync), read, randread, and flushloop
#     on a second raw image whose records are then checked here;
#   - after each normal power-off the image is clean: e2fsck -fn status 0,
#     nothing it would fix, no journal to replay (no needs_recovery);
#   - `ro`: mounted read-only, writes refused, the image's bytes unchanged;
#   - root= naming a missing device: the one-line reason and a power-off,
#     the command not run;
#   - no root=: the initramfs as before (and diskio there);
#   - a guest killed after a sync leaves an image that is NOT clean by the
#     same test (so the test can fail).
# Prints "ok NAME" / "FAIL NAME" and a summary; exit status 1 on a failure.
# Not part of `make check` (the tests of tests/linux use the same image).
# Environment: QEMU (qemu-system-i386), QEMU_DISK_TIMEOUT (300 s a boot).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
QEMU=${QEMU:-qemu-system-i386}
GUARD=${QEMU_DISK_TIMEOUT:-300}
B=images/build
for f in $B/vmlinuz $B/initrd.cpio.gz $B/rootfs.img; do
    [ -f "$f" ] || { echo "qemu-disk: $f missing (make images)" >&2; exit 1; }
done
for t in "$QEMU" e2fsck dumpe2fs; do
    command -v "$t" >/dev/null || PATH=$PATH:/sbin:/usr/sbin
    command -v "$t" >/dev/null || { echo "qemu-disk: $t not found" >&2; exit 1; }
done
D=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-qemu-disk.XXXXXX")
trap 'rm -rf "$D"' EXIT

qargs() { # APPEND DISK...: the QEMU command line (as the array Q)
    local app=$1 d
    shift
    Q=("$QEMU" -m 256 -smp 2 -display none -serial stdio -monitor none -no-reboot
       -kernel "$B/vmlinuz" -initrd "$B/initrd.cpio.gz" -append "console=ttyS0 $app")
    for d in "$@"; do Q+=(-drive "file=$d,format=raw,if=virtio"); done
}
boot() { # OUT APPEND DISK...: one boot to power-off, the console in OUT
    local out=$1
    shift
    qargs "$@"
    timeout "$GUARD" "${Q[@]}" </dev/null 2>&1 | tr -d '\r' >"$out"
}
clean() { # IMG: e2fsck -fn status 0, nothing to fix, no journal to replay
    e2fsck -fn "$1" >"$1.fsck" 2>&1 && ! grep -qE 'Fix\? no|Warning|skipping journal' "$1.fsck" &&
        ! dumpe2fs -h "$1" 2>/dev/null | grep -q needs_recovery
}
records_ok() { # IMG N: records 0..N-1 of diskio flushloop, then a zero block
    local i line
    for ((i = 0; i < $2; i++)); do
        line=$(printf 'vsmp-flush-record %08u' "$i")
        cmp -s <(dd if="$1" bs=4096 skip="$i" count=1 status=none) \
               <(yes "$line" | head -c 4096) || return 1
    done
    cmp -s <(dd if="$1" bs=4096 skip="$2" count=1 status=none) <(head -c 4096 /dev/zero)
}
OK=0 BAD=0
check() { # NAME COMMAND...
    local name=$1
    shift
    if "$@"; then echo "ok    $name"; OK=$((OK + 1)); else echo "FAIL  $name"; BAD=$((BAD + 1)); fi
}
has() { grep -qE "$2" "$1"; }        # FILE ERE: a line matches
hasx() { grep -qxF "$2" "$1"; }      # FILE LINE: the exact line

img=$D/root.img tok=persist-$$-$RANDOM
cp --sparse=always $B/rootfs.img "$img"
boot "$D/1" "root=/dev/vda vsmp.cmd=\"echo $tok > /root/f; sync\"" "$img"
check "disk boot: banner" has "$D/1" '^vsmp-guest: up, 2 CPUs \(online 0-1\)$'
check "disk boot: power down" has "$D/1" 'reboot: Power down'
check "disk boot: e2fsck -n clean" clean "$img"
boot "$D/2" 'root=/dev/vda vsmp.cmd="cat /root/f"' "$img"
check "next boot: the file written before" hasx "$D/2" "$tok"
check "next boot: e2fsck -n clean" clean "$img"

truncate -s 8M "$D/flush.img"
boot "$D/3" 'root=/dev/vda vsmp.cmd="diskio write /root/big 64 fsync && diskio write /root/b2 16 && diskio read /root/big && diskio randread /root/big 300 && diskio flushloop /dev/vdb 40"' \
     "$img" "$D/flush.img"
num='[0-9]+\.[0-9]{3} s: [0-9]+'
check "diskio write fsync" has "$D/3" "^diskio: write 64 MiB fsync=1 in $num\.[0-9] MB/s$"
check "diskio write" has "$D/3" "^diskio: write 16 MiB fsync=0 in $num\.[0-9] MB/s$"
check "diskio read" has "$D/3" "^diskio: read 64 MiB in $num\.[0-9] MB/s$"
check "diskio randread" has "$D/3" "^diskio: randread 300 in $num IOPS$"
check "diskio flushloop: last record printed" hasx "$D/3" "diskio: flushed 39"
check "diskio flushloop: records in the image" records_ok "$D/flush.img" 40
check "diskio boot: e2fsck -n clean" clean "$img"

sum=$(sha256sum <"$img")
boot "$D/4" 'root=/dev/vda ro vsmp.cmd="mount; cat /root/f; echo x > /root/g || echo write-refused"' "$img"
check "ro: mounted read-only" has "$D/4" '^/dev/vda on / type ext4 \(ro'
check "ro: write refused" hasx "$D/4" write-refused
check "ro: reads" hasx "$D/4" "$tok"
check "ro: image unchanged" test "$(sha256sum <"$img")" = "$sum"

boot "$D/5" 'root=/dev/vdb vsmp.cmd="echo ran"' "$img"
check "missing root device: reason, power down, command not run" \
      eval "has $D/5 '^vsmp-guest: cannot boot from /dev/vdb: no block device' &&
            has $D/5 'reboot: Power down' && ! hasx $D/5 ran"

boot "$D/6" 'vsmp.cmd="diskio write /tmp/x 4 && diskio read /tmp/x; grep -c vda /proc/mounts"' "$img"
check "no root=: the initramfs as before (and diskio)" \
      eval "has $D/6 '^vsmp-guest: up, 2 CPUs' && has $D/6 '^diskio: read 4 MiB' &&
            ! has $D/6 '^vsmp-guest: mounting' && hasx $D/6 0"

# a guest killed after its sync: the journal needs replaying
cp --sparse=always $B/rootfs.img "$D/kill.img"
qargs 'root=/dev/vda vsmp.cmd="echo x > /root/z; sync; echo synced; sleep 1000"' "$D/kill.img"
"${Q[@]}" </dev/null >"$D/7" 2>&1 &
qpid=$!
for ((i = 0; i < GUARD * 2; i++)); do
    grep -q '^synced' "$D/7" && break
    sleep 0.5
done
kill -9 "$qpid" 2>/dev/null
wait "$qpid" 2>/dev/null
check "a killed guest's image is not clean (the test can fail)" eval "! clean $D/kill.img"

echo "qemu-disk: $OK ok, $BAD failed"
[ "$BAD" = 0 ]
