#!/usr/bin/env bash
# bench/linux_hot.sh - where Linux's sharing is: the DSM statistics
# (vsmp --stats) of a boot, and of a boot followed by each workload, on
# N CPUs, with the pages that fault most named by kernel section and
# symbol (bench/hotsyms.awk with the guest's _text of the same boot).
#   workloads  boot   the banner, then poweroff (vsmp.cmd: vsmp-ktext)
#              hash   N processes each hashing 64 MiB (vsmp-hash 64)
#              fork   300 fork+exec of /bin/true (vsmp-fork 300)
# Symbols: images/build/System.map-full (make images-dbg: the kernel's
# -dbg package) names data and functions; without it the guest's
# /proc/kallsyms of the same boot names functions only.
# Environment: HOT_CPUS (2), HOT_WORKLOADS ("boot hash fork"), MPIRUN,
# VSMP (./vsmp), LINUX_TIMEOUT (900 s, a hang guard). Output: per workload
# the fault totals, the time waited, and the 20 hottest pages; raw logs
# in $BUILD/bench/linux-hot/.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
N=${HOT_CPUS:-2}
read -r -a WORKLOADS <<<"${HOT_WORKLOADS:-boot hash fork}"
VSMP=${VSMP:-./vsmp}
MPIRUN=${MPIRUN:-mpirun}
GUARD=${LINUX_TIMEOUT:-900}
OUT=$BUILD/bench/linux-hot
mkdir -p "$OUT"
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
SYMS=images/build/System.map-full
for w in "${WORKLOADS[@]}"; do
    case $w in
    boot) cmd="vsmp-ktext" ;;
    hash) cmd="vsmp-ktext; vsmp-hash 64" ;;
    fork) cmd="vsmp-ktext; vsmp-fork 300" ;;
    *) echo "linux_hot: unknown workload $w" >&2; exit 2 ;;
    esac
    cfg=$OUT/$w.cfg
    printf 'memory 256M\nkernel %s\ninitrd %s\ncmdline console=ttyS0 vsmp.cmd="%s"\n' \
        "$PWD/images/build/vmlinuz" "$PWD/images/build/initrd.cpio.gz" "$cmd" >"$cfg"
    t0=$EPOCHREALTIME
    timeout -k 5 "$GUARD" "$MPIRUN" --oversubscribe -np "$N" "$VSMP" --stats "$cfg" \
        </dev/null >"$OUT/$w.console" 2>"$OUT/$w.stats"
    rc=$?
    t1=$EPOCHREALTIME
    echo "== $w on $N CPUs: exit status $rc, $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
    ktext=$(tr -d '\r' <"$OUT/$w.console" | sed -n 's/^vsmp-ktext: \([0-9a-f]*\)$/\1/p' | head -n 1)
    if [ "$rc" != 0 ] || [ -z "$ktext" ]; then
        echo "   failed: see $OUT/$w.console and $OUT/$w.stats"; continue
    fi
    grep -E 'dsm: faults|fault latency|migratory' "$OUT/$w.stats" | sed 's/^vsmp: /   /'
    syms=$SYMS
    if [ ! -s "$syms" ]; then
        # functions only: the guest's kallsyms is not printed by these
        # workloads; say so rather than guess
        echo "   (no $SYMS: make images-dbg to name the pages)"
        continue
    fi
    awk -v ktext="$ktext" -f bench/hotsyms.awk "$syms" "$OUT/$w.stats" | sed 's/^/   /'
done
