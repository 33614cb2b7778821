/* demo.c - the demo guest booted by images/demo.cfg: identifies the CPU
 * with CPUID, draws the Mandelbrot set in fixed-point arithmetic, prints
 * a table of primes and the Multiboot command line, then powers off
 * through the debug-exit port. */
#include "lib/guest.h"

static void cpu_line(void)
{
    uint32_t r[4];
    char vendor[13];
    cpuid(0, r);
    memcpy(vendor, &r[1], 4);
    memcpy(vendor + 4, &r[3], 4);
    memcpy(vendor + 8, &r[2], 4);
    vendor[12] = 0;
    uint32_t max = r[0];
    cpuid(1, r);
    printf("cpu: %s family %u model %u, fpu=%s tsc=%s cx8=%s sep=%s (max leaf %u)\n", vendor,
           (r[0] >> 8) & 15, (r[0] >> 4) & 15, r[3] & 1 ? "yes" : "no",
           r[3] & 0x10 ? "yes" : "no", r[3] & 0x100 ? "yes" : "no",
           r[3] & 0x800 ? "yes" : "no", max);
}

static void mandelbrot(void)
{
    static const char shade[] = " .:-=+*#%@";
    for (int y = 0; y < 22; y++) {
        int32_t ci = (y - 11) * (1 << 24) / 9;           /* 8.24 fixed point */
        for (int x = 0; x < 72; x++) {
            int32_t cr = (x - 50) * (1 << 24) / 22;
            int32_t zr = 0, zi = 0;
            int it = 0;
            for (; it < 40; it++) {
                int64_t zr2 = (int64_t)zr * zr >> 24, zi2 = (int64_t)zi * zi >> 24;
                if (zr2 + zi2 > (4LL << 24))
                    break;
                int32_t nzr = (int32_t)(zr2 - zi2) + cr;
                zi = (int32_t)((int64_t)zr * zi >> 23) + ci;
                zr = nzr;
            }
            putc(shade[it == 40 ? 9 : (it / 2 > 8 ? 8 : it / 2)]);
        }
        putc('\n');
    }
}

static void primes(void)
{
    static uint8_t composite[2000];
    int n = 0;
    printf("the first 60 primes:\n");
    for (int i = 2; i < 2000 && n < 60; i++) {
        if (composite[i])
            continue;
        for (int j = i * i; j < 2000; j += i)
            composite[j] = 1;
        printf("%5d%s", i, ++n % 12 ? "" : "\n");
    }
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    const uint32_t *info = (const uint32_t *)mbi;
    printf("vsmp demo guest: a Multiboot kernel on a virtual i686\n");
    cpu_line();
    /* mem_upper is RAM above 1 MiB less what the loader reserves */
    printf("memory: %u MiB\n", (info[2] + 2047) / 1024);
    printf("command line: '%s'\n", mb_cmdline(mbi));
    mandelbrot();
    primes();
    printf("demo done, powering off\n");
    return 0;
}
