// The package bundled as one IIFE runs in QuickJS (no Node, no DOM): parse an image, load it
// through a sink, write and read back a coredump.
import { join } from "node:path";
import { getQuickJS } from "quickjs-emscripten";
import { expect, it } from "vitest";
import { bundleToString } from "@amp/test-utils";

it("runs in QuickJS", async () => {
  const lib = await bundleToString(join(import.meta.dirname, "..", "..", "src", "index.ts"), {
    format: "iife",
    globalName: "AmpElf",
  });
  const QuickJS = await getQuickJS();
  const vm = QuickJS.newContext();
  try {
    const script = `${lib}
      const E = AmpElf;
      const mem = new Uint8Array(0x100);
      const chunks = [];
      for (const c of E.coredumpChunks({ elfClass: 32, machine: 40, entry: 0x10n, regions: [{ da: 0x10n, size: 8n }] },
        (r, i, off, out) => { for (let k = 0; k < out.length; k++) out[k] = Number(off) + k + 1; return true; })) chunks.push(c);
      const core = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0; for (const c of chunks) { core.set(c, at); at += c.length; }
      const r = E.loadElf(core, { write: (pa, b) => mem.set(b, Number(pa)), fill: (pa, n, v) => mem.fill(v, Number(pa), Number(pa + n)) });
      let bad = "none";
      try { E.parseElf(new Uint8Array([1, 2, 3, 4])); } catch (e) { bad = E.isAmpError(e) ? e.code : "other"; }
      [String(r.entry), Array.from(mem.subarray(0x10, 0x18)).join(","), E.readCoredump(core).regions.length, bad].join(" ");`;
    const result = vm.evalCode(script);
    const handle = vm.unwrapResult(result);
    const value: unknown = vm.dump(handle);
    handle.dispose();
    expect(value).toBe("16 1,2,3,4,5,6,7,8 1 ERR_MALFORMED");
  } finally {
    vm.dispose();
  }
});
