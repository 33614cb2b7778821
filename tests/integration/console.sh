#!/usr/bin/env bash
# tests/integration/console.sh - the console from outside (issue 15 items
# 2 and 4), with tests/integration/guests/console.c as the guest: plain
# ./vsmp and mpirun -np 2 (shared memory), standard input a pipe or a
# pseudo-terminal.
#   pipe, raw bytes    Ctrl-C, Ctrl-A, control and high bytes reach the
#                      guest as they are (mpirun forwards stdin raw; no
#                      Ctrl-A commands from a pipe)
#   pipe, bulk         30,005 bytes, all written before the guest opens the
#                      port and far more than its FIFO: the guest's count
#                      and CRC-32 match (nothing lost to its probe, its FIFO
#                      resets or overrun)
#   pipe, end of input the input ends before the guest reads it: the run
#                      goes on (the guest waits 1 s, then ends it)
#   terminal, keys     raw mode while it runs, Ctrl-C and Ctrl-A Ctrl-A to
#                      the guest, Ctrl-A x ends the job with status 0, the
#                      terminal's settings restored (console_pty.py)
#   terminal, SIGTERM  the job killed: the settings restored all the same
# Prints one "PASS  name" or "FAIL  name: why" line per case; exits 1 on a
# failure. Run from the source root; run.sh calls it (run_console_cases).
# Environment: VSMP (./vsmp), GUEST (the console guest's ELF), MPIRUN
# (mpirun), CASE_TIMEOUT (120 s), WORK (a scratch folder; default: a new
# one).
set -uo pipefail

VSMP=${VSMP:-./vsmp}
GUEST=${GUEST:-build/tests/integration/guests/console.elf}
MPIRUN=${MPIRUN:-mpirun}
TMO=${CASE_TIMEOUT:-120}
HERE=$(cd "$(dirname "$0")" && pwd)
abspath() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
VSMP=$(abspath "$VSMP")
GUEST=$(abspath "$GUEST")
if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-console.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
fi
export OMPI_MCA_btl_vader_single_copy_mechanism=none
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

for f in "$VSMP" "$GUEST"; do
    [ -f "$f" ] || { echo "FAIL  console: $f missing (make vsmp integration-guests)"; exit 1; }
done
CFG=$WORK/console.cfg
printf 'memory 32M\nkernel %s\nconsole stdio\n' "$GUEST" > "$CFG"

fails=0
pass() { printf 'PASS  %s\n' "$1"; }
fail() {
    fails=$((fails + 1))
    printf 'FAIL  %s: %s\n' "$1" "$2"
    [ -s "$WORK/out" ] && tail -n 5 "$WORK/out" | sed 's/^/        stdout: /'
    [ -s "$WORK/err" ] && grep -v -e '^-*$' "$WORK/err" | head -n 6 | sed 's/^/        stderr: /'
}

# cmd MODE -> the command line of a run
cmd() {
    case $1 in
    single) echo "$VSMP $CFG" ;;
    sm) echo "$MPIRUN --oversubscribe -np 2 --mca btl self,vader $VSMP $CFG" ;;
    esac
}

# run MODE INPUT_FILE: RC, $WORK/out, $WORK/err
run() {
    RC=0
    # shellcheck disable=SC2046
    setsid timeout -k 5 "$TMO" $(cmd "$1") < "$2" > "$WORK/out" 2> "$WORK/err" || RC=$?
}

# expect NAME INPUT_FILE EXPECTED_STDOUT_FILE (status 1: the guest's exit)
expect() {
    local name=$1
    if [ "$RC" != 1 ]; then
        fail "$name" "exit status $RC, expected 1 (the guest's own end)"
    elif ! diff -q "$3" "$WORK/out" > /dev/null; then
        fail "$name" "output differs from the expected: $(diff "$3" "$WORK/out" | head -n 4 | tr '\n' ' ')"
    else
        pass "$name"
    fi
}

# the expected output of an input: what console.c prints for it
python3 - "$WORK" <<'EOF'
import random, sys, zlib
w = sys.argv[1]
head = "console: closed\nconsole: probe: 16550A\nconsole: open\n"
def rx(data):
    out, line = [], b""
    for b in data:
        line += bytes([b])
        if b == 10:
            if line not in (b"END\n", b"PAUSE\n") and len(line) < 32:
                out.append("rx:" + "".join(" %02x" % c for c in line))
            line = b""
    return "".join(l + "\n" for l in out)
raw = (b"ab\x03\x01x\n" + bytes(range(0, 10)) + bytes(range(11, 27)) + b"\n" +
       bytes(range(0xf0, 0x100)) + b"\n\x01\x01\x01q\n" + b"END\n")
random.seed(15)
alphabet = bytes(b for b in range(256) if b != 10)
bulk = bytes(random.choice(alphabet) for _ in range(30000)) + b"\nEND\n"
for name, data in (("raw", raw), ("bulk", bulk)):
    open(f"{w}/{name}.in", "wb").write(data)
    open(f"{w}/{name}.exp", "w").write(
        head + rx(data) + "console: %u bytes crc32 %08x\n" % (len(data), zlib.crc32(data)))
open(f"{w}/eof.in", "wb").write(b"PAUSE\n")
open(f"{w}/eof.exp", "w").write(head + "console: still running\n")
EOF

for mode in single sm; do
    label=$([ $mode = single ] && echo "singleton" || echo "sm np=2")
    for what in raw bulk eof; do
        run $mode "$WORK/$what.in"
        case $what in
        raw)  expect "console $label: pipe, raw bytes" "$WORK/$what.in" "$WORK/$what.exp" ;;
        bulk) expect "console $label: pipe, 30,005 bytes before the port opens" "$WORK/$what.in" "$WORK/$what.exp" ;;
        eof)  expect "console $label: pipe, end of input does not end the run" "$WORK/$what.in" "$WORK/$what.exp" ;;
        esac
    done
    # shellcheck disable=SC2046
    if r=$(python3 "$HERE/console_pty.py" keys "$TMO" $(cmd $mode) 2>&1); then
        pass "console $label: terminal raw, Ctrl-C and Ctrl-A Ctrl-A reach the guest, Ctrl-A x ends with status 0, settings restored"
    else
        : > "$WORK/out"; : > "$WORK/err"
        fail "console $label: terminal, Ctrl-A x" "$r"
    fi
done
# shellcheck disable=SC2046
if r=$(python3 "$HERE/console_pty.py" sigterm "$TMO" $(cmd sm) 2>&1); then
    pass "console sm np=2: terminal settings restored when the job is killed (SIGTERM)"
else
    : > "$WORK/out"; : > "$WORK/err"
    fail "console sm np=2: terminal, SIGTERM" "$r"
fi
[ "$fails" = 0 ]
