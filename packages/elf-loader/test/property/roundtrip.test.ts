// Round trips: random images load the same whole and streamed in random chunks; random
// coredump layouts read back as written.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { coredumpChunks, loadElf, loadElfFromChunks, readCoredump, readCoredumpMemory } from "@amp/elf-loader";
import type { CoredumpLayout } from "@amp/elf-loader";
import { fcParams, toHex } from "@amp/test-utils";
import { buildElf, memorySink } from "../helpers/elf-builder.ts";

const segmentsArb = fc.uniqueArray(
  fc.record({ slot: fc.nat({ max: 15 }), data: fc.uint8Array({ maxLength: 40 }), extra: fc.nat({ max: 24 }) }),
  { selector: (s) => s.slot, minLength: 1, maxLength: 6 },
);

describe("stream loader vs whole-file loader", () => {
  it("give the same memory for any chunking", async () => {
    await fc.assert(
      fc.asyncProperty(
        segmentsArb,
        fc.constantFrom<32 | 64>(32, 64),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 }),
        async (segs, elfClass, le, sizes) => {
          const bytes = buildElf({
            elfClass,
            le,
            segments: segs.map((s) => ({
              paddr: BigInt(s.slot * 64),
              data: s.data,
              memsz: BigInt(s.data.length + s.extra),
            })),
          });
          const a = memorySink(0n, 1024);
          loadElf(bytes, a.sink);
          const chunks: Uint8Array[] = [];
          for (let i = 0, k = 0; i < bytes.length; k++) {
            const n = sizes[k % sizes.length]!;
            chunks.push(bytes.subarray(i, i + n));
            i += n;
          }
          const b = memorySink(0n, 1024);
          await loadElfFromChunks(chunks, b.sink);
          expect(toHex(b.mem)).toBe(toHex(a.mem));
        },
      ),
      fcParams(200),
    );
  });
});

describe("coredump write/read", () => {
  it("reads back every region's address, size and bytes", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<32 | 64>(32, 64),
        fc.boolean(),
        fc.array(
          fc.record({ da: fc.bigInt({ min: 0n, max: 0xffff_0000n }), size: fc.bigInt({ min: 0n, max: 3000n }) }),
          { maxLength: 5 },
        ),
        fc.integer({ min: 1, max: 1024 }),
        fc.boolean(),
        (elfClass, littleEndian, regions, chunkSize, sectionHeaders) => {
          const layout: CoredumpLayout = { elfClass, machine: 40, littleEndian, regions, sectionHeaders };
          const fillOf = (i: number, off: bigint, k: number): number => (i * 31 + Number(off) + k) & 0xff;
          const parts = [
            ...coredumpChunks(
              layout,
              (_r, i, off, out) => {
                for (let k = 0; k < out.length; k++) out[k] = fillOf(i, off, k);
                return true;
              },
              { chunkSize },
            ),
          ];
          for (const p of parts.slice(1, sectionHeaders ? -1 : undefined))
            expect(p.length).toBeLessThanOrEqual(chunkSize);
          const bytes = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
          parts.reduce((o, p) => {
            bytes.set(p, o);
            return o + p.length;
          }, 0);
          const core = readCoredump(bytes);
          expect(core.diagnostics).toEqual([]);
          expect(core.regions.map((r) => [r.da, r.size])).toEqual(regions.map((r) => [r.da, r.size]));
          regions.forEach((r, i) => {
            if (r.size === 0n) return;
            const got = readCoredumpMemory(bytes, { ...core, regions: [core.regions[i]!] }, r.da, Number(r.size))!;
            expect(got[0]).toBe(fillOf(i, 0n, 0));
            expect(got[got.length - 1]).toBe(fillOf(i, r.size - 1n, 0));
          });
        },
      ),
      fcParams(200),
    );
  });
});
