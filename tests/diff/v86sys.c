/* v86sys.c - generator of the differential test's V86 system cases (see
 * v86sys.h). Encodings by hand from the opcode map (SDM Vol. 2, App. A);
 * the default operand and address size are 16 bits (V86 mode), 66/67
 * select 32. */
#include <string.h>

#include "v86sys.h"

struct sg {
    struct v86s_case *c;
    uint64_t rng;
    uint8_t touched[256];            /* gate already chosen for the case */
};

static uint32_t rnd(struct sg *g) { return (uint32_t)(dt_rand(&g->rng) >> 32); }
static uint32_t rn(struct sg *g, uint32_t n) { return rnd(g) % n; }
static int chance(struct sg *g, int pct) { return (int)rn(g, 100) < pct; }

static void emit(struct sg *g, uint8_t b)
{
    if (g->c->code_len < V86S_CODE_MAX)
        g->c->code[g->c->code_len] = b;
    g->c->code_len++;
}
static void emit16(struct sg *g, uint32_t v) { emit(g, (uint8_t)v); emit(g, (uint8_t)(v >> 8)); }
static void emit32(struct sg *g, uint32_t v) { emit16(g, v); emit16(g, v >> 16); }

static void begin(struct sg *g, int item)
{
    struct v86s_case *c = g->c;
    if (c->ninsn < V86S_MAX_INSN) {
        c->insn[c->ninsn].off = (uint16_t)c->code_len;
        c->insn[c->ninsn].item = (uint8_t)item;
        c->ninsn++;
    }
    c->nitem[item]++;
}

/* MOV r16/r32, imm */
static void mov_imm(struct sg *g, int r, uint32_t v, int size32)
{
    begin(g, VS_SETUP);
    if (size32)
        emit(g, 0x66);
    emit(g, (uint8_t)(0xb8 + r));
    if (size32)
        emit32(g, v);
    else
        emit16(g, v);
}

/* PUSH imm16/imm32 */
static void push_imm(struct sg *g, uint32_t v, int size32)
{
    begin(g, VS_SETUP);
    if (size32)
        emit(g, 0x66);
    emit(g, 0x68);
    if (size32)
        emit32(g, v);
    else
        emit16(g, v);
}

/* ---- gates ---- */

/* A target selector: mostly a DPL 0 non-conforming code segment (the
 * only kind V86 mode may interrupt to), sometimes one that is not. */
static uint16_t rand_target(struct sg *g, int valid_only)
{
    static const uint16_t bad[] = {
        V86E_SEL_CODE3, V86E_SEL_CONF0, V86E_SEL_CODE1, V86E_SEL_DATA, V86E_SEL_NP,
        V86E_SEL_TSS, 0x0000, 0x0002, 0x0058, 0x0078,
    };
    uint16_t sel;
    if (valid_only || chance(g, 75))
        sel = chance(g, 80) ? V86E_SEL_CODE0 : V86E_SEL_CODE16;
    else
        sel = bad[rn(g, sizeof(bad) / sizeof(bad[0]))];
    if (sel >= 4 && chance(g, 25))
        sel |= (uint16_t)rn(g, 4);                   /* RPL: ignored */
    return sel;
}

/* Gate for vector v. deliverable: an exception vector of the case (#UD,
 * #NP, #GP) or ICEBP's: always a present interrupt/trap gate to a valid
 * target (the model does not follow double faults), DPL still random. */
static void rand_gate(struct sg *g, int v, int deliverable)
{
    static const uint8_t types[4] = { V86E_GATE_INT32, V86E_GATE_TRAP32, V86E_GATE_INT16,
                                      V86E_GATE_TRAP16 };
    static const uint8_t badtypes[4] = { 0x0c, 0x09, 0x1e, 0x00 };  /* call gate, TSS, S=1, 0 */
    if (g->touched[v])
        return;
    g->touched[v] = 1;
    struct v86e_gate *gt = &g->c->gate[v];
    uint8_t type = chance(g, 60) ? types[rn(g, 2)] : types[rn(g, 4)];
    int present = 1;
    if (!deliverable) {
        if (chance(g, 8))
            type = badtypes[rn(g, 4)];
        else if (chance(g, 8))
            present = 0;
    }
    uint32_t dpl = chance(g, 70) ? 3 : rn(g, 3);
    gt->access = (uint8_t)((present ? 0x80u : 0) | dpl << 5 | type);
    gt->sel = rand_target(g, deliverable);
}

