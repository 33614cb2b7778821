/* test_answer_timeout.c - the answer timeout (vsmp --answer-timeout):
 *  - the counting rule (src/waitclock.h) and the watchdog thread's rule
 *    (watch_judge, src/watchdog.h) with injected times;
 *  - the DSM's fault waits (src/mem/dsm.c) over the fake transport,
 *    whose clock is simulated (100 ns a scheduler step), against a rank
 *    that never answers (it has no task: it never polls, as a rank
 *    stopped with SIGSTOP): the wait ends after exactly its limit, the
 *    fault fails, and on_stall names the rank, the request and the page;
 *    a jump of the clock longer than the gap (this rank did not run) is
 *    not counted, a short one is; an answer that comes in time is no
 *    timeout; 0 waits for ever;
 *  - the end of the job (status 14) and the thread firing on a marked
 *    wait inside "MPI". */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mem/dsm.h"
#include "mem/dsm_fake.h"
#include "waitclock.h"
#include "watchdog.h"

#define LIMIT 1600000ull         /* 1.6 ms of simulated time: 16000 steps, a
                                  * multiple of the 8 rounds between looks */
#define MAX_STEPS 10000000ull

/* ---------------------------------------------------------------- rules */

Test(waitclock, counts_looks_and_skips_long_gaps)
{
    struct waitclock w;
    waitclock_start(&w, 1000);
    cr_assert_eq(waitclock_look(&w, 1100, 50), 0, "a gap over 50 is not counted");
    cr_assert_eq(waitclock_look(&w, 1150, 50), 50, "a gap of exactly 50 is");
    cr_assert_eq(waitclock_look(&w, 1160, 50), 60);
    cr_assert_eq(waitclock_look(&w, 5000, 50), 60, "this process did not run");
    cr_assert_eq(waitclock_look(&w, 5040, 50), 100);
    cr_assert_eq(waitclock_look(&w, 5040, 50), 100, "no time, nothing counted");
    cr_assert_eq(waitclock_gap(800), 100);
}

static struct watch_look look(uint64_t seq, int what)
{
    return (struct watch_look){ .seq = seq, .what = what, .rank = 1, .arg = 0x2000 };
}

Test(watch_judge, fires_when_the_same_wait_lasts_the_limit)
{
    struct watch_judge j = { 0 };
    struct watch_look none = look(0, WATCH_NONE), a = look(2, WATCH_GET), b = look(4, WATCH_GET);
    cr_assert_not(watch_judge(&j, &none, 0, 1000, 500));
    cr_assert_not(watch_judge(&j, &a, 100, 1000, 500), "first seen at 100");
    cr_assert_not(watch_judge(&j, &a, 500, 1000, 500));
    cr_assert_not(watch_judge(&j, &a, 900, 1000, 500));
    cr_assert_not(watch_judge(&j, &a, 1099, 1000, 500));
    cr_assert(watch_judge(&j, &a, 1100, 1000, 500), "seen for 1000");
    /* another wait (new sequence number) counts from its first look */
    cr_assert_not(watch_judge(&j, &b, 1200, 1000, 500));
    cr_assert_not(watch_judge(&j, &b, 1600, 1000, 500));
    cr_assert_not(watch_judge(&j, &b, 2000, 1000, 500));
    cr_assert_not(watch_judge(&j, &b, 2199, 1000, 500));
    cr_assert(watch_judge(&j, &b, 2200, 1000, 500));
    /* nothing marked in between: a new count */
    cr_assert_not(watch_judge(&j, &none, 2300, 1000, 500));
    cr_assert_not(watch_judge(&j, &b, 2400, 1000, 500));
    cr_assert_not(watch_judge(&j, &b, 2800, 1000, 500));
    cr_assert_not(watch_judge(&j, &b, 3200, 1000, 500));
    cr_assert_not(watch_judge(&j, &b, 3399, 1000, 500));
    cr_assert(watch_judge(&j, &b, 3400, 1000, 500));
}

