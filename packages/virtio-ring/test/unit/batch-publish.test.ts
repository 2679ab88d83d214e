// Index publication once per batch (batchAvailIdx / batchUsedIdx) and the driver's skipped
// descriptor rewrites when the same buffer is offered again.
import { describe, expect, it } from "vitest";
import {
  AddressSpace,
  ArrayBufferMemory,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  VIRTIO_RING_F_EVENT_IDX,
  featureBit,
  legacyQueueAddresses,
  splitRingLayout,
  vringSize,
} from "@amp/virtio-ring";

const RING_DA = 0x1000;
const BUF_DA = 0x10_0000;
const SIZE = 8;

function setup(features = 0n) {
  const ringMem = new ArrayBufferMemory(new ArrayBuffer(vringSize(SIZE, 16)));
  const space = new AddressSpace()
    .map(RING_DA, ringMem)
    .map(BUF_DA, new ArrayBufferMemory(new ArrayBuffer(SIZE * 512)));
  const addrs = legacyQueueAddresses(RING_DA, SIZE, 16);
  const l = splitRingLayout(SIZE, 16);
  const drv = new SplitVirtqueueDriver<number>({ size: SIZE, space, ...addrs, features, batchAvailIdx: true });
  const dev = new SplitVirtqueueDevice({ size: SIZE, space, ...addrs, features, batchUsedIdx: true });
  const availIdx = () => ringMem.getU16(l.avail + 2);
  const usedIdx = () => ringMem.getU16(l.used + 2);
  const descLen = (i: number) => ringMem.getU32(l.desc + 16 * i + 8);
  return { drv, dev, ringMem, availIdx, usedIdx, descLen, l };
}

describe("batched index publication", () => {
  for (const [name, features] of [
    ["split", 0n],
    ["split+event_idx", featureBit(VIRTIO_RING_F_EVENT_IDX)],
  ] as const) {
    it(`${name}: avail.idx is stored once, at kickPrepare or publishAvail`, () => {
      const { drv, dev, availIdx } = setup(features);
      for (let i = 0; i < 3; i++) drv.addBuffer(BUF_DA + 512 * i, 512, true, i);
      expect(availIdx()).toBe(0);
      expect(dev.hasAvail()).toBe(false);
      expect(drv.kickPrepare()).toBe(true);
      expect(availIdx()).toBe(3);
      drv.addBuffer(BUF_DA + 512 * 3, 512, true, 3);
      expect(availIdx()).toBe(3);
      drv.publishAvail();
      expect(availIdx()).toBe(4);
      let n = 0;
      while (dev.getAvail() !== null) n++;
      expect(n).toBe(4);
    });

    it(`${name}: used.idx is stored once, at interruptPrepare, and still reads as intact`, () => {
      const { drv, dev, usedIdx } = setup(features);
      for (let i = 0; i < 4; i++) drv.addBuffer(BUF_DA + 512 * i, 512, true, i);
      drv.kick();
      const ids: number[] = [];
      for (let c = dev.getAvail(); c !== null; c = dev.getAvail()) ids.push(c.id);
      dev.pushUsed(ids[0] ?? 0, 10);
      dev.pushUsed(ids[1] ?? 0, 20);
      expect(usedIdx()).toBe(0);
      expect(dev.usedIdxIntact()).toBe(true);
      expect(drv.getUsed()).toBeNull();
      expect(dev.interruptPrepare()).toBe(true);
      expect(usedIdx()).toBe(2);
      dev.pushConsumed(ids[2] ?? 0);
      expect(usedIdx()).toBe(2);
      expect(dev.usedIdxIntact()).toBe(true);
      dev.interrupt();
      expect(usedIdx()).toBe(3);
      expect(dev.usedIdxIntact()).toBe(true);
      const lens: number[] = [];
      for (let u = drv.getUsed(); u !== null; u = drv.getUsed()) lens.push(u.len);
      expect(lens).toEqual([10, 20, 512]);
    });
  }
});

