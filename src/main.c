/* main.c - the vsmp program: options, MPI start-up, configuration, then
 * the machine. With one rank its RAM is private; with N ranks every rank
 * is one CPU of an N-way machine whose RAM is the distributed shared
 * memory: main opens the MPI transport (src/mpi/dsm_mpi.c), agrees on one
 * clock (clocksync), builds the machine over them and runs it on every
 * rank; at the end rank 0 gathers and prints the statistics. Every rank
 * exits with the guest's exit status (see machine.h for the list).
 *
 *   vsmp [--interp] [--jit-cache SIZE] [--max-insns N] [--slice N]
 *        [--idle auto|spin|backoff] [--push auto|put|message]
 *        [--take auto|home|never] [--stats] [--stats-json FILE]
 *        [--baseline MS] [--answer-timeout SECONDS] [--checkpoint PATH]
 *        [--restore PATH] CONFIG
 *   mpirun -np N vsmp CONFIG      (one virtual CPU per rank)
 *
 * Open MPI 4.1.4 crashes in btl/vader unless
 * OMPI_MCA_btl_vader_single_copy_mechanism=none is set. Under mpirun that
 * is the caller's business (mpirun passes its environment on); for a
 * plain ./vsmp main() sets it before MPI starts (a plain ./vsmp without a
 * launcher in the environment does not start MPI at all: rt_init_local,
 * unless it writes or reads a memory image).
 *
 * Memory images (docs/checkpoint.md): with --checkpoint PATH, SIGUSR1
 * writes an image and the guest goes on; SIGTERM and SIGUSR2 write one
 * and end the job with status 0. The handlers only count (struct
 * ckpt_signals); the machine acts on the counts between slices. Without
 * --checkpoint, SIGUSR1 and SIGUSR2 are ignored with a note and SIGTERM
 * ends the job as it always did. --restore PATH (or the config's `image`)
 * starts the machine from an image. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "io/terminal.h"
#include "machine.h"
#include "mem/dsm.h"
#include "mpi/ckpt_mpi.h"
#include "mpi/clocksync.h"
#include "mpi/dsm_mpi.h"
#include "mpi/runtime.h"
#include "snap/checkpoint.h"
#include "watchdog.h"

#define VSMP_VERSION "0.1"
/* Exit status when the statistics asked for (--stats, --stats-json) could
 * not be written; it replaces the run's own status, which the message
 * names (README, "Exit status"). */
#define VSMP_EXIT_STATS 12

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: vsmp [OPTIONS] CONFIG\n"
            "       mpirun -np N vsmp [OPTIONS] CONFIG\n"
            "Runs the virtual machine described by CONFIG; each MPI rank is one CPU.\n"
            "\n"
            "  --interp         execute with the interpreter (default: the translator)\n"
            "  --jit-cache SIZE translated-code cache size (e.g. 32M; default 32M)\n"
            "  --max-insns N    stop after N guest instructions (exit status 8)\n"
            "  --slice N        a fixed N instructions between polls of the other\n"
            "                   ranks and timers (default: adaptive, about 10 us of\n"
            "                   guest run with several CPUs, 50 us with one)\n"
            "  --idle POLICY    how a CPU with nothing to do (halted, waiting for another\n"
            "                   rank) waits: spin (poll again at once), backoff (yield,\n"
            "                   then sleep up to 128 us: for more ranks than cores) or\n"
            "                   auto (default: spin if the host has a core per rank)\n"
            "  --push PATH      how a CPU answering another's page request sends its copy:\n"
            "                   put (into the requester's memory, then a message), message\n"
            "                   (the page inside the answer: one network message) or auto\n"
            "                   (default: put to ranks on this node, message over a\n"
            "                   network; chosen by timing a Get to each rank at start)\n"
            "  --take POLICY    when a page fault asks the page's home rank to serve it\n"
            "                   (one message, answered by the home or the owner it\n"
            "                   forwards to) instead of locking the directory entry:\n"
            "                   auto (default: where one-sided MPI is slow, as over\n"
            "                   TCP, every read and writes of pages last seen owned\n"
            "                   by their home), home (only pages last seen owned by\n"
            "                   their home) or never\n"
            "  --migratory on|off  a read fault of a page this CPU upgraded before\n"
            "                   takes it for writing at once; dropped again for a page\n"
            "                   left unchanged (default on; docs/dsm.md)\n"
            "  --stats          print per-CPU statistics at the end (rank 0, for all)\n"
            "  --stats-json FILE  the same as JSON into FILE (created before the run;\n"
            "                   statistics that cannot be written: exit status 12)\n"
            "  --baseline MS    with --stats and several CPUs: every MS ms each CPU\n"
            "                   times a raw 4 KiB MPI_Get + flush from another rank,\n"
            "                   reported next to the fault times (the same transport\n"
            "                   under the same load)\n"
            "  --answer-timeout SECONDS  with several CPUs: a CPU that has waited this\n"
            "                   long for another rank's answer (a page, a device\n"
            "                   request, a liveness check) names the rank and ends the\n"
            "                   job with status 14 (default 60; 0: wait for ever)\n"
            "  --checkpoint PATH  memory images to PATH: SIGUSR1 writes one and the guest\n"
            "                   goes on; SIGTERM or SIGUSR2 writes one and ends the job\n"
            "                   with status 0 (docs/checkpoint.md); the guest can ask\n"
            "                   through port 0xF5\n"
            "  --restore PATH   start from the memory image PATH instead of booting (the\n"
            "                   config's kernel, initrd, cmdline and rom are not loaded)\n"
            "  --help           show this help\n"
            "  --version        show the version\n"
            "\n"
            "Exit status: the guest's debug-exit status ((V << 1) | 1, always odd),\n"
            "2 for a configuration or image error, 4 for a guest triple fault, 6 when\n"
            "the guest halts with interrupts disabled, 8 at the instruction limit,\n"
            "14 when a rank stopped answering (--answer-timeout).\n");
}

