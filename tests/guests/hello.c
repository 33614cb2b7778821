/* hello.c - first test guest: greeting and the Multiboot information
 * (only properties that agree between loaders: QEMU and vsmp build
 * different but equivalent memory maps). */
#include "lib/guest.h"

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
    uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
};
struct mb_mod { uint32_t start, end, string, reserved; };
struct mb_mmap { uint32_t size; uint64_t base, len; uint32_t type; } __attribute__((packed));

int main(uint32_t magic, uint32_t mbi_addr)
{
    const struct mb_info *mbi = (const struct mb_info *)mbi_addr;
    printf("hello from a multiboot guest\n");
    CHECK(1, magic == 0x2badb002);
    printf("magic ok\n");
    printf("flags: mem=%u mods=%u cmdline=%u mmap=%u\n", mbi->flags & 1,
           (mbi->flags >> 3) & 1, (mbi->flags >> 2) & 1, (mbi->flags >> 6) & 1);
    /* mem_lower: 639 or 640 KiB depending on the loader */
    printf("mem_lower >= 639K: %s\n", mbi->mem_lower >= 639 && mbi->mem_lower <= 640 ? "yes" : "no");
    /* mem_upper: RAM above 1M in KiB, -m 32: about 31 MiB */
    printf("mem_upper ~ 31M: %s\n", mbi->mem_upper >= 30 * 1024 && mbi->mem_upper <= 31 * 1024 ? "yes" : "no");

    uint64_t low = 0, high = 0;
    int have_low = 0, have_high = 0, entries = 0;
    for (uint32_t p = mbi->mmap_addr; p < mbi->mmap_addr + mbi->mmap_length;) {
        const struct mb_mmap *e = (const struct mb_mmap *)p;
        entries++;
        if (e->type == 1) {
            if (e->base == 0) {
                have_low = 1;
                low = e->len;
            }
            if (e->base == 0x100000) {
                have_high = 1;
                high = e->len;
            }
        }
        p += e->size + 4;
    }
    printf("mmap: >= 2 entries: %s\n", entries >= 2 ? "yes" : "no");
    printf("mmap: RAM at 0 of >= 639K: %s\n", have_low && low >= 639 * 1024 ? "yes" : "no");
    printf("mmap: RAM at 1M of ~31M: %s\n",
           have_high && high >= 30u * 1024 * 1024 && high <= 31u * 1024 * 1024 ? "yes" : "no");

    const char *cl = mb_cmdline(mbi_addr);
    printf("cmdline: '%s'\n", cl);

    printf("modules: %u\n", mbi->mods_count);
    const struct mb_mod *m = (const struct mb_mod *)mbi->mods_addr;
    for (uint32_t i = 0; i < mbi->mods_count; i++) {
        uint32_t sum = 0;
        for (const uint8_t *b = (const uint8_t *)m[i].start; b < (const uint8_t *)m[i].end; b++)
            sum = sum * 31 + *b;
        printf("module %u: size %u page-aligned %s hash %08x\n", i, m[i].end - m[i].start,
               (m[i].start & 0xfff) == 0 ? "yes" : "no", sum);
    }
    printf("bye\n");
    return 0;
}
