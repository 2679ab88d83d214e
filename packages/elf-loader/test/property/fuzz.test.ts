// Hostile input: mutated real ELF files (a system binary and images built by our test writer)
// must never make any entry point fail with anything but AmpError, never write outside the
// ranges the sink accepted, and never hang (each run is bounded by the test timeout).
import { existsSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ElfStreamLoader,
  isAmpError,
  loadElf,
  parseElf,
  parseMdt,
  readCoredump,
  validateElf,
  findResourceTable,
  findSection,
} from "@amp/elf-loader";
import type { LoadSink } from "@amp/elf-loader";
import { fcParams } from "@amp/test-utils";
import { buildElf, bytesOf } from "../helpers/elf-builder.ts";

const BASES: Uint8Array[] = [
  buildElf({
    elfClass: 32,
    segments: [
      { paddr: 0x100n, data: bytesOf(1, 2, 3, 4), memsz: 0x20n },
      { paddr: 0x200n, data: bytesOf(5) },
    ],
    sections: [{ name: ".resource_table", type: 1, addr: 0x200n, segment: 1, segmentOffset: 0, size: 1n }],
    symbols: [{ name: "main", value: 0x100n }],
  }),
  buildElf({
    elfClass: 64,
    le: false,
    segments: [{ paddr: 0x1_0000_0000n, data: bytesOf(9, 9, 9), memsz: 0x10n }],
    sections: [{ name: ".data", type: 1, data: bytesOf(1, 2) }],
    symbols: [{ name: "x", value: 1n }],
  }),
];
// A real binary: the smallest usual one on Debian, trimmed of nothing (it is ~40 KiB).
if (existsSync("/usr/bin/true")) BASES.push(new Uint8Array(readFileSync("/usr/bin/true")));

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x8000_0000, 0xffff_ffff, 0xffff_fff0, 52, 56, 64];

const mutation = fc.oneof(
  // Single byte anywhere in the first KiB (headers) or anywhere at all.
  fc.record({ kind: fc.constant("byte" as const), at: fc.nat({ max: 1023 }), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("byteAnywhere" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  // An interesting 16/32/64-bit value at an aligned header offset.
  fc.record({
    kind: fc.constant("word" as const),
    at: fc.nat({ max: 127 }),
    value: fc.constantFrom(...INTERESTING),
    width: fc.constantFrom(2, 4, 8),
    le: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(base: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = base.slice();
  for (const m of ms) {
    if (m.kind === "truncate") {
      b = b.slice(0, m.at % (b.length + 1));
      continue;
    }
    if (b.length === 0) continue;
    if (m.kind === "byte" || m.kind === "byteAnywhere") {
      b[m.at % b.length] = m.value;
      continue;
    }
    const at = (m.at * m.width) % Math.max(1, b.length - m.width);
    if (at + m.width > b.length) continue;
    const v = new DataView(b.buffer, b.byteOffset);
    if (m.width === 2) v.setUint16(at, m.value & 0xffff, m.le);
    else if (m.width === 4) v.setUint32(at, m.value >>> 0, m.le);
    else v.setBigUint64(at, m.value === 0xffff_ffff ? 0xffff_ffff_ffff_ffffn : BigInt(m.value), m.le);
  }
  return b;
}

/** Asserts `f` either returns or throws an AmpError. */
function onlyAmpError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!isAmpError(e)) throw e;
  }
}

/** A sink over [0, 2^33) that checks every write stays in a range it accepted. */
function checkingSink(): LoadSink & { accepted: [bigint, bigint][] } {
  const accepted: [bigint, bigint][] = [];
  const inside = (pa: bigint, n: bigint): boolean => accepted.some(([a, len]) => pa >= a && pa + n <= a + len);
  return {
    accepted,
    accepts(pa, n) {
      if (pa + n > 1n << 33n) return false;
      accepted.push([pa, n]);
      return true;
    },
    write(pa, b) {
      if (!inside(pa, BigInt(b.length))) throw new Error(`write outside accepted ranges at ${pa}`);
    },
    fill(pa, n) {
      if (!inside(pa, n)) throw new Error(`fill outside accepted ranges at ${pa}`);
    },
  };
}

describe("mutated ELF files", () => {
  it("parse/validate/lookups/coredump reader/mdt parser fail only with AmpError", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: BASES.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        (which, ms) => {
          const bytes = mutate(BASES[which]!, ms);
          expect(Array.isArray(validateElf(bytes))).toBe(true);
          onlyAmpError(() => {
            const elf = parseElf(bytes);
            onlyAmpError(() => findResourceTable(elf));
            onlyAmpError(() => findSection(elf, ".data"));
          });
          onlyAmpError(() => readCoredump(bytes));
          onlyAmpError(() => parseMdt(bytes));
        },
      ),
      fcParams(300),
    );
  });

  it("loading writes only inside accepted ranges, whole or streamed", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: BASES.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 4096 }),
        (which, ms, chunk) => {
          const bytes = mutate(BASES[which]!, ms);
          // The sink throws (Error) for a write outside what it accepted; the loader wraps that
          // in ERR_SINK, so check the cause as well: it must never be our "outside" error.
          const run = (f: () => void): void => {
            try {
              f();
            } catch (e) {
              if (!isAmpError(e)) throw e;
              const cause = (e as Error).cause;
              if (
                (cause instanceof Error && cause.message.startsWith("write outside")) ||
                (cause instanceof Error && cause.message.startsWith("fill outside"))
              )
                throw cause;
            }
          };
          run(() => {
            loadElf(bytes, checkingSink());
          });
          run(() => {
            const l = new ElfStreamLoader(checkingSink());
            for (let i = 0; i < bytes.length; i += chunk) l.push(bytes.subarray(i, i + chunk));
            l.finish();
          });
        },
      ),
      fcParams(300),
    );
  });
});

describe("arbitrary bytes", () => {
  it("fail only with AmpError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (raw, elfMagic) => {
        const bytes = raw.slice();
        if (elfMagic && bytes.length >= 4) bytes.set([0x7f, 0x45, 0x4c, 0x46]);
        expect(Array.isArray(validateElf(bytes))).toBe(true);
        onlyAmpError(() => parseElf(bytes));
        onlyAmpError(() => readCoredump(bytes));
        onlyAmpError(() => loadElf(bytes, checkingSink()));
      }),
      fcParams(500),
    );
  });
});
