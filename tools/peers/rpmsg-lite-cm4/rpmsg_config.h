/*
 * rpmsg-lite configuration of the @amp Cortex-M4 peer (QEMU mps2-an386), our own file: rpmsg-lite
 * includes "rpmsg_config.h" from rpmsg_default_config.h. Every wire-relevant value can be
 * overridden with -D; scripts/peers/build-rpmsg-lite-cm4.sh passes the layout under test, and the
 * @amp host must be given the same numbers (rpmsgLiteLayout in @amp/rpmsg takes these names).
 */
#ifndef RPMSG_CONFIG_H_
#define RPMSG_CONFIG_H_

/* Payload bytes per buffer; a buffer is 16 + this, word aligned (512 for 496). */
#ifndef RL_BUFFER_PAYLOAD_SIZE
#define RL_BUFFER_PAYLOAD_SIZE (496U)
#endif

/* Buffers per direction = vring size; a power of two. */
#ifndef RL_BUFFER_COUNT
#define RL_BUFFER_COUNT (16U)
#endif

/* Poll interval of the blocking calls (waiting for a tx buffer, for the link), in ms. */
#define RL_MS_PER_INTERVAL (1)

/* 0: tx completions are not signalled (rpmsg-lite to rpmsg-lite); 1: the remote kicks its rx vring
 * each time it returns a host buffer (the setting NXP documents for a Linux host). */
#ifndef RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION
#define RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION (0)
#endif

/* 1: no malloc; the application passes the storage of the instance and its endpoints. */
#ifndef RL_USE_STATIC_API
#define RL_USE_STATIC_API (0)
#endif

#define RL_API_HAS_ZEROCOPY (1)
#define RL_CLEAR_USED_BUFFERS (0)
#define RL_USE_DCACHE (0)
#define RL_USE_MCMGR_IPC_ISR_HANDLER (0)
#define RL_USE_ENVIRONMENT_CONTEXT (0)
#define RL_DEBUG_CHECK_BUFFERS (0)
#define RL_ALLOW_CUSTOM_SHMEM_CONFIG (0)

/* A failed assertion traps (undefined instruction): the firmware's HardFault handler records
 * where in the control block and rings the host, instead of spinning unseen. */
#define RL_ASSERT(x)         \
  do {                       \
    if (!(x)) {              \
      __builtin_trap();      \
    }                        \
  } while (0)

#endif /* RPMSG_CONFIG_H_ */
