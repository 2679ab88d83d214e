// Qualcomm split firmware: a `.mdt` file holding the ELF header and program headers, and one
// `.bNN` file per segment, NN being the program header index (docs/wire-formats.md, "Firmware ELF and coredumps",
// drivers/soc/qcom/mdt_loader.c). Companion files come from a caller-supplied reader.
import { AmpError } from "./errors.js";
import { ProgramType, QCOM_MDT_RELOCATABLE, QCOM_MDT_TYPE_HASH, QCOM_MDT_TYPE_MASK } from "./constants.js";
import { hex } from "./internal/reader.js";
import { parseElfInternal } from "./parse.js";
import { askSink, callSink, checkSink, zeroFill } from "./load.js";
import type {
  ElfHeader,
  ElfProgramHeader,
  FirmwareReader,
  LoadedSegment,
  LoadResult,
  LoadSink,
  MdtInfo,
  MdtLoadOptions,
  ParseElfOptions,
} from "./types.js";

const PAGE = 4096n;
const DEFAULT_MAX_IMAGE = 256 * 1024 * 1024;

function isHash(p: ElfProgramHeader): boolean {
  return (p.flags & QCOM_MDT_TYPE_MASK) === QCOM_MDT_TYPE_HASH;
}

/**
 * Parses a `.mdt` header file: finds the hash segment and the loadable segments, decides whether
 * the image is split (some segment lies past the end of the .mdt) and computes the region
 * Linux's qcom_mdt_get_size reserves (min p_paddr to max p_paddr + p_memsz, 4 KiB-aligned).
 * Section headers are not read (an .mdt usually has none inside it).
 * @throws {AmpError} as parseElf.
 * @see docs/wire-formats.md, "Firmware ELF and coredumps"
 */
export function parseMdt(mdt: Uint8Array, options: ParseElfOptions = {}): MdtInfo {
  const elf = parseElfInternal(mdt, { ...options, sections: false, symbols: false });
  const phdrs = elf.programHeaders;
  const hashSegment = phdrs.find((p) => p.index >= 1 && p.type !== ProgramType.PT_LOAD && isHash(p));
  const loadSegments = phdrs.filter((p) => p.type === ProgramType.PT_LOAD && !isHash(p) && p.memsz !== 0n);
  const size = BigInt(mdt.length);
  const split = phdrs.some((p) => p.offset + p.filesz > size);
  let minAddr = 0n;
  let maxAddr = 0n;
  if (loadSegments.length > 0) {
    minAddr = loadSegments.reduce((m, p) => (p.paddr < m ? p.paddr : m), loadSegments[0]?.paddr ?? 0n);
    const top = loadSegments.reduce((m, p) => (p.paddr + p.memsz > m ? p.paddr + p.memsz : m), 0n);
    maxAddr = ((top + PAGE - 1n) / PAGE) * PAGE;
  }
  const relocatable = loadSegments.some((p) => (p.flags & QCOM_MDT_RELOCATABLE) !== 0);
  return { elf, split, hashSegment, loadSegments, minAddr, maxAddr, relocatable };
}

/**
 * The companion file of program header `index`: the last three characters of the firmware
 * name ("mdt") replaced by "b" and the index as two or more decimal digits.
 * @throws {RangeError} for a name shorter than 4 characters or a bad index.
 * @example mdtSegmentFileName("modem.mdt", 3); // "modem.b03"
 */
export function mdtSegmentFileName(firmwareName: string, index: number): string {
  if (firmwareName.length < 4) throw new RangeError(`firmware name "${firmwareName}" is too short for .bNN companions`);
  if (!Number.isSafeInteger(index) || index < 0)
    throw new RangeError(`segment index must be a non-negative integer, got ${index}`);
  return `${firmwareName.slice(0, -3)}b${String(index).padStart(2, "0")}`;
}

