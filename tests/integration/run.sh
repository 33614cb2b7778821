#!/usr/bin/env bash
# tests/integration/run.sh - vsmp's MPI integration tests (`make
# check-integration`): real mpirun jobs of 1, 2 and 4 ranks over shared
# memory (btl self,vader) and over TCP (btl self,tcp + osc pt2pt), and plain
# `./vsmp CONFIG` (MPI singleton). Each case checks the exit status (the
# guest's), the console output or the error message, and that no process
# of the case is left running. Then, as root, tests/integration/netns.sh
# (simulated nodes). One line per case, then "N passed, M failed"; exits 1
# on any failure.
#
# The SMP guest (tests/guests/smp.c) runs on N virtual CPUs = N ranks
# (1, 2, 4) over sm and tcp, and must print tests/guests/expected/smp.N.out
# within SMP_TIMEOUT (900 s, a hang guard: it takes about 1 s over sm and
# 5-10 s over tcp with 4 ranks on 2 cores, but 100-200 s at 2 ranks when
# CPU-bound processes share its cores and scheduling group: a rank that
# yields in the guest's spin-waits gets a few per cent of a core then,
# and the ring test waits for the other rank 10,000 times). Failure cases with several ranks: an
# application processor's triple fault (aptriple.asm: rank 0 reports it
# for rank 1, every rank exits 4), rank 1 killed with SIGKILL mid-run
# (bench_par sized to run for over a minute; the job ends, naming rank
# 1), every CPU halted with interrupts disabled
# (allhalt.asm: status 6, not a hang), and --stats/--stats-json with 4 ranks.
# Bad input (run_bad_input_cases): /dev/zero, a directory and a NUL byte
# as the config, an 8 GiB sparse initrd under a 1 GiB address-space limit,
# a damaged ELF header, numbers that overflow or carry a sign, statistics
# that cannot be written (status 12) - one line each, on every rank.
# Options: --idle spin / backoff / auto (the policy --stats names, the
# guest's output unchanged) and a bad --idle value; --push put and
# message forced over sm and tcp (the path --stats names), auto (any path:
# the open-time probe's choice depends on the host's timings; its rule is
# tested with injected times in tests/unit/test_probe_rule.c), and a bad
# --push value; --baseline (raw gets timed in the job, reported by --stats
# and in the JSON) and a bad value; --take auto / home / never over TCP
# (forwarded TAKEs happen with auto, none at all with never) and a bad
# value. Memory that is not used (run_memory_cases): memory 3G at 1 and 2
# ranks over sm and tcp, each rank's peak RSS far below it; no rank reads
# guest RAM nobody installed (copy areas filled with garbage first); an
# address-space limit below memory is one line and status 2.
# --answer-timeout: one rank of a running SMP guest stopped with
# SIGSTOP at 2 and 4 ranks over sm and tcp (the job ends with status 14,
# a line naming the stopped rank, nothing left running, the stopped rank
# too), a rank stopped at a collective step of the start-up (the others
# wait inside MPI: the watchdog thread), an idle guest (every CPU halted)
# not timed out over more than twice the limit and then found by the
# liveness check when a rank stops, --answer-timeout 0 (off: a stopped
# rank is waited for), and bad values.
#
# Run from the source root after `make vsmp guests integration-guests`.
# Environment: BUILD (build), VSMP (./vsmp), MPIRUN (mpirun),
# CASE_TIMEOUT (60 s), SMP_TIMEOUT (900 s), INTEG_QUICK=1 (2 ranks only),
# INTEG_CASES (only these case functions, e.g. "run_smp_cases"), NETNS=0 (skip netns),
# EXIT_TRIPLE_FAULT (4), EXIT_HALTED (6), EXIT_NO_ANSWER (14): the statuses
# expected (src/machine.h), ANSWER_TIMEOUT (3 s: the --answer-timeout of
# the cases that stop a rank).
set -euo pipefail

cd "$(dirname "$0")/../.."
SRC=$(pwd)
BUILD=${BUILD:-build}
VSMP=${VSMP:-./vsmp}
MPIRUN=${MPIRUN:-mpirun}
CASE_TIMEOUT=${CASE_TIMEOUT:-60}
SMP_TIMEOUT=${SMP_TIMEOUT:-900}
GUESTS=$BUILD/tests/guests
OWN_GUESTS=$BUILD/tests/integration/guests
# vsmp's own exit statuses for guest failures, as the README documents
# them ("Exit status"). Change them here, in one place, if the README does.
EXIT_TRIPLE_FAULT=${EXIT_TRIPLE_FAULT:-4}
EXIT_HALTED=${EXIT_HALTED:-6}
EXIT_NO_ANSWER=${EXIT_NO_ANSWER:-14}
# A limit far above any answer time of a running job, even 4 ranks on 2
# busy cores (milliseconds), and short enough for a test.
ANSWER_TIMEOUT=${ANSWER_TIMEOUT:-3}
RANKS=(1 2 4)
[ "${INTEG_QUICK:-0}" = 1 ] && RANKS=(2)

# Open MPI 4.1.4 settings (README, "Open MPI notes").
export OMPI_MCA_btl_vader_single_copy_mechanism=none
if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

for f in "$VSMP" "$OWN_GUESTS/triplefault.elf" "$OWN_GUESTS/clihlt.elf" "$OWN_GUESTS/aptriple.elf" \
         "$OWN_GUESTS/allhalt.elf" "$OWN_GUESTS/idle.elf" "$OWN_GUESTS/console.elf"; do
    [ -f "$f" ] || { echo "integration: $f missing (make vsmp integration-guests)" >&2; exit 1; }
done
command -v "$MPIRUN" >/dev/null || { echo "integration: $MPIRUN not found (openmpi-bin)" >&2; exit 1; }

# Everything of this run lives in one private folder; the vsmp binary is
# copied there so that its path names this run's processes only (other
# engineers may be running vsmp at the same time).
T=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-integ.XXXXXX")
cp "$VSMP" "$T/vsmp"
[ ! -f "$BUILD/tests/integration/maxrss" ] || cp "$BUILD/tests/integration/maxrss" "$T/maxrss"
TAG="vsmp-integ-$$-${T##*.}"

cleanup() {
    trap '' PIPE    # a closed stdout must not cut the cleanup short
    kill_case_procs
    rm -rf "$T"
}

# Pids of this run's processes: those started from $T/vsmp, and any that
# carries this run's tag in its environment (mpirun, the ranks, the orted
# of a singleton). Zombies have no readable environment and do not count.
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
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

PASS=0 FAIL=0 SKIP=0
pass() { PASS=$((PASS + 1)); printf 'PASS  %s\n' "$1"; }
skip() { SKIP=$((SKIP + 1)); printf 'SKIP  %s: %s\n' "$1" "$2"; }
fail() {
    FAIL=$((FAIL + 1))
    printf 'FAIL  %s: %s\n' "$1" "$2"
    # the evidence, indented
    if [ -s "$T/out" ]; then echo "      stdout:"; head -n 8 "$T/out" | sed 's/^/        /'; fi
    if [ -s "$T/err" ]; then echo "      stderr:"; grep -v -e '^-*$' "$T/err" | head -n 12 | sed 's/^/        /'; fi
}

