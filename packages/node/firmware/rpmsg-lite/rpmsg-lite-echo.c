/*
 * rpmsg-lite-echo: NXP rpmsg-lite's own remote (rpmsg_lite_remote_init, bare-metal environment)
 * on QEMU mps2-an386 (Cortex-M4), in rpmsg-only mode: no resource table for the link, the host
 * and this firmware agree on a fixed shared-memory layout (amp-rpmsg-lite.h, rpmsg_config.h,
 * rpmsg_platform.h of tools/peers/rpmsg-lite-cm4).
 *
 * What it does:
 *   1. boots from the vector table at 0x21000000 (the host wrote the image into the RAM file),
 *   2. initialises rpmsg-lite as the remote of link AMPRL_LINK_ID at AMPRL_SHMEM_DA,
 *   3. waits for the link: rpmsg-lite's remote comes up on the host's first kick of vring 0,
 *   4. creates the echo endpoint (30) and announces it ("rpmsg-lite-echo") to the name service,
 *   5. echoes every message back to its sender. The receive callback runs in the doorbell
 *      interrupt (that is where rpmsg-lite's bare-metal environment calls it); it only keeps the
 *      buffer (RL_HOLD) and queues it. The main loop sends the echo and then releases the buffer,
 *      with interrupts masked around the release because the interrupt path uses the same vring,
 *   6. sleeps in WFI when idle (doorbell = UART1 RX interrupt, SysTick = 1 ms clock),
 *   7. on a fault (a failed RL_ASSERT traps too), records the stacked registers in the control
 *      block and rings the host with AMPQ_DB_CRASH, as the project's other QEMU firmware does.
 * The control block (amp-qemu.h) counts messages received (RX) and echoed (TX).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "amp-qemu.h"
#include "amp-rpmsg-lite.h"
#include "rpmsg_lite.h"
#include "rpmsg_ns.h"
#include "rpmsg_platform.h"

typedef volatile uint32_t vu32;
#define REG32(a) (*(vu32 *)(uintptr_t)(a))
#define CTRL(off) REG32(AMPQ_CTRL_DA + (off))
#define BARRIER() __asm__ volatile("dmb" ::: "memory")

#define UART0 0x40004000u
#define UART1 0x40005000u
#define UART_DATA 0x00u
#define UART_STATE 0x04u
#define UART_CTRL 0x08u
#define UART_BAUDDIV 0x10u
#define UART_STATE_TXFULL 1u
#define UART_CTRL_TX_EN 1u
#define SCB_VTOR 0xe000ed08u
#define SCB_CFSR 0xe000ed28u
#define SCB_HFSR 0xe000ed2cu
#define SCB_MMFAR 0xe000ed34u
#define SCB_BFAR 0xe000ed38u

/* ---- console (UART0) ---- */
static void con_putc(char c) {
  while ((REG32(UART0 + UART_STATE) & UART_STATE_TXFULL) != 0u) {
  }
  REG32(UART0 + UART_DATA) = (uint32_t)(uint8_t)c;
}

static void con_puts(const char *s) {
  while (*s != '\0') con_putc(*s++);
}

static void con_hex(uint32_t v) {
  con_puts("0x");
  for (int shift = 28; shift >= 0; shift -= 4) con_putc("0123456789abcdef"[(v >> shift) & 0xfu]);
}

static void con_dec(uint32_t v) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v != 0u);
  while (n > 0) con_putc(digits[--n]);
}

/* ---- heap for rpmsg-lite's env_allocate_memory (newlib-nano malloc) ---- */
extern uint8_t __heap_start[], __heap_end[];
static uint8_t *heap_top = __heap_start;

void *_sbrk(ptrdiff_t increment) {
  if (increment > __heap_end - heap_top || increment < __heap_start - heap_top) {
    errno = ENOMEM;
    return (void *)-1;
  }
  uint8_t *old = heap_top;
  heap_top += increment;
  return old;
}

/* ---- the echo ---- */
struct held_message {
  void *data;
  uint32_t len;
  uint32_t src;
};

/* The host owns RL_BUFFER_COUNT tx buffers, so at most that many can be held at once. */
static struct held_message held[RL_BUFFER_COUNT];
static volatile uint32_t held_in, held_out;
static volatile uint32_t held_overflow;

