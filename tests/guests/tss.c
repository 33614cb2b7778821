/* tss.c - test guest: hardware task switching (SDM Vol. 3 ch. 7). CALL
 * and JMP to a 32-bit TSS and through a task gate in the GDT, IRET with
 * NT=1 back through the previous-task link, INT n and exceptions through
 * task gates in the IDT (the error code on the new task's stack, #DF with
 * its error code 0), a 16-bit TSS, the new task's LDT and CR3, the busy
 * bits, link fields, NT and CR0.TS as memory and registers show them,
 * and the faults: #TS for a too small TSS limit (in the old task), #TS
 * and #NP for a bad segment in the new TSS (in the new task, with EXT set
 * for an event), #GP(0) for an EIP beyond the new CS limit, #GP for JMP
 * or CALL to a busy TSS, #NP for a TSS not present, #TS for IRET through
 * a link to a TSS that is not busy.
 *
 * Every line is compared with QEMU's output as well, except lines that
 * start with "sdm: ": there QEMU 7.2 is wrong and the reference is the
 * SDM (run-guest.sh leaves those lines out of QEMU's comparison):
 *  - a fault after the commit point of a switch is taken in the context
 *    of the new task, with its CS:EIP in the frame (7.3 step 13); QEMU
 *    7.2 pushes the EIP of the JMP that started the switch;
 *  - such a fault in a switch that an event started has EXT set in its
 *    error code (6.13); QEMU 7.2 leaves it clear;
 *  - a 16-bit TSS loads the upper halves of the general registers too
 *    (7.6: "modified and not maintained"; 0xffff as on 386/486 hardware,
 *    which test386.asm checks); QEMU 7.2 keeps the old upper halves;
 *  - a task whose CS is conforming with DPL < RPL is entered at CPL = RPL
 *    (table 7-1 and the CALL page only forbid DPL > RPL for conforming
 *    code; QEMU 7.2 demands DPL = RPL and raises #TS - the same bug makes
 *    it fail kvm-unit-tests' taskswitch2);
 *  - the T bit of a 32-bit TSS raises #DB (DR6.BT) before the new task's
 *    first instruction (7.2.1, 17.3.1.5); QEMU 7.2 ignores the bit. */
#include "lib/guest.h"

/* ---- descriptor tables ---- */
#define NGDT 32
#define SEL_MAIN    SEL_TSS       /* 0x28: the lib's TSS, the main task */
#define SEL_A       0x30          /* 32-bit TSS A */
#define SEL_B       0x38          /* 32-bit TSS B */
#define SEL_GATE_A  0x40          /* task gate -> A, DPL 0 */
#define SEL_T16     0x48          /* 16-bit TSS */
#define SEL_SHORT   0x50          /* 32-bit TSS, limit 0x66 */
#define SEL_NP      0x58          /* 32-bit TSS, not present */
#define SEL_LDT     0x60          /* an LDT for task B */
#define SEL_CONF    0x68          /* conforming code, DPL 0 */
#define SEL_XCODE   0x70          /* execute-only code */
#define SEL_CODE16  0x78          /* code based where the 16-bit task runs */
#define SEL_SMALL   0x80          /* code, limit 0xfff */
#define SEL_DATANP  0x88          /* data, not present */
#define SEL_C       0x90          /* 32-bit TSS C */
#define SEL_S16     0x98          /* 16-bit TSS, limit 0x2a */
#define SEL_GATE_NP 0xa0          /* task gate -> TSS not present */
#define LDT_DATA    0x0c          /* LDT entry 1, TI=1, RPL 0 */

uint64_t tgdt[NGDT] __attribute__((aligned(8)));
static uint64_t ldt[2] __attribute__((aligned(8)));
static uint64_t *idt;

static uint64_t desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    return (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)access << 40 |
           (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)(flags & 0xf) << 52 |
           (uint64_t)(base >> 24) << 56;
}

static uint64_t task_gate(uint16_t tss, int dpl)
{
    return (uint64_t)tss << 16 | (uint64_t)(0x85 | dpl << 5) << 40;
}

static void set_gdt(uint16_t sel, uint64_t d) { tgdt[sel >> 3] = d; }
static unsigned type_of(uint16_t sel) { return (unsigned)(tgdt[sel >> 3] >> 40) & 0xf; }
static void clear_busy(uint16_t sel) { tgdt[sel >> 3] &= ~((uint64_t)2 << 40); }
static unsigned busy(uint16_t sel) { return (type_of(sel) >> 1) & 1; }

