/*
 * mps2-an386 board support for the OpenAMP echo firmware (see board.h). The control block, crash
 * record and doorbell follow ../qemu/amp-qemu.h, so @amp's QEMU driver (src/qemu/driver.ts) boots,
 * notifies, watches and recovers this firmware exactly as it does amp-echo.
 */
#include <errno.h>
#include <stddef.h>
#include "board.h"

/* ---- CMSDK APB UART: UART0 console 0x40004000, UART1 doorbell 0x40005000 (qemu-remote.md §1) ---- */
#define UART0 0x40004000u
#define UART1 0x40005000u
#define UART_DATA 0x00u
#define UART_STATE 0x04u
#define UART_CTRL 0x08u
#define UART_INT 0x0cu /* INTSTATUS on read, INTCLEAR on write */
#define UART_BAUDDIV 0x10u
#define UART_STATE_TXFULL 1u
#define UART_STATE_RXFULL 2u
#define UART_CTRL_TX_EN 1u
#define UART_CTRL_RX_EN 2u
#define UART_CTRL_RX_INTEN 8u
#define UART_INT_RX 2u
#define UART1_RX_IRQ 2u /* QEMU hw/arm/mps2.c: UART1 RX is external interrupt 2 */

/* ---- CMSDK APB watchdog at 0x40008000; on mps2 its interrupt is the NMI ---- */
#define WDOG 0x40008000u
#define WDOG_LOAD 0x000u
#define WDOG_CONTROL 0x008u
#define WDOG_INTCLR 0x00cu
#define WDOG_LOCK 0xc00u
#define WDOG_UNLOCK 0x1acce551u
#define WDOG_CONTROL_INTEN 1u
#define WDOG_CONTROL_RESEN 2u

/* ---- System control space (ARMv7-M) ---- */
#define SCB_VTOR 0xe000ed08u
#define SCB_AIRCR 0xe000ed0cu
#define SCB_CCR 0xe000ed14u
#define SCB_CFSR 0xe000ed28u
#define SCB_HFSR 0xe000ed2cu
#define SCB_MMFAR 0xe000ed34u
#define SCB_BFAR 0xe000ed38u
#define CCR_DIV_0_TRP (1u << 4)
#define AIRCR_SYSRESETREQ 0x05fa0004u /* VECTKEY | SYSRESETREQ */
#define NVIC_ISER0 0xe000e100u
#define SYST_CSR 0xe000e010u
#define SYST_RVR 0xe000e014u
#define SYST_CVR 0xe000e018u
#define SYSCLK_HZ 25000000u

#define STACK_PAINT 0x5aa5c33cu
#define HEAP_SIZE (16u * 1024u)

/* ---- console and trace buffer ---- */
char trace_buf[TRACE_LEN] __attribute__((aligned(8)));
static uint32_t trace_pos;

static void uart_putc(uint32_t uart, char c)
{
	while (REG32(uart + UART_STATE) & UART_STATE_TXFULL) {
	}
	REG32(uart + UART_DATA) = (uint8_t)c;
}

/* Appends one line; when the buffer is full it restarts at offset 0 behind a marker, so the host
 * always reads the newest lines as one NUL-terminated string. */
void trace_n(const char *s, unsigned int n)
{
	volatile char *t = trace_buf;
	static const char wrapped[] = "[trace wrapped]\n";

	for (unsigned int i = 0; i < n; i++)
		uart_putc(UART0, s[i]);
	uart_putc(UART0, '\n');
	if (n > TRACE_LEN - sizeof wrapped - 2u)
		n = TRACE_LEN - sizeof wrapped - 2u;
	if (trace_pos + n + 2u > TRACE_LEN) {
		trace_pos = 0;
		for (unsigned int i = 0; wrapped[i]; i++)
			t[trace_pos++] = wrapped[i];
	}
	for (unsigned int i = 0; i < n; i++)
		t[trace_pos + i] = s[i];
	t[trace_pos + n] = '\n';
	t[trace_pos + n + 1u] = 0;
	trace_pos += n + 1u;
}

