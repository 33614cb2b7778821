#!/usr/bin/env bash
# bench/linux.sh - `make bench-linux`: the Linux guest of images/ timed
# under qemu-system-i386 (TCG) and vsmp in the same run, each figure at
# 1, 2 and 4 CPUs (QEMU -smp N; vsmp N ranks):
#   boot   host seconds from the start of the job to the init banner
#          (tests/linux/banner.cfg: vsmp.cmd=true)
#   hash   N processes, one per CPU, each hashing 64 MiB of its own data
#          (tests/linux/hash.cfg): host seconds between the guest's marks
#          hash-begin and hash-end, and the throughput N*64 MiB / seconds;
#          the digests are checked against the host's
#   fork   300 fork+exec of /bin/true (tests/linux/fork.cfg): host seconds
#          between the marks fork-begin and fork-end
# Host times come from timestamps the host puts on console lines as they
# arrive (tests/linux/lib.sh, LINUX_STAMP), so the guest's clock is not
# trusted. Each run must end in a clean poweroff with none of lib.sh's bad
# lines, else its figures read "fail" (the table still prints; the exit
# status is then 1). Raw logs stay in $BUILD/bench/linux/.
# Environment: BENCH_LINUX_CPUS ("1 2 4"), BENCH_LINUX_ENGINES ("qemu sm":
# lib.sh's modes without the count), BENCH_LINUX_REPEAT (1: best of),
# BENCH_LINUX_FIGURES ("boot hash fork"), LINUX_TIMEOUT (900 s per run, a
# hang guard), QEMU, VSMP, MPIRUN.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
SRC=$(pwd)
BUILD=${BUILD:-build}
read -r -a CPUS <<<"${BENCH_LINUX_CPUS:-1 2 4}"
read -r -a ENGINES <<<"${BENCH_LINUX_ENGINES:-qemu sm}"
read -r -a FIGURES <<<"${BENCH_LINUX_FIGURES:-boot hash fork}"
REPEAT=${BENCH_LINUX_REPEAT:-1}
GUARD=${LINUX_TIMEOUT:-900}
HOSTHASH=$SRC/images/build/host/hashwork
LOGS=$BUILD/bench/linux
mkdir -p "$LOGS"
T=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-blinux.XXXXXX")
# shellcheck source=tests/linux/lib.sh
. "$SRC/tests/linux/lib.sh"
linux_setup bench-linux
if [ -x "$VSMP" ]; then cp "$VSMP" "$T/vsmp"; VSMP=$T/vsmp; fi
FAILED=0

calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
# stamp_of ERE: the host time of the first stamped console line matching
stamp_of() { grep -m1 -E -- "^[0-9.]+ $1" "$T/stamped" | cut -d' ' -f1; }

# run_once ENGINE N FIGURE: one boot; prints the figure's seconds or "fail"
run_once() {
    local eng=$1 n=$2 fig=$3 cfg t1 t2 i want mib=64
    cfg=$SRC/tests/linux/$([ "$fig" = boot ] && echo banner || echo "$fig").cfg
    LINUX_STAMP=1 linux_start "$eng:$n" "$cfg" "$GUARD" || { echo fail; return; }
    linux_finish
    cp "$T/stamped" "$LOGS/$fig.$eng.$n.log"; cp "$T/err" "$LOGS/$fig.$eng.$n.err" 2>/dev/null
    if [ -n "${LINUX_BAD:-}" ] || [ "$LINUX_RC" != 0 ] || ! grep -q 'reboot: Power down' "$T/stamped" ||
       ! grep -q 'vsmp-guest: command exited with status 0' "$T/stamped"; then
        echo "bench-linux: $fig on $eng:$n failed (status $LINUX_RC${LINUX_BAD:+, $LINUX_BAD}); log $LOGS/$fig.$eng.$n.log" >&2
        echo fail; return
    fi
    case $fig in
    boot) t1=$(stamp_of 'vsmp-guest: up,'); t1=$(calc "$t1 - $LINUX_T0"); echo "$t1"; return ;;
    hash)
        for ((i = 1; i <= n; i++)); do
            want=$(cd "$T" && "$HOSTHASH" -o "$i" "$mib" | sha256sum | cut -d' ' -f1)
            grep -q -E " hashwork seed=$i mib=$mib cpu=[0-9]+ sha256=$want\$" "$T/stamped" ||
                { echo "bench-linux: hash on $eng:$n: process $i's digest differs from the host's" >&2; echo fail; return; }
        done
        t1=$(stamp_of 'vsmp-mark: hash-begin'); t2=$(stamp_of 'vsmp-mark: hash-end') ;;
    fork)
        grep -q 'forkexec count=300 path=/bin/true ok' "$T/stamped" || { echo fail; return; }
        t1=$(stamp_of 'vsmp-mark: fork-begin'); t2=$(stamp_of 'vsmp-mark: fork-end') ;;
    esac
    [ -n "$t1" ] && [ -n "$t2" ] || { echo fail; return; }
    calc "$t2 - $t1"
}

