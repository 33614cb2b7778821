#!/usr/bin/env bash
# tests/integration/ckpt.sh - memory images (issue 17, docs/checkpoint.md)
# with real jobs: `make check-integration` runs it after run.sh.
#
# The guest (tests/integration/guests/ckpt.c) counts on every CPU with
# its counter in memory and in a register, a shared LOCK XADD total and
# TSC checks (no step back, no jump ahead), until a byte arrives on its
# console; in the signal cases every CPU also keeps sending IPIs to the
# next, one in flight at a time, each counted on both sides (interrupts
# pending or in flight at a checkpoint are neither lost nor doubled), and
# the BSP filled 8 MiB of RAM with a pattern it checks at the end (pages
# restored on one rank, homed on another: their ownership).
# Cases, at 1, 2 and 4 ranks (singleton, mpirun over shared
# memory and over TCP):
#   signals   --checkpoint: SIGUSR1 (to mpirun, which forwards it; to the
#             process when alone) writes an image and the guest goes on;
#             then SIGUSR2 to mpirun (sm), SIGTERM to every rank (tcp, as
#             Slurm does) or SIGTERM to the process (singleton) writes
#             another and ends the job with status 0 before the guest
#             finished. A new job --restore's it, gets console input and
#             finishes the count correctly (status 1), without booting.
#             Also with an AP halted (halt=1) and with the APs waiting
#             for STARTUP (solo=1) at the checkpoint.
#   clock     the same restore with the new job's clock 1000 s ahead
#             (VSMP_TEST_CLOCK_SKEW): the guest's TSC must continue from
#             the saved value all the same.
#   image     the config keyword `image PATH` instead of --restore.
#   port      the guest's last CPU asks through port 0xF5 (forwarded to
#             rank 0 from another rank): 1 = checkpoint and go on (the port
#             then reads 1), 2 = checkpoint and end the job (status 0);
#             the images restore and finish. Without --checkpoint the port
#             reads 0 (the guest fails on purpose: status 101) and a note.
#   refusals  status 2 and one line: another rank count (1 and 4 for a
#             2-CPU image), another memory size, another disk set (size,
#             file, count), a truncated image, a damaged page, a damaged header,
#             a missing image (--restore and `image`).
#   unwritable  --checkpoint into a folder that cannot be: SIGUSR1 says so
#             in one line and the guest goes on; SIGTERM says so and the
#             job ends with status 10; nothing is left at the path.
#   ignored   no --checkpoint: SIGUSR1 and SIGUSR2 are ignored with a note.
# Environment: BUILD (build), VSMP (./vsmp), MPIRUN (mpirun),
# CASE_TIMEOUT (180 s), INTEG_QUICK=1 (2 ranks over sm only),
# CKPT_CASES (only these case functions, e.g. "signal_cases").
set -euo pipefail

cd "$(dirname "$0")/../.."
SRC=$(pwd)
BUILD=${BUILD:-build}
VSMP=${VSMP:-./vsmp}
MPIRUN=${MPIRUN:-mpirun}
CASE_TIMEOUT=${CASE_TIMEOUT:-180}
GUEST=$SRC/$BUILD/tests/integration/guests/ckpt.elf
EXIT_INTERNAL=10
# every (mode, ranks) the signal cases run in
COMBOS=("single 1" "sm 1" "sm 2" "sm 4" "tcp 2" "tcp 4")
[ "${INTEG_QUICK:-0}" = 1 ] && COMBOS=("sm 2")

