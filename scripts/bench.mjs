#!/usr/bin/env node
// `pnpm bench`: builds, then runs every package's bench task one at a time (benchmarks share two
// cores with nothing else when run alone; parallel runs would measure each other), then the
// side-by-side OpenAMP C vs @amp bench (scripts/bench-openamp.mjs). That one builds OpenAMP from
// the pinned sources; when the C side cannot be built it fails the whole run, loudly. Opt out
// explicitly with AMP_BENCH_OPENAMP=0 (said in the output), or pass turbo filters to run only
// those packages' benches.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import console from "node:console";
import process from "node:process";
import { ensurePnpmOnPath, root } from "./pnpm-path.mjs";

ensurePnpmOnPath();
const filter = process.argv.slice(2);
const r = spawnSync("turbo", ["run", "bench", "--concurrency=1", "--output-logs=full", ...filter], {
  cwd: root,
  stdio: "inherit",
  env: process.env,
});
if (r.status !== 0) process.exit(r.status ?? 1);
if (filter.length > 0) {
  console.log(
    "bench: turbo filters given, so the OpenAMP side-by-side bench is not run (run it with `pnpm bench:openamp`)",
  );
} else if (process.env.AMP_BENCH_OPENAMP === "0") {
  console.log("bench: AMP_BENCH_OPENAMP=0: the OpenAMP side-by-side bench is NOT run");
} else {
  const o = spawnSync(process.execPath, [join(root, "scripts", "bench-openamp.mjs")], {
    cwd: root,
    stdio: "inherit",
    env: process.env,
  });
  if (o.status !== 0) {
    console.error(
      `bench: the OpenAMP side-by-side bench FAILED (${o.status ?? o.signal}); see above. Set AMP_BENCH_OPENAMP=0 to leave it out on purpose.`,
    );
    process.exit(o.status ?? 1);
  }
}
