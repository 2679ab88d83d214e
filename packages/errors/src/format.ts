// Three small helpers that every layer needs for the same reason: messages name addresses in
// hex, and layouts round up to an alignment or join chunks. They live here, in the package every
// @amp package may import, so each has one definition instead of one copy per package.

/**
 * `0x` + lower-case hex, no padding: how every @amp message shows an address, offset or size.
 *
 * @example
 * ```ts
 * hex(0x2000_f000); // "0x2000f000"
 * hex(1n << 40n); // "0x10000000000"
 * ```
 */
export function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}

/**
 * `x` rounded up to the next multiple of `align` (a positive integer; not only powers of two,
 * and exact past 2^32, where a bit mask would overflow).
 *
 * @example
 * ```ts
 * alignUp(0x1234, 0x1000); // 0x2000
 * ```
 */
export function alignUp(x: number, align: number): number {
  return Math.ceil(x / align) * align;
}

/**
 * The chunks joined into one fresh Uint8Array (what `Buffer.concat` does, with no host API).
 *
 * @example
 * ```ts
 * concatBytes([Uint8Array.of(1), Uint8Array.of(2, 3)]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
