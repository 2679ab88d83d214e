// turbo runs package scripts through the package manager binary, so `pnpm` must be on PATH even
// when the user started us with `corepack pnpm ...` (corepack does not add pnpm to PATH). We put
// corepack's pnpm shim into the repo's own .bin (gitignored) rather than touching /usr/bin.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join, delimiter } from "node:path";

export const root = new URL("..", import.meta.url).pathname;

export function ensurePnpmOnPath() {
  process.env.TURBO_TELEMETRY_DISABLED = "1";
  process.env.DO_NOT_TRACK = "1";
  const bin = join(root, ".bin");
  if (!existsSync(join(bin, "pnpm"))) {
    mkdirSync(bin, { recursive: true });
    const r = spawnSync("corepack", ["enable", "--install-directory", bin, "pnpm"], { stdio: "inherit" });
    if (r.status !== 0) throw new Error("could not set up pnpm with corepack (Node >= 20.19 ships corepack)");
  }
  process.env.PATH = bin + delimiter + join(root, "node_modules", ".bin") + delimiter + (process.env.PATH ?? "");
}
