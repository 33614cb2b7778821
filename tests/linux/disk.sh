#!/usr/bin/env bash
# tests/linux/disk.sh - `make check-disk`: Debian's i386 Linux on vsmp's
# virtio block device (issue 16), with the guest's root file system on a
# copy of images/build/rootfs.img (`make images`), and qemu-system-i386's
# virtio-blk on the same image as the oracle. Cases:
#   persist   one chain of jobs on one image, each a fresh boot from it:
#             every job checks the file the previous job wrote (its SHA-256
#             against the host's `hashwork -o SEED MIB`), then writes its
#             own and syncs; the jobs are vsmp sm:2, sm:1, sm:4, tcp:2,
#             QEMU -smp 2 (reading vsmp's file, writing one vsmp reads
#             next), sm:1. After each job, `e2fsck -fn` on the host is
#             clean and the last file is in the image (debugfs dump, its
#             digest the host's). The guests print the same lines under
#             both engines.
#   readonly  `disk IMG ro` as the second disk (vdb), vsmp sm:2 and QEMU
#             -smp 2 (readonly=on): the guest sees a read-only device
#             (blockdev --getro 1), a raw write and a read-write mount
#             fail, reading works; the image's bytes are unchanged.
#   kill      flush then kill: the guest writes numbered 4 KiB records to
#             a raw second disk, each fdatasync'ed before it prints
#             "diskio: flushed I"; the host kills one rank with SIGKILL
#             (rank 0, then rank 1 in the next repetition) once some are
#             out, waits for the whole job to end (no rank left), and
#             checks that the image holds every record up to the last one
#             printed. DISK_KILL_REPEAT (2) repetitions.
# Any of lib.sh's bad lines (panic, oops, lockup, stall) fails a case.
# Environment: DISK_CASES ("persist readonly kill"), DISK_KILL_REPEAT,
# LINUX_TIMEOUT (900 s per boot, a hang guard), QEMU, VSMP, MPIRUN.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
SRC=$(pwd)
read -r -a CASES <<<"${DISK_CASES:-persist readonly kill}"
KILL_REPEAT=${DISK_KILL_REPEAT:-2}
GUARD=${LINUX_TIMEOUT:-900}
HOSTHASH=$SRC/images/build/host/hashwork
ROOTFS=$SRC/images/build/rootfs.img

T=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-disk.XXXXXX")
# shellcheck source=tests/linux/lib.sh
. "$SRC/tests/linux/lib.sh"
linux_setup check-disk
[ -f "$ROOTFS" ] || { echo "check-disk: $ROOTFS missing (make images)"; exit 1; }
for t in e2fsck dumpe2fs debugfs python3; do
    command -v "$t" >/dev/null || { echo "check-disk: $t not found (README: packages)"; exit 1; }
done
[ -x "$VSMP" ] || { echo "check-disk: $VSMP missing (make vsmp)"; exit 1; }
# a private copy: its path names this run's processes only
cp "$VSMP" "$T/vsmp"; VSMP=$T/vsmp

con() { linux_console; }

# mkcfg NAME CMD [ro] [DISK...]: $T/NAME.cfg booting from $T/root.img
# (as vda; read-only when the third word is "ro"), the other disks after
# it, running CMD (vsmp.cmd: no double quote inside).
mkcfg() {
    local name=$1 cmd=$2 rootro=${3:-} d
    shift 3 2>/dev/null || shift $#
    {
        echo "memory 256M"
        echo "kernel $SRC/images/build/vmlinuz"
        echo "initrd $SRC/images/build/initrd.cpio.gz"
        echo "disk $T/root.img"
        for d in "$@"; do echo "disk $d"; done
        echo "cmdline console=ttyS0 root=/dev/vda${rootro:+ ro} vsmp.cmd=\"$cmd\""
    } >"$T/$name.cfg"
}

# boot NAME MODE CFG: one job to its end; 0 when it powered off cleanly
# (lib.sh's checks: no bad line, status 0, "reboot: Power down", the
# command's status 0), else fails NAME and returns 1.
boot() {
    local name=$1 mode=$2 cfg=$3
    LINUX_BAD=
    linux_start "$mode" "$cfg" "$GUARD" || { fail "$name" "cannot start"; return 1; }
    linux_finish
    if [ -n "${LINUX_BAD:-}" ]; then fail "$name" "bad console line: $LINUX_BAD"; return 1; fi
    case $LINUX_RC in
    124|137) fail "$name" "no poweroff within the ${GUARD}s guard (status $LINUX_RC)"; return 1 ;;
    esac
    con | grep -q 'reboot: Power down' || { fail "$name" "the kernel did not power down (status $LINUX_RC)"; return 1; }
    [ "$LINUX_RC" = 0 ] || { fail "$name" "exit status $LINUX_RC after poweroff, expected 0"; return 1; }
    con | grep -q -x 'vsmp-guest: command exited with status 0' ||
        { fail "$name" "the guest's command did not exit with status 0"; return 1; }
    return 0
}

