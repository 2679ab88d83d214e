// Device addresses (`da`, as the remote sees them) to bytes. Ring descriptors carry u64 device
// addresses; nothing here ever trusts one: a buffer must lie entirely inside one mapped range.
import { AmpError } from "./errors.js";
import type { Memory } from "./memory.js";
import { checkRange } from "./internal/check.js";

/** One mapping: device addresses `[da, da + length)` are bytes `[offset, offset + length)` of `memory`. */
export interface AddressRange {
  readonly da: number;
  readonly length: number;
  readonly memory: Memory;
  readonly offset: number;
  /** A label for error messages, e.g. the carveout name. */
  readonly name: string | undefined;
}

/** Options of {@link AddressSpace.map}. */
export interface MapOptions {
  /** Where the range starts in `memory` (default 0). */
  offset?: number;
  /** Length of the range (default: the rest of `memory` after `offset`). */
  length?: number;
  name?: string;
}

/** Largest device address a `number` holds exactly; larger u64 addresses are rejected. */
const MAX_DA = Number.MAX_SAFE_INTEGER;

/**
 * Converts a 64-bit value to a number, or throws AmpError ERR_RANGE when it exceeds 2^53 - 1.
 * @throws AmpError ERR_RANGE
 */
export function toSafeNumber(x: bigint, what: string): number {
  if (x < 0n || x > BigInt(MAX_DA)) throw new AmpError("ERR_RANGE", `${what} 0x${x.toString(16)} does not fit in 2^53`);
  return Number(x);
}

/**
 * What the rings, rpmsg and virtual-io need of an address space: lookups, nothing else. Their
 * options take this interface rather than the {@link AddressSpace} class, so an address space
 * from another installed copy of this package (two versions side by side in node_modules) is
 * accepted by the type checker too: a class with private members only matches its own
 * declaration, an interface matches anything with these members.
 */
export interface AddressSpaceLike {
  /** The range that holds all of `[da, da + length)`, or undefined (see {@link AddressSpace.find}). */
  find(da: number, length: number): AddressRange | undefined;
  /**
   * Memory and offset of `[da, da + length)` (see {@link AddressSpace.translate}).
   * @throws AmpError ERR_BAD_ADDRESS when no single range holds it; ERR_RANGE past 2^53.
   */
  translate(da: number | bigint, length: number): { memory: Memory; offset: number };
}

/**
 * Explicit translation from device addresses to memory. Ranges never overlap; a lookup succeeds
 * only when the whole `[da, da + length)` lies inside one range (a buffer that crosses a range
 * end is rejected even if the next range is adjacent: the bytes need not be contiguous).
 *
 * @example
 * const space = new AddressSpace().map(0x1000_0000, mem);
 * space.translate(0x1000_0040, 16); // { memory: mem, offset: 0x40 }
 */
export class AddressSpace implements AddressSpaceLike {
  private list: AddressRange[] = [];
  private last: AddressRange | undefined;

  /** The mapped ranges, sorted by `da`. */
  get ranges(): readonly AddressRange[] {
    return this.list;
  }

  /**
   * Maps `[da, da + length)` to `memory` at `offset`. Returns `this` for chaining.
   * @throws RangeError for a bad window or an overlap with an existing range.
   */
  map(da: number | bigint, memory: Memory, options: MapOptions = {}): this {
    const start = typeof da === "bigint" ? toSafeNumber(da, "device address") : da;
    const offset = options.offset ?? 0;
    const length = options.length ?? memory.byteLength - offset;
    checkRange(offset, length, memory.byteLength, "mapped window");
    if (!Number.isInteger(start) || start < 0 || start > MAX_DA - length) {
      throw new RangeError(`device range 0x${start.toString(16)} +${length} is not a valid device address range`);
    }
    for (const r of this.list) {
      if (start < r.da + r.length && r.da < start + length) {
        throw new RangeError(
          `device range 0x${start.toString(16)} +${length} overlaps ${r.name ?? "a range"} at 0x${r.da.toString(16)}`,
        );
      }
    }
    this.list.push({ da: start, length, memory, offset, name: options.name });
    this.list.sort((a, b) => a.da - b.da);
    return this;
  }

  /** Removes the range that starts at `da`; returns whether there was one. */
  unmap(da: number): boolean {
    const i = this.list.findIndex((r) => r.da === da);
    if (i < 0) return false;
    this.list.splice(i, 1);
    this.last = undefined;
    return true;
  }

  /**
   * The range that holds all of `[da, da + length)`, or undefined. Allocation-free (ring hot
   * path): the byte offset is `range.offset + (da - range.da)`.
   */
  find(da: number, length: number): AddressRange | undefined {
    const l = this.last;
    if (l !== undefined && da >= l.da && length >= 0 && da - l.da <= l.length - length) return l;
    for (const r of this.list) {
      if (da >= r.da && length >= 0 && da - r.da <= r.length - length) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  /**
   * Memory and offset of `[da, da + length)`.
   * @throws AmpError ERR_BAD_ADDRESS when no single range holds it; ERR_RANGE past 2^53.
   */
  translate(da: number | bigint, length: number): { memory: Memory; offset: number } {
    const a = typeof da === "bigint" ? toSafeNumber(da, "device address") : da;
    const r = this.find(a, length);
    if (r === undefined) {
      throw new AmpError(
        "ERR_BAD_ADDRESS",
        `device address 0x${a.toString(16)} +${length} is not inside one mapped range`,
      );
    }
    return { memory: r.memory, offset: r.offset + (a - r.da) };
  }

  /** The device address of byte `offset` of `memory` (first range that maps it), or undefined. */
  deviceAddressOf(memory: Memory, offset: number): number | undefined {
    for (const r of this.list) {
      if (r.memory === memory && offset >= r.offset && offset - r.offset < r.length) return r.da + (offset - r.offset);
    }
    return undefined;
  }
}
