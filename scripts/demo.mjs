#!/usr/bin/env node
// The README's first quick-start command ends here: build every package, then run the main job.
// The main job is `amp demo` (the whole life cycle on a simulated remote processor) when the CLI
// provides it; its arguments pass through (`pnpm demo -- --help`).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ensurePnpmOnPath, root } from "./pnpm-path.mjs";

ensurePnpmOnPath();
const build = spawnSync("turbo", ["run", "build", "--output-logs=errors-only"], {
  cwd: root,
  stdio: "inherit",
  env: process.env,
});
if (build.status !== 0) process.exit(build.status ?? 1);
const amp = join(root, "packages", "cli", "dist", "bin.js");
if (!existsSync(amp)) {
  console.error("amp CLI not built: packages/cli/dist/bin.js is missing");
  process.exit(1);
}
const r = spawnSync(process.execPath, [amp, "demo", ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
