/* lib.c - the test guests' runtime in C: COM1 console and printf, small
 * libc, debug-exit, GDT/TSS/IDT setup with a C dispatcher, PIC and PIT. */
#include "guest.h"

/* ---------------- console ---------------- */
void uart_init(void)
{
    outb(COM1 + 1, 0x00);       /* IER: no interrupts */
    outb(COM1 + 3, 0x80);       /* DLAB */
    outb(COM1 + 0, 0x01);       /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);       /* 8N1 */
    outb(COM1 + 2, 0x00);       /* FIFO off */
    outb(COM1 + 4, 0x03);       /* DTR, RTS */
}

void putc(char c)
{
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
}

void puts(const char *s)
{
    while (*s)
        putc(*s++);
}

static void put_uint(uint64_t v, unsigned base, int width, char pad, int upper)
{
    char buf[24];
    int n = 0;
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        unsigned d;
        if (base == 16) {
            d = (unsigned)(v & 15);
            v >>= 4;
        } else {                /* base 10, 32-bit only (no libgcc) */
            uint32_t w = (uint32_t)v;
            d = w % 10;
            v = w / 10;
        }
        buf[n++] = dig[d];
    } while (v);
    while (n < width && n < (int)sizeof(buf))
        buf[n++] = pad;
    while (n)
        putc(buf[--n]);
}

int vprintf(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            putc(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, longs = 0, left = 0;
        if (*fmt == '-') {
            left = 1;
            fmt++;
        }
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 'd': {
            int32_t v = va_arg(ap, int32_t);
            if (v < 0) {
                putc('-');
                if (width)
                    width--;
                put_uint((uint32_t)0 - (uint32_t)v, 10, width, pad, 0);
            } else
                put_uint((uint32_t)v, 10, width, pad, 0);
            break;
        }
        case 'u':
            put_uint(va_arg(ap, uint32_t), 10, width, pad, 0);
            break;
        case 'x':
        case 'X':
            if (longs >= 2)
                put_uint(va_arg(ap, uint64_t), 16, width, pad, *fmt == 'X');
            else
                put_uint(va_arg(ap, uint32_t), 16, width, pad, *fmt == 'X');
            break;
        case 'c':
            putc((char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int l = (int)strlen(s);
            if (!left)
                for (; l < width; l++)
                    putc(' ');
            puts(s);
            if (left)
                for (; l < width; l++)
                    putc(' ');
            break;
        }
        case '%':
            putc('%');
            break;
        default:
            putc('%');
            putc(*fmt);
            break;
        }
    }
    return 0;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    return 0;
}

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *dp = d;
    const uint8_t *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memset(void *d, int c, size_t n)
{
    uint8_t *dp = d;
    while (n--)
        *dp++ = (uint8_t)c;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (uint8_t)*a - (uint8_t)*b;
}

/* ---------------- exit ---------------- */
void guest_exit(uint32_t code)
{
    /* drain the transmitter so nothing is lost */
    while (!(inb(COM1 + 5) & 0x40))
        ;
    outl(0xf4, code);
    for (;;) {
        cli();
        hlt();
    }
}

void fail(uint32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    puts("FAIL: ");
    vprintf(fmt, ap);
    va_end(ap);
    putc('\n');
    guest_exit(code);
}

/* ---------------- GDT / TSS ---------------- */
uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));
struct tss guest_tss __attribute__((aligned(16)));

void gdt_set(int idx, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    uint64_t d = 0;
    d |= limit & 0xffff;
    d |= (uint64_t)(base & 0xffffff) << 16;
    d |= (uint64_t)access << 40;
    d |= (uint64_t)((limit >> 16) & 0xf) << 48;
    d |= (uint64_t)(flags & 0xf) << 52;
    d |= (uint64_t)(base >> 24) << 56;
    gdt[idx] = d;
}

void gdt_set_callgate(int idx, uint16_t sel, uint32_t off, int dpl, int nparams)
{
    uint64_t d = 0;
    d |= off & 0xffff;
    d |= (uint64_t)sel << 16;
    d |= (uint64_t)(nparams & 31) << 32;
    d |= (uint64_t)(0x80 | (dpl & 3) << 5 | 0x0c) << 40;  /* P, 32-bit call gate */
    d |= (uint64_t)(off >> 16) << 48;
    gdt[idx] = d;
}

void gdt_load(void)
{
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r = {
        sizeof(gdt) - 1, (uint32_t)gdt
    };
    __asm__ volatile(
        "lgdt %0\n\t"
        "ljmp %1, $1f\n"
        "1:\n\t"
        "mov %2, %%ax\n\t"
        "mov %%ax, %%ds\n\t"
        "mov %%ax, %%es\n\t"
        "mov %%ax, %%fs\n\t"
        "mov %%ax, %%gs\n\t"
        "mov %%ax, %%ss\n\t"
        : : "m"(r), "i"(SEL_KCODE), "i"(SEL_KDATA) : "eax", "memory");
}

