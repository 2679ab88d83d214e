// A minimal ELF32 little-endian executable writer: program headers for loadable segments,
// section headers with names, and an optional symbol table. Enough for JS firmware images,
// which readelf, gdb and every @amp loader read like any other firmware.
// Layouts: glibc <elf.h> (docs/wire-formats.md, "Firmware ELF and coredumps").

import { alignUp } from "@amp/virtio-ring";
import { ElfType, ProgramType, SectionType } from "@amp/elf-loader";

const LE = true;
const EHDR_SIZE = 52;
const PHDR_SIZE = 32;
const SHDR_SIZE = 40;
const SYM_SIZE = 16;

const EV_CURRENT = 1;
const STB_GLOBAL = 1;
const STT_OBJECT = 1;
const STT_FUNC = 2;

/** PF_X, PF_W, PF_R. */
export const PF = { X: 1, W: 2, R: 4 } as const;
/** SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR. */
export const SHF = { WRITE: 1, ALLOC: 2, EXECINSTR: 4 } as const;

/** One loadable piece: a segment with exactly one section in it. */
export interface ElfPiece {
  /** Section name, e.g. ".text". */
  readonly name: string;
  /** Load address (p_vaddr = p_paddr = sh_addr). */
  readonly addr: number;
  /** Bytes stored in the file; undefined for a zero-filled (NOBITS) piece. */
  readonly data?: Uint8Array;
  /** Size in memory (>= data length). */
  readonly memsz: number;
  /** PF_* flags of the segment. */
  readonly flags: number;
  /** SHF_* flags of the section. */
  readonly sectionFlags: number;
}

/** A global symbol. */
export interface ElfSymbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  readonly kind: "func" | "object";
  /** Name of the piece (section) it lives in. */
  readonly section: string;
}

/** What to write. */
export interface Elf32Image {
  readonly machine: number;
  readonly flags: number;
  readonly entry: number;
  readonly pieces: readonly ElfPiece[];
  readonly symbols?: readonly ElfSymbol[];
}

class StringTable {
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private size = 1;
  add(s: string): number {
    const bytes = new Uint8Array(s.length + 1);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7e || c < 0x20) throw new RangeError(`ELF names must be printable ASCII: ${JSON.stringify(s)}`);
      bytes[i] = c;
    }
    const at = this.size;
    this.parts.push(bytes);
    this.size += bytes.length;
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

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new RangeError(`${what} must be a 32-bit unsigned integer, got ${v}`);
}

