// Smoke test of the installed @amp/remoteproc-core: boot a raw image, crash, recover, shut down.
import assert from "node:assert/strict";
import { AmpError as RingAmpError, ArrayBufferMemory, toSafeNumber } from "@amp/virtio-ring";
import { AmpError as TableAmpError, parseResourceTable } from "@amp/resource-table";
import { AmpError, StepError, createMemoryFirmwareSource, createRemoteproc } from "@amp/remoteproc-core";

// One AmpError identity across the installed packages: resource-table's copy of the class and
// virtio-ring's (which remoteproc-core re-exports) answer instanceof for each other's errors.
assert.equal(AmpError, RingAmpError);
assert.throws(
  () => parseResourceTable(new Uint8Array(4)),
  (e) => e instanceof AmpError && e instanceof TableAmpError && e.code === "ERR_TRUNCATED",
);
assert.throws(
  () => toSafeNumber(1n << 60n, "da"),
  (e) => e instanceof TableAmpError && e.code === "ERR_RANGE",
);
assert.ok(new StepError("boot", "start", new Error("no")) instanceof TableAmpError);

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
console.log("@amp/remoteproc-core: one AmpError identity; boot, crash, recovery, shutdown");
