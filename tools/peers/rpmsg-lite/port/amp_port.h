/*
 * What the test applications call besides rpmsg-lite's own API: open the shared memory and the
 * doorbell, and wait for interrupts.
 *
 * Interrupts. The program is single-threaded. A doorbell from the peer is read from the socket
 * and "taken" (its vring callback runs, as rpmsg-lite's ISR would run it) only inside
 * amp_port_wait() and the environment's waiting functions (env_sleep_msec, env_get_queue,
 * env_wait_for_link_up). That is a subset of what a real interrupt can do, never more: rpmsg-lite
 * never waits with its lock held, so no callback ever runs inside a locked section.
 */
#ifndef AMP_PORT_H_
#define AMP_PORT_H_

#include <stddef.h>
#include <stdint.h>

struct amp_port_options
{
    const char *shm_path;  /* file both sides map (created and extended to shm_size if needed) */
    uint64_t shm_size;     /* bytes of the file to map, from offset 0 (0: the file's size) */
    uint64_t shm_offset;   /* where rpmsg-lite's shared memory starts in the file */
    uint32_t da_base;      /* device address of file offset 0: descriptor addresses = da_base + offset */
    const char *doorbell;  /* "fd:N", "connect:PATH" or "listen:PATH" */
    uint32_t connect_timeout_ms;
    int verbose;
};

struct amp_port_counters
{
    uint64_t rings_sent;     /* platform_notify calls */
    uint64_t rings_received; /* vector ids read from the doorbell */
    uint64_t rings_unknown;  /* vector ids no vring is registered for */
    uint64_t isr_calls;      /* vring callbacks run */
    uint64_t allocations;    /* env_allocate_memory calls (0 with the static API) */
};

/* Maps the file and opens the doorbell; on any failure prints why and exits with status 2. */
void amp_port_open(const struct amp_port_options *options);
void amp_port_close(void);

/* rpmsg-lite's shared memory: the mapping plus shm_offset, and the bytes from there to the end. */
void *amp_port_shm(void);
size_t amp_port_shm_length(void);

/* Takes pending interrupts, else waits up to timeout_ms for one. Returns the number of vring
 * callbacks run, or -1 once the peer closed the doorbell (and nothing was pending). */
int amp_port_wait(uint32_t timeout_ms);
int amp_port_peer_closed(void);

/* Milliseconds of a monotonic clock. */
uint64_t amp_port_now_ms(void);

const struct amp_port_counters *amp_port_counters(void);
struct amp_port_counters *amp_port_counters_mut(void);

/* Used by the environment layer. */
void amp_port_dispatch_isr(uint32_t vector_id);

#endif /* AMP_PORT_H_ */
