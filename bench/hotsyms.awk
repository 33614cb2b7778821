# hotsyms.awk - names what lives in the guest pages that fault most.
# Input, in this order (one awk run over two files):
#   1. the guest's /proc/kallsyms of the same boot ("ADDR TYPE NAME"),
#      addresses in hex without 0x;
#   2. vsmp --stats output: the "most faults (page:faults) 0xP:N ..."
#      lines (one per rank; the pages of every rank are summed).
# Lowmem is mapped at PAGE_OFFSET 0xC0000000 on Debian's i386 kernel, so a
# guest physical page P holds the kernel virtual range
# 0xC0000000 + P*4096 ... + 4095. For each page (most faults first) it
# prints the faults, the range and the symbols in it (the symbol that
# covers its start, then the ones that begin inside it, at most 8); pages
# outside the kernel image show "(no kernel symbol: heap, page tables,
# per-CPU areas or user memory)".
# Usage: awk -f hotsyms.awk kallsyms.txt stats.txt
function hex(s,   i, c, v) {
    v = 0
    s = tolower(s)
    sub(/^0x/, "", s)
    for (i = 1; i <= length(s); i++) {
        c = index("0123456789abcdef", substr(s, i, 1)) - 1
        if (c < 0) return -1
        v = v * 16 + c
    }
    return v
}
FNR == NR {
    if (NF >= 3 && $2 ~ /^[TtDdBbRr]$/) {
        a = hex($1)
        if (a >= 3221225472) { n++; addr[n] = a; name[n] = $3 }
    }
    next
}
/most faults \(page:faults\)/ {
    for (i = 1; i <= NF; i++)
        if ($i ~ /^0x[0-9a-fA-F]+:[0-9]+$/) {
            split($i, f, ":")
            p = hex(f[1])
            if (!(p in faults)) { np++; pages[np] = p }
            faults[p] += f[2]
        }
}
END {
    # symbols sorted by address (insertion sort is fine for ~50k? use a
    # simple merge-free approach: kallsyms is nearly sorted already)
    for (i = 2; i <= n; i++) {
        a = addr[i]; s = name[i]; j = i - 1
        while (j > 0 && addr[j] > a) { addr[j + 1] = addr[j]; name[j + 1] = name[j]; j-- }
        addr[j + 1] = a; name[j + 1] = s
    }
    # pages by faults, most first
    for (i = 2; i <= np; i++) {
        p = pages[i]; j = i - 1
        while (j > 0 && faults[pages[j]] < faults[p]) { pages[j + 1] = pages[j]; j-- }
        pages[j + 1] = p
    }
    for (k = 1; k <= np && k <= 20; k++) {
        p = pages[k]
        lo = 3221225472 + p * 4096; hi = lo + 4096
        # binary search: last symbol <= lo
        l = 1; h = n; cov = 0
        while (l <= h) { m = int((l + h) / 2); if (addr[m] <= lo) { cov = m; l = m + 1 } else h = m - 1 }
        out = ""
        if (cov > 0 && cov < n && addr[cov + 1] > lo && lo - addr[cov] < 1048576)
            out = name[cov] "+0x" sprintf("%x", lo - addr[cov])
        c = 0
        for (m = cov + 1; m <= n && addr[m] < hi; m++)
            if (c < 8) { out = out (out == "" ? "" : " ") name[m]; c++ }
        if (out == "" || (cov == n || (cov > 0 && lo - addr[cov] >= 1048576 && c == 0)))
            out = "(no kernel symbol: heap, page tables, per-CPU areas or user memory)"
        printf "page 0x%05x  faults %7d  virt %08x-%08x  %s\n", p, faults[p], lo, hi - 1, out
    }
}
