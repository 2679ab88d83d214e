// rpmsg constants, named after Linux (drivers/rpmsg/virtio_rpmsg_bus.c, include/linux/rpmsg/ns.h,
// <linux/rpmsg.h>) and OpenAMP. Values: docs/wire-formats.md, "Status and features", "rpmsg".

/** `RPMSG_ADDR_ANY`: "no address yet"; never valid as a source or destination on the wire. */
export const RPMSG_ADDR_ANY = 0xffffffff;
/** `RPMSG_NS_ADDR`: the name-service endpoint, 53 on both sides. */
export const RPMSG_NS_ADDR = 53;
/** `RPMSG_RESERVED_ADDRESSES`: addresses below this are for predefined services; dynamic ones start here. */
export const RPMSG_RESERVED_ADDRESSES = 1024;
/** `RPMSG_NAME_SIZE`: bytes of the NUL-padded name field (so at most 31 significant bytes). */
export const RPMSG_NAME_SIZE = 32;
/** Size of `struct rpmsg_hdr` (src, dst, reserved, len, flags). */
export const RPMSG_HDR_SIZE = 16;
/** Size of `struct rpmsg_ns_msg` (name[32], addr, flags); Linux drops any other length. */
export const RPMSG_NS_MSG_SIZE = 40;
/** `MAX_RPMSG_BUF_SIZE`: the buffer size Linux and OpenAMP use (so the payload MTU is 496). */
export const RPMSG_BUF_SIZE = 512;
/** Default number of buffers per direction (Linux caps each half of the pool at 256). */
export const RPMSG_DEFAULT_NUM_BUFS = 256;
/** Largest buffer the 16-bit `len` header field can describe: 16 + 65535. */
export const RPMSG_MAX_BUF_SIZE = 65551; // 16 + 0xffff

/** Name-service message flags (`enum rpmsg_ns_flags`); receivers test `flags & 1`. */
export const RpmsgNsFlags = {
  /** `RPMSG_NS_CREATE`: a service appeared. */
  CREATE: 0,
  /** `RPMSG_NS_DESTROY`: a service went away. */
  DESTROY: 1,
} as const;

/** `VIRTIO_ID_RPMSG`: the virtio device id of an rpmsg vdev. */
export const VIRTIO_ID_RPMSG = 7;
/** `VIRTIO_RPMSG_F_NS` (bit number): the device supports name-service announcements. */
export const VIRTIO_RPMSG_F_NS = 0;
/**
 * Bit number of the @amp-only "big buffers" feature, in the device-specific range (0..23).
 * Linux and OpenAMP never offer or accept it, so they always keep 512-byte buffers. When both
 * @amp peers negotiate it, the device publishes the largest buffer it accepts as a u32 at
 * config-space offset {@link RPMSG_CONFIG_MAX_BUF_SIZE_OFFSET}.
 */
export const VIRTIO_RPMSG_F_AMP_BUFSZ = 23;
/** Config-space offset of the device's largest accepted buffer size (with {@link VIRTIO_RPMSG_F_AMP_BUFSZ}). */
export const RPMSG_CONFIG_MAX_BUF_SIZE_OFFSET = 0;

/** Vring index the host receives on (and the remote sends on): "input" in Linux. */
export const RPMSG_VRING_HOST_RX = 0;
/** Vring index the host sends on (and the remote receives on): "output" in Linux. */
export const RPMSG_VRING_HOST_TX = 1;
