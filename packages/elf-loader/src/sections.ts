// Section and segment bytes, and the lookup of `.resource_table` (docs/wire-formats.md, "Firmware ELF and coredumps").
import { AmpError } from "./errors.js";
import { ProgramType, RESOURCE_TABLE_SECTION, SectionType } from "./constants.js";
import { hex } from "./internal/reader.js";
import type { ElfFile, ElfProgramHeader, ElfSection, ElfSectionData } from "./types.js";

/**
 * The file bytes of a section (a view, not a copy); empty for SHT_NOBITS.
 * @throws {AmpError} ERR_TRUNCATED when sh_offset + sh_size is past the end of the file.
 */
export function sectionBytes(elf: ElfFile, section: ElfSection): Uint8Array {
  if (section.type === SectionType.SHT_NOBITS || section.type === SectionType.SHT_NULL) return elf.bytes.subarray(0, 0);
  const end = section.offset + section.size;
  if (end > BigInt(elf.bytes.length)) {
    throw new AmpError(
      "ERR_TRUNCATED",
      `section ${section.index} (${section.name}): [${hex(section.offset)}, ${hex(end)}) is past the end of the file (${elf.bytes.length} bytes)`,
      { offset: section.headerOffset },
    );
  }
  return elf.bytes.subarray(Number(section.offset), Number(end));
}

/**
 * The file bytes of a segment, p_filesz long (a view, not a copy).
 * @throws {AmpError} ERR_TRUNCATED when p_offset + p_filesz is past the end of the file.
 */
export function segmentBytes(elf: ElfFile, phdr: ElfProgramHeader): Uint8Array {
  const end = phdr.offset + phdr.filesz;
  if (end > BigInt(elf.bytes.length)) {
    throw new AmpError(
      "ERR_TRUNCATED",
      `segment ${phdr.index}: [${hex(phdr.offset)}, ${hex(end)}) is past the end of the file (${elf.bytes.length} bytes)`,
      { offset: phdr.headerOffset },
    );
  }
  return elf.bytes.subarray(Number(phdr.offset), Number(end));
}

/** The PT_LOAD whose file range holds [offset, offset + size), if any. */
export function containingLoad(elf: ElfFile, offset: bigint, size: bigint): ElfProgramHeader | undefined {
  return elf.programHeaders.find(
    (p) => p.type === ProgramType.PT_LOAD && offset >= p.offset && offset + size <= p.offset + p.filesz,
  );
}

/**
 * The first section named exactly `name`, with its bytes and address (sh_addr), or undefined
 * when there is no such section.
 * @throws {AmpError} ERR_NO_SECTIONS when the file has no section headers (so no section can be
 *   found by name); ERR_TRUNCATED when the section's bytes are past the end of the file.
 * @example findSection(elf, ".data")?.address; // 0x20000000n
 */
export function findSection(elf: ElfFile, name: string): ElfSectionData | undefined {
  if (elf.sections.length === 0) {
    throw new AmpError(
      "ERR_NO_SECTIONS",
      `cannot find section "${name}": the file has no section headers (e_shoff = ${hex(elf.header.shoff)}, e_shnum = ${elf.header.shnum})`,
      { offset: 0 },
    );
  }
  const section = elf.sections.find((s) => s.name === name);
  if (section === undefined) return undefined;
  const bytes = sectionBytes(elf, section);
  return { section, address: section.addr, bytes, segment: containingLoad(elf, section.offset, BigInt(bytes.length)) };
}

/**
 * The `.resource_table` section, Linux's way (first match by exact name; the cached copy is the
 * section's file bytes, the loaded copy lives at sh_addr). Undefined when there is none,
 * including when the file has no section headers: like Linux, the remote then boots without
 * resources. `segment` is undefined when no PT_LOAD holds the table, in which case the loaded
 * copy will never be found (Linux silently skips it).
 * @throws {AmpError} ERR_MALFORMED for a SHT_NOBITS table, ERR_TRUNCATED for one past the end.
 * @see docs/wire-formats.md, "Firmware ELF and coredumps"
 */
export function findResourceTable(elf: ElfFile): ElfSectionData | undefined {
  if (elf.sections.length === 0) return undefined;
  const found = findSection(elf, RESOURCE_TABLE_SECTION);
  if (found?.section.type === SectionType.SHT_NOBITS) {
    throw new AmpError(
      "ERR_MALFORMED",
      `section ${found.section.index} (.resource_table) is SHT_NOBITS: it has no bytes in the file`,
      { offset: found.section.headerOffset },
    );
  }
  return found;
}
