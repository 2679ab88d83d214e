// Measurement (not a test): the host's heap across crash/recovery cycles of a worker remote.
// After every batch of cycles it forces a full GC and prints the used heap, then the growth per
// cycle over the whole run; with AMP_HEAP_SNAPSHOTS=1 it also writes a heap snapshot before and
// after and lists the object kinds whose count grew by at least one per two cycles.
// Run: npx tsc -p tsconfig.build.json && node --expose-gc bench/recovery-heap.mjs
// (AMP_HEAP_CYCLES, default 300). The firmware stays alive and never rings the host: the case
// where each stopped CPU's interrupt wait (an Atomics.waitAsync, which cannot be cancelled) used
// to stay registered forever (issue 15 item 14). One run on a 2-core machine, 300 cycles:
// before the fix 3.2 KiB per cycle with --jitless (4.0 KiB with the JIT), linear; after it
// 5 bytes per cycle with --jitless over 600 cycles. With the JIT on, what remains is V8's own
// code objects and their dependency lists, whose growth shrinks batch after batch; no
// JavaScript object kind grows (AMP_HEAP_SNAPSHOTS=1 shows it).
import console from "node:console";
import { readFileSync } from "node:fs";
import process from "node:process";
import { setImmediate } from "node:timers";
import v8 from "node:v8";
import { createMemoryFirmwareSource } from "@amp/remoteproc-core";
import { buildJsFirmware, createWorkerRemote } from "@amp/node";

const gc = globalThis.gc;
if (typeof gc !== "function") {
  console.error("run with node --expose-gc");
  process.exit(2);
}
const CYCLES = Number(process.env.AMP_HEAP_CYCLES ?? 300);
const SNAPSHOTS = process.env.AMP_HEAP_SNAPSHOTS === "1";

async function settle() {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return v8.getHeapStatistics().used_heap_size;
}

function kinds(file) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const n = fields.length;
  const t = fields.indexOf("type");
  const nm = fields.indexOf("name");
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += n) {
    const key = `${types[snap.nodes[i + t]]} ${String(snap.strings[snap.nodes[i + nm]]).slice(0, 60)}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

const program = "export default async () => { setInterval(() => {}, 1000); await new Promise(() => {}); };\n";
const elf = buildJsFirmware({
  program,
  resourceTable: {
    entries: [
      {
        kind: "vdev",
        id: 7,
        dfeatures: 1,
        vrings: [
          { align: 4096, num: 16 },
          { align: 4096, num: 16 },
        ],
      },
    ],
  },
});
const remote = createWorkerRemote({
  firmware: "fw.elf",
  firmwareSource: createMemoryFirmwareSource({ "fw.elf": elf }),
  recovery: "enabled",
});
await remote.rproc.boot();
// Warm-up: JIT compilation and first-use allocations are not growth.
for (let i = 0; i < 20; i++) await remote.rproc.reportCrash("watchdog");
const start = await settle();
const before = SNAPSHOTS ? v8.writeHeapSnapshot() : undefined;
console.log(`cycles  heap used after GC`);
console.log(`${String(0).padStart(6)}  ${(start / 1024).toFixed(1)} KiB`);
const step = Math.max(1, Math.floor(CYCLES / 6));
for (let i = 1; i <= CYCLES; i++) {
  await remote.rproc.reportCrash("watchdog");
  if (remote.rproc.state !== "running") throw new Error(`recovery ${i} left the remote ${remote.rproc.state}`);
  if (i % step === 0 || i === CYCLES)
    console.log(`${String(i).padStart(6)}  ${((await settle()) / 1024).toFixed(1)} KiB`);
}
const end = await settle();
console.log(`growth: ${((end - start) / CYCLES).toFixed(1)} bytes per crash/recovery cycle over ${CYCLES} cycles`);
if (before !== undefined) {
  const after = v8.writeHeapSnapshot();
  const a = kinds(before);
  const grown = [...kinds(after)]
    .map(([k, v]) => [k, v - (a.get(k) ?? 0)])
    .filter(([, d]) => d >= CYCLES / 2)
    .sort((x, y) => y[1] - x[1]);
  console.log(`object kinds grown by >= ${CYCLES / 2} (snapshots ${before}, ${after}):`);
  for (const [k, d] of grown.slice(0, 30)) console.log(`  +${d}  ${k}`);
  if (grown.length === 0) console.log("  none");
}
await remote.close();
