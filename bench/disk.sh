#!/usr/bin/env bash
# bench/disk.sh - `make bench-disk`: the guest's disk throughput under
# vsmp (virtio-mmio block device on rank 0) beside qemu-system-i386 TCG
# (virtio-blk-pci) in the same run, same kernel, initramfs, root image
# (a fresh copy of images/build/rootfs.img for each boot, kept on the
# build folder's file system, not on a tmpfs, so that fsync reaches a
# disk) and CPU count. One boot per engine and CPU count runs, in the
# guest (images/progs/diskio.c, the guest's own clock):
#   write 64 MiB to a new file, sequentially, without fsync (page cache)
#   write 64 MiB again with fsync before the clock stops
#   read it back after dropping the guest's page cache (the device)
#   2000 random 4 KiB O_DIRECT reads of it (IOPS)
# then the flush-then-kill test of tests/linux/disk.sh, BENCH_DISK_KILLS
# (20) times: fsync'ed records must all be in the image after kill -9 of
# a rank (alternately rank 0 and rank 1).
# Environment: BENCH_DISK_CPUS ("1 2"), BENCH_DISK_ENGINES ("qemu sm"),
# BENCH_DISK_KILLS (20; 0 skips), LINUX_TIMEOUT (900 s guard), QEMU,
# VSMP, MPIRUN. Logs in $BUILD/bench/disk/.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
SRC=$(pwd)
BUILD=${BUILD:-build}
read -r -a CPUS <<<"${BENCH_DISK_CPUS:-1 2}"
read -r -a ENGINES <<<"${BENCH_DISK_ENGINES:-qemu sm}"
KILLS=${BENCH_DISK_KILLS:-20}
GUARD=${LINUX_TIMEOUT:-900}
HOSTHASH=$SRC/images/build/host/hashwork
LOGS=$SRC/$BUILD/bench/disk
mkdir -p "$LOGS"
# scratch on the build folder's file system (fsync must reach a disk)
T=$(mktemp -d "$LOGS/run.XXXXXX")
# shellcheck source=tests/linux/lib.sh
. "$SRC/tests/linux/lib.sh"
linux_setup bench-disk
[ -f images/build/rootfs.img ] || { echo "bench-disk: images/build/rootfs.img missing (make images)"; exit 1; }
if [ -x "$VSMP" ]; then cp "$VSMP" "$T/vsmp"; VSMP=$T/vsmp; fi
FAILED=0

CMD='diskio write /bench.bin 64; diskio write /bench.bin 64 fsync; diskio read /bench.bin; diskio randread /bench.bin 2000'
# with several CPUs the read once more pinned to CPU 0 (the devices'
# rank under vsmp) and once to CPU 1: where the guest's scheduler puts
# the reader decides the unpinned figure (docs/disk.md)
PINNED='; taskset 1 diskio read /bench.bin; taskset 2 diskio read /bench.bin'
for n in "${CPUS[@]}"; do
    cat >"$T/bench$n.cfg" <<EOF
memory 256M
kernel $SRC/images/build/vmlinuz
initrd $SRC/images/build/initrd.cpio.gz
disk $T/root.img
cmdline console=ttyS0 root=/dev/vda vsmp.cmd="$CMD$([ "$n" -lt 2 ] || echo "$PINNED")"
EOF
done

printf 'machine: %s, %s cores; load %s; images on %s\n' \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$(df -T "$T" | awk 'NR == 2 { print $2 }')"
printf 'qemu: %s (-drive if=virtio, cache=writeback)\n\n' "$("$QEMU" --version 2>/dev/null | head -n1)"

