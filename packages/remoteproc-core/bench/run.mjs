// Life-cycle costs with the physical ceiling of the same run beside them: a boot + shutdown of a
// firmware whose one segment is `sizeKiB`, against copying those bytes (memory bandwidth); a
// crash + recovery; an inline coredump of a 1 MiB carveout, against copying 1 MiB.
// Imports the built package (run `npx tsc -p tsconfig.build.json` here and in its @amp deps).
//   node bench/run.mjs [sizeKiB=256] [rounds=15]
import console from "node:console";
import process from "node:process";
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import { serializeResourceTable } from "@amp/resource-table";
import { ArrayBufferMemory } from "@amp/virtio-ring";
import { createMemoryFirmwareSource, createRemoteproc } from "@amp/remoteproc-core";

const KiB = 1024;
const size = Number(process.argv[2] ?? 256) * KiB;
const rounds = Number(process.argv[3] ?? 15);

/** ELF32 LE: one PT_LOAD of `size` bytes at 0, one PT_LOAD holding .resource_table at 0x80000. */
function buildElf(table) {
  const phoff = 52,
    data = 4096,
    rsc = data + size,
    shstr = rsc + table.length;
  const names = Uint8Array.from([0, ...Buffer.from(".resource_table"), 0, ...Buffer.from(".shstrtab"), 0]);
  const shoff = (shstr + names.length + 3) & ~3;
  const out = new Uint8Array(shoff + 3 * 40);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, 2, true);
  v.setUint16(18, 40, true);
  v.setUint32(20, 1, true);
  v.setUint32(28, phoff, true);
  v.setUint32(32, shoff, true);
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, 2, true);
  v.setUint16(46, 40, true);
  v.setUint16(48, 3, true);
  v.setUint16(50, 2, true);
  const ph = (i, off, addr, len) => {
    const p = phoff + 32 * i;
    v.setUint32(p, 1, true);
    v.setUint32(p + 4, off, true);
    v.setUint32(p + 8, addr, true);
    v.setUint32(p + 12, addr, true);
    v.setUint32(p + 16, len, true);
    v.setUint32(p + 20, len, true);
    v.setUint32(p + 24, 7, true);
  };
  ph(0, data, 0, size);
  ph(1, rsc, 0x80000, table.length);
  for (let i = data; i < rsc; i += 64) out[i] = i & 0xff;
  out.set(table, rsc);
  out.set(names, shstr);
  const sh = (i, name, type, addr, off, len) => {
    const o = shoff + 40 * i;
    v.setUint32(o, name, true);
    v.setUint32(o + 4, type, true);
    v.setUint32(o + 12, addr, true);
    v.setUint32(o + 16, off, true);
    v.setUint32(o + 20, len, true);
  };
  sh(1, 1, 1, 0x80000, rsc, table.length);
  sh(2, 17, 3, 0, shstr, names.length);
  return out;
}

const table = serializeResourceTable({
  entries: [
    { kind: "carveout", name: "ddr", len: 1 << 20 },
    {
      kind: "vdev",
      id: 7,
      dfeatures: 1,
      vrings: [
        { align: 4096, num: 256 },
        { align: 4096, num: 256 },
      ],
    },
  ],
});
const memory = new ArrayBufferMemory(new ArrayBuffer(0x100000 + 0x400000));
const rproc = createRemoteproc({
  name: "bench",
  firmware: "fw",
  firmwareSource: createMemoryFirmwareSource({ fw: buildElf(table) }),
  driver: { start() {}, stop() {}, kick() {} },
  regions: [
    { name: "code", da: 0, size: 0x100000, memory },
    { name: "ddr-pool", da: 0x1000_0000, size: 0x400000, memory, offset: 0x100000, pool: true },
  ],
});

const src = new Uint8Array(size).fill(7);
const dst = new Uint8Array(size);
const mib = new Uint8Array(1 << 20).fill(3);
const mibDst = new Uint8Array(1 << 20);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn, inner = 1) {
  const t0 = performance.now();
  for (let i = 0; i < inner; i++) await fn();
  return (performance.now() - t0) / inner;
}

const cases = {
  [`Remoteproc/boot+shutdown/${size / KiB}KiB`]: async () => {
    await rproc.boot();
    await rproc.shutdown();
  },
  [`ceiling/memcpy/${size / KiB}KiB`]: () => {
    dst.set(src);
  },
  "Remoteproc/crash+recover/": null,
  "Remoteproc/coredump-inline/1MiB": null,
  "ceiling/memcpy/1MiB": () => {
    mibDst.set(mib);
  },
};
const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
await rproc.boot();
cases["Remoteproc/crash+recover/"] = () => rproc.reportCrash("watchdog");
cases["Remoteproc/coredump-inline/1MiB"] = () => rproc.coredump({ write() {} });
await rproc.shutdown();
for (let r = 0; r < rounds + 1; r++) {
  for (const [name, fn] of Object.entries(cases)) {
    const needsRunning = name.includes("crash") || name.includes("coredump");
    if (needsRunning) await rproc.boot();
    const ms = await time(fn, name.startsWith("ceiling") ? 50 : 1);
    if (needsRunning) await rproc.shutdown();
    if (r > 0) results[name].push(ms);
  }
}
const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
for (const [k, v] of Object.entries(m)) console.log(`${k.padEnd(40)} median ${v.toFixed(3)} ms`);
const boot = m[`Remoteproc/boot+shutdown/${size / KiB}KiB`];
const copy = m[`ceiling/memcpy/${size / KiB}KiB`];
console.log(`boot+shutdown / memcpy of the image: ${(boot / copy).toFixed(1)}x`);
console.log(
  `coredump 1 MiB: ${(1 / (m["Remoteproc/coredump-inline/1MiB"] / 1000)).toFixed(0)} MiB/s vs memcpy ${(1 / (m["ceiling/memcpy/1MiB"] / 1000)).toFixed(0)} MiB/s (${(m["Remoteproc/coredump-inline/1MiB"] / m["ceiling/memcpy/1MiB"]).toFixed(1)}x)`,
);