# launch MODE NP CONFIG [VSMP_OPTION...]: runs one job in its own session
# under a timeout; sets RC, leaves stdout/stderr in $T/out, $T/err and sets
# LEFT to the pids of the case still running afterwards (then killed).
launch() {
    local mode=$1 np=$2 cfg=$3
    shift 3
    local -a cmd vsmp=("$T/vsmp" "$@" "$cfg")
    # RSS_OUT: each rank runs under maxrss, which records its peak RSS
    [ -n "${RSS_OUT:-}" ] && vsmp=("$T/maxrss" "$RSS_OUT" "${vsmp[@]}")
    case $mode in
    single) cmd=("${vsmp[@]}") ;;
    sm)     cmd=("$MPIRUN" --oversubscribe -np "$np" --mca btl 'self,vader' "${vsmp[@]}") ;;
    # Debian's openmpi-mca-params.conf has `osc = ^ucx,pt2pt`; a command-line
    # --mca outranks that file, so osc pt2pt (one-sided over TCP) is usable.
    tcp)    cmd=("$MPIRUN" --oversubscribe -np "$np" --mca btl 'self,tcp' --mca osc pt2pt "${vsmp[@]}") ;;
    esac
    # setsid: the job gets its own process group; timeout kills that group
    # (it signals its own group) and -k follows up with SIGKILL.
    RC=0
    VSMP_INTEG_TAG=$TAG setsid timeout -k 5 "${TIMEOUT:-$CASE_TIMEOUT}" "${cmd[@]}" \
        </dev/null >"$T/out" 2>"$T/err" || RC=$?
    # mpirun returns after its ranks; a singleton's orted may take a moment
    # (up to 30 s on a loaded host; the loop ends as soon as none is left).
    LEFT=
    for _ in $(seq 1 300); do
        LEFT=$(case_pids | paste -sd ' ')
        [ -n "${LEFT// /}" ] || { LEFT=; break; }
        sleep 0.1
    done
    if [ -n "$LEFT" ]; then
        local what
        what=$(ps -o pid=,args= -p "${LEFT// /,}" 2>/dev/null | head -n 4 | tr '\n' ';' || true)
        LEFT="$LEFT(${what})"
        kill_case_procs
    fi
}

label() { # MODE NP
    case $1 in
    single) echo "singleton" ;;
    *) echo "$1 np=$2" ;;
    esac
}

# Common checks after a run: exit status, nothing left, no crash.
# check_common NAME EXPECTED_RC -> 0 if fine (else reported)
check_common() {
    local name=$1 want=$2
    if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
        fail "$name" "timed out after ${TIMEOUT:-$CASE_TIMEOUT}s (status $RC)"; return 1
    fi
    if [ -n "$LEFT" ]; then
        fail "$name" "processes left running after the job ended: $LEFT"; return 1
    fi
    if grep -q -i -E 'segmentation fault|exited on signal|core dumped|signal [0-9]+ \(' "$T/err"; then
        fail "$name" "a process crashed"; return 1
    fi
    if [ "$RC" != "$want" ]; then
        fail "$name" "exit status $RC, expected $want"; return 1
    fi
    return 0
}

# vsmp's own lines on stderr (mpirun adds its banners around them).
vsmp_lines() { grep -c '^vsmp:' "$T/err" || true; }

# ---------------------------------------------------------------- configs
CFG=$T/cfg
mkdir -p "$CFG"
# guest NAME: writes $CFG/NAME.cfg for a test guest, with the settings
# tests/guests/run-guest.sh uses for it.
guest_cfg() {
    local name=$1 elf=$2
    {
        echo "# integration test: guest $name"
        echo "memory 32M"
        echo "kernel $elf"
        case $name in
        hello)
            echo "cmdline hello-test arg=42 x"
            echo "initrd $SRC/tests/guests/data/module.txt" ;;
        bench_par)      # a minute or more of work at 2 ranks: never done first
            echo "cmdline scale=4096" ;;
        bench_lock)     # hours of lock hand-overs: every CPU keeps needing the others
            echo "cmdline scale=100000" ;;
        esac
    } >"$CFG/$name.cfg"
}

# --------------------------------------------------------- working guests
# Guests that must run to completion (debug-exit 0 -> status 1): hello,
# and one that takes interrupts (the PIT through the PIC).
run_guest_cases() {
    local g=$1
    local elf=$SRC/$GUESTS/$g.elf
    local exp=$SRC/tests/guests/expected/$g.out
    if [ ! -f "$elf" ]; then
        fail "guest $g" "$GUESTS/$g.elf missing (make guests)"
        return
    fi
    guest_cfg "$g" "$elf"
    local ref=
    local mode np name
    for mode in single sm tcp; do
        local -a nps=("${RANKS[@]}")
        [ $mode = single ] && nps=(1)
        for np in "${nps[@]}"; do
            name="$g $(label $mode "$np")"
            launch $mode "$np" "$CFG/$g.cfg"
            check_common "$name" 1 || continue
            if [ "$(vsmp_lines)" != 0 ]; then
                fail "$name" "vsmp printed an error"; continue
            fi
            if [ ! -s "$T/out" ]; then
                fail "$name" "no console output"; continue
            fi
            if [ -f "$exp" ]; then
                if ! cmp -s "$exp" "$T/out"; then
                    fail "$name" "console output differs from tests/guests/expected/$g.out"; continue
                fi
            elif [ -z "$ref" ]; then
                # no expected file yet: every mode must print what the
                # first one did
                cp "$T/out" "$T/ref.$g"; ref=$T/ref.$g
            elif ! cmp -s "$ref" "$T/out"; then
                fail "$name" "console output differs from the singleton run"; continue
            fi
            if [ "$g" = hello ] && ! grep -q -i hello "$T/out"; then
                fail "$name" "output lacks 'hello'"; continue
            fi
            pass "$name"
        done
    done
}

# -------------------------------------------------------------- SMP guest
# smp.elf on N CPUs = N ranks: APs started by INIT-SIPI-SIPI, then LOCK
# XADD counting, an XCHG spinlock, ring buffers, false sharing, IPI
# ping-pong, cross-modifying code over the DSM, NMI, logical,
# lowest-priority and shorthand IPIs between the ranks, the TSC as one
# clock and every rank's APIC timer. The output depends
# only on N: tests/guests/expected/smp.N.out.
run_smp_cases() {
    local elf=$SRC/$GUESTS/smp.elf
    if [ ! -f "$elf" ]; then
        fail "smp" "$GUESTS/smp.elf missing (make guests)"
        return
    fi
    guest_cfg smp "$elf"
    local mode np name exp
    for mode in single sm tcp; do
        local -a nps=("${RANKS[@]}")
        [ $mode = single ] && nps=(1)
        for np in "${nps[@]}"; do
            name="smp $(label $mode "$np")"
            exp=$SRC/tests/guests/expected/smp.$np.out
            if [ ! -f "$exp" ]; then
                skip "$name" "no tests/guests/expected/smp.$np.out"; continue
            fi
            TIMEOUT=$SMP_TIMEOUT launch $mode "$np" "$CFG/smp.cfg"
            check_common "$name" 1 || continue
            if [ "$(vsmp_lines)" != 0 ]; then
                fail "$name" "vsmp printed an error"; continue
            fi
            if ! cmp -s "$exp" "$T/out"; then
                fail "$name" "console output differs from tests/guests/expected/smp.$np.out"
                { diff "$exp" "$T/out" || true; } | head -n 6 | sed 's/^/        /'
                continue
            fi
            pass "$name"
        done
    done
}