void tss_load(uint32_t esp0)
{
    guest_tss.ss0 = SEL_KDATA;
    guest_tss.esp0 = esp0;
    guest_tss.iomap_base = sizeof(guest_tss);   /* no I/O bitmap */
    gdt_set(SEL_TSS >> 3, (uint32_t)&guest_tss, sizeof(guest_tss) - 1, 0x89, 0x0);
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

/* ---------------- IDT ---------------- */
static uint64_t idt[256] __attribute__((aligned(8)));
static isr_fn handlers[256];

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
    "#TS", "#NP", "#SS", "#GP", "#PF", "rsv", "#MF", "#AC", "#MC", "#XM",
};

static void idt_gate(int vec, int dpl, int trap)
{
    uint32_t off = isr_stub_table[vec];
    uint64_t d = 0;
    d |= off & 0xffff;
    d |= (uint64_t)SEL_KCODE << 16;
    d |= (uint64_t)(0x80 | (dpl & 3) << 5 | (trap ? 0x0f : 0x0e)) << 40;
    d |= (uint64_t)(off >> 16) << 48;
    idt[vec] = d;
}

void idt_set(int vec, isr_fn fn, int dpl, int trap)
{
    handlers[vec] = fn;
    idt_gate(vec, dpl, trap);
}

void isr_dispatch(struct frame *f)
{
    isr_fn fn = handlers[f->vector & 0xff];
    if (fn) {
        fn(f);
        return;
    }
    const char *n = f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "irq";
    printf("unexpected interrupt %u (%s) err=%x eip=%x cs=%x cr2=%x\n",
           f->vector, n, f->err, f->eip, f->cs, read_cr2());
    guest_exit(0x7f);
}

static void idt_load(void)
{
    for (int v = 0; v < 256; v++)
        idt_gate(v, 0, 0);
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r = {
        sizeof(idt) - 1, (uint32_t)idt
    };
    __asm__ volatile("lidt %0" : : "m"(r));
}

/* ---------------- PIC / PIT ---------------- */
void pic_remap(uint8_t base_master, uint8_t base_slave)
{
    outb(0x20, 0x11);           /* ICW1: edge, cascade, ICW4 */
    outb(0xa0, 0x11);
    outb(0x21, base_master);    /* ICW2 */
    outb(0xa1, base_slave);
    outb(0x21, 0x04);           /* ICW3: slave on IRQ2 */
    outb(0xa1, 0x02);
    outb(0x21, 0x01);           /* ICW4: 8086 mode */
    outb(0xa1, 0x01);
    outb(0x21, 0xfb);           /* all masked but the cascade */
    outb(0xa1, 0xff);
}

void pic_mask(int irq, int masked)
{
    uint16_t port = irq < 8 ? 0x21 : 0xa1;
    uint8_t bit = (uint8_t)(1u << (irq & 7));
    uint8_t m = inb(port);
    outb(port, masked ? (m | bit) : (m & ~bit));
}

void pic_eoi(int irq)
{
    if (irq >= 8)
        outb(0xa0, 0x20);
    outb(0x20, 0x20);
}

void pit_set_periodic(uint16_t divisor)
{
    outb(0x43, 0x34);           /* counter 0, lobyte/hibyte, mode 2, binary */
    outb(0x40, (uint8_t)divisor);
    outb(0x40, (uint8_t)(divisor >> 8));
}

/* ---------------- Multiboot ---------------- */
const char *mb_cmdline(uint32_t mbi)
{
    const uint32_t *info = (const uint32_t *)mbi;
    if (!(info[0] & 4) || !info[4])
        return "";
    /* QEMU (like GRUB) puts the kernel's file name first; vsmp passes
     * only the configured text. Skip a first word ending in ".elf". */
    const char *cl = (const char *)info[4], *sp = cl;
    while (*sp && *sp != ' ')
        sp++;
    if (sp - cl >= 4 && memcmp(sp - 4, ".elf", 4) == 0)
        cl = *sp ? sp + 1 : sp;
    return cl;
}

uint32_t mb_cmdline_uint(uint32_t mbi, const char *key, uint32_t dflt)
{
    const char *cl = mb_cmdline(mbi);
    size_t klen = strlen(key);
    for (const char *p = cl; *p; p++)
        if ((p == cl || p[-1] == ' ') && memcmp(p, key, klen) == 0) {
            uint32_t v = 0;
            for (p += klen; *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (uint32_t)(*p - '0');
            return v;
        }
    return dflt;
}

/* ---------------- start-up ---------------- */
void guest_init(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    uart_init();
    gdt_set(0, 0, 0, 0, 0);
    gdt_set(SEL_KCODE >> 3, 0, 0xfffff, 0x9a, 0xc);
    gdt_set(SEL_KDATA >> 3, 0, 0xfffff, 0x92, 0xc);
    gdt_set(SEL_UCODE >> 3, 0, 0xfffff, 0xfa, 0xc);
    gdt_set(SEL_UDATA >> 3, 0, 0xfffff, 0xf2, 0xc);
    gdt_load();
    idt_load();
}