void trace(const char *s)
{
	unsigned int n = 0;

	while (s[n])
		n++;
	trace_n(s, n);
}

char *fmt_u32(char *p, uint32_t v, unsigned int base)
{
	char digits[12];
	unsigned int i = 0;

	if (base == 16) {
		*p++ = '0';
		*p++ = 'x';
	}
	do {
		uint32_t d = v % base;
		digits[i++] = (char)(d < 10u ? '0' + d : 'a' + d - 10u);
		v /= base;
	} while (v);
	while (i)
		*p++ = digits[--i];
	return p;
}

void trace_kv(const char *s, uint32_t v, unsigned int base)
{
	char line[96];
	char *p = line;

	while (*s && p < line + 72)
		*p++ = *s++;
	p = fmt_u32(p, v, base);
	trace_n(line, (unsigned int)(p - line));
}

/* ---- doorbell ---- */
static volatile uint32_t doorbell_flag;
static volatile uint32_t tick_flag;

int doorbell_irq_mode(void)
{
	return CTRL(AMPQ_CTRL_MODE) == AMPQ_MODE_IRQ;
}

void doorbell_ring(uint32_t notifyid)
{
	CTRL_INC(AMPQ_CTRL_NOTIFY);
	/* Bytes >= AMPQ_DB_PONG mean something else to the host; vring ids here are small. */
	if (doorbell_irq_mode())
		uart_putc(UART1, (char)(notifyid < AMPQ_DB_PONG ? notifyid : 0u));
}

int doorbell_take(void)
{
	if (!doorbell_flag)
		return 0;
	doorbell_flag = 0;
	return 1;
}

/* The host's byte carries a notify id, but OpenAMP is asked to look at every vring anyway
 * (RSC_NOTIFY_ID_ANY), so the bytes are only drained. */
void uart1_rx_irq(void)
{
	/* Clear before draining: a kick byte that lands after the last RXFULL check then raises
	 * the interrupt again; cleared after, it would sit unseen and the full UART would take no
	 * later kick. */
	REG32(UART1 + UART_INT) = UART_INT_RX;
	while (REG32(UART1 + UART_STATE) & UART_STATE_RXFULL)
		(void)REG32(UART1 + UART_DATA);
	doorbell_flag = 1;
	CTRL_INC(AMPQ_CTRL_IRQS);
}

void systick_irq(void)
{
	tick_flag = 1;
}

void watchdog_kick(void)
{
	if (!tick_flag)
		return;
	tick_flag = 0;
	REG32(WDOG + WDOG_INTCLR) = 1; /* clears the interrupt and reloads the counter */
}

int board_ping_pong(void)
{
	uint32_t ping = CTRL(AMPQ_CTRL_PING);

	if (ping == CTRL(AMPQ_CTRL_PONG))
		return 0;
	CTRL(AMPQ_CTRL_PONG) = ping;
	if (doorbell_irq_mode())
		uart_putc(UART1, (char)AMPQ_DB_PONG);
	return 1;
}

void board_idle(int (*ready)(void))
{
	CTRL_INC(AMPQ_CTRL_WAKEUPS);
	if (board_ping_pong() || !doorbell_irq_mode())
		return;
	__asm__ volatile("cpsid i" ::: "memory");
	if (!doorbell_flag && !(ready && ready()) && CTRL(AMPQ_CTRL_PING) == CTRL(AMPQ_CTRL_PONG))
		__asm__ volatile("wfi" ::: "memory");
	__asm__ volatile("cpsie i" ::: "memory");
}

/* ---- heap (newlib-nano's malloc, through libmetal's metal_allocate_memory) ---- */
static uint8_t heap[HEAP_SIZE] __attribute__((aligned(8)));
static uint32_t heap_brk;

void *_sbrk(ptrdiff_t incr)
{
	if ((incr < 0 && (uint32_t)-incr > heap_brk) || (incr > 0 && (uint32_t)incr > HEAP_SIZE - heap_brk)) {
		errno = ENOMEM;
		return (void *)-1;
	}
	void *p = heap + heap_brk;
	heap_brk += (uint32_t)incr;
	return p;
}

