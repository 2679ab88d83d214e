// An rpmsg endpoint: a local address, an optional name, a bound peer address, and the send and
// receive API. All the work happens in the device core; this is the user-facing handle.
import { RPMSG_ADDR_ANY } from "./constants.js";
import { badAddressError, rpmsgError, type AmpError, type RpmsgErrorCode } from "./errors.js";
import { isU32 } from "./internal/util.js";
import type { WaitOptions } from "./internal/wait.js";
import type { ReceivedMessage, RpmsgMessage, TxBuffer } from "./message.js";

/** Options of `createEndpoint`. */
export interface EndpointOptions {
  /** Service name (at most 31 UTF-8 bytes); matched exactly against peer announcements. */
  readonly name?: string;
  /** Local address; default {@link RPMSG_ADDR_ANY}: the lowest free dynamic address from 1024. */
  readonly addr?: number;
  /** Peer address; default ANY: bound by a matching NS announcement or learned from the first message. */
  readonly dst?: number;
  /** Receive callback (runs inside `process()`). Without it, messages queue for the async iterator. */
  readonly onMessage?: (message: RpmsgMessage, endpoint: RpmsgEndpoint) => void;
  /** Called when the peer withdraws the service this endpoint was bound to (NS DESTROY). */
  readonly onUnbind?: (endpoint: RpmsgEndpoint) => void;
  /** Called once when the endpoint closes, with the reason (ERR_CLOSED for destroy(), ERR_LINK_DOWN...). */
  readonly onClose?: (reason: AmpError<RpmsgErrorCode>, endpoint: RpmsgEndpoint) => void;
  /**
   * Send an NS CREATE for this endpoint (and NS DESTROY when it goes away), when the name
   * service was negotiated. Default: true on the remote for named endpoints without a `dst`
   * (OpenAMP), false on the host (Linux announces only on request).
   */
  readonly announce?: boolean;
  /** Messages kept for the async iterator before new ones are dropped (counted). Default 256. */
  readonly maxQueued?: number;
}

/** The device side of an endpoint (implemented by the core; not public). */
export interface EndpointCore {
  readonly mtu: number;
  destroyEndpoint(ep: RpmsgEndpoint): void;
  waitBound(ep: RpmsgEndpoint, wait: WaitOptions | undefined): Promise<number>;
  checkDst(dst: number): void;
}

/** The send half of an endpoint: served directly by the device's tx path (not public). */
export interface EndpointTx {
  sendRaw(ep: RpmsgEndpoint, src: number, dst: number, data: Uint8Array, wait: WaitOptions | undefined): Promise<void>;
  trySendRaw(ep: RpmsgEndpoint, src: number, dst: number, data: Uint8Array): boolean;
  tryTxBuffer(ep: RpmsgEndpoint): TxBuffer | undefined;
  trySendWith(ep: RpmsgEndpoint, fill: (payload: Uint8Array) => number, dst: number | undefined): boolean;
  txBuffer(ep: RpmsgEndpoint, wait: WaitOptions | undefined): Promise<TxBuffer>;
}

/** ERR_BAD_ADDRESS for an address nothing can be sent to or from (ANY, or not a u32), else undefined. */
function addressError(addr: number): AmpError<RpmsgErrorCode> | undefined {
  return isU32(addr) && addr !== RPMSG_ADDR_ANY ? undefined : badAddressError(addr);
}

interface Pull {
  resolve(r: IteratorResult<ReceivedMessage>): void;
  reject(e: unknown): void;
}

/**
 * A local rpmsg endpoint. Create one with `createEndpoint` on an {@link RpmsgHost} or
 * {@link RpmsgRemote}; the constructor is internal.
 */
export class RpmsgEndpoint implements AsyncIterable<ReceivedMessage> {
  /** Local address (`src` of what this endpoint sends). */
  readonly addr: number;
  /** Service name ("" for an anonymous endpoint). */
  readonly name: string;
  /** True when this endpoint announces itself through the name service. */
  readonly announce: boolean;
  /** @internal */
  readonly options: EndpointOptions;
  private readonly core: EndpointCore;
  private readonly tx: EndpointTx;
  private dstAddr: number;
  private reason: AmpError<RpmsgErrorCode> | undefined;
  private readonly queue: ReceivedMessage[] = [];
  private readonly pulls: Pull[] = [];
  /** Messages dropped because the iterator queue was full (`maxQueued`). */
  queueDrops = 0;

