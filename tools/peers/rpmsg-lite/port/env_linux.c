/*
 * rpmsg-lite environment layer for a single-threaded Linux program, written for @amp's interop
 * tests against the functions rpmsg_env.h declares.
 *
 * Waiting (env_sleep_msec, env_get_queue, env_wait_for_link_up) is where interrupts are taken:
 * each wait runs amp_port_wait(), which reads the doorbell and runs the vring callbacks, the way a
 * core would take the inter-core interrupt while it sleeps. Allocations are counted so that a
 * static-API build can show it made none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amp_port.h"
#include "rpmsg_env.h"
#include "rpmsg_lite.h"
#include "virtqueue.h"

static int env_users;

/* Timeouts of RL_BLOCK (all ones, of whatever width) or beyond 32 bits mean "forever". */
static int is_forever(uintptr_t timeout_ms)
{
    return timeout_ms >= (uintptr_t)UINT32_MAX;
}

/* Waits for interrupts until `ms` passed (forever when `forever`), or until `done()` is true. */
static int wait_until(uintptr_t timeout_ms, int (*done)(const void *), const void *arg)
{
    uint64_t start = amp_port_now_ms();
    for (;;)
    {
        if (done != NULL && done(arg))
        {
            return 1;
        }
        uint64_t spent = amp_port_now_ms() - start;
        if (!is_forever(timeout_ms) && spent >= (uint64_t)timeout_ms)
        {
            return 0;
        }
        uint32_t slice = is_forever(timeout_ms) ? 1000U : (uint32_t)((uint64_t)timeout_ms - spent);
        (void)amp_port_wait(slice);
    }
}

int32_t env_init(void)
{
    env_users++;
    return 0;
}

int32_t env_deinit(void)
{
    if (env_users > 0)
    {
        env_users--;
    }
    return 0;
}

void *env_allocate_memory(uint32_t size)
{
    amp_port_counters_mut()->allocations++;
    return calloc(1, size);
}

void env_free_memory(void *ptr)
{
    free(ptr);
}

void env_memset(void *ptr, int32_t value, uint32_t size)
{
    memset(ptr, value, size);
}

void env_memcpy(void *dst, void const *src, uint32_t len)
{
    memcpy(dst, src, len);
}

int32_t env_strcmp(const char *dst, const char *src)
{
    return strcmp(dst, src);
}

void env_strncpy(char *dest, const char *src, uint32_t len)
{
    strncpy(dest, src, len);
}

int32_t env_strncmp(char *dest, const char *src, uint32_t len)
{
    return strncmp(dest, src, len);
}

uint32_t env_map_vatopa(void *address)
{
    return (uint32_t)platform_vatopa(address);
}

void *env_map_patova(uint32_t address)
{
    return platform_patova(address);
}