# ------------------------------------------------------------ error cases
# err_case NAME CONFIG EXPECTED_RC REGEX [VSMP_OPTION...]: the job must end
# with the status and exactly one vsmp line on stderr, matching REGEX
# (extended), at every rank count (ERR_RANKS, default all) and as a
# singleton. ERR_LIMIT_AS_KB: run the job under that address-space limit
# (ulimit -v), so that a run that reads a huge file whole fails
# differently from one that checks its size first.
err_case() {
    local what=$1 cfg=$2 want=$3 re=$4
    shift 4
    local np name soft
    soft=$(ulimit -S -v)
    for np in single ${ERR_RANKS:-"${RANKS[@]}"}; do
        [ -z "${ERR_LIMIT_AS_KB:-}" ] || ulimit -S -v "$ERR_LIMIT_AS_KB"
        if [ "$np" = single ]; then
            name="$what singleton"; launch single 1 "$cfg" "$@"
        else
            name="$what np=$np"; launch sm "$np" "$cfg" "$@"
        fi
        ulimit -S -v "$soft"
        check_common "$name" "$want" || continue
        local n
        n=$(vsmp_lines)
        if [ "$n" != 1 ]; then
            fail "$name" "expected one 'vsmp:' line on stderr, got $n"; continue
        fi
        if ! grep '^vsmp:' "$T/err" | grep -q -E -- "$re"; then
            fail "$name" "message does not match /$re/"; continue
        fi
        pass "$name"
    done
}

bad_cfg() { # NAME LINES... -> $CFG/NAME.cfg
    local name=$1; shift
    printf '%s\n' "$@" >"$CFG/$name.cfg"
}

run_error_cases() {
    local hello=$SRC/$GUESTS/hello.elf
    [ -f "$hello" ] || hello=$SRC/$OWN_GUESTS/clihlt.elf   # any valid kernel
    local tf=$SRC/$OWN_GUESTS/triplefault.elf

    bad_cfg badkw "# unknown keyword on line 3" "memory 16M" "memroy 16M" "kernel $hello"
    err_case "config: unknown keyword" "$CFG/badkw.cfg" 2 "badkw\.cfg:3: .*memroy"

    bad_cfg badmem "kernel $hello" "memory 16Q"
    err_case "config: bad memory size" "$CFG/badmem.cfg" 2 "badmem\.cfg:2: .*16Q"

    bad_cfg nokernel "memory 16M" "kernel no-such-kernel.elf"
    err_case "config: missing kernel file" "$CFG/nokernel.cfg" 2 "nokernel\.cfg:2: .*no-such-kernel\.elf"

    # Image errors are found on loading: the message names the image.
    echo "this is a text file, not an ELF kernel" >"$CFG/text.elf"
    bad_cfg textelf "memory 16M" "kernel text.elf"
    err_case "image: text file as kernel" "$CFG/textelf.cfg" 2 "text\.elf"

    # An ELF whose Multiboot header survives but whose segment is cut off.
    head -c 4108 "$tf" >"$CFG/trunc.elf"
    bad_cfg truncelf "memory 16M" "kernel trunc.elf"
    err_case "image: truncated ELF" "$CFG/truncelf.cfg" 2 "trunc\.elf"

    run_bad_input_cases "$hello" "$tf"
    run_bzimage_error_cases

    bad_cfg cpus3 "# pinned to 3 CPUs" "memory 16M" "kernel $hello" "cpus 3"
    err_case "config: cpus 3 pinned" "$CFG/cpus3.cfg" 2 "cpus3\.cfg:4: .*cpus"

    bad_cfg triplefault "memory 16M" "kernel $tf"
    err_case "guest: triple fault" "$CFG/triplefault.cfg" "$EXIT_TRIPLE_FAULT" "rank 0.*triple fault"

    bad_cfg clihlt "memory 16M" "kernel $SRC/$OWN_GUESTS/clihlt.elf"
    err_case "guest: cli; hlt" "$CFG/clihlt.cfg" "$EXIT_HALTED" "halt.*interrupts disabled|interrupts disabled.*halt"

    # An application processor (rank 1) triple-faults: rank 0 prints one
    # line naming rank 1 and the whole job ends with the triple-fault
    # status (needs 2 CPUs or more; with one the BSP would spin forever).
    multi_rank_err_cases aptriple 2 "guest: AP triple fault" "$EXIT_TRIPLE_FAULT" \
        "^vsmp: rank 1: .*triple fault" "message does not name rank 1's triple fault"
}

