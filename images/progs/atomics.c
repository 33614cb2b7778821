/* images/progs/atomics.c - the SMP correctness workload of the Linux
 * guest: THREADS threads, thread i pinned to CPU i mod (CPUs online), each
 * ITERS times: a lock-prefixed fetch-and-add on a shared counter, a
 * compare-and-swap loop adding i+1 to a second one, and under a pthread
 * mutex a plain (non-atomic) read-modify-write of a third plus a check
 * that no other thread is inside. Prints
 *   atomics threads=T iters=K add=A cas=C mutex=M overlap=O cpus=LIST
 * The exact results are A = T*K, C = K*T*(T+1)/2, M = 3*T*K, O = 0; the
 * caller checks them (tests/linux/run.sh), and the program prints
 * "atomics: FAIL" and exits 1 itself when they differ.
 *   atomics [THREADS [ITERS]]   (defaults: CPUs online, 200000) */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 64

struct shared {
    uint32_t add;               /* __atomic_fetch_add */
    uint32_t cas;               /* compare-and-swap loop */
    uint32_t mutexed;           /* plain += under the mutex */
    uint32_t inside, overlap;   /* threads in the critical section; violations */
    uint32_t start;             /* threads ready; all start together */
    pthread_mutex_t lock;
    unsigned iters, threads, ncpu;
};

struct thread { struct shared *s; unsigned id; int cpu_seen; pthread_t t; };

static void *work(void *arg)
{
    struct thread *th = arg;
    struct shared *s = th->s;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(th->id % s->ncpu, &set);
    sched_setaffinity(0, sizeof set, &set);   /* best effort */
    __atomic_fetch_add(&s->start, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&s->start, __ATOMIC_SEQ_CST) < s->threads)
        sched_yield();
    for (unsigned k = 0; k < s->iters; k++) {
        __atomic_fetch_add(&s->add, 1, __ATOMIC_SEQ_CST);
        uint32_t old = __atomic_load_n(&s->cas, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&s->cas, &old, old + th->id + 1, 0,
                                            __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            ;
        pthread_mutex_lock(&s->lock);
        if (__atomic_fetch_add(&s->inside, 1, __ATOMIC_SEQ_CST) != 0)
            s->overlap++;
        volatile uint32_t *m = &s->mutexed;
        *m = *m + 1;
        *m = *m + 2;
        __atomic_fetch_sub(&s->inside, 1, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&s->lock);
    }
    th->cpu_seen = sched_getcpu();
    return NULL;
}

int main(int argc, char **argv)
{
    static struct shared s = { .lock = PTHREAD_MUTEX_INITIALIZER };
    static struct thread th[MAX_THREADS];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    s.ncpu = ncpu > 0 ? (unsigned)ncpu : 1;
    s.threads = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : s.ncpu;
    s.iters = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 200000;
    if (s.threads < 1 || s.threads > MAX_THREADS || s.iters < 1 || s.iters > 10000000) {
        fprintf(stderr, "usage: atomics [THREADS (1-%d) [ITERS (1-10000000)]]\n", MAX_THREADS);
        return 2;
    }
    for (unsigned i = 0; i < s.threads; i++) {
        th[i].s = &s;
        th[i].id = i;
        if (pthread_create(&th[i].t, NULL, work, &th[i]) != 0) {
            fprintf(stderr, "atomics: pthread_create failed\n");
            return 1;
        }
    }
    for (unsigned i = 0; i < s.threads; i++)
        pthread_join(th[i].t, NULL);
    printf("atomics threads=%u iters=%u add=%u cas=%u mutex=%u overlap=%u cpus=",
           s.threads, s.iters, s.add, s.cas, s.mutexed, s.overlap);
    for (unsigned i = 0; i < s.threads; i++)
        printf("%s%d", i ? "," : "", th[i].cpu_seen);
    printf("\n");
    uint64_t t = s.threads, k = s.iters;
    if (s.add != (uint32_t)(t * k) || s.cas != (uint32_t)(k * t * (t + 1) / 2) ||
        s.mutexed != (uint32_t)(3 * t * k) || s.overlap != 0) {
        printf("atomics: FAIL\n");
        return 1;
    }
    return 0;
}
