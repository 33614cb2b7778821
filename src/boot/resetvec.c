/* resetvec.c - the reset-vector stub (resetvec.h). */
#include "boot/resetvec.h"

#include <string.h>

void resetvec_build(uint16_t port, uint8_t value, uint8_t out[RESETVEC_SIZE])
{
    const uint8_t code[] = {
        0xba, (uint8_t)port, (uint8_t)(port >> 8),  /* mov dx, port */
        0xb0, value,                                /* mov al, value */
        0xee,                                       /* out dx, al */
        0xfa,                                       /* cli */
        0xf4,                                       /* hlt */
        0xeb, 0xfd,                                 /* jmp (the hlt) */
    };
    memset(out, 0, RESETVEC_SIZE);
    memcpy(out, code, sizeof code);
}

int resetvec_write(struct phys *p, uint16_t port, uint8_t value)
{
    uint8_t b[RESETVEC_SIZE];
    if ((uint64_t)RESETVEC_ADDR + RESETVEC_SIZE > p->ram_size)
        return -1;
    resetvec_build(port, value, b);
    return phys_copy_in(p, RESETVEC_ADDR, b, RESETVEC_SIZE);
}
