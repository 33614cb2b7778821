#!/usr/bin/env bash
# tests/linux/ckpt.sh - `make check-ckpt`: memory images of a booted Linux
# (issue 17 item 4). Debian's i386 Linux (images/, `make images`) boots
# from a copy of images/build/rootfs.img into the interactive shell; the
# test types at its console (lib.sh). Cases:
#   ckpt2   vsmp sm np=2 with --checkpoint: the guest starts a counter (a
#           background loop writing 1, 2, ... to /tmp/counter, by rename,
#           every 0.2 s), writes a file to tmpfs (/tmp) and one to the root disk (not
#           synced: it is in the guest's page cache), prints a probe line
#           (counter, /proc/uptime, date +%s: busybox's date has no %N).
#           SIGTERM to every rank (as Slurm does at a time limit): the
#           job ends with status 0 and vsmp's "vsmp: checkpoint PATH: ..."
#           line, no PATH.tmp.* left. A new job --restore:
#           the probe typed at once shows the counter at or after its value
#           before (not reset) and no further than the guest's time since
#           allows (not jumped), uptime and date not gone back; a second
#           probe a second later shows the counter still going; both files
#           are there; a typed command's output is seen (console input).
#           Then `vsmpctl checkpoint-exit` in the guest: the job ends with
#           status 0; a third job restores that image: vsmpctl goes on
#           ("vsmpctl: resumed from the checkpoint"), the same checks, then
#           `exit`: power off, status 0, e2fsck -fn of the disk clean and
#           the disk file in it (debugfs).
#   ckpt1   the same at 1 rank (vsmp alone, no mpirun), shorter: the
#           checkpoint by `vsmpctl checkpoint-exit`, one restore, checks,
#           power off, disk.
#   ckpt4   the same at 4 ranks: SIGUSR2 to mpirun (which forwards it).
#   usr1    SIGUSR1 to mpirun at 2 ranks: the image is written (the line on
#           stderr, the file) and the guest goes on: the counter, a typed
#           command; `vsmpctl checkpoint` in the guest writes a second one
#           and prints "vsmpctl: checkpoint written"; `exit` powers off
#           with status 0, the disk clean.
#   nopath  without --checkpoint, vsmpctl says "no checkpoint path" (exit
#           2), and as a user other than root "run as root" (exit 2).
#   refuse  the image of ckpt2's first job, restored with: a byte flipped
#           in its last page, a byte flipped in its header, cut to half
#           its length, at 4 ranks and at 1 (it is of 2 CPUs), with
#           `memory 128M` (it is of 256M): each job ends with status 2
#           and one line "vsmp: ..." naming the image within the guard,
#           the guest never runs, and the disk's bytes do not change.
# Any of lib.sh's bad lines (panic, oops, lockup, stall) fails a case.
# Environment: CKPT_CASES ("ckpt2 ckpt1 ckpt4 usr1 nopath refuse"; refuse
# uses ckpt2's image), LINUX_TIMEOUT (900 s per job, a hang guard), VSMP,
# MPIRUN.
# shellcheck disable=SC2016  # the guest's shell expands what is typed
# shellcheck disable=SC2034  # HOSTHASH, LINUX_VSMP_OPTS: read by lib.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
SRC=$(pwd)
read -r -a CASES <<<"${CKPT_CASES:-ckpt2 ckpt1 ckpt4 usr1 nopath refuse}"
GUARD=${LINUX_TIMEOUT:-900}
HOSTHASH=$SRC/images/build/host/hashwork
ROOTFS=$SRC/images/build/rootfs.img

T=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-ckpt.XXXXXX")
# shellcheck source=tests/linux/lib.sh
. "$SRC/tests/linux/lib.sh"
linux_setup check-ckpt
[ -f "$ROOTFS" ] || { echo "check-ckpt: $ROOTFS missing (make images)"; exit 1; }
for t in e2fsck dumpe2fs debugfs python3; do
    command -v "$t" >/dev/null || { echo "check-ckpt: $t not found (README: packages)"; exit 1; }
done
[ -x "$VSMP" ] || { echo "check-ckpt: $VSMP missing (make vsmp)"; exit 1; }
# a private copy: its path names this run's processes only
cp "$VSMP" "$T/vsmp"; VSMP=$T/vsmp

con() { linux_console; }

# mkcfg NAME [MEMORY]: $T/NAME.cfg, the default guest (images/linux.cfg)
# on the disk $T/root.img, no command (the shell)
mkcfg() {
    {
        echo "memory ${2:-256M}"
        echo "kernel $SRC/images/build/vmlinuz"
        echo "initrd $SRC/images/build/initrd.cpio.gz"
        echo "disk $T/root.img"
        echo "cmdline console=ttyS0 root=/dev/vda"
    } >"$T/$1.cfg"
}

