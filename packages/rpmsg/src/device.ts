// The role-independent rpmsg core: endpoint table, address allocation, name service, the rx
// dispatch with every hostile-input check, the send paths, link up/down and statistics.
// Poll-driven: `process()` drains what arrived; the async API only waits for `process()`.
import { isAmpError } from "@amp/virtio-ring";
import type { DoorbellReceiver } from "@amp/virtio-ring";
import { RPMSG_ADDR_ANY, RPMSG_HDR_SIZE, RPMSG_NS_ADDR, RPMSG_NS_MSG_SIZE, RpmsgNsFlags } from "./constants.js";
import { RpmsgEndpoint, type EndpointCore, type EndpointOptions } from "./endpoint.js";
import { rpmsgError, type AmpError, type RpmsgErrorCode } from "./errors.js";
import { RpmsgHdrOffsets } from "./header.js";
import { AddressAllocator } from "./internal/addresses.js";
import type { RxPort, Slot, TxPort } from "./internal/ports.js";
import { createWaiter, type AbortSignalLike, type Scheduler, type WaitOptions, type Waiter } from "./internal/wait.js";
import type { RpmsgMessage, RxHold, TxBuffer } from "./message.js";
import { nameBytes } from "./name.js";
import { decodeRpmsgNsMessage, encodeRpmsgNsMessage, isNsDestroy } from "./ns-message.js";

/** Options shared by both roles. */
export interface RpmsgDeviceOptions {
  /** Timer functions for per-call `timeoutMs` (e.g. `{ setTimeout, clearTimeout }`). Without it, only AbortSignal works. */
  readonly scheduler?: Scheduler;
  /** Most local endpoints at once. Default 1024. */
  readonly maxEndpoints?: number;
  /** Peer announcements kept for a name-service handler that is not registered yet. Default 64. */
  readonly maxPendingAnnouncements?: number;
  /** Most rx messages handled per `process()` call (a flood cannot hang the caller). Default 1024. */
  readonly maxBatch?: number;
  /**
   * Called with an exception thrown by an `onMessage` callback (the message is then done).
   * Without it, `process()` rethrows the exception after putting the buffer back.
   */
  readonly onError?: (error: unknown) => void;
}

/** A name-service event: the peer announced (`create`) or withdrew (`destroy`) a service. */
export interface NsEvent {
  readonly type: "create" | "destroy";
  /** Service name (exactly as announced, at most 31 bytes). */
  readonly name: string;
  /** The peer endpoint that offers the service. */
  readonly addr: number;
}

/** A service the peer announced and has not withdrawn. */
export interface RemoteService {
  readonly name: string;
  readonly addr: number;
}

/** What was dropped, by reason. Every counter only grows (until `resetStats`). */
export interface RpmsgDropStats {
  /** Rx buffer shorter than the 16-byte header. */
  short: number;
  /** Rx buffer (used/descriptor length) larger than the buffer size. */
  oversize: number;
  /** `hdr.len` larger than the bytes the peer declared (used length − 16). */
  badLength: number;
  /** No local endpoint at `hdr.dst`. */
  noRecipient: number;
  /** Name-service message that is not 40 bytes. */
  nsMalformed: number;
  /** NS message naming address ANY or 53. */
  nsBadAddress: number;
  /** NS DESTROY for a service that was never announced. */
  nsUnknown: number;
  /** NS CREATE repeated for the same name and address. */
  nsDuplicate: number;
  /** Announcement dropped because `maxPendingAnnouncements` were already waiting. */
  nsOverflow: number;
  /** Message dropped because an endpoint's iterator queue was full. */
  queueOverflow: number;
  /** A ring buffer that is not one descriptor of the expected direction (handed back unused). */
  badBuffer: number;
}

/** Counters of a device. */
export interface RpmsgStats {
  rxMessages: number;
  rxBytes: number;
  txMessages: number;
  txBytes: number;
  /** NS messages whose 32-byte name had no NUL (accepted, cut at 31 bytes, as Linux does). */
  nsUnterminated: number;
  /** Exceptions thrown by `onMessage` callbacks. */
  callbackErrors: number;
  /** Ring or transport violations by the peer (each one takes the link down). */
  protocolErrors: number;
  linkUps: number;
  linkDowns: number;
  readonly dropped: RpmsgDropStats;
}

function newStats(): RpmsgStats {
  return {
    rxMessages: 0, rxBytes: 0, txMessages: 0, txBytes: 0, nsUnterminated: 0, callbackErrors: 0, protocolErrors: 0, linkUps: 0, linkDowns: 0,
    dropped: { short: 0, oversize: 0, badLength: 0, noRecipient: 0, nsMalformed: 0, nsBadAddress: 0, nsUnknown: 0, nsDuplicate: 0, nsOverflow: 0, queueOverflow: 0, badBuffer: 0 },
  };
}

