// Factories that pick the ring format from the negotiated features, so upper layers (rpmsg,
// virtual-io) drive either format through the role interfaces.
import { VIRTIO_F_RING_PACKED, hasFeature } from "./constants.js";
import { PackedVirtqueueDevice, PackedVirtqueueDriver } from "./packed-queue.js";
import { SplitVirtqueueDevice, SplitVirtqueueDriver, legacyQueueAddresses } from "./split-queue.js";
import type { QueueConfig } from "./transport.js";
import type { DeviceQueueOptions } from "./split-queue.js";
import type { DriverQueueOptions, VirtqueueDevice, VirtqueueDriver } from "./virtqueue.js";

/**
 * A driver-role queue: packed when `features` has VIRTIO_F_RING_PACKED, else split.
 * @throws as the constructors of {@link SplitVirtqueueDriver} / {@link PackedVirtqueueDriver}.
 */
export function createDriverQueue<T>(options: DriverQueueOptions): VirtqueueDriver<T> {
  return hasFeature(options.features ?? 0n, VIRTIO_F_RING_PACKED)
    ? new PackedVirtqueueDriver<T>(options)
    : new SplitVirtqueueDriver<T>(options);
}

/**
 * A device-role queue: packed when `features` has VIRTIO_F_RING_PACKED, else split.
 * @throws as the constructors of {@link SplitVirtqueueDevice} / {@link PackedVirtqueueDevice}.
 */
export function createDeviceQueue(options: DeviceQueueOptions): VirtqueueDevice {
  return hasFeature(options.features ?? 0n, VIRTIO_F_RING_PACKED)
    ? new PackedVirtqueueDevice(options)
    : new SplitVirtqueueDevice(options);
}

/**
 * Size and ring addresses of a transport's queue, for `VirtqueueOptions`: a legacy queue
 * (`align` != 0, e.g. a remoteproc vring) is the contiguous layout at `descAddr`; otherwise the
 * three addresses are taken as they are.
 * @throws RangeError for a legacy queue whose size or align is not a power of two.
 */
export function queueAddressesFromConfig(config: QueueConfig): {
  size: number;
  descAddr: number;
  driverAddr: number;
  deviceAddr: number;
} {
  if (config.align !== 0)
    return { size: config.size, ...legacyQueueAddresses(config.descAddr, config.size, config.align) };
  return { size: config.size, descAddr: config.descAddr, driverAddr: config.driverAddr, deviceAddr: config.deviceAddr };
}
