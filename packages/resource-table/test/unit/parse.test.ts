import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "@amp/test-utils";
import {
  AmpError,
  FW_RSC_ADDR_ANY,
  isAmpError,
  parseResourceTable,
  serializeResourceTable,
  type Resource,
} from "@amp/resource-table";
import { rawTable, u32le, workedExample } from "../helpers.ts";

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!isAmpError(e)) throw e;
    return `${e.code} ${e.message.split(":")[0]} @${e.offset}`;
  }
  return "no error";
}

describe('parseResourceTable: the typical table (docs/wire-formats.md, "A typical table")', () => {
  const bytes = workedExample();
  const t = parseResourceTable(bytes);

  it("decodes the header", () => {
    expect(t.ver).toBe(1);
    expect(t.reserved).toEqual([0, 0]);
    expect(t.size).toBe(140);
    expect(t.entries.map((e) => [e.kind, e.offset])).toEqual([
      ["vdev", 24],
      ["trace", 92],
    ]);
  });

  it("decodes the vdev with its vrings", () => {
    expect(t.entries[0]).toEqual({
      kind: "vdev",
      type: 3,
      offset: 24,
      id: 7,
      notifyId: 0,
      dfeatures: 1,
      gfeatures: 0,
      configLen: 0,
      status: 0,
      numOfVrings: 2,
      reserved: [0, 0],
      vrings: [
        { da: FW_RSC_ADDR_ANY, align: 4096, num: 256, notifyId: 0, pa: 0 },
        { da: FW_RSC_ADDR_ANY, align: 4096, num: 256, notifyId: 0, pa: 0 },
      ],
      config: new Uint8Array(0),
    });
  });

  it("decodes the trace entry", () => {
    expect(t.entries[1]).toEqual({
      kind: "trace",
      type: 2,
      offset: 92,
      da: 0x2000_0000,
      len: 1024,
      reserved: 0,
      name: "trace",
    });
  });

  it("serializes back to the same bytes", () => {
    expect(toHex(serializeResourceTable(t))).toBe(toHex(bytes));
  });
});

