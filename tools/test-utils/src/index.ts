// Test-only helpers shared by every @amp package's tests. Node-only; never imported by src/.
export { toHex, fromHex } from "./hex.ts";
export { fcParams } from "./fast-check.ts";
export { bundleForWorker, bundleToString } from "./bundle.ts";
export { runReadmeExample, extractReadmeExample } from "./readme.ts";
export { which, requireTools, compileC, makeTempDir, run } from "./tools.ts";
export { splitElf } from "./split-elf.ts";
export type { SplitFiles } from "./split-elf.ts";
