# tests/slurm/requeue.sh - the requeue case of tests/slurm/run.sh (sourced
# by it; uses its T, JOB, submit, field, fail, pass, show, check_end).
#
# jobs/requeue.sbatch at 2 ranks, with srun and with mpirun, runs the Linux
# guest (the initramfs alone: no disk) with a command that prints
# "tick 0" ... "tick 59" a second apart, under --time=2 and
# --signal=B:USR1@40: Slurm warns when at most 40 s + its 30 s check
# period are left, at a check (every 30 s), so 50-80 s into each start,
# 40-70 s before its limit; the start writes its image, requeues itself,
# and the next start resumes from the image, until the command ends and
# the guest powers off (boot and 60 ticks: more than one start). Checks: the job ends
# COMPLETED with exit code 0:0 after at least one restart (Restarts=N >=
# 1); its stderr has N "resuming from" lines and N "requeueing" lines;
# the console (stdout, appended across starts) has the boot banner once
# (a resume does not boot) and every tick exactly once, in order (the
# guest went on where it stopped); the image is gone at the end.
# shellcheck shell=bash

RQ_TICKS=60

requeue_submit() {
    local l
    for l in srun mpirun; do
        cat >"$T/requeue-$l.cfg" <<EOF
# the Linux guest from its initramfs, counting (tests/slurm/requeue.sh)
memory 256M
kernel $SRC/images/build/vmlinuz
initrd $SRC/images/build/initrd.cpio.gz
cmdline console=ttyS0 vsmp.cmd="i=0; while [ \$i -lt $RQ_TICKS ]; do echo tick \$i; i=\$((i+1)); sleep 1; done"
EOF
        VSMP_LAUNCHER=$l IMAGE=$T/requeue-$l.vsmp submit "requeue-$l" -n 2 --time=2 \
            --signal=B:USR1@40 jobs/requeue.sbatch "$T/requeue-$l.cfg"
    done
}

requeue_check() {
    local l name n con why ticks want i
    for l in srun mpirun; do
        name=requeue-$l
        [ -n "${JOB[$name]:-}" ] || continue
        check_end "$name" COMPLETED 0:0 || continue
        n=$(field "${JOB[$name]}" Restarts)
        con=$(tr -d '\r' <"$T/$name.out")
        ticks=$(grep -E '^tick [0-9]+$' <<<"$con" | tr '\n' ' ')
        want=
        for ((i = 0; i < RQ_TICKS; i++)); do want+="tick $i "; done
        why=
        [ "${n:-0}" -ge 1 ] 2>/dev/null || why="no restart (Restarts=${n:-?}): the time limit was never near"
        [ -n "$why" ] || [ "$(grep -c '^requeue.sbatch: start [0-9]*: resuming from ' "$T/$name.err")" = "$n" ] ||
            why="Restarts=$n but $(grep -c 'resuming from' "$T/$name.err") \"resuming from\" lines"
        [ -n "$why" ] || [ "$(grep -c '^requeue.sbatch: image written; requeueing' "$T/$name.err")" = "$n" ] ||
            why="Restarts=$n but $(grep -c 'requeueing' "$T/$name.err") \"requeueing\" lines"
        [ -n "$why" ] || [ "$(grep -c -x 'vsmp-guest: up, 2 CPUs (online 0-1)' <<<"$con")" = 1 ] ||
            why="the boot banner is there $(grep -c -x 'vsmp-guest: up, 2 CPUs (online 0-1)' <<<"$con") times (a resume booted again?)"
        [ -n "$why" ] || [ "$ticks" = "$want" ] || why="the ticks are not 0..$((RQ_TICKS - 1)) once each in order: $ticks"
        [ -n "$why" ] || grep -q -x 'vsmp-guest: command exited with status 0' <<<"$con" || why="the command did not end"
        [ -n "$why" ] || [ ! -e "$T/$name.vsmp" ] || why="the image $T/$name.vsmp is still there"
        if [ -n "$why" ]; then fail "$name" "$why"; show "$name"; continue; fi
        pass "$name" "$n restart(s), resumed from the image each time, ticks 0..$((RQ_TICKS - 1)) once each"
    done
}