/* Rank from the launcher's environment, before MPI starts (for --help). */
static int launcher_rank(void)
{
    const char *vars[] = { "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK" };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (v)
            return atoi(v);
    }
    return 0;
}

struct options {
    struct machine_opts m;
    const char *config;
    const char *restore;        /* --restore PATH */
    const char *stats_json;
    enum dsm_mpi_idle_policy idle;
    enum dsm_mpi_data_path push;
    unsigned baseline_ms;       /* --baseline; 0: off */
    uint64_t answer_timeout_ns; /* --answer-timeout; 0: off */
    struct watchdog *watchdog;  /* its thread, with several ranks */
};

/* optarg's index in names (NULL-terminated), or -1 after a message
 * "--OPTION needs a, b or c, not 'x'" (unless quiet). */
static int choice(const char *option, const char *const *names, bool quiet)
{
    int n = 0;
    for (; names[n]; n++)
        if (!strcmp(optarg, names[n]))
            return n;
    if (!quiet) {
        fprintf(stderr, "vsmp: --%s needs ", option);
        for (int i = 0; i < n; i++)
            fprintf(stderr, "%s%s", names[i], i + 2 < n ? ", " : i + 1 < n ? " or " : "");
        fprintf(stderr, ", not '%s'\n", optarg);
    }
    return -1;
}

/* optarg as a whole number from 1 to max (decimal; base 0 also allows
 * 0x hex) in *v, 0; or -1 after a message "--OPTION needs WHAT from 1 to
 * MAX, not 'x'" (unless quiet). Signs, spaces, trailing junk, empty
 * strings and numbers beyond 64 bits are refused (config_parse_number). */
static int number_in(const char *option, const char *what, int base, uint64_t max, bool quiet,
                     uint64_t *v)
{
    uint64_t n;
    if (config_parse_number(optarg, base == 0, &n) || n == 0 || n > max) {
        if (!quiet)
            fprintf(stderr, "vsmp: --%s needs %s from 1 to %llu, not '%s'\n", option, what,
                    (unsigned long long)max, optarg);
        return -1;
    }
    *v = n;
    return 0;
}

/* --answer-timeout SECONDS: whole seconds, 0 (off) to a day, in *ns;
 * -1 after a message (unless quiet). */
#define ANSWER_TIMEOUT_DEFAULT_S 60ull
#define ANSWER_TIMEOUT_MAX_S 86400ull
static int answer_timeout(const char *arg, bool quiet, uint64_t *ns)
{
    uint64_t v = 0;
    const char *p = arg;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > ANSWER_TIMEOUT_MAX_S)
            break;
    }
    if (p == arg || *p || v > ANSWER_TIMEOUT_MAX_S) {
        if (!quiet)
            fprintf(stderr, "vsmp: --answer-timeout needs whole seconds from 0 (off) to %llu, "
                    "not '%s'\n", ANSWER_TIMEOUT_MAX_S, arg);
        return -1;
    }
    *ns = v * 1000000000ull;
    return 0;
}

