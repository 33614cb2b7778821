/* irq_rec.h - for the device unit tests (test_devices.c, test_uart.c):
 * an interrupt line's recorder, plugged in as a struct irq_line's `set`,
 * that counts rising edges and keeps the current level. */
#ifndef VSMP_TEST_IRQ_REC_H
#define VSMP_TEST_IRQ_REC_H

struct irq_rec {
    int raises;     /* 0 -> 1 transitions seen */
    int level;      /* the line now */
};

static inline void rec_irq(void *ctx, int irq, int level)
{
    struct irq_rec *r = ctx;
    (void)irq;
    if (level && !r->level)
        r->raises++;
    r->level = level;
}

#endif
