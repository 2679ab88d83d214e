// The floor of every runtime-agnostic package must itself run in small engines: bundle the
// sources as an IIFE and throw, guard and format inside QuickJS (no console, no Node globals).
import { fileURLToPath } from "node:url";
import { getQuickJS } from "quickjs-emscripten";
import { expect, it } from "vitest";
import { bundleToString } from "@amp/test-utils";

it("throws, checks and formats inside QuickJS", async () => {
  const entry = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
  const lib = await bundleToString(entry, { format: "iife", globalName: "E" });
  const script = `
    let out;
    try { throw new E.AmpError("ERR_TRUNCATED", "short at " + E.hex(0x20), { offset: 32 }); }
    catch (e) { out = { is: E.isAmpError(e) && e.code === "ERR_TRUNCATED", inst: e instanceof E.AmpError, name: e.name, offset: e.offset, msg: e.message }; }
    out.align = E.alignUp(0x1234, 0x1000);
    out.bytes = Array.from(E.concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]));
    JSON.stringify(out);
  `;
  const QuickJS = await getQuickJS();
  const result = QuickJS.evalCode(`${lib}\n${script}`) as string;
  expect(JSON.parse(result)).toEqual({
    is: true,
    inst: true,
    name: "AmpError",
    offset: 32,
    msg: "short at 0x20",
    align: 0x2000,
    bytes: [1, 2, 3],
  });
});
