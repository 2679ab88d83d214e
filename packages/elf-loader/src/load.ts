// Loading PT_LOAD segments into a caller-supplied sink, the way Linux's rproc_elf_load_segments
// does (docs/wire-formats.md, "Firmware ELF and coredumps"): p_paddr as the address, p_filesz bytes
// copied, the rest up to p_memsz zero-filled, e_entry as the boot address.
import { AmpError } from "./errors.js";
import { errorFor } from "./diagnostics.js";
import { ProgramType } from "./constants.js";
import { hex } from "./internal/reader.js";
import { parseElfInternal } from "./parse.js";
import { loadChecks } from "./validate.js";
import type {
  ElfDiagnostic,
  ElfFile,
  ElfProgramHeader,
  LoadedSegment,
  LoadResult,
  LoadSink,
  ValidateElfOptions,
} from "./types.js";

/** Throws the first error diagnostic, returns the warnings. */
export function requireNoErrors(diagnostics: readonly ElfDiagnostic[]): ElfDiagnostic[] {
  const first = diagnostics.find((d) => d.severity === "error");
  if (first !== undefined) throw errorFor(first);
  return diagnostics.filter((d) => d.severity === "warning");
}

/** Checks the sink is an object with write and fill. */
export function checkSink(sink: LoadSink): void {
  if (typeof sink !== "object" || typeof sink.write !== "function" || typeof sink.fill !== "function") {
    throw new TypeError("sink must be an object with write(pa, bytes) and fill(pa, length, value)");
  }
}

/** Asks the sink whether it accepts the segment's whole [pa, pa + memsz) range. */
export function askSink(sink: LoadSink, index: number, pa: bigint, memsz: bigint, headerOffset: number): void {
  if (sink.accepts === undefined) return;
  let ok: boolean;
  try {
    ok = sink.accepts(pa, memsz);
  } catch (e) {
    throw new AmpError(
      "ERR_SINK",
      `segment ${index}: the sink refused [${hex(pa)}, ${hex(pa + memsz)}): ${String(e)}`,
      { offset: headerOffset, cause: e },
    );
  }
  if (!ok)
    throw new AmpError(
      "ERR_SINK",
      `segment ${index}: the sink refused [${hex(pa)}, ${hex(pa + memsz)}) (no memory at that address)`,
      { offset: headerOffset },
    );
}

/** Runs a sink call, turning whatever it throws into ERR_SINK naming the segment and address. */
export function callSink(index: number, pa: bigint, length: bigint, headerOffset: number, f: () => void): void {
  try {
    f();
  } catch (e) {
    throw new AmpError(
      "ERR_SINK",
      `segment ${index}: the sink failed to write [${hex(pa)}, ${hex(pa + length)}): ${e instanceof Error ? e.message : String(e)}`,
      { offset: headerOffset, cause: e },
    );
  }
}

/** Writes the zero tail of a segment, p_memsz - p_filesz bytes after the file bytes. */
export function zeroFill(sink: LoadSink, p: ElfProgramHeader, pa: bigint): void {
  const tail = p.memsz - p.filesz;
  if (tail > 0n)
    callSink(p.index, pa + p.filesz, tail, p.headerOffset, () => {
      sink.fill(pa + p.filesz, tail, 0);
    });
}

/**
 * Loads every PT_LOAD segment of an ELF image into `sink`: p_filesz file bytes at p_paddr, then
 * zeros up to p_memsz. The file header, program headers and segments are validated first (the
 * load checks of validateElf) and every segment's range offered to `sink.accepts` before any
 * byte is written, so a refused image leaves the sink untouched. Section headers are not read
 * (only section 0, for a PN_XNUM count): damaged ones never stop a load, exactly as in
 * loadElfFromChunks. Segments with p_memsz = 0 are skipped; segments load in program header
 * order, as Linux does. Returns the boot address (e_entry). The sink is called synchronously.
 *
 * @throws {AmpError} the first error diagnostic's code (ERR_TRUNCATED, ERR_MALFORMED, ERR_RANGE,
 *   ERR_UNSUPPORTED, ERR_LIMIT; `cause` is the ElfDiagnostic), or ERR_SINK when the sink refuses
 *   a range or throws (the message names the segment and address; `cause` is the sink's error).
 * @example
 * const mem = new Uint8Array(0x10000);
 * const { entry } = loadElf(bytes, {
 *   write: (pa, b) => mem.set(b, Number(pa)),
 *   fill: (pa, n, v) => mem.fill(v, Number(pa), Number(pa + n)),
 * });
 * @see docs/wire-formats.md, "Firmware ELF and coredumps" (rproc_elf_load_segments)
 */
export function loadElf(image: Uint8Array | ElfFile, sink: LoadSink, options: ValidateElfOptions = {}): LoadResult {
  checkSink(sink);
  // Section headers and symbols play no part in loading (README, "Which files load"): the
  // streaming loader never sees them, and both loaders must accept the same files.
  const elf =
    image instanceof Uint8Array ? parseElfInternal(image, { ...options, sections: false, symbols: false }) : image;
  const warnings = requireNoErrors(loadChecks(elf, elf.bytes.length, options));
  const loads = elf.programHeaders.filter((p) => p.type === ProgramType.PT_LOAD && p.memsz > 0n);
  for (const p of loads) askSink(sink, p.index, p.paddr, p.memsz, p.headerOffset);
  const segments: LoadedSegment[] = [];
  for (const p of loads) {
    if (p.filesz > 0n) {
      // validateElf checked offset + filesz <= file size, so these fit in a number.
      const bytes = elf.bytes.subarray(Number(p.offset), Number(p.offset + p.filesz));
      callSink(p.index, p.paddr, p.filesz, p.headerOffset, () => {
        sink.write(p.paddr, bytes);
      });
    }
    zeroFill(sink, p, p.paddr);
    segments.push({ index: p.index, pa: p.paddr, filesz: p.filesz, memsz: p.memsz });
  }
  return { entry: elf.header.entry, segments, diagnostics: warnings };
}
