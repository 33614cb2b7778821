/* v86.c - test guest: virtual-8086 mode (SDM Vol. 3, "8086 Emulation"),
 * on a P6 without the virtual-mode extensions. The V86 code is
 * v86code.asm, copied to 0x20000 and run with CS = 0x2000; every run
 * enters V86 mode with an IRET at CPL 0 (VM = 1 in the popped EFLAGS) and
 * ends in a handler that records the frame the CPU pushed. Covered:
 * entering V86 mode by IRET and by a task switch (JMP to a TSS whose
 * EFLAGS has VM = 1); 8086 address formation, offsets wrapping at 64 KiB,
 * an address above 1 MiB; CLI, STI, PUSHF, POPF, INT n, IRET at IOPL 0
 * (#GP(0)) and at IOPL 3 (POPF/IRET keep IOPL and VM); INT3, INTO and the
 * two-byte INT 3; port I/O against the TSS I/O bitmap at IOPL 0 and 3;
 * interrupts (INT n, an IRQ), traps and exceptions from V86 mode through
 * 32-bit interrupt and trap gates (the frame GS FS DS ES SS ESP EFLAGS CS
 * EIP [err], DS/ES/FS/GS null in the handler, VM/IF cleared) and through
 * a 16-bit gate (the same frame in words); #GP(selector) for a gate to a
 * DPL 3, a conforming or a DPL 1 code segment; IRET from ring 0 back to
 * V86 mode (with a DS changed in the frame); #UD through a task gate,
 * the V86 task's selectors and EFLAGS.VM saved in its TSS; the
 * instructions V86 mode does not recognise (#UD) or that need CPL 0
 * (#GP(0)); far transfers and segment loads as in real mode; a V86
 * access to a supervisor page (#PF with U=1).
 *
 * Every line is compared with QEMU's output as well, except lines that
 * start with "sdm: ": QEMU 7.2 checks no segment limits in V86 mode (an
 * access across offset 0xffff, a 32-bit offset beyond it, a push at SP 1
 * run on; the SDM raises #GP(0) / #SS(0)), and delivers an INT n through
 * a gate to a DPL 1 code segment on the ring 1 stack (the SDM: #GP(sel)).
 * EFLAGS images are printed without RF (QEMU 7.2 pushes RF = 0 for
 * faults: rflag.c). */
#include "lib/guest.h"

extern const uint8_t v86_blob[], v86_blob_end[];

#define V86_CS    0x2000
#define V86_BASE  0x20000u
#define V86_SS    0x3000
#define F_IF   0x00000200u
#define F_TF   0x00000100u
#define F_NT   0x00004000u
#define F_IOPL 0x00003000u
#define F_RF   0x00010000u
#define F_VM   0x00020000u
#define FLAG_AT 0x2f000u           /* the byte e_irq_loop waits for */

#define SEL_MTSS  0x30             /* the main task's TSS (with an I/O bitmap) */
#define SEL_VTSS  0x38             /* the V86 task's TSS */
#define SEL_CONF0 0x40             /* conforming code, DPL 0 */
#define SEL_CODE1 0x48             /* code, DPL 1 */

/* The entries of v86code.asm's table, in its order. */
enum entry {
    E_SEGS, E_ADDR, E_LIM_WORD, E_LIM_A32, E_LIM_STACK,
    E_CLI, E_STI, E_PUSHF, E_PUSHFD, E_POPF, E_POPFD, E_INTN, E_IRET, E_IRETD,
    E_INT3, E_INTO, E_INT_CD03,
    E_IO_OK, E_IO_DENY, E_IO_WORD, E_IO_BEYOND, E_IO_INS, E_IO_OUTS,
    E_DIV0, E_HLT, E_INT42, E_INT43, E_INT44, E_INT45,
    E_IRET_BACK, E_IRQ_LOOP, E_TASK, E_FAR, E_PAGE_READ, E_PAGE_WRITE,
    E_INT41, E_INT46, E_PRIV
};
static const char *const priv_names[] = {
    "lar", "lsl", "verr", "verw", "arpl", "sldt", "str", "lldt", "ltr",
    "mov eax, cr0", "mov cr0, eax", "mov eax, dr7", "mov dr7, eax", "lgdt", "lidt",
    "lmsw", "clts", "invlpg", "rdmsr", "wrmsr", "wbinvd", "smsw", "sgdt", "sidt",
    "sysexit",
};
#define NPRIV (sizeof priv_names / sizeof priv_names[0])

