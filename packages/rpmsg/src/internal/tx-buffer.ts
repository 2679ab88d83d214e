// Zero-copy tx: a buffer acquired from the link, filled in place by the caller (or through a
// private copy when the memory cannot lend views), then sent or released exactly once.
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE } from "../constants.js";
import type { RpmsgEndpoint } from "../endpoint.js";
import { rpmsgError, type AmpError, type RpmsgErrorCode } from "../errors.js";
import { RpmsgHdrOffsets } from "../header.js";
import type { TxBuffer } from "../message.js";
import type { RpmsgStats } from "../stats.js";
import type { Link } from "./link.js";
import type { Slot } from "./ports.js";

/** What a tx buffer needs from the device core. */
export interface TxBufferHost {
  readonly stats: RpmsgStats;
  current(): Link | undefined;
  checkDst(dst: number): void;
  downError(): AmpError<RpmsgErrorCode>;
  /** A ring violation while submitting: take the link down (the caller then throws downError). */
  ringFailure(e: unknown): void;
  /** Serves queued work after a buffer came back (ring violations take the link down). */
  pump(): void;
}

/** Wraps an acquired tx `slot` of link generation `gen` for `ep`. */
export function makeTxBuffer(host: TxBufferHost, ep: RpmsgEndpoint, slot: Slot, gen: number): TxBuffer {
  const cap = Math.min(slot.length - RPMSG_HDR_SIZE, host.current()?.mtu ?? 0);
  const mem = slot.memory;
  const payloadOff = slot.offset + RPMSG_HDR_SIZE;
  const payload = mem.zeroCopy ? mem.view(payloadOff, cap) : new Uint8Array(cap);
  let done = false;
  const live = (): Link | undefined => {
    const l = host.current();
    return l?.generation === gen ? l : undefined;
  };
  return {
    payload,
    get done() { return done; },
    send: (length: number, dst?: number) => {
      if (done) throw new TypeError("tx buffer already sent or released");
      if (!Number.isInteger(length) || length < 0) throw new RangeError(`length must be an integer >= 0, got ${length}`);
      const to = dst ?? ep.dst;
      if (dst !== undefined) host.checkDst(dst);
      if (length > cap) throw rpmsgError("ERR_MSG_SIZE", `payload of ${length} bytes exceeds this buffer's ${cap}`);
      if (ep.closed) throw ep.closedError();
      const l = live();
      if (l === undefined) { done = true; throw host.downError(); }
      if (to === RPMSG_ADDR_ANY) throw rpmsgError("ERR_NOT_BOUND", `endpoint ${ep.addr} has no destination yet`);
      if (!mem.zeroCopy) mem.write(payloadOff, payload.subarray(0, length));
      mem.setU32(slot.offset + RpmsgHdrOffsets.SRC, ep.addr);
      mem.setU32(slot.offset + RpmsgHdrOffsets.DST, to);
      mem.setU32(slot.offset + RpmsgHdrOffsets.RESERVED, 0);
      mem.setU16(slot.offset + RpmsgHdrOffsets.LEN, length);
      mem.setU16(slot.offset + RpmsgHdrOffsets.FLAGS, 0);
      done = true;
      try {
        l.tx.submit(slot, RPMSG_HDR_SIZE + length);
        host.stats.txMessages++;
        host.stats.txBytes += length;
        l.tx.flush();
      } catch (e) {
        host.ringFailure(e);
        throw host.downError();
      }
    },
    release: () => {
      if (done) return;
      done = true;
      const l = live();
      if (l === undefined) return;
      l.tx.giveBack(slot);
      host.pump();
    },
  };
}