Test(watch_judge, a_gap_in_the_looks_starts_the_count_again)
{
    struct watch_judge j = { 0 };
    struct watch_look a = look(2, WATCH_ATOMIC);
    cr_assert_not(watch_judge(&j, &a, 0, 1000, 500));
    cr_assert_not(watch_judge(&j, &a, 400, 1000, 500));
    cr_assert_not(watch_judge(&j, &a, 900, 1000, 500));
    /* the thread did not run for 5000: the process was stopped */
    cr_assert_not(watch_judge(&j, &a, 5900, 1000, 500), "not after 1000 in all");
    cr_assert_not(watch_judge(&j, &a, 6300, 1000, 500));
    cr_assert_not(watch_judge(&j, &a, 6700, 1000, 500));
    cr_assert_not(watch_judge(&j, &a, 6899, 1000, 500));
    cr_assert(watch_judge(&j, &a, 6900, 1000, 500));
}

Test(watch_judge, marks_nest_and_describe_what_is_waited_for)
{
    struct watchdog w = { 0 };
    struct watch_look l;
    struct watch_mark outer = watch_begin(&w, WATCH_STEP, -1, 0, "the clock synchronisation");
    watch_read(&w, &l);
    uint64_t s1 = l.seq;
    struct watch_mark inner = watch_begin(&w, WATCH_GET, 3, 0x123456, NULL);
    watch_read(&w, &l);
    cr_assert_neq(l.seq, s1);
    cr_assert_eq(l.what, WATCH_GET);
    char buf[200];
    watch_describe(&l, buf, sizeof buf);
    cr_assert_str_eq(buf, "rank 3 has not answered MPI_Get of page 0x00123000 (inside MPI)");
    watch_end(&w, inner);
    watch_read(&w, &l);
    cr_assert_eq(l.what, WATCH_STEP);
    watch_describe(&l, buf, sizeof buf);
    cr_assert_str_eq(buf, "not every rank has reached the clock synchronisation (inside MPI)");
    watch_end(&w, outer);
    watch_read(&w, &l);
    cr_assert_eq(l.what, WATCH_NONE);
    cr_assert_eq(l.seq % 2, 0);
    l = (struct watch_look){ .what = WATCH_ATOMIC, .rank = 2, .arg = 77 };
    watch_describe(&l, buf, sizeof buf);
    cr_assert_str_eq(buf, "rank 2 has not answered an atomic on its directory word 77 (inside MPI)");
    cr_assert_null(watch_begin(NULL, WATCH_GET, 1, 0, NULL).text, "no watchdog: no marks");
}

/* Run fn in a child process with stderr into a pipe; its exit status
 * (-1: killed by a signal) and what it wrote (up to len - 1 bytes) into
 * buf. */
