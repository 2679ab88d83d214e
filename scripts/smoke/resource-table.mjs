// Smoke test of the installed @amp/resource-table: build a table, decode it, validate it.
import assert from "node:assert/strict";
import {
  FW_RSC_ADDR_ANY,
  parseResourceTable,
  serializeResourceTable,
  validateResourceTable,
} from "@amp/resource-table";

const bytes = serializeResourceTable({
  entries: [
    { kind: "carveout", da: FW_RSC_ADDR_ANY, len: 0x4000, name: "vdev0buffer" },
    { kind: "trace", da: 0x2000_f000, len: 0x1000, name: "trace" },
    {
      kind: "vdev",
      id: 7,
      dfeatures: 1,
      vrings: [
        { align: 4096, num: 16 },
        { align: 4096, num: 16 },
      ],
    },
  ],
});
assert.equal(bytes.length, 200);
assert.deepEqual(
  parseResourceTable(bytes).entries.map((e) => `${e.kind}@${e.offset}`),
  ["carveout@28", "trace@84", "vdev@132"],
);
assert.equal(validateResourceTable(bytes).length, 0);
console.log("@amp/resource-table: 200-byte table, 3 entries, valid");
