// Round trips through a lent device between two workers, over virtqueues and over rpmsg, beside
// the ceiling measured in the same run: a bare SharedArrayBuffer ping-pong between two workers
// (Atomics.wait/notify, the doorbells' own mechanism; one wake-up each way per item).
// An "I2C register read" is a write+read group (2 virtio requests); an "SPI 256 B read" is a
// command + 256-byte read (2 requests). "in-thread" runs both sides in one worker with microtask
// doorbells: the CPU cost alone, no wake-ups. Prints medians of RUNS runs and the ratios.
// Build first: npx tsc -p tsconfig.build.json   Run: node bench/run.mjs [ops] [runs]
import console from "node:console";
import process from "node:process";
import { Worker } from "node:worker_threads";
import { URL, fileURLToPath } from "node:url";

const N = Number(process.argv[2] ?? 5000);
const RUNS = Number(process.argv[3] ?? 5);
const workerFile = fileURLToPath(new URL("./worker.mjs", import.meta.url));

function start(role, sab, extra) {
  const w = new Worker(workerFile, { workerData: { role, sab, n: N, ...extra } });
  return {
    w,
    ready: new Promise((resolve) => w.on("message", (m) => m.ready && resolve())),
    done: new Promise((resolve, reject) => {
      w.on("message", (m) => m.ms !== undefined && resolve(m.ms));
      w.once("error", reject);
    }),
  };
}

async function runPair(a, b, extra) {
  const sab = new SharedArrayBuffer(1 << 19);
  if (b === "none") {
    const only = start(a, sab, extra);
    const ms = await only.done;
    await only.w.terminate();
    return ms;
  }
  const dev = start(b, sab, extra);
  if (b.startsWith("device")) await dev.ready;
  const drv = start(a, sab, extra);
  const [ms] = await Promise.all([drv.done, dev.done]);
  await Promise.all([drv.w.terminate(), dev.w.terminate()]);
  return ms;
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const cases = [
  ["SAB/ping-pong/round-trip", "ping", "pong", {}],
  ["VirtualIo/in-thread-virtqueue/i2c-register-read", "inthread-vq", "none", { op: "i2c" }],
  ["VirtualIo/virtqueue/i2c-register-read", "driver-vq", "device-vq", { op: "i2c" }],
  ["VirtualIo/virtqueue/spi-256B-read", "driver-vq", "device-vq", { op: "spi" }],
  ["VirtualIo/rpmsg/i2c-register-read", "driver-rpmsg", "device-rpmsg", { op: "i2c" }],
  ["VirtualIo/rpmsg/spi-256B-read", "driver-rpmsg", "device-rpmsg", { op: "spi" }],
];
const filter = process.env["BENCH_FILTER"] ? new RegExp(process.env["BENCH_FILTER"]) : undefined;
const results = new Map();
console.log(`operations per run: ${N}, runs: ${RUNS} (median shown)`);
for (const [name, a, b, extra] of cases) {
  if (filter && !filter.test(name)) continue;
  const times = [];
  for (let r = 0; r < RUNS; r++) times.push(await runPair(a, b, extra));
  const ms = median(times);
  const rate = N / (ms / 1000);
  results.set(name, rate);
  console.log(
    `${name.padEnd(42)} ${(rate / 1e3).toFixed(1).padStart(8)} k ops/s  ${((ms * 1000) / N).toFixed(1).padStart(6)} µs/op  (median ${ms.toFixed(1)} ms)`,
  );
}
const ceiling = results.get("SAB/ping-pong/round-trip");
if (ceiling) {
  console.log(
    "\nratios (ours / SAB ping-pong ceiling; the 2 requests of an operation travel together, so one round trip at best):",
  );
  for (const [name, rate] of results)
    if (name.startsWith("VirtualIo")) console.log(`${name.padEnd(42)} ${(rate / ceiling).toFixed(3)}`);
}
