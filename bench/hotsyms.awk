# hotsyms.awk - names what lives in the guest pages that fault most.
# Usage: awk -v ktext=HEX -f hotsyms.awk SYMBOLS STATS
#   ktext    the address of _text in the guest's boot (vsmp-ktext: KASLR
#            moves the kernel, physically and virtually, by one offset)
#   SYMBOLS  a symbol table of the same kernel, "ADDR TYPE NAME" lines
#            (images/build/System.map-full from the -dbg package; the
#            guest's /proc/kallsyms also works but names functions only)
#   STATS    vsmp --stats output: its "most faults (page:faults) 0xP:N ..."
#            lines (one per rank; a page's faults on every rank summed)
# Lowmem is mapped at PAGE_OFFSET 0xC0000000 on Debian's i386 kernel: a
# guest physical page P holds 0xC0000000 + P*4096 .. +4095. For each page,
# most faults first (20), it prints the faults, the guest's virtual range,
# the kernel section, the symbol covering the page's start and the first
# symbols that begin inside it. Pages outside the kernel image are
# dynamic memory: per-CPU areas (allocated at the top of lowmem at boot),
# slab objects, task stacks, page tables, page cache or user memory.
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
    if (NF >= 3 && $1 ~ /^[0-9a-fA-F]+$/) {
        a = hex($1)
        if (a >= 3221225472) {
            n++; addr[n] = a; name[n] = $3
            if ($3 == "_text") text = a
            else if ($3 == "_etext") etext = a
            else if ($3 == "__start_rodata") rodata = a
            else if ($3 == "_sdata") sdata = a
            else if ($3 == "__init_begin") initb = a
            else if ($3 == "__bss_start") bss = a
            else if ($3 == "__bss_stop") bssend = a
            else if ($3 == "_end") kend = a
        }
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
function section(a) {
    if (!text || a < text) return "dynamic"
    if (kend && a >= kend) return "dynamic"
    if (bss && a >= bss) return "bss"
    if (initb && a >= initb) return "init (freed after boot)"
    if (sdata && a >= sdata) return "data"
    if (rodata && a >= rodata) return "rodata"
    return "text"
}
END {
    if (!text) { print "hotsyms: no _text in the symbol table" > "/dev/stderr"; exit 1 }
    delta = hex(ktext) - text
    # symbols by address (the table is sorted or nearly so)
    for (i = 2; i <= n; i++) {
        a = addr[i]; s = name[i]; j = i - 1
        while (j > 0 && addr[j] > a) { addr[j + 1] = addr[j]; name[j + 1] = name[j]; j-- }
        addr[j + 1] = a; name[j + 1] = s
    }
    for (i = 2; i <= np; i++) {
        p = pages[i]; j = i - 1
        while (j > 0 && faults[pages[j]] < faults[p]) { pages[j + 1] = pages[j]; j-- }
        pages[j + 1] = p
    }
    for (k = 1; k <= np && k <= 20; k++) {
        p = pages[k]
        gv = 3221225472 + p * 4096          # the guest's virtual address
        lo = gv - delta; hi = lo + 4096     # ... in the table's terms
        sec = section(lo)
        out = ""
        if (sec != "dynamic") {
            l = 1; h = n; cov = 0
            while (l <= h) { m = int((l + h) / 2); if (addr[m] <= lo) { cov = m; l = m + 1 } else h = m - 1 }
            if (cov > 0) out = name[cov] (lo > addr[cov] ? sprintf("+0x%x", lo - addr[cov]) : "")
            c = 0
            for (m = cov + 1; m <= n && addr[m] < hi && c < 8; m++) {
                if (name[m] ~ /^__key\.|^__func__|^__already_done|^__print_once/) continue
                out = out " " name[m]; c++
            }
        } else {
            out = "per-CPU area, slab, stack, page table or user page"
        }
        printf "page 0x%05x  faults %7d  %08x  %-8s %s\n", p, faults[p], gv, sec, out
    }
}
