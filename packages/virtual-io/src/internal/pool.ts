// First-fit allocator for request buffers inside the driver's buffer region (device addresses).
// Blocks are 8-byte aligned; freeing merges neighbours. The free list is two parallel number
// arrays sorted by address, so neither alloc nor release allocates an object: a request's
// buffer costs no garbage. With one request at a time (the common case) the first free block
// fits and release merges it straight back.

export class BufferPool {
  private readonly addrs: number[];
  private readonly sizes: number[];

  constructor(addr: number, size: number) {
    if (!Number.isInteger(addr) || addr < 0 || !Number.isInteger(size) || size < 8)
      throw new RangeError("buffer pool needs an integer address and at least 8 bytes");
    const start = (addr + 7) & ~7;
    this.addrs = [start];
    this.sizes = [size - (start - addr)];
  }

  /** The size a block of `size` requested bytes really takes (pass it back to release). */
  static blockSize(size: number): number {
    return Math.max(8, (size + 7) & ~7);
  }

  /** The address of a block of {@link BufferPool.blockSize}(size) bytes, or -1 when none is free. */
  alloc(size: number): number {
    const want = BufferPool.blockSize(size);
    const addrs = this.addrs;
    const sizes = this.sizes;
    for (let i = 0; i < addrs.length; i++) {
      const s = sizes[i] as number;
      if (s < want) continue;
      const a = addrs[i] as number;
      if (s === want) {
        addrs.splice(i, 1);
        sizes.splice(i, 1);
      } else {
        addrs[i] = a + want;
        sizes[i] = s - want;
      }
      return a;
    }
    return -1;
  }

  /** Returns a block from {@link BufferPool.alloc}: its address and its block size. */
  release(addr: number, size: number): void {
    const addrs = this.addrs;
    const sizes = this.sizes;
    let i = 0;
    while (i < addrs.length && (addrs[i] as number) < addr) i++;
    const joinsPrev = i > 0 && (addrs[i - 1] as number) + (sizes[i - 1] as number) === addr;
    const joinsNext = i < addrs.length && addr + size === addrs[i];
    if (joinsPrev && joinsNext) {
      sizes[i - 1] = (sizes[i - 1] as number) + size + (sizes[i] as number);
      addrs.splice(i, 1);
      sizes.splice(i, 1);
    } else if (joinsPrev) {
      sizes[i - 1] = (sizes[i - 1] as number) + size;
    } else if (joinsNext) {
      addrs[i] = addr;
      sizes[i] = size + (sizes[i] as number);
    } else {
      addrs.splice(i, 0, addr);
      sizes.splice(i, 0, size);
    }
  }
}
