// writeElfExecutable: the bytes it writes, what the parser and loader read back, what it refuses.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  ElfMachine,
  ProgramFlag,
  SectionFlag,
  SectionType,
  SymbolBinding,
  SymbolType,
  findSymbol,
  loadElf,
  parseElf,
  validateElf,
  writeElfExecutable,
} from "@amp/elf-loader";
import type { ElfExecutableLayout } from "@amp/elf-loader";
import { memorySink } from "../helpers/elf-builder.ts";

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const RX = ProgramFlag.PF_R | ProgramFlag.PF_X;
const RW = ProgramFlag.PF_R | ProgramFlag.PF_W;
const AX = SectionFlag.SHF_ALLOC | SectionFlag.SHF_EXECINSTR;
const AW = SectionFlag.SHF_ALLOC | SectionFlag.SHF_WRITE;
const TEXT = new Uint8Array(45).map((_, i) => (i * 7 + 3) & 0xff);
const TABLE = new Uint8Array(20).map((_, i) => 0xa0 + i);

/** The JS-firmware shape of @amp/node: code, a resource table, a zero-filled trace area. */
const FIRMWARE = (extra: Partial<ElfExecutableLayout> = {}): ElfExecutableLayout => ({
  machine: 0,
  flags: 0x4a504d41,
  entry: 0x1000n,
  segments: [
    { name: ".text", addr: 0x1000n, data: TEXT, memsz: 45n, flags: RX, sectionFlags: AX },
    { name: ".resource_table", addr: 0x2000n, data: TABLE, memsz: 20n, flags: RW, sectionFlags: AW },
    { name: ".noinit", addr: 0x3000n, memsz: 0x300n, flags: RW, sectionFlags: AW },
  ],
  symbols: [
    { name: "_start", value: 0x1000n, size: 45n, type: SymbolType.STT_FUNC, section: ".text" },
    { name: "resource_table", value: 0x2000n, size: 20n, type: SymbolType.STT_OBJECT, section: ".resource_table" },
    { name: "trace_buf", value: 0x3000n, size: 0x300n, type: SymbolType.STT_OBJECT, section: ".noinit" },
  ],
  ...extra,
});

