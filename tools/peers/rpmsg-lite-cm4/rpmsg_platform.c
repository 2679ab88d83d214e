/*
 * rpmsg-lite platform layer of @amp for QEMU mps2-an386 (Cortex-M4): our own implementation of
 * the functions declared in rpmsg_platform.h, for rpmsg-lite's bare-metal environment.
 *
 * Doorbell (the project's QEMU ABI, packages/node/firmware/qemu/amp-qemu.h):
 * - host -> firmware: one byte on UART1 per kick, its value the vector id. The UART1 RX interrupt
 *   marks the vector pending and runs rpmsg-lite's handler (env_isr) for every pending vector that
 *   is enabled. A kick that arrives before rpmsg-lite enabled its vector stays pending and runs
 *   when the vector is enabled: the host may kick before the firmware is ready.
 * - firmware -> host: the vector id as one UART1 byte, and the control block's NOTIFY counter.
 * Only the doorbell (irq) mode of the QEMU host is supported: rpmsg-lite's remote learns that the
 * host is up from the host's first kick, which a polling host never sends.
 */
#include <stdint.h>
#include "amp-qemu.h"
#include "rpmsg_env.h"
#include "rpmsg_platform.h"

typedef volatile uint32_t vu32;
#define REG32(a) (*(vu32 *)(uintptr_t)(a))
#define CTRL(off) REG32(AMPQ_CTRL_DA + (off))

/* CMSDK APB UART1, the doorbell (hw/arm/mps2.c: RX interrupt = IRQ 2). */
#define UART1 0x40005000u
#define UART_DATA 0x00u
#define UART_STATE 0x04u
#define UART_CTRL 0x08u
#define UART_INT 0x0cu
#define UART_BAUDDIV 0x10u
#define UART_STATE_TXFULL 1u
#define UART_STATE_RXFULL 2u
#define UART_CTRL_TX_EN 1u
#define UART_CTRL_RX_EN 2u
#define UART_CTRL_RX_INTEN 8u
#define UART_INT_RX 2u
#define DOORBELL_IRQ 2u

#define NVIC_ISER0 0xe000e100u
#define NVIC_ICER0 0xe000e180u
#define NVIC_ISPR0 0xe000e200u
#define SYST_CSR 0xe000e010u
#define SYST_RVR 0xe000e014u
#define SYST_CVR 0xe000e018u
#define SYSCLK_HZ 25000000u

#if RL_PLATFORM_MAX_ISR_COUNT > 32
#error "one 32-bit mask holds the vector ids: keep RL_PLATFORM_MAX_ISR_COUNT <= 32"
#endif

static volatile uint32_t vectors_enabled; /* bit v: rpmsg-lite enabled vector v */
static volatile uint32_t vectors_pending; /* bit v: the host rang v, not yet handled */
static volatile uint32_t now_ms;
static uint32_t init_count;

uint32_t platform_lock(void) {
  uint32_t primask;
  __asm__ volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
  return primask;
}

void platform_unlock(uint32_t state) {
  __asm__ volatile("msr primask, %0" ::"r"(state) : "memory");
}

/* Runs rpmsg-lite's handler for each vector that is both pending and enabled. */
static void dispatch(void) {
  for (;;) {
    uint32_t s = platform_lock();
    uint32_t ready = vectors_pending & vectors_enabled;
    vectors_pending &= ~ready;
    platform_unlock(s);
    if (ready == 0u) return;
    for (uint32_t v = 0; v < RL_PLATFORM_MAX_ISR_COUNT; v++) {
      if ((ready & (1u << v)) != 0u) env_isr(v);
    }
  }
}

void platform_doorbell_isr(void) {
  /* Clear the interrupt before draining, never after: a byte that lands after the last RXFULL
   * check would have its interrupt cleared and sit in the data register, and the UART takes no
   * further byte while it is full, so every later kick of the host would be lost. Cleared
   * first, such a byte raises the interrupt again and this handler runs once more. */
  REG32(UART1 + UART_INT) = UART_INT_RX;
  while ((REG32(UART1 + UART_STATE) & UART_STATE_RXFULL) != 0u) {
    uint32_t v = REG32(UART1 + UART_DATA) & 0xffu;
    if (v < RL_PLATFORM_MAX_ISR_COUNT) vectors_pending |= 1u << v;
  }
  CTRL(AMPQ_CTRL_IRQS) = CTRL(AMPQ_CTRL_IRQS) + 1u;
  dispatch();
}

void platform_systick_isr(void) { now_ms = now_ms + 1u; }

