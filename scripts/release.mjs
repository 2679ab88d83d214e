#!/usr/bin/env node
// `corepack pnpm release`: publishes what `corepack pnpm version-packages` (changeset version)
// prepared. Refuses to start while the repository URL is the placeholder, builds, runs the
// packaging checks and the install check on the exact tarballs' contents, then `changeset
// publish` (which runs `pnpm publish` per package whose version is not on the registry yet and
// tags the release). Publish from CI with NPM_CONFIG_PROVENANCE=true so npm records where each
// tarball was built; that is why the repository URL must be the real one.
import { spawnSync } from "node:child_process";
import { ensurePnpmOnPath, root } from "./pnpm-path.mjs";

ensurePnpmOnPath();
const steps = [
  ["node", ["scripts/package-metadata.mjs", "--release"]],
  ["turbo", ["run", "build", "--output-logs=errors-only"]],
  ["node", ["scripts/check-packages.mjs"]],
  ["node", ["scripts/check-install.mjs"]],
  ["changeset", ["publish"]],
];
for (const [cmd, args] of steps) {
  console.log(`\n== ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: process.env });
  if (r.status !== 0) {
    console.error(
      `release stopped: \`${cmd} ${args.join(" ")}\` failed (exit ${r.status ?? r.signal}); nothing after it ran.`,
    );
    process.exit(1);
  }
}
