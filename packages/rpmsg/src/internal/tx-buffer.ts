// Zero-copy tx: a buffer acquired from the link, filled in place by the caller (or through a
// private copy when the memory cannot lend views), then sent or released exactly once.
//
// Hot path: one small object per acquired buffer (the handle the caller holds, so that a stale
// handle stays done for good); no closures, and the payload view is made once per buffer slot
// and reused (cached on the slot) rather than once per message.
import type { Memory } from "@amp/virtio-ring";
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE } from "../constants.js";
import type { RpmsgEndpoint } from "../endpoint.js";
import { rpmsgError, type AmpError, type RpmsgErrorCode } from "../errors.js";
import { RpmsgHdrOffsets } from "../header.js";
import type { TxBuffer } from "../message.js";
import type { RpmsgStats } from "../stats.js";
import type { Link } from "./link.js";
import type { Slot } from "./ports.js";

/** What a tx buffer needs: the tx path it came from (TxPath implements this). */
export interface TxBufferDeps {
  readonly deps: {
    readonly stats: RpmsgStats;
    current(): Link | undefined;
    checkDst(dst: number): void;
    /** A ring violation while submitting: take the link down (the caller then throws downError). */
    ringFailure(e: unknown): void;
  };
  downError(): AmpError<RpmsgErrorCode>;
  /** Serves queued work after a buffer came back (ring violations take the link down). */
  safePump(): void;
}

/**
 * Writes struct rpmsg_hdr at `o`: src, dst, reserved = 0, len, flags = 0. `len` (u16) and
 * `flags` (u16, 0) share one little-endian u32 store: four stores instead of five.
 */
export function writeHeader(mem: Memory, o: number, src: number, dst: number, len: number): void {
  mem.setU32(o + RpmsgHdrOffsets.SRC, src);
  mem.setU32(o + RpmsgHdrOffsets.DST, dst);
  mem.setU32(o + RpmsgHdrOffsets.RESERVED, 0);
  mem.setU32(o + RpmsgHdrOffsets.LEN, len); // FLAGS = LEN + 2 gets the zero high half
}

/**
 * Wraps an acquired tx `slot` of link generation `gen` for `ep`. Its payload area (at most the
 * MTU) is a view of the shared buffer on zero-copy memory, else a scratch array that `send`
 * copies in; made once per slot and kept on it.
 */
export function makeTxBuffer(tx: TxBufferDeps, ep: RpmsgEndpoint, slot: Slot, gen: number): TxBuffer {
  return new SlotTxBuffer(tx, ep, slot, gen, txPayload(slot, tx.deps.current()?.mtu ?? 0));
}

/** The payload area of tx `slot` (at most `mtu`), made once per slot and kept on it. */
export function txPayload(slot: Slot, mtu: number): Uint8Array {
  const cap = Math.min(slot.length - RPMSG_HDR_SIZE, mtu);
  let view = slot.txView;
  if (view?.length !== cap) {
    const mem = slot.memory;
    view = slot.txView = mem.zeroCopy ? mem.view(slot.offset + RPMSG_HDR_SIZE, cap) : new Uint8Array(cap);
  }
  return view;
}

/**
 * Submits tx `slot`, its payload filled in place (`payload`: the slot's txPayload), as a message
 * of `length` bytes from `src` to `dst`, then notifies. A ring violation takes the link down
 * (the caller sees ERR_LINK_DOWN).
 */
export function submitFilled(
  tx: TxBufferDeps,
  l: Link,
  slot: Slot,
  payload: Uint8Array,
  src: number,
  dst: number,
  length: number,
): void {
  const deps = tx.deps;
  const mem = slot.memory;
  const o = slot.offset;
  if (!mem.zeroCopy) mem.write(o + RPMSG_HDR_SIZE, payload.subarray(0, length));
  writeHeader(mem, o, src, dst, length);
  try {
    l.tx.submit(slot, RPMSG_HDR_SIZE + length);
    deps.stats.txMessages++;
    deps.stats.txBytes += length;
    l.tx.flush();
  } catch (e) {
    deps.ringFailure(e);
    throw tx.downError();
  }
}

class SlotTxBuffer implements TxBuffer {
  readonly payload: Uint8Array;
  private readonly tx: TxBufferDeps;
  private readonly ep: RpmsgEndpoint;
  private readonly slot: Slot;
  private readonly gen: number;
  private finished = false;

  constructor(tx: TxBufferDeps, ep: RpmsgEndpoint, slot: Slot, gen: number, payload: Uint8Array) {
    this.tx = tx;
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
    const { tx, ep, slot, payload } = this;
    const to = dst ?? ep.dst;
    if (dst !== undefined) tx.deps.checkDst(dst);
    if (length > payload.length)
      throw rpmsgError("ERR_MSG_SIZE", `payload of ${length} bytes exceeds this buffer's ${payload.length}`);
    if (ep.closed) throw ep.closedError();
    const l = this.live();
    if (l === undefined) {
      this.finished = true;
      throw tx.downError();
    }
    if (to === RPMSG_ADDR_ANY) throw rpmsgError("ERR_NOT_BOUND", `endpoint ${ep.addr} has no destination yet`);
    this.finished = true;
    submitFilled(tx, l, slot, payload, ep.addr, to, length);
  }

  release(): void {
    if (this.finished) return;
    this.finished = true;
    const l = this.live();
    if (l === undefined) return;
    l.tx.giveBack(this.slot);
    this.tx.safePump();
  }

  /** The link, if it is still the generation this buffer came from. */
  private live(): Link | undefined {
    const l = this.tx.deps.current();
    return l?.generation === this.gen ? l : undefined;
  }
}