# Disk images (`disk PATH [ro]`): a missing, empty or non-regular image is
# refused by every rank's config check; an image the user cannot open is
# refused by rank 0 when it opens it (a singleton under setpriv: root
# reads anything); one image on two lines (one writable) is refused
# naming both lines; a writable image that another job holds (its lock) is
# refused by rank 0 at once, and at 2 ranks every rank ends with status 2
# and one line. After the holder is killed the image is usable again.
run_disk_cases() {
    local idle=$SRC/$OWN_GUESTS/idle.elf hello=$SRC/$GUESTS/hello.elf
    bad_cfg dmissing "memory 16M" "kernel $hello" "disk no-such.img"
    err_case "disk: missing image" "$CFG/dmissing.cfg" 2 "dmissing\.cfg:3: disk 'no-such\.img': No such file"
    : >"$CFG/empty.img"
    bad_cfg dempty "memory 16M" "kernel $hello" "disk empty.img"
    err_case "disk: zero-length image" "$CFG/dempty.cfg" 2 "dempty\.cfg:3: disk 'empty\.img': empty"
    mkdir -p "$CFG/adir.img"
    bad_cfg ddir "memory 16M" "kernel $hello" "disk adir.img"
    err_case "disk: a directory" "$CFG/ddir.cfg" 2 "ddir\.cfg:3: disk 'adir\.img': not a regular file"
    bad_cfg dword "memory 16M" "kernel $hello" "disk empty.img rw"
    ERR_RANKS=2 err_case "disk: bad second word" "$CFG/dword.cfg" 2 "dword\.cfg:3: .*only be 'ro'"
    # One image on two writable lines (by its name and by a hard link):
    # refused naming both lines, not as "in use by another vsmp job".
    head -c 1M /dev/zero >"$CFG/twice.img"
    ln -f "$CFG/twice.img" "$CFG/twice-link.img"
    bad_cfg dtwice "memory 16M" "kernel $hello" "disk twice.img" "disk twice-link.img ro"
    ERR_RANKS=2 err_case "disk: one image on two lines" "$CFG/dtwice.cfg" 2 \
        "dtwice\.cfg:4: .*twice-link\.img: the same image as the disk on line 3"

    # Not readable / not writable, as an unprivileged user: everything in
    # a folder that user can reach, the images without the permission.
    local name
    if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
        local U=$T/nobody
        mkdir -p "$U" && chmod 755 "$T" "$U"
        cp "$T/vsmp" "$hello" "$U/"
        head -c 1M /dev/zero >"$U/noread.img"; chmod 000 "$U/noread.img"
        head -c 1M /dev/zero >"$U/nowrite.img"; chmod 444 "$U/nowrite.img"
        printf 'memory 16M\nkernel hello.elf\ndisk noread.img\n' >"$U/noread.cfg"
        printf 'memory 16M\nkernel hello.elf\ndisk nowrite.img\n' >"$U/nowrite.cfg"
        printf 'memory 16M\nkernel hello.elf\ndisk nowrite.img ro\n' >"$U/rook.cfg"
        chmod 644 "$U"/*.cfg "$U/hello.elf"
        for c in noread nowrite rook; do
            name="disk: $c (uid 65534) singleton"
            RC=0
            VSMP_INTEG_TAG=$TAG setsid timeout -k 5 "$CASE_TIMEOUT" \
                setpriv --reuid=65534 --regid=65534 --clear-groups "$U/vsmp" "$U/$c.cfg" \
                </dev/null >"$T/out" 2>"$T/err" || RC=$?
            LEFT=
            case $c in
            noread)  want=2 re="noread\.cfg:3: disk 'noread\.img': Permission denied" ;;
            nowrite) want=2 re="nowrite\.cfg:3: .*nowrite\.img: Permission denied" ;;
            rook)    want=1 re= ;;   # read-only: fine, the guest runs
            esac
            check_common "$name" "$want" || continue
            if [ -n "$re" ] && { [ "$(vsmp_lines)" != 1 ] || ! grep '^vsmp:' "$T/err" | grep -q -E -- "$re"; }; then
                fail "$name" "expected one line matching /$re/"; continue
            fi
            pass "$name"
        done
        chmod 700 "$T"
    else
        skip "disk: not readable" "needs root and setpriv"
    fi

    # The lock: job 1 holds a writable image (an idle guest); job 2 on it
    # fails at once, as a singleton and at 2 ranks; a read-only user too.
    # Job 1 runs from its own copy of vsmp, without the case tag, so that
    # the checks after each case (nothing left running) do not count it;
    # its timeout bounds it if this script dies first.
    head -c 1M /dev/zero >"$CFG/held.img"
    bad_cfg dheld1 "memory 16M" "kernel $idle" "disk held.img"
    bad_cfg dheld2 "memory 16M" "kernel $hello" "disk held.img"
    bad_cfg dheldro "memory 16M" "kernel $hello" "disk held.img ro"
    cp "$T/vsmp" "$T/holder-vsmp"
    setsid timeout -k 5 $((CASE_TIMEOUT * 4)) "$T/holder-vsmp" "$CFG/dheld1.cfg" \
        </dev/null >"$T/held.out" 2>"$T/held.err" &
    local holder=$!
    local i
    for i in $(seq 1 "$((CASE_TIMEOUT * 10))"); do
        grep -q idle "$T/held.out" 2>/dev/null && break
        sleep 0.1
    done
    if ! grep -q idle "$T/held.out"; then
        fail "disk: lock holder" "job 1 never started: $(head -c 300 "$T/held.err")"
    else
        local np
        for np in single 2; do
            name="disk: image locked by another job $(label "$([ $np = single ] && echo single || echo sm)" "$np")"
            local t0=$SECONDS
            if [ "$np" = single ]; then launch single 1 "$CFG/dheld2.cfg"; else launch sm 2 "$CFG/dheld2.cfg"; fi
            check_common "$name" 2 || continue
            if [ "$(vsmp_lines)" != 1 ] ||
               ! grep '^vsmp:' "$T/err" | grep -q -E "dheld2\.cfg:3: .*held\.img: in use by another vsmp job \(locked\)"; then
                fail "$name" "expected one 'in use by another vsmp job (locked)' line"; continue
            fi
            pass "$name ($((SECONDS - t0)) s)"
        done
        name="disk: read-only use of a locked image singleton"
        launch single 1 "$CFG/dheldro.cfg"
        if check_common "$name" 2; then
            if grep -q "in use by another vsmp job (locked)" "$T/err"; then pass "$name"
            else fail "$name" "no lock message"; fi
        fi
    fi
    # the holder by its pid: timeout's, then vsmp's (its only child)
    local child
    child=$(pgrep -P "$holder" || true)
    kill -KILL "$holder" $child 2>/dev/null || true
    wait "$holder" 2>/dev/null || true
    name="disk: image usable after its holder was killed singleton"
    launch single 1 "$CFG/dheld2.cfg"
    check_common "$name" 1 && pass "$name"
}

# A bzImage of LEN bytes with a Linux setup header (protocol 2.15, 4
# setup sectors, relocatable, preferred address 16 MiB, init_size INIT
# bytes) and zeros after it: enough for vsmp's checks, never run.
mkbz() { # FILE LEN INIT
    local f=$1 len=$2 init=$3
    head -c "$len" /dev/zero >"$f"
    le32() { printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
    put() { printf "$2" | dd of="$f" bs=1 seek=$(($1)) conv=notrunc status=none; }
    put 0x1f1 '\004'                 # setup_sects
    put 0x1fe '\125\252'             # boot flag 0xaa55
    put 0x200 '\353\152HdrS\017\002' # jmp, "HdrS", version 2.15
    put 0x211 '\001'                 # loadflags: LOADED_HIGH
    put 0x22c "$(le32 0x7fffffff)"   # initrd_addr_max
    put 0x230 "$(le32 0x2000)"       # kernel_alignment
    put 0x234 '\001'                 # relocatable
    put 0x238 "$(le32 2047)"         # cmdline_size
    put 0x258 "$(le32 0x1000000)"    # pref_address
    put 0x260 "$(le32 "$init")"      # init_size
}

# Linux kernels that cannot be booted: one line naming the file, status 2.
run_bzimage_error_cases() {
    mkbz "$CFG/trunc.bz" 1536 $((8 << 20))
    bad_cfg truncbz "memory 64M" "kernel trunc.bz"
    err_case "image: truncated bzImage" "$CFG/truncbz.cfg" 2 \
        "^vsmp: (.*/)?trunc\.bz: truncated Linux kernel: 1536 bytes, the setup code alone takes 2560$"
    mkbz "$CFG/big.bz" 8192 $((60 << 20))
    bad_cfg bigbz "memory 64M" "kernel big.bz"
    err_case "image: bzImage larger than memory" "$CFG/bigbz.cfg" 2 \
        "^vsmp: (.*/)?big\.bz: the kernel needs 76 MiB of RAM to start .*memory is 64 MiB$"
    mkbz "$CFG/ok.bz" 8192 $((8 << 20))
    head -c $((41 << 20)) /dev/zero >"$CFG/big.initrd"
    bad_cfg bigrd "memory 64M" "kernel ok.bz" "initrd big.initrd"
    err_case "image: initrd that does not fit" "$CFG/bigrd.cfg" 2 \
        "^vsmp: (.*/)?big\.initrd: initrd of 42991616 bytes does not fit"
    rm -f "$CFG/big.initrd"
}

