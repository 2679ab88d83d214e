// Memory backed by a file that another process maps (QEMU's `memory-backend-file,share=on`):
// every access is a pread/pwrite at an offset, no native addon. On Linux these go to the same
// page-cache pages the other process maps MAP_SHARED, so both directions are visible at once
// (measured: qemu-remote.md §2). Aligned 4-byte pread/pwrite were never seen torn, but that is not
// an API guarantee: keep one writer per field, as virtio does.
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import type { Memory } from "@amp/virtio-ring";

/** Options of {@link FileMemory.open}. */
export interface FileMemoryOptions {
  /**
   * Size in bytes. A file that is smaller is extended (sparse) to it; a larger file is used up to
   * this size. Default: the file's current size (which must then be > 0).
   */
  readonly size?: number;
  /** Create the file when it does not exist (default true). */
  readonly create?: boolean;
  /** Open read-only: every write throws (default false). */
  readonly readOnly?: boolean;
}

function checkRange(offset: number, length: number, size: number, what: string): void {
  if (
    !Number.isInteger(offset) ||
    !Number.isInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset > size ||
    length > size - offset
  ) {
    throw new RangeError(`${what} [${offset}, +${length}) outside file memory of ${size} bytes`);
  }
}

/**
 * A Memory (the `@amp/virtio-ring` interface) over a file, accessed with positional reads and
 * writes. Little-endian like every @amp memory. The acquire/release forms are the plain forms:
 * each access is one system call, which the kernel neither reorders nor merges with the others,
 * so program order is the order the other side sees (x86-64 and arm64 hosts alike).
 *
 * `zeroCopy` is false: `view()` returns a copy.
 *
 * @example
 * const mem = FileMemory.open("/dev/shm/remote.mem", { size: 16 << 20 });
 * mem.setU32(0, 0x12345678);
 * mem.close();
 */
export class FileMemory implements Memory {
  /** Path of the backing file. */
  readonly path: string;
  readonly byteLength: number;
  readonly zeroCopy: boolean = false;
  private fd: number;
  private readonly readOnly: boolean;
  private readonly scratch = new Uint8Array(8);
  private readonly dv = new DataView(this.scratch.buffer);

  private constructor(path: string, fd: number, size: number, readOnly: boolean) {
    this.path = path;
    this.fd = fd;
    this.byteLength = size;
    this.readOnly = readOnly;
  }

  /**
   * Opens (and by default creates) the backing file.
   *
   * @throws RangeError for a bad `size`; the fs error (ENOENT, EACCES...) when the file cannot be opened.
   */
  static open(path: string, options: FileMemoryOptions = {}): FileMemory {
    const { size, create = true, readOnly = false } = options;
    if (size !== undefined && (!Number.isSafeInteger(size) || size <= 0))
      throw new RangeError(`size must be a positive integer, got ${size}`);
    const flags = readOnly ? constants.O_RDONLY : constants.O_RDWR | (create ? constants.O_CREAT : 0);
    const fd = openSync(path, flags, 0o600);
    try {
      const current = fstatSync(fd).size;
      const want = size ?? current;
      if (want <= 0) throw new RangeError(`file memory ${path} is empty: pass a size`);
      if (current < want) {
        if (readOnly) throw new RangeError(`file memory ${path} is ${current} bytes, smaller than ${want}`);
        ftruncateSync(fd, want);
      }
      return new FileMemory(path, fd, want, readOnly);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** True once {@link close} ran. */
  get closed(): boolean {
    return this.fd < 0;
  }

  /** Closes the file descriptor; later accesses throw. Idempotent. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private fdFor(write: boolean): number {
    if (this.fd < 0) throw new TypeError(`file memory ${this.path} is closed`);
    if (write && this.readOnly) throw new TypeError(`file memory ${this.path} is read-only`);
    return this.fd;
  }

  private pread(target: Uint8Array, offset: number): void {
    const fd = this.fdFor(false);
    let done = 0;
    while (done < target.length) {
      const n = readSync(fd, target, done, target.length - done, offset + done);
      if (n === 0) {
        // A file shrunk under us (truncated by someone else): the missing bytes read as 0.
        target.fill(0, done);
        return;
      }
      done += n;
    }
  }

  private pwrite(source: Uint8Array, offset: number): void {
    const fd = this.fdFor(true);
    let done = 0;
    while (done < source.length) done += writeSync(fd, source, done, source.length - done, offset + done);
  }

  private load(offset: number, size: number): DataView {
    checkRange(offset, size, this.byteLength, "read");
    this.pread(this.scratch.subarray(0, size), offset);
    return this.dv;
  }

  private store(offset: number, size: number): void {
    this.pwrite(this.scratch.subarray(0, size), offset);
  }

  getU8(offset: number): number {
    return this.load(offset, 1).getUint8(0);
  }
  getU16(offset: number): number {
    return this.load(offset, 2).getUint16(0, true);
  }
  getU32(offset: number): number {
    return this.load(offset, 4).getUint32(0, true);
  }
  getU64(offset: number): bigint {
    return this.load(offset, 8).getBigUint64(0, true);
  }
  setU8(offset: number, value: number): void {
    checkRange(offset, 1, this.byteLength, "write");
    this.dv.setUint8(0, value);
    this.store(offset, 1);
  }
  setU16(offset: number, value: number): void {
    checkRange(offset, 2, this.byteLength, "write");
    this.dv.setUint16(0, value, true);
    this.store(offset, 2);
  }
  setU32(offset: number, value: number): void {
    checkRange(offset, 4, this.byteLength, "write");
    this.dv.setUint32(0, value, true);
    this.store(offset, 4);
  }
  setU64(offset: number, value: bigint): void {
    checkRange(offset, 8, this.byteLength, "write");
    this.dv.setBigUint64(0, value, true);
    this.store(offset, 8);
  }
  getU8Acquire(offset: number): number {
    return this.getU8(offset);
  }
  getU16Acquire(offset: number): number {
    return this.getU16(offset);
  }
  getU32Acquire(offset: number): number {
    return this.getU32(offset);
  }
  setU8Release(offset: number, value: number): void {
    this.setU8(offset, value);
  }
  setU16Release(offset: number, value: number): void {
    this.setU16(offset, value);
  }
  setU32Release(offset: number, value: number): void {
    this.setU32(offset, value);
  }
  read(offset: number, length: number): Uint8Array {
    checkRange(offset, length, this.byteLength, "read");
    const out = new Uint8Array(length);
    this.pread(out, offset);
    return out;
  }
  readInto(offset: number, target: Uint8Array): void {
    checkRange(offset, target.length, this.byteLength, "read");
    this.pread(target, offset);
  }
  write(offset: number, bytes: Uint8Array): void {
    checkRange(offset, bytes.length, this.byteLength, "write");
    this.pwrite(bytes, offset);
  }
  fill(offset: number, length: number, value: number): void {
    checkRange(offset, length, this.byteLength, "fill");
    const chunk = new Uint8Array(Math.min(length, 1 << 16)).fill(value);
    for (let done = 0; done < length; done += chunk.length) {
      this.pwrite(chunk.subarray(0, Math.min(chunk.length, length - done)), offset + done);
    }
  }
  /** A copy (`zeroCopy` is false): writing to it does not change the file. */
  view(offset: number, length: number): Uint8Array {
    return this.read(offset, length);
  }
}