/** The link as the core sees it while up. */
interface Link {
  readonly tx: TxPort;
  readonly rx: RxPort;
  /** Largest buffer (header + payload) accepted on rx. */
  readonly maxRxBuffer: number;
  /** Largest payload a send may carry. */
  readonly mtu: number;
  readonly ns: boolean;
  /** Bumped on every link change: slots and holds from an older generation are void. */
  readonly generation: number;
}

interface OutNs {
  readonly src: number;
  readonly payload: Uint8Array;
  /** The endpoint a queued CREATE announces (so its destroy can cancel exactly that one). */
  readonly creator: RpmsgEndpoint | undefined;
}

function checkInt(v: number | undefined, min: number, max: number, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${what} must be an integer in [${min}, ${max}], got ${String(v)}`);
  return v;
}

/**
 * The rpmsg device core, shared by {@link RpmsgHost} and {@link RpmsgRemote}. Not constructed
 * directly.
 */
export abstract class RpmsgDevice implements EndpointCore {
  /** Counters (live object). */
  readonly stats: RpmsgStats = newStats();
  private readonly endpoints = new Map<number, RpmsgEndpoint>();
  private readonly addrs = new AddressAllocator();
  private link: Link | undefined;
  private generation = 0;
  private readonly outbox: OutNs[] = [];
  private readonly txWaiters: Waiter<Slot>[] = [];
  private readonly linkWaiters: Waiter<undefined>[] = [];
  private readonly boundWaiters: { ep: RpmsgEndpoint; w: Waiter<number> }[] = [];
  private readonly serviceWaiters: { name: string; w: Waiter<RemoteService> }[] = [];
  private readonly services: RemoteService[] = [];
  private readonly unclaimed: NsEvent[] = [];
  private readonly nsHandlers: ((e: NsEvent) => void)[] = [];
  private readonly linkListeners: ((up: boolean, reason: AmpError<RpmsgErrorCode> | undefined) => void)[] = [];
  private readonly held = new Set<{ slot: Slot; gen: number; released: boolean }>();
  protected readonly scheduler: Scheduler | undefined;
  private readonly maxEndpoints: number;
  private readonly maxPending: number;
  private readonly maxBatch: number;
  private readonly onError: ((error: unknown) => void) | undefined;
  /** Default for `announce` on named endpoints without a dst. */
  protected abstract readonly announceByDefault: boolean;

  protected constructor(options: RpmsgDeviceOptions) {
    this.scheduler = options.scheduler;
    this.maxEndpoints = checkInt(options.maxEndpoints, 1, 1 << 24, "maxEndpoints", 1024);
    this.maxPending = checkInt(options.maxPendingAnnouncements, 0, 1 << 20, "maxPendingAnnouncements", 64);
    this.maxBatch = checkInt(options.maxBatch, 1, 1 << 24, "maxBatch", 1024);
    this.onError = options.onError;
  }

  // ---------------------------------------------------------------------------------------
  // Link state (the roles call linkUp/linkDown; users read and wait)

  /** True while the virtio link is up and messages can flow. */
  get isLinkUp(): boolean {
    return this.link !== undefined;
  }

  /** Largest payload per message on the current link (496 with 512-byte buffers; 0 while down). */
  get mtu(): number {
    return this.link?.mtu ?? 0;
  }

  /** True when the name service was negotiated on the current link. */
  get nameService(): boolean {
    return this.link?.ns ?? false;
  }

  /** Calls `listener(up, reason)` on every link change; returns a function that removes it. */
  onLinkChange(listener: (up: boolean, reason: AmpError<RpmsgErrorCode> | undefined) => void): () => void {
    this.linkListeners.push(listener);
    return () => { const i = this.linkListeners.indexOf(listener); if (i >= 0) this.linkListeners.splice(i, 1); };
  }

  /** Resolves when the link is up (at once if it is). Something must keep calling `process()`. */
  waitLinkUp(options?: WaitOptions): Promise<undefined> {
    if (this.link !== undefined) return Promise.resolve(undefined);
    const w = createWaiter<undefined>("waitLinkUp", options, this.scheduler, (x) => { remove(this.linkWaiters, x); });
    if (!w.settled) this.linkWaiters.push(w);
    return w.promise;
  }

  /** @internal roles: the link came up with these ports. */
  protected linkUp(tx: TxPort, rx: RxPort, maxRxBuffer: number, mtu: number, ns: boolean): void {
    this.generation++;
    this.link = { tx, rx, maxRxBuffer, mtu, ns, generation: this.generation };
    this.stats.linkUps++;
    // Endpoints created while the link was down announce themselves now.
    if (ns) for (const ep of this.endpoints.values()) if (ep.announce) this.queueNs(ep, RpmsgNsFlags.CREATE);
    for (const w of this.linkWaiters.splice(0)) w.resolve(undefined);
    for (const l of this.linkListeners.slice()) l(true, undefined);
    this.safePump();
  }

  /**
   * @internal roles: the link went down. Every endpoint closes with `reason`, pending sends and
   * waits fail, held buffers become void, peer services are forgotten.
   */
  protected linkDown(reason: AmpError<RpmsgErrorCode>): void {
    if (this.link === undefined) return;
    this.link = undefined;
    this.generation++;
    this.stats.linkDowns++;
    this.outbox.length = 0;
    for (const h of this.held) h.released = true;
    this.held.clear();
    for (const w of this.txWaiters.splice(0)) w.reject(reason);
    for (const b of this.boundWaiters.splice(0)) b.w.reject(reason);
    for (const s of this.serviceWaiters.splice(0)) s.w.reject(reason);
    this.services.length = 0;
    this.unclaimed.length = 0;
    const eps = [...this.endpoints.values()];
    this.endpoints.clear();
    this.addrs.clear();
    for (const ep of eps) ep.close(reason);
    for (const l of this.linkListeners.slice()) l(false, reason);
  }

  // ---------------------------------------------------------------------------------------
  // Polling

  /** Role-specific checks before draining (transport status, link bring-up). */
  protected abstract poll(): void;

  /**
   * Handles what arrived: link changes, received messages (at most `maxBatch`), returned tx
   * buffers, queued name-service messages and waiting senders. Returns the number of rx
   * messages handled. Call it from a doorbell handler, an interrupt or a loop.
   * @throws whatever an `onMessage` callback threw, when no `onError` option is set.
   */
  process(): number {
    this.poll();
    const link = this.link;
    if (link === undefined) return 0;
    let n = 0;
    let failure: { e: unknown } | undefined;
    try {
      for (; n < this.maxBatch; n++) {
        const slot = link.rx.next();
        if (slot === undefined) break;
        const thrown = this.receive(link, slot);
        if (thrown !== undefined) {
          n++;
          failure = thrown;
          break;
        }
        // A callback may have taken the link down (or restarted it): stop using this one.
        if (this.link !== link) {
          n++;
          break;
        }
      }
      if (this.link === link) {
        link.rx.flush();
        this.pump();
      }
    } catch (e) {
      this.ringFailure(e);
    }
    if (failure !== undefined) throw failure.e;
    return n;
  }

  /** Peer broke the ring protocol (an AmpError from @amp/virtio-ring): count it and take the link down. */
  private ringFailure(e: unknown): void {
    if (!isAmpError(e)) throw e;
    this.stats.protocolErrors++;
    this.onProtocolError();
    this.linkDown(rpmsgError("ERR_PROTOCOL", `peer violated the virtio protocol: ${e.message}`, { cause: e }));
  }

  /** Role hook: e.g. the remote sets DEVICE_NEEDS_RESET. */
  protected onProtocolError(): void {
    // default: nothing beyond taking the link down
  }

  /** `pump()` outside `process()`: a ring violation takes the link down instead of escaping. */
  private safePump(): void {
    try {
      this.pump();
    } catch (e) {
      this.ringFailure(e);
    }
  }

  /** Sends queued NS messages, serves waiting senders, sends notifications. */
  private pump(): void {
    const link = this.link;
    if (link === undefined) return;
    for (;;) {
      while (this.outbox.length > 0) {
        const slot = link.tx.acquire();
        if (slot === undefined) break;
        const m = this.outbox.shift();
        if (m === undefined) { link.tx.giveBack(slot); break; }
        this.fill(link, slot, m.src, RPMSG_NS_ADDR, m.payload);
      }
      while (this.txWaiters.length > 0 && this.outbox.length === 0) {
        const w = this.txWaiters[0];
        if (w === undefined || w.settled) { this.txWaiters.shift(); continue; }
        const slot = link.tx.acquire();
        if (slot === undefined) break;
        w.resolve(slot); // unlinks itself
      }
      // Turning completions on can find buffers the peer returned while they were off (it did
      // not notify then): serve again, or that wake-up would be lost for good.
      if (!link.tx.wantCompletions(this.txWaiters.length > 0 || this.outbox.length > 0)) break;
    }
    link.tx.flush();
  }

  // ---------------------------------------------------------------------------------------
  // Receive path: every length and address from shared memory is checked before use

  /** Handles one rx buffer; returns a callback's exception (wrapped) to rethrow, else undefined. */
  private receive(link: Link, slot: Slot): { e: unknown } | undefined {
    const d = this.stats.dropped;
    const mem = slot.memory;
    const base = slot.offset;
    if (slot.length < RPMSG_HDR_SIZE) { d.short++; link.rx.recycle(slot); return undefined; }
    if (slot.length > link.maxRxBuffer) { d.oversize++; link.rx.recycle(slot); return undefined; }
    const len = mem.getU16(base + RpmsgHdrOffsets.LEN);
    if (len > slot.length - RPMSG_HDR_SIZE) { d.badLength++; link.rx.recycle(slot); return undefined; }
    const src = mem.getU32(base + RpmsgHdrOffsets.SRC);
    const dst = mem.getU32(base + RpmsgHdrOffsets.DST);
    if (dst === RPMSG_NS_ADDR && link.ns) {
      const payload = mem.read(base + RPMSG_HDR_SIZE, len);
      link.rx.recycle(slot);
      this.stats.rxMessages++;
      this.stats.rxBytes += len;
      this.receiveNs(payload);
      return undefined;
    }
    const ep = this.endpoints.get(dst);
    if (ep === undefined) { d.noRecipient++; link.rx.recycle(slot); return undefined; }
    this.stats.rxMessages++;
    this.stats.rxBytes += len;
    // OpenAMP: an unbound endpoint learns its peer from the first message.
    if (ep.dst === RPMSG_ADDR_ANY && src !== RPMSG_ADDR_ANY) this.bindEndpoint(ep, src);
    const onMessage = ep.options.onMessage;
    if (onMessage === undefined) {
      const data = mem.read(base + RPMSG_HDR_SIZE, len);
      link.rx.recycle(slot);
      if (!ep.enqueue({ src, dst, data })) d.queueOverflow++;
      return undefined;
    }
    let inCallback = true;
    let hold: { slot: Slot; gen: number; released: boolean } | undefined;
    const data = mem.zeroCopy ? mem.view(base + RPMSG_HDR_SIZE, len) : mem.read(base + RPMSG_HDR_SIZE, len);
    const msg: RpmsgMessage = {
      src,
      dst,
      data,
      hold: (): RxHold => {
        if (!inCallback) throw new TypeError("hold() must be called inside the onMessage callback");
        if (hold === undefined) {
          hold = { slot, gen: link.generation, released: false };
          this.held.add(hold);
        }
        const h = hold;
        return {
          data,
          src,
          get released() { return h.released; },
          release: () => { this.releaseHold(h); },
        };
      },
    };
    let thrown: { e: unknown } | undefined;
    try {
      onMessage(msg, ep);
    } catch (e) {
      this.stats.callbackErrors++;
      if (this.onError === undefined) thrown = { e };
      else this.onError(e);
    }
    inCallback = false;
    if (hold === undefined && this.link === link) link.rx.recycle(slot);
    return thrown;
  }

  private releaseHold(h: { slot: Slot; gen: number; released: boolean }): void {
    if (h.released) return;
    h.released = true;
    this.held.delete(h);
    const link = this.link;
    if (link?.generation !== h.gen) return;
    try {
      link.rx.recycle(h.slot);
      link.rx.flush();
    } catch (e) {
      this.ringFailure(e);
    }
  }

  private receiveNs(payload: Uint8Array): void {
    const d = this.stats.dropped;
    if (payload.length !== RPMSG_NS_MSG_SIZE) { d.nsMalformed++; return; }
    const m = decodeRpmsgNsMessage(payload);
    if (m.unterminated) this.stats.nsUnterminated++;
    if (m.addr === RPMSG_ADDR_ANY || m.addr === RPMSG_NS_ADDR) { d.nsBadAddress++; return; }
    if (isNsDestroy(m.flags)) {
      const i = this.services.findIndex((s) => s.name === m.name && s.addr === m.addr);
      if (i < 0) { d.nsUnknown++; return; }
      this.services.splice(i, 1);
      const u = this.unclaimed.findIndex((s) => s.name === m.name && s.addr === m.addr);
      if (u >= 0) { this.unclaimed.splice(u, 1); return; } // nobody ever saw the CREATE
      for (const ep of [...this.endpoints.values()]) {
        if (ep.dst === m.addr && ep.name === m.name) {
          ep.bind(RPMSG_ADDR_ANY); // OpenAMP: re-bindable after the peer comes back
          ep.options.onUnbind?.(ep);
        }
      }
      this.emitNs({ type: "destroy", name: m.name, addr: m.addr });
      return;
    }
    if (this.services.some((s) => s.name === m.name && s.addr === m.addr)) { d.nsDuplicate++; return; }
    const svc: RemoteService = { name: m.name, addr: m.addr };
    this.services.push(svc);
    for (const s of this.serviceWaiters.slice()) if (s.name === m.name) s.w.resolve(svc);
    // An unbound endpoint with exactly this name takes it; otherwise the handlers (or the queue).
    for (const ep of this.endpoints.values()) {
      if (ep.name === m.name && ep.dst === RPMSG_ADDR_ANY && !ep.closed) {
        this.bindEndpoint(ep, m.addr);
        return;
      }
    }
    const ev: NsEvent = { type: "create", name: m.name, addr: m.addr };
    if (this.nsHandlers.length > 0) { this.emitNs(ev); return; }
    if (this.unclaimed.length >= this.maxPending) { d.nsOverflow++; return; }
    this.unclaimed.push(ev);
  }

  private emitNs(ev: NsEvent): void {
    for (const h of this.nsHandlers.slice()) h(ev);
  }

  private bindEndpoint(ep: RpmsgEndpoint, dst: number): void {
    ep.bind(dst);
    for (const b of this.boundWaiters.slice()) if (b.ep === ep) b.w.resolve(dst);
  }

  // ---------------------------------------------------------------------------------------
  // Name service, user side

  /**
   * Registers a handler for peer announcements that no local endpoint took (and for their
   * withdrawal). Announcements that arrived before any handler existed were kept (up to
   * `maxPendingAnnouncements`) and are delivered now, in order. Returns the unbind function.
   */
  onNameService(handler: (event: NsEvent) => void): () => void {
    this.nsHandlers.push(handler);
    for (const ev of this.unclaimed.splice(0)) handler(ev);
    return () => { const i = this.nsHandlers.indexOf(handler); if (i >= 0) this.nsHandlers.splice(i, 1); };
  }

  /** Services the peer announced and has not withdrawn, in arrival order. */
  get remoteServices(): readonly RemoteService[] {
    return this.services.slice();
  }

  /** Resolves with the first service announced under exactly `name` (at once if known). */
  waitForService(name: string, options?: WaitOptions): Promise<RemoteService> {
    nameBytes(name);
    const known = this.services.find((s) => s.name === name);
    if (known !== undefined) return Promise.resolve(known);
    const entry = { name, w: createWaiter<RemoteService>(`waitForService(${name})`, options, this.scheduler, (x) => { removeWhere(this.serviceWaiters, (s) => s.w === x); }) };
    if (!entry.w.settled) this.serviceWaiters.push(entry);
    return entry.w.promise;
  }

  // ---------------------------------------------------------------------------------------
  // Endpoints

  /**
   * Creates a local endpoint.
   * @throws RangeError/TypeError for a bad name or address; AmpError ERR_ADDR_IN_USE for a taken
   *   address, ERR_LIMIT past `maxEndpoints`.
   */
  createEndpoint(options: EndpointOptions = {}): RpmsgEndpoint {
    const name = options.name ?? "";
    if (name !== "") nameBytes(name);
    const dst = options.dst ?? RPMSG_ADDR_ANY;
    if (!isU32(dst)) throw new RangeError(`dst must be a u32, got ${String(dst)}`);
    if (this.endpoints.size >= this.maxEndpoints) throw rpmsgError("ERR_LIMIT", `maxEndpoints (${this.maxEndpoints}) reached`);
    let addr = options.addr ?? RPMSG_ADDR_ANY;
    if (!isU32(addr)) throw new RangeError(`addr must be a u32, got ${String(addr)}`);
    if (addr === RPMSG_ADDR_ANY) {
      const a = this.addrs.allocate();
      if (a === undefined) throw rpmsgError("ERR_LIMIT", "no free endpoint address");
      addr = a;
    } else {
      if (addr === RPMSG_NS_ADDR) throw rpmsgError("ERR_ADDR_IN_USE", "address 53 belongs to the name service");
      if (!this.addrs.claim(addr)) throw rpmsgError("ERR_ADDR_IN_USE", `endpoint address ${addr} is in use`);
    }
    const announce = options.announce ?? (this.announceByDefault && name !== "" && dst === RPMSG_ADDR_ANY);
    if (announce && name === "") { this.addrs.release(addr); throw new TypeError("an announced endpoint needs a name"); }
    const ep = new RpmsgEndpoint(this, addr, name, announce, options);
    this.endpoints.set(addr, ep);
    if (dst === RPMSG_ADDR_ANY && name !== "") {
      // A service the peer announced earlier binds at once (announcements are never lost).
      const svc = this.services.find((s) => s.name === name && ![...this.endpoints.values()].some((e) => e !== ep && e.name === name && e.dst === s.addr));
      if (svc !== undefined) {
        ep.bind(svc.addr);
        removeWhere(this.unclaimed, (u) => u.name === svc.name && u.addr === svc.addr);
      }
    }
    if (announce && this.link?.ns === true) {
      this.queueNs(ep, RpmsgNsFlags.CREATE);
      this.safePump();
    }
    return ep;
  }

  /** The local endpoint at `addr`, if any. */
  getEndpoint(addr: number): RpmsgEndpoint | undefined {
    return this.endpoints.get(addr);
  }

  /** Local endpoints, in creation order. */
  get endpointList(): readonly RpmsgEndpoint[] {
    return [...this.endpoints.values()];
  }

  /** @internal EndpointCore */
  destroyEndpoint(ep: RpmsgEndpoint): void {
    if (ep.closed || this.endpoints.get(ep.addr) !== ep) return;
    this.endpoints.delete(ep.addr);
    this.addrs.release(ep.addr);
    if (ep.announce && this.link?.ns === true) {
      // Cancel its CREATE if still queued (the peer never heard of it); otherwise tell the peer.
      const pending = this.outbox.findIndex((m) => m.creator === ep);
      if (pending >= 0) this.outbox.splice(pending, 1);
      else this.queueNs(ep, RpmsgNsFlags.DESTROY);
      this.safePump();
    }
    const reason = rpmsgError("ERR_CLOSED", `endpoint ${ep.addr} was destroyed`);
    for (const b of this.boundWaiters.slice()) if (b.ep === ep) b.w.reject(reason);
    ep.close(reason);
  }

  private queueNs(ep: RpmsgEndpoint, flags: number): void {
    const payload = encodeRpmsgNsMessage({ name: ep.name, addr: ep.addr, flags });
    this.outbox.push({ src: ep.addr, payload, creator: flags === RpmsgNsFlags.CREATE ? ep : undefined });
  }

  /** @internal EndpointCore */
  waitBound(ep: RpmsgEndpoint, options: WaitOptions | undefined): Promise<number> {
    if (ep.closed) return Promise.reject(ep.closedError());
    if (ep.dst !== RPMSG_ADDR_ANY) return Promise.resolve(ep.dst);
    const entry = { ep, w: createWaiter<number>("waitBound", options, this.scheduler, (x) => { removeWhere(this.boundWaiters, (b) => b.w === x); }) };
    if (!entry.w.settled) this.boundWaiters.push(entry);
    return entry.w.promise;
  }

  /** @internal EndpointCore */
  checkDst(addr: number): void {
    if (!isU32(addr) || addr === RPMSG_ADDR_ANY) throw new TypeError(`address must be a u32 other than RPMSG_ADDR_ANY, got ${String(addr)}`);
  }

  // ---------------------------------------------------------------------------------------
  // Send paths

  /** Checks that a send may go ahead; returns the link. */
  private precheck(ep: RpmsgEndpoint, dst: number, len: number): Link {
    if (ep.closed) throw ep.closedError();
    const link = this.link;
    if (link === undefined) throw rpmsgError("ERR_LINK_DOWN", "the rpmsg link is down");
    if (dst === RPMSG_ADDR_ANY) throw rpmsgError("ERR_NOT_BOUND", `endpoint ${ep.addr} has no destination yet (no announcement or message from the peer)`);
    if (len > link.mtu) throw rpmsgError("ERR_MSG_SIZE", `payload of ${len} bytes exceeds the MTU of ${link.mtu}`);
    return link;
  }

  /** Writes header + payload into `slot` and submits it. */
  private fill(link: Link, slot: Slot, src: number, dst: number, data: Uint8Array): void {
    const mem = slot.memory;
    const o = slot.offset;
    mem.setU32(o + RpmsgHdrOffsets.SRC, src);
    mem.setU32(o + RpmsgHdrOffsets.DST, dst);
    mem.setU32(o + RpmsgHdrOffsets.RESERVED, 0);
    mem.setU16(o + RpmsgHdrOffsets.LEN, data.length);
    mem.setU16(o + RpmsgHdrOffsets.FLAGS, 0);
    mem.write(o + RPMSG_HDR_SIZE, data);
    link.tx.submit(slot, RPMSG_HDR_SIZE + data.length);
    this.stats.txMessages++;
    this.stats.txBytes += data.length;
  }

  /** Sends on an acquired slot, or gives it back and throws. */
  private sendOnSlot(link: Link, slot: Slot, ep: RpmsgEndpoint, src: number, dst: number, data: Uint8Array): void {
    if (slot.length - RPMSG_HDR_SIZE < data.length) {
      link.tx.giveBack(slot);
      throw rpmsgError("ERR_MSG_SIZE", `payload of ${data.length} bytes does not fit the ${slot.length}-byte buffer the peer provided (endpoint ${ep.addr})`);
    }
    try {
      this.fill(link, slot, src, dst, data);
      link.tx.flush();
    } catch (e) {
      this.ringFailure(e);
      throw this.downError();
    }
  }

  /** @internal EndpointCore */
  trySendRaw(ep: RpmsgEndpoint, src: number, dst: number, data: Uint8Array): boolean {
    const link = this.precheck(ep, dst, data.length);
    if (this.txWaiters.length > 0 || this.outbox.length > 0) return false; // FIFO: others wait first
    let slot: Slot | undefined;
    try {
      slot = link.tx.acquire();
    } catch (e) {
      this.ringFailure(e);
      throw this.downError();
    }
    if (slot === undefined) return false;
    this.sendOnSlot(link, slot, ep, src, dst, data);
    return true;
  }

  /** @internal EndpointCore */
  async sendRaw(ep: RpmsgEndpoint, src: number, dst: number, data: Uint8Array, wait: WaitOptions | undefined): Promise<void> {
    this.checkWait(wait);
    this.precheck(ep, dst, data.length);
    const slot = await this.acquireSlot(wait);
    const link = this.link;
    if (link?.generation !== slot.gen) throw this.downError();
    if (ep.closeReason !== undefined) { link.tx.giveBack(slot.slot); this.safePump(); throw ep.closedError(); }
    this.sendOnSlot(link, slot.slot, ep, src, dst, data);
  }

  /** Misuse of the wait options is reported even when no wait turns out to be needed. */
  private checkWait(wait: WaitOptions | undefined): void {
    if (wait?.timeoutMs !== undefined && this.scheduler === undefined) {
      throw new TypeError("timeoutMs needs a `scheduler` option ({ setTimeout, clearTimeout }) on the device");
    }
  }

  private downError(): AmpError<RpmsgErrorCode> {
    return rpmsgError("ERR_LINK_DOWN", "the rpmsg link is down");
  }

  /** A tx slot now, or after waiting in FIFO order. */
  private async acquireSlot(wait: WaitOptions | undefined): Promise<{ slot: Slot; gen: number }> {
    const link = this.link;
    if (link === undefined) throw this.downError();
    if (this.txWaiters.length === 0 && this.outbox.length === 0) {
      let slot: Slot | undefined;
      try {
        slot = link.tx.acquire();
      } catch (e) {
        this.ringFailure(e);
        throw this.downError();
      }
      if (slot !== undefined) return { slot, gen: link.generation };
    }
    const w = createWaiter<Slot>("send: waiting for a tx buffer", wait, this.scheduler, (x) => { remove(this.txWaiters, x); });
    if (!w.settled) {
      this.txWaiters.push(w);
      this.safePump(); // turns completions on, and re-checks (a buffer may have come back meanwhile)
    }
    const slot = await w.promise;
    return { slot, gen: link.generation };
  }

  /** @internal EndpointCore */
  tryTxBuffer(ep: RpmsgEndpoint): TxBuffer | undefined {
    if (ep.closed) throw ep.closedError();
    const link = this.link;
    if (link === undefined) throw this.downError();
    if (this.txWaiters.length > 0 || this.outbox.length > 0) return undefined;
    let slot: Slot | undefined;
    try {
      slot = link.tx.acquire();
    } catch (e) {
      this.ringFailure(e);
      throw this.downError();
    }
    return slot === undefined ? undefined : this.makeTxBuffer(ep, slot, link.generation);
  }

  /** @internal EndpointCore */
  async txBuffer(ep: RpmsgEndpoint, wait: WaitOptions | undefined): Promise<TxBuffer> {
    this.checkWait(wait);
    if (ep.closed) throw ep.closedError();
    const s = await this.acquireSlot(wait);
    if (ep.closeReason !== undefined) {
      if (this.link?.generation === s.gen) { this.link.tx.giveBack(s.slot); this.safePump(); }
      throw ep.closedError();
    }
    return this.makeTxBuffer(ep, s.slot, s.gen);
  }

  private makeTxBuffer(ep: RpmsgEndpoint, slot: Slot, gen: number): TxBuffer {
    const link = this.link;
    const cap = Math.min(slot.length - RPMSG_HDR_SIZE, link?.mtu ?? 0);
    const mem = slot.memory;
    const payloadOff = slot.offset + RPMSG_HDR_SIZE;
    const payload = mem.zeroCopy ? mem.view(payloadOff, cap) : new Uint8Array(cap);
    let done = false;
    const live = (): Link | undefined => (this.link?.generation === gen ? this.link : undefined);
    return {
      payload,
      get done() { return done; },
      send: (length: number, dst?: number) => {
        if (done) throw new TypeError("tx buffer already sent or released");
        if (!Number.isInteger(length) || length < 0) throw new RangeError(`length must be an integer >= 0, got ${length}`);
        const to = dst ?? ep.dst;
        if (dst !== undefined) this.checkDst(dst);
        if (length > cap) throw rpmsgError("ERR_MSG_SIZE", `payload of ${length} bytes exceeds this buffer's ${cap}`);
        if (ep.closed) throw ep.closedError();
        const l = live();
        if (l === undefined) { done = true; throw this.downError(); }
        if (to === RPMSG_ADDR_ANY) throw rpmsgError("ERR_NOT_BOUND", `endpoint ${ep.addr} has no destination yet`);
        if (!mem.zeroCopy) mem.write(payloadOff, payload.subarray(0, length));
        mem.setU32(slot.offset + RpmsgHdrOffsets.SRC, ep.addr);
        mem.setU32(slot.offset + RpmsgHdrOffsets.DST, to);
        mem.setU32(slot.offset + RpmsgHdrOffsets.RESERVED, 0);
        mem.setU16(slot.offset + RpmsgHdrOffsets.LEN, length);
        mem.setU16(slot.offset + RpmsgHdrOffsets.FLAGS, 0);
        done = true;
        l.tx.submit(slot, RPMSG_HDR_SIZE + length);
        this.stats.txMessages++;
        this.stats.txBytes += length;
        l.tx.flush();
      },
      release: () => {
        if (done) return;
        done = true;
        const l = live();
        if (l === undefined) return;
        l.tx.giveBack(slot);
        this.safePump();
      },
    };
  }

  /** Zeroes every counter. */
  resetStats(): void {
    const fresh = newStats();
    Object.assign(this.stats.dropped, fresh.dropped);
    this.stats.rxMessages = 0;
    this.stats.rxBytes = 0;
    this.stats.txMessages = 0;
    this.stats.txBytes = 0;
    this.stats.nsUnterminated = 0;
    this.stats.callbackErrors = 0;
    this.stats.protocolErrors = 0;
    this.stats.linkUps = 0;
    this.stats.linkDowns = 0;
  }

  /** Number of rx buffers currently held by the application. */
  get heldBuffers(): number {
    return this.held.size;
  }

  /**
   * Runs the device from a doorbell: drains, then waits for the next ring, until `signal`
   * aborts (then resolves). `pollMs` (needs `scheduler`) also wakes it periodically, which a
   * remote needs to notice DRIVER_OK and resets when the host does not ring for them.
   * @throws whatever `process()` throws (an `onMessage` exception without `onError`).
   */
  async serve(receiver: DoorbellReceiver, options: { signal?: AbortSignalLike; pollMs?: number } = {}): Promise<void> {
    const { signal, pollMs } = options;
    if (pollMs !== undefined && this.scheduler === undefined) throw new TypeError("pollMs needs a `scheduler` option on the device");
    const noop = (): void => undefined;
    for (;;) {
      if (signal?.aborted === true) return;
      receiver.poll(noop);
      const n = this.process();
      if (n >= this.maxBatch) {
        // More may be waiting without a new ring: go again, but let other tasks run first.
        const sch = this.scheduler;
        await (sch === undefined ? Promise.resolve() : new Promise<void>((r) => { sch.setTimeout(r, 0); }));
        continue;
      }
      try {
        await receiver.wait({
          ...(signal === undefined ? {} : { signal }),
          ...(pollMs === undefined || this.scheduler === undefined ? {} : { timeoutMs: pollMs, scheduler: this.scheduler }),
        });
      } catch (e) {
        if (!isAmpError(e) || (e.code !== "ERR_TIMEOUT" && e.code !== "ERR_ABORTED")) throw e;
      }
    }
  }
}

function isU32(x: number): boolean {
  return Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
}

function remove<T>(list: T[], x: T): void {
  const i = list.indexOf(x);
  if (i >= 0) list.splice(i, 1);
}

function removeWhere<T>(list: T[], pred: (x: T) => boolean): void {
  const i = list.findIndex(pred);
  if (i >= 0) list.splice(i, 1);
}
