// checkResourceTable is validate + parse in one walk: it must agree with both of them.
import { describe, expect, it } from "vitest";
import {
  RSC_ENTRY_FIELDS,
  checkResourceTable,
  parseResourceTable,
  serializeResourceTable,
  validateResourceTable,
} from "@amp/resource-table";
import { rawTable, u32le } from "../helpers.ts";

describe("checkResourceTable", () => {
  it("a clean table: the same table as parseResourceTable and the same (empty) diagnostics as validateResourceTable", () => {
    const bytes = serializeResourceTable({
      entries: [
        { kind: "carveout", name: "text", da: 0x1000, len: 0x1000 },
        { kind: "trace", name: "log", da: 0x2000, len: 256 },
        {
          kind: "vdev",
          id: 7,
          dfeatures: 1,
          vrings: [
            { num: 8, align: 16 },
            { num: 8, align: 16 },
          ],
          config: new Uint8Array([1, 2]),
        },
      ],
    });
    const { table, diagnostics } = checkResourceTable(bytes);
    expect(diagnostics).toEqual(validateResourceTable(bytes));
    expect(table).toEqual(parseResourceTable(bytes));
  });

  it("a table with an error diagnostic: no table, the diagnostics validateResourceTable gives", () => {
    const b = rawTable(16, []);
    u32le(b, 12, 1); // header reserved word
    const { table, diagnostics } = checkResourceTable(b);
    expect(table).toBeUndefined();
    expect(diagnostics).toEqual(validateResourceTable(b));
    expect(diagnostics.map((d) => d.code)).toContain("RSC_HEADER_RESERVED_NONZERO");
  });

  it("RSC_ENTRY_FIELDS names the offsets Linux's structs have (from the entry's type word)", () => {
    expect([
      RSC_ENTRY_FIELDS.CARVEOUT_DA,
      RSC_ENTRY_FIELDS.VDEV_DFEATURES,
      RSC_ENTRY_FIELDS.VDEV_STATUS,
      RSC_ENTRY_FIELDS.VDEV_VRINGS,
      RSC_ENTRY_FIELDS.VRING_NOTIFYID,
    ]).toEqual([4, 12, 24, 28, 12]);
  });
});