/* 0: run; otherwise the process exit status + 1 (so 1 means exit 0). */
static int parse_options(int argc, char **argv, struct options *o)
{
    enum { OPT_INTERP = 256, OPT_JIT_CACHE, OPT_MAX_INSNS, OPT_STATS, OPT_HELP, OPT_VERSION,
           OPT_STATS_JSON, OPT_SLICE, OPT_IDLE, OPT_PUSH, OPT_TAKE, OPT_MIGRATORY, OPT_BASELINE,
           OPT_ANSWER_TIMEOUT, OPT_CHECKPOINT, OPT_RESTORE };
    static const struct option longopts[] = {
        { "interp", no_argument, NULL, OPT_INTERP },
        { "jit-cache", required_argument, NULL, OPT_JIT_CACHE },
        { "max-insns", required_argument, NULL, OPT_MAX_INSNS },
        { "stats", no_argument, NULL, OPT_STATS },
        { "stats-json", required_argument, NULL, OPT_STATS_JSON },
        { "slice", required_argument, NULL, OPT_SLICE },
        { "idle", required_argument, NULL, OPT_IDLE },
        { "push", required_argument, NULL, OPT_PUSH },
        { "take", required_argument, NULL, OPT_TAKE },
        { "migratory", required_argument, NULL, OPT_MIGRATORY },
        { "baseline", required_argument, NULL, OPT_BASELINE },
        { "answer-timeout", required_argument, NULL, OPT_ANSWER_TIMEOUT },
        { "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
        { "restore", required_argument, NULL, OPT_RESTORE },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    bool quiet = launcher_rank() != 0;
    memset(o, 0, sizeof(*o));
    o->answer_timeout_ns = ANSWER_TIMEOUT_DEFAULT_S * 1000000000ull;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_INTERP:
            o->m.interp = true;
            break;
        case OPT_JIT_CACHE: {
            uint64_t b;
            if (config_parse_size(optarg, &b) || b < CONFIG_JIT_CACHE_MIN || b > CONFIG_JIT_CACHE_MAX) {
                if (!quiet)
                    fprintf(stderr, "vsmp: --jit-cache needs a size from 1M to 1G, not '%s'\n", optarg);
                return 3;
            }
            o->m.jit_cache = b;
            break;
        }
        case OPT_MAX_INSNS:
            if (number_in("max-insns", "a number", 0, UINT64_MAX, quiet, &o->m.max_insns))
                return 3;
            break;
        case OPT_STATS:
            o->m.stats = true;
            break;
        case OPT_STATS_JSON:
            o->stats_json = optarg;
            break;
        case OPT_SLICE:
            if (number_in("slice", "a number", 0, 100000000, quiet, &o->m.slice))
                return 3;
            break;
        case OPT_IDLE: {
            static const char *const names[] = { "auto", "spin", "backoff", NULL };
            static const enum dsm_mpi_idle_policy values[] = {
                DSM_MPI_IDLE_AUTO, DSM_MPI_IDLE_SPIN, DSM_MPI_IDLE_BACKOFF };
            int k = choice("idle", names, quiet);
            if (k < 0)
                return 3;
            o->idle = values[k];
            break;
        }
        case OPT_PUSH: {
            static const char *const names[] = { "auto", "put", "message", NULL };
            static const enum dsm_mpi_data_path values[] = {
                DSM_MPI_DATA_AUTO, DSM_MPI_DATA_PUT, DSM_MPI_DATA_MSG };
            int k = choice("push", names, quiet);
            if (k < 0)
                return 3;
            o->push = values[k];
            break;
        }
        case OPT_TAKE: {
            static const char *const names[] = { "auto", "home", "never", NULL };
            static const enum dsm_take_policy values[] = {
                DSM_TAKE_ADAPTIVE, DSM_TAKE_HOME, DSM_TAKE_NEVER };
            int k = choice("take", names, quiet);
            if (k < 0)
                return 3;
            o->m.dsm_take = values[k];
            break;
        }
        case OPT_MIGRATORY: {
            static const char *const names[] = { "on", "off", NULL };
            int k = choice("migratory", names, quiet);
            if (k < 0)
                return 3;
            o->m.dsm_no_migratory = k == 1;
            break;
        }
        case OPT_BASELINE: {
            uint64_t ms;
            if (number_in("baseline", "milliseconds", 10, 60000, quiet, &ms))
                return 3;
            o->baseline_ms = (unsigned)ms;
            break;
        }
        case OPT_ANSWER_TIMEOUT:
            if (answer_timeout(optarg, quiet, &o->answer_timeout_ns))
                return 3;
            break;
        case OPT_CHECKPOINT:
        case OPT_RESTORE:
            if (!optarg[0]) {
                if (!quiet)
                    fprintf(stderr, "vsmp: --%s needs a file name\n",
                            c == OPT_CHECKPOINT ? "checkpoint" : "restore");
                return 3;
            }
            if (c == OPT_CHECKPOINT)
                o->m.ckpt_path = optarg;
            else
                o->restore = optarg;
            break;
        case 'h':
        case OPT_HELP:
            if (!quiet)
                usage(stdout);
            return 1;
        case OPT_VERSION:
            if (!quiet)
                printf("vsmp %s\n", VSMP_VERSION);
            return 1;
        default:
            if (!quiet) {
                fprintf(stderr, "vsmp: unknown option or missing value: %s\n",
                        argv[optind - 1]);
                usage(stderr);
            }
            return 3;
        }
    }
    if (optind != argc - 1) {
        if (!quiet) {
            fprintf(stderr, optind >= argc ? "vsmp: no CONFIG file given\n"
                                           : "vsmp: more than one CONFIG given\n");
            usage(stderr);
        }
        return 3;
    }
    o->config = argv[optind];
    return 0;
}

