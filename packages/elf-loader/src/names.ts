// Short printable names for ELF numbers, in readelf's spelling where one exists, for tools
// (`amp inspect`) and messages. Unknown values print as hex.
import { ElfMachine, ProgramType, SectionType } from "./constants.js";

const PROGRAM_TYPES: ReadonlyMap<number, string> = new Map([
  [ProgramType.PT_NULL, "NULL"],
  [ProgramType.PT_LOAD, "LOAD"],
  [ProgramType.PT_DYNAMIC, "DYNAMIC"],
  [ProgramType.PT_INTERP, "INTERP"],
  [ProgramType.PT_NOTE, "NOTE"],
  [ProgramType.PT_SHLIB, "SHLIB"],
  [ProgramType.PT_PHDR, "PHDR"],
  [ProgramType.PT_TLS, "TLS"],
  [ProgramType.PT_GNU_EH_FRAME, "GNU_EH_FRAME"],
  [ProgramType.PT_GNU_STACK, "GNU_STACK"],
  [ProgramType.PT_GNU_RELRO, "GNU_RELRO"],
  [ProgramType.PT_GNU_PROPERTY, "GNU_PROPERTY"],
  [ProgramType.PT_GNU_SFRAME, "GNU_SFRAME"],
]);

const SECTION_TYPES: ReadonlyMap<number, string> = new Map([
  [SectionType.SHT_NULL, "NULL"],
  [SectionType.SHT_PROGBITS, "PROGBITS"],
  [SectionType.SHT_SYMTAB, "SYMTAB"],
  [SectionType.SHT_STRTAB, "STRTAB"],
  [SectionType.SHT_RELA, "RELA"],
  [SectionType.SHT_HASH, "HASH"],
  [SectionType.SHT_DYNAMIC, "DYNAMIC"],
  [SectionType.SHT_NOTE, "NOTE"],
  [SectionType.SHT_NOBITS, "NOBITS"],
  [SectionType.SHT_REL, "REL"],
  [SectionType.SHT_SHLIB, "SHLIB"],
  [SectionType.SHT_DYNSYM, "DYNSYM"],
  [SectionType.SHT_INIT_ARRAY, "INIT_ARRAY"],
  [SectionType.SHT_FINI_ARRAY, "FINI_ARRAY"],
  [SectionType.SHT_PREINIT_ARRAY, "PREINIT_ARRAY"],
  [SectionType.SHT_GROUP, "GROUP"],
  [SectionType.SHT_SYMTAB_SHNDX, "SYMTAB SECTION INDICES"],
  [SectionType.SHT_RELR, "RELR"],
  [SectionType.SHT_GNU_ATTRIBUTES, "GNU_ATTRIBUTES"],
  [SectionType.SHT_GNU_HASH, "GNU_HASH"],
  [SectionType.SHT_GNU_LIBLIST, "GNU_LIBLIST"],
  [SectionType.SHT_GNU_verdef, "VERDEF"],
  [SectionType.SHT_GNU_verneed, "VERNEED"],
  [SectionType.SHT_GNU_versym, "VERSYM"],
]);

const MACHINES: ReadonlyMap<number, string> = new Map([
  [ElfMachine.EM_NONE, "None"],
  [ElfMachine.EM_386, "Intel 80386"],
  [ElfMachine.EM_PPC, "PowerPC"],
  [ElfMachine.EM_ARM, "ARM"],
  [ElfMachine.EM_X86_64, "X86-64"],
  [ElfMachine.EM_XTENSA, "Xtensa"],
  [ElfMachine.EM_TI_C6000, "TI C6000"],
  [ElfMachine.EM_AARCH64, "AArch64"],
  [ElfMachine.EM_RISCV, "RISC-V"],
]);

/**
 * The name of a p_type ("LOAD", "NOTE", ...); processor-specific ones need `machine`
 * (ARM's 0x70000001 is "EXIDX"). Unknown values print as "0x...".
 */
export function programTypeName(type: number, machine?: number): string {
  const known = PROGRAM_TYPES.get(type);
  if (known !== undefined) return known;
  if (machine === ElfMachine.EM_ARM && type === ProgramType.PT_ARM_EXIDX) return "EXIDX";
  return `0x${type.toString(16)}`;
}

/**
 * The name of an sh_type ("PROGBITS", "NOBITS", ...); processor-specific ones need `machine`.
 * Unknown values print as "0x...".
 */
export function sectionTypeName(type: number, machine?: number): string {
  const known = SECTION_TYPES.get(type);
  if (known !== undefined) return known;
  if (machine === ElfMachine.EM_ARM && type === SectionType.SHT_ARM_EXIDX) return "ARM_EXIDX";
  if (machine === ElfMachine.EM_ARM && type === SectionType.SHT_ARM_ATTRIBUTES) return "ARM_ATTRIBUTES";
  return `0x${type.toString(16)}`;
}

/** The name of an e_machine ("ARM", "AArch64", "RISC-V", ...); unknown values print as "0x...". */
export function machineName(machine: number): string {
  return MACHINES.get(machine) ?? `0x${machine.toString(16)}`;
}
