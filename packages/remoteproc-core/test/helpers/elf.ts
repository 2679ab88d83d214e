// A minimal ELF32 little-endian ET_EXEC writer for tests: PT_LOAD segments, a .resource_table
// section inside its own PT_LOAD, and .shstrtab. Written from the ELF spec (elf(5)).
export interface TestSegment {
  paddr: number;
  data: Uint8Array;
  memsz?: number;
}

export interface TestElf {
  entry?: number;
  machine?: number;
  segments: TestSegment[];
  resourceTable?: { addr: number; bytes: Uint8Array };
}

const EHDR = 52, PHDR = 32, SHDR = 40;

export function buildElf(spec: TestElf): Uint8Array {
  const segs = [...spec.segments];
  let rscIndex = -1;
  if (spec.resourceTable) {
    rscIndex = segs.length;
    segs.push({ paddr: spec.resourceTable.addr, data: spec.resourceTable.bytes });
  }
  const shstr = new Uint8Array([0, ...ascii(".resource_table"), 0, ...ascii(".shstrtab"), 0]);
  const phoff = EHDR;
  let off = phoff + PHDR * segs.length;
  const dataOffsets: number[] = [];
  for (const s of segs) {
    off = (off + 3) & ~3;
    dataOffsets.push(off);
    off += s.data.length;
  }
  off = (off + 3) & ~3;
  const shstrOff = off;
  off += shstr.length;
  off = (off + 3) & ~3;
  const shoff = off;
  const shnum = spec.resourceTable ? 3 : 2;
  const total = shoff + SHDR * shnum;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0], 0);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, spec.machine ?? 40, true); // EM_ARM
  v.setUint32(20, 1, true);
  v.setUint32(24, spec.entry ?? 0, true);
  v.setUint32(28, phoff, true);
  v.setUint32(32, shoff, true);
  v.setUint32(36, 0x05000000, true);
  v.setUint16(40, EHDR, true);
  v.setUint16(42, PHDR, true);
  v.setUint16(44, segs.length, true);
  v.setUint16(46, SHDR, true);
  v.setUint16(48, shnum, true);
  v.setUint16(50, shnum - 1, true);
  segs.forEach((s, i) => {
    const p = phoff + PHDR * i;
    v.setUint32(p, 1, true); // PT_LOAD
    v.setUint32(p + 4, dataOffsets[i]!, true);
    v.setUint32(p + 8, s.paddr, true);
    v.setUint32(p + 12, s.paddr, true);
    v.setUint32(p + 16, s.data.length, true);
    v.setUint32(p + 20, s.memsz ?? s.data.length, true);
    v.setUint32(p + 24, 7, true);
    v.setUint32(p + 28, 4, true);
    out.set(s.data, dataOffsets[i]);
  });
  out.set(shstr, shstrOff);
  let sh = shoff + SHDR; // [0] is the null section
  if (spec.resourceTable) {
    v.setUint32(sh, 1, true); // name ".resource_table"
    v.setUint32(sh + 4, 1, true); // SHT_PROGBITS
    v.setUint32(sh + 8, 3, true); // SHF_WRITE|SHF_ALLOC
    v.setUint32(sh + 12, spec.resourceTable.addr, true);
    v.setUint32(sh + 16, dataOffsets[rscIndex]!, true);
    v.setUint32(sh + 20, spec.resourceTable.bytes.length, true);
    v.setUint32(sh + 32, 4, true);
    sh += SHDR;
  }
  v.setUint32(sh, 17, true); // ".shstrtab"
  v.setUint32(sh + 4, 3, true); // SHT_STRTAB
  v.setUint32(sh + 16, shstrOff, true);
  v.setUint32(sh + 20, shstr.length, true);
  v.setUint32(sh + 32, 1, true);
  return out;
}

function ascii(s: string): number[] {
  return Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));
}
