// The driver loads used.idx once per batch of used entries, not once per entry (a line the device
// keeps writing), and still checks every index it loads against the buffers outstanding.
import { describe, expect, it } from "vitest";
import {
  AddressSpace,
  ArrayBufferMemory,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  legacyQueueAddresses,
  splitRingLayout,
  vringSize,
} from "@amp/virtio-ring";

const RING_DA = 0x1000;
const BUF_DA = 0x10_0000;
const SIZE = 8;

/** Ring memory that counts the driver's acquire loads of used.idx. */
class CountingMemory extends ArrayBufferMemory {
  loads = 0;
  usedIdxAt = -1;
  override getU16Acquire(offset: number): number {
    if (offset === this.usedIdxAt) this.loads++;
    return super.getU16Acquire(offset);
  }
}

function setup() {
  const ringMem = new CountingMemory(new ArrayBuffer(vringSize(SIZE, 16)));
  const l = splitRingLayout(SIZE, 16);
  ringMem.usedIdxAt = l.used + 2;
  const space = new AddressSpace()
    .map(RING_DA, ringMem)
    .map(BUF_DA, new ArrayBufferMemory(new ArrayBuffer(SIZE * 512)));
  const addrs = legacyQueueAddresses(RING_DA, SIZE, 16);
  const drv = new SplitVirtqueueDriver<number>({ size: SIZE, space, ...addrs });
  const dev = new SplitVirtqueueDevice({ size: SIZE, space, ...addrs });
  return { drv, dev, ringMem, l };
}

describe("used.idx loads on the driver", () => {
  it("a batch of used entries costs one load of used.idx, plus one to see it is over", () => {
    const { drv, dev, ringMem } = setup();
    for (let i = 0; i < 5; i++) drv.addBuffer(BUF_DA + 512 * i, 512, true, i);
    drv.kick();
    for (let i = 0; i < 5; i++) dev.pushUsed(dev.getAvail()!.id, 0);
    ringMem.loads = 0;
    const tokens: number[] = [];
    for (let u = drv.getUsed(); u !== null; u = drv.getUsed()) tokens.push(u.token);
    expect(tokens).toEqual([0, 1, 2, 3, 4]);
    expect(ringMem.loads).toBe(2);
    expect(drv.hasUsed()).toBe(false);
  });

  it("entries the device adds while a batch is consumed are found by the next load", () => {
    const { drv, dev } = setup();
    for (let i = 0; i < 4; i++) drv.addBuffer(BUF_DA + 512 * i, 512, true, i);
    drv.kick();
    const ids = [0, 1, 2, 3].map(() => dev.getAvail()!.id);
    dev.pushUsed(ids[0]!, 0);
    dev.pushUsed(ids[1]!, 0);
    expect(drv.getUsed()?.token).toBe(0);
    dev.pushUsed(ids[2]!, 0);
    expect(drv.hasUsed()).toBe(true);
    expect(drv.getUsed()?.token).toBe(1);
    expect(drv.getUsed()?.token).toBe(2);
    expect(drv.getUsed()).toBeNull();
  });

  it("a used.idx that runs ahead of the buffers outstanding is still refused when loaded", () => {
    const { drv, dev, ringMem, l } = setup();
    for (let i = 0; i < 2; i++) drv.addBuffer(BUF_DA + 512 * i, 512, true, i);
    drv.kick();
    dev.pushUsed(dev.getAvail()!.id, 0);
    expect(drv.getUsed()?.token).toBe(0);
    ringMem.setU16(l.used + 2, 5); // 4 ahead with 1 outstanding
    expect(() => drv.getUsed()).toThrow(/runs 4 ahead with 1 buffers outstanding/);
  });

  it("reset forgets the loaded index", () => {
    const { drv, dev } = setup();
    drv.addBuffer(BUF_DA, 512, true, 9);
    drv.kick();
    dev.pushUsed(dev.getAvail()!.id, 0);
    expect(drv.hasUsed()).toBe(true);
    drv.reset();
    dev.reset();
    expect(drv.hasUsed()).toBe(false);
    expect(drv.getUsed()).toBeNull();
  });
});