/* ---- tasks ---- */
static struct tss ta, tb, tc;
static uint16_t t16[22] __attribute__((aligned(4)));   /* 16-bit TSS, 0x2c bytes */
static uint8_t stk_a[4096], stk_b[4096], stk_c[4096];
uint8_t stk_16[256];
static uint8_t pdir1[4096] __attribute__((aligned(4096)));
static uint8_t pdir2[4096] __attribute__((aligned(4096)));

/* What the task entry code saw (written with SS overrides: SS is flat in
 * every task, DS is not). */
struct seen {
    uint32_t r[8];             /* +0 */
    uint32_t eflags;           /* +32 */
    uint16_t tr, ldtr;         /* +36 */
    uint16_t sreg[6];          /* +40: ES CS SS DS FS GS */
    uint32_t top;              /* +52: the dword at ESP (an error code) */
    uint32_t dsval;            /* +56: the dword at DS:0 */
    uint32_t count;            /* +60 */
    uint8_t type[4];           /* +64: GDT type bytes of main, A, B, C */
    uint32_t main_eip;         /* +68: EIP saved in the main task's TSS */
};
volatile struct seen seen;
/* How the entry code leaves: 0 IRET, 1 JMP to the main task, 2 pop the
 * error code, then IRET, 3 mark the main task not busy, then JMP to it
 * (to leave a task entered by a fault of a task that cannot go on). */
volatile uint32_t exit_kind;
volatile uint32_t exit_kind_b;         /* task B's, when not -1 */
/* Not 0: the entry code stores it into the main task's saved EIP first. */
volatile uint32_t resume_eip;

void task_entry(void);
void task16_entry(void);
__asm__(
    ".text\n"
    ".globl task_entry\n"
    "task_entry:\n"
    "  movl %eax, %ss:seen+0\n  movl %ecx, %ss:seen+4\n  movl %edx, %ss:seen+8\n"
    "  movl %ebx, %ss:seen+12\n  movl %esp, %ss:seen+16\n  movl %ebp, %ss:seen+20\n"
    "  movl %esi, %ss:seen+24\n  movl %edi, %ss:seen+28\n"
    "  pushfl\n  popl %ss:seen+32\n"
    "  str %ss:seen+36\n  sldt %ss:seen+38\n"
    "  movw %es, %ss:seen+40\n  movw %cs, %ss:seen+42\n  movw %ss, %ss:seen+44\n"
    "  movw %ds, %ss:seen+46\n  movw %fs, %ss:seen+48\n  movw %gs, %ss:seen+50\n"
    "  movl (%esp), %eax\n  movl %eax, %ss:seen+52\n"
    "  movl %ds:0, %eax\n  movl %eax, %ss:seen+56\n"
    "  incl %ss:seen+60\n"
    "  movb %ss:tgdt+0x2d, %al\n  movb %al, %ss:seen+64\n"
    "  movb %ss:tgdt+0x35, %al\n  movb %al, %ss:seen+65\n"
    "  movb %ss:tgdt+0x3d, %al\n  movb %al, %ss:seen+66\n"
    "  movb %ss:tgdt+0x95, %al\n  movb %al, %ss:seen+67\n"
    "  movl %ss:guest_tss+0x20, %eax\n  movl %eax, %ss:seen+68\n"
    "  movl %ss:resume_eip, %eax\n  testl %eax, %eax\n  jz 1f\n"
    "  movl %eax, %ss:guest_tss+0x20\n"
    "1:movl %ss:exit_kind, %eax\n"
    "  str %cx\n  cmpw $0x38, %cx\n  jne 6f\n"
    "  cmpl $-1, %ss:exit_kind_b\n  je 6f\n"
    "  movl %ss:exit_kind_b, %eax\n"
    "6:"
    "  cmpl $1, %eax\n  je 4f\n"
    "  cmpl $3, %eax\n  je 5f\n"
    "  cmpl $2, %eax\n  jne 3f\n"
    "  addl $4, %esp\n"
    "3:iret\n  jmp task_entry\n"
    "4:ljmp $0x28, $0\n  jmp task_entry\n"
    "5:andb $0xfd, %ss:tgdt+0x2d\n  ljmp $0x28, $0\n  jmp task_entry\n"
    /* the 16-bit task: runs with CS based at this code's 64 KiB block and
     * SP in the low half of ESP (its upper half is not the caller's): no stack, no
     * DS:0 read (DS is flat here) */
    ".balign 16\n"
    ".globl task16_entry\n"
    "task16_entry:\n"
    "  movl %eax, %ss:seen+0\n  movl %ecx, %ss:seen+4\n  movl %edx, %ss:seen+8\n"
    "  movl %ebx, %ss:seen+12\n  movl %esp, %ss:seen+16\n  movl %ebp, %ss:seen+20\n"
    "  movl %esi, %ss:seen+24\n  movl %edi, %ss:seen+28\n"
    "  movl $stk_16+256, %esp\n"
    "  pushfl\n  popl %ss:seen+32\n"
    "  str %ss:seen+36\n  sldt %ss:seen+38\n"
    "  movw %es, %ss:seen+40\n  movw %cs, %ss:seen+42\n  movw %ss, %ss:seen+44\n"
    "  movw %ds, %ss:seen+46\n  movw %fs, %ss:seen+48\n  movw %gs, %ss:seen+50\n"
    "  incl %ss:seen+60\n"
    "  movw $0x5555, %ax\n"            /* saved into the 16-bit TSS by the IRET */
    "  iret\n"
    "  jmp task16_entry\n");

