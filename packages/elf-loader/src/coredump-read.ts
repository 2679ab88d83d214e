// Reading coredumps back: what regions and notes a core file holds (for `amp coredump <core>`), and
// the bytes at a device address. Accepts both Linux layouts (docs/wire-formats.md,
// "Firmware ELF and coredumps"): PT_LOAD segments (format 1) and SHT_PROGBITS sections with no
// program headers (format 2).
import { AmpError } from "./errors.js";
import { diag } from "./diagnostics.js";
import { ElfType, ProgramType, SectionType } from "./constants.js";
import { FieldReader, hex } from "./internal/reader.js";
import { decodeUtf8 } from "./internal/text.js";
import { parseElfInternal } from "./parse.js";
import type { CoredumpSegment, CoredumpSummary, ElfDiagnostic, ElfNote, ParseElfOptions } from "./types.js";

const DEFAULT_MAX_NOTES = 4096;

/**
 * Parses a run of ELF notes (the bytes of a PT_NOTE segment or SHT_NOTE section): each is
 * { namesz, descsz, type } then the name and the descriptor, each padded to `align` (4, or 8
 * for segments whose p_align is 8).
 * @throws {AmpError} ERR_TRUNCATED when a note runs past the end, ERR_LIMIT past `maxNotes`.
 * @example parseNotes(bytes, true).map((n) => `${n.name}/${n.type}`); // ["CORE/1"]
 */
export function parseNotes(
  bytes: Uint8Array,
  littleEndian: boolean,
  options: { readonly align?: 4 | 8; readonly maxNotes?: number } = {},
): ElfNote[] {
  const a = options.align ?? 4;
  const max = options.maxNotes ?? DEFAULT_MAX_NOTES;
  const r = new FieldReader(bytes, littleEndian, false);
  const out: ElfNote[] = [];
  let o = 0;
  const pad = (n: number): number => Math.ceil(n / a) * a;
  while (o < bytes.length) {
    if (bytes.length - o < 12)
      throw new AmpError("ERR_TRUNCATED", `note at ${o}: ${bytes.length - o} bytes left, a note header needs 12`, {
        offset: o,
      });
    if (out.length >= max) throw new AmpError("ERR_LIMIT", `more than ${max} notes`, { offset: o });
    const namesz = r.u32(o);
    const descsz = r.u32(o + 4);
    const type = r.u32(o + 8);
    const nameStart = o + 12;
    const descStart = nameStart + pad(namesz);
    const next = descStart + pad(descsz);
    if (pad(namesz) > bytes.length - nameStart || pad(descsz) > bytes.length - descStart) {
      // The last note may omit the padding of its descriptor.
      if (!(descStart <= bytes.length && descsz <= bytes.length - descStart)) {
        throw new AmpError(
          "ERR_TRUNCATED",
          `note at ${o}: namesz ${namesz} / descsz ${descsz} run past the end (${bytes.length} bytes)`,
          { offset: o },
        );
      }
    }
    let nameEnd = nameStart + namesz;
    while (nameEnd > nameStart && bytes[nameEnd - 1] === 0) nameEnd--;
    out.push({
      name: decodeUtf8(bytes, nameStart, nameEnd),
      type,
      desc: bytes.subarray(descStart, descStart + descsz),
    });
    o = Math.min(next, bytes.length);
  }
  return out;
}

/**
 * What a coredump holds: class, machine, entry, the dumped regions (with names when the core
 * has section headers) and the notes. Problems that still leave the core readable (a region
 * whose bytes are cut short, unreadable notes) are in `diagnostics`; so is an e_type other than
 * ET_CORE (NOT_A_CORE): the file is then read as a core anyway, check `type` before trusting it.
 * @throws {AmpError} as parseElf when the file is not a readable ELF.
 * @example
 * const core = readCoredump(bytes);
 * core.regions.map((r) => [r.da, r.size]); // [[0x20000000n, 0x10000n]]
 */
