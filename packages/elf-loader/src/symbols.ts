// Symbol lookups: what tools and coredump readers want from a firmware image.
import { SectionIndex, SymbolBinding, SymbolType } from "./constants.js";
import type { ElfFile, ElfSymbol } from "./types.js";

/**
 * The first symbol named `name`, .symtab before .dynsym, global before local and defined
 * (st_shndx != SHN_UNDEF) before undefined. Undefined when there is none.
 * @example findSymbol(elf, "main")?.value; // 0x8000n
 */
export function findSymbol(elf: ElfFile, name: string): ElfSymbol | undefined {
  let best: ElfSymbol | undefined;
  let bestRank = -1;
  for (const s of elf.symbols) {
    // STT_SECTION and STT_FILE symbols name sections and source files, not addresses.
    if (s.name !== name || s.type === SymbolType.STT_SECTION || s.type === SymbolType.STT_FILE) continue;
    const rank = (s.shndx !== SectionIndex.SHN_UNDEF ? 2 : 0) + (s.bind !== SymbolBinding.STB_LOCAL ? 1 : 0);
    if (rank > bestRank) {
      best = s;
      bestRank = rank;
      if (rank === 3) break;
    }
  }
  return best;
}

/**
 * The address (st_value) of the defined symbol `name`, or undefined.
 * @example symbolAddress(elf, "resource_table"); // 0x20000000n
 */
export function symbolAddress(elf: ElfFile, name: string): bigint | undefined {
  const s = findSymbol(elf, name);
  return s === undefined || s.shndx === SectionIndex.SHN_UNDEF ? undefined : s.value;
}