  /** @internal */
  constructor(
    core: EndpointCore,
    tx: EndpointTx,
    addr: number,
    name: string,
    announce: boolean,
    options: EndpointOptions,
  ) {
    this.core = core;
    this.tx = tx;
    this.addr = addr;
    this.name = name;
    this.announce = announce;
    this.options = options;
    this.dstAddr = options.dst ?? RPMSG_ADDR_ANY;
  }

  /** Bound peer address, or RPMSG_ADDR_ANY while unbound. */
  get dst(): number {
    return this.dstAddr;
  }

  /** True once destroyed or closed by a link-down. */
  get closed(): boolean {
    return this.reason !== undefined;
  }

  /** Why the endpoint closed (undefined while open). */
  get closeReason(): AmpError<RpmsgErrorCode> | undefined {
    return this.reason;
  }

  /** Largest payload one message can carry (buffer size − 16; 496 with Linux's 512-byte buffers). */
  get mtu(): number {
    return this.core.mtu;
  }

  /**
   * Sends `data` to the bound peer, waiting for a free tx buffer if there is none.
   * @throws AmpError ERR_NOT_BOUND, ERR_MSG_SIZE, ERR_CLOSED, ERR_LINK_DOWN, ERR_TIMEOUT, ERR_ABORTED
   */
  send(data: Uint8Array, options?: WaitOptions): Promise<void> {
    return this.tx.sendRaw(this, this.addr, this.dstAddr, data, options);
  }

  /**
   * Sends `data` to `dst`, waiting for a tx buffer. A `dst` of RPMSG_ADDR_ANY (e.g. the `src` of
   * a message that came from ANY) or one that is not a u32 rejects with ERR_BAD_ADDRESS.
   * @throws AmpError ERR_BAD_ADDRESS; otherwise as `send` (always through the promise).
   */
  sendTo(dst: number, data: Uint8Array, options?: WaitOptions): Promise<void> {
    const bad = addressError(dst);
    if (bad !== undefined) return Promise.reject(bad);
    return this.tx.sendRaw(this, this.addr, dst, data, options);
  }

  /** Sends with an explicit source address (Linux rpmsg_send_offchannel). @throws as `sendTo` (`src` too). */
  sendOffchannel(src: number, dst: number, data: Uint8Array, options?: WaitOptions): Promise<void> {
    const bad = addressError(src) ?? addressError(dst);
    if (bad !== undefined) return Promise.reject(bad);
    return this.tx.sendRaw(this, src, dst, data, options);
  }

  /** Sends without waiting: false when no tx buffer is free. @throws AmpError as `send` (no timeout/abort). */
  trySend(data: Uint8Array): boolean {
    return this.tx.trySendRaw(this, this.addr, this.dstAddr, data);
  }

  /** `trySend` to `dst`. @throws AmpError ERR_BAD_ADDRESS for a `dst` of ANY or not a u32; otherwise as `trySend`. */
  trySendTo(dst: number, data: Uint8Array): boolean {
    const bad = addressError(dst);
    if (bad !== undefined) throw bad;
    return this.tx.trySendRaw(this, this.addr, dst, data);
  }

  /** `trySend` with an explicit source. @throws as `trySendTo` (`src` too). */
  trySendOffchannel(src: number, dst: number, data: Uint8Array): boolean {
    const bad = addressError(src) ?? addressError(dst);
    if (bad !== undefined) throw bad;
    return this.tx.trySendRaw(this, src, dst, data);
  }

  /** Takes a tx buffer for zero-copy sending, or undefined when none is free. @throws ERR_CLOSED, ERR_LINK_DOWN */
  tryGetTxBuffer(): TxBuffer | undefined {
    return this.tx.tryTxBuffer(this);
  }

