#!/bin/sh
# oracle_test.sh - tests of the differential test's oracles and corpus
# (make check-diff-oracle). Each step runs difftest on the first $N cases
# of the corpus's seed (the first one on $NFULL) and checks its exit
# status and what it says:
#   - a host that cannot run 32-bit processes (simulated: the helper path
#     is a file the kernel refuses with ENOEXEC) or runs them in qemu-i386
#     (binfmt_misc, simulated by a script): auto picks the corpus and
#     passes; a forced native oracle fails; with no corpus covering the
#     cases, qemu-i386 (integer cases) or a failure, never a pass by skip
#   - vsmp's results corrupted (-DDIFF_MUTATE): the corpus catches it, in
#     as many cases as the native comparison does where native runs
#   - a corrupt, truncated, other-version, stale (generator changed) or
#     poked (one digest changed) corpus fails loudly
#   - the x87 rule: only on another CPU model, only host-dependent x87
#     results of this host's x87 (--pretend-cpu, --x87-skew)
#   - virtual-8086 mode: the cases vsmp runs in V86 form are checked by
#     the corpus like the others (a wrong digest of one fails it); the V86
#     system cases have the SDM model as oracle on any host, and a class
#     v86 run without 32-bit, corpus or qemu fails
# usage: oracle_test.sh BUILD_DIFF_DIR CORPUS
set -u
B=$1
C=$2
N=5000
NFULL=20000
SEED=$(sed -n 's/^seed //p' "$C" | head -n 1)
D="$B/difftest --seed $SEED --count $N"
T=$(mktemp -d "${TMPDIR:-/tmp}/oracle_test.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
NOEXEC=$T/native32-noexec
printf 'not a program this kernel runs\n' >"$NOEXEC"
chmod +x "$NOEXEC"
OTHER=GenuineIntel/6/143/8      # a CPU model the corpus was not recorded on
fails=0
steps=0

# check NAME EXPECTED_STATUS PATTERN... -- command...
check() {
    name=$1 want=$2
    shift 2
    pats=""
    while [ "$1" != "--" ]; do
        pats="$pats
$1"
        shift
    done
    shift
    steps=$((steps + 1))
    "$@" >"$T/out" 2>&1
    st=$?
    ok=1
    [ "$st" = "$want" ] || ok=0
    printf '%s\n' "$pats" | while IFS= read -r p; do
        [ -z "$p" ] && continue
        grep -q -e "$p" "$T/out" || { echo "  missing: $p"; exit 1; }
    done || ok=0
    if [ $ok = 1 ]; then
        echo "oracle_test: ok: $name"
    else
        echo "oracle_test: FAILED: $name (exit status $st, wanted $want); output:"
        grep -v '^    ' "$T/out" | tail -n 25
        fails=$((fails + 1))
    fi
}

# the number of failed cases in the last run's output
failed_count() {
    sed -n 's/.* \([0-9][0-9]*\) failed (seed.*/\1/p' "$T/out" | tail -n 1
}

native=1
$B/difftest --seed "$SEED" --count 1 --oracle native >/dev/null 2>&1 || native=0
if [ $native = 1 ]; then
    echo "oracle_test: this host runs the 32-bit helper: native parts included"
else
    echo "oracle_test: this host cannot run the 32-bit helper: the corpus parts only"
fi

# ---- oracle choice
check "no 32-bit (ENOEXEC): auto picks the corpus and passes" 0 \
    "Exec format error" "oracle corpus: $C" "oracle corpus: $NFULL cases compared, $NFULL passed" \
    "V86 mode: [1-9][0-9]* cases run in virtual-8086 mode against corpus's results for their 32-bit form, 0 failed; [1-9][0-9]* V86 system cases against the SDM model (v86model.c), 0 failed" -- \
    $B/difftest --seed "$SEED" --count $NFULL --corpus "$C" --helper "$NOEXEC"
check "no 32-bit: a forced native oracle fails" 2 \
    "FAILED: the native oracle cannot run: cannot execute $NOEXEC: Exec format error" -- \
    $D --oracle native --corpus "$C" --helper "$NOEXEC"
check "a missing helper is a broken build, not a reason for another oracle" 2 \
    "FAILED: the native oracle cannot run: cannot execute $T/none: No such file" -- \
    $D --corpus "$C" --helper "$T/none"
check "no 32-bit, no corpus for the seed, no qemu: failure, not a skip" 2 \
    "corpus not used: $C covers seed $SEED" "FAILED: no usable oracle" -- \
    $B/difftest --seed 1 --count 100 --corpus "$C" --helper "$NOEXEC" --qemu "$T/no-qemu"
check "V86 system cases: the SDM model is their oracle, with no 32-bit, corpus or qemu" 0 \
    "oracle SDM model" "oracle SDM model: 2000 cases compared, 2000 passed, 0 failed" -- \
    $B/difftest --seed "$SEED" --count 2000 --class v86sys --helper "$NOEXEC" --qemu "$T/no-qemu"
check "V86-form cases without 32-bit, a corpus for them or qemu: failure, not a skip" 2 \
    "FAILED: no usable oracle" -- \
    $B/difftest --seed "$SEED" --count 100 --class v86 --corpus "$C" --helper "$NOEXEC" --qemu "$T/no-qemu"
check "a forced corpus that does not cover the cases fails" 2 \
    "FAILED: no corpus for these cases" -- \
    $B/difftest --seed 1 --count 100 --oracle corpus --corpus "$C"
if command -v qemu-i386 >/dev/null 2>&1; then
    # a kernel that hands i386 programs to qemu-i386 (binfmt_misc)
    printf '#!/bin/sh\nexec qemu-i386 "%s"\n' "$B/native32" >"$T/binfmt-native32"
    chmod +x "$T/binfmt-native32"
    check "the helper runs, but in an emulator (binfmt_misc): not the native oracle" 0 \
        "runs, but not on this CPU: its CPUID signature" "oracle corpus: $N cases compared, $N passed" -- \
        $D --corpus "$C" --helper "$T/binfmt-native32"
    check "no 32-bit, no corpus for the seed: qemu-i386 for the integer cases" 0 \
        "oracle qemu" "cases not compared (x87 or CMPXCHG8B" \
        "oracle qemu-i386 (integer cases): [1-9][0-9]* cases compared, .* 0 failed" -- \
        $B/difftest --seed 1 --count 2000 --corpus "$C" --helper "$NOEXEC" \
        --qemu-helper "$B/native32"
else
    echo "oracle_test: note: qemu-i386 is not installed here: the qemu oracle was not run"
fi

# ---- the corpus catches what the native comparison catches
check "vsmp corrupted (DIFF_MUTATE): the corpus fails it" 1 \
    "MISMATCH: seed $SEED case [0-9]* (against the corpus)" \
    "V86 mode: [0-9]* cases run in virtual-8086 mode against corpus's results for their 32-bit form, [1-9][0-9]* failed; [0-9]* V86 system cases against the SDM model (v86model.c), [1-9][0-9]* failed" -- \
    $B/difftest-mutate --seed "$SEED" --count $N --oracle corpus --corpus "$C" --max-report 1
fc=$(failed_count)
steps=$((steps + 1))
if [ -n "$fc" ] && [ "$fc" -ge $((N / 2)) ]; then
    echo "oracle_test: ok: DIFF_MUTATE: $fc of $N cases fail against the corpus (EDI and memory corruptions alone are half)"
else
    echo "oracle_test: FAILED: DIFF_MUTATE: only '$fc' of $N cases fail against the corpus"
    fails=$((fails + 1))
fi
if [ $native = 1 ]; then
    check "vsmp corrupted (DIFF_MUTATE): the native oracle fails it" 1 "" -- \
        $B/difftest-mutate --seed "$SEED" --count $N --oracle native --max-report 0
    fn=$(failed_count)
    steps=$((steps + 1))
    if [ "$fn" = "$fc" ]; then
        echo "oracle_test: ok: DIFF_MUTATE: the corpus and the native CPU fail the same $fc cases' count"
    else
        echo "oracle_test: FAILED: DIFF_MUTATE: $fc failures against the corpus, $fn against the CPU"
        fails=$((fails + 1))
    fi
fi

# ---- a corpus that cannot be trusted fails loudly
cp "$C" "$T/corrupt.dtc"
size=$(wc -c <"$C")
printf '\377' | dd of="$T/corrupt.dtc" bs=1 seek=$((size - 1000)) conv=notrunc 2>/dev/null
check "a corrupt corpus fails" 2 "FAILED: corpus unusable: .*checksum mismatch" -- \
    $D --corpus "$T/corrupt.dtc" --helper "$NOEXEC"
head -c $((size - 10)) "$C" >"$T/short.dtc"
check "a truncated corpus fails" 2 "FAILED: corpus unusable: .*shorter" -- \
    $D --corpus "$T/short.dtc"
sed '1s/ 1$/ 9/' "$C" >"$T/v9.dtc"
check "a corpus of another format version fails" 2 "FAILED: corpus unusable: .*format 9" -- \
    $D --corpus "$T/v9.dtc"
check "a changed generator (one mask) makes the corpus stale: failure" 2 "FAILED: STALE CORPUS" -- \
    $B/difftest-stale --seed "$SEED" --count $N --corpus "$C" --helper "$NOEXEC"
if [ $native = 1 ]; then
    check "the stale corpus fails on a host with the native oracle too" 2 "FAILED: STALE CORPUS" -- \
        $B/difftest-stale --seed "$SEED" --count $N --corpus "$C"
fi
$B/corpus_poke "$C" "$T/poked.dtc" 77 || fails=$((fails + 1))
check "a corpus with one wrong digest fails that case (corpus oracle)" 1 \
    "MISMATCH: seed $SEED case 77 (against the corpus)" "$N cases compared, $((N - 1)) passed" -- \
    $D --corpus "$T/poked.dtc" --oracle corpus
if [ $native = 1 ]; then
    check "a corpus with one wrong digest disagrees with this CPU (native oracle)" 1 \
        "CORPUS: this CPU's result has digest" "against this CPU: [0-9]* agree, 0 by the x87 rule, 1 differ" -- \
        $D --corpus "$T/poked.dtc" --oracle native
fi

# case 87 is one that vsmp runs in V86 form (the pattern says so)
$B/corpus_poke "$C" "$T/poked87.dtc" 87 || fails=$((fails + 1))
check "a wrong digest of a case run in V86 mode fails that case (corpus oracle)" 1 \
    "MISMATCH: seed $SEED case 87 (run by vsmp in V86 mode) (against the corpus)" \
    "$N cases compared, $((N - 1)) passed" -- \
    $D --corpus "$T/poked87.dtc" --oracle corpus

# ---- the x87 rule
check "another CPU model whose x87 differs: accepted by the x87 rule, counted apart" 0 \
    "another CPU model: the x87 rule applies" "$N passed ([1-9][0-9]* of them by the x87 rule), 0 failed" -- \
    $D --corpus "$C" --oracle corpus --pretend-cpu $OTHER --x87-skew host
check "the same x87 difference on the corpus's CPU model: failure" 1 \
    "x87 rule: not applicable, this host is the corpus's CPU model" -- \
    $D --corpus "$C" --oracle corpus --x87-skew host
check "vsmp's x87 results unlike this host's x87: failure" 1 \
    "host-dependent result(s) unlike this host's x87" -- \
    $D --corpus "$C" --oracle corpus --pretend-cpu $OTHER --x87-skew vsmp
check "another CPU model does not excuse other differences (DIFF_MUTATE)" 1 \
    "x87 rule: the neutral run's digest" -- \
    $B/difftest-mutate --seed "$SEED" --count $N --corpus "$C" --oracle corpus --pretend-cpu $OTHER --x87-skew host --max-report 50
check "another CPU model: a case without host-dependent x87 instructions is not excused" 1 \
    "x87 rule: not applicable, no host-dependent x87 instruction" -- \
    $B/difftest-mutate --seed "$SEED" --count $N --corpus "$C" --oracle corpus --pretend-cpu $OTHER --max-report 50

if [ $fails != 0 ]; then
    echo "oracle_test: $fails of $steps steps FAILED"
    exit 1
fi
echo "oracle_test: all $steps steps passed"
