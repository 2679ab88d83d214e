// The tx path: queued name-service messages first, then senders waiting for a buffer in FIFO
// order, tx-complete interrupts on only while someone waits (Linux), and every ring violation
// turned into a link down (the caller sees ERR_LINK_DOWN, never a virtio-ring error).
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE, RPMSG_NS_ADDR, RpmsgNsFlags } from "../constants.js";
import type { EndpointTx, RpmsgEndpoint } from "../endpoint.js";
import { rpmsgError, type AmpError, type RpmsgErrorCode } from "../errors.js";
import type { TxBuffer } from "../message.js";
import { encodeRpmsgNsMessage } from "../ns-message.js";
import type { RpmsgStats } from "../stats.js";
import type { Link } from "./link.js";
import type { Slot } from "./ports.js";
import { makeTxBuffer, submitFilled, txPayload, writeHeader, type TxBufferDeps } from "./tx-buffer.js";
import { remove } from "./util.js";
import { createWaiter, type Scheduler, type WaitOptions, type Waiter } from "./wait.js";

/** What the tx path needs from the device core. */
export interface TxPathDeps {
  readonly stats: RpmsgStats;
  readonly scheduler: Scheduler | undefined;
  current(): Link | undefined;
  /** Peer broke the ring protocol: count it and take the link down (rethrows anything else). */
  ringFailure(e: unknown): void;
  checkDst(dst: number): void;
}

interface OutNs {
  readonly src: number;
  readonly payload: Uint8Array;
  /** The endpoint a queued CREATE announces (so its destroy can cancel exactly that one). */
  readonly creator: RpmsgEndpoint | undefined;
}

/** A settled promise for sends that needed no wait (shared: no allocation per send). */
let sent: Promise<void> | undefined;

/**
 * The send side of one device, and the send half of its endpoints (they call it directly).
 * Copy sends take the shortest path: checks, a slot, header and payload stores, submit, kick.
 */
export class TxPath implements EndpointTx, TxBufferDeps {
  /** @internal also what its tx buffers use (TxBufferDeps). */
  readonly deps: TxPathDeps;
  private readonly outbox: OutNs[] = [];
  private readonly txWaiters: Waiter<Slot>[] = [];
  /**
   * Waiters `pump()` gave a slot whose code has not run yet (it resumes after a microtask). A
   * new `send()` must not overtake them: messages keep the order of the calls. The waiter takes
   * its hand-off back in the same synchronous step that uses the slot.
   */
  private handoffs = 0;

  constructor(deps: TxPathDeps) {
    this.deps = deps;
  }

  /** Link down: queued NS messages are dropped, waiting senders fail with `reason`. */
  clear(reason: AmpError<RpmsgErrorCode>): void {
    this.outbox.length = 0;
    // A waiting sender sees the same code as one that starts after the drop: ERR_LINK_DOWN, with
    // the protocol or layout error that took the link down as its cause.
    const down =
      reason.code === "ERR_LINK_DOWN"
        ? reason
        : rpmsgError("ERR_LINK_DOWN", `rpmsg link down: ${reason.message}`, { cause: reason });
    for (const w of this.txWaiters.splice(0)) w.reject(down);
  }

  /** Removes `ep`'s CREATE if it is still queued (the peer never heard of it); true if it was. */
  cancelCreate(ep: RpmsgEndpoint): boolean {
    const pending = this.outbox.findIndex((m) => m.creator === ep);
    if (pending < 0) return false;
    this.outbox.splice(pending, 1);
    return true;
  }

  /** `pump()` outside `process()`: a ring violation takes the link down instead of escaping. */
  safePump(): void {
    try {
      this.pump();
    } catch (e) {
      this.deps.ringFailure(e);
    }
  }

  /** Sends queued NS messages, serves waiting senders, sends notifications. */
  pump(): void {
    const link = this.deps.current();
    if (link === undefined) return;
    for (;;) {
      while (this.outbox.length > 0) {
        const slot = link.tx.acquire();
        if (slot === undefined) break;
        const m = this.outbox.shift();
        if (m === undefined) {
          link.tx.giveBack(slot);
          break;
        }
        if (slot.length - RPMSG_HDR_SIZE < m.payload.length) {
          // A buffer too small for the 40-byte NS message (a hostile or misconfigured peer, or
          // bufferSize < 56): never write past it; the message is dropped and counted. Bounded
          // by the outbox length, and the buffer stays usable for small sends.
          this.deps.stats.dropped.badBuffer++;
          link.tx.giveBack(slot);
          continue;
        }
        this.fill(link, slot, m.src, RPMSG_NS_ADDR, m.payload);
      }
      while (this.txWaiters.length > 0 && this.outbox.length === 0) {
        const w = this.txWaiters[0];
        if (w === undefined || w.settled) {
          this.txWaiters.shift();
          continue;
        }
        const slot = link.tx.acquire();
        if (slot === undefined) break;
        w.resolve(slot); // unlinks itself
        this.handoffs++;
      }
      // Turning completions on can find buffers the peer returned while they were off (it did
      // not notify then): serve again, or that wake-up would be lost for good.
      if (!link.tx.wantCompletions(this.txWaiters.length > 0 || this.outbox.length > 0)) break;
    }
    link.tx.flush();
  }

