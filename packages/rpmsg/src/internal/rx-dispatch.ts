// The receive path: one rx buffer from the peer, every length and address from shared memory
// checked before use (wire-formats.md §7.3 "used-ring len"; §12 facts 7-8), then handed to the
// name service, an endpoint's callback or its iterator queue. Drops are counted, never thrown.
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE, RPMSG_NS_ADDR } from "../constants.js";
import type { RpmsgEndpoint } from "../endpoint.js";
import { RpmsgHdrOffsets } from "../header.js";
import type { RpmsgMessage, RxHold } from "../message.js";
import type { RpmsgStats } from "../stats.js";
import type { CallbackFailure, HeldRx, Link } from "./link.js";
import type { Slot } from "./ports.js";

/** What the receive path needs from the device core. */
export interface RxHost {
  readonly stats: RpmsgStats;
  /** The link now (a callback may take it down or restart it). */
  current(): Link | undefined;
  endpoint(addr: number): RpmsgEndpoint | undefined;
  /** Binds `ep` to `dst` and wakes its `waitBound` callers. */
  bind(ep: RpmsgEndpoint, dst: number): void;
  /** Handles a name-service payload (already copied out of the buffer). */
  receiveNs(payload: Uint8Array): CallbackFailure | undefined;
  /** Runs a user callback; its exception is counted and routed (onError, or returned for rethrow). */
  callUser(fn: () => void): CallbackFailure | undefined;
  /** Registers a held buffer. */
  hold(slot: Slot, gen: number): HeldRx;
  releaseHold(h: HeldRx): void;
}

/** Handles one rx buffer; returns a callback's exception (wrapped) to rethrow, else undefined. */
export function receiveMessage(host: RxHost, link: Link, slot: Slot): CallbackFailure | undefined {
  const { stats } = host;
  const d = stats.dropped;
  const mem = slot.memory;
  const base = slot.offset;
  // slot.length is what the peer declared (used len, or descriptor len on the remote).
  if (slot.length < RPMSG_HDR_SIZE) { d.short++; link.rx.recycle(slot); return undefined; }
  if (slot.length > link.maxRxBuffer) { d.oversize++; link.rx.recycle(slot); return undefined; }
  // hdr.len decides the payload size, never the descriptor length (OpenAMP hosts send 512).
  const len = mem.getU16(base + RpmsgHdrOffsets.LEN);
  if (len > slot.length - RPMSG_HDR_SIZE) { d.badLength++; link.rx.recycle(slot); return undefined; }
  const src = mem.getU32(base + RpmsgHdrOffsets.SRC);
  const dst = mem.getU32(base + RpmsgHdrOffsets.DST);
  // `reserved` and `flags` carry no meaning on the wire (OpenAMP/rpmsg-lite scribble on them).
  if (dst === RPMSG_NS_ADDR && link.ns) {
    const payload = mem.read(base + RPMSG_HDR_SIZE, len);
    link.rx.recycle(slot);
    stats.rxMessages++;
    stats.rxBytes += len;
    return host.receiveNs(payload);
  }
  const ep = host.endpoint(dst);
  if (ep === undefined) { d.noRecipient++; link.rx.recycle(slot); return undefined; }
  stats.rxMessages++;
  stats.rxBytes += len;
  // A src of RPMSG_ADDR_ANY is delivered all the same: Linux (rpmsg_recv_single) and OpenAMP
  // (rpmsg_virtio_rx_callback) look the endpoint up by dst alone and hand src to the callback.
  // It is never learnt as the peer below, and replying to it fails with ERR_BAD_ADDRESS (as
  // Linux's -EINVAL), which the callback's error policy (onError) then sees.
  // OpenAMP: an unbound endpoint learns its peer from the first message.
  if (ep.dst === RPMSG_ADDR_ANY && src !== RPMSG_ADDR_ANY) host.bind(ep, src);
  const onMessage = ep.options.onMessage;
  if (onMessage === undefined) {
    const data = mem.read(base + RPMSG_HDR_SIZE, len);
    link.rx.recycle(slot);
    if (!ep.enqueue({ src, dst, data })) d.queueOverflow++;
    return undefined;
  }
  let inCallback = true;
  let hold: HeldRx | undefined;
  const data = mem.zeroCopy ? mem.view(base + RPMSG_HDR_SIZE, len) : mem.read(base + RPMSG_HDR_SIZE, len);
  const msg: RpmsgMessage = {
    src,
    dst,
    data,
    hold: (): RxHold => {
      if (!inCallback) throw new TypeError("hold() must be called inside the onMessage callback");
      hold ??= host.hold(slot, link.generation);
      const h = hold;
      return {
        data,
        src,
        get released() { return h.released; },
        release: () => { host.releaseHold(h); },
      };
    },
  };
  const thrown = host.callUser(() => { onMessage(msg, ep); });
  inCallback = false;
  if (hold === undefined && host.current() === link) link.rx.recycle(slot);
  return thrown;
}