/* ---- signals (docs/checkpoint.md) ----
 * The handlers' counts: the one piece of state a handler can reach,
 * handed to the machine as machine_opts.signals. */
static struct ckpt_signals signal_counts;
static char ignored_note[2][96];    /* SIGUSR1, SIGUSR2 without --checkpoint */
static size_t ignored_len[2];

static void on_checkpoint_signal(int sig)
{
    if (sig == SIGUSR1)
        signal_counts.cont++;
    else
        signal_counts.exit++;
}

static void on_ignored_signal(int sig)
{
    int i = sig == SIGUSR1 ? 0 : 1;
    if (write(STDERR_FILENO, ignored_note[i], ignored_len[i]) < 0) {
        /* nothing to do in a handler */
    }
}

/* With a checkpoint PATH: USR1, USR2 and TERM count; without: USR1 and
 * USR2 print a note, TERM keeps its default (the end of the process). */
static void install_signals(const struct options *o, int rank)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (o->m.ckpt_path) {
        sa.sa_handler = on_checkpoint_signal;
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGUSR2, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        return;
    }
    for (int i = 0; i < 2; i++) {
        int n = snprintf(ignored_note[i], sizeof ignored_note[i],
                         "vsmp: rank %d: %s ignored: no --checkpoint PATH\n", rank,
                         i == 0 ? "SIGUSR1" : "SIGUSR2");
        ignored_len[i] = n > 0 && (size_t)n < sizeof ignored_note[i] ? (size_t)n : 0;
    }
    sa.sa_handler = on_ignored_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
}

/* For the integration tests: VSMP_TEST_CLOCK_SKEW=SECONDS moves this
 * job's virtual clock that far ahead, as a restore long after the
 * checkpoint would find it (the restore must continue from the saved
 * value all the same). */
static int64_t test_clock_skew_ns(void)
{
    const char *t = getenv("VSMP_TEST_CLOCK_SKEW");
    return t ? (int64_t)atoll(t) * 1000000000 : 0;
}

/* Every rank ends here with the job's status. */
static int finish(struct runtime *rt, struct watchdog *w, int status)
{
    fflush(stdout);
    fflush(stderr);
    struct watch_mark k = watch_begin(w, WATCH_STEP, -1, 0, "MPI_Finalize at the end");
    rt_finalize(rt);
    watch_end(w, k);
    watchdog_stop(w);
    return status;
}

/* A collective step (KEY: config, open, clock, machine, stats, close):
 * the watchdog thread ends the job if some rank never comes
 * (src/watchdog.h). For the integration tests, VSMP_TEST_STOP=KEY:RANK
 * in the environment makes rank RANK stop itself (SIGSTOP) just before
 * the step, as a rank stopped from outside at that moment would. */
