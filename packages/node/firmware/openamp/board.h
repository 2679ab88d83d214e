/*
 * Board support for the OpenAMP echo firmware on QEMU mps2-an386 (Cortex-M4): the pieces of the
 * @amp QEMU contract (../qemu/amp-qemu.h) that are not OpenAMP's business. Console (UART0), the
 * doorbell (UART1 byte both ways in irq mode, counters in poll mode), SysTick, the CMSDK
 * watchdog, the crash record written by the fault handlers, the trace buffer, heap and stack.
 */
#ifndef AMP_OPENAMP_BOARD_H
#define AMP_OPENAMP_BOARD_H

#include <stdint.h>
#include "amp-qemu.h"

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))
/* A word of the control block (AMPQ_CTRL_* offsets). */
#define CTRL(off) REG32(AMPQ_CTRL_DA + (off))
#define CTRL_INC(off) (CTRL(off) = CTRL(off) + 1u)

/* Size of the trace buffer (RSC_TRACE "trace0"), a NUL-terminated text as Linux reads it. */
#define TRACE_LEN 4096u
extern char trace_buf[TRACE_LEN];

/* Clears the control block, counts the boot, sets up UARTs, SysTick (10 ms), the watchdog (3 s)
 * and the doorbell interrupt, and paints the stack for the high-water mark. */
void board_init(void);

/* One line into the trace buffer and on the console. */
void trace(const char *s);
void trace_n(const char *s, unsigned int n);
/* "<s><v>" with v in base 10 or 16 (0x prefix). */
void trace_kv(const char *s, uint32_t v, unsigned int base);

/* Appends the decimal or hex form of v at p; returns the end. */
char *fmt_u32(char *p, uint32_t v, unsigned int base);

/* True when the host wrote the doorbell mode "irq" (UART1 + WFI) into the control block. */
int doorbell_irq_mode(void);
/* Remote -> host notification for vring `notifyid`: the notify counter, plus a UART1 byte in irq mode. */
void doorbell_ring(uint32_t notifyid);
/* Returns 1 (and forgets it) if the host rang since the last call. */
int doorbell_take(void);

/* Reloads the watchdog, at most once per SysTick period. Call it from the main loop (or a wait
 * that is waiting for the host), never from an interrupt: a hung main loop must starve it. */
void watchdog_kick(void);

/* Waits for the next event: returns at once in poll mode; in irq mode sleeps in WFI unless the
 * doorbell rang or `ready()` says there is work (checked with interrupts masked, so a doorbell
 * arriving in between still wakes the WFI). The 10 ms SysTick bounds every sleep. */
void board_idle(int (*ready)(void));

/* Raw round trip of the control block: copies PING to PONG (and rings AMPQ_DB_PONG). */
int board_ping_pong(void);

/* Bytes of heap handed out by _sbrk so far (newlib-nano's malloc never gives them back), and
 * the deepest stack use since boot (from the painted stack). */
uint32_t heap_used(void);
uint32_t stack_used(void);

/* Faults on purpose, for the host's crash and recovery paths. */
void crash_undefined(void);
uint32_t crash_div0(void);
void hang_forever(void) __attribute__((noreturn));
void reset_request(void) __attribute__((noreturn));

#endif