/* ---- items ---- */

static void it_cli_sti(struct sg *g)
{
    int sti = (int)rn(g, 2);
    begin(g, sti ? VS_STI : VS_CLI);
    emit(g, sti ? 0xfb : 0xfa);
}

static void it_pushf(struct sg *g)
{
    begin(g, VS_PUSHF);
    if (rn(g, 2))
        emit(g, 0x66);
    emit(g, 0x9c);
}

/* An EFLAGS image to pop: anything but TF (the model has no single-step
 * traps) and, for IRET, RF (it would last into the next instruction). */
static uint32_t rand_image(struct sg *g, int iret)
{
    uint32_t v = rnd(g) & ~0x100u;
    if (iret)
        v &= ~0x10000u;
    return v;
}

static void it_popf(struct sg *g)
{
    int s32 = (int)rn(g, 2);
    int push32 = chance(g, 85) ? s32 : !s32;
    push_imm(g, rand_image(g, 0), push32);
    begin(g, VS_POPF);
    if (s32)
        emit(g, 0x66);
    emit(g, 0x9d);
}

static void it_int(struct sg *g)
{
    int v = chance(g, 80) ? (int)rn(g, 256) : (int)(rn(g, 2) ? 13 : 1 + rn(g, 4));
    rand_gate(g, v, v == 1 || v == 6 || v == 11 || v == 13);
    begin(g, VS_INT);
    emit(g, 0xcd);
    emit(g, (uint8_t)v);
}

static void it_int3_into(struct sg *g)
{
    switch (rn(g, 3)) {
    case 0:
        rand_gate(g, 3, 0);
        begin(g, VS_INT3);
        emit(g, 0xcc);
        break;
    case 1:
        rand_gate(g, 4, 0);
        begin(g, VS_INTO);
        emit(g, 0xce);
        break;
    default:
        rand_gate(g, 1, 1);
        begin(g, VS_ICEBP);
        emit(g, 0xf1);
        break;
    }
}

/* IRET to the next instruction, through another CS:IP for the same
 * linear address now and then; IRETD sometimes with EIP > 0xffff. */
static void it_iret(struct sg *g)
{
    int s32 = (int)rn(g, 2);
    /* the pushes are 3 instructions of 3 (68 iw) or 6 (66 68 id) bytes,
     * the IRET 1 or 2 */
    uint32_t after = g->c->code_len + 3u * (s32 ? 6u : 3u) + (s32 ? 2u : 1u);
    uint32_t lin = V86E_CODE_LIN + V86S_IP0 + after;
    int32_t d = chance(g, 50) ? 0 : (int32_t)rn(g, 33) - 16;
    uint32_t cs = (uint32_t)((int32_t)V86E_CS + d);
    uint32_t ip = lin - (cs << 4);
    if (s32 && chance(g, 10))
        ip += 0x10000u * (1 + rn(g, 0x100));          /* beyond the CS limit: #GP(0) */
    push_imm(g, rand_image(g, 1), s32);
    push_imm(g, s32 ? (rnd(g) & 0xffff0000u) | cs : cs, s32);
    push_imm(g, ip, s32);
    begin(g, VS_IRET);
    if (s32)
        emit(g, 0x66);
    emit(g, 0xcf);
}

/* A port: mostly the bitmap's first 0x400 ports, some at its end (the
 * byte after it, the TSS limit), some anywhere. */
static uint16_t rand_port(struct sg *g)
{
    switch (rn(g, 5)) {
    case 0: return (uint16_t)(0xfff0u + rn(g, 16));
    case 1: return (uint16_t)rnd(g);
    default: return (uint16_t)rn(g, 0x400);
    }
}

static void it_in_out(struct sg *g)
{
    int out = (int)rn(g, 2);
    int size = (int)rn(g, 3);                        /* byte, word, dword */
    int dx = (int)rn(g, 2);
    uint16_t port = dx ? rand_port(g) : (uint16_t)rn(g, 256);
    if (dx)
        mov_imm(g, 2, port, 0);                      /* MOV DX, port */
    if (out && chance(g, 40))
        mov_imm(g, 0, rnd(g), 1);                    /* MOV EAX, imm32 */
    begin(g, out ? VS_OUT : VS_IN);
    if (size == 2)
        emit(g, 0x66);
    emit(g, (uint8_t)((dx ? 0xec : 0xe4) + (out ? 2 : 0) + (size ? 1 : 0)));
    if (!dx)
        emit(g, (uint8_t)port);
}

