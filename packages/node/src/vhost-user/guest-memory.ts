// Guest memory as the backend reaches it: each region the frontend passed is a file, opened
// through the relay's /proc/<pid>/fd/<n> path as a FileMemory (pread/pwrite on the pages the
// guest maps). Rings and buffers of one device instance see the regions through revocable
// windows: when the driver resets the device, the windows are revoked, so a late reply from a
// device model can never write into memory the guest has taken back.
import type { Memory } from "@amp/virtio-ring";

/**
 * A window on another Memory that can be switched off: after `revoke()` every access throws
 * TypeError (the device instance it belonged to is gone).
 */
export class RevocableMemory implements Memory {
  readonly byteLength: number;
  readonly zeroCopy: boolean;
  private base: Memory | undefined;

  constructor(base: Memory) {
    this.base = base;
    this.byteLength = base.byteLength;
    this.zeroCopy = base.zeroCopy;
  }

  /** Cuts the window off; idempotent. */
  revoke(): void {
    this.base = undefined;
  }

  private get m(): Memory {
    const b = this.base;
    if (b === undefined) throw new TypeError("guest memory of a device instance that was reset");
    return b;
  }

  getU8(offset: number): number {
    return this.m.getU8(offset);
  }
  getU16(offset: number): number {
    return this.m.getU16(offset);
  }
  getU32(offset: number): number {
    return this.m.getU32(offset);
  }
  getU64(offset: number): bigint {
    return this.m.getU64(offset);
  }
  setU8(offset: number, value: number): void {
    this.m.setU8(offset, value);
  }
  setU16(offset: number, value: number): void {
    this.m.setU16(offset, value);
  }
  setU32(offset: number, value: number): void {
    this.m.setU32(offset, value);
  }
  setU64(offset: number, value: bigint): void {
    this.m.setU64(offset, value);
  }
  getU8Acquire(offset: number): number {
    return this.m.getU8Acquire(offset);
  }
  getU16Acquire(offset: number): number {
    return this.m.getU16Acquire(offset);
  }
  getU32Acquire(offset: number): number {
    return this.m.getU32Acquire(offset);
  }
  setU8Release(offset: number, value: number): void {
    this.m.setU8Release(offset, value);
  }
  setU16Release(offset: number, value: number): void {
    this.m.setU16Release(offset, value);
  }
  setU32Release(offset: number, value: number): void {
    this.m.setU32Release(offset, value);
  }
  read(offset: number, length: number): Uint8Array {
    return this.m.read(offset, length);
  }
  readInto(offset: number, target: Uint8Array): void {
    this.m.readInto(offset, target);
  }
  write(offset: number, bytes: Uint8Array): void {
    this.m.write(offset, bytes);
  }
  fill(offset: number, length: number, value: number): void {
    this.m.fill(offset, length, value);
  }
  view(offset: number, length: number): Uint8Array {
    return this.m.view(offset, length);
  }
}
