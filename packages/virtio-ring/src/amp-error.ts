// The AmpError class of @amp and the few helpers every layer's messages need. The packages at the
// bottom of the graph (resource-table, elf-loader, virtio-ring) import nothing, so each keeps this
// file, word for word the same: scripts/check-copies.mjs fails the build when the copies differ.
// The packages above re-export the class of the layer below them instead of having their own.
//
// Three copies are still one class to callers: `instanceof AmpError` asks `isAmpError` (a `name`
// and a string `code` on an Error), so an error thrown by any package, or by a second installed
// copy of one (the dual-package hazard), is an instance of the AmpError imported from any other.

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

  /**
   * `e instanceof AmpError` is `isAmpError(e)`: true for the AmpError of every @amp package and
   * copy. A subclass (such as remoteproc-core's StepError) keeps the ordinary prototype test.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return this === AmpError ? isAmpError(value) : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/**
 * True for an AmpError from any @amp package or any copy of one. It checks `name` and `code`,
 * not the prototype, so two installed copies of a package (the dual-package hazard) still agree.
 * (No `code` parameter: compare `e.code` after it; the remote-side bundle budget counts every
 * byte of this function, which every package ships.)
 *
 * @example
 * ```ts
 * try { parseResourceTable(bytes); } catch (e) { if (isAmpError(e) && e.code === "ERR_TRUNCATED") waitForMore(); }
 * ```
 */
export function isAmpError(e: unknown): e is AmpError {
  return e instanceof Error && e.name === "AmpError" && typeof (e as { code?: unknown }).code === "string";
}

/**
 * `0x` + lower-case hex, no padding: how every @amp message shows an address, offset or size.
 *
 * @example
 * ```ts
 * hex(0x2000_f000); // "0x2000f000"
 * hex(1n << 40n); // "0x10000000000"
 * ```
 */
export function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}

/**
 * `x` rounded up to the next multiple of `align` (a positive integer; not only powers of two,
 * and exact past 2^32, where a bit mask would overflow).
 *
 * @example
 * ```ts
 * alignUp(0x1234, 0x1000); // 0x2000
 * ```
 */
export function alignUp(x: number, align: number): number {
  return Math.ceil(x / align) * align;
}

/**
 * The chunks joined into one fresh Uint8Array, in order (no host API needed).
 *
 * @example
 * ```ts
 * concatBytes([Uint8Array.of(1), Uint8Array.of(2, 3)]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