static void tss_init(struct tss *t, uint8_t *stack, uint32_t size)
{
    memset(t, 0, sizeof *t);
    t->cr3 = read_cr3();
    t->eip = (uint32_t)task_entry;
    t->eflags = 0x2;
    t->esp = (uint32_t)(stack + size);
    t->cs = SEL_KCODE;
    t->ss = t->ds = t->es = t->fs = t->gs = SEL_KDATA;
    t->iomap_base = sizeof *t;
    t->link = 0xdead;
    t->ss0 = SEL_KDATA;
    t->esp0 = (uint32_t)(stack + size);
}

static uint32_t eflags_nt(void) { return (read_eflags() >> 14) & 1; }
static void set_nt(int on)
{
    uint32_t f = read_eflags();
    f = on ? (f | 0x4000) : (f & ~0x4000u);
    __asm__ volatile("pushl %0; popfl" : : "r"(f) : "cc", "memory");
}
static void clts(void) { __asm__ volatile("clts" ::: "memory"); }
static unsigned ts_bit(void) { return (read_cr0() >> 3) & 1; }
static uint16_t str_(void) { uint16_t v; __asm__ volatile("str %0" : "=r"(v)); return v; }

static void reset_seen(void)
{
    memset((void *)&seen, 0, sizeof seen);
    exit_kind = 0;
    exit_kind_b = (uint32_t)-1;
    resume_eip = 0;
}

/* ---- faults taken in whichever task is current (interrupt gates) ---- */
static volatile struct {
    uint32_t vec, err, eip, cs, n;
    uint16_t tr;
    uint32_t dr6;
} fault;
static volatile uint32_t fault_skip;   /* bytes to step over on return */
static volatile int fault_fix_segs;    /* reload DS ES FS GS with kernel data */
static volatile int fault_to_main;     /* leave with a JMP to the main task */
static volatile int fault_clear_nt;    /* return with NT clear */
static volatile int fault_armed;       /* a fault is expected */
static volatile uint32_t fault_eip;    /* not 0: return there */

static void on_fault(struct frame *f)
{
    if (!fault_armed) {
        printf("unexpected fault %u err=%x at %x cs=%x tr=%x\n", f->vector, f->err, f->eip,
               f->cs, str_());
        guest_exit(0x7e);
    }
    fault_armed = 0;
    fault.vec = f->vector;
    fault.err = f->err;
    fault.eip = f->eip;
    fault.cs = f->cs;
    fault.tr = str_();
    fault.n++;
    if (f->vector == 1) {
        uint32_t v;
        __asm__ volatile("mov %%dr6, %0" : "=r"(v));
        fault.dr6 = v;
    }
    f->eip += fault_skip;
    if (fault_eip)
        f->eip = fault_eip;
    if (fault_clear_nt)
        f->eflags &= ~0x4000u;
    if (fault_fix_segs)
        f->ds = f->es = f->fs = f->gs = SEL_KDATA;
    if (fault_to_main)
        __asm__ volatile("ljmp $0x28, $0" ::: "memory");
}

static void reset_fault(uint32_t skip)
{
    memset((void *)&fault, 0, sizeof fault);
    fault_skip = skip;
    fault_fix_segs = 0;
    fault_to_main = 0;
    fault_clear_nt = 0;
    fault_eip = 0;
    fault_armed = 1;
}

static void print_fault(const char *what)
{
    printf("%s: %s err=%x", what,
           fault.vec == 10 ? "#TS" : fault.vec == 11 ? "#NP" : fault.vec == 13 ? "#GP" :
           fault.vec == 1 ? "#DB" : "?", fault.err);
}

