/* uart.c - test guest: COM1 input, first polled (LSR.DR), then
 * interrupt-driven (IER receive-data interrupt, IRQ4 through the PIC);
 * each line is echoed uppercased with its length and checksum. Also the
 * THR-empty interrupt, IIR identification and the scratch register. */
#include "lib/guest.h"

static char rxbuf[256];
static volatile uint32_t rx_head, rx_tail;
static volatile uint32_t irqs, thre_iir = 0xff, rx_iir = 0xff, thre_seen;

static void on_irq4(struct frame *f)
{
    (void)f;
    irqs++;
    for (;;) {
        uint8_t iir = inb(COM1 + 2);
        if (iir & 1)
            break;                     /* no interrupt pending */
        if ((iir & 0x0e) == 0x02) {    /* THR empty */
            thre_iir = iir & 0x0f;
            thre_seen++;
            outb(COM1 + 1, 0x01);      /* keep only receive-data */
        } else if ((iir & 0x0e) == 0x04) {
            if (rx_iir == 0xff)
                rx_iir = iir & 0x0f;
            while (inb(COM1 + 5) & 1)
                rxbuf[rx_head++ & 255] = (char)inb(COM1);
        } else {
            (void)inb(COM1 + 5);       /* line status */
            (void)inb(COM1 + 6);       /* modem status */
        }
    }
    pic_eoi(4);
}

static void report(const char *how, const char *line, uint32_t n)
{
    uint32_t sum = 0, crc = 0xffffffffu;
    printf("%s line (%u chars): '", how, n);
    for (uint32_t i = 0; i < n; i++) {
        char c = line[i];
        sum += (uint8_t)c;
        crc ^= (uint8_t)c;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
        putc(c >= 'a' && c <= 'z' ? (char)(c - 32) : c);
    }
    printf("' sum=%u crc32=%08x\n", sum, ~crc);
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    outb(COM1 + 7, 0xa5);
    printf("uart: scratch register %02x\n", inb(COM1 + 7));

    /* polled */
    char line[128];
    uint32_t n = 0;
    for (;;) {
        while (!(inb(COM1 + 5) & 1))
            ;
        char c = (char)inb(COM1);
        if (c == '\n')
            break;
        if (n < sizeof(line))
            line[n++] = c;
    }
    report("polled", line, n);

    /* interrupt-driven */
    pic_remap(0x20, 0x28);
    idt_set(0x24, on_irq4, 0, 0);
    pic_mask(4, 0);
    outb(COM1 + 4, 0x0b);              /* DTR, RTS, OUT2 (IRQ enable) */
    outb(COM1 + 1, 0x02);              /* THR-empty interrupt first */
    while (!thre_seen)                 /* IF=0 here; STI's shadow covers HLT */
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    printf("THR-empty interrupt: iir=%02x\n", thre_iir);
    outb(COM1 + 1, 0x01);              /* receive-data interrupt */
    n = 0;
    for (;;) {
        cli();
        while (rx_tail != rx_head) {
            char c = rxbuf[rx_tail++ & 255];
            if (c == '\n')
                goto done;
            if (n < sizeof(line))
                line[n++] = c;
        }
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
done:
    outb(COM1 + 1, 0x00);
    printf("receive interrupt: iir=%02x, irqs %s\n", rx_iir, irqs >= 2 ? "ok" : "too few");
    report("interrupt", line, n);
    printf("uart done\n");
    return 0;
}
