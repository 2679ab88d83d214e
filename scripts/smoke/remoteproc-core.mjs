// Smoke test of the installed @amp/remoteproc-core: boot a raw image, crash, recover, shut down.
import assert from "node:assert/strict";
import { ArrayBufferMemory } from "@amp/virtio-ring";
import { createMemoryFirmwareSource, createRemoteproc } from "@amp/remoteproc-core";

const memory = new ArrayBufferMemory(new ArrayBuffer(0x10000));
const log = [];
const rproc = createRemoteproc({
  name: "smoke",
  firmware: "raw.bin",
  firmwareSource: createMemoryFirmwareSource({ "raw.bin": new Uint8Array([1, 2, 3, 4]) }),
  loader: {
    loadAndVerify: (image) => ({
      bootAddr: 0n,
      resourceTable: undefined,
      loadSegments: (t) => {
        t.write(0n, image);
      },
    }),
    release: () => undefined,
  },
  driver: {
    start: () => {
      log.push("start");
    },
    stop: () => {
      log.push("stop");
    },
    kick: () => undefined,
    resourceTableLocation: () => 0x7000,
  },
  regions: [
    { name: "code", da: 0, size: 0x8000, memory },
    { name: "shm", da: 0x1000_0000, size: 0x8000, memory, offset: 0x8000, pool: true },
  ],
});
await rproc.boot();
assert.equal(rproc.state, "running");
assert.deepEqual([...memory.read(0, 4)], [1, 2, 3, 4]);
await rproc.reportCrash("watchdog");
assert.equal(rproc.state, "running");
assert.equal(rproc.crashCount, 1);
await rproc.shutdown();
assert.equal(rproc.state, "offline");
assert.deepEqual(log, ["start", "stop", "start", "stop"]);
console.log("@amp/remoteproc-core: boot, crash, recovery, shutdown");
