import { describe, expect, it } from "vitest";
import {
  isAmpError,
  parseResourceTable,
  resourceTableSize,
  serializeResourceTable,
  validateResourceTable,
} from "@amp/resource-table";
import { rawTable, u32le, workedExample } from "../helpers.ts";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isAmpError(e) ? e.code : `not an AmpError: ${String(e)}`;
  }
  return undefined;
}

describe("resourceTableSize", () => {
  it("finds the size of the worked example inside a larger memory read", () => {
    const memory = new Uint8Array(4096).fill(0xee); // what follows the table is not the table
    memory.set(workedExample(), 0);
    expect(resourceTableSize(memory)).toBe(140);
  });

  it("counts vrings and config space of a vdev, and every fixed-size entry type", () => {
    const bytes = serializeResourceTable({
      entries: [
        { kind: "carveout", len: 0x1000, name: "c" },
        { kind: "devmem", da: 0, pa: 0, len: 0x1000, name: "d" },
        {
          kind: "vdev",
          id: 7,
          vrings: [
            { align: 16, num: 8 },
            { align: 16, num: 8 },
          ],
          config: new Uint8Array(12),
        },
        { kind: "trace", da: 0x100, len: 64, name: "t" },
      ],
    });
    const padded = new Uint8Array(bytes.length + 100);
    padded.set(bytes);
    expect(resourceTableSize(padded)).toBe(bytes.length);
    expect(parseResourceTable(padded.subarray(0, resourceTableSize(padded))).entries).toHaveLength(4);
  });

  it("takes the furthest entry, not the last in the offset array", () => {
    const b = rawTable(200, [120, 24]);
    u32le(b, 24, 2); // trace at 24: ends at 72
    u32le(b, 120, 2); // trace at 120: ends at 168
    expect(resourceTableSize(b)).toBe(168);
  });

  it("the OpenAMP Linux-machine sample's table (one vdev at offset 20, right after a 1-entry offset array)", () => {
    const bytes = serializeResourceTable({
      entries: [
        {
          kind: "vdev",
          id: 7,
          dfeatures: 1,
          notifyId: 0,
          vrings: [
            { da: 0x4000, align: 0x1000, num: 256, notifyId: 1 },
            { da: 0x8000, align: 0x1000, num: 256, notifyId: 2 },
          ],
        },
      ],
    });
    const memory = new Uint8Array(0x80000);
    memory.set(bytes);
    const size = resourceTableSize(memory);
    expect(size).toBe(16 + 4 + 4 + 24 + 2 * 20);
    expect(validateResourceTable(memory.subarray(0, size))).toEqual([]);
  });

  it("an empty table is its header", () => {
    expect(resourceTableSize(rawTable(64, []))).toBe(16);
  });

  it("a trailing vendor entry counts as its type word", () => {
    const b = rawTable(64, [20]);
    u32le(b, 20, 200);
    expect(resourceTableSize(b)).toBe(24);
  });

  it("says ERR_TRUNCATED with the number of bytes needed when the read was too short", () => {
    const full = workedExample();
    for (const cut of [0, 3, 15, 20, 30, 100, 139]) {
      let err: unknown;
      try {
        resourceTableSize(full.subarray(0, cut));
      } catch (e) {
        err = e;
      }
      expect(isAmpError(err) && err.code).toBe("ERR_TRUNCATED");
      const needed = (err as { offset: number }).offset;
      expect(needed).toBeGreaterThan(cut);
      expect(needed).toBeLessThanOrEqual(140);
    }
  });

  it("refuses what is not a table, and a hostile num or config_len", () => {
    expect(codeOf(() => resourceTableSize(new Uint8Array(64)))).toBe("ERR_UNSUPPORTED"); // ver 0: no table
    const many = rawTable(64, []);
    u32le(many, 4, 0xffffffff);
    expect(codeOf(() => resourceTableSize(many))).toBe("ERR_LIMIT");
    const huge = workedExample();
    u32le(huge, 24 + 20, 0xfffffff0); // vdev config_len
    expect(codeOf(() => resourceTableSize(huge))).toBe("ERR_TRUNCATED");
    const wild = rawTable(64, [0xfffffff0]);
    expect(codeOf(() => resourceTableSize(wild))).toBe("ERR_TRUNCATED");
  });

  it("reads big-endian tables when told", () => {
    const le = workedExample();
    const be = new Uint8Array(le.length);
    // Swap every u32 (the example has u32 fields only, besides the vdev's four status bytes).
    for (let o = 0; o < le.length; o += 4) for (let k = 0; k < 4; k++) be[o + k] = le[o + 3 - k] ?? 0;
    be.set(le.subarray(48, 52), 48); // status, num_of_vrings, reserved[2] are bytes
    expect(resourceTableSize(be, { endianness: "big" })).toBe(140);
  });

  it("checks its arguments", () => {
    expect(() => resourceTableSize([] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => resourceTableSize(workedExample(), { maxEntries: -1 })).toThrow(RangeError);
    expect(() => resourceTableSize(workedExample(), { endianness: "middle" as "big" })).toThrow(TypeError);
  });
});
