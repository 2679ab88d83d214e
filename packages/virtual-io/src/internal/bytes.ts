// Small byte helpers shared by the codecs: bounds checks done by subtraction (never overflow),
// one DataView per input, and a concatenation that needs no host API.
import { vioError } from "../errors.js";

/** Little-endian, as every virtio-i2c/gpio/spi/console field (docs/wire-formats.md, "Virtio devices"). */
export const LE = true;

/** Throws ERR_TRUNCATED unless `size` bytes are readable at `offset` of `view`. */
export function need(view: DataView, offset: number, size: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`${what}: offset must be a non-negative integer`);
  if (offset > view.byteLength || size > view.byteLength - offset) {
    throw vioError(
      "ERR_TRUNCATED",
      `${what}: needs ${size} bytes at offset ${offset}, have ${Math.max(0, view.byteLength - offset)}`,
      { offset },
    );
  }
}

/** Checks room for an encoder; running out of room is caller misuse, hence RangeError. */
export function room(view: DataView, offset: number, size: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > view.byteLength || size > view.byteLength - offset) {
    throw new RangeError(`${what}: needs ${size} bytes at offset ${offset} of a ${view.byteLength}-byte view`);
  }
}

/** A DataView over exactly the bytes of `u8`. */
export function viewOf(u8: Uint8Array): DataView {
  return new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** Concatenates byte arrays into a fresh one (one definition, in @amp/virtio-ring). */
export { concatBytes } from "@amp/virtio-ring";

/** Reads an n-byte (1..4) unsigned value at `o`, big- or little-endian. */
export function getUintN(data: Uint8Array, o: number, n: number, big: boolean): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + (data[o + (big ? i : n - 1 - i)] ?? 0);
  return v;
}

/** Writes an n-byte (1..4) unsigned value at `o`; bytes past the end of `out` are skipped. */
export function putUintN(out: Uint8Array, o: number, n: number, big: boolean, v: number): void {
  for (let i = 0; i < n; i++) {
    const at = o + (big ? n - 1 - i : i);
    if (at < out.length) out[at] = Math.floor(v / 2 ** (8 * i)) & 0xff;
  }
}
