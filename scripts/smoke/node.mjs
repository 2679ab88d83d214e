// Smoke test of the installed @amp/node: build a JS firmware, boot it on a worker thread (the
// worker script must ship in the tarball and load from node_modules), see its crash reported.
import assert from "node:assert/strict";
import { parseElf } from "@amp/elf-loader";
import { createMemoryFirmwareSource } from "@amp/remoteproc-core";
import { buildJsFirmware, createWorkerRemote, JS_FIRMWARE_FLAGS } from "@amp/node";

const elf = buildJsFirmware({
  program: "export default async function main() { throw new Error('smoke: crash on purpose'); }",
  resourceTable: { entries: [{ kind: "trace", da: 0xffffffff, len: 1024, name: "trace" }] },
});
assert.equal(parseElf(elf).header.flags, JS_FIRMWARE_FLAGS);
const remote = createWorkerRemote({
  firmware: "smoke.elf",
  firmwareSource: createMemoryFirmwareSource({ "smoke.elf": elf }),
  recovery: "disabled",
});
const hangGuard = setTimeout(() => {
  console.error("@amp/node: no crash report within 30 s");
  process.exit(1);
}, 30_000);
try {
  const crashed = new Promise((resolve) => remote.onCrash(resolve));
  await remote.rproc.boot();
  const crash = await crashed;
  assert.equal(crash.type, "fatal error");
  assert.match(crash.detail, /crash on purpose/);
  console.log(`@amp/node: ${elf.length}-byte JS firmware booted on a worker thread, crash reported ("${crash.type}")`);
} finally {
  clearTimeout(hangGuard);
  await remote.close();
}
