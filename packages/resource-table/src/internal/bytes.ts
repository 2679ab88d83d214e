// Little- and big-endian integer access on a Uint8Array without creating a DataView per call. Callers
// check bounds before reading: these helpers assume `o + 4 <= b.length`.

/** Reads a little-endian u32 at `o`. */
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}

/** Reads a big-endian u32 at `o` (tables of big-endian firmware). */
export function readU32BE(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

/** Writes `v` (a u32) little-endian at `o`. */
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** True when `v` is an integer in 0..0xFFFFFFFF. */
export function isU32(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

/** True when `v` is an integer in 0..255. */
export function isU8(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xff;
}

/** Throws RangeError unless `v` is a u32; `what` names the field in the message. */
export function checkU32(v: unknown, what: string): number {
  if (!isU32(v)) throw new RangeError(`${what} must be an integer in 0..0xFFFFFFFF, got ${String(v)}`);
  return v;
}

/** Throws RangeError unless `v` is a u8. */
export function checkU8(v: unknown, what: string): number {
  if (!isU8(v)) throw new RangeError(`${what} must be an integer in 0..255, got ${String(v)}`);
  return v;
}

/** `0x`-prefixed hex, for messages (src/amp-error.ts). */
export { hex } from "../amp-error.js";

/** True for a non-zero power of two (u32). */
export function isPowerOf2(v: number): boolean {
  return v !== 0 && (v & (v - 1)) === 0 && v <= 0x8000_0000;
}
