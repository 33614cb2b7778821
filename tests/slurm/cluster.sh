#!/usr/bin/env bash
# tests/slurm/cluster.sh - a private one-node Slurm on this machine, from
# Debian 12's packages (munge, slurmctld, slurmd, slurm-client), for the
# tests of jobs/ (tests/slurm/run.sh) and for trying the job scripts by
# hand. Runs as root; needs no systemd: the daemons are started directly,
# their PIDs recorded, and stopped by PID.
#
#   tests/slurm/cluster.sh start [DIR]   start one; prints DIR (a new
#                                        private folder by default)
#   tests/slurm/cluster.sh status DIR    the daemons and the node (0: up)
#   tests/slurm/cluster.sh stop DIR      cancel its jobs, stop its daemons
#                                        (by PID), remove DIR
#   . DIR/env                            SLURM_CONF for sbatch, squeue, ...
#
# Everything lives in DIR: slurm.conf, the munge key and socket, the state,
# spool, log and PID files. The ports are free ones picked at start, and
# the clients find the configuration through SLURM_CONF only, so a system
# Slurm (/etc/slurm, ports 6817/6818, /run/munge) is neither used nor
# disturbed. The configuration:
#   - munged runs as user munge (its folder DIR/munge owned by munge) with
#     a key of its own; Slurm finds it through AuthInfo=socket=...
#   - SlurmctldHost=HOST(127.0.0.1) and NodeAddr=127.0.0.1 (a host name
#     that does not resolve would hang slurmd);
#   - ProctrackType=proctrack/linuxproc, TaskPlugin=task/none (no cgroups),
#     no accounting (so no sacct: use scontrol show job / squeue);
#   - EnforcePartLimits=ALL: a request the node cannot ever meet is refused
#     at submission instead of pending forever;
#   - the node has SLURM_CLUSTER_CPUS CPUs (default 4) whatever nproc says,
#     through SlurmdParameters=config_overrides, so that 4 ranks run on a
#     2-core machine;
#   - AuthInfo cred_expire=10: a requeued job may start again 10 s after
#     it ended instead of Slurm's default 120 s;
#   - MinJobAge=3600: ended jobs stay visible to scontrol for an hour;
#   - the schedulers run every 5 s (sched_interval, bf_interval), so a
#     requeued job starts soon after it may (Slurm's defaults: 60 s, 30 s).
# Environment: SLURM_CLUSTER_CPUS (4), SLURM_CLUSTER_TIMEOUT (seconds to
# wait for the node to come up, 60), SLURM_CLUSTER_KEEP=1 (stop leaves DIR).
set -euo pipefail

die() { echo "cluster.sh: $*" >&2; exit 1; }
usage() { die "usage: tests/slurm/cluster.sh start [DIR] | status DIR | stop DIR"; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (munged runs as user munge, slurmd as root)"; }

# free_ports N: N TCP ports free on 127.0.0.1 now, one a line.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
EOF
}

