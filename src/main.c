/* main.c - the vsmp program: options, MPI start-up, configuration, then
 * rank 0 runs the machine while the other ranks wait for its end; every
 * rank exits with the guest's exit status (see machine.h for the list).
 *
 *   vsmp [--interp] [--jit-cache SIZE] [--max-insns N] [--stats] CONFIG
 *   mpirun -np N vsmp CONFIG      (one virtual CPU per rank)
 *
 * Open MPI 4.1.4 crashes in btl/vader unless
 * OMPI_MCA_btl_vader_single_copy_mechanism=none is set. Under mpirun that
 * is the caller's business (mpirun passes its environment on); for a
 * plain ./vsmp (MPI singleton) main() sets it before MPI starts. */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "machine.h"
#include "mpi/runtime.h"

#define VSMP_VERSION "0.1"

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
            "  --stats          print instruction count and speed at the end\n"
            "  --help           show this help\n"
            "  --version        show the version\n"
            "\n"
            "Exit status: the guest's debug-exit status ((V << 1) | 1, always odd),\n"
            "2 for a configuration or image error, 4 for a guest triple fault, 6 when\n"
            "the guest halts with interrupts disabled, 8 at the instruction limit.\n");
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
};

/* 0: run; otherwise the process exit status + 1 (so 1 means exit 0). */
static int parse_options(int argc, char **argv, struct options *o)
{
    enum { OPT_INTERP = 256, OPT_JIT_CACHE, OPT_MAX_INSNS, OPT_STATS, OPT_HELP, OPT_VERSION };
    static const struct option longopts[] = {
        { "interp", no_argument, NULL, OPT_INTERP },
        { "jit-cache", required_argument, NULL, OPT_JIT_CACHE },
        { "max-insns", required_argument, NULL, OPT_MAX_INSNS },
        { "stats", no_argument, NULL, OPT_STATS },
        { "help", no_argument, NULL, OPT_HELP },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    bool quiet = launcher_rank() != 0;
    memset(o, 0, sizeof(*o));
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
        case OPT_MAX_INSNS: {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (*end || !*optarg || optarg[0] == '-') {
                if (!quiet)
                    fprintf(stderr, "vsmp: --max-insns needs a number, not '%s'\n", optarg);
                return 3;
            }
            o->m.max_insns = v;
            break;
        }
        case OPT_STATS:
            o->m.stats = true;
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

/* Every rank ends here with the job's status. */
static int finish(struct runtime *rt, int status)
{
    fflush(stdout);
    fflush(stderr);
    rt_finalize(rt);
    return status;
}

int main(int argc, char **argv)
{
    struct options opt;
    int r = parse_options(argc, argv, &opt);
    if (r)
        return r - 1;

    /* Singleton runs crash in Open MPI's vader BTL without this. */
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    signal(SIGPIPE, SIG_IGN);

    struct runtime *rt = rt_init(&argc, &argv);
    if (!rt)
        return VSMP_EXIT_CONFIG;
    int rank = rt_rank(rt);

    /* Every rank reads the config; all agree before going on. */
    char err[1024];
    struct config cfg;
    bool parsed = config_parse(opt.config, &cfg, err, sizeof(err)) == 0;
    bool bad = !parsed || config_check_cpus(&cfg, rt_size(rt), err, sizeof(err)) != 0;
    if (rt_max(rt, bad)) {
        /* Rank 0 speaks for all; a rank that failed alone (a file missing
         * on its node) speaks for itself. */
        int rank0_bad = rt_max(rt, rank == 0 && bad);
        if (bad && rank == 0)
            fprintf(stderr, "vsmp: %s\n", err);
        else if (bad && !rank0_bad)
            fprintf(stderr, "vsmp: rank %d: %s\n", rank, err);
        if (parsed)
            config_free(&cfg);
        return finish(rt, VSMP_EXIT_CONFIG);
    }

    int status;
    if (rank == 0) {
        struct machine *m = machine_create(&cfg, &opt.m, err, sizeof(err));
        if (!m) {
            fprintf(stderr, "vsmp: %s\n", err);
            status = VSMP_EXIT_CONFIG;
        } else {
            status = machine_run(m);
            machine_destroy(m);
        }
        rt_send_shutdown(rt, status);
    } else {
        struct machine *m = machine_create_ap(&cfg, rank, err, sizeof(err));
        if (!m)
            rt_abort(rt, VSMP_EXIT_CONFIG, "%s", err);
        status = rt_wait_shutdown(rt);
        machine_destroy(m);
    }
    config_free(&cfg);
    return finish(rt, status);
}
