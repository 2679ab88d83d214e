// Streaming load: firmware that does not fit in memory twice arrives in chunks. Only the ELF
// header and the program header table are buffered (bounded by maxHeaderBytes); segment bytes
// go to the sink as the chunks that hold them stream past.
import { AmpError } from "./errors.js";
import { fail } from "./diagnostics.js";
import { ProgramType } from "./constants.js";
import { MAX_SAFE, hex } from "./internal/reader.js";
import { EHDR_SIZE, ELF_MAGIC, PHDR_SIZE, SHDR_SIZE } from "./internal/layout.js";
import { PN_XNUM, DEFAULT_PARSE_LIMITS, parseElfInternal, readHeader } from "./parse.js";
import { loadChecks } from "./validate.js";
import { askSink, callSink, checkSink, requireNoErrors, zeroFill } from "./load.js";
import type {
  ElfDiagnostic,
  ElfHeader,
  ElfProgramHeader,
  LoadedSegment,
  LoadResult,
  LoadSink,
  StreamLoadOptions,
} from "./types.js";

const DEFAULT_MAX_HEADER_BYTES = 1 << 20;
/** Offset of sh_info in Elf32_Shdr / Elf64_Shdr. */
const SH_INFO_32 = 28;
const SH_INFO_64 = 44;

interface Pending {
  readonly p: ElfProgramHeader;
  /** File range of the segment's bytes. */
  readonly start: number;
  readonly end: number;
  written: number;
  done: boolean;
}

/**
 * Loads an ELF image from chunks as they arrive (`push`), then `finish`. The header and program
 * header table are buffered until complete (at most `maxHeaderBytes`, default 1 MiB); then the
 * image is validated as far as it can be without the whole file (header, segment rules,
 * overlap, address width, `totalSize` when given), every segment is offered to `sink.accepts`,
 * and from there on each chunk's bytes are written straight to the sink. Buffering is bounded:
 * chunks are not kept after `push` returns.
 *
 * Section headers are not read (they usually come last), except section 0 when e_phnum is
 * PN_XNUM (buffered like the headers); find the resource table with parseElf/findResourceTable
 * when the file is available, or by symbol. The same files load as with loadElf (README, "Which
 * files load"), within the buffering limit.
 *
 * @throws {AmpError} from push/finish: as loadElf, plus ERR_LIMIT (headers beyond the buffering
 *   limit), ERR_TRUNCATED (the stream ended inside a segment), ERR_STATE (used after finishing
 *   or after an error).
 * @example
 * const loader = new ElfStreamLoader(sink);
 * for await (const chunk of stream) loader.push(chunk);
 * const { entry } = loader.finish();
 */
export class ElfStreamLoader {
  private readonly sink: LoadSink;
  private readonly options: StreamLoadOptions;
  private readonly maxHeaderBytes: number;
  private state: "header" | "body" | "done" | "failed" = "header";
  private buf: Uint8Array = new Uint8Array(256);
  private buffered = 0;
  private pos = 0;
  private hdr: ElfHeader | undefined;
  private phdrs: readonly ElfProgramHeader[] | undefined;
  private pending: Pending[] = [];
  private warnings: ElfDiagnostic[] = [];

  constructor(sink: LoadSink, options: StreamLoadOptions = {}) {
    checkSink(sink);
    const m = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    if (!Number.isSafeInteger(m) || m < EHDR_SIZE[1])
      throw new RangeError(`maxHeaderBytes must be an integer >= 64, got ${m}`);
    if (options.totalSize !== undefined && (!Number.isSafeInteger(options.totalSize) || options.totalSize < 0))
      throw new RangeError("totalSize must be a non-negative integer");
    this.sink = sink;
    this.options = options;
    this.maxHeaderBytes = m;
  }

  /** The ELF header, once enough bytes have arrived. */
  get header(): ElfHeader | undefined {
    return this.hdr;
  }

  /** The program headers, once the table has arrived. */
  get programHeaders(): readonly ElfProgramHeader[] | undefined {
    return this.phdrs;
  }

  /** Bytes pushed so far. */
  get bytesReceived(): number {
    return this.state === "header" ? this.buffered : this.pos;
  }

