// The role-independent rpmsg core: the endpoint table and address allocation, link up/down,
// process() and the send paths. The receive checks live in internal/rx-dispatch.ts, the name
// service in name-service.ts, zero-copy tx buffers in internal/tx-buffer.ts, counters in stats.ts.
// Poll-driven: `process()` drains what arrived; the async API only waits for `process()`.
import { isAmpError } from "@amp/virtio-ring";
import type { DoorbellReceiver } from "@amp/virtio-ring";
import { RPMSG_ADDR_ANY, RPMSG_NS_ADDR, RpmsgNsFlags } from "./constants.js";
import { RpmsgEndpoint, type EndpointCore, type EndpointOptions } from "./endpoint.js";
import { badAddressError, rpmsgError, type AmpError, type RpmsgErrorCode } from "./errors.js";
import { AddressAllocator } from "./internal/addresses.js";
import type { CallbackFailure, HeldRx, Link } from "./internal/link.js";
import type { RxPort, TxPort } from "./internal/ports.js";
import { receiveMessage, type RxDeps } from "./internal/rx-dispatch.js";
import { TxPath } from "./internal/tx-path.js";
import { checkInt, isU32, remove, removeWhere } from "./internal/util.js";
import { createWaiter, type AbortSignalLike, type Scheduler, type WaitOptions, type Waiter } from "./internal/wait.js";
import { nameBytes } from "./name.js";
import { NameService, type NsEvent, type RemoteService } from "./name-service.js";
import { newStats, zeroStats, type RpmsgStats } from "./stats.js";

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
  private readonly linkWaiters: Waiter<undefined>[] = [];
  private readonly boundWaiters: { ep: RpmsgEndpoint; w: Waiter<number> }[] = [];
  private readonly linkListeners: ((up: boolean, reason: AmpError<RpmsgErrorCode> | undefined) => void)[] = [];
  private readonly held = new Set<HeldRx>();
  protected readonly scheduler: Scheduler | undefined;
  private readonly maxEndpoints: number;
  private readonly maxPending: number;
  private readonly maxBatch: number;
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly ns: NameService;
  private readonly rxDeps: RxDeps;
  private readonly tx: TxPath;
  /** Default for `announce` on named endpoints without a dst. */
  protected abstract readonly announceByDefault: boolean;

  protected constructor(options: RpmsgDeviceOptions) {
    this.scheduler = options.scheduler;
    this.maxEndpoints = checkInt(options.maxEndpoints, 1, 1 << 24, "maxEndpoints", 1024);
    this.maxPending = checkInt(options.maxPendingAnnouncements, 0, 1 << 20, "maxPendingAnnouncements", 64);
    this.maxBatch = checkInt(options.maxBatch, 1, 1 << 24, "maxBatch", 1024);
    this.onError = options.onError;
    const current = (): Link | undefined => this.link;
    const bind = (ep: RpmsgEndpoint, dst: number): void => {
      this.bindEndpoint(ep, dst);
    };
    const callUser = (fn: () => void): CallbackFailure | undefined => this.callUser(fn);
    this.ns = new NameService({
      stats: this.stats,
      scheduler: this.scheduler,
      maxPending: this.maxPending,
      endpoints: () => this.endpointList,
      bind,
      callUser,
    });
    this.rxDeps = {
      stats: this.stats,
      current,
      bind,
      callbackFailed: (e) => this.callbackFailed(e),
      endpoint: (addr) => this.endpoints.get(addr),
      receiveNs: (payload) => this.ns.receive(payload),
      hold: (slot, gen) => {
        const h: HeldRx = { slot, gen, released: false };
        this.held.add(h);
        return h;
      },
      releaseHold: (h) => {
        this.releaseHold(h);
      },
    };
    this.tx = new TxPath({
      stats: this.stats,
      scheduler: this.scheduler,
      current,
      ringFailure: (e) => {
        this.ringFailure(e);
      },
      checkDst: (dst) => {
        this.checkDst(dst);
      },
    });
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
    return () => {
      const i = this.linkListeners.indexOf(listener);
      if (i >= 0) this.linkListeners.splice(i, 1);
    };
  }

  /** Resolves when the link is up (at once if it is). Something must keep calling `process()`. */
  waitLinkUp(options?: WaitOptions): Promise<undefined> {
    if (this.link !== undefined) return Promise.resolve(undefined);
    const w = createWaiter<undefined>("waitLinkUp", options, this.scheduler, (x) => {
      remove(this.linkWaiters, x);
    });
    if (!w.settled) this.linkWaiters.push(w);
    return w.promise;
  }

  /** @internal roles: the link came up with these ports. */
  protected linkUp(tx: TxPort, rx: RxPort, maxRxBuffer: number, mtu: number, ns: boolean): void {
    this.generation++;
    this.link = { tx, rx, maxRxBuffer, mtu, ns, generation: this.generation };
    this.stats.linkUps++;
    // Endpoints created while the link was down announce themselves now.
    if (ns) for (const ep of this.endpoints.values()) if (ep.announce) this.tx.queueNs(ep, RpmsgNsFlags.CREATE);
    for (const w of this.linkWaiters.splice(0)) w.resolve(undefined);
    const failure = this.notifyLink(true, undefined);
    this.safePump();
    if (failure !== undefined) throw failure.e;
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
    for (const h of this.held) h.released = true;
    this.held.clear();
    this.tx.clear(reason);
    for (const b of this.boundWaiters.splice(0)) b.w.reject(reason);
    this.ns.clear(reason);
    const eps = [...this.endpoints.values()];
    this.endpoints.clear();
    this.addrs.clear();
    // User code (onClose, listeners) runs last, each one even when an earlier one throws; the
    // first exception is rethrown once the device is consistent (or goes to onError).
    let failure: CallbackFailure | undefined;
    for (const ep of eps) {
      const f = this.callUser(() => {
        ep.close(reason);
      });
      failure ??= f;
    }
    const lf = this.notifyLink(false, reason);
    failure ??= lf;
    if (failure !== undefined) throw failure.e;
  }

  private notifyLink(up: boolean, reason: AmpError<RpmsgErrorCode> | undefined): CallbackFailure | undefined {
    let failure: CallbackFailure | undefined;
    for (const l of this.linkListeners.slice()) {
      const f = this.callUser(() => {
        l(up, reason);
      });
      failure ??= f;
    }
    return failure;
  }

  // ---------------------------------------------------------------------------------------
  // Polling

  /** Role-specific checks before draining (transport status, link bring-up). */
  protected abstract poll(): void;

  /**
   * Handles what arrived: link changes, received messages (at most `maxBatch`), returned tx
   * buffers, queued name-service messages and waiting senders. Returns the number of rx
   * messages handled. Call it from a doorbell handler, an interrupt or a loop. A remote looks at
   * the host's ring index once per call: messages posted after that look are handled by the next
   * call (the host kicks for them, so a doorbell-driven loop comes back).
   * @throws whatever an `onMessage` callback threw, when no `onError` option is set.
   */
  process(): number {
    this.poll();
    const link = this.link;
    if (link === undefined) return 0;
    let n = 0;
    let failure: CallbackFailure | undefined;
    try {
      for (; n < this.maxBatch; n++) {
        const slot = link.rx.next(n > 0);
        if (slot === undefined) break;
        const thrown = receiveMessage(this.rxDeps, link, slot);
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
        this.tx.pump();
        link.tx.prepare?.();
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
    // A layout disagreement is reported as itself: its message says what to compare.
    this.linkDown(
      e.code === "ERR_LAYOUT"
        ? (e as AmpError<RpmsgErrorCode>)
        : rpmsgError("ERR_PROTOCOL", `peer violated the virtio protocol: ${e.message}`, { cause: e }),
    );
  }

  /** Role hook: e.g. the remote sets DEVICE_NEEDS_RESET. */
  protected onProtocolError(): void {
    // default: nothing beyond taking the link down
  }

  /** `pump()` outside `process()`: a ring violation takes the link down instead of escaping. */
  private safePump(): void {
    this.tx.safePump();
  }

  // ---------------------------------------------------------------------------------------
  // Receive path (the checks: internal/rx-dispatch.ts)

  /**
   * Runs a user callback. Its exception is counted; it goes to `onError` when set, else it is
   * returned so that `process()` rethrows it once the batch is finished (never mistaken for a
   * ring violation, even when it is an AmpError).
   */
  private callUser(fn: () => void): CallbackFailure | undefined {
    try {
      fn();
      return undefined;
    } catch (e) {
      return this.callbackFailed(e);
    }
  }

  /** A user callback threw `e`: counted, then `onError` or returned for `process()` to rethrow. */
  private callbackFailed(e: unknown): CallbackFailure | undefined {
    this.stats.callbackErrors++;
    if (this.onError === undefined) return { e };
    try {
      this.onError(e);
      return undefined;
    } catch (e2) {
      return { e: e2 };
    }
  }

  private releaseHold(h: HeldRx): void {
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
    return this.ns.onNameService(handler);
  }

  /** Services the peer announced and has not withdrawn, in arrival order. */
  get remoteServices(): readonly RemoteService[] {
    return this.ns.remoteServices;
  }

  /** Resolves with the first service announced under exactly `name` (at once if known). */
  waitForService(name: string, options?: WaitOptions): Promise<RemoteService> {
    return this.ns.waitForService(name, options);
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
    if (this.endpoints.size >= this.maxEndpoints)
      throw rpmsgError("ERR_LIMIT", `maxEndpoints (${this.maxEndpoints}) reached`);
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
    if (announce && name === "") {
      this.addrs.release(addr);
      throw new TypeError("an announced endpoint needs a name");
    }
    const ep = new RpmsgEndpoint(this, this.tx, addr, name, announce, options);
    this.endpoints.set(addr, ep);
    if (dst === RPMSG_ADDR_ANY && name !== "") {
      // A service the peer announced earlier binds at once (announcements are never lost).
      const svc = this.ns.claim(ep);
      if (svc !== undefined) ep.bind(svc.addr);
    }
    if (announce && this.link?.ns === true) {
      this.tx.queueNs(ep, RpmsgNsFlags.CREATE);
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
      if (!this.tx.cancelCreate(ep)) this.tx.queueNs(ep, RpmsgNsFlags.DESTROY);
      this.safePump();
    }
    const reason = rpmsgError("ERR_CLOSED", `endpoint ${ep.addr} was destroyed`);
    for (const b of this.boundWaiters.slice()) if (b.ep === ep) b.w.reject(reason);
    ep.close(reason);
  }

  /** @internal EndpointCore */
  waitBound(ep: RpmsgEndpoint, options: WaitOptions | undefined): Promise<number> {
    if (ep.closed) return Promise.reject(ep.closedError());
    if (ep.dst !== RPMSG_ADDR_ANY) return Promise.resolve(ep.dst);
    const entry = {
      ep,
      w: createWaiter<number>("waitBound", options, this.scheduler, (x) => {
        removeWhere(this.boundWaiters, (b) => b.w === x);
      }),
    };
    if (!entry.w.settled) this.boundWaiters.push(entry);
    return entry.w.promise;
  }

  /** @internal EndpointCore: an address to send from or to (often taken off the wire, e.g. `m.src`). */
  checkDst(addr: number): void {
    // Linux rpmsg_send_offchannel_raw refuses ANY with -EINVAL, OpenAMP with RPMSG_ERR_PARAM:
    // a typed error the sender can catch, never a TypeError.
    if (!isU32(addr) || addr === RPMSG_ADDR_ANY) throw badAddressError(addr);
  }

  /** Zeroes every counter. */
  resetStats(): void {
    zeroStats(this.stats);
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
    const sch = this.scheduler;
    if (pollMs !== undefined && sch === undefined)
      throw new TypeError("pollMs needs a `scheduler` option on the device");
    const noop = (): void => undefined;
    // The same wait options every round (nothing allocated per wait).
    const waitOptions = {
      ...(signal === undefined ? {} : { signal }),
      ...(pollMs === undefined || sch === undefined ? {} : { timeoutMs: pollMs, scheduler: sch }),
    };
    for (;;) {
      if (signal?.aborted === true) return;
      receiver.poll(noop);
      if (this.process() >= this.maxBatch) {
        // More may be waiting without a new ring: go again, but let other tasks run first.
        await (sch === undefined
          ? Promise.resolve()
          : new Promise<void>((r) => {
              sch.setTimeout(r, 0);
            }));
        continue;
      }
      try {
        await receiver.wait(waitOptions);
      } catch (e) {
        if (!isAmpError(e) || (e.code !== "ERR_TIMEOUT" && e.code !== "ERR_ABORTED")) throw e;
      }
    }
  }
}
