// A Memory that cannot alias (a file, a remote window): views are copies. Zero-copy tx falls
// back to a scratch payload written at send; rx data is a copy. Nothing is lost either way.
import { describe, expect, it } from "vitest";
import { AddressSpace, InMemoryTransport, SharedMemory, type Memory } from "@amp/virtio-ring";
import { RpmsgHost, RpmsgRemote } from "@amp/rpmsg";

class CopyingMemory implements Memory {
  readonly zeroCopy = false;
  readonly byteLength: number;
  private readonly m: SharedMemory;
  constructor(m: SharedMemory) {
    this.m = m;
    this.byteLength = m.byteLength;
  }
  getU8(o: number): number {
    return this.m.getU8(o);
  }
  getU16(o: number): number {
    return this.m.getU16(o);
  }
  getU32(o: number): number {
    return this.m.getU32(o);
  }
  getU64(o: number): bigint {
    return this.m.getU64(o);
  }
  setU8(o: number, v: number): void {
    this.m.setU8(o, v);
  }
  setU16(o: number, v: number): void {
    this.m.setU16(o, v);
  }
  setU32(o: number, v: number): void {
    this.m.setU32(o, v);
  }
  setU64(o: number, v: bigint): void {
    this.m.setU64(o, v);
  }
  getU8Acquire(o: number): number {
    return this.m.getU8Acquire(o);
  }
  getU16Acquire(o: number): number {
    return this.m.getU16Acquire(o);
  }
  getU32Acquire(o: number): number {
    return this.m.getU32Acquire(o);
  }
  setU8Release(o: number, v: number): void {
    this.m.setU8Release(o, v);
  }
  setU16Release(o: number, v: number): void {
    this.m.setU16Release(o, v);
  }
  setU32Release(o: number, v: number): void {
    this.m.setU32Release(o, v);
  }
  read(o: number, n: number): Uint8Array {
    return this.m.read(o, n);
  }
  readInto(o: number, t: Uint8Array): void {
    this.m.readInto(o, t);
  }
  write(o: number, b: Uint8Array): void {
    this.m.write(o, b);
  }
  fill(o: number, n: number, v: number): void {
    this.m.fill(o, n, v);
  }
  view(o: number, n: number): Uint8Array {
    return this.m.read(o, n);
  }
}

describe("memory without zero-copy views", () => {
  it("tx buffers and rx data work through copies", () => {
    const shared = new SharedMemory(new SharedArrayBuffer(0x10000));
    const mem = new CopyingMemory(shared);
    const space = new AddressSpace().map(0, mem);
    const transport = new InMemoryTransport({ deviceId: 7, deviceFeatures: 0n, legacy: true, queues: [8, 8] });
    const remote = new RpmsgRemote({ transport, space });
    const got: number[][] = [];
    remote.createEndpoint({
      addr: 100,
      onMessage: (m) => {
        got.push([...m.data]);
      },
    });
    const host = new RpmsgHost({ transport, space, rings: { addr: 0 }, poolAddr: 0x8000, numBuffers: 8 });
    host.start();
    remote.process();
    const ep = host.createEndpoint({ dst: 100 });
    const b = ep.tryGetTxBuffer()!;
    expect(b.payload.buffer).not.toBe(shared.buffer);
    b.payload.set([5, 6, 7]);
    b.send(3);
    remote.process();
    expect(got).toEqual([[5, 6, 7]]);
  });
});
