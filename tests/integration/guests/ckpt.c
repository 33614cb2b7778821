/* ckpt.c - integration-test guest for memory images (issue 17,
 * tests/integration/ckpt.sh): every CPU counts in memory until the run
 * is told to end, and checks as it goes what a checkpoint and a restore
 * must keep:
 *   - its counter, on a page of its own, always holds the value the CPU
 *     keeps in a register (RAM and CPU state saved at the same point);
 *   - every 1024 counts it adds one to a shared total with LOCK XADD
 *     (pages moving between CPUs while the checkpoint stops them); at
 *     the end the total must be the sum of the CPUs' shares;
 *   - its TSC never goes back and never jumps more than MAX_GAP_MS ahead
 *     between two counts (the clock continues from the saved value).
 * The run ends half a second after the BSP receives a byte on COM1 (so
 * console input must work after a restore), or after the port request
 * below; a run that gets neither fails after LIMIT_MS. The BSP prints
 * "ckpt: counting on N CPUs" when the counting starts (the test sends its
 * signals after that line) and "ckpt: ok on N CPUs" at the end (exit
 * status 1), or FAIL with what went wrong.
 * Command line: port=1 or port=2 makes the last CPU write that value to
 * the vsmp control port 0xF5 after 2^16 counts (forwarded to rank 0 from
 * another rank) and then end the run: 1 asks for a checkpoint and goes on
 * (the port must then read 1: written), 2 asks for a checkpoint and the
 * end of the job (a restore goes on after the OUT). ipi=1: every CPU also
 * sends a fixed IPI to the next one (CPU i -> i + 1 mod N) every 256
 * counts once the next one has counted the previous (one in flight at a
 * time: two of the same vector pending would be one, as on hardware),
 * with interrupts enabled; the handler counts it. After the
 * count each CPU waits (interrupts on, bounded) until it received as
 * many as its predecessor sent: interrupts pending or in flight at a
 * checkpoint must be neither lost nor doubled. halt=1: the last CPU
 * does not count but halts (STI; HLT) until the end, woken by an IPI
 * from the BSP then (a checkpoint of a halted CPU). solo=1: the APs are
 * never started (they wait for STARTUP through the checkpoint); the BSP
 * counts alone. fill=M: before counting the BSP writes M MiB of RAM from
 * 16 MiB up (every word: its address, mixed), and checks every word at
 * the end (bulk RAM across an image; and an image large enough to time). */
#include "lib/smp.h"

#define PAGE __attribute__((aligned(4096)))
#define MAX_GAP_MS 5000u
#define LIMIT_MS 300000u
#define END_AFTER_MS 500u
#define PORT_AFTER (1u << 16)
#define CKPT_PORT 0xf5
#define COM1_LSR 0x3fd

struct slot {
    volatile uint32_t count;         /* the counter in memory */
    volatile uint32_t final;         /* its last value */
    volatile uint32_t back;          /* the TSC went back */
    volatile uint32_t gap_ms;        /* the largest step of the TSC, ms */
    volatile uint32_t sent, recv;    /* ipi=1: IPIs sent to the next CPU, received */
    uint8_t pad[4096 - 24];
};
static struct slot slot[SMP_MAX_CPUS] PAGE;
static struct {
    volatile uint32_t total;
} shared PAGE;
static struct {
    volatile uint64_t end;           /* TSC at which every CPU stops; 0: not yet */
} stop PAGE;
static volatile uint64_t t_limit, tsc_ms;
static uint32_t port_mode, ipi_mode, halt_mode, fill_mib;
#define FILL_BASE (16u << 20)

static uint32_t fill_word(uint32_t addr)
{
    return addr * 2654435761u ^ 0x5a5a5a5au;
}
static int N;

#define IPI_VECTOR 0x40
#define IPI_EVERY 255u               /* mask: every 256 counts */
#define IPI_WAIT_MS 5000u

static void on_ipi(struct frame *f)
{
    (void)f;
    slot[smp_cpu()].recv++;
    lapic_eoi();
}

static void end_soon(void)
{
    if (!stop.end) {
        stop.end = rdtsc() + END_AFTER_MS * tsc_ms;
        if (halt_mode && N > 1)      /* wake the halted CPU */
            lapic_ipi(smp.apic_id[N - 1], ICR_FIXED | IPI_VECTOR);
    }
}

/* halt=1, the last CPU: halted until the end (it counts its wake-ups) */
static void halt_until_end(int cpu)
{
    struct slot *s = &slot[cpu];
    while (!stop.end) {
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        s->count++;
    }
    s->final = s->count;
}

