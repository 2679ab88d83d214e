// A tiny ELF writer for tests: builds ELF32/ELF64, LE/BE images with chosen program headers,
// sections and symbols, so unit tests can produce exactly the file they need. Written from the
// layouts of docs/wire-formats.md, "Firmware ELF and coredumps"; the conformance tests check the
// parser against real toolchains.

export interface BuildSegment {
  type?: number;
  flags?: number;
  paddr: bigint;
  vaddr?: bigint;
  data?: Uint8Array;
  memsz?: bigint;
  align?: bigint;
  /** Override p_offset / p_filesz (for hostile images). */
  offset?: bigint;
  filesz?: bigint;
}

export interface BuildSection {
  name: string;
  type: number;
  flags?: bigint;
  addr?: bigint;
  data?: Uint8Array;
  /** Place the section inside segment `segment` at `segmentOffset` instead of giving data. */
  segment?: number;
  segmentOffset?: number;
  size?: bigint;
  link?: number;
  info?: number;
  entsize?: bigint;
  addralign?: bigint;
}

export interface BuildSymbol {
  name: string;
  value: bigint;
  size?: bigint;
  info?: number;
  shndx?: number;
}

export interface BuildOptions {
  elfClass: 32 | 64;
  le?: boolean;
  type?: number;
  machine?: number;
  entry?: bigint;
  segments?: BuildSegment[];
  sections?: BuildSection[];
  /** Write no section headers at all. */
  noSections?: boolean;
  symbols?: BuildSymbol[];
}

class Out {
  bytes = new Uint8Array(1 << 16);
  len = 0;
  reserve(n: number, align = 1): number {
    this.len = Math.ceil(this.len / align) * align;
    const at = this.len;
    this.len += n;
    if (this.len > this.bytes.length) {
      const b = new Uint8Array(Math.max(this.len, this.bytes.length * 2));
      b.set(this.bytes);
      this.bytes = b;
    }
    return at;
  }
  put(data: Uint8Array, align = 1): number {
    const at = this.reserve(data.length, align);
    this.bytes.set(data, at);
    return at;
  }
}

function cstrings(names: string[]): { table: Uint8Array; offsets: number[] } {
  const offsets: number[] = [];
  const parts: number[] = [0];
  for (const n of names) {
    if (n === "") {
      offsets.push(0);
      continue;
    }
    offsets.push(parts.length);
    for (const ch of n) parts.push(ch.charCodeAt(0));
    parts.push(0);
  }
  return { table: Uint8Array.from(parts), offsets };
}

