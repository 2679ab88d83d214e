// The public data types of @amp/elf-loader. 64-bit ELF fields (addresses, offsets, sizes, entry,
// sh_flags) are `bigint` in both classes, so ELF32 and ELF64 look the same and nothing is ever
// rounded; fields of 32 bits or less are `number`. Byte offsets inside an in-memory file are
// `number` (a Uint8Array is always shorter than 2^53).

/** A finding about a file: the same shape @amp/resource-table uses. */
export interface ElfDiagnostic {
  /** Stable SCREAMING_SNAKE identifier (see ElfDiagnosticCode). */
  readonly code: string;
  /** "error": the loader refuses the file. "warning": suspicious, but Linux would load it. */
  readonly severity: "error" | "warning";
  /** File offset of the offending header field (or of the structure). */
  readonly offset: number;
  readonly message: string;
}

/** The ELF file header (Elf32_Ehdr / Elf64_Ehdr), exactly as stored (raw counts). */
export interface ElfHeader {
  /** EI_CLASS: 32 (ELFCLASS32) or 64 (ELFCLASS64). */
  readonly elfClass: 32 | 64;
  /** EI_DATA: true for ELFDATA2LSB, false for ELFDATA2MSB. */
  readonly littleEndian: boolean;
  /** e_ident[EI_VERSION]. */
  readonly identVersion: number;
  /** e_ident[EI_OSABI]. */
  readonly osAbi: number;
  /** e_ident[EI_ABIVERSION]. */
  readonly abiVersion: number;
  /** e_type (ET_EXEC = 2, ET_CORE = 4, ...). */
  readonly type: number;
  /** e_machine (EM_ARM = 40, ...). */
  readonly machine: number;
  /** e_version. */
  readonly version: number;
  /** e_entry: the boot address. */
  readonly entry: bigint;
  /** e_phoff. */
  readonly phoff: bigint;
  /** e_shoff. */
  readonly shoff: bigint;
  /** e_flags. */
  readonly flags: number;
  /** e_ehsize. */
  readonly ehsize: number;
  /** e_phentsize. */
  readonly phentsize: number;
  /** e_phnum as stored (0xffff = PN_XNUM: the real count is in section 0's sh_info). */
  readonly phnum: number;
  /** e_shentsize. */
  readonly shentsize: number;
  /** e_shnum as stored (0 with e_shoff != 0: the real count is in section 0's sh_size). */
  readonly shnum: number;
  /** e_shstrndx as stored (0xffff = SHN_XINDEX: the real index is in section 0's sh_link). */
  readonly shstrndx: number;
}

/** One program header (Elf32_Phdr / Elf64_Phdr). */
export interface ElfProgramHeader {
  /** Position in the program header table. */
  readonly index: number;
  /** File offset of this header. */
  readonly headerOffset: number;
  /** p_type. */
  readonly type: number;
  /** p_flags (PF_R | PF_W | PF_X, plus OS/processor bits). */
  readonly flags: number;
  /** p_offset. */
  readonly offset: bigint;
  /** p_vaddr. */
  readonly vaddr: bigint;
  /** p_paddr: where remoteproc loads the segment. */
  readonly paddr: bigint;
  /** p_filesz. */
  readonly filesz: bigint;
  /** p_memsz. */
  readonly memsz: bigint;
  /** p_align. */
  readonly align: bigint;
}

/** One section header (Elf32_Shdr / Elf64_Shdr) with its name resolved. */
export interface ElfSection {
  /** Position in the section header table. */
  readonly index: number;
  /** File offset of this header. */
  readonly headerOffset: number;
  /** The name from the section-header string table ("" when it cannot be read: see diagnostics). */
  readonly name: string;
  /** sh_name: offset of the name in the string table. */
  readonly nameOffset: number;
  /** sh_type. */
  readonly type: number;
  /** sh_flags. */
  readonly flags: bigint;
  /** sh_addr: the section's VMA (where a loaded resource table is found). */
  readonly addr: bigint;
  /** sh_offset. */
  readonly offset: bigint;
  /** sh_size. */
  readonly size: bigint;
  /** sh_link. */
  readonly link: number;
  /** sh_info. */
  readonly info: number;
  /** sh_addralign. */
  readonly addralign: bigint;
  /** sh_entsize. */
  readonly entsize: bigint;
}

