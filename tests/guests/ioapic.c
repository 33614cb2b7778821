/* ioapic.c - test guest for the I/O APIC at 0xFEC00000 on one CPU: the
 * 8259 is masked and the local APIC enabled; the version register, the
 * reset state of the redirection entries, the PIT's IRQ0 (IOAPIC pin 2)
 * routed edge-triggered to vector 0x40 on APIC 0 (counted, masked: no
 * more interrupts, unmasked: they resume), then as a logical
 * lowest-priority message, and the UART's IRQ4 (pin 4) from its
 * THR-empty interrupt, edge-triggered and then level-triggered (remote
 * IRR set until the EOI, a still-asserted line is sent again after the
 * EOI, a masked asserted line is sent when unmasked). Prints only
 * deterministic facts, so that the output is the same under vsmp and
 * QEMU. */
#include "lib/guest.h"

#define LAPIC  0xfee00000u
#define IOAPIC 0xfec00000u
#define RTE_LOGICAL    0x800u
#define RTE_REMOTE_IRR 0x4000u
#define RTE_LEVEL      0x8000u
#define RTE_MASKED     0x10000u
#define DM_LOWEST      0x100u

static void lapic_w(uint32_t off, uint32_t v) { *(volatile uint32_t *)(LAPIC + off) = v; }
static void lapic_eoi(void) { lapic_w(0xb0, 0); }

static uint32_t io_r(uint8_t reg)
{
    *(volatile uint32_t *)IOAPIC = reg;
    return *(volatile uint32_t *)(IOAPIC + 0x10);
}

static void io_w(uint8_t reg, uint32_t v)
{
    *(volatile uint32_t *)IOAPIC = reg;
    *(volatile uint32_t *)(IOAPIC + 0x10) = v;
}

static void rte_set(int pin, uint32_t lo, uint8_t dest)
{
    io_w((uint8_t)(0x10 + 2 * pin), lo | RTE_MASKED);   /* masked while changing */
    io_w((uint8_t)(0x11 + 2 * pin), (uint32_t)dest << 24);
    io_w((uint8_t)(0x10 + 2 * pin), lo);
}

static uint32_t rte_lo(int pin)
{
    return io_r((uint8_t)(0x10 + 2 * pin)) & ~0x1000u;  /* delivery status: transient */
}

static void rte_mask(int pin, int masked)
{
    uint32_t lo = rte_lo(pin);
    io_w((uint8_t)(0x10 + 2 * pin), masked ? lo | RTE_MASKED : lo & ~RTE_MASKED);
}

/* Let pending interrupts in (the jump: see apic.c). */
static void irq_window(void)
{
    __asm__ volatile("sti; nop; jmp 1f; 1: nop; cli" ::: "memory");
}

static void wait_for(volatile uint32_t *count, uint32_t n, const char *what)
{
    for (uint32_t guard = 0; *count < n; guard++) {
        irq_window();
        if (guard > 50000000u)
            fail(3, "%s: %u of %u interrupts", what, *count, n);
    }
}

static uint16_t pit_latch(void)
{
    outb(0x43, 0x00);
    uint8_t lo = inb(0x40);
    uint8_t hi = inb(0x40);
    return (uint16_t)(lo | hi << 8);
}

/* Let the PIT wrap `wraps` times with interrupts enabled. */
static void pit_wait(int wraps)
{
    uint16_t prev = pit_latch();
    int w = 0;
    for (uint32_t guard = 0; w < wraps; guard++) {
        irq_window();
        uint16_t c = pit_latch();
        if (c > prev)
            w++;
        prev = c;
        if (guard > 50000000u)
            fail(4, "PIT counter 0 does not count");
    }
}

/* ---- PIT: masked at the IOAPIC by the handler after `timer_limit` ---- */
static volatile uint32_t timer_irqs, timer_limit;

static void on_timer(struct frame *f)
{
    (void)f;
    if (++timer_irqs >= timer_limit)
        rte_mask(2, 1);
    lapic_eoi();
}

/* The handler masks the entry at its `n`th interrupt, but an edge that
 * reached the APIC between that interrupt's delivery and the mask (a slow
 * handler: a loaded host under vsmp, or real hardware) is delivered once
 * more after the EOI. So n + 1 counts as n (printed as n); any other
 * number is printed as it is. */
static uint32_t late_ok(uint32_t got, uint32_t n)
{
    return got == n + 1 ? n : got;
}

/* ---- UART THR-empty ---- */
static volatile uint32_t uart_irqs, uart_iir, level_irr[4], level_keep;

static void on_uart_edge(struct frame *f)
{
    (void)f;
    uart_iir = inb(COM1 + 2) & 0x0f;    /* reading IIR clears THR-empty */
    outb(COM1 + 1, 0x00);
    uart_irqs++;
    lapic_eoi();
}