static int32_t echo_rx(void *payload, uint32_t payload_len, uint32_t src, void *priv) {
  (void)priv;
  if (held_in - held_out >= RL_BUFFER_COUNT) {
    /* Cannot happen: the host has only RL_BUFFER_COUNT buffers. Say so, and give it back. */
    held_overflow = held_overflow + 1u;
    con_puts("echo: queue full, message dropped\n");
    return RL_RELEASE;
  }
  struct held_message *m = &held[held_in % RL_BUFFER_COUNT];
  m->data = payload;
  m->len = payload_len;
  m->src = src;
  BARRIER();
  held_in = held_in + 1u;
  return RL_HOLD;
}

static int32_t work_pending(void) { return held_in != held_out ? 1 : 0; }

static struct rpmsg_lite_instance *rl;
static struct rpmsg_lite_endpoint *ept;
#if RL_USE_STATIC_API
static struct rpmsg_lite_instance rl_storage;
static struct rpmsg_lite_ept_static_context ept_storage;
#endif

static void echo_one(const struct held_message *m) {
  int32_t r;
#if AMPRL_ZERO_COPY_TX
  uint32_t cap = 0;
  void *tx = rpmsg_lite_alloc_tx_buffer(rl, &cap, RL_BLOCK);
  if (tx == RL_NULL || cap < m->len) {
    r = RL_ERR_NO_MEM;
  } else {
    memcpy(tx, m->data, m->len);
    r = rpmsg_lite_send_nocopy(rl, ept, m->src, tx, m->len);
  }
#else
  r = rpmsg_lite_send(rl, ept, m->src, (char *)m->data, m->len, RL_BLOCK);
#endif
  if (r != RL_SUCCESS) {
    con_puts("echo: send failed ");
    con_hex((uint32_t)r);
    con_putc('\n');
  } else {
    CTRL(AMPQ_CTRL_TX) = CTRL(AMPQ_CTRL_TX) + 1u;
  }
  uint32_t s = platform_lock();
  (void)rpmsg_lite_release_rx_buffer(rl, m->data);
  platform_unlock(s);
}

extern uint32_t __bss_start[], __bss_end[];

int main(void) {
  CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_RESET;
  for (uint32_t i = 0; i < AMPQ_CRASH_SIZE; i += 4u) CTRL(AMPQ_CTRL_CRASH + i) = 0u;
  CTRL(AMPQ_CTRL_NOTIFY) = 0u;
  CTRL(AMPQ_CTRL_IRQS) = 0u;
  CTRL(AMPQ_CTRL_RX) = 0u;
  CTRL(AMPQ_CTRL_TX) = 0u;
  CTRL(AMPQ_CTRL_VERSION) = AMPQ_VERSION;
  CTRL(AMPQ_CTRL_BOOTS) = CTRL(AMPQ_CTRL_BOOTS) + 1u;
  REG32(UART0 + UART_BAUDDIV) = 16u;
  REG32(UART0 + UART_CTRL) = UART_CTRL_TX_EN;

  con_puts("rpmsg-lite-echo: boot, vtor ");
  con_hex(REG32(SCB_VTOR));
  con_puts(", link ");
  con_dec(AMPRL_LINK_ID);
  con_puts(", shmem ");
  con_hex(AMPRL_SHMEM_DA);
  con_puts(", VRING_ALIGN ");
  con_hex(VRING_ALIGN);
  con_puts(", VRING_SIZE ");
  con_hex((uint32_t)VRING_SIZE);
  con_puts(", RL_BUFFER_COUNT ");
  con_dec(RL_BUFFER_COUNT);
  con_putc('\n');
  CTRL(AMPQ_CTRL_MAGIC) = AMPQ_MAGIC;

#if RL_USE_STATIC_API
  rl = rpmsg_lite_remote_init((void *)(uintptr_t)AMPRL_SHMEM_DA, AMPRL_LINK_ID, RL_NO_FLAGS, &rl_storage);
#else
  rl = rpmsg_lite_remote_init((void *)(uintptr_t)AMPRL_SHMEM_DA, AMPRL_LINK_ID, RL_NO_FLAGS);
#endif
  if (rl == RL_NULL) {
    con_puts("rpmsg-lite: remote init failed\n");
    __builtin_trap();
  }
  CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_WAIT_DRIVER_OK; /* waiting for the host */
  con_puts("rpmsg-lite: waiting for the link\n");
  (void)rpmsg_lite_wait_for_link_up(rl, RL_BLOCK);
  con_puts("rpmsg-lite: link up after ");
  con_dec(platform_now_ms());
  con_puts(" ms\n");

#if RL_USE_STATIC_API
  ept = rpmsg_lite_create_ept(rl, AMPRL_ECHO_ADDR, echo_rx, RL_NULL, &ept_storage);
#else
  ept = rpmsg_lite_create_ept(rl, AMPRL_ECHO_ADDR, echo_rx, RL_NULL);
#endif
  if (ept == RL_NULL || rpmsg_ns_announce(rl, ept, AMPRL_ECHO_NAME, (uint32_t)RL_NS_CREATE) != RL_SUCCESS) {
    con_puts("rpmsg-lite: endpoint or announcement failed\n");
    __builtin_trap();
  }
  CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_RUNNING;
  con_puts("ns: announced " AMPRL_ECHO_NAME " at ");
  con_dec(ept->addr);
  con_putc('\n');

  for (;;) {
    if (work_pending() != 0) {
      /* Take the entry off the queue before the buffer goes back: once released, the host may
       * reuse it at once, and the interrupt must find room for the message it brings. */
      struct held_message m = held[held_out % RL_BUFFER_COUNT];
      held_out = held_out + 1u;
      CTRL(AMPQ_CTRL_RX) = CTRL(AMPQ_CTRL_RX) + 1u;
      echo_one(&m);
    } else {
      platform_idle(work_pending);
    }
  }
}

