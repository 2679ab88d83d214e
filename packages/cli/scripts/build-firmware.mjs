#!/usr/bin/env node
// Part of the package build: turns the example firmware (firmware/echo.ts, TypeScript) into the
// JS-firmware ELF that `amp demo` boots (dist/firmware/echo.elf), with the amp CLI just built.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import process from "node:process";
import { URL, fileURLToPath } from "node:url";

const pkg = fileURLToPath(new URL("..", import.meta.url));
mkdirSync(`${pkg}/dist/firmware`, { recursive: true });
const r = spawnSync(
  process.execPath,
  ["dist/bin.js", "firmware", "build", "firmware/echo.ts", "-o", "dist/firmware/echo.elf"],
  { cwd: pkg, stdio: "inherit" },
);
process.exit(r.status ?? 1);
