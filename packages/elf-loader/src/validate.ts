// The loader's checks as diagnostics: Linux's rproc_elf_sanity_check and rproc_elf_load_segments
// (docs/wire-formats.md, "Firmware ELF and coredumps") plus the hardening cases of behaviour
// §1.12/§6.
import { diag, diagnosticOf } from "./diagnostics.js";
import { isAmpError } from "./errors.js";
import { ElfType, ProgramType, RESOURCE_TABLE_SECTION, SectionType } from "./constants.js";
import { hex } from "./internal/reader.js";
import { classIndex, parseElfInternal } from "./parse.js";
import { containingLoad } from "./sections.js";
import type { ElfDiagnostic, ElfFile, ElfHeader, ElfProgramHeader, ValidateElfOptions } from "./types.js";

const E_PHNUM = [44, 56] as const;
const E_SHOFF = [32, 40] as const;

/** The address width to check against: the option, or the class's. */
export function addressBitsOf(h: ElfHeader, options: ValidateElfOptions): number {
  const bits = options.addressBits ?? h.elfClass;
  if (!Number.isInteger(bits) || bits < 1 || bits > 64)
    throw new RangeError(`addressBits must be an integer in 1..64, got ${bits}`);
  return bits;
}

/**
 * Header-level checks that need no file size: endianness, e_type, e_phnum, entry width.
 */
export function checkHeader(h: ElfHeader, phCount: number, options: ValidateElfOptions, out: ElfDiagnostic[]): void {
  const c = classIndex(h);
  if (options.endianness !== undefined && (options.endianness === "little") !== h.littleEndian) {
    out.push(
      diag(
        "ENDIANNESS_MISMATCH",
        "error",
        5,
        `EI_DATA is ${h.littleEndian ? "little" : "big"}-endian, the target needs ${options.endianness}-endian`,
      ),
    );
  }
  if (h.type !== ElfType.ET_EXEC)
    out.push(diag("NOT_EXECUTABLE", "warning", 16, `e_type is ${h.type}, not ET_EXEC (2)`));
  if (phCount === 0) out.push(diag("NO_PROGRAM_HEADERS", "error", E_PHNUM[c], "e_phnum is 0: no loadable segments"));
  const limit = 1n << BigInt(addressBitsOf(h, options));
  if (h.entry >= limit)
    out.push(
      diag(
        "ADDRESS_TOO_WIDE",
        "error",
        24,
        `e_entry ${hex(h.entry)} does not fit a ${addressBitsOf(h, options)}-bit target`,
      ),
    );
}

/**
 * Per-segment checks of every PT_LOAD: filesz <= memsz, bytes inside the file (when its size is
 * known), the address range inside the target's width, no two segments overlapping.
 */
