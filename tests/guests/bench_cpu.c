/* bench_cpu.c - CPU-bound guest for `make bench`: hashes a few MiB of
 * generated data, sorts a large array and runs a small bytecode
 * interpreter, printing checksums and the work done. The command line
 * "scale=N" sets the amount of work (default 10, ~1-3 s under QEMU TCG;
 * the guest test suite uses scale=1). */
#include "lib/guest.h"
#include "lib/msort.h"

#define DATA_BYTES (4u << 20)
#define SORT_N (128u << 10)
static uint8_t data[DATA_BYTES] __attribute__((aligned(4096)));
static uint32_t arr[SORT_N], tmp[SORT_N];

static uint32_t rng;
static uint32_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static uint32_t hash_pass(uint32_t seed)
{
    rng = seed;
    uint32_t *w = (uint32_t *)data;
    for (uint32_t i = 0; i < DATA_BYTES / 4; i++)
        w[i] = xorshift();
    uint32_t h = 2166136261u;                     /* FNV-1a over bytes */
    for (uint32_t i = 0; i < DATA_BYTES; i++)
        h = (h ^ data[i]) * 16777619u;
    return h;
}


static uint32_t sort_pass(uint32_t seed)
{
    rng = seed;
    for (uint32_t i = 0; i < SORT_N; i++)
        arr[i] = xorshift();
    uint32_t *sorted = merge_sort(arr, tmp, SORT_N);
    if (sorted != arr) /* the result is in whichever buffer the last pass wrote */
        memcpy(arr, sorted, SORT_N * sizeof(uint32_t));
    uint32_t sum = 0;
    for (uint32_t i = 0; i < SORT_N; i++) {
        if (i && arr[i - 1] > arr[i])
            fail(2, "not sorted at %u", i);
        sum = sum * 31 + arr[i];
    }
    return sum;
}

/* bytecode VM: a stack machine with a few registers */
enum { OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_XOR, OP_SHR,
       OP_JNZ, OP_DUP, OP_DROP, OP_HALT };
static const int32_t prog[] = {
    /* r1 = n (set by caller); r0 = acc; loop: acc = (acc*33 ^ r1) + (acc>>7); r1-- */
    OP_LOAD, 0, OP_PUSH, 33, OP_MUL, OP_LOAD, 1, OP_XOR,
    OP_LOAD, 0, OP_PUSH, 7, OP_SHR, OP_ADD, OP_STORE, 0,
    OP_LOAD, 1, OP_PUSH, 1, OP_SUB, OP_DUP, OP_STORE, 1,
    OP_JNZ, 0, OP_HALT,
};
static uint32_t vm_run(uint32_t n, uint32_t *steps)
{
    uint32_t reg[4] = { 1, n, 0, 0 }, st[16];
    int sp = 0;
    uint32_t pc = 0, count = 0;
    for (;;) {
        count++;
        switch (prog[pc++]) {
        case OP_PUSH: st[sp++] = (uint32_t)prog[pc++]; break;
        case OP_LOAD: st[sp++] = reg[prog[pc++]]; break;
        case OP_STORE: reg[prog[pc++]] = st[--sp]; break;
        case OP_ADD: sp--; st[sp - 1] += st[sp]; break;
        case OP_SUB: sp--; st[sp - 1] -= st[sp]; break;
        case OP_MUL: sp--; st[sp - 1] *= st[sp]; break;
        case OP_XOR: sp--; st[sp - 1] ^= st[sp]; break;
        case OP_SHR: sp--; st[sp - 1] >>= st[sp]; break;
        case OP_JNZ: { uint32_t t = (uint32_t)prog[pc++]; if (st[--sp]) pc = t; break; }
        case OP_DUP: st[sp] = st[sp - 1]; sp++; break;
        case OP_DROP: sp--; break;
        case OP_HALT: *steps += count; return reg[0];
        default: fail(3, "bad opcode at %u", pc - 1);
        }
    }
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    uint32_t scale = mb_cmdline_uint(mbi, "scale=", 10);
    if (scale == 0)
        scale = 1;
    printf("bench_cpu: scale %u\n", scale);
    uint32_t h = 0, s = 0, v = 0, steps = 0;
    for (uint32_t i = 0; i < scale; i++)
        h ^= hash_pass(0x1234567u + i);
    printf("hash: %u x %u KiB fnv1a -> %08x\n", scale, DATA_BYTES >> 10, h);
    for (uint32_t i = 0; i < scale; i++)
        s ^= sort_pass(0xabcdef1u + i);
    printf("sort: %u x %u elements -> %08x\n", scale, SORT_N, s);
    for (uint32_t i = 0; i < scale; i++)
        v ^= vm_run(200000 + i, &steps);
    printf("vm: %u bytecode steps -> %08x\n", steps, v);
    printf("work units: %u\n", scale * 3);
    printf("bench_cpu done\n");
    return 0;
}