static void it_ins_outs(struct sg *g)
{
    int outs = (int)rn(g, 2);
    int size = (int)rn(g, 3);
    int a32 = chance(g, 25);
    int rep = chance(g, 35);
    mov_imm(g, 2, rand_port(g), 0);                  /* MOV DX, port */
    /* SI/DI: into the general part of the data area (DS = ES = V86E_DS) */
    mov_imm(g, outs ? 6 : 7, 0x800u + rn(g, 0x1000), a32);
    if (rep)
        mov_imm(g, 1, rn(g, 5), a32);               /* CX / ECX: 0..4 */
    begin(g, outs ? VS_OUTS : VS_INS);
    if (rep)
        emit(g, 0xf3);
    if (outs && chance(g, 20)) {
        static const uint8_t segs[3] = { 0x26, 0x36, 0x3e };
        emit(g, segs[rn(g, 3)]);
    }
    if (a32)
        emit(g, 0x67);
    if (size == 2)
        emit(g, 0x66);
    emit(g, (uint8_t)((outs ? 0x6e : 0x6c) + (size ? 1 : 0)));
}

/* Not recognized in V86 mode (#UD): SLDT STR LLDT LTR VERR VERW, LAR,
 * LSL, ARPL - register forms. */
static void it_ud(struct sg *g)
{
    uint8_t modrm = (uint8_t)(0xc0 | rn(g, 64));
    begin(g, VS_UD);
    switch (rn(g, 4)) {
    case 0:
    case 1:
        emit(g, 0x0f);
        emit(g, 0x00);
        emit(g, (uint8_t)(0xc0 | rn(g, 6) << 3 | rn(g, 8)));
        break;
    case 2:
        emit(g, 0x0f);
        emit(g, (uint8_t)(2 + rn(g, 2)));            /* LAR, LSL */
        emit(g, modrm);
        break;
    default:
        emit(g, 0x63);                               /* ARPL */
        emit(g, modrm);
        break;
    }
}

/* Privileged at CPL 3 (#GP(0)): HLT CLTS INVD WBINVD WRMSR RDMSR, MOV
 * to/from CR0 CR2 CR3 CR4 and DR0-3 DR6 DR7, LGDT LIDT INVLPG [SI], LMSW. */
static void it_priv(struct sg *g)
{
    static const uint8_t crs[4] = { 0, 2, 3, 4 };
    static const uint8_t drs[6] = { 0, 1, 2, 3, 6, 7 };
    static const uint8_t simple[5] = { 0x06, 0x08, 0x09, 0x30, 0x32 };
    begin(g, VS_PRIV);
    switch (rn(g, 6)) {
    case 0:
        emit(g, 0xf4);
        break;
    case 1:
        emit(g, 0x0f);
        emit(g, simple[rn(g, 5)]);
        break;
    case 2:
        emit(g, 0x0f);
        emit(g, (uint8_t)(0x20 + 2 * rn(g, 2)));
        emit(g, (uint8_t)(0xc0 | crs[rn(g, 4)] << 3 | rn(g, 8)));
        break;
    case 3:
        emit(g, 0x0f);
        emit(g, (uint8_t)(0x21 + 2 * rn(g, 2)));
        emit(g, (uint8_t)(0xc0 | drs[rn(g, 6)] << 3 | rn(g, 8)));
        break;
    case 4: {
        static const uint8_t r[3] = { 2, 3, 7 };
        emit(g, 0x0f);
        emit(g, 0x01);
        emit(g, (uint8_t)(r[rn(g, 3)] << 3 | 4));    /* [SI] */
        break;
    }
    default:
        emit(g, 0x0f);
        emit(g, 0x01);
        emit(g, (uint8_t)(0xc0 | 6 << 3 | rn(g, 8)));  /* LMSW r16 */
        break;
    }
}

static void item(struct sg *g)
{
    switch (rn(g, 20)) {
    case 0: case 1: it_cli_sti(g); break;
    case 2: case 3: it_pushf(g); break;
    case 4: case 5: it_popf(g); break;
    case 6: case 7: it_int(g); break;
    case 8: case 9: it_int3_into(g); break;
    case 10: case 11: it_iret(g); break;
    case 12: case 13: case 14: it_in_out(g); break;
    case 15: case 16: it_ins_outs(g); break;
    case 17: it_ud(g); break;
    case 18: it_priv(g); break;
    default: mov_imm(g, (int)rn(g, 4), rnd(g), (int)rn(g, 2)); break;
    }
}

