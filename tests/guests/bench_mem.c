/* bench_mem.c - memory-heavy guest for `make bench`: pointer chasing with
 * paging on. 6 MiB of 64-byte nodes are mapped page by page, in shuffled
 * order, into a linear window at 1 GiB (4 KiB pages), linked into one
 * random cycle, and chased (read the link, update the node) so that almost
 * every step touches a different page. "scale=N" sets the work (2M steps
 * a unit; default 10); the guest test suite uses scale=1. */
#include "lib/guest.h"

#define P  0x001u
#define RW 0x002u
#define WIN 0x40000000u
#define ARENA (6u << 20)
#define NPAGES (ARENA >> 12)
#define NODE 64u
#define NNODES (ARENA / NODE)

struct node { uint32_t next, val, pad[14]; };
static uint8_t arena[ARENA] __attribute__((aligned(4096)));
static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt_id[2][1024] __attribute__((aligned(4096)));   /* 0-8M identity */
static volatile uint32_t pt_win[2][1024] __attribute__((aligned(4096)));  /* window 6M */
static uint32_t perm[NNODES];

static uint32_t rng = 0x2545f491u;
static uint32_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

int main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    uint32_t scale = mb_cmdline_uint(mbi, "scale=", 10);
    if (scale == 0)
        scale = 1;
    printf("bench_mem: scale %u, %u KiB in %u nodes\n", scale, ARENA >> 10, NNODES);
    if ((uint32_t)arena + ARENA > (8u << 20))
        fail(2, "arena beyond the 8 MiB identity map");

    /* identity 0-8M; window pages: a random permutation of arena pages */
    for (uint32_t i = 0; i < 2048; i++)
        pt_id[i >> 10][i & 1023] = (i << 12) | P | RW;
    pd[0] = (uint32_t)pt_id[0] | P | RW;
    pd[1] = (uint32_t)pt_id[1] | P | RW;
    for (uint32_t i = 0; i < NPAGES; i++)
        perm[i] = i;
    for (uint32_t i = NPAGES - 1; i > 0; i--) {
        uint32_t j = xorshift() % (i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (uint32_t i = 0; i < NPAGES; i++)
        pt_win[i >> 10][i & 1023] = ((uint32_t)arena + (perm[i] << 12)) | P | RW;
    pd[WIN >> 22] = (uint32_t)pt_win[0] | P | RW;
    pd[(WIN >> 22) + 1] = (uint32_t)pt_win[1] | P | RW;
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | 0x80000000u);

    /* one random cycle over all nodes (Sattolo), links are window addresses */
    for (uint32_t i = 0; i < NNODES; i++)
        perm[i] = i;
    for (uint32_t i = NNODES - 1; i > 0; i--) {
        uint32_t j = xorshift() % i, t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    struct node *win = (struct node *)WIN;
    for (uint32_t i = 0; i < NNODES; i++) {
        win[i].next = (uint32_t)&win[perm[i]];
        win[i].val = i;
    }

    uint32_t steps = scale * 2000000u, sum = 0;
    struct node *p = &win[0];
    for (uint32_t s = 0; s < steps; s++) {
        sum = sum * 31 + p->val;
        p->val += s;
        p = (struct node *)p->next;
    }
    printf("chase: %u steps -> %08x, at node %u\n", steps, sum, (uint32_t)(p - win));
    printf("bench_mem done\n");
    return 0;
}
