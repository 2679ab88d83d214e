// The receive path: one rx buffer from the peer, every length and address from shared memory
// checked before use (docs/wire-formats.md, "rpmsg", "Used lengths: what real peers write"), then handed to the
// name service, an endpoint's callback or its iterator queue. Drops are counted, never thrown.
//
// Hot path: nothing is allocated per message in callback mode on zero-copy memory. The message
// object and its payload view belong to the rx buffer (cached on its slot) and are reused the
// next time the same buffer arrives with the same length; the callback is called directly, not
// through a closure.
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE, RPMSG_NS_ADDR } from "../constants.js";
import type { RpmsgEndpoint } from "../endpoint.js";
import { RpmsgHdrOffsets } from "../header.js";
import type { RpmsgMessage, RxHold } from "../message.js";
import type { RpmsgStats } from "../stats.js";
import type { CallbackFailure, HeldRx, Link } from "./link.js";
import type { Slot } from "./ports.js";

/** What the receive path needs from the device core. */
export interface RxDeps {
  readonly stats: RpmsgStats;
  /** The link now (a callback may take it down or restart it). */
  current(): Link | undefined;
  endpoint(addr: number): RpmsgEndpoint | undefined;
  /** Binds `ep` to `dst` and wakes its `waitBound` callers. */
  bind(ep: RpmsgEndpoint, dst: number): void;
  /** Handles a name-service payload (already copied out of the buffer). */
  receiveNs(payload: Uint8Array): CallbackFailure | undefined;
  /** A user callback threw `e`: counted and routed (onError, or returned for rethrow). */
  callbackFailed(e: unknown): CallbackFailure | undefined;
  /** Registers a held buffer. */
  hold(slot: Slot, gen: number): HeldRx;
  releaseHold(h: HeldRx): void;
}

/**
 * The message handed to `onMessage` for one rx buffer. One per buffer slot, refilled on every
 * delivery from that buffer: like its zero-copy `data`, it describes the message only until the
 * callback returns (a held message keeps its buffer, so it is not refilled before `release()`).
 */
interface SlotMessage extends RpmsgMessage {
  src: number;
  dst: number;
  data: Uint8Array;
  /** Link generation of the current delivery. */
  gen: number;
  /** True while its callback runs (hold() is allowed). */
  live: boolean;
  held: HeldRx | undefined;
}

function slotMessage(deps: RxDeps, slot: Slot, data: Uint8Array): SlotMessage {
  const m: SlotMessage = {
    src: 0,
    dst: 0,
    data,
    gen: 0,
    live: false,
    held: undefined,
    hold(): RxHold {
      if (!m.live) throw new TypeError("hold() must be called inside the onMessage callback");
      const h = (m.held ??= deps.hold(slot, m.gen));
      return {
        data: m.data,
        src: m.src,
        get released() {
          return h.released;
        },
        release: () => {
          deps.releaseHold(h);
        },
      };
    },
  };
  return m;
}

/** Handles one rx buffer; returns a callback's exception (wrapped) to rethrow, else undefined. */
export function receiveMessage(deps: RxDeps, link: Link, slot: Slot): CallbackFailure | undefined {
  const { stats } = deps;
  const d = stats.dropped;
  const mem = slot.memory;
  const base = slot.offset;
  // slot.length is what the peer declared (used len, or descriptor len on the remote).
  if (slot.length < RPMSG_HDR_SIZE) {
    d.short++;
    link.rx.recycle(slot);
    return undefined;
  }
  if (slot.length > link.maxRxBuffer) {
    d.oversize++;
    link.rx.recycle(slot);
    return undefined;
  }
  // hdr.len decides the payload size, never the descriptor length (OpenAMP hosts send 512).
  const len = mem.getU16(base + RpmsgHdrOffsets.LEN);
  if (len > slot.length - RPMSG_HDR_SIZE) {
    d.badLength++;
    link.rx.recycle(slot);
    return undefined;
  }
  const src = mem.getU32(base + RpmsgHdrOffsets.SRC);
  const dst = mem.getU32(base + RpmsgHdrOffsets.DST);
  // `reserved` and `flags` carry no meaning on the wire (OpenAMP/rpmsg-lite scribble on them).
  if (dst === RPMSG_NS_ADDR && link.ns) {
    const payload = mem.read(base + RPMSG_HDR_SIZE, len);
    link.rx.recycle(slot);
    stats.rxMessages++;
    stats.rxBytes += len;
    return deps.receiveNs(payload);
  }
  const ep = deps.endpoint(dst);
  if (ep === undefined) {
    d.noRecipient++;
    link.rx.recycle(slot);
    return undefined;
  }
  stats.rxMessages++;
  stats.rxBytes += len;
  // A src of RPMSG_ADDR_ANY is delivered all the same: Linux (rpmsg_recv_single) and OpenAMP
  // (rpmsg_virtio_rx_callback) look the endpoint up by dst alone and hand src to the callback.
  // It is never learnt as the peer below, and replying to it fails with ERR_BAD_ADDRESS (as
  // Linux's -EINVAL), which the callback's error policy (onError) then sees.
  // OpenAMP: an unbound endpoint learns its peer from the first message.
  if (ep.dst === RPMSG_ADDR_ANY && src !== RPMSG_ADDR_ANY) deps.bind(ep, src);
  const onMessage = ep.options.onMessage;
  if (onMessage === undefined) {
    const data = mem.read(base + RPMSG_HDR_SIZE, len);
    link.rx.recycle(slot);
    if (!ep.enqueue({ src, dst, data })) d.queueOverflow++;
    return undefined;
  }
  // Memory that cannot lend views gets a private copy per message (the copy is the message).
  // Zero-copy: the view the slot's message holds is this buffer's payload; reused while the length matches.
  let msg = slot.rxMessage as SlotMessage | undefined;
  let data = msg?.data;
  if (!mem.zeroCopy || data?.length !== len)
    data = mem.zeroCopy ? mem.view(base + RPMSG_HDR_SIZE, len) : mem.read(base + RPMSG_HDR_SIZE, len);
  msg ??= slot.rxMessage = slotMessage(deps, slot, data);
  // Points the slot's message at this delivery: not held, inside its callback from now (the
  // callback may hold it: the type is widened so that the check below is not narrowed away).
  msg.src = src;
  msg.dst = dst;
  msg.data = data;
  msg.gen = link.generation;
  msg.held = undefined as HeldRx | undefined;
  msg.live = true;
  let thrown: CallbackFailure | undefined;
  try {
    onMessage(msg, ep);
  } catch (e) {
    thrown = deps.callbackFailed(e);
  }
  msg.live = false;
  if (msg.held === undefined && deps.current() === link) link.rx.recycle(slot);
  return thrown;
}
