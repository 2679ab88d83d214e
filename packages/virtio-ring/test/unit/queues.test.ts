import { describe, expect, it } from "vitest";
import {
  AddressSpace,
  ArrayBufferMemory,
  LocalDoorbell,
  VIRTIO_F_RING_PACKED,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
  createDeviceQueue,
  createDriverQueue,
  featureBit,
  isAmpError,
  legacyQueueAddresses,
  packedRingLayout,
  vringSize,
} from "@amp/virtio-ring";
import type { UsedBuffer, VirtqueueDevice, VirtqueueDriver, DescriptorChainLike } from "@amp/virtio-ring";

const RING_DA = 0x1000_0000;
const BUF_DA = 0x2000_0000;

function setup(size: number, features: bigint) {
  const packed = (features & featureBit(VIRTIO_F_RING_PACKED)) !== 0n;
  const ringMem = new ArrayBufferMemory(
    new ArrayBuffer(vringSize(Math.max(2, 1 << Math.ceil(Math.log2(size))), 4096) + 8192),
  );
  const bufMem = new ArrayBufferMemory(new ArrayBuffer(1 << 20));
  const indMem = new ArrayBufferMemory(new ArrayBuffer(size * 16 * 16));
  const space = new AddressSpace()
    .map(RING_DA, ringMem, { name: "ring" })
    .map(BUF_DA, bufMem, { name: "buffers" })
    .map(0x3000_0000, indMem);
  const addrs = packed
    ? {
        descAddr: RING_DA,
        driverAddr: RING_DA + packedRingLayout(size).driver,
        deviceAddr: RING_DA + packedRingLayout(size).device,
      }
    : legacyQueueAddresses(RING_DA, size, 4096);
  const kicks = new LocalDoorbell({ queues: 4 });
  const irqs = new LocalDoorbell({ queues: 4 });
  const drv: VirtqueueDriver<number> = createDriverQueue<number>({
    size,
    space,
    ...addrs,
    features,
    doorbell: kicks,
    notifyId: 1,
    indirectAddr: 0x3000_0000,
  });
  const dev: VirtqueueDevice = createDeviceQueue({ size, space, ...addrs, features, doorbell: irqs, notifyId: 2 });
  return { drv, dev, bufMem, ringMem, space, kicks, irqs };
}

const variants: [string, bigint][] = [
  ["split", 0n],
  ["split+event_idx", featureBit(VIRTIO_RING_F_EVENT_IDX)],
  ["split+indirect", featureBit(VIRTIO_RING_F_INDIRECT_DESC)],
  ["packed", featureBit(VIRTIO_F_RING_PACKED)],
  ["packed+event_idx", featureBit(VIRTIO_F_RING_PACKED) | featureBit(VIRTIO_RING_F_EVENT_IDX)],
  ["packed+indirect", featureBit(VIRTIO_F_RING_PACKED) | featureBit(VIRTIO_RING_F_INDIRECT_DESC)],
];

