#!/usr/bin/env node
// Runs a command with pnpm on PATH (see pnpm-path.mjs): `node scripts/with-pnpm.mjs turbo run build`.
import { spawnSync } from "node:child_process";
import { ensurePnpmOnPath, root } from "./pnpm-path.mjs";

ensurePnpmOnPath();
const [cmd, ...args] = process.argv.slice(2);
const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: process.env });
process.exit(r.status ?? 1);
