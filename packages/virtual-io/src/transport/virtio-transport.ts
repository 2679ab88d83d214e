// Bring-up of a virtual-I/O device on a @amp/virtio-ring VirtioTransport (a resource-table vdev,
// a fixed shared layout, or an in-memory transport): the status/feature handshake, the queues
// from the transport's queue configuration, and the config space. The driver side returns a
// VirtqueueChannel, the device side a VirtqueueDeviceRunner; both are then driven by process().
import {
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  deviceWaitDriverOk,
  driverFail,
  driverNegotiate,
  driverReady,
  featureBit,
} from "@amp/virtio-ring";
import type { AddressSpaceLike, Doorbell, QueueConfig, Scheduler, VirtioTransport } from "@amp/virtio-ring";
import type { DeviceServer } from "../channel.js";
import { vioError } from "../errors.js";
import { VIRTIO_ID_CONSOLE, VIRTIO_ID_RPROC_SERIAL } from "../wire/console.js";
import { VIRTIO_GPIO_F_IRQ, VIRTIO_ID_GPIO } from "../wire/gpio.js";
import { VIRTIO_I2C_F_ZERO_LENGTH_REQUEST, VIRTIO_ID_I2C_ADAPTER } from "../wire/i2c.js";
import { VIRTIO_ID_SPI } from "../wire/spi.js";
import type { ChannelOptions } from "./direct.js";
import { VirtqueueChannel, VirtqueueDeviceRunner } from "./virtqueue.js";

// Features the driver-side clients of this package understand, per device type.
function driverFeatures(deviceId: number): bigint {
  if (deviceId === VIRTIO_ID_I2C_ADAPTER) return featureBit(VIRTIO_I2C_F_ZERO_LENGTH_REQUEST);
  if (deviceId === VIRTIO_ID_GPIO) return featureBit(VIRTIO_GPIO_F_IRQ);
  return 0n;
}

// Queues in use once `features` are negotiated (console: port 0 only, no MULTIPORT).
function queuesInUse(deviceId: number, features: bigint): number {
  if (deviceId === VIRTIO_ID_GPIO) return (features & featureBit(VIRTIO_GPIO_F_IRQ)) !== 0n ? 2 : 1;
  if (deviceId === VIRTIO_ID_CONSOLE || deviceId === VIRTIO_ID_RPROC_SERIAL) return 2;
  if (deviceId === VIRTIO_ID_I2C_ADAPTER || deviceId === VIRTIO_ID_SPI) return 1;
  throw vioError("ERR_UNSUPPORTED", `virtio device ID ${deviceId} is not a virtual-I/O device`);
}

/** Where a queue's three areas are (device addresses). */
export interface QueuePlacement {
  readonly descAddr: number;
  readonly driverAddr: number;
  readonly deviceAddr: number;
}

/** Options of {@link openVirtioDriver}. */
export interface VirtioDriverOptions extends ChannelOptions {
  /** Translates device addresses: the queues and the buffer region must be mapped. */
  readonly space: AddressSpaceLike;
  /** Device address and size of the region for request buffers. */
  readonly bufferAddr: number;
  readonly bufferSize: number;
  /**
   * Where to place each queue when the driver chooses (modern transports); omitted, the
   * addresses already in the transport's queue configuration are used (remoteproc vdevs).
   */
  readonly queues?: readonly QueuePlacement[];
}

/**
 * Driver side: negotiates features, sets up the queues, reads the config space, sets DRIVER_OK
 * and returns a channel for I2cClient / GpioClient / SpiClient / openConsoleUart. Kicks go
 * through `transport.notify`. Call `channel.process()` when the device interrupts.
 * @throws AmpError ERR_UNSUPPORTED for a device type this package does not drive, or a
 *   virtio-i2c device without ZERO_LENGTH_REQUEST (status FAILED is set); ERR_FEATURES /
 *   ERR_STATUS from the handshake.
 */
