// Public API of @amp/elf-loader, listed by name (STYLE.md point 14). Internals live in
// src/internal/ and are not re-exported.
//
// 64-bit representation: every ELF address, offset, size, e_entry and sh_flags is a `bigint`
// in both classes (exact, never rounded); fields of 32 bits or less are `number`.

// Errors
export { AmpError, isAmpError } from "./errors.js";
export type { ElfErrorCode } from "./errors.js";

// Data types
export type {
  ElfDiagnostic,
  ElfHeader,
  ElfProgramHeader,
  ElfSection,
  ElfSymbol,
  ElfFile,
  ParseElfOptions,
  ValidateElfOptions,
  ElfSectionData,
  LoadSink,
  LoadedSegment,
  LoadResult,
  StreamLoadOptions,
  FirmwareReader,
  MdtInfo,
  MdtLoadOptions,
  ElfNote,
  CoredumpRegion,
  CoredumpLayout,
  CoredumpMemoryReader,
  CoredumpWriteOptions,
  CoredumpSegment,
  CoredumpSummary,
  ElfExecutableLayout,
  ElfExecutableSegment,
  ElfExecutableSymbol,
} from "./types.js";

// Constants
export {
  ElfClass,
  ElfData,
  ElfVersion,
  ElfType,
  ElfMachine,
  ProgramType,
  ProgramFlag,
  SectionType,
  SectionFlag,
  SectionIndex,
  SymbolBinding,
  SymbolType,
  NoteType,
  RESOURCE_TABLE_SECTION,
  QCOM_MDT_TYPE_MASK,
  QCOM_MDT_TYPE_HASH,
  QCOM_MDT_RELOCATABLE,
} from "./constants.js";
export { programTypeName, sectionTypeName, machineName } from "./names.js";

// Parsing and lookups
export { parseElf, DEFAULT_PARSE_LIMITS } from "./parse.js";
export { findSection, findResourceTable, sectionBytes, segmentBytes } from "./sections.js";
export { findSymbol, symbolAddress } from "./symbols.js";

// Validation
export { validateElf } from "./validate.js";
export { ElfDiagnosticCode } from "./diagnostics.js";

// Loading
export { loadElf } from "./load.js";
export { ElfStreamLoader, loadElfFromChunks } from "./stream-load.js";

// Qualcomm split firmware (.mdt + .bNN)
export { parseMdt, mdtSegmentFileName, loadMdt, assembleMdt, mdtMetadata } from "./mdt.js";

// Writing executables
export { writeElfExecutable } from "./executable-write.js";

// Coredumps
export { coredumpSize, coredumpChunks, writeCoredump } from "./coredump-write.js";
export { readCoredump, readCoredumpMemory, parseNotes } from "./coredump-read.js";