describe.each(variants)("%s", (_name, features) => {
  it("moves buffers both ways, with readable and writable parts", () => {
    const { drv, dev, bufMem } = setup(8, features);
    const out = new Uint8Array([1, 2, 3, 4, 5]);
    bufMem.write(0, out);
    const used: UsedBuffer<number> = { id: 0, len: 0, declaredLen: 0, token: 0 };
    for (let round = 0; round < 50; round++) {
      const id = drv.addChain(
        [{ addr: BUF_DA, len: 5 }],
        [
          { addr: BUF_DA + 0x100, len: 3 },
          { addr: BUF_DA + 0x200, len: 4 },
        ],
        round,
      );
      expect(id).toBeGreaterThanOrEqual(0);
      drv.kick();
      const chain = dev.getAvail();
      expect(chain).not.toBeNull();
      if (chain === null) return;
      expect(chain.count).toBe(3);
      expect(chain.readable).toBe(1);
      expect(chain.readableBytes).toBe(5);
      expect(chain.writableBytes).toBe(7);
      expect([...chain.readAll()]).toEqual([1, 2, 3, 4, 5]);
      expect(chain.scatter(new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]))).toBe(7);
      dev.pushUsed(chain.id, 7);
      dev.interrupt();
      expect(drv.getUsed(used)).toBe(used);
      expect(used.token).toBe(round);
      expect(used.len).toBe(7);
      expect([...bufMem.read(0x100, 3), ...bufMem.read(0x200, 4)]).toEqual([9, 8, 7, 6, 5, 4, 3]);
      expect(drv.getUsed()).toBeNull();
    }
    expect(drv.numFree).toBe(8);
  });

  it("fills the ring, returns -1 when full, completes out of order", () => {
    const { drv, dev } = setup(8, features);
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push(drv.addBuffer(BUF_DA + i * 64, 64, true, i));
    expect(drv.addBuffer(BUF_DA, 1, true, 99)).toBe(-1);
    const chains: DescriptorChainLike[] = [];
    for (;;) {
      const c = dev.getAvail();
      if (c === null) break;
      chains.push(c);
    }
    expect(chains.length).toBe(8);
    // complete in reverse order
    for (const c of chains.reverse()) dev.pushUsed(c.id, 10);
    const tokens: number[] = [];
    for (;;) {
      const u = drv.getUsed();
      if (u === null) break;
      tokens.push(u.token);
    }
    expect(tokens.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(drv.numFree).toBe(8);
    expect(drv.outstanding).toBe(0);
  });

  it("rejects a used length larger than offered, then needs a reset", () => {
    const { drv, dev } = setup(4, features);
    drv.addBuffer(BUF_DA, 16, true, 1);
    const c = dev.getAvail()!;
    expect(() => dev.pushUsed(c.id, 17)).toThrow(RangeError);
    dev.pushUsed(c.id, 16);
    expect(drv.getUsed()?.len).toBe(16);
    expect(drv.reset()).toEqual([]);
    dev.reset();
    drv.addBuffer(BUF_DA, 8, false, 5);
    expect(dev.getAvail()?.readableBytes).toBe(8);
    expect(drv.reset()).toEqual([5]);
  });

  it("kicks and interrupts per the suppression rules", () => {
    const { drv, dev } = setup(8, features);
    // Nobody has suppressed anything: the first buffer must be kicked.
    drv.addBuffer(BUF_DA, 8, true, 0);
    expect(drv.kickPrepare()).toBe(true);
    expect(drv.kickPrepare()).toBe(false); // nothing new
    dev.disableNotifications();
    drv.addBuffer(BUF_DA, 8, true, 1);
    expect(drv.kickPrepare()).toBe(false);
    expect(dev.enableNotifications()).toBe(true); // chains pending
    const a = dev.getAvail()!;
    const b = dev.getAvail()!;
    drv.disableInterrupts();
    dev.pushUsed(a.id, 0);
    expect(dev.interruptPrepare()).toBe(false);
    expect(drv.enableInterrupts()).toBe(true);
    drv.getUsed();
    dev.pushUsed(b.id, 0);
    expect(dev.interruptPrepare()).toBe(true);
  });

  it("rejects chains that point outside mapped memory", () => {
    const { drv, dev } = setup(4, features);
    drv.addBuffer(0x5000_0000, 16, false, 0);
    let err: unknown;
    try {
      dev.getAvail();
    } catch (e) {
      err = e;
    }
    expect(isAmpError(err) && err.code).toBe("ERR_BAD_ADDRESS");
    expect(dev.error).toBeDefined();
    expect(() => dev.getAvail()).toThrow(expect.objectContaining({ code: "ERR_NEEDS_RESET" }));
    // crossing the end of the buffer range
    const s2 = setup(4, features);
    s2.drv.addBuffer(BUF_DA + (1 << 20) - 8, 16, true, 0);
    expect(() => s2.dev.getAvail()).toThrow(expect.objectContaining({ code: "ERR_BAD_ADDRESS" }));
  });
});
