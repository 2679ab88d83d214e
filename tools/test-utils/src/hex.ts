/** Lower-case hex of bytes, no separators: golden vectors are compared as hex (STYLE.md point 17). */
export function toHex(bytes: Uint8Array | ArrayBufferView): string {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let s = "";
  for (const b of u8) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Bytes from hex; whitespace is ignored so vectors can be written in groups. */
export function fromHex(hex: string): Uint8Array {
  const h = hex.replace(/\s+/g, "");
  if (h.length % 2 !== 0 || /[^0-9a-fA-F]/.test(h)) throw new TypeError(`not hex: ${hex.slice(0, 40)}`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}
