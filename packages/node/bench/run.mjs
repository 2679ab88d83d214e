/* global performance, URL */
// Benchmark (not a test): echo round trip through the whole stack (rpmsg host in this thread,
// the echo JS firmware on the worker-thread processor, remoteproc-core in between), beside the
// physical ceiling measured in the same run: a raw SharedArrayBuffer ping-pong between this
// thread and a worker with the same wake-up mechanism (Atomics.waitAsync here, Atomics.wait
// there). The ceiling and the payload sizes run interleaved, REPEATS times (a change in the
// machine's load hits them alike); each figure is the median of the repeats' medians. Then the
// bytes the host thread allocates per echo (V8's sampling heap profiler; the worker's own
// allocation is not in it). Prints the load average before and after.
// Run: npx tsc -p tsconfig.build.json && node bench/run.mjs   (AMP_BENCH_ROUNDS, AMP_BENCH_REPEATS)
import { build } from "esbuild";
import console from "node:console";
import { readFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import process from "node:process";
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { createMemoryFirmwareSource } from "@amp/remoteproc-core";
import { buildJsFirmware, createWorkerRemote } from "@amp/node";

const ROUNDS = Number(process.env.AMP_BENCH_ROUNDS ?? 3000);
const REPEATS = Number(process.env.AMP_BENCH_REPEATS ?? 3);
const SIZES = [16, 64, 256, 496];
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const middle = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  return { median: at(50), p99: at(99) };
}
const us = (ms) => `${(ms * 1000).toFixed(1)} µs`;

// The worker's side of the ceiling: a blocking Atomics.wait, or (`async`) an Atomics.waitAsync
// on its event loop, which is how the firmware runtime waits (its event loop must keep running:
// timers, the firmware's own promises), and so the ceiling of this stack.
const SYNC_PONG = `const { workerData } = require("node:worker_threads"); const w = new Int32Array(workerData);
  for (let seq = 1;; seq += 2) { Atomics.wait(w, 0, seq - 1); if (Atomics.load(w, 1) === 1) break; Atomics.store(w, 0, seq + 1); Atomics.notify(w, 0); }`;
const ASYNC_PONG = `const { workerData } = require("node:worker_threads"); const w = new Int32Array(workerData);
  const alive = setInterval(() => {}, 1 << 30); // a pending waitAsync alone does not keep a worker alive
  (async () => { for (let seq = 1;; seq += 2) {
    for (;;) { const r = Atomics.waitAsync(w, 0, seq - 1); if (!r.async) break; await r.value; if (Atomics.load(w, 0) !== seq - 1) break; }
    if (Atomics.load(w, 1) === 1) break; Atomics.store(w, 0, seq + 1); Atomics.notify(w, 0); } clearInterval(alive); })();`;

async function ceiling(rounds, workerWaitsAsync = false) {
  const sab = new SharedArrayBuffer(8);
  const w = new Int32Array(sab);
  const worker = new Worker(workerWaitsAsync ? ASYNC_PONG : SYNC_PONG, { eval: true, workerData: sab });
  const samples = [];
  for (let i = 0, seq = 0; i < rounds; i++, seq += 2) {
    const t = performance.now();
    Atomics.store(w, 0, seq + 1);
    Atomics.notify(w, 0);
    while (Atomics.load(w, 0) !== seq + 2) {
      const r = Atomics.waitAsync(w, 0, seq + 1);
      if (r.async) await r.value;
    }
    samples.push(performance.now() - t);
  }
  Atomics.store(w, 1, 1);
  Atomics.store(w, 0, -1);
  Atomics.notify(w, 0);
  await worker.terminate();
  return stats(samples);
}

async function stack(size, rounds, remote, ep) {
  const it = ep.messages();
  const payload = new Uint8Array(size).fill(7);
  const samples = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await ep.send(payload, { timeoutMs: 10_000 });
    await it.next();
    samples.push(performance.now() - t);
  }
  return stats(samples);
}

