# tests/linux/lib.sh - shared by tests/linux/run.sh (`make check-linux`)
# and bench/linux.sh (`make bench-linux`): boots one Linux guest
# config under qemu-system-i386 or vsmp, with the console captured, input
# through a FIFO and a watch for panics, lockups and stalls. Sourced, not
# run; the caller sets T (a private scratch folder) and cds to the source
# root.
#
# Engines and modes (one name each, used in the case names):
#   qemu:N     qemu-system-i386 -smp N (TCG), the oracle: the same kernel,
#              initrd, command line and memory as the config
#   sm:N       mpirun -np N ./vsmp CFG over shared memory (btl self,vader)
#   tcp:N      the same over TCP (btl self,tcp, osc pt2pt)
#   netns:N    N simulated nodes, one rank each, TCP between them
#              (tests/integration/netns.sh --run; needs root)
#   single:1   ./vsmp CFG alone (an MPI singleton)
# shellcheck shell=bash
# shellcheck disable=SC2034  # LINUX_* are read by the scripts that source this

# The CPU QEMU presents: vsmp's CPUID (src/cpu/ops_system.c) reports
# family 6 model 8 stepping 3 with FPU PSE TSC MSR CX8 APIC SEP PGE CMOV
# FXSR and nothing else (no MMX, SSE, PAE, MTRR, PAT). pentium2 minus the
# features vsmp lacks is that CPU (the guest's /proc/cpuinfo flags then
# differ only in "ht" and "hypervisor", which QEMU adds), so the kernel
# takes the same feature paths under both.
QEMU=${QEMU:-qemu-system-i386}
QEMU_CPU=${QEMU_CPU:-pentium2,-vme,-de,-pae,-mce,-mtrr,-mca,-pat,-pse36,-mmx,+fxsr,model=8,stepping=3}
# QEMU runs MTTCG (-accel tcg,thread=multi), its clocks in host real time.
# (-icount, which would tie every guest clock to the instruction count,
# hangs QEMU 7.2 at "Booting SMP configuration" with -smp 2 or more.)
read -r -a QEMU_TIMING <<<"${QEMU_TIMING--accel tcg,thread=multi}"
VSMP=${VSMP:-./vsmp}
MPIRUN=${MPIRUN:-mpirun}

# Console lines that make a run fail whatever else it prints: a panic, an
# oops or BUG, a soft or hard lockup, an RCU stall, a hung task, the
# clocksource watchdog giving up on a clock, TSC found unstable.
# LINUX_CLOCK_RE: the subset that QEMU TCG itself produces when the host
# is loaded (its TSC is the host's, calibrated by the kernel against the
# PIT while the vCPU thread may be descheduled; seen at load 9 here):
# tests/linux/run.sh runs a QEMU case once more after such a line, and
# says so. Never for vsmp, which must give the kernel its frequencies.
LINUX_BAD_RE='Kernel panic|soft lockup|hard LOCKUP|self-detected stall|detected stalls|RCU Stall|rcu_sched detected|rcu_preempt detected|hung_task|blocked for more than [0-9]+ seconds|timekeeping watchdog|Marking clocksource|clocksource watchdog|TSC unstable|Marking TSC unstable|BUG: |Oops: |general protection fault|WARNING: CPU: '

LINUX_CLOCK_RE='timekeeping watchdog|Marking clocksource|clocksource watchdog|TSC unstable|Marking TSC unstable'

export OMPI_MCA_btl_vader_single_copy_mechanism=none
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# linux_cfg_read CFG: sets CFG_MEMORY, CFG_KERNEL, CFG_INITRD, CFG_CMDLINE
# and CFG_DISKS (an array, "PATH" or "PATH ro" per `disk` line, in order)
# from a vsmp config (paths relative to its folder, as vsmp reads them).
linux_cfg_read() {
    local cfg=$1 dir key rest
    dir=$(cd "$(dirname "$cfg")" && pwd)
    CFG_MEMORY=128M CFG_KERNEL='' CFG_INITRD='' CFG_CMDLINE=''
    CFG_DISKS=()
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%%#*}
        read -r key rest <<<"$line" || true
        case $key in
        memory) CFG_MEMORY=$rest ;;
        kernel) CFG_KERNEL=$rest ;;
        initrd) CFG_INITRD=$rest ;;
        cmdline) CFG_CMDLINE=$rest ;;
        disk) [ "${rest#/}" != "$rest" ] || rest=$dir/$rest
              CFG_DISKS+=("$rest") ;;
        esac
    done <"$cfg"
    [ -z "$CFG_KERNEL" ] || [ "${CFG_KERNEL#/}" != "$CFG_KERNEL" ] || CFG_KERNEL=$dir/$CFG_KERNEL
    [ -z "$CFG_INITRD" ] || [ "${CFG_INITRD#/}" != "$CFG_INITRD" ] || CFG_INITRD=$dir/$CFG_INITRD
}