static uint16_t entry_ip(int e) { return ((const volatile uint16_t *)V86_BASE)[e]; }

/* ---- tables ---- */
static struct {
    struct tss t;
    uint8_t iomap[128];            /* ports 0..0x3ff */
    uint8_t end;                   /* 0xff */
} __attribute__((packed, aligned(16))) mtss;
static struct tss vtss __attribute__((aligned(16)));
static uint8_t int_stack[8192] __attribute__((aligned(16)));
#define INT_TOP ((uint32_t)(int_stack + sizeof int_stack))
static uint64_t *idt;
static uint32_t pdir[1024] __attribute__((aligned(4096)));
static uint32_t ptab[1024] __attribute__((aligned(4096)));

static uint64_t gate(uint16_t sel, uint32_t off, uint8_t access)
{
    return (off & 0xffff) | (uint64_t)sel << 16 | (uint64_t)access << 40 |
           (uint64_t)(off >> 16) << 48;
}

/* ---- entering V86 mode and coming back ---- */
struct v86regs {
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;     /* +0 */
    uint32_t eip, cs, eflags, ss, es, ds, fs, gs;        /* +32 */
};
/* IRET to V86 mode with r; returns the value v86_leave() gets, with the
 * kernel's registers and EFLAGS as they were. */
uint32_t v86_run(const struct v86regs *r);
void v86_leave(uint32_t value) __attribute__((noreturn));
void h16_flat(void);
__asm__(
    ".text\n"
    ".globl v86_run, v86_leave, h16_flat\n"
    "v86_run:\n"
    "  push %ebp\n  push %ebx\n  push %esi\n  push %edi\n  pushfl\n"
    "  mov %esp, v86_kesp\n"
    "  mov 24(%esp), %ebp\n"
    "  pushl 60(%ebp)\n  pushl 56(%ebp)\n  pushl 52(%ebp)\n  pushl 48(%ebp)\n"
    "  pushl 44(%ebp)\n  pushl 16(%ebp)\n  pushl 40(%ebp)\n  pushl 36(%ebp)\n"
    "  pushl 32(%ebp)\n"
    "  mov 0(%ebp), %eax\n  mov 4(%ebp), %ecx\n  mov 8(%ebp), %edx\n"
    "  mov 12(%ebp), %ebx\n  mov 24(%ebp), %esi\n  mov 28(%ebp), %edi\n"
    "  mov 20(%ebp), %ebp\n"
    "  iret\n"
    "v86_leave:\n"
    "  mov 4(%esp), %eax\n"
    "  mov $0x10, %cx\n  mov %cx, %ds\n  mov %cx, %es\n  mov %cx, %fs\n  mov %cx, %gs\n"
    "  mov %cx, %ss\n"
    "  mov v86_kesp, %esp\n"
    "  popfl\n"
    "  pop %edi\n  pop %esi\n  pop %ebx\n  pop %ebp\n"
    "  ret\n"
    /* the 16-bit gate's handler (entered at 0x7000, a far JMP to here) */
    "h16_flat:\n"
    "  mov %esp, %eax\n"
    "  push %gs\n  push %fs\n  push %es\n  push %ds\n"
    "  mov %esp, %edx\n"
    "  mov $0x10, %cx\n  mov %cx, %ds\n  mov %cx, %es\n"
    "  push %edx\n  push %eax\n"
    "  call on_h16\n"
    ".data\n"
    "v86_kesp: .long 0\n"
    ".text\n");

/* ---- what the handlers saw ---- */
struct ev {
    uint32_t vec, err, eip, cs, fl, esp, ss, es, ds, fs, gs;   /* the frame */
    uint32_t ax, bx, cx, dx, si, di, bp;                       /* V86 registers */
    uint32_t in_seg[4];        /* DS ES FS GS at the handler's entry */
    uint32_t in_fl, in_cs;     /* the handler's EFLAGS and CS */
    uint32_t depth;            /* bytes of the frame (from ESP0) */
    uint32_t cr2;
};
static volatile struct ev ev[4];
static volatile int nev;
static volatile int resume_vec = -1;   /* a handler of this vector returns to V86 */
static volatile uint32_t set_ds;       /* not 0: the DS IRET loads back */

