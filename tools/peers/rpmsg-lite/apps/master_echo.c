/*
 * rl-master: an rpmsg-lite MASTER that sends --count messages of sizes 1..RL_BUFFER_PAYLOAD_SIZE
 * to an echo service and checks every echo byte for byte.
 *
 *   1. rpmsg_lite_master_init() on the shared file (it lays out both vrings and the buffer pool,
 *      then kicks vector link_id << 1: the remote's link-up),
 *   2. an endpoint whose rx callback queues what arrives (copied, or held with RL_HOLD in
 *      --zero-copy mode and released with rpmsg_lite_release_rx_buffer after the check),
 *   3. rpmsg_ns_bind(): learn the address of --name from the remote's NS CREATE (or --dst),
 *      optionally --announce its own endpoint,
 *   4. send with up to --window messages in flight (rpmsg_lite_send, or
 *      rpmsg_lite_alloc_tx_buffer + rpmsg_lite_send_nocopy), check echoes in order,
 *   5. --expect-ns-destroy: wait for the remote's NS DESTROY of --name,
 *   6. print one RESULT line.
 * Exit status: 0 when every echo matched (and the expected NS messages came), 1 otherwise.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "rpmsg_lite.h"
#include "rpmsg_ns.h"

#if defined(RL_USE_STATIC_API) && (RL_USE_STATIC_API == 1)
static struct rpmsg_lite_instance instance_ctx;
static struct rpmsg_lite_ept_static_context ept_ctx;
static rpmsg_ns_static_context ns_ctx;
#endif

#define RX_SLOTS 1024U

struct rx_slot
{
    uint32_t src;
    uint32_t len;
    void *held; /* zero-copy: the rx buffer itself, given back after the check */
    uint8_t copy[RL_BUFFER_PAYLOAD_SIZE];
};

static struct
{
    int zero_copy;
    struct rx_slot slots[RX_SLOTS];
    uint32_t head;
    uint32_t used;
    uint32_t overflow;
    /* name service */
    const char *service;
    uint32_t service_addr;
    uint32_t ns_create;
    uint32_t ns_destroy;
    uint32_t ns_other;
} rx = {.service_addr = RL_ADDR_ANY};

/* Runs in "interrupt" context (inside amp_port_wait). */
static int32_t on_message(void *payload, uint32_t payload_len, uint32_t src, void *priv)
{
    (void)priv;
    if (rx.used == RX_SLOTS || payload_len > RL_BUFFER_PAYLOAD_SIZE)
    {
        rx.overflow++;
        return RL_RELEASE;
    }
    struct rx_slot *s = &rx.slots[(rx.head + rx.used) % RX_SLOTS];
    s->src            = src;
    s->len            = payload_len;
    s->held           = NULL;
    if (rx.zero_copy)
    {
        s->held = payload;
    }
    else
    {
        memcpy(s->copy, payload, payload_len);
    }
    rx.used++;
    return rx.zero_copy ? RL_HOLD : RL_RELEASE;
}

static void on_name_service(uint32_t addr, const char *name, uint32_t flags, void *user)
{
    (void)user;
    char n[33];
    memcpy(n, name, 32);
    n[32] = '\0';
    if (strcmp(n, rx.service) != 0)
    {
        rx.ns_other++;
        return;
    }
    if ((flags & 1U) == (uint32_t)RL_NS_DESTROY)
    {
        rx.ns_destroy++;
    }
    else
    {
        rx.ns_create++;
        rx.service_addr = addr;
    }
}

struct run
{
    uint32_t sent;
    uint32_t echoed;
    uint32_t bad;
    uint64_t bytes;
    uint32_t send_errors;
    int32_t last_error;
    uint32_t tx_capacity_min;
    uint32_t tx_capacity_max;
};

