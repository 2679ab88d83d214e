// The 32-byte NUL-terminated name fields of carveout, devmem and trace entries. A tiny UTF-8
// codec instead of TextEncoder/TextDecoder: the package runs in engines that have neither
// (STYLE.md point 6).
import { RSC_NAME_SIZE } from "../constants.js";

/** A decoded name field and what was wrong with it, for diagnostics. */
export interface DecodedName {
  readonly name: string;
  /** False when all 32 bytes are non-NUL (a C reader would run past the field). */
  readonly terminated: boolean;
  /** False when the bytes before the NUL are not valid UTF-8 (U+FFFD substituted). */
  readonly validUtf8: boolean;
}

/** Decodes `RSC_NAME_SIZE` bytes at `o`: stops at the first NUL. Caller checks bounds. */
export function decodeName(b: Uint8Array, o: number): DecodedName {
  let end = o;
  const limit = o + RSC_NAME_SIZE;
  while (end < limit && b[end] !== 0) end++;
  const { text, valid } = decodeUtf8(b, o, end);
  return { name: text, terminated: end < limit, validUtf8: valid };
}

/** Decodes UTF-8 in b[start, end); invalid sequences become U+FFFD and set `valid` false. */
export function decodeUtf8(b: Uint8Array, start: number, end: number): { text: string; valid: boolean } {
  let text = "";
  let valid = true;
  let i = start;
  while (i < end) {
    const c = b[i] ?? 0;
    let cp = -1;
    let n = 0;
    if (c < 0x80) {
      cp = c;
      n = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      cp = c & 0x1f;
      n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      cp = c & 0x0f;
      n = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      cp = c & 0x07;
      n = 4;
    }
    if (cp < 0 || i + n > end) {
      text += "\ufffd";
      valid = false;
      i++;
      continue;
    }
    let ok = true;
    for (let k = 1; k < n; k++) {
      const cc = b[i + k] ?? 0;
      if ((cc & 0xc0) !== 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Reject overlong forms, surrogates and code points past U+10FFFF.
    if (
      ok &&
      ((n === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff)))
    )
      ok = false;
    if (!ok) {
      text += "\ufffd";
      valid = false;
      i++;
      continue;
    }
    text += String.fromCodePoint(cp);
    i += n;
  }
  return { text, valid };
}

/** UTF-8 bytes of `s`; lone surrogates are a caller error (RangeError). */
export function encodeUtf8(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const lo = s.charCodeAt(i + 1);
      if (!(lo >= 0xdc00 && lo <= 0xdfff)) throw new RangeError("name contains a lone surrogate");
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      i++;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      throw new RangeError("name contains a lone surrogate");
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return out;
}

/**
 * Writes `name` NUL-padded into the 32-byte field at `o`. Throws RangeError when the UTF-8
 * form does not fit with its NUL (more than 31 bytes) or contains a NUL.
 */
export function encodeName(name: string, b: Uint8Array, o: number): void {
  const bytes = encodeUtf8(name);
  if (bytes.length > RSC_NAME_SIZE - 1) {
    throw new RangeError(
      `name "${name}" is ${bytes.length} bytes in UTF-8; at most ${RSC_NAME_SIZE - 1} fit with the NUL`,
    );
  }
  if (bytes.includes(0)) throw new RangeError(`name "${name}" contains a NUL character`);
  b.fill(0, o, o + RSC_NAME_SIZE);
  b.set(bytes, o);
}
