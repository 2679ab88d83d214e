// Errors of @amp/resource-table: its stable codes, and the AmpError class of @amp (src/amp-error.ts).
import { AmpError as BaseAmpError } from "./amp-error.js";

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
 * The AmpError class of @amp (`instanceof` holds whichever package threw: see src/amp-error.ts).
 * As a type, `AmpError` alone means an error with one of @amp/resource-table's codes; `AmpError<C>` names other codes.
 */
export const AmpError: typeof BaseAmpError = BaseAmpError;
/** An AmpError whose `code` is one of `C` (by default @amp/resource-table's codes). */
export type AmpError<C extends string = AmpErrorCode> = BaseAmpError<C>;

/** True for an AmpError from any @amp package or any copy of one. */
export { isAmpError } from "./amp-error.js";
