// Numbers from <linux/virtio_ring.h>, <linux/virtio_config.h> and the virtio spec, under the
// Linux names. Feature constants are BIT NUMBERS as in Linux (OpenAMP defines masks instead:
// docs/wire-formats.md, "Status and features"); use featureBit() to get the mask.

/** struct vring_desc.flags: the chain continues at `next`. */
export const VRING_DESC_F_NEXT = 1;
/** struct vring_desc.flags: the buffer is device-writable. */
export const VRING_DESC_F_WRITE = 2;
/** struct vring_desc.flags: the buffer is a table of descriptors. */
export const VRING_DESC_F_INDIRECT = 4;
/** Packed descriptor flag bit: available (shift count 7 in Linux, mask 0x80 here). */
export const VRING_PACKED_DESC_F_AVAIL = 0x80;
/** Packed descriptor flag bit: used (shift count 15 in Linux, mask 0x8000 here). */
export const VRING_PACKED_DESC_F_USED = 0x8000;
/** avail.flags: the driver asks not to be interrupted (a hint; ignored with EVENT_IDX). */
export const VRING_AVAIL_F_NO_INTERRUPT = 1;
/** used.flags: the device asks not to be notified (a hint; ignored with EVENT_IDX). */
export const VRING_USED_F_NO_NOTIFY = 1;
/** struct vring_packed_desc_event.flags: notify on every buffer. */
export const VRING_PACKED_EVENT_FLAG_ENABLE = 0;
/** struct vring_packed_desc_event.flags: do not notify. */
export const VRING_PACKED_EVENT_FLAG_DISABLE = 1;
/** struct vring_packed_desc_event.flags: notify at the descriptor in off_wrap (needs EVENT_IDX). */
export const VRING_PACKED_EVENT_FLAG_DESC = 2;
/** Bit of vring_packed_desc_event.off_wrap that carries the wrap counter. */
export const VRING_PACKED_EVENT_F_WRAP_CTR = 15;

/** Device status (struct fw_rsc_vdev.status): the guest noticed the device. */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 0x01;
/** Device status: a driver for the device exists. */
export const VIRTIO_CONFIG_S_DRIVER = 0x02;
/** Device status: the driver is ready (the remote waits for this bit). */
export const VIRTIO_CONFIG_S_DRIVER_OK = 0x04;
/** Device status: features negotiated (modern only; Linux remoteproc never sets it). */
export const VIRTIO_CONFIG_S_FEATURES_OK = 0x08;
/** Device status: the device hit an error it cannot recover from without a reset. */
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
/** Device status: the driver gave up on the device. */
export const VIRTIO_CONFIG_S_FAILED = 0x80;

/** Feature bit 24 (legacy): notify when the avail ring runs empty. */
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24;
/** Feature bit 27 (legacy): any descriptor layout. */
export const VIRTIO_F_ANY_LAYOUT = 27;
/** Feature bit 28: indirect descriptors (negotiable over remoteproc). */
export const VIRTIO_RING_F_INDIRECT_DESC = 28;
/** Feature bit 29: used_event / avail_event notification suppression. */
export const VIRTIO_RING_F_EVENT_IDX = 29;
/** Feature bit 32: virtio 1.x (impossible over a 32-bit resource table). */
export const VIRTIO_F_VERSION_1 = 32;
/** Feature bit 33: the device sits behind an IOMMU / platform translation. */
export const VIRTIO_F_ACCESS_PLATFORM = 33;
/** Feature bit 34: packed virtqueues (cleared by Linux remoteproc). */
export const VIRTIO_F_RING_PACKED = 34;
/** Feature bit 35: buffers are used in the order they were made available. */
export const VIRTIO_F_IN_ORDER = 35;
/** Feature bit 36: platform memory ordering is required. */
export const VIRTIO_F_ORDER_PLATFORM = 36;
/** Feature bit 38: the driver passes extra data in notifications. */
export const VIRTIO_F_NOTIFICATION_DATA = 38;
/** Feature bit 40: single queues can be reset. */
export const VIRTIO_F_RING_RESET = 40;

/** Largest queue size the spec allows (split and packed). */
export const VIRTQUEUE_MAX_SIZE = 32768;

/** The mask of feature bit `bit` (0..63). @throws RangeError */
export function featureBit(bit: number): bigint {
  if (!Number.isInteger(bit) || bit < 0 || bit > 63) throw new RangeError(`feature bit ${bit} not in 0..63`);
  return 1n << BigInt(bit);
}

/** True when `features` has bit `bit`. */
export function hasFeature(features: bigint, bit: number): boolean {
  return (features & featureBit(bit)) !== 0n;
}
