# jobs/launch.sh - sourced by the Slurm batch scripts of jobs/ (not run):
# the environment Open MPI needs, the launcher (srun or mpirun inside the
# allocation) started in the background so that the batch shell can trap
# signals and forward them, and the wait for it.
#
#   vsmp_setup             cd to the submission folder; checks VSMP; sets
#                          NTASKS and the Open MPI variables
#   vsmp_launch ARGS...    starts `vsmp ARGS...` on NTASKS ranks with the
#                          launcher; sets VSMP_PID (the launcher's PID)
#   vsmp_forward SIG       sends SIG to the launcher (srun and mpirun
#                          forward SIGUSR1 and SIGUSR2 to every rank) once
#                          the ranks here can take it (vsmp_ready)
#   vsmp_wait              waits for the launcher through trapped signals;
#                          sets VSMP_STATUS (its exit status)
#
# Knobs (environment, exported before sbatch; sbatch passes them on):
#   VSMP            the binary (default ./vsmp in the submission folder)
#   VSMP_LAUNCHER   srun (default) or mpirun (Open MPI's, inside the
#                   allocation: for a Slurm without PMIx)
#   SRUN_MPI        srun's --mpi plugin (default: the first of pmix_v3,
#                   pmix, pmi2 that `srun --mpi=list` offers)
#   VSMP_NET        auto (default) or tcp: Open MPI's TCP transport (btl
#                   self,tcp; one-sided MPI through osc pt2pt)
#   VSMP_MPIRUN_KILL_WAIT  slurm or seconds: how long mpirun lets its ranks
#                   live after it got SIGTERM (see below; default Open
#                   MPI's 1 s, then SIGKILL 1 s later)
# The number of ranks (= virtual CPUs) is the job's number of tasks:
# sbatch -n 4 gives 4 CPUs (on as many nodes as Slurm picks), -N 4 alone
# one task on each of 4 nodes.
# shellcheck shell=bash

vsmp_die() { echo "$VSMP_JOB: $*" >&2; exit 2; }

vsmp_setup() {
    VSMP_JOB=${VSMP_JOB:-${SLURM_JOB_NAME:-vsmp}}
    cd "${SLURM_SUBMIT_DIR:-.}" || vsmp_die "cannot enter ${SLURM_SUBMIT_DIR:-.}"
    VSMP=${VSMP:-./vsmp}
    [ -x "$VSMP" ] || vsmp_die "$VSMP not found or not executable (run make in $(pwd), or set VSMP)"
    NTASKS=${SLURM_NTASKS:-${SLURM_JOB_NUM_NODES:-${SLURM_NNODES:-1}}}
    VSMP_LAUNCHER=${VSMP_LAUNCHER:-srun}

    # Open MPI 4.1.4 (Debian 12): btl/vader (shared memory between the
    # ranks of one node) crashes without this.
    export OMPI_MCA_btl_vader_single_copy_mechanism=none
    # Debian's /etc/openmpi/openmpi-mca-params.conf sets `osc = ^ucx,pt2pt`,
    # which leaves no one-sided component that works between nodes over
    # TCP (osc rdma does not); the environment outranks that file. A value
    # the user set is kept (e.g. OMPI_MCA_osc=ucx on InfiniBand with UCX).
    case ${VSMP_NET:-auto} in
    tcp) export OMPI_MCA_btl=self,tcp OMPI_MCA_osc=pt2pt ;;
    auto) export OMPI_MCA_osc=${OMPI_MCA_osc:-^ucx} ;;
    *) vsmp_die "VSMP_NET must be auto or tcp, not '$VSMP_NET'" ;;
    esac
    case $VSMP_LAUNCHER in
    srun)
        if [ -z "${SRUN_MPI:-}" ]; then
            local plugins p
            plugins=$(srun --mpi=list 2>&1 || true)
            for p in pmix_v3 pmix pmi2; do
                if grep -q -w -- "$p" <<<"$plugins"; then SRUN_MPI=$p; break; fi
            done
            SRUN_MPI=${SRUN_MPI:-pmi2}
        fi ;;
    mpirun)
        # mpirun refuses root unless told (srun does not care)
        if [ "$(id -u)" = 0 ]; then
            export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
        fi
        # At the time limit (or scancel) Slurm sends SIGTERM to every
        # process of the job, mpirun included, and SIGKILL KillWait seconds
        # later. mpirun then sends the ranks SIGTERM again after
        # odls_base_sigkill_timeout (default 1 s) and SIGKILL after twice
        # that: too soon for a rank writing a checkpoint.
        # VSMP_MPIRUN_KILL_WAIT=slurm sets that timeout to half of Slurm's
        # KillWait (so mpirun's SIGKILL comes no sooner than Slurm's); N
        # sets N seconds. The cost: mpirun waits as long (twice the
        # timeout) after a rank ends with a non-zero status (a guest's
        # debug-exit) before the job ends.
        case ${VSMP_MPIRUN_KILL_WAIT:-} in
        '') ;;
        slurm)
            local kw
            kw=$(scontrol show config 2>/dev/null | sed -n 's/^KillWait *= *\([0-9][0-9]*\).*/\1/p')
            export OMPI_MCA_odls_base_sigkill_timeout=$(( ${kw:-30} / 2 )) ;;
        *[!0-9]*) vsmp_die "VSMP_MPIRUN_KILL_WAIT must be slurm or a number of seconds" ;;
        *) export OMPI_MCA_odls_base_sigkill_timeout=$VSMP_MPIRUN_KILL_WAIT ;;
        esac ;;
    *) vsmp_die "VSMP_LAUNCHER must be srun or mpirun, not '$VSMP_LAUNCHER'" ;;
    esac
    echo "$VSMP_JOB: job ${SLURM_JOB_ID:-?}: $NTASKS rank(s) on ${SLURM_JOB_NUM_NODES:-1} node(s) (${SLURM_JOB_NODELIST:-?}), launcher $VSMP_LAUNCHER${SRUN_MPI:+ --mpi=$SRUN_MPI}" >&2
}