describe("writeElfExecutable", () => {
  // The expected digests were computed from the writer this one replaces, @amp/node's
  // src/internal/elf32-writer.ts (writeElf32, commit a8f5614), on the same inputs, before that
  // file was removed: JS firmware images must stay byte-identical.
  it("writes the same bytes as @amp/node's former ELF32 writer", () => {
    const a = writeElfExecutable(FIRMWARE());
    expect([a.length, sha256(a)]).toEqual([676, "3f22788ecffef096d183ad3d3254e4d8b678d818d53874bb5abd04cdf73d3a65"]);
    const b = writeElfExecutable({
      machine: ElfMachine.EM_ARM,
      flags: 0x05000200,
      entry: 0x2000_0001n,
      segments: [
        { name: ".text", addr: 0x2000_0000n, data: TEXT.subarray(0, 13), memsz: 64n, flags: RX, sectionFlags: AX },
      ],
    });
    expect([b.length, sha256(b)]).toEqual([248, "e5f62f7c6f006456b02219cbefa62ee42fe64056a2011c72e27ab041e1540d34"]);
  });

  it.each([
    [32, true],
    [32, false],
    [64, true],
    [64, false],
  ] as const)("ELF%d (little-endian %s) reads back and loads", (elfClass, littleEndian) => {
    const bytes = writeElfExecutable(FIRMWARE({ elfClass, littleEndian, machine: ElfMachine.EM_RISCV }));
    expect(validateElf(bytes)).toEqual([]);
    const elf = parseElf(bytes);
    expect(elf.header).toMatchObject({ elfClass, littleEndian, type: 2, machine: ElfMachine.EM_RISCV });
    expect(elf.header.entry).toBe(0x1000n);
    expect(elf.header.flags).toBe(0x4a504d41);
    expect(elf.programHeaders.map((p) => [p.type, p.paddr, p.vaddr, p.filesz, p.memsz, p.flags, p.align])).toEqual([
      [1, 0x1000n, 0x1000n, 45n, 45n, RX, 16n],
      [1, 0x2000n, 0x2000n, 20n, 20n, RW, 16n],
      [1, 0x3000n, 0x3000n, 0n, 0x300n, RW, 16n],
    ]);
    expect(elf.sections.map((s) => [s.name, s.type, s.flags, s.addr])).toEqual([
      ["", SectionType.SHT_NULL, 0n, 0n],
      [".text", SectionType.SHT_PROGBITS, AX, 0x1000n],
      [".resource_table", SectionType.SHT_PROGBITS, AW, 0x2000n],
      [".noinit", SectionType.SHT_NOBITS, AW, 0x3000n],
      [".symtab", SectionType.SHT_SYMTAB, 0n, 0n],
      [".strtab", SectionType.SHT_STRTAB, 0n, 0n],
      [".shstrtab", SectionType.SHT_STRTAB, 0n, 0n],
    ]);
    expect(elf.symbols.map((s) => [s.name, s.value, s.size, s.type, s.bind, s.shndx])).toEqual([
      ["_start", 0x1000n, 45n, SymbolType.STT_FUNC, SymbolBinding.STB_GLOBAL, 1],
      ["resource_table", 0x2000n, 20n, SymbolType.STT_OBJECT, SymbolBinding.STB_GLOBAL, 2],
      ["trace_buf", 0x3000n, 0x300n, SymbolType.STT_OBJECT, SymbolBinding.STB_GLOBAL, 3],
    ]);
    const m = memorySink(0x1000n, 0x3000);
    loadElf(bytes, m.sink);
    expect([...m.mem.subarray(0, 45)]).toEqual([...TEXT]);
    expect([...m.mem.subarray(0x1000, 0x1014)]).toEqual([...TABLE]);
    expect(m.mem.subarray(0x2000, 0x2300).every((b) => b === 0)).toBe(true);
  });

  it("without symbols writes no .symtab; memsz defaults to the data length", () => {
    const elf = parseElf(
      writeElfExecutable({
        machine: ElfMachine.EM_ARM,
        entry: 0n,
        segments: [{ name: ".data", addr: 0x100n, data: TABLE, flags: RW, sectionFlags: AW }],
      }),
    );
    expect(elf.sections.map((s) => s.name)).toEqual(["", ".data", ".shstrtab"]);
    expect(elf.programHeaders[0]?.memsz).toBe(20n);
    expect(findSymbol(elf, "_start")).toBeUndefined();
  });

  it("writes UTF-8 names", () => {
    const bytes = writeElfExecutable(
      FIRMWARE({ symbols: [{ name: "größe", value: 0x1000n, size: 1n, type: 1, section: ".text" }] }),
    );
    expect(parseElf(bytes).symbols[0]?.name).toBe("größe");
  });

  it.each<[string, Partial<ElfExecutableLayout>, RegExp]>([
    [
      "data larger than memsz",
      { segments: [{ name: ".t", addr: 0n, data: TEXT, memsz: 4n, flags: RX, sectionFlags: AX }] },
      /data larger/,
    ],
    [
      "an address past ELF32",
      { segments: [{ name: ".t", addr: 1n << 32n, memsz: 4n, flags: RX, sectionFlags: AX }] },
      /does not fit ELF32/,
    ],
    [
      "an end address past ELF32",
      { segments: [{ name: ".t", addr: 0xffff_fff0n, memsz: 0x20n, flags: RX, sectionFlags: AX }] },
      /end address/,
    ],
    ["an entry past ELF32", { entry: 1n << 32n }, /entry/],
    [
      "a symbol in no segment",
      { symbols: [{ name: "x", value: 0n, size: 0n, type: 1, section: ".nope" }] },
      /no segment named .nope/,
    ],
    ["a name with a NUL", { symbols: [{ name: "a\0b", value: 0n, size: 0n, type: 1, section: ".text" }] }, /NUL/],
    [
      "a symbol type wider than 4 bits",
      { symbols: [{ name: "x", value: 0n, size: 0n, type: 16, section: ".text" }] },
      /4-bit/,
    ],
    ["a 17-bit machine", { machine: 0x10000 }, /machine/],
  ])("refuses %s", (_what, change, message) => {
    expect(() => writeElfExecutable(FIRMWARE(change))).toThrow(message);
  });

  it("refuses a number where an address belongs", () => {
    expect(() => writeElfExecutable(FIRMWARE({ entry: 0x1000 as unknown as bigint }))).toThrow(TypeError);
  });
});
