// Focused tests for the loading facts of docs/wire-formats.md, "Firmware ELF and coredumps" and the
// behaviour-and-features.md §6 ELF inputs (CVE-2026-37540 shape, Linux find_table observations) not
// already pinned elsewhere.
import { describe, expect, it } from "vitest";
import { findResourceTable, isAmpError, loadElf, parseElf, parseNotes, validateElf } from "@amp/elf-loader";
import { buildElf, bytesOf, memorySink } from "../helpers/elf-builder.ts";

function codeOf(f: () => unknown): string {
  try {
    f();
    return "none";
  } catch (e) {
    return isAmpError(e) ? e.code : `other:${String(e)}`;
  }
}

const TABLE = bytesOf(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

describe("segments load by p_paddr, the loaded table is at the section's sh_addr", () => {
  // The usual `> RAM AT> FLASH` link: the segment's LMA (p_paddr) is in flash, the table's VMA
  // (sh_addr, and p_vaddr) in RAM.
  const image = (elfClass: 32 | 64): Uint8Array =>
    buildElf({
      elfClass,
      entry: 0x100n,
      segments: [{ paddr: 0x100n, vaddr: 0x2000_0000n, data: TABLE }],
      sections: [
        { name: ".resource_table", type: 1, flags: 3n, addr: 0x2000_0000n, segment: 0, segmentOffset: 0, size: 16n },
      ],
    });

  it.each([32, 64] as const)("ELF%d: the segment goes to p_paddr, the table is reported at sh_addr", (elfClass) => {
    const bytes = image(elfClass);
    const m = memorySink(0x100n, 0x100);
    loadElf(bytes, m.sink);
    expect([...m.mem.subarray(0, 16)]).toEqual([...TABLE]);
    const rt = findResourceTable(parseElf(bytes));
    expect(rt?.address).toBe(0x2000_0000n);
    expect(rt?.segment?.paddr).toBe(0x100n);
    expect([...(rt?.bytes ?? [])]).toEqual([...TABLE]);
  });

  it("the name must match exactly and the first match wins", () => {
    const bytes = buildElf({
      elfClass: 32,
      segments: [{ paddr: 0x100n, data: new Uint8Array(48) }],
      sections: [
        { name: ".resource_table.x", type: 1, addr: 0x100n, segment: 0, segmentOffset: 0, size: 16n },
        { name: ".Resource_table", type: 1, addr: 0x110n, segment: 0, segmentOffset: 16, size: 16n },
        { name: ".resource_table", type: 1, addr: 0x120n, segment: 0, segmentOffset: 32, size: 8n },
        { name: ".resource_table", type: 1, addr: 0x128n, segment: 0, segmentOffset: 40, size: 8n },
      ],
    });
    expect(findResourceTable(parseElf(bytes))?.address).toBe(0x120n);
  });

  it("EI_DATA must match the host: a big-endian image is refused before anything is written", () => {
    const be = buildElf({ elfClass: 32, le: false, segments: [{ paddr: 0x100n, data: bytesOf(1, 2, 3, 4) }] });
    const m = memorySink(0x100n, 0x100);
    expect(codeOf(() => loadElf(be, m.sink, { endianness: "little" }))).toBe("ERR_UNSUPPORTED");
    expect(m.calls).toEqual([]);
  });
});

describe("behaviour §6 rows 1 and 12: header tables", () => {
  const good = (): Uint8Array =>
    buildElf({
      elfClass: 32,
      segments: [{ paddr: 0n, data: bytesOf(1) }],
      sections: [{ name: ".a", type: 1, data: bytesOf(1) }],
    });
  const patch = (f: (v: DataView) => void): Uint8Array => {
    const b = good().slice();
    f(new DataView(b.buffer));
    return b;
  };

  it("count and entry size near 0xFFFF (the product wraps a 32-bit int) fail cleanly", () => {
    // e_phnum 0xFFFF is PN_XNUM (count in section 0), so the largest plain count is 0xFFFE.
    const ph = patch((v) => {
      v.setUint16(42, 0xffff, true);
      v.setUint16(44, 0xfffe, true);
    });
    expect(validateElf(ph, { maxProgramHeaders: 0xffff }).map((d) => d.code)).toEqual(["PHENTSIZE_MISMATCH"]);
    const sh = patch((v) => {
      v.setUint16(46, 0xffff, true);
      v.setUint16(48, 0xffff, true);
    });
    expect(validateElf(sh, { maxSections: 0xffff }).map((d) => d.code)).toEqual(["SHENTSIZE_MISMATCH"]);
    const limits = { maxProgramHeaders: 0xffff, maxSections: 0xffff };
    expect(codeOf(() => loadElf(ph, memorySink(0n, 16).sink, limits))).toBe("ERR_MALFORMED");
    // Loading never reads the section header table (README, "Which files load"): validateElf
    // reports it, the loader loads the segments.
    expect(codeOf(() => loadElf(sh, memorySink(0n, 16).sink, limits))).toBe("none");
    // With the default limits the phdr count alone is refused first.
    expect(codeOf(() => loadElf(ph, memorySink(0n, 16).sink))).toBe("ERR_LIMIT");
  });

  it("a section header table whose end passes the file is refused even though the first header fits", () => {
    const b = patch((v) => {
      v.setUint16(48, v.getUint16(48, true) + 1, true);
    });
    expect(validateElf(b).map((d) => d.code)).toEqual(["SHDRS_PAST_EOF"]);
  });

  it("e_shstrndx pointing at a section whose bytes lie past the file names nothing and says so", () => {
    const g = good();
    const v = new DataView(g.buffer);
    const shoff = v.getUint32(32, true);
    const shstrndx = v.getUint16(50, true);
    const b = g.slice();
    new DataView(b.buffer).setUint32(shoff + 40 * shstrndx + 16, 0xffff_ff00, true);
    const elf = parseElf(b);
    expect(elf.sections.every((s) => s.name === "")).toBe(true);
    expect(elf.diagnostics.map((d) => d.code)).toContain("SHSTRTAB_PAST_EOF");
  });
});

describe("notes with hostile sizes", () => {
  it.each([
    ["namesz 0xFFFFFFFF", [0xffff_ffff, 0, 1]],
    ["descsz 0xFFFFFFFF", [4, 0xffff_ffff, 1]],
    ["descsz just past the end", [0, 5, 1]],
  ])("%s is ERR_TRUNCATED", (_n, [namesz, descsz, type]) => {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setUint32(0, namesz ?? 0, true);
    v.setUint32(4, descsz ?? 0, true);
    v.setUint32(8, type ?? 0, true);
    expect(codeOf(() => parseNotes(b, true))).toBe("ERR_TRUNCATED");
  });
});

describe("names that all overlap one long run without a NUL stay linear", () => {
  // Every sh_name / st_name at offset 0 of a string table with no NUL: decoded naively, each
  // name is the whole table (n x table bytes of strings: a 2 MB file exhausted the heap).
  function hostile(strSize: number, sections: number, symbols: number): Uint8Array {
    const symOff = 84 + strSize;
    const shoff = symOff + 16 * symbols;
    const b = new Uint8Array(shoff + 40 * sections);
    const v = new DataView(b.buffer);
    b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    v.setUint16(16, 2, true);
    v.setUint32(20, 1, true);
    v.setUint32(28, 52, true);
    v.setUint32(32, shoff, true);
    v.setUint16(40, 52, true);
    v.setUint16(42, 32, true);
    v.setUint16(44, 1, true);
    v.setUint16(46, 40, true);
    v.setUint16(48, sections, true);
    v.setUint16(50, 1, true);
    v.setUint32(52, 1, true); // PT_LOAD with nothing in it
    b.fill(0x41, 84, 84 + strSize);
    // [1] the string table (also the symbols' sh_link), [2] a symbol table, the rest empty.
    v.setUint32(shoff + 40 + 4, 3, true);
    v.setUint32(shoff + 40 + 16, 84, true);
    v.setUint32(shoff + 40 + 20, strSize, true);
    v.setUint32(shoff + 80 + 4, 2, true);
    v.setUint32(shoff + 80 + 16, symOff, true);
    v.setUint32(shoff + 80 + 20, 16 * symbols, true);
    v.setUint32(shoff + 80 + 24, 1, true);
    v.setUint32(shoff + 80 + 36, 16, true);
    return b;
  }

  it("section and symbol names share one budget; the rest are empty, with a warning", () => {
    const b = hostile(64 * 1024, 3000, 3000);
    const elf = parseElf(b);
    expect(elf.sections.length).toBe(3000);
    expect(elf.symbols.length).toBe(2999);
    const total =
      elf.sections.reduce((n, s) => n + s.name.length, 0) + elf.symbols.reduce((n, s) => n + s.name.length, 0);
    expect(total).toBeLessThanOrEqual(8 * b.length + (1 << 20));
    expect(elf.sections[3]?.name).toBe("A".repeat(64 * 1024));
    expect(elf.sections[2999]?.name).toBe("");
    expect(elf.diagnostics.map((d) => `${d.code}/${d.severity}`)).toEqual(
      expect.arrayContaining(["NAME_UNTERMINATED/warning", "BAD_SYMBOL_TABLE/warning"]),
    );
    expect(elf.diagnostics.filter((d) => d.message.includes("budget")).length).toBe(2);
  });

  it("a real file's names are untouched by the budget", () => {
    const b = buildElf({
      elfClass: 64,
      segments: [{ paddr: 0n, data: bytesOf(1) }],
      sections: [{ name: "x".repeat(3000), type: 1, data: bytesOf(1) }],
      symbols: [{ name: "y".repeat(3000), value: 1n }],
    });
    const elf = parseElf(b);
    expect(elf.sections.some((s) => s.name === "x".repeat(3000))).toBe(true);
    expect(elf.symbols[0]?.name).toBe("y".repeat(3000));
    expect(elf.diagnostics).toEqual([]);
  });
});
