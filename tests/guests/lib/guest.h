/* guest.h - the test guests' runtime: port I/O, COM1 console and printf,
 * debug-exit, GDT/TSS/IDT construction, interrupt frames, 8259 PIC and
 * 8254 PIT helpers. Freestanding i386 C (see lib.c, entry.asm, isr.asm). */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- port I/O ---- */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr2(void) { uint32_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(const volatile void *p) { __asm__ volatile("invlpg (%0)" : : "r"(p) : "memory"); }
static inline uint32_t read_eflags(void) { uint32_t v; __asm__ volatile("pushfl; popl %0" : "=r"(v)); return v; }
static inline void wrmsr(uint32_t msr, uint64_t v) { __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))); }
static inline uint64_t rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return (uint64_t)hi << 32 | lo; }
static inline uint64_t rdmsr(uint32_t msr) { uint32_t lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); return (uint64_t)hi << 32 | lo; }
static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

/* ---- console (COM1, polled output) and small libc ---- */
#define COM1 0x3f8
void uart_init(void);
void putc(char c);
void puts(const char *s);               /* no newline added */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* ---- exit through the isa-debug-exit port 0xf4: status (code<<1)|1 ---- */
void guest_exit(uint32_t code) __attribute__((noreturn));
/* print "FAIL: ..." and exit with code */
void fail(uint32_t code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
#define CHECK(code, cond) do { if (!(cond)) fail((code), "%s:%d: %s", __FILE__, __LINE__, #cond); } while (0)

/* ---- segmentation ---- */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1b
#define SEL_UDATA 0x23
#define SEL_TSS   0x28
#define GDT_ENTRIES 16                  /* entries 6..15 free for guests */

struct tss {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
} __attribute__((packed));

extern uint64_t gdt[GDT_ENTRIES];
extern struct tss guest_tss;
/* access: P/DPL/S/type byte; flags: G, D/B nibble (0xC = 4K gran, 32-bit) */
void gdt_set(int idx, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
void gdt_set_callgate(int idx, uint16_t sel, uint32_t off, int dpl, int nparams);
void gdt_load(void);                    /* lgdt + reload all segment registers */
void tss_load(uint32_t esp0);           /* set esp0/ss0 and LTR */

/* ---- interrupts ---- */
struct frame {
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
    uint32_t vector, err;
    uint32_t eip, cs, eflags;
    uint32_t useresp, ss;               /* only on a privilege change */
};
typedef void (*isr_fn)(struct frame *f);
void idt_set(int vec, isr_fn fn, int dpl, int trap); /* C handler + gate */
void isr_dispatch(struct frame *f);
extern const uint32_t isr_stub_table[256];
/* the default handler prints the exception and exits with status 0x7f */

/* ---- 8259 PIC and 8254 PIT ---- */
void pic_remap(uint8_t base_master, uint8_t base_slave); /* masks all */
void pic_mask(int irq, int masked);
void pic_eoi(int irq);
void pit_set_periodic(uint16_t divisor);     /* counter 0, mode 2 */
#define PIT_HZ 1193182u

/* Multiboot command line without the kernel file name QEMU prepends */
const char *mb_cmdline(uint32_t mbi);
/* The decimal value of a "key=N" word of the command line (key given with
 * its '='); dflt when absent. (It used to turn N = 0 into 1, which made
 * bench_par's "dynamic=0" mean dynamic; scales now clamp themselves.) */
uint32_t mb_cmdline_uint(uint32_t mbi, const char *key, uint32_t dflt);

/* ---- ring 3 (user.asm) ---- */
uint32_t run_user(void (*fn)(void), uint32_t user_esp, uint32_t eflags);
void kernel_resume(uint32_t value) __attribute__((noreturn));

void guest_init(uint32_t magic, uint32_t mbi);
int main(uint32_t magic, uint32_t mbi);

#endif
