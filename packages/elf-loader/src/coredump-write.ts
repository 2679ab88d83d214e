// Coredump writer: an ELF ET_CORE file in Linux remoteproc's layout (remoteproc_coredump.c,
// docs/wire-formats.md, "Firmware ELF and coredumps", the first layout): header, program headers,
// then the dumped bytes back to back. Extras that Linux does not write but debuggers read: a
// PT_NOTE (e.g. registers) placed before the loads, and optionally section headers that name the
// regions. Written incrementally: only the headers and one chunk of region data are in memory at a
// time.
import { alignUp } from "./amp-error.js";
import { ElfType, ProgramFlag, ProgramType, SectionFlag, SectionType } from "./constants.js";
import { FieldWriter, U32_LIMIT, U64_LIMIT } from "./internal/reader.js";
import { encodeUtf8 } from "./internal/text.js";
import { writeEhdr, writePhdr, writeShdr } from "./internal/header-write.js";
import { EHDR_SIZE, PHDR_SIZE, SHDR_SIZE } from "./internal/layout.js";
import type { CoredumpLayout, CoredumpMemoryReader, CoredumpRegion, CoredumpWriteOptions, ElfNote } from "./types.js";

const DEFAULT_CHUNK = 65536;
/** p_flags Linux gives every dumped segment. */
const PF_RWX = ProgramFlag.PF_R | ProgramFlag.PF_W | ProgramFlag.PF_X;
/** Notes are 4-byte aligned in core files of both classes (as Linux's own ELF core dumps). */
const NOTE_ALIGN = 4;

/** Encodes notes as Elf_Nhdr { namesz, descsz, type } + name + NUL + desc, each 4-aligned. */
function encodeNotes(notes: readonly ElfNote[], le: boolean): Uint8Array {
  const parts = notes.map((n) => ({ name: encodeUtf8(n.name), n }));
  const total = parts.reduce(
    (s, p) => s + 12 + alignUp(p.name.length + 1, NOTE_ALIGN) + alignUp(p.n.desc.length, NOTE_ALIGN),
    0,
  );
  const out = new Uint8Array(total);
  const w = new FieldWriter(out, le, false);
  let o = 0;
  for (const { name, n } of parts) {
    w.u32(o, name.length + 1);
    w.u32(o + 4, n.desc.length);
    w.u32(o + 8, n.type);
    out.set(name, o + 12);
    o += 12 + alignUp(name.length + 1, NOTE_ALIGN);
    out.set(n.desc, o);
    o += alignUp(n.desc.length, NOTE_ALIGN);
  }
  return out;
}

interface Plan {
  readonly head: Uint8Array;
  readonly tail: Uint8Array;
  readonly total: bigint;
}

function checkLayout(layout: CoredumpLayout): void {
  const cls: number = layout.elfClass;
  if (cls !== 32 && cls !== 64) throw new RangeError(`elfClass must be 32 or 64, got ${String(layout.elfClass)}`);
  if (!Number.isInteger(layout.machine) || layout.machine < 0 || layout.machine > 0xffff)
    throw new RangeError(`machine must be a 16-bit integer, got ${layout.machine}`);
  const regions: unknown = layout.regions;
  if (!Array.isArray(regions)) throw new TypeError("regions must be an array");
  const limit = layout.elfClass === 32 ? U32_LIMIT : U64_LIMIT;
  for (const [i, r] of layout.regions.entries()) {
    if (typeof r.da !== "bigint" || typeof r.size !== "bigint")
      throw new TypeError(`region ${i}: da and size must be bigints`);
    if (r.da < 0n || r.size < 0n || r.da + r.size > limit)
      throw new RangeError(`region ${i}: [${r.da}, +${r.size}) does not fit ELF${layout.elfClass} addresses`);
    if (r.flags !== undefined && (!Number.isInteger(r.flags) || r.flags < 0 || r.flags > 0xffffffff))
      throw new RangeError(`region ${i}: flags must be a 32-bit integer`);
  }
  const entry = layout.entry ?? 0n;
  if (entry < 0n || entry >= limit) throw new RangeError(`entry ${entry} does not fit ELF${layout.elfClass}`);
  for (const n of layout.notes ?? []) {
    if (
      !(n.desc instanceof Uint8Array) ||
      typeof n.name !== "string" ||
      !Number.isInteger(n.type) ||
      n.type < 0 ||
      n.type > 0xffffffff
    )
      throw new TypeError("notes must be { name: string, type: u32, desc: Uint8Array }");
  }
}

