/*
 * amp-echo: a bare-metal rpmsg remote for QEMU mps2-an386 (Cortex-M4), loaded by the @amp host.
 *
 * What it does, in the order a remoteproc host expects (docs/wire-formats.md, "Who writes what, and when", "rpmsg"):
 *   1. boots from the vector table at 0x21000000 (the host wrote the image into the file-backed RAM),
 *   2. waits until the host sets DRIVER_OK in the vdev status of its resource table,
 *   3. maps the two legacy split vrings at the addresses the host wrote into the table,
 *   4. announces "rpmsg-echo" (1024), "amp-ctrl" (1025) and "amp-clock" (1026, clock.c) through the name service (53),
 *   5. echoes every message sent to 1024, runs text commands sent to 1025,
 *   6. writes timestamped trace records into the trace buffer (and their text on UART0, the console),
 *   7. sleeps in WFI between messages (doorbell = UART1 RX interrupt) or busy-polls,
 *   8. on a fault, records the stacked registers in the control block and rings the doorbell.
 * Commands on "amp-ctrl" (text): ping, stats, "trace <text>", crash (undefined instruction),
 * crash-div0 (divide by zero trap), hang (main loop stops: the watchdog NMI records it),
 * reset (SYSRESETREQ: QEMU reports a guest reset).
 * If the host resets the vdev status to 0 (detach, or a new host), it goes back to step 2.
 */
#include <stdint.h>
#include "amp-qemu.h"
#include "clock.h"

typedef volatile uint32_t vu32;
typedef volatile uint16_t vu16;
typedef volatile uint8_t vu8;

#define REG32(a) (*(vu32 *)(uintptr_t)(a))
#define BARRIER() __asm__ volatile("dmb" ::: "memory")

/* ---- CMSDK APB UART (UART0 console 0x40004000, UART1 doorbell 0x40005000) ---- */
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
#define UART1_RX_IRQ 2u /* hw/arm/mps2.c: UART1 RX is IRQ 2 */

/* ---- CMSDK APB watchdog (0x40008000, WDOGCLK = 25 MHz, interrupt = NMI on mps2) ---- */
#define WDOG 0x40008000u
#define WDOG_LOAD 0x000u
#define WDOG_CONTROL 0x008u
#define WDOG_INTCLR 0x00cu
#define WDOG_LOCK 0xc00u
#define WDOG_UNLOCK_KEY 0x1acce551u
#define WDOG_CONTROL_INTEN 1u
#define WDOG_CONTROL_RESEN 2u

/* ---- System control space ---- */
#define SCB_VTOR 0xe000ed08u
#define SCB_AIRCR 0xe000ed0cu
#define SCB_CCR 0xe000ed14u
#define SCB_CFSR 0xe000ed28u
#define SCB_HFSR 0xe000ed2cu
#define SCB_MMFAR 0xe000ed34u
#define SCB_BFAR 0xe000ed38u
#define CCR_DIV_0_TRP (1u << 4)
#define NVIC_ISER0 0xe000e100u
#define SYST_CSR 0xe000e010u
#define SYST_RVR 0xe000e014u
#define SYST_CVR 0xe000e018u
#define SYSCLK_HZ 25000000u /* mps2 SYSCLK */

/* ---- virtio / rpmsg constants (docs/wire-formats.md, "Status and features", "rpmsg") ---- */
#define VIRTIO_ID_RPMSG 7u
#define VIRTIO_RPMSG_F_NS 0u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VRING_DESC_F_NEXT 1u
#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define VRING_USED_F_NO_NOTIFY 1u
#define RPMSG_NS_ADDR 53u
#define RPMSG_HDR_SIZE 16u
#define RPMSG_BUF_SIZE 512u
#define RPMSG_MAX_PAYLOAD (RPMSG_BUF_SIZE - RPMSG_HDR_SIZE)
#define RPMSG_NAME_SIZE 32u
#define RSC_CARVEOUT 0u
#define RSC_TRACE 2u
#define RSC_VDEV 3u
#define FW_RSC_ADDR_ANY 0xffffffffu

/* ---- resource table (docs/wire-formats.md, "Resource table"): packed, little-endian, in .resource_table ---- */
struct fw_rsc_carveout {
  uint32_t type, da, pa, len, flags, reserved;
  char name[32];
} __attribute__((packed));

struct fw_rsc_trace {
  uint32_t type, da, len, reserved;
  char name[32];
} __attribute__((packed));