describe("descriptor rewrites", () => {
  it("re-offering the same buffer rewrites the table entry: what a device wrote there is not kept", () => {
    const { drv, dev, ringMem, descLen, l } = setup();
    const id = drv.addBuffer(BUF_DA, 512, true, 0);
    drv.kick();
    const c = dev.getAvail();
    expect(c?.id).toBe(id);
    dev.pushUsed(id, 0);
    dev.interrupt();
    expect(drv.getUsed()?.id).toBe(id);
    // rpmsg-lite's remote stores a message's length in desc.len of the buffer it was offered:
    // offered again, the buffer has its whole length back (a freed head is reused first).
    ringMem.setU32(l.desc + 16 * id + 8, 7);
    const again = drv.addBuffer(BUF_DA, 512, true, 0);
    expect(again).toBe(id);
    expect(descLen(id)).toBe(512);
    drv.kick();
    dev.getAvail();
    dev.pushUsed(id, 0);
    dev.interrupt();
    drv.getUsed();
    // A different length (or address, or direction) is written.
    expect(drv.addBuffer(BUF_DA, 256, false, 0)).toBe(id);
    expect(descLen(id)).toBe(256);
    expect(ringMem.getU16(l.desc + 16 * id + 12)).toBe(0);
    // After a reset the table is zeroed and written again.
    drv.reset();
    expect(drv.addBuffer(BUF_DA, 256, false, 0)).toBe(0);
    expect(descLen(0)).toBe(256);
  });

  it("a chain over a head rewrites it", () => {
    const { drv, dev, descLen } = setup();
    const id = drv.addBuffer(BUF_DA, 512, true, 0);
    drv.kick();
    dev.pushUsed(dev.getAvail()?.id ?? -1, 0);
    dev.interrupt();
    drv.getUsed();
    const head = drv.addChain([{ addr: BUF_DA + 1024, len: 64 }], [{ addr: BUF_DA + 2048, len: 32 }], 1);
    expect(head).toBe(id);
    expect(descLen(id)).toBe(64);
    drv.kick();
    const c = dev.getAvail();
    dev.pushUsed(c?.id ?? -1, 0);
    dev.interrupt();
    drv.getUsed();
    expect(drv.addBuffer(BUF_DA, 512, true, 0)).toBe(id);
    expect(descLen(id)).toBe(512);
  });
});

describe("batchUsedIdx with usedIdxFromMemory", () => {
  it("publishes once per batch, continuing from the index in memory at the batch's start", () => {
    const { drv, ringMem, usedIdx, l } = setup();
    const addrs = legacyQueueAddresses(RING_DA, SIZE, 16);
    const space = new AddressSpace()
      .map(RING_DA, ringMem)
      .map(BUF_DA, new ArrayBufferMemory(new ArrayBuffer(SIZE * 512)));
    const dev = new SplitVirtqueueDevice({ size: SIZE, space, ...addrs, usedIdxFromMemory: true, batchUsedIdx: true });
    for (let i = 0; i < 3; i++) drv.addBuffer(BUF_DA + 512 * i, 512, true, i);
    drv.kick();
    // An rpmsg-lite master pre-loads used.idx at its init, before the device pushes anything.
    ringMem.setU16(l.used + 2, 5);
    const a = dev.getAvail();
    dev.pushUsed(a?.id ?? -1, 4);
    const b = dev.getAvail();
    dev.pushUsed(b?.id ?? -1, 6);
    expect(usedIdx()).toBe(5); // entries written, index not yet published
    expect(ringMem.getU32(l.used + 4 + 8 * 5 + 4)).toBe(4);
    expect(ringMem.getU32(l.used + 4 + 8 * 6 + 4)).toBe(6);
    dev.interrupt();
    expect(usedIdx()).toBe(7);
    // The next batch starts from memory again.
    ringMem.setU16(l.used + 2, 1);
    const c = dev.getAvail();
    dev.pushUsed(c?.id ?? -1, 8);
    dev.interrupt();
    expect(usedIdx()).toBe(2);
    expect(ringMem.getU32(l.used + 4 + 8 * 1 + 4)).toBe(8);
  });
});