/** One symbol from .symtab or .dynsym. */
export interface ElfSymbol {
  readonly name: string;
  /** st_value (an address for defined symbols in executables). */
  readonly value: bigint;
  /** st_size. */
  readonly size: bigint;
  /** ELF_ST_TYPE(st_info): STT_NOTYPE 0, STT_OBJECT 1, STT_FUNC 2, STT_SECTION 3, STT_FILE 4, ... */
  readonly type: number;
  /** ELF_ST_BIND(st_info): STB_LOCAL 0, STB_GLOBAL 1, STB_WEAK 2. */
  readonly bind: number;
  /** st_other (visibility in the low 2 bits). */
  readonly other: number;
  /** st_shndx. */
  readonly shndx: number;
  /** Index of the symbol table section it came from. */
  readonly sectionIndex: number;
}

/** A parsed ELF file. `bytes` is the caller's buffer (not copied). */
export interface ElfFile {
  readonly bytes: Uint8Array;
  readonly header: ElfHeader;
  readonly programHeaders: readonly ElfProgramHeader[];
  /** Section headers with names; empty when the file has none. */
  readonly sections: readonly ElfSection[];
  /** The resolved section-header string table index (SHN_XINDEX followed), or 0. */
  readonly shstrndx: number;
  /** Symbols of .symtab then .dynsym (empty when there are none or `symbols: false`). */
  readonly symbols: readonly ElfSymbol[];
  /** Non-fatal findings made while parsing (warnings, and errors that did not stop parsing). */
  readonly diagnostics: readonly ElfDiagnostic[];
}

/** Limits of parseElf; every one has a safe default. */
export interface ParseElfOptions {
  /** Most program headers accepted (default 4096); more is ERR_LIMIT. */
  readonly maxProgramHeaders?: number;
  /** Most section headers accepted (default 65536); more is ERR_LIMIT. */
  readonly maxSections?: number;
  /** Most symbols read over all symbol tables (default 1_000_000); more is ERR_LIMIT. */
  readonly maxSymbols?: number;
  /** Read .symtab/.dynsym (default true). */
  readonly symbols?: boolean;
}

/** Options of validateElf and of the loaders. */
export interface ValidateElfOptions extends ParseElfOptions {
  /** Required EI_DATA (Linux requires the host's; default: either is accepted). */
  readonly endianness?: "little" | "big";
  /**
   * Address width of the target (default 32 for ELFCLASS32, 64 for ELFCLASS64): a load segment
   * or entry point beyond 2^addressBits is an error (ADDRESS_TOO_WIDE).
   */
  readonly addressBits?: number;
}

/** A section's bytes and address, as found by name. */
export interface ElfSectionData {
  readonly section: ElfSection;
  /** sh_addr: the device address of the loaded copy (the VMA, not the LMA). */
  readonly address: bigint;
  /** The file bytes (a view of the file, not a copy); empty for SHT_NOBITS. */
  readonly bytes: Uint8Array;
  /** The PT_LOAD segment whose file range holds the section, if any (else it is never loaded). */
  readonly segment: ElfProgramHeader | undefined;
}

/**
 * Where the loader writes. remoteproc-core backs it with carveouts and device-address
 * translation. Addresses are physical addresses (p_paddr). `bytes` passed to `write` is a view
 * of the caller's input, valid only during the call: copy it, never keep it.
 * A sink refuses a range by returning false from `accepts` or by throwing from write/fill; the
 * loader then throws AmpError ERR_SINK naming the segment and address.
 */
export interface LoadSink {
  /**
   * Optional: can [pa, pa + size) be written? Called for every PT_LOAD (size = p_memsz) before
   * any byte is written, so a bad segment refuses the whole image with nothing loaded.
   */
  accepts?(pa: bigint, size: bigint): boolean;
  /** Copy `bytes` to [pa, pa + bytes.length). */
  write(pa: bigint, bytes: Uint8Array): void;
  /** Set [pa, pa + length) to `value` (0 for the p_memsz - p_filesz tail). */
  fill(pa: bigint, length: bigint, value: number): void;
}

