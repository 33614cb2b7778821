#!/usr/bin/env bash
# bench/run.sh - `make bench`: times CPU-bound test guests under vsmp (the
# interpreter) and under qemu-system-i386 (TCG) in the same run, and prints
# guest instructions per second and the time ratio vsmp/QEMU.
# Guest instruction counts come from vsmp's --stats; QEMU runs the same
# guest (same instruction stream), so its rate is that count over its time.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
GUESTS=${BENCH_GUESTS:-bench_cpu}
REPEAT=${BENCH_REPEAT:-3}
QEMU=$(command -v qemu-system-i386 || true)
export OMPI_MCA_btl_vader_single_copy_mechanism=none

now() { date +%s.%N; }
best() { # best (minimum) of several timings
    printf '%s\n' "$@" | sort -g | head -n1
}
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

printf 'machine: %s, %s cores\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)"
printf '%-12s %10s %12s %10s %10s %10s %8s\n' guest vsmp_s insns vsmp_MIPS qemu_s qemu_MIPS ratio
for g in $GUESTS; do
    elf=$BUILD/tests/guests/$g.elf
    cfg=$BUILD/bench/$g.cfg
    mkdir -p "$BUILD/bench"
    printf 'memory 64M\nkernel %s\nconsole stdio\n' "$(realpath "$elf")" > "$cfg"
    vt=(); insns=0
    for _ in $(seq "$REPEAT"); do
        t0=$(now)
        set +e
        ./vsmp --stats "$cfg" > "$BUILD/bench/$g.vsmp.out" 2> "$BUILD/bench/$g.vsmp.err"
        rc=$?
        set -e
        t1=$(now)
        if [ "$rc" != 1 ]; then
            echo "bench: $g failed under vsmp (status $rc):"; cat "$BUILD/bench/$g.vsmp.err"; exit 1
        fi
        vt+=("$(calc "$t1 - $t0")")
        insns=$(sed -n 's/.*rank 0: \([0-9]*\) instructions.*/\1/p' "$BUILD/bench/$g.vsmp.err" | head -n1)
    done
    v=$(best "${vt[@]}")
    vm=$(calc "$insns / $v / 1000000")
    if [ -n "$QEMU" ]; then
        qt=()
        for _ in $(seq "$REPEAT"); do
            t0=$(now)
            set +e
            timeout 300 "$QEMU" -kernel "$elf" -m 64 -display none -monitor none -serial stdio \
                -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
                > "$BUILD/bench/$g.qemu.out" 2>&1 < /dev/null
            rc=$?
            set -e
            t1=$(now)
            [ "$rc" = 1 ] || { echo "bench: $g failed under QEMU (status $rc)"; exit 1; }
            qt+=("$(calc "$t1 - $t0")")
        done
        q=$(best "${qt[@]}")
        cmp -s "$BUILD/bench/$g.vsmp.out" "$BUILD/bench/$g.qemu.out" ||
            { echo "bench: $g output differs between vsmp and QEMU"; exit 1; }
        qm=$(calc "$insns / $q / 1000000")
        printf '%-12s %10.3f %12s %10.1f %10.3f %10.1f %8.2f\n' "$g" "$v" "$insns" "$vm" "$q" "$qm" "$(calc "$v / $q")"
    else
        printf '%-12s %10.3f %12s %10.1f %10s %10s %8s\n' "$g" "$v" "$insns" "$vm" - - -
    fi
done
