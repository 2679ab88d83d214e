// A VirtioTransport whose state lives in shared memory, so a driver and a device in two
// workers see the same status, features, config and queue addresses (test-only: remoteproc-core
// provides the resource-table-backed one). Layout (u32 words):
//   0 status | 1 devFeatures lo | 2 hi | 3 drvFeatures lo | 4 hi | 5..8 config (16 bytes)
//   then per queue: size, descAddr, driverAddr, deviceAddr, align, ready (6 words)
import type { Doorbell, Memory, QueueConfig, VirtioTransport } from "@amp/virtio-ring";

const Q0 = 9 * 4;
const QW = 6 * 4;
export const SHARED_TRANSPORT_BYTES = Q0 + 2 * QW;

export class SharedTransport implements VirtioTransport {
  readonly deviceId = 7;
  readonly legacy = true;
  readonly configLength = 16;
  readonly queueCount = 2;
  private readonly mem: Memory;
  private readonly base: number;
  private readonly num: number;
  private readonly doorbell: Doorbell | undefined;
  constructor(mem: Memory, base: number, num: number, doorbell?: Doorbell) {
    this.mem = mem;
    this.base = base;
    this.num = num;
    this.doorbell = doorbell;
  }
  getStatus(): number {
    return this.mem.getU32Acquire(this.base);
  }
  setStatus(status: number): void {
    if (status === 0) {
      this.mem.setU32(this.base + 12, 0);
      this.mem.setU32(this.base + 16, 0);
    }
    this.mem.setU32Release(this.base, status);
  }
  getDeviceFeatures(): bigint {
    return BigInt(this.mem.getU32Acquire(this.base + 4)) | (BigInt(this.mem.getU32(this.base + 8)) << 32n);
  }
  setDeviceFeatures(f: bigint): void {
    this.mem.setU32(this.base + 8, Number(f >> 32n));
    this.mem.setU32Release(this.base + 4, Number(f & 0xffffffffn));
  }
  getDriverFeatures(): bigint {
    return BigInt(this.mem.getU32Acquire(this.base + 12)) | (BigInt(this.mem.getU32(this.base + 16)) << 32n);
  }
  setDriverFeatures(f: bigint): void {
    if (f >= 1n << 32n) throw new RangeError("legacy: 32-bit features");
    this.mem.setU32Release(this.base + 12, Number(f));
  }
  readConfig(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > 16) throw new RangeError("config");
    return this.mem.read(this.base + 20 + offset, length);
  }
  writeConfig(offset: number, bytes: Uint8Array): void {
    if (offset < 0 || offset + bytes.length > 16) throw new RangeError("config");
    this.mem.write(this.base + 20 + offset, bytes);
  }
  getQueue(index: number): QueueConfig {
    if (index !== 0 && index !== 1) throw new RangeError("queue");
    const o = this.base + Q0 + index * QW;
    const m = this.mem;
    const size = m.getU32Acquire(o) || this.num;
    return {
      size,
      maxSize: this.num,
      descAddr: m.getU32(o + 4),
      driverAddr: m.getU32(o + 8),
      deviceAddr: m.getU32(o + 12),
      align: m.getU32(o + 16),
      ready: m.getU32(o + 20) !== 0,
      notifyId: index,
    };
  }
  setQueue(index: number, c: Partial<QueueConfig>): void {
    const q = { ...this.getQueue(index), ...c };
    const o = this.base + Q0 + index * QW;
    const m = this.mem;
    m.setU32(o + 4, q.descAddr);
    m.setU32(o + 8, q.driverAddr);
    m.setU32(o + 12, q.deviceAddr);
    m.setU32(o + 16, q.align);
    m.setU32(o + 20, q.ready ? 1 : 0);
    m.setU32Release(o, q.size);
  }
  notify(index: number): void {
    this.doorbell?.notify(index);
  }
}
