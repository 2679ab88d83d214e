/*
 * The contract between the rpmsg-lite echo firmware in this folder and the @amp host
 * (packages/node/test/qemu/rpmsg-lite.test.ts): where the shared memory of the rpmsg-only link
 * is, which link id it uses, and the echo service. The memory map, control block and doorbell
 * bytes are the project's QEMU ABI (../qemu/amp-qemu.h). Each value can be overridden with -D
 * (scripts/peers/build-rpmsg-lite-cm4.sh NAME=VALUE).
 */
#ifndef AMP_RPMSG_LITE_H
#define AMP_RPMSG_LITE_H

/* Shared memory of the link: vring 0, vring 1 (VRING_SIZE apart), then 2 * RL_BUFFER_COUNT
 * buffers, the host's rx half first. Inside the file-backed RAM, after the image's first MiB. */
#ifndef AMPRL_SHMEM_DA
#define AMPRL_SHMEM_DA 0x21100000u
#endif

/* rpmsg-lite link id: the doorbell carries (link id << 1) | queue. */
#ifndef AMPRL_LINK_ID
#define AMPRL_LINK_ID 0u
#endif

/* 1: echo through rpmsg_lite_alloc_tx_buffer + rpmsg_lite_send_nocopy; 0: rpmsg_lite_send. */
#ifndef AMPRL_ZERO_COPY_TX
#define AMPRL_ZERO_COPY_TX 0
#endif

/* The echo endpoint, announced through the name service. */
#define AMPRL_ECHO_ADDR 30u
#define AMPRL_ECHO_NAME "rpmsg-lite-echo"

#endif
