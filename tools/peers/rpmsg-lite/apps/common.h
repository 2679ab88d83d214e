/*
 * Command line and message pattern shared by the rpmsg-lite test applications (rl-master,
 * rl-remote). The pattern is the one the @amp tests use (packages/node/test/peers): message i has
 * size (i % RL_BUFFER_PAYLOAD_SIZE) + 1 and byte j = seed + 131 i + 29 j (mod 256).
 */
#ifndef AMP_RL_COMMON_H_
#define AMP_RL_COMMON_H_

#include <stdint.h>

#include "amp_port.h"

struct app_options
{
    struct amp_port_options port;
    uint32_t link_id;
    uint32_t ept_addr;   /* RL_ADDR_ANY: rpmsg-lite picks the lowest free address (from 1) */
    const char *name;    /* remote: the name it announces; master: the service it waits for */
    uint32_t count;      /* messages to send (master) or echo (remote); 0 on the remote: until EOF */
    int zero_copy;       /* rpmsg_lite_alloc_tx_buffer/send_nocopy, and held rx buffers */
    uint32_t timeout_ms; /* hard limit of the whole run (SIGALRM) */
    uint32_t seed;
    /* remote */
    int no_ns;
    int ns_destroy;
    int check; /* check that message i is the pattern (the sender uses it too) */
    int sink;  /* receive only: no echoes */
    /* master */
    uint32_t window;
    uint32_t dst;        /* RL_ADDR_ANY: learn it from the NS announcement of `name` */
    int expect_ns_destroy;
    const char *announce; /* master: announce its own endpoint under this name (and destroy at the end) */
};

/* Parses argv; prints usage and exits with 2 on an error. `role` is "master" or "remote". */
void app_parse(int argc, char **argv, const char *role, struct app_options *out);

/* Exits with 124 3 s after `ms` (a hang guard; the apps stop at `ms` themselves; the Node side has its own). */
void app_arm_timeout(uint32_t ms, const char *role);

uint32_t app_message_size(uint32_t i);
uint8_t app_message_byte(uint32_t seed, uint32_t i, uint32_t j);
void app_fill(uint8_t *out, uint32_t seed, uint32_t i, uint32_t size);
/* Returns the index of the first wrong byte, or -1 when `data` is message i. */
int32_t app_check(const uint8_t *data, uint32_t len, uint32_t seed, uint32_t i);

/* The compile-time configuration, printed with each RESULT line. */
void app_print_config(void);

#endif /* AMP_RL_COMMON_H_ */