  queueNs(ep: RpmsgEndpoint, flags: number): void {
    const payload = encodeRpmsgNsMessage({ name: ep.name, addr: ep.addr, flags });
    this.outbox.push({ src: ep.addr, payload, creator: flags === RpmsgNsFlags.CREATE ? ep : undefined });
  }

  /** Checks that a send may go ahead; returns the link. */
  private precheck(ep: RpmsgEndpoint, dst: number, len: number): Link {
    if (ep.closed) throw ep.closedError();
    const link = this.deps.current();
    if (link === undefined) throw this.downError();
    if (dst === RPMSG_ADDR_ANY)
      throw rpmsgError(
        "ERR_NOT_BOUND",
        `endpoint ${ep.addr} has no destination yet (no announcement or message from the peer)`,
      );
    if (len > link.mtu) throw rpmsgError("ERR_MSG_SIZE", `payload of ${len} bytes exceeds the MTU of ${link.mtu}`);
    return link;
  }

  /** Writes header + payload into `slot` and submits it. */
  private fill(link: Link, slot: Slot, src: number, dst: number, data: Uint8Array): void {
    const mem = slot.memory;
    const o = slot.offset;
    writeHeader(mem, o, src, dst, data.length);
    mem.write(o + RPMSG_HDR_SIZE, data);
    link.tx.submit(slot, RPMSG_HDR_SIZE + data.length);
    this.deps.stats.txMessages++;
    this.deps.stats.txBytes += data.length;
  }

  /** Sends on an acquired slot, or gives it back and throws. */
  private sendOnSlot(link: Link, slot: Slot, ep: RpmsgEndpoint, src: number, dst: number, data: Uint8Array): void {
    if (slot.length - RPMSG_HDR_SIZE < data.length) {
      link.tx.giveBack(slot);
      throw rpmsgError(
        "ERR_MSG_SIZE",
        `payload of ${data.length} bytes does not fit the ${slot.length}-byte buffer the peer provided (endpoint ${ep.addr})`,
      );
    }
    try {
      this.fill(link, slot, src, dst, data);
      link.tx.flush();
    } catch (e) {
      this.deps.ringFailure(e);
      throw this.downError();
    }
  }

  trySendRaw(ep: RpmsgEndpoint, src: number, dst: number, data: Uint8Array): boolean {
    const link = this.precheck(ep, dst, data.length);
    if (this.queued()) return false; // FIFO: others wait first
    const slot = this.tryAcquire(link);
    if (slot === undefined) return false;
    this.sendOnSlot(link, slot, ep, src, dst, data);
    return true;
  }

