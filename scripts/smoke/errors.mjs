// Smoke test of the installed @amp/errors: one class for every package, the guard, the helpers.
import assert from "node:assert/strict";
import { AmpError, alignUp, concatBytes, hex, isAmpError } from "@amp/errors";
import { AmpError as RingAmpError, toSafeNumber } from "@amp/virtio-ring";
import { parseResourceTable } from "@amp/resource-table";

assert.equal(RingAmpError, AmpError);
let caught;
try {
  parseResourceTable(new Uint8Array(4));
} catch (e) {
  caught = e;
}
assert.ok(caught instanceof AmpError && isAmpError(caught) && caught.code === "ERR_TRUNCATED");
assert.throws(
  () => toSafeNumber(1n << 60n, "da"),
  (e) => e instanceof AmpError && e.code === "ERR_RANGE",
);
assert.equal(hex(alignUp(0x1234, 0x1000)), "0x2000");
assert.deepEqual([...concatBytes([Uint8Array.of(1), Uint8Array.of(2)])], [1, 2]);
console.log("@amp/errors: one AmpError class across resource-table and virtio-ring, guard and helpers work");
