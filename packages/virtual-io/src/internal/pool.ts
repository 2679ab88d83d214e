// First-fit allocator for request buffers inside the driver's buffer region (device addresses).
// Blocks are 8-byte aligned; freeing merges neighbours. Small and predictable, not fast.

export class BufferPool {
  private free: { addr: number; size: number }[];

  constructor(addr: number, size: number) {
    if (!Number.isInteger(addr) || addr < 0 || !Number.isInteger(size) || size < 8)
      throw new RangeError("buffer pool needs an integer address and at least 8 bytes");
    const start = (addr + 7) & ~7;
    this.free = [{ addr: start, size: size - (start - addr) }];
  }

  /** A block of at least `size` bytes, or undefined when none is free. */
  alloc(size: number): { addr: number; size: number } | undefined {
    const want = Math.max(8, (size + 7) & ~7);
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i];
      if (f === undefined || f.size < want) continue;
      const block = { addr: f.addr, size: want };
      if (f.size === want) this.free.splice(i, 1);
      else this.free[i] = { addr: f.addr + want, size: f.size - want };
      return block;
    }
    return undefined;
  }

  /** Returns a block from {@link BufferPool.alloc}. */
  release(block: { addr: number; size: number }): void {
    let i = 0;
    while (i < this.free.length && (this.free[i]?.addr ?? 0) < block.addr) i++;
    this.free.splice(i, 0, { ...block });
    // merge with the next, then with the previous
    const merge = (j: number): void => {
      const a = this.free[j];
      const b = this.free[j + 1];
      if (a !== undefined && b !== undefined && a.addr + a.size === b.addr) {
        this.free.splice(j, 2, { addr: a.addr, size: a.size + b.size });
      }
    };
    merge(i);
    if (i > 0) merge(i - 1);
  }
}
