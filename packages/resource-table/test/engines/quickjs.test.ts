// The package must run in small engines (DESIGN.md: the remote side runs in QuickJS-class
// engines): bundle the sources as an IIFE and run a build/parse/validate/live-edit round in
// QuickJS, which has no TextEncoder, no console and no Node globals.
import { fileURLToPath } from "node:url";
import { getQuickJS } from "quickjs-emscripten";
import { expect, it } from "vitest";
import { bundleToString } from "@amp/test-utils";

it("builds, parses, validates and live-edits a table inside QuickJS", async () => {
  const entry = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
  const lib = await bundleToString(entry, { format: "iife", globalName: "RT" });
  const script = `
    const bytes = RT.serializeResourceTable({ entries: [
      { kind: "carveout", len: 0x4000, name: "vdev0buffer" },
      { kind: "trace", da: 0x2000f000, len: 0x1000, name: "trace-é" },
      { kind: "vdev", id: 7, dfeatures: 1, vrings: [{ align: 4096, num: 16 }, { align: 4096, num: 16 }] },
    ] });
    const view = new RT.ResourceTableView(RT.createByteAccessor(bytes));
    view.vdev(2).status = 7;
    const t = RT.parseResourceTable(bytes);
    let err = "";
    try { RT.parseResourceTable(bytes.subarray(0, 100)); } catch (e) { err = RT.isAmpError(e) ? e.code : "not AmpError"; }
    JSON.stringify({ size: bytes.length, kinds: t.entries.map((e) => e.kind), name: t.entries[1].name,
      status: t.entries[2].status, diags: RT.validateResourceTable(bytes).length, err,
      c: RT.generateResourceTableC(t).includes("offsetof(struct amp_resource_table, vdev0)") });
  `;
  const QuickJS = await getQuickJS();
  const out = QuickJS.evalCode(`${lib}\n${script}`) as string;
  expect(JSON.parse(out)).toEqual({
    size: 200,
    kinds: ["carveout", "trace", "vdev"],
    name: "trace-é",
    status: 7,
    diags: 0,
    err: "ERR_MALFORMED",
    c: true,
  });
});
