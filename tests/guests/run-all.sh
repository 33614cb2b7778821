#!/bin/bash
# run-all.sh - `make check-guests`: runs every test guest with
# run-guest.sh (vsmp, and QEMU as the oracle when installed) and prints
# a summary "N passed, M failed"; fails if any guest failed.
set -u
names=${GUESTS:-"hello demo realmode paging privilege pit uart x87 bench_cpu tss rom
    smc codepage midblock irqloop repstr repsmc cachefill bench_mem bench_sys
    apic ioapic mptable smp.1 smp.2 smp.4 bench_par bench_lock popss
    nmi.1 nmi.2 rflag v86 kvmclock
    zeromem.1 zeromem.2 zeromem.4 acpi.1 acpi.2 acpi_reset
    panic.1 panic.2 halt.1 halt.2 halt.4 halt_nomsg halt_nomsg.2
    biosreset vdisk.2"}
pass=0 failn=0 failed=""
for n in $names; do
    if bash tests/guests/run-guest.sh "$n"; then
        pass=$((pass + 1))
    else
        failn=$((failn + 1)); failed="$failed $n"
    fi
done
echo "guests: $pass passed, $failn failed${failed:+ ($failed )}"
[ $failn -eq 0 ]
