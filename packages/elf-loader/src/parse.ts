// ELF file header, program header and section header parsing (docs/wire-formats.md, "Firmware ELF and coredumps").
// Every table is bounds-checked against the file with bigint arithmetic before anything is
// read, so header counts times entry sizes cannot wrap (OpenAMP CVE-2026-37540, behaviour §6).
import { diag, fail } from "./diagnostics.js";
import { SectionIndex, SectionType } from "./constants.js";
import { FieldReader, hex } from "./internal/reader.js";
import { NameReader } from "./internal/text.js";
import { readSymbols } from "./internal/symtab.js";
import {
  E_EHSIZE,
  E_ENTRY,
  E_FLAGS,
  E_MACHINE,
  E_PHENTSIZE,
  E_PHNUM,
  E_PHOFF,
  E_SHENTSIZE,
  E_SHNUM,
  E_SHOFF,
  E_SHSTRNDX,
  E_TYPE,
  E_VERSION,
  EHDR_SIZE,
  EI_ABIVERSION,
  EI_CLASS,
  EI_DATA,
  EI_OSABI,
  EI_VERSION,
  ELF_MAGIC,
  P_ALIGN,
  P_FILESZ,
  P_FLAGS,
  P_MEMSZ,
  P_OFFSET,
  P_PADDR,
  P_TYPE,
  P_VADDR,
  PHDR_SIZE,
  SH_ADDR,
  SH_ADDRALIGN,
  SH_ENTSIZE,
  SH_FLAGS,
  SH_INFO,
  SH_LINK,
  SH_NAME,
  SH_OFFSET,
  SH_SIZE,
  SH_TYPE,
  SHDR_SIZE,
} from "./internal/layout.js";
import type { ElfDiagnostic, ElfFile, ElfHeader, ElfProgramHeader, ElfSection, ParseElfOptions } from "./types.js";

/** Defaults of the ParseElfOptions limits. */
export const DEFAULT_PARSE_LIMITS: {
  readonly maxProgramHeaders: number;
  readonly maxSections: number;
  readonly maxSymbols: number;
} = {
  maxProgramHeaders: 4096,
  maxSections: 65536,
  maxSymbols: 1_000_000,
};

/** e_phnum value meaning "the count is in section 0's sh_info". */
export const PN_XNUM = 0xffff;

function limit(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  return value;
}

/** Class index for the offset tables: 0 for ELF32, 1 for ELF64. */
export function classIndex(h: { elfClass: 32 | 64 }): 0 | 1 {
  return h.elfClass === 64 ? 1 : 0;
}

/**
 * Parses e_ident and the file header from a prefix of the file. Throws AmpError for anything
 * that makes the header unreadable; `diagnostics` receives the non-fatal findings.
 */
export function readHeader(bytes: Uint8Array, diagnostics: ElfDiagnostic[]): ElfHeader {
  if (bytes.length >= 4 && ELF_MAGIC.some((b, i) => bytes[i] !== b)) {
    fail("BAD_MAGIC", 0, "not an ELF file: e_ident does not start with 7f 45 4c 46");
  }
  if (bytes.length < EHDR_SIZE[0])
    fail("FILE_TOO_SMALL", 0, `${bytes.length} bytes is shorter than an ELF header (52)`);
  const cls = bytes[EI_CLASS];
  if (cls !== 1 && cls !== 2)
    fail("BAD_CLASS", EI_CLASS, `EI_CLASS ${cls ?? 0} is neither ELFCLASS32 (1) nor ELFCLASS64 (2)`);
  const data = bytes[EI_DATA];
  if (data !== 1 && data !== 2)
    fail("BAD_DATA_ENCODING", EI_DATA, `EI_DATA ${data ?? 0} is neither ELFDATA2LSB (1) nor ELFDATA2MSB (2)`);
  const is64 = cls === 2;
  const c = is64 ? 1 : 0;
  if (bytes.length < EHDR_SIZE[c])
    fail("FILE_TOO_SMALL", 0, `${bytes.length} bytes is shorter than an ELF64 header (64)`);
  const r = new FieldReader(bytes, data === 1, is64);
  const h: ElfHeader = {
    elfClass: is64 ? 64 : 32,
    littleEndian: data === 1,
    identVersion: r.u8(EI_VERSION),
    osAbi: r.u8(EI_OSABI),
    abiVersion: r.u8(EI_ABIVERSION),
    type: r.u16(E_TYPE),
    machine: r.u16(E_MACHINE),
    version: r.u32(E_VERSION),
    entry: r.word(E_ENTRY),
    phoff: r.word(E_PHOFF[c]),
    shoff: r.word(E_SHOFF[c]),
    flags: r.u32(E_FLAGS[c]),
    ehsize: r.u16(E_EHSIZE[c]),
    phentsize: r.u16(E_PHENTSIZE[c]),
    phnum: r.u16(E_PHNUM[c]),
    shentsize: r.u16(E_SHENTSIZE[c]),
    shnum: r.u16(E_SHNUM[c]),
    shstrndx: r.u16(E_SHSTRNDX[c]),
  };
  if (h.identVersion !== 1)
    diagnostics.push(
      diag("BAD_VERSION", "warning", EI_VERSION, `EI_VERSION is ${h.identVersion}, expected EV_CURRENT (1)`),
    );
  if (h.version !== 1)
    diagnostics.push(diag("BAD_VERSION", "warning", E_VERSION, `e_version is ${h.version}, expected EV_CURRENT (1)`));
  if (h.ehsize !== EHDR_SIZE[c])
    diagnostics.push(
      diag("EHSIZE_MISMATCH", "warning", E_EHSIZE[c], `e_ehsize is ${h.ehsize}, expected ${EHDR_SIZE[c]}`),
    );
  return h;
}

