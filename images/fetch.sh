#!/usr/bin/env bash
# images/fetch.sh OUTDIR - downloads the default guest's Debian bookworm
# i386 packages through apt and extracts what the image needs:
#   OUTDIR/vmlinuz   the bzImage of linux-image-6.1.0-*-686 (the package
#                    linux-image-686:i386 depends on, resolved now)
#   OUTDIR/config    that kernel's configuration (for reference)
#   OUTDIR/System.map  its symbols, data included (/proc/kallsyms has
#                    functions only, at an address moved by KASLR: the
#                    offset is kallsyms' _text minus System.map's)
#   OUTDIR/busybox   /bin/busybox of busybox-static:i386
#   OUTDIR/kmod/     the kernel modules a virtio disk with ext4 needs
#                    ($IMG_KMODS, default virtio_mmio virtio_pci virtio_blk
#                    ext4, with their dependencies: images/kmods.sh) and
#                    kmod/order, the order to load them in
#   OUTDIR/packages  the package names and versions used
# Debian packages go to OUTDIR/deb (kept: a file already there with the
# size and SHA-256 apt names is not fetched again). Package names and
# versions are never hard-coded: apt resolves them at run time. Nothing is
# downloaded any other way, and no 32-bit program runs on the host.
# Needs the i386 architecture in dpkg and its apt lists: as root this
# script adds them (dpkg --add-architecture i386; apt-get update); as
# another user it says what to run. An output file is only rewritten when
# its content changes, so make rebuilds nothing after an unchanged fetch.
set -euo pipefail
OUT=${1:?usage: images/fetch.sh OUTDIR}
mkdir -p "$OUT/deb"
die() { echo "images: $*" >&2; exit 1; }
for t in apt-get apt-cache dpkg dpkg-deb sha256sum; do
    command -v "$t" >/dev/null || die "$t not found (images need a Debian host with apt)"
done

root_setup="dpkg --add-architecture i386 && apt-get update"
have_lists() { apt-cache show busybox-static:i386 >/dev/null 2>&1 &&
               apt-cache show linux-image-686:i386 >/dev/null 2>&1; }
if ! dpkg --print-foreign-architectures | grep -qx i386 || ! have_lists; then
    if [ "$(id -u)" = 0 ]; then
        echo "images: adding the i386 architecture and updating apt's lists"
        dpkg --print-foreign-architectures | grep -qx i386 || dpkg --add-architecture i386
        # a mirror caught mid-sync fails one index (exit 100) while the
        # others arrive: try again a few times, then go on with what came
        for try in 1 2 3; do
            apt-get update -q && break
            echo "images: apt-get update failed (try $try of 3)" >&2
            [ "$try" = 3 ] || sleep 10
        done
        have_lists || die "apt knows no linux-image-686:i386 or busybox-static:i386 even after apt-get update (is a Debian 12 bookworm source configured?)"
    else
        die "apt has no i386 package lists; run as root: $root_setup"
    fi
fi

# The kernel package: linux-image-686:i386's dependency linux-image-6.1.0-N-686.
kpkg=$(apt-cache depends linux-image-686:i386 |
       sed -n 's/^ *Depends: \(linux-image-[0-9][0-9.]*-[0-9][0-9]*-686\)\(:i386\)\{0,1\}$/\1/p' | head -n 1)
[ -n "$kpkg" ] || die "cannot resolve linux-image-686:i386 to a linux-image-*-686 package (apt-cache depends linux-image-686:i386)"
pkgs=("$kpkg:i386" "busybox-static:i386")

x=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-images.XXXXXX")
trap 'rm -rf "$x"' EXIT
# apt's URIs, file names, sizes and SHA-256 for the candidates (asked in
# an empty folder: apt names no file that is already in the current
# one); download those that are missing or differ.
uris=$(cd "$x" && apt-get download --print-uris "${pkgs[@]}") ||
    die "apt-get download --print-uris ${pkgs[*]} failed"
declare -A debfile
while read -r _uri file size sum; do
    [ -n "$file" ] || continue
    case $file in
    linux-image-*) debfile[kernel]=$file ;;
    busybox-static_*) debfile[busybox]=$file ;;
    esac
    if [ -f "$OUT/deb/$file" ] && [ "$(stat -c %s "$OUT/deb/$file")" = "$size" ] &&
       { [ "${sum%%:*}" != SHA256 ] || [ "$(sha256sum < "$OUT/deb/$file" | cut -d' ' -f1)" = "${sum#SHA256:}" ]; }; then
        continue
    fi
    need=1
done <<<"$uris"
[ -n "${debfile[kernel]:-}" ] && [ -n "${debfile[busybox]:-}" ] ||
    die "apt-get download --print-uris named no files for ${pkgs[*]}"
if [ "${need:-0}" = 1 ]; then
    echo "images: apt-get download ${pkgs[*]}"
    (cd "$OUT/deb" && apt-get download -q "${pkgs[@]}") || die "apt-get download ${pkgs[*]} failed"
fi

# Extract into the scratch folder, then copy what changed.
dpkg-deb -x "$OUT/deb/${debfile[kernel]}" "$x/k" || die "dpkg-deb -x ${debfile[kernel]} failed"
dpkg-deb -x "$OUT/deb/${debfile[busybox]}" "$x/b" || die "dpkg-deb -x ${debfile[busybox]} failed"
vmlinuz=$(find "$x/k/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
kconfig=$(find "$x/k/boot" -maxdepth 1 -name 'config-*' | head -n 1)
sysmap=$(find "$x/k/boot" -maxdepth 1 -name 'System.map-*' | head -n 1)
[ -n "$vmlinuz" ] || die "${debfile[kernel]} holds no /boot/vmlinuz-*"
[ -f "$x/b/bin/busybox" ] || die "${debfile[busybox]} holds no /bin/busybox"
{
    dpkg-deb -f "$OUT/deb/${debfile[kernel]}" Package Version | paste -sd ' '
    dpkg-deb -f "$OUT/deb/${debfile[busybox]}" Package Version | paste -sd ' '
} | sed 's/Package: //; s/ Version: / /' >"$x/packages"

update() { # SRC DST MODE: copy when different
    if ! cmp -s "$1" "$2"; then
        install -m "$3" "$1" "$2.tmp" && mv -f "$2.tmp" "$2"
        echo "images: $2 ($(basename "$1"))"
    fi
}
update "$vmlinuz" "$OUT/vmlinuz" 644
[ -z "$kconfig" ] || update "$kconfig" "$OUT/config" 644
[ -z "$sysmap" ] || update "$sysmap" "$OUT/System.map" 644
update "$x/b/bin/busybox" "$OUT/busybox" 755
moddir=$(find "$x/k/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -n "$moddir" ] || die "${debfile[kernel]} holds no /lib/modules/VERSION"
# shellcheck disable=SC2086
bash "$(dirname "$0")/kmods.sh" "$moddir" "$OUT/kmod" ${IMG_KMODS:-virtio_mmio virtio_pci virtio_blk ext4}
update "$x/packages" "$OUT/packages" 644
