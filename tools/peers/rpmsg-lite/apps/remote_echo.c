/*
 * rl-remote: an rpmsg-lite REMOTE that echoes every message back to its sender, the way NXP's
 * pingpong examples are built (rpmsg_queue for receiving, name-service announcement).
 *
 *   1. rpmsg_lite_remote_init() on the shared file; wait for link up (the master's first kick on
 *      vector link_id << 1),
 *   2. an endpoint fed by rpmsg_queue, announced as --name (NS CREATE) unless --no-ns,
 *   3. echo --count messages (0: until the doorbell closes): copying (rpmsg_queue_recv +
 *      rpmsg_lite_send) or zero-copy (rpmsg_queue_recv_nocopy + rpmsg_lite_alloc_tx_buffer +
 *      rpmsg_lite_send_nocopy + rpmsg_queue_nocopy_free); --check compares message i with the
 *      test pattern first, --sink only receives (and checks),
 *   4. --ns-destroy: announce NS DESTROY,
 *   5. print one RESULT line, then keep taking interrupts until the peer closes the doorbell.
 * Exit status: 0 when every echo was sent, 1 otherwise (2 usage/setup, 3 bad peer address,
 * 70 rpmsg-lite assertion, 124 hard timeout).
 */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "rpmsg_lite.h"
#include "rpmsg_ns.h"
#include "rpmsg_queue.h"

#if defined(RL_USE_STATIC_API) && (RL_USE_STATIC_API == 1)
static struct rpmsg_lite_instance instance_ctx;
static struct rpmsg_lite_ept_static_context ept_ctx;
static uint8_t queue_storage[RL_ENV_QUEUE_STATIC_STORAGE_SIZE];
static rpmsg_static_queue_ctxt queue_ctx;
#endif

struct echo_stats
{
    uint32_t received;
    uint32_t rx_bad;
    uint32_t echoed;
    uint64_t bytes;
    uint32_t send_errors;
    uint32_t tx_capacity_min;
    uint32_t tx_capacity_max;
    int32_t last_error;
};

static void check_rx(const struct app_options *o, const void *data, uint32_t len, struct echo_stats *st)
{
    if (o->check && app_check(data, len, o->seed, st->received) >= 0)
    {
        if (st->rx_bad < 5U)
        {
            fprintf(stderr, "rl-remote: message %u (%u bytes) is not the expected pattern\n", st->received, len);
        }
        st->rx_bad++;
    }
    st->received++;
}

static int echo_one(struct rpmsg_lite_instance *dev, struct rpmsg_lite_endpoint *ept, rpmsg_queue_handle q,
                    const struct app_options *o, uint32_t slice_ms, struct echo_stats *st)
{
    uint32_t src = 0;
    uint32_t len = 0;
    int32_t r;
    if (o->zero_copy)
    {
        char *rx = NULL;
        r = rpmsg_queue_recv_nocopy(dev, q, &src, &rx, &len, slice_ms);
        if (r != RL_SUCCESS)
        {
            return 0;
        }
        check_rx(o, rx, len, st);
        if (o->sink)
        {
            (void)rpmsg_queue_nocopy_free(dev, rx);
            st->bytes += len;
            return 1;
        }
        uint32_t cap = 0;
        void *tx     = rpmsg_lite_alloc_tx_buffer(dev, &cap, o->timeout_ms);
        if (tx != NULL)
        {
            st->tx_capacity_min = cap < st->tx_capacity_min ? cap : st->tx_capacity_min;
            st->tx_capacity_max = cap > st->tx_capacity_max ? cap : st->tx_capacity_max;
        }
        if (tx == NULL || cap < len)
        {
            /* Never write past what the buffer offers, even though rpmsg-lite would let us. */
            fprintf(stderr, "rl-remote: no tx buffer for echo %u (capacity %u, need %u)\n", st->echoed, cap, len);
            st->send_errors++;
            st->last_error = RL_ERR_NO_MEM;
            (void)rpmsg_queue_nocopy_free(dev, rx);
            return -1;
        }
        memcpy(tx, rx, len);
        r = rpmsg_lite_send_nocopy(dev, ept, src, tx, len);
        (void)rpmsg_queue_nocopy_free(dev, rx);
    }
    else
    {
        static char buf[RL_BUFFER_PAYLOAD_SIZE];
        r = rpmsg_queue_recv(dev, q, &src, buf, sizeof(buf), &len, slice_ms);
        if (r != RL_SUCCESS)
        {
            return 0;
        }
        check_rx(o, buf, len, st);
        if (o->sink)
        {
            st->bytes += len;
            return 1;
        }
        r = rpmsg_lite_send(dev, ept, src, buf, len, o->timeout_ms);
    }
    if (r != RL_SUCCESS)
    {
        fprintf(stderr, "rl-remote: echo %u of %u bytes to %u failed: %d\n", st->echoed, len, src, r);
        st->send_errors++;
        st->last_error = r;
        return -1;
    }
    st->echoed++;
    st->bytes += len;
    return 1;
}

