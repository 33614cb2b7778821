/* stats.c - what a rank did, for --stats / --stats-json: the figures
 * collected at the end of a run (run time, host CPU time, context
 * switches, page faults), machine_get_stats(), and the text and JSON
 * forms of every rank's figures. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "machine_impl.h"

static void print_host_stats(const struct machine_stats *s, FILE *f);
static void print_disk_stats(const struct machine_stats *s, FILE *f);

static uint64_t timeval_ns(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

static void print_stats(const struct machine *m, uint64_t t0)
{
    double secs = (double)(host_now_ns(NULL) - t0) / 1e9;
    fprintf(stderr, "vsmp: rank 0: %llu instructions in %.3f s (%.1f MIPS)\n",
            (unsigned long long)m->cpu.icount, secs,
            secs > 0 ? (double)m->cpu.icount / secs / 1e6 : 0.0);
    struct machine_stats st;
    machine_get_stats(m, &st);
    print_host_stats(&st, stderr);
    print_disk_stats(&st, stderr);
}

/* The end of machine_run(): its wall time and the host's account of the
 * process; with --stats and one CPU the figures are printed here (with
 * N > 1 main.c gathers every rank's and prints them). */
void stats_end_of_run(struct machine *m, uint64_t t0)
{
    m->st.run_ns = host_now_ns(NULL) - t0;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        m->st.cpu_user_ns = timeval_ns(ru.ru_utime);
        m->st.cpu_sys_ns = timeval_ns(ru.ru_stime);
        m->st.csw_voluntary = (uint64_t)ru.ru_nvcsw;
        m->st.csw_involuntary = (uint64_t)ru.ru_nivcsw;
        m->st.minor_faults = (uint64_t)ru.ru_minflt;
    }
    if (m->opts.stats && !m->dsm) {
        print_stats(m, t0);
        exec_print_stats(&m->cpu, stderr);
    }
}

void machine_get_stats(const struct machine *m, struct machine_stats *out)
{
    *out = m->st;
    out->rank = m->rank;
    out->instructions = m->cpu.icount;
    out->slice_insns = m->st.slices ? m->cpu.icount / m->st.slices : 0;
    out->jit_blocks = m->cpu.jit_stats.blocks;
    out->jit_helper_calls = m->cpu.jit_stats.helper_calls;
    if (m->dsm) {
        out->dsm = *dsm_get_stats(m->dsm);
        dsm_hot_pages(m->dsm, out->dsm.hot);
        dsm_migratory_stats(m->dsm, &out->dsm.migratory_reads, &out->dsm.migratory_dropped);
    } else
        memset(&out->dsm, 0, sizeof out->dsm);
    out->disks = (uint64_t)m->ndisks;
    for (int i = 0; i < m->ndisks; i++) {
        const struct virtio_blk_stats *d = &m->disk[i].blk.st;
        out->disk_requests += d->requests;
        out->disk_bytes += d->bytes;
        out->disk_flushes += d->flushes;
        out->disk_errors += d->errors;
        out->disk_services += d->calls;
        out->disk_service_ns += d->service_ns;
        if (d->max_service_ns > out->disk_max_service_ns)
            out->disk_max_service_ns = d->max_service_ns;
        if (d->max_flush_ns > out->disk_max_flush_ns)
            out->disk_max_flush_ns = d->max_flush_ns;
    }
}

/* Rank 0's disks: requests, bytes, flushes, the longest single service
 * between two slices (a large request is served in pieces). */
static void print_disk_stats(const struct machine_stats *s, FILE *f)
{
    if (!s->disks)
        return;
    fprintf(f, "vsmp: rank %d: disks: %" PRIu64 " requests, %" PRIu64 " bytes, %" PRIu64
            " flushes, %" PRIu64 " errors; %" PRIu64 " services between slices, mean %.0f us, "
            "longest %.0f us (longest flush %.0f us)\n",
            s->rank, s->disk_requests, s->disk_bytes, s->disk_flushes, s->disk_errors,
            s->disk_services,
            s->disk_services ? (double)s->disk_service_ns / 1e3 / (double)s->disk_services : 0.0,
            (double)s->disk_max_service_ns / 1e3, (double)s->disk_max_flush_ns / 1e3);
}

/* Where a rank's host time went: guest code (and its speed there),
 * polls between slices, and what the host kernel says of the process. */
static void print_host_stats(const struct machine_stats *s, FILE *f)
{
    double g = (double)s->guest_ns / 1e9;
    fprintf(f, "vsmp: rank %d: host: guest code %.3f s (%.1f MIPS), polls %.3f s (%.2f us each), "
            "CPU time user %.3f s sys %.3f s, context switches %" PRIu64 " voluntary %" PRIu64
            " involuntary, %" PRIu64 " page faults, %" PRIu64 " blocks translated, %.2f%% of "
            "instructions by handler calls\n",
            s->rank, g, g > 0 ? (double)s->instructions / g / 1e6 : 0.0, (double)s->poll_ns / 1e9,
            s->slices ? (double)s->poll_ns / 1e3 / (double)s->slices : 0.0,
            (double)s->cpu_user_ns / 1e9, (double)s->cpu_sys_ns / 1e9, s->csw_voluntary,
            s->csw_involuntary, s->minor_faults, s->jit_blocks,
            s->instructions ? 100.0 * (double)s->jit_helper_calls / (double)s->instructions : 0.0);
}

