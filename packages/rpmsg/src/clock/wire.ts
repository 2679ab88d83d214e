// The clock-exchange messages of the "amp-clock" rpmsg service (docs/wire-formats.md, "Clock
// exchange"). NTP's four timestamps in two tiny messages: the host stamps t1 and sends a request,
// the remote stamps t2 when the request arrives and t3 just before its reply leaves, the host
// stamps t4 when the reply arrives. All fields little-endian; 64-bit fields are carried as two
// u32 halves so that a decoder needs no BigInt (every value must stay below 2^53 anyway).
import { rpmsgError } from "../errors.js";

const LE = true;
const TWO_32 = 0x1_0000_0000;

/** rpmsg service name the remote announces for the clock exchange. */
export const AMP_CLOCK_SERVICE = "amp-clock";
/** Version byte of both messages; a peer drops a message of another version. */
export const AMP_CLOCK_VERSION = 1;
/** Message types (byte 0). */
export const AmpClockType = { REQUEST: 1, RESPONSE: 2 } as const;
/** Bytes of a request: type, version, seq, reserved, t1. */
export const AMP_CLOCK_REQUEST_SIZE = 16;
/** Bytes of a response: type, version, seq, reserved, t1 (echoed), t2, t3. */
export const AMP_CLOCK_RESPONSE_SIZE = 32;

/** Field offsets shared by both messages (the response adds t2 and t3). */
export const AmpClockOffsets = { TYPE: 0, VERSION: 1, SEQ: 2, RESERVED: 4, T1: 8, T2: 16, T3: 24 } as const;

/** A request: the host's sequence number and its send time. */
export interface AmpClockRequest {
  /** u16, chosen by the host; the reply carries it back. */
  readonly seq: number;
  /** Host send time in integer µs; opaque to the remote, which echoes it. */
  readonly t1: number;
}

/** A response: the request's fields plus the remote's receive and send times. */
export interface AmpClockResponse extends AmpClockRequest {
  /** Remote receive time, integer µs of the remote's own clock. */
  readonly t2: number;
  /** Remote send time, integer µs of the remote's own clock (t3 ≥ t2 on a sane clock). */
  readonly t3: number;
}

function writeU64(v: DataView, o: number, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be an integer in [0, 2^53), got ${String(value)}`);
  v.setUint32(o, value % TWO_32, LE);
  v.setUint32(o + 4, Math.floor(value / TWO_32), LE);
}

function readU64(v: DataView, o: number, what: string): number {
  const hi = v.getUint32(o + 4, LE);
  // 2^53 = 2^21 × 2^32: a high half at or above 2^21 cannot be a safe integer.
  if (hi >= 0x20_0000)
    throw rpmsgError(
      "ERR_MALFORMED",
      `clock ${what} at offset ${o} is 2^53 µs or more (high word 0x${hi.toString(16)}); the peer's clock is broken`,
      { offset: o },
    );
  return hi * TWO_32 + v.getUint32(o, LE);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkHeader(bytes: Uint8Array, type: number, size: number): DataView {
  if (bytes.length !== size)
    throw rpmsgError("ERR_MALFORMED", `clock message of ${bytes.length} bytes, expected ${size}`, { offset: 0 });
  const v = view(bytes);
  const t = v.getUint8(AmpClockOffsets.TYPE);
  if (t !== type)
    throw rpmsgError("ERR_MALFORMED", `clock message type ${t} at offset 0, expected ${type}`, { offset: 0 });
  const ver = v.getUint8(AmpClockOffsets.VERSION);
  if (ver !== AMP_CLOCK_VERSION)
    throw rpmsgError(
      "ERR_MALFORMED",
      `clock message version ${ver} at offset 1; this side speaks ${AMP_CLOCK_VERSION} (update the older side)`,
      { offset: 1 },
    );
  return v;
}

/**
 * Writes a request into `out` (at least 16 bytes) and returns its length.
 * @throws RangeError for a seq that is not a u16 or a t1 outside [0, 2^53).
 * @example encodeClockRequest({ seq: 1, t1: 1_700_000_000_000_000 }, new Uint8Array(16));
 */
export function encodeClockRequest(req: AmpClockRequest, out: Uint8Array): number {
  if (!Number.isInteger(req.seq) || req.seq < 0 || req.seq > 0xffff)
    throw new RangeError(`seq must be a u16, got ${String(req.seq)}`);
  if (out.length < AMP_CLOCK_REQUEST_SIZE)
    throw new RangeError(`a clock request needs ${AMP_CLOCK_REQUEST_SIZE} bytes, got ${out.length}`);
  const v = view(out);
  v.setUint8(AmpClockOffsets.TYPE, AmpClockType.REQUEST);
  v.setUint8(AmpClockOffsets.VERSION, AMP_CLOCK_VERSION);
  v.setUint16(AmpClockOffsets.SEQ, req.seq, LE);
  v.setUint32(AmpClockOffsets.RESERVED, 0, LE);
  writeU64(v, AmpClockOffsets.T1, req.t1, "t1");
  return AMP_CLOCK_REQUEST_SIZE;
}

/**
 * Reads a request (exactly 16 bytes).
 * @throws AmpError ERR_MALFORMED for another length, type or version.
 */
export function decodeClockRequest(bytes: Uint8Array): AmpClockRequest {
  const v = checkHeader(bytes, AmpClockType.REQUEST, AMP_CLOCK_REQUEST_SIZE);
  return { seq: v.getUint16(AmpClockOffsets.SEQ, LE), t1: readU64(v, AmpClockOffsets.T1, "t1") };
}

/**
 * Writes a response into `out` (at least 32 bytes) and returns its length.
 * @throws RangeError for a seq that is not a u16 or a time outside [0, 2^53).
 */
export function encodeClockResponse(res: AmpClockResponse, out: Uint8Array): number {
  if (!Number.isInteger(res.seq) || res.seq < 0 || res.seq > 0xffff)
    throw new RangeError(`seq must be a u16, got ${String(res.seq)}`);
  if (out.length < AMP_CLOCK_RESPONSE_SIZE)
    throw new RangeError(`a clock response needs ${AMP_CLOCK_RESPONSE_SIZE} bytes, got ${out.length}`);
  const v = view(out);
  v.setUint8(AmpClockOffsets.TYPE, AmpClockType.RESPONSE);
  v.setUint8(AmpClockOffsets.VERSION, AMP_CLOCK_VERSION);
  v.setUint16(AmpClockOffsets.SEQ, res.seq, LE);
  v.setUint32(AmpClockOffsets.RESERVED, 0, LE);
  writeU64(v, AmpClockOffsets.T1, res.t1, "t1");
  writeU64(v, AmpClockOffsets.T2, res.t2, "t2");
  writeU64(v, AmpClockOffsets.T3, res.t3, "t3");
  return AMP_CLOCK_RESPONSE_SIZE;
}

/**
 * Reads a response (exactly 32 bytes).
 * @throws AmpError ERR_MALFORMED for another length, type or version, or a time of 2^53 µs or more.
 */
export function decodeClockResponse(bytes: Uint8Array): AmpClockResponse {
  const v = checkHeader(bytes, AmpClockType.RESPONSE, AMP_CLOCK_RESPONSE_SIZE);
  return {
    seq: v.getUint16(AmpClockOffsets.SEQ, LE),
    t1: readU64(v, AmpClockOffsets.T1, "t1"),
    t2: readU64(v, AmpClockOffsets.T2, "t2"),
    t3: readU64(v, AmpClockOffsets.T3, "t3"),
  };
}