void on_event(struct frame *f);
void on_event(struct frame *f)
{
    uint32_t *x = (uint32_t *)(f + 1);   /* ES DS FS GS of a V86 frame */
    if (!(f->eflags & F_VM)) {
        printf("unexpected event %u err=%x at %x:%x (not from V86 mode)\n", f->vector, f->err,
               f->cs, f->eip);
        guest_exit(0x7e);
    }
    if (nev < 4) {
        volatile struct ev *e = &ev[nev];
        e->vec = f->vector;
        e->err = f->err;
        e->eip = f->eip;
        e->cs = f->cs;
        e->fl = f->eflags;
        e->esp = f->useresp;
        e->ss = f->ss;
        e->es = x[0];
        e->ds = x[1];
        e->fs = x[2];
        e->gs = x[3];
        e->ax = f->eax;
        e->bx = f->ebx;
        e->cx = f->ecx;
        e->dx = f->edx;
        e->si = f->esi;
        e->di = f->edi;
        e->bp = f->ebp;
        e->in_seg[0] = f->ds;
        e->in_seg[1] = f->es;
        e->in_seg[2] = f->fs;
        e->in_seg[3] = f->gs;
        e->in_fl = read_eflags();
        uint32_t cs;
        __asm__ volatile("mov %%cs, %0" : "=r"(cs));
        e->in_cs = cs & 0xffff;
        e->depth = INT_TOP - (uint32_t)&f->eip;
        e->cr2 = read_cr2();
    }
    nev++;
    if (f->vector == 0x20) {
        *(volatile uint8_t *)FLAG_AT = 1;
        pic_eoi(0);
        return;                            /* IRET back to V86 mode */
    }
    if ((int)f->vector == resume_vec) {
        if (set_ds)
            x[1] = set_ds;
        return;
    }
    v86_leave(1);
}

/* The 16-bit interrupt gate's handler: the frame is 9 words at esp. */
void on_h16(uint32_t esp, const uint32_t *segs) __attribute__((noreturn));
void on_h16(uint32_t esp, const uint32_t *segs)
{
    const uint16_t *w = (const uint16_t *)esp;
    volatile struct ev *e = &ev[0];
    e->vec = 0x46;
    e->eip = w[0];
    e->cs = w[1];
    e->fl = w[2];
    e->esp = w[3];
    e->ss = w[4];
    e->es = w[5];
    e->ds = w[6];
    e->fs = w[7];
    e->gs = w[8];
    for (int i = 0; i < 4; i++)
        e->in_seg[i] = segs[i] & 0xffff;
    e->in_fl = read_eflags();
    e->depth = INT_TOP - esp;
    nev = 1;
    v86_leave(1);
}

/* ---- running one entry ---- */
static struct v86regs regs;

static void setup(int entry, uint32_t fl)
{
    memset(&regs, 0, sizeof regs);
    regs.eip = entry_ip(entry);
    regs.cs = V86_CS;
    regs.eflags = F_VM | 0x2 | fl;
    regs.ss = V86_SS;
    regs.esp = 0xfff0;
    regs.ds = 0x2345;
    regs.es = 0x3456;
    regs.fs = 0x4567;
    regs.gs = 0x5678;
}

static void go(void)
{
    memset((void *)ev, 0, sizeof ev);
    nev = 0;
    v86_run(&regs);
    resume_vec = -1;
    set_ds = 0;
}

static void run(int entry, uint32_t fl)
{
    setup(entry, fl);
    go();
}

static const char *vname(uint32_t v)
{
    switch (v) {
    case 0: return "#DE";
    case 3: return "#BP";
    case 4: return "#OF";
    case 6: return "#UD";
    case 12: return "#SS";
    case 13: return "#GP";
    case 14: return "#PF";
    default: return "int";
    }
}

/* The recorded events: the vector, its error code (where it has one),
 * CS:IP relative to the entry, EFLAGS (without RF), ESP; the first on
 * the current line, the others on lines of their own. */