# best ENGINE N FIGURE: best of REPEAT, or fail
best() {
    local b=fail v
    for ((r = 0; r < REPEAT; r++)); do
        v=$(run_once "$@")
        if [ "$v" = fail ]; then FAILED=1; echo fail; return; fi
        if [ "$b" = fail ] || awk "BEGIN { exit !($v < $b) }"; then b=$v; fi
    done
    echo "$b"
}

printf 'machine: %s, %s cores; load %s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
    "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'kernel: %s; qemu: %s (-cpu %s %s)\n' "$(paste -sd ' ' images/build/packages 2>/dev/null)" \
    "$("$QEMU" --version 2>/dev/null | head -n1)" "$QEMU_CPU" "${QEMU_TIMING[*]}"
printf 'times: host wall clock, best of %s; vsmp engines: %s\n\n' "$REPEAT" "${ENGINES[*]}"

declare -A R
for fig in "${FIGURES[@]}"; do
    for n in "${CPUS[@]}"; do
        for eng in "${ENGINES[@]}"; do
            R[$fig.$eng.$n]=$(best "$eng" "$n" "$fig" | tail -n1)
            [ "${R[$fig.$eng.$n]}" != fail ] || FAILED=1
        done
    done
done
# when a best() failed inside $( ), FAILED was set in a subshell: recount
for v in "${R[@]}"; do [ "$v" != fail ] || FAILED=1; done

printf '%-34s %4s' figure CPUs
for eng in "${ENGINES[@]}"; do printf ' %10s' "$eng"; done
[ "${#ENGINES[@]}" -lt 2 ] || printf ' %12s' "${ENGINES[1]}/${ENGINES[0]}"
printf '\n'
row() { # LABEL N VALUES...
    local label=$1 n=$2; shift 2
    printf '%-34s %4s' "$label" "$n"
    for v in "$@"; do printf ' %10s' "$v"; done
    if [ "$#" -ge 2 ]; then
        if [ "$1" != fail ] && [ "$2" != fail ] && [ "$1" != - ] && [ "$2" != - ]; then
            printf ' %12s' "$(calc "$2 / $1")"
        else printf ' %12s' -; fi
    fi
    printf '\n'
}
for fig in "${FIGURES[@]}"; do
    for n in "${CPUS[@]}"; do
        vals=(); tput=(); speed=()
        for eng in "${ENGINES[@]}"; do
            v=${R[$fig.$eng.$n]}; vals+=("$v")
            one=${R[$fig.$eng.${CPUS[0]}]}
            if [ "$fig" = hash ] && [ "$v" != fail ]; then
                tput+=("$(calc "$n * 64 / $v")")
                if [ "$one" != fail ]; then speed+=("$(calc "($n * 64 / $v) / (${CPUS[0]} * 64 / $one)")"); else speed+=(-); fi
            else tput+=(fail); speed+=(-); fi
        done
        case $fig in
        boot) row "boot to init banner (s)" "$n" "${vals[@]}" ;;
        hash) row "hash N x 64 MiB (s)" "$n" "${vals[@]}"
              row "hash throughput (MiB/s)" "$n" "${tput[@]}"
              row "  vs ${CPUS[0]} CPU (throughput ratio)" "$n" "${speed[@]}" ;;
        fork) row "300 fork+exec /bin/true (s)" "$n" "${vals[@]}" ;;
        esac
    done
done
echo
echo "ratio column: ${ENGINES[1]:-}/${ENGINES[0]} of the row's values (times: >1 means ${ENGINES[1]:-} slower)"
[ "$FAILED" = 0 ] || { echo "bench-linux: some runs failed (see above; logs in $LOGS)"; exit 1; }
