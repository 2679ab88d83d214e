// Bench worker: one role per worker. "ping"/"pong" is the ceiling (a bare SharedArrayBuffer
// round trip with Atomics.wait/notify, the same wake-up mechanism as the doorbells); "device-*"
// lends an I2C bus + SPI flash; "driver-*" borrows them and times N operations.
import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { setImmediate } from "node:timers";
import { Session } from "node:inspector/promises";
const queueMicrotask = (fn) => void Promise.resolve().then(fn);
import {
  AddressSpace,
  AtomicsDoorbell,
  SharedMemory,
  SplitVirtqueueDevice,
  SplitVirtqueueDriver,
  legacyQueueAddresses,
} from "@amp/virtio-ring";
import { createStaticHost, createStaticRemote, staticLinkLayout } from "@amp/rpmsg";
import {
  I2cBusServer,
  I2cClient,
  I2cTemperatureSensor,
  SpiBusServer,
  SpiClient,
  SpiNorCmd,
  SpiNorFlash,
  VirtqueueChannel,
  VirtqueueDeviceRunner,
  connectOverRpmsg,
  serveOverRpmsg,
} from "@amp/virtual-io";

const { role, sab, n, op } = workerData;
const i32 = new Int32Array(sab, 0, 4); // [0] ping-pong word, [1] stop flag, [2] phase (paired runs)
const PHASE_OPS = 0,
  PHASE_PING = 1;
const QSIZE = 64,
  RINGS = 8192,
  SLOT = 8192,
  POOL = 65536,
  BELLS = 1024;
const rpmsgLayout = staticLinkLayout({ base: 0, numBuffers: 64, align: 16 });
const RPMSG_BASE = 65536; // rpmsg link lives after the virtqueue area in the same buffer

function space() {
  return new AddressSpace().map(0, new SharedMemory(sab, 0, RINGS + 2 * SLOT + POOL));
}
function rpmsgSpace() {
  return new AddressSpace().map(0, new SharedMemory(sab, RINGS + 2 * SLOT + POOL + RPMSG_BASE, rpmsgLayout.size));
}
const kick = new AtomicsDoorbell(sab, BELLS, { queues: 4 });
const irq = new AtomicsDoorbell(sab, BELLS + 64, { queues: 4 });

function devices() {
  const bus = new I2cBusServer();
  bus.attach(0x48, new I2cTemperatureSensor(25).target);
  const spi = new SpiBusServer();
  spi.attach(0, new SpiNorFlash({ size: 1 << 16 }));
  return { bus, spi };
}
const stopped = () => Atomics.load(i32, 1) === 1;

async function timeOps(run, pump) {
  for (let i = 0; i < 1000; i++) await drive(run(), pump); // warm-up (JIT)
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await drive(run(), pump);
  return performance.now() - t0;
}
// Runs the side's process() until `p` settles; blocks on the doorbell only when nothing moved
// and the microtasks of what did move have run (a settled request needs a few to resolve `p`).
async function drive(p, pump) {
  let done = false;
  p.then(
    () => (done = true),
    (e) => {
      throw e;
    },
  );
  while (!done) {
    if (pump.process() > 0) {
      for (let i = 0; i < 64 && !done; i++) await null;
      continue;
    }
    for (let i = 0; i < 4 && !done; i++) await null;
    if (!done) pump.wait();
  }
  return p;
}

// Paired runs: batches of operations alternate with batches of bare ping-pong round trips over
// the same SharedArrayBuffer between the same two workers, so each ratio compares neighbours in
// time (the machine's load changes over hundreds of milliseconds; a batch takes a few).
async function pairedBatches(run, pump) {
  const { batch, batches } = workerData.paired;
  for (let i = 0; i < 1000; i++) await drive(run(), pump); // warm-up (JIT)
  pingBatch(batch);
  const ops = [];
  const pings = [];
  for (let b = 0; b < batches; b++) {
    let t0 = performance.now();
    for (let i = 0; i < batch; i++) await drive(run(), pump);
    ops.push((performance.now() - t0) / batch);
    t0 = performance.now();
    pingBatch(batch);
    pings.push((performance.now() - t0) / batch);
  }
  return { ops, pings };
}

