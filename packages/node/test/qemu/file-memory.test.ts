// FileMemory: the @amp Memory interface over pread/pwrite on a file.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { fcParams, makeTempDir, toHex } from "@amp/test-utils";
import { ArrayBufferMemory } from "@amp/virtio-ring";
import { FileMemory } from "@amp/node";

const dir = makeTempDir("amp-filemem-");
let n = 0;
const open: FileMemory[] = [];
function fresh(size = 4096): FileMemory {
  const m = FileMemory.open(join(dir, `m${n++}.mem`), { size });
  open.push(m);
  return m;
}
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

describe("FileMemory", () => {
  it("creates a sparse file of the requested size, little-endian accessors hit the file bytes", () => {
    const m = fresh(64);
    m.setU32(0, 0x12345678);
    m.setU16(4, 0xbeef);
    m.setU8(6, 0x7f);
    m.setU64(8, 0x0102030405060708n);
    expect(toHex(readFileSync(m.path).subarray(0, 16))).toBe("78563412efbe7f000807060504030201");
    expect([m.getU32(0), m.getU16(4), m.getU8(6), m.getU64(8)]).toEqual([
      0x12345678,
      0xbeef,
      0x7f,
      0x0102030405060708n,
    ]);
    expect([m.getU32Acquire(0), m.getU16Acquire(4), m.getU8Acquire(6)]).toEqual([0x12345678, 0xbeef, 0x7f]);
    m.setU32Release(16, 1);
    m.setU16Release(20, 2);
    m.setU8Release(22, 3);
    expect(toHex(m.read(16, 8))).toBe("0100000002000300");
    expect(m.byteLength).toBe(64);
    expect(m.zeroCopy).toBe(false);
  });

  it("sees writes made by someone else to the file at once (no caching)", () => {
    const m = fresh(32);
    const other = FileMemory.open(m.path);
    open.push(other);
    other.write(3, Uint8Array.of(1, 2, 3));
    expect(toHex(m.read(2, 5))).toBe("0001020300");
  });

  it("fill, readInto, view (a copy), write", () => {
    const m = fresh(200_000);
    m.fill(10, 150_000, 0xab);
    const t = new Uint8Array(4);
    m.readInto(9, t);
    expect(toHex(t)).toBe("00ababab");
    expect(m.getU8(150_009)).toBe(0xab);
    expect(m.getU8(150_010)).toBe(0);
    const v = m.view(10, 2);
    v[0] = 0;
    expect(m.getU8(10)).toBe(0xab);
  });

  it("rejects every access outside [0, byteLength) with RangeError and writes nothing", () => {
    const m = fresh(16);
    expect(() => m.getU32(13)).toThrow(RangeError);
    expect(() => m.setU64(9, 1n)).toThrow(RangeError);
    expect(() => m.read(-1, 1)).toThrow(RangeError);
    expect(() => m.write(15, Uint8Array.of(1, 2))).toThrow(RangeError);
    expect(() => m.fill(0, 17, 1)).toThrow(RangeError);
    expect(() => m.getU8(1.5)).toThrow(RangeError);
    expect(readFileSync(m.path).length).toBe(16);
    expect(toHex(m.read(0, 16))).toBe("00".repeat(16));
  });

  it("opening: an existing file keeps its size, create:false needs the file, readOnly refuses writes", () => {
    const p = join(dir, "existing.mem");
    writeFileSync(p, new Uint8Array(100).fill(7));
    const a = FileMemory.open(p);
    open.push(a);
    expect(a.byteLength).toBe(100);
    expect(() => FileMemory.open(join(dir, "nope.mem"), { create: false, size: 8 })).toThrow(/ENOENT/);
    const ro = FileMemory.open(p, { readOnly: true });
    open.push(ro);
    expect(ro.getU8(99)).toBe(7);
    expect(() => ro.setU8(0, 1)).toThrow(TypeError);
    expect(() => FileMemory.open(join(dir, "empty.mem"))).toThrow(RangeError);
    expect(() => FileMemory.open(p, { size: 0 })).toThrow(RangeError);
    a.close();
    expect(a.closed).toBe(true);
    expect(() => a.getU8(0)).toThrow(TypeError);
    a.close();
    rmSync(p);
  });

  it("behaves like ArrayBufferMemory for any sequence of writes (property)", () => {
    const size = 256;
    const op = fc.oneof(
      fc.record({
        k: fc.constant("u8" as const),
        o: fc.integer({ min: -2, max: size + 2 }),
        v: fc.integer({ min: 0, max: 0xff }),
      }),
      fc.record({
        k: fc.constant("u16" as const),
        o: fc.integer({ min: -2, max: size + 2 }),
        v: fc.integer({ min: 0, max: 0xffff }),
      }),
      fc.record({
        k: fc.constant("u32" as const),
        o: fc.integer({ min: -2, max: size + 2 }),
        v: fc.integer({ min: 0, max: 0xffffffff }),
      }),
      fc.record({
        k: fc.constant("bytes" as const),
        o: fc.integer({ min: -2, max: size + 2 }),
        b: fc.uint8Array({ maxLength: 40 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const f = fresh(size);
        const r = new ArrayBufferMemory(new ArrayBuffer(size));
        for (const o of ops) {
          const apply = (m: FileMemory | ArrayBufferMemory): string => {
            try {
              if (o.k === "u8") m.setU8(o.o, o.v);
              else if (o.k === "u16") m.setU16(o.o, o.v);
              else if (o.k === "u32") m.setU32(o.o, o.v);
              else m.write(o.o, o.b);
              return "ok";
            } catch (e) {
              return (e as Error).name;
            }
          };
          expect(apply(f)).toBe(apply(r));
        }
        expect(toHex(f.read(0, size))).toBe(toHex(r.read(0, size)));
        f.close();
      }),
      fcParams(50),
    );
  });
});
