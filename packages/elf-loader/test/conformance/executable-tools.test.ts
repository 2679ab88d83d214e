// Executables we write, read by tools we did not write: GNU readelf agrees with our parser on
// every header field and lists our symbols; gdb-multiarch reads the ARM image's memory and
// symbols from the file, little- and big-endian.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ElfMachine, ProgramFlag, SectionFlag, SymbolType, parseElf, writeElfExecutable } from "@amp/elf-loader";
import type { ElfExecutableLayout } from "@amp/elf-loader";
import { makeTempDir, requireTools, run } from "@amp/test-utils";
import { compareWithReadelf } from "../helpers/readelf.ts";

const CODE = new Uint8Array([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);

const layout = (elfClass: 32 | 64, littleEndian: boolean, machine: number): ElfExecutableLayout => ({
  elfClass,
  littleEndian,
  machine,
  entry: 0x8000n,
  segments: [
    {
      name: ".text",
      addr: 0x8000n,
      data: CODE,
      flags: ProgramFlag.PF_R | ProgramFlag.PF_X,
      sectionFlags: SectionFlag.SHF_ALLOC | SectionFlag.SHF_EXECINSTR,
    },
    {
      name: ".bss",
      addr: 0x9000n,
      memsz: 0x400n,
      flags: ProgramFlag.PF_R | ProgramFlag.PF_W,
      sectionFlags: SectionFlag.SHF_ALLOC | SectionFlag.SHF_WRITE,
    },
  ],
  symbols: [
    { name: "_start", value: 0x8000n, size: 8n, type: SymbolType.STT_FUNC, section: ".text" },
    { name: "buffer", value: 0x9000n, size: 0x400n, type: SymbolType.STT_OBJECT, section: ".bss" },
  ],
});

function writeFile(l: ElfExecutableLayout): { path: string; bytes: Uint8Array } {
  const bytes = writeElfExecutable(l);
  const path = join(makeTempDir("amp-exec-"), "fw.elf");
  writeFileSync(path, bytes);
  return { path, bytes };
}

describe.skipIf(requireTools("readelf"))("readelf reads the executables we write", () => {
  it.each([
    [32, "LE", ElfMachine.EM_ARM],
    [32, "BE", ElfMachine.EM_ARM],
    [64, "LE", ElfMachine.EM_AARCH64],
    [64, "BE", ElfMachine.EM_AARCH64],
  ] as const)("ELF%d %s: every field as we parse it, no warnings", (elfClass, le, machine) => {
    const { path, bytes } = writeFile(layout(elfClass, le === "LE", machine));
    const text = run("readelf", ["-hlSW", path]);
    const c = compareWithReadelf(parseElf(bytes), text);
    expect(c.mismatches).toEqual([]);
    expect([c.programHeaders, c.sections]).toEqual([2, 6]);
    const syms = run("readelf", ["-sW", path]);
    expect(syms).not.toMatch(/Warning|Error/i);
    expect(syms).toMatch(/8000\s+8 FUNC\s+GLOBAL\s+DEFAULT\s+1 _start/);
    expect(syms).toMatch(/9000\s+1024 OBJECT\s+GLOBAL\s+DEFAULT\s+2 buffer/);
  });
});

describe.skipIf(requireTools("gdb-multiarch"))("gdb-multiarch reads the executables we write", () => {
  it.each(["LE", "BE"])("ARM %s: memory and symbols from the file", (le) => {
    const { path } = writeFile(layout(32, le === "LE", ElfMachine.EM_ARM));
    const out = run("gdb-multiarch", [
      "-batch",
      "-nx",
      path,
      "-ex",
      "x/8xb 0x8000",
      "-ex",
      "info symbol 0x8004",
      "-ex",
      "info address buffer",
    ]);
    expect(out).toMatch(/0x11\s+0x22\s+0x33\s+0x44\s+0x55\s+0x66\s+0x77\s+0x88/);
    expect(out).toMatch(/_start \+ 4 in section \.text/);
    expect(out).toMatch(/Symbol "buffer" is at 0x9000/);
  });
});