// One batch of ping-pongs from the driver: switch the device to its pong loop (the phase word,
// then a ring so that it leaves its doorbell wait), `n` round trips, then 3 = "back to work".
function pingBatch(n) {
  Atomics.store(i32, 2, PHASE_PING);
  kick.notify(0);
  for (let i = 0; i < n; i++) {
    Atomics.store(i32, 0, 1);
    Atomics.notify(i32, 0);
    while (Atomics.load(i32, 0) === 1) Atomics.wait(i32, 0, 1, 100);
  }
  Atomics.store(i32, 2, PHASE_OPS);
  Atomics.store(i32, 0, 3);
  Atomics.notify(i32, 0);
  while (Atomics.load(i32, 0) === 3) Atomics.wait(i32, 0, 3, 100);
}

// The device's side of pingBatch: answer each ping until told to go back to work.
function pongPhase() {
  for (;;) {
    while (Atomics.load(i32, 0) === 0) Atomics.wait(i32, 0, 0, 100);
    const v = Atomics.load(i32, 0);
    Atomics.store(i32, 0, 0);
    Atomics.notify(i32, 0);
    if (v === 3) return;
  }
}

async function main() {
  switch (role) {
    case "ping": {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        Atomics.store(i32, 0, 1);
        Atomics.notify(i32, 0);
        while (Atomics.load(i32, 0) === 1) Atomics.wait(i32, 0, 1, 100);
      }
      parentPort.postMessage({ ms: performance.now() - t0 });
      Atomics.store(i32, 0, 2);
      Atomics.notify(i32, 0);
      return;
    }
    case "pong":
      for (;;) {
        while (Atomics.load(i32, 0) === 0) Atomics.wait(i32, 0, 0, 100);
        if (Atomics.load(i32, 0) === 2) break;
        Atomics.store(i32, 0, 0);
        Atomics.notify(i32, 0);
      }
      parentPort.postMessage({ ms: 0 });
      return;
    case "device-vq": {
      const server = op === "spi" ? devices().spi : devices().bus;
      const sp = space();
      const queues = [
        new SplitVirtqueueDevice({
          size: QSIZE,
          space: sp,
          ...legacyQueueAddresses(RINGS, QSIZE, 16),
          doorbell: irq,
          notifyId: 0,
        }),
      ];
      const runner = new VirtqueueDeviceRunner(server, { queues });
      parentPort.postMessage({ ready: true });
      while (!stopped()) {
        if (Atomics.load(i32, 2) === PHASE_PING) pongPhase();
        kick.waitSync(50);
        kick.poll(() => undefined);
        runner.process();
      }
      parentPort.postMessage({ ms: 0 });
      return;
    }
    case "driver-vq": {
      const sp = space();
      const queues = [
        new SplitVirtqueueDriver({
          size: QSIZE,
          space: sp,
          ...legacyQueueAddresses(RINGS, QSIZE, 16),
          doorbell: kick,
          notifyId: 0,
        }),
      ];
      const ch = new VirtqueueChannel({
        queues,
        space: sp,
        bufferAddr: RINGS + 2 * SLOT,
        bufferSize: POOL,
        features: 1n,
      });
      const pump = {
        process: () => ch.process(),
        wait: () => {
          irq.waitSync(50);
          irq.poll(() => undefined);
        },
      };
      if (workerData.paired) parentPort.postMessage({ ms: 0, paired: await pairedBatches(operation(ch), pump) });
      else parentPort.postMessage({ ms: await timeOps(operation(ch), pump) });
      Atomics.store(i32, 1, 1);
      return;
    }
    case "inthread-vq": {
      // both sides in this worker, doorbells as microtasks: the CPU cost without any wake-up
      const { bus, spi } = devices();
      const sp = space();
      const h = {};
      const dq = new SplitVirtqueueDevice({
        size: QSIZE,
        space: sp,
        ...legacyQueueAddresses(RINGS, QSIZE, 16),
        doorbell: { notify: () => queueMicrotask(() => h.ch.process()) },
        notifyId: 0,
      });
      const runner = new VirtqueueDeviceRunner(op === "spi" ? spi : bus, { queues: [dq] });
      const q = new SplitVirtqueueDriver({
        size: QSIZE,
        space: sp,
        ...legacyQueueAddresses(RINGS, QSIZE, 16),
        doorbell: { notify: () => queueMicrotask(() => runner.process()) },
        notifyId: 0,
      });
      h.ch = new VirtqueueChannel({
        queues: [q],
        space: sp,
        bufferAddr: RINGS + 2 * SLOT,
        bufferSize: POOL,
        features: 1n,
      });
      const run = operation(h.ch);
      for (let i = 0; i < 2000; i++) await run(); // warm-up (JIT)
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await run();
      const ms = performance.now() - t0;
      // both roles run in this thread: what one operation allocates, driver and device together
      const ops = Math.min(n, 5000);
      const alloc = workerData.alloc
        ? await allocationPerOp(ops, async () => {
            for (let i = 0; i < ops; i++) await run();
          })
        : undefined;
      parentPort.postMessage({ ms, alloc });
      return;
    }
    case "device-rpmsg": {
      const { bus, spi } = devices();
      const remote = createStaticRemote({ layout: rpmsgLayout, space: rpmsgSpace(), doorbell: irq });
      serveOverRpmsg(remote, bus, { name: "bench-i2c" });
      serveOverRpmsg(remote, spi, { name: "bench-spi" });
      parentPort.postMessage({ ready: true });
      while (!stopped()) {
        if (remote.process() === 0) {
          kick.waitSync(50);
          kick.poll(() => undefined);
        }
        await Promise.resolve();
      }
      parentPort.postMessage({ ms: 0 });
      return;
    }
    case "driver-rpmsg": {
      const host = createStaticHost({ layout: rpmsgLayout, space: rpmsgSpace(), doorbell: kick });
      host.start();
      const pump = {
        process: () => host.process(),
        wait: () => {
          irq.waitSync(50);
          irq.poll(() => undefined);
        },
      };
      const chP = connectOverRpmsg(host, { name: op === "spi" ? "bench-spi" : "bench-i2c" });
      let ch;
      chP.then((c) => (ch = c));
      while (ch === undefined) {
        if (pump.process() === 0) pump.wait();
        await new Promise((r) => setImmediate(r));
      }
      parentPort.postMessage({ ms: await timeOps(operation(ch), pump) });
      Atomics.store(i32, 1, 1);
      return;
    }
  }
}