/** One segment as loaded. */
export interface LoadedSegment {
  /** Program header index. */
  readonly index: number;
  /** Where it went (p_paddr, or the relocated address for .mdt images). */
  readonly pa: bigint;
  readonly filesz: bigint;
  readonly memsz: bigint;
}

/** What a load did. */
export interface LoadResult {
  /** e_entry: the boot address. */
  readonly entry: bigint;
  readonly segments: readonly LoadedSegment[];
  /** Warnings found on the way (errors throw). */
  readonly diagnostics: readonly ElfDiagnostic[];
}

/** Options of the streaming loader. */
export interface StreamLoadOptions extends ValidateElfOptions {
  /**
   * Most bytes buffered before the ELF header and program header table are complete (default
   * 1 MiB). Segment bytes are never buffered: they go to the sink as chunks arrive.
   */
  readonly maxHeaderBytes?: number;
  /** The total file size when known in advance: segments past it fail before loading. */
  readonly totalSize?: number;
}

/** Reads a companion file of split firmware by name; undefined when it does not exist. */
export type FirmwareReader = (name: string) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

/** A parsed Qualcomm .mdt header (docs/wire-formats.md, "Firmware ELF and coredumps"). */
export interface MdtInfo {
  readonly elf: ElfFile;
  /** Some segment lies past the end of the .mdt: segments come from .bNN files. */
  readonly split: boolean;
  /** The hash segment (first non-PT_LOAD from index 1 with the HASH type in p_flags). */
  readonly hashSegment: ElfProgramHeader | undefined;
  /** Loadable segments: PT_LOAD, not the hash segment, p_memsz != 0. */
  readonly loadSegments: readonly ElfProgramHeader[];
  /** Lowest p_paddr of the loadable segments. */
  readonly minAddr: bigint;
  /** Highest p_paddr + p_memsz, aligned up to 4 KiB. */
  readonly maxAddr: bigint;
  /** Some loadable segment has QCOM_MDT_RELOCATABLE. */
  readonly relocatable: boolean;
}

/** Options of loadMdt. */
export interface MdtLoadOptions extends ParseElfOptions {
  /**
   * The memory region reserved for the image. Without it, segments go to p_paddr. With it,
   * base = minAddr when relocatable, else region.pa, and each segment goes to
   * region.pa + (p_paddr - base), which must stay inside the region.
   */
  readonly region?: { readonly pa: bigint; readonly size: bigint };
}

/** One ELF note (Elf32_Nhdr / Elf64_Nhdr + name + desc). */
export interface ElfNote {
  /** The owner name without its NUL ("CORE", "GNU", ...). */
  readonly name: string;
  /** n_type. */
  readonly type: number;
  /** The descriptor bytes. */
  readonly desc: Uint8Array;
}

/** One memory region of a coredump. */
export interface CoredumpRegion {
  /** Device address (p_vaddr = p_paddr = da, as Linux writes). */
  readonly da: bigint;
  /** Bytes to dump (p_filesz = p_memsz). */
  readonly size: bigint;
  /** Optional name, written to the section header table when `sectionHeaders` is set. */
  readonly name?: string;
  /** p_flags (default PF_R | PF_W | PF_X, as Linux). */
  readonly flags?: number;
}

/** What goes into a coredump (Linux layout, docs/wire-formats.md, "Firmware ELF and coredumps"). */
export interface CoredumpLayout {
  /** The firmware's class. */
  readonly elfClass: 32 | 64;
  /** The firmware's e_machine. */
  readonly machine: number;
  /** EI_DATA (default true: little-endian, as Linux). */
  readonly littleEndian?: boolean;
  /** e_entry (Linux writes rproc->bootaddr; default 0). */
  readonly entry?: bigint;
  /** One PT_LOAD per region, in this order. */
  readonly regions: readonly CoredumpRegion[];
  /** Notes (e.g. "CORE"/NT_PRSTATUS with registers), written as one PT_NOTE before the loads. */
  readonly notes?: readonly ElfNote[];
  /**
   * Also write section headers (null, one SHT_PROGBITS per region named by `region.name` or
   * "load<N>", .shstrtab) after the data, so tools show region names (default false).
   */
  readonly sectionHeaders?: boolean;
}

