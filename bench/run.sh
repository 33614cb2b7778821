#!/usr/bin/env bash
# bench/run.sh - `make bench`: times three guests, each under vsmp's
# interpreter (--interp), vsmp's default engine (the dynamic translator
# once it exists) and qemu-system-i386 (TCG), in the same run, and prints
# guest MIPS and time ratios, then the translator's statistics from --stats
# when vsmp prints any. The guests:
#   bench_cpu  CPU-bound integer (hash, merge sort, bytecode VM)
#   bench_mem  memory-heavy (pointer chasing over 6 MiB, paging on, 4K pages)
#   bench_sys  exception/system-heavy (INT/IRET from ring 3, #PF, port I/O)
# Guest instruction counts come from vsmp's --stats; QEMU runs the same
# guest (the same instruction stream, checked by comparing the output), so
# its rate is that count over its time. Times are wall clock, best of
# BENCH_REPEAT runs, start-up included. Works without QEMU (its columns
# show "-") and with a vsmp that does not accept --interp yet (the interp
# column shows "-"). Environment: BUILD, BENCH_GUESTS, BENCH_REPEAT (3),
# BENCH_SCALE_<guest> (the guest's scale=N), QEMU (path, "" to skip),
# BENCH_PERF=1 (also record a perf profile of the default engine per guest
# into $BUILD/bench/<guest>.perf.data, with VSMP_PERF_MAP=1 so translated
# code is named in /tmp/perf-PID.map).
# See docs/benchmarks.md.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
GUESTS=${BENCH_GUESTS:-bench_cpu bench_mem bench_sys}
REPEAT=${BENCH_REPEAT:-3}
QEMU=${QEMU-$(command -v qemu-system-i386 || true)}
VSMP=${VSMP:-./vsmp}
TMO=${BENCH_TIMEOUT:-600}
out=$BUILD/bench
mkdir -p "$out"
export OMPI_MCA_btl_vader_single_copy_mechanism=none