/**
 * Checks that a table of `count` entries of `entsize` bytes at `off` lies inside `size` bytes
 * and returns its offset as a number. Bigint arithmetic: no wrap-around.
 */
function tableOffset(
  off: bigint,
  count: number,
  entsize: number,
  size: number,
  code: "PHDRS_PAST_EOF" | "SHDRS_PAST_EOF",
  field: number,
  what: string,
): number {
  const end = off + BigInt(count) * BigInt(entsize);
  if (end > BigInt(size))
    fail(code, field, `${what} table [${hex(off)}, ${hex(end)}) ends past the end of the file (${size} bytes)`);
  return Number(off);
}

/** Decodes one program header at `o`. */
export function readProgramHeader(r: FieldReader, o: number, index: number): ElfProgramHeader {
  const c = r.is64 ? 1 : 0;
  return {
    index,
    headerOffset: o,
    type: r.u32(o + P_TYPE),
    offset: r.word(o + P_OFFSET[c]),
    vaddr: r.word(o + P_VADDR[c]),
    paddr: r.word(o + P_PADDR[c]),
    filesz: r.word(o + P_FILESZ[c]),
    memsz: r.word(o + P_MEMSZ[c]),
    flags: r.u32(o + P_FLAGS[c]),
    align: r.word(o + P_ALIGN[c]),
  };
}

/**
 * Reads the program header table of `count` entries, checking e_phentsize, the limit and the
 * file bounds first. `bytes` may be a prefix of the file (streaming).
 */
export function readProgramHeaders(
  bytes: Uint8Array,
  h: ElfHeader,
  count: number,
  maxProgramHeaders: number,
): ElfProgramHeader[] {
  const c = classIndex(h);
  if (count === 0) return [];
  if (count > maxProgramHeaders)
    fail(
      "TOO_MANY_PROGRAM_HEADERS",
      E_PHNUM[c],
      `${count} program headers is more than the limit of ${maxProgramHeaders}`,
    );
  if (h.phentsize !== PHDR_SIZE[c])
    fail(
      "PHENTSIZE_MISMATCH",
      E_PHENTSIZE[c],
      `e_phentsize is ${h.phentsize}, expected ${PHDR_SIZE[c]} for ELF${h.elfClass}`,
    );
  const base = tableOffset(h.phoff, count, h.phentsize, bytes.length, "PHDRS_PAST_EOF", E_PHOFF[c], "program header");
  const r = new FieldReader(bytes, h.littleEndian, h.elfClass === 64);
  const out: ElfProgramHeader[] = [];
  for (let i = 0; i < count; i++) out.push(readProgramHeader(r, base + i * h.phentsize, i));
  return out;
}

interface RawSection {
  headerOffset: number;
  nameOffset: number;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: bigint;
  size: bigint;
  link: number;
  info: number;
  addralign: bigint;
  entsize: bigint;
}

function readSectionHeader(r: FieldReader, o: number): RawSection {
  const c = r.is64 ? 1 : 0;
  return {
    headerOffset: o,
    nameOffset: r.u32(o + SH_NAME),
    type: r.u32(o + SH_TYPE),
    flags: r.word(o + SH_FLAGS),
    addr: r.word(o + SH_ADDR[c]),
    offset: r.word(o + SH_OFFSET[c]),
    size: r.word(o + SH_SIZE[c]),
    link: r.u32(o + SH_LINK[c]),
    info: r.u32(o + SH_INFO[c]),
    addralign: r.word(o + SH_ADDRALIGN[c]),
    entsize: r.word(o + SH_ENTSIZE[c]),
  };
}