# Bad input of every kind (issue 14): one precise line, fast, status 2 (12
# for statistics that cannot be written) on every rank, nothing left
# running. Called from run_error_cases with a good kernel and
# triplefault.elf (a valid ELF to damage).
run_bad_input_cases() {
    local hello=$1 tf=$2 e

    # The config: not a text file, a read error, a NUL byte in a line.
    err_case "config: /dev/zero" /dev/zero 2 "^vsmp: /dev/zero:1: NUL byte at column 1: not a text file$"
    mkdir -p "$CFG/adir"
    err_case "config: a directory" "$CFG/adir" 2 "^vsmp: .*/adir: read error: Is a directory$"
    printf 'memory 16M\nkernel %s\0 # cut here\n' "$hello" >"$CFG/nul.cfg"
    err_case "config: NUL byte" "$CFG/nul.cfg" 2 \
        "^vsmp: .*/nul\.cfg:2: NUL byte at column $((8 + ${#hello})): not a text file$"

    # An initrd of 8 GiB (sparse: no disk) with 16M of RAM, the job under
    # a 1 GiB address-space limit: its size is refused before a byte is
    # read. (Read whole first, it would run out of memory instead.)
    truncate -s 8G "$CFG/huge.img"
    bad_cfg hugeinitrd "memory 16M" "kernel $hello" "initrd huge.img"
    ERR_LIMIT_AS_KB=1048576 err_case "image: 8 GiB initrd, memory 16M" "$CFG/hugeinitrd.cfg" 2 \
        "^vsmp: .*/huge\.img: the initrd \(8589934592 bytes\) does not fit in the [0-9]+ bytes of guest RAM free above the kernel \(memory 16M\)$"
    rm -f "$CFG/huge.img"

    # ELF identification version (e_ident[EI_VERSION], byte 6) 0, not 1.
    cp "$tf" "$CFG/badver.elf"
    printf '\0' | dd of="$CFG/badver.elf" bs=1 seek=6 conv=notrunc status=none
    bad_cfg badver "memory 16M" "kernel badver.elf"
    err_case "image: ELF EI_VERSION 0" "$CFG/badver.cfg" 2 \
        "^vsmp: .*/badver\.elf: malformed ELF file: identification version e_ident\[EI_VERSION\] is 0, not 1$"

    # Numbers that overflow, or carry junk, are errors (singleton, 2 ranks).
    bad_cfg good "memory 16M" "kernel $hello"
    ERR_RANKS=2 err_case "option: --max-insns 2^64" "$CFG/good.cfg" 2 \
        "^vsmp: --max-insns needs a number from 1 to 18446744073709551615, not '18446744073709551616'$" \
        --max-insns 18446744073709551616
    ERR_RANKS=2 err_case "option: --max-insns ' -1'" "$CFG/good.cfg" 2 \
        "^vsmp: --max-insns needs a number from 1 to 18446744073709551615, not ' -1'$" \
        --max-insns " -1"
    ERR_RANKS=2 err_case "option: --baseline +5" "$CFG/good.cfg" 2 \
        "^vsmp: --baseline needs milliseconds from 1 to 60000, not '\+5'$" --baseline +5

    # Statistics that cannot be written: status 12, the run's own status
    # (1: the guest powered off) named in the message.
    e="the run ended with status 1; exit status 12"
    ERR_RANKS=2 err_case "stats: --stats-json /dev/full" "$CFG/good.cfg" 12 \
        "^vsmp: --stats-json /dev/full: cannot write the statistics: No space left on device \($e\)$" \
        --stats-json /dev/full
    ERR_RANKS=2 err_case "stats: --stats-json in no folder" "$CFG/good.cfg" 12 \
        "^vsmp: --stats-json $T/none/s\.json: cannot create: No such file or directory$" \
        --stats-json "$T/none/s.json"
    # --stats on a stderr that fails (a singleton: under mpirun stderr is
    # mpirun's pipe)
    local name="stats: --stats with stderr on /dev/full singleton" rc=0
    VSMP_INTEG_TAG=$TAG timeout -k 5 "$CASE_TIMEOUT" "$T/vsmp" --stats "$CFG/good.cfg" \
        </dev/null >"$T/out" 2>/dev/full || rc=$?
    : >"$T/err"
    if [ "$rc" = 12 ]; then pass "$name"; else fail "$name" "exit status $rc, expected 12"; fi
}

# Every CPU halts with interrupts disabled after the BSP started the APs
# (allhalt.asm): only another CPU could wake one, and none can run, so
# rank 0 must end the job (status 6, one line) instead of letting it hang.
run_allhalt_cases() {
    multi_rank_err_cases allhalt 1 "guest: every CPU halted, IF=0" "$EXIT_HALTED" \
        "^vsmp: rank 0: .*halted with interrupts disabled" \
        "no 'halted with interrupts disabled' message from rank 0"
}

# multi_rank_err_cases GUEST MIN_RANKS NAME STATUS REGEX WHY: the error
# guest GUEST.elf at every rank count >= MIN_RANKS over sm and tcp must end
# with STATUS and exactly one 'vsmp:' line on stderr, matching REGEX (else
# the case fails with WHY).
multi_rank_err_cases() {
    local guest=$1 min=$2 what=$3 status=$4 re=$5 why=$6 np mode name n
    bad_cfg "$guest" "memory 16M" "kernel $SRC/$OWN_GUESTS/$guest.elf"
    for np in "${RANKS[@]}"; do
        [ "$np" -ge "$min" ] || continue
        for mode in sm tcp; do
            name="$what $mode np=$np"
            launch $mode "$np" "$CFG/$guest.cfg"
            check_common "$name" "$status" || continue
            n=$(vsmp_lines)
            if [ "$n" != 1 ]; then
                fail "$name" "expected one 'vsmp:' line on stderr, got $n"; continue
            fi
            if ! grep '^vsmp:' "$T/err" | grep -q -E "$re"; then
                fail "$name" "$why"; continue
            fi
            pass "$name"
        done
    done
}

# --stats-json: rank 0 writes one JSON object with every rank's statistics.
run_stats_case() {
    local elf=$SRC/$GUESTS/smp.elf np=2 name="stats: --stats --stats-json (sm np=2)"
    [ "${INTEG_QUICK:-0}" = 1 ] || np=4
    name="stats: --stats --stats-json (sm np=$np)"
    guest_cfg smp "$elf"
    TIMEOUT=$SMP_TIMEOUT launch sm "$np" "$CFG/smp.cfg" --stats --stats-json "$T/stats.json" \
        --baseline 2
    check_common "$name" 1 || return 0
    local r
    for ((r = 0; r < np; r++)); do
        if ! grep -q "^vsmp: rank $r: [0-9]* instructions in" "$T/err" ||
           ! grep -q "^vsmp: rank $r: host: guest code [0-9.]* s" "$T/err" ||
           ! grep -q "^vsmp: rank $r dsm: fault latency" "$T/err" ||
           ! grep -q "^vsmp: rank $r dsm: baseline raw-get n [1-9]" "$T/err"; then
            fail "$name" "--stats lacks rank $r"; return 0
        fi
    done
    if ! python3 - "$T/stats.json" "$np" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert d["cpus"] == n and len(d["ranks"]) == n
for i, r in enumerate(d["ranks"]):
    assert r["rank"] == i and r["instructions"] > 0
    assert r["dsm"]["protocol_errors"] == 0
    # host view: guest code and CPU time within the run, translated blocks
    assert 0 < r["guest_ns"] <= r["run_ns"] and r["poll_ns"] > 0
    assert r["cpu_user_ns"] + r["cpu_sys_ns"] > 0 and r["blocks_translated"] > 0
    # --baseline 2: raw 4 KiB gets timed in the job, a plausible time each
    # (the bound only catches garbage: a rank descheduled on a loaded
    # host may wait long for one)
    b = r["dsm"]["baseline"]["raw-get"]
    assert b["n"] > 0 and 0 < b["min_ns"] <= b["p50_ns"] <= b["max_ns"] < 60 * 10**9
assert sum(r["ipis_sent"] for r in d["ranks"]) > 0
assert sum(r["dsm"]["read_faults"] + r["dsm"]["write_faults"] for r in d["ranks"]) > 0
PY
    then
        fail "$name" "stats JSON missing or wrong"; return 0
    fi
    pass "$name"
}