describe("parseResourceTable: every entry type", () => {
  it("carveout and devmem", () => {
    const b = rawTable(16 + 8 + 56 + 56, [24, 80]);
    u32le(b, 24, 0);
    [0x1000, 0x2000, 0x3000, 0x4].forEach((v, i) => u32le(b, 28 + 4 * i, v));
    b.set([0x66, 0x77], 48);
    u32le(b, 80, 1);
    [0xa000, 0xb000, 0x100, 0x1].forEach((v, i) => u32le(b, 84 + 4 * i, v));
    const [c, d] = parseResourceTable(b).entries;
    expect(c).toEqual({
      kind: "carveout",
      type: 0,
      offset: 24,
      da: 0x1000,
      pa: 0x2000,
      len: 0x3000,
      flags: 4,
      reserved: 0,
      name: "fw",
    });
    expect(d).toEqual({
      kind: "devmem",
      type: 1,
      offset: 80,
      da: 0xa000,
      pa: 0xb000,
      len: 0x100,
      flags: 1,
      reserved: 0,
      name: "",
    });
  });

  it("vdev with config space right after the vrings", () => {
    const b = rawTable(20 + 28 + 20 + 5, [20]);
    u32le(b, 20, 3);
    u32le(b, 24, 3); // id: console
    u32le(b, 40, 5); // config_len
    b[45] = 1;
    u32le(b, 48, 0x8000);
    u32le(b, 52, 16);
    u32le(b, 56, 8);
    u32le(b, 60, 9);
    u32le(b, 64, 0);
    b.set([1, 2, 3, 4, 5], 68);
    const v = parseResourceTable(b).entries[0];
    expect(v?.kind).toBe("vdev");
    if (v?.kind !== "vdev") return;
    expect(v.configLen).toBe(5);
    expect([...v.config]).toEqual([1, 2, 3, 4, 5]);
    expect(v.vrings).toEqual([{ da: 0x8000, align: 16, num: 8, notifyId: 9, pa: 0 }]);
  });

  it("vendor types 128..512 are opaque, extend to the next entry, and go through the hook", () => {
    const t = rawTable(24 + 12 + 8, [24, 36]);
    u32le(t, 24, 128);
    t.set([1, 2, 3, 4, 5, 6, 7, 8], 28);
    u32le(t, 36, 512);
    t.set([9, 9, 9, 9], 40);
    const seen: [number, number, number][] = [];
    const parsed = parseResourceTable(t, {
      decodeVendor: (type, data, offset) => {
        seen.push([type, data.length, offset]);
        return { sum: data.reduce((a, x) => a + x, 0) };
      },
    });
    expect(seen).toEqual([
      [128, 8, 24],
      [512, 4, 36],
    ]);
    const [a, z] = parsed.entries as [Resource, Resource];
    expect(a).toMatchObject({ kind: "vendor", type: 128, offset: 24, decoded: { sum: 36 } });
    expect(z).toMatchObject({ kind: "vendor", type: 512, offset: 36, decoded: { sum: 36 } });
    expect(a.kind === "vendor" && [...a.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(toHex(serializeResourceTable(parsed))).toBe(toHex(t));
  });

  it("without a hook a vendor entry has no `decoded`", () => {
    const t = rawTable(20 + 8, [20]);
    u32le(t, 20, 300);
    const e = parseResourceTable(t).entries[0];
    expect(e).toEqual({ kind: "vendor", type: 300, offset: 20, data: new Uint8Array(4) });
    expect(e !== undefined && "decoded" in e).toBe(false);
  });

  it("types 4..127 and above 512 are kept as unsupported (Linux skips them)", () => {
    for (const type of [4, 5, 127, 513, 0xffffffff]) {
      const t = rawTable(20 + 8, [20]);
      u32le(t, 20, type);
      expect(parseResourceTable(t).entries[0]).toEqual({
        kind: "unsupported",
        type,
        offset: 20,
        data: new Uint8Array(4),
      });
    }
  });

  it("an empty table (num = 0) is valid", () => {
    expect(parseResourceTable(rawTable(16, []))).toEqual({ ver: 1, reserved: [0, 0], size: 16, entries: [] });
  });

  it("two offsets to the same entry decode to the same object", () => {
    const t = rawTable(24 + 48, [24, 24]);
    u32le(t, 24, 2);
    const [a, b] = parseResourceTable(t).entries;
    expect(a).toBe(b);
  });

  it("parsed entries do not alias the input", () => {
    const t = rawTable(20 + 8, [20]);
    u32le(t, 20, 200);
    const e = parseResourceTable(t).entries[0];
    t[24] = 0x55;
    expect(e?.kind === "vendor" && e.data[0]).toBe(0);
  });
});

describe("parseResourceTable: regionSize", () => {
  it("ignores bytes past the region", () => {
    const b = new Uint8Array(200);
    b.set(workedExample());
    expect(parseResourceTable(b, { regionSize: 140 }).size).toBe(140);
  });

  it("uses the region size for the entries' room (Linux's table_sz)", () => {
    const b = workedExample();
    expect(code(() => parseResourceTable(b, { regionSize: 139 }))).toBe("ERR_MALFORMED RSC_ENTRY_TRUNCATED @92");
  });

  it("fails ERR_TRUNCATED when the region is larger than the bytes and an entry needs them", () => {
    const b = rawTable(24, [20]);
    u32le(b, 20, 2); // trace needs 48 bytes
    expect(code(() => parseResourceTable(b, { regionSize: 100 }))).toBe("ERR_TRUNCATED RSC_TABLE_TRUNCATED @20");
  });

  it("rejects a bad regionSize or maxEntries as misuse", () => {
    expect(() => parseResourceTable(new Uint8Array(16), { regionSize: -1 })).toThrow(RangeError);
    expect(() => parseResourceTable(new Uint8Array(16), { maxEntries: 1.5 })).toThrow(RangeError);
    expect(() => parseResourceTable([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => parseResourceTable(new Uint8Array(16), { decodeVendor: 5 as never })).toThrow(TypeError);
  });
});

describe("parseResourceTable: structural errors are AmpErrors with the offset", () => {
  it.each([
    ["short header", () => new Uint8Array(15), "ERR_TRUNCATED RSC_TABLE_TRUNCATED @0"],
    ["version 2", () => rawTable(16, [], 2), "ERR_UNSUPPORTED RSC_VERSION_UNSUPPORTED @0"],
    [
      "num over the limit",
      () => {
        const b = rawTable(16, []);
        u32le(b, 4, 65);
        return b;
      },
      "ERR_LIMIT RSC_TOO_MANY_ENTRIES @4",
    ],
    [
      "offset array past the end",
      () => {
        const b = rawTable(16, []);
        u32le(b, 4, 1);
        return b;
      },
      "ERR_MALFORMED RSC_OFFSET_ARRAY_OUT_OF_RANGE @4",
    ],
    ["offset past the end", () => rawTable(24, [0xfffffff0]), "ERR_MALFORMED RSC_OFFSET_OUT_OF_RANGE @16"],
    ["offset leaves no room for the type word", () => rawTable(24, [21]), "ERR_MALFORMED RSC_OFFSET_OUT_OF_RANGE @16"],
    ["truncated carveout", () => rawTable(20 + 55, [20]), "ERR_MALFORMED RSC_ENTRY_TRUNCATED @20"],
    [
      "truncated vdev header",
      () => {
        const b = rawTable(20 + 27, [20]);
        u32le(b, 20, 3);
        return b;
      },
      "ERR_MALFORMED RSC_ENTRY_TRUNCATED @20",
    ],
    [
      "vrings past the end",
      () => {
        const b = rawTable(20 + 28 + 20, [20]);
        u32le(b, 20, 3);
        b[45] = 2;
        return b;
      },
      "ERR_MALFORMED RSC_VDEV_VRINGS_TRUNCATED @45",
    ],
    [
      "config_len overflowing",
      () => {
        const b = rawTable(20 + 28, [20]);
        u32le(b, 20, 3);
        u32le(b, 40, 0xffffffff);
        return b;
      },
      "ERR_MALFORMED RSC_VDEV_CONFIG_TRUNCATED @40",
    ],
  ])("%s", (_name, make, expected) => {
    expect(code(() => parseResourceTable(make()))).toBe(expected);
  });

  it("wraps a throwing vendor hook in ERR_MALFORMED with the cause", () => {
    const t = rawTable(28, [20]);
    u32le(t, 20, 130);
    const boom = new Error("boom");
    let caught: unknown;
    try {
      parseResourceTable(t, {
        decodeVendor: () => {
          throw boom;
        },
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AmpError);
    expect((caught as AmpError).code).toBe("ERR_MALFORMED");
    expect((caught as AmpError).cause).toBe(boom);
    expect((caught as AmpError).message).toContain("RSC_VENDOR_DECODE_FAILED");
  });

  it("passes an AmpError from the vendor hook through unchanged", () => {
    const t = rawTable(28, [20]);
    u32le(t, 20, 130);
    const mine = new AmpError("ERR_UNSUPPORTED", "vendor v2");
    expect(() =>
      parseResourceTable(t, {
        decodeVendor: () => {
          throw mine;
        },
      }),
    ).toThrow(mine);
  });
});

describe("golden vectors (test/vectors)", () => {
  it("worked-example.json parses to the documented fields and re-serializes to the same hex", async () => {
    const { hex } = (await import("../vectors/worked-example.json")).default as { hex: string };
    const bytes = fromHex(hex);
    expect(toHex(bytes)).toBe(toHex(workedExample()));
    const t = parseResourceTable(bytes);
    expect(t.entries.map((e) => `${e.kind}@${e.offset}`)).toEqual(["vdev@24", "trace@92"]);
    expect(toHex(serializeResourceTable(t))).toBe(hex.replace(/\s+/g, ""));
  });
});