/* ---- the tests ---- */

static void call_and_iret(void)
{
    tss_init(&ta, stk_a, sizeof stk_a);
    ta.eax = 0x11111111; ta.ecx = 0x22222222; ta.edx = 0x33333333; ta.ebx = 0x44444444;
    ta.ebp = 0x55555555; ta.esi = 0x66666666; ta.edi = 0x77777777;
    ta.eflags = 0x2 | 0x1 | 0x40 | 0x800;          /* CF ZF OF */
    reset_seen();
    clts();
    set_nt(0);
    __asm__ volatile("lcall $0x30, $0" ::: "memory");
    printf("call tss: regs %x %x %x %x %x %x %x esp ok %d flags %x tr=%x\n",
           seen.r[0], seen.r[1], seen.r[2], seen.r[3], seen.r[5], seen.r[6], seen.r[7],
           seen.r[4] == (uint32_t)(stk_a + sizeof stk_a), seen.eflags & 0x4ed5, seen.tr);
    printf("  in task: link=%x types main=%x a=%x; after iret: busy main=%d a=%d nt=%d ts=%d tr=%x\n",
           ta.link, seen.type[0] & 0xf, seen.type[1] & 0xf, busy(SEL_MAIN), busy(SEL_A),
           eflags_nt(), ts_bit(), str_());
    /* state saved in A by its IRET (NT cleared in the image) */
    printf("  a saved: eip at iret+1 %d eflags nt=%d eax=%x\n",
           ta.eip > (uint32_t)task_entry && ta.eip < (uint32_t)task16_entry,
           (ta.eflags >> 14) & 1, ta.eax);
    /* main's state was saved in its TSS at the CALL */
    printf("  main saved: cs=%x ss=%x ds=%x flags nt=%d\n", guest_tss.cs, guest_tss.ss,
           guest_tss.ds, (guest_tss.eflags >> 14) & 1);
    /* the same task again: it goes on after its IRET */
    reset_seen();
    __asm__ volatile("lcall $0x30, $0" ::: "memory");
    printf("  again: count=%d eax=%x (kept from its last run) tr=%x\n", seen.count, seen.r[0],
           str_());
}

static void jmp_and_back(void)
{
    tss_init(&tb, stk_b, sizeof stk_b);
    tb.eflags = 0x4002;                            /* NT=1 in the image: kept */
    reset_seen();
    exit_kind = 1;
    clts();
    __asm__ volatile("ljmp $0x38, $0" ::: "memory");
    printf("jmp tss: task tr=%x nt=%d link=%x types main=%x b=%x; back: busy main=%d b=%d ts=%d tr=%x nt=%d\n",
           seen.tr, (seen.eflags >> 14) & 1, tb.link, seen.type[0] & 0xf, seen.type[2] & 0xf,
           busy(SEL_MAIN), busy(SEL_B), ts_bit(), str_(), eflags_nt());
    printf("  main link=%x (not written by JMP)\n", guest_tss.link & 0xffff);
}

static void gates(void)
{
    tss_init(&ta, stk_a, sizeof stk_a);
    reset_seen();
    __asm__ volatile("lcall $0x40, $0" ::: "memory");
    printf("call task gate: tr=%x nt=%d link=%x after: busy a=%d\n", seen.tr,
           (seen.eflags >> 14) & 1, ta.link, busy(SEL_A));
    tss_init(&ta, stk_a, sizeof stk_a);
    reset_seen();
    exit_kind = 1;
    __asm__ volatile("ljmp $0x40, $0" ::: "memory");
    printf("jmp task gate: tr=%x nt=%d link=%x after: busy a=%d main=%d\n", seen.tr,
           (seen.eflags >> 14) & 1, ta.link, busy(SEL_A), busy(SEL_MAIN));
}

