// Load throughput of a large firmware image, with the plain memory-copy bandwidth of the same
// run as the ceiling. Imports the built package (run `npx tsc -p tsconfig.build.json` first).
//   node bench/run.mjs [sizeMiB=64] [runs=9]
import console from "node:console";
import process from "node:process";
import { ElfStreamLoader, coredumpChunks, loadElf } from "@amp/elf-loader";

const MiB = 1 << 20;
const size = Number(process.argv[2] ?? 64) * MiB;
const runs = Number(process.argv[3] ?? 9);
const SEGMENTS = 4;
const base = 0x2000_0000;

/** An ELF32 LE image with SEGMENTS PT_LOADs sharing `size` bytes, plus a small .bss tail each. */
function buildImage() {
  const phoff = 52;
  const dataOff = 4096;
  const seg = size / SEGMENTS;
  const bytes = new Uint8Array(dataOff + size);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, 2, true);
  v.setUint16(18, 40, true);
  v.setUint32(20, 1, true);
  v.setUint32(24, base, true);
  v.setUint32(28, phoff, true);
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, SEGMENTS, true);
  v.setUint16(46, 40, true);
  for (let i = 0; i < SEGMENTS; i++) {
    const p = phoff + i * 32;
    v.setUint32(p, 1, true);
    v.setUint32(p + 4, dataOff + i * seg, true);
    v.setUint32(p + 8, base + i * (seg + 4096), true);
    v.setUint32(p + 12, base + i * (seg + 4096), true);
    v.setUint32(p + 16, seg, true);
    v.setUint32(p + 20, seg + 4096, true);
    v.setUint32(p + 24, 7, true);
  }
  for (let i = dataOff; i < bytes.length; i += 4096) bytes[i] = i & 0xff;
  return bytes;
}

const image = buildImage();
const memory = new Uint8Array(size + SEGMENTS * 4096);
const sink = {
  accepts: (pa, n) => pa >= BigInt(base) && pa + n <= BigInt(base + memory.length),
  write: (pa, b) => {
    memory.set(b, Number(pa) - base);
  },
  fill: (pa, n, value) => {
    memory.fill(value, Number(pa) - base, Number(pa) - base + Number(n));
  },
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Times every case once per round, round-robin, so drift on a shared machine hits all alike. */
function measureAll(cases) {
  for (const f of Object.values(cases)) f(); // warm-up: touch every page once
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [k, f] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      f();
      times[k].push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, t]) => [k, size / MiB / median(t)]));
}

const copyTarget = new Uint8Array(memory.length);
const copySource = image.subarray(4096);
const CHUNK = 64 * 1024;
const r = measureAll({
  // The ceiling does what the loader must do at least: copy the segment bytes into memory.
  ceiling: () => {
    copyTarget.set(copySource);
  },
  whole: () => {
    loadElf(image, sink);
  },
  streamed: () => {
    const l = new ElfStreamLoader(sink);
    for (let i = 0; i < image.length; i += CHUNK) l.push(image.subarray(i, i + CHUNK));
    l.finish();
  },
  dump: () => {
    let n = 0;
    for (const c of coredumpChunks(
      { elfClass: 32, machine: 40, regions: [{ da: BigInt(base), size: BigInt(size) }] },
      (_r, _i, off, out) => {
        out.set(memory.subarray(Number(off), Number(off) + out.length));
        return true;
      },
    ))
      n += c.length;
    if (n < size) throw new Error("short dump");
  },
});
const ceiling = r.ceiling;

const row = (name, v) => `${name.padEnd(44)} ${v.toFixed(0).padStart(7)} MB/s   ${(v / ceiling).toFixed(2)} x ceiling`;
console.log(
  `@amp/elf-loader bench: ${size / MiB} MiB image, ${SEGMENTS} PT_LOAD segments, median of ${runs} runs (node ${process.version})`,
);
console.log(row("ceiling: Uint8Array.set of the same bytes", ceiling));
console.log(row("ElfLoader/loadElf/whole-file", r.whole));
console.log(row(`ElfLoader/ElfStreamLoader/${CHUNK / 1024}KiB-chunks`, r.streamed));
console.log(row("ElfLoader/coredumpChunks/64KiB-chunks", r.dump));
