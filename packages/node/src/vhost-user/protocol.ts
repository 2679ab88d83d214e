// The vhost-user wire protocol, backend side: message numbers, header and payload codecs.
// Every message is a 12-byte header (u32 request, u32 flags, u32 size) and `size` payload bytes,
// little-endian, descriptors passed alongside (SCM_RIGHTS). Names follow the kernel's
// arch/um/drivers/vhost_user.h (6.1 still says "slave" for the backend-to-frontend channel).
// What the 6.1 UML frontend insists on is noted where it matters: replies carry flags 0x5
// exactly, it needs SLAVE_REQ to set up its interrupt at all, and it reads config space only
// with CONFIG negotiated.
import { vhostError } from "./errors.js";

const LE = true;

/** Frontend → backend requests. */
export const VhostUserRequest = {
  GET_FEATURES: 1,
  SET_FEATURES: 2,
  SET_OWNER: 3,
  RESET_OWNER: 4,
  SET_MEM_TABLE: 5,
  SET_LOG_BASE: 6,
  SET_LOG_FD: 7,
  SET_VRING_NUM: 8,
  SET_VRING_ADDR: 9,
  SET_VRING_BASE: 10,
  GET_VRING_BASE: 11,
  SET_VRING_KICK: 12,
  SET_VRING_CALL: 13,
  SET_VRING_ERR: 14,
  GET_PROTOCOL_FEATURES: 15,
  SET_PROTOCOL_FEATURES: 16,
  GET_QUEUE_NUM: 17,
  SET_VRING_ENABLE: 18,
  SET_SLAVE_REQ_FD: 21,
  GET_CONFIG: 24,
  SET_CONFIG: 25,
  VRING_KICK: 35,
} as const;

/** Backend → frontend requests (on the slave channel). */
export const VhostUserSlaveRequest = {
  CONFIG_CHANGE_MSG: 2,
  VRING_CALL: 4,
} as const;

/** VHOST_USER_F_PROTOCOL_FEATURES: a device feature bit that only the vhost-user layer uses. */
export const VHOST_USER_F_PROTOCOL_FEATURES = 30;

/** Protocol feature bit numbers (GET/SET_PROTOCOL_FEATURES). */
export const VhostUserProtocolFeature = {
  /** The frontend may set NEED_REPLY on any message; the backend answers u64 0 (ok) or not. */
  REPLY_ACK: 3,
  /** The backend-to-frontend channel (SET_SLAVE_REQ_FD); UML 6.1 cannot probe without it. */
  SLAVE_REQ: 5,
  /** GET_CONFIG / SET_CONFIG. */
  CONFIG: 9,
  /** Kicks as VRING_KICK messages and calls as slave VRING_CALL messages, no eventfds. */
  INBAND_NOTIFICATIONS: 14,
} as const;

/** Header flags: the version (1) in bits 0..1, REPLY, NEED_REPLY. */
export const VHOST_USER_VERSION = 0x1;
export const VHOST_USER_FLAG_REPLY = 0x4;
export const VHOST_USER_FLAG_NEED_REPLY = 0x8;
/** SET_VRING_KICK/CALL/ERR: bits 0..7 the ring index, bit 8 "no descriptor, poll instead". */
export const VHOST_USER_VRING_INDEX_MASK = 0xff;
export const VHOST_USER_VRING_NOFD_MASK = 0x100;

/** Header size; and the largest payload we accept (the biggest message, a memory table of 8 regions, is 264 bytes; config spaces stay below 256). */
export const VHOST_USER_HDR_SIZE = 12;
export const VHOST_USER_MAX_PAYLOAD = 4096;

/** One message as read from the frontend. */
export interface VhostUserMessage {
  readonly request: number;
  readonly flags: number;
  readonly payload: Uint8Array;
  /** Descriptor numbers (in the relay) that came with the message. */
  readonly fds: readonly number[];
}

/** One region of SET_MEM_TABLE (struct vhost_user_mem_region). */
export interface MemRegion {
  /** Guest-physical address: what descriptors carry. */
  readonly guestAddr: bigint;
  readonly size: bigint;
  /** Frontend virtual address: what SET_VRING_ADDR carries. UML sends the guest address here too. */
  readonly userAddr: bigint;
  /** Where the region starts in the passed file. */
  readonly mmapOffset: bigint;
}

/** struct vhost_vring_addr, addresses in the frontend's virtual address space. */
export interface VringAddr {
  readonly index: number;
  readonly flags: number;
  readonly desc: bigint;
  readonly used: bigint;
  readonly avail: bigint;
  readonly log: bigint;
}

function need(p: Uint8Array, n: number, what: string): DataView {
  if (p.length < n) throw vhostError("ERR_TRUNCATED", `vhost-user ${what}: payload of ${p.length} bytes, ${n} needed`);
  return new DataView(p.buffer, p.byteOffset, p.byteLength);
}

/** A u64 payload (features, protocol features, a ring index with flags). */
export function decodeU64(p: Uint8Array, what: string): bigint {
  return need(p, 8, what).getBigUint64(0, LE);
}

/** struct vhost_vring_state: { u32 index; u32 num }. */
export function decodeVringState(p: Uint8Array, what: string): { index: number; num: number } {
  const v = need(p, 8, what);
  return { index: v.getUint32(0, LE), num: v.getUint32(4, LE) };
}

/** struct vhost_vring_addr (40 bytes). */
export function decodeVringAddr(p: Uint8Array): VringAddr {
  const v = need(p, 40, "SET_VRING_ADDR");
  return {
    index: v.getUint32(0, LE),
    flags: v.getUint32(4, LE),
    desc: v.getBigUint64(8, LE),
    used: v.getBigUint64(16, LE),
    avail: v.getBigUint64(24, LE),
    log: v.getBigUint64(32, LE),
  };
}

