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

/** The one error type of the package; `code` is stable, `offset` is the byte offset when known. */
export class AmpError extends Error {
  override readonly name = "AmpError";
  readonly code: AmpErrorCode;
  readonly offset: number | undefined;
  constructor(code: AmpErrorCode, message: string, options?: { offset?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.offset = options?.offset;
  }
}

/** True for an AmpError from any @amp package or copy of it (checks name and code, not instanceof). */
export function isAmpError(e: unknown): e is AmpError {
  return e instanceof Error && e.name === "AmpError" && typeof (e as { code?: unknown }).code === "string";
}
