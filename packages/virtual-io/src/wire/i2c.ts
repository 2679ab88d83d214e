// virtio-i2c (device ID 34) request layout: struct virtio_i2c_out_hdr and
// struct virtio_i2c_in_hdr in <linux/virtio_i2c.h>; docs/wire-formats.md, "Virtio devices".
import { vioError } from "../errors.js";
import { LE, need, room } from "../internal/bytes.js";

/** VIRTIO_ID_I2C_ADAPTER. */
export const VIRTIO_ID_I2C_ADAPTER = 34;
/** Feature bit 0; mandatory: a driver refuses a device that does not offer it. */
export const VIRTIO_I2C_F_ZERO_LENGTH_REQUEST = 0;
/** out_hdr.flags bit 0: fail the rest of the group if this request fails. */
export const VIRTIO_I2C_FLAGS_FAIL_NEXT = 1;
/** out_hdr.flags bit 1: this request reads from the target. */
export const VIRTIO_I2C_FLAGS_M_RD = 2;
/** in_hdr.status: success. */
export const VIRTIO_I2C_MSG_OK = 0;
/** in_hdr.status: failure (NACK, bus error, or a failed earlier request of the group). */
export const VIRTIO_I2C_MSG_ERR = 1;

/** sizeof(struct virtio_i2c_out_hdr). */
export const VIRTIO_I2C_OUT_HDR_SIZE = 8;
/** sizeof(struct virtio_i2c_in_hdr). */
export const VIRTIO_I2C_IN_HDR_SIZE = 1;
const OFF_ADDR = 0; // __le16 addr
const OFF_PADDING = 2; // __le16 padding
const OFF_FLAGS = 4; // __le32 flags
const KNOWN_FLAGS = VIRTIO_I2C_FLAGS_FAIL_NEXT | VIRTIO_I2C_FLAGS_M_RD;

/** struct virtio_i2c_out_hdr, decoded. */
export interface I2cOutHdr {
  /** `addr`: the encoded target address (see {@link encodeI2cAddress}). */
  readonly addr: number;
  /** `flags`: FAIL_NEXT | M_RD. */
  readonly flags: number;
}

/**
 * Decodes struct virtio_i2c_out_hdr at `offset`.
 * @throws AmpError ERR_TRUNCATED when fewer than 8 bytes remain; ERR_MALFORMED when padding is
 *   not 0 or unknown flag bits are set (the spec says all other bits are 0).
 */
export function decodeI2cOutHdr(view: DataView, offset: number): I2cOutHdr {
  need(view, offset, VIRTIO_I2C_OUT_HDR_SIZE, "virtio_i2c_out_hdr");
  const padding = view.getUint16(offset + OFF_PADDING, LE);
  if (padding !== 0)
    throw vioError("ERR_MALFORMED", `virtio_i2c_out_hdr.padding is ${padding}, must be 0`, {
      offset: offset + OFF_PADDING,
    });
  const flags = view.getUint32(offset + OFF_FLAGS, LE);
  if ((flags & ~KNOWN_FLAGS) !== 0)
    throw vioError("ERR_MALFORMED", `virtio_i2c_out_hdr.flags 0x${flags.toString(16)} has unknown bits`, {
      offset: offset + OFF_FLAGS,
    });
  return { addr: view.getUint16(offset + OFF_ADDR, LE), flags };
}

/** Encodes struct virtio_i2c_out_hdr at `offset` (padding written as 0). */
export function encodeI2cOutHdr(value: I2cOutHdr, view: DataView, offset: number): void {
  room(view, offset, VIRTIO_I2C_OUT_HDR_SIZE, "virtio_i2c_out_hdr");
  view.setUint16(offset + OFF_ADDR, value.addr, LE);
  view.setUint16(offset + OFF_PADDING, 0, LE);
  view.setUint32(offset + OFF_FLAGS, value.flags >>> 0, LE);
}

/**
 * Writes struct virtio_i2c_out_hdr at the start of `out` (at least 8 bytes), byte by byte: the
 * hot path's form of {@link encodeI2cOutHdr}, without a DataView per request.
 */
