// What real drivers and devices do on the wire that the virtio spec does not say, and the queue
// options that meet them (OpenAMP and rpmsg-lite, measured against their own code).
import { describe, expect, it } from "vitest";
import {
  AddressSpace,
  ArrayBufferMemory,
  LocalDoorbell,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  VIRTIO_F_RING_PACKED,
  VRING_AVAIL_F_NO_INTERRUPT,
  createDeviceQueue,
  createDriverQueue,
  featureBit,
  legacyQueueAddresses,
  packedRingLayout,
  splitRingLayout,
} from "@amp/virtio-ring";

const N = 8;
const BUF = 0x8000;

function env() {
  const mem = new ArrayBufferMemory(new ArrayBuffer(0x10000));
  return { mem, space: new AddressSpace().map(0, mem) };
}

describe.each([
  ["split", 0n],
  ["packed", featureBit(VIRTIO_F_RING_PACKED)],
] as const)("%s: a consumed read-only buffer", (_n, features) => {
  it("goes back with its descriptor length (what OpenAMP and rpmsg-lite drivers read as capacity); the driver clamps len to 0", () => {
    const { space } = env();
    const packed = features !== 0n;
    const addrs = packed
      ? { descAddr: 0, driverAddr: packedRingLayout(N).driver, deviceAddr: packedRingLayout(N).device }
      : legacyQueueAddresses(0, N, 16);
    const drv = createDriverQueue<string>({ size: N, space, ...addrs, features });
    const dev = createDeviceQueue({ size: N, space, ...addrs, features });
    drv.addChain(
      [
        { addr: BUF, len: 100 },
        { addr: BUF + 100, len: 412 },
      ],
      [],
      "tx",
    );
    const c = dev.getAvail();
    expect(c?.readableBytes).toBe(512);
    dev.pushConsumed(c?.id ?? -1);
    expect(drv.getUsed()).toEqual({ id: 0, len: 0, declaredLen: 512, token: "tx" });
    expect(drv.usedLenOverruns).toBe(1);
    expect(() => {
      dev.pushConsumed(0);
    }).toThrow(RangeError); // no longer in flight
  });
});

describe("split device tolerances for an rpmsg-lite master", () => {
  const L = splitRingLayout(N, 16);
  it("usedIdxFromMemory continues used.idx from what the driver pre-loaded", () => {
    const { mem, space } = env();
    mem.setU16(L.used + 2, 5); // the master pre-loaded five tx buffers into its own used ring
    const strict = new SplitVirtqueueDevice({ size: N, space, ...legacyQueueAddresses(0, N, 16) });
    const tolerant = new SplitVirtqueueDevice({
      size: N,
      space,
      ...legacyQueueAddresses(0, N, 16),
      usedIdxFromMemory: true,
    });
    // The driver offers one buffer (descriptor 2, read-only, 512 bytes).
    mem.setU32(16 * 2, BUF);
    mem.setU32(16 * 2 + 8, 512);
    mem.setU16(L.avail + 4, 2);
    mem.setU16(L.avail + 2, 1);
    const c = tolerant.getAvail();
    tolerant.pushConsumed(c?.id ?? -1);
    expect(mem.getU16(L.used + 2)).toBe(6);
    expect(mem.getU32(L.used + 4 + 8 * 5)).toBe(2);
    expect(mem.getU32(L.used + 8 + 8 * 5)).toBe(512);
    // A private counter would have moved used.idx from 5 back to 1.
    mem.setU16(L.used + 2, 5);
    const c2 = strict.getAvail();
    strict.pushUsed(c2?.id ?? -1, 0);
    expect(mem.getU16(L.used + 2)).toBe(1);
  });

  it("ignoreInterruptSuppression rings even though avail.flags says NO_INTERRUPT", () => {
    const { mem, space } = env();
    const irqs = new LocalDoorbell({ queues: 2 });
    const drv = new SplitVirtqueueDriver<number>({ size: N, space, ...legacyQueueAddresses(0, N, 16) });
    const polite = new SplitVirtqueueDevice({
      size: N,
      space,
      ...legacyQueueAddresses(0, N, 16),
      doorbell: irqs,
      notifyId: 0,
    });
    const rude = new SplitVirtqueueDevice({
      size: N,
      space,
      ...legacyQueueAddresses(0, N, 16),
      doorbell: irqs,
      notifyId: 1,
      ignoreInterruptSuppression: true,
    });
    drv.disableInterrupts();
    expect(mem.getU16(L.avail) & VRING_AVAIL_F_NO_INTERRUPT).toBe(VRING_AVAIL_F_NO_INTERRUPT);
    drv.addBuffer(BUF, 16, true, 1);
    drv.addBuffer(BUF + 16, 16, true, 2);
    polite.pushUsed(polite.getAvail()?.id ?? -1, 0);
    expect(polite.interrupt()).toBe(false);
    rude.reset();
    // The second device object sees the ring from the start: skip the chain the first one took.
    rude.getAvail();
    rude.pushUsed(rude.getAvail()?.id ?? -1, 0);
    expect(rude.interrupt()).toBe(true);
    const seen: number[] = [];
    irqs.poll((q) => seen.push(q));
    expect(seen).toEqual([1]);
  });
});
