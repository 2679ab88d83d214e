// parseResourceTable and validateResourceTable: thin public entries over internal/scan.ts.
import { scanTable } from "./internal/scan.js";
import type { Diagnostic, ParseOptions, ResourceTable, ValidateOptions } from "./types.js";

/**
 * Decodes a resource table: the header and every entry, with its byte offset, in the order of
 * the offset array. Semantic problems (reserved fields, vring sizes, names without NUL...) do
 * not stop parsing: run {@link validateResourceTable} for those. Types 4..127 and above 512
 * come back as `kind: "unsupported"`, vendor types 128..512 as `kind: "vendor"` with their
 * opaque bytes (and `decoded` when a `decodeVendor` hook is given).
 *
 * Never reads past `bytes` (nor past `regionSize`), never loops more than `maxEntries` times.
 *
 * @throws AmpError ERR_TRUNCATED when the table (or a part of the region) is missing from `bytes`;
 *   ERR_UNSUPPORTED when `ver` is not 1; ERR_LIMIT when `num` exceeds `maxEntries`;
 *   ERR_MALFORMED when the offset array, an entry offset or an entry's vrings/config lie
 *   outside the table, or the vendor hook threw. The message starts with the diagnostic code.
 * @throws TypeError / RangeError for a bad argument (not bytes, negative regionSize...).
 * @example
 * const table = parseResourceTable(bytes);
 * for (const e of table.entries) if (e.kind === "vdev") console.log(e.id, e.vrings.length);
 * @see docs/wire-formats.md, "Resource table" (include/linux/remoteproc.h, remoteproc_core.c rproc_handle_resources)
 */
export function parseResourceTable(bytes: Uint8Array, options: ParseOptions = {}): ResourceTable {
  const { table } = scanTable(bytes, options, "parse");
  // In parse mode a walk either throws or yields a table.
  if (table === undefined) throw new Error("unreachable: parse produced no table");
  return table;
}

/**
 * Checks a resource table the way Linux (find_table, rproc_handle_resources) and a hardened
 * OpenAMP would, and returns every finding as a diagnostic with a stable code and the byte
 * offset of the field concerned. An empty array means the table is clean. Structural problems
 * that make parseResourceTable throw are reported here too (the walk then skips that entry).
 *
 * @throws TypeError / RangeError for a bad argument only; never AmpError.
 * @example
 * const errors = validateResourceTable(bytes).filter((d) => d.severity === "error");
 * @see docs/wire-formats.md, "Resource table", behaviour-and-features.md §6 rows 2 and 9
 */
export function validateResourceTable(bytes: Uint8Array, options: ValidateOptions = {}): Diagnostic[] {
  return scanTable(bytes, options, "validate").diagnostics;
}

/** What {@link checkResourceTable} found: every diagnostic, and the table when none is an error. */
export interface ResourceTableCheck {
  /** The decoded table; undefined when a diagnostic has severity "error". */
  readonly table: ResourceTable | undefined;
  /** Every finding, as {@link validateResourceTable} returns them. */
  readonly diagnostics: Diagnostic[];
}

/**
 * {@link validateResourceTable} and {@link parseResourceTable} in one walk over the bytes: a
 * host that must refuse a table with any error, then use it, reads the table once.
 *
 * @throws TypeError / RangeError for a bad argument only; never AmpError.
 * @example
 * const { table, diagnostics } = checkResourceTable(bytes);
 * if (table === undefined) throw new Error(diagnostics[0]?.message);
 */
export function checkResourceTable(bytes: Uint8Array, options: ValidateOptions = {}): ResourceTableCheck {
  const { table, diagnostics } = scanTable(bytes, options, "validate");
  return { table: diagnostics.some((d) => d.severity === "error") ? undefined : table, diagnostics };
}
