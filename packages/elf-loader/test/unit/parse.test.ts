import { describe, expect, it } from "vitest";
import {
  findResourceTable,
  findSection,
  findSymbol,
  isAmpError,
  parseElf,
  sectionBytes,
  segmentBytes,
  symbolAddress,
  validateElf,
} from "@amp/elf-loader";
import { toHex } from "@amp/test-utils";
import { buildElf, bytesOf } from "../helpers/elf-builder.ts";

const CASES = [
  { elfClass: 32, le: true },
  { elfClass: 32, le: false },
  { elfClass: 64, le: true },
  { elfClass: 64, le: false },
] as const;

describe.each(CASES)("ELF$elfClass le=$le", ({ elfClass, le }) => {
  const bytes = buildElf({
    elfClass,
    le,
    entry: 0x1001n,
    machine: 40,
    segments: [
      { paddr: 0x1000n, vaddr: 0x8000_1000n, data: bytesOf(1, 2, 3, 4), memsz: 16n, flags: 5 },
      { paddr: 0x2000n, data: bytesOf(9, 9), flags: 6 },
    ],
    sections: [
      { name: ".text", type: 1, flags: 6n, addr: 0x8000_1000n, segment: 0, segmentOffset: 0, size: 4n },
      { name: ".resource_table", type: 1, flags: 2n, addr: 0x2000n, segment: 1, segmentOffset: 0, size: 2n },
      { name: ".bss", type: 8, flags: 3n, addr: 0x1004n, size: 12n },
    ],
    symbols: [
      { name: "main", value: 0x1001n, size: 4n },
      { name: "table", value: 0x2000n, info: 0x11 },
    ],
  });
  const elf = parseElf(bytes);

  it("reads the file header", () => {
    expect(elf.header).toMatchObject({
      elfClass,
      littleEndian: le,
      type: 2,
      machine: 40,
      version: 1,
      entry: 0x1001n,
      phnum: 2,
      ehsize: elfClass === 64 ? 64 : 52,
    });
    expect(elf.diagnostics).toEqual([]);
  });

  it("reads program headers with p_flags at the class's offset", () => {
    expect(elf.programHeaders.map((p) => [p.type, p.flags, p.paddr, p.vaddr, p.filesz, p.memsz])).toEqual([
      [1, 5, 0x1000n, 0x8000_1000n, 4n, 16n],
      [1, 6, 0x2000n, 0x2000n, 2n, 2n],
    ]);
    expect(toHex(segmentBytes(elf, elf.programHeaders[0]!))).toBe("01020304");
  });

  it("names sections and finds them", () => {
    expect(elf.sections.map((s) => s.name)).toEqual([
      "",
      ".text",
      ".resource_table",
      ".bss",
      ".symtab",
      ".strtab",
      ".shstrtab",
    ]);
    const rt = findResourceTable(elf)!;
    expect(rt.address).toBe(0x2000n);
    expect(toHex(rt.bytes)).toBe("0909");
    expect(rt.segment?.index).toBe(1);
    expect(findSection(elf, ".text")?.address).toBe(0x8000_1000n);
    expect(findSection(elf, ".nope")).toBeUndefined();
    expect(sectionBytes(elf, elf.sections[3]!).length).toBe(0);
  });

  it("reads symbols and looks them up by name", () => {
    expect(findSymbol(elf, "main")).toMatchObject({ value: 0x1001n, size: 4n, type: 2, bind: 1 });
    expect(symbolAddress(elf, "table")).toBe(0x2000n);
    expect(symbolAddress(elf, "missing")).toBeUndefined();
  });

  it("validates clean", () => {
    expect(validateElf(elf)).toEqual([]);
  });
});

describe("64-bit values", () => {
  it("keeps addresses above 2^53 exact", () => {
    const bytes = buildElf({
      elfClass: 64,
      entry: 0xffff_ffff_ffff_f001n,
      segments: [{ paddr: 0xffff_ffff_ffff_f000n, data: bytesOf(1), memsz: 0x100n }],
    });
    const elf = parseElf(bytes);
    expect(elf.header.entry).toBe(0xffff_ffff_ffff_f001n);
    expect(elf.programHeaders[0]!.paddr).toBe(0xffff_ffff_ffff_f000n);
    expect(validateElf(elf)).toEqual([]);
    expect(validateElf(elf, { addressBits: 48 }).map((d) => d.code)).toEqual(["ADDRESS_TOO_WIDE", "ADDRESS_TOO_WIDE"]);
  });
});

