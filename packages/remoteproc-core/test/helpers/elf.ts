// A minimal ET_EXEC writer for tests: PT_LOAD segments, a .resource_table section inside its own
// PT_LOAD, and .shstrtab. ELF32 little-endian by default; ELF64 (addresses above 4 GiB) and
// big-endian on request. Written from the ELF spec (elf(5)).
export interface TestSegment {
  paddr: number | bigint;
  data: Uint8Array;
  memsz?: number;
}

export interface TestElf {
  /** 32 (default) or 64. */
  elfClass?: 32 | 64;
  /** Little-endian (default true). */
  le?: boolean;
  entry?: number | bigint;
  machine?: number;
  segments: TestSegment[];
  resourceTable?: { addr: number | bigint; bytes: Uint8Array };
  /**
   * Put .shstrtab and the section header table right after the program headers, before the
   * segments: split into .mdt (everything before the first segment) + .bNN files, such an image
   * keeps its section headers, hence its resource table.
   */
  sectionsFirst?: boolean;
}

/** sizeof Ehdr, Phdr, Shdr for [ELF32, ELF64]. */
const EHDR = [52, 64] as const;
const PHDR = [32, 56] as const;
const SHDR = [40, 64] as const;

export function buildElf(spec: TestElf): Uint8Array {
  const is64 = spec.elfClass === 64;
  const c = is64 ? 1 : 0;
  const le = spec.le ?? true;
  const segs = [...spec.segments];
  let rscIndex = -1;
  if (spec.resourceTable) {
    rscIndex = segs.length;
    segs.push({ paddr: spec.resourceTable.addr, data: spec.resourceTable.bytes });
  }
  const shstr = new Uint8Array([0, ...ascii(".resource_table"), 0, ...ascii(".shstrtab"), 0]);
  const phoff = EHDR[c];
  const shnum = spec.resourceTable ? 3 : 2;
  let off = phoff + PHDR[c] * segs.length;
  let shstrOff = 0;
  let shoff = 0;
  const placeSections = (): void => {
    off = (off + 7) & ~7;
    shstrOff = off;
    off += shstr.length;
    off = (off + 7) & ~7;
    shoff = off;
    off += SHDR[c] * shnum;
  };
  if (spec.sectionsFirst === true) {
    placeSections();
    off = (off + 0xff) & ~0xff;
  }
  const dataOffsets: number[] = [];
  for (const s of segs) {
    off = (off + 7) & ~7;
    dataOffsets.push(off);
    off += s.data.length;
  }
  if (spec.sectionsFirst !== true) placeSections();
  const out = new Uint8Array(off);
  const v = new DataView(out.buffer);
  const u16 = (o: number, x: number): void => {
    v.setUint16(o, x, le);
  };
  const u32 = (o: number, x: number): void => {
    v.setUint32(o, x, le);
  };
  // An address/offset/size: Elf32_Addr or Elf64_Addr.
  const word = (o: number, x: number | bigint): void => {
    if (is64) v.setBigUint64(o, BigInt(x), le);
    else v.setUint32(o, Number(x), le);
  };
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0], 0);
  u16(16, 2); // ET_EXEC
  u16(18, spec.machine ?? (is64 ? 183 : 40)); // EM_AARCH64 / EM_ARM
  u32(20, 1);
  word(24, spec.entry ?? 0);
  word(is64 ? 32 : 28, phoff);
  word(is64 ? 40 : 32, shoff);
  u32(is64 ? 48 : 36, is64 ? 0 : 0x05000000);
  u16(is64 ? 52 : 40, EHDR[c]);
  u16(is64 ? 54 : 42, PHDR[c]);
  u16(is64 ? 56 : 44, segs.length);
  u16(is64 ? 58 : 46, SHDR[c]);
  u16(is64 ? 60 : 48, shnum);
  u16(is64 ? 62 : 50, shnum - 1);
  segs.forEach((s, i) => {
    const p = phoff + PHDR[c] * i;
    const fileOff = dataOffsets[i] ?? 0;
    u32(p, 1); // PT_LOAD
    if (is64) {
      u32(p + 4, 7); // p_flags RWX
      word(p + 8, fileOff);
      word(p + 16, s.paddr);
      word(p + 24, s.paddr);
      word(p + 32, s.data.length);
      word(p + 40, s.memsz ?? s.data.length);
      word(p + 48, 8);
    } else {
      word(p + 4, fileOff);
      word(p + 8, s.paddr);
      word(p + 12, s.paddr);
      word(p + 16, s.data.length);
      word(p + 20, s.memsz ?? s.data.length);
      u32(p + 24, 7);
      word(p + 28, 4);
    }
    out.set(s.data, fileOff);
  });
  out.set(shstr, shstrOff);
  // Section header fields: sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, ..., sh_addralign.
  const section = (
    sh: number,
    name: number,
    type: number,
    flags: number,
    addr: number | bigint,
    offset: number,
    size: number,
    addralign: number,
  ): void => {
    u32(sh, name);
    u32(sh + 4, type);
    if (is64) {
      word(sh + 8, flags);
      word(sh + 16, addr);
      word(sh + 24, offset);
      word(sh + 32, size);
      word(sh + 48, addralign);
    } else {
      word(sh + 8, flags);
      word(sh + 12, addr);
      word(sh + 16, offset);
      word(sh + 20, size);
      word(sh + 32, addralign);
    }
  };
  let sh = shoff + SHDR[c]; // [0] is the null section
  if (spec.resourceTable) {
    section(sh, 1, 1, 3, spec.resourceTable.addr, dataOffsets[rscIndex] ?? 0, spec.resourceTable.bytes.length, 4); // ".resource_table", PROGBITS, WA
    sh += SHDR[c];
  }
  section(sh, 17, 3, 0, 0, shstrOff, shstr.length, 1); // ".shstrtab", STRTAB
  return out;
}

function ascii(s: string): number[] {
  return Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));
}
