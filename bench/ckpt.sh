#!/usr/bin/env bash
# bench/ckpt.sh - `make bench-ckpt` (also run by `make bench`): memory
# images of the default Linux guest (images/linux.cfg: 256M, the initramfs,
# the root disk - here a copy of images/build/rootfs.img; `make images`)
# at CKPT_RANKS (1 2 4) ranks over shared memory (mpirun, btl self,vader;
# issue 17 item 5; docs/checkpoint.md "Figures"). Per rank count:
#   cold_s   a cold boot: from starting mpirun to the output of a command
#            typed at the prompt ("a usable shell": `echo ready-$((6*7))`
#            typed when the prompt appears, its output line "ready-42"
#            seen on the console; host times of console lines as lib.sh's
#            LINUX_STAMP takes them)
#   then, the guest idle at the prompt for CKPT_SETTLE (2) s, SIGTERM to
#   every rank (vsmp --checkpoint IMG): the image is written, the job ends
#   ram_MiB, pages   RAM in use as vsmp's line "vsmp: checkpoint IMG: N MiB
#            of RAM in use (M pages), written in T s (R MB/s)" gives it
#   file_MiB, disk_MiB   the image's length and the bytes it takes on disk
#   write_s, write_MBps  vsmp's own figures from that line (MB = 10^6 B)
#   sig_exit_s   wall time from the SIGTERM to the end of the job
#   restores (the disk copy put back as it was at the checkpoint each time),
#   CKPT_REPEAT (3) times with the image's pages dropped from the host's
#   page cache first (posix_fadvise DONTNEED: read from the disk), once
#   with them cached; the command typed at once, before the job starts:
#   image_s  from starting mpirun to the output "ready-42" (best of the
#            cold-cache runs; warm: the cached run)
#   read_s, read_MBps    vsmp's own restore figures, its line "vsmp:
#            restore IMG: X MiB of RAM (N pages) read in T s" (the first
#            cold-cache run; MB/s = N * 4096 / 10^6 / T; "-" without it)
# With CKPT_FILL_MIB (128) > 0, at CKPT_FILL_RANKS (2) one more image of a
# guest that first wrote CKPT_FILL_MIB MiB of hashwork's data (not
# compressible, not zero) to /tmp (tmpfs): the same figures with more RAM
# in use (row "N+fill").
# Each job under the hang guard LINUX_TIMEOUT (900 s). The images go to
# CKPT_DIR (default: a scratch folder under build/, on the disk, not /tmp's
# tmpfs where there is one). Environment: VSMP, MPIRUN, CKPT_RANKS,
# CKPT_REPEAT, CKPT_SETTLE, CKPT_FILL_MIB, CKPT_FILL_RANKS, CKPT_DIR.
# shellcheck disable=SC2016  # the guest's shell expands what is typed
# shellcheck disable=SC2034  # HOSTHASH, LINUX_*: read by lib.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
SRC=$(pwd)
read -r -a RANKS <<<"${CKPT_RANKS:-1 2 4}"
REPEAT=${CKPT_REPEAT:-3}
SETTLE=${CKPT_SETTLE:-2}
FILL=${CKPT_FILL_MIB:-128}
read -r -a FILL_RANKS <<<"${CKPT_FILL_RANKS:-2}"
GUARD=${LINUX_TIMEOUT:-900}
HOSTHASH=$SRC/images/build/host/hashwork
ROOTFS=$SRC/images/build/rootfs.img
BUILD=${BUILD:-build}

mkdir -p "${CKPT_DIR:-$BUILD}"
T=$(mktemp -d "${CKPT_DIR:-$BUILD}/vsmp-bench-ckpt.XXXXXX")
T=$(cd "$T" && pwd)
# shellcheck source=tests/linux/lib.sh
. "$SRC/tests/linux/lib.sh"
linux_setup bench-ckpt
[ -f "$ROOTFS" ] || { echo "bench-ckpt: $ROOTFS missing (make images)"; exit 1; }
[ -x "$VSMP" ] || { echo "bench-ckpt: $VSMP missing (make vsmp)"; exit 1; }
command -v python3 >/dev/null || { echo "bench-ckpt: python3 not found"; exit 1; }
cp "$VSMP" "$T/vsmp"; VSMP=$T/vsmp
LINUX_STAMP=1

# the default guest's config with the disk replaced by $T/root.img
linux_cfg_read images/linux.cfg
{
    echo "memory $CFG_MEMORY"
    echo "kernel $CFG_KERNEL"
    echo "initrd $CFG_INITRD"
    echo "disk $T/root.img"
    echo "cmdline $CFG_CMDLINE"
} >"$T/guest.cfg"

# (on stdout: lib.sh's linux_kill leaves stderr on /dev/null)
die_job() { linux_kill; echo "bench-ckpt: $*"; linux_tail 20; sed 's/^/        | /' "$T/err" | head -n 10; exit 1; }

# stamp_of ERE: the host time of the first console line matching ERE
# (lib.sh's stamping loop has taken the carriage returns off)
stamp_of() { awk -v re="$1" '{ t = $1; sub(/^[^ ]* /, "") } $0 ~ re { print t; exit }' "$T/stamped"; }

# wait_stamp ERE: polls (every 20 ms) until a console line matches ERE;
# prints its host time
wait_stamp() {
    local s i=0
    while :; do
        s=$(stamp_of "$1")
        [ -n "$s" ] && { echo "$s"; return 0; }
        kill -0 "$LINUX_PID" 2>/dev/null || return 1
        i=$((i + 1)); [ $i -lt $((GUARD * 50)) ] || return 1
        sleep 0.02
    done
}