export OMPI_MCA_btl_vader_single_copy_mechanism=none
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
for f in "$VSMP" "$GUEST"; do
    [ -f "$f" ] || { echo "ckpt: $f missing (make vsmp integration-guests)" >&2; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-ckpt.XXXXXX")
cp "$VSMP" "$T/vsmp"
TAG="vsmp-ckpt-$$-${T##*.}"

# this run's processes: started from $T/vsmp, or carrying the tag
case_pids() {
    {
        pgrep -f -- "$T/vsmp" || true
        grep -l -s -z -x "VSMP_INTEG_TAG=$TAG" /proc/[0-9]*/environ 2>/dev/null |
            sed -e 's|^/proc/||' -e 's|/environ$||' || true
    } | sort -un
}
kill_case_procs() {
    local pids
    pids=$(case_pids | paste -sd ' ')
    [ -n "${pids// /}" ] || return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
}
cleanup() {
    trap '' PIPE
    exec 7>&- 2>/dev/null || true
    kill_case_procs
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'exit 129' HUP

PASS=0 FAIL=0
pass() { PASS=$((PASS + 1)); printf 'PASS  %s\n' "$1"; }
fail() {
    FAIL=$((FAIL + 1))
    printf 'FAIL  %s: %s\n' "$1" "$2"
    if [ -s "$T/out" ]; then echo "      stdout:"; head -n 8 "$T/out" | sed 's/^/        /'; fi
    if [ -s "$T/err" ]; then echo "      stderr:"; grep -v -e '^-*$' "$T/err" | head -n 12 | sed 's/^/        /'; fi
}

# The console: a FIFO this script holds open (fd 7), so a job sees input
# only when a case writes it, and never an end of input.
mkfifo "$T/console"
exec 7<>"$T/console"
send_input() { printf 'go\n' >&7; }

# configs: the guest, 64M, one small writable disk (part of the image's
# platform); variants for the refusals
mkdir -p "$T/cfg"
truncate -s 1M "$T/disk1.img"
truncate -s 2M "$T/disk2.img"
truncate -s 1M "$T/disk3.img"
write_cfg() { # NAME MEMORY DISK|- [EXTRA LINE]
    {
        echo "memory $2"
        echo "kernel $GUEST"
        [ "$3" = - ] || echo "disk $3"
        [ -z "${4:-}" ] || echo "$4"
    } >"$T/cfg/$1.cfg"
}
write_cfg base 64M "$T/disk1.img" "cmdline ipi=1 fill=8"
write_cfg halt 64M "$T/disk1.img" "cmdline halt=1"
write_cfg solo 64M "$T/disk1.img" "cmdline solo=1"
write_cfg port1 64M "$T/disk1.img" "cmdline port=1"
write_cfg port2 64M "$T/disk1.img" "cmdline port=2"
write_cfg mem32 32M "$T/disk1.img" "cmdline ipi=1 fill=8"
write_cfg bigdisk 64M "$T/disk2.img"
write_cfg otherdisk 64M "$T/disk3.img"
write_cfg nodisk 64M -
write_cfg image 64M "$T/disk1.img" "image $T/img.sm2"
write_cfg noimage 64M "$T/disk1.img" "image $T/no-such.img"

# start MODE NP [VSMP ARGS...] CONFIG: the job in the background, in its
# own session under a timeout, console from the FIFO; JOB is its pid.
start() {
    local mode=$1 np=$2
    shift 2
    local -a cmd
    case $mode in
    single) cmd=("$T/vsmp" "$@") ;;
    sm)     cmd=("$MPIRUN" --oversubscribe -np "$np" --mca btl 'self,vader' "$T/vsmp" "$@") ;;
    tcp)    cmd=("$MPIRUN" --oversubscribe -np "$np" --mca btl 'self,tcp' --mca osc pt2pt
                 "$T/vsmp" "$@") ;;
    esac
    : >"$T/out"
    : >"$T/err"
    VSMP_INTEG_TAG=$TAG setsid timeout -k 5 "$CASE_TIMEOUT" "${cmd[@]}" \
        <"$T/console" >"$T/out" 2>"$T/err" &
    JOB=$!
}

# finish: wait for the job; RC its status, LEFT what still runs after
finish() {
    RC=0
    wait "$JOB" || RC=$?
    LEFT=
    for _ in $(seq 1 300); do
        LEFT=$(case_pids | paste -sd ' ')
        [ -n "${LEFT// /}" ] || { LEFT=; break; }
        sleep 0.1
    done
    [ -z "$LEFT" ] || kill_case_procs
}

run() { start "$@"; finish; }     # MODE NP [ARGS...] CONFIG, to the end

# wait_for FILE PATTERN COUNT: until FILE has COUNT lines matching
# PATTERN (0 when it does, 1 when the job ended or CASE_TIMEOUT passed).
wait_for() {
    local i
    for i in $(seq 1 $((CASE_TIMEOUT * 10))); do
        [ "$(grep -c -e "$2" "$1" 2>/dev/null || true)" -ge "$3" ] && return 0
        kill -0 "$JOB" 2>/dev/null || { [ "$(grep -c -e "$2" "$1" || true)" -ge "$3" ]; return; }
        sleep 0.1
    done
    return 1
}

