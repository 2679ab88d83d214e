// The remote's view of a resource-table vdev entry in its own memory: the legacy virtio
// transport that an rpmsg remote (device role) drives. The host writes status, gfeatures,
// vring da and notifyid into this entry (wire-formats.md §1.7, §1.9); the remote reads them.
// Runtime-agnostic.
import { splitRingLayout, type Memory, type QueueConfig, type VirtioTransport } from "@amp/virtio-ring";

// Offsets inside struct fw_rsc_vdev (from its type word) and struct fw_rsc_vdev_vring.
const OFF_DFEATURES = 12;
const OFF_GFEATURES = 16;
const OFF_STATUS = 24;
const OFF_VRINGS = 28;
const VRING_SIZE = 20;
const VRING_DA = 0;
const VRING_ALIGN = 4;
const VRING_NUM = 8;
const VRING_NOTIFYID = 12;
const ANY = 0xffffffff;

/** A legacy transport over the vdev entry at device address `entryDa` of `memory`. */
export class RemoteVdevTransport implements VirtioTransport {
  readonly deviceId: number;
  readonly legacy = true;
  readonly configLength: number;
  readonly queueCount: number;
  private readonly memory: Memory;
  private readonly base: number;

  /** `entryDa`: address of the entry's type word (table address + entry offset). */
  constructor(memory: Memory, entryDa: number, deviceId: number, queueCount: number, configLength: number) {
    this.memory = memory;
    this.base = entryDa;
    this.deviceId = deviceId;
    this.queueCount = queueCount;
    this.configLength = configLength;
    // Bounds of the whole entry are checked once here; every access below stays inside it.
    if (entryDa < 0 || entryDa + OFF_VRINGS + VRING_SIZE * queueCount + configLength > memory.byteLength) {
      throw new RangeError("vdev entry outside memory");
    }
  }
  getStatus(): number {
    return this.memory.getU8Acquire(this.base + OFF_STATUS);
  }
  setStatus(status: number): void {
    this.memory.setU8Release(this.base + OFF_STATUS, status);
  }
  getDeviceFeatures(): bigint {
    return BigInt(this.memory.getU32(this.base + OFF_DFEATURES));
  }
  setDeviceFeatures(features: bigint): void {
    if (features < 0n || features > 0xffffffffn) throw new RangeError("a resource-table vdev carries 32 feature bits");
    this.memory.setU32(this.base + OFF_DFEATURES, Number(features));
  }
  getDriverFeatures(): bigint {
    return BigInt(this.memory.getU32(this.base + OFF_GFEATURES));
  }
  setDriverFeatures(features: bigint): void {
    if (features < 0n || features > 0xffffffffn) throw new RangeError("a resource-table vdev carries 32 feature bits");
    this.memory.setU32(this.base + OFF_GFEATURES, Number(features));
  }
  private configOffset(offset: number, length: number): number {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset > this.configLength || length > this.configLength - offset) {
      throw new RangeError(`config access ${offset}+${length} outside ${this.configLength} bytes`);
    }
    return this.base + OFF_VRINGS + VRING_SIZE * this.queueCount + offset;
  }
  readConfig(offset: number, length: number): Uint8Array {
    return this.memory.read(this.configOffset(offset, length), length);
  }
  writeConfig(offset: number, bytes: Uint8Array): void {
    this.memory.write(this.configOffset(offset, bytes.length), bytes);
  }
  getQueue(index: number): QueueConfig {
    if (!Number.isInteger(index) || index < 0 || index >= this.queueCount) throw new RangeError(`no vring ${index}`);
    const v = this.base + OFF_VRINGS + VRING_SIZE * index;
    const da = this.memory.getU32Acquire(v + VRING_DA);
    const num = this.memory.getU32(v + VRING_NUM);
    const align = this.memory.getU32(v + VRING_ALIGN);
    const layout = splitRingLayout(num, align);
    return { size: num, maxSize: num, descAddr: da, driverAddr: da + layout.avail, deviceAddr: da + layout.used, align, ready: da !== ANY && da !== 0, notifyId: this.memory.getU32(v + VRING_NOTIFYID) };
  }
  setQueue(): void {
    throw new RangeError("the device side does not set queues up");
  }
  notify(): void {
    throw new RangeError("the device side does not kick queues");
  }
}
