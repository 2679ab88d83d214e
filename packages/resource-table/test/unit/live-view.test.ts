import { describe, expect, it } from "vitest";
import {
  AmpError,
  RSC_CARVEOUT,
  RSC_TRACE,
  RSC_VDEV,
  ResourceTableView,
  createByteAccessor,
  isAmpError,
  parseResourceTable,
  serializeResourceTable,
  type ByteAccessor,
} from "@amp/resource-table";
import { u32le } from "../helpers.ts";

const TABLE = serializeResourceTable({
  entries: [
    { kind: "carveout", da: 0x1000_0000, len: 0x1000, name: "fw" },
    { kind: "trace", da: 0x2000_0000, len: 0x400, name: "trace0" },
    {
      kind: "vdev",
      id: 7,
      dfeatures: 1,
      config: new Uint8Array([1, 2, 3, 4]),
      vrings: [
        { align: 4096, num: 16 },
        { align: 4096, num: 16 },
      ],
    },
  ],
});
const BASE = 64;

/** The table placed at BASE inside a larger "shared memory" of 512 bytes. */
function setup(): { mem: Uint8Array; view: ResourceTableView } {
  const mem = new Uint8Array(512);
  mem.set(TABLE, BASE);
  return { mem, view: new ResourceTableView(createByteAccessor(mem), BASE, { size: TABLE.length }) };
}
const snapshot = (mem: Uint8Array) => parseResourceTable(mem.subarray(BASE, BASE + TABLE.length));
const ampCode = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    if (isAmpError(e)) return e.code;
    throw e;
  }
  return undefined;
};