/** Serialises an ELF32 little-endian ET_EXEC file. */
export function writeElf32(image: Elf32Image): Uint8Array {
  checkU32(image.entry, "entry");
  const pieces = image.pieces;
  for (const p of pieces) {
    checkU32(p.addr, `${p.name} address`);
    checkU32(p.memsz, `${p.name} size`);
    if ((p.data?.length ?? 0) > p.memsz) throw new RangeError(`${p.name}: data larger than its memory size`);
    checkU32(p.addr + p.memsz, `${p.name} end address`);
  }
  const shstr = new StringTable();
  const strtab = new StringTable();
  const symbols = image.symbols ?? [];
  const phnum = pieces.length;
  // Sections: [0] null, one per piece, [.symtab, .strtab], .shstrtab.
  const hasSyms = symbols.length > 0;
  const shnum = 1 + pieces.length + (hasSyms ? 2 : 0) + 1;

  let off = EHDR_SIZE + phnum * PHDR_SIZE;
  const dataOffsets: number[] = [];
  for (const p of pieces) {
    off = alignUp(off, 16);
    dataOffsets.push(off);
    off += p.data?.length ?? 0;
  }
  const pieceNames = pieces.map((p) => shstr.add(p.name));
  let symtab: Uint8Array | undefined;
  let strBytes: Uint8Array | undefined;
  let symtabName = 0;
  let strtabName = 0;
  if (hasSyms) {
    symtab = new Uint8Array((symbols.length + 1) * SYM_SIZE);
    const sv = new DataView(symtab.buffer);
    symbols.forEach((s, i) => {
      const shndx = pieces.findIndex((p) => p.name === s.section);
      if (shndx < 0) throw new RangeError(`symbol ${s.name}: no section ${s.section}`);
      const o = (i + 1) * SYM_SIZE;
      sv.setUint32(o, strtab.add(s.name), LE);
      sv.setUint32(o + 4, s.value, LE);
      sv.setUint32(o + 8, s.size, LE);
      sv.setUint8(o + 12, (STB_GLOBAL << 4) | (s.kind === "func" ? STT_FUNC : STT_OBJECT));
      sv.setUint16(o + 14, shndx + 1, LE);
    });
    strBytes = strtab.bytes();
    symtabName = shstr.add(".symtab");
    strtabName = shstr.add(".strtab");
  }
  const shstrName = shstr.add(".shstrtab");
  const shstrBytes = shstr.bytes();

  let symOff = 0;
  let strOff = 0;
  if (symtab !== undefined && strBytes !== undefined) {
    off = alignUp(off, 4);
    symOff = off;
    off += symtab.length;
    strOff = off;
    off += strBytes.length;
  }
  const shstrOff = off;
  off += shstrBytes.length;
  const shoff = alignUp(off, 4);
  const total = shoff + shnum * SHDR_SIZE;

  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  // e_ident: magic, ELFCLASS32, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE.
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, EV_CURRENT, 0], 0);
  v.setUint16(16, ElfType.ET_EXEC, LE);
  v.setUint16(18, image.machine, LE);
  v.setUint32(20, EV_CURRENT, LE);
  v.setUint32(24, image.entry, LE);
  v.setUint32(28, phnum === 0 ? 0 : EHDR_SIZE, LE);
  v.setUint32(32, shoff, LE);
  v.setUint32(36, image.flags >>> 0, LE);
  v.setUint16(40, EHDR_SIZE, LE);
  v.setUint16(42, PHDR_SIZE, LE);
  v.setUint16(44, phnum, LE);
  v.setUint16(46, SHDR_SIZE, LE);
  v.setUint16(48, shnum, LE);
  v.setUint16(50, shnum - 1, LE);

  pieces.forEach((p, i) => {
    const o = EHDR_SIZE + i * PHDR_SIZE;
    const fileOff = dataOffsets[i] ?? 0;
    const filesz = p.data?.length ?? 0;
    v.setUint32(o, ProgramType.PT_LOAD, LE);
    v.setUint32(o + 4, fileOff, LE);
    v.setUint32(o + 8, p.addr, LE);
    v.setUint32(o + 12, p.addr, LE);
    v.setUint32(o + 16, filesz, LE);
    v.setUint32(o + 20, p.memsz, LE);
    v.setUint32(o + 24, p.flags, LE);
    v.setUint32(o + 28, 16, LE);
    if (p.data !== undefined) out.set(p.data, fileOff);
  });
  if (symtab !== undefined && strBytes !== undefined) {
    out.set(symtab, symOff);
    out.set(strBytes, strOff);
  }
  out.set(shstrBytes, shstrOff);

  const sh = (
    index: number,
    f: {
      name: number;
      type: number;
      flags: number;
      addr: number;
      offset: number;
      size: number;
      link?: number;
      info?: number;
      align: number;
      entsize?: number;
    },
  ): void => {
    const o = shoff + index * SHDR_SIZE;
    v.setUint32(o, f.name, LE);
    v.setUint32(o + 4, f.type, LE);
    v.setUint32(o + 8, f.flags, LE);
    v.setUint32(o + 12, f.addr, LE);
    v.setUint32(o + 16, f.offset, LE);
    v.setUint32(o + 20, f.size, LE);
    v.setUint32(o + 24, f.link ?? 0, LE);
    v.setUint32(o + 28, f.info ?? 0, LE);
    v.setUint32(o + 32, f.align, LE);
    v.setUint32(o + 36, f.entsize ?? 0, LE);
  };
  pieces.forEach((p, i) => {
    sh(i + 1, {
      name: pieceNames[i] ?? 0,
      type: p.data === undefined ? SectionType.SHT_NOBITS : SectionType.SHT_PROGBITS,
      flags: p.sectionFlags,
      addr: p.addr,
      offset: dataOffsets[i] ?? 0,
      size: p.data === undefined ? p.memsz : p.data.length,
      align: 16,
    });
  });
  let next = 1 + pieces.length;
  if (symtab !== undefined && strBytes !== undefined) {
    // sh_link of .symtab = index of .strtab; sh_info = index of the first non-local symbol (1).
    sh(next, {
      name: symtabName,
      type: SectionType.SHT_SYMTAB,
      flags: 0,
      addr: 0,
      offset: symOff,
      size: symtab.length,
      link: next + 1,
      info: 1,
      align: 4,
      entsize: SYM_SIZE,
    });
    sh(next + 1, {
      name: strtabName,
      type: SectionType.SHT_STRTAB,
      flags: 0,
      addr: 0,
      offset: strOff,
      size: strBytes.length,
      align: 1,
    });
    next += 2;
  }
  sh(next, {
    name: shstrName,
    type: SectionType.SHT_STRTAB,
    flags: 0,
    addr: 0,
    offset: shstrOff,
    size: shstrBytes.length,
    align: 1,
  });
  return out;
}