static int send_one(struct rpmsg_lite_instance *dev, struct rpmsg_lite_endpoint *ept, uint32_t dst,
                    const struct app_options *o, struct run *r)
{
    uint32_t i    = r->sent;
    uint32_t size = app_message_size(i);
    int32_t st;
    if (o->zero_copy)
    {
        uint32_t cap = 0;
        void *tx     = rpmsg_lite_alloc_tx_buffer(dev, &cap, o->timeout_ms);
        if (tx != NULL)
        {
            r->tx_capacity_min = cap < r->tx_capacity_min ? cap : r->tx_capacity_min;
            r->tx_capacity_max = cap > r->tx_capacity_max ? cap : r->tx_capacity_max;
        }
        if (tx == NULL || cap < size)
        {
            /* A buffer that claims less than the message needs: do not write past it. */
            fprintf(stderr, "rl-master: message %u: tx buffer %s (capacity %u, need %u)\n", i,
                    tx == NULL ? "not available" : "too small", cap, size);
            r->send_errors++;
            r->last_error = RL_ERR_NO_MEM;
            return -1;
        }
        app_fill(tx, o->seed, i, size);
        st = rpmsg_lite_send_nocopy(dev, ept, dst, tx, size);
    }
    else
    {
        static uint8_t buf[RL_BUFFER_PAYLOAD_SIZE];
        app_fill(buf, o->seed, i, size);
        st = rpmsg_lite_send(dev, ept, dst, (char *)buf, size, o->timeout_ms);
    }
    if (st != RL_SUCCESS)
    {
        fprintf(stderr, "rl-master: message %u (%u bytes) to %u failed: %d\n", i, size, dst, st);
        r->send_errors++;
        r->last_error = st;
        return -1;
    }
    r->sent++;
    return 0;
}

static void check_one(struct rpmsg_lite_instance *dev, uint32_t dst, const struct app_options *o, struct run *r)
{
    struct rx_slot *s = &rx.slots[rx.head];
    const uint8_t *data = s->held != NULL ? s->held : s->copy;
    int32_t at          = app_check(data, s->len, o->seed, r->echoed);
    if (at >= 0 || s->src != dst)
    {
        if (r->bad < 5U)
        {
            fprintf(stderr, "rl-master: echo %u: %u bytes from %u, expected %u bytes from %u; first difference at %d\n",
                    r->echoed, s->len, s->src, app_message_size(r->echoed), dst, at);
        }
        r->bad++;
    }
    r->bytes += s->len;
    r->echoed++;
    if (s->held != NULL)
    {
        (void)rpmsg_lite_release_rx_buffer(dev, s->held);
    }
    rx.head = (rx.head + 1U) % RX_SLOTS;
    rx.used--;
}

static int wait_for(int (*cond)(void), uint64_t deadline)
{
    while (!cond())
    {
        uint64_t now = amp_port_now_ms();
        if (now >= deadline)
        {
            return 0;
        }
        if (amp_port_wait((uint32_t)(deadline - now)) < 0 && !cond())
        {
            return 0; /* the peer closed the doorbell */
        }
    }
    return 1;
}

static int service_known(void)
{
    return rx.service_addr != RL_ADDR_ANY;
}

static int service_destroyed(void)
{
    return rx.ns_destroy > 0U;
}