describe("ResourceTableView", () => {
  it("reads the header and locates entries through the offset array", () => {
    const { view } = setup();
    expect(view.ver).toBe(1);
    expect(view.num).toBe(3);
    expect([0, 1, 2].map((i) => view.entryType(i))).toEqual([RSC_CARVEOUT, RSC_TRACE, RSC_VDEV]);
    expect(view.entryOffset(2)).toBe(snapshot(setup().mem).entries[2]?.offset);
    expect(view.findEntry(RSC_VDEV)).toBe(2);
    expect(view.findEntry(RSC_VDEV, 1)).toBe(-1);
    expect(view.findEntry(99)).toBe(-1);
  });

  it("writes carveout da/pa/len in place", () => {
    const { mem, view } = setup();
    const c = view.carveout(0);
    c.da = 0x1100_0000;
    c.pa = 0x8000_0000;
    c.len = 0x2000;
    expect([c.da, c.pa, c.len, c.flags, c.name, c.index]).toEqual([0x1100_0000, 0x8000_0000, 0x2000, 0, "fw", 0]);
    expect(snapshot(mem).entries[0]).toMatchObject({ da: 0x1100_0000, pa: 0x8000_0000, len: 0x2000 });
  });

  it("writes trace da in place", () => {
    const { mem, view } = setup();
    const t = view.trace(1);
    t.da = 0x3000_0000;
    expect([t.da, t.len, t.name]).toEqual([0x3000_0000, 0x400, "trace0"]);
    expect(snapshot(mem).entries[1]).toMatchObject({ da: 0x3000_0000 });
  });

  it("writes vdev status, gfeatures, notifyId, vring da and notifyId in place", () => {
    const { mem, view } = setup();
    const v = view.vdev(2);
    v.status = 0x01;
    v.status = 0x03;
    v.gfeatures = 1;
    v.notifyId = 5;
    v.vring(0).da = 0x8800_0000;
    v.vring(0).notifyId = 0;
    v.vring(1).da = 0x8800_4000;
    v.vring(1).notifyId = 1;
    v.status = 0x07;
    expect([v.id, v.dfeatures, v.gfeatures, v.status, v.numOfVrings, v.configLen, v.notifyId]).toEqual([
      7, 1, 1, 7, 2, 4, 5,
    ]);
    expect([v.vring(1).align, v.vring(1).num, v.vring(1).pa]).toEqual([4096, 16, 0]);
    const e = snapshot(mem).entries[2];
    expect(e).toMatchObject({
      status: 7,
      gfeatures: 1,
      notifyId: 5,
      vrings: [
        { da: 0x8800_0000, notifyId: 0 },
        { da: 0x8800_4000, notifyId: 1 },
      ],
    });
    expect(view.snapshot().entries[2]).toEqual(e);
  });

  it("reads and writes config space within config_len only", () => {
    const { view } = setup();
    const v = view.vdev(2);
    expect([...v.readConfig(1, 3)]).toEqual([2, 3, 4]);
    v.writeConfig(2, new Uint8Array([9, 9]));
    expect([...v.readConfig(0, 4)]).toEqual([1, 2, 9, 9]);
    expect(() => v.readConfig(2, 3)).toThrow(RangeError);
    // The case from behaviour §6 row 9: offset 0xFFFFFFF0, len 0x20 must not wrap around.
    expect(() => v.readConfig(0xffff_fff0, 0x20)).toThrow(RangeError);
    expect(() => v.writeConfig(4, new Uint8Array(1))).toThrow(RangeError);
  });

  it("never writes outside the table when the remote scribbles on offsets and counts", () => {
    const { mem, view } = setup();
    const v = view.vdev(2);
    const vring1 = v.vring(1);
    const guard = mem.slice();
    u32le(mem, BASE + 16 + 8, 0xffff_fff0); // entry 2 offset -> far away
    expect(
      ampCode(() => {
        vring1.da = 1;
      }),
    ).toBe("ERR_MALFORMED");
    expect(ampCode(() => v.status)).toBe("ERR_MALFORMED");
    mem.set(guard);
    mem[BASE + view.entryOffset(2) + 25] = 1; // num_of_vrings shrinks to 1
    expect(
      ampCode(() => {
        vring1.notifyId = 3;
      }),
    ).toBe("ERR_MALFORMED");
    mem.set(guard);
    u32le(mem, BASE + view.entryOffset(2), 2); // vdev turned into a trace
    expect(ampCode(() => v.gfeatures)).toBe("ERR_MALFORMED");
    mem.set(guard);
    u32le(mem, BASE + 4, 1000); // num over the limit
    expect(ampCode(() => view.num)).toBe("ERR_LIMIT");
    u32le(mem, BASE + 4, 60); // offset array past the table (16 + 240 > 204)
    expect(ampCode(() => view.entryType(0))).toBe("ERR_MALFORMED");
    mem.set(guard);
    u32le(mem, BASE, 2);
    expect(ampCode(() => view.num)).toBe("ERR_UNSUPPORTED");
    mem.set(guard);
    u32le(mem, BASE + view.entryOffset(2) + 20, 0x7fff_ffff); // config_len huge
    expect(ampCode(() => v.readConfig(0, 8))).toBe("ERR_MALFORMED");
    mem.set(guard);
    // an entry placed so that its body would run past the table end
    u32le(mem, BASE + 16, TABLE.length - 8);
    expect(ampCode(() => view.carveout(0))).toBe("ERR_MALFORMED");
    mem.set(guard);
    expect(ampCode(() => view.entryType(3))).toBe("ERR_MALFORMED");
    expect(ampCode(() => view.trace(0))).toBe("ERR_MALFORMED");
  });

  it("rejects misuse with RangeError/TypeError", () => {
    const { view } = setup();
    const acc = createByteAccessor(new Uint8Array(8));
    expect(() => new ResourceTableView(acc, 9)).toThrow(RangeError);
    expect(() => new ResourceTableView(acc, 0, { size: 9 })).toThrow(RangeError);
    expect(() => new ResourceTableView({} as ByteAccessor)).toThrow(TypeError);
    expect(() => view.entryOffset(-1)).toThrow(RangeError);
    expect(() => view.vdev(2).vring(1.5)).toThrow(RangeError);
    expect(() => {
      view.vdev(2).status = 256;
    }).toThrow(RangeError);
    expect(() => {
      view.vdev(2).gfeatures = -1;
    }).toThrow(RangeError);
    expect(() => {
      view.carveout(0).da = 2 ** 32;
    }).toThrow(RangeError);
  });

  it("a table too small for its header is an AmpError, not a crash", () => {
    const view = new ResourceTableView(createByteAccessor(new Uint8Array(10)));
    expect(ampCode(() => view.num)).toBe("ERR_TRUNCATED");
    expect(() => view.num).toThrow(AmpError);
  });

  it("works over any structural accessor (here one that counts accesses)", () => {
    const bytes = TABLE.slice();
    const inner = createByteAccessor(bytes);
    let writes = 0;
    const counting: ByteAccessor = {
      byteLength: inner.byteLength,
      getU8: (o) => inner.getU8(o),
      getU32: (o) => inner.getU32(o),
      setU8: (o, v) => {
        writes++;
        inner.setU8(o, v);
      },
      setU32: (o, v) => {
        writes++;
        inner.setU32(o, v);
      },
      read: (o, l) => inner.read(o, l),
    };
    const view = new ResourceTableView(counting);
    view.vdev(2).status = 7;
    view.vdev(2).vring(0).da = 0x1234;
    expect(writes).toBe(2);
  });
});

describe("createByteAccessor", () => {
  it("reads and writes little-endian and bounds-checks", () => {
    const b = new Uint8Array(8);
    const a = createByteAccessor(b);
    a.setU32(4, 0x11223344);
    a.setU8(0, 0xaa);
    expect([...b]).toEqual([0xaa, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]);
    expect([a.getU32(4), a.getU8(0), a.byteLength]).toEqual([0x11223344, 0xaa, 8]);
    expect([...a.read(3, 3)]).toEqual([0, 0x44, 0x33]);
    expect(() => a.getU32(5)).toThrow(RangeError);
    expect(() => a.read(0, 9)).toThrow(RangeError);
    expect(() => a.read(0, -1)).toThrow(RangeError);
    expect(() => createByteAccessor([] as unknown as Uint8Array)).toThrow(TypeError);
  });
});
