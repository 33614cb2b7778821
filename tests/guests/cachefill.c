/* cachefill.c - test guest that executes a lot of distinct code, to fill
 * (and overflow) the dynamic translator's code cache: a generator writes
 * 16384 small different code fragments (1 MiB of x86, one 64-byte slot
 * each) that compute on EAX and jump to each other along one random cycle
 * (DEC EDX; JNZ next; RET). Several passes run all of them from different
 * starting points, then a third of the fragments are rewritten in place
 * and everything runs again. A C model of the same operations gives the
 * expected results. Run with a small cache (`jit-cache 256K`) it makes the
 * translator flush while it is executing chained code. */
#include "lib/guest.h"

#define NFRAG 16384u
#define SLOT 64u
static uint8_t code[NFRAG * SLOT] __attribute__((aligned(4096)));
static uint16_t nextf[NFRAG];
static uint8_t version[NFRAG];

uint32_t cf_run(const void *entry, uint32_t eax, uint32_t ecx, uint32_t steps);
__asm__(".text\n.globl cf_run\ncf_run:\n"
        "    movl 8(%esp), %eax\n"
        "    movl 12(%esp), %ecx\n"
        "    movl 16(%esp), %edx\n"
        "    call *4(%esp)\n"
        "    ret\n");

static uint32_t hash(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

struct op { uint8_t kind, imm8; uint32_t imm; };

/* the operations of fragment i, version v */
static int frag_ops(uint32_t i, uint32_t v, struct op *ops)
{
    uint32_t r = hash(i * 2654435761u + v * 40503u + 1);
    int n = 2 + (int)(r % 5);                  /* 2..6 ops */
    for (int k = 0; k < n; k++) {
        r = hash(r + (uint32_t)k);
        ops[k].kind = (uint8_t)(r % 8);
        ops[k].imm = hash(r ^ 0xabcdu);
        ops[k].imm8 = (uint8_t)(1 + (r >> 8) % 31);
    }
    return n;
}

static uint32_t model_frag(uint32_t i, uint32_t eax, uint32_t ecx)
{
    struct op ops[6];
    int n = frag_ops(i, version[i], ops);
    for (int k = 0; k < n; k++) {
        uint32_t m = ops[k].imm, s = ops[k].imm8;
        switch (ops[k].kind) {
        case 0: eax += m; break;
        case 1: eax ^= m; break;
        case 2: eax = eax << s | eax >> (32 - s); break;
        case 3: eax *= m | 1; break;
        case 4: eax = eax + ecx * 2 + m; break;
        case 5: if (eax & (1u << (s & 7))) eax += m; break;
        case 6: eax -= ecx; break;
        case 7: eax = ~eax; break;
        }
    }
    return eax;
}

static void put32(uint8_t **p, uint32_t v)
{
    memcpy(*p, &v, 4);
    *p += 4;
}

static void gen_frag(uint32_t i)
{
    struct op ops[6];
    int n = frag_ops(i, version[i], ops);
    uint8_t *p = code + i * SLOT;
    for (int k = 0; k < n; k++) {
        uint32_t m = ops[k].imm;
        uint8_t s = ops[k].imm8;
        switch (ops[k].kind) {
        case 0: *p++ = 0x05; put32(&p, m); break;                       /* add $m,%eax */
        case 1: *p++ = 0x35; put32(&p, m); break;                       /* xor $m,%eax */
        case 2: *p++ = 0xc1; *p++ = 0xc0; *p++ = s; break;              /* rol $s,%eax */
        case 3: *p++ = 0x69; *p++ = 0xc0; put32(&p, m | 1); break;      /* imul $m,%eax,%eax */
        case 4: *p++ = 0x8d; *p++ = 0x84; *p++ = 0x48; put32(&p, m); break; /* lea m(%eax,%ecx,2),%eax */
        case 5:                                                         /* test $b,%al; jz +5; add $m,%eax */
            *p++ = 0xa8; *p++ = (uint8_t)(1u << (s & 7));
            *p++ = 0x74; *p++ = 0x05;
            *p++ = 0x05; put32(&p, m);
            break;
        case 6: *p++ = 0x29; *p++ = 0xc8; break;                        /* sub %ecx,%eax */
        case 7: *p++ = 0xf7; *p++ = 0xd0; break;                        /* not %eax */
        }
    }
    *p++ = 0x4a;                                                        /* dec %edx */
    *p++ = 0x0f; *p++ = 0x85;                                           /* jnz next */
    int32_t rel = (int32_t)(nextf[i] * SLOT) - (int32_t)(p + 4 - code);
    put32(&p, (uint32_t)rel);
    *p++ = 0xc3;                                                        /* ret */
    if (p > code + (i + 1) * SLOT)
        fail(2, "fragment %u too long", i);
    while (p < code + (i + 1) * SLOT)
        *p++ = 0xcc;
}

static uint32_t model_run(uint32_t start, uint32_t eax, uint32_t ecx, uint32_t steps)
{
    uint32_t f = start;
    for (uint32_t k = 0; k < steps; k++) {
        eax = model_frag(f, eax, ecx);
        f = nextf[f];
    }
    return eax;
}

static int pass(int no, uint32_t start, uint32_t eax, uint32_t ecx, uint32_t steps)
{
    uint32_t got = cf_run(code + start * SLOT, eax, ecx, steps);
    uint32_t want = model_run(start, eax, ecx, steps);
    printf("pass %d: start %u, %u fragments -> %08x, model %s\n", no, start, steps, got,
           got == want ? "agrees" : "DISAGREES");
    return got == want;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    /* one random cycle through all fragments (Sattolo) */
    for (uint32_t i = 0; i < NFRAG; i++)
        nextf[i] = (uint16_t)i;
    uint32_t r = 12345;
    for (uint32_t i = NFRAG - 1; i > 0; i--) {
        r = hash(r + i);
        uint32_t j = r % i;
        uint16_t t = nextf[i];
        nextf[i] = nextf[j];
        nextf[j] = t;
    }
    for (uint32_t i = 0; i < NFRAG; i++)
        gen_frag(i);
    printf("cachefill: %u fragments, %u KiB of generated code\n", NFRAG, NFRAG * SLOT / 1024);

    int ok = 1, no = 1;
    ok &= pass(no++, 0, 1, 3, NFRAG);
    for (uint32_t k = 0; k < 4; k++)
        ok &= pass(no++, hash(k) % NFRAG, k, 0x1000 + k, NFRAG + 1000 * k);

    /* rewrite every third fragment in place, run everything again */
    for (uint32_t i = 0; i < NFRAG; i += 3) {
        version[i]++;
        gen_frag(i);
    }
    printf("rewrote %u fragments\n", (NFRAG + 2) / 3);
    for (uint32_t k = 0; k < 3; k++)
        ok &= pass(no++, hash(k + 100) % NFRAG, 7 * k, 5, 2 * NFRAG);

    /* many short calls into scattered fragments */
    uint32_t acc = 0, macc = 0;
    for (uint32_t k = 0; k < 4096; k++) {
        uint32_t s = hash(k * 7 + 3) % NFRAG;
        acc = acc * 33 + cf_run(code + s * SLOT, k, acc, 3);
        macc = macc * 33 + model_run(s, k, macc, 3);
    }
    printf("4096 short runs: %08x, model %s\n", acc, acc == macc ? "agrees" : "DISAGREES");
    ok &= acc == macc;
    printf("cachefill %s\n", ok ? "done" : "FAILED");
    return 0;
}