# linux_command MODE CFG: sets CMD (an array) for the mode (see above);
# vsmp's options from LINUX_VSMP_OPTS (words; none by default).
linux_command() {
    local mode=${1%%:*} n=${1#*:} cfg=$2 opts
    read -r -a opts <<<"${LINUX_VSMP_OPTS:-}"
    case $mode in
    qemu)
        linux_cfg_read "$cfg"
        CMD=("$QEMU" -nodefaults -no-user-config -display none -serial stdio -no-reboot
             "${QEMU_TIMING[@]}" -cpu "$QEMU_CPU" -smp "$n" -m "$CFG_MEMORY" -kernel "$CFG_KERNEL")
        [ -z "$CFG_INITRD" ] || CMD+=(-initrd "$CFG_INITRD")
        # each `disk` as virtio-blk (PCI on QEMU's pc; vsmp's is
        # virtio-mmio): vda, vdb, ... in the same order
        local d
        for d in "${CFG_DISKS[@]}"; do
            case $d in
            *' ro') CMD+=(-drive "file=${d% ro},format=raw,if=virtio,readonly=on") ;;
            *) CMD+=(-drive "file=$d,format=raw,if=virtio") ;;
            esac
        done
        CMD+=(-append "$CFG_CMDLINE") ;;
    sm)     CMD=("$MPIRUN" --oversubscribe -np "$n" --mca btl 'self,vader' "$VSMP" "${opts[@]}" "$cfg") ;;
    tcp)    CMD=("$MPIRUN" --oversubscribe -np "$n" --mca btl 'self,tcp' --mca osc pt2pt "$VSMP" "${opts[@]}" "$cfg") ;;
    single) CMD=("$VSMP" "${opts[@]}" "$cfg") ;;
    netns)  CMD=(env VSMP="$VSMP" bash "$SRC/tests/integration/netns.sh" --run "$n"
                 "$(cd "$(dirname "$cfg")" && pwd)/$(basename "$cfg")") ;;
    *) echo "linux: unknown mode $1" >&2; return 1 ;;
    esac
}

# linux_start MODE CFG GUARD: starts the guest in its own session under
# timeout GUARD (seconds), console to $T/console, stderr to $T/err, input
# from the FIFO $T/in (held open on fd LINUX_IN, so the guest never sees
# end-of-file). With LINUX_STAMP=1 every console line also goes to
# $T/stamped with the host's time in front (seconds, microseconds).
# Sets LINUX_PID (the session's leader, a shell that writes $T/rc, the
# guest's exit status, and ends with it) and LINUX_T0 (the host time at
# the start).
linux_start() {
    local mode=$1 cfg=$2 guard=$3
    linux_command "$mode" "$cfg" || return 1
    rm -f "$T/in" "$T/console" "$T/err" "$T/stamped" "$T/rc" "$T/sid"
    : >"$T/console"; : >"$T/stamped"
    mkfifo "$T/in"
    LINUX_T0=$EPOCHREALTIME
    if [ "${LINUX_STAMP:-0}" = 1 ]; then
        # shellcheck disable=SC2016
        setsid bash -c '
            echo $$ >"$2/sid"
            cr=$(printf "\r")
            timeout -k 5 "$1" "${@:3}" <"$2/in" 2>"$2/err" | tee -a "$2/console" |
            while IFS= read -r l; do printf "%s %s\n" "$EPOCHREALTIME" "${l%"$cr"}"; done >>"$2/stamped"
            echo "${PIPESTATUS[0]}" >"$2/rc"' linux-guest "$guard" "$T" "${CMD[@]}" &
    else
        # shellcheck disable=SC2016
        setsid bash -c 'echo $$ >"$2/sid"; timeout -k 5 "$1" "${@:3}" <"$2/in" >>"$2/console" 2>"$2/err"; echo $? >"$2/rc"' \
            linux-guest "$guard" "$T" "${CMD[@]}" &
    fi
    exec {LINUX_IN}>"$T/in"
    # the session's leader (setsid may fork): its pid names the session
    while [ ! -s "$T/sid" ]; do sleep 0.1; done
    LINUX_PID=$(cat "$T/sid")
}