# pid_is PIDFILE NAME: the process in PIDFILE is alive and is NAME (so a
# PID reused by another process is never signalled).
pid_is() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# alive PIDFILE: the process started is still there (while starting: it
# may not have exec'd its daemon yet).
alive() { kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid PIDFILE NAME: SIGTERM, up to 20 s, then SIGKILL.
stop_pid() {
    local f=$1 name=$2 pid i
    pid_is "$f" "$name" || { rm -f "$f"; return 0; }
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        pid_is "$f" "$name" || break
        sleep 0.2
    done
    if pid_is "$f" "$name"; then
        echo "cluster.sh: $name (pid $pid) still running after SIGTERM: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$f"
}

cmd_start() {
    need_root
    local d=${1:-} host cpus ports ctlport dport i state
    for t in munged mungekey slurmctld slurmd sinfo python3 setpriv setsid; do
        command -v "$t" >/dev/null ||
            die "$t not found (apt-get install munge slurmctld slurmd slurm-client python3 util-linux)"
    done
    if [ -z "$d" ]; then
        d=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-slurm.XXXXXX")
    else
        mkdir -p "$d"
        [ -z "$(ls -A "$d")" ] || die "$d is not empty"
    fi
    d=$(cd "$d" && pwd)
    # munged (user munge) must reach DIR/munge; its checks want no
    # group/other-writable folder on the way (sticky /tmp is fine).
    chmod 0755 "$d"
    mkdir -p "$d/munge" "$d/state" "$d/spool" "$d/log" "$d/run"
    chown munge:munge "$d/munge"
    # munged wants execute permission for all on its socket's folder
    chmod 0711 "$d/munge"
    setpriv --reuid=munge --regid=munge --init-groups \
        mungekey --create --keyfile="$d/munge/munge.key" --bits=1024
    host=$(hostname -s)
    cpus=${SLURM_CLUSTER_CPUS:-4}
    mapfile -t ports < <(free_ports 2)
    ctlport=${ports[0]} dport=${ports[1]}
    : >"$d/plugstack.conf"
    cat >"$d/slurm.conf" <<EOF
# A private one-node Slurm made by tests/slurm/cluster.sh; everything in $d.
ClusterName=vsmptest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctlport
SlurmdPort=$dport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.socket,cred_expire=10
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$d/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
EnforcePartLimits=ALL
ReturnToService=2
SlurmdParameters=config_overrides
MailProg=/bin/true
MinJobAge=3600
KillWait=30
InactiveLimit=0
SlurmdTimeout=300
TmpFS=$d/spool
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1024 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    printf 'export SLURM_CONF=%s/slurm.conf\n' "$d" >"$d/env"

    # Started in a session of their own, output to their logs (so a caller
    # reading our output through a pipe, e.g. make, is not held open); the
    # PID recorded is the daemon's own (setsid and setpriv exec).
    setsid setpriv --reuid=munge --regid=munge --init-groups \
        munged -F --socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key" \
        --log-file="$d/munge/munged.log" --pid-file="$d/munge/munged.pid" \
        --seed-file="$d/munge/munged.seed" </dev/null >>"$d/log/munged.out" 2>&1 &
    echo $! >"$d/run/munged.ours"
    for i in $(seq 1 100); do
        munge -n -S "$d/munge/munge.socket" 2>/dev/null |
            unmunge -S "$d/munge/munge.socket" >/dev/null 2>&1 && break
        alive "$d/run/munged.ours" || {
            cat "$d/log/munged.out" "$d/munge/munged.log" >&2 || true
            cmd_stop "$d" >/dev/null 2>&1 || true
            die "munged did not start (its log is above)"
        }
        sleep 0.1
    done
    [ "$i" -lt 100 ] || { cmd_stop "$d" >/dev/null 2>&1 || true; die "munged does not answer on $d/munge/munge.socket"; }

    # (the daemons get the configuration by -f, not SLURM_CONF, so that
    # only the jobs' processes have it in their environment)
    setsid slurmctld -D -i -f "$d/slurm.conf" </dev/null >>"$d/log/slurmctld.out" 2>&1 &
    echo $! >"$d/run/slurmctld.ours"
    setsid slurmd -D -f "$d/slurm.conf" </dev/null >>"$d/log/slurmd.out" 2>&1 &
    echo $! >"$d/run/slurmd.ours"

    for i in $(seq 1 $((${SLURM_CLUSTER_TIMEOUT:-60} * 2))); do
        state=$(SLURM_CONF=$d/slurm.conf timeout 10 sinfo -h -N -o %T 2>/dev/null || true)
        case $state in idle*|mixed*|allocated*) break ;; esac
        for p in slurmctld slurmd; do
            alive "$d/run/$p.ours" || {
                tail -n 20 "$d/log/$p.out" "$d/log/$p.log" >&2 2>/dev/null || true
                cmd_stop "$d" >/dev/null 2>&1 || true
                die "$p did not start (its log is above)"
            }
        done
        sleep 0.5
    done
    case $state in
    idle*|mixed*|allocated*) ;;
    *) tail -n 20 "$d/log/slurmctld.log" "$d/log/slurmd.log" >&2 2>/dev/null || true
       cmd_stop "$d" >/dev/null 2>&1 || true
       die "the node did not come up (state '${state:-none}')" ;;
    esac
    echo "$d"
}

cmd_status() {
    local d=${1:?$(usage)} p rc=0
    [ -f "$d/slurm.conf" ] || die "$d: no cluster there"
    for p in munged slurmctld slurmd; do
        if pid_is "$d/run/$p.ours" "$p"; then
            echo "$p: running, pid $(cat "$d/run/$p.ours")"
        else
            echo "$p: not running"; rc=1
        fi
    done
    [ "$rc" = 0 ] || return 1
    SLURM_CONF=$d/slurm.conf timeout 10 sinfo -N -o '%N %T %c' || return 1
}

# our_job_processes DIR: PIDs of the processes of this cluster's jobs:
# SLURM_JOB_ID and this cluster's SLURM_CONF in their environment (sbatch
# passes SLURM_CONF on; the caller that submitted has no SLURM_JOB_ID).
our_job_processes() {
    local conf="SLURM_CONF=$1/slurm.conf" p env
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" != $$ ] || continue
        env=$(tr '\0' '\n' 2>/dev/null <"$p/environ") || continue
        grep -qxF -- "$conf" <<<"$env" && grep -q '^SLURM_JOB_ID=' <<<"$env" && echo "${p#/proc/}"
    done
    return 0
}

cmd_stop() {
    need_root
    local d=${1:?$(usage)} i jobs pids
    [ -f "$d/slurm.conf" ] || die "$d: no cluster there"
    export SLURM_CONF=$d/slurm.conf
    if pid_is "$d/run/slurmctld.ours" slurmctld; then
        # cancel what is still queued or running, and give the jobs
        # KillWait (30 s) and a bit to end
        jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
        if [ -n "$jobs" ]; then
            # shellcheck disable=SC2086
            timeout 10 scancel $jobs 2>/dev/null || true
            for i in $(seq 1 80); do
                [ -z "$(timeout 10 squeue -h -o %i 2>/dev/null)" ] && break
                sleep 0.5
            done
        fi
    fi
    stop_pid "$d/run/slurmd.ours" slurmd
    stop_pid "$d/run/slurmctld.ours" slurmctld
    stop_pid "$d/run/munged.ours" munged
    # any process of our jobs left behind (a job step that outlived its
    # slurmd): by PID, after a last look
    pids=$(our_job_processes "$d")
    if [ -n "$pids" ]; then
        echo "cluster.sh: processes of its jobs still running: ${pids//$'\n'/ }: SIGKILL" >&2
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
    fi
    if [ "${SLURM_CLUSTER_KEEP:-0}" != 1 ]; then
        rm -rf "$d"
    fi
}

case ${1:-} in
start) shift; [ "$#" -le 1 ] || usage; cmd_start "$@" ;;
status) shift; [ "$#" = 1 ] || usage; cmd_status "$1" ;;
stop) shift; [ "$#" = 1 ] || usage; cmd_stop "$1" ;;
*) usage ;;
esac
