import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import { AddressSpace, ArrayBufferMemory, SharedMemory, isAmpError, subMemory, toSafeNumber } from "@amp/virtio-ring";
import type { Memory } from "@amp/virtio-ring";

describe.each([
  ["ArrayBufferMemory", () => new ArrayBufferMemory(new ArrayBuffer(64))],
  ["SharedMemory", () => new SharedMemory(new SharedArrayBuffer(64))],
])("%s", (_name, make: () => Memory) => {
  it("is little-endian in every accessor", () => {
    const m = make();
    m.setU16(0, 0x1234);
    m.setU32(4, 0xdeadbeef);
    m.setU64(8, 0x0102030405060708n);
    m.setU16Release(16, 0xabcd);
    m.setU32Release(20, 0x01020304);
    m.setU8Release(24, 0x7f);
    expect(toHex(m.read(0, 25))).toBe("34120000" + "efbeadde" + "0807060504030201" + "cdab0000" + "04030201" + "7f");
    expect(m.getU16(0)).toBe(0x1234);
    expect(m.getU32(4)).toBe(0xdeadbeef);
    expect(m.getU64(8)).toBe(0x0102030405060708n);
    expect(m.getU16Acquire(16)).toBe(0xabcd);
    expect(m.getU32Acquire(20)).toBe(0x01020304);
    expect(m.getU8Acquire(24)).toBe(0x7f);
  });

  it("bounds-checks every access with RangeError", () => {
    const m = make();
    expect(() => m.getU8(64)).toThrow(RangeError);
    expect(() => m.getU16(63)).toThrow(RangeError);
    expect(() => m.getU32(-1)).toThrow(RangeError);
    expect(() => m.setU64(60, 1n)).toThrow(RangeError);
    expect(() => m.getU32Acquire(62)).toThrow(RangeError);
    expect(() => m.read(60, 5)).toThrow(RangeError);
    expect(() => m.write(63, new Uint8Array(2))).toThrow(RangeError);
    expect(() => m.fill(0, 65, 0)).toThrow(RangeError);
    expect(() => m.view(1.5, 1)).toThrow(RangeError);
    expect(() => m.readInto(62, new Uint8Array(3))).toThrow(RangeError);
  });

  it("copies on read, aliases on view, and sub-views share bytes", () => {
    const m = make();
    m.write(10, new Uint8Array([1, 2, 3]));
    const copy = m.read(10, 3);
    copy[0] = 9;
    expect(m.getU8(10)).toBe(1);
    m.view(10, 3)[1] = 7;
    expect(m.getU8(11)).toBe(7);
    const s = subMemory(m, 8, 8);
    expect(s.byteLength).toBe(8);
    expect(s.getU8(3)).toBe(7);
    s.setU32Release(4, 0x11223344);
    expect(m.getU32(12)).toBe(0x11223344);
    expect(() => s.getU8(8)).toThrow(RangeError);
    expect(() => subMemory(m, 60, 8)).toThrow(RangeError);
    const t = new Uint8Array(2);
    m.readInto(11, t);
    expect([...t]).toEqual([7, 0x44]);
    m.fill(0, 64, 0xaa);
    expect(m.getU32(0)).toBe(0xaaaaaaaa);
  });
});

describe("SharedMemory atomics", () => {
  it("rejects misaligned atomic access", () => {
    const m = new SharedMemory(new SharedArrayBuffer(64), 1, 32);
    expect(() => m.getU16Acquire(0)).toThrow(RangeError);
    expect(m.getU16Acquire(1)).toBe(0);
  });
});

describe("wrapping a foreign Memory", () => {
  it("delegates through subMemory for any implementation", () => {
    const base = new ArrayBufferMemory(new ArrayBuffer(32));
    // A Memory that is not one of ours (as a platform package would write).
    const foreign: Memory = {
      byteLength: 32,
      zeroCopy: false,
      getU8: (o) => base.getU8(o),
      getU16: (o) => base.getU16(o),
      getU32: (o) => base.getU32(o),
      getU64: (o) => base.getU64(o),
      setU8: (o, v) => base.setU8(o, v),
      setU16: (o, v) => base.setU16(o, v),
      setU32: (o, v) => base.setU32(o, v),
      setU64: (o, v) => base.setU64(o, v),
      getU8Acquire: (o) => base.getU8(o),
      getU16Acquire: (o) => base.getU16(o),
      getU32Acquire: (o) => base.getU32(o),
      setU8Release: (o, v) => base.setU8(o, v),
      setU16Release: (o, v) => base.setU16(o, v),
      setU32Release: (o, v) => base.setU32(o, v),
      read: (o, l) => base.read(o, l),
      readInto: (o, t) => base.readInto(o, t),
      write: (o, b) => base.write(o, b),
      fill: (o, l, v) => base.fill(o, l, v),
      view: (o, l) => base.read(o, l),
    };
    const s = subMemory(foreign, 16, 16);
    s.setU64(8, 5n);
    expect(base.getU64(24)).toBe(5n);
    expect(s.zeroCopy).toBe(false);
    expect(() => s.getU64(9)).toThrow(RangeError);
  });
});

describe("AddressSpace", () => {
  const a = new ArrayBufferMemory(new ArrayBuffer(0x1000));
  const b = new ArrayBufferMemory(new ArrayBuffer(0x1000));
  const space = new AddressSpace()
    .map(0x1000, a, { name: "a" })
    .map(0x2000, b, { offset: 0x800, length: 0x800, name: "b" });

  it("translates inside one range only", () => {
    expect(space.translate(0x1010, 16)).toEqual({ memory: a, offset: 0x10 });
    expect(space.translate(0x2000, 0x800)).toEqual({ memory: b, offset: 0x800 });
    expect(space.translate(0x1ff0n, 16)).toEqual({ memory: a, offset: 0xff0 });
    // adjacent ranges are still separate: a buffer crossing 0x2000 is rejected
    for (const [da, len] of [
      [0x1ff0, 0x20],
      [0x2800, 1],
      [0, 1],
      [0x27ff, 2],
    ] as const) {
      let err: unknown;
      try {
        space.translate(da, len);
      } catch (e) {
        err = e;
      }
      expect(isAmpError(err) && err.code).toBe("ERR_BAD_ADDRESS");
    }
    expect(space.find(0x1000, 0x1001)).toBeUndefined();
    expect(space.deviceAddressOf(b, 0x900)).toBe(0x2100);
    expect(space.deviceAddressOf(b, 0x100)).toBeUndefined();
  });

  it("rejects overlaps and bad windows, unmaps", () => {
    const s = new AddressSpace().map(0x1000, a);
    expect(() => s.map(0x1800, b)).toThrow(RangeError);
    expect(() => s.map(0x4000, b, { offset: 0x800, length: 0x900 })).toThrow(RangeError);
    expect(() => s.map(-1, b)).toThrow(RangeError);
    expect(s.unmap(0x1000)).toBe(true);
    expect(s.unmap(0x1000)).toBe(false);
    expect(s.ranges.length).toBe(0);
  });

  it("checks 64-bit addresses", () => {
    expect(toSafeNumber(2n ** 53n - 1n, "x")).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => toSafeNumber(2n ** 53n, "x")).toThrow(expect.objectContaining({ code: "ERR_RANGE" }));
    expect(() => space.translate(2n ** 60n, 1)).toThrow(expect.objectContaining({ code: "ERR_RANGE" }));
  });
});