static void idt_task_gates(void)
{
    uint64_t save_gp = idt[13], save_np = idt[11], save_df = idt[8], save_ud = idt[6];
    /* INT n */
    idt[0x40] = task_gate(SEL_A, 0);
    tss_init(&ta, stk_a, sizeof stk_a);
    reset_seen();
    clts();
    __asm__ volatile("int $0x40" ::: "memory");
    printf("int 0x40 task gate: tr=%x nt=%d link=%x esp ok %d ts=%d types main=%x a=%x\n",
           seen.tr, (seen.eflags >> 14) & 1, ta.link,
           seen.r[4] == (uint32_t)(stk_a + sizeof stk_a), ts_bit(), seen.type[0] & 0xf,
           seen.type[1] & 0xf);

    /* #GP with its error code on the new task's stack */
    idt[13] = task_gate(SEL_A, 0);
    tss_init(&ta, stk_a, sizeof stk_a);
    reset_seen();
    extern char gp_at[], gp_after[];
    clts();
    exit_kind = 2;
    resume_eip = (uint32_t)gp_after;
    __asm__ volatile("mov $0x1234, %%eax\n"
                     ".globl gp_at, gp_after\n"
                     "gp_at: mov %%ax, %%es\n"
                     "gp_after:\n" ::: "eax", "memory");
    printf("#GP task gate: err=%x esp=top-4 %d main's saved eip at the fault %d nt=%d ts=%d\n",
           seen.top, seen.r[4] == (uint32_t)(stk_a + sizeof stk_a) - 4,
           seen.main_eip == (uint32_t)gp_at, (seen.eflags >> 14) & 1, ts_bit());
    idt[13] = save_gp;

    /* #DF: #GP through a not-present gate raises #NP -> #DF (error 0) */
    idt[8] = task_gate(SEL_A, 0);
    idt[13] &= ~((uint64_t)0x80 << 40);
    tss_init(&ta, stk_a, sizeof stk_a);
    reset_seen();
    extern char df_after[], df_at[];
    exit_kind = 2;
    resume_eip = (uint32_t)df_after;
    __asm__ volatile("mov $0x1234, %%eax\n"
                     ".globl df_at, df_after\n"
                     "df_at: mov %%ax, %%es\n"
                     "df_after:\n" ::: "eax", "memory");
    printf("#DF task gate: err=%x esp=top-4 %d tr=%x link=%x main's saved eip at the fault %d\n",
           seen.top, seen.r[4] == (uint32_t)(stk_a + sizeof stk_a) - 4, seen.tr, ta.link,
           seen.main_eip == (uint32_t)df_at);
    idt[13] = save_gp;
    idt[11] = save_np;
    idt[8] = save_df;

    /* #UD (an event: EXT=1) into a task whose DS is not present: #NP in
     * the new task, error code with EXT */
    idt[6] = task_gate(SEL_C, 0);
    tss_init(&tc, stk_c, sizeof stk_c);
    tc.ds = SEL_DATANP;
    reset_seen();
    reset_fault(0);
    fault_fix_segs = 1;
    extern char ud_after[];
    resume_eip = (uint32_t)ud_after;
    __asm__ volatile("ud2\n.globl ud_after\nud_after:\n" ::: "memory");
    printf("#UD into a task with DS not present: #NP in the new task: vec=%d err=%x (no EXT) at its entry %d tr=%x; task ran %d with ds=%x nt=%d link=%x\n",
           fault.vec, fault.err & ~1u, fault.eip == (uint32_t)task_entry, fault.tr, seen.count,
           seen.sreg[3], (seen.eflags >> 14) & 1, tc.link);
    /* QEMU 7.2 leaves EXT clear in faults of a task switch that an event
     * started; the SDM (6.13) sets it for every fault while an event is
     * delivered */
    printf("sdm: #UD into a task with DS not present: #NP err=%x\n", fault.err);
    idt[6] = save_ud;
    set_nt(0);
}

static void tss16(void)
{
    memset(t16, 0, sizeof t16);
    t16[0] = 0xdead;
    t16[7] = (uint16_t)(uint32_t)task16_entry;      /* IP */
    t16[8] = 0x0002 | 0x80;                         /* FLAGS: SF */
    t16[9] = 0x1234; t16[10] = 0x5678; t16[11] = 0x9abc; t16[12] = 0xdef0;
    t16[13] = 0x1122; t16[14] = 0x3344; t16[15] = 0x5566; t16[16] = 0x7788;
    t16[17] = SEL_KDATA;                            /* ES */
    t16[18] = SEL_CODE16;                           /* CS */
    t16[19] = SEL_KDATA;                            /* SS */
    t16[20] = SEL_KDATA;                            /* DS */
    t16[21] = 0;                                    /* LDT */
    reset_seen();
    clts();
    __asm__ volatile("lcall $0x48, $0" ::: "memory");
    printf("call 16-bit tss: ax..di %x %x %x %x sp %x %x %x %x\n", seen.r[0] & 0xffff,
           seen.r[1] & 0xffff, seen.r[2] & 0xffff, seen.r[3] & 0xffff, seen.r[4] & 0xffff,
           seen.r[5] & 0xffff, seen.r[6] & 0xffff, seen.r[7] & 0xffff);
    /* SDM 7.6: loading the general registers from a 16-bit TSS modifies
     * their upper halves ("not maintained"); 386/486 hardware sets them to
     * 0xffff (test386.asm checks it), QEMU 7.2 keeps the old ones */
    printf("sdm: 16-bit tss upper halves: eax..edi %x %x %x %x %x %x %x %x eflags %x\n", seen.r[0] >> 16,
           seen.r[1] >> 16, seen.r[2] >> 16, seen.r[3] >> 16, seen.r[4] >> 16, seen.r[5] >> 16,
           seen.r[6] >> 16, seen.r[7] >> 16, seen.eflags >> 16);
    printf("  flags %x cs=%x ds=%x es=%x fs=%x gs=%x tr=%x link=%x\n", seen.eflags & 0xffff,
           seen.sreg[1], seen.sreg[3], seen.sreg[0], seen.sreg[4], seen.sreg[5], seen.tr,
           t16[0]);
    printf("  saved in 16-bit tss by its iret: ax=%x ip=entry+%x flags nt=%d; busy t16=%d ts=%d\n",
           t16[9], (uint16_t)(t16[7] - (uint16_t)(uint32_t)task16_entry), (t16[8] >> 14) & 1,
           busy(SEL_T16), ts_bit());
}

