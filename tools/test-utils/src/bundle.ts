// Bundles a TypeScript entry (and the @amp packages it imports, from their sources) into one
// JavaScript file, for code that must run outside vitest's transform: worker threads, QuickJS.
import { build } from "esbuild";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BundleOptions {
  /** "esm" for a worker thread (default), "iife" for a script engine such as QuickJS. */
  format?: "esm" | "iife";
  /** Global name for "iife". */
  globalName?: string;
  /** "node" lets the bundle import node: built-ins (workers); "neutral" forbids them (default). */
  platform?: "node" | "neutral";
  minify?: boolean;
}

/** Bundle `entry` and return the code as a string. */
export async function bundleToString(entry: string, options: BundleOptions = {}): Promise<string> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: options.format ?? "esm",
    ...(options.globalName === undefined ? {} : { globalName: options.globalName }),
    platform: options.platform ?? "neutral",
    target: options.format === "iife" ? "es2020" : "es2022",
    conditions: ["@amp/source"],
    mainFields: ["module", "main"],
    minify: options.minify ?? false,
    logLevel: "silent",
  });
  const file = out.outputFiles[0];
  if (file === undefined) throw new Error(`esbuild produced no output for ${entry}`);
  return file.text;
}

/** Bundle `entry` into a temporary .mjs file (for `new Worker(path)`) and return its path. */
export async function bundleForWorker(entry: string, options: BundleOptions = {}): Promise<string> {
  const code = await bundleToString(entry, { platform: "node", ...options, format: "esm" });
  const dir = mkdtempSync(join(tmpdir(), "amp-worker-"));
  const path = join(dir, "worker.mjs");
  writeFileSync(path, code);
  return path;
}