# job MODE CFG OPTS...: starts a job (LINUX_VSMP_OPTS = OPTS)
job() {
    local mode=$1 cfg=$2
    shift 2
    LINUX_BAD=
    LINUX_VSMP_OPTS="$*"
    linux_start "$mode" "$cfg" "$GUARD"
}

# expect NAME ERE WHAT: waits for ERE on the console; else fails NAME
# ("no WHAT"), ends the job and returns 1
expect() {
    local r
    linux_wait "$2" "$GUARD"; r=$?
    [ $r = 0 ] && return 0
    linux_kill
    if [ $r = 2 ]; then fail "$1" "bad console line: $LINUX_BAD"
    else fail "$1" "no $3 (job status ${LINUX_RC:-running})"; fi
    return 1
}

# the vsmp processes of this run (every rank)
ranks() { pgrep -f "^$VSMP " || true; }
mpirun_pid() { pgrep -s "$LINUX_PID" -x "$(basename "$MPIRUN")" | head -n1; }

# trigger HOW: asks for a checkpoint that ends the job
#   term  SIGTERM to every rank at once (Slurm's time limit)
#   usr2  SIGUSR2 to mpirun (forwarded to the ranks)
#   ctl   `vsmpctl checkpoint-exit` typed in the guest
trigger() {
    local p
    case $1 in
    term) for p in $(ranks); do kill -TERM "$p"; done ;;
    usr2) p=$(mpirun_pid); [ -n "$p" ] && kill -USR2 "$p" ;;
    ctl)  linux_type 'vsmpctl checkpoint-exit\n' ;;
    esac
}

# ended_by_checkpoint NAME IMG: the job ends with status 0 after writing
# IMG (vsmp's line on stderr, the file there, no temporary left)
ended_by_checkpoint() {
    linux_finish
    if [ -n "${LINUX_BAD:-}" ]; then fail "$1" "bad console line: $LINUX_BAD"; return 1; fi
    [ "$LINUX_RC" = 0 ] || { fail "$1" "job status $LINUX_RC after the checkpoint, expected 0"; return 1; }
    grep -q -E "^vsmp: checkpoint $2: [0-9.]+ MiB of RAM in use" "$T/err" ||
        { fail "$1" "no \"vsmp: checkpoint $2: ...\" line on stderr"; return 1; }
    [ -s "$2" ] || { fail "$1" "no image $2"; return 1; }
    ! ls "$2".tmp.* >/dev/null 2>&1 || { fail "$1" "a temporary file was left: $(ls "$2".tmp.*)"; return 1; }
    if con | grep -q 'reboot: Power down'; then fail "$1" "the guest powered off instead"; return 1; fi
    return 0
}

# probe NAME TAG: types a command printing "probe-TAG COUNTER UPTIME NS"
# and reads it into P_CTR, P_UP, P_NS
probe() {
    linux_type "echo probe-$2 \$(cat /tmp/counter) \$(cut -d' ' -f1 /proc/uptime) \$(date +%%s)\n"
    expect "$1" "^probe-$2 [0-9]+ [0-9.]+ [0-9]+\$" "probe-$2 line" || return 1
    read -r _ P_CTR P_UP P_NS < <(con | grep -E -x "probe-$2 [0-9]+ [0-9.]+ [0-9]+" | tail -n1)
}

# start_guest NAME: at the prompt, starts the counter, writes the files
# and reads the probe A (A_CTR, A_UP, A_NS)
start_guest() {
    expect "$1" 'vsmp-guest# ' "shell prompt" || return 1
    linux_type 'echo tmpfs-file-$((30+3)) > /tmp/ckpt-tmp.txt; echo disk-file-$((40+2)) > /root/ckpt-disk.txt\n'
    linux_type '(i=0; while :; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; sleep 0.2; done) &\n'
    linux_type 'sleep 2; echo started-$((5+5))\n'
    expect "$1" '^started-10$' "started-10 (the counter started)" || return 1
    probe "$1" A || return 1
    A_CTR=$P_CTR A_UP=$P_UP A_NS=$P_NS
}