# The job's vsmp processes (the ranks) and its launcher (mpirun; the
# process itself when alone).
rank_pids() { pgrep -f -- "^$T/vsmp " | paste -sd ' '; }
launcher_pid() {
    if [ "$1" = single ]; then rank_pids; else pgrep -P "$JOB" -x mpirun || pgrep -P "$JOB"; fi
}

check_common() { # NAME WANTED_RC
    if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then fail "$1" "timed out (status $RC)"; return 1; fi
    if [ -n "$LEFT" ]; then fail "$1" "processes left running: $LEFT"; return 1; fi
    if grep -q -i -E 'segmentation fault|exited on signal|core dumped|signal [0-9]+ \(' "$T/err"; then
        fail "$1" "a process crashed"; return 1
    fi
    if [ "$RC" != "$2" ]; then fail "$1" "exit status $RC, expected $2"; return 1; fi
    return 0
}
vsmp_lines() { grep -c '^vsmp:' "$T/err" || true; }
ckpt_lines() { grep -c "^vsmp: checkpoint $1: .* MiB of RAM in use" "$T/err" || true; }

# restore_ok NAME MODE NP [ARGS...] CONFIG: a restored job gets its input
# and finishes the count (status 1, "ok" on CPUS CPUs (default NP), no boot)
restore_ok() {
    local name=$1 mode=$2 np=$3 cpus=${CPUS:-$3}
    shift 3
    start "$mode" "$np" "$@"
    send_input
    finish
    check_common "$name" 1 || return 1
    if grep -q 'counting' "$T/out"; then fail "$name" "the guest booted again"; return 1; fi
    if ! grep -q "^ckpt: ok on $cpus CPUs" "$T/out"; then fail "$name" "no 'ckpt: ok'"; return 1; fi
    if [ "$(grep -c '^vsmp:' "$T/err" || true)" != "$(grep -c '^vsmp: restore ' "$T/err" || true)" ]; then
        fail "$name" "vsmp printed something else than the restore line"; return 1
    fi
    pass "$name"
}

# ---------------------------------------------------------------- signals
signal_case() { # MODE NP [VARIANT: base, halt (an AP halted), solo (APs wait for STARTUP)]
    local mode=$1 np=$2 v=${3:-base} name="signals $1 np=$2" img=$T/img.$1$2
    [ "$v" = base ] || { name="$name $v"; img=$img.$v; }
    local cpus=$np
    [ "$v" = solo ] && cpus=1
    rm -f "$img"
    start "$mode" "$np" --checkpoint "$img" "$T/cfg/$v.cfg"
    if ! wait_for "$T/out" '^ckpt: counting' 1; then finish; fail "$name" "the guest did not start"; return; fi
    kill -USR1 "$(launcher_pid "$mode")"
    if ! wait_for "$T/err" "^vsmp: checkpoint $img: " 1; then
        finish; fail "$name" "no image after SIGUSR1"; return
    fi
    [ -f "$img" ] || { finish; fail "$name" "SIGUSR1: $img missing"; return; }
    local ends
    case $mode in
    single) ends="SIGTERM"; kill -TERM "$(rank_pids)" ;;
    sm)     ends="SIGUSR2 to mpirun"; kill -USR2 "$(launcher_pid "$mode")" ;;
    # shellcheck disable=SC2046
    tcp)    ends="SIGTERM to every rank"; kill -TERM $(rank_pids) ;;
    esac
    finish
    check_common "$name ($ends)" 0 || return
    if grep -q '^ckpt: ok' "$T/out"; then fail "$name" "the guest finished before the end"; return; fi
    if [ "$(ckpt_lines "$img")" -lt 2 ]; then fail "$name" "not two checkpoint lines"; return; fi
    if [ "$(vsmp_lines)" != "$(ckpt_lines "$img")" ]; then fail "$name" "other vsmp lines"; return; fi
    if compgen -G "$img.tmp.*" >/dev/null; then fail "$name" "a temporary file is left"; return; fi
    pass "$name ($ends)"
    CPUS=$cpus restore_ok "restore ${name#signals }" "$mode" "$np" --restore "$img" "$T/cfg/$v.cfg"
    if [ "$v" = base ] && { [ "$mode $np" = "sm 2" ] || [ "$mode" = single ]; }; then
        VSMP_TEST_CLOCK_SKEW=1000 restore_ok "restore $mode np=$np, the host clock 1000 s ahead" \
            "$mode" "$np" --restore "$img" "$T/cfg/base.cfg"
    fi
}

