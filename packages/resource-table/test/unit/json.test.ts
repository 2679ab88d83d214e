import { describe, expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import {
  parseResourceTable,
  resourceTableFromJson,
  resourceTableToJson,
  serializeResourceTable,
} from "@amp/resource-table";

const table = parseResourceTable(
  serializeResourceTable({
    entries: [
      { kind: "carveout", da: 0x1000, len: 0x100, name: "c" },
      { kind: "vdev", id: 3, config: new Uint8Array([0xde, 0xad]), vrings: [{ align: 16, num: 4 }] },
      { kind: "vendor", type: 300, data: new Uint8Array([1, 2, 3, 4]) },
      { kind: "unsupported", type: 9, data: new Uint8Array([0xff]) },
    ],
  }),
);

describe("JSON form", () => {
  it("turns byte arrays into hex and survives JSON.stringify/parse", () => {
    const json = resourceTableToJson(table);
    const text = JSON.stringify(json);
    expect(text).toContain('"config":"dead"');
    expect(text).toContain('"data":"01020304"');
    const back = serializeResourceTable(resourceTableFromJson(JSON.parse(text)));
    expect(toHex(back)).toBe(toHex(serializeResourceTable(table)));
  });

  it("reads hand-written JSON with hex-string numbers and defaults", () => {
    const init = resourceTableFromJson({
      entries: [
        { kind: "trace", da: "0x20000000", len: "4096", name: "trace" },
        { kind: "vdev", id: 7, vrings: [{ align: "0x1000", num: 16 }] },
      ],
    });
    const t = parseResourceTable(serializeResourceTable(init));
    expect(t.entries[0]).toMatchObject({ kind: "trace", da: 0x2000_0000, len: 4096, name: "trace" });
    expect(t.entries[1]).toMatchObject({ kind: "vdev", id: 7, vrings: [{ align: 4096, num: 16 }] });
  });

  it("keeps ver, size, reserved and the vdev reserved pair", () => {
    const init = resourceTableFromJson({
      ver: 1,
      size: 128,
      reserved: [0, 0],
      entries: [{ kind: "vdev", id: 1, reserved: [0, 0] }],
    });
    expect(serializeResourceTable(init).length).toBe(128);
  });

  it.each([
    ["not an object", 5],
    ["no entries", {}],
    ["an entry that is not an object", { entries: [1] }],
    ["a bad number", { entries: [{ kind: "trace", da: "zz", len: 0 }] }],
    ["a fractional number", { entries: [{ kind: "trace", da: 1.5, len: 0 }] }],
    ["bad hex", { entries: [{ kind: "vendor", type: 128, data: "abc" }] }],
    ["hex that is not a string", { entries: [{ kind: "vendor", type: 128, data: 12 }] }],
    ["vrings that are not an array", { entries: [{ kind: "vdev", id: 1, vrings: {} }] }],
    ["a reserved pair of the wrong length", { reserved: [0], entries: [] }],
  ])("rejects %s with TypeError", (_what, json) => {
    expect(() => resourceTableFromJson(json)).toThrow(TypeError);
  });
});
