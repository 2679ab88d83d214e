import { describe, expect, it } from "vitest";
import {
  coredumpChunks,
  coredumpSize,
  parseElf,
  parseNotes,
  readCoredump,
  readCoredumpMemory,
  writeCoredump,
} from "@amp/elf-loader";
import type { CoredumpLayout, CoredumpMemoryReader } from "@amp/elf-loader";
import { toHex } from "@amp/test-utils";
import { buildElf, bytesOf } from "../helpers/elf-builder.ts";

const pattern = (da: bigint, off: bigint, out: Uint8Array): void => {
  for (let i = 0; i < out.length; i++) out[i] = Number((da + off + BigInt(i)) & 0xffn);
};
const reader: CoredumpMemoryReader = (r, _i, off, out) => {
  pattern(r.da, off, out);
  return true;
};

function collect(
  layout: CoredumpLayout,
  read: CoredumpMemoryReader,
  chunkSize?: number,
): { bytes: Uint8Array; chunks: number[] } {
  const parts = [...coredumpChunks(layout, read, chunkSize === undefined ? {} : { chunkSize })];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const bytes = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, chunks: parts.map((p) => p.length) };
}

describe.each([
  [32, true],
  [32, false],
  [64, true],
  [64, false],
] as const)("ELF%i core, little-endian %s", (elfClass, littleEndian) => {
  const layout: CoredumpLayout = {
    elfClass,
    machine: 40,
    littleEndian,
    entry: 0x1234n,
    regions: [
      { da: 0x2000_0000n, size: 0x3000n },
      { da: 0x1000n, size: 5n, name: "tcm" },
    ],
    notes: [{ name: "CORE", type: 1, desc: bytesOf(1, 2, 3, 4, 5) }],
    sectionHeaders: true,
  };
  const { bytes } = collect(layout, reader, 0x1000);

  it("has Linux's header and program headers", () => {
    const elf = parseElf(bytes);
    expect(elf.header).toMatchObject({
      elfClass,
      littleEndian,
      type: 4,
      machine: 40,
      version: 1,
      entry: 0x1234n,
      flags: 0,
    });
    const [note, a, b] = elf.programHeaders;
    expect(note).toMatchObject({ type: 4, filesz: 28n });
    expect(a).toMatchObject({
      type: 1,
      flags: 7,
      vaddr: 0x2000_0000n,
      paddr: 0x2000_0000n,
      filesz: 0x3000n,
      memsz: 0x3000n,
      align: 0n,
    });
    expect(b!.offset).toBe(a!.offset + 0x3000n);
    expect(BigInt(bytes.length)).toBe(coredumpSize(layout));
  });

  it("reads back regions, names, notes and memory", () => {
    const core = readCoredump(bytes);
    expect(core).toMatchObject({ elfClass, littleEndian, machine: 40, entry: 0x1234n, format: "segments" });
    expect(core.diagnostics).toEqual([]);
    expect(core.regions.map((r) => [r.da, r.size, r.name])).toEqual([
      [0x2000_0000n, 0x3000n, "load0"],
      [0x1000n, 5n, "tcm"],
    ]);
    expect(core.notes.map((n) => [n.name, n.type, toHex(n.desc)])).toEqual([["CORE", 1, "0102030405"]]);
    expect(readCoredumpMemory(bytes, core, 0x2000_2ffen, 4)).toBeUndefined();
    expect(toHex(readCoredumpMemory(bytes, core, 0x2000_2ffcn, 4)!)).toBe("fcfdfeff");
    expect(toHex(readCoredumpMemory(bytes, core, 0x1000n, 5)!)).toBe("0001020304");
    expect(readCoredumpMemory(bytes, core, 0x5000n, 1)).toBeUndefined();
  });
});

describe("coredump writer", () => {
  it("reads regions in bounded chunks and 0xFF-fills unreadable memory", () => {
    const seen: number[] = [];
    const layout: CoredumpLayout = {
      elfClass: 32,
      machine: 0,
      regions: [
        { da: 0n, size: 10_000n },
        { da: 0x10000n, size: 3n },
      ],
    };
    const { bytes, chunks } = collect(
      layout,
      (r, i, off, out) => {
        seen.push(out.length);
        if (i === 1) return false;
        pattern(r.da, off, out);
        return true;
      },
      4096,
    );
    expect(seen).toEqual([4096, 4096, 1808, 3]);
    expect(chunks).toEqual([52 + 2 * 32, 4096, 4096, 1808, 3]);
    expect(toHex(bytes.subarray(-3))).toBe("ffffff");
  });

  it("writeCoredump counts bytes; an empty layout is just a header", () => {
    const out: Uint8Array[] = [];
    expect(writeCoredump({ elfClass: 64, machine: 183, regions: [] }, reader, (c) => out.push(c))).toBe(64n);
    const elf = parseElf(out[0]!);
    expect(elf.programHeaders).toEqual([]);
  });

  it("refuses layouts that do not fit the class", () => {
    const bad =
      (layout: CoredumpLayout): (() => void) =>
      () => {
        Array.from(coredumpChunks(layout, reader));
      };
    expect(bad({ elfClass: 32, machine: 0, regions: [{ da: 0xffff_ff00n, size: 0x200n }] })).toThrow(RangeError);
    expect(bad({ elfClass: 48 as 32, machine: 0, regions: [] })).toThrow(RangeError);
    expect(bad({ elfClass: 32, machine: 0, regions: [{ da: 1 as unknown as bigint, size: 1n }] })).toThrow(TypeError);
    expect(() =>
      Array.from(coredumpChunks({ elfClass: 32, machine: 0, regions: [] }, reader, { chunkSize: 0 })),
    ).toThrow(RangeError);
  });
});

describe("coredump reader", () => {
  it("reads Linux's section-style dumps (format 2)", () => {
    const core = buildElf({
      elfClass: 32,
      type: 4,
      sections: [
        { name: "STR_TBL", type: 3, data: bytesOf(0) },
        { name: "modem", type: 1, flags: 1n, addr: 0x8000_0000n, data: bytesOf(1, 2, 3, 4) },
      ],
    });
    const s = readCoredump(core);
    expect(s.format).toBe("sections");
    expect(s.regions.map((r) => [r.name, r.da, r.size])).toEqual([["modem", 0x8000_0000n, 4n]]);
    expect(toHex(readCoredumpMemory(core, s, 0x8000_0001n, 2)!)).toBe("0203");
  });

  it("flags a truncated dump", () => {
    const { bytes } = collect({ elfClass: 32, machine: 40, regions: [{ da: 0n, size: 100n }] }, reader);
    const s = readCoredump(bytes.subarray(0, 120));
    expect(s.diagnostics.map((d) => d.code)).toEqual(["SEGMENT_PAST_EOF"]);
    expect(readCoredumpMemory(bytes.subarray(0, 120), s, 0n, 100)).toBeUndefined();
  });

  it("parses notes and refuses ones that run past the end", () => {
    const n = bytesOf(5, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0x43, 0x4f, 0x52, 0x45, 0, 0, 0, 0, 0xaa, 0xbb);
    expect(parseNotes(n, true).map((x) => [x.name, x.type, toHex(x.desc)])).toEqual([["CORE", 1, "aabb"]]);
    expect(() => parseNotes(n.subarray(0, 19), true)).toThrow(expect.objectContaining({ code: "ERR_TRUNCATED" }));
  });
});
