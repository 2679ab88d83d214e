// Where each field of the ELF structs lives (glibc <elf.h>, wire-formats.md "Firmware ELF and
// coredumps"). The one definition the readers (parse.ts, symtab.ts) and the writers
// (header-write.ts, for coredumps and executables) share. A field whose offset differs between
// the classes is a pair [ELF32, ELF64], indexed by classIndex (0 for ELF32, 1 for ELF64).

/** The four magic bytes e_ident starts with: 0x7f 'E' 'L' 'F'. */
export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;

// e_ident and Elf32_Ehdr / Elf64_Ehdr.
export const EI_CLASS = 4;
export const EI_DATA = 5;
export const EI_VERSION = 6;
export const EI_OSABI = 7;
export const EI_ABIVERSION = 8;
export const E_TYPE = 16;
export const E_MACHINE = 18;
export const E_VERSION = 20;
export const E_ENTRY = 24;
export const E_PHOFF = [28, 32] as const;
export const E_SHOFF = [32, 40] as const;
export const E_FLAGS = [36, 48] as const;
export const E_EHSIZE = [40, 52] as const;
export const E_PHENTSIZE = [42, 54] as const;
export const E_PHNUM = [44, 56] as const;
export const E_SHENTSIZE = [46, 58] as const;
export const E_SHNUM = [48, 60] as const;
export const E_SHSTRNDX = [50, 62] as const;

// Elf32_Phdr / Elf64_Phdr (p_flags moves: after p_type in ELF64, before p_align in ELF32).
export const P_TYPE = 0;
export const P_FLAGS = [24, 4] as const;
export const P_OFFSET = [4, 8] as const;
export const P_VADDR = [8, 16] as const;
export const P_PADDR = [12, 24] as const;
export const P_FILESZ = [16, 32] as const;
export const P_MEMSZ = [20, 40] as const;
export const P_ALIGN = [28, 48] as const;

// Elf32_Shdr / Elf64_Shdr.
export const SH_NAME = 0;
export const SH_TYPE = 4;
export const SH_FLAGS = 8;
export const SH_ADDR = [12, 16] as const;
export const SH_OFFSET = [16, 24] as const;
export const SH_SIZE = [20, 32] as const;
export const SH_LINK = [24, 40] as const;
export const SH_INFO = [28, 44] as const;
export const SH_ADDRALIGN = [32, 48] as const;
export const SH_ENTSIZE = [36, 56] as const;

// Elf32_Sym / Elf64_Sym (st_info, st_other, st_shndx come before the value in ELF64).
export const ST_NAME = 0;
export const ST_VALUE = [4, 8] as const;
export const ST_SIZE = [8, 16] as const;
export const ST_INFO = [12, 4] as const;
export const ST_OTHER = [13, 5] as const;
export const ST_SHNDX = [14, 6] as const;

/** sizeof(Elf32_Ehdr), sizeof(Elf64_Ehdr). */
export const EHDR_SIZE = [52, 64] as const;
/** sizeof(Elf32_Phdr), sizeof(Elf64_Phdr). */
export const PHDR_SIZE = [32, 56] as const;
/** sizeof(Elf32_Shdr), sizeof(Elf64_Shdr). */
export const SHDR_SIZE = [40, 64] as const;
/** sizeof(Elf32_Sym), sizeof(Elf64_Sym). */
export const SYM_SIZE = [16, 24] as const;

/** Index into the pairs above: 0 for ELF32, 1 for ELF64. */
export type ClassIndex = 0 | 1;