export function readCoredump(bytes: Uint8Array, options: ParseElfOptions = {}): CoredumpSummary {
  const elf = parseElfInternal(bytes, { ...options, symbols: false });
  const h = elf.header;
  const diagnostics: ElfDiagnostic[] = [...elf.diagnostics];
  if (h.type !== ElfType.ET_CORE)
    diagnostics.push(
      diag("NOT_A_CORE", "warning", 16, `e_type is ${h.type}, not ET_CORE (4): this is not a core file`),
    );
  const size = BigInt(bytes.length);
  const notes: ElfNote[] = [];
  const regions: CoredumpSegment[] = [];
  // The first named PROGBITS section at each (address, file offset): one pass, so a core with
  // thousands of segments and sections stays linear.
  const named = new Map<string, string>();
  for (const s of elf.sections) {
    const key = `${s.addr.toString(16)}/${s.offset.toString(16)}`;
    if (s.type === SectionType.SHT_PROGBITS && s.name !== "" && !named.has(key)) named.set(key, s.name);
  }
  const nameAt = (da: bigint, off: bigint): string | undefined => named.get(`${da.toString(16)}/${off.toString(16)}`);
  const readNotes = (offset: bigint, length: bigint, align: bigint, where: number): void => {
    if (offset + length > size) {
      diagnostics.push(
        diag(
          "SEGMENT_PAST_EOF",
          "error",
          where,
          `notes [${hex(offset)}, ${hex(offset + length)}) are past the end of the core (${size} bytes)`,
        ),
      );
      return;
    }
    try {
      notes.push(
        ...parseNotes(bytes.subarray(Number(offset), Number(offset + length)), h.littleEndian, {
          align: align === 8n ? 8 : 4,
        }),
      );
    } catch (e) {
      if (!(e instanceof AmpError)) throw e;
      diagnostics.push(diag("SEGMENT_PAST_EOF", "error", where, `notes: ${e.message}`));
    }
  };
  const format = elf.programHeaders.length === 0 && elf.sections.length > 0 ? "sections" : "segments";
  if (format === "segments") {
    for (const p of elf.programHeaders) {
      if (p.type === ProgramType.PT_NOTE) readNotes(p.offset, p.filesz, p.align, p.headerOffset);
      if (p.type !== ProgramType.PT_LOAD) continue;
      if (p.offset + p.filesz > size)
        diagnostics.push(
          diag(
            "SEGMENT_PAST_EOF",
            "error",
            p.headerOffset,
            `region ${p.index} at ${hex(p.paddr)}: bytes [${hex(p.offset)}, ${hex(p.offset + p.filesz)}) are past the end of the core (${size} bytes): truncated dump`,
          ),
        );
      regions.push({
        index: p.index,
        da: p.paddr,
        vaddr: p.vaddr,
        size: p.memsz,
        fileOffset: p.offset,
        fileSize: p.filesz,
        flags: p.flags,
        name: nameAt(p.paddr, p.offset),
      });
    }
  } else {
    for (const s of elf.sections) {
      if (s.type === SectionType.SHT_NOTE) readNotes(s.offset, s.size, s.addralign, s.headerOffset);
      if (s.type !== SectionType.SHT_PROGBITS) continue;
      if (s.offset + s.size > size)
        diagnostics.push(
          diag(
            "SECTION_PAST_EOF",
            "error",
            s.headerOffset,
            `region ${s.index} (${s.name}): bytes past the end of the core: truncated dump`,
          ),
        );
      regions.push({
        index: s.index,
        da: s.addr,
        vaddr: s.addr,
        size: s.size,
        fileOffset: s.offset,
        fileSize: s.size,
        flags: 0,
        name: s.name,
      });
    }
  }
  return {
    elfClass: h.elfClass,
    littleEndian: h.littleEndian,
    type: h.type,
    machine: h.machine,
    entry: h.entry,
    format,
    regions,
    notes,
    diagnostics,
  };
}

/**
 * The dumped bytes at [da, da + length) (a view into `core`), or undefined when no single
 * region holds all of them in the file.
 * @throws {RangeError} for a negative or non-integer length.
 */
export function readCoredumpMemory(
  core: Uint8Array,
  summary: CoredumpSummary,
  da: bigint,
  length: number,
): Uint8Array | undefined {
  if (!Number.isSafeInteger(length) || length < 0)
    throw new RangeError(`length must be a non-negative integer, got ${length}`);
  const n = BigInt(length);
  for (const r of summary.regions) {
    if (da < r.da || da + n > r.da + r.fileSize) continue;
    const start = r.fileOffset + (da - r.da);
    if (start + n > BigInt(core.length)) continue;
    return core.subarray(Number(start), Number(start + n));
  }
  return undefined;
}
