// Parsed entries own their bytes: a Node Buffer's `.slice()` would be a view, so a caller that
// reuses its read buffer (readFileSync pool, a socket chunk) must not change a parsed table.
import { describe, expect, it } from "vitest";
import { createByteAccessor, parseResourceTable, serializeResourceTable } from "@amp/resource-table";

describe("input given as a Node Buffer", () => {
  it("config and vendor bytes are copies, not views into the caller's buffer", () => {
    const bytes = serializeResourceTable({
      entries: [
        { kind: "vdev", id: 7, dfeatures: 1, config: Uint8Array.of(1, 2, 3, 4), vrings: [{ align: 16, num: 4 }] },
        { kind: "vendor", type: 200, data: Uint8Array.of(5, 6, 7, 8) },
      ],
    });
    const buf = Buffer.from(bytes);
    const table = parseResourceTable(buf);
    buf.fill(0xee);
    const [vdev, vendor] = table.entries;
    expect(vdev?.kind === "vdev" ? [...vdev.config] : null).toEqual([1, 2, 3, 4]);
    expect(vendor?.kind === "vendor" ? [...vendor.data] : null).toEqual([5, 6, 7, 8]);
  });

  it("the byte accessor's read returns a copy", () => {
    const buf = Buffer.from([1, 2, 3, 4]);
    const got = createByteAccessor(buf).read(1, 2);
    buf.fill(0);
    expect([...got]).toEqual([2, 3]);
  });
});