  sendRaw(ep: RpmsgEndpoint, src: number, dst: number, data: Uint8Array, wait: WaitOptions | undefined): Promise<void> {
    // A free buffer and nobody queued: send now and hand back a settled promise (no await, no
    // promise per send). Errors still arrive through the promise, as from an async function.
    try {
      this.checkWait(wait);
      if (this.trySendRaw(ep, src, dst, data)) return (sent ??= Promise.resolve());
    } catch (e) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on as thrown, as an async function would
      return Promise.reject(e);
    }
    return this.sendWaiting(ep, src, dst, data, wait);
  }

  /** The slow half of `sendRaw`: wait for a buffer in FIFO order, then send on it. */
  private async sendWaiting(
    ep: RpmsgEndpoint,
    src: number,
    dst: number,
    data: Uint8Array,
    wait: WaitOptions | undefined,
  ): Promise<void> {
    const slot = await this.acquireSlot(wait);
    this.handoffs--;
    const link = this.deps.current();
    if (link?.generation !== slot.gen) throw this.downError();
    if (ep.closeReason !== undefined) {
      link.tx.giveBack(slot.slot);
      this.safePump();
      throw ep.closedError();
    }
    this.sendOnSlot(link, slot.slot, ep, src, dst, data);
  }

  /** A free tx slot or undefined; a ring violation takes the link down (ERR_LINK_DOWN). */
  private tryAcquire(link: Link): Slot | undefined {
    try {
      return link.tx.acquire();
    } catch (e) {
      this.deps.ringFailure(e);
      throw this.downError();
    }
  }

  /** Senders or NS messages wait for a buffer (or got one and resume soon): a new send goes behind them. */
  private queued(): boolean {
    return this.txWaiters.length > 0 || this.outbox.length > 0 || this.handoffs > 0;
  }

  /** Misuse of the wait options is reported even when no wait turns out to be needed. */
  private checkWait(wait: WaitOptions | undefined): void {
    if (wait?.timeoutMs !== undefined && this.deps.scheduler === undefined) {
      throw new TypeError("timeoutMs needs a `scheduler` option ({ setTimeout, clearTimeout }) on the device");
    }
  }

  downError(): AmpError<RpmsgErrorCode> {
    return rpmsgError("ERR_LINK_DOWN", "the rpmsg link is down");
  }

  /**
   * A tx slot after waiting in FIFO order (the caller already looked for a free one). It always
   * queues, even when a buffer came back since that look: `pump()` then serves it at once and
   * counts the hand-off, which the caller takes back (decrements `handoffs`) in the step that
   * uses the slot, so that sends made while it resumes queue behind it. An rpmsg-lite remote
   * returns buffers at any moment, without a notification: a second look here that took such a
   * buffer without counting it let later sends overtake this one.
   */
  private async acquireSlot(wait: WaitOptions | undefined): Promise<{ slot: Slot; gen: number }> {
    const link = this.deps.current();
    if (link === undefined) throw this.downError();
    const w = createWaiter<Slot>("send: waiting for a tx buffer", wait, this.deps.scheduler, (x) => {
      remove(this.txWaiters, x);
    });
    if (!w.settled) {
      this.txWaiters.push(w);
      this.safePump(); // serves it if a buffer is free now, else turns completions on
    }
    const slot = await w.promise; // only pump() resolves a waiter, with a slot, counting its hand-off
    return { slot, gen: link.generation };
  }

  /**
   * Zero-copy without a handle: `fill` writes the payload in place and returns its length; the
   * message goes out before this returns (nothing allocated per send). False when no buffer is
   * free. A `fill` that throws gets its buffer given back and its exception passed on.
   */
  trySendWith(ep: RpmsgEndpoint, fill: (payload: Uint8Array) => number, dst: number | undefined): boolean {
    if (dst !== undefined) this.deps.checkDst(dst);
    const to = dst ?? ep.dst;
    const link = this.precheck(ep, to, 0);
    if (this.queued()) return false;
    const slot = this.tryAcquire(link);
    if (slot === undefined) return false;
    const payload = txPayload(slot, link.mtu);
    let length: number;
    try {
      length = fill(payload);
    } catch (e) {
      if (this.deps.current() === link) {
        link.tx.giveBack(slot);
        this.safePump();
      }
      throw e;
    }
    // `fill` is user code: it may have taken the link down (the buffer went with it) or closed `ep`.
    if (this.deps.current() !== link) throw this.downError();
    if (ep.closed || !(Number.isInteger(length) && length >= 0 && length <= payload.length)) {
      link.tx.giveBack(slot);
      this.safePump();
      if (ep.closed) throw ep.closedError();
      throw rpmsgError(
        "ERR_MSG_SIZE",
        `fill returned ${String(length)}: the length must be an integer in [0, ${payload.length}]`,
      );
    }
    submitFilled(this, link, slot, payload, ep.addr, to, length);
    return true;
  }

  tryTxBuffer(ep: RpmsgEndpoint): TxBuffer | undefined {
    if (ep.closed) throw ep.closedError();
    const link = this.deps.current();
    if (link === undefined) throw this.downError();
    if (this.queued()) return undefined;
    const slot = this.tryAcquire(link);
    return slot === undefined ? undefined : this.makeTxBuffer(ep, slot, link.generation);
  }

  async txBuffer(ep: RpmsgEndpoint, wait: WaitOptions | undefined): Promise<TxBuffer> {
    this.checkWait(wait);
    const now = this.tryTxBuffer(ep);
    if (now !== undefined) return now;
    const s = await this.acquireSlot(wait);
    this.handoffs--;
    if (ep.closeReason !== undefined) {
      const link = this.deps.current();
      if (link?.generation === s.gen) {
        link.tx.giveBack(s.slot);
        this.safePump();
      }
      throw ep.closedError();
    }
    return this.makeTxBuffer(ep, s.slot, s.gen);
  }

  private makeTxBuffer(ep: RpmsgEndpoint, slot: Slot, gen: number): TxBuffer {
    return makeTxBuffer(this, ep, slot, gen);
  }
}
