/* privilege.c - test guest: ring 3 through a TSS (ss0:esp0), INT 0x80 to
 * a DPL 3 trap gate (stack switch, SS:ESP on the ring 0 frame), #GP from
 * ring 3 (CLI, HLT, IN with IOPL 0, kernel selector, DPL 0 gate) resumed
 * in ring 3, a far call through a call gate with a parameter, and a
 * SYSENTER/SYSEXIT round trip. */
#include "lib/guest.h"

static uint8_t kstack[8192] __attribute__((aligned(16)));   /* TSS esp0 */
static uint8_t sysstack[4096] __attribute__((aligned(16))); /* SYSENTER_ESP */
static uint8_t ustack[4096] __attribute__((aligned(16)));

/* written by ring 3 code and the kernel entry points below */
volatile uint32_t u_esp_at_int, u_r80, u_cs, u_ss, u_rgate, u_esp_before_gate,
    u_esp_after_gate, u_rsys, u_cs_sys, u_ss_sys, u_esp_sys, u_flags_sys;
volatile uint32_t g_eip, g_cs, g_param, g_esp, g_ss, g_cpl;
volatile uint32_t s_cs, s_ss, s_esp;

void u_main(void);
void gate_fn(void);
void sys_entry(void);
__asm__(
    ".text\n"
    ".globl u_main\n"
    "u_main:\n"
    "  mov %cs, %eax\n  mov %eax, u_cs\n  mov %ss, %eax\n  mov %eax, u_ss\n"
    "  mov $7, %ebx\n  mov $35, %ecx\n"
    "  mov %esp, u_esp_at_int\n"
    "  int $0x80\n"
    "  mov %eax, u_r80\n"
    "u_gp:\n"
    "  cli\n"
    "  hlt\n"
    "  inb $0x21, %al\n"
    "  mov $0x10, %ax\n  mov %ax, %ds\n"
    "  int $0x82\n"
    "  mov %esp, u_esp_before_gate\n"
    "  pushl $0x1234abcd\n"
    "  lcall $0x43, $0\n"
    "  mov %eax, u_rgate\n"
    "  mov %esp, u_esp_after_gate\n"
    "  mov $21, %eax\n  mov %esp, %ecx\n  mov $1f, %edx\n"
    "  sysenter\n"
    "1:mov %eax, u_rsys\n"
    "  mov %cs, %eax\n  mov %eax, u_cs_sys\n  mov %ss, %eax\n  mov %eax, u_ss_sys\n"
    "  mov %esp, u_esp_sys\n  pushf\n  pop %eax\n  mov %eax, u_flags_sys\n"
    "  int $0x81\n"
    /* call gate target, CPL 0: [esp] eip, cs, param, esp, ss */
    ".globl gate_fn\n"
    "gate_fn:\n"
    "  mov (%esp), %eax\n  mov %eax, g_eip\n"
    "  mov 4(%esp), %eax\n  mov %eax, g_cs\n"
    "  mov 8(%esp), %eax\n  mov %eax, g_param\n"
    "  mov 12(%esp), %eax\n  mov %eax, g_esp\n"
    "  mov 16(%esp), %eax\n  mov %eax, g_ss\n"
    "  mov %cs, %eax\n  and $3, %eax\n  mov %eax, g_cpl\n"
    "  mov $0x600d, %eax\n"
    "  lret $4\n"
    /* SYSENTER target */
    ".globl sys_entry\n"
    "sys_entry:\n"
    "  mov %cs, %ebx\n  mov %ebx, s_cs\n  mov %ss, %ebx\n  mov %ebx, s_ss\n"
    "  mov %esp, s_esp\n"
    "  add %eax, %eax\n"
    "  sysexit\n");
extern char u_gp[];