static int in_child(void (*fn)(void), char *buf, size_t len)
{
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fd[1], STDERR_FILENO);
        close(fd[0]);
        fn();
        _exit(99);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < len && (k = read(fd[0], buf + n, len - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = 0;
    close(fd[0]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void end_job(void)
{
    watchdog_end_job(NULL, 1, "rank 0 has not answered PING (the liveness check) for 1.0 s");
}

Test(watchdog, end_job_prints_one_line_and_exits_14)
{
    char buf[300];
    cr_assert_eq(in_child(end_job, buf, sizeof buf), 14);
    cr_assert_str_eq(buf, "vsmp: rank 1: rank 0 has not answered PING (the liveness check) "
                          "for 1.0 s; ending the job\n");
}

/* The thread: a wait marked and never ended makes it end the process
 * (the limit is 50 ms; the test's own timeout is far longer). */
static void stuck_inside_mpi(void)
{
    alarm(30);          /* a thread that never fires: the child dies too */
    struct watchdog *w = watchdog_start(2, 50000000ull);
    if (!w)
        _exit(98);
    watch_begin(w, WATCH_ATOMIC, 1, 130, NULL);
    for (;;)
        pause();
}

Test(watchdog, thread_ends_a_wait_stuck_inside_mpi, .timeout = 60)
{
    char buf[300];
    cr_assert_eq(in_child(stuck_inside_mpi, buf, sizeof buf), 14);
    static const char head[] = "vsmp: rank 2: rank 1 has not answered an atomic on its "
                               "directory word 130 (inside MPI) for ";
    cr_assert(!strncmp(buf, head, sizeof head - 1), "%s", buf);
    cr_assert_neq(strstr(buf, " s; ending the job\n"), NULL, "%s", buf);
}

Test(watchdog, start_and_stop_without_a_wait)
{
    struct watchdog *w = watchdog_start(0, 50000000ull);
    cr_assert_not_null(w);
    cr_assert_eq(w->period_ns, 10000000ull);
    watchdog_stop(w);
    cr_assert_null(watchdog_start(0, 0), "no limit, no thread");
    cr_assert_eq(watchdog_period(60000000000ull), 1000000000ull);
    cr_assert_eq(watchdog_period(4000000000ull), 250000000ull);
}

/* ------------------------------------------------------- the DSM's waits */

struct rank_t;
struct world {
    struct dsm_fake *f;
    int n;
    struct dsm *d[4];
    uint64_t npages;
    struct rank_t *r[4];
};
struct rank_t {
    struct world *w;
    int rank;
    /* what the task does */
    void (*task)(struct rank_t *);
    /* results */
    bool stalled;
    int nstalls;
    struct dsm_stall st;
    int rc;
    uint64_t t_start, t_end;
    bool done;
    /* on_wait (every DSM_WAIT_LOOK_ROUNDS rounds): at its call number
     * `jump_round`, the clock jumps by jump_ns */
    unsigned rounds, jump_round;
    uint64_t jump_ns;
};

static uint64_t now(struct world *w)
{
    const struct dsm_transport *t = dsm_fake_transport(w->f, 0);
    return t->now_ns(t->ctx);
}

static void on_stall(void *arg, const struct dsm_stall *s)
{
    struct rank_t *r = arg;
    r->stalled = true;
    r->nstalls++;
    r->st = *s;
}

static void on_wait(void *arg, uint64_t now_ns)
{
    struct rank_t *r = arg;
    cr_assert_eq(now_ns, now(r->w), "on_wait gets the transport's time");
    if (++r->rounds == r->jump_round)
        dsm_fake_pass_time(r->w->f, r->jump_ns);
}

static void run_task(void *arg, int rank)
{
    (void)rank;
    struct rank_t *r = arg;
    r->task(r);
    r->done = true;
}

static struct rank_t R[4];
static struct world W;

static void spawn(int rank, void (*task)(struct rank_t *));
static bool run_all(uint64_t max);

/* Every page starts untouched (its first fault zero-fills it locally with
 * no message); the cases below need pages that rank 0 holds writable, as
 * after it wrote them all: the prelude of every world. */
static void touch_all_task(struct rank_t *r)
{
    for (uint64_t p = 0; p < W.npages; p++)
        cr_assert_eq(dsm_write_fault(W.d[r->rank], p), 0);
}

/* the other ranks serve (TAKEs to their pages' homes) until it is done */
static void serve_prelude_task(struct rank_t *r)
{
    while (!R[0].done) {
        dsm_poll(W.d[r->rank]);
        dsm_fake_yield(W.f);
    }
}

static void world_new(int n, enum dsm_take_policy take, uint64_t limit, uint64_t seed)
{
    memset(&W, 0, sizeof W);
    memset(R, 0, sizeof R);
    struct dsm_fake_config fc = {
        .nranks = n, .ram_bytes = 16 * DSM_PAGE_SIZE, .seed = seed, .max_delay = 3,
        .stack_bytes = 128 * 1024,
    };
    W.f = dsm_fake_create(&fc);
    cr_assert_not_null(W.f);
    W.n = n;
    for (int i = 0; i < n; i++) {
        R[i].w = &W;
        R[i].rank = i;
        W.r[i] = &R[i];
        struct dsm_config dc = {
            .join = DSM_JOIN_NEVER, .take = take, .answer_timeout_ns = limit,
            .on_stall = on_stall, .on_stall_arg = &R[i], .on_wait = on_wait, .on_wait_arg = &R[i],
        };
        W.d[i] = dsm_create(dsm_fake_transport(W.f, i), &dc);
        cr_assert_not_null(W.d[i]);
    }
    W.npages = fc.ram_bytes / DSM_PAGE_SIZE;
    spawn(0, touch_all_task);
    for (int i = 1; i < n; i++)
        spawn(i, serve_prelude_task);
    cr_assert(run_all(MAX_STEPS), "rank 0 could not touch every page");
    for (uint64_t p = 0; p < W.npages; p++)
        cr_assert_eq(dsm_state(W.d[0], p), DSM_WRITE);
    for (int i = 0; i < n; i++) {
        R[i].done = false;
        R[i].task = NULL;
        R[i].rounds = 0;
    }
}

static void spawn(int rank, void (*task)(struct rank_t *))
{
    R[rank].task = task;
    cr_assert_eq(dsm_fake_spawn(W.f, rank, run_task, &R[rank]), 0);
}

/* Run until every task ended (or max steps); true if they all did. */
static bool run_all(uint64_t max)
{
    for (uint64_t i = 0; i < max; i++)
        if (dsm_fake_step(W.f) == 0)
            return true;
    return false;
}

static void world_free(void)
{
    for (int i = 0; i < W.n; i++)
        dsm_free(W.d[i]);
    dsm_fake_free(W.f);
}

/* the fault of the test, timed; then a second fault must fail at once */
static uint64_t fault_page;
static bool fault_write;

static void fault_task(struct rank_t *r)
{
    struct dsm *d = W.d[r->rank];
    r->t_start = now(&W);
    r->rc = fault_write ? dsm_write_fault(d, fault_page) : dsm_read_fault(d, fault_page);
    r->t_end = now(&W);
}

static void fault_then_another(struct rank_t *r)
{
    fault_task(r);
    uint64_t t = now(&W);
    cr_assert_eq(dsm_write_fault(W.d[r->rank], 5), -1, "a stalled dsm fails every fault");
    cr_assert_eq(now(&W), t, "at once");
}

static void expect_stall(const struct rank_t *r, enum dsm_stall_kind kind, int rank,
                         enum dsm_msg_type req, uint64_t page, uint64_t limit, uint64_t slack,
                         const char *text)
{
    cr_assert(r->stalled, "rank %d: no stall", r->rank);
    cr_assert_eq(r->nstalls, 1);
    cr_assert_eq(r->rc, -1, "the fault fails");
    cr_assert_eq(r->st.kind, kind);
    cr_assert_eq(r->st.rank, rank, "named rank %d, expected %d", r->st.rank, rank);
    if (kind != DSM_STALL_LOCK)
        cr_assert_eq(r->st.request, req);
    cr_assert_eq(r->st.page, page);
    /* one look every DSM_WAIT_LOOK_ROUNDS rounds; a round is one step
     * while the waiting rank runs alone, so the wait ends exactly at the
     * limit then; with other tasks running at first (slack) the looks
     * may fall between steps of 100 ns and end it up to a look later */
    cr_assert(r->st.waited_ns >= limit && r->st.waited_ns <= limit + slack,
              "waited %llu ns, limit %llu", (unsigned long long)r->st.waited_ns,
              (unsigned long long)limit);
    char buf[200];
    dsm_stall_describe(&r->st, buf, sizeof buf);
    cr_assert_str_eq(buf, text);
}

/* Rank 1 writes page 2 (home 0, owned by rank 0, which never polls):
 * its INVALIDATE is never acknowledged. */
Test(dsm_answer_timeout, invalidate_never_acknowledged)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        world_new(2, DSM_TAKE_NEVER, LIMIT, seed);
        fault_page = 2;
        fault_write = true;
        spawn(1, fault_then_another);
        cr_assert(run_all(MAX_STEPS));
        expect_stall(&R[1], DSM_STALL_ACK, 0, DSM_MSG_INVALIDATE, 2, LIMIT, 0,
                     "rank 0 has not answered INVALIDATE of page 0x00002000");
        uint64_t took = R[1].t_end - R[1].t_start;
        cr_assert(took >= LIMIT && took < LIMIT + 100 * DSM_FAKE_STEP_NS,
                  "the fault took %llu ns", (unsigned long long)took);
        world_free();
    }
}

/* A read of a page rank 0 holds writable: DOWNGRADE. */
Test(dsm_answer_timeout, downgrade_never_acknowledged)
{
    world_new(2, DSM_TAKE_NEVER, LIMIT, 7);
    fault_page = 4;
    fault_write = false;
    spawn(1, fault_task);
    cr_assert(run_all(MAX_STEPS));
    expect_stall(&R[1], DSM_STALL_ACK, 0, DSM_MSG_DOWNGRADE, 4, LIMIT, 0,
                 "rank 0 has not answered DOWNGRADE of page 0x00004000");
    world_free();
}

/* A TAKE to the page's home (rank 0) is never answered: twice the limit
 * (the answer could come from the owner the home forwarded it to). */
Test(dsm_answer_timeout, take_never_answered)
{
    world_new(2, DSM_TAKE_ALWAYS, LIMIT, 8);
    fault_page = 6;
    fault_write = true;
    spawn(1, fault_task);
    cr_assert(run_all(MAX_STEPS));
    expect_stall(&R[1], DSM_STALL_TAKE, 0, DSM_MSG_TAKE, 6, 2 * LIMIT, 0,
                 "rank 0 (the home of page 0x00006000) or the owner it forwarded the request "
                 "to has not answered TAKE");
    world_free();
}

/* Three ranks: page 3 is shared by ranks 0 and 2; rank 2 then stops
 * (its task ends, it never polls again). Rank 1's write sends
 * INVALIDATEs to both: rank 0 answers, rank 2 does not, and is named. */
static bool page_shared;

static void reader_task(struct rank_t *r)
{
    cr_assert_eq(dsm_read_fault(W.d[r->rank], 3), 0);
    page_shared = true;
}

static void server_task(struct rank_t *r)
{
    struct dsm *d = W.d[r->rank];
    /* serve until the writer took the page away */
    while (!page_shared || dsm_state(d, 3) != DSM_INVALID) {
        dsm_poll(d);
        dsm_fake_yield(W.f);
    }
}

static void writer_task(struct rank_t *r)
{
    while (!page_shared)
        dsm_fake_yield(W.f);
    fault_page = 3;
    fault_write = true;
    fault_task(r);
}

Test(dsm_answer_timeout, names_the_silent_one_of_several)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        page_shared = false;
        world_new(3, DSM_TAKE_NEVER, LIMIT, seed);
        spawn(0, server_task);
        spawn(2, reader_task);
        spawn(1, writer_task);
        cr_assert(run_all(MAX_STEPS));
        expect_stall(&R[1], DSM_STALL_ACK, 2, DSM_MSG_INVALIDATE, 3, LIMIT,
                     (DSM_WAIT_LOOK_ROUNDS - 1) * DSM_FAKE_STEP_NS,
                     "rank 2 has not answered INVALIDATE of page 0x00003000");
        cr_assert(R[0].done && !R[0].stalled && !R[2].stalled);
        world_free();
    }
}