export function putI2cOutHdr(out: Uint8Array, addr: number, flags: number): void {
  if (out.length < VIRTIO_I2C_OUT_HDR_SIZE) throw new RangeError("virtio_i2c_out_hdr needs 8 bytes");
  out[OFF_ADDR] = addr & 0xff;
  out[OFF_ADDR + 1] = (addr >>> 8) & 0xff;
  out[OFF_PADDING] = 0;
  out[OFF_PADDING + 1] = 0;
  out[OFF_FLAGS] = flags & 0xff;
  out[OFF_FLAGS + 1] = (flags >>> 8) & 0xff;
  out[OFF_FLAGS + 2] = (flags >>> 16) & 0xff;
  out[OFF_FLAGS + 3] = (flags >>> 24) & 0xff;
}

/**
 * Encodes a target address into out_hdr.addr: a 7-bit address A6..A0 goes to bits 7..1; a
 * 10-bit address puts A7..A0 in bits 15..8, 11110b in bits 7..3 and A9..A8 in bits 2..1.
 * @throws RangeError for an address out of range.
 * @example encodeI2cAddress(0x50) === 0xa0
 */
export function encodeI2cAddress(address: number, tenBit = false): number {
  const max = tenBit ? 0x3ff : 0x7f;
  if (!Number.isInteger(address) || address < 0 || address > max)
    throw new RangeError(`I2C address must be in 0..0x${max.toString(16)}, got ${String(address)}`);
  // 7-bit 0x78..0x7b (11110xx) is the 10-bit prefix on the bus; reject it so decoding is unambiguous
  if (!tenBit && (address & 0x7c) === 0x78)
    throw new RangeError(`7-bit I2C address 0x${address.toString(16)} is reserved for 10-bit addressing`);
  if (!tenBit) return address << 1;
  return ((address & 0xff) << 8) | 0xf0 | ((address >> 8) << 1);
}

/**
 * The flags of the struct virtio_i2c_out_hdr at the start of `out`, or -1 when it is short,
 * its padding is not 0 or it has unknown flag bits: the rules of {@link decodeI2cOutHdr}, for a
 * device's hot path (no DataView, no object, no throw).
 */
export function i2cOutHdrFlags(out: Uint8Array): number {
  if (out.length < VIRTIO_I2C_OUT_HDR_SIZE) return -1;
  if ((out[OFF_PADDING] as number) !== 0 || (out[OFF_PADDING + 1] as number) !== 0) return -1;
  const flags =
    ((out[OFF_FLAGS] as number) |
      ((out[OFF_FLAGS + 1] as number) << 8) |
      ((out[OFF_FLAGS + 2] as number) << 16) |
      ((out[OFF_FLAGS + 3] as number) << 24)) >>>
    0;
  return (flags & ~KNOWN_FLAGS) !== 0 ? -1 : flags;
}

/**
 * The out_hdr.addr at the start of `out` as a target key (a 7-bit address as is, a 10-bit one
 * with 0x400 added), or -1 for an encoding {@link decodeI2cAddress} refuses. `out` must hold at
 * least 2 bytes (check with {@link i2cOutHdrFlags} first).
 */
export function i2cTargetKey(out: Uint8Array): number {
  const addr = (out[OFF_ADDR] as number) | ((out[OFF_ADDR + 1] as number) << 8);
  if ((addr & 1) !== 0) return -1;
  if ((addr & 0xf8) === 0xf0) return 0x400 | ((addr >> 8) & 0xff) | (((addr >> 1) & 3) << 8);
  if (addr > 0xff) return -1;
  return addr >> 1;
}

/** An I2C target address as decoded from out_hdr.addr. */
export interface I2cAddress {
  readonly address: number;
  readonly tenBit: boolean;
}

/**
 * Decodes out_hdr.addr (the inverse of {@link encodeI2cAddress}). Bits 7..3 = 11110b mark a
 * 10-bit address, as on the bus, where 7-bit addresses 0x78..0x7b are reserved for that prefix.
 * @throws AmpError ERR_MALFORMED when bit 0 is set.
 */
export function decodeI2cAddress(addr: number): I2cAddress {
  if ((addr & 1) !== 0) throw vioError("ERR_MALFORMED", `I2C addr 0x${addr.toString(16)} has bit 0 set`);
  if ((addr & 0xf8) === 0xf0) return { address: ((addr >> 8) & 0xff) | (((addr >> 1) & 3) << 8), tenBit: true };
  if (addr > 0xff)
    throw vioError("ERR_MALFORMED", `I2C addr 0x${addr.toString(16)} is neither a 7-bit nor a 10-bit encoding`);
  return { address: addr >> 1, tenBit: false };
}
