// Runs the README's quick start. @amp/test-utils' runReadmeExample bundles for ES2020, which has
// no top-level await, and this package's API is asynchronous; so this test does the same steps
// (extract, bundle from sources, import, capture console.log) with an ES2022 target.
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { extractReadmeExample } from "@amp/test-utils";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("README", () => {
  it("the quick start prints what it says", async () => {
    const code = extractReadmeExample(join(pkgDir, "README.md"));
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => (m[1] ?? "").trim());
    const entry = join(pkgDir, "test", ".readme-example.tmp.ts");
    writeFileSync(entry, code);
    let js: string;
    try {
      const out = await build({ entryPoints: [entry], bundle: true, write: false, format: "esm", platform: "node", target: "es2022", conditions: ["@amp/source"], logLevel: "silent" });
      js = out.outputFiles[0]!.text;
    } finally {
      rmSync(entry, { force: true });
    }
    const file = join(mkdtempSync(join(tmpdir(), "amp-readme-")), "example.mjs");
    writeFileSync(file, js);
    const printed: string[] = [];
    const orig = console.log;
    console.log = (...args: unknown[]) => { printed.push(args.map(String).join(" ")); };
    try {
      await import(file);
    } finally {
      console.log = orig;
    }
    expect(expected.length).toBeGreaterThan(0);
    expect(printed).toEqual(expected);
  });
});