static void show_tail(int entry)
{
    for (int i = 0; i < nev && i < 4; i++) {
        volatile struct ev *e = &ev[i];
        if (i)
            printf("  then: ");
        printf("%s %x", vname(e->vec), e->vec);
        if (e->vec == 8 || (e->vec >= 10 && e->vec <= 14))
            printf(" err=%x", e->err);
        printf(" at %x:+%x fl=%x esp=%x\n", e->cs, e->eip - entry_ip(entry), e->fl & ~F_RF,
               e->esp);
    }
}

static void show(const char *what, int entry)
{
    printf("%s: ", what);
    show_tail(entry);
}

/* ---- the tests ---- */

static void enter_by_iret(void)
{
    run(E_SEGS, 0);
    volatile struct ev *e = &ev[0];
    printf("iret to v86: cs=%x ds=%x es=%x ss=%x fs=%x gs=%x sp=%x\n", e->ax & 0xffff,
           e->bx & 0xffff, e->cx & 0xffff, e->dx & 0xffff, e->si & 0xffff, e->di & 0xffff,
           e->bp & 0xffff);
    show("  ud2", E_SEGS);
    printf("  frame: ss=%x es=%x ds=%x fs=%x gs=%x esp=%x; %d bytes\n", e->ss, e->es, e->ds,
           e->fs, e->gs, e->esp, e->depth);
    printf("  handler: cs=%x ds=%x es=%x fs=%x gs=%x vm=%d if=%d\n", e->in_cs, e->in_seg[0],
           e->in_seg[1], e->in_seg[2], e->in_seg[3], !!(e->in_fl & F_VM), !!(e->in_fl & F_IF));
}

static void addressing(void)
{
    *(volatile uint32_t *)0x23460 = 0x11223344;
    *(volatile uint16_t *)0x12345 = 0x5566;
    *(volatile uint16_t *)0x3fffe = 0;
    setup(E_ADDR, 0);
    regs.ds = 0x2345;
    regs.es = 0xffff;
    regs.gs = 0x1234;
    regs.esp = 0x12340000;                 /* SP 0, upper half kept */
    go();
    volatile struct ev *e = &ev[0];
    printf("addressing: 2345:0010=%x 2345:(fff0+20)=%x ffff:0010=%x 1234:0005=%x\n", e->ax,
           e->cx, e->dx, e->si & 0xffff);
    printf("  push at ss:0 wrote 3000:fffe=%x popped %x esp after=%x\n",
           *(volatile uint16_t *)0x3fffe, e->di & 0xffff, e->esp);

    /* the SDM's limit checks (QEMU checks no limits in V86 mode) */
    run(E_LIM_WORD, 0);
    show("sdm: word at ds:ffff", E_LIM_WORD);
    setup(E_LIM_A32, 0);
    go();
    show("sdm: a32 offset 10000", E_LIM_A32);
    run(E_LIM_STACK, 0);
    show("sdm: push at sp 1", E_LIM_STACK);
}

static void iopl_sensitive(void)
{
    static const struct { const char *name; int e; } t[] = {
        { "cli", E_CLI }, { "sti", E_STI }, { "pushf", E_PUSHF }, { "pushfd", E_PUSHFD },
        { "popf", E_POPF }, { "popfd", E_POPFD }, { "int 0x40", E_INTN },
        { "iret", E_IRET }, { "iretd", E_IRETD },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        for (int iopl = 0; iopl <= 3; iopl += 3) {
            setup(t[i].e, (uint32_t)iopl << 12 | (t[i].e == E_CLI ? F_IF : 0));
            resume_vec = 0x40;
            go();
            printf("%s iopl %d: ", t[i].name, iopl);
            show_tail(t[i].e);
            uint32_t top = V86_BASE + 0x10000 + (ev[0].esp & 0xffff);   /* SS 0x3000 */
            if (ev[0].vec == 6 && t[i].e == E_PUSHF)
                printf("  pushed %x\n", *(volatile uint16_t *)top);
            if (ev[0].vec == 6 && t[i].e == E_PUSHFD)
                printf("  pushed %x\n", *(volatile uint32_t *)top);
        }
    }
    /* INT3, INTO: not IOPL-sensitive (gate DPL 3); CD 03 is INT n */
    run(E_INT3, 0);
    show("int3 iopl 0", E_INT3);
    run(E_INTO, 0);
    show("into iopl 0", E_INTO);
    run(E_INT_CD03, 0);
    show("int 3 (cd 03) iopl 0", E_INT_CD03);
    idt[3] = (idt[3] & ~((uint64_t)0x60 << 40));   /* gate DPL 0 */
    run(E_INT3, 0);
    show("int3, gate dpl 0", E_INT3);
    run(E_INT_CD03, F_IOPL);
    show("int 3 (cd 03) iopl 3, gate dpl 0", E_INT_CD03);
    idt[3] |= (uint64_t)0x60 << 40;
}

