#!/bin/bash
# run-guest.sh - runs one test guest under ./vsmp and, when
# qemu-system-i386 is installed, under QEMU (the oracle); checks the exit
# status (1: the guest wrote 0 to port 0xf4; 0 for the guests that power
# off or reset through ACPI) and compares the console
# output with tests/guests/expected/NAME.out.
#   tests/guests/run-guest.sh NAME          (from the source root)
# Environment: BUILD (build), QEMU (qemu-system-i386 path, "" to skip),
# VSMP (./vsmp), VSMP_ENGINES ("jit interp"), GUEST_TIMEOUT (30 s), UPDATE=1 writes expected/NAME.out
# from QEMU's output instead of comparing (inspect it before committing).
# Lines that start with "sdm: " are results where QEMU is known to be
# wrong (the guest's comment says why; the SDM is their reference): vsmp
# is compared on them, QEMU is not (and UPDATE=1 writes QEMU's - fix them).
# Lines that start with "kvm: " are the platform vsmp gives Linux that
# QEMU TCG lacks (kvmclock, the TSC-deadline timer): the same, vsmp only.
set -u
name=$1
src=tests/guests
BUILD=${BUILD:-build}
VSMP=${VSMP:-./vsmp}
QEMU=${QEMU-$(command -v qemu-system-i386 || true)}
TMO=${GUEST_TIMEOUT:-30}
out=$BUILD/tests/guests
elf=$out/$name.elf
exp=$src/expected/$name.out
abspath() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }

