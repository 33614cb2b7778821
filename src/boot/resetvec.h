/* resetvec.h - a stub at the x86 reset vector (F000:FFF0, physical
 * 0xFFFF0) for guests booted without firmware (Multiboot, Linux): 16-bit
 * real-mode code that writes the reset value to the ACPI reset register
 * (io/acpi_pm.h), which ends the run as a reset does, then `cli; hlt`.
 *
 * Linux jumps there when its earlier reboot methods did not work: with
 * reboot=bios, or with acpi=off (no ACPI reset register) after the
 * keyboard controller's pulse, which vsmp does not have
 * (arch/x86/kernel/reboot.c, BOOT_BIOS: machine_real_restart). Without
 * the stub the CPU would run the zeros there for ever.
 *
 * Bytes: BA lo hi (mov dx, port), B0 v (mov al, v), EE (out dx, al),
 * FA (cli), F4 (hlt), EB FD (jmp back to the hlt); the rest zero. */
#ifndef VSMP_RESETVEC_H
#define VSMP_RESETVEC_H

#include <stdint.h>

#include "mem/phys.h"

#define RESETVEC_ADDR 0x000ffff0u
#define RESETVEC_SIZE 16u

void resetvec_build(uint16_t port, uint8_t value, uint8_t out[RESETVEC_SIZE]);
/* 0, or -1 when the RAM does not reach the reset vector. */
int resetvec_write(struct phys *p, uint16_t port, uint8_t value);

#endif