static void port_io(void)
{
    static const struct { const char *name; int e; } t[] = {
        { "in/out 3ff (allowed)", E_IO_OK }, { "in 3fe (denied)", E_IO_DENY },
        { "in ax, 3fd (3fe denied)", E_IO_WORD }, { "in 1234 (beyond the bitmap)", E_IO_BEYOND },
        { "insb 3fe", E_IO_INS }, { "outsb 3ff", E_IO_OUTS },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++)
        for (int iopl = 0; iopl <= 3; iopl += 3) {
            run(t[i].e, (uint32_t)iopl << 12);
            printf("%s iopl %d: ", t[i].name, iopl);
            show_tail(t[i].e);
            if (ev[0].vec == 6 && (t[i].e == E_IO_OK || t[i].e == E_IO_OUTS))
                printf("  read back %x\n", ev[0].bx & 0xff);
        }
}

static void gates_from_v86(void)
{
    /* INT n through a 32-bit interrupt gate, a trap gate */
    run(E_INTN, F_IOPL | F_IF);
    volatile struct ev *e = &ev[0];
    show("int 0x40 (interrupt gate)", E_INTN);
    printf("  frame: ss=%x es=%x ds=%x fs=%x gs=%x; %d bytes; handler: cs=%x ds=%x es=%x fs=%x gs=%x vm=%d if=%d tf=%d nt=%d\n",
           e->ss, e->es, e->ds, e->fs, e->gs, e->depth, e->in_cs, e->in_seg[0], e->in_seg[1],
           e->in_seg[2], e->in_seg[3], !!(e->in_fl & F_VM), !!(e->in_fl & F_IF),
           !!(e->in_fl & F_TF), !!(e->in_fl & F_NT));
    run(E_INT41, F_IOPL | F_IF | F_NT);
    show("int 0x41 (trap gate)", E_INT41);
    printf("  handler: if=%d nt=%d\n", !!(e->in_fl & F_IF), !!(e->in_fl & F_NT));

    /* exceptions: no error code, an error code */
    run(E_DIV0, 0);
    show("div 0", E_DIV0);
    printf("  %d bytes\n", e->depth);
    run(E_HLT, F_IOPL);
    show("hlt iopl 3", E_HLT);
    printf("  %d bytes (with the error code)\n", e->depth + 4);
    run(E_INT42, F_IOPL);
    show("int 0x42 (gate dpl 0)", E_INT42);

    /* a gate to a code segment of another privilege level */
    run(E_INT43, F_IOPL);
    show("int 0x43 (gate to dpl 3 code)", E_INT43);
    run(E_INT44, F_IOPL);
    show("int 0x44 (gate to conforming dpl 0 code)", E_INT44);
    run(E_INT45, F_IOPL);
    show("sdm: int 0x45 (gate to dpl 1 code)", E_INT45);

    /* a 16-bit interrupt gate: the frame in words */
    run(E_INT46, F_IOPL | F_IF);
    printf("int 0x46 (16-bit gate): ip=+%x cs=%x flags=%x sp=%x ss=%x es=%x ds=%x fs=%x gs=%x; %d bytes; handler ds=%x es=%x fs=%x gs=%x if=%d\n",
           e->eip - entry_ip(E_INT46), e->cs, e->fl, e->esp, e->ss, e->es, e->ds, e->fs, e->gs,
           e->depth, e->in_seg[0], e->in_seg[1], e->in_seg[2], e->in_seg[3], !!(e->in_fl & F_IF));

    /* IRET back to V86 mode, with another DS */
    setup(E_IRET_BACK, F_IOPL);
    resume_vec = 0x40;
    set_ds = 0x6789;
    go();
    show("iret back to v86", E_IRET_BACK);
    printf("  after: ax=%x ds=%x es=%x fs=%x gs=%x\n", ev[1].ax & 0xffff, ev[1].bx & 0xffff,
           ev[1].cx & 0xffff, ev[1].si & 0xffff, ev[1].di & 0xffff);

    /* an external interrupt (IRQ 0) from V86 mode, back by IRET */
    *(volatile uint8_t *)FLAG_AT = 0;
    pit_set_periodic(11932);
    pic_mask(0, 0);
    run(E_IRQ_LOOP, F_IF);
    pic_mask(0, 1);
    uint32_t off = ev[0].eip - entry_ip(E_IRQ_LOOP);
    printf("irq 0 from v86: vec %x cs=%x ip in the loop %d vm=%d if=%d; then %s %x\n", ev[0].vec,
           ev[0].cs, off < 0x20, !!(ev[0].fl & F_VM), !!(ev[0].fl & F_IF), vname(ev[1].vec),
           ev[1].vec);
}

