// loadElf and loadElfFromChunks follow one rule (issue 15 item 9, README "Which files load"):
// whether an image loads depends on the ELF header, the program header table (with section 0
// for a PN_XNUM count) and the PT_LOAD segments, never on the rest of the section headers. Run
// on the same mutated inputs, both must give the same verdict, and when both load, the same
// memory.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isAmpError, loadElf, loadElfFromChunks, type LoadResult, type LoadSink } from "@amp/elf-loader";
import { fcParams } from "@amp/test-utils";
import { buildElf, bytesOf } from "../helpers/elf-builder.ts";

/** Sets e_phnum to PN_XNUM and puts the real count into section 0's sh_info. */
function withPnXnum(bytes: Uint8Array): Uint8Array {
  const b = bytes.slice();
  const v = new DataView(b.buffer);
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const phnumAt = is64 ? 56 : 44;
  const shoff = is64 ? Number(v.getBigUint64(40, le)) : v.getUint32(32, le);
  v.setUint32(shoff + (is64 ? 44 : 28), v.getUint16(phnumAt, le), le); // section 0 sh_info
  v.setUint16(phnumAt, 0xffff, le);
  return b;
}

const SECTIONS = [
  { name: ".text", type: 1, segment: 0, segmentOffset: 0, size: 4n },
  { name: ".resource_table", type: 1, addr: 0x200n, segment: 1, segmentOffset: 0, size: 2n },
  { name: ".comment", type: 1, data: bytesOf(0x47, 0x43, 0x43, 0) },
];
const PLAIN: Uint8Array[] = [
  buildElf({
    elfClass: 32,
    segments: [
      { paddr: 0x100n, data: bytesOf(1, 2, 3, 4), memsz: 0x20n },
      { paddr: 0x200n, data: bytesOf(5, 6) },
    ],
    sections: SECTIONS,
    symbols: [{ name: "main", value: 0x100n }],
  }),
  buildElf({
    elfClass: 64,
    le: false,
    segments: [
      { paddr: 0x1_0000_0000n, data: bytesOf(9, 9, 9, 9), memsz: 0x10n },
      { paddr: 0x200n, data: bytesOf(7, 7) },
    ],
    sections: SECTIONS,
  }),
];
const BASES: Uint8Array[] = [...PLAIN, ...PLAIN.map(withPnXnum)];

/** Where the section header table of a base starts and ends (mutations aim there too). */
function shtRange(b: Uint8Array): [number, number] {
  const v = new DataView(b.buffer, b.byteOffset);
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const shoff = is64 ? Number(v.getBigUint64(40, le)) : v.getUint32(32, le);
  return [shoff, b.length];
}

const INTERESTING = [0, 1, 2, 3, 0xff, 0xffff, 0x8000_0000, 0xffff_ffff, 40, 52, 56, 64];