signal_cases() {
    local c
    for c in "${COMBOS[@]}"; do
        # shellcheck disable=SC2086
        signal_case $c
    done
    signal_case sm 2 halt
    signal_case sm 2 solo
    [ "${INTEG_QUICK:-0}" = 1 ] || signal_case tcp 4 halt
}

# config keyword `image` (the sm np=2 image; made here when missing)
image_cases() {
    [ -f "$T/img.sm2" ] || signal_case sm 2
    restore_ok "restore sm np=2 from the config's image" sm 2 "$T/cfg/image.cfg"
}

# ------------------------------------------------------------------- port
port_case() { # MODE NP
    local mode=$1 np=$2 img=$T/port.$1$2
    local name="port 1 $mode np=$np"
    rm -f "$img" "$img.2"
    run "$mode" "$np" --checkpoint "$img" "$T/cfg/port1.cfg"
    if check_common "$name" 1; then
        if [ "$(ckpt_lines "$img")" != 1 ] || ! grep -q "^ckpt: ok on $np CPUs" "$T/out"; then
            fail "$name" "not one checkpoint line and 'ckpt: ok'"
        else
            pass "$name"
            restore_ok "port 1 $mode np=$np: restore" "$mode" "$np" --checkpoint "$img.2" \
                --restore "$img" "$T/cfg/port1.cfg"
        fi
    fi
    name="port 2 $mode np=$np"
    rm -f "$img"
    run "$mode" "$np" --checkpoint "$img" "$T/cfg/port2.cfg"
    if check_common "$name" 0; then
        if [ "$(ckpt_lines "$img")" != 1 ] || grep -q '^ckpt: ok' "$T/out"; then
            fail "$name" "not one checkpoint line, or the guest finished"
        else
            pass "$name"
            restore_ok "port 2 $mode np=$np: restore" "$mode" "$np" --restore "$img" \
                "$T/cfg/port2.cfg"
        fi
    fi
}

port_cases() {
    port_case single 1
    port_case sm 2
    [ "${INTEG_QUICK:-0}" = 1 ] || port_case tcp 2
    local name="port 1 without --checkpoint, sm np=2"
    run sm 2 "$T/cfg/port1.cfg"
    # the guest's check fails on purpose: the port reads 0 (fail code 0x32)
    if check_common "$name" $(((0x32 << 1) | 1)); then
        if ! grep -q 'port 0xf5 reads 0' "$T/out" || ! grep -q '^vsmp: .*port 0xf5.*no --checkpoint' "$T/err"; then
            fail "$name" "no 'reads 0' from the guest or no note from vsmp"
        else
            pass "$name"
        fi
    fi
}

# --------------------------------------------------------------- refusals
# refuse NAME MODE NP PATTERN [ARGS...] CONFIG: status 2, one vsmp line
# matching PATTERN, the guest never ran
refuse() {
    local name=$1 mode=$2 np=$3 pat=$4
    shift 4
    run "$mode" "$np" "$@"
    check_common "$name" 2 || return
    if [ "$(vsmp_lines)" != 1 ]; then fail "$name" "$(vsmp_lines) vsmp lines, expected 1"; return; fi
    if ! grep -q -E "$pat" "$T/err"; then fail "$name" "the line does not match /$pat/"; return; fi
    if [ -s "$T/out" ]; then fail "$name" "the guest ran"; return; fi
    pass "$name"
}

# flip_byte FILE OFFSET: one byte inverted
flip_byte() {
    python3 - "$1" "$2" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, 'r+b') as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0xff]))
EOF
}
# the offset of the file's last nonzero byte: in its last stored page
last_nonzero() {
    python3 - "$1" <<'EOF'
import sys
d = open(sys.argv[1], 'rb').read()
print(len(d.rstrip(b'\0')) - 1)
EOF
}