export function buildElf(o: BuildOptions): Uint8Array {
  const is64 = o.elfClass === 64;
  const le = o.le ?? true;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const segs = o.segments ?? [];
  const out = new Out();
  out.reserve(ehsize);
  const phoff = segs.length > 0 ? out.reserve(segs.length * phentsize) : 0;
  const segOffsets = segs.map((s) => (s.data === undefined ? out.len : out.put(s.data, 4)));

  // Sections: null, user sections, [.symtab, .strtab], .shstrtab.
  const user = o.sections ?? [];
  const all: (BuildSection & { off: bigint; sz: bigint })[] = [];
  all.push({ name: "", type: 0, off: 0n, sz: 0n });
  for (const s of user) {
    let off: bigint;
    let sz: bigint;
    if (s.segment !== undefined) {
      off = BigInt((segOffsets[s.segment] ?? 0) + (s.segmentOffset ?? 0));
      sz = s.size ?? 0n;
    } else if (s.data !== undefined) {
      off = BigInt(out.put(s.data, 4));
      sz = s.size ?? BigInt(s.data.length);
    } else {
      off = BigInt(out.len);
      sz = s.size ?? 0n;
    }
    all.push({ ...s, off, sz });
  }
  if (o.symbols !== undefined) {
    const { table, offsets } = cstrings(o.symbols.map((s) => s.name));
    const symsize = is64 ? 24 : 16;
    const symtab = new Uint8Array((o.symbols.length + 1) * symsize);
    const v = new DataView(symtab.buffer);
    o.symbols.forEach((s, i) => {
      const b = (i + 1) * symsize;
      v.setUint32(b, offsets[i] ?? 0, le);
      const info = s.info ?? 0x12; // GLOBAL FUNC
      const shndx = s.shndx ?? 1;
      if (is64) {
        v.setUint8(b + 4, info);
        v.setUint16(b + 6, shndx, le);
        v.setBigUint64(b + 8, s.value, le);
        v.setBigUint64(b + 16, s.size ?? 0n, le);
      } else {
        v.setUint32(b + 4, Number(s.value), le);
        v.setUint32(b + 8, Number(s.size ?? 0n), le);
        v.setUint8(b + 12, info);
        v.setUint16(b + 14, shndx, le);
      }
    });
    const strIndex = all.length + 1;
    all.push({
      name: ".symtab",
      type: 2,
      data: symtab,
      off: BigInt(out.put(symtab, 8)),
      sz: BigInt(symtab.length),
      link: strIndex,
      entsize: BigInt(symsize),
      info: 1,
    });
    all.push({ name: ".strtab", type: 3, off: BigInt(out.put(table)), sz: BigInt(table.length) });
  }
  const names = cstrings([...all.map((s) => s.name), ".shstrtab"]);
  all.push({ name: ".shstrtab", type: 3, off: BigInt(out.put(names.table)), sz: BigInt(names.table.length) });
  const shoff = o.noSections === true ? 0 : out.reserve(all.length * shentsize, 8);

  const b = out.bytes;
  const v = new DataView(b.buffer);
  const word = (at: number, x: bigint): void => {
    if (is64) v.setBigUint64(at, x, le);
    else v.setUint32(at, Number(x), le);
  };
  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0]);
  v.setUint16(16, o.type ?? 2, le);
  v.setUint16(18, o.machine ?? 40, le);
  v.setUint32(20, 1, le);
  word(24, o.entry ?? 0n);
  word(is64 ? 32 : 28, BigInt(phoff));
  word(is64 ? 40 : 32, BigInt(shoff));
  v.setUint16(is64 ? 52 : 40, ehsize, le);
  v.setUint16(is64 ? 54 : 42, phentsize, le);
  v.setUint16(is64 ? 56 : 44, segs.length, le);
  v.setUint16(is64 ? 58 : 46, shentsize, le);
  v.setUint16(is64 ? 60 : 48, o.noSections === true ? 0 : all.length, le);
  v.setUint16(is64 ? 62 : 50, o.noSections === true ? 0 : all.length - 1, le);

  segs.forEach((s, i) => {
    const p = phoff + i * phentsize;
    const filesz = s.filesz ?? BigInt(s.data?.length ?? 0);
    const offset = s.offset ?? BigInt(segOffsets[i] ?? 0);
    const memsz = s.memsz ?? filesz;
    v.setUint32(p, s.type ?? 1, le);
    if (is64) {
      v.setUint32(p + 4, s.flags ?? 7, le);
      word(p + 8, offset);
      word(p + 16, s.vaddr ?? s.paddr);
      word(p + 24, s.paddr);
      word(p + 32, filesz);
      word(p + 40, memsz);
      word(p + 48, s.align ?? 4n);
    } else {
      word(p + 4, offset);
      word(p + 8, s.vaddr ?? s.paddr);
      word(p + 12, s.paddr);
      word(p + 16, filesz);
      word(p + 20, memsz);
      v.setUint32(p + 24, s.flags ?? 7, le);
      word(p + 28, s.align ?? 4n);
    }
  });
  if (o.noSections !== true) {
    all.forEach((s, i) => {
      const p = shoff + i * shentsize;
      v.setUint32(p, names.offsets[i] ?? 0, le);
      v.setUint32(p + 4, s.type, le);
      if (is64) {
        word(p + 8, s.flags ?? 0n);
        word(p + 16, s.addr ?? 0n);
        word(p + 24, s.off);
        word(p + 32, s.sz);
        v.setUint32(p + 40, s.link ?? 0, le);
        v.setUint32(p + 44, s.info ?? 0, le);
        word(p + 48, s.addralign ?? 1n);
        word(p + 56, s.entsize ?? 0n);
      } else {
        word(p + 8, s.flags ?? 0n);
        word(p + 12, s.addr ?? 0n);
        word(p + 16, s.off);
        word(p + 20, s.sz);
        v.setUint32(p + 24, s.link ?? 0, le);
        v.setUint32(p + 28, s.info ?? 0, le);
        word(p + 32, s.addralign ?? 1n);
        word(p + 36, s.entsize ?? 0n);
      }
    });
  }
  return b.slice(0, out.len);
}

/** A sink over a flat memory image at base `base`, recording every call. */
export function memorySink(
  base: bigint,
  size: number,
): {
  mem: Uint8Array;
  calls: string[];
  sink: {
    accepts(pa: bigint, n: bigint): boolean;
    write(pa: bigint, b: Uint8Array): void;
    fill(pa: bigint, n: bigint, v: number): void;
  };
} {
  const mem = new Uint8Array(size).fill(0xaa);
  const calls: string[] = [];
  const inRange = (pa: bigint, n: bigint): boolean => pa >= base && pa + n <= base + BigInt(size);
  return {
    mem,
    calls,
    sink: {
      accepts: (pa, n) => inRange(pa, n),
      write(pa, b) {
        if (!inRange(pa, BigInt(b.length))) throw new RangeError(`write outside memory at 0x${pa.toString(16)}`);
        calls.push(`write 0x${pa.toString(16)} ${b.length}`);
        mem.set(b, Number(pa - base));
      },
      fill(pa, n, val) {
        if (!inRange(pa, n)) throw new RangeError(`fill outside memory at 0x${pa.toString(16)}`);
        calls.push(`fill 0x${pa.toString(16)} ${n} ${val}`);
        mem.fill(val, Number(pa - base), Number(pa - base + n));
      },
    },
  };
}

export function bytesOf(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}
