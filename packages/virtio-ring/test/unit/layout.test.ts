import { describe, expect, it } from "vitest";
import {
  legacyQueueAddresses,
  packedRingLayout,
  splitRingAreaSizes,
  splitRingLayout,
  vringNeedEvent,
  vringSize,
} from "@amp/virtio-ring";

describe("split layout", () => {
  it('matches the examples of docs/wire-formats.md, "Split virtqueue"', () => {
    const table: [number, number, number, number][] = [
      [16, 16, 438, 304],
      [256, 16, 6678, 4624],
      [2, 4096, 4118, 4096],
      [16, 4096, 4230, 4096],
      [64, 4096, 4614, 4096],
      [256, 4096, 10246, 8192],
      [512, 4096, 16390, 12288],
    ];
    for (const [num, align, size, used] of table) {
      expect(vringSize(num, align)).toBe(size);
      expect(splitRingLayout(num, align).used).toBe(used);
    }
    expect(splitRingLayout(256, 4096)).toEqual({
      num: 256,
      align: 4096,
      desc: 0,
      avail: 4096,
      usedEvent: 4612,
      used: 8192,
      availEvent: 10244,
      size: 10246,
    });
    expect(legacyQueueAddresses(0x8000_0000, 256, 4096)).toEqual({
      descAddr: 0x8000_0000,
      driverAddr: 0x8000_1000,
      deviceAddr: 0x8000_2000,
    });
    expect(splitRingAreaSizes(4)).toEqual({ desc: 64, driver: 14, device: 38 });
    expect(packedRingLayout(3)).toEqual({ size: 3, desc: 0, driver: 48, device: 52, byteLength: 56 });
  });

  it("rejects sizes and alignments that are not powers of two", () => {
    for (const [num, align] of [
      [0, 16],
      [3, 16],
      [65536, 16],
      [16, 0],
      [16, 3],
      [16, 0x80000000],
    ])
      expect(() => vringSize(num!, align!)).toThrow(RangeError);
    expect(() => packedRingLayout(0)).toThrow(RangeError);
    expect(() => packedRingLayout(32769)).toThrow(RangeError);
    expect(packedRingLayout(3).size).toBe(3);
  });
});

describe("vring_need_event", () => {
  it('follows the event-index example of docs/wire-formats.md, "Split virtqueue"', () => {
    // used_event = 0: notify after the 1st buffer, then again only after wrapping
    expect(vringNeedEvent(0, 1, 0)).toBe(true);
    expect(vringNeedEvent(0, 2, 1)).toBe(false);
    expect(vringNeedEvent(0, 0, 0xffff)).toBe(false);
    expect(vringNeedEvent(0xffff, 0, 0xffff)).toBe(true);
    expect(vringNeedEvent(5, 10, 0)).toBe(true);
    expect(vringNeedEvent(10, 10, 0)).toBe(false);
    expect(vringNeedEvent(3, 3, 3)).toBe(false);
  });
});

describe("queueAddressesFromConfig", () => {
  it("expands a legacy queue and passes a modern one through", async () => {
    const { queueAddressesFromConfig } = await import("@amp/virtio-ring");
    const base = { maxSize: 256, ready: true, notifyId: 0 };
    expect(
      queueAddressesFromConfig({
        ...base,
        size: 256,
        align: 4096,
        descAddr: 0x1000_0000,
        driverAddr: 0,
        deviceAddr: 0,
      }),
    ).toEqual({ size: 256, descAddr: 0x1000_0000, driverAddr: 0x1000_1000, deviceAddr: 0x1000_2000 });
    expect(
      queueAddressesFromConfig({ ...base, size: 5, align: 0, descAddr: 16, driverAddr: 200, deviceAddr: 300 }),
    ).toEqual({ size: 5, descAddr: 16, driverAddr: 200, deviceAddr: 300 });
  });
});
