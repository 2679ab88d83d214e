#!/usr/bin/env node
// Part of the package build: the live view's page (`amp ui`). Bundles the page script and the
// playground's Web Worker (src/ui/page/*.ts, with @amp/rpmsg and @amp/virtio-ring inside: both
// run in browsers) with esbuild, and copies the HTML, CSS and icon, into dist/ui/assets. The
// server ships these files; the page loads nothing from the network.
import { copyFileSync, mkdirSync } from "node:fs";
import process from "node:process";
import { URL, fileURLToPath } from "node:url";

const pkg = fileURLToPath(new URL("..", import.meta.url));
const page = `${pkg}/src/ui/page`;
const out = `${pkg}/dist/ui/assets`;
mkdirSync(out, { recursive: true });
let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  process.stderr.write(
    "build-ui: esbuild is needed to build the live view's page (a devDependency of the workspace root)\n",
  );
  process.exit(1);
}
await esbuild.build({
  entryPoints: { app: `${page}/app.ts`, "playground-worker": `${page}/playground-worker.ts` },
  outdir: out,
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
});
for (const f of ["index.html", "app.css", "favicon.svg"]) copyFileSync(`${page}/${f}`, `${out}/${f}`);