uint32_t heap_used(void)
{
	return heap_brk;
}

/* ---- stack: painted at boot, the first word still painted marks the deepest use ---- */
extern uint32_t __bss_start[], __bss_end[], __stack_top[];

/* mps2-an386.ld puts the 8 KiB stack right after .bss, at the next 8-byte boundary. */
static uint32_t *stack_bottom(void)
{
	return (uint32_t *)(((uintptr_t)__bss_end + 7u) & ~(uintptr_t)7u);
}

static void stack_paint(void)
{
	uint32_t *sp;

	__asm__ volatile("mov %0, sp" : "=r"(sp));
	for (uint32_t *p = stack_bottom(); p < sp - 16; p++)
		*p = STACK_PAINT;
}

uint32_t stack_used(void)
{
	uint32_t *p = stack_bottom();

	while (p < __stack_top && *p == STACK_PAINT)
		p++;
	return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}

/* ---- start-up ---- */
void board_init(void)
{
	CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_RESET;
	for (uint32_t i = 0; i < AMPQ_CRASH_SIZE; i += 4u)
		CTRL(AMPQ_CTRL_CRASH + i) = 0;
	CTRL(AMPQ_CTRL_NOTIFY) = 0;
	CTRL(AMPQ_CTRL_IRQS) = 0;
	CTRL(AMPQ_CTRL_WAKEUPS) = 0;
	CTRL(AMPQ_CTRL_RX) = 0;
	CTRL(AMPQ_CTRL_TX) = 0;
	CTRL(AMPQ_CTRL_PONG) = CTRL(AMPQ_CTRL_PING);
	CTRL(AMPQ_CTRL_VERSION) = AMPQ_VERSION;
	CTRL_INC(AMPQ_CTRL_BOOTS);
	stack_paint();

	REG32(UART0 + UART_BAUDDIV) = 16;
	REG32(UART0 + UART_CTRL) = UART_CTRL_TX_EN;
	REG32(UART1 + UART_BAUDDIV) = 16;
	REG32(UART1 + UART_CTRL) = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INTEN;
	REG32(UART1 + UART_INT) = 0xfu;
	REG32(NVIC_ISER0) = 1u << UART1_RX_IRQ;
	REG32(SYST_RVR) = SYSCLK_HZ / 100u - 1u; /* 10 ms: bounds every WFI, paces the watchdog kicks */
	REG32(SYST_CVR) = 0;
	REG32(SYST_CSR) = 7u; /* enable, interrupt, processor clock */
	REG32(WDOG + WDOG_LOCK) = WDOG_UNLOCK;
	/* 3 s: long enough that a host starved of CPU is not taken for a hang of ours. */
	REG32(WDOG + WDOG_LOAD) = 3u * SYSCLK_HZ;
	REG32(WDOG + WDOG_INTCLR) = 1;
	REG32(WDOG + WDOG_CONTROL) = WDOG_CONTROL_INTEN | WDOG_CONTROL_RESEN;
	trace_kv("openamp-echo: boot, vtor ", REG32(SCB_VTOR), 16);
}

/* ---- faults on purpose ---- */
__attribute__((noinline)) void crash_undefined(void)
{
	__asm__ volatile("udf #0x42");
}

__attribute__((noinline)) uint32_t crash_div0(void)
{
	uint32_t q, n = 1000u, d = CTRL(AMPQ_CTRL_VERSION) - AMPQ_VERSION; /* 0, unknown to the compiler */

	REG32(SCB_CCR) |= CCR_DIV_0_TRP;
	__asm__ volatile("dsb\n isb" ::: "memory");
	__asm__ volatile("udiv %0, %1, %2" : "=r"(q) : "r"(n), "r"(d));
	return q;
}

void hang_forever(void)
{
	for (;;) {
	}
}

void reset_request(void)
{
	__asm__ volatile("dsb" ::: "memory");
	REG32(SCB_AIRCR) = AIRCR_SYSRESETREQ;
	__asm__ volatile("dsb" ::: "memory");
	for (;;) {
	}
}