/* Level: the first `level_keep` interrupts leave the line asserted. */
static void on_uart_level(struct frame *f)
{
    (void)f;
    if (uart_irqs < 4)
        level_irr[uart_irqs] = (rte_lo(4) & RTE_REMOTE_IRR) != 0;
    if (uart_irqs >= level_keep) {
        uart_iir = inb(COM1 + 2) & 0x0f;
        outb(COM1 + 1, 0x00);
    }
    uart_irqs++;
    lapic_eoi();
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    pic_remap(0x20, 0x28);              /* every 8259 input masked */
    lapic_w(0xf0, 0x1ff);               /* SVR: enabled, spurious vector 0xff */
    lapic_w(0x80, 0);                   /* TPR */
    idt_set(0x40, on_timer, 0, 0);
    idt_set(0x41, on_uart_edge, 0, 0);
    idt_set(0x42, on_uart_level, 0, 0);

    uint32_t ver = io_r(1);
    printf("ioapic: %u redirection entries\n", (ver >> 16 & 0xff) + 1);
    int masked = 0;
    for (int pin = 0; pin < 24; pin++)
        masked += (io_r((uint8_t)(0x10 + 2 * pin)) & RTE_MASKED) != 0;
    printf("ioapic: %d of 24 entries masked at start\n", masked);
    io_w(0x10 + 2 * 23, 0x000080ab);    /* writable bits read back */
    io_w(0x11 + 2 * 23, 0x5a000000);
    printf("pin 23 entry: %08x %08x\n", io_r(0x11 + 2 * 23), rte_lo(23));
    io_w(0x10 + 2 * 23, RTE_MASKED);

    /* PIT IRQ0 -> pin 2 -> vector 0x40, fixed, physical APIC 0, edge */
    timer_limit = 20;
    rte_set(2, 0x40, 0);
    pit_set_periodic(1193);             /* ~1 kHz */
    wait_for(&timer_irqs, 20, "PIT via IOAPIC");
    irq_window();                       /* an edge that came before the mask */
    printf("pin 2 (PIT): %u interrupts, then masked: entry %08x\n",
           late_ok(timer_irqs, 20), rte_lo(2));
    uint32_t before = timer_irqs;
    pit_wait(10);
    printf("masked: %s\n", timer_irqs == before ? "no interrupt" : "interrupts came");
    timer_limit = before + 5;
    rte_mask(2, 0);
    wait_for(&timer_irqs, before + 5, "PIT unmasked");
    irq_window();
    printf("unmasked: %u more interrupts\n", late_ok(timer_irqs - before, 5));

    /* the same as a logical (flat, LDR bit 0) lowest-priority message */
    lapic_w(0xe0, 0xffffffffu);
    lapic_w(0xd0, 0x01000000u);
    timer_irqs = 0;
    timer_limit = 5;
    rte_set(2, RTE_LOGICAL | DM_LOWEST | 0x40, 0x01);
    wait_for(&timer_irqs, 5, "PIT logical lowest priority");
    irq_window();
    printf("pin 2 logical lowest-priority: %u interrupts\n", late_ok(timer_irqs, 5));
    outb(0x43, 0x30);                   /* PIT counter 0: mode 0, stop reloading */
    outb(0x40, 0);
    outb(0x40, 0);

    /* UART IRQ4 -> pin 4 -> vector 0x41, edge: THR-empty, twice */
    outb(COM1 + 4, 0x0b);               /* DTR, RTS, OUT2 */
    rte_set(4, 0x41, 0);
    for (int i = 1; i <= 2; i++) {
        outb(COM1 + 1, 0x02);           /* THR-empty interrupt on */
        wait_for(&uart_irqs, (uint32_t)i, "UART edge");
    }
    printf("pin 4 (UART) edge: %u interrupts, IIR %02x\n", uart_irqs, uart_iir);

    /* level-triggered: remote IRR until EOI; the line stays asserted
     * through the first interrupt, so it comes again after the EOI */
    uart_irqs = 0;
    level_keep = 1;
    rte_set(4, RTE_LEVEL | 0x42, 0);
    outb(COM1 + 1, 0x02);
    wait_for(&uart_irqs, 2, "UART level");
    irq_window();
    printf("pin 4 level: %u interrupts, remote IRR in handler %u %u, after %u\n", uart_irqs,
           level_irr[0], level_irr[1], (rte_lo(4) & RTE_REMOTE_IRR) != 0);

    /* a masked level entry with its line asserted is sent when unmasked */
    uart_irqs = 0;
    level_keep = 0;
    rte_mask(4, 1);
    outb(COM1 + 1, 0x02);
    for (int i = 0; i < 1000; i++)
        irq_window();
    printf("pin 4 masked, line asserted: %u interrupts\n", uart_irqs);
    rte_mask(4, 0);
    wait_for(&uart_irqs, 1, "UART level unmasked");
    irq_window();
    printf("unmasked: %u interrupt, IIR %02x, remote IRR %u\n", uart_irqs, uart_iir,
           (rte_lo(4) & RTE_REMOTE_IRR) != 0);
    rte_mask(4, 1);
    printf("ioapic done\n");
    return 0;
}