export function checkSegments(
  h: ElfHeader,
  phdrs: readonly ElfProgramHeader[],
  fileSize: number | undefined,
  options: ValidateElfOptions,
  out: ElfDiagnostic[],
): void {
  const bits = addressBitsOf(h, options);
  const limit = 1n << BigInt(bits);
  const loads = phdrs.filter((p) => p.type === ProgramType.PT_LOAD);
  if (phdrs.length > 0 && loads.length === 0)
    out.push(diag("NO_LOAD_SEGMENTS", "warning", phdrs[0]?.headerOffset ?? 0, "no PT_LOAD segment: nothing to load"));
  for (const p of loads) {
    if (p.filesz > p.memsz)
      out.push(
        diag(
          "SEGMENT_FILESZ_GT_MEMSZ",
          "error",
          p.headerOffset,
          `segment ${p.index}: p_filesz ${hex(p.filesz)} > p_memsz ${hex(p.memsz)}`,
        ),
      );
    if (fileSize !== undefined && p.offset + p.filesz > BigInt(fileSize)) {
      out.push(
        diag(
          "SEGMENT_PAST_EOF",
          "error",
          p.headerOffset,
          `segment ${p.index}: p_offset ${hex(p.offset)} + p_filesz ${hex(p.filesz)} is past the end of the file (${fileSize} bytes): truncated firmware`,
        ),
      );
    }
    if (p.paddr + p.memsz > limit) {
      out.push(
        diag(
          "ADDRESS_TOO_WIDE",
          "error",
          p.headerOffset,
          `segment ${p.index}: [${hex(p.paddr)}, ${hex(p.paddr + p.memsz)}) does not fit a ${bits}-bit target`,
        ),
      );
    }
  }
  // Overlap: sweep the segments in p_paddr order, comparing each with the earlier ones still
  // open. Overlapping file bytes are an error (which copy wins depends on load order). A zero
  // fill tail reaching into another segment is only a warning: linkers produce it for .bss
  // placed after an `AT>` load image (the tail lands on the next load image in flash), and
  // Linux, loading in header order, ends up with the later segment's bytes.
  const sorted = loads
    .filter((p) => p.memsz > 0n)
    .sort((a, b) => (a.paddr < b.paddr ? -1 : a.paddr > b.paddr ? 1 : a.index - b.index));
  const open: ElfProgramHeader[] = [];
  let reported = 0;
  for (const p of sorted) {
    for (let i = open.length - 1; i >= 0; i--) {
      const q = open[i];
      if (q !== undefined && q.paddr + q.memsz <= p.paddr) open.splice(i, 1);
    }
    for (const q of open) {
      if (reported >= MAX_OVERLAP_REPORTS) break;
      reported++;
      const [a, b] = q.index < p.index ? [q, p] : [p, q];
      const filesOverlap = rangesOverlap(a.paddr, a.filesz, b.paddr, b.filesz);
      const range = (x: ElfProgramHeader): string => `${x.index} [${hex(x.paddr)}, ${hex(x.paddr + x.memsz)})`;
      if (filesOverlap) {
        out.push(
          diag(
            "SEGMENTS_OVERLAP",
            "error",
            b.headerOffset,
            `segments ${range(a)} and ${range(b)} overlap in their file bytes`,
          ),
        );
      } else {
        out.push(
          diag(
            "SEGMENT_FILL_OVERLAP",
            "warning",
            b.headerOffset,
            `segments ${range(a)} and ${range(b)} overlap only where one is zero-filled; loaded in header order, segment ${b.index} is written last`,
          ),
        );
      }
    }
    open.push(p);
  }
}

/**
 * Diagnostics of the file header itself (readHeader). Everything else parseElf reports is about
 * section headers, names or symbols, which loading never depends on.
 */
const HEADER_CODES: ReadonlySet<string> = new Set(["BAD_VERSION", "EHSIZE_MISMATCH"]);

/**
 * The checks that decide whether an image loads, the same for loadElf and the streaming loader:
 * the file header, the program header table and the PT_LOAD segments (`fileSize` bounds their
 * bytes when known). Section headers play no part (README, "Which files load").
 */
export function loadChecks(
  elf: Pick<ElfFile, "header" | "programHeaders" | "diagnostics">,
  fileSize: number | undefined,
  options: ValidateElfOptions,
): ElfDiagnostic[] {
  const out = elf.diagnostics.filter((d) => HEADER_CODES.has(d.code));
  checkHeader(elf.header, elf.programHeaders.length, options, out);
  checkSegments(elf.header, elf.programHeaders, fileSize, options, out);
  return out;
}

/** Most overlap diagnostics reported for one file (a hostile file could have millions). */
const MAX_OVERLAP_REPORTS = 16;

function rangesOverlap(a: bigint, alen: bigint, b: bigint, blen: bigint): boolean {
  return alen > 0n && blen > 0n && a < b + blen && b < a + alen;
}

