/* global URL */
// Benchmark (not a test): what trace records cost the echo path. The same echo JS firmware on
// the worker-thread processor, built twice: silent, and writing one timestamped trace record
// per message echoed (the worst case a chatty firmware reaches). Rounds alternate between the
// two so machine noise hits both alike; medians are printed with their ratio.
// Run: npx tsc -p tsconfig.build.json && node bench/trace-cost.mjs
import { build } from "esbuild";
import console from "node:console";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createMemoryFirmwareSource } from "@amp/remoteproc-core";
import { buildJsFirmware, createWorkerRemote } from "@amp/node";

const ROUNDS = Number(process.env.AMP_BENCH_ROUNDS ?? 3);
const MESSAGES = Number(process.env.AMP_BENCH_MESSAGES ?? 20000);
const WINDOW = 16; // messages in flight during the throughput run
const SIZE = 64;

/** Echo firmware source; `perMessage` is the statement run for every message echoed. */
function firmwareSource(perMessage) {
  return `import { defineFirmware } from "@amp/node/firmware";
export default defineFirmware(async (fw) => {
  const rpmsg = fw.rpmsg();
  let echoed = 0;
  rpmsg.createEndpoint({
    name: "rpmsg-amp-echo",
    onMessage: (m, ep) => {
      ep.trySendTo(m.src, m.data);
      echoed++;
      ${perMessage}
    },
  });
  await fw.run(rpmsg);
});`;
}

async function firmware(perMessage) {
  const out = await build({
    stdin: {
      contents: firmwareSource(perMessage),
      resolveDir: fileURLToPath(new URL("../test/fixtures/", import.meta.url)),
      loader: "ts",
    },
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2020",
    mainFields: ["module", "main"],
    logLevel: "silent",
  });
  return buildJsFirmware({
    program: out.outputFiles[0].text,
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
        { kind: "trace", da: 0xffffffff, len: 16384, name: "trace" },
      ],
    },
  });
}

async function boot(elf) {
  const remote = createWorkerRemote({
    firmware: "echo.elf",
    firmwareSource: createMemoryFirmwareSource({ "echo.elf": elf }),
  });
  await remote.rproc.boot();
  const svc = await remote.rpmsg.waitForService("rpmsg-amp-echo", { timeoutMs: 10_000 });
  const ep = remote.rpmsg.createEndpoint({ dst: svc.addr });
  return { remote, ep, it: ep.messages() };
}

/** Echoed messages per second with WINDOW in flight, and the median round trip of one at a time. */
async function measure({ ep, it }) {
  const payload = new Uint8Array(SIZE).fill(7);
  const t0 = performance.now();
  for (let sent = 0; sent < MESSAGES; sent += WINDOW) {
    for (let i = 0; i < WINDOW; i++) await ep.send(payload, { timeoutMs: 10_000 });
    for (let i = 0; i < WINDOW; i++) await it.next();
  }
  const rate = MESSAGES / ((performance.now() - t0) / 1000);
  const rtts = [];
  for (let i = 0; i < 2000; i++) {
    const t = performance.now();
    await ep.send(payload, { timeoutMs: 10_000 });
    await it.next();
    rtts.push(performance.now() - t);
  }
  rtts.sort((a, b) => a - b);
  return { rate, rttUs: rtts[rtts.length >> 1] * 1000 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const variants = [
  { name: "no trace", elf: await firmware("") },
  {
    name: "one record per message",
    elf: await firmware("fw.trace(`echo: message ${echoed} of ${m.data.length} B from ${m.src}`);"),
  },
];
const results = new Map(variants.map((v) => [v.name, { rate: [], rtt: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    const link = await boot(v.elf);
    await measure(link); // warm-up: V8 compiles both ends first
    const r = await measure(link);
    results.get(v.name).rate.push(r.rate);
    results.get(v.name).rtt.push(r.rttUs);
    await link.remote.close();
  }
}
const base = results.get("no trace");
console.log(
  `echo of ${SIZE}-byte messages, worker remote, ${MESSAGES} messages (${WINDOW} in flight) + 2000 round trips, medians of ${ROUNDS}`,
);
console.log("| firmware | echo msg/s | vs no trace | RTT p50 | vs no trace |");
console.log("|---|---:|---:|---:|---:|");
for (const v of variants) {
  const r = results.get(v.name);
  console.log(
    `| ${v.name} | ${median(r.rate).toFixed(0)} | ${(median(r.rate) / median(base.rate)).toFixed(2)} | ${median(r.rtt).toFixed(1)} µs | ${(median(r.rtt) / median(base.rtt)).toFixed(2)} |`,
  );
}
