// Resolving a ring area (device address + size) to memory once, when a queue is built, and the
// u64 descriptor address split into two u32 halves so the hot path allocates no bigint.
import { AmpError } from "../errors.js";
import type { AddressSpaceLike } from "../address-space.js";
import type { Memory } from "../memory.js";

export interface Area {
  readonly mem: Memory;
  readonly off: number;
}

/** The memory behind `[da, da + size)`, aligned to `align`. @throws AmpError ERR_BAD_ADDRESS */
export function resolveArea(space: AddressSpaceLike, da: number, size: number, align: number, what: string): Area {
  if (!Number.isInteger(da) || da < 0) throw new RangeError(`${what} address must be a non-negative integer`);
  if (da % align !== 0)
    throw new AmpError("ERR_BAD_ADDRESS", `${what} at 0x${da.toString(16)} is not ${align}-byte aligned`);
  const r = space.find(da, size);
  if (r === undefined)
    throw new AmpError("ERR_BAD_ADDRESS", `${what} 0x${da.toString(16)} +${size} is not inside one mapped range`);
  const off = r.offset + (da - r.da);
  if (off % align !== 0) throw new AmpError("ERR_BAD_ADDRESS", `${what} is not ${align}-byte aligned in its memory`);
  return { mem: r.memory, off };
}

const TWO32 = 0x100000000;

/** Writes a u64 device address (a safe integer) as two u32 halves. */
export function setAddr(mem: Memory, off: number, addr: number): void {
  // Below 4 GiB (every 32-bit part) the halves need no floating-point division.
  const hi = addr < TWO32 ? 0 : Math.floor(addr / TWO32);
  mem.setU32(off, addr - hi * TWO32);
  mem.setU32(off + 4, hi);
}

/** Reads a u64 address; -1 when it does not fit in 2^53 (treated as unmapped). */
export function getAddr(mem: Memory, off: number): number {
  const hi = mem.getU32(off + 4);
  if (hi >= 0x200000) return -1;
  return hi * TWO32 + mem.getU32(off);
}

/** Throws RangeError for a segment a caller cannot offer. */
export function checkSegment(addr: number, len: number): void {
  if (!(Number.isSafeInteger(addr) && addr >= 0))
    throw new RangeError(`buffer address ${addr} is not a safe non-negative integer`);
  if (!(Number.isInteger(len) && len >= 0 && len <= 0xffffffff))
    throw new RangeError(`buffer length ${len} is not a u32`);
}
