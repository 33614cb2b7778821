/* dsm_fake.h - an in-process fake of the DSM transport for N simulated
 * ranks in one process, for unit tests of the protocol.
 *
 * Each simulated rank runs a task (the code that would run on that rank:
 * its CPU loop) as a coroutine on its own stack. The tasks are scheduled
 * cooperatively and deterministically from a seed: dsm_fake_step resumes
 * one randomly chosen live task until it yields. A task yields inside
 * idle (the protocol waits), at dsm_fake_yield (the test's CPU loop gives
 * way), and, with a configurable probability, before an RMA call takes
 * effect (a slow network). So the protocol code runs unchanged - blocking
 * calls and all - while other ranks make progress and serve requests.
 *
 * Messages get a random delivery delay (in steps) and are delivered in
 * random order among those due, also between one pair of ranks. RMA
 * calls take effect atomically at one point in the schedule; a directory
 * store (rule 2b) lands at a random later step, or before its rank's
 * next operation on the same word, and until then other ranks see the
 * old value. send_data is a put and a message or a snapshot delivered
 * with the message, chosen at random.
 * Time (now_ns) is simulated: DSM_FAKE_STEP_NS per step (and what
 * dsm_fake_pass_time adds).
 * Each rank's copy area starts filled with the byte DSM_FAKE_GARBAGE(rank)
 * (never zero): the transport promises nothing about a copy area's initial
 * bytes, so a protocol that read bytes it never installed shows it. */
#ifndef VSMP_DSM_FAKE_H
#define VSMP_DSM_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/dsm_transport.h"

#define DSM_FAKE_STEP_NS 100u
#define DSM_FAKE_GARBAGE(rank) ((uint8_t)(0xa0u | ((unsigned)(rank) & 0x0fu)))

struct dsm_fake_config {
    int nranks;
    size_t ram_bytes;          /* per rank, multiple of 4096 */
    uint64_t seed;
    unsigned max_delay;        /* message and store delay: 0..max_delay steps */
    unsigned rma_yield_pct;    /* chance (0..100) that an RMA call yields first */
    size_t stack_bytes;        /* per task; 0: 256 KiB */
    uint64_t rma_ns;           /* what the transport reports as the cost of
                                * a one-sided operation on any other rank
                                * (rule 9); 0: it reports nothing */
};

struct dsm_fake;
typedef void (*dsm_fake_task_fn)(void *arg, int rank);

struct dsm_fake *dsm_fake_create(const struct dsm_fake_config *cfg);
void dsm_fake_free(struct dsm_fake *f);

/* The transport seen by simulated rank r (stable for the fake's life). */
const struct dsm_transport *dsm_fake_transport(struct dsm_fake *f, int rank);

/* Give rank r a task (at most one live task per rank); it starts at the
 * next step that picks it. 0, or -1 if r already has a live task. */
int dsm_fake_spawn(struct dsm_fake *f, int rank, dsm_fake_task_fn fn, void *arg);
/* Resume one live task (random choice) until it yields or ends. Returns
 * the number of live tasks afterwards (0: all done). */
int dsm_fake_step(struct dsm_fake *f);
/* From inside a task: give way to the scheduler. */
void dsm_fake_yield(struct dsm_fake *f);

/* Inspection for invariant checks (not through the transport). */
uint64_t dsm_fake_dir_word(const struct dsm_fake *f, int rank, size_t idx);
size_t dsm_fake_dir_len(const struct dsm_fake *f, int rank);
uint8_t *dsm_fake_ram(const struct dsm_fake *f, int rank);
uint64_t dsm_fake_steps(const struct dsm_fake *f);
/* The simulated clock (now_ns) jumps ahead by ns, as if every rank had
 * been stopped that long (tests of the answer timeout). */
void dsm_fake_pass_time(struct dsm_fake *f, uint64_t ns);
size_t dsm_fake_in_flight(const struct dsm_fake *f);   /* undelivered messages and
                                                         * directory stores */
/* The scheduler's random generator (deterministic by seed), for tests
 * that want their own random choices in the same stream. */
uint64_t dsm_fake_rand(struct dsm_fake *f);

#endif