/** Section-level checks: section headers present, sections inside the file, the resource table. */
function checkSections(elf: ElfFile, out: ElfDiagnostic[]): void {
  const h = elf.header;
  if (elf.sections.length === 0) {
    out.push(
      diag(
        "NO_SECTION_HEADERS",
        "warning",
        E_SHOFF[classIndex(h)],
        "no section headers: a .resource_table cannot be found, the remote boots without resources",
      ),
    );
    return;
  }
  const size = BigInt(elf.bytes.length);
  for (const s of elf.sections) {
    if (s.type === SectionType.SHT_NOBITS || s.type === SectionType.SHT_NULL) continue;
    if (s.offset + s.size > size) {
      const rt = s.name === RESOURCE_TABLE_SECTION;
      out.push(
        diag(
          rt ? "BAD_RESOURCE_TABLE_SECTION" : "SECTION_PAST_EOF",
          rt ? "error" : "warning",
          s.headerOffset,
          `section ${s.index} (${s.name}): [${hex(s.offset)}, ${hex(s.offset + s.size)}) is past the end of the file (${size} bytes)`,
        ),
      );
    }
  }
  const rt = elf.sections.find((s) => s.name === RESOURCE_TABLE_SECTION);
  if (rt === undefined) return;
  if (rt.type === SectionType.SHT_NOBITS) {
    out.push(
      diag(
        "BAD_RESOURCE_TABLE_SECTION",
        "error",
        rt.headerOffset,
        "the .resource_table section is SHT_NOBITS: it has no bytes in the file",
      ),
    );
    return;
  }
  if (rt.offset + rt.size > size) return;
  if (containingLoad(elf, rt.offset, rt.size) === undefined) {
    out.push(
      diag(
        "RESOURCE_TABLE_NOT_LOADED",
        "warning",
        rt.headerOffset,
        "the .resource_table section is not inside any PT_LOAD segment: the host will not find the loaded copy",
      ),
    );
  }
  if (rt.offset % 4n !== 0n)
    out.push(
      diag(
        "RESOURCE_TABLE_UNALIGNED",
        "warning",
        rt.headerOffset,
        `the .resource_table file offset ${hex(rt.offset)} is not 4-byte aligned (OP-TEE rejects it)`,
      ),
    );
}

/**
 * Every check of the file, as a list of diagnostics; never throws for bad bytes. Errors in the
 * file header, program headers and segments are what loadElf and loadElfFromChunks refuse;
 * errors in the section headers (names, the string table, `.resource_table` placement) make the
 * resource table unfindable or untrustworthy: the loaders still load the segments, a host that
 * needs the table (remoteproc-core) refuses them. Warnings are suspicious but loadable (Linux
 * would load them). Given bytes, a file that cannot even be parsed yields that one error.
 *
 * Checks: Linux's sanity check (size, magic, class, endianness when `endianness` is set, section
 * header table inside the file, e_phnum != 0, program header table inside the file) and segment
 * rules (PT_LOAD: filesz <= memsz, offset + filesz inside the file), plus: header count x entry
 * size overflow and entry sizes, e_shstrndx and sh_name ranges, overlapping PT_LOAD segments,
 * addresses wider than the target, the .resource_table section's placement, the limits.
 *
 * @example
 * validateElf(bytes).filter((d) => d.severity === "error"); // [] for a good image
 * @see docs/wire-formats.md, "Firmware ELF and coredumps", behaviour-and-features.md §1.12 and §6
 */
export function validateElf(input: Uint8Array | ElfFile, options: ValidateElfOptions = {}): ElfDiagnostic[] {
  let elf: ElfFile;
  if (input instanceof Uint8Array) {
    try {
      elf = parseElfInternal(input, options);
    } catch (e) {
      if (isAmpError(e)) return [diagnosticOf(e)];
      throw e;
    }
  } else {
    elf = input;
  }
  const out: ElfDiagnostic[] = [...elf.diagnostics];
  checkHeader(elf.header, elf.programHeaders.length, options, out);
  checkSegments(elf.header, elf.programHeaders, elf.bytes.length, options, out);
  checkSections(elf, out);
  return out;
}
