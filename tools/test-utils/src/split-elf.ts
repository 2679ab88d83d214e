// Splits an ELF image the way Qualcomm's tools lay out split firmware: `<base>.mdt` holds
// everything before the first segment's bytes (ELF header, program headers), `<base>.bNN` the
// file bytes of program header NN. Written from the ELF layout (elf(5)); test-only.

/** The files of a split image, by name (`<base>.mdt` first). */
export type SplitFiles = Map<string, Uint8Array>;

interface Layout {
  is64: boolean;
  le: boolean;
  v: DataView;
  /** File offset and size of every program header's bytes, with where its p_offset is stored. */
  phdrs: { index: number; offset: number; filesz: number; at: number }[];
  /** Where each section's sh_offset is stored, and its value. */
  shdrs: { offset: number; at: number }[];
  shoff: number;
}

function layout(b: Uint8Array): Layout {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const word = (o: number): number => (is64 ? Number(v.getBigUint64(o, le)) : v.getUint32(o, le));
  const phoff = word(is64 ? 32 : 28);
  const shoff = word(is64 ? 40 : 32);
  const phentsize = v.getUint16(is64 ? 54 : 42, le);
  const phnum = v.getUint16(is64 ? 56 : 44, le);
  const shentsize = v.getUint16(is64 ? 58 : 46, le);
  const shnum = shoff === 0 ? 0 : v.getUint16(is64 ? 60 : 48, le);
  const phdrs = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const at = p + (is64 ? 8 : 4);
    phdrs.push({ index: i, offset: word(at), filesz: word(p + (is64 ? 32 : 16)), at });
  }
  const shdrs = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize + (is64 ? 24 : 16);
    shdrs.push({ offset: word(at), at });
  }
  return { is64, le, v, phdrs, shdrs, shoff };
}

/**
 * Splits `elf` into `<base>.mdt` + `<base>.bNN` files. With `keepSections`, the image is first
 * laid out again so that everything after the segments (symbol tables, .shstrtab, the section
 * header table) sits before them, inside the .mdt: the split then keeps its section headers, and
 * with them its `.resource_table`. Without it the .mdt's e_shoff points past the last segment,
 * as with the usual tools.
 */
export function splitElf(elf: Uint8Array, base: string, options: { keepSections?: boolean } = {}): SplitFiles {
  let image = elf;
  if (options.keepSections === true) image = sectionsBeforeSegments(elf);
  const l = layout(image);
  const loads = l.phdrs.filter((p) => p.filesz > 0);
  const first = Math.min(...loads.map((p) => p.offset));
  const files: SplitFiles = new Map([[`${base}.mdt`, image.slice(0, first)]]);
  for (const p of loads)
    files.set(`${base}.b${String(p.index).padStart(2, "0")}`, image.slice(p.offset, p.offset + p.filesz));
  return files;
}

/** Moves the bytes after the last segment in front of the first one, fixing every offset. */
function sectionsBeforeSegments(elf: Uint8Array): Uint8Array {
  const l = layout(elf);
  const loads = l.phdrs.filter((p) => p.filesz > 0);
  const segStart = Math.min(...loads.map((p) => p.offset));
  const segEnd = Math.max(...loads.map((p) => p.offset + p.filesz));
  const tail = elf.subarray(segEnd);
  const newSegStart = Math.ceil((segStart + tail.length) / 256) * 256;
  const out = new Uint8Array(newSegStart + (segEnd - segStart));
  out.set(elf.subarray(0, segStart));
  out.set(tail, segStart);
  out.set(elf.subarray(segStart, segEnd), newSegStart);
  const v = new DataView(out.buffer);
  const moved = (off: number): number =>
    off < segStart ? off : off < segEnd ? off + (newSegStart - segStart) : off - segEnd + segStart;
  const put = (at: number, x: number): void => {
    if (l.is64) v.setBigUint64(at, BigInt(x), l.le);
    else v.setUint32(at, x, l.le);
  };
  // Header fields live in the copied head; section header fields in the moved tail.
  for (const p of l.phdrs) if (p.at < segStart) put(p.at, moved(p.offset));
  for (const s of l.shdrs) put(moved(s.at), moved(s.offset));
  put(l.is64 ? 40 : 32, moved(l.shoff));
  return out;
}