void machine_stats_print(const struct machine_stats *st, int n, FILE *f)
{
    for (int i = 0; i < n; i++) {
        const struct machine_stats *s = &st[i];
        double secs = (double)s->run_ns / 1e9;
        fprintf(f, "vsmp: rank %d: %" PRIu64 " instructions in %.3f s (%.1f MIPS), "
                "halted %.3f s, %" PRIu64 " slices of %" PRIu64 " insns (mean), "
                "%" PRIu64 " ended by PAUSE\n",
                s->rank, s->instructions, secs,
                secs > 0 ? (double)s->instructions / secs / 1e6 : 0.0,
                (double)s->halt_ns / 1e9, s->slices, s->slice_insns, s->pause_exits);
        print_host_stats(s, f);
        print_disk_stats(s, f);
        if (n <= 1)
            continue;
        fprintf(f, "vsmp: rank %d: IPIs sent %" PRIu64 " received %" PRIu64
                ", device requests %" PRIu64 " (waited %.3f ms), served %" PRIu64
                ", messages sent %" PRIu64 "\n",
                s->rank, s->ipis_sent, s->ipis_recv, s->io_requests,
                (double)s->io_wait_ns / 1e6, s->io_served, s->msgs_sent);
        /* dsm_stats_print writes "rank R dsm: ..." lines: prefix them */
        char *buf = NULL;
        size_t len = 0;
        FILE *mf = open_memstream(&buf, &len);
        if (!mf)
            continue;
        dsm_stats_print(&s->dsm, s->rank, mf);
        fclose(mf);
        for (char *line = buf; line && *line;) {
            char *nl = strchr(line, '\n');
            int l = nl ? (int)(nl - line) : (int)strlen(line);
            fprintf(f, "vsmp: %.*s\n", l, line);
            line = nl ? nl + 1 : NULL;
        }
        free(buf);
    }
}

void machine_stats_json(const struct machine_stats *st, int n, FILE *f)
{
    fprintf(f, "{\"cpus\": %d, \"ranks\": [", n);
    for (int i = 0; i < n; i++) {
        const struct machine_stats *s = &st[i];
        fprintf(f, "%s\n  {\"rank\": %d, \"instructions\": %" PRIu64 ", \"run_ns\": %" PRIu64
                ", \"halt_ns\": %" PRIu64 ", \"slices\": %" PRIu64 ", \"slice_insns\": %" PRIu64
                ", \"pause_exits\": %" PRIu64 ", \"ipis_sent\": %" PRIu64 ", \"ipis_received\": %" PRIu64
                ", \"device_requests\": %" PRIu64 ", \"device_wait_ns\": %" PRIu64
                ", \"device_requests_served\": %" PRIu64 ", \"messages_sent\": %" PRIu64
                ", \"guest_ns\": %" PRIu64 ", \"poll_ns\": %" PRIu64 ", \"cpu_user_ns\": %" PRIu64
                ", \"cpu_sys_ns\": %" PRIu64 ", \"context_switches_voluntary\": %" PRIu64
                ", \"context_switches_involuntary\": %" PRIu64 ", \"page_faults\": %" PRIu64
                ", \"blocks_translated\": %" PRIu64 ", \"handler_call_insns\": %" PRIu64
                ", \"disk_requests\": %" PRIu64 ", \"disk_bytes\": %" PRIu64
                ", \"disk_flushes\": %" PRIu64 ", \"disk_errors\": %" PRIu64
                ", \"disk_services\": %" PRIu64 ", \"disk_service_ns\": %" PRIu64
                ", \"disk_max_service_ns\": %" PRIu64 ", \"disk_max_flush_ns\": %" PRIu64
                ", \"dsm\": ",
                i ? "," : "", s->rank, s->instructions, s->run_ns, s->halt_ns, s->slices,
                s->slice_insns, s->pause_exits, s->ipis_sent, s->ipis_recv, s->io_requests, s->io_wait_ns,
                s->io_served, s->msgs_sent, s->guest_ns, s->poll_ns, s->cpu_user_ns, s->cpu_sys_ns,
                s->csw_voluntary, s->csw_involuntary, s->minor_faults, s->jit_blocks,
                s->jit_helper_calls, s->disk_requests, s->disk_bytes, s->disk_flushes,
                s->disk_errors, s->disk_services, s->disk_service_ns, s->disk_max_service_ns,
                s->disk_max_flush_ns);
        dsm_stats_json(&s->dsm, s->rank, f);
        fprintf(f, "}");
    }
    fprintf(f, "\n]}\n");
}
