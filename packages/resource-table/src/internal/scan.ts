// The one reader behind parseResourceTable and validateResourceTable. It walks the table the
// way Linux's find_table + rproc_handle_resources do (docs/wire-formats.md, "Resource table") and adds the
// hardening checks of OpenAMP PR #696 (behaviour-and-features.md §6 rows 2 and 9).
//
// Every read is bounds-checked by subtraction before it happens, `num` is capped by
// `maxEntries` and by the table size, so a hostile table can neither overrun `bytes` nor drive
// a long loop. In "parse" mode the first structural problem throws an AmpError; in "validate"
// mode it becomes a diagnostic and the walk goes on with the next entry.
import {
  FW_RSC_ADDR_ANY,
  FW_RSC_CARVEOUT_SIZE,
  FW_RSC_DEVMEM_SIZE,
  FW_RSC_HDR_SIZE,
  FW_RSC_TRACE_SIZE,
  FW_RSC_VDEV_SIZE,
  FW_RSC_VDEV_VRING_SIZE,
  RESOURCE_TABLE_SIZE,
  RSC_CARVEOUT,
  RSC_DEVMEM,
  RSC_TABLE_VERSION,
  RSC_TRACE,
  RSC_VDEV,
  RSC_VDEV_MAX_VRINGS,
  RSC_VENDOR_END,
  RSC_VENDOR_START,
} from "../constants.js";
import { AmpError, isAmpError, type AmpErrorCode } from "../errors.js";
import type {
  Diagnostic,
  DiagnosticCode,
  DiagnosticSeverity,
  Resource,
  ResourceTable,
  ValidateOptions,
  VdevVring,
} from "../types.js";
import { hex, isPowerOf2, readU32, readU32BE } from "./bytes.js";
import { ENTRY_FIELDS as F } from "./fields.js";
import { decodeName } from "./name.js";

/** Default of ParseOptions.maxEntries. */
export const DEFAULT_MAX_ENTRIES = 64;
/** Default of ValidateOptions.maxVringNum: the virtio maximum queue size. */
export const DEFAULT_MAX_VRING_NUM = 32768;
/** Default of ValidateOptions.maxVringAlign: rpmsg-lite's RL_MAX_VRING_ALIGN. */
export const DEFAULT_MAX_VRING_ALIGN = 65536;

/** True for a vendor type (128..512 inclusive). */
export function isVendorType(type: number): boolean {
  return type >= RSC_VENDOR_START && type <= RSC_VENDOR_END;
}

/** What a walk produced: the entries it could decode and, in validate mode, the diagnostics. */
export interface ScanResult {
  readonly table: ResourceTable | undefined;
  readonly diagnostics: Diagnostic[];
}

/** Thrown internally to stop a walk; parse turns it into an AmpError. */
class Fatal extends Error {
  readonly diagnostic: Diagnostic;
  readonly ampCode: AmpErrorCode;
  override readonly cause: unknown;
  constructor(diagnostic: Diagnostic, ampCode: AmpErrorCode, cause?: unknown) {
    super(diagnostic.message);
    this.diagnostic = diagnostic;
    this.ampCode = ampCode;
    this.cause = cause;
  }
}

function checkOptions(
  bytes: Uint8Array,
  opts: ValidateOptions,
): { size: number; maxEntries: number; littleEndian: boolean } {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("bytes must be a Uint8Array");
  const endianness: unknown = opts.endianness ?? "little";
  if (endianness !== "little" && endianness !== "big")
    throw new TypeError(`endianness must be "little" or "big", got ${String(endianness)}`);
  const size = opts.regionSize ?? bytes.length;
  if (!Number.isSafeInteger(size) || size < 0)
    throw new RangeError(`regionSize must be a non-negative integer, got ${String(size)}`);
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 0)
    throw new RangeError(`maxEntries must be a non-negative integer, got ${String(maxEntries)}`);
  return { size, maxEntries, littleEndian: endianness === "little" };
}

