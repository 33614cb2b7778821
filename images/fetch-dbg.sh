#!/usr/bin/env bash
# images/fetch-dbg.sh OUT - the full symbol table of the kernel in OUT
# (images/fetch.sh wrote OUT/packages): Debian ships the image's
# System.map as a stub and /proc/kallsyms lists functions only
# (CONFIG_KALLSYMS_ALL is off), so naming the kernel *data* that DSM pages
# hold needs the matching -dbg package (linux-image-VERSION-686-dbg, about
# 760 MB through apt). Writes OUT/System.map-full (`nm -n vmlinux`) and
# keeps nothing else. Used by bench/linux_hot.sh; `make images-dbg`.
set -euo pipefail
out=${1:?usage: fetch-dbg.sh OUT}
pkg=$(awk '$1 ~ /^linux-image-/ {print $1; exit}' "$out/packages")
[ -n "$pkg" ] || { echo "images: no kernel package in $out/packages (make images)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vsmp-dbg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "images: apt-get download $pkg-dbg:i386 (about 760 MB)"
(cd "$tmp" && apt-get download "$pkg-dbg:i386" >/dev/null 2>&1) ||
    (cd "$tmp" && apt-get download "$pkg-dbg:i386")
deb=$(ls "$tmp"/*.deb)
dpkg-deb --fsys-tarfile "$deb" | tar -x -O --wildcards '*/vmlinux-*' >"$tmp/vmlinux"
nm -n "$tmp/vmlinux" >"$out/System.map-full.new"
mv "$out/System.map-full.new" "$out/System.map-full"
echo "images: $out/System.map-full ($(wc -l <"$out/System.map-full") symbols)"
