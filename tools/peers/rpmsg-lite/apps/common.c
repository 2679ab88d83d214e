/* Command line, pattern and hang guard of the rpmsg-lite test applications (see common.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "rpmsg_lite.h"

static const char *timeout_role = "app";

static void usage(const char *role, const char *why)
{
    fprintf(stderr,
            "rl-%s: %s\n"
            "usage: rl-%s --shm FILE --doorbell fd:N|connect:PATH|listen:PATH [options]\n"
            "  --shm-size N --shm-offset N --da-base N   shared file: bytes, rpmsg-lite base, device address of offset 0\n"
            "  --link-id N --ept-addr N --name S --count N --zero-copy --seed N --timeout-ms N --verbose\n"
            "  remote: --no-ns --ns-destroy --check --sink\n"
            "  master: --window N --dst N --expect-ns-destroy --announce S\n",
            role, why, role);
    exit(2);
}

static uint64_t number(const char *role, const char *flag, const char *text)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 0);
    if (text[0] == '\0' || *end != '\0')
    {
        char why[128];
        snprintf(why, sizeof(why), "%s wants a number, got '%s'", flag, text);
        usage(role, why);
    }
    return (uint64_t)v;
}

void app_parse(int argc, char **argv, const char *role, struct app_options *o)
{
    memset(o, 0, sizeof(*o));
    o->ept_addr                = RL_ADDR_ANY;
    o->dst                     = RL_ADDR_ANY;
    o->name                    = "amp-echo";
    o->count                   = 992U;
    o->timeout_ms              = 60000U;
    o->window                  = 1U;
    o->port.connect_timeout_ms = 10000U;
    for (int i = 1; i < argc; i++)
    {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
#define FLAG(s) (strcmp(a, (s)) == 0)
#define VALUE() ((v != NULL) ? (i++, v) : (usage(role, "missing value"), ""))
        if (FLAG("--shm"))
            o->port.shm_path = VALUE();
        else if (FLAG("--shm-size"))
            o->port.shm_size = number(role, a, VALUE());
        else if (FLAG("--shm-offset"))
            o->port.shm_offset = number(role, a, VALUE());
        else if (FLAG("--da-base"))
            o->port.da_base = (uint32_t)number(role, a, VALUE());
        else if (FLAG("--doorbell"))
            o->port.doorbell = VALUE();
        else if (FLAG("--link-id"))
            o->link_id = (uint32_t)number(role, a, VALUE());
        else if (FLAG("--ept-addr"))
            o->ept_addr = (uint32_t)number(role, a, VALUE());
        else if (FLAG("--name"))
            o->name = VALUE();
        else if (FLAG("--count"))
            o->count = (uint32_t)number(role, a, VALUE());
        else if (FLAG("--zero-copy"))
            o->zero_copy = 1;
        else if (FLAG("--seed"))
            o->seed = (uint32_t)number(role, a, VALUE());
        else if (FLAG("--timeout-ms"))
            o->timeout_ms = (uint32_t)number(role, a, VALUE());
        else if (FLAG("--verbose"))
            o->port.verbose = 1;
        else if (FLAG("--no-ns"))
            o->no_ns = 1;
        else if (FLAG("--ns-destroy"))
            o->ns_destroy = 1;
        else if (FLAG("--check"))
            o->check = 1;
        else if (FLAG("--sink"))
            o->sink = 1;
        else if (FLAG("--window"))
            o->window = (uint32_t)number(role, a, VALUE());
        else if (FLAG("--dst"))
            o->dst = (uint32_t)number(role, a, VALUE());
        else if (FLAG("--expect-ns-destroy"))
            o->expect_ns_destroy = 1;
        else if (FLAG("--announce"))
            o->announce = VALUE();
        else
            usage(role, "unknown option");
#undef FLAG
#undef VALUE
    }
    if (o->port.shm_path == NULL || o->port.doorbell == NULL)
    {
        usage(role, "--shm and --doorbell are required");
    }
    if (o->window == 0U)
    {
        o->window = 1U;
    }
    o->port.connect_timeout_ms = o->timeout_ms;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "hard timeout\n";
    (void)!write(2, "rl-", 3);
    (void)!write(2, timeout_role, strlen(timeout_role));
    (void)!write(2, ": ", 2);
    (void)!write(2, msg, sizeof(msg) - 1U);
    _exit(124);
}

void app_arm_timeout(uint32_t ms, const char *role)
{
    timeout_role = role;
    signal(SIGALRM, on_alarm);
    /* 3 s after the app's own deadline, so that a run that times out still prints its RESULT. */
    alarm((ms + 999U) / 1000U + 3U);
}

uint32_t app_message_size(uint32_t i)
{
    return (i % (uint32_t)RL_BUFFER_PAYLOAD_SIZE) + 1U;
}

uint8_t app_message_byte(uint32_t seed, uint32_t i, uint32_t j)
{
    return (uint8_t)(seed + 131U * i + 29U * j);
}

void app_fill(uint8_t *out, uint32_t seed, uint32_t i, uint32_t size)
{
    for (uint32_t j = 0; j < size; j++)
    {
        out[j] = app_message_byte(seed, i, j);
    }
}

int32_t app_check(const uint8_t *data, uint32_t len, uint32_t seed, uint32_t i)
{
    if (len != app_message_size(i))
    {
        return 0;
    }
    for (uint32_t j = 0; j < len; j++)
    {
        if (data[j] != app_message_byte(seed, i, j))
        {
            return (int32_t)j;
        }
    }
    return -1;
}

void app_print_config(void)
{
    printf(" rl_version=%s buffer_count=%u payload=%u vring_align=0x%x vring_size=0x%lx consumed_notify=%d static_api=%d",
           RL_VERSION, (unsigned)RL_BUFFER_COUNT, (unsigned)RL_BUFFER_PAYLOAD_SIZE, (unsigned)VRING_ALIGN,
           (unsigned long)VRING_SIZE, (int)RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION, (int)RL_USE_STATIC_API);
}