# ------------------------------------------------------------ idle policy
# --idle spin / backoff run the SMP guest to its expected output and say
# which policy ran; auto picks spin when the host has a core per rank
# (nproc >= ranks here: mpirun binds 1-2 ranks to a core each, more to the
# socket); a bad value is a one-line error with status 2.
# One run of the SMP guest (config in $CFG/smp.cfg) with an option and
# --stats: the guest's expected output, and a --stats line starting with
# SAYS. Usage: smp_option_case NAME TRANSPORT NP SAYS OPTION VALUE
smp_option_case() {
    local name=$1 tr=$2 np=$3 says=$4 exp=$SRC/tests/guests/expected/smp.$3.out
    shift 4
    TIMEOUT=$SMP_TIMEOUT launch "$tr" "$np" "$CFG/smp.cfg" "$@" --stats
    check_common "$name" 1 || return 0
    if ! cmp -s "$exp" "$T/out"; then
        fail "$name" "console output differs from ${exp#"$SRC"/}"; return 0
    fi
    if ! grep -q "^vsmp: $says" "$T/err"; then
        fail "$name" "--stats does not say '$says'"; return 0
    fi
    pass "$name"
}

# A bad value of OPTION: one line starting with MESSAGE, status 2.
bad_option_case() {
    local option=$1 message=$2 name="$1 bogus is an error"
    launch single 1 "$CFG/smp.cfg" "$option" bogus
    check_common "$name" 2 || return 0
    if [ "$(vsmp_lines)" != 1 ] || ! grep -q "^vsmp: $message" "$T/err"; then
        fail "$name" "expected one line naming $option"; return 0
    fi
    pass "$name"
}

run_idle_cases() {
    local elf=$SRC/$GUESTS/smp.elf np=2 p want
    [ -f "$elf" ] || { fail "idle" "$GUESTS/smp.elf missing"; return; }
    guest_cfg smp "$elf"
    for p in spin backoff auto; do
        want=$p
        if [ $p = auto ]; then
            np=4
            if [ "$(nproc)" -ge $np ]; then want=spin; else want=backoff; fi
        fi
        smp_option_case "idle: --idle $p (sm np=$np)" sm "$np" "idle waits: $want (" --idle "$p"
    done
    bad_option_case --idle "--idle needs auto, spin or backoff"
}

# ------------------------------------------------------------ page answers
# --push: how a rank answering a page request sends the page. Each path
# forced over each transport must run the SMP guest to its expected output
# and be the one --stats names. auto (put + message to the peers the
# open-time probe timed as near) must run it too and name a path, but not
# a particular one: which one a host's timings give is not a fact about
# vsmp (on a loaded host a probe over shared memory can come out slow);
# the rule that makes the choice is tested with injected times
# (tests/unit/test_probe_rule.c). A bad value is a one-line error with
# status 2.
run_push_cases() {
    local elf=$SRC/$GUESTS/smp.elf c tr np p want
    [ -f "$elf" ] || { fail "push" "$GUESTS/smp.elf missing"; return; }
    guest_cfg smp "$elf"
    for c in "sm 2 put put" "tcp 2 message page" "tcp 4 put put" "sm 4 message page" \
             "sm 2 auto \(put\|page\)"; do
        read -r tr np p want <<<"$c"
        smp_option_case "push: --push $p ($tr np=$np)" "$tr" "$np" "page answers: $want" --push "$p"
    done
    bad_option_case --push "--push needs auto, put or message"
}

# ------------------------------------------------------------ take
# --take: when a fault asks the page's home to serve it. Over TCP at 4
# ranks auto must forward some TAKEs to a third rank (the owner), home
# must still grant some, never must send none; the guest's output is the
# expected one each time; a bad value is a one-line error with status 2.
run_take_cases() {
    local elf=$SRC/$GUESTS/smp.elf name="take: --take never (tcp np=4)"
    [ -f "$elf" ] || { fail "take" "$GUESTS/smp.elf missing"; return; }
    guest_cfg smp "$elf"
    smp_option_case "take: --take auto (tcp np=4)" tcp 4 \
        "rank [0-3] dsm: take: .* forwarded [1-9]" --take auto
    smp_option_case "take: --take home (tcp np=4)" tcp 4 \
        "rank [0-3] dsm: take: granted [1-9]" --take home
    TIMEOUT=$SMP_TIMEOUT launch tcp 4 "$CFG/smp.cfg" --take never --stats
    if check_common "$name" 1; then
        if ! cmp -s "$SRC/tests/guests/expected/smp.4.out" "$T/out"; then
            fail "$name" "console output differs from tests/guests/expected/smp.4.out"
        elif ! grep -q "^vsmp: rank 3 dsm: faults read [1-9]" "$T/err"; then
            fail "$name" "--stats shows no faults of rank 3"
        elif grep -q "dsm: take:" "$T/err"; then
            fail "$name" "a TAKE was sent"
        else
            pass "$name"
        fi
    fi
    bad_option_case --take "--take needs auto, home or never"
}

# ------------------------------------------------------------ baseline
# --baseline MS: every rank times raw 4 KiB gets of the others' memory in
# the job (over TCP here: a busy target serves them at its next poll), the
# guest's output unchanged, --stats reports them (the sm case is in
# run_stats_case, with the JSON); 0 is a one-line error with status 2.
# With MS longer than the run, the first measurement still happens (at the
# first tick), so the count does not depend on how long the run takes.
run_baseline_cases() {
    local elf=$SRC/$GUESTS/smp.elf
    [ -f "$elf" ] || { fail "baseline" "$GUESTS/smp.elf missing"; return; }
    guest_cfg smp "$elf"
    smp_option_case "baseline: --baseline 60000 (tcp np=2)" tcp 2 \
        "rank 1 dsm: baseline raw-get n [1-9]" --baseline 60000
    bad_option_case --baseline "--baseline needs milliseconds from 1 to 60000"
}