  /**
   * Zero-copy send without a handle: when a tx buffer is free, calls `fill(payload)` with the
   * buffer's payload area (valid only during the call, as a received message's data is), which
   * writes the message in place and returns its length; the message is sent to `dst` (default:
   * the bound peer) before this returns true. False, without calling `fill`, when no buffer is
   * free. Nothing is allocated per send when `fill` is a function made once. If `fill` throws,
   * the buffer is given back and the exception passes through.
   * @example
   * let reply: Uint8Array = new Uint8Array(0);
   * const fillReply = (p: Uint8Array): number => (p.set(reply), reply.length); // made once
   * reply = m.data;
   * ep.trySendWith(fillReply, m.src);
   * @throws AmpError ERR_MSG_SIZE when `fill` returns a length outside [0, payload.length];
   *   ERR_BAD_ADDRESS for a `dst` of ANY or not a u32; ERR_NOT_BOUND, ERR_CLOSED, ERR_LINK_DOWN.
   */
  trySendWith(fill: (payload: Uint8Array) => number, dst?: number): boolean {
    return this.tx.trySendWith(this, fill, dst);
  }

  /** Takes a tx buffer for zero-copy sending, waiting for one. @throws ERR_CLOSED, ERR_LINK_DOWN, ERR_TIMEOUT, ERR_ABORTED */
  getTxBuffer(options?: WaitOptions): Promise<TxBuffer> {
    return this.tx.txBuffer(this, options);
  }

  /** Resolves with the peer address once bound (at once if already). @throws ERR_CLOSED, ERR_LINK_DOWN, ERR_TIMEOUT, ERR_ABORTED */
  waitBound(options?: WaitOptions): Promise<number> {
    return this.core.waitBound(this, options);
  }

  /** Closes the endpoint: sends NS DESTROY if it announced itself, frees its address. Idempotent. */
  destroy(): void {
    this.core.destroyEndpoint(this);
  }

  /** The messages that arrive while no `onMessage` callback is set, as an async iterator (ends on destroy). */
  messages(): AsyncIterableIterator<ReceivedMessage> {
    const it: AsyncIterableIterator<ReceivedMessage> = {
      next: () => this.pull(),
      return: () => Promise.resolve({ done: true, value: undefined }),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  /** Same as {@link RpmsgEndpoint.messages}. */
  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedMessage> {
    return this.messages();
  }

  /** Number of messages waiting for the iterator. */
  get queued(): number {
    return this.queue.length;
  }

  private pull(): Promise<IteratorResult<ReceivedMessage>> {
    const m = this.queue.shift();
    if (m !== undefined) return Promise.resolve({ done: false, value: m });
    if (this.reason !== undefined) {
      return this.reason.code === "ERR_CLOSED"
        ? Promise.resolve({ done: true, value: undefined })
        : Promise.reject(this.reason);
    }
    return new Promise((resolve, reject) => {
      this.pulls.push({ resolve, reject });
    });
  }

  /** @internal: a message for the iterator; false when the queue is full (dropped). */
  enqueue(m: ReceivedMessage): boolean {
    const p = this.pulls.shift();
    if (p !== undefined) {
      p.resolve({ done: false, value: m });
      return true;
    }
    if (this.queue.length >= (this.options.maxQueued ?? 256)) {
      this.queueDrops++;
      return false;
    }
    this.queue.push(m);
    return true;
  }

  /** @internal */
  bind(dst: number): void {
    this.dstAddr = dst;
  }

  /** @internal: marks the endpoint closed, wakes the iterator, runs onClose once. */
  close(reason: AmpError<RpmsgErrorCode>): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    for (const p of this.pulls.splice(0)) {
      if (reason.code === "ERR_CLOSED") p.resolve({ done: true, value: undefined });
      else p.reject(reason);
    }
    this.options.onClose?.(reason, this);
  }

  /** @internal */
  closedError(): AmpError<RpmsgErrorCode> {
    return this.reason ?? rpmsgError("ERR_CLOSED", `endpoint ${this.addr} is closed`);
  }
}
