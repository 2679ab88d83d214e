// Errors of @amp/elf-loader: its stable codes, and the AmpError class of @amp (src/amp-error.ts).
import { AmpError as BaseAmpError } from "./amp-error.js";

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
 * The AmpError class of @amp (`instanceof` holds whichever package threw: see src/amp-error.ts).
 * As a type, `AmpError` alone means an error with one of @amp/elf-loader's codes; `AmpError<C>` names other codes.
 */
export const AmpError: typeof BaseAmpError = BaseAmpError;
/** An AmpError whose `code` is one of `C` (by default @amp/elf-loader's codes). */
export type AmpError<C extends string = ElfErrorCode> = BaseAmpError<C>;

/** True for an AmpError from any @amp package or any copy of one. */
export { isAmpError } from "./amp-error.js";
