// Writes ELF headers field by field from the offsets of layout.ts: the one header writer of the
// coredump writer and the executable writer, so each field is placed from one definition.
import { ElfClass, ElfData, ElfVersion } from "../constants.js";
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
  EI_CLASS,
  EI_DATA,
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
  ST_INFO,
  ST_NAME,
  ST_OTHER,
  ST_SHNDX,
  ST_SIZE,
  ST_VALUE,
  type ClassIndex,
} from "./layout.js";
import type { FieldWriter } from "./reader.js";

/** The file header fields a writer chooses; e_ident, e_version and the entry sizes follow. */
export interface EhdrFields {
  readonly type: number;
  readonly machine: number;
  readonly entry: bigint;
  /** e_phoff; written as 0 when phnum is 0. */
  readonly phoff: bigint;
  readonly shoff: bigint;
  readonly flags: number;
  readonly phnum: number;
  /** e_shnum; e_shentsize and e_shstrndx are 0 when it is 0. */
  readonly shnum: number;
  readonly shstrndx: number;
}

/** Program header fields; p_vaddr = p_paddr = addr, as firmware and Linux cores have them. */
export interface PhdrFields {
  readonly type: number;
  readonly flags: number;
  readonly offset: bigint;
  readonly addr: bigint;
  readonly filesz: bigint;
  readonly memsz: bigint;
  readonly align: bigint;
}

/** Section header fields (link, info and entsize default to 0). */
export interface ShdrFields {
  readonly name: number;
  readonly type: number;
  readonly flags: bigint;
  readonly addr: bigint;
  readonly offset: bigint;
  readonly size: bigint;
  readonly link?: number;
  readonly info?: number;
  readonly addralign: bigint;
  readonly entsize?: bigint;
}

/** Symbol fields (st_other 0). */
export interface SymFields {
  readonly name: number;
  readonly value: bigint;
  readonly size: bigint;
  readonly info: number;
  readonly shndx: number;
}

const classOf = (w: FieldWriter): ClassIndex => (w.is64 ? 1 : 0);

/** e_ident (magic, class, data, EV_CURRENT, ELFOSABI_NONE) and the file header at offset 0. */
export function writeEhdr(w: FieldWriter, f: EhdrFields): void {
  const c = classOf(w);
  ELF_MAGIC.forEach((b, i) => {
    w.u8(i, b);
  });
  w.u8(EI_CLASS, w.is64 ? ElfClass.ELFCLASS64 : ElfClass.ELFCLASS32);
  w.u8(EI_DATA, w.le ? ElfData.ELFDATA2LSB : ElfData.ELFDATA2MSB);
  w.u8(EI_VERSION, ElfVersion.EV_CURRENT);
  w.u16(E_TYPE, f.type);
  w.u16(E_MACHINE, f.machine);
  w.u32(E_VERSION, ElfVersion.EV_CURRENT);
  w.word(E_ENTRY, f.entry);
  w.word(E_PHOFF[c], f.phnum > 0 ? f.phoff : 0n);
  w.word(E_SHOFF[c], f.shoff);
  w.u32(E_FLAGS[c], f.flags >>> 0);
  w.u16(E_EHSIZE[c], EHDR_SIZE[c]);
  w.u16(E_PHENTSIZE[c], PHDR_SIZE[c]);
  w.u16(E_PHNUM[c], f.phnum);
  w.u16(E_SHENTSIZE[c], f.shnum > 0 ? SHDR_SIZE[c] : 0);
  w.u16(E_SHNUM[c], f.shnum);
  w.u16(E_SHSTRNDX[c], f.shnum > 0 ? f.shstrndx : 0);
}

/** One program header at offset `o`. */
export function writePhdr(w: FieldWriter, o: number, f: PhdrFields): void {
  const c = classOf(w);
  w.u32(o + P_TYPE, f.type);
  w.u32(o + P_FLAGS[c], f.flags);
  w.word(o + P_OFFSET[c], f.offset);
  w.word(o + P_VADDR[c], f.addr);
  w.word(o + P_PADDR[c], f.addr);
  w.word(o + P_FILESZ[c], f.filesz);
  w.word(o + P_MEMSZ[c], f.memsz);
  w.word(o + P_ALIGN[c], f.align);
}

/** One section header at offset `o`. */
export function writeShdr(w: FieldWriter, o: number, f: ShdrFields): void {
  const c = classOf(w);
  w.u32(o + SH_NAME, f.name);
  w.u32(o + SH_TYPE, f.type);
  w.word(o + SH_FLAGS, f.flags);
  w.word(o + SH_ADDR[c], f.addr);
  w.word(o + SH_OFFSET[c], f.offset);
  w.word(o + SH_SIZE[c], f.size);
  w.u32(o + SH_LINK[c], f.link ?? 0);
  w.u32(o + SH_INFO[c], f.info ?? 0);
  w.word(o + SH_ADDRALIGN[c], f.addralign);
  w.word(o + SH_ENTSIZE[c], f.entsize ?? 0n);
}

/** One symbol table entry at offset `o`. */
export function writeSym(w: FieldWriter, o: number, f: SymFields): void {
  const c = classOf(w);
  w.u32(o + ST_NAME, f.name);
  w.word(o + ST_VALUE[c], f.value);
  w.word(o + ST_SIZE[c], f.size);
  w.u8(o + ST_INFO[c], f.info);
  w.u8(o + ST_OTHER[c], 0);
  w.u16(o + ST_SHNDX[c], f.shndx);
}
