// Buffers/s through a virtqueue between two workers (driver in one, device in the other), with
// the raw SharedArrayBuffer hand-off between two workers measured in the same run as the
// ceiling: a cache-line ping-pong (one round trip per item) and a one-way index publish (a bare
// single-producer/single-consumer ring of u32 slots). Prints medians of RUNS runs and ratios.
// Build first: npx tsc -p tsconfig.build.json   Run: node bench/run.mjs [buffers] [runs]
import console from "node:console";
import process from "node:process";
import { Worker } from "node:worker_threads";
import { URL, fileURLToPath } from "node:url";

const N = Number(process.argv[2] ?? 200_000);
const RUNS = Number(process.argv[3] ?? 5);
const workerFile = fileURLToPath(new URL("./worker.mjs", import.meta.url));

function runPair(roleA, roleB, extra) {
  const sab = new SharedArrayBuffer(1 << 17);
  const start = (role) =>
    new Promise((resolve, reject) => {
      const w = new Worker(workerFile, { workerData: { role, sab, n: N, ...extra } });
      w.once("message", (m) => {
        void w.terminate();
        resolve(m);
      });
      w.once("error", reject);
    });
  return Promise.all([start(roleA), start(roleB)]).then(([a]) => a.ms);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const cases = [
  ["SAB/ping-pong/round-trip", "ping", "pong", {}],
  ["SAB/index-publish/one-way", "produce", "consume", {}],
  ["VirtioRing/split/notify-always", "driver", "device", { packed: false, suppress: false }],
  ["VirtioRing/split/suppressed+event_idx", "driver", "device", { packed: false, suppress: true }],
  ["VirtioRing/packed/notify-always", "driver", "device", { packed: true, suppress: false }],
  ["VirtioRing/packed/suppressed+event_idx", "driver", "device", { packed: true, suppress: true }],
];

const filter = process.env["BENCH_FILTER"] ? new RegExp(process.env["BENCH_FILTER"]) : undefined;
const results = new Map();
console.log(`buffers per run: ${N}, runs: ${RUNS} (median shown)`);
for (const [name, a, b, extra] of cases) {
  if (filter && !filter.test(name)) continue;
  const times = [];
  for (let r = 0; r < RUNS; r++) times.push(await runPair(a, b, extra));
  const rate = N / (median(times) / 1000);
  results.set(name, rate);
  console.log(
    `${name.padEnd(42)} ${(rate / 1e6).toFixed(3).padStart(8)} M items/s  (median ${median(times).toFixed(1)} ms)`,
  );
}
const oneWay = results.get("SAB/index-publish/one-way");
const pingPong = results.get("SAB/ping-pong/round-trip");
if (oneWay && pingPong) {
  console.log("\nratios (ours / ceiling):");
  for (const [name, rate] of results) {
    if (!name.startsWith("VirtioRing")) continue;
    console.log(
      `${name.padEnd(42)} ${(rate / oneWay).toFixed(3)} of one-way publish, ${(rate / pingPong).toFixed(2)}x ping-pong`,
    );
  }
  const s = results.get("VirtioRing/split/suppressed+event_idx");
  const p = results.get("VirtioRing/packed/suppressed+event_idx");
  if (s && p) console.log(`packed / split (suppressed): ${(p / s).toFixed(2)}`);
  const sa = results.get("VirtioRing/split/notify-always");
  if (s && sa) console.log(`split suppressed / notify-always: ${(s / sa).toFixed(2)}`);
}