uint32_t platform_now_ms(void) { return now_ms; }

void platform_idle(int32_t (*busy)(void)) {
  CTRL(AMPQ_CTRL_WAKEUPS) = CTRL(AMPQ_CTRL_WAKEUPS) + 1u;
  /* Interrupts masked between the check and WFI, so that a doorbell in between still wakes us. */
  uint32_t s = platform_lock();
  if (busy == 0 || busy() == 0) __asm__ volatile("wfi" ::: "memory");
  platform_unlock(s);
}

int32_t platform_init(void) {
  if (init_count++ != 0u) return 0;
  vectors_enabled = 0u;
  vectors_pending = 0u;
  REG32(UART1 + UART_BAUDDIV) = 16u;
  /* RX interrupts on in the UART from the start: a byte that arrives before rpmsg-lite enables its
   * vector raises the (still disabled) NVIC line and is kept as pending, not lost. */
  REG32(UART1 + UART_CTRL) = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INTEN;
  REG32(UART1 + UART_INT) = 0xfu;
  REG32(SYST_RVR) = SYSCLK_HZ / 1000u - 1u;
  REG32(SYST_CVR) = 0u;
  REG32(SYST_CSR) = 7u; /* enable, interrupt, processor clock */
  REG32(NVIC_ISER0) = 1u << DOORBELL_IRQ;
  return 0;
}

int32_t platform_deinit(void) {
  if (init_count == 0u || --init_count != 0u) return 0;
  REG32(NVIC_ICER0) = 1u << DOORBELL_IRQ;
  vectors_enabled = 0u;
  return 0;
}

int32_t platform_init_interrupt(uint32_t vector_id, void *isr_data) {
  if (vector_id >= RL_PLATFORM_MAX_ISR_COUNT) return -1;
  env_register_isr(vector_id, isr_data);
  return 0;
}

int32_t platform_deinit_interrupt(uint32_t vector_id) {
  if (vector_id >= RL_PLATFORM_MAX_ISR_COUNT) return -1;
  (void)platform_interrupt_disable(vector_id);
  env_unregister_isr(vector_id);
  return 0;
}

int32_t platform_interrupt_enable(uint32_t vector_id) {
  if (vector_id >= RL_PLATFORM_MAX_ISR_COUNT) return -1;
  uint32_t s = platform_lock();
  vectors_enabled |= 1u << vector_id;
  /* A kick that came while the vector was off: let the interrupt handler run it now. */
  if ((vectors_pending & (1u << vector_id)) != 0u) REG32(NVIC_ISPR0) = 1u << DOORBELL_IRQ;
  platform_unlock(s);
  return (int32_t)vector_id;
}

int32_t platform_interrupt_disable(uint32_t vector_id) {
  if (vector_id >= RL_PLATFORM_MAX_ISR_COUNT) return -1;
  uint32_t s = platform_lock();
  vectors_enabled &= ~(1u << vector_id);
  platform_unlock(s);
  return (int32_t)vector_id;
}

int32_t platform_in_isr(void) {
  uint32_t ipsr;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  return (ipsr & 0x1ffu) != 0u ? 1 : 0;
}

void platform_notify(uint32_t vector_id) {
  uint32_t s = platform_lock();
  CTRL(AMPQ_CTRL_NOTIFY) = CTRL(AMPQ_CTRL_NOTIFY) + 1u;
  platform_unlock(s);
  while ((REG32(UART1 + UART_STATE) & UART_STATE_TXFULL) != 0u) {
  }
  REG32(UART1 + UART_DATA) = vector_id & 0x7fu;
}

void platform_time_delay(uint32_t num_msec) {
  uint32_t start = now_ms;
  while ((uint32_t)(now_ms - start) < num_msec) {
    __asm__ volatile("wfi" ::: "memory"); /* SysTick wakes us every millisecond */
  }
}

void platform_map_mem_region(uint32_t vrt_addr, uint32_t phy_addr, uint32_t size, uint32_t flags) {
  (void)vrt_addr;
  (void)phy_addr;
  (void)size;
  (void)flags;
}

void platform_cache_all_flush_invalidate(void) {}

void platform_cache_disable(void) {}

void platform_cache_invalidate(void *data, uint32_t len) {
  (void)data;
  (void)len;
}

void platform_cache_flush(void *data, uint32_t len) {
  (void)data;
  (void)len;
}

uintptr_t platform_vatopa(void *addr) { return (uintptr_t)addr; }

void *platform_patova(uintptr_t addr) { return (void *)addr; }
