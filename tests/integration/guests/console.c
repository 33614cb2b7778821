/* console.c - integration-test guest for the console (issue 15 item 2):
 * uses COM1 the way Linux does and reports every byte it receives.
 *
 * First the port is "closed" (MCR 0: no RTS) for about 300 ms while the
 * guest probes it as Linux's 8250 driver does (IER, loopback, FIFO type)
 * and then discards whatever the receiver holds (FIFO reset, RBR, LSR,
 * IIR, MSR reads) - input typed or piped before must survive this in
 * vsmp. Then it opens the port: 8N1, FIFO on with trigger 8, DTR|RTS|OUT2,
 * receive interrupts (IRQ4 through the 8259), and reads:
 *   - every line (up to '\n') of less than 32 bytes is printed as
 *     "rx: HEX HEX ..." (its bytes, the newline included);
 *   - the line "PAUSE" waits 1 s, prints "console: still running" and
 *     exits (status 1): the end of input did not end the run;
 *   - the line "END" prints "console: N bytes crc32 X" over every byte
 *     received (END\n included) and exits (status 1).
 * Bytes the receiver held before the guest dropped RTS (the library's
 * start-up raises it) were sent while it listened: they count as data. */
#include "lib/guest.h"

#define RX_RING 4096

static volatile uint32_t ticks;
static uint8_t ring[RX_RING];
static volatile uint32_t rx_head, rx_tail, overruns;

static void on_irq0(struct frame *f)
{
    (void)f;
    ticks++;
    pic_eoi(0);
}

static void rx_put(uint8_t b)
{
    if (rx_head - rx_tail >= RX_RING) {
        overruns++;
        return;
    }
    ring[rx_head++ % RX_RING] = b;
}

static void on_irq4(struct frame *f)
{
    (void)f;
    for (;;) {
        uint8_t iir = inb(COM1 + 2);
        if (iir & 1)
            break;
        uint8_t lsr = inb(COM1 + 5);
        if (lsr & 0x02)
            overruns++;
        while (lsr & 1) {
            rx_put(inb(COM1));
            lsr = inb(COM1 + 5);
        }
        (void)inb(COM1 + 6);
    }
    pic_eoi(4);
}

static void wait_ticks(uint32_t n)
{
    uint32_t end = ticks + n;
    while ((int32_t)(ticks - end) < 0)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* The driver's probe: IER read-back, loopback (RTS|OUT2 -> CTS|DCD),
 * IIR bits 7-6 with the FIFO on. */
static const char *probe(void)
{
    outb(COM1 + 1, 0);
    if (inb(COM1 + 1) & 0x0f)
        return "IER";
    outb(COM1 + 1, 0x0f);
    if ((inb(COM1 + 1) & 0x0f) != 0x0f)
        return "IER";
    outb(COM1 + 1, 0);
    outb(COM1 + 4, 0x1a);
    uint8_t msr = inb(COM1 + 6) & 0xf0;
    outb(COM1 + 4, 0);
    if (msr != 0x90)
        return "loopback";
    outb(COM1 + 2, 0x01);
    uint8_t iir = inb(COM1 + 2);
    outb(COM1 + 2, 0);
    return (iir >> 6) == 3 ? "16550A" : "no FIFO";
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    /* bytes already sent while the library's RTS was up are data */
    while (inb(COM1 + 5) & 1)
        rx_put(inb(COM1));
    outb(COM1 + 4, 0x00);                /* closed: RTS off */
    while (inb(COM1 + 5) & 1)
        rx_put(inb(COM1));
    printf("console: closed\n");

    pic_remap(0x20, 0x28);
    idt_set(0x20, on_irq0, 0, 0);
    idt_set(0x24, on_irq4, 0, 0);
    pit_set_periodic(11932);             /* 100 Hz */
    pic_mask(0, 0);
    printf("console: probe: %s\n", probe());
    wait_ticks(30);
    /* what Linux's start-up throws away */
    outb(COM1 + 2, 0x01);
    outb(COM1 + 2, 0x07);
    outb(COM1 + 2, 0x00);
    (void)inb(COM1 + 5);
    (void)inb(COM1);
    (void)inb(COM1 + 2);
    (void)inb(COM1 + 6);

    /* open */
    outb(COM1 + 3, 0x03);
    outb(COM1 + 2, 0x81);
    outb(COM1 + 4, 0x0b);
    outb(COM1 + 1, 0x05);
    pic_mask(4, 0);
    printf("console: open\n");

    uint8_t line[32];
    uint32_t len = 0, total = 0, crc = 0xffffffffu;
    for (;;) {
        cli();
        while (rx_tail == rx_head)
            __asm__ volatile("sti; hlt; cli" ::: "memory");
        uint8_t b = ring[rx_tail++ % RX_RING];
        sti();
        total++;
        crc ^= b;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
        if (len < sizeof line)
            line[len] = b;
        len++;
        if (b != '\n')
            continue;
        if (len == 6 && !memcmp(line, "PAUSE\n", 6)) {
            wait_ticks(100);
            printf("console: still running\n");
            guest_exit(0);
        }
        if (len == 4 && !memcmp(line, "END\n", 4)) {
            printf("console: %u bytes crc32 %08x%s\n", total, ~crc,
                   overruns ? " OVERRUN" : "");
            guest_exit(0);
        }
        if (len < sizeof line) {
            printf("rx:");
            for (uint32_t i = 0; i < len; i++)
                printf(" %02x", line[i]);
            printf("\n");
        }
        len = 0;
    }
}