void v86s_gen(struct v86s_case *c, uint64_t seed, uint32_t index)
{
    struct sg g;
    memset(c, 0, sizeof(*c));
    memset(&g, 0, sizeof(g));
    g.c = c;
    g.rng = dt_mix(seed ^ dt_mix(index) ^ 0x7638365359530000ull);
    c->index = index;
    c->fill = dt_rand(&g.rng);
    for (int r = 0; r < 8; r++)
        c->regs[r] = rnd(&g);
    /* ESP: any high half (the frame holds all of it), SP in the stack part
     * of the data area (SS = V86E_DS) */
    c->regs[4] = (c->regs[4] & 0xffff0000u) | (DT_STACK_LO + 0x400u + (rn(&g, 0x100) & ~1u));
    /* EFLAGS: IOPL 3 half of the time; every other bit that exists at
     * random except TF and RF (VM set) */
    uint32_t iopl = chance(&g, 50) ? 3 : rn(&g, 3);
    c->eflags = (rnd(&g) & 0x003c4ed5u) | 0x00020002u | iopl << 12;
    c->fs = (uint16_t)rnd(&g);
    c->gs = (uint16_t)rnd(&g);
    for (int v = 0; v < 256; v++) {
        c->gate[v].access = 0x80 | 3 << 5 | V86E_GATE_INT32;
        c->gate[v].sel = V86E_SEL_CODE0;
    }
    /* the exceptions the cases raise: #UD, #NP, #GP */
    rand_gate(&g, 6, 1);
    rand_gate(&g, 11, 1);
    rand_gate(&g, 13, 1);

    /* TSS: I/O map base and limit */
    c->iomap = chance(&g, 50) ? 0x68 : (uint16_t)(0x68 + rn(&g, 0x199));
    switch (rn(&g, 8)) {
    case 0: c->tss_limit = c->iomap + 0x1fffu; break;              /* no byte after it */
    case 1: case 2: c->tss_limit = c->iomap + rn(&g, 0x90); break; /* a short bitmap */
    case 3: c->tss_limit = 0x67 + rn(&g, c->iomap - 0x67u + 1); break; /* none */
    default: c->tss_limit = c->iomap + 0x2000u; break;
    }
    static const uint32_t dens[5] = { 0, 16, 64, 128, 256 };   /* 1-bits per 256 */
    uint32_t p = dens[rn(&g, 5)];
    for (uint32_t i = 0; i < V86S_MAP_LO + V86S_MAP_HI; i++) {
        uint8_t b = 0;
        for (int k = 0; k < 8; k++)
            if (rn(&g, 256) < p)
                b |= (uint8_t)(1u << k);
        if (i < V86S_MAP_LO)
            c->map_lo[i] = b;
        else
            c->map_hi[i - V86S_MAP_LO] = b;
    }
    if (chance(&g, 80))
        c->map_hi[V86S_MAP_HI - 1] = 0xff;          /* the byte after the bitmap */
    c->map_mid = chance(&g, 70) ? 0 : 0xff;

    int n = 1 + (int)rn(&g, 6);
    for (int i = 0; i < n && c->code_len < V86S_CODE_MAX - 40; i++)
        item(&g);
    for (int i = 0; i < c->ninsn; i++) {
        uint32_t end = i + 1 < c->ninsn ? c->insn[i + 1].off : c->code_len;
        c->insn[i].len = (uint8_t)(end - c->insn[i].off);
    }
}

uint8_t v86s_map_byte(const struct v86s_case *c, uint32_t i)
{
    if (i < V86S_MAP_LO)
        return c->map_lo[i];
    if (i >= V86S_MAP_LEN - V86S_MAP_HI && i < V86S_MAP_LEN)
        return c->map_hi[i - (V86S_MAP_LEN - V86S_MAP_HI)];
    return c->map_mid;
}

const char *v86s_item_name(int item)
{
    static const char *const names[VS_NITEM] = {
        "setup", "cli", "sti", "pushf", "popf", "int", "int3", "into", "icebp", "iret",
        "in", "out", "ins", "outs", "ud", "priv",
    };
    return item >= 0 && item < VS_NITEM ? names[item] : "?";
}