  /** Feeds the next chunk of the file. The chunk is not kept after the call. */
  push(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) throw new TypeError("push: chunk must be a Uint8Array");
    if (this.state === "done" || this.state === "failed")
      throw new AmpError("ERR_STATE", `push after the loader ${this.state === "done" ? "finished" : "failed"}`);
    try {
      if (this.state === "header") this.collect(chunk);
      else this.feed(chunk);
    } catch (e) {
      this.state = "failed";
      throw e;
    }
  }

  /** Ends the stream: checks every segment was complete and returns the boot address. */
  finish(): LoadResult {
    if (this.state === "done" || this.state === "failed")
      throw new AmpError("ERR_STATE", `finish after the loader ${this.state === "done" ? "finished" : "failed"}`);
    try {
      if (this.state === "header") {
        // The stream ended inside the headers: what arrived is the whole file, so the
        // whole-file parser says what is missing, in loadElf's words.
        parseElfInternal(this.buf.subarray(0, this.buffered), this.headerParseOptions());
        fail("PHDRS_PAST_EOF", 0, "the stream ended before the program header table");
      }
      for (const s of this.pending) {
        if (!s.done) {
          throw new AmpError(
            "ERR_TRUNCATED",
            `segment ${s.p.index}: the stream ended after ${s.written} of ${s.end - s.start} file bytes (offset ${hex(s.p.offset)}): truncated firmware`,
            { offset: s.p.headerOffset },
          );
        }
      }
      this.state = "done";
      const segments: LoadedSegment[] = this.pending.map((s) => ({
        index: s.p.index,
        pa: s.p.paddr,
        filesz: s.p.filesz,
        memsz: s.p.memsz,
      }));
      return { entry: this.hdr?.entry ?? 0n, segments, diagnostics: this.warnings };
    } catch (e) {
      this.state = "failed";
      throw e;
    }
  }

  /**
   * Buffers header bytes until the program header table is complete, then starts loading. Only
   * the bytes the headers need are copied; the rest of the chunk goes straight to `feed`.
   */
  private collect(chunk: Uint8Array): void {
    let rest = chunk;
    for (;;) {
      const { target, final } = this.nextTarget();
      if (this.buffered < target) {
        const take = Math.min(rest.length, target - this.buffered);
        this.append(rest.subarray(0, take));
        rest = rest.subarray(take);
        if (this.buffered < target) {
          if (this.buffered >= 4) readHeaderMagicOnly(this.buf);
          return;
        }
      }
      if (final) {
        const all = this.buf.subarray(0, this.buffered);
        this.start(all);
        this.buf = new Uint8Array(0);
        this.state = "body";
        this.pos = 0;
        this.feed(all);
        if (rest.length > 0) this.feed(rest);
        return;
      }
    }
  }

  private append(bytes: Uint8Array): void {
    const total = this.buffered + bytes.length;
    if (total > this.buf.length) {
      const grown = new Uint8Array(Math.max(total, Math.min(this.buf.length * 2, this.maxHeaderBytes)));
      grown.set(this.buf.subarray(0, this.buffered));
      this.buf = grown;
    }
    this.buf.set(bytes, this.buffered);
    this.buffered = total;
  }

  /** loadElf's parse: header and program headers only (section 0 for a PN_XNUM count). */
  private headerParseOptions(): { sections: false; symbols: false; maxProgramHeaders: number } {
    return {
      sections: false,
      symbols: false,
      maxProgramHeaders: this.options.maxProgramHeaders ?? DEFAULT_PARSE_LIMITS.maxProgramHeaders,
    };
  }

  /**
   * How many bytes the next parsing step needs: the 52-byte ELF32 header, the 64-byte ELF64
   * header, section 0 when e_phnum is PN_XNUM (its sh_info holds the count), then (final) the
   * end of the program header table. Every step stays within maxHeaderBytes.
   */
  private nextTarget(): { target: number; final: boolean } {
    const bytes = this.buf.subarray(0, this.buffered);
    if (bytes.length >= 4) readHeaderMagicOnly(bytes);
    if (bytes.length < EHDR_SIZE[0]) return { target: EHDR_SIZE[0], final: false };
    const c = bytes[4] === 2 ? 1 : 0;
    if (bytes.length < EHDR_SIZE[c]) return { target: EHDR_SIZE[c], final: false };
    const h = readHeader(bytes, []);
    let count = h.phnum;
    let need: number = EHDR_SIZE[c];
    if (h.phnum === PN_XNUM && h.shoff !== 0n) {
      // A wrong e_shentsize: the parser in start() refuses it as loadElf does.
      if (h.shentsize !== SHDR_SIZE[c]) return { target: need, final: true };
      const end0 = h.shoff + BigInt(SHDR_SIZE[c]);
      if (end0 > BigInt(this.maxHeaderBytes)) {
        throw new AmpError(
          "ERR_LIMIT",
          `e_phnum is PN_XNUM and section 0 (which holds the count) ends at ${hex(end0)}, past the ${this.maxHeaderBytes}-byte header buffering limit`,
          { offset: c === 1 ? 40 : 32 },
        );
      }
      need = Math.max(need, Number(end0));
      if (bytes.length < need) return { target: need, final: false };
      const info = Number(h.shoff) + (c === 1 ? SH_INFO_64 : SH_INFO_32);
      count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(info, h.littleEndian);
    }
    if (count === 0 || h.phentsize !== PHDR_SIZE[c]) return { target: need, final: true };
    const end = h.phoff + BigInt(count) * BigInt(PHDR_SIZE[c]);
    if (end > BigInt(this.maxHeaderBytes)) {
      throw new AmpError(
        "ERR_LIMIT",
        `the program header table ends at ${hex(end)}, past the ${this.maxHeaderBytes}-byte header buffering limit`,
        { offset: c === 1 ? 32 : 28 },
      );
    }
    return { target: Math.max(need, Number(end)), final: true };
  }

  /** Parses and validates the headers (loadElf's checks), checks the sink, prepares the segment list. */
  private start(headerBytes: Uint8Array): void {
    const elf = parseElfInternal(headerBytes, this.headerParseOptions());
    const h = elf.header;
    const phdrs = elf.programHeaders;
    this.warnings = requireNoErrors(loadChecks(elf, this.options.totalSize, this.options));
    this.hdr = h;
    this.phdrs = phdrs;
    const loads = phdrs.filter((p) => p.type === ProgramType.PT_LOAD && p.memsz > 0n);
    for (const p of loads) {
      if (p.offset + p.filesz > MAX_SAFE)
        throw new AmpError(
          "ERR_RANGE",
          `segment ${p.index}: p_offset + p_filesz ${hex(p.offset + p.filesz)} is past 2^53`,
          { offset: p.headerOffset },
        );
      askSink(this.sink, p.index, p.paddr, p.memsz, p.headerOffset);
    }
    this.pending = loads.map((p) => ({
      p,
      start: Number(p.offset),
      end: Number(p.offset + p.filesz),
      written: 0,
      done: false,
    }));
    for (const s of this.pending) {
      if (s.start === s.end) {
        zeroFill(this.sink, s.p, s.p.paddr);
        s.done = true;
      }
    }
  }

  /** Writes the parts of [pos, pos + chunk.length) that belong to segments. */
  private feed(chunk: Uint8Array): void {
    const from = this.pos;
    const to = from + chunk.length;
    for (const s of this.pending) {
      if (s.done || s.end <= from || s.start >= to) continue;
      const lo = Math.max(s.start, from);
      const hi = Math.min(s.end, to);
      const pa = s.p.paddr + BigInt(lo - s.start);
      const part = chunk.subarray(lo - from, hi - from);
      callSink(s.p.index, pa, BigInt(part.length), s.p.headerOffset, () => {
        this.sink.write(pa, part);
      });
      s.written += hi - lo;
      if (s.written === s.end - s.start) {
        zeroFill(this.sink, s.p, s.p.paddr);
        s.done = true;
      }
    }
    this.pos = to;
  }
}

/** Fails early on a wrong magic, before a whole header has arrived. */
function readHeaderMagicOnly(bytes: Uint8Array): void {
  if (ELF_MAGIC.some((b, i) => bytes[i] !== b)) {
    fail("BAD_MAGIC", 0, "not an ELF file: e_ident does not start with 7f 45 4c 46");
  }
}

/**
 * Loads an ELF image from an iterable or async iterable of chunks (a Node stream, a fetch body
 * reader wrapped as an async iterable, an array) with ElfStreamLoader.
 * @throws {AmpError} as ElfStreamLoader.
 * @example const { entry } = await loadElfFromChunks(fs.createReadStream(path), sink);
 */
export async function loadElfFromChunks(
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  sink: LoadSink,
  options: StreamLoadOptions = {},
): Promise<LoadResult> {
  const loader = new ElfStreamLoader(sink, options);
  for await (const chunk of source) loader.push(chunk);
  return loader.finish();
}