static volatile uint32_t int81_if, int80_frame_off, int80_if, int80_cs, int80_ss, int80_uesp_ok;
static void on_int80(struct frame *f)
{
    int80_frame_off = (uint32_t)(kstack + sizeof(kstack)) - (uint32_t)f;
    int80_if = (read_eflags() >> 9) & 1;
    int80_cs = f->cs;
    int80_ss = f->ss;
    int80_uesp_ok = f->useresp == u_esp_at_int;
    f->eax = f->ebx + f->ecx;
}

static void on_gp(struct frame *f)
{
    const uint8_t *ip = (const uint8_t *)f->eip;
    uint32_t len = 0;
    switch (ip[0]) {
    case 0xfa: case 0xf4: len = 1; break;   /* cli, hlt */
    case 0xe4: case 0x8e: case 0xcd: len = 2; break; /* in imm8, mov sreg, int n */
    default:
        fail(2, "#GP at unexpected eip %x err %x", f->eip, f->err);
    }
    printf("  #GP err=%x at u_gp+%u (opcode %02x) from cpl %u\n", f->err,
           f->eip - (uint32_t)u_gp, ip[0], f->cs & 3);
    f->eip += len;
}

static void on_int81(struct frame *f)
{
    int81_if = (read_eflags() >> 9) & 1;     /* interrupt gate: IF cleared */
    kernel_resume(f->cs & 3);
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    outb(0x21, 0xff);                          /* mask the PICs: IF=1 in ring 3 */
    outb(0xa1, 0xff);
    uint32_t esp0 = (uint32_t)(kstack + sizeof(kstack));
    tss_load(esp0);
    gdt_set_callgate(8, SEL_KCODE, (uint32_t)gate_fn, 3, 1);
    idt_set(0x80, on_int80, 3, 1);             /* DPL 3 trap gate */
    idt_set(0x81, on_int81, 3, 0);             /* DPL 3 interrupt gate */
    idt_set(0x82, on_int80, 0, 0);             /* DPL 0: #GP from ring 3 */
    idt_set(13, on_gp, 0, 0);
    wrmsr(0x174, SEL_KCODE);
    wrmsr(0x175, (uint32_t)(sysstack + sizeof(sysstack)));
    wrmsr(0x176, (uint32_t)sys_entry);
    printf("privilege: tss ss0=%x, sysenter msrs cs=%x\n", guest_tss.ss0, (uint32_t)rdmsr(0x174));

    uint32_t ustack_top = (uint32_t)(ustack + sizeof(ustack));
    uint32_t cpl = run_user(u_main, ustack_top, 0x202);

    printf("ring 3: cs=%x ss=%x\n", u_cs, u_ss);
    printf("int 0x80 (trap gate): eax=%u frame cs=%x ss=%x useresp %s if=%u frame at esp0-%u\n",
           u_r80, int80_cs, int80_ss, int80_uesp_ok ? "ok" : "WRONG", int80_if, int80_frame_off);
    printf("call gate: ret=%x cpl=%u saved cs=%x ss=%x param=%x esp %s, esp balanced %s\n",
           u_rgate, g_cpl, g_cs, g_ss, g_param, g_esp == u_esp_before_gate - 4 ? "ok" : "WRONG",
           u_esp_after_gate == u_esp_before_gate ? "yes" : "no");
    printf("  return eip ok: %s\n", g_eip > (uint32_t)u_main && g_eip < (uint32_t)gate_fn ? "yes" : "no");
    printf("sysenter: cs=%x ss=%x esp %s; sysexit: eax=%u cs=%x ss=%x esp %s if=%u\n", s_cs, s_ss,
           s_esp == (uint32_t)(sysstack + sizeof(sysstack)) ? "ok" : "WRONG", u_rsys, u_cs_sys,
           u_ss_sys, u_esp_sys == u_esp_after_gate ? "ok" : "WRONG", (u_flags_sys >> 9) & 1);
    printf("back in ring 0 from cpl %u via interrupt gate (if=%u)\n", cpl, int81_if);
    printf("privilege done\n");
    return 0;
}
