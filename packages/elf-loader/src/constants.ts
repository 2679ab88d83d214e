// ELF constants as `as const` objects (no enums: erasableSyntaxOnly). Names and values are the
// ones of glibc <elf.h> and the System V gABI; readelf prints the same names without prefix.

/** EI_CLASS values (e_ident[4]). */
export const ElfClass = { ELFCLASSNONE: 0, ELFCLASS32: 1, ELFCLASS64: 2 } as const;

/** EI_DATA values (e_ident[5]). */
export const ElfData = { ELFDATANONE: 0, ELFDATA2LSB: 1, ELFDATA2MSB: 2 } as const;

/** EI_VERSION (e_ident[6]) and e_version values. */
export const ElfVersion = { EV_NONE: 0, EV_CURRENT: 1 } as const;

/** e_type values. */
export const ElfType = { ET_NONE: 0, ET_REL: 1, ET_EXEC: 2, ET_DYN: 3, ET_CORE: 4 } as const;

/** A few e_machine values that remote processors use (the full list is in <elf.h>). */
export const ElfMachine = {
  EM_NONE: 0,
  EM_386: 3,
  EM_PPC: 20,
  EM_ARM: 40,
  EM_X86_64: 62,
  EM_XTENSA: 94,
  EM_TI_C6000: 140,
  EM_AARCH64: 183,
  EM_RISCV: 243,
} as const;

/** p_type values. */
export const ProgramType = {
  PT_NULL: 0,
  PT_LOAD: 1,
  PT_DYNAMIC: 2,
  PT_INTERP: 3,
  PT_NOTE: 4,
  PT_SHLIB: 5,
  PT_PHDR: 6,
  PT_TLS: 7,
  PT_GNU_EH_FRAME: 0x6474e550,
  PT_GNU_STACK: 0x6474e551,
  PT_GNU_RELRO: 0x6474e552,
  PT_GNU_PROPERTY: 0x6474e553,
  PT_GNU_SFRAME: 0x6474e554,
  PT_ARM_EXIDX: 0x70000001,
} as const;

/** p_flags bits. */
export const ProgramFlag = { PF_X: 1, PF_W: 2, PF_R: 4 } as const;

/** sh_type values. */
export const SectionType = {
  SHT_NULL: 0,
  SHT_PROGBITS: 1,
  SHT_SYMTAB: 2,
  SHT_STRTAB: 3,
  SHT_RELA: 4,
  SHT_HASH: 5,
  SHT_DYNAMIC: 6,
  SHT_NOTE: 7,
  SHT_NOBITS: 8,
  SHT_REL: 9,
  SHT_SHLIB: 10,
  SHT_DYNSYM: 11,
  SHT_INIT_ARRAY: 14,
  SHT_FINI_ARRAY: 15,
  SHT_PREINIT_ARRAY: 16,
  SHT_GROUP: 17,
  SHT_SYMTAB_SHNDX: 18,
  SHT_RELR: 19,
  SHT_GNU_ATTRIBUTES: 0x6ffffff5,
  SHT_GNU_HASH: 0x6ffffff6,
  SHT_GNU_LIBLIST: 0x6ffffff7,
  SHT_GNU_verdef: 0x6ffffffd,
  SHT_GNU_verneed: 0x6ffffffe,
  SHT_GNU_versym: 0x6fffffff,
  SHT_ARM_EXIDX: 0x70000001,
  SHT_ARM_ATTRIBUTES: 0x70000003,
} as const;

/** sh_flags bits (bigint: sh_flags is 64-bit in ELF64). */
export const SectionFlag = {
  SHF_WRITE: 0x1n,
  SHF_ALLOC: 0x2n,
  SHF_EXECINSTR: 0x4n,
  SHF_MERGE: 0x10n,
  SHF_STRINGS: 0x20n,
  SHF_INFO_LINK: 0x40n,
  SHF_LINK_ORDER: 0x80n,
  SHF_OS_NONCONFORMING: 0x100n,
  SHF_GROUP: 0x200n,
  SHF_TLS: 0x400n,
  SHF_COMPRESSED: 0x800n,
  SHF_GNU_RETAIN: 0x200000n,
  SHF_EXCLUDE: 0x80000000n,
} as const;

/** Special section indexes. */
export const SectionIndex = {
  SHN_UNDEF: 0,
  SHN_LORESERVE: 0xff00,
  SHN_ABS: 0xfff1,
  SHN_COMMON: 0xfff2,
  SHN_XINDEX: 0xffff,
} as const;

/** Symbol bindings: the high nibble of st_info (ELF32_ST_BIND). */
export const SymbolBinding = { STB_LOCAL: 0, STB_GLOBAL: 1, STB_WEAK: 2 } as const;

/** Symbol types: the low nibble of st_info (ELF32_ST_TYPE). */
export const SymbolType = {
  STT_NOTYPE: 0,
  STT_OBJECT: 1,
  STT_FUNC: 2,
  STT_SECTION: 3,
  STT_FILE: 4,
  STT_COMMON: 5,
  STT_TLS: 6,
} as const;

/** Note types used in coredumps (n_type of an ELF note owned by "CORE"). */
export const NoteType = { NT_PRSTATUS: 1, NT_PRFPREG: 2, NT_PRPSINFO: 3, NT_AUXV: 6, NT_FILE: 0x46494c45 } as const;

/** The section that holds a remoteproc resource table (docs/wire-formats.md, "Firmware ELF and coredumps"). */
export const RESOURCE_TABLE_SECTION = ".resource_table";

/** Qualcomm .mdt p_flags fields (drivers/soc/qcom/mdt_loader.c, docs/wire-formats.md, "Firmware ELF and coredumps"). */
export const QCOM_MDT_TYPE_MASK = 0x07000000;
/** p_flags type value of the hash segment in a Qualcomm .mdt. */
export const QCOM_MDT_TYPE_HASH = 0x02000000;
/** p_flags bit: the image may be placed anywhere in its memory region. */
export const QCOM_MDT_RELOCATABLE = 0x08000000;