static struct watch_mark step(const struct options *o, int rank, const char *key,
                              const char *what)
{
    const char *t = getenv("VSMP_TEST_STOP");
    size_t n = strlen(key);
    if (t && !strncmp(t, key, n) && t[n] == ':' && atoi(t + n + 1) == rank)
        raise(SIGSTOP);
    return watch_begin(o->watchdog, WATCH_STEP, -1, 0, what);
}

static void baseline_tick(void *dm)
{
    dsm_mpi_baseline_tick(dm);
}

/* The JSON statistics into f (--stats-json path, opened before the run)
 * and f closed: 0, or -1 after a one-line message naming the file, the
 * cause and the run's own `status`. */
static int write_stats_json(FILE *f, const char *path, const struct machine_stats *st, int n,
                            int status)
{
    errno = 0;
    machine_stats_json(st, n, f);
    int e = 0;
    if (fflush(f) != 0 || ferror(f))
        e = errno ? errno : EIO;
    if (fclose(f) != 0 && !e)
        e = errno ? errno : EIO;
    if (!e)
        return 0;
    fprintf(stderr, "vsmp: --stats-json %s: cannot write the statistics: %s (the run ended with "
            "status %d; exit status %d)\n", path, strerror(e), status, VSMP_EXIT_STATS);
    return -1;
}

/* After --stats printed on stderr: did a write fail? (-1 after a message,
 * which may well be lost too: the exit status says it.) The caller
 * cleared stderr's error flag before printing. */
static int check_stats_stderr(int status)
{
    if (!ferror(stderr))
        return 0;
    clearerr(stderr);
    fprintf(stderr, "vsmp: --stats: a write of the statistics to stderr failed (the run ended "
            "with status %d; exit status %d)\n", status, VSMP_EXIT_STATS);
    return -1;
}

/* N ranks, N CPUs over the distributed shared memory. Returns the exit
 * status (the same on every rank). */
/* Collective: did any rank fail (`bad`, with its message in `err`)? If
 * so the error is printed once: rank 0's speaks for all (every rank read
 * the same files), another rank's only when it failed alone (a file
 * missing on its node, say). */
static bool any_rank_failed(struct runtime *rt, int rank, bool bad, const char *err)
{
    if (!rt_max(rt, bad))
        return false;
    int rank0_bad = rt_max(rt, rank == 0 && bad);
    if (bad && rank == 0)
        fprintf(stderr, "vsmp: %s\n", err);
    else if (bad && !rank0_bad)
        fprintf(stderr, "vsmp: rank %d: %s\n", rank, err);
    return true;
}

