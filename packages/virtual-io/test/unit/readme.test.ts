// The README quick start must run and print what its `// → ` comments say. It is asynchronous
// (every device call is a request to the other side), so it needs top-level await, which the
// shared runReadmeExample cannot bundle (esbuild target es2020). Same steps here with target
// es2022; switch back to runReadmeExample once the helper allows top-level await.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { expect, it } from "vitest";
import { extractReadmeExample } from "@amp/test-utils";

it("the README quick start runs and prints what it says", async () => {
  const pkgDir = fileURLToPath(new URL("../..", import.meta.url));
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
  console.log = (...args: unknown[]) => {
    printed.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
  };
  try {
    await import(pathToFileURL(file).href);
  } finally {
    console.log = orig;
  }
  expect(expected.length).toBeGreaterThanOrEqual(5);
  expect(printed).toEqual(expected);
});
