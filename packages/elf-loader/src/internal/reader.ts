// Endian- and class-aware field reads over one DataView. Every read is bounds-checked here as a
// last line of defence (callers check ranges first and report better errors): a hostile file
// must surface as AmpError, never as a RangeError from DataView.
import { AmpError } from "../errors.js";

export class FieldReader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly le: boolean;
  readonly is64: boolean;

  constructor(bytes: Uint8Array, le: boolean, is64: boolean) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.le = le;
    this.is64 = is64;
  }

  private check(offset: number, size: number): void {
    if (offset < 0 || offset > this.bytes.length - size) {
      throw new AmpError(
        "ERR_TRUNCATED",
        `read of ${size} bytes at offset ${offset} is past the end (${this.bytes.length} bytes)`,
        { offset },
      );
    }
  }

  u8(offset: number): number {
    this.check(offset, 1);
    return this.view.getUint8(offset);
  }

  u16(offset: number): number {
    this.check(offset, 2);
    return this.view.getUint16(offset, this.le);
  }

  u32(offset: number): number {
    this.check(offset, 4);
    return this.view.getUint32(offset, this.le);
  }

  u64(offset: number): bigint {
    this.check(offset, 8);
    return this.view.getBigUint64(offset, this.le);
  }

  /** A class-sized word (Elf32_Addr/Off/Word or Elf64_Addr/Off/Xword) as bigint. */
  word(offset: number): bigint {
    return this.is64 ? this.u64(offset) : BigInt(this.u32(offset));
  }
}

/** Writes fields into a buffer being built (coredump headers). */
export class FieldWriter {
  readonly view: DataView;
  readonly le: boolean;
  readonly is64: boolean;

  constructor(bytes: Uint8Array, le: boolean, is64: boolean) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.le = le;
    this.is64 = is64;
  }

  u8(offset: number, v: number): void {
    this.view.setUint8(offset, v);
  }

  u16(offset: number, v: number): void {
    this.view.setUint16(offset, v, this.le);
  }

  u32(offset: number, v: number): void {
    this.view.setUint32(offset, v, this.le);
  }

  /** A class-sized word; the caller has checked that it fits (32 bits for ELF32). */
  word(offset: number, v: bigint): void {
    if (this.is64) this.view.setBigUint64(offset, v, this.le);
    else this.view.setUint32(offset, Number(v), this.le);
  }
}

export const MAX_SAFE: bigint = BigInt(Number.MAX_SAFE_INTEGER);
export const U32_LIMIT: bigint = 1n << 32n;
export const U64_LIMIT: bigint = 1n << 64n;

/** Hex with 0x prefix, for messages (src/amp-error.ts). */
export { hex } from "../amp-error.js";
