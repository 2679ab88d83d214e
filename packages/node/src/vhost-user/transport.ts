// The VirtioTransport a vhost-user backend gives its device model (@amp/virtio-ring's
// interface, the one RpmsgRemote and the virtual-io servers are written against). vhost-user
// has no device status register, so the status is synthesised from what the frontend did:
// ACKNOWLEDGE|DRIVER|FEATURES_OK once it set the features, DRIVER_OK once the device is ready
// (its rings are enabled, and for rpmsg the first kick on vring 0 came: Linux 6.1's
// virtio_rpmsg_bus kicks right after virtio_device_ready), 0 again when it resets the device.
// The transport is modern: VIRTIO_F_VERSION_1 is the transport's to offer, not the device's.
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FEATURES_OK,
  type QueueConfig,
  type VirtioTransport,
} from "@amp/virtio-ring";

function checkRange(offset: number, length: number, size: number, what: string): void {
  if (
    !Number.isInteger(offset) ||
    !Number.isInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset > size ||
    length > size - offset
  ) {
    throw new RangeError(`${what} [${offset}, +${length}) outside config space of ${size} bytes`);
  }
}

const IDLE_QUEUE: Omit<QueueConfig, "maxSize" | "notifyId"> = {
  size: 0,
  descAddr: 0,
  driverAddr: 0,
  deviceAddr: 0,
  align: 0,
  ready: false,
};

/**
 * A device as a vhost-user frontend drives it. The device side (RpmsgRemote, a device runner)
 * reads the status, the accepted features, the config space and the queues; the backend
 * writes them as the frontend's messages arrive. Driver-side calls (`setQueue`, `notify`) are
 * the frontend's business and throw here.
 */
export class VhostUserTransport implements VirtioTransport {
  readonly deviceId: number;
  readonly legacy: boolean = false;
  readonly queueCount: number;
  private status = 0;
  private deviceFeatures = 0n;
  private driverFeatures = 0n;
  private readonly config: Uint8Array;
  private readonly queues: QueueConfig[];
  /** Called when the device side writes the status (e.g. NEEDS_RESET). */
  onDeviceStatus: ((status: number) => void) | undefined;
  /** Called after the frontend wrote config space (SET_CONFIG). */
  onConfigWrite: ((offset: number, bytes: Uint8Array) => void) | undefined;

  /** @internal created by VhostUserBackend */
  constructor(deviceId: number, maxSizes: readonly number[], config: Uint8Array) {
    this.deviceId = deviceId;
    this.queueCount = maxSizes.length;
    this.queues = maxSizes.map((maxSize, notifyId) => ({ ...IDLE_QUEUE, maxSize, notifyId }));
    this.config = new Uint8Array(config);
  }

  get configLength(): number {
    return this.config.length;
  }
  getStatus(): number {
    return this.status;
  }
  /** Device side: only the device's own bits (NEEDS_RESET) have a meaning here. */
  setStatus(status: number): void {
    if (!Number.isInteger(status) || status < 0 || status > 0xff)
      throw new RangeError(`status must be a byte, got ${status}`);
    this.status = status;
    this.onDeviceStatus?.(status);
  }
  getDeviceFeatures(): bigint {
    return this.deviceFeatures;
  }
  /** The device type's features; the backend adds VIRTIO_F_VERSION_1 itself when it offers them. */
  setDeviceFeatures(features: bigint): void {
    if (features < 0n || features >= 1n << 64n) throw new RangeError("device features must be a u64");
    this.deviceFeatures = features;
  }
  getDriverFeatures(): bigint {
    return this.driverFeatures;
  }
  setDriverFeatures(features: bigint): void {
    if (features < 0n || features >= 1n << 64n) throw new RangeError("driver features must be a u64");
    this.driverFeatures = features;
  }
  readConfig(offset: number, length: number): Uint8Array {
    checkRange(offset, length, this.config.length, "config read");
    return this.config.slice(offset, offset + length);
  }
  writeConfig(offset: number, bytes: Uint8Array): void {
    checkRange(offset, bytes.length, this.config.length, "config write");
    this.config.set(bytes, offset);
  }
  getQueue(index: number): QueueConfig {
    const q = this.queues[index];
    if (!Number.isInteger(index) || q === undefined)
      throw new RangeError(`queue index ${index} out of 0..${this.queueCount - 1}`);
    return q;
  }
  setQueue(): void {
    throw new TypeError("vhost-user: the frontend sets the queues up, not the device");
  }
  notify(): void {
    throw new TypeError(
      "vhost-user: kicks come from the frontend; the device interrupts through the backend's doorbell",
    );
  }

  // --- backend side -------------------------------------------------------------------------

  /** @internal the frontend set its features: the driver is past FEATURES_OK. */
  featuresSet(features: bigint): void {
    this.driverFeatures = features;
    this.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
  }
  /** @internal the device is ready: queues as the frontend placed them, DRIVER_OK. */
  ready(queues: readonly (Omit<QueueConfig, "maxSize" | "notifyId" | "align"> | undefined)[]): void {
    queues.forEach((q, i) => {
      const cur = this.queues[i];
      if (cur !== undefined) this.queues[i] = q === undefined ? { ...cur, ...IDLE_QUEUE } : { ...cur, ...q, align: 0 };
    });
    this.status |= VIRTIO_CONFIG_S_DRIVER_OK;
  }
  /** @internal the frontend reset the device (ring stopped, hung up): status 0, queues idle. */
  reset(): void {
    this.status = 0;
    this.driverFeatures = 0n;
    this.queues.forEach((q, i) => (this.queues[i] = { ...q, ...IDLE_QUEUE }));
  }
  /** @internal SET_CONFIG: bytes outside the config space are dropped. */
  frontendWriteConfig(offset: number, bytes: Uint8Array): void {
    if (offset >= this.config.length) return;
    const n = Math.min(bytes.length, this.config.length - offset);
    this.config.set(bytes.subarray(0, n), offset);
    this.onConfigWrite?.(offset, bytes.subarray(0, n));
  }
}