static void ldt_and_cr3(void)
{
    /* task B: DS from its LDT, CR3 of a second page directory in which
     * the 4 MiB page at 8 MiB maps the physical 12 MiB */
    ldt[1] = desc(0x00800000, 0xfff, 0x92, 0x4);
    *(volatile uint32_t *)0x00800000 = 0xaaaa0800;
    *(volatile uint32_t *)0x00c00000 = 0xbbbb0c00;
    tss_init(&tb, stk_b, sizeof stk_b);
    tb.ldt = SEL_LDT;
    tb.ds = LDT_DATA;
    tb.cr3 = (uint32_t)pdir2;
    reset_seen();
    __asm__ volatile("lcall $0x38, $0" ::: "memory");
    printf("ldt and cr3: task ldtr=%x ds=%x ds:0=%x; main cr3 back %d ds:0=%x\n", seen.ldtr,
           seen.sreg[3], seen.dsval, read_cr3() == (uint32_t)pdir1,
           *(volatile uint32_t *)0x00800000);
}

/* A #TS in a new task that cannot take it through an interrupt gate (its
 * SS is not loaded yet) goes through a task gate to task B, which records
 * the error code and goes back to the main task. */
static void ts_to_task_b(void)
{
    idt[10] = task_gate(SEL_B, 0);
    tss_init(&tb, stk_b, sizeof stk_b);
    reset_seen();
    exit_kind_b = 3;
}

static void ts_gate_done(uint64_t save_ts)
{
    idt[10] = save_ts;
    clear_busy(SEL_C);                 /* left busy: B was nested in C */
    set_nt(0);
}

