// Smoke test of the installed @amp/cli: the bundled firmware ships, and `amp` inspects it
// (programmatic entry; `npx amp --help` is run by scripts/check-install.mjs).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { main, VERSION } from "@amp/cli";

const out = [];
const io = {
  stdout: (d) => {
    out.push(String(d));
  },
  stderr: (d) => {
    out.push(String(d));
  },
  cwd: process.cwd(),
  interactive: false,
};
const echo = join(
  dirname(createRequire(import.meta.url).resolve("@amp/cli/package.json")),
  "dist",
  "firmware",
  "echo.elf",
);
assert.equal(await main(["inspect", echo, "--json"], io), 0, out.join(""));
const report = JSON.parse(out.join(""));
const vdev = report.resourceTable.entries.find((e) => e.kind === "vdev");
assert.equal(vdev?.id, 7, "the bundled echo firmware declares an rpmsg vdev (virtio id 7)");
console.log(`@amp/cli ${VERSION}: amp inspect of the bundled echo.elf ok`);
