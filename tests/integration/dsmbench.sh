#!/usr/bin/env bash
# tests/integration/dsmbench.sh - `make dsmbench`: runs the measurement
# guest tests/integration/guests/dsmbench.c (DSM page-fault times as the
# guest sees them, target CPU busy in guest code or halted) under vsmp at
# 2 and 4 ranks over shared memory and over TCP, with vsmp's --stats fault
# service time by kind (for each kind, the rank that served most of them:
# the phase that measured it), the guest's baseline of a TLB miss on a page
# it already holds (local-read, local-write), and the raw 4 KiB MPI_Get of
# the same transports for comparison: measured inside the same job under
# the same load (vsmp --baseline: every CPU times a raw 4 KiB MPI_Get +
# flush of another rank's memory every 2 ms) and, idle, by
# bench/mpi_fault. Prints the figures; docs/smp.md and docs/benchmarks.md
# have the ones measured.
# Environment: BUILD (build), VSMP (./vsmp), MPIRUN (mpirun), SLICE
# (vsmp --slice; default vsmp's own), DSMBENCH_ARGS (more vsmp options,
# e.g. "--take home --idle backoff"), DSMBENCH_PAGES (512),
# DSMBENCH_RANKS ("2 4"), DSMBENCH_TRANSPORTS ("sm tcp").
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
VSMP=${VSMP:-./vsmp}
MPIRUN=${MPIRUN:-mpirun}
ELF=$PWD/$BUILD/tests/integration/guests/dsmbench.elf
export OMPI_MCA_btl_vader_single_copy_mechanism=none
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
[ -f "$ELF" ] || { echo "dsmbench: $ELF missing (make dsmbench)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-dsmbench.XXXXXX")
trap 'rm -rf "$T"' EXIT
PAGES=${DSMBENCH_PAGES:-512}
# three regions of PAGES pages from 8 MiB (dsmbench.c), rounded up to MiB
MEM_MB=$(( 8 + (3 * PAGES * 4 + 1023) / 1024 + 1 ))
printf 'memory %sM\nkernel %s\ncmdline pages=%s\n' "$MEM_MB" "$ELF" "$PAGES" >"$T/db.cfg"
args=(--stats --baseline 2)
[ -n "${SLICE:-}" ] && args+=(--slice "$SLICE")
# shellcheck disable=SC2206  # options, split at spaces on purpose
[ -n "${DSMBENCH_ARGS:-}" ] && args+=(${DSMBENCH_ARGS})
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for np in ${DSMBENCH_RANKS:-2 4}; do
    for tr in ${DSMBENCH_TRANSPORTS:-sm tcp}; do
        if [ $tr = sm ]; then mca=(--mca btl self,vader); else mca=(--mca btl self,tcp --mca osc pt2pt); fi
        echo "== $np ranks, $tr"
        timeout 300 "$MPIRUN" --oversubscribe -np "$np" "${mca[@]}" "$VSMP" "${args[@]}" "$T/db.cfg" \
            >"$T/out" 2>"$T/err"
        grep '^dsmbench: [a-z]' "$T/out" | sed 's/^/  /'
        grep -E 'fault latency|slices of|lock-free' "$T/err" | sed 's/^vsmp: /  /'
        # guest-visible cost of a fault beyond a TLB miss: phase - baseline
        awk '/^dsmbench: [a-z]/ { ns[$2] = $(NF-3) }
             END { if ("local-read" in ns) {
                       b = ns["local-read"]
                       printf "  guest ns/fault beyond the local TLB-miss baseline (local-read %d ns):", b
                       n = split("read-busy read-shared read-halted", ph, " ")
                       for (i = 1; i <= n; i++) if (ph[i] in ns) printf " %s %d", ph[i], ns[ph[i]] - b
                       printf "\n" } }' "$T/out"
        # service time by fault kind and request round trip (send ->
        # ACK) by type: the rank with the most of each
        awk '/ dsm: (service|request|baseline) / {
                 k = $5 " " $6; n = $8
                 if (!(k in best) || n + 0 > best[k] + 0) { best[k] = n; line[k] = $0 } }
             END { for (k in line) { sub(/^vsmp: /, "", line[k]); print "  " line[k] } }' "$T/err" |
            sort -k5,5
        # fault service time against the raw get timed by the same rank
        # in the same job (the rank that served most faults of the kind)
        awk '/ dsm: baseline raw-get / { bl[$3] = $12 }
             / dsm: service / { k = $6
                 if (!(k in n) || $8 + 0 > n[k] + 0) { n[k] = $8; r[k] = $3; p[k] = $12 } }
             END { split("read read-downgrade", ks, " ")
                   for (i = 1; i <= 2; i++) { k = ks[i]
                       if ((k in n) && (r[k] in bl) && bl[r[k]] > 0)
                           printf "  %s p50 %d ns = %.2fx the raw 4 KiB get p50 of rank %s in this job (%d ns)\n",
                                  k, p[k], p[k] / bl[r[k]], r[k], bl[r[k]] } }' "$T/err"
    done
done
if [ -x "$BUILD/bench/mpi_fault" ]; then
    echo "== raw transport (bench/mpi_fault, 2 ranks)"
    "$MPIRUN" --oversubscribe -np 2 --mca btl self,vader "$BUILD/bench/mpi_fault" sm 2>&1 |
        grep -E "\((a|a2|b|e|e2)'*\)" | sed 's/^/  sm  /'
    "$MPIRUN" --oversubscribe -np 2 --mca btl self,tcp --mca osc pt2pt "$BUILD/bench/mpi_fault" tcp 2>&1 |
        grep -E "\((a|a2|b|e|e2)'*\)" | sed 's/^/  tcp /'
fi