static void faults(void)
{
    /* #TS: TSS limit below 0x67 / 0x2b, in the old task, nothing changed */
    extern char ts_at[], ts16_at[];
    reset_fault(7);
    clts();
    __asm__ volatile(".globl ts_at\nts_at: ljmp $0x50, $0" ::: "memory");
    print_fault("jmp tss limit 0x66");
    printf(" at jmp %d tr=%x busy main=%d ts=%d\n", fault.eip == (uint32_t)ts_at, fault.tr,
           busy(SEL_MAIN), ts_bit());
    reset_fault(7);
    __asm__ volatile(".globl ts16_at\nts16_at: lcall $0x98, $0" ::: "memory");
    print_fault("call 16-bit tss limit 0x2a");
    printf(" at call %d ts=%d\n", fault.eip == (uint32_t)ts16_at, ts_bit());

    /* #GP: JMP/CALL to a busy TSS; #NP: TSS not present */
    extern char busy_at[];
    reset_fault(7);
    __asm__ volatile(".globl busy_at\nbusy_at: ljmp $0x28, $0" ::: "memory");
    print_fault("jmp busy tss");
    printf(" at jmp %d\n", fault.eip == (uint32_t)busy_at);
    reset_fault(7);
    __asm__ volatile("lcall $0x28, $0" ::: "memory");
    print_fault("call busy tss");
    printf("\n");
    reset_fault(7);
    __asm__ volatile("ljmp $0x58, $0" ::: "memory");
    print_fault("jmp tss not present");
    printf("\n");
    reset_fault(7);
    __asm__ volatile("lcall $0xa0, $0" ::: "memory");
    print_fault("call task gate to a tss not present");
    printf("\n");

    /* #TS in the new task (its CS and SS loaded): DS execute-only code;
     * the handler reloads the data segments and the task goes on */
    tss_init(&tc, stk_c, sizeof stk_c);
    tc.ds = SEL_XCODE;
    reset_seen();
    reset_fault(0);
    fault_fix_segs = 1;
    fault_eip = (uint32_t)task_entry;          /* where QEMU 7.2 gets it wrong */
    exit_kind = 1;
    clts();
    __asm__ volatile("ljmp $0x90, $0" ::: "memory");
    print_fault("jmp tss with ds execute-only");
    printf(" in the new task: cs=%x tr=%x ts=%d; task ran %d with ds=%x types main=%x c=%x\n",
           fault.cs, fault.tr, ts_bit(), seen.count, seen.sreg[3], seen.type[0] & 0xf,
           seen.type[3] & 0xf);
    printf("  back: busy main=%d c=%d tr=%x\n", busy(SEL_MAIN), busy(SEL_C), str_());
    /* the frame holds the new task's CS:EIP (SDM 7.3 step 13: "in the
     * context of the new task"); QEMU 7.2 pushes the JMP's EIP */
    printf("sdm: jmp tss with ds execute-only: #TS frame eip at the new task's entry %d\n",
           fault.eip == (uint32_t)task_entry);

    /* #GP(0): EIP beyond the new CS limit, in the new task */
    tss_init(&tc, stk_c, sizeof stk_c);
    tc.cs = SEL_SMALL;
    tc.eip = 0x2000;
    reset_seen();
    reset_fault(0);
    fault_to_main = 1;
    __asm__ volatile("ljmp $0x90, $0" ::: "memory");
    print_fault("jmp tss with eip beyond cs limit");
    printf(" cs=%x tr=%x\n", fault.cs, fault.tr);
    printf("sdm: jmp tss with eip beyond cs limit: #GP frame eip=%x\n", fault.eip);

    /* #TS in the new task before its SS is loaded: through a task gate */
    uint64_t save_ts = idt[10];
    static const struct { const char *what; uint16_t ldt, cs, ss; } bad[] = {
        { "jmp tss with ldt = a data segment", SEL_KDATA, SEL_KCODE, SEL_KDATA },
        { "jmp tss with ss dpl 3 at cpl 0", 0, SEL_KCODE, SEL_UDATA },
        { "jmp tss with ss read-only code", 0, SEL_KCODE, SEL_KCODE },
        { "jmp tss with cs a data segment", 0, SEL_KDATA, SEL_KDATA },
        { "jmp tss with null cs", 0, 0, SEL_KDATA },
        { "jmp tss with cs rpl 3 dpl 0", 0, SEL_KCODE | 3, SEL_UDATA },
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tss_init(&tc, stk_c, sizeof stk_c);
        tc.ldt = bad[i].ldt;
        tc.cs = bad[i].cs;
        tc.ss = bad[i].ss;
        ts_to_task_b();
        __asm__ volatile("ljmp $0x90, $0" ::: "memory");
        printf("%s: #TS err=%x in task tr=%x link=%x; busy c=%d\n", bad[i].what, seen.top,
               seen.tr, tb.link, busy(SEL_C));
        ts_gate_done(save_ts);
    }

    /* #TS: IRET with NT=1 whose link names a TSS that is not busy */
    extern char iret_at[];
    guest_tss.link = SEL_B;
    reset_fault(1);
    fault_clear_nt = 1;
    __asm__ volatile("pushfl\n"
                     "orl $0x4000, (%%esp)\n"
                     "popfl\n"
                     ".globl iret_at\n"
                     "iret_at: iret\n" ::: "memory", "cc");
    print_fault("iret nt=1 to a tss that is not busy");
    printf(" at iret %d nt now %d\n", fault.eip == (uint32_t)iret_at, eflags_nt());
    guest_tss.link = 0;
}

