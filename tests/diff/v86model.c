/* v86model.c - the SDM reference model of the differential test's V86
 * system cases (v86sys.h): a small, separate interpreter of the case's
 * code bytes in virtual-8086 mode as the Intel SDM describes it for a
 * processor without the virtual-mode extensions (CR4.VME = 0, CPUID.VME
 * = 0, like vsmp), written from the SDM's Operation sections, not from
 * vsmp's code. It knows only the instructions the generator uses:
 *
 *   MOV r, imm; PUSH imm                      as in any 16-bit code
 *   CLI, STI, PUSHF(D), POPF(D), INT n, IRET(D)
 *                                             IOPL-sensitive: #GP(0) unless
 *                                             IOPL = 3 (Vol. 3, 20.2.7
 *                                             "Sensitive Instructions";
 *                                             Vol. 2, each Operation)
 *   INT3, INTO, INT1 (ICEBP)                  not IOPL-sensitive (Vol. 2,
 *                                             INT n/INTO/INT3/INT1)
 *   IN, OUT, INS, OUTS                        the TSS I/O permission bitmap,
 *                                             whatever IOPL is (Vol. 3,
 *                                             20.2.8.1; Vol. 1, 19.5.2)
 *   SLDT STR LLDT LTR VERR VERW LAR LSL ARPL  #UD: "not recognized in
 *                                             virtual-8086 mode" (Vol. 2,
 *                                             their Virtual-8086 Mode
 *                                             Exceptions)
 *   HLT CLTS INVD WBINVD RDMSR WRMSR LGDT LIDT LMSW INVLPG MOV CR/DR
 *                                             #GP(0): privileged, CPL 3
 *                                             (Vol. 2, same sections)
 *
 * and delivers the first interrupt or exception through the case's IDT
 * (Vol. 2, INT n Operation: PROTECTED-MODE, TRAP-OR-INTERRUPT-GATE,
 * INTERRUPT-FROM-VIRTUAL-8086-MODE; Vol. 3, 20.3.1.1 "Handling an
 * Interrupt or Exception Through a Protected-Mode Trap or Interrupt
 * Gate"), where the handler halts. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "v86model.h"

/* EFLAGS bits */
#define CF 0x00000001u
#define TF 0x00000100u
#define IF_ 0x00000200u
#define DF 0x00000400u
#define OF 0x00000800u
#define IOPL 0x00003000u
#define NT 0x00004000u
#define RF 0x00010000u
#define VM 0x00020000u
#define VALID 0x003f7fd5u   /* the EFLAGS bits that exist (P6, with VIF VIP ID) */

enum { ES, CS, SS, DS, FS, GS };
#define EAX 0
#define ECX 1
#define EDX 2
#define ESP 4
#define ESI 6
#define EDI 7

/* An interrupt or exception, before delivery. */
struct event {
    int vec;
    int soft;          /* INT n, INT3, INTO: the gate's DPL is checked */
    int has_err;
    uint32_t err;
    uint32_t eip;      /* EIP it saves */
    uint32_t rf;       /* RF in the saved EFLAGS image */
};

struct m {
    const struct v86s_case *c;
    struct v86s_out *o;
    uint32_t r[8];
    uint32_t fl;
    uint16_t sreg[6];
    uint32_t ip;       /* EIP of the instruction being executed */
    uint8_t mem[DT_DATA_SIZE];
    uint8_t init[DT_DATA_SIZE];
    int bad;           /* outside the model */
};

static void trace(struct m *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(struct m *m, const char *fmt, ...)
{
    size_t n = strlen(m->o->trace);
    if (n + 2 >= sizeof(m->o->trace))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->o->trace + n, sizeof(m->o->trace) - n, fmt, ap);
    va_end(ap);
}

static int iopl(const struct m *m) { return (int)((m->fl & IOPL) >> 12); }

/* ---- memory: the data segment (DS = ES = SS = V86E_DS) ---- */

static uint8_t *at(struct m *m, uint32_t off, int size)
{
    if (off + (uint32_t)size > DT_DATA_SIZE) {
        m->bad = 1;
        trace(m, " [access at %04x outside the data area]", off);
        return NULL;
    }
    return m->mem + off;
}

