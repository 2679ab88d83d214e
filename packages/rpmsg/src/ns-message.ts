// struct rpmsg_ns_msg (include/linux/rpmsg/ns.h): { char name[32]; u32 addr; u32 flags; },
// exactly 40 bytes, sent from the announcing endpoint to address 53 (docs/wire-formats.md, "rpmsg").
import { RPMSG_NAME_SIZE, RPMSG_NS_MSG_SIZE, RpmsgNsFlags } from "./constants.js";
import { rpmsgError } from "./errors.js";
import { decodeName, encodeName } from "./name.js";

const LE = true;
/** Field offsets of `struct rpmsg_ns_msg`, also for code that reads one field by field (the lean remote). */
export const RpmsgNsOffsets = {
  /** char name[32], NUL-padded */
  NAME: 0,
  /** u32 addr: the announcing endpoint's address */
  ADDR: 32,
  /** u32 flags: CREATE = 0, DESTROY = 1 */
  FLAGS: 36,
} as const;
const OFF_NAME = RpmsgNsOffsets.NAME;
const OFF_ADDR = RpmsgNsOffsets.ADDR;
const OFF_FLAGS = RpmsgNsOffsets.FLAGS;

/** A decoded name-service message. */
export interface RpmsgNsMessage {
  /** `name`: service name, at most 31 UTF-8 bytes. */
  readonly name: string;
  /** `addr`: address of the endpoint that offers (or withdraws) the service. */
  readonly addr: number;
  /** `flags`: {@link RpmsgNsFlags}; only bit 0 has a meaning. */
  readonly flags: number;
}

/**
 * Encodes an NS message into a new 40-byte array.
 * @throws RangeError/TypeError for a bad name or a field that does not fit 32 bits.
 * @example encodeRpmsgNsMessage({ name: "rpmsg-tty", addr: 1024, flags: RpmsgNsFlags.CREATE })
 */
export function encodeRpmsgNsMessage(m: RpmsgNsMessage): Uint8Array {
  const out = new Uint8Array(RPMSG_NS_MSG_SIZE);
  encodeName(m.name, out.subarray(OFF_NAME, OFF_NAME + RPMSG_NAME_SIZE));
  for (const [v, what] of [
    [m.addr, "addr"],
    [m.flags, "flags"],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} must be a u32, got ${v}`);
  }
  const dv = new DataView(out.buffer);
  dv.setUint32(OFF_ADDR, m.addr, LE);
  dv.setUint32(OFF_FLAGS, m.flags, LE);
  return out;
}

/** The result of decoding: the message and whether its name had no NUL (cut at 31 bytes). */
export interface DecodedNsMessage extends RpmsgNsMessage {
  /** True when the peer sent 32 name bytes without a NUL. */
  readonly unterminated: boolean;
}

/**
 * Decodes an NS payload.
 * @throws AmpError `ERR_MALFORMED` (offset = the length) when the payload is not exactly 40
 *   bytes: Linux, OpenAMP and rpmsg-lite all drop such messages.
 */
export function decodeRpmsgNsMessage(payload: Uint8Array): DecodedNsMessage {
  if (payload.length !== RPMSG_NS_MSG_SIZE) {
    throw rpmsgError("ERR_MALFORMED", `NS message must be ${RPMSG_NS_MSG_SIZE} bytes, got ${payload.length}`, {
      offset: payload.length,
    });
  }
  const { name, unterminated } = decodeName(payload.subarray(OFF_NAME, OFF_NAME + RPMSG_NAME_SIZE));
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { name, addr: dv.getUint32(OFF_ADDR, LE), flags: dv.getUint32(OFF_FLAGS, LE), unterminated };
}

/** True when an NS flags word means DESTROY (receivers test bit 0 only, as Linux does). */
export function isNsDestroy(flags: number): boolean {
  return (flags & RpmsgNsFlags.DESTROY) !== 0;
}