/* The peer is another process on a coherent host: fences order our accesses for it. */
void env_mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void env_rmb(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

void env_wmb(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

/* ---- locks ---- */

static int32_t mutex_init(void **lock, int32_t count, struct amp_env_mutex *m)
{
    if (lock == NULL || m == NULL)
    {
        return -1;
    }
    m->count = count;
    *lock    = m;
    return 0;
}

#if defined(RL_USE_STATIC_API) && (RL_USE_STATIC_API == 1)
int32_t env_create_mutex(void **lock, int32_t count, void *context)
{
    return mutex_init(lock, count, context);
}
#else
int32_t env_create_mutex(void **lock, int32_t count)
{
    return mutex_init(lock, count, env_allocate_memory(sizeof(struct amp_env_mutex)));
}
#endif

void env_delete_mutex(void *lock)
{
#if !(defined(RL_USE_STATIC_API) && (RL_USE_STATIC_API == 1))
    env_free_memory(lock);
#else
    (void)lock;
#endif
}

void env_lock_mutex(void *lock)
{
    struct amp_env_mutex *m = lock;
    /* Nobody else runs in this process, so a taken lock means it was taken twice. */
    RL_ASSERT(m->count > 0);
    m->count--;
}

void env_unlock_mutex(void *lock)
{
    struct amp_env_mutex *m = lock;
    m->count++;
}

/* ---- time and interrupts ---- */

void env_sleep_msec(uint32_t num_msec)
{
    if (platform_in_isr() != 0)
    {
        platform_time_delay(num_msec);
        return;
    }
    (void)wait_until(num_msec, NULL, NULL);
}

void env_register_isr(uint32_t vector_id, void *data)
{
    (void)platform_init_interrupt(vector_id, data);
}

void env_unregister_isr(uint32_t vector_id)
{
    (void)platform_deinit_interrupt(vector_id);
}

void env_enable_interrupt(uint32_t vector_id)
{
    (void)platform_interrupt_enable(vector_id);
}

void env_disable_interrupt(uint32_t vector_id)
{
    (void)platform_interrupt_disable(vector_id);
}

void env_isr(uint32_t vector)
{
    amp_port_dispatch_isr(vector);
}

static int link_is_up(const void *state)
{
    return *(const volatile uint32_t *)state != 0U;
}

uint32_t env_wait_for_link_up(volatile uint32_t *link_state, uint32_t link_id, uint32_t timeout_ms)
{
    (void)link_id;
    return wait_until(timeout_ms, link_is_up, (const void *)link_state) != 0 ? 1U : 0U;
}

void env_tx_callback(uint32_t link_id)
{
    (void)link_id;
}

void env_map_memory(uint32_t pa, uint32_t va, uint32_t size, uint32_t flags)
{
    platform_map_mem_region(va, pa, size, flags);
}

uint64_t env_get_timestamp(void)
{
    return amp_port_now_ms();
}

void env_disable_cache(void)
{
    platform_cache_disable();
}

void env_cache_flush(void *data, uint32_t len)
{
    platform_cache_flush(data, len);
}

void env_cache_invalidate(void *data, uint32_t len)
{
    platform_cache_invalidate(data, len);
}

/* ---- queues (rpmsg_queue.c) ---- */

static int32_t queue_init(void **queue, int32_t length, int32_t element_size, uint8_t *storage,
                          struct amp_env_queue *q, int32_t owns)
{
    if (queue == NULL || q == NULL || storage == NULL || length <= 0 || element_size <= 0)
    {
        return -1;
    }
    q->storage      = storage;
    q->length       = length;
    q->element_size = element_size;
    q->head         = 0;
    q->used         = 0;
    q->owns_storage = owns;
    *queue          = q;
    return 0;
}

#if defined(RL_USE_STATIC_API) && (RL_USE_STATIC_API == 1)
int32_t env_create_queue(void **queue,
                         int32_t length,
                         int32_t element_size,
                         uint8_t *queue_static_storage,
                         rpmsg_static_queue_ctxt *queue_static_context)
{
    return queue_init(queue, length, element_size, queue_static_storage, queue_static_context, 0);
}
#else
int32_t env_create_queue(void **queue, int32_t length, int32_t element_size)
{
    struct amp_env_queue *q = env_allocate_memory(sizeof(*q));
    uint8_t *storage        = env_allocate_memory((uint32_t)length * (uint32_t)element_size);
    if (queue_init(queue, length, element_size, storage, q, 1) != 0)
    {
        env_free_memory(storage);
        env_free_memory(q);
        return -1;
    }
    return 0;
}
#endif

void env_delete_queue(void *queue)
{
    struct amp_env_queue *q = queue;
    if (q != NULL && q->owns_storage)
    {
        env_free_memory(q->storage);
        env_free_memory(q);
    }
}

static int queue_has_room(const void *queue)
{
    const struct amp_env_queue *q = queue;
    return q->used < q->length;
}

static int queue_has_item(const void *queue)
{
    const struct amp_env_queue *q = queue;
    return q->used > 0;
}

int32_t env_put_queue(void *queue, void *msg, uintptr_t timeout_ms)
{
    struct amp_env_queue *q = queue;
    if (!queue_has_room(q) && (platform_in_isr() != 0 || wait_until(timeout_ms, queue_has_room, q) == 0))
    {
        return 0;
    }
    int32_t slot = (q->head + q->used) % q->length;
    memcpy(q->storage + (size_t)slot * (size_t)q->element_size, msg, (size_t)q->element_size);
    q->used++;
    return 1;
}

int32_t env_get_queue(void *queue, void *msg, uintptr_t timeout_ms)
{
    struct amp_env_queue *q = queue;
    if (!queue_has_item(q) && (platform_in_isr() != 0 || wait_until(timeout_ms, queue_has_item, q) == 0))
    {
        return 0;
    }
    memcpy(msg, q->storage + (size_t)q->head * (size_t)q->element_size, (size_t)q->element_size);
    q->head = (q->head + 1) % q->length;
    q->used--;
    return 1;
}

int32_t env_get_current_queue_size(void *queue)
{
    const struct amp_env_queue *q = queue;
    return q->used;
}
