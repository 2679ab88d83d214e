/**
 * Stable error codes of @amp/resource-table. Misuse by the caller (a bad argument) throws a
 * standard TypeError/RangeError instead; AmpError is for bytes that came from outside.
 */
export type AmpErrorCode =
  | "ERR_TRUNCATED" // not enough bytes (yet): a streaming reader may wait for more
  | "ERR_MALFORMED" // the bytes are wrong: drop or reject
  | "ERR_UNSUPPORTED" // well-formed but not something this version handles
  | "ERR_LIMIT" // a configured limit was exceeded
  | "ERR_RANGE"; // a value does not fit (e.g. a 64-bit address past 2^53)

/**
 * The one error type of @amp: `code` is stable (switch on it), `offset` is the byte offset in
 * the input when known. Upper packages reuse this shape with codes of their own (`C`).
 */
export class AmpError<C extends string = AmpErrorCode> extends Error {
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
