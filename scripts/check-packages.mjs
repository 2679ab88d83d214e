#!/usr/bin/env node
// Packaging checks for every public package: publint (exports map, files) and
// @arethetypeswrong/cli (types resolve for ESM consumers under node16 and bundler resolution).
// Runs on built packages (dist/ present), after turbo's build.
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const bin = (n) => join(root, "node_modules", ".bin", n);
let failures = 0;
for (const name of readdirSync(join(root, "packages")).sort()) {
  const dir = join(root, "packages", name);
  if (!existsSync(join(dir, "package.json"))) continue;
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  if (pkg.private) continue;
  const pub = spawnSync(bin("publint"), ["--strict", "--pack", "npm"], { cwd: dir, encoding: "utf8" });
  // ESM-only packages: the CJS-resolution column is not a target (STYLE.md point 3).
  const attw = spawnSync(bin("attw"), ["--pack", ".", "--profile", "esm-only", "--format", "table-flipped"], { cwd: dir, encoding: "utf8" });
  const ok = pub.status === 0 && attw.status === 0;
  console.log(`${ok ? "ok  " : "FAIL"} ${pkg.name}`);
  if (!ok) { failures++; console.log(pub.stdout, pub.stderr, attw.stdout, attw.stderr); }
}
process.exit(failures ? 1 : 0);
