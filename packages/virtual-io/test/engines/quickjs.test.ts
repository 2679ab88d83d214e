// The package bundled as one IIFE (platform neutral: no Node built-ins) runs in QuickJS: both
// sides of I2C, GPIO (with an interrupt) and SPI over real split virtqueues, promises driven by
// QuickJS's job queue. Proves the core needs nothing beyond ECMAScript 2020.
import { fileURLToPath } from "node:url";
import { getQuickJS } from "quickjs-emscripten";
import { expect, it } from "vitest";
import { bundleToString } from "@amp/test-utils";

it("runs in QuickJS", async () => {
  const code = await bundleToString(fileURLToPath(new URL("./quickjs-entry.ts", import.meta.url)), {
    format: "iife",
    globalName: "V",
    platform: "neutral",
  });
  const vm = (await getQuickJS()).newContext();
  try {
    const r = vm.evalCode(code, "entry.js", { type: "global" });
    if (r.error) throw new Error(`QuickJS: ${JSON.stringify(r.error.consume((h): unknown => vm.dump(h)))}`);
    r.value.dispose();
    let out: unknown = "pending";
    for (let i = 0; i < 100 && out === "pending"; i++) {
      vm.runtime.executePendingJobs();
      const h = vm.getProp(vm.global, "out");
      out = vm.dump(h);
      h.dispose();
    }
    expect(out).toBe("3,255,255,255,255,255,1,2 23.25 ERR_NACK 2 led 255,239,64,16");
  } finally {
    vm.dispose();
  }
});