/* A directory entry left locked by a rank that stopped inside its fault
 * (rank `holder` locked it, then timed out waiting for rank 0, which
 * never polls until then): the next rank to fault on that page spins on
 * the lock for twice the limit. With two ranks the holder can only be
 * the other one, and is named. */
static int lock_holder;
static uint64_t lock_page;

static void holder_task(struct rank_t *r)
{
    r->rc = dsm_write_fault(W.d[r->rank], lock_page);
}

static void spinner_task(struct rank_t *r)
{
    while (!R[lock_holder].done)
        dsm_fake_yield(W.f);
    /* rank 0 answers the holder's INVALIDATE only now (too late) */
    if (r->rank == 0)
        dsm_poll(W.d[0]);
    fault_page = lock_page;
    fault_write = true;
    fault_task(r);
}

Test(dsm_answer_timeout, lock_held_by_the_other_of_two)
{
    lock_holder = 1;
    lock_page = 3;                       /* home rank 1, owner rank 0 */
    world_new(2, DSM_TAKE_NEVER, LIMIT, 11);
    spawn(1, holder_task);
    spawn(0, spinner_task);
    cr_assert(run_all(MAX_STEPS));
    cr_assert(R[1].stalled && R[1].st.kind == DSM_STALL_ACK && R[1].rc == -1);
    expect_stall(&R[0], DSM_STALL_LOCK, 1, 0, 3, 2 * LIMIT, 0,
                 "rank 1 has held the directory entry of page 0x00003000 locked (at rank 1)");
    cr_assert_eq(R[0].st.holder, 1);
    world_free();
}