static uint32_t rd(struct m *m, uint32_t off, int size)
{
    uint8_t *p = at(m, off, size);
    uint32_t v = 0;
    for (int i = 0; p && i < size; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static void wr(struct m *m, uint32_t off, int size, uint32_t v)
{
    uint8_t *p = at(m, off, size);
    for (int i = 0; p && i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The stack: SS:SP, 16-bit (a V86 stack segment is 16-bit). */
static void push(struct m *m, int size, uint32_t v)
{
    uint32_t sp = (m->r[ESP] - (uint32_t)size) & 0xffffu;
    wr(m, sp, size, v);
    m->r[ESP] = (m->r[ESP] & 0xffff0000u) | sp;
}

static uint32_t pop(struct m *m, int size)
{
    uint32_t sp = m->r[ESP] & 0xffffu;
    uint32_t v = rd(m, sp, size);
    m->r[ESP] = (m->r[ESP] & 0xffff0000u) | ((sp + (uint32_t)size) & 0xffffu);
    return v;
}

static void io_log(struct m *m, uint16_t port, int size, int out, uint32_t v)
{
    struct v86s_out *o = m->o;
    if (o->nio < V86S_IO_MAX) {
        o->io[o->nio].port = port;
        o->io[o->nio].size = (uint8_t)size;
        o->io[o->nio].out = (uint8_t)out;
        o->io[o->nio].value = v;
    }
    o->nio++;
}

/* I/O permission (Vol. 1, 19.5.2 "I/O Permission Bit Map"; Vol. 3,
 * 20.2.8.1): in virtual-8086 mode the bitmap is always consulted,
 * whatever IOPL is. The bits of every port the access covers must be 0;
 * the processor reads the two bytes of the map that hold the port's bit,
 * and both must lie within the TSS limit, else #GP(0) (no map: the base
 * at or beyond the limit). */
static int io_allowed(const struct m *m, uint16_t port, int size)
{
    const struct v86s_case *c = m->c;
    uint32_t byte = (uint32_t)port >> 3;
    if (c->iomap + byte + 1 > c->tss_limit)
        return 0;
    uint32_t w = v86s_map_byte(c, byte) | (uint32_t)v86s_map_byte(c, byte + 1) << 8;
    uint32_t bits = ((1u << size) - 1) << (port & 7);
    return (w & bits) == 0;
}

/* ---- decoding ---- */

static uint8_t code_byte(const struct m *m, uint32_t lin)
{
    uint32_t base = V86E_CODE_LIN + V86S_IP0;
    if (lin >= base && lin - base < m->c->code_len)
        return m->c->code[lin - base];
    return 0xf4;                       /* the rest of the code area: HLT */
}

static uint32_t imm(const struct m *m, uint32_t lin, int size)
{
    uint32_t v = 0;
    for (int i = 0; i < size; i++)
        v |= (uint32_t)code_byte(m, lin + (uint32_t)i) << (8 * i);
    return v;
}

static void set_reg(struct m *m, int r, int size, uint32_t v)
{
    if (size == 4)
        m->r[r] = v;
    else if (size == 2)
        m->r[r] = (m->r[r] & 0xffff0000u) | (v & 0xffffu);
    else
        m->r[r] = (m->r[r] & 0xffffff00u) | (v & 0xffu);
}

static void fault(struct event *e, int vec, int has_err, uint32_t err, uint32_t eip, uint32_t rf)
{
    e->vec = vec;
    e->soft = 0;
    e->has_err = has_err;
    e->err = err;
    e->eip = eip;
    e->rf = rf;
}

/* #GP(0) / #UD at the current instruction: a fault, so EIP is the
 * instruction's and the saved EFLAGS has RF = 1 (Vol. 3, 17.3.1.1: the
 * processor sets RF in the EFLAGS image of every fault-class exception
 * but the instruction breakpoint). */
#define GP0(why) do { trace(m, " %s: #GP(0)", why); fault(e, 13, 1, 0, m->ip, RF); return 1; } while (0)
#define UD(why) do { trace(m, " %s: #UD", why); fault(e, 6, 0, 0, m->ip, RF); return 1; } while (0)

/* Execute the instruction at CS:IP. 0: it completed (IP advanced), 1:
 * it ends the run with event *e, -1: outside the model. */
static int step(struct m *m, struct event *e)
{
    uint32_t base = (uint32_t)m->sreg[CS] << 4;
    uint32_t p = base + m->ip;
    int osz = 2, asz = 2, rep = 0;
    for (;;) {
        uint8_t b = code_byte(m, p);
        if (b == 0x66)
            osz = 4;
        else if (b == 0x67)
            asz = 4;
        else if (b == 0xf3)
            rep = 1;
        else if (b != 0x26 && b != 0x36 && b != 0x3e)
            break;                     /* ES SS DS overrides: all V86E_DS here */
        p++;
    }
    uint8_t op = code_byte(m, p++);
    uint32_t next = 0;                 /* EIP after the instruction */
#define NEXT(lin) (next = ((lin) - base) & 0xffffu)

    if (op >= 0xb8 && op <= 0xbf) {                    /* MOV r, imm */
        set_reg(m, op - 0xb8, osz, imm(m, p, osz));
        NEXT(p + (uint32_t)osz);
        trace(m, " mov");
    } else if (op == 0x68) {                           /* PUSH imm */
        push(m, osz, imm(m, p, osz));
        NEXT(p + (uint32_t)osz);
        trace(m, " push");
    } else if (op == 0xfa || op == 0xfb) {
        /* CLI/STI: "IF VM = 1 ... IF IOPL = 3 THEN IF <- 0/1 ELSE
         * #GP(0)" (VME = 0) */
        if (iopl(m) < 3)
            GP0(op == 0xfa ? "cli" : "sti");
        m->fl = op == 0xfa ? m->fl & ~IF_ : m->fl | IF_;
        NEXT(p);
        trace(m, op == 0xfa ? " cli" : " sti");
    } else if (op == 0x9c) {
        /* PUSHF: at IOPL 3 the 32-bit image is EFLAGS AND 00FCFFFFH (VM
         * and RF clear), the 16-bit one FLAGS; else #GP(0) */
        if (iopl(m) < 3)
            GP0("pushf");
        push(m, osz, osz == 4 ? m->fl & 0x00fcffffu : m->fl & 0xffffu);
        NEXT(p);
        trace(m, " pushf%s", osz == 4 ? "d" : "");
    } else if (op == 0x9d) {
        /* POPF at IOPL 3: 32-bit: "all non-reserved bits except IOPL, RF,
         * VIP, VIF, and VM can be modified"; 16-bit: FLAGS[15:0] but
         * IOPL. Else #GP(0). */
        if (iopl(m) < 3)
            GP0("popf");
        uint32_t v = pop(m, osz);
        uint32_t chg = osz == 4 ? 0x00244fd5u : 0x4fd5u;
        m->fl = (m->fl & ~chg) | (v & chg);
        NEXT(p);
        trace(m, " popf%s", osz == 4 ? "d" : "");
    } else if (op == 0xcd) {
        /* INT n: "IF EFLAGS.VM = 1 and EFLAGS.IOPL < 3 ... THEN #GP(0)" */
        uint32_t n = code_byte(m, p);
        if (iopl(m) < 3)
            GP0("int");
        NEXT(p + 1);
        e->vec = (int)n;
        e->soft = 1;
        e->has_err = 0;
        e->eip = next;
        e->rf = m->fl & RF;
        trace(m, " int %02x", n);
        return 1;
    } else if (op == 0xcc || op == 0xce || op == 0xf1) {
        /* INT3, INTO, INT1: no IOPL check in V86 mode; INT3/INTO are
         * software interrupts (gate DPL checked), INT1 is not ("does not
         * apply to INT1") */
        NEXT(p);
        if (op == 0xce && !(m->fl & OF)) {
            trace(m, " into (OF 0)");
        } else {
            e->vec = op == 0xcc ? 3 : op == 0xce ? 4 : 1;
            e->soft = op != 0xf1;
            e->has_err = 0;
            e->eip = next;
            e->rf = m->fl & RF;
            trace(m, " %s", op == 0xcc ? "int3" : op == 0xce ? "into" : "int1");
            return 1;
        }
    } else if (op == 0xcf) {
        /* IRET, RETURN-FROM-VIRTUAL-8086-MODE (CR4.VME = 0): with IOPL 3
         * pop EIP, CS, EFLAGS ("VM, IOPL, VIP and VIF EFLAG bits not
         * modified by pop"; 16-bit: FLAGS[15:0], "IOPL in EFLAGS not
         * modified by pop"), "IF EIP not within CS limit THEN #GP(0)";
         * with IOPL < 3 #GP(0) */
        if (iopl(m) < 3)
            GP0("iret");
        uint32_t sp0 = m->r[ESP];
        uint32_t eip = pop(m, osz);
        uint16_t cs = (uint16_t)pop(m, osz);
        uint32_t fl = pop(m, osz);
        if (eip > 0xffffu) {
            m->r[ESP] = sp0;            /* a fault: the instruction did nothing */
            GP0("iretd beyond the CS limit");
        }
        uint32_t chg = osz == 4 ? VALID & ~(VM | IOPL | 0x00180000u) : 0x4fd5u;
        m->fl = (m->fl & ~chg) | (fl & chg);
        m->sreg[CS] = cs;
        m->ip = eip;
        trace(m, " iret%s to %04x:%04x", osz == 4 ? "d" : "", cs, eip);
        return 0;
    } else if ((op >= 0xe4 && op <= 0xe7) || (op >= 0xec && op <= 0xef)) {
        /* IN/OUT: "IF (PE = 1) and ((CPL > IOPL) or (VM = 1)) THEN IF
         * (Any I/O Permission Bit for I/O port being accessed = 1) THEN
         * #GP(0)" */
        int size = (op & 1) ? osz : 1;
        int out = (op & 2) != 0;
        uint16_t port = op >= 0xec ? (uint16_t)m->r[EDX] : code_byte(m, p);
        NEXT(p + (op >= 0xec ? 0u : 1u));
        if (!io_allowed(m, port, size)) {
            trace(m, " %s port %04x/%d", out ? "out" : "in", port, size);
            GP0("denied by the I/O bitmap");
        }
        if (out) {
            io_log(m, port, size, 1, size == 4 ? m->r[EAX] : m->r[EAX] & ((1u << (8 * size)) - 1));
        } else {
            uint32_t v = v86e_port_value(port, size);
            set_reg(m, EAX, size, v);
            io_log(m, port, size, 0, v);
        }
        trace(m, " %s %04x/%d", out ? "out" : "in", port, size);
    } else if (op >= 0x6c && op <= 0x6f) {
        /* INS/OUTS: the same permission check for each element; with REP
         * nothing happens for a count of 0 (REP: "WHILE CountReg != 0") */
        int size = (op & 1) ? osz : 1;
        int outs = (op & 2) != 0;
        uint16_t port = (uint16_t)m->r[EDX];
        uint32_t amask = asz == 4 ? 0xffffffffu : 0xffffu;
        uint32_t d = (m->fl & DF) ? (uint32_t)-size : (uint32_t)size;
        int idx = outs ? ESI : EDI;
        uint32_t count = rep ? m->r[ECX] & amask : 1;
        NEXT(p);
        trace(m, " %s%s %04x/%d x%u", rep ? "rep " : "", outs ? "outs" : "ins", port, size, count);
        for (; count; count--) {
            if (!io_allowed(m, port, size))
                GP0("denied by the I/O bitmap");
            uint32_t a = m->r[idx] & amask;
            if (outs) {
                io_log(m, port, size, 1, rd(m, a, size));
            } else {
                uint32_t v = v86e_port_value(port, size);
                io_log(m, port, size, 0, v);
                wr(m, a, size, v);
            }
            m->r[idx] = (m->r[idx] & ~amask) | ((a + d) & amask);
            if (rep)
                m->r[ECX] = (m->r[ECX] & ~amask) | ((count - 1) & amask);
        }
    } else if (op == 0xf4) {
        GP0("hlt");
    } else if (op == 0x63) {
        UD("arpl");
    } else if (op == 0x0f) {
        uint8_t op2 = code_byte(m, p);
        uint8_t modrm = code_byte(m, p + 1);
        int reg = (modrm >> 3) & 7;
        if (op2 == 0x00)
            UD("0f 00 (sldt str lldt ltr verr verw)");
        if (op2 == 0x02 || op2 == 0x03)
            UD(op2 == 0x02 ? "lar" : "lsl");
        if (op2 == 0x01 && (reg == 2 || reg == 3 || reg == 6 || reg == 7))
            GP0("lgdt/lidt/lmsw/invlpg at CPL 3");
        if (op2 == 0x06 || op2 == 0x08 || op2 == 0x09 || op2 == 0x30 || op2 == 0x32 ||
            (op2 >= 0x20 && op2 <= 0x23))
            GP0("privileged 0f instruction");
        trace(m, " [0f %02x: not in the model]", op2);
        return -1;
    } else {
        trace(m, " [%02x: not in the model]", op);
        return -1;
    }
    m->ip = next;
    return 0;
#undef NEXT
}

/* ---- delivery ---- */

static int err_sel(uint16_t sel, uint32_t ext) { return (int)((sel & 0xfffcu) | ext); }

/* Deliver e through the IDT. 0: done (the handler runs), 1: a fault
 * instead, in *f (the caller delivers it), -1: outside the model. */
static int deliver(struct m *m, const struct event *e, uint32_t ext, struct event *f)
{
    const struct v86e_gate *g = &m->c->gate[e->vec];
    uint32_t type = g->access & 0x1fu;          /* with S */
    uint32_t dpl = (g->access >> 5) & 3;
    uint32_t ierr = (uint32_t)e->vec * 8 + 2 + ext;   /* error_code(vector, 1, EXT) */

    /* INT n, PROTECTED-MODE: "IF ... selected IDT descriptor is not an
     * interrupt-, trap-, or task-gate type THEN #GP(error_code(vector,
     * 1,EXT))"; "IF software interrupt ... IF gate DPL < CPL THEN
     * #GP(error_code(vector,1,0))"; "IF gate not present THEN
     * #NP(error_code(vector,1,EXT))" */
    if (type != V86E_GATE_INT32 && type != V86E_GATE_TRAP32 && type != V86E_GATE_INT16 &&
        type != V86E_GATE_TRAP16) {
        if (type == 0x05) {
            trace(m, " [task gate: not in the model]");
            return -1;
        }
        trace(m, " -> gate %02x not a gate: #GP(%02x)", e->vec, ierr);
        fault(f, 13, 1, ierr, m->ip, RF);
        return 1;
    }
    if (e->soft && dpl < 3) {
        trace(m, " -> gate %02x DPL %u < CPL 3: #GP(%02x)", e->vec, dpl, ierr - ext);
        fault(f, 13, 1, ierr - ext, m->ip, RF);
        return 1;
    }
    if (!(g->access & 0x80)) {
        trace(m, " -> gate %02x not present: #NP(%02x)", e->vec, ierr);
        fault(f, 11, 1, ierr, m->ip, RF);
        return 1;
    }
    /* TRAP-OR-INTERRUPT-GATE: "IF new code-segment selector is NULL THEN
     * #GP(EXT)"; "... not within its descriptor table limits THEN
     * #GP(error_code(new code-segment selector,0,EXT))"; "IF descriptor
     * does not indicate a code segment or new code-segment DPL > CPL THEN
     * #GP(...)"; "IF new code-segment is not present THEN #NP(...)";
     * non-conforming with DPL < CPL and VM = 1: "IF new code-segment DPL
     * != 0 THEN #GP(...)", else INTERRUPT-FROM-VIRTUAL-8086-MODE;
     * conforming or DPL = CPL with VM = 1: #GP(new code-segment selector) */
    uint16_t sel = g->sel;
    if ((sel & 0xfffc) == 0) {
        trace(m, " -> null target: #GP(%x)", ext);
        fault(f, 13, 1, ext, m->ip, RF);
        return 1;
    }
    const struct v86e_desc *d = v86e_desc(sel);
    if (!d || !d->code || d->system || d->dpl > 3) {
        trace(m, " -> target %04x %s: #GP(%04x)", sel, d ? "not code" : "beyond the GDT",
              err_sel(sel, ext));
        fault(f, 13, 1, (uint32_t)err_sel(sel, ext), m->ip, RF);
        return 1;
    }
    if (!d->present) {
        trace(m, " -> target %04x not present: #NP(%04x)", sel, err_sel(sel, ext));
        fault(f, 11, 1, (uint32_t)err_sel(sel, ext), m->ip, RF);
        return 1;
    }
    if (d->conforming || d->dpl != 0) {
        trace(m, " -> target %04x %s: #GP(%04x)", sel,
              d->conforming ? "conforming" : "DPL != 0", err_sel(sel, ext));
        fault(f, 13, 1, (uint32_t)err_sel(sel, ext), m->ip, RF);
        return 1;
    }

    /* INTERRUPT-FROM-VIRTUAL-8086-MODE (TSS.SS0:ESP0 valid, room for the
     * frame: the case's machine is built so). "tempEFLAGS <- EFLAGS; VM
     * <- 0; TF <- 0; RF <- 0; NT <- 0; IF service through interrupt gate
     * THEN IF = 0"; SS:ESP from the TSS; push GS FS DS ES, the old SS and
     * ESP, tempEFLAGS, CS, EIP (16 bits each through a 16-bit gate, 32
     * through a 32-bit one, "segment selector pushes in 32-bit mode are
     * padded to two words": their upper halves are not compared), the
     * error code if any; "GS <- 0; FS <- 0; DS <- 0; ES <- 0"; CS from the
     * gate (RPL 0: CPL 0), EIP the gate's offset (AND FFFFH for a 16-bit
     * gate). */
    int g32 = (type & 0x08) != 0;
    int size = g32 ? 4 : 2;
    uint32_t vals[10];
    int issel[10];
    int n = 0;
#define PUSHV(v, s) (vals[n] = (v), issel[n] = (s), n++)
    PUSHV(m->sreg[GS], 1);
    PUSHV(m->sreg[FS], 1);
    PUSHV(m->sreg[DS], 1);
    PUSHV(m->sreg[ES], 1);
    PUSHV(m->sreg[SS], 1);
    PUSHV(m->r[ESP], 0);
    PUSHV(m->fl | e->rf, 0);
    PUSHV(m->sreg[CS], 1);
    PUSHV(e->eip, 0);
    if (e->has_err)
        PUSHV(e->err, 0);
#undef PUSHV
    struct v86s_out *o = m->o;
    uint32_t sp = V86E_ESP0;
    for (int i = 0; i < n; i++) {
        sp -= (uint32_t)size;
        uint32_t k = sp - (V86E_ESP0 - V86E_R0AREA);
        for (int b = 0; b < size; b++) {
            o->r0[k + (uint32_t)b] = (uint8_t)(vals[i] >> (8 * b));
            o->r0_care[k + (uint32_t)b] = !(issel[i] && b >= 2);
        }
    }
    m->fl &= ~(VM | TF | RF | NT);
    if (!(type & 1))
        m->fl &= ~IF_;
    m->r[ESP] = sp;
    m->sreg[ES] = m->sreg[DS] = m->sreg[FS] = m->sreg[GS] = 0;
    m->sreg[SS] = V86E_SEL_DATA0;
    m->sreg[CS] = sel & 0xfffc;
    trace(m, " -> %s gate %02x to %04x", g32 ? "32-bit" : "16-bit", e->vec, sel & 0xfffc);
    return 0;
}

void v86m_run(const struct v86s_case *c, struct v86s_out *o)
{
    struct m m;
    memset(o, 0, sizeof(*o));
    memset(&m, 0, sizeof(m));
    m.c = c;
    m.o = o;
    dt_fill(m.mem, c->fill);
    memcpy(m.init, m.mem, sizeof(m.mem));
    memset(o->r0, V86E_R0FILL, sizeof(o->r0));
    memset(o->r0_care, 1, sizeof(o->r0_care));
    /* the entering IRETD (RETURN-TO-VIRTUAL-8086-MODE): EFLAGS, CS:EIP,
     * SS:ESP, ES, DS, FS, GS from its frame; CPL 3 */
    memcpy(m.r, c->regs, sizeof(m.r));
    m.fl = (c->eflags & VALID) | 2u;
    m.sreg[CS] = V86E_CS;
    m.sreg[SS] = m.sreg[DS] = m.sreg[ES] = V86E_DS;
    m.sreg[FS] = c->fs;
    m.sreg[GS] = c->gs;
    m.ip = V86S_IP0;
    trace(&m, "iopl %d:", iopl(&m));

    struct event e, f;
    int st = 0;
    for (int k = 0; k < 4 * V86S_MAX_INSN && st == 0; k++) {
        st = step(&m, &e);
        if (m.fl & TF) {
            trace(&m, " [TF set: single-step traps are not in the model]");
            st = -1;
        }
    }
    if (st == 1 && !m.bad) {
        st = deliver(&m, &e, e.soft ? 0 : 1, &f);
        if (st == 1) {
            /* a fault while delivering: of the INT instruction itself for
             * INT n/INT3/INTO (EIP and ESP as before it); delivered next */
            e = f;
            st = deliver(&m, &e, 1, &f);
            if (st == 1) {
                trace(&m, " [a fault delivering a fault: not in the model]");
                st = -1;
            }
        }
    }
    if (st != 0 || m.bad) {
        o->vector = V86S_MODEL;
        return;
    }
    o->vector = e.vec;
    memcpy(o->regs, m.r, sizeof(o->regs));
    o->eflags = m.fl;
    memcpy(o->sel, m.sreg, sizeof(o->sel));
    for (uint32_t i = 0; i < DT_DATA_SIZE; i += 4) {
        uint32_t a, b;
        memcpy(&a, m.mem + i, 4);
        memcpy(&b, m.init + i, 4);
        if (a != b) {
            if (o->ndirty < DT_DIRTY_MAX) {
                o->dirty[o->ndirty].off = i;
                o->dirty[o->ndirty].val = a;
            }
            o->ndirty++;
        }
    }
}

/* ---- comparison ---- */

struct out {
    char *buf;
    size_t len, n;
};

static void put(struct out *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *w, const char *fmt, ...)
{
    if (w->n + 1 >= w->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(w->buf + w->n, w->len - w->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        w->n = w->n + (size_t)k < w->len ? w->n + (size_t)k : w->len - 1;
}

int v86m_compare(const struct v86s_out *want, const struct v86s_out *got, char *buf, size_t len)
{
    static const char *const rn[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
    static const char *const sn[6] = { "es", "cs", "ss", "ds", "fs", "gs" };
    struct out w = { buf, len, 0 };
    int nd = 0;
    buf[0] = 0;
    if (want->vector != got->vector) {
        put(&w, "  handler: SDM vector %d, vsmp %d\n", want->vector, got->vector);
        nd++;
    }
    for (int i = 0; i < 8; i++)
        if (want->regs[i] != got->regs[i]) {
            put(&w, "  %s: SDM %08x, vsmp %08x\n", rn[i], want->regs[i], got->regs[i]);
            nd++;
        }
    if (want->eflags != got->eflags) {
        put(&w, "  eflags: SDM %08x, vsmp %08x\n", want->eflags, got->eflags);
        nd++;
    }
    for (int i = 0; i < 6; i++)
        if (want->sel[i] != got->sel[i]) {
            put(&w, "  %s: SDM %04x, vsmp %04x\n", sn[i], want->sel[i], got->sel[i]);
            nd++;
        }
    for (uint32_t i = 0; i < V86E_R0AREA; i += 4) {
        uint32_t a = 0, b = 0, mask = 0;
        for (int k = 0; k < 4; k++) {
            a |= (uint32_t)want->r0[i + (uint32_t)k] << (8 * k);
            b |= (uint32_t)got->r0[i + (uint32_t)k] << (8 * k);
            mask |= want->r0_care[i + (uint32_t)k] ? 0xffu << (8 * k) : 0;
        }
        if ((a ^ b) & mask) {
            put(&w, "  ring 0 stack [%08x]: SDM %08x, vsmp %08x (compared bits %08x)\n",
                V86E_ESP0 - V86E_R0AREA + i, a, b, mask);
            nd++;
        }
    }
    int memdiff = want->ndirty != got->ndirty;
    for (uint32_t i = 0; !memdiff && i < want->ndirty && i < DT_DIRTY_MAX; i++)
        if (want->dirty[i].off != got->dirty[i].off || want->dirty[i].val != got->dirty[i].val)
            memdiff = 1;
    if (memdiff) {
        put(&w, "  data area: SDM changed %u dwords, vsmp %u:", want->ndirty, got->ndirty);
        for (uint32_t i = 0; i < want->ndirty && i < 8; i++)
            put(&w, " SDM[%04x]=%08x", want->dirty[i].off, want->dirty[i].val);
        for (uint32_t i = 0; i < got->ndirty && i < 8; i++)
            put(&w, " vsmp[%04x]=%08x", got->dirty[i].off, got->dirty[i].val);
        put(&w, "\n");
        nd++;
    }
    int iodiff = want->nio != got->nio;
    for (uint32_t i = 0; !iodiff && i < want->nio && i < V86S_IO_MAX; i++)
        if (memcmp(&want->io[i], &got->io[i], sizeof(want->io[i])))
            iodiff = 1;
    if (iodiff) {
        put(&w, "  port accesses: SDM %u, vsmp %u:", want->nio, got->nio);
        for (uint32_t i = 0; i < want->nio && i < 6; i++)
            put(&w, " SDM %s %04x/%u=%x", want->io[i].out ? "out" : "in", want->io[i].port,
                want->io[i].size, want->io[i].value);
        for (uint32_t i = 0; i < got->nio && i < 6; i++)
            put(&w, " vsmp %s %04x/%u=%x", got->io[i].out ? "out" : "in", got->io[i].port,
                got->io[i].size, got->io[i].value);
        put(&w, "\n");
        nd++;
    }
    return nd;
}
