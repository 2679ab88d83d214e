// Executable writer: an ELF ET_EXEC file with one PT_LOAD per segment, each holding one named
// section, and an optional symbol table. Enough for firmware that a host builds itself (the JS
// firmware of @amp/node), which readelf, gdb and every loader read like any other firmware.
// Headers are placed by the same writer as coredumps' (internal/header-write.ts).
import { alignUp } from "./amp-error.js";
import { ElfType, ProgramType, SectionType, SymbolBinding } from "./constants.js";
import { writeEhdr, writePhdr, writeShdr, writeSym } from "./internal/header-write.js";
import { EHDR_SIZE, PHDR_SIZE, SHDR_SIZE, SYM_SIZE } from "./internal/layout.js";
import { FieldWriter, U32_LIMIT, U64_LIMIT } from "./internal/reader.js";
import { encodeUtf8 } from "./internal/text.js";
import type { ElfExecutableLayout } from "./types.js";

/** File offset alignment and p_align / sh_addralign of every segment. */
const SEGMENT_ALIGN = 16;

/** A string table being built: offset 0 is the empty name. */
class StringTable {
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private size = 1;

  add(s: string): number {
    const text = encodeUtf8(s);
    if (text.includes(0)) throw new RangeError(`ELF names cannot contain NUL: ${JSON.stringify(s)}`);
    const at = this.size;
    this.parts.push(text, new Uint8Array(1));
    this.size += text.length + 1;
    return at;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

function checkLayout(image: ElfExecutableLayout): void {
  const cls: unknown = image.elfClass ?? 32;
  if (cls !== 32 && cls !== 64) throw new RangeError(`elfClass must be 32 or 64, got ${String(cls)}`);
  const limit = cls === 32 ? U32_LIMIT : U64_LIMIT;
  const fits = (v: unknown, what: string): void => {
    if (typeof v !== "bigint") throw new TypeError(`${what} must be a bigint`);
    if (v < 0n || v >= limit) throw new RangeError(`${what} ${v} does not fit ELF${cls}`);
  };
  if (!Number.isInteger(image.machine) || image.machine < 0 || image.machine > 0xffff)
    throw new RangeError(`machine must be a 16-bit integer, got ${image.machine}`);
  const flags = image.flags ?? 0;
  if (!Number.isInteger(flags) || flags < -0x8000_0000 || flags > 0xffff_ffff)
    throw new RangeError(`flags must be a 32-bit integer, got ${flags}`);
  fits(image.entry, "entry");
  const segments: unknown = image.segments;
  if (!Array.isArray(segments)) throw new TypeError("segments must be an array");
  if (image.segments.length >= 0xffff) throw new RangeError(`${image.segments.length} segments is too many (65534)`);
  for (const s of image.segments) {
    fits(s.addr, `${s.name} address`);
    const memsz = s.memsz ?? BigInt(s.data?.length ?? 0);
    fits(memsz, `${s.name} size`);
    if (BigInt(s.data?.length ?? 0) > memsz) throw new RangeError(`${s.name}: data larger than its memory size`);
    if (s.addr + memsz > limit) throw new RangeError(`${s.name}: end address does not fit ELF${cls}`);
    if (!Number.isInteger(s.flags) || s.flags < 0 || s.flags > 0xffff_ffff)
      throw new RangeError(`${s.name}: flags must be a 32-bit integer`);
    fits(s.sectionFlags, `${s.name} section flags`);
  }
  for (const y of image.symbols ?? []) {
    fits(y.value, `symbol ${y.name} value`);
    fits(y.size, `symbol ${y.name} size`);
    if (!Number.isInteger(y.type) || y.type < 0 || y.type > 0xf)
      throw new RangeError(`symbol ${y.name}: type must be a 4-bit integer (SymbolType), got ${y.type}`);
  }
}

/**
 * Serialises an ELF executable (e_type ET_EXEC) that loads like linker output: one PT_LOAD per
 * segment in order, each holding one section of the same name; then `.symtab` and `.strtab`
 * when there are symbols, and `.shstrtab`. Layout: ELF header, program headers, each
 * segment's bytes at the next 16-byte-aligned offset (p_align 16), the symbol and string tables,
 * section headers last. A segment without `data` is SHT_NOBITS (zero-filled by the loader).
 * The output depends only on the input: the same layout gives the same bytes.
 *
 * @throws {RangeError} for values that do not fit the class, data larger than `memsz`, a
 *   symbol naming no segment or a name with a NUL; {TypeError} for non-bigint addresses.
 * @example
 * const elf = writeElfExecutable({
 *   machine: ElfMachine.EM_ARM,
 *   entry: 0x1000n,
 *   segments: [
 *     { name: ".text", addr: 0x1000n, data: code, flags: ProgramFlag.PF_R | ProgramFlag.PF_X,
 *       sectionFlags: SectionFlag.SHF_ALLOC | SectionFlag.SHF_EXECINSTR },
 *     { name: ".bss", addr: 0x8000n, memsz: 0x400n, flags: ProgramFlag.PF_R | ProgramFlag.PF_W,
 *       sectionFlags: SectionFlag.SHF_ALLOC | SectionFlag.SHF_WRITE },
 *   ],
 *   symbols: [{ name: "_start", value: 0x1000n, size: BigInt(code.length), type: SymbolType.STT_FUNC, section: ".text" }],
 * });
 * symbolAddress(parseElf(elf), "_start"); // 0x1000n
 */
export function writeElfExecutable(image: ElfExecutableLayout): Uint8Array {
  checkLayout(image);
  const is64 = image.elfClass === 64;
  const c = is64 ? 1 : 0;
  const le = image.littleEndian ?? true;
  /** The class's word: the alignment of the symbol table and the section header table. */
  const wordAlign = is64 ? 8 : 4;
  const segments = image.segments;
  const symbols = image.symbols ?? [];
  const hasSymbols = symbols.length > 0;
  const phnum = segments.length;
  // Sections: [0] null, one per segment, [.symtab, .strtab], .shstrtab.
  const shnum = 1 + segments.length + (hasSymbols ? 2 : 0) + 1;

  let off = EHDR_SIZE[c] + phnum * PHDR_SIZE[c];
  const dataOffsets: number[] = [];
  for (const s of segments) {
    off = alignUp(off, SEGMENT_ALIGN);
    dataOffsets.push(off);
    off += s.data?.length ?? 0;
  }
  const shstr = new StringTable();
  const segmentNames = segments.map((s) => shstr.add(s.name));

  let symtab: Uint8Array | undefined;
  let strtab: Uint8Array | undefined;
  let symtabName = 0;
  let strtabName = 0;
  if (hasSymbols) {
    const names = new StringTable();
    symtab = new Uint8Array((symbols.length + 1) * SYM_SIZE[c]);
    const sw = new FieldWriter(symtab, le, is64);
    symbols.forEach((y, i) => {
      const index = segments.findIndex((s) => s.name === y.section);
      if (index < 0) throw new RangeError(`symbol ${y.name}: no segment named ${y.section}`);
      writeSym(sw, (i + 1) * SYM_SIZE[c], {
        name: names.add(y.name),
        value: y.value,
        size: y.size,
        info: (SymbolBinding.STB_GLOBAL << 4) | y.type,
        shndx: index + 1,
      });
    });
    strtab = names.bytes();
    symtabName = shstr.add(".symtab");
    strtabName = shstr.add(".strtab");
  }
  const shstrtabName = shstr.add(".shstrtab");
  const shstrtab = shstr.bytes();

  let symOff = 0;
  let strOff = 0;
  if (symtab !== undefined && strtab !== undefined) {
    off = alignUp(off, wordAlign);
    symOff = off;
    off += symtab.length;
    strOff = off;
    off += strtab.length;
  }
  const shstrOff = off;
  off += shstrtab.length;
  const shoff = alignUp(off, wordAlign);
  const total = shoff + shnum * SHDR_SIZE[c];
  if (!is64 && BigInt(total) > U32_LIMIT) throw new RangeError(`an ELF32 file cannot hold ${total} bytes`);

  const out = new Uint8Array(total);
  const w = new FieldWriter(out, le, is64);
  writeEhdr(w, {
    type: ElfType.ET_EXEC,
    machine: image.machine,
    entry: image.entry,
    phoff: BigInt(EHDR_SIZE[c]),
    shoff: BigInt(shoff),
    flags: image.flags ?? 0,
    phnum,
    shnum,
    shstrndx: shnum - 1,
  });
  segments.forEach((s, i) => {
    const offset = BigInt(dataOffsets[i] ?? 0);
    writePhdr(w, EHDR_SIZE[c] + i * PHDR_SIZE[c], {
      type: ProgramType.PT_LOAD,
      flags: s.flags,
      offset,
      addr: s.addr,
      filesz: BigInt(s.data?.length ?? 0),
      memsz: s.memsz ?? BigInt(s.data?.length ?? 0),
      align: BigInt(SEGMENT_ALIGN),
    });
    if (s.data !== undefined) out.set(s.data, dataOffsets[i] ?? 0);
    writeShdr(w, shoff + (i + 1) * SHDR_SIZE[c], {
      name: segmentNames[i] ?? 0,
      type: s.data === undefined ? SectionType.SHT_NOBITS : SectionType.SHT_PROGBITS,
      flags: s.sectionFlags,
      addr: s.addr,
      offset,
      size: s.data === undefined ? (s.memsz ?? 0n) : BigInt(s.data.length),
      addralign: BigInt(SEGMENT_ALIGN),
    });
  });
  let next = 1 + segments.length;
  if (symtab !== undefined && strtab !== undefined) {
    out.set(symtab, symOff);
    out.set(strtab, strOff);
    // sh_link of .symtab: the index of .strtab; sh_info: one past the last local symbol (the null one).
    writeShdr(w, shoff + next * SHDR_SIZE[c], {
      name: symtabName,
      type: SectionType.SHT_SYMTAB,
      flags: 0n,
      addr: 0n,
      offset: BigInt(symOff),
      size: BigInt(symtab.length),
      link: next + 1,
      info: 1,
      addralign: BigInt(wordAlign),
      entsize: BigInt(SYM_SIZE[c]),
    });
    writeShdr(w, shoff + (next + 1) * SHDR_SIZE[c], {
      name: strtabName,
      type: SectionType.SHT_STRTAB,
      flags: 0n,
      addr: 0n,
      offset: BigInt(strOff),
      size: BigInt(strtab.length),
      addralign: 1n,
    });
    next += 2;
  }
  out.set(shstrtab, shstrOff);
  writeShdr(w, shoff + next * SHDR_SIZE[c], {
    name: shstrtabName,
    type: SectionType.SHT_STRTAB,
    flags: 0n,
    addr: 0n,
    offset: BigInt(shstrOff),
    size: BigInt(shstrtab.length),
    addralign: 1n,
  });
  return out;
}