/** struct vhost_user_memory: u32 nregions, u32 padding, then 32-byte regions. */
export function decodeMemTable(p: Uint8Array): MemRegion[] {
  const v = need(p, 8, "SET_MEM_TABLE");
  const n = v.getUint32(0, LE);
  if (n > 8) throw vhostError("ERR_MALFORMED", `vhost-user SET_MEM_TABLE: ${n} regions, at most 8 allowed`);
  need(p, 8 + 32 * n, "SET_MEM_TABLE");
  const out: MemRegion[] = [];
  for (let i = 0; i < n; i++) {
    const o = 8 + 32 * i;
    out.push({
      guestAddr: v.getBigUint64(o, LE),
      size: v.getBigUint64(o + 8, LE),
      userAddr: v.getBigUint64(o + 16, LE),
      mmapOffset: v.getBigUint64(o + 24, LE),
    });
  }
  return out;
}

/** struct vhost_user_config header: { u32 offset; u32 size; u32 flags } then the bytes. */
export function decodeConfigRequest(
  p: Uint8Array,
  what: string,
): { offset: number; size: number; flags: number; data: Uint8Array } {
  const v = need(p, 12, what);
  const offset = v.getUint32(0, LE);
  const size = v.getUint32(4, LE);
  const flags = v.getUint32(8, LE);
  if (size > VHOST_USER_MAX_PAYLOAD - 12)
    throw vhostError("ERR_MALFORMED", `vhost-user ${what}: config size ${size} too large`);
  return { offset, size, flags, data: p.subarray(12, 12 + Math.min(size, p.length - 12)) };
}

/** A whole message: header and payload. */
export function encodeMessage(request: number, flags: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(VHOST_USER_HDR_SIZE + payload.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, request, LE);
  v.setUint32(4, flags, LE);
  v.setUint32(8, payload.length, LE);
  b.set(payload, VHOST_USER_HDR_SIZE);
  return b;
}

/** An 8-byte little-endian u64 payload. */
export function encodeU64(value: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), LE);
  return b;
}

/** A struct vhost_vring_state payload. */
export function encodeVringState(index: number, num: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, index, LE);
  v.setUint32(4, num, LE);
  return b;
}

/** Descriptors a request carries (by the protocol), given its payload. */
export function fdsExpected(request: number, payload: Uint8Array): number {
  switch (request) {
    case VhostUserRequest.SET_MEM_TABLE:
      return payload.length >= 4 ? new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, LE) : 0;
    case VhostUserRequest.SET_LOG_BASE:
    case VhostUserRequest.SET_LOG_FD:
    case VhostUserRequest.SET_SLAVE_REQ_FD:
      return 1;
    case VhostUserRequest.SET_VRING_KICK:
    case VhostUserRequest.SET_VRING_CALL:
    case VhostUserRequest.SET_VRING_ERR:
      return payload.length >= 8 && Number(decodeU64(payload, "vring fd") & BigInt(VHOST_USER_VRING_NOFD_MASK)) === 0
        ? 1
        : 0;
    default:
      return 0;
  }
}

/** Name of a request number, for logs and errors. */
export function requestName(request: number): string {
  for (const [k, v] of Object.entries(VhostUserRequest)) if (v === request) return k;
  return `request ${request}`;
}

/**
 * Reassembles messages from the frontend's byte stream. Descriptors are queued as the relay
 * reports them (never later than the bytes they came with) and handed to the message that the
 * protocol says carries them.
 */
export class MessageReader {
  private buf = new Uint8Array(0);
  private readonly fds: number[] = [];

  /** Descriptors that arrived with the next bytes. */
  addFds(fds: readonly number[]): void {
    this.fds.push(...fds);
  }

  /**
   * Appends bytes and returns every complete message.
   * @throws AmpError ERR_MALFORMED for a payload larger than VHOST_USER_MAX_PAYLOAD or a wrong version.
   */
  push(bytes: Uint8Array): VhostUserMessage[] {
    const joined = new Uint8Array(this.buf.length + bytes.length);
    joined.set(this.buf);
    joined.set(bytes, this.buf.length);
    const out: VhostUserMessage[] = [];
    let o = 0;
    const v = new DataView(joined.buffer);
    while (joined.length - o >= VHOST_USER_HDR_SIZE) {
      const request = v.getUint32(o, LE);
      const flags = v.getUint32(o + 4, LE);
      const size = v.getUint32(o + 8, LE);
      if ((flags & 0x3) !== VHOST_USER_VERSION)
        throw vhostError("ERR_MALFORMED", `vhost-user ${requestName(request)}: version ${flags & 3}, only 1 is spoken`);
      if (size > VHOST_USER_MAX_PAYLOAD)
        throw vhostError(
          "ERR_MALFORMED",
          `vhost-user ${requestName(request)}: payload of ${size} bytes exceeds ${VHOST_USER_MAX_PAYLOAD}`,
        );
      if (joined.length - o - VHOST_USER_HDR_SIZE < size) break;
      const payload = joined.slice(o + VHOST_USER_HDR_SIZE, o + VHOST_USER_HDR_SIZE + size);
      const n = Math.min(fdsExpected(request, payload), this.fds.length);
      out.push({ request, flags, payload, fds: this.fds.splice(0, n) });
      o += VHOST_USER_HDR_SIZE + size;
    }
    this.buf = joined.slice(o);
    return out;
  }
}