static int run_smp(struct runtime *rt, const struct config *cfg, struct options *opt,
                   const char *restore, FILE *stats_f)
{
    int rank = rt_rank(rt), n = rt_size(rt);
    struct watchdog *w = opt->watchdog;
    struct watch_mark k;
    char err[1024];
    uint64_t npages = cfg->memory / DSM_PAGE_SIZE;
    struct dsm_mpi_config mc = {
        .ram_bytes = cfg->memory,
        .dir_words = dsm_dir_words(npages, n, rank),
        .msg_size = sizeof(struct dsm_msg),
        .idle = opt->idle,
        .data_path = opt->push,
    };
    k = step(opt, rank, "open", "the opening of the shared memory at start-up");
    struct dsm_mpi *dm = dsm_mpi_open(&mc, NULL, NULL);   /* collective */
    watch_end(w, k);
    if (!dm)
        rt_abort(rt, VSMP_EXIT_INTERNAL, "cannot open the shared-memory transport");
    dsm_mpi_set_watchdog(dm, w);
    struct clocksync cs;
    k = step(opt, rank, "clock", "the clock synchronisation at start-up");
    clocksync_run(&cs, 0);                                 /* collective */
    watch_end(w, k);
    opt->m.transport = dsm_mpi_transport(dm);
    opt->m.answer_timeout_ns = opt->answer_timeout_ns;
    opt->m.watchdog = w;
    if (opt->baseline_ms && (opt->m.stats || opt->stats_json)) {   /* else unseen */
        dsm_mpi_baseline_every(dm, (uint64_t)opt->baseline_ms * 1000000u);
        opt->m.between_slices = baseline_tick;
        opt->m.between_slices_arg = dm;
    }
    opt->m.clock_offset_ns = cs.offset_ns + test_clock_skew_ns();
    if (!opt->m.transport)
        rt_abort(rt, VSMP_EXIT_INTERNAL, "DSM transport: message size mismatch");

    struct machine *m = rank == 0 ? machine_create(cfg, &opt->m, err, sizeof(err))
                                  : machine_create_ap(cfg, &opt->m, rank, err, sizeof(err));
    k = step(opt, rank, "machine", "the machine check at start-up");
    bool failed = any_rank_failed(rt, rank, m == NULL, err);
    watch_end(w, k);
    if (!failed && restore) {
        k = step(opt, rank, "restore", "the restore of the memory image at start-up");
        failed = any_rank_failed(rt, rank, ckpt_restore(m, restore, err, sizeof err) != 0, err);
        watch_end(w, k);
    }
    if (failed) {
        machine_destroy(m);
        k = step(opt, rank, "close", "the freeing of the shared memory at the end");
        dsm_mpi_close(dm);
        if (stats_f)
            fclose(stats_f);
        watch_end(w, k);
        return VSMP_EXIT_CONFIG;
    }
    clearerr(stderr);
    int status = machine_run(m);

    k = step(opt, rank, "stats", "the gathering of statistics at the end");
    if (opt->m.stats || opt->stats_json) {
        struct machine_stats mine, *all = NULL;
        machine_get_stats(m, &mine);
        dsm_mpi_baseline_stats(dm, &mine.dsm.raw_get);
        if (rank == 0) {
            all = calloc((size_t)n, sizeof *all);
            if (!all)
                rt_abort(rt, VSMP_EXIT_INTERNAL, "out of memory");
        }
        rt_gather(rt, &mine, sizeof mine, all);
        int backoff = rt_max(rt, !dsm_mpi_idle_spins(dm));
        int spin = rt_max(rt, dsm_mpi_idle_spins(dm));
        int put_peers = dsm_mpi_put_peers(dm);
        int some_put = rt_max(rt, put_peers > 0), some_msg = rt_max(rt, put_peers < n - 1);
        bool lost = false;           /* rank 0: statistics not written */
        if (rank == 0) {
            if (opt->m.stats) {
                machine_stats_print(all, n, stderr);
                fprintf(stderr, "vsmp: idle waits: %s\n",
                        spin && backoff ? "spin on some hosts, backoff on others"
                        : spin          ? "spin (a core per rank)"
                                        : "backoff (yield, then sleep)");
                if (n > 1)
                    fprintf(stderr, "vsmp: page answers: %s\n",
                            some_put && some_msg ? "put + message to some ranks, in the message to others"
                            : some_put           ? "put + message"
                                                 : "page in the message");
                lost = check_stats_stderr(status) != 0;
            }
            if (stats_f && write_stats_json(stats_f, opt->stats_json, all, n, status))
                lost = true;
            free(all);
        }
        if (rt_max(rt, lost))                              /* collective */
            status = VSMP_EXIT_STATS;
    }
    watch_end(w, k);
    machine_destroy(m);
    k = step(opt, rank, "close", "the freeing of the shared memory at the end");
    dsm_mpi_close(dm);                                     /* collective */
    watch_end(w, k);
    return status;
}

