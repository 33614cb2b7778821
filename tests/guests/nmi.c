/* nmi.c - test guest: NMI blocking (SDM Vol. 3, "Handling Multiple
 * NMIs"): from the delivery of an NMI until the next IRET a second NMI
 * is held pending, then delivered at once after that IRET.
 *   1. a self-NMI (local APIC ICR, physical destination = own APIC ID)
 *      sent inside the NMI handler is not taken inside it, but right
 *      after the handler's IRET, at the EIP that IRET returned to;
 *   2. an IRET inside the handler (to the next instruction of the
 *      handler) already ends the blocking: the pending NMI is taken
 *      right after it (kvm-unit-tests eventinj's second NMI test);
 *   3. HLT inside the handler, with a self-NMI pending and a fixed
 *      self-IPI: the fixed interrupt wakes the CPU (the NMI cannot), its
 *      handler's IRET ends the blocking, the NMI follows at once;
 *   4. with 2 or more CPUs: CPU 1 sends an NMI to CPU 0, halted with
 *      IF=0; inside that handler CPU 1 sends a second NMI and then a
 *      fixed IPI as a marker; once the marker is pending in CPU 0's IRR
 *      (so the NMI sent before it has arrived), the second NMI must still
 *      wait for the IRET.
 * Run as nmi.1 and nmi.2 (1 and 2 CPUs; QEMU -smp N / N vsmp ranks). */
#include "lib/smp.h"

#define NMI_VEC   2
#define VEC_WAKE  0x40          /* fixed self-IPI of test 3 */
#define VEC_MARK  0x41          /* fixed IPI of test 4, sent after the NMI */
#define GUARD     50000000u

static volatile int phase;
static volatile uint32_t nmi_count, nmi_eip[4];
static volatile uint32_t count_before_iret, count_after_iret;
static volatile uint32_t wake_eip, order[8], norder;
static volatile uint32_t x_ready, x_got, x_in_handler, x_mark_seen;

void iret_here(void);           /* IRET to its own next instruction */
void halt_in_handler(void);     /* sti; hlt; cli */
void halt_until_nmi(void);      /* cli; hlt until x_got (test 4) */
__asm__(
    ".text\n"
    ".globl iret_here\n"
    "iret_here:\n"
    "  pushf\n  push %cs\n  push $iret_here_ret\n"
    "  iret\n"
    ".globl iret_here_ret\n"
    "iret_here_ret:\n"
    "  ret\n"
    ".globl halt_in_handler\n"
    "halt_in_handler:\n"
    "  sti\n  hlt\n"
    ".globl halt_in_handler_ret\n"
    "halt_in_handler_ret:\n"
    "  cli\n  ret\n"
    ".globl halt_until_nmi\n"
    "halt_until_nmi:\n"
    "  cli\n  movl $1, x_ready\n"
    "1:cmpl $0, x_got\n  jne 2f\n"
    ".globl halt_until_nmi_hlt\n"
    "halt_until_nmi_hlt:\n"
    "  hlt\n  jmp 1b\n"
    "2:ret\n");
extern char iret_here_ret[], halt_in_handler_ret[], halt_until_nmi_hlt[];

static void self_nmi(void)
{
    if (lapic_ipi((uint8_t)lapic_id(), ICR_NMI | ICR_ASSERT))
        fail(2, "self-NMI: ICR stayed busy");
}

static void self_ipi(uint8_t vec)
{
    if (lapic_ipi((uint8_t)lapic_id(), ICR_FIXED | ICR_ASSERT | vec))
        fail(2, "self-IPI: ICR stayed busy");
}

static void spin(uint32_t n)
{
    for (volatile uint32_t i = 0; i < n; i++)
        ;
}

static int irr_bit(int vec)
{
    return (int)(lapic_read(LAPIC_IRR + (uint32_t)(vec >> 5) * 0x10) >> (vec & 31) & 1);
}

static void on_nmi(struct frame *f)
{
    uint32_t n = ++nmi_count;
    if (n <= 4)
        nmi_eip[n - 1] = f->eip;
    if (norder < 8)
        order[norder++] = 'N';
    if (n != 1)
        return;
    switch (phase) {
    case 1:
        self_nmi();
        spin(200000);           /* many blocks: the NMI has every chance */
        count_before_iret = nmi_count;
        break;
    case 2:
        self_nmi();
        spin(200000);
        count_before_iret = nmi_count;
        iret_here();
        count_after_iret = nmi_count;
        break;
    case 3:
        self_nmi();
        self_ipi(VEC_WAKE);
        spin(200000);
        count_before_iret = nmi_count;
        halt_in_handler();
        count_after_iret = nmi_count;
        break;
    case 4:
        /* taken while halted, or just before the HLT: go on after it */
        if (f->eip == (uint32_t)halt_until_nmi_hlt)
            f->eip++;
        nmi_eip[0] = f->eip;
        x_in_handler = 1;
        for (uint32_t g = 0; !irr_bit(VEC_MARK); g++)
            if (g > GUARD)
                fail(3, "marker IPI from cpu 1 not pending");
        x_mark_seen = 1;
        spin(200000);
        count_before_iret = nmi_count;
        x_got = 1;
        break;
    }
}

