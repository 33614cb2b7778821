#!/usr/bin/env bash
# tests/integration/netns.sh - runs vsmp across simulated cluster nodes on
# one machine: one network namespace per "node" (own hostname, /dev/shm,
# IPC and Open MPI session folder), joined by veth pairs to a bridge that
# lives in a namespace of its own, with private addresses 10.77.0.x. mpirun
# runs on node n0 and starts the other nodes' daemons through a launch
# agent (--mca plm_rsh_agent) that enters the node's namespace, as ssh would
# log in to it; MPI then sees separate nodes and talks TCP. Nothing is
# configured in the host's own network namespace and nothing leaves the
# machine. Everything created is removed on exit, failure included.
#
# Needs root and iproute2; without them it prints "netns: skipped (needs
# root)" and exits 0. Called by tests/integration/run.sh; alone:
#     bash tests/integration/netns.sh        (from the source root)
# Cases per node count: hostname (the nodes are real), hello, and the SMP
# guest (tests/guests/smp.c: one virtual CPU per node, DSM over TCP).
# Prints a PASS/FAIL line per case; exit status 1 on any failure.
# Environment: BUILD (build), VSMP (./vsmp), MPIRUN (mpirun),
# CASE_TIMEOUT (60 s), NETNS_NODES ("2 4": the node counts to run).
#
#     bash tests/integration/netns.sh --run N CONFIG
# instead runs vsmp on CONFIG (an absolute path) across N simulated nodes,
# one rank each, with this script's stdin, stdout and stderr, and exits
# with vsmp's status (tests/linux/run.sh's netns mode: Debian's Linux
# across nodes); without root it says so on stderr and exits 77.
set -euo pipefail
RUN_N= RUN_CFG=
if [ "${1:-}" = --run ]; then
    RUN_N=${2:?usage: netns.sh --run N CONFIG}
    RUN_CFG=${3:?usage: netns.sh --run N CONFIG}
    NETNS_NODES=$RUN_N
fi

cd "$(dirname "$0")/../.."
SRC=$(pwd)
BUILD=${BUILD:-build}
VSMP=${VSMP:-./vsmp}
MPIRUN=${MPIRUN:-mpirun}
CASE_TIMEOUT=${CASE_TIMEOUT:-60}
read -r -a NODE_COUNTS <<<"${NETNS_NODES:-2 4}"
HELLO=$SRC/$BUILD/tests/guests/hello.elf
SMP=$SRC/$BUILD/tests/guests/smp.elf
SMP_TIMEOUT=${SMP_TIMEOUT:-900}    # a hang guard: run.sh says why so long
SUBNET=10.77.0

