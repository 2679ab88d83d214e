/*
 * Types of the @amp Linux-userspace environment layer that rpmsg-lite's headers need
 * (rpmsg_env.h includes this file): the message record of rpmsg_queue, and the storage the
 * static API hands to env_create_mutex and env_create_queue instead of letting them allocate.
 */
#ifndef RPMSG_ENV_SPECIFIC_H_
#define RPMSG_ENV_SPECIFIC_H_

#include <stdint.h>
#include "rpmsg_default_config.h"

/* One received message as rpmsg_queue keeps it (the buffer stays held until released). */
typedef struct
{
    uint32_t src;
    void *data;
    uint32_t len;
} rpmsg_queue_rx_cb_data_t;

/* A mutex of a single-threaded program: interrupts are delivered only at wait points (see
 * env_linux.c), so a lock only has to catch misuse (taking it twice). */
struct amp_env_mutex
{
    int32_t count;
};

/* A fixed-size FIFO of equal-sized records. */
struct amp_env_queue
{
    uint8_t *storage;
    int32_t length;
    int32_t element_size;
    int32_t head;
    int32_t used;
    int32_t owns_storage;
};

#if defined(RL_USE_STATIC_API) && (RL_USE_STATIC_API == 1)
typedef struct amp_env_mutex LOCK_STATIC_CONTEXT;
typedef struct amp_env_queue rpmsg_static_queue_ctxt;
/* rpmsg_queue_create() makes a queue of 2 * RL_BUFFER_COUNT records: the storage an application
 * must give it. */
#define RL_ENV_QUEUE_STATIC_STORAGE_SIZE (2U * RL_BUFFER_COUNT * sizeof(rpmsg_queue_rx_cb_data_t))
#endif

#endif /* RPMSG_ENV_SPECIFIC_H_ */