export function openVirtioDriver(transport: VirtioTransport, options: VirtioDriverOptions): VirtqueueChannel {
  const features = driverNegotiate(transport, { features: driverFeatures(transport.deviceId) });
  if (
    transport.deviceId === VIRTIO_ID_I2C_ADAPTER &&
    (features & featureBit(VIRTIO_I2C_F_ZERO_LENGTH_REQUEST)) === 0n
  ) {
    driverFail(transport);
    throw vioError("ERR_UNSUPPORTED", "virtio-i2c device does not offer VIRTIO_I2C_F_ZERO_LENGTH_REQUEST");
  }
  const n = queuesInUse(transport.deviceId, features);
  if (n > transport.queueCount) {
    driverFail(transport);
    throw vioError("ERR_UNSUPPORTED", `device has ${transport.queueCount} queues, ${n} needed`);
  }
  const queues = Array.from({ length: n }, (_, i) => {
    const placed = options.queues?.[i];
    if (placed !== undefined) transport.setQueue(i, { ...placed, ready: true });
    const q: QueueConfig = transport.getQueue(i);
    const kick: Doorbell = {
      notify: () => {
        transport.notify(i);
      },
    };
    return new SplitVirtqueueDriver<number>({
      size: q.size,
      space: options.space,
      descAddr: q.descAddr,
      driverAddr: q.driverAddr,
      deviceAddr: q.deviceAddr,
      features,
      doorbell: kick,
      notifyId: q.notifyId,
    });
  });
  const config = transport.configLength > 0 ? transport.readConfig(0, transport.configLength) : new Uint8Array(0);
  const channel = new VirtqueueChannel({ ...options, queues, features, config });
  driverReady(transport);
  return channel;
}

/** Options of {@link serveVirtioDevice}. */
export interface VirtioDeviceOptions {
  /** Translates device addresses (queues and every buffer the driver offers). */
  readonly space: AddressSpaceLike;
  /** Rings the driver when buffers were used (the device → driver interrupt). */
  readonly doorbell: Doorbell;
  /** Timers to poll the status with while waiting for DRIVER_OK. */
  readonly scheduler: Scheduler;
  /** Give up waiting for DRIVER_OK after this many ms (ERR_TIMEOUT from @amp/virtio-ring). */
  readonly timeoutMs?: number;
  /** Called with ring violations by the driver. */
  readonly onError?: (error: unknown, queue: number) => void;
}

/**
 * Device side: offers the server's features and config, waits for DRIVER_OK, builds the queues
 * from the transport (never re-initialising them: the driver owns that), and returns a runner.
 * Call `runner.process()` when the driver kicks.
 * @throws AmpError ERR_FEATURES / ERR_STATUS / ERR_TIMEOUT from the handshake.
 */
export async function serveVirtioDevice(
  transport: VirtioTransport,
  server: DeviceServer,
  options: VirtioDeviceOptions,
): Promise<VirtqueueDeviceRunner> {
  if (transport.deviceId !== server.deviceId)
    throw new TypeError(`transport is device ${transport.deviceId}, server is ${server.deviceId}`);
  transport.setDeviceFeatures(server.features);
  const cfg = server.config;
  if (cfg.length > 0 && transport.configLength >= cfg.length) transport.writeConfig(0, cfg);
  const features = await deviceWaitDriverOk(transport, {
    scheduler: options.scheduler,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const n = Math.min(queuesInUse(transport.deviceId, features), server.numQueues);
  const queues = Array.from({ length: n }, (_, i) => {
    const q = transport.getQueue(i);
    return new SplitVirtqueueDevice({
      size: q.size,
      space: options.space,
      descAddr: q.descAddr,
      driverAddr: q.driverAddr,
      deviceAddr: q.deviceAddr,
      features,
      doorbell: options.doorbell,
      notifyId: q.notifyId,
    });
  });
  return new VirtqueueDeviceRunner(server, {
    queues,
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
}
