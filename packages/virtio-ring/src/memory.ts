// Bytes at device addresses: one small interface, two implementations here (ArrayBuffer and
// SharedArrayBuffer), others in platform packages (a file read with pread/pwrite, a mapping).
// Everything is little-endian (docs/wire-formats.md, "Conventions": remoteproc vrings are host-native = LE on
// every practical host, virtio 1.x rings are LE by spec).
import { checkRange } from "./internal/check.js";

/**
 * Bytes that both sides of a ring can reach. Every accessor is little-endian and bounds-checked:
 * an offset or length outside `[0, byteLength)` throws RangeError, never reads or writes outside.
 *
 * Words that the other side polls (ring indices, flags, status) are accessed with the
 * `*Acquire` / `*Release` forms: a release store makes every earlier write of this side visible
 * to a side that observes the stored value with an acquire load. Over a SharedArrayBuffer these
 * are `Atomics` operations (sequentially consistent, so a release store followed by an acquire
 * load of another word is also a full barrier); over private memory they are plain accesses.
 *
 * @see docs/wire-formats.md, "Memory ordering"
 */
export interface Memory {
  /** Size in bytes; valid offsets are `0 .. byteLength - 1`. */
  readonly byteLength: number;
  /** True when `view()` aliases the memory; false when it returns a copy (e.g. file-backed). */
  readonly zeroCopy: boolean;
  /** Little-endian loads and stores; RangeError outside the memory. */
  getU8(offset: number): number;
  getU16(offset: number): number;
  getU32(offset: number): number;
  getU64(offset: number): bigint;
  setU8(offset: number, value: number): void;
  setU16(offset: number, value: number): void;
  setU32(offset: number, value: number): void;
  setU64(offset: number, value: bigint): void;
  /** Load that is ordered before every later access of this side (pairs with a release store). */
  getU8Acquire(offset: number): number;
  getU16Acquire(offset: number): number;
  getU32Acquire(offset: number): number;
  /** Store that publishes every earlier write of this side to an acquiring reader. */
  setU8Release(offset: number, value: number): void;
  setU16Release(offset: number, value: number): void;
  setU32Release(offset: number, value: number): void;
  /** A copy of `length` bytes at `offset`. */
  read(offset: number, length: number): Uint8Array;
  /** Copies `target.length` bytes at `offset` into `target` (no allocation). */
  readInto(offset: number, target: Uint8Array): void;
  /** Copies `bytes` to `offset`. */
  write(offset: number, bytes: Uint8Array): void;
  /** Sets `length` bytes at `offset` to `value`. */
  fill(offset: number, length: number, value: number): void;
  /**
   * The bytes at `offset`, without a copy where the backing allows it (`zeroCopy`). A memory
   * that cannot alias (a file) returns a copy: writes to it are then not seen; use `write`.
   */
  view(offset: number, length: number): Uint8Array;
}

const LE = true;

/** Host byte order: Atomics use native order, the wire is little-endian. */
function hostIsLittleEndian(): boolean {
  return new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
}
const NATIVE_LE = /*@__PURE__*/ hostIsLittleEndian();

function swap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}
function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/**
 * Memory over (part of) an ArrayBuffer, for one agent (or for tests). Acquire/release forms are
 * plain accesses: nothing else can observe the bytes concurrently.
 *
 * @example
 * const mem = new ArrayBufferMemory(new ArrayBuffer(4096));
 * mem.setU32(0, 0xdeadbeef); mem.getU8(0); // 0xef
 */
export class ArrayBufferMemory implements Memory {
  readonly byteLength: number;
  readonly zeroCopy: boolean = true;
  /** The backing buffer and where this memory starts in it. */
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  protected readonly dv: DataView;
  protected readonly u8: Uint8Array;

  /**
   * @throws RangeError when `[byteOffset, byteOffset + byteLength)` is not inside `buffer`.
   */
  constructor(buffer: ArrayBufferLike, byteOffset = 0, byteLength: number = buffer.byteLength - byteOffset) {
    checkRange(byteOffset, byteLength, buffer.byteLength, "memory window");
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.byteLength = byteLength;
    this.dv = new DataView(buffer, byteOffset, byteLength);
    this.u8 = new Uint8Array(buffer, byteOffset, byteLength);
  }