/** Options of the internal parser: `sections: false` reads only the header and program headers. */
export interface ParseInternalOptions extends ParseElfOptions {
  readonly sections?: boolean;
}

/** The parser behind parseElf, parseMdt and readCoredump. */
export function parseElfInternal(bytes: Uint8Array, options: ParseInternalOptions = {}): ElfFile {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("parseElf: bytes must be a Uint8Array");
  const maxPh = limit(options.maxProgramHeaders, DEFAULT_PARSE_LIMITS.maxProgramHeaders, "maxProgramHeaders");
  const maxSh = limit(options.maxSections, DEFAULT_PARSE_LIMITS.maxSections, "maxSections");
  const maxSym = limit(options.maxSymbols, DEFAULT_PARSE_LIMITS.maxSymbols, "maxSymbols");
  const diagnostics: ElfDiagnostic[] = [];
  const h = readHeader(bytes, diagnostics);
  const c = classIndex(h);
  const r = new FieldReader(bytes, h.littleEndian, h.elfClass === 64);
  const size = bytes.length;
  const wantSections = options.sections !== false;
  // One budget for every section and symbol name of the file (see NameReader).
  const names = new NameReader(size);

  // Section 0 carries the real counts when they do not fit the 16-bit header fields.
  let section0: RawSection | undefined;
  const needSection0 =
    h.shoff !== 0n && (h.shnum === 0 || h.shstrndx === SectionIndex.SHN_XINDEX || h.phnum === PN_XNUM);
  if (needSection0 && (wantSections || h.phnum === PN_XNUM)) {
    if (h.shentsize !== SHDR_SIZE[c])
      fail(
        "SHENTSIZE_MISMATCH",
        E_SHENTSIZE[c],
        `e_shentsize is ${h.shentsize}, expected ${SHDR_SIZE[c]} for ELF${h.elfClass}`,
      );
    section0 = readSectionHeader(
      r,
      tableOffset(h.shoff, 1, h.shentsize, size, "SHDRS_PAST_EOF", E_SHOFF[c], "section header"),
    );
  }

  let phCount = h.phnum;
  if (h.phnum === PN_XNUM && section0 !== undefined) phCount = section0.info;
  const programHeaders = readProgramHeaders(bytes, h, phCount, maxPh);

  let sections: ElfSection[] = [];
  let shstrndx = 0;
  if (wantSections && h.shoff !== 0n) {
    let count = h.shnum;
    if (count === 0 && section0 !== undefined) {
      if (section0.size > BigInt(maxSh))
        fail(
          "TOO_MANY_SECTIONS",
          section0.headerOffset,
          `section 0 sh_size says ${section0.size} sections, more than the limit of ${maxSh}`,
        );
      count = Number(section0.size);
    }
    if (count > maxSh) fail("TOO_MANY_SECTIONS", E_SHNUM[c], `${count} sections is more than the limit of ${maxSh}`);
    if (count > 0) {
      if (h.shentsize !== SHDR_SIZE[c])
        fail(
          "SHENTSIZE_MISMATCH",
          E_SHENTSIZE[c],
          `e_shentsize is ${h.shentsize}, expected ${SHDR_SIZE[c]} for ELF${h.elfClass}`,
        );
      const base = tableOffset(h.shoff, count, h.shentsize, size, "SHDRS_PAST_EOF", E_SHOFF[c], "section header");
      const raw: RawSection[] = [];
      for (let i = 0; i < count; i++) raw.push(readSectionHeader(r, base + i * h.shentsize));
      shstrndx = h.shstrndx === SectionIndex.SHN_XINDEX && section0 !== undefined ? section0.link : h.shstrndx;
      if (h.shstrndx === SectionIndex.SHN_XINDEX && shstrndx === SectionIndex.SHN_UNDEF) {
        // A plain e_shstrndx of 0 means "no names" on purpose; SHN_XINDEX pointing at 0 is a
        // broken header, and without names the .resource_table is never found.
        diagnostics.push(
          diag(
            "SHSTRNDX_XINDEX_UNDEF",
            "warning",
            E_SHSTRNDX[c],
            "e_shstrndx is SHN_XINDEX but section 0's sh_link is 0: every section name is empty, so no .resource_table can be found",
          ),
        );
      }
      sections = nameSections(bytes, raw, shstrndx, E_SHSTRNDX[c], names, diagnostics);
    }
  } else if (wantSections && h.shnum !== 0) {
    diagnostics.push(
      diag("NO_SECTION_HEADERS", "warning", E_SHNUM[c], `e_shnum is ${h.shnum} but e_shoff is 0: no section headers`),
    );
  }

  const symbols =
    options.symbols === false || sections.length === 0
      ? []
      : readSymbols(bytes, h, sections, maxSym, names, diagnostics);
  return { bytes, header: h, programHeaders, sections, shstrndx, symbols, diagnostics };
}