/** Computes the whole file layout: the header block, the trailing section table, the size. */
function plan(layout: CoredumpLayout): Plan {
  checkLayout(layout);
  const is64 = layout.elfClass === 64;
  const c = is64 ? 1 : 0;
  const le = layout.littleEndian ?? true;
  const notes = layout.notes ?? [];
  const noteBytes = notes.length > 0 ? encodeNotes(notes, le) : new Uint8Array(0);
  const phnum = (notes.length > 0 ? 1 : 0) + layout.regions.length;
  if (phnum >= 0xffff) throw new RangeError(`${phnum} program headers is more than an ELF header can count (65534)`);
  const phoff = EHDR_SIZE[c];
  const noteOff = phoff + phnum * PHDR_SIZE[c];
  const dataStart = noteOff + noteBytes.length;
  const offsets: bigint[] = [];
  let end = BigInt(dataStart);
  for (const r of layout.regions) {
    offsets.push(end);
    end += r.size;
  }

  // Optional section headers: [0] null, one SHT_PROGBITS per region, then .shstrtab.
  let tail = new Uint8Array(0);
  let shoff = 0n;
  let shnum = 0;
  if (layout.sectionHeaders === true) {
    const names = layout.regions.map((r, i) => encodeUtf8(r.name ?? `load${i}`));
    const shstrtabName = encodeUtf8(".shstrtab");
    const strSize = 1 + names.reduce((s, n) => s + n.length + 1, 0) + shstrtabName.length + 1;
    shnum = layout.regions.length + 2;
    if (shnum >= 0xff00) throw new RangeError(`${shnum} sections is more than an ELF header can count`);
    const strOff = end;
    const pad = Number((8n - ((strOff + BigInt(strSize)) % 8n)) % 8n);
    shoff = strOff + BigInt(strSize + pad);
    tail = new Uint8Array(strSize + pad + shnum * SHDR_SIZE[c]);
    const w = new FieldWriter(tail, le, is64);
    let so = 1;
    const shdr = (
      i: number,
      name: number,
      type: number,
      flags: bigint,
      addr: bigint,
      offset: bigint,
      size: bigint,
      addralign: bigint,
    ): void => {
      writeShdr(w, strSize + pad + i * SHDR_SIZE[c], { name, type, flags, addr, offset, size, addralign });
    };
    layout.regions.forEach((r, i) => {
      const name = names[i] ?? new Uint8Array(0);
      tail.set(name, so);
      shdr(
        i + 1,
        so,
        SectionType.SHT_PROGBITS,
        SectionFlag.SHF_WRITE | SectionFlag.SHF_ALLOC,
        r.da,
        offsets[i] ?? 0n,
        r.size,
        1n,
      );
      so += name.length + 1;
    });
    tail.set(shstrtabName, so);
    shdr(shnum - 1, so, SectionType.SHT_STRTAB, 0n, 0n, strOff, BigInt(strSize), 1n);
    end = shoff + BigInt(shnum * SHDR_SIZE[c]);
  }
  if (!is64 && end > U32_LIMIT) throw new RangeError(`an ELF32 core cannot hold ${end} bytes (offsets are 32-bit)`);

  const head = new Uint8Array(dataStart);
  const w = new FieldWriter(head, le, is64);
  writeEhdr(w, {
    type: ElfType.ET_CORE,
    machine: layout.machine,
    entry: layout.entry ?? 0n,
    phoff: BigInt(phoff),
    shoff,
    flags: 0,
    phnum,
    shnum,
    shstrndx: shnum - 1,
  });
  let ph = phoff;
  const phdr = (
    type: number,
    flags: number,
    offset: bigint,
    addr: bigint,
    filesz: bigint,
    memsz: bigint,
    align: bigint,
  ): void => {
    writePhdr(w, ph, { type, flags, offset, addr, filesz, memsz, align });
    ph += PHDR_SIZE[c];
  };
  if (notes.length > 0) {
    phdr(ProgramType.PT_NOTE, 0, BigInt(noteOff), 0n, BigInt(noteBytes.length), 0n, BigInt(NOTE_ALIGN));
    head.set(noteBytes, noteOff);
  }
  layout.regions.forEach((r, i) => {
    phdr(ProgramType.PT_LOAD, r.flags ?? PF_RWX, offsets[i] ?? 0n, r.da, r.size, r.size, 0n);
  });
  return { head, tail, total: end };
}

