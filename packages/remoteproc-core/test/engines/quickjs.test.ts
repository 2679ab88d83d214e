// The package bundled as one IIFE runs in QuickJS (no Node, no DOM, no timers): boot a remote
// with a generated resource table and a vdev, crash it, recover it, shut it down.
import { join } from "node:path";
import { getQuickJS } from "quickjs-emscripten";
import { expect, it } from "vitest";
import { bundleToString } from "@amp/test-utils";

it("runs the life cycle in QuickJS", async () => {
  const entry = join(import.meta.dirname, "quickjs-entry.ts");
  const lib = await bundleToString(entry, { format: "iife", globalName: "AmpRproc" });
  const QuickJS = await getQuickJS();
  const vm = QuickJS.newContext();
  try {
    vm.unwrapResult(
      vm.evalCode(
        `${lib}\nglobalThis.result = "pending"; AmpRproc.run().then((r) => { globalThis.result = r; }, (e) => { globalThis.result = "error: " + e.message; });`,
      ),
    ).dispose();
    for (let i = 0; i < 1000; i++) {
      const jobs = vm.runtime.executePendingJobs();
      const n = vm.unwrapResult(jobs);
      if (n === 0) break;
    }
    const handle = vm.getProp(vm.global, "result");
    const value: unknown = vm.dump(handle);
    handle.dispose();
    expect(value).toBe("running vdev7 running/1 offline 0");
  } finally {
    vm.dispose();
  }
});