/* ---- fault record: HardFault (reason 1) and the watchdog's NMI (reason 2) ---- */
/* Runs at fault priority with a few words of stack; a fault in here would lock QEMU up. */
__attribute__((used)) void fault_record(const uint32_t *frame, uint32_t exc_return, uint32_t reason)
{
	const uint32_t rec = AMPQ_CTRL_CRASH;

	/* No watchdog reset from here on: the host wants the state for its coredump. */
	REG32(WDOG + WDOG_LOCK) = WDOG_UNLOCK;
	REG32(WDOG + WDOG_CONTROL) = 0;
	REG32(WDOG + WDOG_INTCLR) = 1;
	if (CTRL(rec + AMPQ_CRASH_MAGIC_OFF) != AMPQ_CRASH_MAGIC) { /* a second fault keeps the first record */
		CTRL(rec + AMPQ_CRASH_REASON_OFF) = reason;
		for (uint32_t i = 0; i < 8u; i++)
			CTRL(rec + AMPQ_CRASH_R0_OFF + 4u * i) = frame[i];
		CTRL(rec + AMPQ_CRASH_CFSR_OFF) = REG32(SCB_CFSR);
		CTRL(rec + AMPQ_CRASH_HFSR_OFF) = REG32(SCB_HFSR);
		CTRL(rec + AMPQ_CRASH_MMFAR_OFF) = REG32(SCB_MMFAR);
		CTRL(rec + AMPQ_CRASH_BFAR_OFF) = REG32(SCB_BFAR);
		CTRL(rec + AMPQ_CRASH_EXC_RETURN_OFF) = exc_return;
		CTRL(rec + AMPQ_CRASH_SP_OFF) = (uint32_t)(uintptr_t)frame;
		__asm__ volatile("dmb" ::: "memory");
		CTRL(rec + AMPQ_CRASH_MAGIC_OFF) = AMPQ_CRASH_MAGIC; /* last: the record is complete */
		CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_CRASHED;
		CTRL_INC(AMPQ_CTRL_NOTIFY);
		__asm__ volatile("dmb" ::: "memory");
		if (!(REG32(UART1 + UART_STATE) & UART_STATE_TXFULL))
			REG32(UART1 + UART_DATA) = AMPQ_DB_CRASH;
	}
	for (;;)
		__asm__ volatile("wfi");
}

/* The frame the CPU stacked is on MSP or PSP (EXC_RETURN bit 2). */
__attribute__((naked)) void hardfault_handler(void)
{
	__asm__ volatile("tst lr, #4\n ite eq\n mrseq r0, msp\n mrsne r0, psp\n"
			 "mov r1, lr\n movs r2, #1\n b fault_record\n");
}

__attribute__((naked)) void nmi_handler(void)
{
	__asm__ volatile("tst lr, #4\n ite eq\n mrseq r0, msp\n mrsne r0, psp\n"
			 "mov r1, lr\n movs r2, #2\n b fault_record\n");
}

extern int main(void);

/* The host loaded every segment at its link address (VMA = LMA): only .bss needs clearing. */
void reset_handler(void)
{
	for (uint32_t *p = __bss_start; p < __bss_end; p++)
		*p = 0;
	(void)main();
	hang_forever();
}

/* At 0x21000000, where VTOR points (-global armv7m.init-nsvtor=0x21000000). */
__attribute__((section(".vectors"), used)) void (*const vectors[16 + 32])(void) = {
	(void (*)(void))(uintptr_t)__stack_top,
	reset_handler,
	nmi_handler,
	hardfault_handler,
	hardfault_handler, /* MemManage */
	hardfault_handler, /* BusFault */
	hardfault_handler, /* UsageFault */
	0, 0, 0, 0,
	hardfault_handler, /* SVCall */
	hardfault_handler, /* DebugMonitor */
	0,
	hardfault_handler, /* PendSV */
	systick_irq,
	[16 + 0 ... 16 + UART1_RX_IRQ - 1] = hardfault_handler,
	[16 + UART1_RX_IRQ] = uart1_rx_irq,
	[16 + UART1_RX_IRQ + 1 ... 16 + 31] = hardfault_handler,
};
