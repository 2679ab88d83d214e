// The byte accessor the live view works over. It is structural: @amp/virtio-ring's Memory has
// exactly these members, so a Memory can be passed where a ByteAccessor is expected.

/**
 * Little-endian access to a byte range (shared memory, a file mapping, a plain buffer).
 * Offsets are relative to the start of the accessor. Implementations bounds-check and throw
 * on out-of-range access; the live view checks before calling anyway.
 */
export interface ByteAccessor {
  /** Number of addressable bytes. */
  readonly byteLength: number;
  /** Reads the byte at `offset`. */
  getU8(offset: number): number;
  /** Reads the little-endian u32 at `offset`. */
  getU32(offset: number): number;
  /** Writes the byte `value` at `offset`. */
  setU8(offset: number, value: number): void;
  /** Writes `value` as a little-endian u32 at `offset`. */
  setU32(offset: number, value: number): void;
  /** Reads `length` bytes at `offset` (a copy or a view; the caller does not keep it). */
  read(offset: number, length: number): Uint8Array;
}

/**
 * A {@link ByteAccessor} over a Uint8Array (which may sit on a SharedArrayBuffer). Accesses
 * outside the array throw RangeError.
 *
 * @example
 * const view = new ResourceTableView(createByteAccessor(bytes));
 */
export function createByteAccessor(bytes: Uint8Array): ByteAccessor {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("bytes must be a Uint8Array");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const LE = true;
  const check = (offset: number, length: number): void => {
    if (!Number.isSafeInteger(offset) || offset < 0 || length > bytes.byteLength - offset) {
      throw new RangeError(`access [${offset}, ${offset + length}) outside ${bytes.byteLength} bytes`);
    }
  };
  return {
    byteLength: bytes.byteLength,
    getU8: (offset) => {
      check(offset, 1);
      return dv.getUint8(offset);
    },
    getU32: (offset) => {
      check(offset, 4);
      return dv.getUint32(offset, LE);
    },
    setU8: (offset, value) => {
      check(offset, 1);
      dv.setUint8(offset, value);
    },
    setU32: (offset, value) => {
      check(offset, 4);
      dv.setUint32(offset, value, LE);
    },
    read: (offset, length) => {
      if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad length ${length}`);
      check(offset, length);
      return new Uint8Array(bytes.subarray(offset, offset + length)); // a copy even for a Node Buffer
    },
  };
}
