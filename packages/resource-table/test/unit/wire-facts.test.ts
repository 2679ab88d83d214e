// Focused tests for the facts of docs/wire-formats.md,
// "Where Linux, OpenAMP and rpmsg-lite differ, and what @amp does", the checks of "Resource table"
// and the behaviour-and-features.md §6 row 2 inputs ("for each resource type") that are not pinned
// one by one elsewhere.
import { describe, expect, it } from "vitest";
import {
  RSC_VDEV,
  ResourceTableView,
  createByteAccessor,
  isAmpError,
  parseResourceTable,
  serializeResourceTable,
  validateResourceTable,
  type ResourceInit,
} from "@amp/resource-table";
import { rawTable, u32le } from "../helpers.ts";

function failure(f: () => unknown): string {
  try {
    f();
    return "none";
  } catch (e) {
    return isAmpError(e) ? `${e.code} ${e.message.split(":")[0] ?? ""} @${String(e.offset)}` : `other ${String(e)}`;
  }
}
const codes = (b: Uint8Array): string[] => validateResourceTable(b).map((d) => `${d.code}@${d.offset}`);

describe("reserved fields must be 0 in every entry that has them", () => {
  // Entry at 20; the reserved word of carveout/devmem is at +20, of trace at +12.
  it.each<[string, ResourceInit, number]>([
    ["carveout", { kind: "carveout", da: 0x1000, len: 16 }, 40],
    ["devmem", { kind: "devmem", da: 0x1000, pa: 0x1000, len: 16 }, 40],
    ["trace", { kind: "trace", da: 0x1000, len: 16 }, 32],
  ])("%s.reserved", (_kind, entry, at) => {
    const b = serializeResourceTable({ entries: [entry] });
    expect(codes(b)).not.toContain(`RSC_RESERVED_NONZERO@${at}`);
    u32le(b, at, 0x8000_0000);
    expect(codes(b)).toContain(`RSC_RESERVED_NONZERO@${at}`);
    // A semantic problem: parse still decodes it and reports the value.
    expect(parseResourceTable(b).entries[0]).toMatchObject({ reserved: 0x8000_0000 });
  });

  it("vdev.reserved[1] alone is enough", () => {
    const b = serializeResourceTable({ entries: [{ kind: "vdev", id: 7 }] });
    b[20 + 27] = 1;
    expect(codes(b)).toContain("RSC_RESERVED_NONZERO@46");
  });

  it("two vrings are fine, three are an error (Linux's limit), and the vrings still decode", () => {
    const vr = { align: 16, num: 8 };
    expect(codes(serializeResourceTable({ entries: [{ kind: "vdev", id: 7, vrings: [vr, vr] }] }))).toEqual([]);
    const three = serializeResourceTable({ entries: [{ kind: "vdev", id: 7, vrings: [vr, vr, vr] }] });
    expect(codes(three)).toEqual(["RSC_VDEV_TOO_MANY_VRINGS@45"]);
    const e = parseResourceTable(three).entries[0];
    expect(e?.kind === "vdev" && e.vrings.length).toBe(3);
  });

  it("types 4..127 and above 512 are skipped with a warning, 128 and 512 are vendor, 127/513 are not", () => {
    for (const [type, kind] of [
      [4, "unsupported"],
      [127, "unsupported"],
      [128, "vendor"],
      [512, "vendor"],
      [513, "unsupported"],
    ] as const) {
      const b = rawTable(28, [20]);
      u32le(b, 20, type);
      expect(parseResourceTable(b).entries[0]?.kind).toBe(kind);
      const severities = validateResourceTable(b).map((d) => d.severity);
      expect(severities).not.toContain("error");
    }
  });
});

describe("behaviour §6 row 2: for each resource type, an entry that runs past the table", () => {
  // The entry's type word fits exactly at the end of the table; its body does not.
  it.each([
    { type: 0, kind: "carveout" },
    { type: 1, kind: "devmem" },
    { type: 2, kind: "trace" },
    { type: 3, kind: "vdev" },
  ])("type $type ($kind) with only its type word left", ({ type }) => {
    const b = rawTable(24, [20]);
    u32le(b, 20, type);
    expect(failure(() => parseResourceTable(b))).toBe("ERR_MALFORMED RSC_ENTRY_TRUNCATED @20");
    expect(codes(b)).toContain("RSC_ENTRY_TRUNCATED@20");
  });

  it("a vendor entry with only its type word has empty data (Linux defines no length)", () => {
    const b = rawTable(24, [20]);
    u32le(b, 20, 200);
    expect(parseResourceTable(b).entries[0]).toEqual({
      kind: "vendor",
      type: 200,
      offset: 20,
      data: new Uint8Array(0),
    });
  });

  it.each([
    { type: 0, kind: "carveout" },
    { type: 1, kind: "devmem" },
    { type: 2, kind: "trace" },
    { type: 3, kind: "vdev" },
    { type: 200, kind: "vendor" },
  ])("type $type ($kind) at an offset past the table end", ({ type }) => {
    const b = rawTable(24 + 4, [24]);
    u32le(b, 24, type);
    u32le(b, 16, 0x1_0000 + type);
    expect(failure(() => parseResourceTable(b))).toBe("ERR_MALFORMED RSC_OFFSET_OUT_OF_RANGE @16");
  });

  it("vrings and config_len are checked against what is left, without overflow (24 + 20n + config_len <= avail)", () => {
    // vdev at 20 in a 20 + 28 + 40 + 4 table: two vrings fit, then 4 bytes of config.
    const b = rawTable(20 + 28 + 40 + 4, [20]);
    u32le(b, 20, RSC_VDEV);
    b[45] = 2;
    for (const v of [48, 68]) {
      u32le(b, v + 4, 16);
      u32le(b, v + 8, 8);
    }
    u32le(b, 40, 4);
    expect(failure(() => parseResourceTable(b))).toBe("none");
    u32le(b, 40, 5);
    expect(failure(() => parseResourceTable(b))).toBe("ERR_MALFORMED RSC_VDEV_CONFIG_TRUNCATED @40");
    u32le(b, 40, 0xffff_ffff - 20 * 2 + 1); // 24 + 40 + config_len wraps a u32 to 24
    expect(failure(() => parseResourceTable(b))).toBe("ERR_MALFORMED RSC_VDEV_CONFIG_TRUNCATED @40");
  });
});

describe("the vdev is legacy: 32-bit feature words, written in place by the host", () => {
  it("gfeatures and the status byte are plain u32 / u8 fields the live view writes in place", () => {
    const bytes = serializeResourceTable({
      entries: [{ kind: "vdev", id: 7, dfeatures: 1, vrings: [{ align: 16, num: 8 }] }],
    });
    const view = new ResourceTableView(createByteAccessor(bytes));
    const vdev = view.vdev(view.findEntry(RSC_VDEV));
    vdev.gfeatures = 1;
    vdev.status = 0x07; // ACKNOWLEDGE | DRIVER | DRIVER_OK, no FEATURES_OK
    expect(() => {
      vdev.gfeatures = 2 ** 32;
    }).toThrow(RangeError); // VERSION_1 (bit 32) cannot be written
    expect(parseResourceTable(bytes).entries[0]).toMatchObject({ gfeatures: 1, status: 7 });
    expect([...bytes.subarray(36, 40)]).toEqual([1, 0, 0, 0]); // little-endian
  });
});
