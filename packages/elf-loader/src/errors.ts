/**
 * Stable error codes of @amp/elf-loader. Misuse by the caller (a bad argument) throws a standard
 * TypeError/RangeError instead; AmpError is for bytes that came from outside (the firmware file,
 * a coredump, a companion .bNN file) and for a load sink that refuses a range.
 */
export type ElfErrorCode =
  | "ERR_TRUNCATED" // not enough bytes: the file (or the stream so far) ends too early
  | "ERR_MALFORMED" // the bytes are wrong: reject the file
  | "ERR_UNSUPPORTED" // well-formed but not something this version handles (e.g. wrong endianness)
  | "ERR_LIMIT" // a configured limit (program headers, sections, symbols, buffering) was exceeded
  | "ERR_RANGE" // a value does not fit (a 64-bit address past the target's address width, 2^53)
  | "ERR_NO_SECTIONS" // a section lookup on a file that has no section headers
  | "ERR_SINK" // the load sink refused a range, or a companion file could not be read
  | "ERR_STATE"; // a streaming loader used after it finished or failed

/**
 * The one error type of @amp: `code` is stable (switch on it), `offset` is the byte offset in
 * the input when known. Upper packages reuse this shape with codes of their own (`C`).
 */
export class AmpError<C extends string = ElfErrorCode> extends Error {
  override readonly name = "AmpError";
  readonly code: C;
  readonly offset: number | undefined;
  constructor(code: C, message: string, options?: { offset?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.offset = options?.offset;
  }
}

/**
 * True for an AmpError from any @amp package or any copy of one: it checks `name` and `code`,
 * not `instanceof`, so two installed copies of a package (the dual-package hazard) still agree.
 */
export function isAmpError(e: unknown): e is AmpError<string> {
  return e instanceof Error && e.name === "AmpError" && typeof (e as { code?: unknown }).code === "string";
}