/**
 * Walks the table. `mode` "parse" throws AmpError at the first structural problem and skips
 * the semantic checks; "validate" never throws AmpError and reports everything.
 */
export function scanTable(bytes: Uint8Array, opts: ValidateOptions, mode: "parse" | "validate"): ScanResult {
  const { size, maxEntries, littleEndian } = checkOptions(bytes, opts);
  // Every field is a plain integer of the remote's CPU (no le32 on the wire, docs/wire-formats.md, "Conventions"):
  // a big-endian remote's table is big-endian.
  const u32 = littleEndian ? (o: number): number => readU32(bytes, o) : (o: number): number => readU32BE(bytes, o);
  const validate = mode === "validate";
  const maxVringNum = opts.maxVringNum ?? DEFAULT_MAX_VRING_NUM;
  const maxVringAlign = opts.maxVringAlign ?? DEFAULT_MAX_VRING_ALIGN;
  if (!Number.isSafeInteger(maxVringNum) || maxVringNum < 0)
    throw new RangeError(`maxVringNum must be a non-negative integer`);
  if (!Number.isSafeInteger(maxVringAlign) || maxVringAlign < 0)
    throw new RangeError(`maxVringAlign must be a non-negative integer`);
  if (opts.decodeVendor !== undefined && typeof opts.decodeVendor !== "function")
    throw new TypeError("decodeVendor must be a function");
  const diagnostics: Diagnostic[] = [];
  const note = (code: DiagnosticCode, severity: DiagnosticSeverity, offset: number, message: string): void => {
    if (validate) diagnostics.push({ code, severity, offset, message });
  };
  const fatal = (
    code: DiagnosticCode,
    ampCode: AmpErrorCode,
    offset: number,
    message: string,
    cause?: unknown,
  ): Fatal => new Fatal({ code, severity: "error", offset, message }, ampCode, cause);
  // The region is `size` bytes; we hold `bytes.length` of them. A range inside the region but
  // past the bytes given is "not enough bytes" (ERR_TRUNCATED), never a silent short read.
  const haveBytes = (off: number, len: number): void => {
    if (off > bytes.length || len > bytes.length - off) {
      throw fatal(
        "RSC_TABLE_TRUNCATED",
        "ERR_TRUNCATED",
        off,
        `table region is ${size} bytes but only ${bytes.length} were given; [${off}, ${off + len}) is missing`,
      );
    }
  };

  // Distinct entry starts in ascending order, filled once the offset array is read.
  let starts: number[] = [];

  try {
    // --- table header (find_table) ---
    if (size < RESOURCE_TABLE_SIZE) {
      throw fatal(
        "RSC_TABLE_TRUNCATED",
        "ERR_TRUNCATED",
        0,
        `table is ${size} bytes, smaller than its ${RESOURCE_TABLE_SIZE}-byte header`,
      );
    }
    haveBytes(0, RESOURCE_TABLE_SIZE);
    const ver = u32(0);
    if (ver !== RSC_TABLE_VERSION) {
      throw fatal(
        "RSC_VERSION_UNSUPPORTED",
        "ERR_UNSUPPORTED",
        0,
        `unsupported resource table version ${ver} (only ${RSC_TABLE_VERSION} exists)`,
      );
    }
    const num = u32(4);
    const reserved: [number, number] = [u32(8), u32(12)];
    if (reserved[0] !== 0 || reserved[1] !== 0) {
      note(
        "RSC_HEADER_RESERVED_NONZERO",
        "error",
        8,
        `header reserved words are ${hex(reserved[0])}, ${hex(reserved[1])}; Linux requires 0, 0`,
      );
    }
    if (num > maxEntries) {
      throw fatal(
        "RSC_TOO_MANY_ENTRIES",
        "ERR_LIMIT",
        4,
        `table declares ${num} entries, more than the limit of ${maxEntries} (option maxEntries)`,
      );
    }
    // 16 + 4*num <= size, written so that nothing can overflow.
    if (num > (size - RESOURCE_TABLE_SIZE) / 4) {
      throw fatal(
        "RSC_OFFSET_ARRAY_OUT_OF_RANGE",
        "ERR_MALFORMED",
        4,
        `offset array of ${num} entries needs ${RESOURCE_TABLE_SIZE + 4 * num} bytes; the table has ${size}`,
      );
    }
    const headerEnd = RESOURCE_TABLE_SIZE + 4 * num;
    haveBytes(RESOURCE_TABLE_SIZE, 4 * num);
    const offsets: number[] = [];
    for (let i = 0; i < num; i++) offsets.push(u32(RESOURCE_TABLE_SIZE + 4 * i));
    // An opaque entry extends to the next entry start (by offset) or the end of the table.
    starts = [...new Set(offsets)].filter((o) => o < size).sort((a, b) => a - b);

    const entries: Resource[] = [];
    const decoded = new Map<number, Resource>();
    const ranges: { start: number; end: number; index: number }[] = [];

    for (let i = 0; i < num; i++) {
      const off = offsets[i] ?? 0;
      const slot = RESOURCE_TABLE_SIZE + 4 * i;
      try {
        // avail = table_sz - offset - sizeof(hdr) must be >= 0 (rproc_handle_resources).
        if (off > size - FW_RSC_HDR_SIZE) {
          throw fatal(
            "RSC_OFFSET_OUT_OF_RANGE",
            "ERR_MALFORMED",
            slot,
            `entry ${i} offset ${hex(off)} leaves no room for its type word in a ${size}-byte table`,
          );
        }
        if (off < headerEnd) {
          note(
            "RSC_OFFSET_IN_HEADER",
            "error",
            slot,
            `entry ${i} offset ${hex(off)} points into the header or offset array (which end at ${hex(headerEnd)})`,
          );
        }
        if (off % 4 !== 0)
          note("RSC_OFFSET_MISALIGNED", "warning", slot, `entry ${i} offset ${hex(off)} is not 4-byte aligned`);
        const avail = size - off - FW_RSC_HDR_SIZE;
        haveBytes(off, FW_RSC_HDR_SIZE);
        const type = u32(off);
        const cached = decoded.get(off);
        const entry = cached ?? decodeEntry(i, off, type, avail);
        decoded.set(off, entry);
        entries.push(entry);
        ranges.push({ start: off, end: off + entryLength(entry), index: i });
      } catch (e) {
        if (e instanceof Fatal && validate) {
          diagnostics.push(e.diagnostic);
          continue;
        }
        throw e;
      }
    }

    if (validate) {
      // Entries must not share bytes (a duplicate offset is the extreme case). Sorted by start,
      // an entry overlaps an earlier one exactly when it starts before the furthest end so far.
      ranges.sort((a, b) => a.start - b.start || a.index - b.index);
      let furthest: { start: number; end: number; index: number } | undefined;
      for (const cur of ranges) {
        if (furthest !== undefined && cur.start < furthest.end) {
          note(
            "RSC_ENTRIES_OVERLAP",
            "error",
            RESOURCE_TABLE_SIZE + 4 * cur.index,
            `entry ${cur.index} at ${hex(cur.start)} overlaps entry ${furthest.index} ([${hex(furthest.start)}, ${hex(furthest.end)}))`,
          );
        }
        if (furthest === undefined || cur.end > furthest.end) furthest = cur;
      }
    }
    return { table: { ver, reserved, size, entries }, diagnostics };
  } catch (e) {
    if (!(e instanceof Fatal)) throw e;
    if (validate) {
      diagnostics.push(e.diagnostic);
      return { table: undefined, diagnostics };
    }
    const d = e.diagnostic;
    throw new AmpError(
      e.ampCode,
      `${d.code}: ${d.message}`,
      e.cause === undefined ? { offset: d.offset } : { offset: d.offset, cause: e.cause },
    );
  }

  // --- per-entry decoding; closures over bytes/size/mode ---

  // The first entry start above `off` (binary search: maxEntries may be raised a lot), or the table end.
  function extentEnd(off: number): number {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] ?? size) > off) hi = mid;
      else lo = mid + 1;
    }
    return starts[lo] ?? size;
  }

  function need(index: number, off: number, bodyLen: number, avail: number, what: string): void {
    if (bodyLen > avail) {
      throw fatal(
        "RSC_ENTRY_TRUNCATED",
        "ERR_MALFORMED",
        off,
        `entry ${index} (${what} at ${hex(off)}) needs ${FW_RSC_HDR_SIZE + bodyLen} bytes; only ${avail + FW_RSC_HDR_SIZE} remain in the table`,
      );
    }
    haveBytes(off, FW_RSC_HDR_SIZE + bodyLen);
  }

  function name(off: number, at: number, index: number): string {
    const n = decodeName(bytes, off + at);
    if (!n.terminated)
      note("RSC_NAME_UNTERMINATED", "error", off + at, `entry ${index}: the 32-byte name has no NUL terminator`);
    if (!n.validUtf8) note("RSC_NAME_INVALID_UTF8", "warning", off + at, `entry ${index}: the name is not valid UTF-8`);
    return n.name;
  }

  function checkRange(index: number, at: number, addr: number, len: number, what: string): void {
    if (addr !== FW_RSC_ADDR_ANY && len > 0x1_0000_0000 - addr) {
      note(
        "RSC_ADDRESS_RANGE_WRAPS",
        "error",
        at,
        `entry ${index}: ${what} ${hex(addr)} + len ${hex(len)} passes the end of the 32-bit address space`,
      );
    }
  }

  function decodeEntry(index: number, off: number, type: number, avail: number): Resource {
    if (type === RSC_CARVEOUT || type === RSC_DEVMEM) {
      const isCarveout = type === RSC_CARVEOUT;
      need(
        index,
        off,
        isCarveout ? FW_RSC_CARVEOUT_SIZE : FW_RSC_DEVMEM_SIZE,
        avail,
        isCarveout ? "carveout" : "devmem",
      );
      const da = u32(off + F.CARVEOUT_DA);
      const pa = u32(off + F.CARVEOUT_PA);
      const len = u32(off + F.CARVEOUT_LEN);
      const flags = u32(off + F.CARVEOUT_FLAGS);
      const reserved = u32(off + F.CARVEOUT_RESERVED);
      if (reserved !== 0)
        note(
          "RSC_RESERVED_NONZERO",
          "error",
          off + F.CARVEOUT_RESERVED,
          `entry ${index}: reserved is ${hex(reserved)}; Linux and OpenAMP require 0`,
        );
      const n = name(off, F.CARVEOUT_NAME, index);
      checkRange(index, off + F.CARVEOUT_DA, da, len, "da");
      // A carveout's pa is usually ANY (the host fills it in), but a fixed one that wraps is as
      // wrong as a devmem's: the host would map or dump memory on both sides of 2^32.
      checkRange(index, off + F.CARVEOUT_PA, pa, len, "pa");
      if (isCarveout) {
        if (len === 0)
          note("RSC_CARVEOUT_LEN_ZERO", "warning", off + F.CARVEOUT_LEN, `entry ${index}: carveout of length 0`);
        return { kind: "carveout", type: RSC_CARVEOUT, offset: off, da, pa, len, flags, reserved, name: n };
      }
      note(
        "RSC_DEVMEM_NEEDS_IOMMU",
        "warning",
        off,
        `entry ${index}: devmem is mapped only by a host with an IOMMU (Linux fails without one; OpenAMP ignores it)`,
      );
      return { kind: "devmem", type: RSC_DEVMEM, offset: off, da, pa, len, flags, reserved, name: n };
    }
    if (type === RSC_TRACE) {
      need(index, off, FW_RSC_TRACE_SIZE, avail, "trace");
      const da = u32(off + F.TRACE_DA);
      const len = u32(off + F.TRACE_LEN);
      const reserved = u32(off + F.TRACE_RESERVED);
      if (reserved !== 0)
        note(
          "RSC_RESERVED_NONZERO",
          "error",
          off + F.TRACE_RESERVED,
          `entry ${index}: reserved is ${hex(reserved)}; Linux and OpenAMP require 0`,
        );
      const n = name(off, F.TRACE_NAME, index);
      if (da === FW_RSC_ADDR_ANY || len === 0) {
        note(
          "RSC_TRACE_UNUSABLE",
          "warning",
          off,
          `entry ${index}: trace buffer with ${da === FW_RSC_ADDR_ANY ? "da = ANY" : "len = 0"}; hosts do not allocate trace buffers and OpenAMP skips it`,
        );
      }
      checkRange(index, off + F.TRACE_DA, da, len, "da");
      return { kind: "trace", type: RSC_TRACE, offset: off, da, len, reserved, name: n };
    }
    if (type === RSC_VDEV) return decodeVdev(index, off, avail);
    // Opaque entries run to the next entry or the end of the table.
    const end = extentEnd(off);
    haveBytes(off, end - off);
    const data = new Uint8Array(bytes.subarray(off + FW_RSC_HDR_SIZE, end)); // own copy, also for a Buffer
    if (isVendorType(type)) {
      if (opts.decodeVendor === undefined) return { kind: "vendor", type, offset: off, data };
      let value: unknown;
      try {
        value = opts.decodeVendor(type, data.slice(), off);
      } catch (e) {
        if (!validate && isAmpError(e)) throw e;
        const why = e instanceof Error ? e.message : String(e);
        throw fatal(
          "RSC_VENDOR_DECODE_FAILED",
          "ERR_MALFORMED",
          off,
          `entry ${index}: vendor type ${type} decoder failed: ${why}`,
          e,
        );
      }
      return { kind: "vendor", type, offset: off, data, decoded: value };
    }
    note(
      "RSC_TYPE_UNSUPPORTED",
      "warning",
      off,
      `entry ${index}: unsupported resource type ${type}; Linux skips it with a warning`,
    );
    return { kind: "unsupported", type, offset: off, data };
  }

  function decodeVdev(index: number, off: number, avail: number): Resource {
    need(index, off, FW_RSC_VDEV_SIZE, avail, "vdev");
    const id = u32(off + F.VDEV_ID);
    const notifyId = u32(off + F.VDEV_NOTIFYID);
    const dfeatures = u32(off + F.VDEV_DFEATURES);
    const gfeatures = u32(off + F.VDEV_GFEATURES);
    const configLen = u32(off + F.VDEV_CONFIG_LEN);
    const status = bytes[off + F.VDEV_STATUS] ?? 0;
    const numOfVrings = bytes[off + F.VDEV_NUM_OF_VRINGS] ?? 0;
    const reserved: [number, number] = [bytes[off + F.VDEV_RESERVED] ?? 0, bytes[off + F.VDEV_RESERVED + 1] ?? 0];
    // 24 + 20*n + config_len <= avail, checked piecewise so nothing can overflow.
    const afterHeader = avail - FW_RSC_VDEV_SIZE;
    if (numOfVrings * FW_RSC_VDEV_VRING_SIZE > afterHeader) {
      throw fatal(
        "RSC_VDEV_VRINGS_TRUNCATED",
        "ERR_MALFORMED",
        off + F.VDEV_NUM_OF_VRINGS,
        `entry ${index}: ${numOfVrings} vrings need ${numOfVrings * FW_RSC_VDEV_VRING_SIZE} bytes; only ${afterHeader} remain in the table`,
      );
    }
    const afterVrings = afterHeader - numOfVrings * FW_RSC_VDEV_VRING_SIZE;
    if (configLen > afterVrings) {
      throw fatal(
        "RSC_VDEV_CONFIG_TRUNCATED",
        "ERR_MALFORMED",
        off + F.VDEV_CONFIG_LEN,
        `entry ${index}: config_len ${hex(configLen)} is larger than the ${afterVrings} bytes left in the table`,
      );
    }
    const configStart = off + F.VDEV_VRINGS + numOfVrings * FW_RSC_VDEV_VRING_SIZE;
    haveBytes(off, configStart + configLen - off);
    if (reserved[0] !== 0 || reserved[1] !== 0) {
      note(
        "RSC_RESERVED_NONZERO",
        "error",
        off + F.VDEV_RESERVED,
        `entry ${index}: vdev reserved bytes are ${reserved[0]}, ${reserved[1]}; Linux requires 0, 0`,
      );
    }
    if (numOfVrings > RSC_VDEV_MAX_VRINGS) {
      note(
        "RSC_VDEV_TOO_MANY_VRINGS",
        "error",
        off + F.VDEV_NUM_OF_VRINGS,
        `entry ${index}: ${numOfVrings} vrings; Linux accepts at most ${RSC_VDEV_MAX_VRINGS}`,
      );
    }
    const vrings: VdevVring[] = [];
    for (let k = 0; k < numOfVrings; k++) {
      const v = off + F.VDEV_VRINGS + k * FW_RSC_VDEV_VRING_SIZE;
      const vring: VdevVring = {
        da: u32(v + F.VRING_DA),
        align: u32(v + F.VRING_ALIGN),
        num: u32(v + F.VRING_NUM),
        notifyId: u32(v + F.VRING_NOTIFYID),
        pa: u32(v + F.VRING_PA),
      };
      if (validate) checkVring(index, k, v, vring);
      vrings.push(vring);
    }
    return {
      kind: "vdev",
      type: RSC_VDEV,
      offset: off,
      id,
      notifyId,
      dfeatures,
      gfeatures,
      configLen,
      status,
      numOfVrings,
      reserved,
      vrings,
      config: new Uint8Array(bytes.subarray(configStart, configStart + configLen)),
    };
  }

  function checkVring(index: number, k: number, v: number, r: VdevVring): void {
    const at = `entry ${index} vring ${k}`;
    if (r.num === 0) note("RSC_VRING_NUM_ZERO", "error", v + F.VRING_NUM, `${at}: num is 0`);
    else if (!isPowerOf2(r.num))
      note(
        "RSC_VRING_NUM_NOT_POWER_OF_2",
        "error",
        v + F.VRING_NUM,
        `${at}: num ${r.num} is not a power of two (OpenAMP and rpmsg-lite mask indices with num - 1)`,
      );
    else if (r.num > maxVringNum)
      note(
        "RSC_VRING_NUM_TOO_LARGE",
        "error",
        v + F.VRING_NUM,
        `${at}: num ${r.num} exceeds ${maxVringNum} (option maxVringNum)`,
      );
    if (r.align === 0) note("RSC_VRING_ALIGN_ZERO", "error", v + F.VRING_ALIGN, `${at}: align is 0`);
    else if (!isPowerOf2(r.align))
      note(
        "RSC_VRING_ALIGN_NOT_POWER_OF_2",
        "error",
        v + F.VRING_ALIGN,
        `${at}: align ${hex(r.align)} is not a power of two`,
      );
    else if (r.align > maxVringAlign)
      note(
        "RSC_VRING_ALIGN_TOO_LARGE",
        "error",
        v + F.VRING_ALIGN,
        `${at}: align ${hex(r.align)} exceeds ${hex(maxVringAlign)} (option maxVringAlign)`,
      );
  }
}

/** Bytes an entry occupies from its type word on (its extent, for opaque entries). */
export function entryLength(e: Resource): number {
  switch (e.kind) {
    case "carveout":
      return FW_RSC_HDR_SIZE + FW_RSC_CARVEOUT_SIZE;
    case "devmem":
      return FW_RSC_HDR_SIZE + FW_RSC_DEVMEM_SIZE;
    case "trace":
      return FW_RSC_HDR_SIZE + FW_RSC_TRACE_SIZE;
    case "vdev":
      return FW_RSC_HDR_SIZE + FW_RSC_VDEV_SIZE + e.vrings.length * FW_RSC_VDEV_VRING_SIZE + e.config.length;
    case "vendor":
    case "unsupported":
      return FW_RSC_HDR_SIZE + e.data.length;
  }
}
