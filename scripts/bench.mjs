#!/usr/bin/env node
// `pnpm bench`: builds, then runs every package's bench task one at a time (benchmarks share two
// cores with nothing else when run alone; parallel runs would measure each other).
import { spawnSync } from "node:child_process";
import { ensurePnpmOnPath, root } from "./pnpm-path.mjs";

ensurePnpmOnPath();
const filter = process.argv.slice(2);
const r = spawnSync("turbo", ["run", "bench", "--concurrency=1", "--output-logs=full", ...filter], { cwd: root, stdio: "inherit", env: process.env });
process.exit(r.status ?? 1);