struct fw_rsc_vdev_vring {
  uint32_t da, align, num, notifyid, pa;
} __attribute__((packed));

struct fw_rsc_vdev {
  uint32_t type, id, notifyid, dfeatures, gfeatures, config_len;
  uint8_t status, num_of_vrings, reserved[2];
  struct fw_rsc_vdev_vring vring[2];
} __attribute__((packed));

#define TRACE_LEN 4096u
#define NUM_ENTRIES 3u

struct resource_table {
  uint32_t ver, num, reserved[2];
  uint32_t offset[NUM_ENTRIES];
  struct fw_rsc_vdev vdev;
  struct fw_rsc_trace trace;
  struct fw_rsc_carveout ctrl;
} __attribute__((packed));

/* The trace buffer lives in the image (.bss), so its da is a link-time address. */
static char trace_buf[TRACE_LEN] __attribute__((aligned(8)));

#define OFF(field) ((uint32_t)__builtin_offsetof(struct resource_table, field))

__attribute__((section(".resource_table"), used, aligned(8)))
volatile struct resource_table resource_table = {
  .ver = 1,
  .num = NUM_ENTRIES,
  .offset = {OFF(vdev), OFF(trace), OFF(ctrl)},
  .vdev = {
    .type = RSC_VDEV,
    .id = VIRTIO_ID_RPMSG,
    .notifyid = 0,
    .dfeatures = 1u << VIRTIO_RPMSG_F_NS,
    .num_of_vrings = 2,
    .vring = {
      {.da = AMPQ_VRING0_DA, .align = AMPQ_VRING_ALIGN, .num = AMPQ_VRING_NUM, .notifyid = 0},
      {.da = AMPQ_VRING1_DA, .align = AMPQ_VRING_ALIGN, .num = AMPQ_VRING_NUM, .notifyid = 1},
    },
  },
  .trace = {.type = RSC_TRACE, .da = (uint32_t)(uintptr_t)trace_buf, .len = TRACE_LEN, .name = "trace0"},
  .ctrl = {.type = RSC_CARVEOUT, .da = AMPQ_CTRL_DA, .pa = AMPQ_CTRL_DA, .len = AMPQ_CTRL_LEN, .name = "amp-ctrl"},
};

