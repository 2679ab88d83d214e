// Every package README carries one example that is run by the package's tests, so the example
// cannot rot. The example is the first ```ts block under a "## Quick start" heading. Lines of the
// form `console.log(x); // → text` declare what that call must print.
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { bundleToString } from "./bundle.ts";

export function extractReadmeExample(readmePath: string): string {
  const md = readFileSync(readmePath, "utf8");
  const start = md.search(/^## Quick start/m);
  if (start < 0) throw new Error(`${readmePath}: no "## Quick start" section`);
  const m = /```ts\n([\s\S]*?)```/.exec(md.slice(start));
  if (m?.[1] === undefined) throw new Error(`${readmePath}: no \`\`\`ts block in Quick start`);
  return m[1];
}

/**
 * Runs the README example of the package in `pkgDir` and returns what it printed, one string per
 * console.log call, plus the outputs that `// → text` comments declared, for the test to compare.
 */
export async function runReadmeExample(pkgDir: string): Promise<{ printed: string[]; expected: string[] }> {
  const code = extractReadmeExample(join(pkgDir, "README.md"));
  const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => (m[1] ?? "").trim());
  const dir = mkdtempSync(join(tmpdir(), "amp-readme-"));
  const entry = join(pkgDir, "test", `.readme-example.tmp.ts`);
  writeFileSync(entry, code);
  try {
    const js = await bundleToString(entry, { platform: "node" });
    const file = join(dir, "example.mjs");
    writeFileSync(file, js);
    const printed: string[] = [];
    const orig = console.log;
    console.log = (...args: unknown[]) => { printed.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)))).join(" ")); };
    try { await import(file); } finally { console.log = orig; }
    return { printed, expected };
  } finally {
    const { rmSync } = await import("node:fs");
    rmSync(entry, { force: true });
  }
}