static void on_wake(struct frame *f)
{
    wake_eip = f->eip;
    if (norder < 8)
        order[norder++] = 'I';
    lapic_eoi();
}

static void on_mark(struct frame *f)
{
    (void)f;
    lapic_eoi();
}

static void start(int p)
{
    phase = p;
    nmi_count = 0;
    norder = 0;
    count_before_iret = count_after_iret = 0;
    for (int i = 0; i < 4; i++)
        nmi_eip[i] = 0;
}

static void wait_nmis(uint32_t n, const char *what)
{
    for (uint32_t g = 0; nmi_count < n; g++)
        if (g > GUARD)
            fail(4, "%s: %u of %u NMIs", what, nmi_count, n);
    spin(200000);               /* and no more than n */
}

static const char *yn(int c) { return c ? "yes" : "no"; }

static void print_order(void)
{
    printf("  order:");
    for (uint32_t i = 0; i < norder; i++)
        printf(" %c", (char)order[i]);
    printf("\n");
}

/* test 4, on every CPU */
static void cross(int cpu)
{
    if (cpu == 0) {
        halt_until_nmi();
        return;
    }
    if (cpu != 1)
        return;
    while (!x_ready)
        if (smp_stop(cpu))
            return;
    spin(100000);               /* most likely halted by now */
    if (lapic_ipi(smp.apic_id[0], ICR_NMI | ICR_ASSERT))
        smp_failed = 1;
    while (!x_in_handler)
        if (smp_stop(cpu))
            return;
    if (lapic_ipi(smp.apic_id[0], ICR_NMI | ICR_ASSERT) ||
        lapic_ipi(smp.apic_id[0], ICR_FIXED | ICR_ASSERT | VEC_MARK))
        smp_failed = 1;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    pic_remap(0x20, 0x28);      /* and mask every 8259 input */
    smp_init(mbi);
    idt_set(NMI_VEC, on_nmi, 0, 0);
    idt_set(VEC_WAKE, on_wake, 0, 0);
    idt_set(VEC_MARK, on_mark, 0, 0);
    cli();

    start(1);
    self_nmi();
    wait_nmis(2, "test 1");
    printf("self-NMI inside the NMI handler:\n");
    printf("  taken inside the handler: %s\n", yn(count_before_iret != 1));
    printf("  taken right after its IRET, at the EIP it returned to: %s\n",
           yn(nmi_count == 2 && nmi_eip[1] == nmi_eip[0]));

    start(2);
    self_nmi();
    wait_nmis(2, "test 2");
    printf("IRET inside the NMI handler:\n");
    printf("  NMI taken before that IRET: %s\n", yn(count_before_iret != 1));
    printf("  taken right after that IRET: %s\n",
           yn(count_after_iret == 2 && nmi_eip[1] == (uint32_t)iret_here_ret));

    start(3);
    self_nmi();
    wait_nmis(2, "test 3");
    printf("HLT inside the NMI handler, an NMI and a fixed IPI pending:\n");
    printf("  NMI taken before the HLT: %s\n", yn(count_before_iret != 1));
    printf("  the fixed IPI woke the HLT: %s\n", yn(wake_eip == (uint32_t)halt_in_handler_ret));
    printf("  NMI taken right after that handler's IRET: %s\n",
           yn(count_after_iret == 2 && nmi_eip[1] == wake_eip));
    print_order();

    if (smp.ncpus >= 2) {
        start(4);
        if (smp_run_all(cross, TB_MS(10000)) || smp_failed)
            fail(5, "test 4: cpu 1 did not finish");
        wait_nmis(2, "test 4");
        printf("NMI from cpu 1 to cpu 0 (halted, IF=0), a second one inside the handler:\n");
        printf("  first taken: %s, marker pending: %s\n", yn(nmi_count >= 1), yn(x_mark_seen));
        printf("  second taken inside the handler: %s\n", yn(count_before_iret != 1));
        printf("  second taken right after the IRET, at the EIP it returned to: %s\n",
               yn(nmi_count == 2 && nmi_eip[1] == nmi_eip[0]));
        __asm__ volatile("sti; nop; jmp 1f; 1: nop; cli" ::: "memory");  /* the marker */
    }
    printf("nmi done\n");
    guest_exit(0);
}
