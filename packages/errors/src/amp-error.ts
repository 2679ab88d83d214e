// The one error class of @amp. Every package re-exports this class instead of declaring its own,
// so `instanceof AmpError` holds whichever package threw and whichever package the caller
// imported it from. `isAmpError` stays the check to prefer: it looks at `name` and `code`, which
// also works across two installed copies of this package (the dual-package hazard).

/** Options of {@link AmpError}: where in the input it went wrong, and what caused it. */
export interface AmpErrorOptions {
  /** Byte offset in the input (a table, an ELF file, ring memory) where the problem is, if known. */
  readonly offset?: number;
  /** The error this one wraps (kept as the standard `Error.cause`). */
  readonly cause?: unknown;
}

/**
 * The error type of every @amp package, for anything that came from outside (bytes, a peer, a
 * platform): `code` is stable (switch on it), `offset` is the byte offset in the input when
 * known, `cause` the wrapped error. Each package names its codes in a union (`C`), such as
 * `AmpError<RpmsgErrorCode>`. Caller misuse throws `TypeError`/`RangeError` instead.
 *
 * @example
 * ```ts
 * throw new AmpError("ERR_TRUNCATED", `header needs 16 bytes at ${hex(at)}`, { offset: at });
 * ```
 */
export class AmpError<C extends string = string> extends Error {
  /** Always "AmpError" (set explicitly: minifiers rename classes). */
  override readonly name = "AmpError";
  /** The stable code, e.g. "ERR_MALFORMED". */
  readonly code: C;
  /** Byte offset in the input where the problem is, when known. */
  readonly offset: number | undefined;
  constructor(code: C, message: string, options?: AmpErrorOptions) {
    // Pass no options object at all when there is no cause, so `"cause" in e` stays false.
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.offset = options?.offset;
  }
}

/**
 * True for an AmpError from any @amp package or any copy of one. It checks `name` and `code`,
 * not `instanceof`, so two installed copies of @amp/errors (the dual-package hazard) still
 * agree. (No `code` parameter: compare `e.code` after it; the remote-side bundle budget counts
 * every byte of this function, which every package ships.)
 *
 * @example
 * ```ts
 * try { parseResourceTable(bytes); } catch (e) { if (isAmpError(e) && e.code === "ERR_TRUNCATED") waitForMore(); }
 * ```
 */
export function isAmpError(e: unknown): e is AmpError {
  return e instanceof Error && e.name === "AmpError" && typeof (e as { code?: unknown }).code === "string";
}