static void by_task_switch(void)
{
    memset(&vtss, 0, sizeof vtss);
    vtss.eip = entry_ip(E_TASK);
    vtss.eflags = F_VM | 0x2;
    vtss.cs = V86_CS;
    vtss.ss = V86_SS;
    vtss.esp = 0xfff0;
    vtss.ds = 0x2345;
    vtss.es = 0x3456;
    vtss.fs = 0x4567;
    vtss.gs = 0x5678;
    vtss.ss0 = SEL_KDATA;
    vtss.esp0 = INT_TOP;
    vtss.cr3 = read_cr3();
    vtss.iomap_base = sizeof vtss;
    vtss.link = 0xdead;
    uint64_t save_ud = idt[6];
    idt[6] = (uint64_t)SEL_MTSS << 16 | (uint64_t)0x85 << 40;   /* task gate */
    __asm__ volatile("ljmp $0x38, $0" ::: "memory");
    uint32_t fl = read_eflags();
    idt[6] = save_ud;
    printf("task switch to v86 and #UD through a task gate back: nt=%d link=%x busy vtss=%d\n",
           !!(fl & F_NT), mtss.t.link & 0xffff, (unsigned)(gdt[SEL_VTSS >> 3] >> 41) & 1);
    printf("  v86 task saw: cs=%x ds=%x es=%x ss=%x fs=%x gs=%x sp=%x\n", vtss.eax & 0xffff,
           vtss.ebx & 0xffff, vtss.ecx & 0xffff, vtss.edx & 0xffff, vtss.esi & 0xffff,
           vtss.edi & 0xffff, vtss.ebp & 0xffff);
    printf("  saved in its tss: eip=+%x eflags=%x cs=%x ss=%x ds=%x es=%x fs=%x gs=%x esp=%x\n",
           vtss.eip - entry_ip(E_TASK), vtss.eflags & ~F_RF, vtss.cs & 0xffff,
           vtss.ss & 0xffff, vtss.ds & 0xffff, vtss.es & 0xffff, vtss.fs & 0xffff,
           vtss.gs & 0xffff, vtss.esp);
    __asm__ volatile("pushfl\n andl $~0x4000, (%%esp)\n popfl" ::: "memory", "cc");
    gdt[SEL_VTSS >> 3] &= ~((uint64_t)2 << 40);            /* not busy again */
}

static void not_in_v86(void)
{
    for (unsigned i = 0; i < NPRIV; i++) {
        run(E_PRIV + (int)i, F_IOPL);
        show(priv_names[i], E_PRIV + (int)i);
    }
}

static void far_and_segments(void)
{
    run(E_FAR, 0);
    volatile struct ev *e = &ev[0];
    printf("far jmp/call/retf, lds, mov es, pop fs: cs after jmp=%x in far_fn=%x after retf=%x; ds=%x si=%x es=%x fs=%x\n",
           e->ax & 0xffff, e->bx & 0xffff, e->cx & 0xffff, e->dx & 0xffff, e->si & 0xffff,
           e->es, e->fs);
    show("  ud2", E_FAR);
}