Test(dsm_answer_timeout, lock_held_by_one_of_three)
{
    lock_holder = 2;
    lock_page = 3;                       /* home rank 0, owner rank 0 */
    world_new(3, DSM_TAKE_NEVER, LIMIT, 12);
    spawn(2, holder_task);
    spawn(1, spinner_task);
    cr_assert(run_all(MAX_STEPS));
    cr_assert(R[2].stalled && R[2].st.kind == DSM_STALL_ACK && R[2].st.rank == 0);
    expect_stall(&R[1], DSM_STALL_LOCK, 0, 0, 3, 2 * LIMIT, 0,
                 "the directory entry of page 0x00003000 (at rank 0) has stayed locked by "
                 "another rank");
    cr_assert_eq(R[1].st.holder, -1);
    world_free();
}

/* The clock jumps in the middle of the wait: by more than the gap (an
 * eighth of the limit: this rank did not run), not counted; by less,
 * counted. */
Test(dsm_answer_timeout, time_this_rank_did_not_run_is_not_counted)
{
    world_new(2, DSM_TAKE_NEVER, LIMIT, 13);
    fault_page = 2;
    fault_write = true;
    R[1].jump_round = 50;
    R[1].jump_ns = 10 * LIMIT;
    spawn(1, fault_task);
    cr_assert(run_all(MAX_STEPS));
    cr_assert(R[1].stalled);
    cr_assert_eq(R[1].st.waited_ns, LIMIT);
    cr_assert_geq(R[1].t_end - R[1].t_start, 11 * LIMIT);
    world_free();

    world_new(2, DSM_TAKE_NEVER, LIMIT, 13);
    R[1].jump_round = 50;
    R[1].jump_ns = LIMIT / 16;
    spawn(1, fault_task);
    cr_assert(run_all(MAX_STEPS));
    cr_assert(R[1].stalled);
    cr_assert_eq(R[1].st.waited_ns, LIMIT);
    cr_assert_eq(R[1].t_end - R[1].t_start, LIMIT, "the short jump counted");
    world_free();
}

