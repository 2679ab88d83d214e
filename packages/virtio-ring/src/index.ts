// Public API of @amp/virtio-ring, listed by name.

// Errors
/** Error class with a stable `code` (shape shared by every @amp package) and its guard. */
export { AmpError, isAmpError } from "./errors.js";
/** Codes this package throws. */
export type { VirtioErrorCode } from "./errors.js";
export type { AmpErrorOptions } from "./amp-error.js";
/** Helpers the layers above share for messages and layouts (one definition, here). */
export { hex, alignUp, concatBytes } from "./amp-error.js";

// Memory and device addresses
/** Bytes at device addresses: interface, ArrayBuffer and SharedArrayBuffer implementations, sub-views. */
export { ArrayBufferMemory, SharedMemory, subMemory } from "./memory.js";
export type { Memory } from "./memory.js";
/** Device address (`da`) to memory translation, bounds-checked; checked u64 -> number. */
export { AddressSpace, toSafeNumber } from "./address-space.js";
export type { AddressRange, AddressSpaceLike, MapOptions } from "./address-space.js";

// Doorbells
/** "Queue N has work": callback, in-process, Atomics (SharedArrayBuffer) and polled-memory doorbells. */
export {
  CallbackDoorbell,
  LocalDoorbell,
  AtomicsDoorbell,
  PollingDoorbell,
  DEFAULT_DOORBELL_QUEUES,
} from "./doorbell.js";
export type {
  Doorbell,
  DoorbellReceiver,
  WaitOptions,
  Scheduler,
  AbortSignalLike,
  AtomicsDoorbellOptions,
} from "./doorbell.js";

// Constants (Linux names; feature constants are bit numbers)
/** Descriptor, ring, event-suppression flags; status bits; feature bit numbers; helpers. */
export {
  VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE,
  VRING_DESC_F_INDIRECT,
  VRING_PACKED_DESC_F_AVAIL,
  VRING_PACKED_DESC_F_USED,
  VRING_AVAIL_F_NO_INTERRUPT,
  VRING_USED_F_NO_NOTIFY,
  VRING_PACKED_EVENT_FLAG_ENABLE,
  VRING_PACKED_EVENT_FLAG_DISABLE,
  VRING_PACKED_EVENT_FLAG_DESC,
  VRING_PACKED_EVENT_F_WRAP_CTR,
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_F_NOTIFY_ON_EMPTY,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_RING_F_INDIRECT_DESC,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_F_VERSION_1,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_RING_PACKED,
  VIRTIO_F_IN_ORDER,
  VIRTIO_F_ORDER_PLATFORM,
  VIRTIO_F_NOTIFICATION_DATA,
  VIRTIO_F_RING_RESET,
  VIRTQUEUE_MAX_SIZE,
  featureBit,
  hasFeature,
} from "./constants.js";

// Split ring layout (equal to <linux/virtio_ring.h>)
/** vring_size, legacy contiguous offsets, area sizes, vring_need_event. */
export {
  vringSize,
  splitRingLayout,
  splitRingAreaSizes,
  vringNeedEvent,
  VRING_DESC_SIZE,
  VRING_USED_ELEM_SIZE,
} from "./split-layout.js";
export type { SplitRingLayout } from "./split-layout.js";

// Virtqueues
/** The role interfaces both ring formats implement, and the chain the device walks. */
export { DescriptorChain } from "./virtqueue.js";
export type {
  VirtqueueDriver,
  VirtqueueDevice,
  VirtqueueOptions,
  DriverQueueOptions,
  BufferSegment,
  UsedBuffer,
  DescriptorChainLike,
} from "./virtqueue.js";
/** Split virtqueue, driver and device roles; legacy contiguous addresses. */
export { SplitVirtqueueDriver, SplitVirtqueueDevice, legacyQueueAddresses } from "./split-queue.js";
export type { DeviceQueueOptions } from "./split-queue.js";

// Transport and handshake
/** Status, features, config space and queues of a device; an in-memory implementation. */
export { InMemoryTransport } from "./transport.js";
export type { VirtioTransport, QueueConfig, InMemoryTransportOptions } from "./transport.js";
/** Status/feature handshake, driver and device roles, legacy and modern. */
export {
  driverNegotiate,
  driverReady,
  driverFail,
  deviceAcceptedFeatures,
  deviceNeedsReset,
  deviceWaitDriverOk,
  isDriverOk,
  describeStatus,
} from "./handshake.js";
export type { DriverNegotiateOptions } from "./handshake.js";

// Packed ring and factories
/** Packed virtqueue (VIRTIO_F_RING_PACKED), both roles, and a contiguous layout helper. */
export { PackedVirtqueueDriver, PackedVirtqueueDevice, packedRingLayout } from "./packed-queue.js";
export type { PackedRingLayout } from "./packed-queue.js";
/** Pick split or packed from the negotiated features. */
export { createDriverQueue, createDeviceQueue, queueAddressesFromConfig } from "./create-queue.js";

// Async helpers
/** Await the next used buffer / available chain on a doorbell, with AbortSignal and timeout. */
export { nextUsed, nextAvail } from "./async.js";