  getU8(offset: number): number {
    return this.dv.getUint8(offset);
  }
  getU16(offset: number): number {
    return this.dv.getUint16(offset, LE);
  }
  getU32(offset: number): number {
    return this.dv.getUint32(offset, LE);
  }
  getU64(offset: number): bigint {
    return this.dv.getBigUint64(offset, LE);
  }
  setU8(offset: number, value: number): void {
    this.dv.setUint8(offset, value);
  }
  setU16(offset: number, value: number): void {
    this.dv.setUint16(offset, value, LE);
  }
  setU32(offset: number, value: number): void {
    this.dv.setUint32(offset, value, LE);
  }
  setU64(offset: number, value: bigint): void {
    this.dv.setBigUint64(offset, value, LE);
  }
  getU8Acquire(offset: number): number {
    return this.dv.getUint8(offset);
  }
  getU16Acquire(offset: number): number {
    return this.dv.getUint16(offset, LE);
  }
  getU32Acquire(offset: number): number {
    return this.dv.getUint32(offset, LE);
  }
  setU8Release(offset: number, value: number): void {
    this.dv.setUint8(offset, value);
  }
  setU16Release(offset: number, value: number): void {
    this.dv.setUint16(offset, value, LE);
  }
  setU32Release(offset: number, value: number): void {
    this.dv.setUint32(offset, value, LE);
  }
  read(offset: number, length: number): Uint8Array {
    checkRange(offset, length, this.byteLength, "read");
    return this.u8.slice(offset, offset + length);
  }
  readInto(offset: number, target: Uint8Array): void {
    checkRange(offset, target.length, this.byteLength, "read");
    target.set(this.u8.subarray(offset, offset + target.length));
  }
  write(offset: number, bytes: Uint8Array): void {
    checkRange(offset, bytes.length, this.byteLength, "write");
    this.u8.set(bytes, offset);
  }
  fill(offset: number, length: number, value: number): void {
    checkRange(offset, length, this.byteLength, "fill");
    this.u8.fill(value, offset, offset + length);
  }
  view(offset: number, length: number): Uint8Array {
    checkRange(offset, length, this.byteLength, "view");
    return this.u8.subarray(offset, offset + length);
  }
  /** A window of this memory sharing its bytes (same class). @throws RangeError outside. */
  sub(offset: number, length: number): ArrayBufferMemory {
    checkRange(offset, length, this.byteLength, "sub-view");
    return new ArrayBufferMemory(this.buffer, this.byteOffset + offset, length);
  }
}

/**
 * Memory over (part of) a SharedArrayBuffer seen by several agents (workers). The acquire and
 * release forms are `Atomics.load` / `Atomics.store`, so a worker that sees a new ring index also
 * sees the descriptors and data written before it. They need natural alignment in the buffer
 * (2 or 4 bytes; ring fields always are): a misaligned one throws RangeError.
 *
 * @example
 * const sab = new SharedArrayBuffer(65536);
 * const mine = new SharedMemory(sab); // post `sab` to the worker, which builds its own
 */
export class SharedMemory extends ArrayBufferMemory {
  private readonly a8: Uint8Array;
  private readonly a16: Uint16Array;
  private readonly a32: Uint32Array;

  constructor(buffer: SharedArrayBuffer, byteOffset = 0, byteLength: number = buffer.byteLength - byteOffset) {
    super(buffer, byteOffset, byteLength);
    this.a8 = new Uint8Array(buffer);
    this.a16 = new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
    this.a32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
  }