# linux_type TEXT: types TEXT (printf format) at the guest's console.
linux_type() { printf "$1" >&"$LINUX_IN"; }

# linux_seen ERE: the console so far has a match.
# linux_setup WHO: what a script that boots the guest does first, after
# making its folder $T: remove $T and any guest still running at exit,
# and stop (status 1, "WHO: FILE missing (make images)") unless the
# images and $HOSTHASH (the hashing workload's host build) are there.
linux_setup() {
    trap '[ -z "${LINUX_PID:-}" ] || linux_signal KILL; rm -rf "$T"' EXIT
    trap 'exit 130' INT TERM
    local f
    for f in images/build/vmlinuz images/build/initrd.cpio.gz "$HOSTHASH"; do
        [ -f "$f" ] || { echo "$1: $f missing (make images)"; exit 1; }
    done
}

# linux_console: the console so far, without carriage returns. Its status
# is 0 even when the reader stops early: under `set -o pipefail` a
# `linux_console | grep -q` whose grep exits at the first match would
# otherwise take tr's SIGPIPE (141) for "not found" (it did, in CI).
linux_console() { tr -d '\r' <"$T/console" || true; }
linux_seen() { linux_console | grep -q -E -- "$1"; }

# linux_wait ERE [SECONDS]: waits until the console shows ERE (0), the
# guest ended (1), or a bad line appeared (2); polls twice a second.
linux_wait() {
    local re=$1 limit=${2:-100000} i=0
    while :; do
        linux_bad && return 2
        linux_seen "$re" && return 0
        kill -0 "$LINUX_PID" 2>/dev/null || { linux_seen "$re" && return 0; return 1; }
        i=$((i + 1)); [ "$i" -lt $((limit * 2)) ] || return 1
        sleep 0.5
    done
}

# linux_bad: a bad line is on the console (LINUX_BAD set to it).
linux_bad() {
    LINUX_BAD=$(linux_console | grep -m1 -E -- "$LINUX_BAD_RE") || return 1
    return 0
}

# linux_finish: waits for the guest to end; a bad line kills it (after 5 s
# more of console, for the trace). Sets LINUX_RC (124/137: the guard ran
# out) and closes the input.
linux_finish() {
    while kill -0 "$LINUX_PID" 2>/dev/null; do
        if linux_bad; then
            sleep 5
            linux_signal TERM; sleep 2
            linux_signal KILL
            break
        fi
        sleep 0.5
    done
    exec {LINUX_IN}>&-
    LINUX_RC=$(cat "$T/rc" 2>/dev/null || echo killed)
    linux_bad || true
}

# linux_signal SIG: sends SIG to every process of the guest's session
# (timeout puts the guest in a process group of its own, inside it).
linux_signal() { pkill "-$1" -s "$LINUX_PID" 2>/dev/null || true; }

# linux_kill: ends the guest at once (its whole session).
linux_kill() {
    linux_signal KILL
    while kill -0 "$LINUX_PID" 2>/dev/null; do sleep 0.1; done
    { exec {LINUX_IN}>&-; } 2>/dev/null || true
    LINUX_RC=$(cat "$T/rc" 2>/dev/null || echo killed)
}

# linux_tail [N]: the last N (30) console lines, indented.
linux_tail() { linux_console | tail -n "${1:-30}" | sed 's/^/        | /'; }

# A test script's verdicts: pass NAME, fail NAME REASON (with the last 30
# console lines and vsmp's stderr); PASS and FAIL count them.
PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); printf 'PASS  %s\n' "$1"; }
fail() {
    FAIL=$((FAIL + 1))
    printf 'FAIL  %s: %s\n' "$1" "$2"
    echo "      last 30 console lines:"; linux_tail 30
    if [ -s "$T/err" ]; then
        echo "      stderr:"; grep -v -e '^-*$' "$T/err" | head -n 12 | sed 's/^/        | /'
    fi
}