describe("files without section headers", () => {
  const bytes = buildElf({ elfClass: 32, noSections: true, segments: [{ paddr: 0n, data: bytesOf(1) }] });
  const elf = parseElf(bytes);
  it("parse with no sections and say so", () => {
    expect(elf.sections).toEqual([]);
    expect(validateElf(elf).map((d) => [d.code, d.severity])).toEqual([["NO_SECTION_HEADERS", "warning"]]);
  });
  it("findSection throws ERR_NO_SECTIONS, findResourceTable returns undefined", () => {
    expect(() => findSection(elf, ".resource_table")).toThrow(expect.objectContaining({ code: "ERR_NO_SECTIONS" }));
    expect(findResourceTable(elf)).toBeUndefined();
  });
});

describe("extended numbering", () => {
  it("follows SHN_XINDEX and e_shnum = 0 through section 0", () => {
    const bytes = buildElf({
      elfClass: 64,
      segments: [{ paddr: 0n, data: bytesOf(1) }],
      sections: [{ name: ".a", type: 1, data: bytesOf(7) }],
    });
    const v = new DataView(bytes.buffer);
    const shoff = Number(v.getBigUint64(40, true));
    const shnum = v.getUint16(60, true);
    const shstrndx = v.getUint16(62, true);
    v.setBigUint64(shoff + 32, BigInt(shnum), true); // section 0 sh_size = count
    v.setUint32(shoff + 40, shstrndx, true); // section 0 sh_link = shstrndx
    v.setUint16(60, 0, true);
    v.setUint16(62, 0xffff, true);
    const elf = parseElf(bytes);
    expect(elf.sections.length).toBe(shnum);
    expect(elf.shstrndx).toBe(shstrndx);
    expect(elf.sections[1]!.name).toBe(".a");
  });
});

describe("SHN_XINDEX resolving to section 0 (issue 15 item 8)", () => {
  it("warns that no section has a name, so the resource table cannot be found", () => {
    const bytes = buildElf({
      elfClass: 32,
      segments: [{ paddr: 0n, data: bytesOf(1, 2, 3, 4) }],
      sections: [{ name: ".resource_table", type: 1, segment: 0, segmentOffset: 0, size: 4n }],
    });
    const v = new DataView(bytes.buffer);
    v.setUint16(50, 0xffff, true); // e_shstrndx = SHN_XINDEX; section 0's sh_link stays 0
    const elf = parseElf(bytes);
    expect(elf.shstrndx).toBe(0);
    expect(elf.sections.every((s) => s.name === "")).toBe(true);
    expect(findResourceTable(elf)).toBeUndefined();
    const w = elf.diagnostics.filter((d) => d.code === "SHSTRNDX_XINDEX_UNDEF");
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ severity: "warning", offset: 50 });
    expect(w[0]?.message).toMatch(/sh_link is 0/);
    expect(w[0]?.message).toMatch(/\.resource_table/);
    // validateElf reports it too (a warning: the image still loads).
    expect(
      validateElf(bytes)
        .filter((d) => d.code === "SHSTRNDX_XINDEX_UNDEF")
        .map((d) => d.severity),
    ).toEqual(["warning"]);
  });

  it("stays silent for a plain e_shstrndx of 0 (no string table, on purpose)", () => {
    const bytes = buildElf({
      elfClass: 32,
      segments: [{ paddr: 0n, data: bytesOf(1) }],
      sections: [{ name: ".a", type: 1, data: bytesOf(7) }],
    });
    new DataView(bytes.buffer).setUint16(50, 0, true);
    expect(parseElf(bytes).diagnostics.map((d) => d.code)).toEqual([]);
  });
});

describe("fatal errors", () => {
  it("rejects a wrong magic, a short file, a bad class", () => {
    const codeOf = (b: Uint8Array): string => {
      try {
        parseElf(b);
        return "none";
      } catch (e) {
        return isAmpError(e) ? `${e.code}:${(e.cause as { code: string }).code}` : "other";
      }
    };
    expect(codeOf(bytesOf(1, 2, 3, 4, 5))).toBe("ERR_MALFORMED:BAD_MAGIC");
    expect(codeOf(bytesOf(0x7f, 0x45, 0x4c, 0x46, 1, 1))).toBe("ERR_TRUNCATED:FILE_TOO_SMALL");
    const b = buildElf({ elfClass: 32, segments: [{ paddr: 0n, data: bytesOf(1) }] });
    b[4] = 3;
    expect(codeOf(b)).toBe("ERR_MALFORMED:BAD_CLASS");
    b[4] = 1;
    b[5] = 0;
    expect(codeOf(b)).toBe("ERR_MALFORMED:BAD_DATA_ENCODING");
    const c64 = buildElf({ elfClass: 64, segments: [{ paddr: 0n, data: bytesOf(1) }] });
    expect(codeOf(c64.subarray(0, 60))).toBe("ERR_TRUNCATED:FILE_TOO_SMALL");
  });
  it("throws TypeError for a non-Uint8Array and RangeError for bad limits", () => {
    expect(() => parseElf([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => parseElf(new Uint8Array(64), { maxSections: -1 })).toThrow(RangeError);
  });
});