declare -A R
for n in "${CPUS[@]}"; do
    for eng in "${ENGINES[@]}"; do
        cp --sparse=always images/build/rootfs.img "$T/root.img"
        LINUX_BAD=
        LINUX_VSMP_OPTS=$([ "$eng" = qemu ] || echo --stats) linux_start "$eng:$n" "$T/bench$n.cfg" "$GUARD" || { FAILED=1; continue; }
        linux_finish
        cp "$T/console" "$LOGS/$eng.$n.log"; cp "$T/err" "$LOGS/$eng.$n.err" 2>/dev/null
        if [ -n "${LINUX_BAD:-}" ] || [ "$LINUX_RC" != 0 ] ||
           ! linux_console | grep -q -x 'vsmp-guest: command exited with status 0'; then
            echo "bench-disk: $eng:$n failed (status $LINUX_RC${LINUX_BAD:+, $LINUX_BAD}); log $LOGS/$eng.$n.log" >&2
            FAILED=1; continue
        fi
        c=$(linux_console)
        R[write.$eng.$n]=$(echo "$c" | sed -n 's/^diskio: write 64 MiB fsync=0 in .*: \([0-9.]*\) MB\/s$/\1/p')
        R[wsync.$eng.$n]=$(echo "$c" | sed -n 's/^diskio: write 64 MiB fsync=1 in .*: \([0-9.]*\) MB\/s$/\1/p')
        reads=$(echo "$c" | sed -n 's/^diskio: read 64 MiB in .*: \([0-9.]*\) MB\/s$/\1/p')
        R[read.$eng.$n]=$(echo "$reads" | sed -n 1p)
        R[read0.$eng.$n]=$(echo "$reads" | sed -n 2p)
        R[read1.$eng.$n]=$(echo "$reads" | sed -n 3p)
        R[rand.$eng.$n]=$(echo "$c" | sed -n 's/^diskio: randread 2000 in .*: \([0-9]*\) IOPS$/\1/p')
        [ "$eng" = qemu ] || R[svc.$eng.$n]=$(cat "$T/console" "$T/err" | sed -n "s/.*longest service \([0-9]*\) us.*/\1/p" | sort -n | tail -n1)
    done
done

calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
printf '%-32s %4s' figure CPUs
for eng in "${ENGINES[@]}"; do printf ' %10s' "$eng"; done
[ "${#ENGINES[@]}" -lt 2 ] || printf ' %12s' "${ENGINES[1]}/${ENGINES[0]}"
printf '\n'
for fig in write wsync read read0 read1 rand; do
    case $fig in
    write) label='seq write, no fsync (MB/s)' ;;
    wsync) label='seq write + fsync (MB/s)' ;;
    read) label='seq read, cold cache (MB/s)' ;;
    read0) label='  the same, reader on CPU 0' ;;
    read1) label='  the same, reader on CPU 1' ;;
    rand) label='random 4 KiB reads (IOPS)' ;;
    esac
    for n in "${CPUS[@]}"; do
        case $fig in read0|read1) [ "$n" -ge 2 ] || continue ;; esac
        printf '%-32s %4s' "$label" "$n"
        vals=()
        for eng in "${ENGINES[@]}"; do
            v=${R[$fig.$eng.$n]:-}; [ -n "$v" ] || { v=fail; FAILED=1; }
            vals+=("$v"); printf ' %10s' "$v"
        done
        if [ "${#vals[@]}" -ge 2 ] && [ "${vals[0]}" != fail ] && [ "${vals[1]}" != fail ]; then
            printf ' %12s' "$(calc "${vals[1]} / ${vals[0]}")"
        fi
        printf '\n'
    done
done
echo
echo "ratio column: ${ENGINES[1]:-}/${ENGINES[0]} (>1: ${ENGINES[1]:-} faster)"
for n in "${CPUS[@]}"; do
    [ -z "${R[svc.sm.$n]:-}" ] || echo "vsmp at $n CPUs: longest single device service on rank 0: ${R[svc.sm.$n]} us (--stats)"
done

if [ "$KILLS" -gt 0 ]; then
    echo
    echo "flush-then-kill, $KILLS repetitions (tests/linux/disk.sh):"
    TMPDIR=$T DISK_CASES=kill DISK_KILL_REPEAT=$KILLS VSMP=$VSMP bash tests/linux/disk.sh | tee "$LOGS/kill.log" | grep -E '^(PASS|FAIL|check-disk)' || true
    grep -q "check-disk: $KILLS passed, 0 failed" "$LOGS/kill.log" || FAILED=1
fi
[ "$FAILED" = 0 ] || { echo "bench-disk: some runs failed (logs in $LOGS)"; exit 1; }
