import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import {
  FW_RSC_ADDR_ANY,
  RSC_NOTIFY_ID_ANY,
  buildResourceTable,
  parseResourceTable,
  serializeResourceTable,
  type ResourceInit,
} from "@amp/resource-table";
import { getU32le, workedExample } from "../helpers.ts";

describe("buildResourceTable", () => {
  it("computes packed offsets: header, offset array, entries in order", () => {
    const t = buildResourceTable({
      entries: [
        {
          kind: "vdev",
          id: 7,
          dfeatures: 1,
          notifyId: 0,
          vrings: [
            { align: 4096, num: 256, notifyId: 0 },
            { align: 4096, num: 256, notifyId: 0 },
          ],
        },
        { kind: "trace", da: 0x2000_0000, len: 1024, name: "trace" },
      ],
    });
    expect(t.entries.map((e) => e.offset)).toEqual([24, 92]);
    expect(t.size).toBe(140);
    // The same bytes as the typical table (docs/wire-formats.md, "A typical table").
    expect(toHex(serializeResourceTable(t))).toBe(toHex(workedExample()));
  });

  it("fills the defaults", () => {
    const t = buildResourceTable({
      entries: [
        { kind: "carveout", len: 0x1000 },
        { kind: "vdev", id: 7, vrings: [{ align: 16, num: 8 }] },
      ],
    });
    expect(t.ver).toBe(1);
    expect(t.reserved).toEqual([0, 0]);
    expect(t.entries[0]).toEqual({
      kind: "carveout",
      type: 0,
      offset: 24,
      da: FW_RSC_ADDR_ANY,
      pa: FW_RSC_ADDR_ANY,
      len: 0x1000,
      flags: 0,
      reserved: 0,
      name: "",
    });
    expect(t.entries[1]).toMatchObject({
      kind: "vdev",
      type: 3,
      notifyId: RSC_NOTIFY_ID_ANY,
      dfeatures: 0,
      gfeatures: 0,
      configLen: 0,
      status: 0,
      numOfVrings: 1,
      reserved: [0, 0],
      vrings: [{ da: FW_RSC_ADDR_ANY, align: 16, num: 8, notifyId: RSC_NOTIFY_ID_ANY, pa: 0 }],
    });
  });

  it("aligns computed offsets when asked", () => {
    const entries: ResourceInit[] = [
      { kind: "vendor", type: 200, data: new Uint8Array(3) },
      { kind: "trace", da: 0, len: 0 },
    ];
    expect(buildResourceTable({ entries }).entries.map((e) => e.offset)).toEqual([24, 31]);
    expect(buildResourceTable({ entries }, { align: 8 }).entries.map((e) => e.offset)).toEqual([24, 32]);
    expect(() => buildResourceTable({ entries }, { align: 3 })).toThrow(RangeError);
  });

  it("keeps explicit offsets and places the following entries after them", () => {
    const t = buildResourceTable({
      entries: [
        { kind: "trace", da: 0, len: 0, offset: 64 },
        { kind: "trace", da: 0, len: 0 },
      ],
    });
    expect(t.entries.map((e) => e.offset)).toEqual([64, 112]);
    expect(t.size).toBe(160);
    const bytes = serializeResourceTable(t);
    expect(getU32le(bytes, 16)).toBe(64);
    expect(toHex(bytes.subarray(24, 64))).toBe("00".repeat(40));
  });

  it("pads to `size`", () => {
    const bytes = serializeResourceTable({ size: 256, entries: [{ kind: "trace", da: 1, len: 2 }] });
    expect(bytes.length).toBe(256);
    expect(parseResourceTable(bytes).size).toBe(256);
  });

  it.each<[string, () => unknown, typeof RangeError | typeof TypeError]>([
    [
      "a name of 32 bytes",
      () => buildResourceTable({ entries: [{ kind: "trace", da: 0, len: 0, name: "x".repeat(32) }] }),
      RangeError,
    ],
    [
      "a name with a NUL",
      () => buildResourceTable({ entries: [{ kind: "trace", da: 0, len: 0, name: "a\0b" }] }),
      RangeError,
    ],
    ["a negative da", () => buildResourceTable({ entries: [{ kind: "trace", da: -1, len: 0 }] }), RangeError],
    ["a da of 2^32", () => buildResourceTable({ entries: [{ kind: "carveout", da: 2 ** 32, len: 0 }] }), RangeError],
    ["a fractional len", () => buildResourceTable({ entries: [{ kind: "carveout", len: 1.5 }] }), RangeError],
    ["a status of 256", () => buildResourceTable({ entries: [{ kind: "vdev", id: 1, status: 256 }] }), RangeError],
    [
      "numOfVrings not matching",
      () => buildResourceTable({ entries: [{ kind: "vdev", id: 1, numOfVrings: 2 }] }),
      RangeError,
    ],
    [
      "configLen not matching",
      () => buildResourceTable({ entries: [{ kind: "vdev", id: 1, configLen: 4 }] }),
      RangeError,
    ],
    ["a vendor type out of range", () => buildResourceTable({ entries: [{ kind: "vendor", type: 127 }] }), RangeError],
    [
      "an unsupported type that is standard",
      () => buildResourceTable({ entries: [{ kind: "unsupported", type: 3 }] }),
      RangeError,
    ],
    [
      "a type not matching the kind",
      () => buildResourceTable({ entries: [{ kind: "trace", type: 0 as 2, da: 0, len: 0 }] }),
      RangeError,
    ],
    [
      "an offset inside the header",
      () => buildResourceTable({ entries: [{ kind: "trace", da: 0, len: 0, offset: 16 }] }),
      RangeError,
    ],
    [
      "overlapping entries",
      () =>
        buildResourceTable({
          entries: [
            { kind: "trace", da: 0, len: 0, offset: 24 },
            { kind: "trace", da: 0, len: 0, offset: 30 },
          ],
        }),
      RangeError,
    ],
    [
      "a size too small",
      () => buildResourceTable({ size: 50, entries: [{ kind: "trace", da: 0, len: 0 }] }),
      RangeError,
    ],
    [
      "an unknown kind",
      () => buildResourceTable({ entries: [{ kind: "bogus" } as unknown as ResourceInit] }),
      TypeError,
    ],
    ["no entries array", () => buildResourceTable({} as never), TypeError],
    [
      "config that is not bytes",
      () => buildResourceTable({ entries: [{ kind: "vdev", id: 1, config: [1] as unknown as Uint8Array }] }),
      TypeError,
    ],
    [
      "a lone surrogate in a name",
      () => buildResourceTable({ entries: [{ kind: "trace", da: 0, len: 0, name: "\ud800" }] }),
      RangeError,
    ],
  ])("rejects %s", (_what, f, type) => {
    expect(f).toThrow(type);
  });

  it("encodes the largest name that fits (31 bytes, UTF-8)", () => {
    const name = "é".repeat(15) + "x"; // 31 bytes
    const bytes = serializeResourceTable({ entries: [{ kind: "trace", da: 0, len: 0, name }] });
    const e = parseResourceTable(bytes).entries[0];
    expect(e?.kind === "trace" && e.name).toBe(name);
    expect(bytes[20 + 16 + 31]).toBe(0);
    expect(() => serializeResourceTable({ entries: [{ kind: "trace", da: 0, len: 0, name: "é".repeat(16) }] })).toThrow(
      RangeError,
    );
  });

  it("round-trips names with 2-, 3- and 4-byte UTF-8 characters", () => {
    const name = "ñ€𝄞ok";
    const e = parseResourceTable(serializeResourceTable({ entries: [{ kind: "carveout", len: 1, name }] })).entries[0];
    expect(e?.kind === "carveout" && e.name).toBe(name);
  });

  it("copies byte arrays so later edits of the input do not leak in", () => {
    const data = new Uint8Array([1, 2]);
    const t = buildResourceTable({ entries: [{ kind: "vendor", type: 129, data }] });
    data[0] = 9;
    expect(t.entries[0]?.kind === "vendor" && t.entries[0].data[0]).toBe(1);
  });
});

describe("names decode up to the first NUL", () => {
  it("ignores bytes after the NUL", () => {
    const bytes = serializeResourceTable({ entries: [{ kind: "trace", da: 0, len: 0, name: "abc" }] });
    bytes.set([0x7a, 0x7a], 36 + 5);
    const e = parseResourceTable(bytes).entries[0];
    expect(e?.kind === "trace" && e.name).toBe("abc");
  });

  it("decodes a 32-byte name without NUL in full (and validate reports it)", () => {
    const bytes = serializeResourceTable({ entries: [{ kind: "trace", da: 0, len: 0 }] });
    bytes.fill(0x41, 36, 68);
    const e = parseResourceTable(bytes).entries[0];
    expect(e?.kind === "trace" && e.name).toBe("A".repeat(32));
  });

  it("replaces invalid UTF-8 (overlong, surrogate, truncated) with U+FFFD", () => {
    for (const seq of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80]]) {
      const bytes = serializeResourceTable({ entries: [{ kind: "trace", da: 0, len: 0 }] });
      bytes.set(seq, 36);
      const e = parseResourceTable(bytes).entries[0];
      expect(e?.kind === "trace" && e.name.includes("\ufffd")).toBe(true);
    }
  });
});