# check_resumed NAME: in a restored job (or one that went on): the files,
# the counter, the clocks against the last probe (A_*), console input;
# then A_* = this probe. Every call's lines carry a number of their own.
SEQ=0
check_resumed() {
    local name=$1 n
    SEQ=$((SEQ + 1)); n=$SEQ
    probe "$name" "B$n" || return 1
    local b_ctr=$P_CTR b_up=$P_UP b_ns=$P_NS
    linux_type "sleep 1; echo probe-C$n \$(cat /tmp/counter); echo files-$n \$(cat /tmp/ckpt-tmp.txt /root/ckpt-disk.txt); echo typed-$n-\$((6*7))-ok\n"
    expect "$name" "^typed-$n-42-ok\$" "output of a typed command (typed-$n-42-ok)" || return 1
    local c_ctr
    c_ctr=$(con | grep -E -x "probe-C$n [0-9]+" | tail -n1 | cut -d' ' -f2)
    con | grep -q -x "files-$n tmpfs-file-33 disk-file-42" ||
        { linux_kill; fail "$name" "the files: expected \"files-$n tmpfs-file-33 disk-file-42\" (/tmp/ckpt-tmp.txt, /root/ckpt-disk.txt), got \"$(con | grep "^files-$n" | head -n1)\""; return 1; }
    local why
    why=$(awk -v a="$A_CTR" -v b="$b_ctr" -v c="${c_ctr:-0}" -v ua="$A_UP" -v ub="$b_up" -v na="$A_NS" -v nb="$b_ns" 'BEGIN {
        # at most one count per 0.2 s of guest time, and a little slack
        if (b < a) { printf "the counter went back: %d before the checkpoint, %d after", a, b; exit }
        if (b > a + 5 * (ub - ua) + 5) { printf "the counter jumped from %d to %d in %.2f s of guest uptime", a, b, ub - ua; exit }
        if (c <= b) { printf "the counter stopped: %d, then %d a second later", b, c; exit }
        if (ub < ua) { printf "/proc/uptime went back: %s before, %s after", ua, ub; exit }
        if (nb < na) { printf "date +%%s went back: %s before, %s after", na, nb; exit }
    }')
    [ -z "$why" ] || { linux_kill; fail "$name" "$why"; return 1; }
    CHECK_NOTE="counter $A_CTR -> $b_ctr -> $c_ctr, uptime $A_UP -> $b_up s"
    A_CTR=$b_ctr A_UP=$b_up A_NS=$b_ns
}

# fsck_clean NAME IMG: as tests/linux/disk.sh: e2fsck -fn finds nothing to
# fix, no journal to replay, the state clean
fsck_clean() {
    local out sb rc
    out=$(e2fsck -fn "$2" 2>&1); rc=$?
    sb=$(dumpe2fs -h "$2" 2>/dev/null)
    if [ $rc != 0 ] || grep -q -E 'Fix\? no|Warning|skipping journal' <<<"$out" ||
       grep -q needs_recovery <<<"$sb" || ! grep -q -E '^Filesystem state: +clean$' <<<"$sb"; then
        fail "$1" "e2fsck -fn $2 is not clean (status $rc): $(echo "$out" | grep -v '^e2fsck ' | head -n 4 | paste -sd '|')"; return 1
    fi
}

# power_off NAME: types exit; the guest powers off with status 0, the disk
# is clean and holds /root/ckpt-disk.txt
power_off() {
    linux_type 'exit\n'
    linux_finish
    if [ -n "${LINUX_BAD:-}" ]; then fail "$1" "bad console line: $LINUX_BAD"; return 1; fi
    con | grep -q 'reboot: Power down' || { fail "$1" "no power down after exit (status $LINUX_RC)"; return 1; }
    [ "$LINUX_RC" = 0 ] || { fail "$1" "status $LINUX_RC after the power down, expected 0"; return 1; }
    fsck_clean "$1" "$T/root.img" || return 1
    local got
    got=$(debugfs -R 'cat /root/ckpt-disk.txt' "$T/root.img" 2>/dev/null)
    [ "$got" = disk-file-42 ] || { fail "$1" "/root/ckpt-disk.txt in the disk image after the power down: \"$got\", expected disk-file-42"; return 1; }
}

# boot_and_checkpoint NAME MODE HOW IMGNAME: boots, starts the counter
# and the files, checkpoints by HOW to IMG1=$T/IMGNAME.vsmp (a copy kept
# as $T/keep-IMGNAME.vsmp)
boot_and_checkpoint() {
    local name=$1 mode=$2 how=$3
    IMG1=$T/$4.vsmp
    cp --sparse=always "$ROOTFS" "$T/root.img"
    mkcfg guest
    job "$mode" "$T/guest.cfg" --checkpoint "$IMG1" || { fail "$name" "cannot start"; return 1; }
    start_guest "$name" || return 1
    trigger "$how"
    ended_by_checkpoint "$name" "$IMG1" || return 1
    WRITE_LINE=$(grep -m1 '^vsmp: checkpoint ' "$T/err")
    cp "$IMG1" "$T/keep-$4.vsmp"   # for the refusals
}