const mutation = fc.oneof(
  // Anywhere in the section header table (and .shstrtab just before it): "damaged section headers".
  fc.record({ kind: fc.constant("sht" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("shtWord" as const), at: fc.nat(), value: fc.constantFrom(...INTERESTING) }),
  // The ELF header's section fields: e_shoff, e_shentsize, e_shnum, e_shstrndx, e_phnum.
  fc.record({
    kind: fc.constant("header" as const),
    field: fc.constantFrom("shoff", "shentsize", "shnum", "shstrndx", "phnum"),
    value: fc.constantFrom(...INTERESTING),
  }),
  // Anything else, rarely: a byte anywhere, or a truncation.
  fc.record({ kind: fc.constant("byte" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(base: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = base.slice();
  const [lo] = shtRange(base);
  for (const m of ms) {
    if (b.length < 64) break;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const is64 = b[4] === 2;
    const le = b[5] === 1;
    switch (m.kind) {
      case "sht": {
        const span = Math.max(1, b.length - lo + 16);
        const at = Math.max(0, lo - 16) + (m.at % span);
        if (at < b.length) b[at] = m.value;
        break;
      }
      case "shtWord": {
        const at = lo + 4 * (m.at % Math.max(1, Math.floor((b.length - lo) / 4)));
        if (at + 4 <= b.length) v.setUint32(at, m.value >>> 0, le);
        break;
      }
      case "header": {
        const at = {
          shoff: is64 ? 40 : 32,
          shentsize: is64 ? 58 : 46,
          shnum: is64 ? 60 : 48,
          shstrndx: is64 ? 62 : 50,
          phnum: is64 ? 56 : 44,
        }[m.field];
        if (m.field === "shoff") {
          if (is64) v.setBigUint64(at, BigInt(m.value), le);
          else v.setUint32(at, m.value >>> 0, le);
        } else v.setUint16(at, m.value & 0xffff, le);
        break;
      }
      case "byte":
        b[m.at % b.length] = m.value;
        break;
      case "truncate":
        b = b.slice(0, m.at % (b.length + 1));
        break;
    }
  }
  return b;
}

/** A byte-granular memory over [0, 2^33): what was written, in order of the last write. */
function recordingSink(): LoadSink & { mem: Map<bigint, number> } {
  const mem = new Map<bigint, number>();
  return {
    mem,
    accepts: (pa, n) => pa + n <= 1n << 33n && n <= 0x10000n,
    write(pa, bytes) {
      bytes.forEach((x, i) => mem.set(pa + BigInt(i), x));
    },
    fill(pa, n, x) {
      for (let i = 0n; i < n; i++) mem.set(pa + i, x);
    },
  };
}

type Verdict =
  { ok: true; result: LoadResult; mem: Map<bigint, number> } | { ok: false; code: string; message: string };

function whole(bytes: Uint8Array): Verdict {
  const sink = recordingSink();
  try {
    return { ok: true, result: loadElf(bytes, sink), mem: sink.mem };
  } catch (e) {
    if (!isAmpError(e)) throw e;
    return { ok: false, code: e.code, message: e.message };
  }
}

async function streamed(bytes: Uint8Array, chunk: number): Promise<Verdict> {
  const sink = recordingSink();
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  try {
    return { ok: true, result: await loadElfFromChunks(chunks, sink), mem: sink.mem };
  } catch (e) {
    if (!isAmpError(e)) throw e;
    return { ok: false, code: e.code, message: e.message };
  }
}

function describeVerdict(v: Verdict): string {
  return v.ok ? `loaded ${v.result.segments.length} segments` : `refused ${v.code}: ${v.message}`;
}

describe("loadElf and loadElfFromChunks", () => {
  it("the bases load both ways (PN_XNUM included)", async () => {
    for (const b of BASES) {
      const w = whole(b);
      const s = await streamed(b, 7);
      expect(describeVerdict(w)).toMatch(/^loaded 2 segments/);
      expect(describeVerdict(s)).toBe(describeVerdict(w));
    }
  });

  it("load good program headers with damaged section headers, both ways", async () => {
    const base = PLAIN[0] ?? new Uint8Array();
    const damaged = [
      mutate(base, [{ kind: "header", field: "shoff", value: 0xffff_ffff }]), // table past EOF
      mutate(base, [{ kind: "header", field: "shentsize", value: 3 }]), // wrong entry size
      mutate(base, [{ kind: "header", field: "shstrndx", value: 0xff }]), // string table index out of range
      base.slice(0, shtRange(base)[0] + 8), // the file cut inside the section header table
    ];
    for (const b of damaged) {
      const w = whole(b);
      const s = await streamed(b, 64);
      expect(describeVerdict(w)).toMatch(/^loaded/);
      expect(describeVerdict(s)).toBe(describeVerdict(w));
    }
  });

  it("give the same verdict and the same memory on mutated files", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: BASES.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 512 }),
        async (which, ms, chunk) => {
          const bytes = mutate(BASES[which] ?? new Uint8Array(), ms);
          const w = whole(bytes);
          const s = await streamed(bytes, chunk);
          expect(s.ok, `whole: ${describeVerdict(w)}; streamed: ${describeVerdict(s)}`).toBe(w.ok);
          if (w.ok && s.ok) {
            expect(s.result.entry).toBe(w.result.entry);
            expect(s.result.segments).toEqual(w.result.segments);
            // Only a zero-fill tail over another segment may load differently (file order vs
            // header order), and validateElf warns about exactly that.
            if (!w.result.diagnostics.some((d) => d.code === "SEGMENT_FILL_OVERLAP"))
              expect([...s.mem].sort()).toEqual([...w.mem].sort());
          }
        },
      ),
      fcParams(400),
    );
  });
});