/* Rank 0 answers just before the limit: no timeout. */
static void late_server_task(struct rank_t *r)
{
    (void)r;
    uint64_t t0 = now(&W);
    while (now(&W) - t0 < LIMIT - 20 * DSM_FAKE_STEP_NS)
        dsm_fake_yield(W.f);
    while (dsm_state(W.d[0], 2) != DSM_INVALID) {
        dsm_poll(W.d[0]);
        dsm_fake_yield(W.f);
    }
}

Test(dsm_answer_timeout, an_answer_in_time_is_no_timeout)
{
    world_new(2, DSM_TAKE_NEVER, LIMIT, 14);
    fault_page = 2;
    fault_write = true;
    spawn(1, fault_task);
    spawn(0, late_server_task);
    cr_assert(run_all(MAX_STEPS));
    cr_assert_not(R[1].stalled);
    cr_assert_eq(R[1].rc, 0);
    cr_assert_eq(dsm_state(W.d[1], 2), DSM_WRITE);
    world_free();
}

/* answer_timeout_ns 0: the wait goes on (here for 100 limits), and ends
 * normally once the other rank answers. */
Test(dsm_answer_timeout, zero_waits_for_ever)
{
    world_new(2, DSM_TAKE_NEVER, 0, 15);
    fault_page = 2;
    fault_write = true;
    spawn(1, fault_task);
    cr_assert_not(run_all(100 * LIMIT / DSM_FAKE_STEP_NS), "still waiting");
    cr_assert_not(R[1].stalled);
    spawn(0, late_server_task);
    cr_assert(run_all(MAX_STEPS));
    cr_assert_not(R[1].stalled);
    cr_assert_eq(R[1].rc, 0);
    world_free();
}