/* ---- small freestanding helpers (gcc may emit calls to memcpy/memset) ---- */
void *memcpy(void *dst, const void *src, unsigned int n) {
  uint8_t *d = dst;
  const uint8_t *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

void *memset(void *dst, int c, unsigned int n) {
  uint8_t *d = dst;
  while (n--) *d++ = (uint8_t)c;
  return dst;
}

static unsigned int str_len(const char *s) {
  unsigned int n = 0;
  while (s[n]) n++;
  return n;
}

static int str_starts(const char *s, unsigned int n, const char *prefix) {
  unsigned int i = 0;
  for (; prefix[i]; i++) {
    if (i >= n || s[i] != prefix[i]) return 0;
  }
  return 1;
}

static int str_eq(const char *s, unsigned int n, const char *word) {
  return str_starts(s, n, word) && str_len(word) == n;
}

static char *fmt_u32(char *p, uint32_t v, unsigned int base) {
  char tmp[12];
  unsigned int i = 0;
  do {
    uint32_t d = v % base;
    tmp[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v);
  while (i) *p++ = tmp[--i];
  return p;
}

/* ---- control block ---- */
#define CTRL(off) REG32(AMPQ_CTRL_DA + (off))

/* ---- console and trace ---- */
static void uart_putc(uint32_t uart, char c) {
  while (REG32(uart + UART_STATE) & UART_STATE_TXFULL) {
  }
  REG32(uart + UART_DATA) = (uint8_t)c;
}

/* ---- the remote's clock ----
 * CMSDK APB timer 0 counts down at SYSCLK from 0xffffffff and reloads: a free-running 32-bit
 * counter (one lap is about 171 s). clock_us() extends it to 64 bits by adding the ticks since
 * its previous call, so it must run at least once a lap: the main loop calls it on every
 * wake-up (10 ms SysTick at the latest). Main-loop context only (never from a handler). */
#define TIMER0 0x40000000u
#define TIMER_CTRL 0x00u
#define TIMER_VALUE 0x04u
#define TIMER_RELOAD 0x08u
#define TIMER_CTRL_EN 1u
#define TICKS_PER_US (SYSCLK_HZ / 1000000u)

static uint32_t clock_last;
static uint64_t clock_ticks;

static void clock_init(void) {
  REG32(TIMER0 + TIMER_CTRL) = 0;
  REG32(TIMER0 + TIMER_RELOAD) = 0xffffffffu;
  REG32(TIMER0 + TIMER_VALUE) = 0xffffffffu;
  REG32(TIMER0 + TIMER_CTRL) = TIMER_CTRL_EN;
  clock_last = REG32(TIMER0 + TIMER_VALUE);
  clock_ticks = 0;
}

/* Microseconds since boot (monotonic). */
static uint64_t clock_us(void) {
  uint32_t v = REG32(TIMER0 + TIMER_VALUE);
  clock_ticks += (uint32_t)(clock_last - v); /* a down counter: elapsed = last - now, modulo 2^32 */
  clock_last = v;
  return clock_ticks / TICKS_PER_US;
}

static char *fmt_u64(char *p, uint64_t v) {
  char tmp[21];
  unsigned int i = 0;
  do {
    tmp[i++] = (char)('0' + (unsigned int)(v % 10u));
    v /= 10u;
  } while (v);
  while (i) *p++ = tmp[--i];
  return p;
}

/* ---- trace records (docs/wire-formats.md "Trace records") ----
 * One line per record, "<seq> <remote-us> <level> <text>\n", in a ring: a NUL always follows the
 * newest record; a record that does not fit before the end clears the tail and goes to offset 0.
 * Linux's reader (text up to the first NUL) still shows lines; the @amp host orders records by
 * seq, counts the ones it missed and maps the time to its own clock. */
#define TRACE_MAX_RECORD 200u

static uint32_t trace_pos; /* where the NUL after the newest record is */
static uint32_t trace_seq; /* 0 for the first record after boot */

static void trace_rec(char level, const char *s, unsigned int n) {
  for (unsigned int i = 0; i < n; i++) uart_putc(UART0, s[i]);
  uart_putc(UART0, '\n');
  char rec[TRACE_MAX_RECORD];
  char *p = fmt_u32(rec, trace_seq++, 10);
  *p++ = ' ';
  p = fmt_u64(p, clock_us());
  *p++ = ' ';
  *p++ = level;
  *p++ = ' ';
  for (unsigned int i = 0; i < n && p < rec + TRACE_MAX_RECORD - 1u; i++) {
    char c = s[i];
    *p++ = (c == '\n' || c == 0) ? ' ' : c;
  }
  *p++ = '\n';
  uint32_t len = (uint32_t)(p - rec);
  volatile char *buf = (volatile char *)trace_buf;
  if (trace_pos + len + 1u > TRACE_LEN) {
    for (uint32_t i = trace_pos; i < TRACE_LEN; i++) buf[i] = 0; /* no stale text from an earlier lap */
    buf[0] = 0;
    trace_pos = 0;
  }
  /* All but the first byte, the new NUL, then the first byte over the old NUL: a reader sees
   * either the buffer without the record or with all of it. */
  for (uint32_t i = 1; i < len; i++) buf[trace_pos + i] = rec[i];
  buf[trace_pos + len] = 0;
  BARRIER();
  buf[trace_pos] = rec[0];
  BARRIER();
  trace_pos += len;
}

static void trace_bytes(const char *s, unsigned int n) { trace_rec('I', s, n); }

static void trace(const char *s) { trace_bytes(s, str_len(s)); }

static void trace_level(char level, const char *s) { trace_rec(level, s, str_len(s)); }

static void trace_kv_level(char level, const char *s, uint32_t v, unsigned int base) {
  char line[80];
  char *p = line;
  for (unsigned int i = 0; s[i] && p < line + 60; i++) *p++ = s[i];
  if (base == 16) {
    *p++ = '0';
    *p++ = 'x';
  }
  p = fmt_u32(p, v, base);
  trace_rec(level, line, (unsigned int)(p - line));
}

static void trace_kv(const char *s, uint32_t v, unsigned int base) { trace_kv_level('I', s, v, base); }

/* ---- legacy split vring (docs/wire-formats.md, "Split virtqueue") ---- */
struct vring_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags, next;
} __attribute__((packed));

struct vq {
  volatile struct vring_desc *desc;
  vu16 *avail; /* flags, idx, ring[num], used_event */
  vu16 *used;  /* flags, idx, then {u32 id, u32 len}[num], avail_event */
  uint32_t num;
  uint32_t notifyid;
  uint16_t last_avail;
  uint16_t used_idx;
};

static struct vq vq_tx; /* vring 0: the remote sends here (host rx) */
static struct vq vq_rx; /* vring 1: the remote receives here (host tx) */
static int vdev_ready;
static uint32_t features;
static uint32_t ns_pending;

static int in_ram(uint32_t da, uint32_t len) {
  return da >= AMPQ_RAM_BASE && len <= AMPQ_RAM_SIZE && da - AMPQ_RAM_BASE <= AMPQ_RAM_SIZE - len;
}

static int vq_setup(struct vq *q, volatile struct fw_rsc_vdev_vring *r) {
  uint32_t num = r->num, align = r->align, da = r->da;
  if (num == 0 || (num & (num - 1)) != 0 || num > 32768u) return 0;
  if (align == 0 || (align & (align - 1)) != 0) return 0;
  uint32_t used_off = (16u * num + 6u + 2u * num + align - 1u) & ~(align - 1u);
  uint32_t size = used_off + 6u + 8u * num;
  if (!in_ram(da, size)) return 0;
  q->desc = (volatile struct vring_desc *)(uintptr_t)da;
  q->avail = (vu16 *)(uintptr_t)(da + 16u * num);
  q->used = (vu16 *)(uintptr_t)(da + used_off);
  q->num = num;
  q->notifyid = r->notifyid;
  q->last_avail = 0;
  q->used_idx = q->used[1]; /* the host zeroed the ring: 0, but keep whatever it holds */
  q->last_avail = q->used_idx;
  return 1;
}

static int vq_has_avail(const struct vq *q) { return q->avail[1] != q->last_avail; }

/* Is a host rx buffer available on vring 0? The firmware wants a kick on vring 0 only when it ran
 * out of them: used.flags NO_NOTIFY is set while it has some (a hint the driver may honour,
 * virtio "Split Virtqueues", notification suppression), cleared while it waits. */
static int tx_available(void) {
  if (vq_has_avail(&vq_tx)) return 1;
  vq_tx.used[0] = 0;
  BARRIER();
  if (!vq_has_avail(&vq_tx)) return 0;
  vq_tx.used[0] = VRING_USED_F_NO_NOTIFY;
  return 1;
}

/* Takes the next available head; returns its buffer (or 0 when the descriptor is unusable). */
static volatile uint8_t *vq_get(struct vq *q, uint16_t *head, uint32_t *len) {
  BARRIER();
  uint16_t h = q->avail[2u + (q->last_avail & (q->num - 1u))];
  q->last_avail++;
  *head = h;
  if (h >= q->num) return 0;
  volatile struct vring_desc *d = &q->desc[h];
  uint64_t addr = d->addr;
  uint32_t l = d->len;
  if (addr >> 32 || !in_ram((uint32_t)addr, l)) return 0;
  *len = l;
  return (volatile uint8_t *)(uintptr_t)(uint32_t)addr;
}

static void notify_host(const struct vq *q) {
  CTRL(AMPQ_CTRL_NOTIFY) = CTRL(AMPQ_CTRL_NOTIFY) + 1u;
  if (CTRL(AMPQ_CTRL_MODE) == AMPQ_MODE_IRQ) uart_putc(UART1, (char)(q->notifyid < AMPQ_DB_PONG ? q->notifyid : 0u));
}

static void vq_put(struct vq *q, uint16_t head, uint32_t len) {
  uint32_t slot = q->used_idx & (q->num - 1u);
  vu32 *elem = (vu32 *)(uintptr_t)((uintptr_t)q->used + 4u + 8u * slot);
  elem[0] = head;
  elem[1] = len;
  BARRIER();
  q->used_idx++;
  q->used[1] = q->used_idx;
  BARRIER();
  if (!(q->avail[0] & VRING_AVAIL_F_NO_INTERRUPT)) notify_host(q);
}

/* Sends one rpmsg message through vring 0. Returns 0 when no host buffer is available yet. */
static int rpmsg_send(uint32_t src, uint32_t dst, const volatile uint8_t *data, uint32_t n) {
  if (!tx_available()) return 0;
  uint16_t head;
  uint32_t cap = 0;
  volatile uint8_t *buf = vq_get(&vq_tx, &head, &cap);
  if (!buf || cap < RPMSG_HDR_SIZE + n) {
    vq_put(&vq_tx, head, 0); /* unusable buffer: give it back empty rather than leak it */
    trace_kv_level('W', "rpmsg: bad host rx buffer, head ", head, 10);
    return -1;
  }
  vu32 *h32 = (vu32 *)buf;
  h32[0] = src;
  h32[1] = dst;
  h32[2] = 0;
  ((vu16 *)buf)[6] = (uint16_t)n;
  ((vu16 *)buf)[7] = 0;
  for (uint32_t i = 0; i < n; i++) buf[RPMSG_HDR_SIZE + i] = data[i];
  vq_put(&vq_tx, head, RPMSG_HDR_SIZE + n);
  CTRL(AMPQ_CTRL_TX) = CTRL(AMPQ_CTRL_TX) + 1u;
  return 1;
}

static int announce(const char *name, uint32_t addr) {
  uint8_t ns[40];
  memset(ns, 0, sizeof ns);
  for (unsigned int i = 0; name[i] && i < RPMSG_NAME_SIZE - 1u; i++) ns[i] = (uint8_t)name[i];
  ns[32] = (uint8_t)addr;
  ns[33] = (uint8_t)(addr >> 8);
  ns[34] = (uint8_t)(addr >> 16);
  ns[35] = (uint8_t)(addr >> 24);
  /* flags = RPMSG_NS_CREATE (0) */
  return rpmsg_send(addr, RPMSG_NS_ADDR, ns, sizeof ns);
}

/* ---- faults on purpose ---- */
__attribute__((noinline)) static void crash_undefined(void) { __asm__ volatile("udf #0x42"); }

__attribute__((noinline)) static uint32_t crash_div0(void) {
  REG32(SCB_CCR) |= CCR_DIV_0_TRP;
  __asm__ volatile("dsb\n isb" ::: "memory");
  uint32_t q, n = 1000u, d = CTRL(AMPQ_CTRL_VERSION) - AMPQ_VERSION; /* 0, unknown to the compiler */
  __asm__ volatile("udiv %0, %1, %2" : "=r"(q) : "r"(n), "r"(d));
  return q;
}

/* ---- control endpoint: text commands, text replies ---- */
static void reply_text(uint32_t dst, const char *s) {
  /* best effort: retried by the caller's flow control (the message stays pending) */
  (void)rpmsg_send(AMPQ_CTRL_EPT_ADDR, dst, (const volatile uint8_t *)s, str_len(s));
}

static void ctrl_command(uint32_t src, const volatile uint8_t *p, uint32_t n) {
  char cmd[RPMSG_MAX_PAYLOAD + 1];
  for (uint32_t i = 0; i < n; i++) cmd[i] = (char)p[i];
  cmd[n] = 0;
  if (str_eq(cmd, n, "ping")) {
    reply_text(src, "pong");
  } else if (str_starts(cmd, n, "trace ")) {
    trace_bytes(cmd + 6, n - 6u);
    reply_text(src, "ok");
  } else if (str_eq(cmd, n, "stats")) {
    char line[96];
    char *q = line;
    const char *a = "rx ", *b = " tx ", *c = " irqs ";
    while (*a) *q++ = *a++;
    q = fmt_u32(q, CTRL(AMPQ_CTRL_RX), 10);
    while (*b) *q++ = *b++;
    q = fmt_u32(q, CTRL(AMPQ_CTRL_TX), 10);
    while (*c) *q++ = *c++;
    q = fmt_u32(q, CTRL(AMPQ_CTRL_IRQS), 10);
    *q = 0;
    reply_text(src, line);
  } else if (str_eq(cmd, n, "crash")) {
    trace_level('W', "ctrl: crash on purpose (undefined instruction)");
    crash_undefined();
  } else if (str_eq(cmd, n, "hang")) {
    trace_level('W', "ctrl: hanging on purpose (the watchdog will fire)");
    for (;;) {
    }
  } else if (str_eq(cmd, n, "reset")) {
    trace_level('W', "ctrl: system reset request (SYSRESETREQ)");
    __asm__ volatile("dsb" ::: "memory");
    REG32(SCB_AIRCR) = 0x05fa0004u; /* VECTKEY | SYSRESETREQ */
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
  } else if (str_eq(cmd, n, "crash-div0")) {
    trace_level('W', "ctrl: crash on purpose (divide by zero)");
    (void)crash_div0();
  } else {
    reply_text(src, "unknown command");
  }
}

/* Handles one received message. Returns 0 when it must wait for a host rx buffer (the message
 * then stays at the head of vring 1 and is retried after the next kick). */
static int handle_message(const volatile uint8_t *buf, uint32_t cap) {
  if (cap < RPMSG_HDR_SIZE) return 1;
  const vu32 *h32 = (const vu32 *)buf;
  uint32_t src = h32[0], dst = h32[1];
  uint32_t n = ((const vu16 *)buf)[6];
  if (n > cap - RPMSG_HDR_SIZE || n > RPMSG_MAX_PAYLOAD) {
    trace_kv_level('W', "rpmsg: dropped malformed message, len ", n, 10);
    return 1;
  }
  if (!tx_available()) return 0;
  CTRL(AMPQ_CTRL_RX) = CTRL(AMPQ_CTRL_RX) + 1u;
  if (dst == AMPQ_ECHO_ADDR) {
    (void)rpmsg_send(AMPQ_ECHO_ADDR, src, buf + RPMSG_HDR_SIZE, n);
  } else if (dst == AMPQ_CTRL_EPT_ADDR) {
    ctrl_command(src, buf + RPMSG_HDR_SIZE, n);
  } else if (dst == AMP_CLOCK_ADDR) {
    uint8_t reply[AMP_CLOCK_RESPONSE_SIZE];
    uint32_t len = amp_clock_reply(buf + RPMSG_HDR_SIZE, n, clock_us(), clock_us, reply);
    if (len) (void)rpmsg_send(AMP_CLOCK_ADDR, src, reply, len);
  } else {
    trace_kv_level('W', "rpmsg: no endpoint at ", dst, 10);
  }
  return 1;
}

/* Drains vring 1. Returns the number of messages handled. */
static uint32_t process_rx(void) {
  uint32_t done = 0;
  while (vq_has_avail(&vq_rx)) {
    uint16_t saved = vq_rx.last_avail;
    uint16_t head;
    uint32_t cap = 0;
    volatile uint8_t *buf = vq_get(&vq_rx, &head, &cap);
    if (buf && !handle_message(buf, cap)) {
      vq_rx.last_avail = saved; /* no host rx buffer: keep it for later */
      break;
    }
    if (!buf) trace_kv_level('W', "rpmsg: bad descriptor from host, head ", head, 10);
    vq_put(&vq_rx, head, 0);
    done++;
  }
  return done;
}

static void vdev_reset(void) {
  vdev_ready = 0;
  ns_pending = 0;
  CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_WAIT_DRIVER_OK;
}

static void vdev_start(void) {
  volatile struct fw_rsc_vdev *v = &resource_table.vdev;
  if (v->num_of_vrings < 2 || !vq_setup(&vq_tx, &v->vring[0]) || !vq_setup(&vq_rx, &v->vring[1])) {
    trace_level('E', "vdev: bad vring configuration from host; status FAILED");
    v->status = (uint8_t)(v->status | 0x80u);
    return;
  }
  features = v->gfeatures;
  vq_tx.used[0] = VRING_USED_F_NO_NOTIFY; /* no kicks on vring 0 until we run out of buffers */
  vdev_ready = 1;
  ns_pending = (features & (1u << VIRTIO_RPMSG_F_NS)) ? 3u : 0u;
  CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_RUNNING;
  trace_kv("vdev: DRIVER_OK, features ", features, 16);
  trace_kv("vdev: vring0 da ", v->vring[0].da, 16);
  trace_kv("vdev: vring1 da ", v->vring[1].da, 16);
}

/* ---- interrupts ---- */
static volatile uint32_t doorbell_flag;

void uart1_rx_irq(void) {
  /* Clear before draining: a kick byte that lands after the last RXFULL check then raises the
   * interrupt again. Cleared after, it would sit in the data register with no interrupt, and the
   * UART takes nothing more while full: every later kick of the host would be lost. */
  REG32(UART1 + UART_INT) = UART_INT_RX;
  while (REG32(UART1 + UART_STATE) & UART_STATE_RXFULL) (void)REG32(UART1 + UART_DATA);
  doorbell_flag = 1;
  CTRL(AMPQ_CTRL_IRQS) = CTRL(AMPQ_CTRL_IRQS) + 1u;
}

static volatile uint32_t tick_flag;

/* The watchdog is kicked from the main loop on every SysTick period, never from an interrupt
 * handler: a main loop that hangs (even with interrupts enabled) stops the kicks. */
void systick_irq(void) { tick_flag = 1; }

static void watchdog_kick(void) {
  if (!tick_flag) return;
  tick_flag = 0;
  REG32(WDOG + WDOG_INTCLR) = 1; /* clears the interrupt and reloads the counter */
}

static int work_pending(void) {
  volatile struct fw_rsc_vdev *v = &resource_table.vdev;
  int ok = (v->status & VIRTIO_STATUS_DRIVER_OK) != 0;
  if (!vdev_ready) return ok;
  if (!ok) return 1;
  /* every message needs a host buffer for its reply: without one, sleep until the host kicks */
  if (!vq_has_avail(&vq_tx)) return 0;
  return ns_pending || vq_has_avail(&vq_rx);
}

/* Raw round trip for the benchmark's ceiling: copy PING to PONG (no rpmsg, no rings). */
static int ping_pong(void) {
  uint32_t ping = CTRL(AMPQ_CTRL_PING);
  if (ping == CTRL(AMPQ_CTRL_PONG)) return 0;
  CTRL(AMPQ_CTRL_PONG) = ping;
  if (CTRL(AMPQ_CTRL_MODE) == AMPQ_MODE_IRQ) uart_putc(UART1, (char)AMPQ_DB_PONG);
  return 1;
}

/* Idle: busy-poll, or sleep until the doorbell (UART1 RX) or the 10 ms SysTick fallback. */
static void idle(void) {
  CTRL(AMPQ_CTRL_WAKEUPS) = CTRL(AMPQ_CTRL_WAKEUPS) + 1u;
  (void)clock_us(); /* keeps the 64-bit extension of the 32-bit timer current */
  if (ping_pong()) return;
  if (CTRL(AMPQ_CTRL_MODE) != AMPQ_MODE_IRQ) return;
  __asm__ volatile("cpsid i" ::: "memory");
  if (!doorbell_flag && !work_pending() && CTRL(AMPQ_CTRL_PING) == CTRL(AMPQ_CTRL_PONG)) __asm__ volatile("wfi" ::: "memory");
  doorbell_flag = 0;
  __asm__ volatile("cpsie i" ::: "memory");
}

/* ---- entry ---- */
extern uint32_t __bss_start[], __bss_end[];

int main(void) {
  CTRL(AMPQ_CTRL_STATE) = AMPQ_STATE_RESET;
  for (uint32_t i = 0; i < AMPQ_CRASH_SIZE; i += 4) CTRL(AMPQ_CTRL_CRASH + i) = 0;
  CTRL(AMPQ_CTRL_NOTIFY) = 0;
  CTRL(AMPQ_CTRL_IRQS) = 0;
  CTRL(AMPQ_CTRL_RX) = 0;
  CTRL(AMPQ_CTRL_TX) = 0;
  CTRL(AMPQ_CTRL_PONG) = CTRL(AMPQ_CTRL_PING);
  CTRL(AMPQ_CTRL_VERSION) = AMPQ_VERSION;
  CTRL(AMPQ_CTRL_BOOTS) = CTRL(AMPQ_CTRL_BOOTS) + 1u;

  REG32(UART0 + UART_BAUDDIV) = 16;
  REG32(UART0 + UART_CTRL) = UART_CTRL_TX_EN;
  REG32(UART1 + UART_BAUDDIV) = 16;
  REG32(UART1 + UART_CTRL) = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INTEN;
  REG32(UART1 + UART_INT) = 0xfu;
  REG32(NVIC_ISER0) = 1u << UART1_RX_IRQ;
  REG32(SYST_RVR) = SYSCLK_HZ / 100u - 1u; /* 10 ms fallback wake-up */
  REG32(SYST_CVR) = 0;
  REG32(SYST_CSR) = 7u; /* enable, interrupt, processor clock */
  REG32(WDOG + WDOG_LOCK) = WDOG_UNLOCK_KEY;
  REG32(WDOG + WDOG_LOAD) = 3u * SYSCLK_HZ; /* 3 s: generous, so that a starved host CPU is not taken for a hang */
  REG32(WDOG + WDOG_INTCLR) = 1;
  REG32(WDOG + WDOG_CONTROL) = WDOG_CONTROL_INTEN | WDOG_CONTROL_RESEN;
  clock_init();

  trace_kv("amp-echo: boot, vtor ", REG32(SCB_VTOR), 16);
  CTRL(AMPQ_CTRL_MAGIC) = AMPQ_MAGIC;
  vdev_reset();

  for (;;) {
    volatile struct fw_rsc_vdev *v = &resource_table.vdev;
    watchdog_kick();
    if (!(v->status & VIRTIO_STATUS_DRIVER_OK)) {
      if (vdev_ready) {
        trace("vdev: status reset by host, waiting for DRIVER_OK");
        vdev_reset();
      }
      idle();
      continue;
    }
    if (!vdev_ready) {
      vdev_start();
      if (!vdev_ready) {
        idle();
        continue;
      }
    }
    uint32_t progress = 0;
    while (ns_pending) {
      int r = ns_pending == 3u ? announce(AMPQ_ECHO_NAME, AMPQ_ECHO_ADDR)
              : ns_pending == 2u ? announce(AMPQ_CTRL_NAME, AMPQ_CTRL_EPT_ADDR)
                                 : announce(AMP_CLOCK_NAME, AMP_CLOCK_ADDR);
      if (r == 0) break;
      trace(ns_pending == 3u ? "ns: announced rpmsg-echo at 1024" : ns_pending == 2u ? "ns: announced amp-ctrl at 1025" : "ns: announced amp-clock at 1026");
      ns_pending--;
      progress++;
    }
    progress += process_rx();
    if (!progress) idle();
  }
}

void reset_handler(void) {
  for (uint32_t *p = __bss_start; p < __bss_end; p++) *p = 0;
  (void)main();
  for (;;) {
  }
}

/* HardFault (and NMI = watchdog): record the stacked frame and fault status in the control block, ring the doorbell,
 * then sleep forever (at priority -1 nothing preempts: QEMU idles; the host decides). It uses
 * only a few words of stack, so that a fault here does not lock up QEMU. */
void fault_record(uint32_t *frame, uint32_t exc_return, uint32_t reason) {
  uint32_t base = AMPQ_CTRL_CRASH;
  /* No watchdog reset from now on: the host decides (and may want the state for a coredump). */
  REG32(WDOG + WDOG_LOCK) = WDOG_UNLOCK_KEY;
  REG32(WDOG + WDOG_CONTROL) = 0;
  REG32(WDOG + WDOG_INTCLR) = 1;
  if (CTRL(base + AMPQ_CRASH_MAGIC_OFF) == AMPQ_CRASH_MAGIC) {
    for (;;) __asm__ volatile("wfi"); /* a second fault (e.g. NMI after a HardFault): keep the first record */
  }
  CTRL(base + AMPQ_CRASH_REASON_OFF) = reason;
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
  CTRL(AMPQ_CTRL_NOTIFY) = CTRL(AMPQ_CTRL_NOTIFY) + 1u;
  BARRIER();
  if (!(REG32(UART1 + UART_STATE) & UART_STATE_TXFULL)) REG32(UART1 + UART_DATA) = AMPQ_DB_CRASH;
  for (;;) __asm__ volatile("wfi");
}

__attribute__((naked)) void hardfault_handler(void) {
  __asm__ volatile(
      "tst lr, #4\n"
      "ite eq\n"
      "mrseq r0, msp\n"
      "mrsne r0, psp\n"
      "mov r1, lr\n"
      "movs r2, #1\n" /* AMPQ_CRASH_REASON_HARDFAULT */
      "b fault_record\n");
}

__attribute__((naked)) void nmi_handler(void) {
  __asm__ volatile(
      "tst lr, #4\n"
      "ite eq\n"
      "mrseq r0, msp\n"
      "mrsne r0, psp\n"
      "mov r1, lr\n"
      "movs r2, #2\n" /* AMPQ_CRASH_REASON_WATCHDOG */
      "b fault_record\n");
}

extern uint32_t __stack_top[];

/* Vector table at the start of the image (0x21000000 = VTOR from -global armv7m.init-nsvtor). */
__attribute__((section(".vectors"), used))
void (*const vectors[16 + 32])(void) = {
  (void (*)(void))(uintptr_t)__stack_top,
  reset_handler,
  nmi_handler, /* NMI: the watchdog on mps2 */
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
  [16 + 0] = hardfault_handler,
  [16 + 1] = hardfault_handler,
  [16 + UART1_RX_IRQ] = uart1_rx_irq,
  [16 + 3 ... 16 + 31] = hardfault_handler,
};
