/*
 * rpmsg-lite platform layer of the @amp Linux-userspace port (written for @amp against the
 * declarations rpmsg-lite's core expects from a platform header; no NXP code in here).
 *
 * The platform is "two Linux processes": shared memory is a file both map, the inter-core
 * interrupt is a 4-byte vector id written on a stream socket (see ../README.md).
 *
 * The numbers that matter on the wire are compile-time, as on a real board. The build script
 * passes them with -D:
 *   VRING_ALIGN   alignment of the used ring inside a vring (0x1000 on i.MX, 0x10 on most MCUs)
 *   VRING_SIZE    distance from vring 0 to vring 1. When it is not given, it is computed the way
 *                 the MCU platform headers do: descriptor table, avail ring and used ring, each
 *                 rounded up to VRING_ALIGN on its own.
 */
#ifndef RPMSG_PLATFORM_H_
#define RPMSG_PLATFORM_H_

#include <stdint.h>

#ifndef VRING_ALIGN
#define VRING_ALIGN (0x10U)
#endif

#define AMP_PLATFORM_ALIGN_UP(x) (((x) + VRING_ALIGN - 1UL) & ~(VRING_ALIGN - 1UL))

#ifndef VRING_SIZE
/* rpmsg-lite's struct vring_avail and struct vring_used each declare one ring entry (ring[1]) and
 * the formula adds the event-index u16 on top, so the avail part is 8 + 2n bytes and the used part
 * 14 + 8n: one ring entry more than the virtio specification's 6 + 2n and 6 + 8n. */
#define AMP_PLATFORM_DESC_BYTES  AMP_PLATFORM_ALIGN_UP(RL_BUFFER_COUNT * sizeof(struct vring_desc))
#define AMP_PLATFORM_AVAIL_BYTES \
    AMP_PLATFORM_ALIGN_UP(sizeof(struct vring_avail) + RL_BUFFER_COUNT * sizeof(uint16_t) + sizeof(uint16_t))
#define AMP_PLATFORM_USED_BYTES                                                                        \
    AMP_PLATFORM_ALIGN_UP(sizeof(struct vring_used) + RL_BUFFER_COUNT * sizeof(struct vring_used_elem) + \
                          sizeof(uint16_t))
#define VRING_SIZE (AMP_PLATFORM_DESC_BYTES + AMP_PLATFORM_AVAIL_BYTES + AMP_PLATFORM_USED_BYTES)
#endif

/* Both vrings of one link; the buffer pool follows them. */
#define RL_VRING_OVERHEAD (2UL * VRING_SIZE)

/* Vector ids: bit 0 is the vring (queue) index, the rest the link id, as on every rpmsg-lite
 * platform. Links 0..15 give vectors 0..31. */
#define RL_PLATFORM_MAX_ISR_COUNT (32U)
#define RL_PLATFORM_HIGHEST_LINK_ID (15U)
#define RL_GET_VQ_ID(link_id, queue_id) (((queue_id) & 0x1U) | (((link_id) << 1U) & 0xFFFFFFFEU))
#define RL_GET_LINK_ID(id) (((id) & 0xFFFFFFFEU) >> 1U)
#define RL_GET_Q_ID(id) ((id) & 0x1U)

/* What rpmsg-lite's core and our environment layer call. */
int32_t platform_init_interrupt(uint32_t vector_id, void *isr_data);
int32_t platform_deinit_interrupt(uint32_t vector_id);
int32_t platform_interrupt_enable(uint32_t vector_id);
int32_t platform_interrupt_disable(uint32_t vector_id);
int32_t platform_in_isr(void);
void platform_notify(uint32_t vector_id);
void platform_time_delay(uint32_t num_msec);
void platform_map_mem_region(uint32_t vrt_addr, uint32_t phy_addr, uint32_t size, uint32_t flags);
void platform_cache_all_flush_invalidate(void);
void platform_cache_disable(void);
void platform_cache_invalidate(void *data, uint32_t len);
void platform_cache_flush(void *data, uint32_t len);
uintptr_t platform_vatopa(void *addr);
void *platform_patova(uintptr_t addr);
int32_t platform_init(void);
int32_t platform_deinit(void);

#endif /* RPMSG_PLATFORM_H_ */