# ----------------------------------------------------- capability check
skip() {
    if [ -n "$RUN_N" ]; then echo "netns: cannot run ($1)" >&2; exit 77; fi
    echo "netns: skipped ($1)"; exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root"
command -v ip >/dev/null || skip "needs root and iproute2 (ip)"
command -v unshare >/dev/null || skip "needs unshare (util-linux)"

for f in "$VSMP" "$HELLO"; do
    [ -f "$f" ] || { echo "FAIL  netns: $f missing (make vsmp guests)"; exit 1; }
done
MPIRUN_PATH=$(command -v "$MPIRUN") || { echo "FAIL  netns: $MPIRUN not found"; exit 1; }

export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

T=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-netns.XXXXXX")
ID=vsmp${T##*.}             # names this run's namespaces
TAG="vsmp-netns-$$-${T##*.}"
cp "$VSMP" "$T/vsmp"
CREATED=()                  # namespaces, deleted in reverse on exit

case_pids() {
    {
        pgrep -f -- "$T/" || true
        grep -l -s -z -x "VSMP_INTEG_TAG=$TAG" /proc/[0-9]*/environ 2>/dev/null |
            sed -e 's|^/proc/||' -e 's|/environ$||' || true
    } | sort -un | grep -v -x -e "$$" || true
}
kill_case_procs() {
    local pids
    pids=$(case_pids | paste -sd ' ')
    [ -z "$pids" ] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
}
teardown() {
    local rc=$?
    set +e
    trap '' PIPE    # a closed stdout must not cut the teardown short
    kill_case_procs
    sleep 0.2
    local i
    for ((i = ${#CREATED[@]} - 1; i >= 0; i--)); do
        ip netns del "${CREATED[i]}" 2>/dev/null ||
            echo "netns: warning: could not delete namespace ${CREATED[i]}" >&2
    done
    rm -rf "$T"
    exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# ---------------------------------------------------------------- set-up
MAXN=0
for n in "${NODE_COUNTS[@]}"; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done

HUB=$ID-hub
ip netns add "$HUB" 2>"$T/ip.err" || {
    cat "$T/ip.err" >&2
    skip "needs root: 'ip netns add' failed"
}
CREATED+=("$HUB")
ip -n "$HUB" link set lo up
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" link set br0 up

{
    echo "127.0.0.1 localhost"
    for ((k = 0; k < MAXN; k++)); do echo "$SUBNET.$((k + 1)) n$k"; done
} >"$T/hosts"

for ((k = 0; k < MAXN; k++)); do
    ns=$ID-n$k
    ip netns add "$ns"
    CREATED+=("$ns")
    ip -n "$HUB" link add "v$k" type veth peer name eth0 netns "$ns"
    ip -n "$HUB" link set "v$k" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$SUBNET.$((k + 1))/24" dev eth0
    ip -n "$ns" link set eth0 up
    mkdir -p "$T/tmp-n$k"
done

# node NAME COMMAND...: runs COMMAND (one shell command line, as ssh takes
# it) on node NAME: in its network namespace, with its own hostname,
# /dev/shm, System V IPC, /etc/hosts (the n0..nN names) and TMPDIR (Open
# MPI's session folder).
cat >"$T/node" <<EOF
#!/usr/bin/env bash
# node - enter a simulated node of netns.sh and run a command there.
set -euo pipefail
name=\$1; shift
exec ip netns exec "$ID-\$name" unshare --uts --ipc --mount --propagation private \\
    bash -c 'set -e
        hostname "\$1"
        mount -t tmpfs -o mode=1777,size=64m tmpfs /dev/shm
        mount --bind "$T/hosts" /etc/hosts
        export TMPDIR="$T/tmp-\$1"
        shift
        exec bash -c "\$*"' node "\$name" "\$@"
EOF
# rsh - Open MPI's launch agent (plm_rsh_agent), called like ssh:
# rsh [options] HOST COMMAND...
cat >"$T/rsh" <<EOF
#!/usr/bin/env bash
# rsh - ssh stand-in for mpirun: runs the daemon's command on a netns node.
set -euo pipefail
while [ "\$#" -gt 0 ] && [ "\${1#-}" != "\$1" ]; do shift; done
host=\$1; shift
exec "$T/node" "\$host" "\$@"
EOF
chmod +x "$T/node" "$T/rsh"

# Network sanity: n0 reaches every node through the bridge (a TCP connect
# to a closed port is refused by a reachable node; no ping needed).
# Links take a moment to come up: retry for up to 10 s.
reachable() {
    local msg
    msg=$(ip netns exec "$ID-n0" timeout 2 bash -c "exec 3<>/dev/tcp/$1/9" 2>&1 || true)
    [[ $msg == *refused* ]]
}
for ((k = 1; k < MAXN; k++)); do
    for _ in $(seq 1 20); do reachable "$SUBNET.$((k + 1))" && continue 2; sleep 0.5; done
    echo "FAIL  netns: n0 cannot reach n$k ($SUBNET.$((k + 1)))"; exit 1
done

if [ -n "$RUN_N" ]; then
    # one job, its console on our stdout: the caller judges it
    : >"$T/hostfile"
    for ((k = 0; k < RUN_N; k++)); do echo "n$k slots=1" >>"$T/hostfile"; done
    cmd="$MPIRUN_PATH -np $RUN_N --hostfile $T/hostfile --map-by node --bind-to none"
    cmd+=" --mca plm_rsh_agent $T/rsh --mca btl self,tcp --mca osc pt2pt"
    cmd+=" --mca btl_tcp_if_include $SUBNET.0/24 --mca oob_tcp_if_include $SUBNET.0/24"
    cmd+=" --mca mpi_yield_when_idle 1 $T/vsmp $RUN_CFG"
    RC=0
    VSMP_INTEG_TAG=$TAG "$T/node" n0 "$cmd" || RC=$?
    exit "$RC"
fi

printf 'memory 32M\nkernel %s\ncmdline hello-test arg=42 x\ninitrd %s\n' \
    "$HELLO" "$SRC/tests/guests/data/module.txt" >"$T/hello.cfg"
printf 'memory 32M\nkernel %s\n' "$SMP" >"$T/smp.cfg"

PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); printf 'PASS  %s\n' "$1"; }
fail() {
    FAIL=$((FAIL + 1)); printf 'FAIL  %s: %s\n' "$1" "$2"
    [ -s "$T/out" ] && head -n 6 "$T/out" | sed 's/^/        out: /'
    [ -s "$T/err" ] && grep -v -e '^-*$' "$T/err" | head -n 12 | sed 's/^/        err: /'
    return 0
}

# mpirun_nodes N PROGRAM...: one rank on each of nodes n0..n(N-1), mpirun
# on n0, TCP between nodes (10.77.0.0/24 only). Sets RC and LEFT.
mpirun_nodes() {
    local n=$1; shift
    : >"$T/hostfile"
    for ((k = 0; k < n; k++)); do echo "n$k slots=1" >>"$T/hostfile"; done
    local cmd="$MPIRUN_PATH -np $n --hostfile $T/hostfile --map-by node --bind-to none"
    cmd+=" --mca plm_rsh_agent $T/rsh --mca btl self,tcp --mca osc pt2pt"
    cmd+=" --mca btl_tcp_if_include $SUBNET.0/24 --mca oob_tcp_if_include $SUBNET.0/24"
    # The "nodes" share this machine's cores, but each has one slot, so
    # Open MPI does not know it is oversubscribed: make its waits (inside
    # MPI_Win_flush, collectives) yield, as --oversubscribe does.
    cmd+=" --mca mpi_yield_when_idle 1"
    cmd+=" $*"
    RC=0
    VSMP_INTEG_TAG=$TAG setsid timeout -k 5 "${TIMEOUT:-$CASE_TIMEOUT}" "$T/node" n0 "$cmd" \
        </dev/null >"$T/out" 2>"$T/err" || RC=$?
    LEFT=
    # processes of the job may take a moment to go: up to 30 s on a loaded
    # host (the loop ends as soon as none is left)
    for _ in $(seq 1 300); do
        LEFT=$(case_pids | paste -sd ' ')
        [ -z "$LEFT" ] && break
        sleep 0.1
    done
    [ -n "$LEFT" ] && kill_case_procs
    return 0
}

for n in "${NODE_COUNTS[@]}"; do
    # The job really spans n nodes: each rank sees its own hostname.
    name="netns: $n nodes, one rank each"
    mpirun_nodes "$n" hostname
    want=$(for ((k = 0; k < n; k++)); do echo "n$k"; done)
    if [ "$RC" != 0 ]; then fail "$name" "mpirun hostname: exit status $RC"
    elif [ "$(sort "$T/out")" != "$want" ]; then fail "$name" "hostnames: $(sort "$T/out" | paste -sd ' ')"
    else pass "$name"; fi

    name="netns: hello on $n nodes"
    mpirun_nodes "$n" "$T/vsmp" "$T/hello.cfg"
    if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then fail "$name" "timed out after ${CASE_TIMEOUT}s"
    elif [ -n "$LEFT" ]; then fail "$name" "processes left running: $LEFT"
    elif [ "$RC" != 1 ]; then fail "$name" "exit status $RC, expected 1"
    elif grep -q '^vsmp:' "$T/err"; then fail "$name" "vsmp printed an error"
    elif ! grep -q -i hello "$T/out"; then fail "$name" "no hello output"
    else pass "$name"; fi

    # The SMP guest: one virtual CPU per node, the DSM over TCP only.
    name="netns: smp on $n nodes"
    exp=$SRC/tests/guests/expected/smp.$n.out
    if [ ! -f "$SMP" ] || [ ! -f "$exp" ]; then
        fail "$name" "$SMP or $exp missing (make guests)"; continue
    fi
    TIMEOUT=$SMP_TIMEOUT mpirun_nodes "$n" "$T/vsmp" "$T/smp.cfg"
    if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then fail "$name" "timed out after ${SMP_TIMEOUT}s"
    elif [ -n "$LEFT" ]; then fail "$name" "processes left running: $LEFT"
    elif [ "$RC" != 1 ]; then fail "$name" "exit status $RC, expected 1"
    elif grep -q '^vsmp:' "$T/err"; then fail "$name" "vsmp printed an error"
    elif ! cmp -s "$exp" "$T/out"; then fail "$name" "output differs from $exp"
    else pass "$name"; fi
done

echo "netns: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