static void paging(void)
{
    for (uint32_t i = 0; i < 1024; i++)
        ptab[i] = (i << 12) | (i == 0x50 ? 0x3 : 0x7);       /* 0x50000: supervisor */
    pdir[0] = (uint32_t)ptab | 0x7;
    for (uint32_t i = 1; i < 8; i++)
        pdir[i] = (i << 22) | 0x87;                           /* 4 MiB, user */
    write_cr4(read_cr4() | 0x10);                             /* PSE */
    write_cr3((uint32_t)pdir);
    write_cr0(read_cr0() | 0x80000000u);
    run(E_PAGE_READ, 0);
    show("paging: read a supervisor page", E_PAGE_READ);
    printf("  cr2=%x\n", ev[0].cr2);
    run(E_PAGE_WRITE, 0);
    show("paging: write a supervisor page", E_PAGE_WRITE);
    printf("  cr2=%x\n", ev[0].cr2);
    write_cr0(read_cr0() & ~0x80000000u);
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    memcpy((void *)V86_BASE, v86_blob, (size_t)(v86_blob_end - v86_blob));
    /* the 16-bit gate's entry at 0x7000: ljmp 0x08:h16_flat */
    uint8_t *stub = (uint8_t *)0x7000;
    uint32_t h16 = (uint32_t)h16_flat;
    stub[0] = 0xea;
    memcpy(stub + 1, &h16, 4);
    stub[5] = SEL_KCODE;
    stub[6] = 0;

    /* the main task's TSS: ring 0 stack, I/O bitmap allowing 0x3fd, 0x3ff */
    memset(&mtss, 0, sizeof mtss);
    mtss.t.ss0 = SEL_KDATA;
    mtss.t.esp0 = INT_TOP;
    mtss.t.iomap_base = 0x68;
    memset(mtss.iomap, 0xff, sizeof mtss.iomap);
    mtss.iomap[0x3fd >> 3] &= (uint8_t)~(1u << (0x3fd & 7));
    mtss.iomap[0x3ff >> 3] &= (uint8_t)~(1u << (0x3ff & 7));
    mtss.end = 0xff;
    gdt_set(SEL_MTSS >> 3, (uint32_t)&mtss, sizeof mtss - 1, 0x89, 0);
    gdt_set(SEL_VTSS >> 3, (uint32_t)&vtss, sizeof vtss - 1, 0x89, 0);
    gdt_set(SEL_CONF0 >> 3, 0, 0xfffff, 0x9e, 0xc);
    gdt_set(SEL_CODE1 >> 3, 0, 0xfffff, 0xba, 0xc);
    gdt_load();
    __asm__ volatile("ltr %w0" : : "r"(SEL_MTSS));

    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) ir;
    __asm__ volatile("sidt %0" : "=m"(ir));
    idt = (uint64_t *)ir.base;
    for (int v = 0; v < 32; v++)
        idt_set(v, on_event, 0, 0);
    idt_set(3, on_event, 3, 1);
    idt_set(4, on_event, 3, 1);
    idt_set(0x40, on_event, 3, 0);
    idt_set(0x41, on_event, 3, 1);
    idt_set(0x42, on_event, 0, 0);
    idt[0x43] = gate(SEL_UCODE & ~3, isr_stub_table[0x43], 0xee);
    idt[0x44] = gate(SEL_CONF0, isr_stub_table[0x44], 0xee);
    idt[0x45] = gate(SEL_CODE1, isr_stub_table[0x45], 0xee);
    idt[0x46] = gate(SEL_KCODE, 0x7000, 0xe6);               /* 16-bit interrupt gate */
    pic_remap(0x20, 0x28);
    idt_set(0x20, on_event, 0, 0);

    printf("v86: %u bytes of V86 code at 2000:0000\n", (uint32_t)(v86_blob_end - v86_blob));
    enter_by_iret();
    addressing();
    iopl_sensitive();
    port_io();
    gates_from_v86();
    by_task_switch();
    not_in_v86();
    far_and_segments();
    paging();
    printf("v86 done\n");
    return 0;
}
