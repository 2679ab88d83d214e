// struct rpmsg_hdr (drivers/rpmsg/virtio_rpmsg_bus.c): 16 bytes, little-endian on every
// practical host (remoteproc vdevs are legacy virtio: host-native order; docs/wire-formats.md, "Conventions").
import { RPMSG_HDR_SIZE } from "./constants.js";

const LE = true;
const OFF_SRC = 0; // u32 src
const OFF_DST = 4; // u32 dst
const OFF_RESERVED = 8; // u32 reserved: Linux sends 0, OpenAMP/rpmsg-lite scribble on it locally
const OFF_LEN = 12; // u16 len: payload bytes
const OFF_FLAGS = 14; // u16 flags: Linux sends 0 and ignores it

/** Offsets of the header fields, for code that reads shared memory field by field. */
export const RpmsgHdrOffsets = { SRC: 0, DST: 4, RESERVED: 8, LEN: 12, FLAGS: 14 } as const;

/** A decoded `struct rpmsg_hdr`. */
export interface RpmsgHeader {
  /** `src`: sender endpoint address. */
  readonly src: number;
  /** `dst`: receiver endpoint address. */
  readonly dst: number;
  /** `reserved`: 0 on send; carries no meaning on receive. */
  readonly reserved: number;
  /** `len`: payload length in bytes (the only trustworthy payload size; never the descriptor length). */
  readonly len: number;
  /** `flags`: 0 on send from Linux/OpenAMP. */
  readonly flags: number;
}

function checkRoom(v: DataView, o: number): void {
  if (!Number.isInteger(o) || o < 0 || o > v.byteLength || RPMSG_HDR_SIZE > v.byteLength - o) {
    throw new RangeError(`rpmsg header at ${o} does not fit in ${v.byteLength} bytes`);
  }
}

function u32(x: number, what: string): number {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new RangeError(`${what} must be a u32, got ${x}`);
  return x;
}

function u16(x: number, what: string): number {
  if (!Number.isInteger(x) || x < 0 || x > 0xffff) throw new RangeError(`${what} must be a u16, got ${x}`);
  return x;
}

/**
 * Writes a 16-byte rpmsg header at `offset`.
 * @throws RangeError if a field does not fit its width or the header does not fit in `view`.
 * @example encodeRpmsgHeader({ src: 1024, dst: 53, reserved: 0, len: 40, flags: 0 }, view, 0)
 */
export function encodeRpmsgHeader(h: RpmsgHeader, view: DataView, offset = 0): void {
  checkRoom(view, offset);
  view.setUint32(offset + OFF_SRC, u32(h.src, "src"), LE);
  view.setUint32(offset + OFF_DST, u32(h.dst, "dst"), LE);
  view.setUint32(offset + OFF_RESERVED, u32(h.reserved, "reserved"), LE);
  view.setUint16(offset + OFF_LEN, u16(h.len, "len"), LE);
  view.setUint16(offset + OFF_FLAGS, u16(h.flags, "flags"), LE);
}

/**
 * Reads a 16-byte rpmsg header at `offset`. Any 16 bytes decode; checking `len` against the
 * buffer is the receiver's job.
 * @throws RangeError if the header does not fit in `view`.
 */
export function decodeRpmsgHeader(view: DataView, offset = 0): RpmsgHeader {
  checkRoom(view, offset);
  return {
    src: view.getUint32(offset + OFF_SRC, LE),
    dst: view.getUint32(offset + OFF_DST, LE),
    reserved: view.getUint32(offset + OFF_RESERVED, LE),
    len: view.getUint16(offset + OFF_LEN, LE),
    flags: view.getUint16(offset + OFF_FLAGS, LE),
  };
}