static void count(int cpu)
{
    struct slot *s = &slot[cpu];
    if (halt_mode && cpu == N - 1 && N > 1) {
        halt_until_end(cpu);
        return;
    }
    uint32_t local = 0, wrote = port_mode == 0 || cpu != N - 1;
    uint64_t last = rdtsc(), gap = 0;
    int next = (cpu + 1) % N;
    if (ipi_mode)
        sti();
    for (;;) {
        if (s->count != local)
            fail(0x31, "ckpt: cpu %d: the counter reads %u, the CPU counted %u", cpu, s->count,
                 local);
        local++;
        s->count = local;
        if ((local & 1023) == 0)
            __atomic_fetch_add(&shared.total, 1, __ATOMIC_SEQ_CST);
        if (ipi_mode && (local & IPI_EVERY) == 0 && slot[next].recv == s->sent) {
            s->sent++;
            if (lapic_ipi(smp.apic_id[next], ICR_FIXED | IPI_VECTOR))
                fail(0x39, "ckpt: cpu %d: the IPI to cpu %d stayed busy", cpu, next);
        }
        uint64_t t = rdtsc();
        if (t < last)
            s->back = 1;
        else if (t - last > gap)
            gap = t - last;
        last = t;
        if (cpu == 0 && (local & 255) == 0 && (inb(COM1_LSR) & 1))
            end_soon();
        if (!wrote && local >= PORT_AFTER) {
            wrote = 1;
            outb(CKPT_PORT, (uint8_t)port_mode);
            if (port_mode == 1 && inb(CKPT_PORT) != 1)
                fail(0x32, "ckpt: cpu %d: port 0x%x reads %u after the checkpoint", cpu,
                     CKPT_PORT, inb(CKPT_PORT));
            end_soon();
        }
        uint64_t e = stop.end;
        if ((e && t >= e) || t >= t_limit)
            break;
    }
    s->gap_ms = (uint32_t)(gap / tsc_ms);
    s->final = local;
    if (ipi_mode) {
        int prev = (cpu + N - 1) % N;
        if (smp_barrier(cpu))
            fail(0x3a, "ckpt: cpu %d: the barrier after the count failed", cpu);
        uint64_t until = rdtsc() + (uint64_t)IPI_WAIT_MS * tsc_ms;
        while (s->recv != slot[prev].sent && rdtsc() < until)
            cpu_relax();
        cli();
        if (s->recv != slot[prev].sent)
            fail(0x3b, "ckpt: cpu %d: received %u IPIs, cpu %d sent %u", cpu, s->recv, prev,
                 slot[prev].sent);
    }
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    port_mode = mb_cmdline_uint(mbi, "port=", 0);
    ipi_mode = mb_cmdline_uint(mbi, "ipi=", 0);
    halt_mode = mb_cmdline_uint(mbi, "halt=", 0);
    int solo = (int)mb_cmdline_uint(mbi, "solo=", 0);
    fill_mib = mb_cmdline_uint(mbi, "fill=", 0);
    for (uint32_t a = FILL_BASE; a < FILL_BASE + (fill_mib << 20); a += 4)
        *(volatile uint32_t *)a = fill_word(a);
    idt_set(IPI_VECTOR, on_ipi, 0, 0);
    pic_remap(0x20, 0x28);
    if (solo) {
        smp.ncpus = 1;
        smp.apic_id[0] = (uint8_t)lapic_id();
        tb_init();
        lapic_enable();
    } else {
        smp_init(mbi);
    }
    N = smp.ncpus;
    uint64_t c0 = rdtsc();
    tb_delay(TB_MS(20));
    tsc_ms = (rdtsc() - c0) / 20;
    if (!tsc_ms)
        tsc_ms = 1;
    while (inb(COM1_LSR) & 1)        /* nothing typed before counts */
        (void)inb(0x3f8);
    t_limit = rdtsc() + (uint64_t)LIMIT_MS * tsc_ms;
    printf("ckpt: counting on %d CPUs\n", N);
    if (solo)
        count(0);
    else if (smp_run_all(count, 0x7fffffffu))
        fail(0x33, "ckpt: the CPUs did not all finish");
    uint32_t want = 0;
    for (int i = 0; i < N; i++) {
        if (slot[i].back)
            fail(0x34, "ckpt: cpu %d: the TSC went back", i);
        if (slot[i].gap_ms > MAX_GAP_MS)
            fail(0x35, "ckpt: cpu %d: the TSC jumped %u ms ahead", i, slot[i].gap_ms);
        int halted = halt_mode && i == N - 1 && N > 1;
        if ((slot[i].final == 0 && !halted) || slot[i].count != slot[i].final)
            fail(0x36, "ckpt: cpu %d: counted %u, memory says %u", i, slot[i].final,
                 slot[i].count);
        want += slot[i].final / 1024;
    }
    if (!stop.end)
        fail(0x38, "ckpt: no input and no port request within %u ms", LIMIT_MS);
    for (uint32_t a = FILL_BASE; a < FILL_BASE + (fill_mib << 20); a += 4)
        if (*(volatile uint32_t *)a != fill_word(a))
            fail(0x3d, "ckpt: RAM at 0x%08x reads %08x, not %08x", a, *(volatile uint32_t *)a,
                 fill_word(a));
    if (shared.total != want)
        fail(0x37, "ckpt: the shared total is %u, the CPUs added %u", shared.total, want);
    if (ipi_mode)
        for (int i = 0; i < N; i++)
            if (slot[i].sent == 0)
                fail(0x3c, "ckpt: cpu %d sent no IPI", i);
    printf("ckpt: ok on %d CPUs\n", N);
    return 0;
}
