// NUL-terminated strings from string tables, decoded as UTF-8 without TextDecoder (which is not
// an ECMAScript built-in). Invalid sequences become U+FFFD, so any bytes give some string.

/** Decodes bytes [start, end) as UTF-8. */
export function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  let out = "";
  let i = start;
  while (i < end) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    const need = b >= 0xf8 ? -1 : b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : -1;
    if (need < 0 || i + need >= end) {
      out += "\ufffd";
      i++;
      continue;
    }
    let cp = b & (0x3f >> need);
    let ok = true;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k] ?? 0;
      if ((c & 0xc0) !== 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (c & 0x3f);
    }
    if (!ok || cp > 0x10ffff) {
      out += "\ufffd";
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

/** Name bytes one file may make us scan: this many times its size, plus NAME_BUDGET_BASE. */
const NAME_BUDGET_FACTOR = 8;
const NAME_BUDGET_BASE = 1 << 20;

/**
 * Reads NUL-terminated names out of string tables under one budget of bytes scanned for the
 * whole file. Every sh_name / st_name may point into the same long run without a NUL, which
 * would make decoding quadratic in time and memory (a 2 MB file could ask for gigabytes of
 * strings); the budget bounds that linearly. A real file reads each string table about once,
 * far below the budget.
 */
export class NameReader {
  private left: number;

  constructor(fileSize: number) {
    this.left = NAME_BUDGET_FACTOR * fileSize + NAME_BUDGET_BASE;
  }

  /**
   * The NUL-terminated string at `start` inside a table ending at `tableEnd`, and whether a NUL
   * was found before the table's end; undefined once the budget is spent.
   */
  read(bytes: Uint8Array, start: number, tableEnd: number): { text: string; terminated: boolean } | undefined {
    const limit = Math.min(tableEnd, start + this.left);
    let end = start;
    while (end < limit && bytes[end] !== 0) end++;
    this.left -= end - start;
    if (end < tableEnd && bytes[end] !== 0) return undefined;
    return { text: decodeUtf8(bytes, start, end), terminated: end < tableEnd };
  }
}

/** Encodes a string as UTF-8 bytes (section and note names). */
export function encodeUtf8(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}
