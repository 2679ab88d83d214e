/*
 * rpmsg-lite platform layer of @amp for QEMU mps2-an386 (Cortex-M4), our own code: the header
 * that rpmsg-lite's sources include as "rpmsg_platform.h". It gives the ring geometry rpmsg-lite
 * computes its shared-memory layout from, the vector-id scheme, and the functions its bare-metal
 * environment (rpmsg_env_bm.c) calls.
 *
 * The doorbell is the project's QEMU doorbell (packages/node/firmware/qemu/amp-qemu.h): a byte on
 * UART1 in each direction, whose value is the rpmsg-lite vector id (link id << 1 | queue).
 * Device address = CPU address on this part (no MMU, no cache).
 */
#ifndef RPMSG_PLATFORM_H_
#define RPMSG_PLATFORM_H_

#include <stdint.h>

/*
 * Ring geometry. The default is what NXP's MCU platforms use: 16-byte alignment and the smallest
 * VRING_SIZE that holds one vring of RL_BUFFER_COUNT entries, each of its three parts (descriptor
 * table, avail ring, used ring) rounded up to VRING_ALIGN on its own. rpmsg-lite's vring structs
 * declare a one-element ring array, so sizeof(struct vring_avail) is 6 and sizeof(struct
 * vring_used) is 12: the formula below is the MCU headers' formula, not vring_size().
 * i.MX parts use VRING_ALIGN 0x1000 and VRING_SIZE 0x8000; the build passes either with -D.
 */
#ifndef VRING_ALIGN
#define VRING_ALIGN (0x10U)
#endif

#ifndef VRING_SIZE
#define AMPRL_VRING_PART(bytes) ((((uint32_t)(bytes)) + VRING_ALIGN - 1U) & ~(VRING_ALIGN - 1U))
#define VRING_SIZE                                                                                   \
  (AMPRL_VRING_PART(RL_BUFFER_COUNT * sizeof(struct vring_desc)) +                                   \
   AMPRL_VRING_PART(sizeof(struct vring_avail) + RL_BUFFER_COUNT * sizeof(uint16_t) + sizeof(uint16_t)) + \
   AMPRL_VRING_PART(sizeof(struct vring_used) + RL_BUFFER_COUNT * sizeof(struct vring_used_elem) + sizeof(uint16_t)))
#endif

/* Both vrings of one link; the buffers follow them. */
#define RL_VRING_OVERHEAD (2UL * VRING_SIZE)

/*
 * Links and vector ids. A vector id is (link id << 1) | queue, queue 0 being the remote's tx vring
 * (the host's rx, vring 0) and 1 its rx vring. It travels as one doorbell byte, which must stay
 * below AMPQ_DB_PONG (0x7f): 16 links give ids 0..31.
 */
#define AMPRL_MAX_LINKS (16U)
#define RL_PLATFORM_HIGHEST_LINK_ID (AMPRL_MAX_LINKS - 1U)
#define RL_PLATFORM_MAX_ISR_COUNT (2U * AMPRL_MAX_LINKS)

#define RL_GET_VQ_ID(link_id, queue_id) ((((uint32_t)(link_id)) << 1U) | (((uint32_t)(queue_id)) & 1U))
#define RL_GET_LINK_ID(vq_id) (((uint32_t)(vq_id)) >> 1U)
#define RL_GET_Q_ID(vq_id) (((uint32_t)(vq_id)) & 1U)

/* ---- what rpmsg-lite and its bare-metal environment call ---- */

/* interrupts (one per vector id, all multiplexed on the UART1 doorbell) */
int32_t platform_init_interrupt(uint32_t vector_id, void *isr_data);
int32_t platform_deinit_interrupt(uint32_t vector_id);
int32_t platform_interrupt_enable(uint32_t vector_id);
int32_t platform_interrupt_disable(uint32_t vector_id);
int32_t platform_in_isr(void);
void platform_notify(uint32_t vector_id);

/* time (SysTick at 1 kHz) */
void platform_time_delay(uint32_t num_msec);

/* memory: flat, uncached; these are no-ops or the identity */
void platform_map_mem_region(uint32_t vrt_addr, uint32_t phy_addr, uint32_t size, uint32_t flags);
void platform_cache_all_flush_invalidate(void);
void platform_cache_disable(void);
void platform_cache_invalidate(void *data, uint32_t len);
void platform_cache_flush(void *data, uint32_t len);
uintptr_t platform_vatopa(void *addr);
void *platform_patova(uintptr_t addr);

/* set-up */
int32_t platform_init(void);
int32_t platform_deinit(void);

/* ---- ours: for the firmware's vector table and main loop ---- */

/* UART1 RX interrupt (IRQ 2 on mps2): the host rang the doorbell. */
void platform_doorbell_isr(void);
/* SysTick interrupt: the millisecond clock. */
void platform_systick_isr(void);
/* Milliseconds since platform_init. */
uint32_t platform_now_ms(void);
/* Sleeps until an interrupt (doorbell, SysTick) unless `busy` says there is work. */
void platform_idle(int32_t (*busy)(void));
/* Masks / restores interrupts around code that shares a vring with rpmsg-lite's interrupt path. */
uint32_t platform_lock(void);
void platform_unlock(uint32_t state);

#endif /* RPMSG_PLATFORM_H_ */
