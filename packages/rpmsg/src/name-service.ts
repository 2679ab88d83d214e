// The name service, receiving side (docs/wire-formats.md, "rpmsg"): peer announcements come in at
// address 53, services are kept until withdrawn, an unbound endpoint with exactly the announced
// name binds, and announcements nobody took wait (bounded) for a late handler.
import { RPMSG_ADDR_ANY, RPMSG_NS_ADDR, RPMSG_NS_MSG_SIZE } from "./constants.js";
import type { RpmsgEndpoint } from "./endpoint.js";
import type { AmpError, RpmsgErrorCode } from "./errors.js";
import type { CallbackFailure } from "./internal/link.js";
import { removeWhere } from "./internal/util.js";
import { createWaiter, type Scheduler, type WaitOptions, type Waiter } from "./internal/wait.js";
import { nameBytes } from "./name.js";
import { decodeRpmsgNsMessage, isNsDestroy } from "./ns-message.js";
import type { RpmsgStats } from "./stats.js";

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

/** @internal What the name service needs from the device core. */
export interface NsDeps {
  readonly stats: RpmsgStats;
  readonly scheduler: Scheduler | undefined;
  readonly maxPending: number;
  endpoints(): readonly RpmsgEndpoint[];
  /** Binds `ep` to `dst` and wakes its `waitBound` callers. */
  bind(ep: RpmsgEndpoint, dst: number): void;
  /** Runs a user callback; its exception is counted and routed (onError, or returned for rethrow). */
  callUser(fn: () => void): CallbackFailure | undefined;
}

/** @internal The name-service state of one device (reset on every link down). */
export class NameService {
  private readonly deps: NsDeps;
  private readonly services: RemoteService[] = [];
  private readonly unclaimed: NsEvent[] = [];
  private readonly handlers: ((e: NsEvent) => void)[] = [];
  private readonly waiters: { name: string; w: Waiter<RemoteService> }[] = [];

  constructor(deps: NsDeps) {
    this.deps = deps;
  }

  /** Handles one NS payload from the peer. Returns the first user callback's exception, if any. */
  receive(payload: Uint8Array): CallbackFailure | undefined {
    const { stats } = this.deps;
    const d = stats.dropped;
    if (payload.length !== RPMSG_NS_MSG_SIZE) {
      d.nsMalformed++;
      return undefined;
    }
    const m = decodeRpmsgNsMessage(payload);
    if (m.unterminated) stats.nsUnterminated++;
    if (m.addr === RPMSG_ADDR_ANY || m.addr === RPMSG_NS_ADDR) {
      d.nsBadAddress++;
      return undefined;
    }
    if (isNsDestroy(m.flags)) {
      const i = this.services.findIndex((s) => s.name === m.name && s.addr === m.addr);
      if (i < 0) {
        d.nsUnknown++;
        return undefined;
      }
      this.services.splice(i, 1);
      const u = this.unclaimed.findIndex((s) => s.name === m.name && s.addr === m.addr);
      if (u >= 0) {
        this.unclaimed.splice(u, 1);
        return undefined;
      } // nobody ever saw the CREATE
      let failure: CallbackFailure | undefined;
      for (const ep of this.deps.endpoints()) {
        if (ep.dst === m.addr && ep.name === m.name) {
          ep.bind(RPMSG_ADDR_ANY); // OpenAMP: re-bindable after the peer comes back
          const onUnbind = ep.options.onUnbind;
          if (onUnbind !== undefined)
            failure ??= this.deps.callUser(() => {
              onUnbind(ep);
            });
        }
      }
      return this.emit({ type: "destroy", name: m.name, addr: m.addr }) ?? failure;
    }
    if (this.services.some((s) => s.name === m.name && s.addr === m.addr)) {
      d.nsDuplicate++;
      return undefined;
    }
    const svc: RemoteService = { name: m.name, addr: m.addr };
    this.services.push(svc);
    for (const s of this.waiters.slice()) if (s.name === m.name) s.w.resolve(svc);
    // An unbound endpoint with exactly this name takes it; otherwise the handlers (or the queue).
    for (const ep of this.deps.endpoints()) {
      if (ep.name === m.name && ep.dst === RPMSG_ADDR_ANY && !ep.closed) {
        this.deps.bind(ep, m.addr);
        return undefined;
      }
    }
    const ev: NsEvent = { type: "create", name: m.name, addr: m.addr };
    if (this.handlers.length > 0) return this.emit(ev);
    if (this.unclaimed.length >= this.deps.maxPending) {
      d.nsOverflow++;
      return undefined;
    }
    this.unclaimed.push(ev);
    return undefined;
  }

  /** Every handler sees the event, even when an earlier one throws; the first exception is returned. */
  private emit(ev: NsEvent): CallbackFailure | undefined {
    let failure: CallbackFailure | undefined;
    for (const h of this.handlers.slice()) {
      const f = this.deps.callUser(() => {
        h(ev);
      });
      failure ??= f;
    }
    return failure;
  }

  /** See {@link RpmsgDevice.onNameService}. */
  onNameService(handler: (event: NsEvent) => void): () => void {
    this.handlers.push(handler);
    for (const ev of this.unclaimed.splice(0)) handler(ev);
    return () => {
      const i = this.handlers.indexOf(handler);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** Services the peer announced and has not withdrawn, in arrival order. */
  get remoteServices(): readonly RemoteService[] {
    return this.services.slice();
  }

  /** See {@link RpmsgDevice.waitForService}. */
  waitForService(name: string, options: WaitOptions | undefined): Promise<RemoteService> {
    nameBytes(name);
    const known = this.services.find((s) => s.name === name);
    if (known !== undefined) return Promise.resolve(known);
    const entry = {
      name,
      w: createWaiter<RemoteService>(`waitForService(${name})`, options, this.deps.scheduler, (x) => {
        removeWhere(this.waiters, (s) => s.w === x);
      }),
    };
    if (!entry.w.settled) this.waiters.push(entry);
    return entry.w.promise;
  }

  /**
   * For a new named endpoint without a dst: the service announced earlier under its name that
   * no other endpoint is bound to (announcements are never lost). It leaves the unclaimed queue.
   */
  claim(ep: RpmsgEndpoint): RemoteService | undefined {
    const eps = this.deps.endpoints();
    const svc = this.services.find(
      (s) => s.name === ep.name && !eps.some((e) => e !== ep && e.name === ep.name && e.dst === s.addr),
    );
    if (svc !== undefined) removeWhere(this.unclaimed, (u) => u.name === svc.name && u.addr === svc.addr);
    return svc;
  }

  /** Link down: the peer's services are forgotten, waiters fail with `reason`. */
  clear(reason: AmpError<RpmsgErrorCode>): void {
    for (const s of this.waiters.splice(0)) s.w.reject(reason);
    this.services.length = 0;
    this.unclaimed.length = 0;
  }
}
