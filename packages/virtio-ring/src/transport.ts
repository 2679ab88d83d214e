// The virtio transport: where the status byte, the feature words, the config space and the
// queue addresses live. In a remoteproc resource-table vdev entry (remoteproc-core implements
// that: legacy, 32-bit features), in a fixed shared layout, or in memory (here, for tests and
// same-process pairs). docs/wire-formats.md, "Resource table", "Status and features"; behaviour-and-features.md §1.15.
import type { Doorbell } from "./doorbell.js";
import { featureBit } from "./constants.js";
import { VIRTIO_CONFIG_S_FEATURES_OK } from "./constants.js";
import { checkInt, checkRange } from "./internal/check.js";

/** One queue as the transport describes it; addresses are device addresses (`da`). */
export interface QueueConfig {
  /** Queue size in use (`num`). */
  readonly size: number;
  /** Largest size the device accepts (`QueueNumMax`; the vring `num` for remoteproc). */
  readonly maxSize: number;
  /** Descriptor table (split) / descriptor ring (packed); the vring `da` for remoteproc. */
  readonly descAddr: number;
  /** Available ring (split) / driver event suppression area (packed). */
  readonly driverAddr: number;
  /** Used ring (split) / device event suppression area (packed). */
  readonly deviceAddr: number;
  /** Legacy used-ring alignment (`align` of struct fw_rsc_vdev_vring); 0 when not legacy. */
  readonly align: number;
  /** The driver has set the queue up (always true for a legacy queue with an address). */
  readonly ready: boolean;
  /** Number the driver kicks and the device interrupts with (`notifyid` for remoteproc). */
  readonly notifyId: number;
}

/**
 * Status, features, config space and queues of one virtio device, as both roles see them. The
 * driver writes the status, its feature word and the queue setup; the device writes its feature
 * word and may add NEEDS_RESET to the status. Implementations must bounds-check config access.
 */
export interface VirtioTransport {
  /** Virtio device ID (7 = rpmsg, 34 = i2c, ...). */
  readonly deviceId: number;
  /**
   * Legacy interface: 32-bit feature words, no FEATURES_OK, final status 0x07 (Linux remoteproc
   * vdevs). A modern transport negotiates VIRTIO_F_VERSION_1 and FEATURES_OK.
   */
  readonly legacy: boolean;
  getStatus(): number;
  setStatus(status: number): void;
  /** Features the device offers (`dfeatures`). */
  getDeviceFeatures(): bigint;
  setDeviceFeatures(features: bigint): void;
  /** Features the driver accepted (`gfeatures`). */
  getDriverFeatures(): bigint;
  /** @throws RangeError when a legacy transport gets bits above 31. */
  setDriverFeatures(features: bigint): void;
  /** Bytes of device config space. */
  readonly configLength: number;
  /** @throws RangeError when `[offset, offset + length)` is outside the config space. */
  readConfig(offset: number, length: number): Uint8Array;
  /** @throws RangeError when the bytes do not fit in the config space. */
  writeConfig(offset: number, bytes: Uint8Array): void;
  /** Number of queues. */
  readonly queueCount: number;
  /** @throws RangeError for an index >= queueCount. */
  getQueue(index: number): QueueConfig;
  /** Driver side: sets the queue's size, addresses, readiness. @throws RangeError */
  setQueue(index: number, config: Partial<QueueConfig>): void;
  /** Driver side: kick queue `index` (rings the doorbell with its notifyId). */
  notify(index: number): void;
}

/** Options of {@link InMemoryTransport}. */
export interface InMemoryTransportOptions {
  deviceId: number;
  deviceFeatures: bigint;
  /** Legacy interface (default false). */
  legacy?: boolean;
  /** Initial config space bytes (copied), default empty. */
  config?: Uint8Array;
  /** Queue max sizes, one per queue. */
  queues: readonly number[];
  /** Rung with the queue's notifyId on `notify` (the device's doorbell). */
  doorbell?: Doorbell;
  /**
   * Called after each status write, as a device would see it: a device may validate and clear
   * FEATURES_OK here, or start its queues on DRIVER_OK.
   */
  onStatus?: (status: number, transport: InMemoryTransport) => void;
}

/**
 * A transport in plain JS objects, shared by a driver and a device in one agent. Like a device,
 * it clears FEATURES_OK when the driver accepted a feature the device did not offer.
 *
 * @example
 * const t = new InMemoryTransport({ deviceId: 7, deviceFeatures: 1n, queues: [256, 256] });
 */
export class InMemoryTransport implements VirtioTransport {
  readonly deviceId: number;
  readonly legacy: boolean;
  readonly queueCount: number;
  private status = 0;
  private deviceFeatures: bigint;
  private driverFeatures = 0n;
  private readonly config: Uint8Array;
  private readonly queues: QueueConfig[];
  private readonly doorbell: Doorbell | undefined;
  private readonly onStatus: ((status: number, t: InMemoryTransport) => void) | undefined;

  constructor(options: InMemoryTransportOptions) {
    checkInt(options.deviceId, 0, 0xffffffff, "deviceId");
    this.deviceId = options.deviceId;
    this.legacy = options.legacy ?? false;
    this.deviceFeatures = options.deviceFeatures;
    this.config = new Uint8Array(options.config ?? new Uint8Array(0));
    this.queues = options.queues.map((max, i) => {
      checkInt(max, 1, 32768, "queue max size");
      return {
        size: max,
        maxSize: max,
        descAddr: 0,
        driverAddr: 0,
        deviceAddr: 0,
        align: 0,
        ready: false,
        notifyId: i,
      };
    });
    this.queueCount = this.queues.length;
    this.doorbell = options.doorbell;
    this.onStatus = options.onStatus;
  }
  get configLength(): number {
    return this.config.length;
  }
  getStatus(): number {
    return this.status;
  }
  setStatus(status: number): void {
    checkInt(status, 0, 0xff, "status");
    this.status = status;
    if (status === 0) {
      // Reset: the device forgets the negotiation and every queue.
      this.driverFeatures = 0n;
      this.queues.forEach(
        (q, i) => (this.queues[i] = { ...q, size: q.maxSize, ready: false, descAddr: 0, driverAddr: 0, deviceAddr: 0 }),
      );
    }
    if ((status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0 && (this.driverFeatures & ~this.deviceFeatures) !== 0n) {
      this.status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    }
    this.onStatus?.(this.status, this);
  }
  getDeviceFeatures(): bigint {
    return this.deviceFeatures;
  }
  setDeviceFeatures(features: bigint): void {
    this.deviceFeatures = features;
  }
  getDriverFeatures(): bigint {
    return this.driverFeatures;
  }
  setDriverFeatures(features: bigint): void {
    const limit = this.legacy ? featureBit(32) : featureBit(63) * 2n;
    if (features < 0n || features >= limit)
      throw new RangeError(`driver features 0x${features.toString(16)} do not fit this transport`);
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
    checkInt(index, 0, this.queueCount - 1, "queue index");
    return this.queues[index] as QueueConfig;
  }
  setQueue(index: number, config: Partial<QueueConfig>): void {
    const q = this.getQueue(index);
    if (config.size !== undefined) checkInt(config.size, 1, q.maxSize, "queue size");
    this.queues[index] = { ...q, ...config };
  }
  notify(index: number): void {
    const q = this.getQueue(index);
    this.doorbell?.notify(q.notifyId);
  }
}
