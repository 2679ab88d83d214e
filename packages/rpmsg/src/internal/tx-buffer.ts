// Zero-copy tx: a buffer acquired from the link, filled in place by the caller (or through a
// private copy when the memory cannot lend views), then sent or released exactly once.
//
// Hot path: one small object per acquired buffer (the handle the caller holds, so that a stale
// handle stays done for good); no closures, and the payload view is made once per buffer slot
// and reused (cached on the slot) rather than once per message.
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
  return new SlotTxBuffer(host, ep, slot, gen, payloadView(slot, host.current()?.mtu ?? 0));
}

/**
 * The payload area of `slot` (at most `mtu` bytes): a view of the shared buffer on zero-copy
 * memory, else a scratch array that `send` copies in. Made once per slot and kept on it.
 */
function payloadView(slot: Slot, mtu: number): Uint8Array {
  const cap = Math.min(slot.length - RPMSG_HDR_SIZE, mtu);
  const cached = slot.txView;
  if (cached?.length === cap) return cached;
  const mem = slot.memory;
  const view = mem.zeroCopy ? mem.view(slot.offset + RPMSG_HDR_SIZE, cap) : new Uint8Array(cap);
  slot.txView = view;
  return view;
}

class SlotTxBuffer implements TxBuffer {
  readonly payload: Uint8Array;
  private readonly host: TxBufferHost;
  private readonly ep: RpmsgEndpoint;
  private readonly slot: Slot;
  private readonly gen: number;
  private finished = false;

  constructor(host: TxBufferHost, ep: RpmsgEndpoint, slot: Slot, gen: number, payload: Uint8Array) {
    this.host = host;
    this.ep = ep;
    this.slot = slot;
    this.gen = gen;
    this.payload = payload;
  }

  get done(): boolean {
    return this.finished;
  }

  send(length: number, dst?: number): void {
    if (this.finished) throw new TypeError("tx buffer already sent or released");
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`length must be an integer >= 0, got ${length}`);
    const { host, ep, slot, payload } = this;
    const to = dst ?? ep.dst;
    if (dst !== undefined) host.checkDst(dst);
    if (length > payload.length) throw rpmsgError("ERR_MSG_SIZE", `payload of ${length} bytes exceeds this buffer's ${payload.length}`);
    if (ep.closed) throw ep.closedError();
    const l = this.live();
    if (l === undefined) { this.finished = true; throw host.downError(); }
    if (to === RPMSG_ADDR_ANY) throw rpmsgError("ERR_NOT_BOUND", `endpoint ${ep.addr} has no destination yet`);
    const mem = slot.memory;
    const o = slot.offset;
    if (!mem.zeroCopy) mem.write(o + RPMSG_HDR_SIZE, payload.subarray(0, length));
    mem.setU32(o + RpmsgHdrOffsets.SRC, ep.addr);
    mem.setU32(o + RpmsgHdrOffsets.DST, to);
    mem.setU32(o + RpmsgHdrOffsets.RESERVED, 0);
    mem.setU16(o + RpmsgHdrOffsets.LEN, length);
    mem.setU16(o + RpmsgHdrOffsets.FLAGS, 0);
    this.finished = true;
    try {
      l.tx.submit(slot, RPMSG_HDR_SIZE + length);
      host.stats.txMessages++;
      host.stats.txBytes += length;
      l.tx.flush();
    } catch (e) {
      host.ringFailure(e);
      throw host.downError();
    }
  }

  release(): void {
    if (this.finished) return;
    this.finished = true;
    const l = this.live();
    if (l === undefined) return;
    l.tx.giveBack(this.slot);
    this.host.pump();
  }

  /** The link, if it is still the generation this buffer came from. */
  private live(): Link | undefined {
    const l = this.host.current();
    return l?.generation === this.gen ? l : undefined;
  }
}