/**
 * The size in bytes of the coredump `layout` describes.
 * @throws {RangeError} / {TypeError} for a bad layout (see coredumpChunks).
 */
export function coredumpSize(layout: CoredumpLayout): bigint {
  return plan(layout).total;
}

function chunkSizeOf(options: CoredumpWriteOptions): number {
  const n = options.chunkSize ?? DEFAULT_CHUNK;
  if (!Number.isSafeInteger(n) || n < 1 || n > 1 << 30)
    throw new RangeError(`chunkSize must be an integer in 1..2^30, got ${n}`);
  return n;
}

/**
 * Produces a coredump as a sequence of chunks: the header block (ELF header, program headers,
 * notes), then each region's bytes read through `read` in chunks of at most `chunkSize`
 * bytes, then the optional section table. Nothing else is buffered, so a large carveout is
 * never copied whole. Each yielded chunk is a fresh buffer the consumer may keep.
 * Consume synchronously (`for...of`) or with async writes between steps (`for (const c of
 * coredumpChunks(...)) await file.write(c)`).
 *
 * Layout (Linux's): e_type ET_CORE, class/machine as given, e_entry = entry, one PT_LOAD per
 * region in order with p_vaddr = p_paddr = da, p_filesz = p_memsz = size, p_flags RWX, p_align 0;
 * data back to back after the headers. A chunk `read` reports unreadable (false) is 0xFF-filled.
 *
 * @throws {RangeError} for a class other than 32/64, regions that do not fit the class,
 *   65535 or more program headers; {TypeError} for non-bigint addresses or bad notes.
 * @see docs/wire-formats.md, "Firmware ELF and coredumps"
 */
export function* coredumpChunks(
  layout: CoredumpLayout,
  read: CoredumpMemoryReader,
  options: CoredumpWriteOptions = {},
): Generator<Uint8Array, void, undefined> {
  if (typeof read !== "function") throw new TypeError("read must be a function");
  const chunk = chunkSizeOf(options);
  const p = plan(layout);
  yield p.head;
  for (const [i, region] of layout.regions.entries()) {
    yield* regionChunks(region, i, read, chunk);
  }
  if (p.tail.length > 0) yield p.tail;
}

function* regionChunks(
  region: CoredumpRegion,
  index: number,
  read: CoredumpMemoryReader,
  chunk: number,
): Generator<Uint8Array, void, undefined> {
  for (let off = 0n; off < region.size;) {
    const left = region.size - off;
    const n = left < BigInt(chunk) ? Number(left) : chunk;
    const out = new Uint8Array(n);
    if (read(region, index, off, out) === false) out.fill(0xff);
    yield out;
    off += BigInt(n);
  }
}

/**
 * Writes a coredump to `write` chunk by chunk (see coredumpChunks) and returns the number of
 * bytes written.
 * @example
 * const fd = fs.openSync("remote.core", "w");
 * writeCoredump({ elfClass: 32, machine: ElfMachine.EM_ARM, regions: [{ da: 0x20000000n, size: 0x10000n }] },
 *   (r, _i, off, out) => { out.set(mem.subarray(Number(off), Number(off) + out.length)); return true; },
 *   (chunk) => fs.writeSync(fd, chunk));
 */
export function writeCoredump(
  layout: CoredumpLayout,
  read: CoredumpMemoryReader,
  write: (chunk: Uint8Array) => void,
  options: CoredumpWriteOptions = {},
): bigint {
  if (typeof write !== "function") throw new TypeError("write must be a function");
  let total = 0n;
  for (const c of coredumpChunks(layout, read, options)) {
    write(c);
    total += BigInt(c.length);
  }
  return total;
}