int main(int argc, char **argv)
{
    struct app_options o;
    app_parse(argc, argv, "remote", &o);
    app_arm_timeout(o.timeout_ms, "remote");
    amp_port_open(&o.port);
    uint64_t deadline = amp_port_now_ms() + o.timeout_ms;

#if defined(RL_USE_STATIC_API) && (RL_USE_STATIC_API == 1)
    struct rpmsg_lite_instance *dev = rpmsg_lite_remote_init(amp_port_shm(), o.link_id, RL_NO_FLAGS, &instance_ctx);
#else
    struct rpmsg_lite_instance *dev = rpmsg_lite_remote_init(amp_port_shm(), o.link_id, RL_NO_FLAGS);
#endif
    if (dev == NULL)
    {
        fprintf(stderr, "rl-remote: rpmsg_lite_remote_init failed (link id %u)\n", o.link_id);
        return 2;
    }
    if (rpmsg_lite_wait_for_link_up(dev, o.timeout_ms) == 0U)
    {
        fprintf(stderr, "rl-remote: link never came up: no kick on vector %u\n", (unsigned)RL_GET_VQ_ID(o.link_id, 0U));
        return 1;
    }
#if defined(RL_USE_STATIC_API) && (RL_USE_STATIC_API == 1)
    rpmsg_queue_handle q             = rpmsg_queue_create(dev, queue_storage, &queue_ctx);
    struct rpmsg_lite_endpoint *ept = rpmsg_lite_create_ept(dev, o.ept_addr, rpmsg_queue_rx_cb, q, &ept_ctx);
#else
    rpmsg_queue_handle q             = rpmsg_queue_create(dev);
    struct rpmsg_lite_endpoint *ept = rpmsg_lite_create_ept(dev, o.ept_addr, rpmsg_queue_rx_cb, q);
#endif
    if (q == NULL || ept == NULL)
    {
        fprintf(stderr, "rl-remote: cannot create the queue or endpoint %u\n", o.ept_addr);
        return 2;
    }
    int32_t ns_create = o.no_ns ? RL_SUCCESS : rpmsg_ns_announce(dev, ept, o.name, (uint32_t)RL_NS_CREATE);
    if (ns_create != RL_SUCCESS)
    {
        fprintf(stderr, "rl-remote: NS CREATE failed: %d\n", ns_create);
        return 1;
    }

    struct echo_stats st = {.tx_capacity_min = UINT32_MAX};
    while (o.count == 0U || st.received < o.count)
    {
        uint64_t now = amp_port_now_ms();
        if (now >= deadline || (amp_port_peer_closed() && rpmsg_queue_get_current_size(q) == 0))
        {
            break;
        }
        if (echo_one(dev, ept, q, &o, 100U, &st) < 0)
        {
            break;
        }
    }
    int32_t ns_destroy = o.ns_destroy ? rpmsg_ns_announce(dev, ept, o.name, (uint32_t)RL_NS_DESTROY) : RL_SUCCESS;
    uint32_t want_echoes = o.sink ? 0U : st.received;
    int ok = (o.count == 0U || st.received == o.count) && st.echoed == want_echoes && st.rx_bad == 0U &&
             st.send_errors == 0U && ns_destroy == RL_SUCCESS;

    const struct amp_port_counters *c = amp_port_counters();
    printf("RESULT role=remote ok=%d link_id=%u ept=%u received=%u rx_bad=%u echoed=%u bytes=%llu send_errors=%u last_error=%d"
           " ns_create_rc=%d ns_destroy_rc=%d tx_capacity_min=%u tx_capacity_max=%u"
           " rings_sent=%llu rings_received=%llu rings_unknown=%llu isr_calls=%llu allocations=%llu",
           ok, o.link_id, ept->addr, st.received, st.rx_bad, st.echoed, (unsigned long long)st.bytes, st.send_errors, st.last_error,
           o.no_ns ? -1 : ns_create, o.ns_destroy ? ns_destroy : -1,
           st.tx_capacity_min == UINT32_MAX ? 0U : st.tx_capacity_min, st.tx_capacity_max,
           (unsigned long long)c->rings_sent, (unsigned long long)c->rings_received,
           (unsigned long long)c->rings_unknown, (unsigned long long)c->isr_calls,
           (unsigned long long)c->allocations);
    app_print_config();
    printf("\n");
    fflush(stdout);

    /* Keep serving interrupts (the host may still be draining) until it closes the doorbell. */
    while (!amp_port_peer_closed() && amp_port_now_ms() < deadline)
    {
        (void)amp_port_wait(100U);
    }
    (void)rpmsg_lite_destroy_ept(dev, ept);
    (void)rpmsg_queue_destroy(dev, q);
    (void)rpmsg_lite_deinit(dev);
    amp_port_close();
    return ok ? 0 : 1;
}