static void sdm_only(void)
{
    /* conforming code, DPL 0, selector RPL 3: the task runs at CPL 3 */
    uint64_t save_ts = idt[10];
    tss_init(&tc, stk_c, sizeof stk_c);
    tc.cs = SEL_CONF | 3;
    tc.ss = tc.ds = tc.es = tc.fs = tc.gs = SEL_UDATA;
    tc.eflags = 0x3002;                            /* IOPL 3 */
    ts_to_task_b();                                /* QEMU 7.2: #TS */
    __asm__ volatile("lcall $0x90, $0" ::: "memory");
    if (seen.tr == SEL_B)
        printf("sdm: call tss with conforming cs dpl 0 rpl 3: #TS err=%x\n", seen.top);
    else
        printf("sdm: call tss with conforming cs dpl 0 rpl 3: ran with cs=%x ss=%x tr=%x\n",
               seen.sreg[1], seen.sreg[2], seen.tr);
    ts_gate_done(save_ts);

    /* T bit: #DB before the new task's first instruction */
    tss_init(&tc, stk_c, sizeof stk_c);
    tc.trap = 1;
    reset_seen();
    reset_fault(0);
    exit_kind = 1;
    __asm__ volatile("mov %0, %%dr6" : : "r"(0u));
    __asm__ volatile("ljmp $0x90, $0" ::: "memory");
    if (fault.n)
        printf("sdm: jmp tss with T=1: #DB at the new task's entry %d tr=%x dr6.bt=%d; task ran %d\n",
               fault.eip == (uint32_t)task_entry, fault.tr, (fault.dr6 >> 15) & 1, seen.count);
    else
        printf("sdm: jmp tss with T=1: no #DB; task ran %d\n", seen.count);
    fault_armed = 0;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    /* a GDT with room for the tests' descriptors; the lib's first six
     * entries (TSS 0x28 after LTR, busy) */
    tss_load((uint32_t)(stk_b + sizeof stk_b));
    memcpy(tgdt, gdt, 6 * 8);
    set_gdt(SEL_A, desc((uint32_t)&ta, sizeof ta - 1, 0x89, 0));
    set_gdt(SEL_B, desc((uint32_t)&tb, sizeof tb - 1, 0x89, 0));
    set_gdt(SEL_GATE_A, task_gate(SEL_A, 0));
    set_gdt(SEL_T16, desc((uint32_t)t16, sizeof t16 - 1, 0x81, 0));
    set_gdt(SEL_SHORT, desc((uint32_t)&tc, 0x66, 0x89, 0));
    set_gdt(SEL_NP, desc((uint32_t)&tc, sizeof tc - 1, 0x09, 0));
    set_gdt(SEL_LDT, desc((uint32_t)ldt, sizeof ldt - 1, 0x82, 0));
    set_gdt(SEL_CONF, desc(0, 0xfffff, 0x9e, 0xc));
    set_gdt(SEL_XCODE, desc(0, 0xfffff, 0x98, 0xc));
    set_gdt(SEL_CODE16, desc((uint32_t)task16_entry & 0xffff0000u, 0xfffff, 0x9a, 0xc));
    set_gdt(SEL_SMALL, desc(0, 0xfff, 0x9a, 0x4));
    set_gdt(SEL_DATANP, desc(0, 0xfffff, 0x12, 0xc));
    set_gdt(SEL_C, desc((uint32_t)&tc, sizeof tc - 1, 0x89, 0));
    set_gdt(SEL_S16, desc((uint32_t)t16, 0x2a, 0x81, 0));
    set_gdt(SEL_GATE_NP, task_gate(SEL_NP, 0));
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r = {
        sizeof tgdt - 1, (uint32_t)tgdt
    };
    __asm__ volatile("lgdt %0" : : "m"(r));
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) ir;
    __asm__ volatile("sidt %0" : "=m"(ir));
    idt = (uint64_t *)ir.base;
    for (int v = 1; v <= 14; v++)
        if (v == 1 || v >= 10)
            idt_set(v, on_fault, 0, 0);

    /* paging: two page directories of 4 MiB pages (identity in the first
     * 32 MiB; in pdir2, 8 MiB maps 12 MiB) */
    for (int i = 0; i < 8; i++) {
        ((uint32_t *)pdir1)[i] = (uint32_t)i << 22 | 0x87;
        ((uint32_t *)pdir2)[i] = (uint32_t)(i == 2 ? 3 : i) << 22 | 0x87;
    }
    write_cr4(read_cr4() | 0x10);
    write_cr3((uint32_t)pdir1);
    write_cr0(read_cr0() | 0x80000000u);
    guest_tss.cr3 = (uint32_t)pdir1;

    printf("tss: main tr=%x busy=%d\n", str_(), busy(SEL_MAIN));
    call_and_iret();
    jmp_and_back();
    gates();
    idt_task_gates();
    tss16();
    ldt_and_cr3();
    faults();
    sdm_only();
    printf("tss: done, main tr=%x busy main=%d a=%d b=%d c=%d\n", str_(), busy(SEL_MAIN),
           busy(SEL_A), busy(SEL_B), busy(SEL_C));
    return 0;
}
