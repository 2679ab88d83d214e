// Big-endian tables (issue 15 item 7): firmware built for a big-endian remote
// (arm-none-eabi-gcc -mbig-endian) stores every u32 of its table in its own byte order, and the
// remote reads them that way. Decoding such a table little-endian sees version 0x01000000.
import { describe, expect, it } from "vitest";
import {
  parseResourceTable,
  serializeResourceTable,
  validateResourceTable,
  type ResourceInit,
} from "@amp/resource-table";
import { workedExample } from "../helpers.ts";

/** The same table with every u32 field byte-swapped (names and u8 fields stay as they are). */
function swapTable(le: Uint8Array, u32Offsets: readonly number[]): Uint8Array {
  const out = le.slice();
  const v = new DataView(out.buffer);
  for (const o of u32Offsets) v.setUint32(o, v.getUint32(o, true), false);
  return out;
}

// The worked example: header (ver, num, reserved x2), 2 offsets, vdev at 24 (type, id,
// notifyid, dfeatures, gfeatures, config_len; 2 vrings of 5 words at 52 and 72), trace at 92
// (type, da, len, reserved).
const WORKED_U32S = [
  0,
  4,
  8,
  12,
  16,
  20,
  24,
  28,
  32,
  36,
  40,
  44,
  ...[52, 72].flatMap((v) => [v, v + 4, v + 8, v + 12, v + 16]),
  92,
  96,
  100,
  104,
];

describe("byte order", () => {
  it("decodes a big-endian table with endianness: big to the same model as its little-endian twin", () => {
    const le = workedExample();
    const be = swapTable(le, WORKED_U32S);
    const want = parseResourceTable(le);
    expect(parseResourceTable(be, { endianness: "big" })).toEqual(want);
    expect(validateResourceTable(be, { endianness: "big" })).toEqual(validateResourceTable(le));
    expect(parseResourceTable(le, { endianness: "little" })).toEqual(want);
  });

  it("read little-endian, a big-endian table is version 16777216 (what amp inspect used to say)", () => {
    const be = swapTable(workedExample(), WORKED_U32S);
    expect(validateResourceTable(be).map((d) => d.code)).toEqual(["RSC_VERSION_UNSUPPORTED"]);
    expect(() => parseResourceTable(be)).toThrow(/version 16777216/);
  });

  it("checks ranges and offsets in the table's own byte order", () => {
    const entries: ResourceInit[] = [{ kind: "carveout", name: "c", da: 0xffff_f000, len: 0x2000 }];
    const le = serializeResourceTable({ entries });
    const be = swapTable(le, [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40]);
    expect(validateResourceTable(be, { endianness: "big" }).map((d) => `${d.code}@${d.offset}`)).toEqual([
      "RSC_ADDRESS_RANGE_WRAPS@24",
    ]);
  });

  it("refuses a bad endianness option as misuse", () => {
    expect(() => parseResourceTable(workedExample(), { endianness: "middle" as "big" })).toThrow(TypeError);
  });
});