refusal_cases() {
    [ -f "$T/img.sm2" ] || signal_case sm 2
    local img=$T/img.sm2 bad=$T/bad.img
    refuse "refuse: 2-CPU image on 1 rank" single 1 "restore .*2 CPUs.*1 rank" \
        --restore "$img" "$T/cfg/base.cfg"
    [ "${INTEG_QUICK:-0}" = 1 ] ||
        refuse "refuse: 2-CPU image on 4 ranks" sm 4 "restore .*2 CPUs.*4 ranks" \
            --restore "$img" "$T/cfg/base.cfg"
    refuse "refuse: other memory size" sm 2 "restore .*(RAM|memory)" \
        --restore "$img" "$T/cfg/mem32.cfg"
    refuse "refuse: a disk of another size" sm 2 "restore .*disk 1" \
        --restore "$img" "$T/cfg/bigdisk.cfg"
    refuse "refuse: another disk file of the same size" sm 2 "restore .*disk 1 is .*disk1.img in the image, .*disk3.img here" \
        --restore "$img" "$T/cfg/otherdisk.cfg"
    refuse "refuse: no disk" sm 2 "restore .*1 disk, the config 0" \
        --restore "$img" "$T/cfg/nodisk.cfg"
    cp "$img" "$bad"
    truncate -s $(($(stat -c %s "$img") / 2)) "$bad"
    refuse "refuse: truncated image" sm 2 "restore|$bad" --restore "$bad" "$T/cfg/base.cfg"
    cp "$img" "$bad"
    flip_byte "$bad" "$(last_nonzero "$bad")"
    refuse "refuse: a damaged page" sm 2 "corrupt|checksum" --restore "$bad" "$T/cfg/base.cfg"
    cp "$img" "$bad"
    flip_byte "$bad" 20
    refuse "refuse: a damaged header" sm 2 "corrupt|checksum|not a" --restore "$bad" \
        "$T/cfg/base.cfg"
    refuse "refuse: missing image (--restore)" sm 2 "no-such.img.*No such file" \
        --restore "$T/no-such.img" "$T/cfg/base.cfg"
    refuse "refuse: missing image (config)" sm 2 "no-such.img.*No such file" "$T/cfg/noimage.cfg"
}

# ------------------------------------------------------------- unwritable
unwritable_case() { # MODE NP
    local mode=$1 np=$2 name="unwritable folder $1 np=$2"
    : >"$T/notafolder"
    local img=$T/notafolder/img
    start "$mode" "$np" --checkpoint "$img" "$T/cfg/base.cfg"
    if ! wait_for "$T/out" '^ckpt: counting' 1; then finish; fail "$name" "the guest did not start"; return; fi
    kill -USR1 "$(launcher_pid "$mode")"
    if ! wait_for "$T/err" "^vsmp: checkpoint $img: .*the guest goes on" 1; then
        finish; fail "$name" "no failure line after SIGUSR1"; return
    fi
    # shellcheck disable=SC2046
    kill -TERM $(rank_pids)
    finish
    check_common "$name" "$EXIT_INTERNAL" || return
    if ! grep -q "^vsmp: checkpoint $img: .*ends with status $EXIT_INTERNAL" "$T/err"; then
        fail "$name" "no failure line after SIGTERM"; return
    fi
    if [ "$(vsmp_lines)" != 2 ]; then fail "$name" "$(vsmp_lines) vsmp lines, expected 2"; return; fi
    pass "$name"
}

unwritable_cases() {
    unwritable_case single 1
    unwritable_case sm 2
}

# ---------------------------------------------------------------- ignored
ignored_cases() {
    local name="no --checkpoint: SIGUSR1 and SIGUSR2 ignored, sm np=2"
    start sm 2 "$T/cfg/base.cfg"
    if ! wait_for "$T/out" '^ckpt: counting' 1; then finish; fail "$name" "the guest did not start"; return; fi
    # shellcheck disable=SC2046
    kill -USR1 $(rank_pids)
    wait_for "$T/err" 'SIGUSR1 ignored: no --checkpoint PATH' 2 || true
    # shellcheck disable=SC2046
    kill -USR2 $(rank_pids)
    wait_for "$T/err" 'SIGUSR2 ignored: no --checkpoint PATH' 2 || true
    send_input
    finish
    check_common "$name" 1 || return
    if [ "$(grep -c 'ignored: no --checkpoint PATH' "$T/err" || true)" != 4 ] ||
       ! grep -q '^ckpt: ok on 2 CPUs' "$T/out"; then
        fail "$name" "not 4 notes (2 signals x 2 ranks) and 'ckpt: ok'"; return
    fi
    pass "$name"
}

CASES=${CKPT_CASES:-signal_cases image_cases port_cases refusal_cases unwritable_cases ignored_cases}
for c in $CASES; do
    $c
done
echo "ckpt: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