/**
 * Reads device memory for the coredump writer: fill `out` with the bytes at
 * region.da + offset. Return false when the memory cannot be read: the chunk is then filled
 * with 0xFF, as Linux does for an untranslatable segment.
 */
export type CoredumpMemoryReader = (
  region: CoredumpRegion,
  regionIndex: number,
  offset: bigint,
  out: Uint8Array,
) => boolean | undefined;

/** Options of the coredump writer. */
export interface CoredumpWriteOptions {
  /** Bytes per chunk (default 65536): the only buffer the writer allocates for region data. */
  readonly chunkSize?: number;
}

/** One dumped region as found in a core file. */
export interface CoredumpSegment {
  /** Program header index (or section index for section-style dumps). */
  readonly index: number;
  /** p_paddr (or sh_addr). */
  readonly da: bigint;
  /** p_vaddr (equal to da in Linux dumps). */
  readonly vaddr: bigint;
  /** p_memsz (or sh_size). */
  readonly size: bigint;
  /** p_offset: where the bytes are in the core file. */
  readonly fileOffset: bigint;
  /** p_filesz: bytes present in the file (may be less than size). */
  readonly fileSize: bigint;
  /** p_flags (0 for section-style dumps). */
  readonly flags: number;
  /** The section name covering the region, when the core has section headers. */
  readonly name: string | undefined;
}

/** What a coredump holds. */
export interface CoredumpSummary {
  readonly elfClass: 32 | 64;
  readonly littleEndian: boolean;
  /** e_type: ET_CORE (4) for a core; anything else is not one (diagnostic NOT_A_CORE). */
  readonly type: number;
  readonly machine: number;
  readonly entry: bigint;
  /** "segments": Linux format 1 (PT_LOAD); "sections": format 2 (SHT_PROGBITS, Qualcomm). */
  readonly format: "segments" | "sections";
  readonly regions: readonly CoredumpSegment[];
  readonly notes: readonly ElfNote[];
  readonly diagnostics: readonly ElfDiagnostic[];
}

/** One loadable piece of an executable: a PT_LOAD segment holding exactly one section. */
export interface ElfExecutableSegment {
  /** The section's name, e.g. ".text". */
  readonly name: string;
  /** Load address: p_vaddr = p_paddr = sh_addr. */
  readonly addr: bigint;
  /** The bytes stored in the file; omitted for a zero-filled (SHT_NOBITS) piece such as .bss. */
  readonly data?: Uint8Array;
  /** Size in memory, p_memsz (at least the data length; default the data length). */
  readonly memsz?: bigint;
  /** p_flags (ProgramFlag bits, e.g. PF_R | PF_X). */
  readonly flags: number;
  /** sh_flags (SectionFlag bits, e.g. SHF_ALLOC | SHF_EXECINSTR). */
  readonly sectionFlags: bigint;
}

/** A global symbol of an executable (st_info binding STB_GLOBAL). */
export interface ElfExecutableSymbol {
  /** The symbol's name (st_name, in .strtab). */
  readonly name: string;
  /** st_value: the address. */
  readonly value: bigint;
  /** st_size. */
  readonly size: bigint;
  /** st_info type (a SymbolType value, e.g. STT_FUNC or STT_OBJECT). */
  readonly type: number;
  /** The name of the segment (section) it lives in: st_shndx. */
  readonly section: string;
}

/** What writeElfExecutable writes: an ET_EXEC file with loadable segments and named sections. */
export interface ElfExecutableLayout {
  /** The class (default 32). */
  readonly elfClass?: 32 | 64;
  /** EI_DATA (default true: little-endian). */
  readonly littleEndian?: boolean;
  /** e_machine. */
  readonly machine: number;
  /** e_flags (default 0). */
  readonly flags?: number;
  /** e_entry: the boot address. */
  readonly entry: bigint;
  /** One PT_LOAD and one section per entry, in this order. */
  readonly segments: readonly ElfExecutableSegment[];
  /** Global symbols, written as .symtab + .strtab when there is at least one. */
  readonly symbols?: readonly ElfExecutableSymbol[];
}
