/* msort.h - bottom-up merge sort shared by the benchmark guests (inline,
 * so each guest's hot loop is compiled in place as before). */
#ifndef GUEST_MSORT_H
#define GUEST_MSORT_H

#include <stdint.h>

/* Sort a[0..n) using t[0..n) as scratch; returns the buffer (a or t)
 * that holds the sorted result. */
static inline uint32_t *merge_sort(uint32_t *a, uint32_t *t, uint32_t n)
{
    for (uint32_t width = 1; width < n; width *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * width) {
            uint32_t mid = lo + width < n ? lo + width : n;
            uint32_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                t[k++] = a[i] <= a[j] ? a[i++] : a[j++];
            while (i < mid)
                t[k++] = a[i++];
            while (j < hi)
                t[k++] = a[j++];
        }
        uint32_t *s = a;
        a = t;
        t = s;
    }
    return a;
}

#endif