  private index(offset: number, size: number): number {
    if (!(offset >= 0 && offset <= this.byteLength - size)) {
      throw new RangeError(`atomic access at ${offset} (+${size}) outside memory of ${this.byteLength} bytes`);
    }
    const abs = this.byteOffset + offset;
    if (abs % size !== 0) throw new RangeError(`atomic access at ${offset} is not ${size}-byte aligned`);
    return abs / size;
  }
  override getU8Acquire(offset: number): number {
    return Atomics.load(this.a8, this.index(offset, 1));
  }
  override getU16Acquire(offset: number): number {
    const v = Atomics.load(this.a16, this.index(offset, 2));
    return NATIVE_LE ? v : swap16(v);
  }
  override getU32Acquire(offset: number): number {
    const v = Atomics.load(this.a32, this.index(offset, 4));
    return NATIVE_LE ? v : swap32(v);
  }
  override setU8Release(offset: number, value: number): void {
    Atomics.store(this.a8, this.index(offset, 1), value);
  }
  override setU16Release(offset: number, value: number): void {
    Atomics.store(this.a16, this.index(offset, 2), NATIVE_LE ? value : swap16(value));
  }
  override setU32Release(offset: number, value: number): void {
    Atomics.store(this.a32, this.index(offset, 4), NATIVE_LE ? value : swap32(value));
  }
  override sub(offset: number, length: number): SharedMemory {
    checkRange(offset, length, this.byteLength, "sub-view");
    return new SharedMemory(this.buffer as SharedArrayBuffer, this.byteOffset + offset, length);
  }
}

/** A window `[offset, offset + length)` of any Memory, delegating to it. */
class OffsetMemory implements Memory {
  readonly byteLength: number;
  readonly zeroCopy: boolean;
  private readonly base: Memory;
  private readonly at: number;
  constructor(base: Memory, at: number, length: number) {
    this.base = base;
    this.at = at;
    this.byteLength = length;
    this.zeroCopy = base.zeroCopy;
  }
  private o(offset: number, size: number): number {
    checkRange(offset, size, this.byteLength, "access");
    return this.at + offset;
  }
  getU8(offset: number): number {
    return this.base.getU8(this.o(offset, 1));
  }
  getU16(offset: number): number {
    return this.base.getU16(this.o(offset, 2));
  }
  getU32(offset: number): number {
    return this.base.getU32(this.o(offset, 4));
  }
  getU64(offset: number): bigint {
    return this.base.getU64(this.o(offset, 8));
  }
  setU8(offset: number, value: number): void {
    this.base.setU8(this.o(offset, 1), value);
  }
  setU16(offset: number, value: number): void {
    this.base.setU16(this.o(offset, 2), value);
  }
  setU32(offset: number, value: number): void {
    this.base.setU32(this.o(offset, 4), value);
  }
  setU64(offset: number, value: bigint): void {
    this.base.setU64(this.o(offset, 8), value);
  }
  getU8Acquire(offset: number): number {
    return this.base.getU8Acquire(this.o(offset, 1));
  }
  getU16Acquire(offset: number): number {
    return this.base.getU16Acquire(this.o(offset, 2));
  }
  getU32Acquire(offset: number): number {
    return this.base.getU32Acquire(this.o(offset, 4));
  }
  setU8Release(offset: number, value: number): void {
    this.base.setU8Release(this.o(offset, 1), value);
  }
  setU16Release(offset: number, value: number): void {
    this.base.setU16Release(this.o(offset, 2), value);
  }
  setU32Release(offset: number, value: number): void {
    this.base.setU32Release(this.o(offset, 4), value);
  }
  read(offset: number, length: number): Uint8Array {
    return this.base.read(this.o(offset, length), length);
  }
  readInto(offset: number, target: Uint8Array): void {
    this.base.readInto(this.o(offset, target.length), target);
  }
  write(offset: number, bytes: Uint8Array): void {
    this.base.write(this.o(offset, bytes.length), bytes);
  }
  fill(offset: number, length: number, value: number): void {
    this.base.fill(this.o(offset, length), length, value);
  }
  view(offset: number, length: number): Uint8Array {
    return this.base.view(this.o(offset, length), length);
  }
}

/**
 * A window `[offset, offset + length)` of `memory` as a Memory of its own (offsets start at 0).
 * Uses `sub()` of the built-in implementations, else a delegating wrapper, so any platform
 * Memory gets sub-views for free.
 *
 * @throws RangeError when the window is not inside `memory`.
 */
export function subMemory(memory: Memory, offset: number, length: number): Memory {
  checkRange(offset, length, memory.byteLength, "sub-view");
  if (memory instanceof ArrayBufferMemory) return memory.sub(offset, length);
  return new OffsetMemory(memory, offset, length);
}
