/* state.h - a rank's share of a memory image's state block
 * (docs/image-format.md): its CPU (src/snap/rank_state.c) and, on rank 0,
 * the platform devices (src/snap/dev_state.c). Each writes sections with
 * snapw (snap/snapbuf.h); each load checks every value and returns false
 * with the reason in r->why. */
#ifndef VSMP_SNAP_STATE_H
#define VSMP_SNAP_STATE_H

#include <stdbool.h>

#include "snap/snapbuf.h"

struct machine;
struct apic_peer;

/* This rank's CPU: registers, FPU, MSRs, local APIC and its timer, and
 * what the machine holds for the CPU (queued INIT/STARTUP, halt state,
 * pending interrupt lines). Save between slices, with the ranks quiet.
 * The load refuses another rank's state; after a refusal the CPU may be
 * partly loaded and the machine must not run. After a load: the CPU's
 * TLB, decoded blocks and translations are gone, its INTR line is the
 * APIC's output, and this rank's entry of the peer table is refreshed;
 * the other ranks' entries must be filled too (rank_state_peer on their
 * sections, or every rank announcing its APIC with xrank_apic_changed
 * once all have loaded), and the virtual clock must go on from the saved
 * value (the APIC timer and TSC deadline are kept in its ns). */
void rank_state_save(const struct machine *m, struct snapw *w);
bool rank_state_load(struct machine *m, struct snapr *r);

/* Another rank's CPU state (its rank_state_save): moves r past it and
 * gives what a router needs of its APIC (ID, LDR, DFR, TPR, enables), so
 * every rank can fill its peer table from the image. The load itself
 * checks the sections as rank_state_load does. */
bool rank_state_peer(struct snapr *r, int rank, int ncpus, struct apic_peer *p);

/* Rank 0: every platform device (PIC, PIT, UART, IOAPIC, RTC, ACPI PM,
 * debug-exit, the virtio disks with their image paths and sizes). The
 * load checks the disks against the machine's and refuses another set. */
void devices_save(const struct machine *m, struct snapw *w);
bool devices_load(struct machine *m, struct snapr *r);

#endif
