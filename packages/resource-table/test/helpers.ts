// Shared by the tests: little-endian writers for hand-made (often broken) tables.
export function u32le(b: Uint8Array, o: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(o, v >>> 0, true);
}

export function getU32le(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o, true);
}

/** A raw table: header + offsets, zero-filled to `size`; entries are filled in by the caller. */
export function rawTable(size: number, offsets: number[], ver = 1): Uint8Array {
  const b = new Uint8Array(size);
  u32le(b, 0, ver);
  u32le(b, 4, offsets.length);
  offsets.forEach((o, i) => u32le(b, 16 + 4 * i, o));
  return b;
}

/** docs/wire-formats.md, "A typical table": a vdev (id 7, 2 vrings) then a trace entry. */
export function workedExample(): Uint8Array {
  const b = rawTable(140, [24, 92]);
  u32le(b, 24, 3); // vdev.type
  u32le(b, 28, 7); // id
  u32le(b, 32, 0); // notifyid
  u32le(b, 36, 1); // dfeatures: VIRTIO_RPMSG_F_NS
  b[49] = 2; // num_of_vrings
  for (const v of [52, 72]) {
    u32le(b, v, 0xffffffff); // da = ANY
    u32le(b, v + 4, 4096);
    u32le(b, v + 8, 256);
    u32le(b, v + 12, 0); // notifyid
  }
  u32le(b, 92, 2); // trace.type
  u32le(b, 96, 0x2000_0000);
  u32le(b, 100, 1024);
  b.set([0x74, 0x72, 0x61, 0x63, 0x65], 108); // "trace"
  return b;
}