# fsck_clean NAME IMG: e2fsck -fn finds nothing to fix and no journal to
# replay (its status is 0 even then: the output and the superblock's
# needs_recovery flag say so)
fsck_clean() {
    local out sb rc
    out=$(e2fsck -fn "$2" 2>&1); rc=$?
    sb=$(dumpe2fs -h "$2" 2>/dev/null)
    if [ $rc != 0 ] || grep -q -E 'Fix\? no|Warning|skipping journal' <<<"$out" ||
       grep -q needs_recovery <<<"$sb" || ! grep -q -E '^Filesystem state: +clean$' <<<"$sb"; then
        fail "$1" "e2fsck -fn $2 is not clean (status $rc): $(echo "$out" | grep -v '^e2fsck ' | head -n 4 | paste -sd '|')"; return 1
    fi
}

digest() { # SEED MIB: the host's digest of hashwork's data
    "$HOSTHASH" -o "$1" "$2" | sha256sum | cut -d' ' -f1
}

case_persist() {
    local mib=8 prev='' seed mode name cmd want got i=0 out
    cp --sparse=always "$ROOTFS" "$T/root.img"
    # MODE:SEED per job; the file written by a job is /persist-SEED.bin
    for step in sm:2:2 single:1:1 sm:4:4 tcp:2:3 qemu:2:5 single:1:6; do
        mode=${step%:*} seed=${step##*:} i=$((i + 1))
        name="disk persist $i, $(label "$mode")"
        cmd=''
        [ -z "$prev" ] || cmd="sha256sum /persist-$prev.bin; "
        cmd+="hashwork -o $seed $mib > /persist-$seed.bin && sync && echo persist-written-$seed"
        mkcfg "persist$i" "$cmd" ''
        boot "$name" "$mode" "$T/persist$i.cfg" || return
        if [ -n "$prev" ]; then
            want=$(digest "$prev" "$mib")
            con | grep -q -x "$want  /persist-$prev.bin" ||
                { fail "$name" "/persist-$prev.bin written by the job before: expected sha256 $want, got: $(con | grep -m1 "/persist-$prev.bin" || echo none)"; return; }
        fi
        con | grep -q -x "persist-written-$seed" || { fail "$name" "no persist-written-$seed"; return; }
        fsck_clean "$name" "$T/root.img" || return
        rm -f "$T/out.bin"
        if ! out=$(debugfs -R "dump /persist-$seed.bin $T/out.bin" "$T/root.img" 2>&1) || [ ! -s "$T/out.bin" ]; then
            fail "$name" "debugfs cannot dump /persist-$seed.bin from the image: $out"; return
        fi
        got=$(sha256sum <"$T/out.bin" | cut -d' ' -f1); want=$(digest "$seed" "$mib")
        [ "$got" = "$want" ] || { fail "$name" "/persist-$seed.bin in the image: sha256 $got, expected $want"; return; }
        pass "$name"
        prev=$seed
    done
}

case_readonly() {
    local mode name before after
    # the read-only disk: a small ext4 file system with one file
    rm -rf "$T/rofs"; mkdir -p "$T/rofs"; echo "read-only-content-17" >"$T/rofs/hello"
    rm -f "$T/ro.img"; truncate -s 8M "$T/ro.img"
    mke2fs -q -F -t ext4 -d "$T/rofs" -E root_owner=0:0 "$T/ro.img" || { fail "disk readonly" "mke2fs failed"; return; }
    before=$(sha256sum <"$T/ro.img")
    # the command: every line it prints is compared between the engines
    local cmd="echo getro=\$(blockdev --getro /dev/vdb); "
    cmd+="if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync 2>/dev/null; then echo raw-write=ok; else echo raw-write=failed; fi; "
    # (busybox mount falls back to a read-only mount when the device
    # refuses rw: what counts is how it ends up mounted)
    cmd+="mount -t ext4 -o rw /dev/vdb /mnt 2>/dev/null; echo rw-mount=\$(grep ' /mnt ' /proc/mounts | cut -d' ' -f4 | cut -c1-2); umount /mnt; "
    cmd+="mount -t ext4 -o ro /dev/vdb /mnt && cat /mnt/hello; "
    cmd+="if touch /mnt/new 2>/dev/null; then echo touch=ok; else echo touch=failed; fi; umount /mnt"
    cp --sparse=always "$ROOTFS" "$T/root.img"
    mkcfg readonly "$cmd" ro "$T/ro.img ro"
    local expect='getro=1
raw-write=failed
rw-mount=ro
read-only-content-17
touch=failed'
    for mode in sm:2 qemu:2; do
        name="disk readonly, $(label "$mode")"
        boot "$name" "$mode" "$T/readonly.cfg" || continue
        got=$(con | grep -E -x 'getro=.*|raw-write=.*|rw-mount=.*|read-only-content-17|touch=.*')
        [ "$got" = "$expect" ] || { fail "$name" "expected: $(echo "$expect" | paste -sd ' '), got: $(echo "$got" | paste -sd ' ')"; continue; }
        after=$(sha256sum <"$T/ro.img")
        [ "$after" = "$before" ] || { fail "$name" "the read-only image changed"; continue; }
        pass "$name"
    done
}

# rank_pid RANK: the pid of this run's vsmp process with that MPI rank
rank_pid() {
    local p
    for p in $(pgrep -f "^$VSMP "); do
        grep -q -x "OMPI_COMM_WORLD_RANK=$1" < <(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null) &&
            { echo "$p"; return 0; }
    done
    return 1
}

# check_records IMG LAST: records 0..LAST of diskio flushloop are in IMG
check_records() {
    python3 - "$1" "$2" <<'EOF'
import sys
img, last = sys.argv[1], int(sys.argv[2])
with open(img, 'rb') as f:
    for i in range(last + 1):
        f.seek(i * 4096)
        rec = f.read(4096)
        want = b'vsmp-flush-record %08u\n' % i
        if len(rec) != 4096 or not rec.startswith(want) or rec != (want * (4096 // len(want) + 1))[:4096]:
            print('record %d of 0..%d missing or wrong: %r' % (i, last, rec[:40]))
            sys.exit(1)
EOF
}

case_kill() {
    local rep rank name pid last left
    cp --sparse=always "$ROOTFS" "$T/root.img"
    for ((rep = 0; rep < KILL_REPEAT; rep++)); do
        rank=$((rep % 2))
        name="disk flush-then-kill $((rep + 1)), kill -9 of rank $rank, $(label sm:2)"
        rm -f "$T/flush.img"; truncate -s 64M "$T/flush.img"
        # root read-only: the only writes are the records
        mkcfg kill "diskio flushloop /dev/vdb 0" ro "$T/flush.img"
        LINUX_BAD=
        linux_start sm:2 "$T/kill.cfg" "$GUARD" || { fail "$name" "cannot start"; return; }
        # at a random point after the first few records
        local at=$((5 + RANDOM % 40))
        linux_wait "^diskio: flushed $at\$" "$GUARD"
        case $? in
        0) ;;
        2) linux_kill; fail "$name" "bad console line: $LINUX_BAD"; continue ;;
        *) linux_kill; fail "$name" "no \"diskio: flushed $at\" (status ${LINUX_RC:-})"; continue ;;
        esac
        if ! pid=$(rank_pid "$rank"); then linux_kill; fail "$name" "cannot find rank $rank's process"; continue; fi
        kill -KILL "$pid"
        # the job must end on its own: mpirun takes the other rank down
        local i=0
        while kill -0 "$LINUX_PID" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
        if kill -0 "$LINUX_PID" 2>/dev/null; then
            linux_kill; fail "$name" "the job did not end within 60 s of the kill"; continue
        fi
        { exec {LINUX_IN}>&-; } 2>/dev/null || true
        if left=$(pgrep -f "^$VSMP "); then
            pkill -KILL -f "^$VSMP "; fail "$name" "ranks left running after the kill: $(echo "$left" | paste -sd ' ')"; continue
        fi
        last=$(con | grep -E '^diskio: flushed [0-9]+$' | tail -n1 | cut -d' ' -f3)
        [ -n "$last" ] || { fail "$name" "no record printed"; continue; }
        if ! out=$(check_records "$T/flush.img" "$last"); then fail "$name" "$out"; continue; fi
        # the root was mounted read-only: it must still be clean
        fsck_clean "$name" "$T/root.img" || continue
        pass "$name (records 0..$last flushed before the kill, all in the image)"
    done
}

label() { # MODE:N
    case ${1%%:*} in
    qemu) echo "qemu -smp ${1#*:}" ;;
    single) echo "vsmp singleton" ;;
    *) echo "vsmp ${1%%:*} np=${1#*:}" ;;
    esac
}

for c in "${CASES[@]}"; do
    "case_$c"
done
echo "check-disk: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
