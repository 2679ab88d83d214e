// Round trips through a lent device between two workers, over virtqueues and over rpmsg, beside
// the ceiling measured in the same run: a bare SharedArrayBuffer ping-pong between two workers
// (Atomics.wait/notify, the doorbells' own mechanism; one wake-up each way per item).
// An "I2C register read" is a write+read group (2 virtio requests); an "SPI 256 B read" is a
// command + 256-byte read (2 requests). "in-thread" runs both sides in one worker with microtask
// doorbells: the CPU cost alone, no wake-ups; its last run also reports the bytes one operation
// allocates (both roles, V8's sampling heap profiler). The cases run interleaved (round r runs
// every case once), so a change in the machine's load hits all of them alike; prints medians
// of RUNS rounds, the ratios to the ceiling, and the load average before and after. Then paired
// runs over virtqueues, the steadiest ratio under a changing load: in one pair of workers,
// batches of operations alternate with batches of bare ping-pongs (BENCH_PAIRED=0 skips them).
// Build first: npx tsc -p tsconfig.build.json   Run: node bench/run.mjs [ops] [runs]
import console from "node:console";
import { readFileSync } from "node:fs";
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
      w.on("message", (m) => m.ms !== undefined && resolve(m));
      w.once("error", reject);
    }),
  };
}

async function runPair(a, b, extra) {
  const sab = new SharedArrayBuffer(1 << 19);
  if (b === "none") {
    const only = start(a, sab, extra);
    const m = await only.done;
    await only.w.terminate();
    return m;
  }
  const dev = start(b, sab, extra);
  if (b.startsWith("device")) await dev.ready;
  const drv = start(a, sab, extra);
  const [m] = await Promise.all([drv.done, dev.done]);
  await Promise.all([drv.w.terminate(), dev.w.terminate()]);
  return m;
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const cases = [
  ["SAB/ping-pong/round-trip", "ping", "pong", {}],
  ["VirtualIo/in-thread-virtqueue/i2c-register-read", "inthread-vq", "none", { op: "i2c" }],
  ["VirtualIo/in-thread-virtqueue/spi-256B-read", "inthread-vq", "none", { op: "spi" }],
  ["VirtualIo/virtqueue/i2c-register-read", "driver-vq", "device-vq", { op: "i2c" }],
  ["VirtualIo/virtqueue/spi-256B-read", "driver-vq", "device-vq", { op: "spi" }],
  ["VirtualIo/rpmsg/i2c-register-read", "driver-rpmsg", "device-rpmsg", { op: "i2c" }],
  ["VirtualIo/rpmsg/spi-256B-read", "driver-rpmsg", "device-rpmsg", { op: "spi" }],
];
const filter = process.env["BENCH_FILTER"] ? new RegExp(process.env["BENCH_FILTER"]) : undefined;
const chosen = cases.filter(([name]) => !filter || filter.test(name));
const times = new Map(chosen.map(([name]) => [name, []]));
const allocs = new Map();
console.log(`operations per run: ${N}, rounds: ${RUNS} (interleaved, median shown); load average ${load()}`);
for (let r = 0; r < RUNS; r++) {
  for (const [name, a, b, extra] of chosen) {
    const m = await runPair(a, b, { ...extra, alloc: r === RUNS - 1 });
    times.get(name).push(m.ms);
    if (m.alloc) allocs.set(name, m.alloc);
  }
}
// Paired runs (virtqueue): operations and bare ping-pongs alternate in batches between the same
// two workers; the ratio of each batch to the ping-pong batch next to it, median over batches.
const PAIRED = process.env["BENCH_PAIRED"] !== "0";
const paired = [];
if (PAIRED) {
  for (const op of ["i2c", "spi"]) {
    const name = `VirtualIo/virtqueue/${op === "i2c" ? "i2c-register-read" : "spi-256B-read"}`;
    if (filter && !filter.test(name)) continue;
    const m = await runPair("driver-vq", "device-vq", { op, paired: { batch: 200, batches: Math.max(10, RUNS * 5) } });
    const { ops, pings } = m.paired;
    const ratios = ops.map((t, i) => t / pings[i]);
    paired.push([name, median(ops), median(pings), median(ratios), Math.min(...ratios), Math.max(...ratios)]);
  }
}
const results = new Map();
for (const [name] of chosen) {
  const ms = median(times.get(name));
  const rate = N / (ms / 1000);
  results.set(name, rate);
  console.log(
    `${name.padEnd(48)} ${(rate / 1e3).toFixed(1).padStart(8)} k ops/s  ${((ms * 1000) / N).toFixed(1).padStart(6)} µs/op  (median ${ms.toFixed(1)} ms)`,
  );
}
const ceiling = results.get("SAB/ping-pong/round-trip");
if (ceiling) {
  console.log(
    "\ntime per operation / SAB ping-pong round trip (the 2 requests of an operation travel together: 1.0 is one bare round trip):",
  );
  for (const [name, rate] of results)
    if (name.startsWith("VirtualIo")) console.log(`${name.padEnd(48)} ${(ceiling / rate).toFixed(2)}x`);
}
if (paired.length > 0) {
  console.log("\npaired batches (200 operations, then 200 ping-pongs, alternating; median of per-batch ratios):");
  for (const [name, op, ping, ratio, lo, hi] of paired)
    console.log(
      `${name.padEnd(48)} ${(op * 1000).toFixed(1).padStart(6)} µs/op  ping-pong ${(ping * 1000).toFixed(1)} µs  ratio ${ratio.toFixed(2)}x (batches ${lo.toFixed(2)}..${hi.toFixed(2)})`,
    );
}
if (allocs.size > 0) {
  console.log("\nallocated per operation, driver and device together (in-thread run, sampling heap profiler):");
  for (const [name, a] of allocs) {
    console.log(`${name.padEnd(48)} ${a.bytesPerOp.toFixed(0).padStart(6)} B/op`);
    for (const [where, b] of a.top) console.log(`    ${b.toFixed(0).padStart(6)} B  ${where}`);
  }
}
console.log(`load average after: ${load()}`);