# per-guest settings
# filter: a sed script applied to both outputs before comparing (for
# lines that legitimately differ between machines, e.g. CPUID model)
# qemu_filter: a sed script applied to QEMU's output only, for lines
# where QEMU 7.2 is known to differ from the SDM (the guest names QEMU's
# value on those lines; expected/ holds the SDM's)
cmdline="" initrd="" input=/dev/null filter="" qemu_filter="" extra_cfg="" want=1 qemu_args=""
case $name in
demo) cmdline="demo hello=world"; filter='s/^cpu: .*/cpu: (CPUID details not compared)/' ;;
hello) cmdline="hello-test arg=42 x"; initrd=$src/data/module.txt ;;
uart) input=$src/data/uart.in ;;
bench_cpu) cmdline="scale=1" ;;
bench_mem|bench_sys) cmdline="scale=1" ;;
# the SMP benchmarks time their parallel section: not compared
bench_par|bench_lock) filter='s/^\(bench_[a-z]*: parallel section\) .*/\1 (time not compared)/' ;;
# a code cache much smaller than the guest's 1 MiB of code, so that the
# translator must flush (checked below from --stats)
cachefill) extra_cfg="jit-cache 1M" ;;
# SMP guest with N CPUs (QEMU -smp N, N vsmp ranks): smp.1 smp.2 smp.4.
# 900 s only catches a hang: it needs a few seconds on an idle host, but
# 100-200 s at 2 ranks with both cores busy with other processes (its
# ring test hands pages back and forth 10,000 times, and each hand-over
# waits for the other rank to be scheduled)
smp.[0-9]*) smp=${name#smp.}; elf=$out/smp.elf; TMO=${GUEST_TIMEOUT:-900} ;;
# EFLAGS.RF pushed for faults: QEMU 7.2 pushes 0, the SDM says 1
rflag) qemu_filter='s/: RF 0   (QEMU: 0)$/: RF 1   (QEMU: 0)/' ;;
# NMI blocking with N CPUs: nmi.1 nmi.2 (900 s: a hang guard, as smp.N)
nmi.[0-9]*) smp=${name#nmi.}; elf=$out/nmi.elf; TMO=${GUEST_TIMEOUT:-900} ;;
# untouched RAM reads as zero on N CPUs; one expected output for every N
zeromem.[0-9]*) smp=${name#zeromem.}; elf=$out/zeromem.elf; exp=$src/expected/zeromem.out
    TMO=${GUEST_TIMEOUT:-900} ;;
# ACPI power-off with N CPUs (acpi.1, acpi.2) and ACPI reset: the run ends
# with status 0 (on every rank), under QEMU too (-no-reboot); 300 s only
# catches a hang
acpi.[0-9]*) smp=${name#acpi.}; elf=$out/acpi.elf; want=0; TMO=${GUEST_TIMEOUT:-300} ;;
# a kernel panic's last line on the console ends the run with status 16
# (panic.1, panic.2: every rank); vsmp only, QEMU has no such watcher
panic.[0-9]*) smp=${name#panic.}; elf=$out/panic.elf; exp=$src/expected/panic.out
    want=16; QEMU=""; TMO=${GUEST_TIMEOUT:-300} ;;
# every CPU halted with IF=0 after the kernel's "reboot: System halted"
# line: status 0 (halt.1, halt.2, halt.4); without the line (halt_nomsg,
# halt_nomsg.2): status 6. vsmp only: QEMU would wait for ever
halt.[0-9]*) smp=${name#halt.}; elf=$out/halt.elf; exp=$src/expected/halt.$smp.out
    want=0; QEMU=""; TMO=${GUEST_TIMEOUT:-300} ;;
halt_nomsg*) smp=${name#halt_nomsg}; smp=${smp#.}; smp=${smp:-1}; elf=$out/halt.elf
    exp=$src/expected/halt_nomsg.$smp.out; cmdline="nomsg"; want=6; QEMU=""
    TMO=${GUEST_TIMEOUT:-300} ;;
# reboot through the reset vector from real mode: status 0 (vsmp's stub
# writes the ACPI reset register; QEMU's firmware resets, -no-reboot)
biosreset) want=0 ;;
# (QEMU's default pc machine has an ACPI 1.0 FADT without a reset
# register: its q35 machine has one)
acpi_reset) elf=$out/acpi.elf; cmdline="reset"; want=0; qemu_args="-M q35" ;;
# the virtio-mmio disk at 2 CPUs, on a fresh 64 KiB image (vdisk.2);
# vsmp only: QEMU's pc machine has no virtio-mmio
vdisk.[0-9]*) smp=${name#vdisk.}; elf=$out/vdisk.elf; QEMU=""; TMO=${GUEST_TIMEOUT:-300}
    head -c 65536 /dev/zero > "$out/$name.img"; extra_cfg="disk $(abspath "$out/$name.img")" ;;
esac
# the ROM guest is a raw firmware image: `rom` in the config, -bios in QEMU
image=$elf kind=kernel
[ "$name" = rom ] && image=$out/rom.bin kind=rom

[ -f "$image" ] || { echo "$name: $image missing (make guests)"; exit 1; }
cfg=$out/$name.cfg
{
    echo "# generated by tests/guests/run-guest.sh"
    echo "memory 32M"
    echo "$kind $(abspath "$image")"
    [ -n "$initrd" ] && echo "initrd $(abspath "$initrd")"
    [ -n "$cmdline" ] && echo "cmdline $cmdline"
    echo "console stdio"
    [ -n "$extra_cfg" ] && echo "$extra_cfg"
} > "$cfg"

fail=0
run_qemu() {
    local boot=(-kernel "$elf")
    [ "$kind" = rom ] && boot=(-bios "$image")
    local args=("${boot[@]}" -m 32 -display none -monitor none -serial stdio
                -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)
    [ -n "$cmdline" ] && args+=(-append "$cmdline")
    [ -n "$initrd" ] && args+=(-initrd "$initrd")
    [ -n "${smp:-}" ] && args+=(-smp "$smp")
    [ -n "$qemu_args" ] && args+=($qemu_args)
    timeout -k 5 "$TMO" "$QEMU" "${args[@]}" < "$input" > "$out/$name.qemu.raw" 2> "$out/$name.qemu.err"
    local rc=$?
    sed -e "$filter" -e "$qemu_filter" "$out/$name.qemu.raw" > "$out/$name.qemu.out"
    return $rc
}

if [ "${UPDATE:-0}" = 1 ]; then
    [ -n "$QEMU" ] || { echo "UPDATE=1 needs qemu-system-i386"; exit 1; }
    run_qemu; rc=$?
    cp "$out/$name.qemu.out" "$exp"
    echo "$name: qemu exit $rc, wrote $exp"
    exit 0
fi

[ -f "$exp" ] || { echo "$name: FAIL: no $exp"; exit 1; }

# SMP guests with smp=N > 1 run as an MPI job of N ranks.
vsmp=("$VSMP") vsmp_engines=${VSMP_ENGINES:-jit interp}
if [ "${smp:-1}" -gt 1 ]; then
    export OMPI_MCA_btl_vader_single_copy_mechanism=none   # README, "Open MPI notes"
    [ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    vsmp=("${MPIRUN:-mpirun}" -np "$smp" --oversubscribe "$VSMP")
fi
stats=()
[ "$name" = cachefill ] && stats=(--stats)

# every execution engine: the translator (default) and the interpreter
for eng in $vsmp_engines; do
    VSMP_ENGINE=$eng timeout -k 5 "$TMO" "${vsmp[@]}" "${stats[@]}" "$cfg" < "$input" > "$out/$name.vsmp.raw" 2> "$out/$name.vsmp.err"
    rc=$?
    if [ "$name" = cachefill ] && [ "$eng" = jit ] &&
       ! grep -Eq 'cache flushes [1-9]' "$out/$name.vsmp.err"; then
        echo "$name: FAIL: the translator's code cache never filled up (no flush in --stats)"
        fail=1
    fi
    sed -e "$filter" "$out/$name.vsmp.raw" > "$out/$name.vsmp.out"
    if [ $rc -ne $want ]; then
        echo "$name: FAIL: vsmp ($eng) exit status $rc, want $want$([ $rc -eq 124 ] && echo ' (timeout)')"
        tail -n 5 "$out/$name.vsmp.err" | sed 's/^/    stderr: /'
        fail=1
    fi
    if ! diff -u "$exp" "$out/$name.vsmp.out" > "$out/$name.vsmp.diff"; then
        echo "$name: FAIL: vsmp ($eng) output differs from $exp:"
        head -n 20 "$out/$name.vsmp.diff" | sed 's/^/    /'
        fail=1
    fi
done

# Lines starting with "sdm: " hold results that QEMU gets wrong, checked
# against the Intel SDM (the guest says why), and "kvm: " lines about what
# QEMU TCG lacks: vsmp only.
if [ -n "$QEMU" ] && [ -x "$QEMU" ]; then
    run_qemu; rc=$?
    if [ $rc -ne $want ]; then
        echo "$name: FAIL: qemu exit status $rc, want $want"
        fail=1
    fi
    grep -v -e '^sdm: ' -e '^kvm: ' "$exp" > "$out/$name.exp.qemu"
    grep -v -e '^sdm: ' -e '^kvm: ' "$out/$name.qemu.out" > "$out/$name.qemu.cmp"
    if ! diff -u "$out/$name.exp.qemu" "$out/$name.qemu.cmp" > "$out/$name.qemu.diff"; then
        echo "$name: FAIL: qemu output differs from $exp:"
        head -n 20 "$out/$name.qemu.diff" | sed 's/^/    /'
        fail=1
    fi
fi
[ $fail -eq 0 ] && echo "$name: ok"
exit $fail
