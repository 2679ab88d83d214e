// The 32-byte NUL-padded name field of struct rpmsg_ns_msg, encoded as UTF-8 without
// TextEncoder/TextDecoder (absent in QuickJS and other small engines; STYLE.md point 6).
import { RPMSG_NAME_SIZE } from "./constants.js";

/**
 * UTF-8 bytes of a string, without TextEncoder. Lone surrogates become U+FFFD (as TextEncoder does).
 * @example utf8Encode("é") // Uint8Array [0xc3, 0xa9]
 */
export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // unpaired surrogate
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/**
 * Decodes UTF-8 without TextDecoder, with the WHATWG error handling (each maximal invalid
 * subpart becomes one U+FFFD), so any bytes decode and the result equals TextDecoder's.
 */
export function utf8Decode(bytes: Uint8Array): string {
  let s = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    i++;
    if (b < 0x80) {
      s += String.fromCharCode(b);
      continue;
    }
    let need: number;
    let cp: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      cp = b & 0x0f;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      cp = b & 0x07;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else {
      s += "\ufffd";
      continue;
    }
    let ok = true;
    for (let j = 0; j < need; j++) {
      const c = bytes[i];
      // Only the first continuation byte has the narrowed range (overlongs, surrogates, > U+10FFFF).
      if (c === undefined || c < lo || c > hi) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (c & 0x3f);
      i++;
      lo = 0x80;
      hi = 0xbf;
    }
    s += ok ? String.fromCodePoint(cp) : "\ufffd"; // the offending byte is read again
  }
  return s;
}

/**
 * Writes `name` as a NUL-padded 32-byte field into `out` (all 32 bytes are written).
 * @throws RangeError if the UTF-8 form is longer than 31 bytes (Linux forces byte 31 to NUL,
 *   so a 32nd byte would be lost on the other side), or if `out` is shorter than 32 bytes.
 * @example encodeName("rpmsg-tty", new Uint8Array(32))
 * @see docs/wire-formats.md, "rpmsg"
 */
export function encodeName(name: string, out: Uint8Array): void {
  if (out.length < RPMSG_NAME_SIZE)
    throw new RangeError(`name field needs ${RPMSG_NAME_SIZE} bytes, got ${out.length}`);
  const b = nameBytes(name);
  out.fill(0, 0, RPMSG_NAME_SIZE);
  out.set(b, 0);
}

/**
 * The UTF-8 bytes of a valid rpmsg name.
 * @throws RangeError if longer than 31 bytes; TypeError if it contains NUL.
 */
export function nameBytes(name: string): Uint8Array {
  const b = utf8Encode(name);
  if (b.length > RPMSG_NAME_SIZE - 1)
    throw new RangeError(`rpmsg name "${name}" is ${b.length} bytes; at most ${RPMSG_NAME_SIZE - 1}`);
  if (b.includes(0)) throw new TypeError("rpmsg name must not contain NUL");
  return b;
}

/** A decoded name field: the name and whether the peer left it unterminated. */
export interface DecodedName {
  /** The name up to the first NUL (at most 31 bytes, as Linux forces byte 31 to NUL). */
  readonly name: string;
  /** True when the 32 bytes held no NUL: a hostile or buggy peer; the name was cut at 31 bytes. */
  readonly unterminated: boolean;
}

/**
 * Reads a 32-byte name field: stops at the first NUL; with no NUL, keeps 31 bytes (Linux does
 * the same: "don't trust the remote processor") and reports `unterminated`.
 * @throws RangeError if `field` is shorter than 32 bytes.
 */
export function decodeName(field: Uint8Array): DecodedName {
  if (field.length < RPMSG_NAME_SIZE)
    throw new RangeError(`name field needs ${RPMSG_NAME_SIZE} bytes, got ${field.length}`);
  let end = field.indexOf(0);
  const unterminated = end < 0 || end >= RPMSG_NAME_SIZE;
  if (unterminated) end = RPMSG_NAME_SIZE - 1;
  return { name: utf8Decode(field.subarray(0, end)), unterminated };
}
