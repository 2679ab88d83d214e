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
// repository/homepage/bugs derived from the root package.json, distinct keywords, `workspace:^`
// ranges, private tools (scripts/package-metadata.mjs; the placeholder URL is refused only at release).
const meta = spawnSync(process.execPath, [join(root, "scripts", "package-metadata.mjs")], { encoding: "utf8" });
console.log(`${meta.status === 0 ? "ok  " : "FAIL"} package metadata`);
if (meta.status !== 0) {
  failures++;
  console.log(meta.stdout, meta.stderr);
}
// While the URL is the placeholder, the release check must refuse to publish (and say why).
if (meta.stdout.includes("a placeholder")) {
  const rel = spawnSync(process.execPath, [join(root, "scripts", "package-metadata.mjs"), "--release"], {
    encoding: "utf8",
  });
  const refused = rel.status !== 0 && rel.stderr.includes("still the placeholder");
  console.log(`${refused ? "ok  " : "FAIL"} publishing refused while the repository URL is a placeholder`);
  if (!refused) {
    failures++;
    console.log(rel.stdout, rel.stderr);
  }
}
for (const name of readdirSync(join(root, "packages")).sort()) {
  const dir = join(root, "packages", name);
  if (!existsSync(join(dir, "package.json"))) continue;
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  if (pkg.private) continue;
  const pub = spawnSync(bin("publint"), ["--strict", "--pack", "npm"], { cwd: dir, encoding: "utf8" });
  // ESM-only packages: the CJS-resolution column is not a target (STYLE.md point 3).
  const attw = spawnSync(bin("attw"), ["--pack", ".", "--profile", "esm-only", "--format", "table-flipped"], {
    cwd: dir,
    encoding: "utf8",
  });
  const ok = pub.status === 0 && attw.status === 0;
  console.log(`${ok ? "ok  " : "FAIL"} ${pkg.name}`);
  if (!ok) {
    failures++;
    console.log(pub.stdout, pub.stderr, attw.stdout, attw.stderr);
  }
}
process.exit(failures ? 1 : 0);
