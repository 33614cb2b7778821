#!/usr/bin/env bash
# images/kmods.sh MODDIR OUTDIR MODULE... - copies the kernel modules that
# MODULE... need from a kernel package's module tree MODDIR
# (lib/modules/VERSION of the extracted .deb) into OUTDIR, uncompressed
# (.ko.xz through xz -d: busybox insmod need not read xz), and writes
# OUTDIR/order: one module a line, in the order to load them:
#   NAME.ko            needed
#   NAME.ko optional   a candidate for a soft dependency's alias (e.g.
#                      crc32c-intel for "crc32c"): may fail to load (no
#                      SSE4.2) when another candidate does the work
# The dependencies come from the modules themselves, read here as depmod
# reads them: each module's .modinfo "depends=" (hard, loaded first) and
# "softdep=pre: ..." / "post: ..." (module names or aliases, resolved by
# the "alias=" lines of the tree's modules). Debian's package ships no
# modules.dep (depmod makes it at install), and kmod need not be on the
# host: the .modinfo section is read with objcopy. No 32-bit program runs.
set -euo pipefail
MODDIR=${1:?usage: images/kmods.sh MODDIR OUTDIR MODULE...}
OUT=${2:?usage: images/kmods.sh MODDIR OUTDIR MODULE...}
shift 2
[ $# -gt 0 ] || { echo "usage: images/kmods.sh MODDIR OUTDIR MODULE..." >&2; exit 2; }
die() { echo "images: $*" >&2; exit 1; }
command -v objcopy >/dev/null || die "objcopy not found (binutils)"
[ -d "$MODDIR/kernel" ] || die "$MODDIR/kernel: no module tree"
mkdir -p "$OUT"

# name (with - and _ the same, as modprobe has them) -> path in the tree
declare -A path
while IFS= read -r -d '' f; do
    n=${f##*/}; n=${n%.xz}; n=${n%.ko}; n=${n//-/_}
    path[$n]=$f
done < <(find "$MODDIR/kernel" -name '*.ko' -print0 -o -name '*.ko.xz' -print0)

# modinfo FILE: its .modinfo strings, one a line
modinfo() {
    local f=$1 ko
    ko=$(mktemp "${TMPDIR:-/tmp}/vsmp-kmod.XXXXXX")
    case $f in
    *.xz) xz -dc "$f" >"$ko" || { rm -f "$ko"; die "xz -d $f failed (xz-utils)"; } ;;
    *)    cp "$f" "$ko" ;;
    esac
    objcopy -O binary --only-section=.modinfo "$ko" "$ko.info" ||
        { rm -f "$ko" "$ko.info"; die "objcopy cannot read $f"; }
    tr '\0' '\n' <"$ko.info"
    rm -f "$ko" "$ko.info"
}

# alias_of NAME: the modules whose .modinfo names NAME as an alias (the
# tree is searched for the bytes first, then each candidate's .modinfo
# checked); NAME itself when it is a module's name.
alias_of() {
    local a=$1 f n
    if [ -n "${path[${a//-/_}]:-}" ]; then echo "${a//-/_}"; return; fi
    grep -rlaF --include='*.ko' "alias=$a" "$MODDIR/kernel" | sort | while read -r f; do
        modinfo "$f" | grep -qxF "alias=$a" || continue
        n=${f##*/}; n=${n%.ko}; echo "${n//-/_}"
    done
    # .ko.xz trees: the bytes are compressed, so each module is unpacked
    find "$MODDIR/kernel" -name '*.ko.xz' | sort | while read -r f; do
        xz -dc "$f" | grep -qaF "alias=$a" || continue
        modinfo "$f" | grep -qxF "alias=$a" || continue
        n=${f##*/}; n=${n%.ko.xz}; echo "${n//-/_}"
    done
}

declare -A seen
order=()
# visit NAME OPTIONAL: NAME's pre soft dependencies and hard dependencies,
# then NAME, then its post soft dependencies
visit() {
    local n=${1//-/_} opt=$2 info deps soft mode w pre='' post='' d a m
    [ -z "${seen[$n]:-}" ] || return 0
    seen[$n]=1
    [ -n "${path[$n]:-}" ] || die "no module $n in $MODDIR"
    info=$(modinfo "${path[$n]}")
    deps=$(sed -n 's/^depends=//p' <<<"$info" | tr ',' ' ')
    soft=$(sed -n 's/^softdep=//p' <<<"$info")
    mode=''
    for w in $soft; do # "pre: a b post: c"
        case $w in
        pre:|post:) mode=${w%:} ;;
        *) if [ "$mode" = pre ]; then pre+=" $w"; elif [ "$mode" = post ]; then post+=" $w"; fi ;;
        esac
    done
    for a in $pre; do
        for m in $(alias_of "$a"); do visit "$m" 1; done
    done
    for d in $deps; do visit "$d" "$opt"; done
    order+=("$n $opt")
    for a in $post; do
        for m in $(alias_of "$a"); do visit "$m" 1; done
    done
}
for m in "$@"; do visit "$m" 0; done

# The modules, uncompressed, and the order; a file only rewritten when it
# changes, files of modules no longer needed removed.
declare -A keep
changed=''
: >"$OUT/order.tmp"
for e in "${order[@]}"; do
    n=${e% *}; opt=${e#* }
    f=${path[$n]}
    base=${f##*/}; base=${base%.xz}
    keep[$base]=1
    case $f in
    *.xz) xz -dc "$f" >"$OUT/$base.tmp" || die "xz -d $f failed (xz-utils)" ;;
    *)    cp "$f" "$OUT/$base.tmp" ;;
    esac
    if cmp -s "$OUT/$base.tmp" "$OUT/$base"; then
        rm -f "$OUT/$base.tmp"
    else
        mv -f "$OUT/$base.tmp" "$OUT/$base"
        changed=1
    fi
    if [ "$opt" = 1 ]; then echo "$base optional"; else echo "$base"; fi >>"$OUT/order.tmp"
done
for f in "$OUT"/*.ko; do
    [ -e "$f" ] || continue
    [ -n "${keep[${f##*/}]:-}" ] || rm -f "$f"
done
# (order is what make sees: a module that changed makes it newer too)
if cmp -s "$OUT/order.tmp" "$OUT/order" && [ -z "${changed:-}" ]; then
    rm -f "$OUT/order.tmp"
else
    mv -f "$OUT/order.tmp" "$OUT/order"
    echo "images: $OUT/order (${#order[@]} modules)"
fi
