// fast-check generators of table descriptions (valid for the builder, not necessarily clean
// for the validator: values span the whole u32 range).
import fc from "fast-check";
import type { ResourceInit, ResourceTableInit } from "@amp/resource-table";

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u8 = fc.integer({ min: 0, max: 255 });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });
/** Names that encode: no NUL, no lone surrogate, at most 31 UTF-8 bytes. */
const name = fc.string({ unit: "binary", maxLength: 12 }).filter((s) => {
  if (s.includes("\0")) return false;
  try {
    encodeURIComponent(s);
  } catch {
    return false;
  }
  return Buffer.byteLength(s, "utf8") <= 31;
});

export const entryArb: fc.Arbitrary<ResourceInit> = fc.oneof(
  fc.record({ kind: fc.constant("carveout" as const), da: u32, pa: u32, len: u32, flags: u32, reserved: u32, name }),
  fc.record({ kind: fc.constant("devmem" as const), da: u32, pa: u32, len: u32, flags: u32, reserved: u32, name }),
  fc.record({ kind: fc.constant("trace" as const), da: u32, len: u32, reserved: u32, name }),
  fc.record({
    kind: fc.constant("vdev" as const),
    id: u32,
    notifyId: u32,
    dfeatures: u32,
    gfeatures: u32,
    status: u8,
    reserved: fc.tuple(u8, u8),
    vrings: fc.array(fc.record({ da: u32, align: u32, num: u32, notifyId: u32, pa: u32 }), { maxLength: 4 }),
    config: bytes(24),
  }),
  fc.record({ kind: fc.constant("vendor" as const), type: fc.integer({ min: 128, max: 512 }), data: bytes(24) }),
  fc.record({
    kind: fc.constant("unsupported" as const),
    type: fc.oneof(fc.integer({ min: 4, max: 127 }), fc.integer({ min: 513, max: 0xffff_ffff })),
    data: bytes(24),
  }),
);

export const tableArb: fc.Arbitrary<ResourceTableInit> = fc.record({
  reserved: fc.oneof(fc.constant([0, 0] as [number, number]), fc.tuple(u32, u32)),
  entries: fc.array(entryArb, { maxLength: 8 }),
});