const fixture = fileURLToPath(new URL("../test/fixtures/echo-firmware.ts", import.meta.url));
const bundled = await build({
  entryPoints: [fixture],
  bundle: true,
  write: false,
  format: "esm",
  platform: "neutral",
  target: "es2020",
  mainFields: ["module", "main"],
  logLevel: "silent",
});
const elf = buildJsFirmware({
  program: bundled.outputFiles[0].text,
  resourceTable: {
    entries: [
      {
        kind: "vdev",
        id: 7,
        dfeatures: 1,
        vrings: [
          { align: 4096, num: 256 },
          { align: 4096, num: 256 },
        ],
      },
      { kind: "trace", da: 0xffffffff, len: 4096, name: "trace" },
    ],
  },
});
const remote = createWorkerRemote({
  firmware: "echo.elf",
  firmwareSource: createMemoryFirmwareSource({ "echo.elf": elf }),
});
await remote.rproc.boot();
const host = remote.rpmsg;
const svc = await host.waitForService("rpmsg-amp-echo", { timeoutMs: 10_000 });
const ep = host.createEndpoint({ dst: svc.addr });

console.log(`load average ${load()}; ${ROUNDS} round trips per figure, ${REPEATS} interleaved repeats`);
await ceiling(300); // warm-up
await ceiling(300, true);
await stack(64, 2500, remote, ep); // warm-up: V8 compiles the path over the first few thousand round trips
const ceil = { median: [], p99: [] };
const ceilAsync = { median: [], p99: [] };
const rows = new Map(SIZES.map((size) => [size, { median: [], p99: [] }]));
for (let rep = 0; rep < REPEATS; rep++) {
  const c = await ceiling(ROUNDS);
  ceil.median.push(c.median);
  ceil.p99.push(c.p99);
  const ca = await ceiling(ROUNDS, true);
  ceilAsync.median.push(ca.median);
  ceilAsync.p99.push(ca.p99);
  for (const size of SIZES) {
    const r = await stack(size, ROUNDS, remote, ep);
    rows.get(size).median.push(r.median);
    rows.get(size).p99.push(r.p99);
  }
}
const ceilMedian = middle(ceil.median);
const ceilAsyncMedian = middle(ceilAsync.median);
console.log(
  `ceiling  raw SAB ping-pong main<->worker (Atomics.waitAsync/Atomics.wait): median ${us(ceilMedian)}, p99 ${us(middle(ceil.p99))}`,
);
console.log(
  `ceiling  the same with the worker on its event loop (Atomics.waitAsync on both sides, as the firmware runtime): median ${us(ceilAsyncMedian)}, p99 ${us(middle(ceilAsync.p99))}`,
);
console.log("| payload | echo RTT median | p99 | median / ceiling | median / event-loop ceiling |");
console.log("|---|---|---|---|---|");
for (const size of SIZES) {
  const r = rows.get(size);
  const m = middle(r.median);
  console.log(
    `| ${size} B | ${us(m)} | ${us(middle(r.p99))} | ${(m / ceilMedian).toFixed(2)}x | ${(m / ceilAsyncMedian).toFixed(2)}x |`,
  );
}

// Bytes allocated on the host thread per echo: every sampled allocation, collected ones included.
const ECHOES = 2000;
const session = new Session();
session.connect();
await session.post("HeapProfiler.enable");
await session.post("HeapProfiler.startSampling", {
  samplingInterval: 256,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await stack(64, ECHOES, remote, ep);
const { profile } = await session.post("HeapProfiler.stopSampling");
session.disconnect();
const self = new Map();
let total = 0;
const walk = (node) => {
  if (node.selfSize > 0) {
    const f = node.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  for (const c of node.children) walk(c);
};
walk(profile.head);
console.log(
  `\nhost thread allocates ${(total / ECHOES).toFixed(0)} B per 64-byte echo (sampling heap profiler); most:`,
);
for (const [where, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 5))
  console.log(`  ${(bytes / ECHOES).toFixed(0).padStart(6)} B  ${where}`);
console.log(`load average after: ${load()}`);
await remote.close();
