/**
 * Stable error codes of @amp/virtio-ring. Misuse by the caller (a bad argument, calling a method
 * in the wrong state) throws a standard TypeError/RangeError instead; AmpError is for what came
 * from outside: ring memory the peer wrote, a transport's status and feature words.
 */
export type VirtioErrorCode =
  | "ERR_TRUNCATED" // not enough bytes (yet): a streaming reader may wait for more
  | "ERR_MALFORMED" // the bytes are wrong: drop or reject
  | "ERR_UNSUPPORTED" // well-formed but not something this version handles
  | "ERR_LIMIT" // a configured limit was exceeded (chain length, indirect table size)
  | "ERR_RANGE" // a value does not fit (e.g. a 64-bit address past 2^53)
  | "ERR_BAD_ADDRESS" // a device address + length is not inside one mapped range
  | "ERR_BAD_INDEX" // a ring index, head index or descriptor index from the peer is out of range
  | "ERR_BAD_CHAIN" // a descriptor chain is malformed: a loop, bad flags, wrong direction order
  | "ERR_BAD_USED" // a used entry names a buffer that is not outstanding, or claims too many bytes
  | "ERR_NEEDS_RESET" // the queue saw a violation earlier and refuses work until reset()
  | "ERR_FEATURES" // feature negotiation failed (device refused FEATURES_OK, bits not offered)
  | "ERR_STATUS" // the device status says FAILED / NEEDS_RESET, or the handshake is out of order
  | "ERR_ABORTED" // an AbortSignal fired while waiting
  | "ERR_TIMEOUT"; // a wait ran past its deadline

/**
 * The one error type of @amp: `code` is stable (switch on it), `offset` is the byte offset in
 * the input when known. Upper packages reuse this shape with codes of their own (`C`).
 */
export class AmpError<C extends string = VirtioErrorCode> extends Error {
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
