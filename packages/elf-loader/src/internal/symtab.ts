// .symtab / .dynsym reading. A broken symbol table is a warning (the loader does not need it),
// never a reason to read outside the file.
import { diag, fail } from "../diagnostics.js";
import { SectionType } from "../constants.js";
import { FieldReader } from "./reader.js";
import { ST_INFO, ST_NAME, ST_OTHER, ST_SHNDX, ST_SIZE, ST_VALUE, SYM_SIZE } from "./layout.js";
import type { NameReader } from "./text.js";
import type { ElfDiagnostic, ElfHeader, ElfSection, ElfSymbol } from "../types.js";

function inFile(s: ElfSection, size: number): boolean {
  return s.type !== SectionType.SHT_NOBITS && s.offset + s.size <= BigInt(size);
}

export function readSymbols(
  bytes: Uint8Array,
  h: ElfHeader,
  sections: readonly ElfSection[],
  maxSymbols: number,
  names: NameReader,
  diagnostics: ElfDiagnostic[],
): ElfSymbol[] {
  const is64 = h.elfClass === 64;
  const c = is64 ? 1 : 0;
  const entsize = SYM_SIZE[c];
  const r = new FieldReader(bytes, h.littleEndian, is64);
  const out: ElfSymbol[] = [];
  // .symtab first (full names), then .dynsym.
  const tables = [
    ...sections.filter((s) => s.type === SectionType.SHT_SYMTAB),
    ...sections.filter((s) => s.type === SectionType.SHT_DYNSYM),
  ];
  for (const t of tables) {
    if (t.entsize !== BigInt(entsize) || !inFile(t, bytes.length)) {
      diagnostics.push(
        diag(
          "BAD_SYMBOL_TABLE",
          "warning",
          t.headerOffset,
          `symbol table ${t.name || t.index}: sh_entsize ${t.entsize} (expected ${entsize}) or bytes past the end of the file; symbols skipped`,
        ),
      );
      continue;
    }
    const strtab = sections[t.link];
    let strStart = 0;
    let strEnd = 0;
    if (strtab !== undefined && inFile(strtab, bytes.length)) {
      strStart = Number(strtab.offset);
      strEnd = strStart + Number(strtab.size);
    } else {
      diagnostics.push(
        diag(
          "BAD_SYMBOL_TABLE",
          "warning",
          t.headerOffset,
          `symbol table ${t.name || t.index}: sh_link ${t.link} is not a readable string table; names empty`,
        ),
      );
    }
    const count = Number(t.size) / entsize;
    const whole = Math.floor(count);
    if (out.length + whole > maxSymbols)
      fail("TOO_MANY_SYMBOLS", t.headerOffset, `${out.length + whole} symbols is more than the limit of ${maxSymbols}`);
    const base = Number(t.offset);
    let badName = false;
    let budgetSpent = false;
    // Index 0 is the reserved null symbol.
    for (let i = 1; i < whole; i++) {
      const o = base + i * entsize;
      const nameOff = r.u32(o + ST_NAME);
      const value = r.word(o + ST_VALUE[c]);
      const size = r.word(o + ST_SIZE[c]);
      const info = r.u8(o + ST_INFO[c]);
      const other = r.u8(o + ST_OTHER[c]);
      const shndx = r.u16(o + ST_SHNDX[c]);
      let name = "";
      if (nameOff < strEnd - strStart) {
        const str = names.read(bytes, strStart + nameOff, strEnd);
        if (str === undefined) budgetSpent = true;
        else name = str.text;
      } else if (nameOff !== 0) badName = true;
      out.push({ name, value, size, type: info & 0xf, bind: info >> 4, other, shndx, sectionIndex: t.index });
    }
    if (budgetSpent)
      diagnostics.push(
        diag(
          "BAD_SYMBOL_TABLE",
          "warning",
          t.headerOffset,
          `symbol table ${t.name || t.index}: names left empty, they overlap far more than a real file's (name budget spent)`,
        ),
      );
    if (badName)
      diagnostics.push(
        diag(
          "BAD_SYMBOL_TABLE",
          "warning",
          t.headerOffset,
          `symbol table ${t.name || t.index}: some st_name offsets are past the string table; those names are empty`,
        ),
      );
  }
  return out;
}