/** Resolves section names through the section-header string table, bounds-checking each. */
function nameSections(
  bytes: Uint8Array,
  raw: RawSection[],
  shstrndx: number,
  field: number,
  names: NameReader,
  diagnostics: ElfDiagnostic[],
): ElfSection[] {
  let strStart = 0;
  let strEnd = 0;
  let haveNames = false;
  if (shstrndx === SectionIndex.SHN_UNDEF) {
    // No string table: legal (names are all empty), readelf prints "<no-strings>".
  } else if (shstrndx >= raw.length) {
    diagnostics.push(
      diag(
        "SHSTRNDX_OUT_OF_RANGE",
        "error",
        field,
        `e_shstrndx ${shstrndx} is not a section index (${raw.length} sections)`,
      ),
    );
  } else {
    const s = raw[shstrndx];
    if (s !== undefined) {
      if (s.type === SectionType.SHT_NOBITS || s.offset + s.size > BigInt(bytes.length)) {
        diagnostics.push(
          diag(
            "SHSTRTAB_PAST_EOF",
            "error",
            s.headerOffset,
            `section-header string table [${hex(s.offset)}, +${hex(s.size)}) is not inside the file (${bytes.length} bytes)`,
          ),
        );
      } else {
        strStart = Number(s.offset);
        strEnd = strStart + Number(s.size);
        haveNames = true;
      }
    }
  }
  let budgetSpent = false;
  return raw.map((s, index) => {
    let name = "";
    if (haveNames) {
      if (s.nameOffset >= strEnd - strStart) {
        if (s.nameOffset !== 0 || strEnd !== strStart) {
          diagnostics.push(
            diag(
              "SECTION_NAME_OUT_OF_RANGE",
              "error",
              s.headerOffset,
              `section ${index}: sh_name ${s.nameOffset} is past the end of the string table (${strEnd - strStart} bytes)`,
            ),
          );
        }
      } else {
        const t = names.read(bytes, strStart + s.nameOffset, strEnd);
        if (t === undefined) {
          if (!budgetSpent)
            diagnostics.push(
              diag(
                "NAME_UNTERMINATED",
                "warning",
                s.headerOffset,
                `section ${index} and later: names left empty, the string table's names overlap far more than a real file's (name budget spent)`,
              ),
            );
          budgetSpent = true;
        } else {
          if (!t.terminated)
            diagnostics.push(
              diag(
                "NAME_UNTERMINATED",
                "warning",
                s.headerOffset,
                `section ${index}: name is not NUL-terminated inside the string table`,
              ),
            );
          name = t.text;
        }
      }
    }
    return {
      index,
      headerOffset: s.headerOffset,
      name,
      nameOffset: s.nameOffset,
      type: s.type,
      flags: s.flags,
      addr: s.addr,
      offset: s.offset,
      size: s.size,
      link: s.link,
      info: s.info,
      addralign: s.addralign,
      entsize: s.entsize,
    };
  });
}

/**
 * Parses an ELF32 or ELF64 file, little- or big-endian: file header, program headers, section
 * headers with names, and the symbol tables. Never reads outside `bytes`; keeps a reference to
 * `bytes` (no copy).
 *
 * Fatal problems (no ELF header, a header table past the end, a limit exceeded, entry sizes that
 * are not the class's) throw; everything else is reported in `diagnostics`. Use validateElf for
 * the loader's checks (segments, overlap, address width).
 *
 * @throws {AmpError} ERR_TRUNCATED, ERR_MALFORMED or ERR_LIMIT; the `cause` is the ElfDiagnostic.
 * @example
 * const elf = parseElf(bytes);
 * elf.header.entry; // 0x10000n
 * elf.programHeaders.filter((p) => p.type === ProgramType.PT_LOAD);
 * @see docs/wire-formats.md, "Firmware ELF and coredumps"; the System V gABI "Object Files" chapter.
 */
export function parseElf(bytes: Uint8Array, options: ParseElfOptions = {}): ElfFile {
  return parseElfInternal(bytes, options);
}