# case_chain PREFIX MODE HOW IMGNAME: boot_and_checkpoint, then a restore
# with the checks (the restored job left running)
case_chain() {
    local pre=$1 mode=$2 how=$3 name
    name="$pre, boot and checkpoint by $(how_label "$how")"
    boot_and_checkpoint "$name" "$mode" "$how" "$4" || return 1
    pass "$name ($WRITE_LINE)"
    name="$pre, restore"
    job "$mode" "$T/guest.cfg" --restore "$IMG1" --checkpoint "$T/$4-2.vsmp" || { fail "$name" "cannot start"; return 1; }
    if [ "$how" = ctl ]; then
        expect "$name" '^vsmpctl: resumed from the checkpoint$' "\"vsmpctl: resumed from the checkpoint\"" || return 1
    fi
    check_resumed "$name" || return 1
    pass "$name ($CHECK_NOTE)"
}

case_ckpt2() {
    local pre="ckpt vsmp sm np=2" name
    case_chain "$pre" sm:2 term img2 || return
    # the restored job checkpoints again, asked by the guest
    name="$pre, restored job checkpoints by vsmpctl checkpoint-exit"
    trigger ctl
    ended_by_checkpoint "$name" "$T/img2-2.vsmp" || return
    pass "$name"
    name="$pre, second restore, exit, disk"
    job sm:2 "$T/guest.cfg" --restore "$T/img2-2.vsmp" || { fail "$name" "cannot start"; return; }
    expect "$name" '^vsmpctl: resumed from the checkpoint$' "\"vsmpctl: resumed from the checkpoint\"" || return
    check_resumed "$name" || return
    power_off "$name" || return
    pass "$name ($CHECK_NOTE)"
}

case_ckpt1() {
    local pre="ckpt vsmp singleton" name
    case_chain "$pre" single:1 ctl img1 || return
    name="$pre, exit, disk"
    power_off "$name" && pass "$name"
}

case_ckpt4() {
    local pre="ckpt vsmp sm np=4" name
    case_chain "$pre" sm:4 usr2 img4 || return
    name="$pre, exit, disk"
    power_off "$name" && pass "$name"
}

case_usr1() {
    local name="ckpt vsmp sm np=2, SIGUSR1: checkpoint and go on" img=$T/u.vsmp p i
    cp --sparse=always "$ROOTFS" "$T/root.img"
    mkcfg guest
    job sm:2 "$T/guest.cfg" --checkpoint "$img" || { fail "$name" "cannot start"; return; }
    start_guest "$name" || return
    p=$(mpirun_pid)
    [ -n "$p" ] || { linux_kill; fail "$name" "no mpirun process"; return; }
    kill -USR1 "$p"
    for ((i = 0; i < GUARD * 10; i++)); do
        grep -q -E "^vsmp: checkpoint $img: " "$T/err" && break
        kill -0 "$LINUX_PID" 2>/dev/null || break
        sleep 0.1
    done
    grep -q -E "^vsmp: checkpoint $img: " "$T/err" || { linux_kill; fail "$name" "no \"vsmp: checkpoint $img: ...\" line after SIGUSR1"; return; }
    kill -0 "$LINUX_PID" 2>/dev/null || { linux_finish; fail "$name" "the job ended after SIGUSR1 (status $LINUX_RC)"; return; }
    [ -s "$img" ] || { linux_kill; fail "$name" "no image $img"; return; }
    check_resumed "$name" || return
    linux_type 'vsmpctl checkpoint; echo ctl-rc=$?; vsmpctl status\n'
    expect "$name" '^ctl-rc=[0-9]+$' "ctl-rc= after vsmpctl checkpoint" || return
    expect "$name" '^vsmpctl: ready' "output of vsmpctl status" || return
    if ! con | grep -q -x 'vsmpctl: checkpoint written' || ! con | grep -q -x 'ctl-rc=0'; then
        linux_kill; fail "$name" "vsmpctl checkpoint: $(con | grep -E '^(vsmpctl|ctl-rc)' | paste -sd ' ')"; return
    fi
    [ "$(grep -c -E "^vsmp: checkpoint $img: " "$T/err")" = 2 ] ||
        { linux_kill; fail "$name" "expected 2 \"vsmp: checkpoint\" lines, got: $(grep '^vsmp: checkpoint' "$T/err" | paste -sd '|')"; return; }
    check_resumed "$name" || return
    power_off "$name" || return
    pass "$name"
}

