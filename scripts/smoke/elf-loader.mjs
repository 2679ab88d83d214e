// Smoke test of the installed @amp/elf-loader: write a coredump of one region, read it back, load it.
import assert from "node:assert/strict";
import { ElfMachine, coredumpChunks, loadElf, readCoredump } from "@amp/elf-loader";

const base = 0x2000_0000n;
const ram = new Uint8Array(0x1000);
ram.set([0xde, 0xad, 0xbe, 0xef], 0x100);
const chunks = [
  ...coredumpChunks(
    { elfClass: 32, machine: ElfMachine.EM_ARM, entry: base, regions: [{ da: base, size: 0x1000n }] },
    (_r, _i, offset, out) => {
      out.set(ram.subarray(Number(offset), Number(offset) + out.length));
      return true;
    },
  ),
];
const core = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
let at = 0;
for (const c of chunks) {
  core.set(c, at);
  at += c.length;
}
assert.deepEqual(
  readCoredump(core).regions.map((r) => [r.da, r.size]),
  [[base, 0x1000n]],
);
const target = new Uint8Array(0x1000);
loadElf(core, {
  accepts: (pa, size) => pa >= base && pa + size <= base + 0x1000n,
  write: (pa, b) => {
    target.set(b, Number(pa - base));
  },
  fill: (pa, n, v) => {
    target.fill(v, Number(pa - base), Number(pa - base + n));
  },
});
assert.deepEqual([...target.subarray(0x100, 0x104)], [0xde, 0xad, 0xbe, 0xef]);
console.log(`@amp/elf-loader: ${core.length}-byte core written, read and loaded`);