vsmp_launch() {
    case $VSMP_LAUNCHER in
    srun)
        # Every rank exits with the guest's status, which is not 0 for a
        # guest that ends through debug-exit: Slurm must not kill the
        # other ranks when rank 0 ends first.
        srun --mpi="$SRUN_MPI" --ntasks="$NTASKS" --kill-on-bad-exit=0 "$VSMP" "$@" & ;;
    mpirun)
        # Open MPI reads the allocation (nodes, tasks per node) itself.
        mpirun -np "$NTASKS" --bind-to none "$VSMP" "$@" & ;;
    esac
    VSMP_PID=$!
}

vsmp_forward() {
    [ -n "${VSMP_PID:-}" ] || return 0
    vsmp_ready
    kill -s "$1" "$VSMP_PID" 2>/dev/null || true
}

# vsmp_ready: returns once the vsmp processes of this job on this node
# catch SIGUSR2 (SigCgt in /proc: vsmp has installed its handlers), the
# launcher ended, or 30 s passed. A signal forwarded sooner - a warning
# that comes seconds after the start - finds a rank still starting and
# ends it (SIGUSR1/SIGUSR2's default action), as it did once under mpirun
# here. Ranks on other nodes start at the same time; they are not seen.
vsmp_ready() {
    local exe i p n ok mask
    exe=$(readlink -f "$VSMP")
    for ((i = 0; i < 300; i++)); do
        kill -0 "$VSMP_PID" 2>/dev/null || return 0
        n=0 ok=1
        for p in /proc/[0-9]*; do
            [ "$(readlink "$p/exe" 2>/dev/null)" = "$exe" ] || continue
            tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -q -x -- "SLURM_JOB_ID=${SLURM_JOB_ID:-}" || continue
            n=$((n + 1))
            mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "$p/status" 2>/dev/null)
            [ -n "$mask" ] && (( (16#$mask >> 11) & 1 )) || ok=0
        done
        [ "$n" -gt 0 ] && [ "$ok" = 1 ] && return 0
        sleep 0.1
    done
    return 0
}

vsmp_wait() {
    local s
    while :; do
        wait "$VSMP_PID"
        s=$?
        # a trapped signal ends `wait` early (status > 128): wait again
        kill -0 "$VSMP_PID" 2>/dev/null || break
    done
    # the launcher has ended: its own status (bash keeps it)
    wait "$VSMP_PID" 2>/dev/null
    s=$?
    # shellcheck disable=SC2034  # read by the batch scripts
    VSMP_STATUS=$s
    VSMP_PID=
}

# vsmp_config_copy SRC DST [APPEND [DISKDIR]]: writes DST, the config SRC
# with its paths (kernel, initrd, rom, image, disk) made absolute (vsmp
# reads them relative to the config's folder), APPEND added to its
# cmdline, and, with DISKDIR, each disk replaced by a sparse copy made in
# DISKDIR (the job then leaves the original disks as they were).
vsmp_config_copy() {
    local src=$1 dst=$2 append=${3:-} diskdir=${4:-} dir line key rest path n=0
    dir=$(cd "$(dirname "$src")" && pwd) || return 1
    : >"$dst" || return 1
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%%#*}
        read -r key rest <<<"$line" || true
        case $key in
        kernel|initrd|rom|image|disk)
            path=${rest%% *}
            [ "$path" = "$rest" ] && rest='' || rest=" ${rest#* }"
            [ "${path#/}" != "$path" ] || path=$dir/$path
            if [ "$key" = disk ] && [ -n "$diskdir" ]; then
                n=$((n + 1))
                cp --sparse=always "$path" "$diskdir/disk$n.img" || return 1
                path=$diskdir/disk$n.img
            fi
            echo "$key $path$rest" ;;
        cmdline) echo "cmdline $rest${append:+ $append}"; append='' ;;
        '') ;;
        *) echo "$key $rest" ;;
        esac
    done <"$src" >"$dst"
    [ -z "$append" ] || echo "cmdline $append" >>"$dst"
}
