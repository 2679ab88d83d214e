#!/usr/bin/env node
// Layering is enforced by this script, not by hope (shared/DESIGN.md "Layers"). It fails when:
// - a package.json declares an @amp dependency that is not below it in the layer order;
// - a core (runtime-agnostic) package has a runtime dependency outside @amp;
// - any source file imports an @amp package it does not declare, imports a package above it,
//   reaches into another package's src/, or (core packages) imports a node: built-in.
import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { wireFactProblems } from "./check-wire-facts.mjs";
import { copyProblems } from "./check-copies.mjs";

const root = new URL("..", import.meta.url).pathname;
// Rank = layer; a package may import only packages of strictly lower rank that it lists. The
// table is DESIGN.md's: resource-table, elf-loader and virtio-ring import nothing (each keeps its
// copy of src/amp-error.ts, held identical by scripts/check-copies.mjs).
const LAYERS = {
  "resource-table": 1,
  "elf-loader": 1,
  "virtio-ring": 1,
  rpmsg: 2,
  "remoteproc-core": 3,
  "virtual-io": 3,
  node: 4,
  cli: 5,
};
const ALLOWED = {
  "resource-table": [],
  "elf-loader": [],
  "virtio-ring": [],
  rpmsg: ["virtio-ring"],
  "remoteproc-core": ["resource-table", "elf-loader", "virtio-ring"],
  "virtual-io": ["rpmsg", "virtio-ring"],
};
const CORE = new Set(Object.keys(ALLOWED));
const problems = [];

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    if (e === "node_modules" || e === "dist") continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(e)) out.push(p);
  }
  return out;
}

const pkgDir = join(root, "packages");
for (const name of readdirSync(pkgDir).sort()) {
  const pj = join(pkgDir, name, "package.json");
  if (!existsSync(pj)) continue;
  const pkg = JSON.parse(readFileSync(pj, "utf8"));
  if (!(name in LAYERS)) {
    problems.push(
      `packages/${name}: not in the layer table of scripts/check-layers.mjs; add it there and to shared DESIGN.md`,
    );
    continue;
  }
  const deps = Object.keys(pkg.dependencies ?? {});
  for (const d of deps) {
    if (!d.startsWith("@amp/")) {
      if (CORE.has(name)) problems.push(`${pkg.name}: runtime dependency ${d}; core packages have none`);
      continue;
    }
    const dn = d.slice(5);
    const ok = CORE.has(name) ? ALLOWED[name].includes(dn) : (LAYERS[dn] ?? 99) < LAYERS[name];
    if (!ok) problems.push(`${pkg.name}: depends on ${d}, which is not below it`);
  }
  const declared = new Set([
    ...deps,
    ...Object.keys(pkg.devDependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
  ]);
  const srcFiles = walk(join(pkgDir, name, "src"));
  const allFiles = [...srcFiles, ...walk(join(pkgDir, name, "test")), ...walk(join(pkgDir, name, "bench"))];
  const importRe =
    /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const file of allFiles) {
    const text = readFileSync(file, "utf8");
    const isSrc = srcFiles.includes(file);
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      const where = relative(root, file);
      if (/packages\/[^/]+\/src\//.test(spec) && !spec.startsWith("."))
        problems.push(`${where}: reaches into another package's src/ (${spec})`);
      if (spec.startsWith("../") && /\.\.\/\.\.\/(?:\.\.\/)?[a-z-]+\/src\//.test(spec))
        problems.push(`${where}: relative import into another package (${spec})`);
      if (
        isSrc &&
        CORE.has(name) &&
        (spec.startsWith("node:") ||
          ["fs", "path", "os", "worker_threads", "child_process", "crypto", "buffer"].includes(spec))
      )
        problems.push(`${where}: imports ${spec}; ${pkg.name} is runtime-agnostic`);
      if (spec.startsWith("@amp/")) {
        const target = spec.split("/").slice(0, 2).join("/");
        if (target === pkg.name) continue;
        if (isSrc && !deps.includes(target)) problems.push(`${where}: imports ${target}, not in dependencies`);
        if (!isSrc && !declared.has(target)) problems.push(`${where}: imports ${target}, not declared in package.json`);
        const tn = target.slice(5);
        if (isSrc && (LAYERS[tn] ?? 99) >= LAYERS[name])
          problems.push(`${where}: imports ${target}, which is not below ${pkg.name}`);
        if (spec.split("/").length > 2 && spec.split("/")[2] === "src")
          problems.push(`${where}: reaches into ${target}/src`);
      }
    }
  }
}
// Issue #16: every wire constant and layout offset has one home (scripts/check-wire-facts.mjs).
const wire = wireFactProblems();
for (const n of wire.notes) console.log(`wire facts (pending): ${n}`);
problems.push(...wire.problems.map((p) => `wire facts: ${p}`));
// The AmpError file kept by each layer-0 package stays one text (scripts/check-copies.mjs).
problems.push(...copyProblems().map((p) => `copies: ${p}`));

if (problems.length) {
  console.error("Layering rules broken:\n" + problems.map((p) => "  - " + p).join("\n"));
  process.exit(1);
}
console.log("layering, wire facts and copies: ok");
