// The catalogue of diagnostic codes. Each code maps to the AmpError code a loader throws when the
// diagnostic is an error, so `validateElf` (collect everything) and `loadElf` (stop at the first
// error) agree on what is wrong and how to classify it.
import { AmpError } from "./errors.js";
import type { ElfErrorCode } from "./errors.js";
import type { ElfDiagnostic } from "./types.js";

/** One of the stable diagnostic codes (keys of ElfDiagnosticCode). */
export type ElfDiagnosticCode =
  | "FILE_TOO_SMALL"
  | "BAD_MAGIC"
  | "BAD_CLASS"
  | "BAD_DATA_ENCODING"
  | "ENDIANNESS_MISMATCH"
  | "BAD_VERSION"
  | "EHSIZE_MISMATCH"
  | "NOT_EXECUTABLE"
  | "NOT_A_CORE"
  | "PHENTSIZE_MISMATCH"
  | "SHENTSIZE_MISMATCH"
  | "NO_PROGRAM_HEADERS"
  | "NO_LOAD_SEGMENTS"
  | "PHDRS_PAST_EOF"
  | "SHDRS_PAST_EOF"
  | "NO_SECTION_HEADERS"
  | "TOO_MANY_PROGRAM_HEADERS"
  | "TOO_MANY_SECTIONS"
  | "TOO_MANY_SYMBOLS"
  | "SHSTRNDX_OUT_OF_RANGE"
  | "SHSTRNDX_XINDEX_UNDEF"
  | "SHSTRTAB_PAST_EOF"
  | "SECTION_NAME_OUT_OF_RANGE"
  | "NAME_UNTERMINATED"
  | "SECTION_PAST_EOF"
  | "BAD_SYMBOL_TABLE"
  | "SEGMENT_FILESZ_GT_MEMSZ"
  | "SEGMENT_PAST_EOF"
  | "SEGMENTS_OVERLAP"
  | "SEGMENT_FILL_OVERLAP"
  | "ADDRESS_TOO_WIDE"
  | "BAD_RESOURCE_TABLE_SECTION"
  | "RESOURCE_TABLE_NOT_LOADED"
  | "RESOURCE_TABLE_UNALIGNED"
  | "UNSUPPORTED_IN_STREAM";

/**
 * Every diagnostic code this package emits, mapped to the AmpError code used when a loader
 * refuses a file for it. Codes are stable: switch on them.
 */