# wait_prompt: polls (20 ms) until the console shows the prompt (a bad
# line looked for once a second)
wait_prompt() {
    local i=0
    while ! grep -q -F 'vsmp-guest# ' "$T/console"; do
        kill -0 "$LINUX_PID" 2>/dev/null || return 1
        i=$((i + 1)); [ $i -lt $((GUARD * 50)) ] || return 1
        if [ $((i % 50)) = 0 ] && linux_bad; then return 1; fi
        sleep 0.02
    done
}

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# uncache FILE: drops its pages from the host's page cache
uncache() {
    python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$1"
}

# restore_once NP: one job from $T/img with the disk as at the checkpoint;
# sets R_SHELL (s to "ready-42") and R_LINE (vsmp's restore line, or "")
restore_once() {
    cp --sparse=always "$T/root.ckpt" "$T/root.img"
    LINUX_VSMP_OPTS="--restore $T/img"
    linux_start "sm:$1" "$T/guest.cfg" "$GUARD" || die_job "cannot start a restore"
    linux_type 'echo ready-$((6*7))\n'
    local t
    t=$(wait_stamp '^ready-42$') || die_job "np=$1: no ready-42 after the restore"
    R_SHELL=$(secs "$LINUX_T0" "$t")
    R_LINE=$(grep -m1 '^vsmp: restore ' "$T/err" || true)
    linux_kill
}

# one NP FILL: the row for NP ranks (FILL MiB written to /tmp first)
one() {
    local np=$1 fill=$2 t cold sig end line ram pages wsec wrate fileb diskb
    cp --sparse=always "$ROOTFS" "$T/root.img"
    rm -f "$T/img"
    LINUX_VSMP_OPTS="--checkpoint $T/img"
    linux_start "sm:$np" "$T/guest.cfg" "$GUARD" || die_job "cannot start"
    wait_prompt || die_job "np=$np: no prompt"
    linux_type 'echo ready-$((6*7))\n'
    t=$(wait_stamp '^ready-42$') || die_job "np=$np: no ready-42"
    cold=$(secs "$LINUX_T0" "$t")
    if [ "$fill" -gt 0 ]; then
        linux_type "hashwork -o 7 $fill > /tmp/fill; echo filled-\$((1+1))\\n"
        wait_stamp '^filled-2$' >/dev/null || die_job "np=$np: no filled-2"
    fi
    sleep "$SETTLE"
    sig=$EPOCHREALTIME
    local p
    for p in $(pgrep -f "^$VSMP "); do kill -TERM "$p"; done
    while kill -0 "$LINUX_PID" 2>/dev/null; do sleep 0.01; done
    end=$EPOCHREALTIME
    linux_finish
    [ "$LINUX_RC" = 0 ] || die_job "np=$np: status $LINUX_RC after SIGTERM"
    line=$(grep -m1 "^vsmp: checkpoint $T/img: " "$T/err") || die_job "np=$np: no \"vsmp: checkpoint\" line"
    read -r ram pages wsec wrate < <(sed -E 's/.*: ([0-9.]+) MiB of RAM in use \(([0-9]+) pages\), written in ([0-9.]+) s \(([0-9.]+) MB\/s\).*/\1 \2 \3 \4/' <<<"$line")
    fileb=$(stat -c %s "$T/img"); diskb=$(( $(stat -c '%b * %B' "$T/img") ))
    cp --sparse=always "$T/root.img" "$T/root.ckpt"
    local i best='' warm rline='' rsec='-' rrate='-'
    for ((i = 0; i < REPEAT; i++)); do
        uncache "$T/img"
        restore_once "$np"
        if [ -z "$best" ] || awk -v a="$R_SHELL" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$R_SHELL; fi
        [ -n "$rline" ] || rline=$R_LINE
    done
    restore_once "$np"; warm=$R_SHELL
    if [ -n "$rline" ]; then
        # "vsmp: restore IMG: X MiB of RAM (N pages) read in T s"
        rsec=$(grep -o -E 'read in [0-9.]+ s' <<<"$rline" | head -n1 | awk '{ print $3 }')
        local rpages
        rpages=$(grep -o -E '\([0-9]+ pages\)' <<<"$rline" | head -n1 | tr -dc 0-9)
        if [ -n "$rsec" ] && [ -n "$rpages" ]; then
            rrate=$(awk -v p="$rpages" -v s="$rsec" 'BEGIN { if (s > 0) printf "%.0f", p * 4096 / 1e6 / s; else print "-" }')
        else
            rsec='?'
        fi
    fi
    local label=$np
    [ "$fill" -gt 0 ] && label="$np+$fill"
    printf '%-7s %7s %6s %8.1f %8.1f %7s %9s %9s %6s %8s %10s %8s %7s\n' "$label" "$ram" "$pages" \
        "$(awk -v b="$fileb" 'BEGIN { print b / 1048576 }')" "$(awk -v b="$diskb" 'BEGIN { print b / 1048576 }')" \
        "$wsec" "$wrate" "$(secs "$sig" "$end")" "$rsec" "$rrate" "$cold" "$best" "$warm"
    [ -z "$rline" ] || echo "        ($rline)"
}

echo "bench-ckpt: $VSMP, images/linux.cfg ($CFG_MEMORY) on a copy of rootfs.img, sm; images in ${CKPT_DIR:-$BUILD}; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-7s %7s %6s %8s %8s %7s %9s %9s %6s %8s %10s %8s %7s\n' ranks ram_MiB pages file_MiB disk_MiB \
    write_s write_MBps sig_exit_s read_s read_MBps cold_s image_s warm_s
for np in "${RANKS[@]}"; do
    one "$np" 0
done
if [ "$FILL" -gt 0 ]; then
    for np in "${FILL_RANKS[@]}"; do
        one "$np" "$FILL"
    done
fi