case_nopath() {
    local name="vsmpctl without --checkpoint and as a user other than root, vsmp singleton"
    {
        echo "memory 256M"
        echo "kernel $SRC/images/build/vmlinuz"
        echo "initrd $SRC/images/build/initrd.cpio.gz"
        echo "cmdline console=ttyS0 vsmp.cmd=\"vsmpctl checkpoint; echo nopath-rc=\$?; echo nobody:x:65534:65534::/:/bin/sh >> /etc/passwd; su -s /bin/sh -c 'vsmpctl status' nobody; echo user-rc=\$?\""
    } >"$T/nopath.cfg"
    job single:1 "$T/nopath.cfg" || { fail "$name" "cannot start"; return; }
    linux_finish
    if [ -n "${LINUX_BAD:-}" ]; then fail "$name" "bad console line: $LINUX_BAD"; return; fi
    [ "$LINUX_RC" = 0 ] || { fail "$name" "status $LINUX_RC"; return; }
    local got want
    got=$(con | grep -E -x 'vsmpctl: .*|nopath-rc=.*|user-rc=.*' | paste -sd '|')
    want='vsmpctl: no checkpoint path (vsmp runs without --checkpoint)|nopath-rc=2|vsmpctl: ioperm(0xf5): Operation not permitted (run as root)|user-rc=2'
    [ "$got" = "$want" ] || { fail "$name" "expected $want, got $got"; return; }
    pass "$name"
}

# refused NAME MODE IMG [MEMORY]: a restore of IMG that must end with
# status 2 and one line "vsmp: ..." naming IMG, the guest not run, the
# disk as it was
refused() {
    local name=$1 mode=$2 img=$3 before after
    mkcfg refuse "${4:-256M}"
    before=$(sha256sum <"$T/root.img")
    job "$mode" "$T/refuse.cfg" --restore "$img" || { fail "$name" "cannot start"; return; }
    linux_finish
    after=$(sha256sum <"$T/root.img")
    # one line "vsmp: ..." naming the image (mpirun's notes aside)
    local line n
    n=$(grep -c -F "$img" <(grep '^vsmp: ' "$T/err"))
    line=$(grep '^vsmp: ' "$T/err" | grep -m1 -F "$img")
    if [ "$LINUX_RC" != 2 ]; then fail "$name" "status $LINUX_RC, expected 2"
    elif [ "$n" != 1 ]; then fail "$name" "$n lines \"vsmp: ...\" naming $img on stderr, expected one"
    elif con | grep -q -E 'vsmp-guest|Linux version|probe'; then fail "$name" "the guest ran"
    elif [ "$before" != "$after" ]; then fail "$name" "the disk image changed"
    else pass "$name ($line)"
    fi
}

case_refuse() {
    local img=$T/keep-img2.vsmp size
    [ -s "$img" ] || { fail "ckpt refusals" "no image of 2 CPUs (the ckpt2 case failed or did not run)"; return; }
    size=$(stat -c %s "$img")
    cp --sparse=always "$ROOTFS" "$T/root.img"
    cp "$img" "$T/bad.vsmp"
    flip "$T/bad.vsmp" $((size - 2000))
    refused "ckpt refuse: a byte flipped in the last page" sm:2 "$T/bad.vsmp"
    cp "$img" "$T/bad.vsmp"
    flip "$T/bad.vsmp" 40
    refused "ckpt refuse: a byte flipped in the header" sm:2 "$T/bad.vsmp"
    cp "$img" "$T/bad.vsmp"
    truncate -s $((size / 2)) "$T/bad.vsmp"
    refused "ckpt refuse: cut to half its length" sm:2 "$T/bad.vsmp"
    refused "ckpt refuse: an image of 2 CPUs at 4 ranks" sm:4 "$img"
    refused "ckpt refuse: an image of 2 CPUs at 1 rank" single:1 "$img"
    refused "ckpt refuse: an image of 256M with memory 128M" sm:2 "$img" 128M
}

# flip FILE OFFSET: inverts the byte at OFFSET
flip() {
    python3 - "$1" "$2" <<'EOF'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(int(sys.argv[2])); b = f.read(1)
    f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))
EOF
}

how_label() {
    case $1 in
    term) echo "SIGTERM to every rank" ;;
    usr2) echo "SIGUSR2 to mpirun" ;;
    ctl)  echo "vsmpctl checkpoint-exit" ;;
    esac
}

for c in "${CASES[@]}"; do
    "case_$c"
done
echo "check-ckpt: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