void reset_handler(void) {
  for (uint32_t *p = __bss_start; p < __bss_end; p++) *p = 0u;
  (void)main();
  for (;;) {
  }
}

/* ---- faults: the control block's crash record (amp-qemu.h), then sleep; the host decides ---- */
void fault_record(uint32_t *frame, uint32_t exc_return) {
  uint32_t base = AMPQ_CTRL_CRASH;
  if (CTRL(base + AMPQ_CRASH_MAGIC_OFF) != AMPQ_CRASH_MAGIC) {
    CTRL(base + AMPQ_CRASH_REASON_OFF) = AMPQ_CRASH_REASON_HARDFAULT;
    for (uint32_t i = 0; i < 8u; i++) CTRL(base + AMPQ_CRASH_R0_OFF + 4u * i) = frame[i];
    CTRL(base + AMPQ_CRASH_CFSR_OFF) = REG32(SCB_CFSR);
    CTRL(base + AMPQ_CRASH_HFSR_OFF) = REG32(SCB_HFSR);
    CTRL(base + AMPQ_CRASH_MMFAR_OFF) = REG32(SCB_MMFAR);
    CTRL(base + AMPQ_CRASH_BFAR_OFF) = REG32(SCB_BFAR);
    CTRL(base + AMPQ_CRASH_EXC_RETURN_OFF) = exc_return;
    CTRL(base + AMPQ_CRASH_SP_OFF) = (uint32_t)(uintptr_t)frame;
    BARRIER();
    CTRL(base + AMPQ_CRASH_MAGIC_OFF) = AMPQ_CRASH_MAGIC;
    CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_CRASHED;
    BARRIER();
    if ((REG32(UART1 + UART_STATE) & UART_STATE_TXFULL) == 0u) REG32(UART1 + UART_DATA) = AMPQ_DB_CRASH;
  }
  for (;;) __asm__ volatile("wfi");
}

__attribute__((naked)) void fault_handler(void) {
  __asm__ volatile(
      "tst lr, #4\n"
      "ite eq\n"
      "mrseq r0, msp\n"
      "mrsne r0, psp\n"
      "mov r1, lr\n"
      "b fault_record\n");
}

extern uint32_t __stack_top[];

/* Vector table at 0x21000000 (VTOR, from -global armv7m.init-nsvtor). */
__attribute__((section(".vectors"), used)) void (*const vectors[16 + 32])(void) = {
    (void (*)(void))(uintptr_t)__stack_top,
    reset_handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
    0, 0, 0, 0,
    fault_handler, /* SVCall */
    fault_handler, /* DebugMonitor */
    0,
    fault_handler, /* PendSV */
    platform_systick_isr,
    [16 + 0] = fault_handler,
    [16 + 1] = fault_handler,
    [16 + 2] = platform_doorbell_isr, /* UART1 RX: the doorbell */
    [16 + 3 ... 16 + 31] = fault_handler,
};