int main(int argc, char **argv)
{
    struct options opt;
    int r = parse_options(argc, argv, &opt);
    if (r)
        return r - 1;
    /* The signals count from the start (a SIGUSR1 during the start-up
     * must not end the process); again below, once MPI runs. */
    install_signals(&opt, launcher_rank());

    /* Singleton runs crash in Open MPI's vader BTL without this. */
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    /* Open MPI 4.1's event loop waits with poll(); every progress pass
     * over TCP makes that call, two per vsmp poll. epoll_wait costs half
     * as much (a poll between two slices 1.8 -> 1.0 us over TCP,
     * docs/dsm-mpi.md); Open MPI 5 made it the default on Linux. Only
     * this process's event loop is affected (mpirun forwards stdin with
     * its own), and a setting from the environment wins. */
    setenv("OMPI_MCA_opal_event_include", "epoll", 0);
    signal(SIGPIPE, SIG_IGN);

    /* Without an MPI launcher this is a one-CPU run: no MPI at all (a
     * singleton MPI_Init costs 0.2-0.4 s of orted start-up). */
    struct runtime *rt = rt_init_local(&argc, &argv);
    if (!rt)
        return VSMP_EXIT_CONFIG;
    int rank = rt_rank(rt);
    /* Several ranks: the answer timeout's watchdog thread (it never calls
     * MPI), before the first step that waits for the others. */
    if (rt_size(rt) > 1 && opt.answer_timeout_ns) {
        opt.watchdog = watchdog_start(rank, opt.answer_timeout_ns);
        if (!opt.watchdog)
            rt_abort(rt, VSMP_EXIT_INTERNAL, "cannot start the answer-timeout thread: %s",
                     strerror(errno));
    }

    /* Every rank reads the config; all agree before going on. */
    char err[1024];
    struct config cfg;
    bool parsed = config_parse_restoring(opt.config, &cfg, opt.restore != NULL, err,
                                         sizeof(err)) == 0;
    bool bad = !parsed || config_check_cpus(&cfg, rt_size(rt), err, sizeof(err)) != 0;
    struct watch_mark k = step(&opt, rank, "config", "the configuration check at start-up");
    bool failed = any_rank_failed(rt, rank, bad, err);
    watch_end(opt.watchdog, k);
    if (failed) {
        if (parsed)
            config_free(&cfg);
        return finish(rt, opt.watchdog, VSMP_EXIT_CONFIG);
    }

    /* Memory images: the image code is MPI-IO over its own communicator
     * (a one-CPU run without a launcher starts MPI for it), and the
     * signals are counted from here on. */
    const char *restore = opt.restore ? opt.restore : cfg.image;
    struct ckpt_mpi *ckpt = NULL;
    if (opt.m.ckpt_path || restore) {
        if (rt_need_mpi(rt) || !(ckpt = ckpt_mpi_open()))
            rt_abort(rt, VSMP_EXIT_INTERNAL, "cannot set up the memory image I/O");
        opt.m.ckpt = ckpt_mpi_ops(ckpt);
        opt.m.restore = restore != NULL;
    }
    opt.m.signals = &signal_counts;
    install_signals(&opt, rank);       /* MPI_Init may have set its own */

    /* Rank 0 creates the statistics file now, so that a bad path ends
     * the job before the guest runs, not after. */
    FILE *stats_f = NULL;
    bool no_stats = false;
    if (opt.stats_json && rank == 0) {
        stats_f = fopen(opt.stats_json, "w");
        if (!stats_f) {
            snprintf(err, sizeof(err), "--stats-json %s: cannot create: %s", opt.stats_json,
                     strerror(errno));
            no_stats = true;
        }
    }
    k = step(&opt, rank, "stats-file", "the statistics file check at start-up");
    failed = any_rank_failed(rt, rank, no_stats, err);
    watch_end(opt.watchdog, k);
    if (failed) {
        ckpt_mpi_close(ckpt);
        config_free(&cfg);
        return finish(rt, opt.watchdog, VSMP_EXIT_STATS);
    }

    /* Rank 0's console at a terminal: raw mode, keys straight to the
     * guest, Ctrl-A commands; restored on every way out (io/terminal.h) */
    if (rank == 0 && cfg.console == CONSOLE_STDIO) {
        int tfd = terminal_find(STDIN_FILENO);
        opt.m.console_escapes = tfd >= 0 && terminal_raw(tfd) == 0;
    }

    int status;
    int nranks = rt_size(rt);
    opt.m.ncpus = nranks;
    if (nranks == 1) {
        opt.m.clock_offset_ns = test_clock_skew_ns();
        struct machine *m = machine_create(&cfg, &opt.m, err, sizeof(err));
        if (m && restore && ckpt_restore(m, restore, err, sizeof(err))) {
            machine_destroy(m);
            m = NULL;
        }
        if (!m) {
            fprintf(stderr, "vsmp: %s\n", err);
            status = VSMP_EXIT_CONFIG;
            if (stats_f)
                fclose(stats_f);
        } else {
            clearerr(stderr);
            status = machine_run(m);
            bool lost = opt.m.stats && check_stats_stderr(status) != 0;
            if (stats_f) {
                struct machine_stats st;
                machine_get_stats(m, &st);
                lost |= write_stats_json(stats_f, opt.stats_json, &st, 1, status) != 0;
            }
            if (lost)
                status = VSMP_EXIT_STATS;
            machine_destroy(m);
        }
    } else {
        status = run_smp(rt, &cfg, &opt, restore, stats_f);
    }
    terminal_restore();
    ckpt_mpi_close(ckpt);
    config_free(&cfg);
    return finish(rt, opt.watchdog, status);
}
