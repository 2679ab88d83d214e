#!/usr/bin/env node
// The one deliberate copy in @amp: src/amp-error.ts (the AmpError class, isAmpError, hex,
// alignUp, concatBytes). The three packages at the bottom of the graph import nothing
// (shared DESIGN.md "Layers"), so each keeps the file; everything above imports it from its
// lower layer. This check keeps the copies one definition in effect:
//   1. the copies are byte for byte the same (edit one, copy it to the others);
//   2. nothing else in packages/*/src defines those names again.
//
//   node scripts/check-copies.mjs     (also run by scripts/check-layers.mjs)
import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
/** The packages that keep a copy; the first is the one to edit. */
export const COPY_OWNERS = ["virtio-ring", "resource-table", "elf-loader"];
const COPY = "src/amp-error.ts";
/** Names only the copy may define. */
const NAMES = ["AmpError", "isAmpError", "hex", "alignUp", "concatBytes"];

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir).sort()) {
    if (e === "node_modules" || e === "dist") continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(e) && !e.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Problems found, as lines (empty when the copies agree and nothing redefines them). */
export function copyProblems() {
  const problems = [];
  const [first, ...rest] = COPY_OWNERS.map((p) => join(root, "packages", p, COPY));
  const text = existsSync(first) ? readFileSync(first, "utf8") : undefined;
  if (text === undefined) problems.push(`${relative(root, first)} is missing`);
  for (const other of rest) {
    if (!existsSync(other)) problems.push(`${relative(root, other)} is missing: copy ${relative(root, first)}`);
    else if (text !== undefined && readFileSync(other, "utf8") !== text)
      problems.push(`${relative(root, other)} differs from ${relative(root, first)}: the copies must be identical`);
  }
  const def = new RegExp(
    String.raw`^\s*(?:export\s+)?(?:class|function|const|let|var)\s+(${NAMES.join("|")})\b(?!\s*[:=]\s*typeof)`,
    "gm",
  );
  const copies = new Set(COPY_OWNERS.map((p) => join(root, "packages", p, COPY)));
  for (const pkg of readdirSync(join(root, "packages")).sort()) {
    for (const file of walk(join(root, "packages", pkg, "src"))) {
      if (copies.has(file)) continue;
      const src = readFileSync(file, "utf8");
      for (const m of src.matchAll(def)) {
        const line = src.slice(0, m.index).split("\n").length;
        problems.push(
          `${relative(root, file)}:${line}: defines ${m[1]} again; import it (src/amp-error.ts of the layer below)`,
        );
      }
    }
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = copyProblems();
  if (problems.length) {
    console.error("Copies drifted:\n" + problems.map((p) => "  - " + p).join("\n"));
    process.exit(1);
  }
  console.log(`src/amp-error.ts: ${COPY_OWNERS.length} identical copies, defined nowhere else`);
}
