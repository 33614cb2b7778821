#!/usr/bin/env bash
# bench/startup.sh - start-up time and resident memory per rank against
# the `memory` setting (`make bench-startup`; docs/startup.md). For each
# transport (single: ./vsmp CONFIG without mpirun; sm: mpirun over shared
# memory; tcp: mpirun --mca btl self,tcp --mca osc pt2pt), each memory
# size and each rank count it boots the trivial guest hello.elf (it prints
# a few lines and powers off through debug-exit: status 1) with every rank
# under build/tests/integration/maxrss, and prints one line:
#   wall_s      from starting mpirun (or the singleton) to its exit
#   rank_s      the slowest rank's own time: process start to the guest's
#               exit (MPI start-up, windows, the guest's few ms, teardown)
#   maxrss_MiB  the largest peak RSS of a rank (shared-memory pages it
#               mapped included)
#   sum_MiB     the ranks' peak RSS added up
# The best (lowest wall_s) of REPEAT runs. Environment: VSMP (./vsmp),
# BUILD (build), SIZES ("64M 1G 3G"), RANKS ("1 2"), MODES ("single sm
# tcp"), REPEAT (3).
set -euo pipefail
cd "$(dirname "$0")/.."
VSMP=${VSMP:-./vsmp}
BUILD=${BUILD:-build}
SIZES=${SIZES:-64M 1G 3G}
RANKS=${RANKS:-1 2}
MODES=${MODES:-single sm tcp}
REPEAT=${REPEAT:-3}
ELF=$BUILD/tests/guests/hello.elf
MAXRSS=$BUILD/tests/integration/maxrss
for f in "$ELF" "$MAXRSS" "$VSMP"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "startup: $f missing (make vsmp guests $MAXRSS)" >&2; exit 1; }
done
export OMPI_MCA_btl_vader_single_copy_mechanism=none
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
T=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-startup.XXXXXX")
trap 'rm -rf "$T"' EXIT

now() { date +%s.%N; }
echo "startup: $VSMP, hello.elf, best of $REPEAT; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %5s %6s %8s %8s %10s %8s\n' transport ranks memory wall_s rank_s maxrss_MiB sum_MiB
for mode in $MODES; do
    for np in $RANKS; do
        [ "$mode" = single ] && [ "$np" != 1 ] && continue
        for size in $SIZES; do
            printf 'memory %s\nkernel %s\n' "$size" "$(pwd)/$ELF" >"$T/cfg"
            best=
            for _ in $(seq 1 "$REPEAT"); do
                rm -f "$T"/rank.*
                run=("$MAXRSS" "$T/rank.%r" "$VSMP" "$T/cfg")
                case $mode in
                single) cmd=("${run[@]}") ;;
                sm)  cmd=(mpirun --oversubscribe -np "$np" --mca btl self,vader "${run[@]}") ;;
                tcp) cmd=(mpirun --oversubscribe -np "$np" --mca btl self,tcp --mca osc pt2pt
                          "${run[@]}") ;;
                esac
                t0=$(now)
                rc=0; timeout 900 "${cmd[@]}" >"$T/out" 2>"$T/err" </dev/null || rc=$?
                t1=$(now)
                # every rank's record: "status elapsed_s maxrss_kib"; the
                # guest powers off with status 1
                if [ "$(cat "$T"/rank.* 2>/dev/null | awk '$1 == 1' | wc -l)" != "$np" ] ||
                   ! grep -q hello "$T/out"; then
                    echo "startup: $mode np=$np memory $size: failed (status $rc)" >&2
                    grep '^vsmp' "$T/err" | head -n 3 >&2 || true
                    continue 2
                fi
                line=$(cat "$T"/rank.* | awk -v t0="$t0" -v t1="$t1" '
                    { if ($2 > es) es = $2; if ($3 > mx) mx = $3; sum += $3 }
                    END { printf "%.2f %.2f %.0f %.0f", t1 - t0, es, mx / 1024, sum / 1024 }')
                if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
                    best=$line
                fi
            done
            read -r wall es mx sum <<<"$best"
            printf '%-6s %5s %6s %8s %8s %10s %8s\n' "$mode" "$np" "$size" "$wall" "$es" "$mx" "$sum"
        done
    done
done
