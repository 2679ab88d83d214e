#!/usr/bin/env node
// The README's test command runs this: repository rules (layering, formatting, a changeset for
// every changed package), then build, typecheck, lint and every package's tests through turbo
// (with v8 coverage, AMP_COVERAGE=1), then the packaging checks, and always the closing summary
// (per-package coverage table, then the "N passed, N failed, N skipped" line, also when an earlier
// step failed, so CI shows what passed). Exit code: non-zero if any step failed.
import { spawnSync } from "node:child_process";
import { rmSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ensurePnpmOnPath, root } from "./pnpm-path.mjs";

ensurePnpmOnPath();

// Stale reports from an earlier run must not be counted: turbo restores them on a cache hit.
for (const group of ["packages", "examples"]) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) rmSync(join(dir, name, "test-results"), { recursive: true, force: true });
}

// Every package's vitest collects v8 coverage of its src/ (vitest.shared.ts); turbo hashes this
// variable for the test task, so a cached result without coverage is never replayed.
process.env.AMP_COVERAGE ??= "1";

const steps = [
  ["layering and dependency rules", ["node", "scripts/check-layers.mjs"]],
  ["formatting (prettier --check; `corepack pnpm format` fixes it)", ["prettier", "--check", ".", "--log-level=warn"]],
  ["changesets: every changed package has one", ["node", "scripts/check-changesets.mjs"]],
  [
    "build, typecheck, lint, test (with coverage)",
    [
      "turbo",
      "run",
      "build",
      "typecheck",
      "lint",
      "test",
      "--output-logs=errors-only",
      "--continue",
      "--concurrency=2",
    ],
  ],
  ["package exports (publint, attw)", ["node", "scripts/check-packages.mjs"]],
  ["packed tarballs: install, smoke, amp --help, consumer tsc", ["node", "scripts/check-install.mjs"]],
  ["docs: links and API reference", ["node", "scripts/check-docs.mjs"]],
];
let failedSteps = 0;
for (const [title, [cmd, ...args]] of steps) {
  console.log(`\n== ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: process.env });
  if (r.status !== 0) {
    failedSteps++;
    console.log(`!! step failed: ${title} (exit ${r.status ?? r.signal})`);
  }
}
console.log("\n== summary");
const s = spawnSync("node", ["scripts/test-summary.mjs"], { cwd: root, stdio: "inherit" });
if (failedSteps > 0 && s.status === 0) console.log(`${failedSteps} step(s) outside the test runner failed`);
process.exit(failedSteps > 0 || s.status !== 0 ? 1 : 0);