/** The file bytes of segment `p`: from the .mdt when it is inside, else from its .bNN file. */
async function segmentData(
  mdt: Uint8Array,
  firmwareName: string,
  p: ElfProgramHeader,
  read: FirmwareReader,
): Promise<Uint8Array> {
  if (p.filesz === 0n) return mdt.subarray(0, 0);
  if (p.offset + p.filesz <= BigInt(mdt.length)) return mdt.subarray(Number(p.offset), Number(p.offset + p.filesz));
  const name = mdtSegmentFileName(firmwareName, p.index);
  let file: Uint8Array | undefined;
  try {
    file = await read(name);
  } catch (e) {
    throw new AmpError(
      "ERR_SINK",
      `segment ${p.index}: reading ${name} failed: ${e instanceof Error ? e.message : String(e)}`,
      { offset: p.headerOffset, cause: e },
    );
  }
  if (file === undefined)
    throw new AmpError("ERR_SINK", `segment ${p.index}: companion file ${name} not found`, { offset: p.headerOffset });
  if (!(file instanceof Uint8Array)) throw new TypeError(`reader must return a Uint8Array for ${name}`);
  // Linux requires the .bNN file to be exactly p_filesz bytes.
  if (BigInt(file.length) < p.filesz)
    throw new AmpError(
      "ERR_TRUNCATED",
      `segment ${p.index}: ${name} has ${file.length} bytes, p_filesz is ${hex(p.filesz)}`,
      { offset: p.headerOffset },
    );
  if (BigInt(file.length) > p.filesz)
    throw new AmpError(
      "ERR_MALFORMED",
      `segment ${p.index}: ${name} has ${file.length} bytes, more than p_filesz ${hex(p.filesz)}`,
      { offset: p.headerOffset },
    );
  return file;
}

/**
 * Loads split (or single-file .mbn-style) Qualcomm firmware into `sink`. Each loadable segment's
 * bytes come from the .mdt when they are inside it, else from `<name>.bNN` through `read`; then
 * the tail up to p_memsz is zero-filled. With `region`, segments are relocated as Linux does
 * (base = minAddr for relocatable images, else region.pa; pa = region.pa + p_paddr - base) and
 * must stay inside it; without, they go to p_paddr. Segment checks (filesz <= memsz) and
 * `sink.accepts` run for all segments before any companion file is read.
 * @throws {AmpError} ERR_MALFORMED / ERR_TRUNCATED for bad headers or companion files, ERR_RANGE
 *   for a segment outside `region`, ERR_SINK for a missing companion file or a refusing sink.
 * @see docs/wire-formats.md, "Firmware ELF and coredumps"
 */
export async function loadMdt(
  mdt: Uint8Array,
  firmwareName: string,
  read: FirmwareReader,
  sink: LoadSink,
  options: MdtLoadOptions = {},
): Promise<LoadResult> {
  checkSink(sink);
  if (typeof read !== "function") throw new TypeError("read must be a function");
  const info = parseMdt(mdt, options);
  const region = options.region;
  const base = region === undefined ? 0n : info.relocatable ? info.minAddr : region.pa;
  const plan: { p: ElfProgramHeader; pa: bigint }[] = [];
  for (const p of info.loadSegments) {
    if (p.filesz > p.memsz)
      throw new AmpError("ERR_MALFORMED", `segment ${p.index}: p_filesz ${hex(p.filesz)} > p_memsz ${hex(p.memsz)}`, {
        offset: p.headerOffset,
      });
    let pa = p.paddr;
    if (region !== undefined) {
      pa = region.pa + p.paddr - base;
      if (pa < region.pa || pa + p.memsz > region.pa + region.size) {
        throw new AmpError(
          "ERR_RANGE",
          `segment ${p.index}: [${hex(pa)}, ${hex(pa + p.memsz)}) is outside the region [${hex(region.pa)}, ${hex(region.pa + region.size)})`,
          { offset: p.headerOffset },
        );
      }
    }
    askSink(sink, p.index, pa, p.memsz, p.headerOffset);
    plan.push({ p, pa });
  }
  const segments: LoadedSegment[] = [];
  for (const { p, pa } of plan) {
    const data = await segmentData(mdt, firmwareName, p, read);
    if (data.length > 0)
      callSink(p.index, pa, p.filesz, p.headerOffset, () => {
        sink.write(pa, data);
      });
    zeroFill(sink, p, pa);
    segments.push({ index: p.index, pa, filesz: p.filesz, memsz: p.memsz });
  }
  return {
    entry: info.elf.header.entry,
    segments,
    diagnostics: info.elf.diagnostics.filter((d) => d.severity === "warning"),
  };
}

