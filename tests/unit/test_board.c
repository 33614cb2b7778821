/* test_board.c - the devices' pending work (docs/devices.md, src/board.c):
 * a device register access only marks work pending; rank 0's run loop
 * does the work between slices, never inside the access, and the work
 * reaches guest RAM through phys as a CPU does.
 *
 * The guest is a 4 KiB ROM whose reset vector (real mode, F000:FFF0)
 * writes the test device's port 0x510 (mark), spins reading port 0x511
 * until the work has run, then writes 1 to the debug-exit port (status
 * (1 << 1) | 1 = 3). Without the work done between slices it spins until
 * the instruction limit (status 8).
 * And the board's wiring agrees with the platform's window table (ports
 * registered on rank 0's iobus, MMIO windows mapped in its phys). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "machine_impl.h"

#define DEV_PORT 0x510
#define WORK_ADDR 0x600u
#define WORK_VALUE 0xc0ffee11u

struct testdev {
    struct machine *m;
    int handle;
    bool in_access;          /* inside a register access now */
    int runs;                /* work done so far */
    int runs_at_mark;        /* ... when the access returned */
    bool ran_inside;         /* the work ran inside an access */
    uint64_t slices_at_mark, slices_at_run;
    uint32_t done;
};

static uint32_t dev_read(void *ctx, uint16_t port, int size)
{
    (void)size;
    struct testdev *d = ctx;
    return port == DEV_PORT + 1 ? d->done : 0;
}

static void dev_write(void *ctx, uint16_t port, int size, uint32_t value)
{
    (void)size, (void)value;
    struct testdev *d = ctx;
    if (port != DEV_PORT)
        return;
    d->in_access = true;
    d->slices_at_mark = d->m->st.slices;
    board_mark_pending(d->m, d->handle);
    d->runs_at_mark = d->runs;
    d->in_access = false;
}

static void dev_work(void *ctx)
{
    struct testdev *d = ctx;
    if (d->in_access)
        d->ran_inside = true;
    d->runs++;
    d->slices_at_run = d->m->st.slices;
    phys_write(&d->m->phys, WORK_ADDR, 4, WORK_VALUE);   /* guest RAM, as a CPU */
    d->done = 1;
}

static char rom_path[64];

/* The ROM: 16-bit code at the reset vector. */
static void write_rom(void)
{
    static const uint8_t code[] = {
        0xba, 0x10, 0x05,        /* mov dx, 0x510 */
        0xee,                    /* out dx, al        (mark) */
        0xba, 0x11, 0x05,        /* mov dx, 0x511 */
        0xec,                    /* 1: in al, dx */
        0xa8, 0x01,              /* test al, 1 */
        0x74, 0xfb,              /* jz 1b */
        0xe6, 0xf4,              /* out 0xf4, al      (status 3) */
        0xf4,                    /* hlt */
    };
    uint8_t rom[4096];
    memset(rom, 0xf4, sizeof rom);
    memcpy(rom + 0xff0, code, sizeof code);
    strcpy(rom_path, "/tmp/vsmp-test-board-XXXXXX");
    int fd = mkstemp(rom_path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, rom, sizeof rom), (ssize_t)sizeof rom);
    close(fd);
}

static struct machine *make_machine(void)
{
    write_rom();
    struct config cfg = {
        .file = "test_board.cfg", .memory = 2u << 20, .rom = rom_path,
        .console = CONSOLE_NONE, .cpus = 1,
    };
    struct machine_opts opts = { .max_insns = 2000000, .ncpus = 1 };
    char err[256] = "";
    struct machine *m = machine_create(&cfg, &opts, err, sizeof err);
    unlink(rom_path);
    cr_assert_not_null(m, "%s", err);
    return m;
}

Test(board, work_runs_between_slices_not_in_the_access)
{
    struct machine *m = make_machine();
    struct testdev d = { .m = m };
    d.handle = board_add_work(m, dev_work, &d);
    cr_assert_geq(d.handle, 0);
    cr_assert_eq(iobus_register(&m->io, DEV_PORT, 2, 1, &d, dev_read, dev_write), 0);
    int status = machine_run(m);
    cr_assert_eq(status, 3, "the guest saw the work done (status %d; 8: it never ran)", status);
    cr_assert_eq(d.runs, 1, "once per mark");
    cr_assert_eq(d.runs_at_mark, 0, "marking did not run the work");
    cr_assert_not(d.ran_inside, "the work ran inside the register access");
    cr_assert_gt(d.slices_at_run, d.slices_at_mark, "the work ran after the slice ended");
    cr_assert_eq(phys_read(&m->phys, WORK_ADDR, 4), WORK_VALUE);
    machine_destroy(m);
}

