import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { toHex } from "@amp/test-utils";
import { parseResourceTable, serializeResourceTable, validateResourceTable } from "@amp/resource-table";
// The generator script, resolved against the package sources by vitest.
import { examplePath, exampleTable } from "../../scripts/make-example.mjs";

it("examples/firmware/rpmsg-echo.rsc.bin is what scripts/make-example.mjs generates", () => {
  const checkedIn = new Uint8Array(readFileSync(examplePath));
  expect(toHex(serializeResourceTable(exampleTable))).toBe(toHex(checkedIn));
});

it("the example is a clean rpmsg table: carveout, trace, vdev with 2 vrings", () => {
  const bytes = new Uint8Array(readFileSync(examplePath));
  expect(validateResourceTable(bytes)).toEqual([]);
  const t = parseResourceTable(bytes);
  expect(t.entries.map((e) => e.kind)).toEqual(["carveout", "trace", "vdev"]);
  const vdev = t.entries[2];
  expect(vdev?.kind === "vdev" && [vdev.id, vdev.vrings.length]).toEqual([7, 2]);
});