export const ElfDiagnosticCode: { readonly [K in ElfDiagnosticCode]: ElfErrorCode } = {
  /** Shorter than an ELF header (Linux check 1 and 3). */
  FILE_TOO_SMALL: "ERR_TRUNCATED",
  /** e_ident does not start with 7F 'E' 'L' 'F' (Linux check 2). */
  BAD_MAGIC: "ERR_MALFORMED",
  /** EI_CLASS is neither ELFCLASS32 nor ELFCLASS64 (Linux check 3). */
  BAD_CLASS: "ERR_MALFORMED",
  /** EI_DATA is neither LSB nor MSB. */
  BAD_DATA_ENCODING: "ERR_MALFORMED",
  /** EI_DATA is not the required endianness (Linux check 4: the host's). */
  ENDIANNESS_MISMATCH: "ERR_UNSUPPORTED",
  /** EI_VERSION or e_version is not EV_CURRENT (warning: Linux does not check). */
  BAD_VERSION: "ERR_MALFORMED",
  /** e_ehsize is not the header size of the class (warning). */
  EHSIZE_MISMATCH: "ERR_MALFORMED",
  /** e_type is not ET_EXEC (warning: Linux does not check). */
  NOT_EXECUTABLE: "ERR_MALFORMED",
  /** readCoredump: e_type is not ET_CORE (warning: the file is read as a core anyway). */
  NOT_A_CORE: "ERR_MALFORMED",
  /** e_phentsize is not sizeof(Elf32_Phdr)/sizeof(Elf64_Phdr). */
  PHENTSIZE_MISMATCH: "ERR_MALFORMED",
  /** e_shentsize is not sizeof(Elf32_Shdr)/sizeof(Elf64_Shdr). */
  SHENTSIZE_MISMATCH: "ERR_MALFORMED",
  /** e_phnum is 0: "No loadable segments" (Linux check 6). */
  NO_PROGRAM_HEADERS: "ERR_MALFORMED",
  /** No PT_LOAD segment (warning). */
  NO_LOAD_SEGMENTS: "ERR_MALFORMED",
  /** The program header table (e_phoff + count * e_phentsize) ends past the file (Linux check 7). */
  PHDRS_PAST_EOF: "ERR_TRUNCATED",
  /** The section header table (e_shoff + count * e_shentsize) ends past the file (Linux check 5). */
  SHDRS_PAST_EOF: "ERR_TRUNCATED",
  /** e_shoff is 0: no section headers, so no .resource_table (warning). */
  NO_SECTION_HEADERS: "ERR_MALFORMED",
  /** More program headers than `maxProgramHeaders`. */
  TOO_MANY_PROGRAM_HEADERS: "ERR_LIMIT",
  /** More sections than `maxSections`. */
  TOO_MANY_SECTIONS: "ERR_LIMIT",
  /** More symbols than `maxSymbols`. */
  TOO_MANY_SYMBOLS: "ERR_LIMIT",
  /** e_shstrndx (after SHN_XINDEX) is not a section index. */
  SHSTRNDX_OUT_OF_RANGE: "ERR_MALFORMED",
  /** e_shstrndx is SHN_XINDEX and section 0's sh_link is 0: no section has a name (warning). */
  SHSTRNDX_XINDEX_UNDEF: "ERR_MALFORMED",
  /** The section-header string table's bytes are not inside the file. */
  SHSTRTAB_PAST_EOF: "ERR_TRUNCATED",
  /** An sh_name offset is past the end of the string table. */
  SECTION_NAME_OUT_OF_RANGE: "ERR_MALFORMED",
  /** A name runs to the end of its string table without a NUL (warning). */
  NAME_UNTERMINATED: "ERR_MALFORMED",
  /** A section's bytes (sh_offset + sh_size) end past the file (warning, error for .resource_table). */
  SECTION_PAST_EOF: "ERR_TRUNCATED",
  /** A symbol table that cannot be read (bad entsize, past the file, bad string table link; warning). */
  BAD_SYMBOL_TABLE: "ERR_MALFORMED",
  /** p_filesz > p_memsz in a PT_LOAD. */
  SEGMENT_FILESZ_GT_MEMSZ: "ERR_MALFORMED",
  /** p_offset + p_filesz is past the end of the file ("truncated fw"). */
  SEGMENT_PAST_EOF: "ERR_TRUNCATED",
  /** Two PT_LOAD segments' file bytes overlap in physical memory. */
  SEGMENTS_OVERLAP: "ERR_MALFORMED",
  /** A PT_LOAD's zero-filled tail overlaps another segment (warning: usual for .bss after an AT> image). */
  SEGMENT_FILL_OVERLAP: "ERR_MALFORMED",
  /** A PT_LOAD's [p_paddr, p_paddr + p_memsz) or e_entry does not fit the target's address width. */
  ADDRESS_TOO_WIDE: "ERR_RANGE",
  /** The .resource_table section has no file bytes (SHT_NOBITS) or is past the end of the file. */
  BAD_RESOURCE_TABLE_SECTION: "ERR_MALFORMED",
  /** The .resource_table section is not inside any PT_LOAD (warning: the loaded copy is never found). */
  RESOURCE_TABLE_NOT_LOADED: "ERR_MALFORMED",
  /** The .resource_table file offset is not 4-byte aligned (warning: OP-TEE requires it). */
  RESOURCE_TABLE_UNALIGNED: "ERR_MALFORMED",
  /** Not emitted any more (the streaming loader now reads section 0 for a PN_XNUM count); kept so code switching on it compiles. */
  UNSUPPORTED_IN_STREAM: "ERR_UNSUPPORTED",
};

/** Builds a diagnostic. */
export function diag(
  code: ElfDiagnosticCode,
  severity: "error" | "warning",
  offset: number,
  message: string,
): ElfDiagnostic {
  return { code, severity, offset, message };
}

/** The AmpError for an error diagnostic; the diagnostic itself is the `cause`. */
export function errorFor(d: ElfDiagnostic): AmpError {
  const code: ElfErrorCode = (ElfDiagnosticCode as Record<string, ElfErrorCode | undefined>)[d.code] ?? "ERR_MALFORMED";
  return new AmpError(code, `${d.code}: ${d.message}`, { offset: d.offset, cause: d });
}

/** Throws the AmpError of a fatal diagnostic (parsing cannot go on). */
export function fail(code: ElfDiagnosticCode, offset: number, message: string): never {
  throw errorFor(diag(code, "error", offset, message));
}

/** The diagnostic carried by an AmpError from this package, if any. */
export function diagnosticOf(e: AmpError<string>): ElfDiagnostic {
  const c = e.cause as Partial<ElfDiagnostic> | undefined;
  if (
    c !== undefined &&
    typeof c.code === "string" &&
    (c.severity === "error" || c.severity === "warning") &&
    typeof c.message === "string"
  ) {
    return {
      code: c.code,
      severity: c.severity,
      offset: typeof c.offset === "number" ? c.offset : 0,
      message: c.message,
    };
  }
  return { code: e.code, severity: "error", offset: e.offset ?? 0, message: e.message };
}
