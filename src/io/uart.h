/* uart.h - a 16550A serial port (COM1: 0x3F8, IRQ4), as Linux's 8250
 * driver probes and drives it.
 *
 * Transmission is instantaneous: bytes written to THR go to an output
 * buffer that is handed to `tx` at each newline, when it fills, and when
 * the machine calls uart_flush() (guest halted, run ending); THR is empty
 * again at once. In loopback (MCR bit 4) they come back into the
 * receiver instead, and the outside line is cut off.
 *
 * The other end of the line is a terminal with hardware flow control: it
 * sends only while the guest asserts RTS (MCR bit 1) and the port is not
 * in loopback, and never more than the receiver has room for -
 * uart_rx_space() says how much; the host feeds those bytes with
 * uart_receive(). A guest that has not opened the port (Linux raises RTS
 * when a process opens the tty) so never loses input to its probing and
 * FIFO resets.
 *
 * On a PC the interrupt output reaches the IRQ line only through MCR OUT2
 * (bit 3), and not in loopback (the OUT2 pin is then inactive). With the
 * FIFO on, received data below the trigger level is reported at once as a
 * character timeout (IIR 0x0C) rather than after four character times. */
#ifndef VSMP_UART_H
#define VSMP_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/iobus.h"
#include "snap/snapbuf.h"

#define UART_FIFO 16
#define UART_OUTBUF 4096

/* LSR bits */
#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

/* MCR bits */
#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10

/* The registers and the receiver (plain data: saved in memory images). */
struct uart_state {
    uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
    uint8_t lsr_err;            /* OE (sticky until LSR is read) */
    uint8_t msr_lines;          /* MSR bits 4-7 last reported */
    uint8_t msr_delta;          /* MSR bits 0-3 */
    bool thr_ipending;          /* THR-empty interrupt pending */
    uint8_t rx[UART_FIFO];
    int rx_head, rx_count;
};

/* The state, the port and the wiring; `out` is host-side output not yet
 * handed to tx (not part of the state). */
struct uart {
    uint16_t base;
    struct uart_state s;
    uint8_t out[UART_OUTBUF];
    size_t out_len;
    struct irq_line irq;
    int irq_level;
    void (*tx)(void *ctx, const uint8_t *buf, size_t n);
    void *tx_ctx;
};

void uart_init(struct uart *u, uint16_t base, struct irq_line irq,
               void (*tx)(void *ctx, const uint8_t *buf, size_t n), void *tx_ctx);
/* How many bytes the line may deliver now: 0 while the guest holds RTS
 * off or the port is in loopback, else the receiver's free room (1 with
 * the FIFO off, up to 16 with it on). */
int uart_rx_space(const struct uart *u);
/* A byte arrives on the line (overrun when there is no room; ignored in
 * loopback, where the line is cut off). */
void uart_receive(struct uart *u, uint8_t byte);
/* Hand buffered output to tx. */
void uart_flush(struct uart *u);

uint32_t uart_io_read(void *uart, uint16_t port, int size);
void uart_io_write(void *uart, uint16_t port, int size, uint32_t value);
int uart_register(struct uart *u, struct iobus *bus);

/* Memory images: section "UART". The load checks the FIFO head and count
 * (and the count against the FIFO's state). */
void uart_save(const struct uart_state *s, struct snapw *w);
bool uart_load(struct uart_state *s, struct snapr *r);
/* After a load: drive the IRQ line from the state (set once, whatever
 * the level). */
void uart_redrive(struct uart *u);


#endif
