import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fcParams } from "@amp/test-utils";
import {
  ResourceTableView,
  createByteAccessor,
  isAmpError,
  parseResourceTable,
  serializeResourceTable,
  validateResourceTable,
  type ResourceTable,
} from "@amp/resource-table";
import { tableArb } from "../arbitraries.ts";

/** Parse, returning the table or the AmpError; anything else escapes and fails the property. */
function tryParse(bytes: Uint8Array, regionSize?: number): ResourceTable | { code: string; message: string } {
  try {
    return parseResourceTable(bytes, regionSize === undefined ? {} : { regionSize });
  } catch (e) {
    if (isAmpError(e)) return { code: e.code, message: e.message };
    throw e;
  }
}

/** A valid table with some bytes overwritten: the inputs most likely to reach deep code. */
const mutatedArb = fc
  .tuple(
    tableArb,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 6 }),
  )
  .map(([init, muts]) => {
    const b = serializeResourceTable(init);
    for (const [at, v, wide] of muts) {
      if (b.length === 0) break;
      const i = at % b.length;
      if (wide && i + 4 <= b.length) new DataView(b.buffer).setUint32(i, v === 0 ? 0xffff_ffff : v * 0x0101_0101, true);
      else b[i] = v;
    }
    return b;
  });

const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutatedArb);

describe("hostile input", () => {
  it("parse throws nothing but AmpError; validate never throws and agrees with parse", () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const r = tryParse(bytes);
        const diags = validateResourceTable(bytes);
        for (const d of diags) {
          expect(d.offset).toBeGreaterThanOrEqual(0);
          expect(d.offset).toBeLessThanOrEqual(Math.max(bytes.length, 16));
        }
        if ("code" in r) {
          // The structural problem parse stopped at is among the diagnostics.
          const code = r.message.split(":")[0];
          expect(diags.some((d) => d.code === code && d.severity === "error")).toBe(true);
        }
      }),
      fcParams(500),
    );
  });

  it("a prefix with the full regionSize either fails ERR_TRUNCATED or reads exactly what the full bytes give", () => {
    fc.assert(
      fc.property(anyBytes, fc.nat(), (bytes, cut) => {
        const k = bytes.length === 0 ? 0 : cut % bytes.length;
        const full = tryParse(bytes);
        const part = tryParse(bytes.slice(0, k), bytes.length);
        if ("code" in part && part.code === "ERR_TRUNCATED") return;
        expect(part).toEqual(full);
      }),
      fcParams(500),
    );
  });

  it("the live view over random memory throws only AmpError and never writes outside the table", () => {
    fc.assert(
      fc.property(
        anyBytes,
        fc.array(fc.tuple(fc.nat(8), fc.nat(4), fc.integer({ min: 0, max: 0xffff_ffff })), { maxLength: 10 }),
        (table, ops) => {
          const mem = new Uint8Array(table.length + 64).fill(0xee);
          mem.set(table, 32);
          const view = new ResourceTableView(createByteAccessor(mem), 32, { size: table.length });
          for (const [index, k, value] of ops) {
            try {
              const t = view.entryType(index);
              if (t === 0) {
                const c = view.carveout(index);
                c.da = value;
                c.pa = value;
                expect(typeof c.name).toBe("string");
              }
              if (t === 2) {
                const tr = view.trace(index);
                tr.da = value;
                expect(typeof tr.name).toBe("string");
              }
              if (t === 3) {
                const v = view.vdev(index);
                v.status = value & 0xff;
                v.gfeatures = value;
                const r = v.vring(k);
                r.da = value;
                r.notifyId = value;
                expect(v.readConfig(0, Math.min(v.configLen, 8)).length).toBeLessThanOrEqual(8);
              }
            } catch (e) {
              if (!isAmpError(e)) throw e;
            }
          }
          expect(mem.subarray(0, 32).every((x) => x === 0xee)).toBe(true);
          expect(mem.subarray(32 + table.length).every((x) => x === 0xee)).toBe(true);
        },
      ),
      fcParams(300),
    );
  });

  it("num = 0xFFFFFFFF and offsets at 0xFFFFFFFF are rejected quickly", () => {
    const b = new Uint8Array(64).fill(0xff);
    new DataView(b.buffer).setUint32(0, 1, true);
    expect(tryParse(b)).toMatchObject({ code: "ERR_LIMIT" });
    expect(tryParse(b.slice(), 64)).toMatchObject({ code: "ERR_LIMIT" });
  });
});