# ------------------------------------------------------------ a rank dies
# kill -9 of rank 1 while the SMP guest runs on 2 CPUs over TCP: the whole
# job must end (not hang) with a failure status, a message naming rank 1,
# and no process left.
run_kill_case() {
    # bench_par, sized to outlast the case's timeout: a guest that ends
    # on its own (the smp guest did, in under a second, once vsmp got
    # faster) would hide whether the job noticed the kill
    local name="rank 1 killed mid-run (tcp np=2)"
    local elf=$SRC/$GUESTS/bench_par.elf
    [ -f "$elf" ] || { fail "$name" "$GUESTS/bench_par.elf missing"; return; }
    guest_cfg bench_par "$elf"
    (
        set +e +o pipefail
        # the rank-1 process of this run, once it has run for a moment
        # (up to 30 s for mpirun to start it on a loaded host)
        for _ in $(seq 1 300); do
            pid=$(grep -l -s -z -x "OMPI_COMM_WORLD_RANK=1" \
                      $(grep -l -s -z -x "VSMP_INTEG_TAG=$TAG" /proc/[0-9]*/environ) /dev/null |
                  sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p' | head -n 1)
            [ -n "$pid" ] && { sleep 1; kill -KILL "$pid" 2>/dev/null; exit 0; }
            sleep 0.1
        done
    ) &
    local killer=$! t0=$SECONDS
    launch tcp 2 "$CFG/bench_par.cfg"
    wait "$killer" 2>/dev/null || true
    # (mpirun itself exits 137 after a rank died of SIGKILL: tell a hang
    # by the time it took)
    if [ $((SECONDS - t0)) -ge "$CASE_TIMEOUT" ]; then
        fail "$name" "the job hung until the timeout (status $RC)"
    elif [ -n "$LEFT" ]; then
        fail "$name" "processes left running: $LEFT"
    elif [ "$RC" = 0 ] || [ "$RC" = 1 ]; then
        fail "$name" "exit status $RC: the job did not notice (or the guest ended before the kill)"
    elif ! grep -q -E 'rank 1 .*(killed|signal 9)|rank 1.*exited' "$T/err"; then
        fail "$name" "no message naming rank 1"
    else
        pass "$name"
    fi
}

# ------------------------------------------------- memory that is not used
# Start-up and host memory must not grow with `memory` (issue 14, item
# 2). zeromem.elf (tests/guests/zeromem.c: untouched pages read as zero on
# every CPU, a word written on one CPU read on another) with memory 3G,
# as a singleton and under mpirun at 1 rank over sm, at 2 ranks over sm
# and tcp, each rank under maxrss: its peak RSS must stay under
# MEM_RSS_MAX_MIB (256 MiB; the guest touches a few MiB). Until the copy
# areas stopped being zeroed at start-up it was 3 GiB per rank over tcp
# and 6 GiB over sm (docs/startup.md). The one vsmp line allowed is the
# host check's warning (on a host with less than 2 x 3 GiB to give).
# Then the guest at 2 ranks over sm and tcp with every copy area filled
# with garbage first (VSMP_DEBUG_POISON_RAM): the same output, so no rank
# read guest RAM that nobody installed. Last, ulimit -v below memory:
# one line naming RLIMIT_AS, status 2, before MPI fails to map the area.
MEM_RSS_MAX_MIB=${MEM_RSS_MAX_MIB:-256}
run_memory_cases() {
    local elf=$SRC/$GUESTS/zeromem.elf exp=$SRC/tests/guests/expected/zeromem.out
    if [ ! -f "$elf" ] || [ ! -x "$T/maxrss" ]; then
        fail "memory" "$GUESTS/zeromem.elf or $BUILD/tests/integration/maxrss missing"
        return
    fi
    printf 'memory 3G\nkernel %s\n' "$elf" >"$CFG/zero3g.cfg"
    local c mode np name f n worst
    for c in "single 1" "sm 1" "sm 2" "tcp 2"; do
        read -r mode np <<<"$c"
        name="memory 3G: resident memory $(label "$mode" "$np")"
        rm -f "$T"/rss.*
        TIMEOUT=$SMP_TIMEOUT RSS_OUT=$T/rss.%r launch "$mode" "$np" "$CFG/zero3g.cfg"
        check_common "$name" 0 || continue
        n=$(grep '^vsmp:' "$T/err" | grep -c -v -E '^vsmp: rank [0-9]+: warning: .* on this host x memory' || true)
        if [ "$n" != 0 ]; then
            fail "$name" "vsmp printed an error"; continue
        fi
        if ! cmp -s "$exp" "$T/out"; then
            fail "$name" "console output differs from tests/guests/expected/zeromem.out"; continue
        fi
        # each rank's line: status elapsed_s maxrss_kib
        if [ "$(cat "$T"/rss.* 2>/dev/null | wc -l)" != "$np" ]; then
            fail "$name" "expected $np maxrss records, got $(cat "$T"/rss.* 2>/dev/null | wc -l)"; continue
        fi
        if cat "$T"/rss.* | awk '$1 != 1 { bad = 1 } END { exit !bad }'; then
            fail "$name" "a rank exited with another status than the guest's 1"; continue
        fi
        worst=$(cat "$T"/rss.* | awk '$3 > m { m = $3 } END { printf "%d", m / 1024 }')
        if [ "$worst" -ge "$MEM_RSS_MAX_MIB" ]; then
            fail "$name" "a rank's peak RSS was $worst MiB (limit $MEM_RSS_MAX_MIB MiB)"; continue
        fi
        pass "$name (peak RSS $worst MiB)"
    done

    printf 'memory 32M\nkernel %s\n' "$elf" >"$CFG/zero32.cfg"
    for mode in sm tcp; do
        name="memory: garbage-filled copy areas $mode np=2"
        TIMEOUT=$SMP_TIMEOUT VSMP_DEBUG_POISON_RAM=1 launch "$mode" 2 "$CFG/zero32.cfg"
        check_common "$name" 1 || continue
        if [ "$(vsmp_lines)" != 0 ]; then
            fail "$name" "vsmp printed an error"; continue
        fi
        if ! cmp -s "$exp" "$T/out"; then
            fail "$name" "console output differs from tests/guests/expected/zeromem.out"; continue
        fi
        pass "$name"
    done

    name="memory: RLIMIT_AS below memory sm np=2"
    ( ulimit -v $((2 * 1024 * 1024)) && launch sm 2 "$CFG/zero3g.cfg"; echo "$RC" >"$T/rc" )
    RC=$(cat "$T/rc" 2>/dev/null || echo none) LEFT=
    if check_common "$name" 2; then
        if [ "$(vsmp_lines)" != 1 ]; then
            fail "$name" "expected one 'vsmp:' line on stderr, got $(vsmp_lines)"
        elif ! grep -q -E '^vsmp: rank 0: memory 3072 MiB does not fit .*RLIMIT_AS' "$T/err"; then
            fail "$name" "no line about RLIMIT_AS"
        else
            pass "$name"
        fi
    fi
    rm -f "$T/rc"
}

# --------------------------------------------------------- a rank stops
# --answer-timeout: a rank stopped with SIGSTOP must not hang the job.

# The pid of rank R of this run's job (empty while there is none).
pid_of_rank() {
    grep -l -s -z -x "OMPI_COMM_WORLD_RANK=$1" \
        $(grep -l -s -z -x "VSMP_INTEG_TAG=$TAG" /proc/[0-9]*/environ) /dev/null |
        sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p' | head -n 1
}

# stop_rank_later R SECONDS: in the background, once rank R runs and the
# guest has printed its first line, wait SECONDS more, note in $T/quiet
# whether the job is still running without a vsmp line, then SIGSTOP rank
# R (its pid in $T/stopped). Sets STOPPER to the helper's pid.
stop_rank_later() {
    local r=$1 after=$2
    rm -f "$T/quiet" "$T/stopped"
    : >"$T/out"
    : >"$T/err"
    (
        set +e +o pipefail
        for _ in $(seq 1 600); do
            pid=$(pid_of_rank "$r")
            if [ -n "$pid" ] && [ -s "$T/out" ]; then
                sleep "$after"
                if kill -0 "$pid" 2>/dev/null && ! grep -q '^vsmp:' "$T/err"; then
                    touch "$T/quiet"
                fi
                kill -STOP "$pid" 2>/dev/null && echo "$pid" >"$T/stopped"
                exit 0
            fi
            sleep 0.1
        done
    ) &
    STOPPER=$!
}

# The job ended by the answer timeout: status 14, nothing left (the
# stopped rank included), every vsmp line one of the timeout's, one of
# them naming rank S as the one that did not answer (S "-": none named).
# check_no_answer NAME S
check_no_answer() {
    local name=$1 s=$2
    if [ ! -s "$T/stopped" ]; then
        fail "$name" "rank $s was never stopped (the guest ended first?)"; return 1
    fi
    check_common "$name" "$EXIT_NO_ANSWER" || return 1
    if [ "$(vsmp_lines)" = 0 ]; then
        fail "$name" "no 'vsmp:' line"; return 1
    fi
    if grep '^vsmp:' "$T/err" |
       grep -q -v -E '^vsmp: rank [0-9]+: .* for [0-9]+\.[0-9] s; ending the job$'; then
        fail "$name" "a 'vsmp:' line that is not the answer timeout's"; return 1
    fi
    if [ "$s" != - ] &&
       ! grep '^vsmp:' "$T/err" | grep -q -E "^vsmp: rank [0-9]+: rank $s (has not|has held)"; then
        fail "$name" "no line names rank $s as not answering"; return 1
    fi
    return 0
}

# bench_lock (every CPU takes one spinlock over and over: the pages move
# between the ranks all the time) at 2 and 4 ranks over sm and tcp, one
# rank stopped a second after the guest's first line: the job must end
# with status 14 naming that rank. Whoever waits for it reports (an
# INVALIDATE or DOWNGRADE never acknowledged, an atomic on its directory
# stuck inside MPI over TCP, or the liveness check when no CPU needs it).
run_answer_timeout_cases() {
    local elf=$SRC/$GUESTS/bench_lock.elf c mode np s name v
    [ -f "$elf" ] || { fail "answer timeout" "$GUESTS/bench_lock.elf missing"; return; }
    guest_cfg bench_lock "$elf"
    for c in "sm 2 1" "tcp 2 0" "sm 4 2" "tcp 4 3"; do
        read -r mode np s <<<"$c"
        [ "$np" -gt "${RANKS[-1]}" ] && continue
        name="answer timeout: rank $s stopped ($mode np=$np)"
        stop_rank_later "$s" 1
        launch "$mode" "$np" "$CFG/bench_lock.cfg" --answer-timeout "$ANSWER_TIMEOUT"
        wait "$STOPPER" 2>/dev/null || true
        check_no_answer "$name" "$s" && pass "$name"
    done

    # A rank stopped at a collective step of the start-up (it stops itself
    # there: VSMP_TEST_STOP=STEP:RANK, src/main.c): the others wait inside
    # MPI, where only the watchdog thread can see them.
    for c in "clock 1 tcp 2 the clock synchronisation" "machine 3 sm 4 the machine check"; do
        read -r key s mode np what <<<"$c"
        [ "$np" -gt "${RANKS[-1]}" ] && continue
        name="answer timeout: rank $s stopped at the step '$key' ($mode np=$np)"
        echo "$s" >"$T/stopped"
        export VSMP_TEST_STOP="$key:$s"
        launch "$mode" "$np" "$CFG/bench_lock.cfg" --answer-timeout "$ANSWER_TIMEOUT"
        unset VSMP_TEST_STOP
        check_no_answer "$name" "-" || continue
        if ! grep -q "^vsmp: rank [0-9]*: not every rank has reached $what at start-up (inside MPI)" \
               "$T/err"; then
            fail "$name" "no line about the step"; continue
        fi
        pass "$name"
    done

    # idle.asm: every CPU halted with interrupts on, nothing to wake
    # them. For 6 s, three times the limit (2 s here), nothing may
    # happen; then rank 1 stops and only the liveness check can find it.
    bad_cfg idle "memory 16M" "kernel $SRC/$OWN_GUESTS/idle.elf"
    name="answer timeout: idle guest, then rank 1 stopped (sm np=2)"
    stop_rank_later 1 6
    launch sm 2 "$CFG/idle.cfg" --answer-timeout 2
    wait "$STOPPER" 2>/dev/null || true
    if [ ! -f "$T/quiet" ]; then
        fail "$name" "the idle job did not run quietly for 6 s (status $RC)"
    elif check_no_answer "$name" 1; then
        if grep -q "^vsmp: rank 0: rank 1 has not answered PING" "$T/err"; then
            pass "$name"
        else
            fail "$name" "not found by the liveness check (PING)"
        fi
    fi

    # --answer-timeout 0 (after 1: the last one counts) is off: a rank
    # stopped in the idle guest is waited for until the case's own
    # timeout ends the job.
    name="answer timeout: --answer-timeout 0 waits for a stopped rank (sm np=2)"
    stop_rank_later 1 0
    TIMEOUT=8 launch sm 2 "$CFG/idle.cfg" --answer-timeout 1 --answer-timeout 0
    wait "$STOPPER" 2>/dev/null || true
    if [ ! -s "$T/stopped" ]; then
        fail "$name" "rank 1 was never stopped"
    elif [ "$RC" != 124 ] && [ "$RC" != 137 ]; then
        fail "$name" "the job ended (status $RC) instead of waiting"
    elif [ "$(vsmp_lines)" != 0 ]; then
        fail "$name" "vsmp printed a line"
    else
        pass "$name"
    fi

    # bad values: one line, status 2
    for v in bogus -1 1.5 86401 99999999999999999999 ""; do
        name="--answer-timeout '$v' is an error"
        launch single 1 "$CFG/idle.cfg" --answer-timeout "$v"
        check_common "$name" 2 || continue
        if [ "$(vsmp_lines)" != 1 ] || ! grep -q -F -x \
            "vsmp: --answer-timeout needs whole seconds from 0 (off) to 86400, not '$v'" "$T/err"; then
            fail "$name" "expected one line naming --answer-timeout"; continue
        fi
        pass "$name"
    done
}

# The console (issue 15 items 2, 4): console.sh prints PASS/FAIL lines of
# its own (pipes and a pseudo-terminal, plain and 2 ranks over sm).
run_console_cases() {
    set +e
    VSMP_INTEG_TAG=$TAG VSMP="$T/vsmp" GUEST="$OWN_GUESTS/console.elf" MPIRUN="$MPIRUN" \
        CASE_TIMEOUT=$CASE_TIMEOUT bash tests/integration/console.sh | tee "$T/console.log"
    set -e
    local np nf
    np=$(grep -c '^PASS' "$T/console.log" || true)
    nf=$(grep -c '^FAIL' "$T/console.log" || true)
    PASS=$((PASS + np)) FAIL=$((FAIL + nf))
    [ "$((np + nf))" != 0 ] || { FAIL=$((FAIL + 1)); echo "FAIL  console: no result"; }
    LEFT=$(case_pids | paste -sd ' ')
    if [ -n "${LEFT// /}" ]; then
        FAIL=$((FAIL + 1)); echo "FAIL  console: processes left running: $LEFT"; kill_case_procs
    fi
}

# -------------------------------------------------------------------- run
start=$SECONDS
echo "integration: vsmp $VSMP, ranks ${RANKS[*]}, timeout ${CASE_TIMEOUT}s per case"
if [ -n "${INTEG_CASES:-}" ]; then          # e.g. INTEG_CASES="run_smp_cases"
    for c in $INTEG_CASES; do "$c"; done
else
run_guest_cases hello
run_guest_cases pit
run_smp_cases
run_memory_cases
run_error_cases
run_disk_cases
run_allhalt_cases
run_kill_case
run_stats_case
run_idle_cases
run_push_cases
run_take_cases
run_baseline_cases
run_answer_timeout_cases
run_console_cases
fi

if [ "${NETNS:-1}" != 0 ]; then
    # Simulated nodes: netns.sh prints PASS/FAIL lines of its own, or a
    # skip line when it lacks the privileges.
    set +e
    bash tests/integration/netns.sh | tee "$T/netns.log"
    set -e
    np=$(grep -c '^PASS' "$T/netns.log" || true)
    nf=$(grep -c '^FAIL' "$T/netns.log" || true)
    PASS=$((PASS + np)) FAIL=$((FAIL + nf))
    if [ "$((np + nf))" = 0 ] && ! grep -q 'skipped' "$T/netns.log"; then
        FAIL=$((FAIL + 1)); echo "FAIL  netns: no result"
    fi
fi

echo "integration: $((SECONDS - start)) s, $SKIP skipped"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
