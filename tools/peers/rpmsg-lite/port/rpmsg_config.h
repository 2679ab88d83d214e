/*
 * rpmsg-lite configuration of the @amp Linux-userspace port. rpmsg-lite includes this file from
 * rpmsg_default_config.h before its own defaults. The wire-relevant options (RL_BUFFER_COUNT,
 * RL_BUFFER_PAYLOAD_SIZE, RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION, RL_USE_STATIC_API) come from -D
 * flags of scripts/peers/build-rpmsg-lite.sh, one build per variant; what is left to rpmsg-lite's
 * defaults is the default.
 */
#ifndef RPMSG_CONFIG_H_
#define RPMSG_CONFIG_H_

/* rpmsg-lite's own RL_ASSERT spins forever; a test peer must stop loudly instead. */
void amp_port_assert_failed(const char *what, const char *file, int line) __attribute__((noreturn));
#define RL_ASSERT(x)                                          \
    do                                                        \
    {                                                         \
        if (!(x))                                             \
        {                                                     \
            amp_port_assert_failed(#x, __FILE__, __LINE__);   \
        }                                                     \
    } while (0)

#endif /* RPMSG_CONFIG_H_ */