scale_of() { # default work per guest: about 1-3 s each under QEMU TCG
    local v="BENCH_SCALE_$1"
    if [ -n "${!v:-}" ]; then echo "${!v}"; return; fi
    case $1 in
    bench_cpu) echo 3 ;;
    bench_mem) echo 3 ;;
    bench_sys) echo 20 ;;
    *) echo 1 ;;
    esac
}
now() { date +%s.%N; }
best() { printf '%s\n' "$@" | sort -g | head -n1; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
fmt() { # number or "-"
    if [ "$2" = - ]; then printf "%$1s" -; else printf "%$1.${3:-2}f" "$2"; fi
}
ratio() { # time ratio a/b, or "-"
    if [ "$1" = - ] || [ "$2" = - ]; then echo -; else calc "$1 / $2"; fi
}

[ -x "$VSMP" ] || { echo "bench: $VSMP missing (make vsmp)"; exit 1; }
have_interp=0
"$VSMP" --interp --version > /dev/null 2>&1 && have_interp=1
[ -n "$QEMU" ] && [ ! -x "$QEMU" ] && QEMU=""

printf 'machine: %s, %s cores\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)"
printf 'vsmp: %s; --interp %s; qemu: %s\n' "$("$VSMP" --version 2>&1 | head -n1)" \
    "$([ $have_interp = 1 ] && echo accepted || echo 'not accepted (interp column empty)')" \
    "$(if [ -n "$QEMU" ]; then "$QEMU" --version | head -n1; else echo 'not installed (qemu columns empty)'; fi)"
printf 'times: best of %s, wall clock incl. start-up; ratios are time ratios (a/b > 1: a is slower)\n\n' "$REPEAT"

# run_vsmp GUEST ENGINE(interp|default) -> sets T (best seconds or -), INSNS, and keeps stderr
run_vsmp() {
    local g=$1 eng=$2 cfg=$out/$1.cfg flags=(--stats) ts=() rc t0 t1
    [ "$eng" = interp ] && flags+=(--interp)
    T=-
    for _ in $(seq "$REPEAT"); do
        t0=$(now)
        timeout "$TMO" "$VSMP" "${flags[@]}" "$cfg" > "$out/$g.$eng.out" 2> "$out/$g.$eng.err" < /dev/null
        rc=$?
        t1=$(now)
        if [ "$rc" != 1 ]; then
            echo "bench: $g failed under vsmp ($eng), status $rc:" >&2
            tail -n 5 "$out/$g.$eng.err" >&2
            FAILED=1
            return 1
        fi
        ts+=("$(calc "$t1 - $t0")")
    done
    T=$(best "${ts[@]}")
    INSNS=$(sed -n 's/.*rank 0: \([0-9]*\) instructions in.*/\1/p' "$out/$g.$eng.err" | head -n1)
}

run_qemu() {
    local g=$1 elf=$2 s=$3 ts=() rc t0 t1
    T=-
    [ -n "$QEMU" ] || return 0
    for _ in $(seq "$REPEAT"); do
        t0=$(now)
        timeout "$TMO" "$QEMU" -kernel "$elf" -append "scale=$s" -m 64 -display none -monitor none \
            -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
            > "$out/$g.qemu.out" 2> "$out/$g.qemu.err" < /dev/null
        rc=$?
        t1=$(now)
        if [ "$rc" != 1 ]; then
            echo "bench: $g failed under QEMU, status $rc" >&2
            FAILED=1
            return 1
        fi
        ts+=("$(calc "$t1 - $t0")")
    done
    T=$(best "${ts[@]}")
}

FAILED=0
rows=() stats=()
for g in $GUESTS; do
    elf=$BUILD/tests/guests/$g.elf
    [ -f "$elf" ] || { echo "bench: $elf missing (make guests)" >&2; FAILED=1; continue; }
    s=$(scale_of "$g")
    printf 'memory 64M\nkernel %s\ncmdline scale=%s\nconsole stdio\n' "$(realpath "$elf")" "$s" > "$out/$g.cfg"
    INSNS=0
    ti=-
    if [ $have_interp = 1 ]; then run_vsmp "$g" interp && ti=$T; fi
    run_vsmp "$g" default && td=$T || td=-
    run_qemu "$g" "$elf" "$s" && tq=$T || tq=-
    if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf > /dev/null; then
        VSMP_PERF_MAP=1 perf record -q -o "$out/$g.perf.data" "$VSMP" "$out/$g.cfg" \
            > /dev/null 2>&1 < /dev/null || true
    fi
    # the engines must agree with each other and with QEMU
    for e in interp qemu; do
        [ -f "$out/$g.$e.out" ] && [ -f "$out/$g.default.out" ] || continue
        [ "$e" = interp ] && [ "$ti" = - ] && continue
        [ "$e" = qemu ] && [ "$tq" = - ] && continue
        cmp -s "$out/$g.default.out" "$out/$g.$e.out" ||
            { echo "bench: $g: output of $e differs from vsmp's default engine" >&2; FAILED=1; }
    done
    [ -n "$INSNS" ] && [ "$INSNS" != 0 ] || { echo "bench: $g: no instruction count from --stats" >&2; FAILED=1; continue; }
    mips() { if [ "$1" = - ]; then echo -; else calc "$INSNS / $1 / 1000000"; fi; }
    rows+=("$(printf '%-10s %5s %11s | %7s %7s | %7s %7s | %7s %7s | %8s %8s %8s' "$g" "$s" "$INSNS" \
        "$(fmt 7 "$ti" 2)" "$(fmt 7 "$(mips "$ti")" 1)" "$(fmt 7 "$td" 2)" "$(fmt 7 "$(mips "$td")" 1)" \
        "$(fmt 7 "$tq" 2)" "$(fmt 7 "$(mips "$tq")" 1)" \
        "$(fmt 8 "$(ratio "$ti" "$tq")")" "$(fmt 8 "$(ratio "$td" "$tq")")" "$(fmt 8 "$(ratio "$ti" "$td")")")")
    # translator statistics: any other "vsmp: rank 0:" lines of --stats
    extra=$(grep -v ' instructions in ' "$out/$g.default.err" |
        sed -n -e 's/^vsmp: rank 0: //p' -e 's/^vsmp: \(engine: translator\|translator\): /\1: /p')
    [ -n "$extra" ] && stats+=("$g: $(echo "$extra" | paste -sd ';' | sed 's/;/; /g')")
done

printf '%-10s %5s %11s | %-15s | %-15s | %-15s | %-26s\n' "" "" "" "  interpreter" " default engine" "   QEMU TCG" "       time ratios"
printf '%-10s %5s %11s | %7s %7s | %7s %7s | %7s %7s | %8s %8s %8s\n' guest scale insns s MIPS s MIPS s MIPS \
    interp/q jit/q interp/jit
for r in "${rows[@]}"; do echo "$r"; done
echo
if [ ${#stats[@]} -gt 0 ]; then
    echo "translation statistics (vsmp --stats, default engine):"
    for s in "${stats[@]}"; do echo "  $s"; done
    # the figures the issue asks for, where vsmp names them
    for g in $GUESTS; do
        f=$out/$g.default.err
        [ -f "$f" ] || continue
        pick() { grep -oiE "$1[^0-9]{0,12}[0-9][0-9.]*%?" "$f" | head -n1 | grep -oE '[0-9][0-9.]*%?$' || echo '?'; }
        printf '  %-10s blocks translated %s, host bytes/guest insn %s, chain links %s, C lookups %s, interpreted %s\n' "$g" \
            "$(pick 'blocks( translated)?')" "$(pick 'bytes.{0,20}(insn|instruction)')" \
            "$(pick 'chain( links)?')" "$(pick 'C lookups')" "$(pick 'interp')"
    done
else
    echo "translation statistics: none (vsmp --stats prints no translator figures: the default engine is"
    echo "the interpreter, so the 'default engine' and 'jit' columns measure the interpreter too)"
fi
exit $FAILED
