import { describe, expect, it } from "vitest";
import { ElfDiagnosticCode, isAmpError, loadElf, parseElf, validateElf } from "@amp/elf-loader";
import type { ElfDiagnostic } from "@amp/elf-loader";
import { buildElf, bytesOf, memorySink } from "../helpers/elf-builder.ts";

const good = (): Uint8Array =>
  buildElf({
    elfClass: 32,
    entry: 0x100n,
    segments: [{ paddr: 0x100n, data: bytesOf(1, 2, 3, 4), memsz: 8n }],
    sections: [{ name: ".resource_table", type: 1, addr: 0x100n, segment: 0, segmentOffset: 0, size: 4n }],
  });

function codes(d: ElfDiagnostic[]): string[] {
  return d.map((x) => `${x.code}/${x.severity}`);
}

function patch(bytes: Uint8Array, f: (v: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  f(new DataView(copy.buffer));
  return copy;
}

describe("validateElf", () => {
  it("is clean for a good image", () => {
    expect(validateElf(good())).toEqual([]);
  });

  it("Linux checks: no program headers, endianness, truncated segment", () => {
    const none = buildElf({ elfClass: 32, segments: [] });
    expect(codes(validateElf(none))).toContain("NO_PROGRAM_HEADERS/error");
    expect(codes(validateElf(good(), { endianness: "big" }))).toContain("ENDIANNESS_MISMATCH/error");
    expect(validateElf(good(), { endianness: "little" })).toEqual([]);
    const trunc = patch(good(), (v) => {
      v.setUint32(52 + 16, 0x1000, true);
      v.setUint32(52 + 20, 0x1000, true);
    });
    expect(codes(validateElf(trunc))).toContain("SEGMENT_PAST_EOF/error");
  });

  it("filesz > memsz", () => {
    const b = patch(good(), (v) => v.setUint32(52 + 20, 2, true));
    expect(codes(validateElf(b))).toContain("SEGMENT_FILESZ_GT_MEMSZ/error");
  });

  it("overlapping PT_LOAD segments", () => {
    const b = buildElf({
      elfClass: 64,
      segments: [
        { paddr: 0x1000n, data: new Uint8Array(0x100) },
        { paddr: 0x10ffn, data: bytesOf(2) },
      ],
    });
    expect(codes(validateElf(b))).toEqual(["SEGMENTS_OVERLAP/error"]);
    // Only a zero-fill tail overlaps: what linkers emit for .bss after an AT> load image.
    const fill = buildElf({
      elfClass: 64,
      segments: [
        { paddr: 0x1000n, data: bytesOf(1), memsz: 0x100n },
        { paddr: 0x10ffn, data: bytesOf(2) },
      ],
    });
    expect(codes(validateElf(fill))).toEqual(["SEGMENT_FILL_OVERLAP/warning"]);
    // Three segments at one address: every pair is reported.
    const three = buildElf({
      elfClass: 32,
      segments: [
        { paddr: 0x10n, data: bytesOf(1) },
        { paddr: 0x10n, data: bytesOf(2) },
        { paddr: 0x10n, data: bytesOf(3) },
      ],
    });
    expect(codes(validateElf(three))).toEqual([
      "SEGMENTS_OVERLAP/error",
      "SEGMENTS_OVERLAP/error",
      "SEGMENTS_OVERLAP/error",
    ]);
    const ok = buildElf({
      elfClass: 64,
      segments: [
        { paddr: 0x1000n, data: bytesOf(1), memsz: 0x100n },
        { paddr: 0x1100n, data: bytesOf(2) },
      ],
    });
    expect(validateElf(ok)).toEqual([]);
  });

  it("ELF32 segment end past 2^32", () => {
    const b = buildElf({ elfClass: 32, segments: [{ paddr: 0xffff_fff0n, data: bytesOf(1), memsz: 0x20n }] });
    expect(codes(validateElf(b))).toEqual(["ADDRESS_TOO_WIDE/error"]);
  });

  it("header count x entry size past the end / overflowing (CVE-2026-37540 shape)", () => {
    const b = patch(good(), (v) => {
      v.setUint16(44, 0xfffe, true);
    });
    expect(codes(validateElf(b))).toEqual(["TOO_MANY_PROGRAM_HEADERS/error"]);
    expect(codes(validateElf(b, { maxProgramHeaders: 65535 }))).toEqual(["PHDRS_PAST_EOF/error"]);
    // PN_XNUM: the count is section 0's sh_info, which is 0 here.
    const x = patch(good(), (v) => {
      v.setUint16(44, 0xffff, true);
    });
    expect(codes(validateElf(x))).toContain("NO_PROGRAM_HEADERS/error");
    const c = patch(good(), (v) => {
      v.setUint16(48, 0xffff, true);
    });
    expect(codes(validateElf(c))).toEqual(["SHDRS_PAST_EOF/error"]);
    const d = patch(good(), (v) => {
      v.setUint16(42, 0xffff, true);
    });
    expect(codes(validateElf(d))).toEqual(["PHENTSIZE_MISMATCH/error"]);
    const e = patch(good(), (v) => {
      v.setUint16(46, 0xffff, true);
    });
    expect(codes(validateElf(e))).toEqual(["SHENTSIZE_MISMATCH/error"]);
    const f = patch(good(), (v) => {
      v.setUint32(28, 0xffff_fff0, true);
    });
    expect(codes(validateElf(f))).toEqual(["PHDRS_PAST_EOF/error"]);
  });

  it("64-bit offsets that cannot fit the file", () => {
    const b = buildElf({ elfClass: 64, segments: [{ paddr: 0n, data: bytesOf(1) }] });
    const c = patch(b, (v) => v.setBigUint64(40, 0xffff_ffff_ffff_fff0n, true));
    expect(codes(validateElf(c))).toEqual(["SHDRS_PAST_EOF/error"]);
    const d = patch(b, (v) => v.setBigUint64(64 + 8, 0xffff_ffff_ffff_ff00n, true));
    expect(codes(validateElf(d))).toContain("SEGMENT_PAST_EOF/error");
  });

  it("e_shstrndx and sh_name out of range", () => {
    const b = patch(good(), (v) => v.setUint16(50, 99, true));
    expect(codes(validateElf(b))).toContain("SHSTRNDX_OUT_OF_RANGE/error");
    const g = good();
    const shoff = new DataView(g.buffer).getUint32(32, true);
    const c = patch(g, (v) => v.setUint32(shoff + 40, 0x7fff_ffff, true));
    expect(codes(validateElf(c))).toContain("SECTION_NAME_OUT_OF_RANGE/error");
    expect(parseElf(c).sections[1]!.name).toBe("");
  });

  it("limits", () => {
    expect(codes(validateElf(good(), { maxProgramHeaders: 0 }))).toEqual(["TOO_MANY_PROGRAM_HEADERS/error"]);
    expect(codes(validateElf(good(), { maxSections: 2 }))).toEqual(["TOO_MANY_SECTIONS/error"]);
    const s = buildElf({
      elfClass: 32,
      segments: [{ paddr: 0n, data: bytesOf(1) }],
      symbols: [
        { name: "a", value: 1n },
        { name: "b", value: 2n },
      ],
    });
    expect(codes(validateElf(s, { maxSymbols: 1 }))).toEqual(["TOO_MANY_SYMBOLS/error"]);
    expect(validateElf(s, { maxSymbols: 1, symbols: false })).toEqual([]);
  });

  it("resource table placement", () => {
    const notLoaded = buildElf({
      elfClass: 32,
      segments: [{ paddr: 0n, data: bytesOf(1) }],
      sections: [{ name: ".resource_table", type: 1, data: bytesOf(1, 0, 0, 0) }],
    });
    expect(codes(validateElf(notLoaded))).toEqual(["RESOURCE_TABLE_NOT_LOADED/warning"]);
    const nobits = buildElf({
      elfClass: 32,
      segments: [{ paddr: 0n, data: bytesOf(1) }],
      sections: [{ name: ".resource_table", type: 8, size: 16n }],
    });
    expect(codes(validateElf(nobits))).toEqual(["BAD_RESOURCE_TABLE_SECTION/error"]);
    const unaligned = buildElf({
      elfClass: 32,
      segments: [{ paddr: 0n, data: bytesOf(1, 2, 3, 4, 5, 6) }],
      sections: [{ name: ".resource_table", type: 1, segment: 0, segmentOffset: 1, size: 4n }],
    });
    expect(codes(validateElf(unaligned))).toEqual(["RESOURCE_TABLE_UNALIGNED/warning"]);
  });

  it("warnings: not ET_EXEC, no PT_LOAD, e_version", () => {
    const b = buildElf({ elfClass: 32, type: 3, segments: [{ type: 4, paddr: 0n, data: bytesOf(1) }] });
    const c = patch(b, (v) => v.setUint32(20, 2, true));
    expect(codes(validateElf(c))).toEqual([
      "BAD_VERSION/warning",
      "NOT_EXECUTABLE/warning",
      "NO_LOAD_SEGMENTS/warning",
    ]);
  });

  it("every emitted code is in the catalogue, and loadElf throws the catalogue's AmpError code", () => {
    const b = patch(good(), (v) => v.setUint32(52 + 20, 2, true));
    const d = validateElf(b);
    for (const x of d) expect(Object.keys(ElfDiagnosticCode)).toContain(x.code);
    try {
      loadElf(b, memorySink(0n, 0x1000).sink);
      expect.unreachable();
    } catch (e) {
      expect(isAmpError(e) && e.code).toBe(ElfDiagnosticCode.SEGMENT_FILESZ_GT_MEMSZ);
      expect((e as Error).message).toContain("SEGMENT_FILESZ_GT_MEMSZ");
    }
  });
});