function operation(ch) {
  if (op === "spi") {
    const spi = new SpiClient(ch);
    const cmd = Uint8Array.of(SpiNorCmd.READ, 0, 0, 0);
    return () => spi.writeThenRead(0, cmd, 256);
  }
  const i2c = new I2cClient(ch);
  const reg = Uint8Array.of(0);
  return () => i2c.writeRead(0x48, reg, 2);
}

void main();

// Allocation per operation, measured with V8's sampling heap profiler (node:inspector, in this
// thread): every sampled allocation counts, the ones the collector already freed included, so
// the total estimates the bytes allocated, not the bytes retained.
/**
 * Runs `body()` (async) under the sampling heap profiler and returns { bytesPerOp, top }: the
 * estimated bytes allocated per op (`ops` operations in `body`) and the functions that
 * allocated most (self bytes per op).
 */
async function allocationPerOp(ops, body, { interval = 256, top = 6 } = {}) {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.enable");
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: interval,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  await body();
  const { profile } = await session.post("HeapProfiler.stopSampling");
  session.disconnect();
  const self = new Map();
  let total = 0;
  const walk = (node) => {
    const bytes = node.selfSize;
    if (bytes > 0) {
      const f = node.callFrame;
      const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + bytes);
      total += bytes;
    }
    for (const c of node.children) walk(c);
  };
  walk(profile.head);
  return {
    bytesPerOp: total / ops,
    top: [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, b]) => [k, b / ops]),
  };
}