static int counted;
static void count_work(void *ctx)
{
    (void)ctx;
    counted++;
}

Test(board, marks_and_runs)
{
    struct machine *m = make_machine();
    counted = 0;
    int a = board_add_work(m, count_work, NULL);
    int b = board_add_work(m, count_work, NULL);
    cr_assert_eq(a, 0);
    cr_assert_eq(b, 1);
    board_run_pending(m);
    cr_assert_eq(counted, 0, "nothing marked, nothing run");
    board_mark_pending(m, a);
    board_mark_pending(m, a);
    cr_assert_eq(counted, 0);
    board_run_pending(m);
    cr_assert_eq(counted, 1, "two marks before a run: one run");
    board_run_pending(m);
    cr_assert_eq(counted, 1);
    board_mark_pending(m, 99);           /* no such handle: ignored */
    board_mark_pending(m, -1);
    board_run_pending(m);
    cr_assert_eq(counted, 1);
    for (int i = 2; i < BOARD_MAX_WORK; i++)
        cr_assert_eq(board_add_work(m, count_work, NULL), i);
    cr_assert_eq(board_add_work(m, count_work, NULL), -1, "the list is full");
    machine_destroy(m);
}

/* Work that is not finished asks to run again (board_continue): it runs
 * at the next poll, and unlike a register access's mark it does not cut
 * the CPU's next slice short. */
static struct machine *cont_m;
static int cont_handle, cont_left;
static void continuing_work(void *ctx)
{
    (void)ctx;
    counted++;
    if (--cont_left > 0)
        board_continue(cont_m, cont_handle);
}

Test(board, continue_runs_again_without_ending_the_slice)
{
    struct machine *m = make_machine();
    counted = 0;
    cont_m = m;
    cont_left = 3;
    cont_handle = board_add_work(m, continuing_work, NULL);
    board_mark_pending(m, cont_handle);
    cr_assert_eq(m->cpu.exit_request, 1, "a mark ends the slice");
    m->cpu.exit_request = 0;
    for (int i = 1; i <= 3; i++) {
        board_run_pending(m);
        cr_assert_eq(counted, i, "one run a poll");
        cr_assert_eq(m->cpu.exit_request, 0, "the next slice is not cut short");
    }
    cr_assert_not(m->work_pending, "done");
    board_run_pending(m);
    cr_assert_eq(counted, 3);
    machine_destroy(m);
}

/* The platform's window table and what the board wired agree: every port
 * rank 0's iobus serves is in a rank-0 port window and every port of
 * those windows is served; every MMIO window is mapped at its place. */
Test(board, wiring_matches_the_window_table)
{
    struct machine *m = make_machine();
    const struct platform *p = &m->plat;
    for (int i = 0; i < m->io.nranges; i++) {
        const struct io_range *r = &m->io.range[i];
        uint32_t count = (uint32_t)r->last - r->first + 1;
        const struct platform_window *w = platform_window_at(p, PW_PORT, r->first, count);
        cr_assert_not_null(w, "ports 0x%x-0x%x are in no window", r->first, r->last);
        cr_assert_eq(w->where, PW_RANK0);
    }
    for (int i = 0; i < p->nwindows; i++) {
        const struct platform_window *w = &p->window[i];
        if (w->space == PW_PORT) {
            for (uint32_t port = w->base; port < w->base + w->size; port++) {
                bool served = false;
                for (int k = 0; k < m->io.nranges; k++)
                    served |= port >= m->io.range[k].first && port <= m->io.range[k].last;
                cr_assert(served, "%s: port 0x%x not registered", w->name, port);
            }
        } else {
            bool mapped = false;
            for (int k = 0; k < m->phys.nmmio; k++)
                mapped |= m->phys.mmio[k].base == w->base && m->phys.mmio[k].size == w->size;
            cr_assert(mapped, "%s: MMIO window not mapped at 0x%x", w->name, w->base);
        }
    }
    machine_destroy(m);
}
