#!/usr/bin/env node
// Benchmark: parse + validate of a typical 2-vdev resource table (carveout, trace, two rpmsg-style
// vdevs with 2 vrings each), beside the physical ceiling measured in the same run: a plain copy
// of the same number of bytes (the least any decoder must do is touch every byte once).
// Imports the built dist/ through the package name: run `npx tsc -p tsconfig.build.json` first.
import process from "node:process";
import { Bench } from "tinybench";
import {
  FW_RSC_ADDR_ANY,
  parseResourceTable,
  serializeResourceTable,
  validateResourceTable,
} from "@amp/resource-table";

const vdev = (notify) => ({
  kind: "vdev",
  id: 7,
  notifyId: notify,
  dfeatures: 1,
  vrings: [
    { da: FW_RSC_ADDR_ANY, align: 4096, num: 256, notifyId: notify },
    { da: FW_RSC_ADDR_ANY, align: 4096, num: 256, notifyId: notify + 1 },
  ],
});
const bytes = serializeResourceTable({
  entries: [
    { kind: "carveout", da: 0x1000_0000, pa: FW_RSC_ADDR_ANY, len: 0x10_0000, name: "fw-ram" },
    { kind: "trace", da: 0x2000_f000, len: 0x1000, name: "trace" },
    vdev(0),
    vdev(2),
  ],
});
if (validateResourceTable(bytes).length !== 0) throw new Error("benchmark table is not clean");

const dst = new Uint8Array(bytes.length);
let sink = 0;
const bench = new Bench({ time: 1000, warmupTime: 200 });
bench
  .add(`ResourceTable/parse+validate/2-vdev-${bytes.length}B`, () => {
    const t = parseResourceTable(bytes);
    const d = validateResourceTable(bytes);
    sink += t.entries.length + d.length;
  })
  .add(`ResourceTable/parse/2-vdev-${bytes.length}B`, () => {
    sink += parseResourceTable(bytes).entries.length;
  })
  .add(`ceiling/byte-copy/${bytes.length}B`, () => {
    dst.set(bytes);
    sink += dst[7];
  });
await bench.run();

const median = (name) => {
  const task = bench.tasks.find((t) => t.name.startsWith(name));
  const r = task?.result;
  if (r === undefined || !("throughput" in r)) throw new Error(`no result for ${name}`);
  return r.throughput.p50;
};
const ceiling = median("ceiling/");
const fmt = (x) => `${Math.round(x).toLocaleString("en-US")} ops/s`;
process.stdout.write(`node ${process.version}, table ${bytes.length} bytes (sink ${sink > 0 ? "ok" : "?"})\n`);
for (const t of bench.tasks) {
  const m = median(t.name);
  process.stdout.write(
    `${t.name.padEnd(44)} median ${fmt(m).padStart(18)}  ${((m / ceiling) * 100).toFixed(2).padStart(6)} % of ceiling\n`,
  );
}