int main(int argc, char **argv)
{
    struct app_options o;
    app_parse(argc, argv, "master", &o);
    app_arm_timeout(o.timeout_ms, "master");
    amp_port_open(&o.port);
    uint64_t deadline = amp_port_now_ms() + o.timeout_ms;
    rx.zero_copy      = o.zero_copy;
    rx.service        = o.name;

#if defined(RL_USE_STATIC_API) && (RL_USE_STATIC_API == 1)
    struct rpmsg_lite_instance *dev =
        rpmsg_lite_master_init(amp_port_shm(), amp_port_shm_length(), o.link_id, RL_NO_FLAGS, &instance_ctx);
    struct rpmsg_lite_endpoint *ept = dev == NULL ? NULL : rpmsg_lite_create_ept(dev, o.ept_addr, on_message, NULL, &ept_ctx);
    rpmsg_ns_handle ns              = dev == NULL ? NULL : rpmsg_ns_bind(dev, on_name_service, NULL, &ns_ctx);
#else
    struct rpmsg_lite_instance *dev = rpmsg_lite_master_init(amp_port_shm(), amp_port_shm_length(), o.link_id, RL_NO_FLAGS);
    struct rpmsg_lite_endpoint *ept = dev == NULL ? NULL : rpmsg_lite_create_ept(dev, o.ept_addr, on_message, NULL);
    rpmsg_ns_handle ns              = dev == NULL ? NULL : rpmsg_ns_bind(dev, on_name_service, NULL);
#endif
    if (dev == NULL || ept == NULL || ns == NULL)
    {
        fprintf(stderr, "rl-master: init failed (link id %u, %zu bytes of shared memory)\n", o.link_id,
                amp_port_shm_length());
        return 2;
    }
    int32_t announced = o.announce != NULL ? rpmsg_ns_announce(dev, ept, o.announce, (uint32_t)RL_NS_CREATE) : RL_SUCCESS;

    uint32_t dst = o.dst;
    if (dst == RL_ADDR_ANY)
    {
        if (!wait_for(service_known, deadline))
        {
            fprintf(stderr, "rl-master: no NS CREATE for '%s'\n", o.name);
            return 1;
        }
        dst = rx.service_addr;
    }

    struct run r = {.tx_capacity_min = UINT32_MAX};
    while (r.echoed < o.count && amp_port_now_ms() < deadline)
    {
        if (r.sent < o.count && r.sent - r.echoed < o.window)
        {
            if (send_one(dev, ept, dst, &o, &r) != 0)
            {
                break;
            }
            continue;
        }
        if (rx.used > 0U)
        {
            check_one(dev, dst, &o, &r);
            continue;
        }
        uint64_t now = amp_port_now_ms();
        if (amp_port_wait((uint32_t)(deadline > now ? deadline - now : 0U)) < 0)
        {
            break;
        }
    }
    while (rx.used > 0U)
    {
        check_one(dev, dst, &o, &r); /* anything beyond the count is counted as bad */
    }
    int destroyed = o.expect_ns_destroy ? wait_for(service_destroyed, deadline) : 0;
    int32_t unannounced =
        o.announce != NULL ? rpmsg_ns_announce(dev, ept, o.announce, (uint32_t)RL_NS_DESTROY) : RL_SUCCESS;

    int ok = r.echoed == o.count && r.bad == 0U && r.send_errors == 0U && rx.overflow == 0U &&
             (!o.expect_ns_destroy || destroyed) && announced == RL_SUCCESS && unannounced == RL_SUCCESS;
    const struct amp_port_counters *c = amp_port_counters();
    printf("RESULT role=master ok=%d link_id=%u ept=%u dst=%u sent=%u echoed=%u bad=%u bytes=%llu send_errors=%u"
           " last_error=%d overflow=%u ns_create=%u ns_destroy=%u ns_other=%u announce=%d tx_capacity_min=%u"
           " tx_capacity_max=%u rings_sent=%llu rings_received=%llu rings_unknown=%llu isr_calls=%llu allocations=%llu",
           ok, o.link_id, ept->addr, dst, r.sent, r.echoed, r.bad, (unsigned long long)r.bytes, r.send_errors,
           r.last_error, rx.overflow, rx.ns_create, rx.ns_destroy, rx.ns_other,
           o.announce != NULL ? (announced == RL_SUCCESS && unannounced == RL_SUCCESS) : -1,
           r.tx_capacity_min == UINT32_MAX ? 0U : r.tx_capacity_min, r.tx_capacity_max,
           (unsigned long long)c->rings_sent, (unsigned long long)c->rings_received,
           (unsigned long long)c->rings_unknown, (unsigned long long)c->isr_calls,
           (unsigned long long)c->allocations);
    app_print_config();
    printf("\n");
    fflush(stdout);

    (void)rpmsg_ns_unbind(dev, ns);
    (void)rpmsg_lite_destroy_ept(dev, ept);
    (void)rpmsg_lite_deinit(dev);
    amp_port_close();
    return ok ? 0 : 1;
}