/**
 * Reassembles split firmware into one ELF image (what a single .mbn file would hold): the .mdt
 * bytes, then every segment that lies past them read from its .bNN file and placed at p_offset.
 * A section header table that none of the files holds (splitting tools keep e_shoff pointing past
 * the last segment) is dropped: e_shoff, e_shnum and e_shstrndx become 0. The result can go to
 * parseElf, loadElf or to tools such as readelf.
 * @throws {AmpError} as loadMdt, and ERR_LIMIT when the image would exceed `maxImageSize`
 *   (default 256 MiB).
 */
export async function assembleMdt(
  mdt: Uint8Array,
  firmwareName: string,
  read: FirmwareReader,
  options: MdtLoadOptions & { readonly maxImageSize?: number } = {},
): Promise<Uint8Array> {
  if (typeof read !== "function") throw new TypeError("read must be a function");
  const info = parseMdt(mdt, options);
  const max = options.maxImageSize ?? DEFAULT_MAX_IMAGE;
  let size = BigInt(mdt.length);
  for (const p of info.elf.programHeaders) if (p.offset + p.filesz > size) size = p.offset + p.filesz;
  if (size > BigInt(max))
    throw new AmpError("ERR_LIMIT", `the assembled image would be ${size} bytes, more than maxImageSize ${max}`);
  const out = new Uint8Array(Number(size));
  out.set(mdt);
  for (const p of info.elf.programHeaders) {
    if (p.filesz === 0n || p.offset + p.filesz <= BigInt(mdt.length)) continue;
    out.set(await segmentData(mdt, firmwareName, p, read), Number(p.offset));
  }
  dropDanglingSectionHeaders(out, info.elf.header);
  return out;
}

// e_shoff, e_shnum, e_shstrndx: [ELF32, ELF64] offsets.
const E_SHOFF = [32, 40] as const;
const E_SHNUM = [48, 60] as const;
const E_SHSTRNDX = [50, 62] as const;

/**
 * Splitting tools copy the ELF header verbatim, so e_shoff still points at the original file's
 * section header table, which no split file carries when it lay past the last segment. The
 * assembled image then says "no section headers" (e_shoff = e_shnum = e_shstrndx = 0) instead of
 * pointing past its own end; a table that the split files do carry is kept.
 */
function dropDanglingSectionHeaders(out: Uint8Array, h: ElfHeader): void {
  if (h.shoff === 0n) return;
  const count = BigInt(Math.max(h.shnum, 1));
  if (h.shoff + count * BigInt(h.shentsize) <= BigInt(out.length) && h.shentsize > 0) return;
  const c = h.elfClass === 64 ? 1 : 0;
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (c === 1) v.setBigUint64(E_SHOFF[1], 0n, h.littleEndian);
  else v.setUint32(E_SHOFF[0], 0, h.littleEndian);
  v.setUint16(E_SHNUM[c], 0, h.littleEndian);
  v.setUint16(E_SHSTRNDX[c], 0, h.littleEndian);
}

/**
 * The authentication metadata Linux hands to the secure world (qcom_mdt_read_metadata): the
 * first phdr[0].p_filesz bytes of the .mdt (ELF header and program headers), followed by the
 * hash segment's bytes (from the .mdt, or its .bNN file).
 * @throws {AmpError} ERR_MALFORMED when there is no hash segment or phdr[0] is past the .mdt.
 */
export async function mdtMetadata(
  mdt: Uint8Array,
  firmwareName: string,
  read: FirmwareReader,
  options: ParseElfOptions = {},
): Promise<Uint8Array> {
  const info = parseMdt(mdt, options);
  const first = info.elf.programHeaders[0];
  if (first === undefined || first.filesz > BigInt(mdt.length))
    throw new AmpError("ERR_MALFORMED", "phdr[0] does not describe the headers inside the .mdt", {
      offset: first?.headerOffset ?? 0,
    });
  const hash = info.hashSegment;
  if (hash === undefined) throw new AmpError("ERR_MALFORMED", "no hash segment found");
  const hashBytes = await segmentData(mdt, firmwareName, hash, read);
  const headLen = Number(first.filesz);
  const out = new Uint8Array(headLen + hashBytes.length);
  out.set(mdt.subarray(0, headLen));
  out.set(hashBytes, headLen);
  return out;
}
